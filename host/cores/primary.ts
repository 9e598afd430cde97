// The cores helper's primary: reserves the port, starts N workers (processes or threads), collects their stats, stops them.
import { fork, type ChildProcess } from "node:child_process";
import { Worker } from "node:worker_threads";
import { fileURLToPath } from "node:url";
import { constants } from "node:os";
import { SOL_SOCKET, SO_REUSEPORT } from "../core/constants.js";
import { Socket } from "../socket/socket.js";
import { bindShared, closeShared } from "../sys/index.js";
import { isCoresMessage, type CoreMode, type CoresStats, type FromWorker, type ToWorker, type WorkerInfo, type WorkerStats } from "./protocol.js";
import { WORKER_ENV } from "./worker.js";

/** One worker as the primary sees it. */
export class CoreWorker {
  /** Its exit code (a thread's, or a process's; 128 + signal number when a signal ended it), once it ended. */
  exitCode: number | null = null;
  /** Resolves with exitCode when the worker has ended. */
  readonly exited: Promise<number>;
  #ended!: (code: number) => void;
  #listeners = new Set<(m: FromWorker, w: CoreWorker) => void>();

  /**
   * @param index The worker's number, 0..count-1 (its `ctx.index`).
   */
  constructor(readonly index: number, private readonly proc: ChildProcess | null, private readonly thread: Worker | null) {
    this.exited = new Promise((resolve) => { this.#ended = resolve; });
    const onMessage = (m: unknown): void => { if (isCoresMessage(m)) for (const fn of this.#listeners) fn(m as FromWorker, this); };
    if (proc !== null) {
      proc.on("message", onMessage);
      proc.once("exit", (code, signal) => this.#end(code ?? 128 + (signal ? signalNumber(signal) : 0)));
      proc.on("error", () => {}); // a failed send to a dying worker: its exit says the rest
    } else {
      thread!.on("message", onMessage);
      thread!.once("exit", (code) => this.#end(code));
      thread!.on("error", () => {}); // a throw in the worker's setup: reported by its "error" message, then its exit
    }
  }

  #end(code: number): void {
    this.exitCode = code;
    this.#ended(code);
  }

  /** Is it still running? */
  get alive(): boolean { return this.exitCode === null; }
  /** The worker's process id (a thread's: the primary's own). */
  get pid(): number { return this.proc?.pid ?? process.pid; }
  /** The worker thread's id; 0 for a process. */
  get threadId(): number { return this.thread?.threadId ?? 0; }

  /** @internal */
  listen(fn: (m: FromWorker, w: CoreWorker) => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  /** @internal */
  send(m: ToWorker, handle?: object): void {
    if (!this.alive) return;
    if (this.proc !== null) {
      if (this.proc.connected) this.proc.send(m, handle as never);
    } else this.thread!.postMessage(m);
  }

  /** Asks the worker to stop gracefully: SIGTERM to a process, a message to a thread (which drains). */
  terminate(): void {
    if (!this.alive) return;
    if (this.proc !== null) this.proc.kill("SIGTERM");
    else this.send({ wasyncoreCores: "drain" });
  }

  /** Ends the worker at once: SIGKILL to a process, worker.terminate() for a thread. */
  kill(): void {
    if (!this.alive) return;
    if (this.proc !== null) this.proc.kill("SIGKILL");
    else void this.thread!.terminate();
  }
}

function signalNumber(signal: string): number {
  return (constants.signals as Record<string, number>)[signal] ?? 0;
}

/** Options of the primary. */
export interface PrimaryOptions {
  mode: CoreMode;
  family: number;
  address: [string, number];
  backend: "native" | "net";
  script: string;
  drainTimeout: number;
  startTimeout: number;
  signals: boolean;
}

/** N workers serving one port; made by serveOnCores() in the primary. */
export class Cores {
  /** The served address: every worker listens on it. */
  readonly address: [string, number];
  /** Processes or threads. */
  readonly mode: CoreMode;
  /** The workers, by index (dead ones stay listed: `alive` is false). */
  readonly workers: readonly CoreWorker[];
  /** Resolves when every worker has ended. */
  readonly exited: Promise<void>;
  #drainTimeout: number;
  #stopping: Promise<void> | null = null;
  #nextId = 1;
  #unsignal: () => void = () => {};

  constructor(address: [string, number], mode: CoreMode, workers: CoreWorker[], drainTimeout: number) {
    this.address = address;
    this.mode = mode;
    this.workers = workers;
    this.#drainTimeout = drainTimeout;
    this.exited = Promise.all(workers.map((w) => w.exited)).then(() => { this.#unsignal(); });
  }

  /** @internal Stops the workers on SIGTERM/SIGINT to the primary (each drains); a second signal kills them. */
  handleSignals(): void {
    let signalled = false;
    const onSignal = (): void => {
      if (signalled) for (const w of this.workers) w.kill();
      signalled = true;
      void this.stop();
    };
    process.on("SIGTERM", onSignal);
    process.on("SIGINT", onSignal);
    this.#unsignal = () => { process.off("SIGTERM", onSignal); process.off("SIGINT", onSignal); };
  }

  /**
   * Every live worker's loopStats() (and CPU, counters), with sums. A worker that does not answer
   * within `timeout` seconds (it is ending) is left out.
   */
  async stats({ timeout = 5 }: { timeout?: number } = {}): Promise<CoresStats> {
    const id = this.#nextId++;
    const answers = await Promise.all(this.workers.filter((w) => w.alive).map((w) => new Promise<WorkerStats | null>((resolve) => {
      const timer = setTimeout(() => { off(); resolve(null); }, timeout * 1000);
      const off = w.listen((m) => {
        if (m.wasyncoreCores === "stats" && m.id === id) { clearTimeout(timer); off(); resolve(m.stats); }
      });
      void w.exited.then(() => { clearTimeout(timer); off(); resolve(null); });
      w.send({ wasyncoreCores: "stats", id });
    })));
    const workers = answers.filter((s): s is WorkerStats => s !== null);
    const sum = (k: keyof WorkerStats): number => workers.reduce((t, s) => t + (s[k] as number), 0);
    const counters: Record<string, number> = {};
    for (const s of workers) for (const [k, v] of Object.entries(s.counters)) counters[k] = (counters[k] ?? 0) + v;
    return {
      workers,
      total: {
        workers: workers.length,
        channels: sum("channels"), connected: sum("connected"), accepting: sum("accepting"),
        eventsDispatched: sum("eventsDispatched"), bytesIn: sum("bytesIn"), bytesOut: sum("bytesOut"),
        coreMemoryInUse: sum("coreMemoryInUse"),
        cpuMicros: this.mode === "process" ? sum("cpuMicros") : null,
        counters,
      },
    };
  }

  /**
   * Graceful stop: each worker stops accepting and drains (drain()), then ends; resolves when all
   * have ended. A worker still running `timeout` seconds after (default: the drain timeout + 5) is killed.
   */
  stop({ timeout }: { timeout?: number } = {}): Promise<void> {
    this.#stopping ??= (async () => {
      for (const w of this.workers) w.terminate();
      const limit = (timeout ?? this.#drainTimeout + 5) * 1000;
      const timer = setTimeout(() => { for (const w of this.workers) w.kill(); }, limit);
      await this.exited;
      clearTimeout(timer);
    })();
    return this.#stopping;
  }
}

/** Starts the workers and resolves once each one's setup has run (it listens), or rejects with the first failure. */
export async function startPrimary(count: number, opts: PrimaryOptions): Promise<Cores> {
  // Reserve the port (and learn it, when 0 was asked) while the workers start.
  let address = opts.address;
  let release: () => void;
  let handle: object | null = null;
  if (opts.backend === "native") {
    const s = new Socket(opts.family);
    s.setsockopt(SOL_SOCKET, SO_REUSEPORT, 1); // bound, never listening: no connection is queued on it
    s.bind(address);
    address = [address[0], (s.getsockname() as [string, number])[1]];
    release = () => s.close();
  } else {
    const shared = bindShared(opts.family, address);
    address = shared.address;
    handle = shared.handle;
    release = () => closeShared(shared.handle);
  }
  const workers: CoreWorker[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const info: WorkerInfo = {
        index: i, count, mode: opts.mode, address, family: opts.family, backend: opts.backend,
        shared: handle !== null, drainTimeout: opts.drainTimeout,
      };
      workers.push(opts.mode === "process"
        ? new CoreWorker(i, fork(opts.script, process.argv.slice(2), { env: { ...process.env, [WORKER_ENV]: JSON.stringify(info) } }), null)
        : new CoreWorker(i, null, new Worker(opts.script, { workerData: { wasyncoreCores: info }, argv: process.argv.slice(2) })));
    }
    await Promise.all(workers.map((w) => ready(w, handle, opts.startTimeout)));
  } catch (err) {
    for (const w of workers) w.kill();
    await Promise.all(workers.map((w) => w.exited));
    release();
    throw err;
  }
  release(); // the workers hold the port now (their own listeners, or their copies of the handle)
  const cores = new Cores(address, opts.mode, workers, opts.drainTimeout);
  if (opts.signals) cores.handleSignals();
  return cores;
}

function ready(w: CoreWorker, handle: object | null, timeoutS: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => { off(); reject(new Error(`serveOnCores(): worker ${w.index} did not start within ${timeoutS} s (does its script call serveOnCores()?)`)); }, timeoutS * 1000);
    const off = w.listen((m) => {
      if (m.wasyncoreCores === "hello" && handle !== null) w.send({ wasyncoreCores: "handle" }, handle);
      else if (m.wasyncoreCores === "ready") { clearTimeout(timer); off(); resolve(); }
      else if (m.wasyncoreCores === "error") { clearTimeout(timer); off(); reject(new Error(`serveOnCores(): worker ${w.index}'s setup failed: ${m.message}`)); }
    });
    void w.exited.then((code) => { clearTimeout(timer); off(); reject(new Error(`serveOnCores(): worker ${w.index} exited (${code}) before it was ready`)); });
  });
}

/** The script workers run: a path or file: URL; default the entry script (process.argv[1]), as node:cluster does. */
export function scriptOf(script: string | URL | undefined): string {
  if (script === undefined) {
    if (process.argv[1] === undefined) throw new TypeError("serveOnCores(): no entry script to start workers from (process.argv[1]): pass options.script");
    return process.argv[1];
  }
  if (script instanceof URL) return fileURLToPath(script);
  if (typeof script === "string" && script.length > 0) return script.startsWith("file:") ? fileURLToPath(script) : script;
  throw new TypeError(`serveOnCores(): script must be a path or a file: URL, got ${String(script)}`);
}
