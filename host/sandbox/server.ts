// Runs one server module under Node: loads it with node:wasi (stdout, clock, args) and the
// wasyncore_sock_v1 namespace (sockets, checked against its grants), then drives its passes.
//
// WebAssembly cannot block here, so the host drives: every socket event schedules one pass
// (coalesced per macrotask); a pass that reports more work schedules the next.
// Containment: a trap (abort, out-of-bounds access, failed memory growth, an exit) stops the
// module with a WasmServerError naming it; its sockets are closed; other modules go on.
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { WASI } from "node:wasi";
import { Grants } from "./grants.js";
import { SocketTable } from "./sockets.js";
import { SOCK_NAMESPACE } from "./abi.js";
import { PassTimer } from "./pass-timer.js";

/** Options of WasmServer.start(). */
export interface ServerOptions {
  /** Addresses the module may listen on ("HOST:PORT"; port 0 grants an ephemeral port). */
  listen?: readonly string[];
  /** Addresses the module may connect to ("HOST:PORT"). */
  allowConnect?: readonly string[];
  /** Extra arguments after the grants in the module's argv. */
  args?: readonly string[];
  /** The module's name in errors and logs (default: the file's base name). */
  name?: string;
  /** Cap on the module's linear memory in MiB (default 256). */
  memoryMb?: number;
  /** OS descriptors for the module's stdout and stderr (default 1 and 2). */
  stdout?: number;
  stderr?: number;
}

/** A server module stopped by a trap or an exit. */
export class WasmServerError extends Error {
  /** The module's name. */
  readonly module: string;
  constructor(module: string, message: string, options?: { cause?: unknown }) {
    super(`wasyncore: module ${module} stopped: ${message}`, options);
    this.name = "WasmServerError";
    this.module = module;
  }
}

interface ServerExports {
  memory: WebAssembly.Memory;
  server_pass(): number;
  server_passes(): number;
  server_timeout?: () => number; // ABI v2
}

/** Reads an AssemblyScript string (UTF-16, byte length at ptr - 4). */
function asString(mem: WebAssembly.Memory, ptr: number): string {
  if (!ptr || ptr < 4 || ptr > mem.buffer.byteLength) return "";
  const bytes = new Uint32Array(mem.buffer, (ptr - 4) & ~3, 1)[0];
  const len = Math.min(bytes >>> 1, 512, (mem.buffer.byteLength - ptr) >>> 1);
  return String.fromCharCode(...new Uint16Array(mem.buffer, ptr, len));
}

class Trap extends Error {}

function describeTrap(err: unknown): string {
  if (err instanceof Trap) return err.message;
  if (err instanceof WebAssembly.RuntimeError) return `trap: ${err.message}`;
  if (typeof err === "symbol") return "the module exited (proc_exit)";
  if (err instanceof Error) return `${err.name}: ${err.message}`;
  return String(err);
}

/** One running server module. */
export class WasmServer {
  /** The module's name. */
  readonly name: string;
  /** Resolves when the module ends: null when its last socket closed, the error when it trapped. */
  readonly done: Promise<WasmServerError | null>;
  /** The error that stopped the module, if any. */
  error: WasmServerError | null = null;
  private readonly sockets: SocketTable;
  private exports!: ServerExports;
  private memory!: WebAssembly.Memory;
  private scheduled = false;
  private running = false;
  private stopped = false;
  private finish!: (err: WasmServerError | null) => void;
  private timer: PassTimer | null = null;

  private constructor(name: string, grants: Grants) {
    this.name = name;
    this.done = new Promise((resolve) => { this.finish = resolve; });
    this.sockets = new SocketTable(grants, () => this.memory, () => this.schedule());
  }

  /** Loads a module (path or bytes), runs its main() and starts serving. */
  static async start(wasm: string | Uint8Array, options: ServerOptions = {}): Promise<WasmServer> {
    const bytes = typeof wasm === "string" ? readFileSync(wasm) : wasm;
    const name = options.name ?? (typeof wasm === "string" ? basename(wasm) : "module.wasm");
    const grants = new Grants(options.listen ?? [], options.allowConnect ?? []);
    const memoryMb = options.memoryMb ?? 256;
    if (!Number.isInteger(memoryMb) || memoryMb < 1 || memoryMb > 4096) throw new RangeError(`memoryMb must be an integer in 1..4096, got ${memoryMb}`);
    const server = new WasmServer(name, grants);
    const module = await WebAssembly.compile(bytes as Uint8Array<ArrayBuffer>);
    const argv = [name];
    for (const g of options.listen ?? []) argv.push("--listen", g);
    for (const g of options.allowConnect ?? []) argv.push("--allow-connect", g);
    argv.push(...(options.args ?? []));
    server.instantiate(module, argv, memoryMb, options);
    return server;
  }

  private instantiate(module: WebAssembly.Module, argv: string[], memoryMb: number, options: ServerOptions): void {
    const wasi = new WASI({ version: "preview1", args: argv, env: {}, returnOnExit: true, stdout: options.stdout ?? 1, stderr: options.stderr ?? 2 });
    const needs = WebAssembly.Module.imports(module).find((i) => i.module === "env" && i.name === "memory");
    const maximum = memoryMb * 16;
    this.memory = new WebAssembly.Memory({ initial: Math.min(16, maximum), maximum });
    const env = {
      memory: this.memory,
      abort: (msg: number, file: number, line: number, col: number): never => {
        const where = asString(this.memory, file);
        throw new Trap(`abort: ${asString(this.memory, msg) || "(no message)"}${where ? ` at ${where}:${line}:${col}` : ""}`);
      },
    };
    if (!needs) throw new WasmServerError(this.name, "not a host-flavour server module (it must import env.memory; build it with the asconfig \"host\" target)");
    try {
      const instance = new WebAssembly.Instance(module, {
        wasi_snapshot_preview1: wasi.wasiImport as WebAssembly.ModuleImports,
        [SOCK_NAMESPACE]: this.sockets.imports(),
        env,
      });
      this.exports = instance.exports as unknown as ServerExports;
      this.timer = new PassTimer(this.exports, () => this.schedule());
      if (typeof this.exports.server_pass !== "function") throw new WasmServerError(this.name, "the module lacks the server_pass export (add assembly/server/exports.ts to its entry files)");
      wasi.initialize(instance); // runs top-level code: serve(main) → main()
    } catch (err) {
      if (err instanceof WasmServerError) throw err;
      this.stop(err);
      throw this.error;
    }
    this.schedule();
  }

  /** Addresses the module listens on (known once start() resolved). */
  get listening(): { host: string; port: number }[] { return this.sockets.listening(); }

  /** Connect and listen attempts the grants refused. */
  get denied(): readonly string[] { return this.sockets.denied; }

  /** Passes run so far. */
  get passes(): number { return this.stopped ? -1 : this.exports.server_passes(); }

  /** Is the module still serving? */
  get alive(): boolean { return !this.stopped; }

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
    try {
      r = this.exports.server_pass();
    } catch (err) {
      this.running = false;
      this.stop(err);
      return;
    }
    this.running = false;
    if (r < 0) this.end(null);
    else if (r > 0) this.schedule();
    else this.timer?.afterIdlePass();
  }

  private stop(err: unknown): void {
    if (this.stopped) return;
    this.end(new WasmServerError(this.name, describeTrap(err), { cause: err }));
  }

  private end(err: WasmServerError | null): void {
    if (this.stopped) return;
    this.stopped = true;
    this.error = err;
    this.timer?.clear();
    this.sockets.closeAll();
    this.finish(err);
  }

  /** Stops the module and closes its sockets. */
  close(): void {
    this.end(null);
  }
}
