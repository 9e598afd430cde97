// Waking a waiting loop pass, and flushing queued output once per pass.
import { getEngine } from "./engine.js";
import { FIELD, STAT } from "./abi.js";

const waiters = new Map<number, () => void>(); // map id → resolve of its waiting pass

// tls: a channel whose socket is wrapped in TLS hears of each of its readiness changes first.
const watchers = new Map<number, () => void>();

/** @internal Calls `fn` at each notifyReady(token), before the wake-up check; null stops it. (host/tls) */
export function watchChannel(token: number, fn: (() => void) | null): void {
  if (fn === null) watchers.delete(token);
  else watchers.set(token, fn);
}

/** Called after any readiness change: wakes the pass waiting on the channel's map, if ready. */
export function notifyReady(token: number): void {
  if (watchers.size !== 0) watchers.get(token)?.(); // tls: the wrapper pumps first
  if (waiters.size === 0) return;
  const e = getEngine();
  if (e.core.chan_ready(token) !== 1) return;
  const mapId = e.field(token, FIELD.map);
  const wake = waiters.get(mapId);
  if (wake) { waiters.delete(mapId); wake(); }
}

// One wait timer per map, re-armed with refresh() while its delay stays the same (a loop's
// timeout, pass after pass): no Timeout object and timer-list insert per waiting pass. An early
// wake leaves it armed (releaseWait() clears it when the loop ends), and a stale expiry finds no
// waiter and does nothing.
interface WaitState { timer: NodeJS.Timeout | null; ms: number; resolve: (() => void) | null; readonly wake: () => void; }

// A woken wait continues in Node's check phase (setImmediate), not from the callback that woke it:
// the readiness of every I/O callback of this event-loop turn is dispatched in one pass, and a wait
// that ended in the timers phase lets Node poll I/O first, so bytes that arrived during a stall
// count before an idle check runs. No Promise per wait.
const waits = new Map<number, WaitState>();

function waitState(mapId: number): WaitState {
  let st = waits.get(mapId);
  if (st === undefined) {
    const state: WaitState = {
      timer: null, ms: -1, resolve: null,
      wake: () => {
        waiters.delete(mapId);
        const resolve = state.resolve;
        state.resolve = null;
        if (resolve !== null) setImmediate(resolve);
      },
    };
    waits.set(mapId, (st = state));
  }
  return st;
}

function expired(st: WaitState): void {
  if (st.resolve !== null) st.wake();
}

/** Waits until a channel of `mapId` is ready or `ms` pass, then calls `then` (in the check phase). */
export function waitReady(mapId: number, ms: number, then: () => void): void {
  const st = waitState(mapId);
  st.resolve = then;
  if (st.timer !== null && st.ms === ms) st.timer.refresh();
  else {
    if (st.timer !== null) clearTimeout(st.timer);
    st.timer = setTimeout(expired, ms, st);
    st.ms = ms;
  }
  waiters.set(mapId, st.wake);
}

/** The loop over `mapId` ended: its wait timer must not keep the process alive. */
export function releaseWait(mapId: number): void {
  const st = waits.get(mapId);
  if (st === undefined) return;
  if (st.resolve !== null) return; // still waiting (a nested call ended): keep its timer
  if (st.timer !== null) clearTimeout(st.timer);
  waits.delete(mapId);
}

/** Wakes a waiting pass of `mapId` unconditionally (timers, channel added, closeAll). */
export function wakeMap(mapId: number): void {
  const wake = waiters.get(mapId);
  if (wake) { waiters.delete(mapId); wake(); }
}

let outWakesSeen = 0;

/**
 * After the host freed core memory (recv, flush, close, configure): if that made channels that
 * were waiting for output memory writable again, wakes the waiting passes to dispatch them.
 */
export function memoryFreed(): void {
  if (waiters.size === 0) return;
  const n = getEngine().core.engine_stat(STAT.outWakes);
  if (n === outWakesSeen) return;
  outWakesSeen = n;
  for (const wake of [...waiters.values()]) wake();
}

interface Flushable { flush(): void; }
let dirty: Flushable[] = [];
let scheduled = false;
let dispatching = false;

/** Queues a socket for the end-of-pass flush (or the next macrotask outside a pass). */
export function markDirty(s: Flushable): void {
  dirty.push(s);
  // A pass flushes when its dispatch ends; an immediate scheduled from inside it would only cost
  // an extra event-loop turn (a non-blocking epoll_wait) after the pass.
  if (!scheduled && !dispatching) {
    scheduled = true;
    setImmediate(flushAll);
  }
}

/** A pass's dispatch starts: its handlers' output is flushed by endDispatch(). Returns the outer state. */
export function beginDispatch(): boolean {
  const outer = dispatching;
  dispatching = true;
  return outer;
}

/** A pass's dispatch ended (or threw): writes what its handlers queued, one write per channel. */
export function endDispatch(outer: boolean): void {
  dispatching = outer;
  flushAll();
}

const flushEnds: (() => void)[] = [];

/** Runs `fn` at the end of every flush that had output (host/sys/native/batch.ts sends its batch there). */
export function afterFlush(fn: () => void): void {
  flushEnds.push(fn);
}

/** Writes every queued output: one write per channel. */
export function flushAll(): void {
  scheduled = false;
  if (dirty.length === 0) return;
  const list = dirty;
  dirty = [];
  try {
    for (const s of list) s.flush();
  } finally {
    for (const fn of flushEnds) fn();
  }
}

let deferred: unknown = undefined;

/** Makes the next pass throw `err` (ExitNow from an async handler), waking any waiting pass. */
export function deferThrow(err: unknown): void {
  deferred ??= err;
  for (const wake of [...waiters.values()]) wake();
}

/** The error deferThrow() recorded, once. */
export function takeDeferred(): unknown {
  const err = deferred;
  deferred = undefined;
  return err;
}
