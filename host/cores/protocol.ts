// The cores helper's shared types: what a worker is told, the messages between primary and workers, the stats shapes.
import type { ChannelMap } from "../asyncore/map.js";
import type { LoopStats } from "../asyncore/stats.js";
import type { BackendName } from "../sys/seam.js";

/** Processes (child_process.fork) or threads (worker_threads): each worker has its own engine and loop. */
export type CoreMode = "process" | "thread";

/** What a worker's setup gets. */
export interface CoreContext {
  /** This worker's number, 0..count-1. */
  readonly index: number;
  /** How many workers serve. */
  readonly count: number;
  /** Processes or threads. */
  readonly mode: CoreMode;
  /** The address to bind (the port the primary chose when 0 was asked); every worker binds the same. */
  readonly address: [string, number];
  /** AF_INET or AF_INET6: the family of `address`. */
  readonly family: number;
  /** The map the helper's loop runs (socketMap): put the listener and its channels here. */
  readonly map: ChannelMap;
  /** Numbers of your own (requests served, …): reported in stats() per worker and summed. */
  readonly counters: Record<string, number>;
}

/** One worker's setup: bind and listen on `ctx.address` in `ctx.map` (the helper runs the loop). */
export type CoreSetup = (ctx: CoreContext) => void | Promise<void>;

/** What the primary tells a worker (environment of a process, workerData of a thread). */
export interface WorkerInfo {
  index: number;
  count: number;
  mode: CoreMode;
  address: [string, number];
  family: number;
  backend: BackendName;
  /** net: the listening handle comes in a message (processes share the primary's handle). */
  shared: boolean;
  drainTimeout: number;
}

/** Primary → worker. */
export type ToWorker =
  | { wasyncoreCores: "handle" } // (the handle rides along: child_process's send(message, handle))
  | { wasyncoreCores: "stats"; id: number }
  | { wasyncoreCores: "drain" };

/** Worker → primary. */
export type FromWorker =
  | { wasyncoreCores: "hello" } // ready for the handle
  | { wasyncoreCores: "ready" }
  | { wasyncoreCores: "error"; message: string }
  | { wasyncoreCores: "stats"; id: number; stats: WorkerStats };

/** One worker's loopStats() with its identity, CPU and counters. */
export interface WorkerStats extends LoopStats {
  /** The worker's number (its `ctx.index`). */
  index: number;
  /** The worker's process id (a thread's is the primary's). */
  pid: number;
  /** The worker thread's id; 0 for a process. */
  threadId: number;
  /** CPU time of the worker's process in µs (user + system); null for a thread (Node has no per-thread CPU clock). */
  cpuMicros: number | null;
  /** The worker's `ctx.counters`. */
  counters: Record<string, number>;
}

/** Every live worker's stats and their sums. */
export interface CoresStats {
  /** The stats of each worker that answered, by index. */
  workers: WorkerStats[];
  /** Sums over the workers that answered. */
  total: CoresTotal;
}

/** Sums of the workers' stats. */
export interface CoresTotal {
  /** Workers that answered. */
  workers: number;
  /** Open channels (listeners included). */
  channels: number;
  /** Connected channels. */
  connected: number;
  /** Accepting channels (one listener per worker while serving). */
  accepting: number;
  /** Events the workers' loops dispatched. */
  eventsDispatched: number;
  /** Bytes received. */
  bytesIn: number;
  /** Bytes sent. */
  bytesOut: number;
  /** Core memory in use. */
  coreMemoryInUse: number;
  /** CPU time of the worker processes in µs (user + system); null for threads. */
  cpuMicros: number | null;
  /** The workers' `ctx.counters`, summed by name. */
  counters: Record<string, number>;
}

/** Is this one of the helper's messages? */
export function isCoresMessage(m: unknown): m is { wasyncoreCores: string } {
  return m !== null && typeof m === "object" && typeof (m as { wasyncoreCores?: unknown }).wasyncoreCores === "string";
}
