// One server module inside the current process: validated (check.ts), given a capped memory, the
// WASI shim (wasi.ts) and its socket namespace (sockets.ts), then driven pass by pass. child.ts
// runs one of these per process; WasmServer (server.ts) is the parent's handle on that process.
//
// WebAssembly cannot block here, so the host drives: every socket event schedules one pass
// (coalesced per macrotask); a pass that reports more work schedules the next.
// A trap (abort, out-of-bounds access, failed memory growth, proc_exit) stops the module with a
// WasmServerError naming it, and every socket it had is destroyed.
import { Grants } from "./grants.js";
import type { SocketStats } from "./sockets.js";
import { ModuleSockets, type DatagramStats } from "./datagrams.js";
import type { SocketLimits } from "./limits.js";
import { WasiShim, ProcExit } from "./wasi.js";
import { checkModule, ModuleRefused } from "./check.js";
import { ABI_VERSIONS } from "./abi.js";
import { PassTimer } from "./pass-timer.js";

/** A server module refused at load, or stopped by a trap, an exit, its budget or a failed listen. */
export class WasmServerError extends Error {
  /** The module's name. */
  readonly module: string;
  constructor(module: string, message: string, options?: { cause?: unknown }) {
    super(`wasyncore: module ${module} stopped: ${message}`, options);
    this.name = "WasmServerError";
    this.module = module;
  }
}

/** What one module is given: its name, argv, grants, memory cap and socket budgets. */
export interface InstanceOptions {
  name: string;
  argv: readonly string[];
  listen: readonly string[];
  allowConnect: readonly string[];
  /** Addresses the module may bind datagram sockets to. */
  listenUdp?: readonly string[];
  /** Addresses the module may send datagrams to. */
  allowUdp?: readonly string[];
  memoryMb: number;
  limits?: Partial<SocketLimits>;
  stdout?: number;
  stderr?: number;
  /** Called around every pass (and around main()): the watchdog's clock. */
  onPass?: (running: boolean) => void;
}

/** Reads an AssemblyScript string (UTF-16, byte length at ptr - 4), at most 512 characters. */
function asString(mem: WebAssembly.Memory, ptr: number): string {
  ptr >>>= 0;
  if (ptr < 4 || ptr + 2 > mem.buffer.byteLength) return "";
  const bytes = new DataView(mem.buffer).getUint32((ptr - 4) & ~3, true);
  const len = Math.min(bytes >>> 1, 512, (mem.buffer.byteLength - ptr) >>> 1);
  const chars = new Uint16Array(mem.buffer.slice(ptr, ptr + len * 2));
  return String.fromCharCode(...chars);
}

class Trap extends Error {}

function describeTrap(err: unknown): string {
  if (err instanceof Trap || err instanceof ProcExit) return err.message;
  if (err instanceof WebAssembly.RuntimeError) return `trap: ${err.message}`;
  if (err instanceof RangeError && /Maximum call stack/.test(err.message)) return "trap: call stack exhausted";
  if (err instanceof Error) return `${err.name}: ${err.message}`;
  return String(err);
}

interface ServerExports {
  server_pass(): number;
  server_passes(): number;
  server_timeout?: () => number; // ABI v2: ms until the module's next timer
}

/** One running module in this process. */
export class ModuleInstance {
  readonly name: string;
  /** Resolves when the module ends: null when it finished cleanly, else the error that stopped it. */
  readonly done: Promise<WasmServerError | null>;
  error: WasmServerError | null = null;
  private readonly sockets: ModuleSockets;
  private readonly shim: WasiShim;
  private memory!: WebAssembly.Memory;
  private exports!: ServerExports;
  private scheduled = false;
  private hostPasses = 0;
  private running = false;
  private stopped = false;
  private finish!: (err: WasmServerError | null) => void;
  private timer: PassTimer | null = null;
  private readonly onPass: (running: boolean) => void;

  /** Validates, instantiates and runs main(); throws WasmServerError when refused or when main() traps. */
  constructor(bytes: Uint8Array, private readonly opts: InstanceOptions) {
    this.name = opts.name;
    this.done = new Promise((resolve) => { this.finish = resolve; });
    this.onPass = opts.onPass ?? (() => {});
    const grants = new Grants(opts.listen, opts.allowConnect, opts.listenUdp, opts.allowUdp);
    this.sockets = new ModuleSockets(grants, () => this.memory, () => this.schedule(), opts.limits);
    this.shim = new WasiShim(() => this.memory, { name: opts.name, args: opts.argv, stdout: opts.stdout, stderr: opts.stderr });
    let shape;
    try {
      shape = checkModule(bytes, opts.memoryMb);
    } catch (err) {
      if (err instanceof ModuleRefused) throw new WasmServerError(this.name, `refused at load: ${err.message}`);
      throw err;
    }
    const cap = opts.memoryMb * 16;
    const maximum = shape.memory.max === null ? cap : Math.min(cap, shape.memory.max);
    this.memory = new WebAssembly.Memory({ initial: shape.memory.min, maximum });
    const module = new WebAssembly.Module(bytes as Uint8Array<ArrayBuffer>);
    const env = {
      memory: this.memory,
      abort: (msg: number, file: number, line: number, col: number): never => {
        const where = asString(this.memory, file);
        throw new Trap(`abort: ${asString(this.memory, msg) || "(no message)"}${where ? ` at ${where}:${line}:${col}` : ""}`);
      },
    };
    const imports: WebAssembly.Imports = { env, wasi_snapshot_preview1: this.shim.imports() };
    if (shape.abi) imports[shape.abi] = this.sockets.imports();
    for (const v of Object.keys(ABI_VERSIONS)) imports[v] ??= {};
    this.onPass(true);
    try {
      const instance = new WebAssembly.Instance(module, imports);
      this.exports = instance.exports as unknown as ServerExports;
      this.timer = new PassTimer(this.exports, () => this.schedule());
      const init = instance.exports._initialize;
      if (typeof init === "function") init(); // top-level code: serve(main) → main()
    } catch (err) {
      this.onPass(false);
      this.stop(err);
      throw this.error;
    }
    this.onPass(false);
    this.schedule();
  }

  /** Addresses the module listens on. */
  get listening(): { host: string; port: number }[] { return this.sockets.listening(); }
  /** Addresses the module's datagram sockets are bound to under --listen-udp. */
  get listeningUdp(): { host: string; port: number }[] { return this.sockets.listeningUdp(); }
  /** Connect and listen attempts the grants refused. */
  get denied(): readonly string[] { return this.sockets.denied; }
  /** Listen attempts that failed, with the reason. */
  get listenFailures(): readonly string[] { return this.sockets.listenFailures; }
  /** Is the module still serving? */
  get alive(): boolean { return !this.stopped; }
  /** Passes run so far (-1 once stopped). */
  get passes(): number {
    if (this.stopped) return -1;
    return typeof this.exports.server_passes === "function" ? Number(this.exports.server_passes()) : this.hostPasses;
  }

  /** Memory and sockets in use now. */
  stats(): { passes: number; memoryBytes: number; sockets: SocketStats; datagrams: DatagramStats } {
    return { passes: this.passes, memoryBytes: this.memory.buffer.byteLength, sockets: this.sockets.stats(), datagrams: this.sockets.datagramStats() };
  }

  private schedule(): void {
    if (this.scheduled || this.stopped) return;
    this.scheduled = true;
    setImmediate(() => this.runPass());
  }

  private runPass(): void {
    this.scheduled = false;
    if (this.stopped || this.running) return;
    this.running = true;
    let r: number;
    this.onPass(true);
    this.hostPasses++;
    try {
      r = this.exports.server_pass();
    } catch (err) {
      this.onPass(false);
      this.running = false;
      this.stop(err);
      return;
    }
    this.onPass(false);
    this.running = false;
    if (r < 0) this.end(this.failedListen());
    else if (r > 0) this.schedule();
    else {
      // server_timeout() is the module's code too: under the watchdog, and a trap stops it
      this.onPass(true);
      try {
        this.timer?.afterIdlePass();
      } catch (err) {
        this.stop(err);
      } finally {
        this.onPass(false);
      }
    }
  }

  /** The module ended by itself: an error when it never listened and a listen failed. */
  private failedListen(): WasmServerError | null {
    const f = this.sockets.listenFailures;
    return f.length && !this.sockets.listened ? new WasmServerError(this.name, `could not ${f.join("; ")}`) : null;
  }

  /** Stops the module with an error made from `err` (a trap, an exit, the watchdog). */
  stop(err: unknown): void {
    if (this.stopped) return;
    if (err instanceof ProcExit && err.code === 0) { this.end(this.failedListen()); return; }
    this.end(err instanceof WasmServerError ? err : new WasmServerError(this.name, describeTrap(err), { cause: err }));
  }

  private end(err: WasmServerError | null): void {
    if (this.stopped) return;
    this.stopped = true;
    this.error = err;
    this.timer?.clear();
    this.sockets.closeAll();
    this.shim.flush();
    this.finish(err);
  }

  /**
   * Stops gracefully: no new connections; the module's open connections go on until they close or
   * `timeoutMs` passes, then the module stops. Resolves when it stopped.
   */
  drain(timeoutMs: number): Promise<WasmServerError | null> {
    if (this.stopped) return this.done;
    this.sockets.stopAccepting();
    const until = Date.now() + timeoutMs;
    const check = (): void => {
      if (this.stopped) return;
      if (this.sockets.streams() === 0 || Date.now() >= until) this.close();
      else setTimeout(check, 20).unref();
    };
    check();
    return this.done;
  }

  /** Stops the module and destroys its sockets. */
  close(): void {
    this.end(null);
  }
}
