// What the native backend does as the kernel does, where the net backend had to emulate or skip:
// real socket options, bind(2) conflicts, send(2) counts, Unix paths, and epoll used sparingly.
import { describe, it, expect, beforeAll, beforeEach, afterEach } from "vitest";
import { existsSync, rmSync } from "node:fs";
import {
  AF_INET, AF_UNIX, ChannelMap, Dispatcher, IPPROTO_TCP, SOL_SOCKET, SO_REUSEADDR, SO_KEEPALIVE, Socket,
  SocketError, TCP_NODELAY, closeAll, configure, loop,
} from "../../host/index.js";
import { native, nativeUnavailable, nativeStats } from "../../host/sys/native/addon.js";
import { NativeSocket } from "../../host/index.js";
import { BaseClient, BaseServer, BaseTestHandler, ipv4, ipv6, loopUntil, unixPath, type Family } from "../asyncore/fixtures.js";
import { code, missing, settled } from "../support/index.js";

const built = native() !== null;
const SO_RCVBUF = 8;


function restore(saved: string | undefined): void {
  if (saved === undefined) delete process.env.WASYNCORE_BACKEND;
  else process.env.WASYNCORE_BACKEND = saved;
}

/** A connected [client, accepted] pair of raw sockets, driven without a loop. */
async function pair(family: number = AF_INET): Promise<{ l: Socket; c: Socket; a: Socket }> {
  const l = new Socket(family);
  l.bind(family === AF_UNIX ? unixPath() : ["127.0.0.1", 0]);
  l.listen(5);
  const c = new Socket(family);
  c.connect(l.getsockname());
  const deadline = Date.now() + 5000;
  for (;;) {
    try {
      return { l, c, a: l.accept()[0] };
    } catch (err) {
      if ((err as SocketError).code !== "EAGAIN" || Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 2));
    }
  }
}

describe.skipIf(missing("the native addon", !built))(`the native backend${built ? "" : ` (skipped: ${nativeUnavailable()})`}`, () => {
  beforeAll(() => configure({ backend: "native" }));
  let map: ChannelMap;
  beforeEach(() => { map = new ChannelMap(); });
  afterEach(() => closeAll({ map, ignoreAll: true }));

  it("makes native sockets for stream sockets, and net ones once configured so", () => {
    const s = new Socket(AF_INET);
    expect(s).toBeInstanceOf(NativeSocket);
    expect(s).toBeInstanceOf(Socket);
    s.close();
    configure({ backend: "net" });
    try {
      const t = new Socket(AF_INET);
      expect(t).not.toBeInstanceOf(NativeSocket);
      t.close();
    } finally {
      configure({ backend: "native" });
    }
  });

  it("defaults to native where the addon loads, when neither configure() nor WASYNCORE_BACKEND chose", () => {
    const saved = process.env.WASYNCORE_BACKEND;
    delete process.env.WASYNCORE_BACKEND;
    configure({ backend: null });
    try {
      const s = new Socket(AF_INET);
      expect(s).toBeInstanceOf(NativeSocket);
      s.close();
    } finally {
      restore(saved);
      configure({ backend: "native" });
    }
  });

  it("rejects an unknown backend name, from configure() and from WASYNCORE_BACKEND", () => {
    expect(() => configure({ backend: "epoll" as "native" })).toThrow(/backend must be 'native' or 'net', got "epoll"/);
    configure({ backend: null }); // back to the environment's choice
    const saved = process.env.WASYNCORE_BACKEND;
    process.env.WASYNCORE_BACKEND = "uring";
    try {
      expect(() => new Socket(AF_INET)).toThrow(/WASYNCORE_BACKEND: backend must be 'native' or 'net', got "uring"/);
    } finally {
      restore(saved);
      configure({ backend: "native" });
    }
  });

  describe.each([ipv4, ipv6])("over $name", (family: Family) => {
    // Python: TestAPI_*.test_set_reuse_addr, with the kernel's answer (libuv sets it on every bind)
    it("setReuseAddr() turns the real SO_REUSEADDR on; a plain bind leaves it off", () => {
      const s = new Dispatcher(new Socket(family.af), map);
      expect(s.socket!.getsockopt(SOL_SOCKET, SO_REUSEADDR)).toBe(0);
      s.bind(family.addr());
      expect(s.socket!.getsockopt(SOL_SOCKET, SO_REUSEADDR)).toBe(0);
      s.socket!.close();
      s.createSocket(family.af);
      s.setReuseAddr();
      expect(s.socket!.getsockopt(SOL_SOCKET, SO_REUSEADDR)).not.toBe(0);
    });

    it("bind() to a port held by a closed connection fails with EADDRINUSE unless setReuseAddr() was called", async () => {
      const server = new BaseServer(family, family.addr(), map, class extends BaseTestHandler {
        override writable(): boolean { return false; }
        override handleRead(): void { this.recv(10); }
        override handleClose(): void { this.close(); }
      });
      const address = server.address;
      let eof = false;
      const client = new (class extends BaseClient {
        override writable(): boolean { return !this.connected; }
        override handleRead(): void { this.recv(10); }
        override handleClose(): void { eof = true; this.close(); }
      })(family, address, map);
      await loopUntil(map, () => map.size === 3 && client.connected, false);
      for (const d of [...map.values()]) if (d !== server && d !== client) (d as Dispatcher).close(); // server side closes first
      await loopUntil(map, () => eof, false);
      server.close(); // the server's end of the connection now waits in FIN_WAIT/TIME_WAIT on the port

      const plain = new Dispatcher(null, map);
      plain.createSocket(family.af);
      expect(code(() => plain.bind(address))).toBe("EADDRINUSE");
      const reusing = new Dispatcher(null, map);
      reusing.createSocket(family.af);
      reusing.setReuseAddr();
      reusing.bind(address);
      reusing.listen(5);
      expect(reusing.socket!.getsockname()).toEqual(address);
    });
  });

  it("send() returns what the kernel took: short counts and EAGAIN once its buffers are full", async () => {
    const { l, c, a } = await pair();
    try {
      const chunk = Buffer.alloc(1 << 20);
      for (let i = 0; i < chunk.length; i++) chunk[i] = i % 251;
      let taken = 0, short = 0, sends = 0;
      for (;;) {
        let n: number;
        try {
          n = c.send(chunk.subarray(taken % chunk.length));
        } catch (err) {
          expect((err as SocketError).code).toBe("EAGAIN");
          break;
        }
        sends++;
        if (taken % chunk.length + n < chunk.length) short++;
        taken += n;
        expect(sends).toBeLessThan(10_000);
      }
      expect(short).toBeGreaterThan(0);
      const d = new Dispatcher(c, map);
      expect(d.send(Buffer.from("more"))).toBe(0); // asyncore: 0 when it would block
      // every byte the kernel took arrives, in order
      let got = 0;
      let bad = -1;
      const deadline = Date.now() + 10_000;
      while (got < taken && Date.now() < deadline) {
        let data: Buffer;
        try { data = a.recv(65536); } catch { await new Promise((r) => setTimeout(r, 1)); continue; }
        for (let i = 0; i < data.length && bad < 0; i++) if (data[i] !== (got + i) % chunk.length % 251) bad = got + i;
        got += data.length;
      }
      expect(bad).toBe(-1);
      expect(got).toBe(taken);
    } finally {
      for (const s of [l, c, a]) s.close();
    }
  });

  it("sets and reads any int option through the kernel (TCP_NODELAY, SO_KEEPALIVE, SO_RCVBUF)", async () => {
    const { l, c, a } = await pair();
    try {
      expect(c.getsockopt(IPPROTO_TCP, TCP_NODELAY)).toBe(0);
      c.setsockopt(IPPROTO_TCP, TCP_NODELAY, true);
      expect(c.getsockopt(IPPROTO_TCP, TCP_NODELAY)).toBe(1);
      a.setsockopt(SOL_SOCKET, SO_KEEPALIVE, 1);
      expect(a.getsockopt(SOL_SOCKET, SO_KEEPALIVE)).toBe(1);
      expect(c.getsockopt(SOL_SOCKET, SO_RCVBUF)).toBeGreaterThan(0);
      expect(code(() => c.getsockopt(999, 1))).toMatch(/^E/);
    } finally {
      for (const s of [l, c, a]) s.close();
    }
  });

  describe("Unix sockets", () => {
    it("keep their path after close, as in CPython (libuv unlinks it)", () => {
      const path = unixPath();
      const s = new Socket(AF_UNIX);
      s.bind(path);
      s.listen(1);
      expect(s.getsockname()).toBe(path);
      s.close();
      expect(existsSync(path)).toBe(true);
      rmSync(path);
    });

    it("connect() to a path nobody listens on throws ECONNREFUSED at once, as the kernel says", () => {
      const path = unixPath();
      const s = new Socket(AF_UNIX);
      s.bind(path);
      s.close();
      const c = new Dispatcher(null, map);
      c.createSocket(AF_UNIX);
      try {
        expect(code(() => c.connect(path))).toBe("ECONNREFUSED");
        expect(c.connecting).toBe(true); // asyncore: a failed connect() leaves connecting set
      } finally {
        rmSync(path);
      }
    });

    it("report the client's peer as the server's path and the server's peer as unnamed", async () => {
      const { l, c, a } = await pair(AF_UNIX);
      try {
        expect(c.getpeername()).toBe(l.getsockname());
        expect(a.getpeername()).toBe("");
        expect(c.getsockname()).toBe("");
      } finally {
        const path = l.getsockname() as string;
        for (const s of [l, c, a]) s.close();
        rmSync(path);
      }
    });
  });

  it("registers interest once: 200 echo round trips make no epoll_ctl call", async () => {
    let replies = 0;
    class Echo extends BaseTestHandler {
      override writable(): boolean { return false; }
      override handleRead(): void { this.send(this.recv(100)); }
      override handleClose(): void { this.close(); }
    }
    class Pinger extends BaseClient {
      override writable(): boolean { return false; }
      override handleRead(): void {
        this.recv(100);
        if (++replies < 200) this.send(Buffer.from("ping"));
      }
    }
    const ctl0 = nativeStats.ctl;
    const server = new BaseServer(ipv4, ipv4.addr(), map, Echo);
    const client = new Pinger(ipv4, server.address, map);
    client.writable = () => !client.connected;
    await loopUntil(map, () => client.connected && map.size === 3, false);
    expect(nativeStats.ctl - ctl0).toBeGreaterThan(0); // the counter is live: registering the sockets counted
    client.send(Buffer.from("ping"));
    await loopUntil(map, () => replies >= 1, false);
    const before = nativeStats.ctl;
    await loopUntil(map, () => replies >= 200, false, { passes: 5000, seconds: 10 });
    expect(nativeStats.ctl - before).toBe(0);
  });

  it("idle connections cost no wake-ups: 300 of them stay silent while one echoes", async () => {
    const server = new BaseServer(ipv4, ipv4.addr(), map, class extends BaseTestHandler {
      override writable(): boolean { return false; }
      override handleRead(): void { this.send(this.recv(100)); }
    });
    server.socket!.listen(512); // room for every connect at once
    const idle: Socket[] = [];
    for (let i = 0; i < 300; i++) {
      const s = new Socket(AF_INET);
      s.connect(server.address);
      idle.push(s);
    }
    try {
      await loopUntil(map, () => map.size === 301, false, { passes: 5000, seconds: 10 });
      let replies = 0;
      const client = new (class extends BaseClient {
        override writable(): boolean { return !this.connected; }
        override handleRead(): void { this.recv(100); if (++replies < 50) this.send(Buffer.from("x")); }
      })(ipv4, server.address, map);
      await loopUntil(map, () => client.connected && map.size === 303, false);
      // the idle clients' connect events settle: wait until the counter stops moving (no fixed sleep)
      const events = await settled(() => nativeStats.events);
      client.send(Buffer.from("x"));
      await loopUntil(map, () => replies >= 50, false, { passes: 5000, seconds: 10 });
      const used = nativeStats.events - events;
      expect(used).toBeGreaterThanOrEqual(50); // at least one per message: the counter is live
      expect(used).toBeLessThanOrEqual(2 * 50 + 4); // one per message and end, none from the idle
    } finally {
      for (const s of idle) s.close();
    }
  });
});

describe.skipIf(missing("the native addon", !built))("backends side by side", () => {
  it("keeps a listener's accepted sockets on the listener's backend after the backend changes", async () => {
    const map = new ChannelMap();
    const accepted: Socket[] = [];
    try {
      for (const [first, second] of [["net", "native"], ["native", "net"]] as const) {
        configure({ backend: first });
        const server = new (class extends BaseServer {
          override handleAccepted(sock: Socket): void { accepted.push(sock); new BaseTestHandler(sock, map); }
        })(ipv4, ipv4.addr(), map);
        configure({ backend: second });
        const client = new BaseClient(ipv4, server.address, map);
        await loopUntil(map, () => accepted.length > 0 && client.connected, false);
        const sock = accepted.pop()!;
        expect(sock instanceof NativeSocket).toBe(first === "native");
        expect(client.socket instanceof NativeSocket).toBe(second === "native");
        expect(sock.getpeername()).toEqual(client.socket!.getsockname());
        closeAll({ map });
      }
    } finally {
      configure({ backend: "native" });
      closeAll({ map, ignoreAll: true });
    }
  });
});
