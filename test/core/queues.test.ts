// The core's byte queues driven directly: chunk chains, the pool, the memory cap, and a
// fast-check property against a reference byte array.
import { describe, it, expect, beforeEach } from "vitest";
import fc from "fast-check";
import { OK, E_TOKEN, E_RANGE, E_STATE, F_OPEN, W, FIELD } from "../../host/core/abi.js";
import { Engine } from "../../host/core/engine.js";
import { freshCore, fcParams, fcTimeout, pattern, type Core, type Dir } from "./wasm.js";
import { CoreModel, K_DATA } from "./model.js";

const CHUNK = 64; // small chunks so a few hundred bytes cross many boundaries
const PER_CHUNK = K_DATA + CHUNK;

let core: Core;
beforeEach(() => {
  core = freshCore();
  expect(core.x.engine_init(CHUNK, 2 ** 30, 65536, 262144)).toBe(OK);
});

describe.each<Dir>(["in", "out"])("the %s queue", (dir) => {
  it("gives back the bytes pushed, in order, across chunk boundaries", () => {
    const t = core.x.chan_open(1);
    const data = pattern(1000);
    expect(core.push(dir, t, data)).toBe(1000);
    expect(core.get(t, dir === "in" ? "inLen" : "outLen")).toBe(1000);
    expect(core.stat("chunksLive")).toBe(Math.ceil(1000 / CHUNK));
    expect(core.take(dir, t, 1000)).toEqual(data);
  });

  it("reserves at most the room left in the tail chunk, then starts a new chunk", () => {
    const t = core.x.chan_open(1);
    const p1 = core.reserve(dir, t, 1000);
    expect(core.x.result_len()).toBe(CHUNK);
    expect(core.commit(dir, t, 40)).toBeGreaterThanOrEqual(0);
    const p2 = core.reserve(dir, t, 1000);
    expect(p2).toBe(p1 + 40);
    expect(core.x.result_len()).toBe(CHUNK - 40);
    expect(core.commit(dir, t, CHUNK - 40)).toBeGreaterThanOrEqual(0);
    expect(core.stat("chunksLive")).toBe(1);
    const p3 = core.reserve(dir, t, 10);
    expect(core.x.result_len()).toBe(10);
    expect(p3 === p1 + CHUNK).toBe(false);
    expect(core.stat("chunksLive")).toBe(2);
  });

  it("keeps partial writes and partial reads exact", () => {
    const t = core.x.chan_open(1);
    const data = pattern(300, 7);
    let off = 0;
    for (const n of [1, 2, 63, 64, 65, 5, 100]) {
      const ptr = core.reserve(dir, t, n);
      const granted = core.x.result_len();
      const k = granted > 1 ? granted - 1 : granted; // commit less than granted
      core.mem().set(data.subarray(off, off + k), ptr);
      expect(core.commit(dir, t, k)).toBeGreaterThanOrEqual(0);
      off += k;
    }
    const got: number[] = [];
    for (const n of [3, 61, 1, 64, 2, 1000]) got.push(...core.take(dir, t, n));
    expect(Uint8Array.from(got)).toEqual(data.subarray(0, off));
  });

  it("peeks the first contiguous run only, ending at its chunk's end", () => {
    const t = core.x.chan_open(1);
    core.push(dir, t, pattern(150));
    expect(core.consume(dir, t, 10)).toBeGreaterThanOrEqual(0);
    const ptr = core.peek(dir, t);
    expect(core.x.result_len()).toBe(CHUNK - 10);
    expect([...core.mem().subarray(ptr, ptr + 3)]).toEqual([10, 11, 12]);
  });

  it("returns a drained queue's chunks to the pool at once and reuses them", () => {
    const t = core.x.chan_open(1);
    core.push(dir, t, pattern(5 * CHUNK));
    expect([core.stat("chunksLive"), core.stat("chunksFree"), core.stat("chunkBytes")]).toEqual([5, 0, 5 * PER_CHUNK]);
    core.take(dir, t, 2 * CHUNK + 1);
    expect([core.stat("chunksLive"), core.stat("chunksFree")]).toEqual([3, 2]);
    core.take(dir, t, 10_000);
    expect([core.stat("chunksLive"), core.stat("chunksFree")]).toEqual([0, 5]);
    const u = core.x.chan_open(2);
    core.push(dir, u, pattern(3 * CHUNK));
    expect([core.stat("chunksLive"), core.stat("chunksFree"), core.stat("chunkBytes")]).toEqual([3, 2, 5 * PER_CHUNK]);
  });

  it("gives every chunk back when the channel closes", () => {
    const t = core.x.chan_open(1);
    core.push(dir, t, pattern(10 * CHUNK + 3));
    expect(core.x.chan_close(t)).toBe(OK);
    expect([core.stat("chunksLive"), core.stat("chunksFree")]).toEqual([0, 11]);
  });

  it("rejects consuming more than is queued and drops nothing", () => {
    const t = core.x.chan_open(1);
    core.push(dir, t, pattern(100));
    for (const n of [101, 2 ** 31, -1]) expect(core.consume(dir, t, n)).toBe(E_RANGE);
    expect(core.consume(dir, t, 0)).toBeGreaterThanOrEqual(0);
    expect(core.take(dir, t, 1000)).toEqual(pattern(100));
  });

  it("rejects a commit without a reservation, a second commit, and one larger than reserved", () => {
    const t = core.x.chan_open(1);
    expect(core.commit(dir, t, 0)).toBe(E_TOKEN);
    core.reserve(dir, t, 10);
    expect(core.commit(dir, t, 11)).toBe(E_RANGE);
    expect(core.commit(dir, t, -1)).toBe(E_RANGE);
    expect(core.commit(dir, t, 10)).toBeGreaterThanOrEqual(0);
    expect(core.commit(dir, t, 10)).toBe(E_TOKEN);
    expect(core.get(t, dir === "in" ? "inLen" : "outLen")).toBe(10);
  });

  it("binds a reservation to its channel and direction", () => {
    const [t, u] = [core.x.chan_open(1), core.x.chan_open(1)];
    core.reserve(dir, t, 10);
    expect(core.commit(dir, u, 5)).toBe(E_TOKEN);
    expect(core.commit(dir === "in" ? "out" : "in", t, 5)).toBe(E_TOKEN);
    core.reserve(dir, u, 10); // a newer reservation replaces the older one
    expect(core.commit(dir, t, 5)).toBe(E_TOKEN);
    expect(core.commit(dir, u, 5)).toBeGreaterThanOrEqual(0);
  });

  it("voids a reservation when a consume frees the chunk it points into", () => {
    const t = core.x.chan_open(1);
    core.push(dir, t, pattern(10));
    core.reserve(dir, t, 10);
    expect(core.consume(dir, t, 10)).toBeGreaterThanOrEqual(0);
    expect(core.stat("chunksLive")).toBe(0);
    const before = core.mem().slice(0, 1024);
    expect(core.commit(dir, t, 10)).toBe(E_STATE);
    expect(core.mem().slice(0, 1024)).toEqual(before);
    expect(core.get(t, dir === "in" ? "inLen" : "outLen")).toBe(0);
    expect(core.consume(dir, t, 1)).toBe(E_RANGE);
    expect(core.push(dir, t, pattern(5))).toBe(5);
    expect(core.take(dir, t, 5)).toEqual(pattern(5));
  });

  it("keeps a reservation across a partial consume that leaves its chunk in place", () => {
    const t = core.x.chan_open(1);
    core.push(dir, t, pattern(10));
    const ptr = core.reserve(dir, t, 5);
    core.consume(dir, t, 4);
    core.mem().set([200, 201], ptr);
    expect(core.commit(dir, t, 2)).toBeGreaterThanOrEqual(0);
    expect([...core.take(dir, t, 100)]).toEqual([...pattern(10).subarray(4), 200, 201]);
  });

  it("voids a reservation when its channel closes, even if the slot is reused", () => {
    const t = core.x.chan_open(1);
    core.reserve(dir, t, 10);
    core.x.chan_close(t);
    const u = core.x.chan_open(1);
    expect(core.commit(dir, t, 10)).toBe(E_TOKEN);
    expect(core.commit(dir, u, 10)).toBe(E_TOKEN);
    expect(core.stat("chunksLive")).toBe(0);
  });

  it("grants nothing for a zero-length reservation", () => {
    const t = core.x.chan_open(1);
    expect(core.reserve(dir, t, 0)).toBe(0);
    expect(core.x.result_len()).toBe(0);
    expect(core.stat("chunksLive")).toBe(0);
  });
});

describe("the memory cap", () => {
  it("makes reserve return 0 at the cap and lets a consume free room again", () => {
    expect(core.x.engine_init(CHUNK, 3 * PER_CHUNK, 65536, 262144)).toBe(OK);
    const [a, b] = [core.x.chan_open(1), core.x.chan_open(1)];
    expect(core.push("in", a, pattern(2 * CHUNK))).toBe(2 * CHUNK);
    expect(core.push("out", b, pattern(2 * CHUNK))).toBe(CHUNK); // in and out share one pool
    expect(core.x.in_reserve(a, 1)).toBe(0);
    expect(core.x.result_len()).toBe(0);
    expect(core.stat("chunkBytes")).toBe(3 * PER_CHUNK);
    core.take("in", a, CHUNK);
    expect(core.push("out", b, pattern(CHUNK, CHUNK))).toBe(CHUNK);
    expect(core.take("out", b, 4 * CHUNK)).toEqual(pattern(2 * CHUNK));
    expect(core.take("in", a, 4 * CHUNK)).toEqual(pattern(CHUNK, CHUNK));
  });

  it("still hands out pooled chunks after the cap is lowered below what is allocated", () => {
    const a = core.x.chan_open(1);
    core.push("out", a, pattern(4 * CHUNK));
    core.take("out", a, 4 * CHUNK);
    expect(core.x.engine_init(CHUNK, 0, 65536, 262144)).toBe(OK);
    expect(core.push("out", a, pattern(6 * CHUNK))).toBe(4 * CHUNK);
    expect(core.push("in", a, pattern(1))).toBe(0); // input stops at 3/4 of the cap, here 0
    expect(core.stat("memoryCap")).toBe(0);
  });

  it("gives free chunks back to the heap on pool_trim", () => {
    const a = core.x.chan_open(1);
    core.push("in", a, pattern(4 * CHUNK));
    core.take("in", a, 3 * CHUNK);
    core.x.pool_trim();
    expect([core.stat("chunksLive"), core.stat("chunksFree"), core.stat("chunkBytes")]).toEqual([1, 0, PER_CHUNK]);
    expect(core.take("in", a, CHUNK)).toEqual(pattern(CHUNK, 3 * CHUNK));
  });
});

describe("engine_init", () => {
  it("rejects a zero window or pause and chunk sizes outside 64 B..16 MiB", () => {
    for (const args of [[CHUNK, 1e6, 0, 1], [CHUNK, 1e6, 1, 0], [63, 1e6, 1, 1], [2 ** 24 + 1, 1e6, 1, 1], [-1, 1e6, 1, 1]]) {
      expect(core.x.engine_init(args[0], args[1], args[2], args[3]), JSON.stringify(args)).toBe(E_RANGE);
    }
    expect(core.stat("chunkSize")).toBe(CHUNK);
  });

  it("changes the chunk size only while no chunk is in use", () => {
    const a = core.x.chan_open(1);
    core.push("in", a, pattern(10));
    expect(core.x.engine_init(128, 2 ** 30, 65536, 262144)).toBe(E_RANGE);
    core.take("in", a, 10);
    expect(core.x.engine_init(128, 2 ** 30, 65536, 262144)).toBe(OK);
    expect([core.stat("chunkSize"), core.stat("chunksFree"), core.stat("chunkBytes")]).toEqual([128, 0, 0]);
    core.push("in", a, pattern(200));
    expect(core.stat("chunksLive")).toBe(2);
  });

  it("applies the window and pause to channels opened afterwards only", () => {
    const a = core.x.chan_open(1);
    expect(core.x.engine_init(CHUNK, 2 ** 30, 1000, 2000)).toBe(OK);
    const b = core.x.chan_open(1);
    expect([core.get(a, "window"), core.get(a, "pause")]).toEqual([65536, 262144]);
    expect([core.get(b, "window"), core.get(b, "pause")]).toEqual([1000, 2000]);
  });
});

describe("pause and resume signals", () => {
  it("in_commit returns 1 once the input reaches the pause bound; in_consume returns 1 only at half of it or below", () => {
    const t = core.x.chan_open(1);
    core.set(t, "pause", 100);
    core.x.in_reserve(t, 60);
    expect(core.x.in_commit(t, 60)).toBe(0);
    core.x.in_reserve(t, 40);
    expect(core.x.in_commit(t, 4)).toBe(0);
    core.x.in_reserve(t, 36);
    expect(core.x.in_commit(t, 36)).toBe(1);
    expect(core.x.in_consume(t, 0)).toBe(0);
    expect(core.x.in_consume(t, 1)).toBe(0); // 99: below the bound, still paused
    expect(core.x.in_consume(t, 48)).toBe(0); // 51
    expect(core.x.in_consume(t, 1)).toBe(1); // 50: half the bound, resume
    expect(core.x.in_consume(t, 50)).toBe(1);
  });

  it("counts bytes in and out", () => {
    const t = core.x.chan_open(1);
    core.push("in", t, pattern(300));
    core.push("out", t, pattern(200));
    core.take("out", t, 150);
    expect([core.stat("bytesIn"), core.stat("bytesOut")]).toEqual([300, 150]);
  });
});

describe("the send window", () => {
  it("is not enforced by out_reserve: the core queues past it and only drops W readiness", () => {
    const t = core.x.chan_open(1);
    core.x.chan_set_flags(t, F_OPEN, 0);
    core.set(t, "window", 100);
    expect(core.push("out", t, pattern(250))).toBe(250);
    expect(core.get(t, "outLen")).toBe(250);
    core.set(t, "interest", W);
    expect(core.x.chan_ready(t)).toBe(0);
    core.take("out", t, 151);
    expect(core.x.chan_ready(t)).toBe(1);
    core.set(t, "inflight", 1);
    expect(core.x.chan_ready(t)).toBe(0);
  });

  it("is enforced by the host's Engine.pushOut, which stops at window - (outLen + inflight)", () => {
    const engine = new Engine(); // a fresh core instance of its own
    const t = engine.core.chan_open(1);
    engine.setField(t, FIELD.window, 1000);
    engine.setField(t, FIELD.inflight, 300);
    expect(engine.pushOut(t, pattern(5000))).toBe(700);
    expect(engine.pushOut(t, pattern(10))).toBe(0);
    expect(engine.takeOut(t)).toEqual(Buffer.from(pattern(700)));
    expect(engine.pushOut(t, pattern(800))).toBe(700);
  });
});

describe("property: queues equal a reference byte array", () => {
  type Op = { kind: "push"; ch: number; dir: Dir; n: number } | { kind: "take"; ch: number; dir: Dir; n: number }
    | { kind: "consume"; ch: number; dir: Dir; n: number } | { kind: "close"; ch: number };
  const dirArb = fc.constantFrom<Dir>("in", "out");
  const opArb: fc.Arbitrary<Op> = fc.oneof(
    fc.record({ kind: fc.constant("push" as const), ch: fc.nat(2), dir: dirArb, n: fc.nat(4 * CHUNK) }),
    fc.record({ kind: fc.constant("take" as const), ch: fc.nat(2), dir: dirArb, n: fc.nat(4 * CHUNK) }),
    fc.record({ kind: fc.constant("consume" as const), ch: fc.nat(2), dir: dirArb, n: fc.nat(3 * CHUNK) }),
    { arbitrary: fc.record({ kind: fc.constant("close" as const), ch: fc.nat(2) }), weight: 1 },
  );

  it("keeps contents, lengths and chunk counts equal to the model for any push/take/consume sequence", () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 60 }), fc.integer({ min: 0, max: 3 }), (ops, capChunks) => {
        const c = freshCore();
        const m = new CoreModel();
        const cap = capChunks === 0 ? 2 ** 30 : (4 + capChunks * 3) * PER_CHUNK; // sometimes tight
        expect(c.x.engine_init(CHUNK, cap, 65536, 262144)).toBe(m.init(CHUNK, cap, 65536, 262144));
        const tokens = [0, 1, 2].map(() => c.x.chan_open(1));
        expect(tokens).toEqual([0, 1, 2].map(() => m.open(1)));
        let serial = 0;
        for (const op of ops) {
          const t = tokens[op.ch];
          if (op.kind === "close") {
            expect(c.x.chan_close(t)).toBe(m.close(t));
            tokens[op.ch] = c.x.chan_open(1);
            expect(tokens[op.ch]).toBe(m.open(1));
          } else if (op.kind === "push") {
            const data = pattern(op.n, serial++);
            const pushed = c.push(op.dir, t, data);
            let want = 0;
            for (let len; want < op.n && (len = m.reserve(op.dir, t, op.n - want)); want += len) {
              m.commit(op.dir, t, len, data.subarray(want, want + len));
            }
            expect(pushed).toBe(want);
          } else if (op.kind === "take") {
            const want = m.live(t)!.q(op.dir).bytes.slice(0, op.n);
            expect([...c.take(op.dir, t, op.n)]).toEqual(want);
            m.consume(op.dir, t, want.length);
          } else {
            expect(c.consume(op.dir, t, op.n)).toBe(m.consume(op.dir, t, op.n));
          }
          for (const tok of tokens) {
            expect(c.get(tok, "inLen")).toBe(m.get(tok, 40));
            expect(c.get(tok, "outLen")).toBe(m.get(tok, 52));
          }
          expect([c.stat("chunksLive"), c.stat("chunksFree"), c.stat("chunkBytes")]).toEqual([m.pool.live, m.pool.free, m.pool.allocated]);
        }
        for (const tok of tokens) {
          for (const dir of ["in", "out"] as const) {
            const rest = m.live(tok)!.q(dir).bytes;
            expect([...c.take(dir, tok, rest.length + 1)]).toEqual(rest);
          }
        }
        expect(c.stat("chunksLive")).toBe(0);
      }),
      fcParams(200),
    );
  }, fcTimeout(200));
});
