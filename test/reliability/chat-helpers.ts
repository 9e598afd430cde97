// The AsyncChat side of the reliability tests: a server on the engine speaking the framed
// protocol of clients/chat-protocol.mjs (lines, byte counts, an SMTP-style DATA block).
import { createHash } from "node:crypto";
import * as net from "node:net";
import { rng, conversation } from "./clients/chat-protocol.mjs";
import { ChannelMap, Dispatcher, Socket, AF_INET } from "../../host/index.js";
import { AsyncChat, SimpleProducer } from "../../host/asyncore/chat.js";

const CRLF = Buffer.from("\r\n");
const END = Buffer.from("\r\n.\r\n");

/** What one server channel saw, for the test to compare with its client. */
export interface ChatRecord {
  frames: number;
  replyHash: string;
  replyBytes: number;
  closes: number;
  /** Input bytes framing consumed: handed to collectIncomingData, plus the string terminators found. */
  framedBytes: number;
  /** Output entries still queued when QUIT called closeWhenDone() (-1: no QUIT seen). */
  queuedAtQuit: number;
}

/** Read/write buffer sizes the server rotates through, so frames straddle reads of every size. */
export const IN_SIZES = [64, 1000, 4096, 65536];
export const OUT_SIZES = [512, 65536];

/** One connection of the protocol; every reply is hashed as it is pushed. */
export class ChatChannel extends AsyncChat {
  private parts: Buffer[] = [];
  private mode: "line" | "bin" | "data" = "line";
  private binLen = 0;
  private readonly digest = createHash("sha256");
  frames = 0;
  replyBytes = 0;
  closes = 0;
  queuedAtQuit = -1;
  framedBytes = 0;
  readonly collected: number[] = []; // sizes handed to collectIncomingData (tests bound them)

  constructor(sock: Socket, map: ChannelMap, private readonly server: ChatServer, n: number) {
    super(sock, map);
    this.acInBufferSize = IN_SIZES[n % IN_SIZES.length];
    this.acOutBufferSize = OUT_SIZES[(n >> 2) % OUT_SIZES.length];
    this.setTerminator(CRLF);
  }

  override collectIncomingData(data: Buffer): void {
    this.framedBytes += data.length;
    this.parts.push(data);
  }

  private reply(...bufs: Buffer[]): void {
    for (const b of bufs) { this.digest.update(b); this.replyBytes += b.length; }
    this.push(bufs.length === 1 ? bufs[0] : Buffer.concat(bufs));
  }

  override foundTerminator(): void {
    const t = this.getTerminator();
    if (typeof t !== "number") this.framedBytes += Buffer.byteLength(t as string | Buffer);
    const data = this.parts.length === 1 ? this.parts[0] : Buffer.concat(this.parts);
    this.parts = [];
    if (this.mode === "bin") {
      this.mode = "line";
      this.setTerminator(CRLF);
      this.frames++;
      this.reply(Buffer.from(`BIN ${this.binLen}\r\n`), data);
      return;
    }
    if (this.mode === "data") {
      this.mode = "line";
      this.setTerminator(CRLF);
      this.frames++;
      const head = Buffer.from(`DATA ${data.length}\r\n`);
      for (const b of [head, data, END]) { this.digest.update(b); this.replyBytes += b.length; }
      this.pushWithProducer(new SimpleProducer(Buffer.concat([head, data, END]), 4096 + (data.length % 8192)));
      return;
    }
    const line = data.toString("latin1");
    if (line === "") { this.frames++; this.reply(Buffer.from("EMPTY\r\n")); }
    else if (line.startsWith("ECHO ")) { this.frames++; this.reply(data, CRLF); }
    else if (line.startsWith("BIN ")) {
      this.binLen = Number(line.slice(4));
      if (this.binLen === 0) { this.frames++; this.reply(Buffer.from("BIN 0\r\n")); return; }
      this.mode = "bin";
      this.setTerminator(this.binLen); // a count: the next binLen bytes, whatever they are
    } else if (line === "DATA") {
      this.mode = "data";
      this.setTerminator(END); // as SMTP: switched inside foundTerminator
    } else if (line === "QUIT") {
      this.reply(Buffer.from(`BYE ${this.frames}\r\n`));
      this.queuedAtQuit = this.producerFifo.length;
      this.closeWhenDone();
    } else {
      this.server.errors.push(new Error(`bad line ${JSON.stringify(line.slice(0, 80))}`));
      this.close();
    }
  }

  override handleClose(): void {
    this.closes++;
    this.finish();
  }

  override handleError(err: unknown): void {
    this.server.errors.push(err);
    this.finish();
  }

  private finish(): void {
    if (this.isClosed()) return;
    this.close();
    this.server.live.delete(this);
    this.server.records.push({
      frames: this.frames, replyHash: this.digest.digest("hex"), replyBytes: this.replyBytes,
      closes: this.closes, framedBytes: this.framedBytes, queuedAtQuit: this.queuedAtQuit,
    });
  }
}

/** A listening Dispatcher spawning ChatChannels. */
export class ChatServer extends Dispatcher {
  readonly live = new Set<ChatChannel>();
  readonly records: ChatRecord[] = [];
  readonly errors: unknown[] = [];
  accepted = 0;

  constructor(readonly chanMap: ChannelMap, host = "127.0.0.1") {
    super(null, chanMap);
    this.createSocket(AF_INET);
    this.bind([host, 0]);
    this.listen(4096);
  }
  get port(): number {
    return (this.socket!.getsockname() as [string, number])[1];
  }
  override handleAccepted(sock: Socket): void {
    this.live.add(new ChatChannel(sock, this.chanMap, this, this.accepted++));
  }
  override handleError(err: unknown): void {
    this.errors.push(err);
  }
}

interface ChatPeer {
  s: net.Socket;
  request: Buffer;
  reply: Buffer;
  back: Buffer[];
  error: string | null;
  closed: Promise<void>;
}

/**
 * In-process protocol clients that keep conversations going while a test injects a fault:
 * open() sends the first half of each request, finish() the rest, then waits for every reply
 * and the server's close; it returns a description of every connection that did not get its
 * replies byte-exact (empty = intact).
 */
export class ChatBystanders {
  private constructor(private readonly peers: ChatPeer[]) {}

  static async open(port: number, n: number, seed = Date.now() >>> 0, target = 48 * 1024): Promise<ChatBystanders> {
    const peers = await Promise.all(Array.from({ length: n }, (_, i) => new Promise<ChatPeer>((resolve, reject) => {
      const { request, reply } = conversation(rng((seed + i * 7919) >>> 0), target, 16 * 1024);
      const s = net.connect({ host: "127.0.0.1", port });
      const p: ChatPeer = { s, request, reply, back: [], error: null, closed: Promise.resolve() };
      p.closed = new Promise((done) => s.once("close", () => done()));
      s.on("data", (d: Buffer) => p.back.push(d));
      s.on("error", (e: NodeJS.ErrnoException) => { p.error = e.code ?? String(e); });
      s.on("end", () => s.end());
      s.once("connect", () => { s.write(request.subarray(0, request.length >> 1)); resolve(p); });
      s.once("error", reject);
    })));
    return new ChatBystanders(peers);
  }

  async finish(ms = 15_000): Promise<string[]> {
    for (const p of this.peers) p.s.write(p.request.subarray(p.request.length >> 1));
    await Promise.race([Promise.all(this.peers.map((p) => p.closed)), new Promise((r) => setTimeout(r, ms))]);
    const bad: string[] = [];
    this.peers.forEach((p, i) => {
      const back = Buffer.concat(p.back);
      if (p.error || !back.equals(p.reply) || !p.s.destroyed) {
        bad.push(`chat bystander ${i}: owed ${p.reply.length} bytes, got ${back.length}, error ${p.error}, closed ${p.s.destroyed}, equal ${back.equals(p.reply)}`);
      }
      p.s.destroy();
    });
    return bad;
  }
}

/** A listening Dispatcher on 127.0.0.1 that hands each accepted socket to `make`. */
export class Listener extends Dispatcher {
  accepted = 0;
  /** Hands each accepted socket (and its index) to `make`; a test may swap it. */
  constructor(map: ChannelMap, public make: (sock: Socket, n: number) => void) {
    super(null, map);
    this.createSocket(AF_INET);
    this.bind(["127.0.0.1", 0]);
    this.listen(128);
  }
  get port(): number {
    return (this.socket!.getsockname() as [string, number])[1];
  }
  override handleAccepted(sock: Socket): void {
    this.make(sock, this.accepted++);
  }
}
