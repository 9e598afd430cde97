// The `net` backend over Node's public node:net/node:dgram API (issue 14, "The package"; SPEC's last
// section): what differs from the libuv-handle path (bind() only checks; EADDRINUSE arrives at
// listen()/connect()) and what does not (handler order, every byte, then EOF). Runs in the
// `net-public` project (WASYNCORE_NET_PUBLIC=1); the libuv path is switched back per test to compare.
import { describe, it, expect, afterEach } from "vitest";
import { Buffer } from "node:buffer";
import dns from "node:dns";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AF_INET, AF_INET6, AF_UNIX, SOCK_DGRAM, ChannelMap, Dispatcher, Socket, SocketError, closeAll, loopStats, type Address } from "../../host/index.js";
import { ipv4, ipv6, modes, loopUntil, type Family } from "../asyncore/fixtures.js";

const PUBLIC = process.env.WASYNCORE_NET_PUBLIC;
afterEach(() => { process.env.WASYNCORE_NET_PUBLIC = PUBLIC; });

class Recorder extends Dispatcher {
  calls: string[] = [];
  error: unknown = null;
  override handleError(err: unknown): void {
    this.calls.push("handleError");
    this.error = err;
    this.close();
  }
  override handleClose(): void {
    this.calls.push("handleClose");
    this.close();
  }
}

describe("the public-API fallback is in use", () => {
  it("runs under WASYNCORE_NET_PUBLIC=1, and loopStats().backendReason says so and why", () => {
    expect(PUBLIC).toBe("1");
    const s = loopStats();
    expect(s.backend).toBe("net");
    expect(s.backendReason).toMatch(/public node:net\/node:dgram API, slower than its libuv handles \(WASYNCORE_NET_PUBLIC=1\)$/);
  });
});

describe.each([ipv4, ipv6])("bind() over $name", (family: Family) => {
  const host = (family.addr() as [string, number])[0];

  it("only checks the address: getsockname() gives the asked port until listen(), which binds at once", () => {
    const s = new Socket(family.af);
    try {
      s.bind([host, 0]);
      expect((s.getsockname() as [string, number]).slice(0, 2)).toEqual([host, 0]);
      s.listen(5);
      const [h, port] = s.getsockname() as [string, number];
      expect(h).toBe(host);
      expect(port).toBeGreaterThan(0);
    } finally {
      s.close();
    }
  });

  it("throws EADDRINUSE of a taken port from listen(), naming the call, address and port", async () => {
    const map = new ChannelMap();
    try {
      const first = new Recorder(null, map);
      first.createSocket(family.af);
      first.bind([host, 0]);
      first.listen(5);
      const port = (first.socket!.getsockname() as [string, number])[1];
      const second = new Recorder(null, map);
      second.createSocket(family.af);
      second.bind([host, port]); // asyncore: the libuv path throws EADDRINUSE here
      let caught: unknown;
      try { second.listen(5); } catch (err) { caught = err; }
      expect(caught).toBeInstanceOf(SocketError);
      const e = caught as SocketError;
      expect([e.code, e.errno, e.syscall, e.address, e.port]).toEqual(["EADDRINUSE", 98, "listen", host, port]);
      expect(second.socket!.closed).toBe(false); // still bound (to nothing), as after a failed listen(2)
      second.close();
      // the first listener is untouched and serves
      const client = new Recorder(null, map);
      client.createSocket(family.af);
      let accepted = 0;
      first.handleAccepted = (sock: Socket) => { accepted++; sock.close(); };
      client.connect([host, port]);
      await loopUntil(map, () => accepted === 1, false);
      expect(first.calls).toEqual([]);
    } finally {
      closeAll({ map });
    }
  });

  it("reports EADDRINUSE of a client bound to a taken port through the connect (handleError)", async () => {
    const map = new ChannelMap();
    try {
      const server = new Recorder(null, map);
      server.createSocket(family.af);
      server.bind([host, 0]);
      server.listen(5);
      const port = (server.socket!.getsockname() as [string, number])[1];
      const client = new Recorder(null, map);
      client.createSocket(family.af);
      client.bind([host, port]);
      client.connect([host, port]);
      await loopUntil(map, () => client.calls.length > 0, false);
      expect(client.calls[0]).toBe("handleError");
      expect((client.error as SocketError).code).toBe("EADDRINUSE");
    } finally {
      closeAll({ map });
    }
  });
});

// Where net.js resolves the host some other way than through dns.lookup (a future Node), listen()
// cannot bind at once: the asked port stands until the bind, and a bind error arrives a pass later.
// Simulated here by a dns.lookup that cannot be replaced for the call.
describe.each(modes)("where listen() binds a tick later ($name)", ({ usePoll }) => {
  it("getsockname() gives port 0 until bound, and EADDRINUSE reaches handleError on a later pass", async () => {
    const original = dns.lookup;
    Object.defineProperty(dns, "lookup", { configurable: true, enumerable: true, get: () => original, set: () => {} });
    const map = new ChannelMap();
    try {
      const first = new Recorder(null, map);
      first.createSocket(AF_INET);
      first.bind(["127.0.0.1", 0]);
      first.listen(5);
      expect(first.socket!.getsockname()).toEqual(["127.0.0.1", 0]); // not bound yet
      await loopUntil(map, () => (first.socket!.getsockname() as [string, number])[1] > 0, usePoll);
      const port = (first.socket!.getsockname() as [string, number])[1];
      const second = new Recorder(null, map);
      second.createSocket(AF_INET);
      second.bind(["127.0.0.1", port]);
      second.listen(5); // returns: the bind happens a tick later
      await loopUntil(map, () => second.calls.length > 0, usePoll);
      expect(second.calls[0]).toBe("handleError");
      const e = second.error as SocketError;
      expect([e.code, e.errno, e.syscall, e.address, e.port]).toEqual(["EADDRINUSE", 98, "listen", "127.0.0.1", port]);
      expect(first.calls).toEqual([]);
    } finally {
      Object.defineProperty(dns, "lookup", { configurable: true, enumerable: true, writable: true, value: original });
      closeAll({ map });
    }
  });
});

describe("bind() refuses at once what a bind would refuse", () => {
  it("bad address forms (TypeError/RangeError naming the value), as on the libuv path", () => {
    const s = new Socket(AF_INET);
    try {
      expect(() => s.bind(["example.invalid", 0])).toThrow(/resolve "example.invalid" first/);
      expect(() => s.bind(["127.0.0.1", 70000])).toThrow(RangeError);
      expect(() => s.bind(["::1", 0])).toThrow(/not an IPv4 address/);
    } finally {
      s.close();
    }
  });

  it("a Unix path that exists (EADDRINUSE) or whose directory does not (ENOENT)", () => {
    const dir = mkdtempSync(join(tmpdir(), "wasyncore-np-"));
    try {
      const taken = join(dir, "taken");
      writeFileSync(taken, "");
      const code = (addr: Address): string | undefined => {
        const s = new Socket(AF_UNIX);
        try { s.bind(addr); return undefined; } catch (err) { return (err as SocketError).code; } finally { s.close(); }
      };
      expect(code(taken)).toBe("EADDRINUSE");
      expect(code(join(dir, "missing", "sock"))).toBe("ENOENT");
      expect(code(join(dir, "free"))).toBeUndefined();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

// One exchange: the client connects, sends `payload` in pieces, closes; the server echoes what it
// reads and closes when it reads b''. Each side records its handler calls (repeats collapsed) and bytes.
async function exchange(family: Family, usePoll: boolean, payload: Buffer): Promise<{ server: string[]; client: string[]; echoed: Buffer; received: Buffer }> {
  const map = new ChannelMap();
  const serverCalls: string[] = [], clientCalls: string[] = [];
  const note = (calls: string[], name: string): void => { if (calls[calls.length - 1] !== name) calls.push(name); };
  const got: Buffer[] = [], back: Buffer[] = [];
  let done = false;
  class Handler extends Dispatcher {
    out = Buffer.alloc(0);
    override writable(): boolean { return this.out.length > 0; }
    override handleRead(): void {
      note(serverCalls, "handleRead");
      const d = this.recv(65536);
      if (d.length === 0) { note(serverCalls, "read b''"); this.close(); return; }
      got.push(d);
      this.out = Buffer.concat([this.out, d]);
    }
    override handleWrite(): void { this.out = this.out.subarray(this.send(this.out)); }
    override handleClose(): void { note(serverCalls, "handleClose"); this.close(); }
    override handleError(err: unknown): void { throw err; }
  }
  class Server extends Dispatcher {
    override handleAccepted(sock: Socket): void { note(serverCalls, "handleAccepted"); new Handler(sock, map); }
    override handleError(err: unknown): void { throw err; }
  }
  class Client extends Dispatcher {
    rest = payload;
    override writable(): boolean { return this.rest.length > 0 || !this.connected; }
    override handleConnect(): void { note(clientCalls, "handleConnect"); }
    override handleWrite(): void {
      note(clientCalls, "handleWrite");
      this.rest = this.rest.subarray(this.send(this.rest.subarray(0, 7000)));
    }
    override handleRead(): void {
      note(clientCalls, "handleRead");
      const d = this.recv(65536);
      if (d.length === 0) { note(clientCalls, "read b''"); this.close(); done = true; return; }
      back.push(d);
      if (Buffer.concat(back).length === payload.length) { note(clientCalls, "close"); this.close(); done = true; } // the server then reads b''
    }
    override handleClose(): void { note(clientCalls, "handleClose"); this.close(); done = true; }
    override handleError(err: unknown): void { throw err; }
  }
  try {
    const server = new Server(null, map);
    server.createSocket(family.af);
    server.bind(family.addr());
    server.listen(5);
    const client = new Client(null, map);
    client.createSocket(family.af);
    client.connect(server.socket!.getsockname());
    await loopUntil(map, () => done, usePoll, { passes: 5000, seconds: 20 });
    await loopUntil(map, () => serverCalls.includes("read b''") || serverCalls.includes("handleClose"), usePoll, { passes: 5000, seconds: 20 });
  } finally {
    closeAll({ map });
  }
  return { server: serverCalls, client: clientCalls, echoed: Buffer.concat(got), received: Buffer.concat(back) };
}

describe.each([ipv4, ipv6])("the same guarantees as the libuv path over $name", (family: Family) => {
  const payload = Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 7 + (i >> 9)) & 0xff));

  it.each(modes)("echoes every byte in order, reads b'' after the last, with the same handler order ($name)", async ({ usePoll }) => {
    process.env.WASYNCORE_NET_PUBLIC = "1";
    const pub = await exchange(family, usePoll, payload);
    process.env.WASYNCORE_NET_PUBLIC = "0";
    const handles = await exchange(family, usePoll, payload);
    for (const r of [pub, handles]) {
      expect(r.echoed.equals(payload)).toBe(true);
      expect(r.received.equals(payload)).toBe(true);
      expect(r.server[0]).toBe("handleAccepted");
      expect(r.server.at(-1)).toBe("read b''");
      expect(r.client[0]).toBe("handleConnect");
      expect(r.client.at(-1)).toBe("close");
    }
    expect(pub.server).toEqual(handles.server);
    expect(pub.client.filter((c) => c !== "handleWrite" && c !== "handleRead")).toEqual(handles.client.filter((c) => c !== "handleWrite" && c !== "handleRead"));
  });
});

describe.each([ipv4, ipv6])("close() over $name", (family: Family) => {
  it.each(modes)("delivers every byte send() took before it, then the peer reads b'' ($name)", async ({ usePoll }) => {
    const map = new ChannelMap();
    const payload = Buffer.from(Array.from({ length: 1 << 20 }, (_, i) => (i * 13) & 0xff));
    let taken = 0;
    const got: Buffer[] = [];
    let eof = false;
    class Reader extends Dispatcher {
      override writable(): boolean { return false; }
      override handleRead(): void {
        const d = this.recv(65536);
        if (d.length === 0) { eof = true; this.close(); } else got.push(d);
      }
      override handleError(err: unknown): void { throw err; }
    }
    class Server extends Dispatcher {
      override handleAccepted(sock: Socket): void { new Reader(sock, map); }
      override handleError(err: unknown): void { throw err; }
    }
    class Writer extends Dispatcher {
      override handleConnect(): void {
        for (let n = 1; n > 0 && taken < payload.length;) { n = this.send(payload.subarray(taken)); taken += n; }
        this.close(); // at once: what send() took must still arrive
      }
      override handleError(err: unknown): void { throw err; }
    }
    try {
      const server = new Server(null, map);
      server.createSocket(family.af);
      server.bind(family.addr());
      server.listen(5);
      const w = new Writer(null, map);
      w.createSocket(family.af);
      w.connect(server.socket!.getsockname());
      await loopUntil(map, () => eof, usePoll, { passes: 5000, seconds: 20 });
      expect(taken).toBeGreaterThan(0);
      expect(Buffer.concat(got).equals(payload.subarray(0, taken))).toBe(true);
    } finally {
      closeAll({ map });
    }
  });
});

describe("datagrams over node:dgram", () => {
  it.each([[AF_INET, "127.0.0.1"], [AF_INET6, "::1"]] as const)("bind() is synchronous and throws EADDRINUSE at once (family %i)", (af, host) => {
    const a = new Socket(af, SOCK_DGRAM);
    const b = new Socket(af, SOCK_DGRAM);
    try {
      a.bind([host, 0]);
      const port = (a.getsockname() as [string, number])[1];
      expect(port).toBeGreaterThan(0);
      expect(() => b.bind([host, port])).toThrow(expect.objectContaining({ code: "EADDRINUSE" }));
      b.bind([host, 0]); // and b is still usable
      expect((b.getsockname() as [string, number])[1]).toBeGreaterThan(0);
    } finally {
      a.close();
      b.close();
    }
  });
});
