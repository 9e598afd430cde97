// AsyncChat's own behaviour, case by case: framing fed straight into the core, and output.
import { describe, it, expect } from "vitest";
import * as net from "node:net";
import { AsyncChat, SimpleProducer, ChannelMap, Socket, loop, poll, read, AF_INET, SOCK_STREAM } from "../../host/index.js";
import { getEngine } from "../../host/core/engine.js";
import { FIELD } from "../../host/core/abi.js";
import { b } from "./helpers.js";

type Ev = string;

/** Records callbacks as strings: "c:<data>" and "found". */
class Rec extends AsyncChat {
  events: Ev[] = [];
  onFound: (() => void) | null = null;
  override collectIncomingData(d: Buffer): void { this.events.push(`c:${d.toString("latin1")}`); }
  override foundTerminator(): void { this.events.push("found"); this.onFound?.(); }
}

/** An AsyncChat on a socket that never connects; bytes go straight into its input queue. */
function fed(): { chat: Rec; feed: (s: string) => void; readable: () => boolean } {
  const sock = new Socket();
  const chat = new Rec(sock, new ChannelMap());
  const e = getEngine();
  const fd = sock.fileno();
  e.setField(fd, FIELD.interest, 1);
  return {
    chat,
    feed: (s) => { const d = b(s); e.pushIn(fd, d, 0, d.length); },
    readable: () => e.core.chan_ready(fd) === 1,
  };
}

describe("AsyncChat input framing", () => {
  it("counts an integer terminator down across reads, then collects everything", () => {
    const { chat, feed } = fed();
    chat.setTerminator(10);
    feed("abcd");
    chat.handleRead();
    expect(chat.getTerminator()).toBe(6);
    feed("efghijklmn");
    chat.handleRead();
    expect(chat.events).toEqual(["c:abcd", "c:efghij", "found", "c:klmn"]);
    expect(chat.getTerminator()).toBe(0);
  });

  it("frames the rest of a read with a terminator set inside foundTerminator", () => {
    const { chat, feed } = fed();
    chat.setTerminator("\r\n");
    const next: Array<string | number | null> = [3, "..", null];
    chat.onFound = () => chat.setTerminator(next.shift()!);
    feed("HEAD\r\nabcdefg..rest\r\n");
    chat.handleRead();
    expect(chat.events).toEqual(["c:HEAD", "found", "c:abc", "found", "c:defg", "found", "c:rest\r\n"]);
  });

  it("holds back a partial terminator at the end of a read and is not readable on it alone", () => {
    const { chat, feed, readable } = fed();
    chat.setTerminator("\r\n.\r\n");
    feed("line\r\n.");
    expect(readable()).toBe(true);
    chat.handleRead();
    expect(chat.events).toEqual(["c:line"]);
    expect(readable()).toBe(false); // "\r\n." waits for more
    chat.handleRead(); // a spurious read event: would-block, ignored
    expect(chat.events).toEqual(["c:line"]);
    feed("x\r\n.\r\n");
    chat.handleRead();
    expect(chat.events).toEqual(["c:line", "c:\r\n.x", "found"]);
  });

  it("frames held bytes with a terminator changed between reads", () => {
    const { chat, feed } = fed();
    chat.setTerminator("\r\n");
    feed("ab\r");
    chat.handleRead();
    chat.setTerminator("b\r");
    feed("zb\rq");
    chat.handleRead();
    expect(chat.events).toEqual(["c:ab", "c:\rz", "found", "c:q"]);
  });

  it("reports empty lines with foundTerminator only", () => {
    const { chat, feed } = fed();
    chat.setTerminator("\n");
    feed("\n\nx\n");
    chat.handleRead();
    expect(chat.events).toEqual(["found", "found", "c:x", "found"]);
  });

  it("takes at most acInBufferSize new bytes per read event", () => {
    const { chat, feed, readable } = fed();
    chat.acInBufferSize = 4;
    chat.setTerminator("\n");
    feed("0123456789\n");
    chat.handleRead();
    expect(chat.events).toEqual(["c:0123"]);
    expect(readable()).toBe(true);
    chat.handleRead();
    chat.handleRead();
    expect(chat.events).toEqual(["c:0123", "c:4567", "c:89", "found"]);
  });

  it("calls no handler after a handler closed the channel", () => {
    const { chat, feed } = fed();
    chat.setTerminator("\n");
    chat.onFound = () => chat.close();
    feed("one\ntwo\nthree\n");
    chat.handleRead();
    expect(chat.events).toEqual(["c:one", "found"]);
  });

  it("sends data that arrives before setTerminator() to handleError, as Python's AttributeError", () => {
    const { chat, feed } = fed();
    const errors: unknown[] = [];
    chat.handleError = (err) => { errors.push(err); };
    feed("early");
    read(chat); // asyncore.read(): the handler's exception goes to handleError
    expect(errors).toHaveLength(1);
    expect(String(errors[0])).toMatch(/before setTerminator\(\)/);
  });

  it("discards held input and queued output with discardBuffers()", () => {
    const { chat, feed, readable } = fed();
    chat.setTerminator("\r\n");
    feed("abc\r");
    chat.handleRead();
    chat.producerFifo.push(b("queued"));
    chat.discardBuffers();
    expect(chat.producerFifo).toEqual([]);
    expect(getEngine().field(chat.socket!.fileno(), FIELD.inLen)).toBe(0);
    feed("\nx\r\n");
    expect(readable()).toBe(true);
    chat.handleRead();
    expect(chat.events).toEqual(["c:abc", "c:\nx", "found"]); // the held "\r" went, so "\n" is data
  });
});

/** A connected AsyncChat client and a node:net server that keeps what it receives. */
async function connectedPair(map: ChannelMap): Promise<{ chat: Rec; received: () => Buffer; closed: Promise<void>; server: net.Server; peer: Promise<net.Socket> }> {
  const chunks: Buffer[] = [];
  let gotPeer!: (c: net.Socket) => void;
  const peer = new Promise<net.Socket>((r) => (gotPeer = r));
  let closedResolve!: () => void;
  const closed = new Promise<void>((r) => (closedResolve = r));
  const server = net.createServer((c) => {
    gotPeer(c);
    c.on("data", (d) => chunks.push(d));
    c.on("end", () => { c.end(); closedResolve(); });
    c.on("error", () => {});
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const chat = new Rec(null, map);
  chat.handleConnect = (): void => {};
  chat.setTerminator("\n");
  chat.createSocket(AF_INET, SOCK_STREAM);
  chat.connect(["127.0.0.1", (server.address() as net.AddressInfo).port]);
  for (let i = 0; i < 100 && !chat.connected; i++) await poll(0.1, map);
  expect(chat.connected).toBe(true);
  return { chat, received: () => Buffer.concat(chunks), closed, server, peer };
}

describe("AsyncChat framing cost", () => {
  it("searches each input byte once while a 3 MB message arrives in uneven reads", () => {
    const { chat, feed } = fed();
    chat.setTerminator("\r\n.\r\n");
    const core = getEngine().core;
    const before = core.chat_scanned();
    const body = "ab\r\n.x\r\n".repeat(300_000);
    let total = 0;
    for (let off = 0, step = 1; off < body.length; off += step, step = (step * 7 + 3) % 70_000 + 1) {
      const piece = body.slice(off, off + step);
      feed(piece);
      total += piece.length;
      while (getEngine().field(chat.socket!.fileno(), FIELD.inLen) > core.chat_held(chat.socket!.fileno())) chat.handleRead();
    }
    feed("\r\n.\r\n");
    total += 5;
    chat.handleRead();
    expect(chat.events.at(-1)).toBe("found");
    expect(core.chat_scanned() - before).toBe(total);
  });

  it("does not wake the loop for a held partial terminator over loopback", async () => {
    const map = new ChannelMap();
    const { chat, server, peer } = await connectedPair(map);
    chat.setTerminator("\r\n");
    let reads = 0;
    const handleRead = chat.handleRead.bind(chat);
    chat.handleRead = (): void => { reads++; handleRead(); };
    chat.writable = (): boolean => false;
    const conn = await peer;
    conn.write("abc\r");
    const fd = chat.socket!.fileno();
    for (let i = 0; i < 100 && getEngine().core.chat_held(fd) !== 1; i++) await poll(0.1, map);
    expect(chat.events).toEqual(["c:abc"]);
    reads = 0;
    await loop({ map, timeout: 0.02, count: 5 }); // five passes that find nothing to do
    expect(reads).toBe(0);
    conn.write("\n");
    for (let i = 0; i < 100 && chat.events.length === 1; i++) await poll(0.1, map);
    expect(chat.events).toEqual(["c:abc", "found"]);
    chat.close();
    server.close();
  });
});

describe("AsyncChat output", () => {
  it("makes one send() of at most acOutBufferSize bytes per initiateSend()", async () => {
    const map = new ChannelMap();
    const { chat, received, closed, server } = await connectedPair(map);
    const sends: number[] = [];
    const send = chat.send.bind(chat);
    chat.send = (d: Uint8Array): number => { sends.push(d.length); return send(d); };
    chat.acOutBufferSize = 1000;
    const data = Buffer.alloc(2500, "z");
    chat.push(data); // split into 1000, 1000, 500; push() calls initiateSend() once
    expect(sends).toEqual([1000]);
    expect(chat.producerFifo.map((x) => (x as Buffer).length)).toEqual([1000, 500]);
    chat.closeWhenDone();
    await loop({ map, timeout: 1, count: 200 });
    expect(sends).toEqual([1000, 1000, 500]);
    await closed;
    expect(received()).toEqual(data);
    server.close();
  });

  it("queues pushes made before the connection completes and keeps them after a rejected push", async () => {
    const map = new ChannelMap();
    const chunks: Buffer[] = [];
    let done!: () => void;
    const ended = new Promise<void>((r) => (done = r));
    const server = net.createServer((c) => { c.on("data", (d) => chunks.push(d)); c.on("end", () => { c.end(); done(); }); });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const chat = new Rec(null, map);
    chat.handleConnect = (): void => {};
    chat.setTerminator("\n");
    chat.createSocket(AF_INET, SOCK_STREAM);
    chat.connect(["127.0.0.1", (server.address() as net.AddressInfo).port]);
    chat.push(b("first "));
    chat.pushWithProducer(new SimpleProducer(b("second "), 3));
    expect(() => chat.push("third" as unknown as Uint8Array)).toThrow(TypeError);
    expect(() => chat.pushWithProducer({} as never)).toThrow(/more\(\)/);
    expect(chat.producerFifo).toHaveLength(2);
    chat.push(b("fourth"));
    chat.closeWhenDone();
    await loop({ map, timeout: 1, count: 200 });
    await ended;
    expect(Buffer.concat(chunks).toString()).toBe("first second fourth");
    server.close();
  });

  it("closes on the next write event when closeWhenDone() finds nothing queued", async () => {
    const map = new ChannelMap();
    const { chat, closed, server } = await connectedPair(map);
    const calls: string[] = [];
    chat.handleClose = (): void => { calls.push("handleClose"); chat.close(); };
    chat.closeWhenDone();
    expect(chat.connected).toBe(true);
    await loop({ map, timeout: 1, count: 10 });
    expect(calls).toEqual(["handleClose"]);
    await closed;
    server.close();
  });

  it("rejects a producer whose more() returns a string, keeping it queued", async () => {
    const map = new ChannelMap();
    const { chat, server } = await connectedPair(map);
    const bad = { more: (): Uint8Array => "text" as unknown as Uint8Array };
    expect(() => chat.pushWithProducer(bad)).toThrow(/more\(\) must return a Uint8Array, got "text"/);
    expect(chat.producerFifo).toEqual([bad]);
    chat.close();
    server.close();
  });
});

describe("SimpleProducer", () => {
  it("hands out bufferSize pieces, then empty ones", () => {
    const p = new SimpleProducer(Buffer.alloc(1100, 1));
    expect([p.more().length, p.more().length, p.more().length, p.more().length]).toEqual([512, 512, 76, 0]);
    const q = new SimpleProducer(b("abcdefgh"), 3);
    expect([q.more(), q.more(), q.more(), q.more()].map(String)).toEqual(["abc", "def", "gh", ""]);
    expect(() => new SimpleProducer(b("x"), 0)).toThrow(RangeError);
    expect(() => new SimpleProducer("x" as unknown as Uint8Array)).toThrow(TypeError);
  });
});
