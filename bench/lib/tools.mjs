// The harness's tools: wrk (installed when missing and possible), the C load
// clients (built with gcc), taskset, and a description of the machine.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BENCH_DIR, OUT_DIR } from './paths.mjs';
import { uvloopVersion } from './servers.mjs';
import { syscallTool } from './syscalls.mjs';

const CLIENTS = ['echo_client', 'stream_client', 'idle_client', 'hold_client'];

function has(cmd) {
  return spawnSync('bash', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

function firstLine(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return `${r.stdout || ''}${r.stderr || ''}`.split('\n')[0].trim() || null;
}

/** Makes sure wrk exists; installs the Debian package when root. Returns true if usable. */
export function ensureWrk(log) {
  if (has('wrk')) return true;
  if (process.getuid?.() !== 0 || !has('apt-get')) {
    log('wrk missing and cannot install it here (needs root and apt-get)');
    return false;
  }
  log('wrk missing: apt-get install -y wrk');
  const r = spawnSync('bash', ['-c', 'apt-get update -qq && apt-get install -y -qq wrk'], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    timeout: 300_000,
  });
  return r.status === 0 && has('wrk');
}

export function hasTaskset() {
  return has('taskset') && os.cpus().length >= 2;
}

/** Compiles the C load clients into bench/out/ when their sources changed. Returns their paths. */
export function buildClients() {
  fs.mkdirSync(OUT_DIR, { recursive: true });
  const loadDir = path.join(BENCH_DIR, 'load');
  const header = fs.statSync(path.join(loadDir, 'common.h')).mtimeMs;
  const paths = {};
  for (const name of CLIENTS) {
    const src = path.join(loadDir, `${name}.c`);
    const bin = path.join(OUT_DIR, name);
    const built = fs.existsSync(bin) ? fs.statSync(bin).mtimeMs : 0;
    if (built < Math.max(header, fs.statSync(src).mtimeMs)) {
      execFileSync('gcc', ['-O2', '-Wall', '-o', bin, src], { stdio: 'inherit' });
    }
    paths[name] = bin;
  }
  return paths;
}

/** Machine, OS and tool versions for the report header. */
export function machineInfo() {
  const cpus = os.cpus();
  return {
    cpu: `${cpus[0]?.model?.trim() ?? 'unknown CPU'} × ${cpus.length}`,
    memory: `${(os.totalmem() / 2 ** 30).toFixed(1)} GiB`,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    python: firstLine('python3', ['--version']),
    wrk: has('wrk') ? firstLine('wrk', ['-v']).replace(/^(wrk \S+).*/, '$1') : 'missing',
    gcc: firstLine('gcc', ['--version']),
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    loadavg: os.loadavg().map((x) => x.toFixed(2)).join(' '),
    cores: cpus.length,
    uvloop: uvloopVersion(),
    syscallTool: syscallTool(),
  };
}
