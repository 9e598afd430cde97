// Behaviour the hot paths must keep (issue 7): copies that send() skips, writes that finish later.
import * as net from "node:net";
import { describe, it, expect, afterEach } from "vitest";
import { Dispatcher, DispatcherWithSend, Socket, closeAll, poll } from "../../host/index.js";
import { loopStats } from "../../host/asyncore/stats.js";
import { AsyncChat } from "../../host/asyncore/chat.js";

/** A server that collects everything one connection sends until it closes. */
function sink(): Promise<{ port: number; received: Promise<Buffer> }> {
  return new Promise((resolveListening) => {
    let resolveReceived!: (b: Buffer) => void;
    const received = new Promise<Buffer>((r) => { resolveReceived = r; });
    const server = net.createServer((conn) => {
      const chunks: Buffer[] = [];
      conn.on("data", (d) => chunks.push(d));
      conn.on("close", () => { server.close(); resolveReceived(Buffer.concat(chunks)); });
      conn.on("error", () => {});
    });
    server.listen(0, "127.0.0.1", () => resolveListening({ port: (server.address() as net.AddressInfo).port, received }));
  });
}

class Sender extends DispatcherWithSend {
  override readable(): boolean { return false; }
  override handleClose(): void { this.close(); }
}

async function drain(d: Sender): Promise<void> {
  for (let n = 2000; d.outBuffer.length > 0 && n > 0; n--) await poll(0.01);
  expect(d.outBuffer.length).toBe(0);
}

describe("DispatcherWithSend.send() without a copy per call", () => {
  afterEach(() => closeAll());

  it("queues its own copy of bytes it could not send yet, so changing the caller's Buffer afterwards changes nothing", async () => {
    const { port, received } = await sink();
    const d = new Sender();
    d.createSocket();
    d.connect(["127.0.0.1", port]);
    d.setBufferLimits({ sendWindow: 16 }); // net: still connecting, all of it queues; native: the kernel may take 16
    const data = Buffer.from("Nobody expects the Spanish Inquisition!");
    expect(d.send(data)).toBe(data.length);
    expect(d.outBuffer.length).toBeGreaterThanOrEqual(data.length - 16);
    data.fill(0x58); // 'X'
    await drain(d);
    d.close();
    expect((await received).toString()).toBe("Nobody expects the Spanish Inquisition!");
  });

  it("copies only what the send window left, from a plain Uint8Array too", async () => {
    const { port, received } = await sink();
    const d = new Sender();
    d.createSocket();
    d.connect(["127.0.0.1", port]);
    while (!d.connected) await poll(0.01);
    d.setBufferLimits({ sendWindow: 1000 });
    const bytes = new Uint8Array(5000).map((_, i) => i % 251);
    const original = Buffer.from(bytes);
    d.send(bytes);
    expect(d.outBuffer.length).toBe(4000); // the first 1,000 went to the socket
    expect(d.outBuffer.buffer).not.toBe(bytes.buffer);
    bytes.fill(7);
    await drain(d);
    d.close();
    expect((await received).equals(original)).toBe(true);
  });
});

class Chat extends AsyncChat {
  override collectIncomingData(): void {}
  override foundTerminator(): void {}
  override readable(): boolean { return false; }
}

async function drainChat(c: Chat): Promise<void> {
  for (let n = 2000; c.producerFifo.length > 0 && n > 0; n--) await poll(0.01);
  expect(c.producerFifo.length).toBe(0);
}

describe("AsyncChat.push() without a copy per call", () => {
  afterEach(() => closeAll());

  it("queues a snapshot of bytes it could not send yet (Python's bytes are immutable)", async () => {
    const { port, received } = await sink();
    const c = new Chat();
    c.createSocket();
    c.connect(["127.0.0.1", port]);
    const data = Buffer.from("Ni! Ni! Ni!");
    c.push(data);
    c.push(new Uint8Array([0x21, 0x21]));
    data.fill(0x3f);
    await drainChat(c);
    c.close();
    expect((await received).toString()).toBe("Ni! Ni! Ni!!!");
  });

  it("snapshots the pieces left of a push split by acOutBufferSize, in order", async () => {
    const { port, received } = await sink();
    const c = new Chat();
    c.acOutBufferSize = 700;
    c.createSocket();
    c.connect(["127.0.0.1", port]);
    while (!c.connected) await poll(0.01);
    c.setBufferLimits({ sendWindow: 1000 });
    const data = Buffer.from(Array.from({ length: 5000 }, (_, i) => i % 253));
    const original = Buffer.from(data);
    c.push(data); // one send() of 700 bytes; the other pieces stay queued
    expect(c.producerFifo.length).toBe(7);
    data.fill(1);
    await drainChat(c);
    c.close();
    expect((await received).equals(original)).toBe(true);
  });
});

/** Connects a Node client to `d`'s listener and writes `data`, then ends. */
function feed(port: number, data: Buffer): net.Socket {
  const c = net.connect(port, "127.0.0.1", () => c.end(data));
  c.on("error", () => {});
  return c;
}

describe("input paused at recvPause, resumed at half of it", () => {
  afterEach(() => closeAll());

  /** A listener whose one connection reads `chunk` bytes per read event with a small recvPause. */
  function slowReader(chunk: number, recvPause: number): { port: number; got: Buffer[]; done: () => boolean; reads: () => number } {
    const got: Buffer[] = [];
    let closed = false;
    let reads = 0;
    class Reader extends Dispatcher {
      override handleRead(): void {
        reads++;
        const b = this.recv(chunk);
        if (b.length > 0) got.push(b);
      }
      override writable(): boolean { return false; }
      override handleClose(): void { closed = true; this.close(); }
    }
    class Listener extends Dispatcher {
      override handleAccepted(sock: Socket): void {
        new Reader(sock).setBufferLimits({ recvPause });
      }
    }
    const l = new Listener();
    l.createSocket();
    l.bind(["127.0.0.1", 0]);
    l.listen(5);
    return { port: (l.socket!.getsockname() as [string, number])[1], got, done: () => closed, reads: () => reads };
  }

  async function until(cond: () => boolean): Promise<void> {
    for (let n = 20000; !cond() && n > 0; n--) await poll(0.05);
    expect(cond()).toBe(true);
  }

  it("delivers every byte in order when the reader takes less per pass than arrives", async () => {
    const r = slowReader(1000, 4096);
    const data = Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 7 + (i >> 8)) & 0xff));
    feed(r.port, data);
    await until(r.done);
    expect(Buffer.concat(r.got).equals(data)).toBe(true);
  });

  it("resumes once a paused reader drains, with a pause bound smaller than one read", async () => {
    const r = slowReader(65536, 1);
    const data = Buffer.alloc(200_000, 0x41);
    feed(r.port, data);
    await until(r.done);
    expect(Buffer.concat(r.got).length).toBe(data.length);
  });

  it("keeps the bytes at the exact pause bound intact across many pause/resume cycles", async () => {
    const r = slowReader(100, 1024);
    const data = Buffer.from(Array.from({ length: 50_000 }, (_, i) => i % 253));
    feed(r.port, data);
    await until(r.done);
    expect(Buffer.concat(r.got).equals(data)).toBe(true);
    expect(r.reads()).toBeGreaterThanOrEqual(500); // 100 bytes per read event
  });
});

describe("large sends written at once (net: past the output queue)", () => {
  afterEach(() => closeAll());

  async function connected(port: number): Promise<Sender> {
    const d = new Sender();
    d.createSocket();
    d.connect(["127.0.0.1", port]);
    while (!d.connected) await poll(0.01);
    return d;
  }

  const pattern = (n: number, seed: number): Buffer => Buffer.from(Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff));

  it("keeps bytes in order when small sends are queued before a large one, and counts them all in bytesOut", async () => {
    const { port, received } = await sink();
    const d = await connected(port);
    const before = loopStats().bytesOut;
    const parts = [pattern(10, 1), pattern(70_000, 2), pattern(5, 3), pattern(40_000, 4), pattern(65_536, 5)];
    for (const p of parts) d.send(p);
    await drain(d);
    const sentNow = loopStats().bytesOut - before;
    d.close();
    const all = Buffer.concat(parts);
    expect((await received).equals(all)).toBe(true);
    expect(sentNow).toBe(all.length); // both backends: queued small sends and the native direct send(2)s
  });

  it("sends a large Buffer the caller changes right after send() as it was", async () => {
    const { port, received } = await sink();
    const d = await connected(port);
    const data = pattern(200_000, 9);
    const original = Buffer.from(data);
    expect(d.send(data)).toBe(data.length);
    data.fill(0);
    await drain(d);
    d.close();
    expect((await received).equals(original)).toBe(true);
  });

  it("delivers every byte in order when a stalled peer makes writes complete later (their buffers are reused)", async () => {
    let conn: net.Socket | undefined;
    const chunks: Buffer[] = [];
    let resolveReceived!: (b: Buffer) => void;
    const received = new Promise<Buffer>((r) => { resolveReceived = r; });
    const server = net.createServer((c) => {
      conn = c;
      c.pause(); // the peer reads nothing until the sender's writes back up
      c.on("data", (chunk) => chunks.push(chunk));
      c.on("close", () => { server.close(); resolveReceived(Buffer.concat(chunks)); });
      c.on("error", () => {});
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const d = await connected((server.address() as net.AddressInfo).port);
    d.setBufferLimits({ sendWindow: 2 ** 20 }); // room for many writes in flight at once
    while (conn === undefined) await poll(0.01);
    const parts = Array.from({ length: 400 }, (_, i) => pattern(16_384 + ((i * 7919) % 50_000), i));
    let i = 0;
    let stalled = 0;
    for (; i < parts.length; i++) {
      d.send(parts[i]);
      await poll(0);
      if (d.outBuffer.length > 0 && ++stalled === 20) break; // backed up for a while: writes go on later
    }
    conn.resume();
    for (i++; i < parts.length; i++) {
      d.send(parts[i]);
      await poll(0);
    }
    await drain(d);
    d.close();
    const all = Buffer.concat(parts);
    const got = await received;
    expect(got.length).toBe(all.length);
    expect(got.equals(all)).toBe(true);
    expect(stalled).toBe(20);
  });
});
