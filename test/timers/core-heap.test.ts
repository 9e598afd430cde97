// The core's timer heap through its ABI: order, ties, stale ids, lazy cancellation and compaction.
import { describe, it, expect } from "vitest";
import { E_TOKEN, E_RANGE, CORE_EXPORTS, TIMER_BATCH } from "../../host/core/abi.js";
import { core, popAll, prng } from "./helpers.js";

let nextMap = 1_000_000; // map ids no ChannelMap in this process uses
const freshMap = (): number => nextMap++;

describe("core timer heap", () => {
  it("exports every timer_* name the host lists", () => {
    const c = core() as unknown as Record<string, unknown>;
    for (const name of CORE_EXPORTS.filter((n) => n.startsWith("timer_"))) expect(typeof c[name], name).toBe("function");
    expect(CORE_EXPORTS.filter((n) => n.startsWith("timer_")).length).toBe(9);
  });

  it("pops 10,000 timers in deadline order, ties in creation order", () => {
    const c = core();
    const map = freshMap();
    const rand = prng(1);
    const made: { id: number; deadline: number; index: number }[] = [];
    for (let i = 0; i < 10_000; i++) {
      const deadline = Math.floor(rand() * 200); // ~50 timers per deadline: plenty of ties
      const id = c.timer_add(map, deadline);
      expect(id).toBeGreaterThan(0);
      made.push({ id, deadline, index: i });
    }
    expect(c.timer_count(map)).toBe(10_000);
    expect(c.timer_next(map)).toBe(Math.min(...made.map((m) => m.deadline)));
    const expected = [...made].sort((a, b) => a.deadline - b.deadline || a.index - b.index).map((m) => m.id);
    // pop in several steps of time, as passes would
    const got = [...popAll(map, 49.5), ...popAll(map, 120), ...popAll(map, 1e9)];
    expect(got).toEqual(expected);
    expect(c.timer_count(map)).toBe(0);
    expect(c.timer_next(map)).toBe(-1);
  });

  it("pops only what is due, and at most `max` per call", () => {
    const c = core();
    const map = freshMap();
    const ids = [30, 10, 20].map((d) => c.timer_add(map, d));
    expect(c.timer_pop_due(map, 5, TIMER_BATCH)).toBe(0);
    expect(c.timer_pop_due(map, 25, 1)).toBe(1);
    expect(new Int32Array(c.memory.buffer, c.timer_ids_ptr(), 1)[0]).toBe(ids[1]);
    expect(popAll(map, 25)).toEqual([ids[2]]);
    expect(c.timer_next(map)).toBe(30);
    expect(popAll(map, 30)).toEqual([ids[0]]);
  });

  it("rejects stale ids: fired, cancelled, and a reused slot's old id", () => {
    const c = core();
    const map = freshMap();
    const a = c.timer_add(map, 1);
    expect(popAll(map, 1)).toEqual([a]);
    expect(c.timer_cancel(a)).toBe(E_TOKEN); // fired
    expect(c.timer_reset(a, 5)).toBe(E_TOKEN);
    const b = c.timer_add(map, 1); // likely reuses a's slot with a new generation
    expect(b).not.toBe(a);
    expect(c.timer_cancel(a)).toBe(E_TOKEN);
    expect(c.timer_cancel(b)).toBe(0);
    expect(c.timer_cancel(b)).toBe(E_TOKEN); // cancelled
    expect(c.timer_cancel(0)).toBe(E_TOKEN);
    expect(c.timer_cancel(-5)).toBe(E_TOKEN);
    expect(c.timer_cancel(0x7fffffff)).toBe(E_TOKEN);
    expect(popAll(map, 1e9)).toEqual([]);
  });

  it("rejects a zero map id, bad deadlines and an oversized batch", () => {
    const c = core();
    const map = freshMap();
    expect(c.timer_add(0, 1)).toBe(E_RANGE);
    for (const bad of [NaN, -1, Infinity, -Infinity]) expect(c.timer_add(map, bad), String(bad)).toBe(E_RANGE);
    const id = c.timer_add(map, 1);
    for (const bad of [NaN, -0.5, Infinity]) expect(c.timer_reset(id, bad), String(bad)).toBe(E_RANGE);
    expect(c.timer_pop_due(map, NaN, 1)).toBe(E_RANGE);
    expect(c.timer_pop_due(map, 10, TIMER_BATCH + 1)).toBe(E_RANGE);
    expect(c.timer_count(map)).toBe(1);
    expect(c.timer_cancel_map(map)).toBe(1);
  });

  it("cancels and resets random subsets; only live timers fire, at their new deadlines", () => {
    const c = core();
    const map = freshMap();
    const rand = prng(7);
    const live = new Map<number, { deadline: number; order: number }>();
    let order = 0;
    const ids: number[] = [];
    for (let i = 0; i < 5000; i++) {
      const d = Math.floor(rand() * 1000);
      const id = c.timer_add(map, d);
      ids.push(id);
      live.set(id, { deadline: d, order: order++ });
    }
    for (const id of ids) {
      const r = rand();
      if (r < 0.3) {
        expect(c.timer_cancel(id)).toBe(0);
        live.delete(id);
      } else if (r < 0.6) {
        const d = Math.floor(rand() * 1000);
        expect(c.timer_reset(id, d)).toBe(0);
        live.set(id, { deadline: d, order: order++ }); // a reset ties after everything before it
      }
    }
    expect(c.timer_count(map)).toBe(live.size);
    const expected = [...live].sort((a, b) => a[1].deadline - b[1].deadline || a[1].order - b[1].order).map(([id]) => id);
    expect(popAll(map, 1e9)).toEqual(expected);
  });

  it("compacts the heap once cancelled entries dominate", () => {
    const c = core();
    const map = freshMap();
    const ids = Array.from({ length: 2000 }, (_, i) => c.timer_add(map, 1000 + i));
    expect(c.timer_heap_len(map)).toBe(2000);
    for (let i = 0; i < 1000; i++) c.timer_cancel(ids[i]); // 1000 stale of 2000: not more than half yet
    expect(c.timer_heap_len(map)).toBe(2000);
    c.timer_cancel(ids[1000]); // 1001 stale > 512 and > half
    expect(c.timer_heap_len(map)).toBe(999);
    // resets leave stale entries too, and compact the same way: two rounds put 1998 stale
    // entries beside 999 live ones unless compaction ran on the way
    for (let round = 0; round < 2; round++) for (let i = 1001; i < 2000; i++) c.timer_reset(ids[i], 5000 + i);
    expect(c.timer_heap_len(map)).toBeLessThan(2 * 999);
    expect(c.timer_count(map)).toBe(999);
    expect(popAll(map, 1e9)).toEqual(ids.slice(1001));
  });

  it("keeps maps apart: next, count, pop and cancel_map see one map", () => {
    const c = core();
    const m1 = freshMap();
    const m2 = freshMap();
    const a = c.timer_add(m1, 50);
    const b = c.timer_add(m2, 10);
    expect(c.timer_next(m1)).toBe(50);
    expect(c.timer_next(m2)).toBe(10);
    expect(popAll(m1, 20)).toEqual([]);
    expect(c.timer_cancel_map(m2)).toBe(1);
    expect(c.timer_cancel(b)).toBe(E_TOKEN);
    expect(c.timer_count(m1)).toBe(1);
    expect(c.timer_count(m2)).toBe(0);
    expect(popAll(m1, 50)).toEqual([a]);
    expect(c.timer_next(m1)).toBe(-1);
  });

  it("drops stale tops lazily: timer_next skips cancelled and reset entries", () => {
    const c = core();
    const map = freshMap();
    const a = c.timer_add(map, 1);
    const b = c.timer_add(map, 2);
    const d = c.timer_add(map, 3);
    c.timer_cancel(a);
    c.timer_reset(b, 10);
    expect(c.timer_next(map)).toBe(3);
    expect(popAll(map, 100)).toEqual([d, b]);
  });
});
