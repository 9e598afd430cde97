// callLater/callEvery through loop(): order, cancel/reset, timers from timers, periodic drift.
import { describe, it, expect } from "vitest";
import { ChannelMap, loop, loopStats, TimerHandle } from "../../host/index.js";
import { prng } from "./helpers.js";

describe("timer order", () => {
  it("fires 10,000 timers with random deadlines in deadline order, ties in creation order", async () => {
    const map = new ChannelMap();
    const rand = prng(42);
    const fired: number[] = [];
    const handles: TimerHandle[] = [];
    for (let i = 0; i < 10_000; i++) {
      // delays on a 5 ms grid from 0 to 100 ms
      handles.push(map.callLater(Math.floor(rand() * 21) * 0.005, (k: number) => fired.push(k), i));
    }
    expect(loopStats({ map }).timersPending).toBe(10_000);
    await loop({ map });
    const expected = handles.map((h, i) => [h.deadline, i] as const).sort((a, b) => a[0] - b[0] || a[1] - b[1]).map(([, i]) => i);
    expect(fired.length).toBe(10_000);
    expect(fired).toEqual(expected);
    expect(loopStats({ map }).timersPending).toBe(0);
  });

  it("never fires a timer before its deadline", async () => {
    const map = new ChannelMap();
    const early: number[] = [];
    for (let i = 0; i < 50; i++) {
      const h: TimerHandle = map.callLater((i % 10) * 0.003, () => {
        const now = performance.now() / 1000;
        if (now < h.deadline) early.push(h.deadline - now);
      });
    }
    await loop({ map });
    expect(early).toEqual([]);
  });

  it("skips cancelled timers and fires reset ones at their new deadline", async () => {
    const map = new ChannelMap();
    const rand = prng(9);
    const fired: number[] = [];
    const handles = Array.from({ length: 2000 }, (_, i) => map.callLater(rand() * 0.08, () => fired.push(i)));
    const cancelled = new Set<number>();
    const reset = new Set<number>();
    handles.forEach((h, i) => {
      const r = rand();
      if (r < 0.3) { h.cancel(); cancelled.add(i); } else if (r < 0.6) { h.reset(); reset.add(i); }
    });
    for (const i of cancelled) expect(handles[i].cancelled).toBe(true);
    expect(loopStats({ map }).timersPending).toBe(2000 - cancelled.size);
    await loop({ map });
    expect(fired.filter((i) => cancelled.has(i))).toEqual([]);
    expect(fired.length).toBe(2000 - cancelled.size);
    expect(new Set(fired).size).toBe(fired.length); // each once
    // firing order follows the final deadlines
    const deadlines = fired.map((i) => handles[i].deadline);
    for (let k = 1; k < deadlines.length; k++) expect(deadlines[k]).toBeGreaterThanOrEqual(deadlines[k - 1]);
    expect(reset.size).toBeGreaterThan(400);
  });

  it("runs a timer scheduled from a timer callback on a later pass", async () => {
    const map = new ChannelMap();
    const calls: string[] = [];
    map.callLater(0.01, () => {
      calls.push("outer");
      map.callLater(0, () => calls.push("inner"));
    });
    map.callLater(0.01, () => calls.push("sibling")); // due in the same pass as outer
    await loop({ map });
    expect(calls).toEqual(["outer", "sibling", "inner"]);
  });

  it("lets a callLater(0) chain run 200 links without starving I/O or spinning in one pass", async () => {
    const map = new ChannelMap();
    let links = 0;
    let passesSeen = 0;
    const immediate = setInterval(() => passesSeen++, 0); // Node's own timers still run in between
    const step = (): void => { if (++links < 200) map.callLater(0, step); };
    map.callLater(0, step);
    await loop({ map });
    clearInterval(immediate);
    expect(links).toBe(200);
    expect(passesSeen).toBeGreaterThan(0);
  });

  it("cancels a timer that is due in the same pass from an earlier callback", async () => {
    const map = new ChannelMap();
    const calls: string[] = [];
    let second: TimerHandle;
    map.callLater(0.005, () => { calls.push("first"); second.cancel(); });
    second = map.callLater(0.005, () => calls.push("second"));
    await loop({ map });
    expect(calls).toEqual(["first"]);
    expect(second.cancelled).toBe(true);
  });

  it("re-arms a fired one-shot with reset()", async () => {
    const map = new ChannelMap();
    let n = 0;
    const h = map.callLater(0.005, () => { if (++n < 3) h.reset(); });
    await loop({ map });
    expect(n).toBe(3);
    expect(() => { h.cancel(); h.reset(); }).toThrow(/cancelled/);
  });

  it("keeps callEvery on its phase over 100 periods of 5 ms", async () => {
    const map = new ChannelMap();
    const period = 0.005;
    const at: number[] = [];
    const deadlines: number[] = [];
    const h = map.callEvery(period, () => {
      at.push(performance.now() / 1000);
      deadlines.push(h.deadline); // already the next deadline: the timer re-arms before the call
      if (at.length === 100) h.cancel();
    });
    const first = h.deadline;
    await loop({ map });
    expect(at.length).toBe(100);
    // every deadline sits on the grid first + k * period: no drift accumulates
    const steps = deadlines.map((d) => (d - first) / period);
    for (const s of steps) expect(Math.abs(s - Math.round(s))).toBeLessThan(1e-6);
    const skipped = Math.round(steps[99]) - 100; // periods the loop slept through (a loaded machine)
    if (process.env.TIMER_REPORT) console.log("callEvery", { skipped, totalMs: (at[99] - at[0]) * 1000 });
    // A wake-up later than one period skips it rather than bunching calls: the deadlines only move
    // forward, and no call comes before its due time (its deadline minus one period). How many periods a
    // loaded machine skips is not asserted: wall-clock tightness is not this test's point.
    expect(skipped).toBeGreaterThanOrEqual(0);
    for (let i = 1; i < 100; i++) expect(deadlines[i]).toBeGreaterThan(deadlines[i - 1]);
    const early = at.filter((t, i) => t < deadlines[i] - period - 1e-3);
    expect(early).toEqual([]);
  });
});
