// serveOnCores(): one port served by N worker processes or threads, each with its own engine and loop.
import { AF_INET, AF_INET6 } from "../core/constants.js";
import { type Address, describe } from "../core/address.js";
import { loopStats } from "../asyncore/stats.js";
import { runWorker, workerRole } from "./worker.js";
import { startPrimary, scriptOf, Cores, CoreWorker } from "./primary.js";
import type { CoreMode, CoreSetup } from "./protocol.js";

export { Cores, CoreWorker };
export type { CoreMode, CoreSetup, CoreContext, WorkerStats, CoresStats, CoresTotal } from "./protocol.js";

/** Options of serveOnCores(). */
export interface ServeOnCoresOptions {
  /** 'process' (default: child_process.fork of the script) or 'thread' (worker_threads; the native backend only). */
  mode?: CoreMode;
  /** Where every worker listens (default ['127.0.0.1', 0]: the primary picks one free port for all). */
  address?: Address;
  /** AF_INET or AF_INET6 (default: AF_INET6 when the host has a ':'). */
  family?: number;
  /** The script each worker runs (default the entry script, process.argv[1]); it must call serveOnCores() the same way. */
  script?: string | URL;
  /** Seconds a stopping worker's drain() waits for its connections before closing them (default 30). */
  drainTimeout?: number;
  /** Seconds the primary waits for each worker's setup (default 30). */
  startTimeout?: number;
  /** Does SIGTERM/SIGINT to the primary stop the workers gracefully (default true)? */
  signals?: boolean;
}

const MODES = new Set(["process", "thread"]);
const OPTIONS = new Set(["mode", "address", "family", "script", "drainTimeout", "startTimeout", "signals"]);

function seconds(v: unknown, name: string, dflt: number): number {
  if (v === undefined) return dflt;
  if (typeof v !== "number" || Number.isNaN(v) || v < 0) throw new RangeError(`serveOnCores(): ${name} must be a number of seconds >= 0, got ${describe(v)}`);
  return v;
}

/**
 * Serves one port on `count` workers, each with its own engine and loop (the multi-core recipe).
 *
 * Call it the same way in one script: in the primary (the process you start) it starts `count`
 * workers running that script and resolves, once each has run `setup` and listens, to a `Cores`
 * (`address`, `workers`, `stats()`, `stop()`, `exited`). In a worker it runs `setup(ctx)` — bind
 * `ctx.address` and listen in `ctx.map` — then the loop, and resolves null when the worker stops.
 *
 * The port is shared the kernel's way on native (each worker its own `SO_REUSEPORT` listener) and
 * by handle passing on net (the primary binds one handle and sends it to each worker process; net
 * cannot share a handle between threads, so threads need native). SIGTERM or SIGINT to the
 * primary — or `stop()` — makes every worker `drain()`: stop accepting, deliver what was accepted,
 * end; a second signal kills them. A worker that dies leaves the others serving (they are not restarted).
 */
export async function serveOnCores(count: number, setup: CoreSetup, options: ServeOnCoresOptions = {}): Promise<Cores | null> {
  if (typeof setup !== "function") throw new TypeError(`serveOnCores(): setup must be a function (ctx) => void, got ${describe(setup)}`);
  const role = workerRole();
  if (role !== null) return runWorker(role, setup);
  if (typeof count !== "number" || !Number.isInteger(count) || count < 1 || count > 1024) {
    throw new RangeError(`serveOnCores(): count must be an integer in 1..1024, got ${describe(count)}`);
  }
  if (typeof options !== "object" || options === null) throw new TypeError(`serveOnCores(): options must be an object, got ${describe(options)}`);
  for (const key of Object.keys(options)) {
    if (!OPTIONS.has(key)) throw new TypeError(`serveOnCores(): unknown option ${JSON.stringify(key)} (known: ${[...OPTIONS].join(", ")})`);
  }
  const mode = options.mode ?? "process";
  if (!MODES.has(mode)) throw new RangeError(`serveOnCores(): mode must be 'process' or 'thread', got ${describe(mode)}`);
  const address = options.address ?? ["127.0.0.1", 0];
  if (!Array.isArray(address) || typeof address[0] !== "string" || typeof address[1] !== "number") {
    throw new TypeError(`serveOnCores(): address must be a [host, port] array, got ${describe(address)}`);
  }
  const family = options.family ?? (address[0].includes(":") ? AF_INET6 : AF_INET);
  if (family !== AF_INET && family !== AF_INET6) throw new RangeError(`serveOnCores(): family must be AF_INET or AF_INET6, got ${describe(family)}`);
  const backend = loopStats().backend;
  if (mode === "thread" && backend === "net") {
    throw new Error(`serveOnCores(): threads need the native backend: on the net backend Node ${process.versions.node} cannot share a listening socket between threads (use mode: 'process', or the native backend)`);
  }
  const signals = options.signals ?? true;
  if (typeof signals !== "boolean") throw new TypeError(`serveOnCores(): signals must be a boolean, got ${describe(signals)}`);
  return startPrimary(count, {
    mode, family, backend, signals,
    address: [address[0], address[1]],
    script: scriptOf(options.script),
    drainTimeout: seconds(options.drainTimeout, "drainTimeout", 30),
    startTimeout: seconds(options.startTimeout, "startTimeout", 30),
  });
}
