// WasmServer: one server module in a process of its own (child.ts, forked), with a V8 heap limit,
// the module's memory cap, socket budgets and a watchdog on every pass. Whatever the module does —
// trap, loop forever, exhaust its heap, crash inside V8 — ends that process only; this side reports
// it as a WasmServerError naming the module.
import { fork, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { fileURLToPath } from "node:url";
import { WasmServerError } from "./instance.js";
import { parseEndpoint, type Endpoint } from "./grants.js";
import type { SocketStats } from "./sockets.js";
import type { DatagramStats } from "./datagrams.js";
import { DEFAULT_LIMITS, DEFAULT_SOCKET_LIMITS, type SocketLimits } from "./limits.js";
import type { StartMessage } from "./child.js";
import { loadTls, freeLoopbackPort, TlsFront, type TlsListen } from "./tls.js";

export { WasmServerError };


/** Options of WasmServer.start(). */
export interface ServerOptions {
  /** Addresses the module may listen on ("HOST:PORT"; port 0 grants ephemeral ports). */
  listen?: readonly string[];
  /**
   * TLS listeners: the runner serves TLS on each `listen` address with `cert`/`key` (read here, never
   * given to the module) and relays plaintext to the module, which listens on a loopback port the
   * runner grants and appends to its `--listen` arguments.
   */
  listenTls?: readonly TlsListen[];
  /** Addresses the module may connect to ("HOST:PORT"). */
  allowConnect?: readonly string[];
  /** Addresses the module may bind datagram sockets to ("HOST:PORT"; port 0 grants ephemeral ports). */
  listenUdp?: readonly string[];
  /**
   * Addresses the module may send datagrams to ("HOST:PORT"). A socket bound under `listenUdp` may
   * also reply to whoever sent it a datagram recently (see the README's reply rule).
   */
  allowUdp?: readonly string[];
  /** Extra arguments after the grants in the module's argv. */
  args?: readonly string[];
  /** The module's name in errors and logs (default: the file's base name). */
  name?: string;
  /** Cap on the module's linear memory in MiB (default 256). */
  memoryMb?: number;
  /** Wall-time budget of one pass (and of main()) in milliseconds (default 200). */
  cpuMs?: number;
  /** V8 heap limit of the module's process in MiB (default 64). */
  heapMb?: number;
  /** Socket budgets (descriptors, bytes, backlog, ...); see DEFAULT_SOCKET_LIMITS. */
  limits?: Partial<SocketLimits>;
  /** OS descriptors for the module's stdout and stderr (default 1 and 2). */
  stdout?: number;
  /** See stdout. */
  stderr?: number;
}

/** What a module holds now: its process, memory and sockets. */
export interface ModuleStats {
  /** The module's process id. */
  pid: number;
  /** The process's resident set size (bytes). */
  rss: number;
  /** The process's V8 heap in use (bytes). */
  heapUsed: number;
  /** Memory outside the V8 heap held by JS objects (bytes; Node's process.memoryUsage().external). */
  external: number;
  /** Loop passes the module ran. */
  passes: number;
  /** The module's linear memory (bytes). */
  memoryBytes: number;
  /** What the module's sockets hold now. */
  sockets: SocketStats;
  /** What the module's datagram sockets hold and did. */
  datagrams: DatagramStats;
}

function childPath(): string {
  const here = import.meta.url;
  // under a TypeScript runner (tests) this file is the source: the child runs from the build
  return fileURLToPath(here.endsWith(".ts") ? new URL("../../build/host/sandbox/child.js", here) : new URL("./child.js", here));
}

function checkInt(what: string, v: unknown, lo: number, hi: number): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < lo || v > hi) throw new RangeError(`${what} must be an integer in ${lo}..${hi}, got ${String(v)}`);
  return v;
}

/** One running server module (in its own process). */
export class WasmServer {
  /** The module's name. */
  readonly name: string;
  /** Resolves when the module ends: null when it finished or was stopped, the error when it failed. */
  readonly done: Promise<WasmServerError | null>;
  /** The error that stopped the module, if any. */
  error: WasmServerError | null = null;
  /** Addresses the module listens on (known once start() resolved). */
  listening: Endpoint[] = [];
  /** Addresses the module's datagram sockets are bound to under `listenUdp` (known once start() resolved). */
  listeningUdp: Endpoint[] = [];
  /** Addresses the runner serves TLS on for the module (--listen-tls). */
  listeningTls: Endpoint[] = [];
  private fronts: TlsFront[] = [];
  /** Connect and listen attempts the grants refused. */
  readonly denied: string[] = [];
  private finish!: (err: WasmServerError | null) => void;
  private stopped = false;
  private endMessage: string | null | undefined = undefined;
  private watchdog = "";
  private statsWaiters = new Map<number, (s: ModuleStats) => void>();
  private nextId = 1;

  private constructor(name: string, private readonly child: ChildProcess, private readonly cpuMs: number) {
    this.name = name;
    this.done = new Promise((resolve) => { this.finish = resolve; });
  }

  /** The module's process id. */
  get pid(): number { return this.child.pid ?? -1; }

  /** Is the module still serving? */
  get alive(): boolean { return !this.stopped; }

  /** Loads a module (path or bytes) in a new process, runs its main() and resolves once it serves. */
  static async start(wasm: string | Uint8Array, options: ServerOptions = {}): Promise<WasmServer> {
    const bytes = typeof wasm === "string" ? readFileSync(wasm) : wasm;
    const name = options.name ?? (typeof wasm === "string" ? basename(wasm) : "module.wasm");
    const memoryMb = checkInt("memoryMb", options.memoryMb ?? DEFAULT_LIMITS.memoryMb, 1, 4096);
    const cpuMs = checkInt("cpuMs", options.cpuMs ?? DEFAULT_LIMITS.cpuMs, 1, 3_600_000);
    const heapMb = checkInt("heapMb", options.heapMb ?? DEFAULT_LIMITS.heapMb, 16, 16384);
    for (const [k, v] of Object.entries(options.limits ?? {})) checkInt(`limits.${k}`, v, k === "lingerMs" ? 0 : 1, 2 ** 40);
    for (const k of Object.keys(options.limits ?? {})) if (!(k in DEFAULT_SOCKET_LIMITS)) throw new TypeError(`limits.${k} is not a known limit`);
    const listen = [...(options.listen ?? [])];
    const allowConnect = [...(options.allowConnect ?? [])];
    listen.forEach((t) => parseEndpoint(t, "listen grant"));
    const tlsSetups = (options.listenTls ?? []).map((t, i) => loadTls(t, `listenTls[${i}]`));
    const backends: number[] = [];
    for (let i = 0; i < tlsSetups.length; i++) backends.push(await freeLoopbackPort());
    for (const p of backends) listen.push(`127.0.0.1:${p}`); // the module's plaintext side of each TLS listener
    allowConnect.forEach((t) => parseEndpoint(t, "allow-connect grant"));
    const listenUdp = [...(options.listenUdp ?? [])];
    const allowUdp = [...(options.allowUdp ?? [])];
    listenUdp.forEach((t) => parseEndpoint(t, "listen-udp grant"));
    allowUdp.forEach((t) => parseEndpoint(t, "allow-udp grant"));
    const argv = [name];
    for (const g of listen) argv.push("--listen", g);
    for (const g of allowConnect) argv.push("--allow-connect", g);
    for (const g of listenUdp) argv.push("--listen-udp", g);
    for (const g of allowUdp) argv.push("--allow-udp", g);
    argv.push(...(options.args ?? []));
    const child = fork(childPath(), [], {
      execArgv: [`--max-old-space-size=${heapMb}`, "--max-semi-space-size=4"],
      stdio: ["ignore", options.stdout ?? "inherit", options.stderr ?? "inherit", "ipc", "pipe"],
      serialization: "advanced",
    });
    const server = new WasmServer(name, child, cpuMs);
    const msg: StartMessage = {
      type: "start", bytes: new Uint8Array(bytes), cpuMs,
      opts: { name, argv, listen, allowConnect, listenUdp, allowUdp, memoryMb, limits: options.limits, stdout: 1, stderr: 2 },
    };
    const ready = new Promise<void>((resolve, reject) => {
      child.on("message", (m: { type: string; [k: string]: unknown }) => {
        if (m.type === "ready") {
          server.listening = m.listening as Endpoint[];
          server.listeningUdp = (m.listeningUdp as Endpoint[] | undefined) ?? [];
          server.denied.push(...(m.denied as string[]));
          resolve();
        } else if (m.type === "failed") {
          server.endMessage = m.message as string;
          reject(new WasmServerError(name, String(m.message).replace(/^wasyncore: module .*? stopped: /, "")));
        } else server.onMessage(m);
      });
      void server.done.then((err) => reject(err ?? new WasmServerError(name, "ended before it served")));
    });
    child.stdio[4]?.on("data", (d: Buffer) => { server.watchdog += d.toString(); });
    child.on("error", () => {});
    child.on("exit", (code, signal) => server.onExit(code, signal));
    child.send(msg);
    await ready;
    if (tlsSetups.length > 0) await server.startTls(tlsSetups.map((t, i) => new TlsFront(t, backends[i])));
    return server;
  }

  /** Serves the module's TLS listeners; the module is stopped if one cannot listen. */
  private async startTls(fronts: TlsFront[]): Promise<void> {
    const backend = new Set(fronts.map((f) => f.backendPort));
    this.listening = this.listening.filter((a) => !(a.host === "127.0.0.1" && backend.has(a.port)));
    this.fronts = fronts;
    void this.done.then(() => { for (const f of fronts) f.close(); });
    try {
      for (const f of fronts) {
        await f.listen();
        this.listeningTls.push(f.address!);
      }
    } catch (err) {
      this.close();
      await this.done;
      throw new WasmServerError(this.name, (err as Error).message);
    }
  }

  private onMessage(m: { type: string; [k: string]: unknown }): void {
    if (m.type === "denied") this.denied.push(m.text as string);
    else if (m.type === "ended") this.endMessage = m.message as string | null;
    else if (m.type === "stats") {
      const w = this.statsWaiters.get(m.id as number);
      this.statsWaiters.delete(m.id as number);
      w?.({ pid: this.pid, ...(m as unknown as Omit<ModuleStats, "pid">) });
    }
  }

  private onExit(code: number | null, signal: NodeJS.Signals | null): void {
    if (this.stopped) return;
    this.stopped = true;
    let err: WasmServerError | null = null;
    if (this.watchdog.startsWith("cpu")) {
      const ms = Number(this.watchdog.slice(4)) || this.cpuMs;
      err = new WasmServerError(this.name, `a pass ran for ${ms} ms, over its budget of ${this.cpuMs} ms (--cpu-ms): killed`);
    } else if (this.endMessage !== undefined) {
      err = this.endMessage === null ? null : new WasmServerError(this.name, this.endMessage.replace(/^wasyncore: module .*? stopped: /, ""));
    } else if (!this.closing) {
      const why = signal === "SIGABRT" || code === 134 ? " (out of memory in its V8 heap, or an abort)" : "";
      err = new WasmServerError(this.name, `its process died (${signal ? `signal ${signal}` : `exit code ${code}`})${why}`);
    }
    this.error = err;
    for (const w of this.statsWaiters.values()) w({ pid: this.pid, rss: 0, heapUsed: 0, external: 0, passes: -1, memoryBytes: 0, sockets: { fds: 0, lingering: 0, pending: 0, sendQueued: 0, recvBuffered: 0, refused: 0 }, datagrams: { sockets: 0, queued: 0, queuedBytes: 0, sendQueued: 0, dropped: 0, sent: 0, received: 0, denied: 0 } });
    this.statsWaiters.clear();
    this.finish(err);
  }

  private closing = false;

  /** Memory and sockets in use by the module now (its process's RSS included). */
  stats(): Promise<ModuleStats> {
    if (this.stopped) return Promise.reject(new WasmServerError(this.name, `not running${this.error ? ` (${this.error.message})` : ""}`));
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.statsWaiters.set(id, resolve);
      this.child.send({ type: "stats", id });
    });
  }

  /**
   * Stops gracefully: the module's listeners close at once; its open connections go on until they
   * close or `timeoutMs` passes. Resolves when the module stopped.
   */
  drain(timeoutMs = 5000): Promise<WasmServerError | null> {
    for (const f of this.fronts) f.stopAccepting();
    if (!this.stopped) {
      this.closing = true;
      this.child.send({ type: "drain", timeoutMs });
      setTimeout(() => this.kill(), timeoutMs + 5000).unref();
    }
    return this.done;
  }

  /** Stops the module at once and closes its sockets (its process ends). */
  close(): void {
    for (const f of this.fronts) f.close();
    if (this.stopped || this.closing) {
      if (this.closing && !this.stopped) this.kill();
      return;
    }
    this.closing = true;
    if (this.child.connected) this.child.send({ type: "stop" });
    setTimeout(() => this.kill(), 2000).unref();
  }

  private kill(): void {
    if (!this.stopped) this.child.kill("SIGKILL");
  }
}
