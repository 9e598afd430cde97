// Loads build/core.wasm once and wraps its numeric ABI: memory views, byte copies, error codes.
import { Buffer } from "node:buffer";
import { readFileSync, existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import * as loader from "@assemblyscript/loader";
import { CORE_EXPORTS, type CoreExports, E_TOKEN, E_RANGE, FIELD, STAT } from "./abi.js";
import { EngineAbortError, SocketError } from "./errors.js";

function locateCore(): string {
  const name = process.env.WASYNCORE_DEBUG ? "core.debug.wasm" : "core.wasm";
  // build/host/core/engine.js → build/core.wasm; host/core/engine.ts (tests run from source) → build/core.wasm
  for (const rel of [`../../${name}`, `../../build/${name}`]) {
    const path = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(path)) return path;
  }
  throw new Error(`wasyncore: ${name} not found next to the host; run 'npm run build'`);
}

function readCString(mem: WebAssembly.Memory, ptr: number): string {
  if (!ptr) return "";
  const u32 = new Uint32Array(mem.buffer);
  const len = u32[(ptr - 4) >>> 2] >>> 1;
  return String.fromCharCode(...new Uint16Array(mem.buffer, ptr, Math.min(len, 256)));
}

/** Engine-wide limits (configure()). */
export interface Limits {
  sendWindow: number;
  recvPause: number;
  chunkSize: number;
  memoryCap: number;
}

/** The loaded core: one per process. */
export class Engine {
  readonly core: CoreExports;
  private u8: Uint8Array;
  private mem: ArrayBuffer; // u8's buffer, read once per growth (a typed array's .buffer goes through the runtime)
  private buf: Buffer; // a Buffer over the same memory, for Buffer copies
  private gen = 0; // bumped whenever memory grew
  readonly limits: Limits = { sendWindow: 65536, recvPause: 262144, chunkSize: 16384, memoryCap: 2 ** 30 };

  constructor() {
    let memory: WebAssembly.Memory | undefined;
    const imports = {
      env: {
        abort(msg: number, file: number, line: number, col: number): never {
          const text = memory ? `${readCString(memory, msg)} at ${readCString(memory, file)}:${line}:${col}` : "abort";
          throw new EngineAbortError(text);
        },
      },
    };
    const bytes = readFileSync(locateCore());
    const { exports } = loader.instantiateSync<Record<string, unknown>>(bytes, imports);
    // The loader wraps every export in a rest/spread shim for optional arguments, which no export
    // of the core has; call the wasm functions directly (several times faster per call).
    const direct: Record<string, unknown> = {};
    for (const [name, value] of Object.entries(exports)) {
      const original = typeof value === "function" ? (value as { original?: unknown }).original : undefined;
      direct[name] = typeof original === "function" ? original : value;
    }
    this.core = fastProperties(direct) as unknown as CoreExports;
    memory = this.core.memory;
    for (const name of CORE_EXPORTS) {
      if (typeof (this.core as unknown as Record<string, unknown>)[name] !== "function") {
        throw new EngineAbortError(`core.wasm lacks export ${name}`);
      }
    }
    this.u8 = new Uint8Array(memory.buffer);
    this.mem = this.u8.buffer as ArrayBuffer;
    this.buf = Buffer.from(this.mem);
    this.configure(this.limits);
  }

  /** Applies limits; throws RangeError naming the bad value. */
  configure(limits: Limits): void {
    const rc = this.core.engine_init(limits.chunkSize, Math.min(limits.memoryCap, 0xffffffff), limits.sendWindow, limits.recvPause);
    if (rc < 0) throw new RangeError(`configure: limits ${JSON.stringify(limits)} rejected by the core (chunkSize can change only while no buffer is in use)`);
    Object.assign(this.limits, limits);
  }

  /** A view over core memory, re-acquired whenever memory has grown. */
  bytes(): Uint8Array {
    // Growth detaches the old buffer, which empties every view over it: cheaper to test than memory.buffer.
    if (this.u8.length === 0) this.regrown();
    return this.u8;
  }

  private regrown(): void {
    this.u8 = new Uint8Array(this.core.memory.buffer);
    this.mem = this.u8.buffer as ArrayBuffer;
    this.buf = Buffer.from(this.mem);
    this.gen++;
  }

  /** A Buffer over all of core memory (for Buffer copies), re-acquired whenever memory has grown. */
  buffer(): Buffer {
    if (this.u8.length === 0) this.regrown();
    return this.buf;
  }

  /** Changes whenever memory grew: a view made under another generation is detached. */
  generation(): number {
    if (this.u8.length === 0) this.regrown();
    return this.gen;
  }

  /** A view of `len` bytes of core memory at `ptr`, valid until the next call that can grow memory. */
  view(ptr: number, len: number): Uint8Array {
    if (this.u8.length === 0) this.regrown();
    return new Uint8Array(this.mem, ptr, len);
  }

  /** `n` unsigned 32-bit integers of core memory at `ptr` (same lifetime as view()). */
  uint32s(ptr: number, n: number): Uint32Array {
    if (this.u8.length === 0) this.regrown();
    return new Uint32Array(this.mem, ptr, n);
  }

  /** `n` 32-bit integers of core memory at `ptr` (same lifetime as view()). */
  int32s(ptr: number, n: number): Int32Array {
    if (this.u8.length === 0) this.regrown();
    return new Int32Array(this.mem, ptr, n);
  }

  /**
   * Appends received bytes to the channel's input queue. Returns how many were taken
   * (fewer than asked when the pool is at its memory cap) and sets `pauseWanted`.
   */
  pushIn(token: number, src: Uint8Array, start: number, end: number): number {
    const core = this.core;
    let off = start;
    this.pauseWanted = false;
    this.stamp(); // the bytes' arrival stamps the channel's last activity
    while (off < end) {
      const ptr = core.in_reserve(token, end - off);
      if (ptr === 0) break;
      const n = core.result_len();
      this.bytes().set(receivedView(src, off, n), ptr);
      const rc = core.in_commit(token, n);
      if (rc < 0) throw new EngineAbortError(`in_commit(${token}, ${n}) returned ${rc}`);
      if (rc === 1) this.pauseWanted = true;
      off += n;
    }
    return off - start;
  }
  pauseWanted = false;

  /** Copies up to `n` queued input bytes into `into` from its start (consuming them), no allocation; sets `resumeOk`. */
  takeInInto(token: number, into: Uint8Array, n: number): number {
    const core = this.core;
    const total = Math.min(n, into.length, this.field(token, FIELD.inLen));
    let got = 0;
    while (got < total) {
      const ptr = core.in_peek(token);
      const len = Math.min(core.result_len(), total - got);
      if (ptr === 0 || len === 0) break;
      into.set(this.view(ptr, len), got);
      got += len;
      const rc = core.in_consume(token, len);
      if (rc < 0) throw new EngineAbortError(`in_consume(${token}, ${len}) returned ${rc}`);
      this.resumeOk = rc === 1;
    }
    if (total === 0) this.resumeOk = true;
    return got;
  }

  /** Copies up to `n` queued input bytes out (consuming them); sets `resumeOk`. */
  takeIn(token: number, n: number): Buffer {
    const core = this.core;
    const avail = this.field(token, FIELD.inLen);
    const total = Math.min(n, avail);
    const out = Buffer.allocUnsafe(total);
    let got = 0;
    while (got < total) {
      const ptr = core.in_peek(token);
      const len = Math.min(core.result_len(), total - got);
      if (ptr === 0 || len === 0) break;
      out.set(this.view(ptr, len), got);
      got += len;
      const rc = core.in_consume(token, len);
      if (rc < 0) throw new EngineAbortError(`in_consume(${token}, ${len}) returned ${rc}`);
      this.resumeOk = rc === 1;
    }
    if (total === 0) this.resumeOk = true;
    return got === total ? out : out.subarray(0, got);
  }
  resumeOk = true;

  /** Copies as much of `data` as the send window allows into the output queue. */
  pushOut(token: number, data: Uint8Array): number {
    const core = this.core;
    this.stamp();
    const window = this.field(token, FIELD.window);
    const pending = this.field(token, FIELD.outLen) + this.field(token, FIELD.inflight);
    let room = Math.max(0, window - pending);
    let off = 0;
    while (off < data.length && room > 0) {
      const ptr = core.out_reserve(token, Math.min(room, data.length - off));
      if (ptr === 0) break;
      const n = core.result_len();
      copyBytes(this.bytes(), ptr, data, off, n);
      const rc = core.out_commit(token, n);
      if (rc < 0) throw new EngineAbortError(`out_commit(${token}, ${n}) returned ${rc}`);
      off += n;
      room -= n;
    }
    return off;
  }

  /**
   * Drains the whole output queue into one Buffer (null when empty): a view of `into` when the
   * bytes fit there, else a new Buffer.
   */
  takeOut(token: number, into?: Buffer): Buffer | null {
    const core = this.core;
    const total = this.field(token, FIELD.outLen);
    if (total <= 0) return null;
    const out = into !== undefined && total <= into.length ? Buffer.from(into.buffer, into.byteOffset, total) : Buffer.allocUnsafe(total);
    let got = 0;
    while (got < total) {
      const ptr = core.out_peek(token);
      const len = core.result_len();
      if (ptr === 0 || len === 0) break;
      out.set(this.view(ptr, len), got);
      got += len;
      core.out_consume(token, len);
    }
    return out;
  }

  /**
   * Drains the whole output queue into `into` from its start when it fits there: returns the byte
   * count (0 when empty), or -1 when the queue is larger than `into` (nothing taken). Where
   * takeOut() makes a Buffer per call, this makes none.
   */
  takeOutInto(token: number, into: Uint8Array): number {
    const core = this.core;
    const total = core.chan_get(token, FIELD.outLen);
    if (total <= 0) return 0;
    if (total > into.length) return -1;
    let got = 0;
    while (got < total) {
      const ptr = core.out_peek(token);
      const len = core.result_len();
      if (ptr === 0 || len === 0) break;
      into.set(this.view(ptr, len), got);
      got += len;
      core.out_consume(token, len);
    }
    return got;
  }

  /** Sets the core's activity clock to now (monotonic ms as a wrapping u32) and returns it. */
  tick(): number {
    const t = Math.floor(performance.now()) >>> 0;
    if (t !== this.lastTick) {
      this.lastTick = t;
      this.core.engine_tick(t);
    }
    return t;
  }
  private lastTick = -1;

  /**
   * Set for good once any channel has an idle timeout (timers.ts): only those read the activity
   * stamps, so until then byte movement skips the clock (performance.now() costs ~0.1 µs a call).
   */
  stamping = false;

  /** Advances the activity clock when idle timeouts read it. */
  stamp(): void {
    if (this.stamping) this.tick();
  }

  /** Opens a channel (outside any map) and returns its token; EMFILE when the core's channel table is full. */
  openChannel(what: string): number {
    const token = this.core.chan_open(0);
    if (token <= 0) throw new SocketError("EMFILE", `${what}: the core's channel table is full`);
    return token;
  }

  /** A record field, or -1 for a stale token. */
  field(token: number, field: number): number {
    const v = this.core.chan_get(token, field);
    return v === E_TOKEN ? -1 : v;
  }

  /** Sets a record field; throws on a code the host never expects. */
  setField(token: number, field: number, value: number): boolean {
    const rc = this.core.chan_set(token, field, value >>> 0);
    if (rc === E_RANGE) throw new EngineAbortError(`chan_set(${token}, ${field}, ${value}) rejected`);
    return rc === 0;
  }

  stat(key: keyof typeof STAT): number {
    return this.core.engine_stat(STAT[key]);
  }
}

/**
 * `obj` in V8's fast-properties mode. An object filled through computed keys past a dozen
 * properties becomes a hash table (every `core.x()` a dictionary lookup); an object used as a
 * prototype is turned back into a fast-shaped one, whose property reads the call sites cache.
 */
function fastProperties<T extends object>(obj: T): T {
  function Holder(): void {}
  Holder.prototype = obj;
  // Creating an instance makes `obj` a prototype in use, which V8 optimizes (MakePrototypesFast).
  void Reflect.construct(Holder, []);
  return obj;
}

/** Copies `n` bytes through a plain Uint8Array view (Buffer#subarray is several times slower). */
function copyBytes(dst: Uint8Array, at: number, src: Uint8Array, from: number, n: number): void {
  dst.set(from === 0 && n === src.length ? src : new Uint8Array(src.buffer, src.byteOffset + from, n), at);
}

// The last view pushIn() made of a receive buffer: reads of one size (echo, requests) reuse it.
// Only views of host buffers are kept, never of core memory (which growth detaches).
let inView: Uint8Array | null = null;
let inSrc: Uint8Array | null = null;
let inFrom = 0;

function receivedView(src: Uint8Array, from: number, n: number): Uint8Array {
  if (from === 0 && n === src.length) return src;
  if (inSrc !== src || inFrom !== from || inView!.length !== n) {
    inView = new Uint8Array(src.buffer, src.byteOffset + from, n);
    inSrc = src;
    inFrom = from;
  }
  return inView!;
}

let engine: Engine | undefined;

/** The process's engine, loaded on first use. */
export function getEngine(): Engine {
  return (engine ??= new Engine());
}
