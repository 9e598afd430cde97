// Timer callbacks that throw: handleTimerError, ExitNow, bad arguments.
import { describe, it, expect, vi } from "vitest";
import { ChannelMap, ExitNow, loop, callLater, callEvery, loopStats, socketMap, closeAll } from "../../host/index.js";

describe("timer errors", () => {
  it("sends a throwing callback to handleTimerError and keeps the loop going", async () => {
    const map = new ChannelMap();
    const calls: string[] = [];
    const errors: [string, string][] = [];
    map.handleTimerError = (err, timer) => { errors.push([(err as Error).message, String(timer)]); };
    map.callLater(0.001, function bad() { calls.push("bad"); throw new Error("kaput"); });
    map.callLater(0.002, () => calls.push("after"));
    await loop({ map });
    expect(calls).toEqual(["bad", "after"]);
    expect(errors).toEqual([["kaput", "<TimerHandle callLater(bad) fired>"]]);
  });

  it("logs a compact trace to stderr by default", async () => {
    const map = new ChannelMap();
    const log = vi.spyOn(console, "error").mockImplementation(() => undefined);
    try {
      map.callLater(0, function failing() { throw new TypeError("nope"); });
      await loop({ map });
      expect(log).toHaveBeenCalledTimes(1);
      expect(String(log.mock.calls[0][0])).toMatch(/^error: uncaptured exception in timer <TimerHandle callLater\(failing\) fired> \(TypeError:nope \[/);
    } finally {
      log.mockRestore();
    }
  });

  it("keeps a throwing callEvery going", async () => {
    const map = new ChannelMap();
    let n = 0;
    map.handleTimerError = () => undefined;
    const h = map.callEvery(0.002, () => { if (++n === 3) h.cancel(); throw new Error("each time"); });
    await loop({ map });
    expect(n).toBe(3);
  });

  it("routes an async callback's rejection to handleTimerError", async () => {
    const map = new ChannelMap();
    const seen: string[] = [];
    map.handleTimerError = (err) => { seen.push((err as Error).message); };
    map.callLater(0, async () => { await null; throw new Error("later"); });
    await loop({ map });
    await new Promise((r) => setImmediate(r));
    expect(seen).toEqual(["later"]);
  });

  it("ends loop() with ExitNow from a timer; the timers due after it stay pending", async () => {
    const map = new ChannelMap();
    const calls: string[] = [];
    map.callLater(0.005, () => { calls.push("exit"); throw new ExitNow("stop here"); });
    map.callLater(0.005, () => calls.push("next"));
    await expect(loop({ map })).rejects.toThrow(ExitNow);
    expect(calls).toEqual(["exit"]);
    expect(loopStats({ map }).timersPending).toBe(1);
    await loop({ map });
    expect(calls).toEqual(["exit", "next"]);
  });

  it("lets an exception from handleTimerError escape loop()", async () => {
    const map = new ChannelMap();
    map.handleTimerError = (err) => { throw err; };
    map.callLater(0, () => { throw new RangeError("re-raised"); });
    await expect(loop({ map })).rejects.toThrow("re-raised");
    closeAll({ map });
  });

  it("schedules callLater()/callEvery() on socketMap by default", async () => {
    const calls: string[] = [];
    callLater(0.001, (a: string, b: string) => calls.push(a + b), "x", "y");
    const every = callEvery(0.001, () => { calls.push("e"); every.cancel(); });
    expect(every.map).toBe(socketMap);
    expect(loopStats().timersPending).toBe(2);
    await loop();
    expect(calls.sort()).toEqual(["e", "xy"]);
  });

  it("rejects bad arguments with errors naming them", () => {
    const fn = (): void => undefined;
    expect(() => callLater(-1, fn)).toThrow(new RangeError("callLater(): seconds must be >= 0, got -1"));
    expect(() => callLater(NaN, fn)).toThrow(new TypeError("callLater(): seconds must be a number, got NaN"));
    expect(() => callLater("1" as unknown as number, fn)).toThrow(new TypeError('callLater(): seconds must be a number, got "1"'));
    expect(() => callLater(Infinity, fn)).toThrow(new RangeError("callLater(): seconds must be finite, got Infinity"));
    expect(() => callEvery(0, fn)).toThrow(new RangeError("callEvery(): seconds must be > 0, got 0"));
    expect(() => callLater(1, "fn" as unknown as () => void)).toThrow(new TypeError('callLater(): fn must be a function, got "fn"'));
    expect(() => callLater(1, undefined as unknown as () => void)).toThrow(/fn must be a function, got undefined/);
    expect(loopStats().timersPending).toBe(0);
  });

  it("reports deadline in seconds on the performance.now() clock, and cancel() is idempotent", () => {
    const before = performance.now() / 1000;
    const h = callLater(2, () => undefined);
    expect(h.deadline).toBeGreaterThanOrEqual(before + 2);
    expect(h.deadline).toBeLessThan(performance.now() / 1000 + 2.01);
    expect(h.delay).toBe(2);
    expect(h.cancelled).toBe(false);
    h.cancel();
    h.cancel();
    expect(h.cancelled).toBe(true);
    expect(loopStats().timersPending).toBe(0);
  });
});
