// A small WASI preview1 shim for server modules: args, clocks, random, fd_write to 1/2 (each line
// prefixed with the module's name, control bytes escaped, rate-limited) and proc_exit. Every other
// preview1 call returns ENOSYS: no stdin, no files, no sleeping in poll_oneoff. node:wasi never
// reaches a module (its sock_* on stdio and fd_write after memory.grow crash Node).
import { randomFillSync } from "node:crypto";
import { writeSync } from "node:fs";
import { WASI_SHIM_IMPORTS } from "./abi.js";

const ESUCCESS = 0;
const EBADF = 8;
const EFAULT = 21;
const EINVAL = 28;
const ENOSYS = 52;

/** Bytes a module may write to stdout+stderr per second (the burst is four times this). */
export const LOG_BYTES_PER_SECOND = 16 << 10;
/** A line longer than this is cut (and flushed) at this length. */
const MAX_LINE = 4096;

/** Thrown by proc_exit: the module asked to stop with `code`. */
export class ProcExit extends Error {
  constructor(readonly code: number) {
    super(`the module exited with code ${code} (proc_exit)`);
    this.name = "ProcExit";
  }
}

/** Where a module's output goes: OS descriptors (default 1 and 2). */
export interface ShimOptions {
  name: string;
  args: readonly string[];
  stdout?: number;
  stderr?: number;
  /** Called with the number of bytes dropped when the rate limit first cuts a burst. */
  onDropped?: (bytes: number) => void;
}

/** Escapes what a terminal would act on, so a module cannot rewrite the runner's lines. */
function sanitize(line: string): string {
  // eslint-disable-next-line no-control-regex
  return line.replace(/[\x00-\x08\x0b-\x1f\x7f\u0080-\u009f\u2028\u2029]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
}

/** The preview1 import object of one module (and its output's line buffers). */
export class WasiShim {
  private readonly argBytes: Buffer[];
  private readonly pending: [string, string] = ["", ""];
  private tokens = LOG_BYTES_PER_SECOND * 4;
  private refilled = Date.now();
  private dropped = 0;

  constructor(private readonly memory: () => WebAssembly.Memory, private readonly opts: ShimOptions) {
    this.argBytes = opts.args.map((a) => Buffer.from(`${a}\0`));
  }

  /** Writes whatever partial lines are buffered (the module stopped). */
  flush(): void {
    for (const which of [0, 1] as const) if (this.pending[which]) this.emit(which, this.pending[which]);
    this.pending[0] = this.pending[1] = "";
  }

  private emit(which: 0 | 1, line: string): void {
    const fd = which === 0 ? (this.opts.stdout ?? 1) : (this.opts.stderr ?? 2);
    try {
      writeSync(fd, `[${this.opts.name}] ${sanitize(line)}\n`);
    } catch { /* a closed log is not the module's failure */ }
  }

  private take(which: 0 | 1, n: number): boolean {
    const now = Date.now();
    this.tokens = Math.min(LOG_BYTES_PER_SECOND * 4, this.tokens + ((now - this.refilled) * LOG_BYTES_PER_SECOND) / 1000);
    this.refilled = now;
    if (this.tokens >= n) {
      this.tokens -= n;
      if (this.dropped) {
        this.emit(which, `(${this.dropped} bytes of output dropped: over ${LOG_BYTES_PER_SECOND} B/s)`);
        this.opts.onDropped?.(this.dropped);
        this.dropped = 0;
      }
      return true;
    }
    this.dropped += n;
    return false;
  }

  private write(which: 0 | 1, bytes: Uint8Array): void {
    if (!this.take(which, bytes.length)) return;
    let text = this.pending[which] + Buffer.from(bytes).toString("utf8");
    let nl: number;
    while ((nl = text.indexOf("\n")) >= 0 || text.length > MAX_LINE) {
      const cut = nl >= 0 && nl <= MAX_LINE ? nl : MAX_LINE;
      this.emit(which, text.slice(0, cut));
      text = text.slice(cut === nl ? cut + 1 : cut);
    }
    this.pending[which] = text;
  }

  /** The import object: every preview1 name the shim knows (unknown ones answer ENOSYS too). */
  imports(): Record<string, (...args: never[]) => number> {
    const view = (): DataView => new DataView(this.memory().buffer);
    const inside = (ptr: number, len: number): boolean => ptr >= 0 && len >= 0 && ptr + len <= this.memory().buffer.byteLength;
    const sizes = (list: Buffer[], countPtr: number, sizePtr: number): number => {
      if (!inside(countPtr >>> 0, 4) || !inside(sizePtr >>> 0, 4)) return EFAULT;
      const v = view();
      v.setUint32(countPtr >>> 0, list.length, true);
      v.setUint32(sizePtr >>> 0, list.reduce((s, b) => s + b.length, 0), true);
      return ESUCCESS;
    };
    const fill = (list: Buffer[], ptrsPtr: number, bufPtr: number): number => {
      const total = list.reduce((s, b) => s + b.length, 0);
      if (!inside(ptrsPtr >>> 0, list.length * 4) || !inside(bufPtr >>> 0, total)) return EFAULT;
      const v = view();
      const mem = new Uint8Array(this.memory().buffer);
      let at = bufPtr >>> 0;
      list.forEach((b, i) => {
        v.setUint32((ptrsPtr >>> 0) + i * 4, at, true);
        mem.set(b, at);
        at += b.length;
      });
      return ESUCCESS;
    };
    const impl: Record<string, (...args: never[]) => number> = {
      args_sizes_get: (c: number, s: number) => sizes(this.argBytes, c, s),
      args_get: (p: number, b: number) => fill(this.argBytes, p, b),
      environ_sizes_get: (c: number, s: number) => sizes([], c, s),
      environ_get: (p: number, b: number) => fill([], p, b),
      clock_res_get: (id: number, out: number) => {
        if (id < 0 || id > 3) return EINVAL;
        if (!inside(out >>> 0, 8)) return EFAULT;
        view().setBigUint64(out >>> 0, 1000n, true);
        return ESUCCESS;
      },
      clock_time_get: (id: number, _precision: bigint, out: number) => {
        if (id < 0 || id > 3) return EINVAL;
        if (!inside(out >>> 0, 8)) return EFAULT;
        const ns = id === 0 ? BigInt(Date.now()) * 1_000_000n : process.hrtime.bigint();
        view().setBigUint64(out >>> 0, ns, true);
        return ESUCCESS;
      },
      random_get: (ptr: number, len: number) => {
        if (!inside(ptr >>> 0, len >>> 0)) return EFAULT;
        randomFillSync(new Uint8Array(this.memory().buffer, ptr >>> 0, len >>> 0));
        return ESUCCESS;
      },
      fd_write: (fd: number, iovs: number, iovsLen: number, nwrittenPtr: number) => {
        if (fd !== 1 && fd !== 2) return EBADF;
        iovs >>>= 0;
        iovsLen >>>= 0;
        if (iovsLen > 1024 || !inside(iovs, iovsLen * 8) || !inside(nwrittenPtr >>> 0, 4)) return EFAULT;
        const v = view();
        const parts: Uint8Array[] = [];
        let total = 0;
        for (let i = 0; i < iovsLen; i++) {
          const p = v.getUint32(iovs + i * 8, true);
          const n = v.getUint32(iovs + i * 8 + 4, true);
          if (!inside(p, n)) return EFAULT;
          parts.push(new Uint8Array(this.memory().buffer, p, n));
          total += n;
        }
        this.write(fd === 1 ? 0 : 1, Buffer.concat(parts, total));
        v.setUint32(nwrittenPtr >>> 0, total, true); // dropped output still counts as written
        return ESUCCESS;
      },
      proc_exit: (code: number): never => {
        throw new ProcExit(code >>> 0);
      },
      sched_yield: () => ESUCCESS,
    };
    for (const n of WASI_SHIM_IMPORTS) impl[n] ??= () => ENOSYS;
    return impl;
  }
}

/** The answer of a preview1 call the shim does not implement. */
export const WASI_ENOSYS = ENOSYS;
