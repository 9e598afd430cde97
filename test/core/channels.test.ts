// The core's channel table driven directly: tokens, slot reuse, flags, record fields, interest.
import { describe, it, expect, beforeEach } from "vitest";
import {
  OK, E_TOKEN, E_RANGE, F_LIVE, F_CONNECTED, F_ACCEPTING, F_CONNECTING, F_CLOSING, F_EOF, F_OPEN, F_ALWAYS_R,
  F_DGRAM, R, W, FIELD,
} from "../../host/core/abi.js";
import { freshCore, type Core } from "./wasm.js";

const SLOT_MASK = (1 << 20) - 1;
const slotOf = (token: number) => token & SLOT_MASK;
const genOf = (token: number) => token >>> 20;
const HOST_FLAGS = F_CONNECTED | F_ACCEPTING | F_CONNECTING | F_CLOSING | F_EOF | F_OPEN | F_ALWAYS_R | F_DGRAM;
const C_FLAGS = 4; // readable through chan_get, not writable

let core: Core;
beforeEach(() => {
  core = freshCore();
});

describe("opening and closing channels", () => {
  it("hands out distinct positive tokens and counts live channels per map", () => {
    const a = core.x.chan_open(1);
    const b = core.x.chan_open(1);
    const c = core.x.chan_open(2);
    expect([a, b, c].every((t) => t > 0)).toBe(true);
    expect(new Set([a, b, c]).size).toBe(3);
    expect(core.stat("channels")).toBe(3);
    expect([core.x.map_count(0), core.x.map_count(1), core.x.map_count(2), core.x.map_count(3)]).toEqual([3, 2, 1, 0]);
    expect(core.x.chan_close(b)).toBe(OK);
    expect(core.stat("channels")).toBe(2);
    expect(core.x.map_count(1)).toBe(1);
  });

  it("starts a channel with asyncore's defaults: live, interested in both, engine window and pause", () => {
    core.x.engine_tick(77);
    const t = core.x.chan_open(5);
    expect(core.x.chan_flags(t)).toBe(F_LIVE);
    expect(core.get(t, "interest")).toBe(R | W);
    expect(core.get(t, "map")).toBe(5);
    expect(core.get(t, "window")).toBe(65536);
    expect(core.get(t, "pause")).toBe(262144);
    expect(core.get(t, "tick")).toBe(77);
    for (const f of ["hostReady", "errno", "inflight", "inLen", "outLen"] as const) expect(core.get(t, f), f).toBe(0);
  });

  it("gives each new channel a larger insertion sequence number", () => {
    const seqs = Array.from({ length: 5 }, () => core.get(core.x.chan_open(1), "seq"));
    expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
    expect(new Set(seqs).size).toBe(5);
  });

  it("reuses a closed slot under a new token with the generation bumped", () => {
    const a = core.x.chan_open(1);
    core.x.chan_open(1);
    expect(core.x.chan_close(a)).toBe(OK);
    const a2 = core.x.chan_open(1);
    expect(slotOf(a2)).toBe(slotOf(a));
    expect(genOf(a2)).toBe(genOf(a) + 1);
    expect(a2).not.toBe(a);
    expect(core.x.chan_flags(a)).toBe(E_TOKEN);
    expect(core.x.chan_flags(a2)).toBe(F_LIVE);
  });

  it("resets a reused slot's record: no flags, fields or bytes carry over", () => {
    const a = core.x.chan_open(1);
    core.x.chan_set_flags(a, F_OPEN | F_EOF, 0);
    core.set(a, "errno", 104);
    core.set(a, "interest", 0);
    core.push("in", a, new Uint8Array(100));
    core.x.chan_close(a);
    const b = core.x.chan_open(2);
    expect(slotOf(b)).toBe(slotOf(a));
    expect(core.x.chan_flags(b)).toBe(F_LIVE);
    expect([core.get(b, "errno"), core.get(b, "interest"), core.get(b, "inLen"), core.get(b, "map")]).toEqual([0, R | W, 0, 2]);
    expect(core.stat("chunksLive")).toBe(0);
  });

  it("rejects a double close with E_TOKEN and keeps the count right", () => {
    const a = core.x.chan_open(1);
    expect(core.x.chan_close(a)).toBe(OK);
    expect(core.x.chan_close(a)).toBe(E_TOKEN);
    expect(core.stat("channels")).toBe(0);
  });

  it("never gives a token again, even after a slot's generations run out", () => {
    const seen = new Set<number>();
    const keep = core.x.chan_open(1); // a neighbour that must stay untouched
    for (let i = 0; i < 2100; i++) {
      const t = core.x.chan_open(1);
      expect(t).toBeGreaterThan(0);
      expect(seen.has(t)).toBe(false);
      seen.add(t);
      expect(core.x.chan_close(t)).toBe(OK);
    }
    for (const t of seen) expect(core.x.chan_flags(t)).toBe(E_TOKEN);
    expect(core.x.chan_flags(keep)).toBe(F_LIVE);
    expect(core.stat("channels")).toBe(1);
  });
});

describe("stale and malformed tokens", () => {
  function staleAndBad(): number[] {
    const a = core.x.chan_open(1);
    core.x.chan_close(a);
    const reused = core.x.chan_open(1); // same slot, new generation: `a` must not reach it
    core.push("in", reused, new Uint8Array([1, 2, 3]));
    core.push("out", reused, new Uint8Array([4, 5]));
    const unused = (1 << 20) | 999; // generation 1 of a slot never handed out
    const gen0 = slotOf(reused); // generation 0 never appears
    return [a, 0, -1, -a, unused, gen0, 0x7fffffff, -0x80000000];
  }

  it("are rejected with E_TOKEN by every export that returns a code", () => {
    for (const t of staleAndBad()) {
      expect(core.x.chan_flags(t), `chan_flags(${t})`).toBe(E_TOKEN);
      expect(core.x.chan_set_flags(t, F_OPEN, 0), `chan_set_flags(${t})`).toBe(E_TOKEN);
      expect(core.x.chan_get(t, FIELD.interest), `chan_get(${t})`).toBe(E_TOKEN);
      expect(core.x.chan_set(t, FIELD.interest, 0), `chan_set(${t})`).toBe(E_TOKEN);
      expect(core.x.chan_ready(t), `chan_ready(${t})`).toBe(E_TOKEN);
      expect(core.x.in_commit(t, 0), `in_commit(${t})`).toBe(E_TOKEN);
      expect(core.x.out_commit(t, 0), `out_commit(${t})`).toBe(E_TOKEN);
      expect(core.x.in_consume(t, 1), `in_consume(${t})`).toBe(E_TOKEN);
      expect(core.x.out_consume(t, 1), `out_consume(${t})`).toBe(E_TOKEN);
      expect(core.x.chan_close(t), `chan_close(${t})`).toBe(E_TOKEN);
    }
  });

  it("get a null pointer and a zero length from every export that returns a pointer", () => {
    for (const t of staleAndBad()) {
      const reused = core.x.chan_open(9);
      core.push("in", reused, new Uint8Array(10)); // leaves result_len non-zero
      for (const [name, fn] of [
        ["in_reserve", () => core.x.in_reserve(t, 10)], ["out_reserve", () => core.x.out_reserve(t, 10)],
        ["in_peek", () => core.x.in_peek(t)], ["out_peek", () => core.x.out_peek(t)],
      ] as const) {
        expect(core.x.in_peek(reused)).not.toBe(0);
        expect(fn(), `${name}(${t})`).toBe(0);
        expect(core.x.result_len(), `result_len after ${name}(${t})`).toBe(0);
      }
    }
  });

  it("leave the channel now living in the slot untouched", () => {
    const a = core.x.chan_open(1);
    core.x.chan_close(a);
    const b = core.x.chan_open(1);
    core.push("in", b, new Uint8Array([1, 2, 3]));
    core.x.chan_set(a, FIELD.interest, 0);
    core.x.chan_set_flags(a, F_EOF, 0);
    core.x.in_consume(a, 3);
    core.x.chan_close(a);
    expect(core.x.chan_flags(b)).toBe(F_LIVE);
    expect(core.get(b, "interest")).toBe(R | W);
    expect([...core.take("in", b, 3)]).toEqual([1, 2, 3]);
  });
});

describe("growing the table", () => {
  it.each([65, 1_001, 10_001])("keeps every channel's token and fields valid past %i channels", (n) => {
    const tokens: number[] = [];
    for (let i = 0; i < n; i++) {
      const t = core.x.chan_open(1 + (i % 3));
      expect(t).toBeGreaterThan(0);
      tokens.push(t);
      expect(core.set(t, "errno", i)).toBe(OK);
    }
    expect(new Set(tokens).size).toBe(n);
    expect(core.stat("channels")).toBe(n);
    expect(core.x.map_count(0)).toBe(n);
    tokens.forEach((t, i) => {
      if (core.get(t, "errno") !== i || core.get(t, "map") !== 1 + (i % 3)) throw new Error(`channel ${i} lost its fields`);
    });
    for (const t of tokens) expect(core.x.chan_close(t)).toBe(OK);
    expect(core.stat("channels")).toBe(0);
    expect(core.x.map_count(0)).toBe(0);
  });

  it("reuses freed slots before growing: n opens after n closes take the same slots", () => {
    const first = Array.from({ length: 200 }, () => core.x.chan_open(1));
    first.forEach((t) => core.x.chan_close(t));
    const memory = core.stat("memoryBytes");
    const second = Array.from({ length: 200 }, () => core.x.chan_open(1));
    expect(new Set(second.map(slotOf))).toEqual(new Set(first.map(slotOf)));
    expect(core.stat("memoryBytes")).toBe(memory);
  });
});

describe("flags", () => {
  it("sets and clears host flags and keeps F_LIVE", () => {
    const t = core.x.chan_open(1);
    expect(core.x.chan_set_flags(t, F_CONNECTED | F_OPEN, 0)).toBe(OK);
    expect(core.x.chan_flags(t)).toBe(F_LIVE | F_CONNECTED | F_OPEN);
    expect(core.x.chan_set_flags(t, F_CLOSING, F_OPEN)).toBe(OK);
    expect(core.x.chan_flags(t)).toBe(F_LIVE | F_CONNECTED | F_CLOSING);
    expect(core.x.chan_set_flags(t, 0, HOST_FLAGS)).toBe(OK);
    expect(core.x.chan_flags(t)).toBe(F_LIVE);
    expect(core.x.chan_get(t, C_FLAGS)).toBe(F_LIVE);
  });

  it("lets set win when the same bit is both set and cleared", () => {
    const t = core.x.chan_open(1);
    expect(core.x.chan_set_flags(t, F_EOF, F_EOF)).toBe(OK);
    expect(core.x.chan_flags(t)).toBe(F_LIVE | F_EOF);
  });

  it("rejects F_LIVE and unknown bits with E_RANGE and changes nothing", () => {
    const t = core.x.chan_open(1);
    core.x.chan_set_flags(t, F_OPEN, 0);
    for (const [set, clear] of [[0, F_LIVE], [F_LIVE, 0], [1 << 9, 0], [0, 1 << 31], [-1, 0], [0, -1]]) {
      expect(core.x.chan_set_flags(t, set, clear), `set ${set} clear ${clear}`).toBe(E_RANGE);
    }
    expect(core.x.chan_flags(t)).toBe(F_LIVE | F_OPEN);
  });
});

describe("record fields", () => {
  const writable = ["interest", "hostReady", "errno", "map", "inflight", "window", "pause", "tick"] as const;
  const readOnly = { flags: 4, seq: FIELD.seq, inLen: FIELD.inLen, outLen: FIELD.outLen };
  const unknown = [0, 1, 2, 3, 5, 28, 32, 36, 44, 48, 68, 76, 80, 4096, -1, -4, 0x7fffffff];

  it("round-trips every writable field, including full 32-bit values where they are free-form", () => {
    const t = core.x.chan_open(1);
    for (const f of ["errno", "map", "inflight", "window", "pause", "tick"] as const) {
      for (const v of [0, 1, 0xffff, 0xffffffff]) {
        expect(core.set(t, f, v), `${f}=${v}`).toBe(OK);
        expect(core.get(t, f), f).toBe(v);
      }
    }
    for (const f of ["interest", "hostReady"] as const) {
      for (const v of [0, R, W, R | W]) {
        expect(core.set(t, f, v)).toBe(OK);
        expect(core.get(t, f)).toBe(v);
      }
    }
    expect(writable.every((f) => core.get(t, f) >= 0)).toBe(true);
  });

  it("rejects unknown field numbers with E_RANGE on get and set", () => {
    const t = core.x.chan_open(1);
    for (const f of unknown) {
      expect(core.x.chan_get(t, f), `get ${f}`).toBe(E_RANGE);
      expect(core.x.chan_set(t, f, 0), `set ${f}`).toBe(E_RANGE);
    }
    expect(core.x.chan_flags(t)).toBe(F_LIVE);
  });

  it("reads but never writes flags, seq and the queue lengths", () => {
    const t = core.x.chan_open(1);
    core.push("in", t, new Uint8Array(10));
    for (const [name, f] of Object.entries(readOnly)) {
      const before = core.x.chan_get(t, f);
      expect(before, name).toBeGreaterThanOrEqual(0);
      expect(core.x.chan_set(t, f, 12345), name).toBe(E_RANGE);
      expect(core.x.chan_get(t, f), name).toBe(before);
    }
    expect(core.get(t, "inLen")).toBe(10);
  });

  it("rejects interest bits other than R and W", () => {
    const t = core.x.chan_open(1);
    core.set(t, "interest", R);
    for (const v of [4, 8, 0x100, 0xffffffff, -1]) expect(core.set(t, "interest", v), `interest=${v}`).toBe(E_RANGE);
    expect(core.get(t, "interest")).toBe(R);
  });

  it("checks the field before the token: an unknown field on a stale token is E_RANGE", () => {
    const t = core.x.chan_open(1);
    core.x.chan_close(t);
    expect(core.x.chan_get(t, 1)).toBe(E_RANGE);
    expect(core.x.chan_get(t, FIELD.errno)).toBe(E_TOKEN);
  });
});

describe("interest_commit", () => {
  it("applies {token, interest} pairs and returns how many tokens were stale", () => {
    const [a, b, c] = [core.x.chan_open(1), core.x.chan_open(1), core.x.chan_open(1)];
    core.x.chan_close(b);
    const b2 = core.x.chan_open(1);
    const stale = core.commitInterest([[a, R], [b, 0], [c, W], [0, R], [-5, R], [b2, 0], [(1 << 20) | 4000, R]]);
    expect(stale).toBe(4);
    expect([core.get(a, "interest"), core.get(c, "interest"), core.get(b2, "interest")]).toEqual([R, W, 0]);
  });

  it("keeps only the R and W bits of each interest", () => {
    const a = core.x.chan_open(1);
    expect(core.commitInterest([[a, 0xfffffffc | W]])).toBe(0);
    expect(core.get(a, "interest")).toBe(W);
  });

  it("takes at most scratch_pairs() pairs and rejects more with E_RANGE", () => {
    const cap = core.x.scratch_pairs();
    expect(cap).toBeGreaterThanOrEqual(1024);
    const a = core.x.chan_open(1);
    expect(core.x.interest_commit(cap + 1)).toBe(E_RANGE);
    expect(core.x.interest_commit(-1)).toBe(E_RANGE);
    expect(core.commitInterest(Array.from({ length: cap }, () => [a, R] as [number, number]))).toBe(0);
    expect(core.get(a, "interest")).toBe(R);
  });

  it("has a scratch area before engine_init is called", () => {
    const a = core.x.chan_open(1);
    expect(core.x.scratch_ptr()).toBeGreaterThan(0);
    expect(core.commitInterest([[a, W]])).toBe(0);
    expect(core.get(a, "interest")).toBe(W);
  });

  it("treats zero pairs as a no-op", () => {
    const a = core.x.chan_open(1);
    expect(core.x.interest_commit(0)).toBe(0);
    expect(core.get(a, "interest")).toBe(R | W);
  });
});
