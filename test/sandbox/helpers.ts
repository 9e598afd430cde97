// Shared by the sandbox tests: the CLI as a child process, its output lines, and clients.
import { spawn, type ChildProcess } from "node:child_process";
import * as net from "node:net";
import { once } from "node:events";
import { fileURLToPath } from "node:url";

export const root = fileURLToPath(new URL("../../", import.meta.url));
export const cliPath = `${root}build/host/sandbox/cli.js`;

/** A running `wasyncore ...` process with its output so far. */
export interface Cli {
  proc: ChildProcess;
  stdout: string;
  stderr: string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts the CLI (build/host/sandbox/cli.js) with `args`. */
export function cli(args: string[], opts: { cwd?: string; input?: string; detached?: boolean } = {}): Cli {
  const proc = spawn(process.execPath, [cliPath, ...args], { cwd: opts.cwd ?? root, stdio: ["pipe", "pipe", "pipe"], detached: opts.detached });
  const c: Cli = { proc, stdout: "", stderr: "", exit: null as never };
  proc.stdout!.on("data", (d: Buffer) => { c.stdout += d.toString(); });
  proc.stderr!.on("data", (d: Buffer) => { c.stderr += d.toString(); });
  if (opts.input !== undefined) proc.stdin!.end(opts.input);
  c.exit = new Promise((resolve) => proc.on("close", (code, signal) => resolve({ code, signal })));
  return c;
}

/** Runs the CLI to its end. */
export async function cliRun(args: string[], opts: { cwd?: string; timeoutMs?: number } = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const c = cli(args, opts);
  const t = setTimeout(() => c.proc.kill("SIGKILL"), opts.timeoutMs ?? 60_000);
  const { code } = await c.exit;
  clearTimeout(t);
  return { code, stdout: c.stdout, stderr: c.stderr };
}

/** Waits until `cond()` holds, polling; throws after `ms` with `what`. */
export async function until(cond: () => boolean, ms = 20_000, what = "condition"): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** The port of the first "listening on HOST:PORT" line the runner printed for `name`. */
export async function listeningPort(c: Cli, name: string): Promise<number> {
  const re = new RegExp(`^wasyncore: ${name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} listening on .*:(\\d+)$`, "m");
  await until(() => re.test(c.stderr) || c.proc.exitCode !== null, 60_000, `${name} to listen (stderr: ${c.stderr})`);
  const m = re.exec(c.stderr);
  if (!m) throw new Error(`${name} did not listen: ${c.stderr}`);
  return Number(m[1]);
}

/** One echo exchange on a kept connection: sends `text`, resolves with what came back. */
export async function echoOnce(port: number, text: string): Promise<string> {
  const s = net.connect(port, "127.0.0.1");
  await once(s, "connect");
  let got = "";
  s.setEncoding("latin1");
  const done = new Promise<string>((resolve, reject) => {
    s.on("data", (d: string) => { got += d; if (got.length >= text.length) resolve(got); });
    s.on("error", reject);
    s.on("close", () => resolve(got));
  });
  s.write(text);
  const r = await done;
  s.destroy();
  return r;
}
