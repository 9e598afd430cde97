// Timers: callLater/callEvery over the core's per-map heaps, per-channel timers and idle timeouts.
//
// A TimerHandle holds the core id of its armed timer (0 while not armed). Ids go stale when a
// timer fires or is cancelled, so a fired one-shot that is reset() gets a new id. Each pass pops
// every due timer first and runs them after, so a timer scheduled from a callback (even for
// 0 seconds) runs on a later pass: a callback can never keep a pass busy forever.
import { getEngine } from "../core/engine.js";
import { FIELD, TIMER_BATCH, E_TOKEN } from "../core/abi.js";
import { ExitNow, SocketError, EngineAbortError, isDisconnect } from "../core/errors.js";
import { describe } from "../core/address.js";
import { compactTraceback } from "./traceback.js";
import { waitReady, wakeMap } from "../core/wake.js";

/** A timer callback; for a dispatcher's timers `this` is the dispatcher. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type TimerCallback = (...args: any[]) => unknown;

/** What a timer needs of its map (a ChannelMap). */
export interface TimerMap {
  /** @internal The map's id in the core. */
  readonly id: number;
  /** Called when one of the map's timers throws. */
  handleTimerError(err: unknown, timer: TimerHandle): void;
}

/** What per-channel timers need of their dispatcher (a Dispatcher). */
export interface TimerOwner {
  /** The channel's socket (its fileno() keys the channel's timers). */
  socket: {
    /** The channel's key in its map. */
    fileno(): number;
    /** Is the socket closed? */
    readonly closed: boolean;
  } | null;
  /** Has the channel closed (then its timers are cancelled)? */
  isClosed(): boolean;
  /** Called when the channel's idle timeout expires. */
  handleIdle(): unknown;
  /** Called by the default handleIdle(). */
  handleClose(): unknown;
  /** Called with a rejection of handleIdle()'s promise. */
  handleError(err: unknown): void;
  /** Called when one of the channel's timers throws. */
  handleTimerError(err: unknown, timer: TimerHandle): void;
}

const clock = (): number => performance.now();
const armed = new Map<number, TimerHandle>(); // core id → handle, every map
const waitingUntil = new Map<number, number>(); // map id → end of its pass's current wait (ms)
const inFlight = new Map<number, TimerHandle[]>(); // map id → timers taken from the core, not yet run
const owned = new WeakMap<TimerOwner, Set<TimerHandle>>();
const idle = new WeakMap<TimerOwner, TimerHandle>();

/** A scheduled call, from callLater() or callEvery(). (pyftpdlib: CallLater / CallEvery) */
export class TimerHandle {
  /** @internal The map whose loop runs this timer. */
  readonly map: TimerMap;
  /** @internal The dispatcher whose close() cancels this timer, or null. */
  readonly owner: TimerOwner | null;
  /** Runs every `delay` seconds (callEvery) rather than once (callLater). */
  readonly periodic: boolean;
  private id = 0;
  /** @internal The delay (and period) in ms. */
  delayMs: number;
  /** @internal The deadline in ms on the performance.now() clock. */
  due: number;
  private isCancelled = false;
  private readonly fn: TimerCallback;
  private readonly args: unknown[];

  /** Use callLater()/callEvery(); this arms the timer at once. */
  constructor(map: TimerMap, delayMs: number, fn: TimerCallback, args: unknown[], periodic: boolean, owner: TimerOwner | null) {
    this.map = map;
    this.delayMs = delayMs;
    this.fn = fn;
    this.args = args;
    this.periodic = periodic;
    this.owner = owner;
    this.due = clock() + delayMs;
    this.arm();
  }

  /** When it fires next (or last fired): seconds on the `performance.now() / 1000` clock. */
  get deadline(): number { return this.due / 1000; }
  /** True once cancel() ran (or the owning channel closed, or closeAll() ran). */
  get cancelled(): boolean { return this.isCancelled; }
  /** The delay this timer was scheduled with, in seconds. */
  get delay(): number { return this.delayMs / 1000; }

  /** Stops the timer; idempotent. (pyftpdlib: CallLater.cancel) */
  cancel(): void {
    if (this.isCancelled) return;
    this.isCancelled = true;
    if (this.id !== 0) {
      getEngine().core.timer_cancel(this.id);
      armed.delete(this.id);
      this.id = 0;
      if (waitingUntil.has(this.map.id)) wakeMap(this.map.id); // the loop may have nothing left to wait for
    }
    if (this.owner) owned.get(this.owner)?.delete(this);
  }

  /** Re-arms the timer `delay` seconds from now, even after a one-shot fired. (pyftpdlib: CallLater.reset) */
  reset(): void {
    if (this.isCancelled) throw new Error(`TimerHandle.reset(): ${this} was cancelled; schedule a new one`);
    this.armAt(clock() + this.delayMs);
  }

  /** @internal Arms (or re-arms) the timer at `ms` on the monotonic clock. */
  armAt(ms: number): void {
    this.due = ms;
    if (this.id !== 0) {
      const rc = getEngine().core.timer_reset(this.id, ms);
      if (rc < 0) throw new EngineAbortError(`timer_reset(${this.id}, ${ms}) returned ${rc}`);
      wakeIfSooner(this.map.id, ms);
    } else this.arm();
  }

  private arm(): void {
    const id = getEngine().core.timer_add(this.map.id, this.due);
    if (id <= 0) throw new RangeError(`${this}: the core cannot hold more timers (timer_add returned ${id})`);
    this.id = id;
    armed.set(id, this);
    if (this.owner) {
      let set = owned.get(this.owner);
      if (!set) owned.set(this.owner, (set = new Set()));
      set.add(this);
    }
    wakeIfSooner(this.map.id, this.due);
  }

  /** @internal The core popped this timer (its id is stale now). */
  detach(): void {
    armed.delete(this.id);
    this.id = 0;
  }

  /** @internal Runs the callback; a periodic timer is re-armed first, on its own phase. */
  fire(now: number): void {
    if (this.periodic) {
      const missed = Math.floor((now - this.due) / this.delayMs) + 1; // skip periods the loop slept through
      this.armAt(this.due + missed * this.delayMs);
    } else if (this.owner) owned.get(this.owner)?.delete(this);
    let ret: unknown;
    try {
      ret = this.fn.apply(this.owner ?? undefined, this.args);
    } catch (err) {
      if (err instanceof ExitNow) throw err;
      this.report(err);
      return;
    }
    if (ret !== null && typeof ret === "object" && typeof (ret as Promise<unknown>).then === "function") {
      (ret as Promise<unknown>).then(undefined, (err: unknown) => {
        if (err instanceof ExitNow) return;
        try { this.report(err); } catch (again) { process.emitWarning(`wasyncore: handleTimerError threw after an async timer failed: ${String(again)}`); }
      });
    }
  }

  /** @internal Was this timer popped and still waiting to run in this pass? */
  get runnable(): boolean { return !this.isCancelled && this.id === 0; }

  private report(err: unknown): void {
    if (this.owner) this.owner.handleTimerError(err, this);
    else this.map.handleTimerError(err, this);
  }

  /** e.g. `<TimerHandle callLater(ping) in 1.500s>` */
  toString(): string {
    const what = `${this.periodic ? "callEvery" : "callLater"}(${this.fn.name || "<anonymous>"})`;
    const state = this.isCancelled ? "cancelled" : this.id === 0 ? "fired" : `in ${((this.due - clock()) / 1000).toFixed(3)}s`;
    return `<TimerHandle ${what} ${state}>`;
  }
}

function wakeIfSooner(mapId: number, ms: number): void {
  const until = waitingUntil.get(mapId);
  if (until !== undefined && ms < until) wakeMap(mapId);
}

/** Checks a delay in seconds and returns it in ms. */
function delayOf(seconds: unknown, what: string, periodic: boolean): number {
  if (typeof seconds !== "number" || Number.isNaN(seconds)) throw new TypeError(`${what}: seconds must be a number, got ${describe(seconds)}`);
  const ms = seconds * 1000;
  if (periodic ? !(seconds > 0) : seconds < 0) throw new RangeError(`${what}: seconds must be ${periodic ? "> 0" : ">= 0"}, got ${seconds}`);
  if (!Number.isFinite(ms)) throw new RangeError(`${what}: seconds must be finite, got ${seconds}`);
  return ms;
}

function checkFn(fn: unknown, what: string): TimerCallback {
  if (typeof fn !== "function") throw new TypeError(`${what}: fn must be a function, got ${describe(fn)}`);
  return fn as TimerCallback;
}

/** Schedules `fn(...args)` on `map` (ChannelMap.callLater / callEvery). */
export function schedule(map: TimerMap, seconds: number, fn: TimerCallback, args: unknown[], periodic: boolean): TimerHandle {
  const what = periodic ? "callEvery()" : "callLater()";
  return new TimerHandle(map, delayOf(seconds, what, periodic), checkFn(fn, what), args, periodic, null);
}

/** Schedules `fn(...args)` on a dispatcher's map, cancelled when it closes (Dispatcher.callLater / callEvery). */
export function scheduleOwned(owner: TimerOwner, map: TimerMap, seconds: number, fn: TimerCallback, args: unknown[], periodic: boolean): TimerHandle {
  const what = periodic ? "callEvery()" : "callLater()";
  const ms = delayOf(seconds, what, periodic);
  checkFn(fn, what);
  if (owner.isClosed()) throw new SocketError("EBADF", `${what} on a closed dispatcher`);
  return new TimerHandle(map, ms, fn, args, periodic, owner);
}


/** Cancels a dispatcher's timers and its idle timeout (Dispatcher.close). */
export function cancelOwnedTimers(owner: TimerOwner): void {
  const set = owned.get(owner);
  idle.delete(owner);
  if (!set) return;
  owned.delete(owner);
  for (const t of set) t.cancel();
}

/** Cancels every timer of `map` (closeAll). */
export function cancelMapTimers(map: TimerMap): void {
  for (const t of inFlight.get(map.id) ?? []) t.cancel();
  if (getEngine().core.timer_cancel_map(map.id) === 0) return;
  wakeMap(map.id);
  for (const [id, t] of armed) {
    if (t.map !== map) continue;
    armed.delete(id);
    t.detach();
    t.cancel();
  }
}

/** Armed timers of `map`: they keep loop() running. */
export function pendingTimers(map: TimerMap): number {
  return getEngine().core.timer_count(map.id);
}

/** Seconds until the map's nearest timer (0 when one is overdue), or null without timers. */
export function nextTimerDelay(map: TimerMap): number | null {
  const next = getEngine().core.timer_next(map.id);
  return next < 0 ? null : Math.max(0, next - clock()) / 1000;
}

/**
 * Waits for readiness on `map` up to `timeoutMs`, and never past its nearest timer, then calls
 * `then` (in Node's check phase: see wake.ts; at once as a microtask when a timer is already due).
 */
export function waitForEvents(map: TimerMap, timeoutMs: number, then: () => void): void {
  const next = getEngine().core.timer_next(map.id);
  const now = clock();
  const ms = next < 0 ? timeoutMs : Math.min(timeoutMs, Math.ceil(next - now));
  if (ms <= 0) { queueMicrotask(then); return; }
  const mapId = map.id;
  waitingUntil.set(mapId, now + ms);
  waitReady(mapId, ms, () => {
    waitingUntil.delete(mapId);
    then();
  });
}

/** Runs the map's due timers in deadline order (ties in scheduling order). */
export function runDueTimers(map: TimerMap): void {
  const core = getEngine().core;
  const now = clock();
  let due: TimerHandle[] | null = null;
  for (;;) {
    const n = core.timer_pop_due(map.id, now, TIMER_BATCH);
    if (n < 0) throw new EngineAbortError(`timer_pop_due(${map.id}, ${now}) returned ${n}`);
    if (n === 0) break;
    const ids = getEngine().int32s(core.timer_ids_ptr(), n);
    due ??= [];
    for (let i = 0; i < n; i++) {
      const t = armed.get(ids[i]);
      if (t) { t.detach(); due.push(t); }
    }
    if (n < TIMER_BATCH) break;
  }
  if (due === null) return;
  inFlight.set(map.id, due);
  let i = 0;
  try {
    for (; i < due.length; i++) {
      const t = due[i];
      if (t.runnable) t.fire(now); // else an earlier callback cancelled or reset it
    }
  } catch (err) {
    // ExitNow (or a handleTimerError that threw): the rest stay due for the next pass.
    for (let j = i + 1; j < due.length; j++) if (due[j].runnable) due[j].armAt(due[j].due);
    throw err;
  } finally {
    inFlight.delete(map.id);
  }
}

/** The default ChannelMap.handleTimerError: logs a compact trace, as handleError does. */
export function logTimerError(err: unknown, timer: TimerHandle): void {
  let type: string, value: string, info: string;
  try {
    [, type, value, info] = compactTraceback(err);
  } catch {
    [type, value, info] = [typeof err, String(err), "[no traceback]"];
  }
  console.error(`error: uncaptured exception in timer ${timer} (${type}:${value} ${info})`);
}

/** Sets (seconds > 0) or clears (0 or null) a dispatcher's idle timeout (Dispatcher.setIdleTimeout). */
export function setIdleTimeout(owner: TimerOwner, map: TimerMap, seconds: number | null): void {
  const what = "setIdleTimeout()";
  const ms = seconds === null ? 0 : delayOf(seconds, what, false);
  const current = idle.get(owner);
  if (ms === 0) {
    current?.cancel();
    idle.delete(owner);
    return;
  }
  const sock = owner.socket;
  if (sock === null) throw new SocketError("EBADF", `${what}: the dispatcher has no socket (call createSocket() first)`);
  if (sock.closed) throw new SocketError("EBADF", `${what} on a closed dispatcher`);
  const e = getEngine();
  e.stamping = true; // from now on byte movement stamps channels (engine.stamp())
  e.setField(sock.fileno(), FIELD.tick, e.tick()); // the countdown starts now
  if (current && !current.cancelled) {
    current.delayMs = ms;
    current.reset();
  } else {
    idle.set(owner, new TimerHandle(map, ms, checkIdle, [], false, owner));
  }
}

// Runs as the idle timer's callback with `this` = the dispatcher. Activity stamps live in the
// core (C_TICK, set when bytes arrive or are sent), so a busy channel costs nothing per byte here:
// the timer just moves to "last activity + timeout" when it finds the channel was active.
function checkIdle(this: TimerOwner): void {
  const timer = idle.get(this);
  const sock = this.socket;
  if (!timer || sock === null || sock.closed) return;
  const e = getEngine();
  const last = e.core.chan_get(sock.fileno(), FIELD.tick);
  if (last === E_TOKEN) return;
  const nowTick = e.tick();
  const idleFor = (nowTick - last) >>> 0;
  if (idleFor + 1 < timer.delayMs) {
    timer.armAt(clock() - idleFor + timer.delayMs);
    return;
  }
  try {
    const ret = this.handleIdle();
    if (ret !== null && typeof ret === "object" && typeof (ret as Promise<unknown>).then === "function") {
      (ret as Promise<unknown>).then(undefined, (err: unknown) => { if (!(err instanceof ExitNow)) this.handleError(err); });
    }
  } catch (err) {
    if (err instanceof ExitNow) throw err;
    if (isDisconnect(err)) { if (!this.isClosed()) this.handleClose(); } else this.handleError(err);
  } finally {
    // Still open and still timed (even after ExitNow): count another full period from now.
    if (!this.isClosed() && idle.get(this) === timer && timer.runnable) timer.reset();
  }
}
