// The runner's inputs checked once: CLI flag values and the `wasyncore serve` config file. Every
// error names the flag or the config key and the value, and is a usage error (exit code 2).
import { readFileSync } from "node:fs";
import { dirname, resolve, basename } from "node:path";
import { parseEndpoint } from "./grants.js";
import { loadTls, type TlsListen } from "./tls.js";
import { DEFAULT_LIMITS } from "./limits.js";

/** Bad input from the command line or the config file (exit code 2). */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** An integer flag in lo..hi, or `fallback` when absent. */
export function intFlag(flag: string, text: string | undefined, lo: number, hi: number, fallback: number): number {
  if (text === undefined) return fallback;
  const n = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n) || n < lo || n > hi) throw new UsageError(`${flag} must be an integer in ${lo}..${hi}, got ${JSON.stringify(text)}`);
  return n;
}

/** Checks each "HOST:PORT" of a flag, naming the flag in the error. */
export function endpointList(flag: string, list: readonly string[]): string[] {
  for (const t of list) {
    try {
      parseEndpoint(t, flag);
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
  }
  return [...list];
}

/** Checks TLS listeners (address, files, key matching its certificate), naming `where` in the error. */
export function tlsList(where: string, list: readonly TlsListen[]): TlsListen[] {
  return list.map((t, i) => {
    try {
      loadTls(t, list.length === 1 && where.startsWith("--") ? where : `${where}[${i}]`);
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
    return { listen: t.listen, cert: t.cert, key: t.key };
  });
}

/** "127.0.0.1:80", "[::1]:80". */
export function formatAddress(host: string, port: number): string {
  return `${host.includes(":") ? `[${host}]` : host}:${port}`;
}

/** One module of a `wasyncore serve` config. */
export interface ModuleConfig {
  name: string;
  wasm: string;
  args: string[];
  listen: string[];
  listenTls: TlsListen[];
  allowConnect: string[];
  listenUdp: string[];
  allowUdp: string[];
  memoryMb: number;
  cpuMs: number;
  heapMb: number;
  restart: "no" | "on-failure";
  maxRestarts: number;
}

const KEYS = ["name", "wasm", "args", "listen", "listenTls", "listenUdp", "allowConnect", "allowUdp", "memoryMb", "cpuMs", "heapMb", "restart", "maxRestarts"];

function strings(where: string, v: unknown): string[] {
  if (v === undefined) return [];
  if (!Array.isArray(v) || v.some((x) => typeof x !== "string")) throw new UsageError(`${where} must be an array of strings, got ${JSON.stringify(v)}`);
  return v as string[];
}

/** listenTls entries with cert/key paths resolved against the config file's folder. */
function tlsEntries(where: string, v: unknown, dir: string): TlsListen[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) throw new UsageError(`${where} must be an array of { "listen", "cert", "key" }, got ${JSON.stringify(v)}`);
  return v.map((t: unknown, i) => {
    if (t === null || typeof t !== "object" || Array.isArray(t)) throw new UsageError(`${where}[${i}] must be { "listen", "cert", "key" }, got ${JSON.stringify(t)}`);
    const o = t as Record<string, unknown>;
    const path = (k: string): unknown => (typeof o[k] === "string" && o[k] !== "" ? resolve(dir, o[k] as string) : o[k]);
    return { ...o, cert: path("cert"), key: path("key") } as unknown as TlsListen;
  });
}

function int(where: string, v: unknown, lo: number, hi: number, fallback: number): number {
  if (v === undefined) return fallback;
  if (typeof v !== "number" || !Number.isInteger(v) || v < lo || v > hi) throw new UsageError(`${where} must be an integer in ${lo}..${hi}, got ${JSON.stringify(v)}`);
  return v;
}

/** Reads and checks a config file; paths in it are relative to the file. */
export function loadConfig(file: string): ModuleConfig[] {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, "utf8"));
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new UsageError(`cannot read config ${file}: ${e.code ?? e.message}`);
  }
  if (typeof raw !== "object" || raw === null || !Array.isArray((raw as { modules?: unknown }).modules)) {
    throw new UsageError(`${file}: expected { "modules": [ ... ] }`);
  }
  for (const k of Object.keys(raw)) if (k !== "modules") throw new UsageError(`${file}: unknown key ${JSON.stringify(k)} (expected "modules")`);
  const list = (raw as { modules: unknown[] }).modules;
  if (list.length === 0) throw new UsageError(`${file}: "modules" is empty`);
  const names = new Set<string>();
  return list.map((m, i) => {
    const at = `${file}: modules[${i}]`;
    if (typeof m !== "object" || m === null || Array.isArray(m)) throw new UsageError(`${at} must be an object`);
    const o = m as Record<string, unknown>;
    for (const k of Object.keys(o)) if (!KEYS.includes(k)) throw new UsageError(`${at}: unknown key ${JSON.stringify(k)} (known: ${KEYS.join(", ")})`);
    if (typeof o.wasm !== "string" || o.wasm === "") throw new UsageError(`${at}.wasm must be the path of a .wasm file, got ${JSON.stringify(o.wasm)}`);
    const wasm = resolve(dirname(file), o.wasm);
    const name = o.name === undefined ? basename(wasm) : o.name;
    if (typeof name !== "string" || name === "" || !/^[\w.@-]+$/.test(name)) throw new UsageError(`${at}.name must be letters, digits, '.', '_', '-' or '@', got ${JSON.stringify(name)}`);
    if (names.has(name)) throw new UsageError(`${at}.name ${JSON.stringify(name)} is used twice`);
    names.add(name);
    const restart = o.restart ?? "no";
    if (restart !== "no" && restart !== "on-failure") throw new UsageError(`${at}.restart must be "no" or "on-failure", got ${JSON.stringify(restart)}`);
    return {
      name, wasm,
      args: strings(`${at}.args`, o.args),
      listen: endpointList(`${at}.listen`, strings(`${at}.listen`, o.listen)),
      listenTls: tlsList(`${at}.listenTls`, tlsEntries(`${at}.listenTls`, o.listenTls, dirname(file))),
      allowConnect: endpointList(`${at}.allowConnect`, strings(`${at}.allowConnect`, o.allowConnect)),
      listenUdp: endpointList(`${at}.listenUdp`, strings(`${at}.listenUdp`, o.listenUdp)),
      allowUdp: endpointList(`${at}.allowUdp`, strings(`${at}.allowUdp`, o.allowUdp)),
      memoryMb: int(`${at}.memoryMb`, o.memoryMb, 1, 4096, DEFAULT_LIMITS.memoryMb),
      cpuMs: int(`${at}.cpuMs`, o.cpuMs, 1, 3_600_000, DEFAULT_LIMITS.cpuMs),
      heapMb: int(`${at}.heapMb`, o.heapMb, 16, 16384, DEFAULT_LIMITS.heapMb),
      restart,
      maxRestarts: int(`${at}.maxRestarts`, o.maxRestarts, 0, 1_000_000, 5),
    };
  });
}
