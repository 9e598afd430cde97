// Graceful stop of one loop: drain() closes the listeners, lets accepted connections finish, then ends the map.
import { ChannelMap, socketMap } from "./map.js";
import { closeAll, loop } from "./loop.js";
import { describe } from "../core/address.js";

/** Options of drain(). */
export interface DrainOptions {
  /** The channel map to drain (default socketMap). */
  map?: ChannelMap;
  /** Seconds to wait for the map to empty before closeAll() (default 30; Infinity waits as long as it takes). */
  timeout?: number;
}

// How often drain() looks at a map that another loop() drives (the loop's own wait is not bounded by it).
const WATCH_MS = 10;
// The longest single pass drain() runs itself on a map nobody drives, so the deadline is kept.
const PASS_S = 0.05;

const draining = new WeakMap<ChannelMap, Promise<boolean>>();

interface Entry { accepting?: boolean; close?(): void }

/** Closes every accepting channel of the map (one that a handler opens during the drain too). */
function stopAccepting(map: ChannelMap): void {
  for (const ch of [...map.values()] as Entry[]) {
    if (ch !== null && typeof ch === "object" && ch.accepting === true && typeof ch.close === "function") ch.close();
  }
}

/**
 * Graceful stop of one map (one loop): closes every accepting channel (connections still waiting in a
 * listener's kernel backlog are reset, as when any listener closes), lets the remaining channels run
 * until each has closed itself — so what `send()` accepted is delivered, and `closeWhenDone()` sends its
 * queue first — and resolves when the map has no channel left, or after `timeout` seconds, when
 * `closeAll()` closes the rest (their accepted bytes are still delivered, as `close()` always does).
 * Either way the map's timers are cancelled at the end, so a `loop()` on it returns.
 *
 * While another `loop()` drives the map, drain() only watches it; otherwise it runs the passes itself.
 * A second call while one runs returns the same promise.
 *
 * @returns true when the map emptied by itself, false when the timeout closed what was left.
 */
export function drain({ map = socketMap, timeout = 30 }: DrainOptions = {}): Promise<boolean> {
  if (!(map instanceof ChannelMap)) throw new TypeError(`drain(): map must be a ChannelMap, got ${describe(map)}`);
  if (typeof timeout !== "number" || Number.isNaN(timeout)) throw new TypeError(`drain(): timeout must be a number of seconds, got ${describe(timeout)}`);
  if (timeout < 0) throw new RangeError(`drain(): timeout must be >= 0, got ${timeout}`);
  const running = draining.get(map);
  if (running !== undefined) return running;
  const p = run(map, timeout).finally(() => draining.delete(map));
  draining.set(map, p);
  return p;
}

async function run(map: ChannelMap, timeout: number): Promise<boolean> {
  const deadline = performance.now() + timeout * 1000;
  stopAccepting(map);
  while (map.size > 0) {
    const left = deadline - performance.now();
    if (left <= 0) {
      closeAll({ map, ignoreAll: true });
      return false;
    }
    if (map.running !== null) {
      await new Promise((resolve) => setTimeout(resolve, Math.min(WATCH_MS, left)));
    } else {
      await loop({ map, timeout: Math.min(PASS_S, left / 1000), count: 1 });
    }
    stopAccepting(map); // a listener a handler opened meanwhile
  }
  closeAll({ map, ignoreAll: true }); // the map is empty: this cancels its timers
  return true;
}
