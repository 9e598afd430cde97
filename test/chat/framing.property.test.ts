// Property tests: for random streams, read splits and terminator switches, AsyncChat's frames
// equal those of a plain reference framer, whichever path frames them (core or recv()).
import { describe, it, expect, beforeAll } from "vitest";
import * as fc from "fast-check";
import * as net from "node:net";
import { AsyncChat, ChannelMap, Socket, SocketError, configure, loop, AF_INET, SOCK_STREAM } from "../../host/index.js";
import { getEngine } from "../../host/core/engine.js";
import { FIELD } from "../../host/core/abi.js";

type Term = Buffer | number | null;

// ---- the reference: the whole stream at once, no reads, no hold-back -----------------------

interface Framed { frames: Buffer[]; tail: Buffer }

/** Frames `stream` with `first`, then each terminator of `script` in turn, as asynchat defines it. */
function referenceFramer(stream: Buffer, first: Term, script: Term[]): Framed {
  const frames: Buffer[] = [];
  let term: Term = first;
  let next = 0;
  let pos = 0;
  for (;;) {
    const rest = stream.subarray(pos);
    if (term === null || term === 0 || (Buffer.isBuffer(term) && term.length === 0)) return { frames, tail: rest };
    let end: number;
    if (typeof term === "number") {
      if (rest.length < term) return { frames, tail: rest };
      frames.push(rest.subarray(0, term));
      end = pos + term;
      term = 0;
    } else {
      const at = stream.indexOf(term, pos);
      if (at < 0) return { frames, tail: rest.subarray(0, rest.length - heldBack(rest, term)) };
      frames.push(stream.subarray(pos, at));
      end = at + term.length;
    }
    pos = end;
    if (next < script.length) term = script[next++];
  }
}

/** Longest proper prefix of `term` that `buf` ends with (written out plainly, not via the library). */
function heldBack(buf: Buffer, term: Buffer): number {
  for (let k = Math.min(term.length - 1, buf.length); k > 0; k--) {
    if (buf.subarray(buf.length - k).equals(term.subarray(0, k))) return k;
  }
  return 0;
}

// ---- AsyncChat subclasses that record what they are told -----------------------------------

type Event = Buffer | "found";

function record<T extends new (...a: any[]) => AsyncChat>(Base: T) { // eslint-disable-line @typescript-eslint/no-explicit-any
  return class extends Base {
    events: Event[] = [];
    script: Term[] = [];
    next = 0;
    override collectIncomingData(data: Buffer): void { this.events.push(Buffer.from(data)); }
    override foundTerminator(): void {
      this.events.push("found");
      if (this.next < this.script.length) this.setTerminator(this.script[this.next++]);
    }
  };
}

const CoreChat = record(AsyncChat);

/** Frames through an overridden recv() over a JS byte queue: CPython's own path. */
const RecvChat = record(class extends AsyncChat {
  pending = Buffer.alloc(0);
  override recv(n: number): Buffer {
    if (this.pending.length === 0) throw new SocketError("EAGAIN", "recv()");
    const out = this.pending.subarray(0, n);
    this.pending = this.pending.subarray(out.length);
    return out;
  }
});

function framesOf(events: Event[]): Framed {
  const frames: Buffer[] = [];
  let cur: Buffer[] = [];
  for (const ev of events) {
    if (ev === "found") { frames.push(Buffer.concat(cur)); cur = []; } else cur.push(ev);
  }
  return { frames, tail: Buffer.concat(cur) };
}

// ---- arbitraries -------------------------------------------------------------------------

const byte = fc.constantFrom(...Buffer.from("aab\r\n.xq"));
const bytesOf = (min: number, max: number): fc.Arbitrary<Buffer> => fc.array(byte, { minLength: min, maxLength: max }).map((a) => Buffer.from(a));
const bytesTerm = fc.oneof(
  fc.constantFrom("\n", "\r\n", "\r\n.\r\n", "qqq", "aab", "abab", "aba").map((s) => Buffer.from(s)),
  bytesOf(1, 4),
);
const anyTerm: fc.Arbitrary<Term> = fc.oneof({ weight: 4, arbitrary: bytesTerm }, { weight: 2, arbitrary: fc.integer({ min: 1, max: 12 }) });
const lastTerm: fc.Arbitrary<Term> = fc.oneof(anyTerm, fc.constantFrom<Term>(null, 0, Buffer.alloc(0)));
const scenario = fc.record({
  stream: fc.oneof(bytesOf(0, 300), bytesOf(300, 3000)),
  first: anyTerm,
  script: fc.tuple(fc.array(anyTerm, { maxLength: 30 }), fc.option(lastTerm, { nil: undefined }))
    .map(([s, last]) => (last === undefined ? s : [...s, last])),
  splits: fc.array(fc.integer({ min: 1, max: 400 }), { minLength: 1, maxLength: 40 }),
  extraReads: fc.array(fc.nat(2), { minLength: 1, maxLength: 40 }),
  acInBufferSize: fc.oneof(fc.integer({ min: 1, max: 16 }), fc.constant(65536)),
});

function chunksOf(stream: Buffer, splits: number[]): Buffer[] {
  const out: Buffer[] = [];
  for (let off = 0, i = 0; off < stream.length; i++) {
    const n = splits[i % splits.length];
    out.push(stream.subarray(off, off + n));
    off += n;
  }
  return out;
}

beforeAll(() => {
  // Tiny core chunks: the search crosses chunk boundaries all the time.
  configure({ chunkSize: 64 });
});

describe("AsyncChat framing (property)", () => {
  it("frames like the reference framer, and the core path calls back exactly as CPython's recv() path", () => {
    const e = getEngine();
    fc.assert(fc.property(scenario, ({ stream, first, script, splits, extraReads, acInBufferSize }) => {
      const map = new ChannelMap();
      const sock = new Socket();
      const core = new CoreChat(sock, map);
      const py = new RecvChat(null, map);
      try {
        for (const c of [core, py]) {
          c.acInBufferSize = acInBufferSize;
          c.script = script;
          c.setTerminator(first);
        }
        const fd = sock.fileno();
        const chunks = chunksOf(stream, splits);
        chunks.forEach((chunk, i) => {
          expect(e.pushIn(fd, chunk, 0, chunk.length)).toBe(chunk.length);
          py.pending = Buffer.concat([py.pending, chunk]);
          for (let r = 0; r <= extraReads[i % extraReads.length]; r++) {
            core.handleRead();
            py.handleRead();
          }
        });
        // drain: one read per acInBufferSize bytes still unread
        while (e.field(fd, FIELD.inLen) > e.core.chat_held(fd)) { core.handleRead(); py.handleRead(); }
        expect(py.pending.length).toBe(0);
        expect(core.events).toEqual(py.events);
        expect(core.events.every((ev) => ev === "found" || ev.length > 0)).toBe(true);
        const ref = referenceFramer(stream, first, script);
        const got = framesOf(core.events);
        expect(got.frames).toEqual(ref.frames);
        expect(got.tail).toEqual(ref.tail);
        expect(core.getTerminator()).toEqual(py.getTerminator());
      } finally {
        core.close();
      }
    }), { numRuns: 1500 });
  });

  it("frames a stream written over loopback in random pieces like the reference framer", async () => {
    await fc.assert(fc.asyncProperty(scenario, async ({ stream, first, script, splits, acInBufferSize }) => {
      const server = net.createServer((conn) => {
        conn.setNoDelay(true);
        conn.on("error", () => {});
        const chunks = chunksOf(stream, splits);
        const step = (): void => {
          const c = chunks.shift();
          if (c === undefined) { conn.end(); return; }
          conn.write(c);
          setImmediate(step);
        };
        step();
      });
      await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
      try {
        const map = new ChannelMap();
        const chat = new CoreChat(null, map);
        chat.acInBufferSize = acInBufferSize;
        chat.script = script;
        chat.setTerminator(first);
        chat.handleConnect = (): void => {};
        chat.createSocket(AF_INET, SOCK_STREAM);
        chat.connect(["127.0.0.1", (server.address() as net.AddressInfo).port]);
        await loop({ map, timeout: 1, count: 20_000 });
        expect(map.size).toBe(0);
        const ref = referenceFramer(stream, first, script);
        const got = framesOf(chat.events);
        expect(got.frames).toEqual(ref.frames);
        expect(got.tail).toEqual(ref.tail);
      } finally {
        server.close();
      }
    }), { numRuns: 40 });
  });
});
