// Core hardening (issue 6): random sequences of valid and invalid calls into every export of
// build/core.wasm. Every call must return what the reference model says (an error code for an
// invalid call), nothing may trap or abort, and the state must match the model after each call.
import { describe, it, expect } from "vitest";
import fc from "fast-check";
import {
  CORE_EXPORTS, F_LIVE, F_CONNECTED, F_ACCEPTING, F_EOF, F_OPEN, F_ALWAYS_R, F_DGRAM, FIELD, STAT,
} from "../../host/core/abi.js";
import { freshCore, fcParams, fcTimeout, CoreAbort, type Core, type Dir } from "./wasm.js";
import { CoreModel } from "./model.js";

const CHUNKS = [64, 128, 256]; // small chunks: a few hundred bytes cross several boundaries

// ---- arbitraries --------------------------------------------------------------------------

/** A token: often the previous call's, mostly one the core handed out (live or stale), sometimes forged. */
type Tok = { pick: number; how: "as-is" | "wrap32" | "other-gen" | "fraction" } | { raw: number } | { last: true }
  | { reserved: true };
const hugeOrOdd = fc.constantFrom(0, -1, 1, 0x7fffffff, -0x80000000, 2 ** 32 - 1, 2 ** 32 + 3, 2 ** 40, 1e10, NaN, Infinity, -Infinity, 0.5);
const tokArb: fc.Arbitrary<Tok> = fc.oneof(
  { weight: 8, arbitrary: fc.record({ last: fc.constant(true as const) }) },
  { weight: 6, arbitrary: fc.record({ pick: fc.nat(), how: fc.constant("as-is" as const) }) },
  { weight: 1, arbitrary: fc.record({ pick: fc.nat(), how: fc.constantFrom("wrap32" as const, "other-gen" as const, "fraction" as const) }) },
  { weight: 1, arbitrary: fc.record({ raw: fc.oneof(hugeOrOdd, fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 })) }) },
);

/** A length: small, at a boundary relative to the current state (rel), or hostile. */
type Len = { small: number } | { rel: number } | { raw: number };
const lenArb: fc.Arbitrary<Len> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ small: fc.nat(700) }) },
  { weight: 3, arbitrary: fc.record({ rel: fc.integer({ min: -2, max: 2 }) }) },
  { weight: 1, arbitrary: fc.record({ raw: hugeOrOdd }) },
);

/** A queue direction; "same" repeats the previous call's, so reserve/consume/commit meet on one queue. */
type DirPick = Dir | "same" | "reserved";
const dirArb = fc.constantFrom<DirPick>("same", "same", "in", "out");
const flagArb = fc.constantFrom(0, F_CONNECTED, F_ACCEPTING, F_EOF, F_OPEN, F_ALWAYS_R, F_DGRAM, F_OPEN | F_EOF, F_LIVE, 1 << 9, -1, 2 ** 31);
const knownFields = [...Object.values(FIELD), 4];
const fieldArb = fc.oneof(fc.constantFrom(...knownFields), fc.constantFrom(0, 1, 28, 32, 36, 44, 48, 68, 76, 80, -1, 2 ** 32 + 8), fc.nat(100));
const valueArb = fc.oneof(fc.nat(3), fc.nat(300), hugeOrOdd);
const mapArb = fc.oneof(fc.constantFrom(0, 1, 2), hugeOrOdd);

type Op =
  | ["open", number] | ["close", Tok] | ["flags", Tok] | ["setFlags", Tok, number, number] | ["get", Tok, number]
  | ["set", Tok, number, number] | ["interest", [Tok, number][], number | null] | ["ready", Tok]
  | ["reserve", DirPick, Tok, Len] | ["commit", DirPick, Tok, Len] | ["peek", DirPick, Tok]
  | ["consume", DirPick, Tok, Len] | ["write", DirPick, Tok, number]
  | ["tick", number] | ["poll", number, number] | ["stat", number] | ["mapCount", number] | ["trim"]
  | ["init", number, number, number, number] | ["resultLen"];

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 3, arbitrary: fc.tuple(fc.constant("open" as const), mapArb) },
  { weight: 2, arbitrary: fc.tuple(fc.constant("close" as const), tokArb) },
  { weight: 1, arbitrary: fc.tuple(fc.constant("flags" as const), tokArb) },
  { weight: 2, arbitrary: fc.tuple(fc.constant("setFlags" as const), tokArb, flagArb, flagArb) },
  { weight: 1, arbitrary: fc.tuple(fc.constant("get" as const), tokArb, fieldArb) },
  { weight: 3, arbitrary: fc.tuple(fc.constant("set" as const), tokArb, fieldArb, valueArb) },
  { weight: 1, arbitrary: fc.tuple(fc.constant("interest" as const), fc.array(fc.tuple(tokArb, valueArb), { maxLength: 6 }), fc.option(fc.constantFrom(4097, -1, 2 ** 31), { freq: 4 }) as fc.Arbitrary<number | null>) },
  { weight: 1, arbitrary: fc.tuple(fc.constant("ready" as const), tokArb) },
  { weight: 6, arbitrary: fc.tuple(fc.constant("reserve" as const), dirArb, tokArb, lenArb) },
  { weight: 6, arbitrary: fc.tuple(fc.constant("commit" as const), dirArb, tokArb, lenArb) },
  { weight: 2, arbitrary: fc.tuple(fc.constant("peek" as const), dirArb, tokArb) },
  { weight: 4, arbitrary: fc.tuple(fc.constant("consume" as const), dirArb, tokArb, lenArb) },
  { weight: 1, arbitrary: fc.tuple(fc.constant("tick" as const), valueArb) },
  { weight: 1, arbitrary: fc.tuple(fc.constant("poll" as const), mapArb, fc.constantFrom(0, 1, 2, -1, 2 ** 32)) },
  { weight: 1, arbitrary: fc.tuple(fc.constant("stat" as const), fc.oneof(fc.nat(12), hugeOrOdd)) },
  { weight: 1, arbitrary: fc.tuple(fc.constant("mapCount" as const), mapArb) },
  { weight: 1, arbitrary: fc.tuple(fc.constant("trim" as const)) },
  { weight: 1, arbitrary: fc.tuple(fc.constant("init" as const), fc.constantFrom(...CHUNKS, 63, 2 ** 24 + 1, -1, 0),
    fc.constantFrom(0, 3 * 80, 6 * 144, 2 ** 20, 2 ** 32 - 1), fc.constantFrom(0, 100, 1000, 65536), fc.constantFrom(0, 50, 262144)) },
  { weight: 1, arbitrary: fc.tuple(fc.constant("resultLen" as const)) },
  { weight: 3, arbitrary: fc.tuple(fc.constant("write" as const), dirArb, tokArb, fc.integer({ min: 1, max: 300 })) },
);

// What may happen between a reserve and its commit: mostly calls on the same queue.
const last = { last: true } as const;
const innerOpArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 3, arbitrary: fc.tuple(fc.constant("consume" as const), fc.constant("same" as const), fc.constant(last), lenArb) },
  { weight: 2, arbitrary: fc.tuple(fc.constant("write" as const), fc.constant("same" as const), fc.constant(last), fc.integer({ min: 1, max: 300 })) },
  { weight: 1, arbitrary: fc.tuple(fc.constant("close" as const), fc.constant(last)) },
  { weight: 3, arbitrary: opArb },
);

/** Ops in episodes: a single call, or reserve → up to 3 other calls → commit of that reservation. */
const opsArb: fc.Arbitrary<Op[]> = fc.array(fc.oneof(
  { weight: 3, arbitrary: opArb.map((op) => [op]) },
  { weight: 1, arbitrary: fc.tuple(dirArb, tokArb, lenArb, fc.array(innerOpArb, { maxLength: 3 }), lenArb)
    .map(([d, t, l, inner, n]): Op[] => [["reserve", d, t, l], ...inner, ["commit", "reserved", { reserved: true }, n]]) },
), { minLength: 1, maxLength: 30 }).map((episodes) => episodes.flat());

// ---- one run ------------------------------------------------------------------------------

/** Drives the core and the model side by side. */
class Run {
  core: Core;
  m = new CoreModel();
  issued: number[] = []; // every token the core ever handed out
  pending: number[] = []; // bytes written at the last reserved pointer
  lastMemory = 0;

  constructor(file: string, chunk: number) {
    this.core = freshCore(file);
    expect(this.core.x.engine_init(chunk, 2 ** 30, 65536, 262144)).toBe(this.m.init(chunk, 2 ** 30, 65536, 262144));
    for (const map of [1, 1, 2]) this.open(map);
  }

  open(map: number): number {
    const t = this.core.x.chan_open(map);
    expect(t).toBe(this.m.open(map));
    this.issued.push(t);
    return (this.lastTok = t);
  }

  lastTok = 0;
  lastDir: Dir = "in";
  resTok = 0; // token and queue of the last reserve call
  resDir: Dir = "in";

  tok(t: Tok): number {
    return (this.lastTok = this.resolve(t));
  }

  dir(d: DirPick): Dir {
    return (this.lastDir = d === "same" ? this.lastDir : d === "reserved" ? this.resDir : d);
  }

  resolve(t: Tok): number {
    if ("raw" in t) return t.raw;
    if ("last" in t) return this.lastTok;
    if ("reserved" in t) return this.resTok;
    const base = this.issued[t.pick % this.issued.length];
    if (t.how === "wrap32") return base + 2 ** 32; // ToInt32 brings it back: the same token
    if (t.how === "other-gen") return base ^ (1 << 20);
    if (t.how === "fraction") return base + 0.5; // truncated: the same token
    return base;
  }

  len(l: Len, rel: number): number {
    if ("small" in l) return l.small;
    if ("raw" in l) return l.raw;
    return rel + l.rel;
  }

  queued(dir: Dir, token: number): number {
    return this.m.live(token)?.q(dir).bytes.length ?? 0;
  }

  /** Executes one op on both sides and compares what each returned. */
  step(op: Op): void {
    const { core: c, m } = this;
    const x = c.x;
    switch (op[0]) {
      case "open": this.open(op[1]); break;
      case "close": { const t = this.tok(op[1]); expect(x.chan_close(t)).toBe(m.close(t)); break; }
      case "flags": { const t = this.tok(op[1]); expect(x.chan_flags(t)).toBe(m.get(t, 4)); break; }
      case "setFlags": { const t = this.tok(op[1]); expect(x.chan_set_flags(t, op[2], op[3])).toBe(m.setFlags(t, op[2], op[3])); break; }
      case "get": { const t = this.tok(op[1]); expect(x.chan_get(t, op[2])).toBe(m.get(t, op[2])); break; }
      case "set": { const t = this.tok(op[1]); expect(x.chan_set(t, op[2], op[3])).toBe(m.set(t, op[2], op[3])); break; }
      case "interest": {
        const pairs = op[1].map(([t, i]) => [this.resolve(t), i] as [number, number]);
        if (op[2] !== null) expect(x.interest_commit(op[2])).toBe(-2);
        else expect(c.commitInterest(pairs)).toBe(m.interest(pairs.map(([t, i]) => [t | 0, i >>> 0])));
        break;
      }
      case "ready": {
        const t = this.tok(op[1]);
        const ch = m.live(t);
        expect(x.chan_ready(t)).toBe(ch ? (ch.ready() ? 1 : 0) : -1);
        break;
      }
      case "reserve": {
        const [, d, tk, l] = op;
        const [dir, t] = [this.dir(d), this.tok(tk)];
        const want = this.len(l, this.m.pool.chunk);
        [this.resTok, this.resDir] = [t, dir];
        const ptr = c.reserve(dir, t, want);
        const len = m.reserve(dir, t, want);
        expect(x.result_len()).toBe(len);
        expect(ptr === 0).toBe(len === 0);
        this.pending = Array.from({ length: len }, (_, i) => (i * 31 + want + this.issued.length) & 255);
        if (len) c.mem().set(this.pending, ptr); // a host writes the bytes right away
        break;
      }
      case "commit": {
        const [, d, tk, l] = op;
        const [dir, t] = [this.dir(d), this.tok(tk)];
        const n = this.len(l, m.res?.len ?? 0);
        expect(c.commit(dir, t, n)).toBe(m.commit(dir, t, n, this.pending));
        break;
      }
      case "write": {
        const [, d, tk, n] = op;
        const [dir, t] = [this.dir(d), this.tok(tk)];
        const data = Uint8Array.from({ length: n }, (_, i) => (i * 7 + this.issued.length) & 255);
        let want = 0;
        for (let len; want < n && (len = m.reserve(dir, t, n - want)); want += len) m.commit(dir, t, len, data.subarray(want));
        expect(c.push(dir, t, data)).toBe(want);
        break;
      }
      case "peek": {
        const [, d, tk] = op;
        const [dir, t] = [this.dir(d), this.tok(tk)];
        const ptr = c.peek(dir, t);
        const len = m.peek(dir, t);
        expect(x.result_len()).toBe(len);
        expect(ptr === 0).toBe((m.live(t)?.q(dir).chunks.length ?? 0) === 0);
        if (len) expect([...c.mem().subarray(ptr, ptr + len)]).toEqual(m.live(t)!.q(dir).bytes.slice(0, len));
        break;
      }
      case "consume": {
        const [, d, tk, l] = op;
        const [dir, t] = [this.dir(d), this.tok(tk)];
        const n = this.len(l, this.queued(dir, t));
        expect(c.consume(dir, t, n)).toBe(m.consume(dir, t, n));
        break;
      }
      case "tick": x.engine_tick(op[1]); m.tick = op[1] >>> 0; break;
      case "poll": {
        const want = m.poll(op[1], op[2]);
        if (typeof want === "number") expect(x.engine_poll(op[1], op[2])).toBe(want);
        else expect(c.poll(op[1], op[2])).toEqual(want);
        break;
      }
      case "stat": {
        const i = op[1] >>> 0;
        if (i > 12) expect(x.engine_stat(op[1])).toBe(-2);
        else if (i !== 4) expect(x.engine_stat(op[1])).toBe(this.stats()[i]);
        break;
      }
      case "mapCount": expect(x.map_count(op[1])).toBe(m.mapCount(op[1])); break;
      case "trim": x.pool_trim(); m.pool.trim(); break;
      case "init": expect(x.engine_init(op[1], op[2], op[3], op[4])).toBe(m.init(op[1], op[2], op[3], op[4])); break;
      case "resultLen": expect(x.result_len()).toBe(m.resultLen); break;
    }
  }

  /** engine_stat by index as the model sees it (memoryBytes, index 4, is checked separately). */
  stats(): number[] {
    const { m } = this;
    return [m.chans.size, m.pool.live, m.pool.free, m.pool.allocated, -1, m.eventsTotal, m.bytesIn, m.bytesOut,
      m.pool.chunk, m.pool.cap, m.readyCount(), m.outWaiting(), m.outWakes];
  }

  /** Compares every observable piece of state with the model. */
  check(): void {
    const { core: c, m } = this;
    const got = Object.values(STAT).map((i) => c.x.engine_stat(i));
    const want = this.stats();
    want[STAT.memoryBytes] = got[STAT.memoryBytes];
    expect(got).toEqual(want);
    const mem = c.stat("memoryBytes");
    expect(mem % 65536).toBe(0);
    expect(mem).toBeGreaterThanOrEqual(this.lastMemory); // wasm memory never shrinks; a drop means a new instance
    this.lastMemory = mem;
    const fields = [4, ...Object.values(FIELD)];
    for (const t of this.issued) {
      expect(fields.map((f) => c.x.chan_get(t, f)), `fields of token ${t}`).toEqual(fields.map((f) => m.get(t, f)));
    }
    for (const map of [0, 1, 2]) expect(c.x.map_count(map)).toBe(m.mapCount(map));
  }

  /** Drains every live queue, comparing all bytes, then closes everything: nothing may be left. */
  finish(): void {
    const { core: c, m } = this;
    for (const t of [...m.chans.keys()]) {
      for (const dir of ["in", "out"] as const) {
        const rest = m.live(t)!.q(dir).bytes;
        expect([...c.take(dir, t, rest.length + 1)], `${dir} queue of ${t}`).toEqual(rest);
      }
      expect(c.x.chan_close(t)).toBe(0);
    }
    expect([c.stat("channels"), c.stat("chunksLive"), c.stat("ready")]).toEqual([0, 0, 0]);
  }
}

/** Runs `fn`, turning a core trap or abort into a failure that names the call. */
function noTrap(what: string, fn: () => void): void {
  try {
    fn();
  } catch (e) {
    if (e instanceof CoreAbort || e instanceof WebAssembly.RuntimeError) throw new Error(`core trapped in ${what}: ${e}`);
    throw e;
  }
}

describe.each(["core.wasm", "core.debug.wasm"])("hardening of build/%s", (file) => {
  it("returns the model's result for every valid or invalid call, never traps, and keeps the model's state", () => {
    fc.assert(
      fc.property(fc.constantFrom(...CHUNKS), opsArb, (chunk, ops) => {
        const run = new Run(file, chunk);
        for (const op of ops) {
          noTrap(JSON.stringify(op), () => {
            run.step(op);
            run.check();
          });
        }
        noTrap("final drain", () => run.finish());
      }),
      fcParams(150),
    );
  }, fcTimeout(150));

  it("survives every export called with hostile numbers in every argument", () => {
    const core = freshCore(file);
    const t = core.x.chan_open(1);
    core.push("in", t, new Uint8Array(100));
    const hostile = [0, -1, 1, 8, 0x7fffffff, -0x80000000, 2 ** 32 - 1, 2 ** 32 + 8, 1e10, NaN, Infinity, t, t + 2 ** 32];
    const fns = core.x as unknown as Record<string, (...a: number[]) => unknown>;
    let calls = 0;
    for (const name of CORE_EXPORTS) {
      const arity = fns[name].length;
      const combos = arity === 0 ? [[]] : hostile.flatMap((a) => arity === 1 ? [[a]] : hostile.map((b) => [a, b, b, a].slice(0, arity)));
      for (const args of combos) {
        noTrap(`${name}(${args.join(", ")})`, () => {
          const r = fns[name](...args);
          if (r !== undefined && typeof r !== "number") throw new Error(`${name} returned ${typeof r}`);
        });
        calls++;
      }
    }
    expect(calls).toBeGreaterThan(1000);
    // the survivor still works
    const u = core.x.chan_open(1);
    expect(u).toBeGreaterThan(0);
    expect(core.push("out", u, new Uint8Array([1, 2, 3]))).toBe(3);
    expect([...core.take("out", u, 3)]).toEqual([1, 2, 3]);
  });
});

describe("at the end of wasm32 memory", () => {
  it("refuses a 2^20+1st channel and any chunk past 4 GiB with a code instead of trapping", () => {
    const core = freshCore();
    const x = core.x;
    noTrap("filling the table and the memory", () => {
      let opened = 0;
      for (let t = x.chan_open(1); t > 0; t = x.chan_open(1)) opened++;
      expect(opened).toBe(2 ** 20);
      expect(x.chan_open(1)).toBe(-2);
      const first = 1 << 20; // generation 1, slot 0
      expect(x.engine_init(2 ** 24, 2 ** 32 - 1, 65536, 262144)).toBe(0);
      expect(core.push("in", first, Uint8Array.of(1))).toBe(1); // makes it readable
      let chunks = 1;
      while (x.out_reserve(first, 2 ** 24) !== 0) { // output: input stops at 3/4 of the cap
        expect(x.out_commit(first, x.result_len())).toBe(0);
        chunks++;
      }
      expect(x.result_len()).toBe(0);
      // heapRoom() judges by memory.size, which the allocator doubles ahead of need: at least ~2 GiB of chunks fit
      expect(chunks).toBeGreaterThan(100);
      expect(core.stat("memoryBytes")).toBeLessThanOrEqual(2 ** 32);
      expect(core.stat("chunksLive")).toBe(chunks);
      expect(core.poll(1, 0)).toEqual([{ token: first, flags: 1 }]);
      expect(x.out_consume(first, 2 ** 24)).toBe(0);
      expect(x.out_reserve(first, 1)).not.toBe(0); // the freed chunk comes back from the pool
      expect(x.chan_close(first)).toBe(0);
      expect(core.stat("chunksLive")).toBe(0);
      expect(x.chan_open(2)).toBeGreaterThan(0); // the freed slot
    });
  });
});
