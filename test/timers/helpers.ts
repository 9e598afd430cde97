// Shared bits of the timer tests.
import { getEngine } from "../../host/core/engine.js";
import type { CoreExports } from "../../host/core/abi.js";

/** A small seeded PRNG (mulberry32), so a failing order can be replayed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export { until } from "../support/index.js"; // resolves once cond() holds; rejects naming `what` after `ms`

export const core = (): CoreExports => getEngine().core;

/** Pops every due timer of `mapId` at `now`, in firing order. */
export function popAll(mapId: number, now: number, batch = 1024): number[] {
  const c = core();
  const out: number[] = [];
  for (;;) {
    const n = c.timer_pop_due(mapId, now, batch);
    if (n < 0) throw new Error(`timer_pop_due returned ${n}`);
    out.push(...new Int32Array(c.memory.buffer, c.timer_ids_ptr(), n));
    if (n < batch) return out;
  }
}
