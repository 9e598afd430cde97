// Drives test/cores/fixtures/server.mjs (a serveOnCores() server in its own process) and its loopback clients.
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { existsSync } from "node:fs";
import * as net from "node:net";
import { Buffer } from "node:buffer";

export const LIB = fileURLToPath(new URL("../../build/host/index.js", import.meta.url));
const FIXTURE = fileURLToPath(new URL("./fixtures/server.mjs", import.meta.url));
export const built = existsSync(LIB);

/** The backend this test project runs (vitest.config.ts sets WASYNCORE_BACKEND per project). */
export const backend = process.env.WASYNCORE_BACKEND === "native" ? "native" : "net";

/** A running fixture server: its port, its JSON lines, and its commands. */
export class Served {
  port = 0;
  workers: { pid: number; threadId: number }[] = [];
  readonly lines: Record<string, unknown>[] = [];
  stderr = "";
  readonly exit: Promise<{ code: number | null; signal: string | null }>;
  private waiters: (() => void)[] = [];

  constructor(readonly proc: ChildProcess) {
    let buf = "";
    proc.stdout!.on("data", (d: Buffer) => {
      buf += d.toString();
      let i: number;
      while ((i = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        try { this.lines.push(JSON.parse(line)); } catch { this.lines.push({ text: line }); }
        for (const w of this.waiters.splice(0)) w();
      }
    });
    proc.stderr!.on("data", (d: Buffer) => { this.stderr += d.toString(); });
    this.exit = new Promise((resolve) => proc.once("exit", (code, signal) => { for (const w of this.waiters.splice(0)) w(); resolve({ code, signal }); }));
  }

  /** The first line with key `key` (waits for it up to `ms`). */
  async line<T = Record<string, unknown>>(key: string, ms = 30_000): Promise<T> {
    const t0 = Date.now();
    for (;;) {
      const hit = this.lines.find((l) => key in l);
      if (hit) return hit as T;
      if (this.proc.exitCode !== null || this.proc.signalCode !== null || Date.now() - t0 > ms) {
        throw new Error(`no ${key} line from the server (exit ${this.proc.exitCode}); stderr: ${this.stderr}`);
      }
      await new Promise<void>((r) => { this.waiters.push(r); setTimeout(r, 200); });
    }
  }

  command(cmd: string): void {
    this.proc.stdin!.write(cmd + "\n");
  }

  async stats(): Promise<{ workers: { index: number; counters: Record<string, number>; backend: string }[]; total: { workers: number; counters: Record<string, number> } }> {
    this.lines.splice(0, this.lines.length, ...this.lines.filter((l) => !("stats" in l)));
    this.command("stats");
    return (await this.line<{ stats: never }>("stats")).stats;
  }
}

/** Starts the fixture: `n` workers in `mode`. Resolves once it printed its port. */
export async function serve(n: number, mode: "process" | "thread"): Promise<Served> {
  const proc = spawn(process.execPath, [FIXTURE], {
    env: { ...process.env, WASYNCORE_LIB: LIB, N: String(n), MODE: mode },
    stdio: ["pipe", "pipe", "pipe"],
  });
  const s = new Served(proc);
  const first = await s.line<{ port: number; workers: { pid: number; threadId: number }[] }>("port");
  s.port = first.port;
  s.workers = first.workers;
  return s;
}

/** One connection's story: who greeted it, whether its echo came back whole. */
export interface Visit { worker: number | null; ok: boolean; error?: string }

/** Connects, reads the greeting, sends "ECHO <tag>", expects "<tag>" back, closes. */
export function visit(port: number, tag: string): Promise<Visit> {
  return new Promise((resolve) => {
    const c = net.connect(port, "127.0.0.1");
    let buf = "";
    let worker: number | null = null;
    let done = false;
    const finish = (v: Visit): void => { if (!done) { done = true; c.destroy(); resolve(v); } };
    c.setTimeout(20_000, () => finish({ worker, ok: false, error: "timeout" }));
    c.on("data", (d) => {
      buf += d.toString("latin1");
      if (worker === null) {
        const i = buf.indexOf("\n");
        if (i < 0) return;
        worker = Number(buf.slice(1, i));
        buf = buf.slice(i + 1);
        c.write(`ECHO ${tag}\n`);
      }
      if (buf === `${tag}\n`) finish({ worker, ok: true });
    });
    c.on("error", (e: NodeJS.ErrnoException) => finish({ worker, ok: false, error: e.code ?? String(e) }));
    c.on("close", () => finish({ worker, ok: false, error: "closed" }));
  });
}

/** Runs `count` visits, `concurrency` at a time; `onEach` after each one completes. */
export async function visits(port: number, count: number, concurrency: number, onEach?: (done: number) => void): Promise<Visit[]> {
  const out: Visit[] = new Array(count);
  let next = 0;
  let done = 0;
  const lane = async (): Promise<void> => {
    while (next < count) {
      const i = next++;
      out[i] = await visit(port, `v${i}`);
      onEach?.(++done);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, lane));
  return out;
}

/** How many visits each worker greeted. */
export function spread(vs: Visit[]): Record<number, number> {
  const by: Record<number, number> = {};
  for (const v of vs) if (v.worker !== null) by[v.worker] = (by[v.worker] ?? 0) + 1;
  return by;
}

/** Is a connection to `port` refused now? */
export function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const c = net.connect(port, "127.0.0.1");
    c.once("connect", () => { c.destroy(); resolve(false); });
    c.once("error", (e: NodeJS.ErrnoException) => resolve(e.code === "ECONNREFUSED"));
  });
}
