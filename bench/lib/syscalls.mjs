// Syscalls a server makes while a load runs: `perf stat` on the kernel's syscall tracepoints
// (counted in the kernel, the server runs at full speed) where it works, else `strace -c -f`
// (which stops the server at every syscall, so it batches more per wake-up: fewer syscalls per
// operation than unobserved; the report says which tool counted). Both attach to the running
// server by PID, every thread of it.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sleep } from './proc.mjs';

const TRACEPOINTS = '/sys/kernel/tracing/events/syscalls';
// The syscalls the breakdown names (where the kernel has a tracepoint for them); the rest count in the total.
const NAMED = ['epoll_wait', 'epoll_pwait', 'epoll_ctl', 'read', 'write', 'readv', 'writev', 'recvfrom', 'sendto',
  'recvmsg', 'sendmsg', 'sendmmsg', 'recvmmsg', 'accept4', 'futex', 'io_uring_enter', 'mprotect', 'madvise',
  'munmap', 'mmap', 'getsockopt', 'setsockopt', 'close', 'clock_gettime', 'poll', 'ppoll'];
const ATTACH_MS = 300;

let tool;

function works(cmd, args) {
  return spawnSync(cmd, args, { stdio: 'ignore', timeout: 10_000 }).status === 0;
}

/** 'perf', 'strace' or null (neither can count here); decided once. */
export function syscallTool() {
  if (tool !== undefined) return tool;
  if (works('perf', ['stat', '-x,', '-e', 'raw_syscalls:sys_enter', '--', 'true'])) tool = 'perf';
  else if (works('strace', ['-c', '-o', '/dev/null', '--', 'true'])) tool = 'strace';
  else tool = null;
  return tool;
}

const namedHere = () => NAMED.filter((n) => fs.existsSync(path.join(TRACEPOINTS, `sys_enter_${n}`)));

function parsePerf(text) {
  const by = {};
  let total = null;
  for (const line of text.split('\n')) {
    const [count, , event] = line.split(',');
    const n = Number(count);
    if (!event || !Number.isFinite(n)) continue;
    if (event === 'raw_syscalls:sys_enter') total = n;
    else if (event.startsWith('syscalls:sys_enter_') && n > 0) by[event.slice('syscalls:sys_enter_'.length)] = n;
  }
  return total === null ? null : { total, by };
}

function parseStrace(text) {
  const by = {};
  let total = null;
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 5 || !/^\d/.test(f[0])) continue;
    const name = f.at(-1);
    const calls = Number(f[3]);
    if (name === 'total') total = calls;
    else if (Number.isFinite(calls)) by[name] = calls;
  }
  return total === null ? null : { total, by };
}

/**
 * Runs `fn()` while counting the syscalls of process `pid`. Resolves { result, syscalls } where
 * syscalls is { tool, total, by: { name: count } } or null (no tool, or it failed).
 */
export async function countSyscalls(pid, fn) {
  const which = syscallTool();
  if (which === null) return { result: await fn(), syscalls: null };
  const out = path.join(os.tmpdir(), `wasyncore-bench-syscalls-${process.pid}-${pid}.txt`);
  const argv = which === 'perf'
    ? ['stat', '-x,', '-o', out, '-e', ['raw_syscalls:sys_enter', ...namedHere().map((n) => `syscalls:sys_enter_${n}`)].join(','), '-p', String(pid)]
    : ['-c', '-f', '-q', '-o', out, '-p', String(pid)];
  const counter = spawn(which, argv, { stdio: 'ignore' });
  const exited = new Promise((resolve) => counter.once('exit', resolve));
  counter.once('error', () => {});
  await sleep(ATTACH_MS);
  let result;
  try {
    result = await fn();
  } finally {
    counter.kill('SIGINT');
    await Promise.race([exited, sleep(5000)]);
    counter.kill('SIGKILL');
  }
  let syscalls = null;
  try {
    const text = fs.readFileSync(out, 'utf8');
    const parsed = which === 'perf' ? parsePerf(text) : parseStrace(text);
    syscalls = parsed && { tool: which, ...parsed };
  } catch {
    // the counter failed (e.g. not permitted to attach): no numbers
  } finally {
    fs.rmSync(out, { force: true });
  }
  return { result, syscalls };
}
