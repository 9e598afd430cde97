// A cores worker (process or thread): runs the user's setup, the loop, answers stats, and drains on SIGTERM or the primary's word.
import { isMainThread, parentPort, workerData, threadId } from "node:worker_threads";
import { socketMap } from "../asyncore/map.js";
import { loop } from "../asyncore/loop.js";
import { drain } from "../asyncore/drain.js";
import { configure, loopStats } from "../asyncore/stats.js";
import { offerShared, setShareBinds } from "../sys/index.js";
import { isCoresMessage, type CoreContext, type CoreSetup, type FromWorker, type WorkerInfo, type WorkerStats } from "./protocol.js";

const ENV = "WASYNCORE_CORES";

let started = false;

/** This worker's instructions when this process or thread is one of the helper's workers, else null (the primary). */
export function workerRole(): WorkerInfo | null {
  if (!isMainThread) {
    const d = workerData as { wasyncoreCores?: WorkerInfo } | null;
    return d !== null && typeof d === "object" && d.wasyncoreCores !== undefined ? d.wasyncoreCores : null;
  }
  const env = process.env[ENV];
  if (env === undefined || typeof process.send !== "function") return null;
  return JSON.parse(env) as WorkerInfo;
}

/** The environment variable a worker process is started with. */
export const WORKER_ENV = ENV;

interface Link {
  send(m: FromWorker): void;
  on(fn: (m: unknown, handle?: unknown) => void): void;
  /** Lets the worker end once its loop did: the link no longer keeps it alive. */
  close(): void;
}

function link(info: WorkerInfo): Link {
  if (info.mode === "thread") {
    const port = parentPort!;
    return { send: (m) => port.postMessage(m), on: (fn) => port.on("message", (m) => fn(m)), close: () => port.close() };
  }
  return {
    send: (m) => { if (process.connected) process.send!(m); },
    on: (fn) => process.on("message", fn),
    close: () => { if (process.connected) process.disconnect(); },
  };
}

function stats(info: WorkerInfo, ctx: CoreContext): WorkerStats {
  let cpu: number | null = null;
  if (info.mode === "process") {
    const u = process.cpuUsage();
    cpu = u.user + u.system;
  }
  return { ...loopStats({ map: ctx.map }), index: info.index, pid: process.pid, threadId, cpuMicros: cpu, counters: { ...ctx.counters } };
}

/**
 * Runs one worker: setup(ctx), then the loop on socketMap until it ends — after drain() when SIGTERM
 * or SIGINT arrives (a process), the primary says so, or the primary went away. Resolves null then.
 */
export async function runWorker(info: WorkerInfo, setup: CoreSetup): Promise<null> {
  if (started) throw new Error("serveOnCores(): already called in this worker (call it once per script)");
  started = true;
  if (info.mode === "process") delete process.env[ENV]; // not for processes this worker starts
  configure({ backend: info.backend });
  setShareBinds(true); // native: each worker its own SO_REUSEPORT listener of the port
  const ln = link(info);
  const ctx: CoreContext = {
    index: info.index, count: info.count, mode: info.mode, address: info.address, family: info.family,
    map: socketMap, counters: {},
  };
  let stopping: Promise<boolean> | null = null;
  const stop = (): void => { stopping ??= drain({ map: ctx.map, timeout: info.drainTimeout }); };
  let gotHandle: (() => void) | null = null;
  ln.on((m, handle) => {
    if (!isCoresMessage(m)) return;
    if (m.wasyncoreCores === "handle" && handle !== undefined && handle !== null) {
      offerShared(info.family, info.address, handle as object);
      gotHandle?.();
    } else if (m.wasyncoreCores === "stats") ln.send({ wasyncoreCores: "stats", id: (m as unknown as { id: number }).id, stats: stats(info, ctx) });
    else if (m.wasyncoreCores === "drain") stop();
  });
  if (info.mode === "process") {
    process.on("SIGTERM", stop);
    process.on("SIGINT", stop);
    process.on("disconnect", stop); // the primary is gone: finish what was accepted, then end
  }
  try {
    if (info.shared) {
      const handed = new Promise<void>((resolve) => { gotHandle = resolve; });
      ln.send({ wasyncoreCores: "hello" });
      await handed;
    }
    await setup(ctx);
  } catch (err) {
    ln.send({ wasyncoreCores: "error", message: err instanceof Error ? `${err.name}: ${err.message}` : String(err) });
    ln.close();
    throw err;
  }
  ln.send({ wasyncoreCores: "ready" });
  if (stopping !== null) stopping = drain({ map: ctx.map, timeout: info.drainTimeout }); // told to stop while setting up
  await loop({ map: ctx.map, timeout: 30 });
  if (stopping !== null) await stopping;
  if (info.mode === "process") {
    process.off("SIGTERM", stop);
    process.off("SIGINT", stop);
    process.off("disconnect", stop);
  }
  ln.close(); // the bytes close() still delivers keep the worker alive until they are out
  return null;
}
