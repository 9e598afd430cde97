// Callback order, flags inside handlers, connect failures, EAGAIN/EBADF and bad arguments, over real sockets.
import * as net from "node:net";
import { rmSync } from "node:fs";
import { describe, it, expect, beforeEach, afterEach } from "vitest";
import { AF_INET, AF_UNIX, ChannelMap, Dispatcher, SocketError, closeAll, type Address } from "../../host/index.js";
import { BaseServer, BaseTestHandler, ipv4, ipv6, loopUntil, modes, unix, unixPath, type Family } from "./fixtures.js";

/** Runs `fn` and returns what it threw (fails the test when it returns). */
function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  return expect.fail("expected an exception");
}

/** A port on 127.0.0.1 with nothing listening (bound, then released). */
async function deadPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const { port } = s.address() as net.AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe.each([ipv4, ipv6, unix])("over $name", (family: Family) => {
  describe.each(modes)("with $name", ({ usePoll }) => {
    let map: ChannelMap;
    let addr: Address;
    beforeEach(() => {
      map = new ChannelMap();
      addr = family.addr();
    });
    afterEach(() => {
      closeAll({ map, ignoreAll: true });
      if (typeof addr === "string") rmSync(addr, { force: true });
    });

    it("calls a client's handlers in order: connect, write, read, read at EOF, close", async () => {
      const calls: string[] = [];
      const received: string[] = [];
      const serverCalls: string[] = [];
      class EchoOnce extends BaseTestHandler {
        override writable(): boolean { return false; }
        override handleRead(): void {
          const data = this.recv(1024);
          serverCalls.push(`handleRead:${data}`);
          this.send(data);
          this.close();
        }
      }
      class Client extends BaseTestHandler {
        sent = false;
        constructor() {
          super(null, map);
          this.createSocket(family.af);
          this.connect(server.address);
        }
        override writable(): boolean { return !this.sent; }
        override handleConnect(): void { calls.push("handleConnect"); }
        override handleWrite(): void {
          calls.push("handleWrite");
          expect(this.send(Buffer.from("ping"))).toBe(4);
          this.sent = true;
        }
        override handleRead(): void {
          calls.push("handleRead");
          received.push(String(this.recv(1024))); // at EOF, recv() calls handleClose() before returning
        }
        override handleClose(): void {
          calls.push("handleClose");
          this.close();
        }
      }
      const server = new BaseServer(family, addr, map, EchoOnce);
      const client = new Client();
      await loopUntil(map, () => calls.includes("handleClose"), usePoll);
      expect(calls).toEqual(["handleConnect", "handleWrite", "handleRead", "handleRead", "handleClose"]);
      expect(received).toEqual(["ping", ""]);
      expect(serverCalls).toEqual(["handleRead:ping"]);
      expect(client.connected).toBe(false);
      expect(map.has(client.fileno())).toBe(false);
    });

    it("runs handleConnect with connecting true and connected false, then flips them", async () => {
      const seen: { connecting: boolean; connected: boolean }[] = [];
      class Client extends BaseTestHandler {
        override handleConnect(): void { seen.push({ connecting: this.connecting, connected: this.connected }); }
        override handleWrite(): void {}
      }
      const server = new BaseServer(family, addr, map);
      const client = new Client(null, map);
      client.createSocket(family.af);
      client.connect(server.address);
      expect([client.connecting, client.connected]).toEqual([true, false]);
      await loopUntil(map, () => seen.length > 0 && client.connected, usePoll);
      expect(seen).toEqual([{ connecting: true, connected: false }]);
      expect([client.connecting, client.connected]).toEqual([false, true]);
    });

    it("recv() with nothing buffered throws SocketError EAGAIN; send() is taken whole", async () => {
      const server = new BaseServer(family, addr, map, class extends BaseTestHandler {
        override writable(): boolean { return false; }
        override handleRead(): void {}
      });
      const client = new (class extends BaseTestHandler {
        override handleConnect(): void {}
        override handleWrite(): void {}
        override writable(): boolean { return !this.connected; }
        override readable(): boolean { return false; }
      })(null, map);
      client.createSocket(family.af);
      client.connect(server.address);
      await loopUntil(map, () => client.connected, usePoll);
      const err = thrown(() => client.recv(10));
      expect(err).toBeInstanceOf(SocketError);
      expect((err as SocketError).code).toBe("EAGAIN");
      expect((err as SocketError).errno).toBe(11);
      expect(client.send(Buffer.from("abc"))).toBe(3);
    });

    it("use after close throws SocketError EBADF; close() is idempotent", async () => {
      const server = new BaseServer(family, addr, map);
      const d = new Dispatcher(null, map);
      d.createSocket(family.af);
      d.close();
      d.close();
      expect(d.fileno()).toBe(-1);
      for (const op of [
        () => d.send(Buffer.from("x")),
        () => d.recv(1),
        () => d.connect(server.address),
        () => d.bind(family.addr()),
        () => d.listen(5),
      ]) {
        const err = thrown(op);
        expect(err).toBeInstanceOf(SocketError);
        expect((err as SocketError).code).toBe("EBADF");
      }
    });
  });
});

describe.each(modes)("connect failures with $name", ({ usePoll }) => {
  let map: ChannelMap;
  beforeEach(() => { map = new ChannelMap(); });
  afterEach(() => closeAll({ map, ignoreAll: true }));

  it("a refused connect reaches handleError with SocketError ECONNREFUSED, and nothing else runs", async () => {
    const calls: string[] = [];
    const errors: unknown[] = [];
    class Client extends BaseTestHandler {
      override handleConnect(): void { calls.push("handleConnect"); }
      override handleWrite(): void { calls.push("handleWrite"); }
      override handleRead(): void { calls.push("handleRead"); }
      override handleError(err: unknown): void {
        errors.push(err);
        calls.push(`handleError:${(err as SocketError).code}`);
        this.close();
      }
    }
    const client = new Client(null, map);
    client.createSocket(AF_INET);
    client.connect(["127.0.0.1", await deadPort()]);
    await loopUntil(map, () => errors.length > 0 && map.size === 0, usePoll);
    expect(calls).toEqual(["handleError:ECONNREFUSED"]);
    expect(errors[0]).toBeInstanceOf(SocketError);
    expect((errors[0] as SocketError).errno).toBe(111);
  });

  it("connect() to a missing Unix path throws ENOENT at once and leaves connecting true (as asyncore)", () => {
    const client = new BaseTestHandler(null, map);
    client.createSocket(AF_UNIX);
    const err = thrown(() => client.connect(unixPath()));
    expect(err).toBeInstanceOf(SocketError);
    expect((err as SocketError).code).toBe("ENOENT");
    expect(client.connecting).toBe(true);
    expect(map.has(client.fileno())).toBe(true);
  });
});

describe("bad arguments", () => {
  let map: ChannelMap;
  beforeEach(() => { map = new ChannelMap(); });
  afterEach(() => closeAll({ map, ignoreAll: true }));

  it("port 70000 is a RangeError naming the port", () => {
    const d = new Dispatcher(null, map);
    d.createSocket(AF_INET);
    expect(() => d.bind(["127.0.0.1", 70000])).toThrow(RangeError);
    expect(() => d.bind(["127.0.0.1", 70000])).toThrow(/70000/);
    expect(() => d.connect(["127.0.0.1", 70000])).toThrow(RangeError);
  });

  it("a wrong address shape is a TypeError naming the value", () => {
    const d = new Dispatcher(null, map);
    d.createSocket(AF_INET);
    expect(() => d.bind("127.0.0.1" as unknown as Address)).toThrow(TypeError);
    expect(() => d.bind("127.0.0.1" as unknown as Address)).toThrow(/"127\.0\.0\.1"/);
    expect(() => d.connect(["127.0.0.1"] as unknown as Address)).toThrow(/\["127\.0\.0\.1"\]/);
    expect(() => d.connect(["::1", 80])).toThrow(/IPv4/);
    const u = new Dispatcher(null, map);
    u.createSocket(AF_UNIX);
    expect(() => u.bind(["127.0.0.1", 0])).toThrow(TypeError);
  });

  it("string data to send() and a negative recv() size name the value", () => {
    const d = new Dispatcher(null, map);
    d.createSocket(AF_INET);
    expect(() => d.send("hello" as unknown as Uint8Array)).toThrow(TypeError);
    expect(() => d.send("hello" as unknown as Uint8Array)).toThrow(/string/);
    expect(() => d.recv(-1)).toThrow(RangeError);
    expect(() => d.recv(-1)).toThrow(/-1/);
  });

  it.each(modes)("a bad argument inside a handler goes to handleError and the loop keeps serving ($name)", async ({ usePoll }) => {
    const errors: unknown[] = [];
    const echoed: string[] = [];
    class Echo extends BaseTestHandler {
      override writable(): boolean { return false; }
      override handleRead(): void { this.send(this.recv(1024)); }
      override handleClose(): void { this.close(); }
    }
    const server = new BaseServer(ipv4, ["127.0.0.1", 0], map, Echo);
    class Bad extends BaseTestHandler {
      override handleConnect(): void {}
      override writable(): boolean { return errors.length === 0; }
      override handleRead(): void {}
      override handleWrite(): void { this.send("text" as unknown as Uint8Array); }
      override handleError(err: unknown): void { errors.push(err); }
    }
    class Good extends BaseTestHandler {
      sent = false;
      override handleConnect(): void {}
      override writable(): boolean { return !this.sent; }
      override handleWrite(): void { this.sent = this.send(Buffer.from("still here")) > 0; }
      override handleRead(): void { echoed.push(String(this.recv(1024))); }
    }
    const bad = new Bad(null, map);
    bad.createSocket(AF_INET);
    bad.connect(server.address);
    const good = new Good(null, map);
    good.createSocket(AF_INET);
    good.connect(server.address);
    await loopUntil(map, () => echoed.join("") === "still here", usePoll);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(TypeError);
    expect(String(errors[0])).toMatch(/send\(\).*string/);
    expect(bad.connected).toBe(true);
  });
});
