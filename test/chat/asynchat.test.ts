// CPython's test_asynchat.py, ported: real loopback sockets, both dispatch modes.
import { describe, it, expect } from "vitest";
import { AsyncChat, SimpleProducer, findPrefixAtEnd, ChannelMap, SocketError, loop, Dispatcher } from "../../host/index.js";
import { startEchoServer, EchoClient, SERVER_QUIT, b } from "./helpers.js";

describe.each([
  ["poll (select)", false],
  ["poll2", true],
])("AsyncChat over loopback, %s", (_name, usePoll) => {
  async function run(client: EchoClient, map: ChannelMap): Promise<void> {
    await loop({ map, usePoll, timeout: 1, count: 5000 });
    expect(map.size).toBe(0); // the client closed when the server's EOF arrived
    expect(client.errors).toEqual([]);
  }

  async function lineTerminatorCheck(term: Buffer, chunk: number): Promise<void> {
    const s = await startEchoServer(chunk);
    const map = new ChannelMap();
    const c = new EchoClient(term, s.port, map);
    c.push(b("hello "));
    c.push(Buffer.concat([b("world"), term]));
    c.push(Buffer.concat([b("I'm not dead yet!"), term]));
    c.push(SERVER_QUIT);
    await run(c, map);
    await s.done;
    expect(c.contents).toEqual([b("hello world"), b("I'm not dead yet!")]);
  }

  // The echo server answers in 1-, 2- and 3-byte pieces to exercise every branch of handleRead.
  for (const [name, term] of [["one-byte", "\n"], ["two-byte", "\r\n"], ["three-byte", "qqq"]] as const) {
    for (const chunk of [1, 2, 3]) {
      it(`frames lines ending in a ${name} terminator echoed back in ${chunk}-byte pieces`, async () => {
        await lineTerminatorCheck(b(term), chunk);
      });
    }
  }

  for (const n of [1, 6]) {
    it(`delivers the first ${n} bytes for a numeric terminator of ${n}, then collects the rest without framing`, async () => {
      const s = await startEchoServer();
      const map = new ChannelMap();
      const c = new EchoClient(n, s.port, map);
      const data = b("hello world, I'm not dead yet!\n");
      c.push(data);
      c.push(SERVER_QUIT);
      await run(c, map);
      expect(c.contents).toEqual([data.subarray(0, n)]);
      expect(c.buffer).toEqual(data.subarray(n));
      expect(c.getTerminator()).toBe(0);
    });
  }

  it("collects everything and never calls foundTerminator with a null terminator", async () => {
    const s = await startEchoServer();
    const map = new ChannelMap();
    const c = new EchoClient(null, s.port, map);
    const data = b("hello world, I'm not dead yet!\n");
    c.push(data);
    c.push(SERVER_QUIT);
    await run(c, map);
    expect(c.contents).toEqual([]);
    expect(c.buffer).toEqual(data);
  });

  it("sends a SimpleProducer's output in bufferSize pieces", async () => {
    const s = await startEchoServer();
    const map = new ChannelMap();
    const c = new EchoClient(b("\n"), s.port, map);
    const data = b("hello world\nI'm not dead yet!\n");
    const p = new SimpleProducer(Buffer.concat([data, SERVER_QUIT]), 8);
    const sends: number[] = [];
    const send = c.send.bind(c);
    c.send = (d: Uint8Array): number => { sends.push(d.length); return send(d); };
    c.pushWithProducer(p);
    await run(c, map);
    expect(c.contents).toEqual([b("hello world"), b("I'm not dead yet!")]);
    expect(sends.filter((n) => n > 0)).toEqual([8, 8, 8, 8, 3]);
  });

  it("accepts plain bytes as a producer", async () => {
    const s = await startEchoServer();
    const map = new ChannelMap();
    const c = new EchoClient(b("\n"), s.port, map);
    c.pushWithProducer(b("hello world\nI'm not dead yet!\nQUIT\n"));
    await run(c, map);
    expect(c.contents).toEqual([b("hello world"), b("I'm not dead yet!")]);
  });

  it("reports an empty line to foundTerminator without calling collectIncomingData", async () => {
    const s = await startEchoServer(3);
    const map = new ChannelMap();
    const c = new EchoClient(b("\n"), s.port, map);
    c.push(b("hello world\n\nI'm not dead yet!\n"));
    c.push(SERVER_QUIT);
    await run(c, map);
    expect(c.contents).toEqual([b("hello world"), b(""), b("I'm not dead yet!")]);
    expect(c.collected.every((d) => d.length > 0)).toBe(true);
  });

  it("closes after sending everything queued before closeWhenDone()", async () => {
    let openGate!: () => void;
    const gate = new Promise<void>((r) => (openGate = r));
    const s = await startEchoServer(1, gate);
    const map = new ChannelMap();
    const c = new EchoClient(b("\n"), s.port, map);
    const calls: string[] = [];
    const handleClose = c.handleClose.bind(c);
    c.handleClose = (): void => { calls.push("handleClose"); handleClose(); };
    c.push(b("hello world\nI'm not dead yet!\n"));
    c.push(SERVER_QUIT);
    c.closeWhenDone();
    await run(c, map);
    openGate(); // the server echoes only after the client closed
    await s.done;
    expect(calls).toEqual(["handleClose"]);
    expect(c.contents).toEqual([]);
    expect(s.received()).toEqual(b("hello world\nI'm not dead yet!\n"));
  });

  it("accepts Buffer, Uint8Array and views; rejects numbers and strings without losing queued data", async () => {
    const s = await startEchoServer();
    const map = new ChannelMap();
    const c = new EchoClient(b("\n"), s.port, map);
    const data = b("bytes\n");
    c.push(data);
    c.push(new Uint8Array(data));
    c.push(b("xxbytes\nyy").subarray(2, 8));
    expect(() => c.push(10 as unknown as Uint8Array)).toThrow(TypeError);
    expect(() => c.push("unicode" as unknown as Uint8Array)).toThrow(/push\(\): data must be a Uint8Array or Buffer, got a string/);
    c.push(SERVER_QUIT);
    await run(c, map);
    expect(c.contents).toEqual([b("bytes"), b("bytes"), b("bytes")]);
  });
});

describe("AsyncChat.handleRead and would-block", () => {
  it("ignores EAGAIN from an overridden recv() (bpo-16133)", () => {
    const errors: unknown[] = [];
    class Chat extends AsyncChat {
      override recv(): Buffer { throw new SocketError("EAGAIN", "recv()"); }
      override handleError(err: unknown): void { errors.push(err); }
    }
    const map = new ChannelMap();
    const c = new Chat(null, map);
    c.setTerminator("\n");
    c.handleRead();
    expect(errors).toEqual([]);
  });

  it("routes any other SocketError from an overridden recv() to handleError", () => {
    const errors: unknown[] = [];
    class Chat extends AsyncChat {
      override recv(): Buffer { throw new SocketError("ECONNREFUSED", "recv()"); }
      override handleError(err: unknown): void { errors.push(err); }
    }
    const c = new Chat(null, new ChannelMap());
    c.setTerminator("\n");
    c.handleRead();
    expect(errors).toHaveLength(1);
    expect((errors[0] as SocketError).code).toBe("ECONNREFUSED");
  });

  it("frames what an overridden recv() returns, the CPython way", () => {
    const frames: string[] = [];
    const reads = [b("ab\r"), b("\ncd"), b("\r\n")];
    class Chat extends AsyncChat {
      private cur = "";
      override recv(n: number): Buffer { expect(n).toBe(65536); return reads.shift()!; }
      override collectIncomingData(d: Buffer): void { this.cur += d.toString(); }
      override foundTerminator(): void { frames.push(this.cur); this.cur = ""; }
    }
    const c = new Chat(null, new ChannelMap());
    c.setTerminator("\r\n");
    c.handleRead();
    expect(c.acInBuffer).toEqual(b("\r"));
    c.handleRead();
    c.handleRead();
    expect(frames).toEqual(["ab", "cd"]);
  });

  it("treats a read event with nothing new as would-block when framing in the core", async () => {
    const map = new ChannelMap();
    const errors: unknown[] = [];
    class Server extends Dispatcher {
      chat: AsyncChat | null = null;
      override handleAccepted(sock: import("../../host/index.js").Socket): void {
        this.chat = new (class extends AsyncChat {
          override handleError(err: unknown): void { errors.push(err); }
        })(sock, map);
      }
    }
    const server = new Server(null, map);
    server.createSocket();
    server.bind(["127.0.0.1", 0]);
    server.listen(1);
    const client = new (class extends Dispatcher { override handleConnect(): void {} override writable(): boolean { return false; } })(null, map);
    client.createSocket();
    client.connect(server.socket!.getsockname());
    for (let i = 0; i < 200 && server.chat === null; i++) await loop({ map, timeout: 0.05, count: 1 });
    expect(server.chat).not.toBeNull();
    server.chat!.setTerminator("\n");
    server.chat!.handleRead();
    expect(errors).toEqual([]);
    expect(server.chat!.connected).toBe(true);
    server.close();
    client.close();
    server.chat!.close();
  });
});

describe("findPrefixAtEnd", () => {
  it("gives the length of the terminator prefix a buffer ends with", () => {
    expect(findPrefixAtEnd("qwerty\r", "\r\n")).toBe(1);
    expect(findPrefixAtEnd("qwertydkjf", "\r\n")).toBe(0);
    expect(findPrefixAtEnd(b("abc\r\n\r"), b("\r\n\r\n"))).toBe(3);
    expect(findPrefixAtEnd(b(""), b("\r\n"))).toBe(0);
    expect(findPrefixAtEnd(b("x"), b(""))).toBe(0);
    expect(() => findPrefixAtEnd("abc", b("c") as unknown as string)).toThrow(TypeError);
  });
});

describe("setTerminator validation (not connected)", () => {
  it("rejects a negative count with a RangeError (bpo-11259) and keeps the old terminator", () => {
    const c = new AsyncChat(null, new ChannelMap());
    c.setTerminator("\n");
    expect(() => c.setTerminator(-1)).toThrow(RangeError);
    expect(() => c.setTerminator(-1)).toThrow(/-1/);
    expect(c.getTerminator()).toEqual(b("\n"));
  });

  it("rejects booleans, fractions, undefined and objects with a TypeError", () => {
    const c = new AsyncChat(null, new ChannelMap());
    for (const bad of [true, false, 1.5, NaN, Infinity, undefined, {}, [10]]) {
      expect(() => c.setTerminator(bad as unknown as number)).toThrow(TypeError);
    }
    expect(c.getTerminator()).toBeUndefined();
  });

  it("stores bytes as a copy, strings as UTF-8, counts and null as given", () => {
    const c = new AsyncChat(null, new ChannelMap());
    const t = b("\r\n");
    c.setTerminator(t);
    t[0] = 0x41;
    expect(c.getTerminator()).toEqual(b("\r\n"));
    c.setTerminator("é\n");
    expect(c.getTerminator()).toEqual(Buffer.from("é\n", "utf8"));
    c.setTerminator(0);
    expect(c.getTerminator()).toBe(0);
    c.setTerminator(null);
    expect(c.getTerminator()).toBeNull();
    expect(() => c.setTerminator(Buffer.alloc(32769))).toThrow(RangeError);
  });
});
