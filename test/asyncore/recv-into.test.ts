// socket.recvInto(buffer, nbytes?, flags?) (Python: socket.recv_into): reads into the caller's buffer.
import * as net from "node:net";
import { describe, it, expect, afterEach } from "vitest";
import { Dispatcher, Socket, AF_INET, SOCK_STREAM, closeAll, poll } from "../../host/index.js";
import { code } from "../support/index.js";

/** A loopback peer: resolves the accepted node:net connection and the port. */
function peer(): Promise<{ port: number; conn: Promise<net.Socket>; close(): void }> {
  return new Promise((resolve) => {
    let got!: (c: net.Socket) => void;
    const conn = new Promise<net.Socket>((r) => { got = r; });
    const server = net.createServer((c) => { c.on("error", () => {}); got(c); });
    server.listen(0, "127.0.0.1", () => resolve({
      port: (server.address() as net.AddressInfo).port, conn,
      close: () => server.close(),
    }));
  });
}

/** A client channel that reads with recvInto into one reused buffer. */
class IntoReader extends Dispatcher {
  readonly buf = Buffer.alloc(4096);
  readonly chunks: Buffer[] = [];
  eof = false;
  reading = true;
  override readable(): boolean { return this.reading; }
  override writable(): boolean { return !this.connected; }
  override handleConnect(): void {}
  override handleRead(): void {
    let n: number;
    try {
      n = this.socket!.recvInto(this.buf);
    } catch (err) {
      if (code(() => { throw err; }) === "EAGAIN") return;
      throw err;
    }
    if (n === 0) { this.eof = true; this.close(); return; }
    this.chunks.push(Buffer.from(this.buf.subarray(0, n)));
  }
}

async function connectedReader(port: number): Promise<IntoReader> {
  const d = new IntoReader();
  d.createSocket(AF_INET, SOCK_STREAM);
  d.connect(["127.0.0.1", port]);
  for (let i = 0; i < 500 && !d.connected; i++) await poll(0.01);
  expect(d.connected).toBe(true);
  return d;
}

describe("socket.recvInto()", () => {
  let close: (() => void) | null = null;
  afterEach(() => {
    closeAll();
    close?.();
    close = null;
  });

  it("reads a 1 MiB stream into one reused buffer intact, then returns 0 at the peer's EOF", async () => {
    const p = await peer();
    close = p.close;
    const d = await connectedReader(p.port);
    const conn = await p.conn;
    const data = Buffer.alloc(1 << 20);
    for (let i = 0; i < data.length; i++) data[i] = (i * 7 + (i >> 10)) & 0xff;
    conn.end(data);
    for (let i = 0; i < 5000 && !d.eof; i++) await poll(0.01);
    expect(d.eof).toBe(true);
    expect(Buffer.concat(d.chunks).equals(data)).toBe(true);
    expect(Math.max(...d.chunks.map((c) => c.length))).toBeLessThanOrEqual(4096);
  });

  it("honours nbytes, writes at the start of a subarray, and leaves the rest of the buffer alone", async () => {
    const p = await peer();
    close = p.close;
    const d = await connectedReader(p.port);
    d.reading = false; // the test reads by itself
    const conn = await p.conn;
    conn.write("abcdefghij");
    const s = d.socket!;
    const backing = Buffer.alloc(16, 0x2e); // '.'
    const view = backing.subarray(4, 12);
    let n = 0;
    for (let i = 0; i < 500 && n === 0; i++) {
      await poll(0.01);
      try { n = s.recvInto(view, 3); } catch (err) { if (code(() => { throw err; }) !== "EAGAIN") throw err; }
    }
    expect(n).toBe(3);
    expect(backing.toString()).toBe("....abc.........");
    expect(s.recvInto(view)).toBe(7); // nbytes 0: the whole view (8), 7 are there
    expect(backing.toString()).toBe("....defghij.....");
    expect(code(() => s.recvInto(view))).toBe("EAGAIN");
  });

  it("rejects bad arguments with errors that name them", async () => {
    const s = new Socket(AF_INET, SOCK_STREAM);
    try {
      expect(() => s.recvInto("text" as unknown as Uint8Array)).toThrow(/recvInto\(\): buffer must be a Uint8Array/);
      expect(() => s.recvInto(Buffer.alloc(4), 5)).toThrow(RangeError);
      expect(() => s.recvInto(Buffer.alloc(4), 5)).toThrow(/nbytes 5 is larger than the buffer \(4 bytes\)/);
      expect(() => s.recvInto(Buffer.alloc(4), -1)).toThrow(/recvInto\(\): nbytes/);
      expect(() => s.recvInto(Buffer.alloc(4), 1.5)).toThrow(TypeError);
      expect(code(() => s.recvInto(Buffer.alloc(4)))).toBe("ENOTCONN"); // as recv() on an unconnected socket
    } finally {
      s.close();
    }
    expect(code(() => s.recvInto(Buffer.alloc(4)))).toBe("EBADF");
  });
});
