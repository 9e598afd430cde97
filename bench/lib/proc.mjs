// Child processes for the harness: pinned to a core, with a raised fd limit,
// read line by line, always killed when the harness ends.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import readline from 'node:readline';

const live = new Set();
const FD_LIMIT_SCRIPT = 'ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"; exec "$@"';
let pinning = true;

/** Turns core pinning off (when taskset is missing). */
export function disablePinning() {
  pinning = false;
}

/** Spawns argv on `core` (null: anywhere) via bash, so the fd limit can be raised first. */
export function spawnPinned(core, argv, { log, env = {} } = {}) {
  const pin = pinning && core != null ? ['taskset', '-c', String(core)] : [];
  const child = spawn('bash', ['-c', FD_LIMIT_SCRIPT, 'bench', ...pin, ...argv], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, PYTHONWARNINGS: 'ignore::DeprecationWarning', ...env },
  });
  live.add(child);
  child.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  child.exited.then(() => live.delete(child));
  child.stdin.on('error', () => {});
  child.stderrTail = '';
  child.stderr.on('data', (chunk) => {
    child.stderrTail = (child.stderrTail + chunk).slice(-2000);
  });
  if (log) {
    const out = fs.createWriteStream(log, { flags: 'a' });
    out.write(`\n=== ${new Date().toISOString()} ${argv.join(' ')}\n`);
    child.stderr.pipe(out);
  }
  child.lines = new LineQueue(child.stdout);
  return child;
}

/** Lines of a stream, awaited one at a time. */
class LineQueue {
  #lines = [];
  #waiters = [];
  #closed = false;

  constructor(stream) {
    const rl = readline.createInterface({ input: stream });
    rl.on('line', (line) => this.#push(line));
    rl.on('close', () => {
      this.#closed = true;
      for (const w of this.#waiters.splice(0)) w(null);
    });
  }

  #push(line) {
    const waiter = this.#waiters.shift();
    if (waiter) waiter(line);
    else this.#lines.push(line);
  }

  /** The next line; null at end of stream or after timeoutMs. */
  next(timeoutMs) {
    if (this.#lines.length) return Promise.resolve(this.#lines.shift());
    if (this.#closed) return Promise.resolve(null);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w !== done);
        resolve(null);
      }, timeoutMs);
      const done = (line) => {
        clearTimeout(timer);
        resolve(line);
      };
      this.#waiters.push(done);
    });
  }

  /** The next line starting with `prefix ` (others skipped), or null. */
  async expect(prefix, timeoutMs) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const line = await this.next(Math.max(0, deadline - Date.now()));
      if (line === null || line.startsWith(`${prefix} `)) return line?.slice(prefix.length + 1) ?? null;
    }
  }
}

/** SIGTERM, then SIGKILL after graceMs; resolves when the process is gone. */
export async function stop(child, graceMs = 2000) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await child.exited;
  clearTimeout(timer);
}

/** Runs argv to completion (killed after timeoutMs); resolves { code, stdout, stderr }. */
export async function run(core, argv, { timeoutMs = 60_000, env = {} } = {}) {
  const child = spawnPinned(core, argv, { env });
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const lines = [];
  for (let line = await child.lines.next(timeoutMs); line !== null; line = await child.lines.next(timeoutMs)) {
    lines.push(line);
  }
  const { code, signal } = await child.exited;
  clearTimeout(timer);
  const stderr = signal === 'SIGKILL' ? `timed out after ${timeoutMs} ms\n${child.stderrTail}` : child.stderrTail;
  return { code, stdout: lines.join('\n'), stderr };
}

/** Kills every child still alive (on exit, ctrl-c, SIGTERM). */
export function killAll() {
  for (const child of live) child.kill('SIGKILL');
}

export function installCleanup() {
  process.on('exit', killAll);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(signal, () => {
      killAll();
      process.stderr.write(`\nbench: interrupted (${signal}); servers and clients stopped\n`);
      process.exit(130);
    });
  }
}

/** Resident set size of a process in bytes (Linux), or null. */
export function rssBytes(pid) {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = /^VmRSS:\s+(\d+) kB/m.exec(status);
    return kb ? Number(kb[1]) * 1024 : null;
  } catch {
    return null;
  }
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** CPU seconds process `pid` has used, { user, sys } (utime, stime from /proc/PID/stat), or null. */
export function cpuTimes(pid) {
  try {
    const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return { user: Number(fields[11]) / 100, sys: Number(fields[12]) / 100 }; // USER_HZ (100) ticks
  } catch {
    return null;
  }
}
