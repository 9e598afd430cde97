// ChannelMap: asyncore's socket_map. Entries live in JS; which map each channel belongs to,
// and which channels are ready, live in the core.
import { getEngine } from "../core/engine.js";
import { FIELD, R, W } from "../core/abi.js";
import { notifyReady, wakeMap } from "../core/wake.js";
import { schedule, logTimerError, type TimerHandle, type TimerCallback } from "./timers.js";
import { InterestTable } from "./interest.js";

/** @internal What a map entry may be: a dispatcher, or any object (CPython tests put dummies in maps). */
export interface MapEntry {
  readable?(): boolean;
  writable?(): boolean;
  /** Interest bits the entry can state without user code (classes whose writability the library tracks). */
  knownInterest?(): number;
  socket?: { fileno(): number } | null;
}

/** @internal readable()/writable() implementations the core already knows the answer of. */
export const defaultInterest = new Set<unknown>();

let nextMapId = 1;

/** A map of channels keyed by fileno. Python: asyncore.socket_map (a dict) */
export class ChannelMap<V = any> implements Iterable<[number, V]> { // eslint-disable-line @typescript-eslint/no-explicit-any
  /** @internal The map's id in the core. */
  readonly id = nextMapId++;
  private readonly items = new Map<number, V>();
  /** @internal Channels whose readable()/writable() must be asked each pass (dense arrays: see interest.ts). */
  readonly policy = new InterestTable();
  /** @internal Set while loop()/poll() runs on this map. */
  running: string | null = null;
  /** Channels registered with default interest since the last pass: checked again once, at the next pass. */
  private fresh: number[] = [];

  /** The number of channels in the map. */
  get size(): number { return this.items.size; }
  /** The channel whose fileno() is `fd`, or undefined. */
  get(fd: number): V | undefined { return this.items.get(fd); }
  /** Is there a channel with fileno() `fd`? */
  has(fd: number): boolean { return this.items.has(fd); }
  /** The channels' filenos. */
  keys(): IterableIterator<number> { return this.items.keys(); }
  /** The channels. */
  values(): IterableIterator<V> { return this.items.values(); }
  /** `[fd, channel]` pairs. */
  entries(): IterableIterator<[number, V]> { return this.items.entries(); }
  /** `[fd, channel]` pairs, as entries(). */
  [Symbol.iterator](): IterableIterator<[number, V]> { return this.items.entries(); }
  /** Calls `fn(channel, fd, map)` for each channel. */
  forEach(fn: (value: V, fd: number, map: ChannelMap<V>) => void): void {
    for (const [k, v] of this.items) fn(v, k, this);
  }

  /** Adds or replaces the entry for `fd`. A dispatcher's channel joins this map in the core. */
  set(fd: number, obj: V): this {
    const prev = this.items.get(fd);
    if (prev !== undefined && prev !== obj) this.forget(fd);
    this.items.set(fd, obj);
    const entry = obj as unknown as MapEntry;
    if (entry && typeof entry === "object" && entry.socket && entry.socket.fileno() === fd) {
      const e = getEngine();
      if (e.setField(fd, FIELD.map, this.id)) {
        if (hasCustomInterest(entry)) this.policy.set(fd, entry);
        else {
          e.setField(fd, FIELD.interest, entry.knownInterest ? entry.knownInterest() : R | W);
          this.fresh.push(fd);
          if (this.fresh.length > 2 * this.items.size + 64) this.fresh = this.fresh.filter((f) => this.items.has(f)); // a map no pass runs on
        }
        notifyReady(fd);
      }
    }
    return this;
  }

  /** Removes the entry for `fd`; its channel leaves the map in the core. */
  delete(fd: number): boolean {
    if (!this.items.has(fd)) return false;
    this.forget(fd);
    this.items.delete(fd);
    if (this.items.size === 0) wakeMap(this.id); // a waiting loop() ends now, not at its timeout
    return true;
  }

  /** Removes every entry (closes nothing). */
  clear(): void {
    for (const fd of [...this.items.keys()]) this.forget(fd);
    this.items.clear();
    wakeMap(this.id); // a waiting loop() ends now, not at its timeout
  }

  private forget(fd: number): void {
    this.policy.delete(fd);
    const e = getEngine();
    if (e.field(fd, FIELD.map) === this.id) e.setField(fd, FIELD.map, 0);
  }

  /** Runs `fn(...args)` once, `seconds` from now, on this map's loop. (pyftpdlib: IOLoop.call_later) */
  callLater(seconds: number, fn: TimerCallback, ...args: unknown[]): TimerHandle {
    return schedule(this, seconds, fn, args, false);
  }

  /** Runs `fn(...args)` every `seconds` on this map's loop. (pyftpdlib: IOLoop.call_every) */
  callEvery(seconds: number, fn: TimerCallback, ...args: unknown[]): TimerHandle {
    return schedule(this, seconds, fn, args, true);
  }

  /** Called when a timer of this map throws (ExitNow excepted); default logs a compact trace. Override or assign. */
  handleTimerError(err: unknown, timer: TimerHandle): void {
    logTimerError(err, timer);
  }

  /** @internal Asks readable()/writable() of the channels that override them and hands the changed answers to the core. */
  commitInterest(): void {
    if (this.fresh.length > 0) this.recheckFresh();
    if (this.policy.size === 0) return;
    this.policy.commit();
  }

  // readable()/writable() set on the instance (or as class fields, which run after the base constructor
  // registered the channel) are only visible at the next pass.
  private recheckFresh(): void {
    for (const fd of this.fresh) {
      const entry = this.items.get(fd) as MapEntry | undefined;
      if (entry !== undefined && !this.policy.has(fd) && hasCustomInterest(entry)) this.policy.set(fd, entry);
    }
    this.fresh.length = 0;
  }
}

/** Does the entry answer readable()/writable() with its own code (the core must ask it each pass)? */
function hasCustomInterest(entry: MapEntry): boolean {
  return !defaultInterest.has(entry.readable) || !defaultInterest.has(entry.writable);
}

/** The default channel map. Python: asyncore.socket_map */
export const socketMap = new ChannelMap();

/** Runs `fn(...args)` once, `seconds` from now, on socketMap's loop. (pyftpdlib: IOLoop.call_later) */
export function callLater(seconds: number, fn: TimerCallback, ...args: unknown[]): TimerHandle {
  return schedule(socketMap, seconds, fn, args, false);
}

/** Runs `fn(...args)` every `seconds` on socketMap's loop. (pyftpdlib: IOLoop.call_every) */
export function callEvery(seconds: number, fn: TimerCallback, ...args: unknown[]): TimerHandle {
  return schedule(socketMap, seconds, fn, args, true);
}
