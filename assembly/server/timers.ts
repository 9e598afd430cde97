// Timers of a server module: callLater/callEvery over the core's timer heap (assembly/timers.ts),
// timers owned by a channel (cancelled when it closes) and idle timeouts (handleIdle()).
//
// As in the Node host (host/asyncore/timers.ts): a TimerHandle holds the core id of its armed timer
// (0 while not armed); ids go stale when a timer fires or is cancelled. Each pass pops every due
// timer first and runs them after, so a timer scheduled from a callback (even for 0 seconds) runs
// on a later pass. The clock is WASI's monotonic clock (performance.now(), in ms).
import { timerAdd, timerCancel, timerReset, timerNext, timerPopDue, timerCount, timerIdsPtr, TIMER_BATCH } from "../timers";
import { advanceTick, chanGetField, chanSetField, tick } from "../channels";
import { C_TICK } from "../layout";
import { MAP_ID } from "./socket";
import { EBADF, EINVAL } from "./errno";

/** A timer callback: it gets its handle (`timer.owner` is the channel of a Dispatcher.callLater timer). */
export type TimerCallback = (timer: TimerHandle) => void;

/** The monotonic clock timers run on, in milliseconds. */
export function clockMs(): f64 {
  return performance.now();
}

/**
 * What a timer needs of the channel that owns it; Dispatcher extends it. A closing channel cancels
 * its timers (cancelOwnedTimers).
 */
export class TimerOwner {
  /** @internal Timers this channel owns (callLater on the dispatcher, its idle timer). */
  ownedTimers: Array<TimerHandle> | null = null;
  /** @internal The idle-timeout timer, or null. */
  idleTimer: TimerHandle | null = null;

  /** The channel's token in the core (-1 once closed); idle timeouts read its activity stamp. */
  fileno(): i32 { return -1; }
  /** The channel was idle for its idle timeout. Python (pyftpdlib): handle_timeout */
  handleIdle(): void {}
}

let armed = new Map<i32, TimerHandle>(); // core id → handle
let due = new Array<TimerHandle>(); // popped this pass, not yet run
let running = false;

/** A scheduled call, from callLater() or callEvery(). (pyftpdlib: CallLater / CallEvery) */
export class TimerHandle {
  /** Runs every `delay` seconds (callEvery) rather than once (callLater). */
  readonly periodic: bool;
  /** The channel whose close() cancels this timer, or null. */
  readonly owner: TimerOwner | null;
  /** Free for the caller: what the callback should work on (AssemblyScript has no closures). */
  data: usize = 0;
  /** @internal The delay (and period) in ms. */
  delayMs: f64;
  /** @internal The deadline in ms on clockMs(). */
  due: f64;
  private id: i32 = 0;
  private isCancelled: bool = false;
  private fn: TimerCallback;

  /** Use callLater()/callEvery(); this arms the timer at once. */
  constructor(delayMs: f64, fn: TimerCallback, periodic: bool, owner: TimerOwner | null) {
    this.delayMs = delayMs;
    this.fn = fn;
    this.periodic = periodic;
    this.owner = owner;
    this.due = clockMs() + delayMs;
    this.arm();
  }

  /** When it fires next (or last fired): seconds on the clockMs() / 1000 clock. */
  get deadline(): f64 { return this.due / 1000; }
  /** True once cancel() ran (or the owning channel closed). */
  get cancelled(): bool { return this.isCancelled; }
  /** The delay this timer was scheduled with, in seconds. */
  get delay(): f64 { return this.delayMs / 1000; }

  /** The owning channel as its own class: `timer.ownerAs<Session>()` (null when not owned or not a T). */
  ownerAs<T>(): T | null {
    let o = this.owner;
    if (o === null) return null;
    if (o instanceof T) return changetype<T>(o);
    return null;
  }

  /** Stops the timer; idempotent. (pyftpdlib: CallLater.cancel) */
  cancel(): void {
    if (this.isCancelled) return;
    this.isCancelled = true;
    if (this.id != 0) {
      timerCancel(this.id);
      armed.delete(this.id);
      this.id = 0;
    }
    let o = this.owner;
    if (o !== null) dropOwned(o, this);
  }

  /**
   * Re-arms the timer `delay` seconds from now, even after a one-shot fired: 0, or EINVAL when it
   * was cancelled (the Node host throws there). (pyftpdlib: CallLater.reset)
   */
  reset(): i32 {
    if (this.isCancelled) return EINVAL;
    let o = this.owner;
    if (o !== null && this.id == 0 && !this.periodic) addOwned(o, this); // a fired one-shot belongs to its channel again
    this.armAt(clockMs() + this.delayMs);
    return 0;
  }

  /** @internal Arms (or re-arms) the timer at `ms`. */
  armAt(ms: f64): void {
    this.due = ms;
    if (this.id != 0) timerReset(this.id, ms);
    else this.arm();
  }

  private arm(): void {
    let id = timerAdd(MAP_ID, this.due);
    if (id <= 0) abort("the core cannot hold more timers");
    this.id = id;
    armed.set(id, this);
  }

  /** @internal The core popped this timer (its id is stale now). */
  detach(): void {
    armed.delete(this.id);
    this.id = 0;
  }

  /** @internal Was this timer popped and still waiting to run in this pass? */
  get runnable(): bool { return !this.isCancelled && this.id == 0; }

  /** @internal Runs the callback; a periodic timer is re-armed first, on its own phase. */
  fire(now: f64): void {
    if (this.periodic) {
      let missed = Math.floor((now - this.due) / this.delayMs) + 1; // skip periods the loop slept through
      this.armAt(this.due + missed * this.delayMs);
    } else {
      let o = this.owner;
      if (o !== null) dropOwned(o, this);
    }
    this.fn(this);
  }
}

function addOwned(o: TimerOwner, t: TimerHandle): void {
  let list = o.ownedTimers;
  if (list === null) { list = new Array<TimerHandle>(); o.ownedTimers = list; }
  if (!list.includes(t)) list.push(t);
}

function dropOwned(o: TimerOwner, t: TimerHandle): void {
  let list = o.ownedTimers;
  if (list === null) return;
  let i = list.indexOf(t);
  if (i >= 0) list.splice(i, 1);
}

function checkDelay(seconds: f64, periodic: bool): bool {
  if (isNaN(seconds) || !isFinite(seconds)) return false;
  return periodic ? seconds > 0 : seconds >= 0;
}

/**
 * Calls `fn` once after `seconds` (>= 0). A bad delay (negative, NaN, infinite) aborts the module:
 * the Node host throws a RangeError there. Python (pyftpdlib): ioloop.call_later
 */
export function callLater(seconds: f64, fn: TimerCallback): TimerHandle {
  if (!checkDelay(seconds, false)) abort("callLater(): seconds must be a finite number >= 0");
  return new TimerHandle(seconds * 1000, fn, false, null);
}

/** Calls `fn` every `seconds` (> 0) until cancelled. Python (pyftpdlib): ioloop.call_every */
export function callEvery(seconds: f64, fn: TimerCallback): TimerHandle {
  if (!checkDelay(seconds, true)) abort("callEvery(): seconds must be a finite number > 0");
  return new TimerHandle(seconds * 1000, fn, true, null);
}

/** A timer owned by a channel: cancelled when it closes; null with lastErrno EBADF when it is closed. */
export function scheduleOwned(owner: TimerOwner, seconds: f64, fn: TimerCallback, periodic: bool): TimerHandle | null {
  if (!checkDelay(seconds, periodic)) abort(periodic ? "callEvery(): seconds must be a finite number > 0" : "callLater(): seconds must be a finite number >= 0");
  if (owner.fileno() < 0) return null;
  let t = new TimerHandle(seconds * 1000, fn, periodic, owner);
  addOwned(owner, t);
  return t;
}

/** Cancels a channel's timers and its idle timeout (Dispatcher.close). */
export function cancelOwnedTimers(owner: TimerOwner): void {
  owner.idleTimer = null;
  let list = owner.ownedTimers;
  if (list === null) return;
  owner.ownedTimers = null;
  for (let i = 0; i < list.length; i++) unchecked(list[i]).cancel();
}

/** Advances the core's coarse activity clock (ms, wrapping) to now; returns now. */
export function stampNow(): f64 {
  let now = clockMs();
  advanceTick(<u32>(<u64>now));
  return now;
}

/**
 * Sets (seconds > 0) or clears (0) a channel's idle timeout: 0, or EBADF on a closed channel.
 * Bytes moving either way (received into or sent from the core's queues) restart the countdown.
 */
export function setIdleTimeout(owner: TimerOwner, seconds: f64): i32 {
  if (!checkDelay(seconds, false)) abort("setIdleTimeout(): seconds must be a finite number >= 0");
  let current = owner.idleTimer;
  if (seconds == 0) {
    if (current !== null) current.cancel();
    owner.idleTimer = null;
    return 0;
  }
  let token = owner.fileno();
  if (token < 0) return EBADF;
  stampNow();
  chanSetField(token, C_TICK, tick); // the countdown starts now
  if (current !== null && !current.cancelled) {
    current.delayMs = seconds * 1000;
    current.reset();
  } else {
    let t = new TimerHandle(seconds * 1000, checkIdle, false, owner);
    addOwned(owner, t);
    owner.idleTimer = t;
  }
  return 0;
}

// The idle timer's callback. Activity stamps live in the core (C_TICK, set when bytes arrive or
// are sent), so a busy channel costs nothing per byte: the timer moves to "last activity +
// timeout" when it finds the channel was active.
function checkIdle(timer: TimerHandle): void {
  let o = timer.owner;
  if (o === null || o.idleTimer !== timer) return;
  let token = o.fileno();
  if (token < 0) return;
  stampNow();
  let last = chanGetField(token, C_TICK);
  if (last < 0) return;
  let idleFor = <f64>((tick - <u32>last) >>> 0);
  if (idleFor + 1 < timer.delayMs) {
    timer.armAt(clockMs() - idleFor + timer.delayMs);
    if (o.ownedTimers === null || !o.ownedTimers!.includes(timer)) addOwned(o, timer);
    return;
  }
  o.handleIdle();
  // still open and still timed: count another full period from now
  if (o.fileno() >= 0 && o.idleTimer === timer && timer.runnable) timer.reset();
}

/** Armed timers (they keep the loop running). */
export function pendingTimers(): u32 {
  return timerCount(MAP_ID);
}

/** Milliseconds until the nearest timer (0 when one is overdue), or -1 without timers. */
export function nextTimerDelay(): f64 {
  let next = timerNext(MAP_ID);
  if (next < 0) return -1;
  return max(0, next - clockMs());
}

/** Runs the due timers in deadline order (ties in scheduling order). */
export function runDueTimers(): void {
  if (running || timerCount(MAP_ID) == 0) return;
  let now = stampNow();
  due.length = 0;
  while (true) {
    let n = timerPopDue(MAP_ID, now, TIMER_BATCH);
    if (n <= 0) break;
    let ids = timerIdsPtr();
    for (let i = 0; i < n; i++) {
      let id = load<i32>(ids + (<usize>i << 2));
      if (!armed.has(id)) continue;
      let t = armed.get(id);
      t.detach();
      due.push(t);
    }
    if (<u32>n < TIMER_BATCH) break;
  }
  if (due.length == 0) return;
  running = true;
  let list = due;
  due = new Array<TimerHandle>();
  for (let i = 0; i < list.length; i++) {
    let t = unchecked(list[i]);
    if (t.runnable) t.fire(now); // else an earlier callback cancelled or reset it
  }
  running = false;
}
