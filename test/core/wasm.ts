// Test harness for the core alone: a fresh build/core.wasm instance per test, no host.
import { readFileSync, existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { CORE_IMPORTS, type CoreExports, FIELD, STAT } from "../../host/core/abi.js";

/** Path of a built core file (core.wasm or core.debug.wasm). */
export function corePath(name = "core.wasm"): string {
  const path = fileURLToPath(new URL(`../../build/${name}`, import.meta.url));
  if (!existsSync(path)) throw new Error(`${path} missing: run 'npm run build:core' first`);
  return path;
}

const modules = new Map<string, WebAssembly.Module>();

/** The compiled module of a built core file (compiled once per file, instantiated per test). */
export function coreModule(name = "core.wasm"): WebAssembly.Module {
  let m = modules.get(name);
  if (!m) modules.set(name, (m = new WebAssembly.Module(readFileSync(corePath(name)))));
  return m;
}

/** What the core's abort import throws: a broken invariant inside the core. */
export class CoreAbort extends Error {}

/** The import object, built from CORE_IMPORTS; every import throws CoreAbort (abort is the only one). */
export function coreImports(): WebAssembly.Imports {
  const imports: Record<string, Record<string, (...args: number[]) => never>> = {};
  for (const [mod, names] of Object.entries(CORE_IMPORTS)) {
    imports[mod] = {};
    for (const name of names) {
      imports[mod][name] = (...args: number[]) => {
        throw new CoreAbort(`core called ${mod}.${name}(${args.join(", ")})`);
      };
    }
  }
  return imports;
}

/** A fresh instance of the core (its own memory, nothing opened). */
export function freshCore(name = "core.wasm"): Core {
  const instance = new WebAssembly.Instance(coreModule(name), coreImports());
  return new Core(instance.exports as unknown as CoreExports);
}

/** An event record from engine_poll. */
export interface Ev {
  token: number;
  flags: number;
}

/** Queue direction: the input or the output queue of a channel. */
export type Dir = "in" | "out";

/** Thin helpers over the raw exports; every call goes straight to the wasm. */
export class Core {
  constructor(readonly x: CoreExports) {}

  /** A fresh view (memory may have grown since the last call). */
  mem(): Uint8Array {
    return new Uint8Array(this.x.memory.buffer);
  }

  stat(key: keyof typeof STAT): number {
    return this.x.engine_stat(STAT[key]);
  }

  get(token: number, field: keyof typeof FIELD): number {
    return this.x.chan_get(token, FIELD[field]);
  }

  set(token: number, field: keyof typeof FIELD, value: number): number {
    return this.x.chan_set(token, FIELD[field], value);
  }

  reserve(dir: Dir, token: number, want: number): number {
    return dir === "in" ? this.x.in_reserve(token, want) : this.x.out_reserve(token, want);
  }

  commit(dir: Dir, token: number, n: number): number {
    return dir === "in" ? this.x.in_commit(token, n) : this.x.out_commit(token, n);
  }

  peek(dir: Dir, token: number): number {
    return dir === "in" ? this.x.in_peek(token) : this.x.out_peek(token);
  }

  consume(dir: Dir, token: number, n: number): number {
    return dir === "in" ? this.x.in_consume(token, n) : this.x.out_consume(token, n);
  }

  /** Appends bytes as the host does (reserve, copy, commit per run); returns how many went in. */
  push(dir: Dir, token: number, data: Uint8Array): number {
    let off = 0;
    while (off < data.length) {
      const ptr = this.reserve(dir, token, data.length - off);
      if (ptr === 0) break;
      const n = this.x.result_len();
      if (n <= 0 || n > data.length - off) throw new Error(`reserve gave ${n} bytes for ${data.length - off}`);
      this.mem().set(data.subarray(off, off + n), ptr);
      const rc = this.commit(dir, token, n);
      if (rc < 0) throw new Error(`commit(${token}, ${n}) returned ${rc}`);
      off += n;
    }
    return off;
  }

  /** Takes up to `n` bytes from the front (peek, copy, consume per run). */
  take(dir: Dir, token: number, n: number): Uint8Array {
    const out = new Uint8Array(n);
    let got = 0;
    while (got < n) {
      const ptr = this.peek(dir, token);
      const len = Math.min(this.x.result_len(), n - got);
      if (ptr === 0 || len === 0) break;
      out.set(this.mem().subarray(ptr, ptr + len), got);
      got += len;
      const rc = this.consume(dir, token, len);
      if (rc < 0) throw new Error(`consume(${token}, ${len}) returned ${rc}`);
    }
    return out.subarray(0, got);
  }

  /** Runs engine_poll and returns its events. */
  poll(mapId: number, mode: number): Ev[] {
    const n = this.x.engine_poll(mapId, mode);
    if (n < 0) throw new Error(`engine_poll(${mapId}, ${mode}) returned ${n}`);
    const view = new DataView(this.x.memory.buffer, this.x.events_ptr(), n * 8);
    const evs: Ev[] = [];
    for (let i = 0; i < n; i++) evs.push({ token: view.getInt32(i * 8, true), flags: view.getUint32(i * 8 + 4, true) });
    return evs;
  }

  /** Writes {token, interest} pairs to the scratch area and commits them; returns the stale count. */
  commitInterest(pairs: [number, number][]): number {
    const view = new DataView(this.x.memory.buffer, this.x.scratch_ptr(), pairs.length * 8);
    pairs.forEach(([t, i], k) => {
      view.setInt32(k * 8, t, true);
      view.setUint32(k * 8 + 4, i, true);
    });
    return this.x.interest_commit(pairs.length);
  }
}

/** Bytes 0, 1, 2, ... (mod 251, so runs never line up with power-of-two chunks). */
export function pattern(n: number, seed = 0): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i + seed) % 251;
  return b;
}

/**
 * fast-check settings: `runs` by default, WASYNCORE_FC_RUNS to run more, WASYNCORE_FC_SEED to replay
 * the seed a failure printed (with WASYNCORE_FC_PATH for its shrunk path).
 */
export function fcParams(runs: number): { numRuns: number; seed?: number; path?: string } {
  const env = process.env;
  return {
    numRuns: Number(env.WASYNCORE_FC_RUNS ?? runs),
    ...(env.WASYNCORE_FC_SEED ? { seed: Number(env.WASYNCORE_FC_SEED) } : {}),
    ...(env.WASYNCORE_FC_PATH ? { path: env.WASYNCORE_FC_PATH } : {}),
  };
}

/** A test timeout that grows with WASYNCORE_FC_RUNS (`msPerRun` each, at least vitest's 30 s). */
export function fcTimeout(runs: number, msPerRun = 40): number {
  return Math.max(30_000, fcParams(runs).numRuns * msPerRun * 2);
}
