// The loop: poll passes over a channel map, asyncore's read/write/readwrite firewall.
import { ExitNow, isDisconnect } from "../core/errors.js";
import { POLLIN, POLLOUT, POLLPRI, POLLHUP, POLLERR, POLLNVAL } from "../core/constants.js";
import { ChannelMap, socketMap } from "./map.js";
import { getEngine } from "../core/engine.js";
import { MODE_SELECT, MODE_POLL2, STAT } from "../core/abi.js";
import { beginDispatch, endDispatch, takeDeferred, releaseWait } from "../core/wake.js";
import { describe } from "../core/address.js";
import { SocketError } from "../core/errors.js";
import { waitForEvents, runDueTimers, pendingTimers, nextTimerDelay, cancelMapTimers } from "./timers.js";

/** An object the loop can dispatch to (a Dispatcher, or any object with these hooks). */
export interface Handlers {
  /** Called when the channel is readable (read(), readwrite()). */
  handleReadEvent(): void;
  /** Called when the channel is writable (write(), readwrite()). */
  handleWriteEvent(): void;
  /** Called for urgent (out-of-band) data (readwrite() with POLLPRI). */
  handleExptEvent(): void;
  /** Called when the peer hung up or a disconnect error was raised. */
  handleClose(): void;
  /** Called with any other error a handler threw. */
  handleError(err: unknown): void;
  /** Whether the channel closed (then no further handler is called in this pass). */
  isClosed?(): boolean;
}

const closedNow = (obj: Handlers): boolean => obj.isClosed !== undefined && obj.isClosed();

/** Calls obj.handleReadEvent() through asyncore's error firewall (ExitNow escapes, disconnects close, the rest to handleError()). Python: asyncore.read(obj) */
export function read(obj: Handlers): void {
  try {
    obj.handleReadEvent();
  } catch (err) {
    if (err instanceof ExitNow) throw err;
    obj.handleError(err);
  }
}

/** Calls obj.handleWriteEvent() through asyncore's error firewall. Python: asyncore.write(obj) */
export function write(obj: Handlers): void {
  try {
    obj.handleWriteEvent();
  } catch (err) {
    if (err instanceof ExitNow) throw err;
    obj.handleError(err);
  }
}

/** Calls obj.handleExptEvent() through asyncore's error firewall. Python: asyncore._exception(obj) */
export function exception(obj: Handlers): void {
  try {
    obj.handleExptEvent();
  } catch (err) {
    if (err instanceof ExitNow) throw err;
    obj.handleError(err);
  }
}

/** Dispatches poll(2) flags in asyncore's order: read, write, expt, close. Python: asyncore.readwrite */
export function readwrite(obj: Handlers, flags: number): void {
  try {
    if (flags & POLLIN) obj.handleReadEvent();
    // asyncore: no handler runs on a channel after it closed in this pass (CPython can close twice)
    if (flags & POLLOUT && !closedNow(obj)) obj.handleWriteEvent();
    if (flags & POLLPRI && !closedNow(obj)) obj.handleExptEvent();
    if (flags & (POLLHUP | POLLERR | POLLNVAL) && !closedNow(obj)) obj.handleClose();
  } catch (err) {
    if (err instanceof ExitNow) throw err;
    if (isDisconnect(err)) {
      if (!closedNow(obj)) obj.handleClose();
    } else obj.handleError(err);
  }
}

function checkTimeout(timeout: unknown, what: string): number {
  if (typeof timeout !== "number" || Number.isNaN(timeout)) throw new TypeError(`${what}: timeout must be a number of seconds, got ${describe(timeout)}`);
  if (timeout < 0) throw new RangeError(`${what}: timeout must be >= 0, got ${timeout}`);
  return timeout;
}

function checkMap(map: unknown, what: string): ChannelMap {
  if (!(map instanceof ChannelMap)) throw new TypeError(`${what}: map must be a ChannelMap, got ${describe(map)}`);
  return map;
}

let events = new Int32Array(256);

/** Does the map have channels or timers (what keeps loop() running)? */
// asyncore: loop() also runs while the map has timers (asyncore has none; pyftpdlib's ioloop does this).
const busy = (map: ChannelMap): boolean => map.size > 0 || pendingTimers(map) > 0;

/**
 * Runs up to `count` passes (Infinity: while the map is busy); each yields to Node, asks interest,
 * waits for readiness up to `timeout` (or the next timer), dispatches and flushes. A pass that does
 * not wait costs one setImmediate callback: no Promise or async frame per pass.
 */
function passes(map: ChannelMap, timeout: number, mode: number, count: number, whileBusy: boolean): Promise<void> {
  const waitMs = Math.min(timeout * 1000, 2 ** 31 - 1);
  return new Promise<void>((resolve, reject) => {
    let done = 0;
    // Nothing can be ready (no channel asks readable()/writable() itself and the core's ready set
    // is empty) and no timer is due: the wait yields to Node anyway, so skip the hop through
    // setImmediate, which would cost an event-loop turn (one more epoll_wait) per idle spell.
    const next = (): void => {
      try {
        if (done >= count || (whileBusy && !busy(map))) { resolve(); return; }
        done++;
        if (timeout > 0 && idleNow(map)) waitForEvents(map, waitMs, afterIdleWait);
        else setImmediate(afterYield);
      } catch (err) {
        reject(err);
      }
    };
    const afterYield = (): void => {
      try {
        if (!busy(map)) { resolve(); return; }
        map.commitInterest();
        const n = getEngine().core.engine_poll(map.id, mode);
        if (n === 0 && timeout > 0) { waitForEvents(map, waitMs, afterPollWait); return; }
        dispatch(map, n, mode);
      } catch (err) {
        reject(err);
        return;
      }
      next();
    };
    // After a wait that began before interest was asked: ask it now.
    const afterIdleWait = (): void => {
      try {
        if (!busy(map)) { resolve(); return; }
        map.commitInterest();
        dispatch(map, getEngine().core.engine_poll(map.id, mode), mode);
      } catch (err) {
        reject(err);
        return;
      }
      next();
    };
    // After a wait that found nothing ready with this pass's interest: poll again.
    const afterPollWait = (): void => {
      try {
        dispatch(map, getEngine().core.engine_poll(map.id, mode), mode);
      } catch (err) {
        reject(err);
        return;
      }
      next();
    };
    next();
  });
}

function idleNow(map: ChannelMap): boolean {
  if (map.policy.size > 0 || !busy(map)) return false;
  map.commitInterest(); // with no channel in policy this only re-checks new channels: no user code runs
  if (map.policy.size > 0) return false;
  const core = getEngine().core;
  if (core.engine_stat(STAT.ready) !== 0) return false; // some map's channel is ready
  const next = core.timer_next(map.id);
  return next < 0 || next > performance.now() + 1;
}

/** Dispatches the events of the last engine_poll, then the due timers, then flushes output. */
function dispatch(map: ChannelMap, n: number, mode: number): void {
  const core = getEngine().core;
  if (n < 0) throw new SocketError("EINVAL", `engine_poll returned ${n}`);
  const deferred = takeDeferred();
  if (deferred !== undefined) throw deferred; // ExitNow from an async handler
  getEngine().stamp(); // activity stamps from this pass's sends
  if (events.length < n * 2) events = new Int32Array(n * 4);
  const ev = events;
  ev.set(getEngine().int32s(core.events_ptr(), n * 2));
  const outer = beginDispatch();
  try {
    for (let i = 0; i < n; i++) {
      const obj = map.get(ev[i * 2]) as Handlers | undefined;
      if (obj === undefined) continue; // closed by an earlier handler in this pass
      const flags = ev[i * 2 + 1];
      if (mode === MODE_POLL2) readwrite(obj, flags);
      else if (flags & POLLIN) read(obj);
      else if (flags & POLLOUT) write(obj);
      else exception(obj);
    }
    if (core.timer_count(map.id) > 0) runDueTimers(map); // (its clock read costs more than this check)
  } finally {
    endDispatch(outer);
  }
}

function enter(map: ChannelMap, what: string): void {
  if (map.running) throw new Error(`${what}: ${map.running} is already running on this map (loop(), poll() and pollOnce() are not re-entrant)`);
  map.running = what;
}

/** Runs `count` passes (or while busy) with the map marked running; its wait timer goes when they end. */
async function run(map: ChannelMap, what: string, timeout: number, mode: number, count: number): Promise<void> {
  enter(map, what);
  try {
    await passes(map, timeout, mode, count, what === "loop()");
  } finally {
    map.running = null;
    releaseWait(map.id);
  }
}

/**
 * One select-style pass: waits up to `timeout` seconds for readiness, then calls every ready channel's read
 * handlers, then write handlers, then exceptional ones. Python: asyncore.poll(timeout=0.0, map=None)
 * @throws RangeError/TypeError for a bad timeout or map; Error when a loop already runs on the map.
 */
export async function poll(timeout = 0, map: ChannelMap = socketMap): Promise<void> {
  checkTimeout(timeout, "poll()");
  checkMap(map, "poll()");
  await run(map, "poll()", timeout, MODE_SELECT, 1);
}

/**
 * One poll(2)-style pass: waits up to `timeout` seconds, then per ready channel read → write → expt → close.
 * Python: asyncore.poll2(timeout=0.0, map=None)
 * @throws RangeError/TypeError for a bad timeout or map; Error when a loop already runs on the map.
 */
export async function poll2(timeout = 0, map: ChannelMap = socketMap): Promise<void> {
  checkTimeout(timeout, "poll2()");
  checkMap(map, "poll2()");
  await run(map, "poll2()", timeout, MODE_POLL2, 1);
}

/** Options of loop(). */
export interface LoopOptions {
  /** Seconds a pass waits for readiness (default 30). */
  timeout?: number;
  /** Dispatch as poll2 (per channel read → write → expt → close) instead of select. */
  usePoll?: boolean;
  /** The channel map (default socketMap). */
  map?: ChannelMap;
  /** Stop after this many passes (default: run until the map is empty). */
  count?: number | null;
}

/**
 * Runs passes until the map has no channels and no timers, or `count` passes ran. Python: asyncore.loop()
 * @throws RangeError/TypeError for bad options; Error when a loop already runs on the map. The promise rejects
 * with ExitNow, or with what readable()/writable()/handleError() threw.
 */
export async function loop({ timeout = 30, usePoll = false, map = socketMap, count }: LoopOptions = {}): Promise<void> {
  checkTimeout(timeout, "loop()");
  checkMap(map, "loop()");
  if (count !== undefined && count !== null && (typeof count !== "number" || !Number.isInteger(count) || count < 0)) {
    throw new RangeError(`loop(): count must be a non-negative integer or null, got ${describe(count)}`);
  }
  await run(map, "loop()", timeout, usePoll ? MODE_POLL2 : MODE_SELECT, count ?? Infinity);
}

/** Closes every channel in the map and empties it. Python: asyncore.close_all(map=None, ignore_all=False) */
export function closeAll({ map = socketMap, ignoreAll = false }: { map?: ChannelMap; ignoreAll?: boolean } = {}): void {
  checkMap(map, "closeAll()");
  cancelMapTimers(map);
  for (const x of [...map.values()] as { close(): void }[]) {
    try {
      x.close();
    } catch (err) {
      if (err instanceof ExitNow) throw err;
      if (err instanceof SocketError && err.code === "EBADF") continue;
      if (!ignoreAll) throw err;
    }
  }
  map.clear();
}

/**
 * One pass that never waits, for embedding in another loop: dispatches what is ready, runs due
 * timers, flushes; returns the seconds until the map's next timer, or null when it has none.
 */
export function pollOnce({ map = socketMap, usePoll = false }: { map?: ChannelMap; usePoll?: boolean } = {}): number | null {
  checkMap(map, "pollOnce()");
  enter(map, "pollOnce()");
  try {
    const mode = usePoll ? MODE_POLL2 : MODE_SELECT;
    map.commitInterest();
    dispatch(map, getEngine().core.engine_poll(map.id, mode), mode);
  } finally {
    map.running = null;
  }
  return nextTimerDelay(map);
}
