// The servers under test: wasyncore on each backend, and its peers, one process each,
// pinned to the server core. A server prints its port (or "UNAVAILABLE reason") first.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { BENCH_DIR, LOG_DIR, WASYNCORE_ENTRY } from './paths.mjs';
import { spawnPinned, stop } from './proc.mjs';

export const SERVER_CORE = 0;
export const LOAD_CORE = 1;
const STARTUP_MS = 15_000;
const script = (name) => path.join(BENCH_DIR, 'servers', name);
const python = (name, mode) => ['python3', '-W', 'ignore::DeprecationWarning', script(name), mode];

let uvloopPy;
/**
 * The Python that has uvloop: `python3` first, else the system one (Debian's python3-uvloop
 * installs for /usr/bin/python3, which a pyenv python3 earlier on PATH does not see). When
 * neither has it, `python3`: the script then says UNAVAILABLE and the uvloop rows are skipped.
 */
function uvloopPython() {
  if (uvloopPy !== undefined) return uvloopPy;
  uvloopPy = ['python3', '/usr/bin/python3'].find((py) =>
    spawnSync(py, ['-c', 'import uvloop'], { stdio: 'ignore', timeout: STARTUP_MS }).status === 0) ?? 'python3';
  return uvloopPy;
}

/** A wasyncore server on one syscall backend (the script honours WASYNCORE_BACKEND). */
const wasyncore = (backend) => ({
  label: () => `wasyncore (${backend})`,
  argv: (mode) => ['node', script('wasyncore.mjs'), mode],
  env: { WASYNCORE_BACKEND: backend },
  stats: true,
  backend,
});

/** id → how to start it. */
export const SERVERS = {
  'wasyncore-native': wasyncore('native'),
  'wasyncore-net': wasyncore('net'),
  'node-net': {
    label: () => 'Node net (raw)',
    argv: (mode) => ['node', script('node_net.mjs'), mode],
  },
  'node-http': {
    label: () => 'Node http',
    argv: () => ['node', script('node_http.mjs')],
  },
  asyncore: {
    label: (mode) => (mode === 'chat' ? 'CPython asynchat' : 'CPython asyncore'),
    argv: (mode) => python('py_asyncore.py', mode),
  },
  asyncio: {
    label: () => 'CPython asyncio',
    argv: (mode) => python('py_asyncio.py', mode),
  },
  uvloop: {
    label: () => 'uvloop',
    argv: (mode) => [uvloopPython(), script('py_asyncio.py'), mode, 'uvloop'],
  },
};

/** The Python version the uvloop peer runs on, and uvloop's, for the report header (null: not installed). */
export function uvloopVersion() {
  const r = spawnSync(uvloopPython(), ['-c', 'import sys, uvloop; print(sys.version.split()[0], uvloop.__version__)'],
    { encoding: 'utf8', timeout: STARTUP_MS });
  const [py, uv] = (r.status === 0 ? r.stdout.trim() : '').split(' ');
  return uv ? `uvloop ${uv} on Python ${py}` : null;
}

/** The subjects (wasyncore's backends), in report order; every other server is a peer. */
export const SUBJECTS = ['wasyncore-native', 'wasyncore-net'];
export const backendOf = (id) => SERVERS[id].backend;

/** Why wasyncore cannot run at all, or null. */
export function wasyncoreMissing() {
  return fs.existsSync(WASYNCORE_ENTRY) ? null : 'not built';
}

/**
 * Why each subject cannot run here ({ id: reason }; absent = it can): the server script's
 * own check, so "native" means the addon really loads in a server process.
 */
export function subjectsUnavailable() {
  const missing = wasyncoreMissing();
  return Object.fromEntries(SUBJECTS.flatMap((id) => {
    if (missing) return [[id, missing]];
    const r = spawnSync('node', [script('wasyncore.mjs'), 'check'], {
      encoding: 'utf8', timeout: STARTUP_MS, env: { ...process.env, ...SERVERS[id].env },
    });
    const first = (r.stdout ?? '').split('\n')[0];
    if (first === `OK ${backendOf(id)}`) return [];
    if (first.startsWith('UNAVAILABLE ')) return [[id, first.slice('UNAVAILABLE '.length)]];
    return [[id, `check failed: ${(first || r.stderr || String(r.error ?? `exit ${r.status}`)).trim().split('\n').at(-1)}`]];
  }));
}

/**
 * Starts server `id` in `mode` (wasyncore: with the handler `shape`). Resolves { port, pid, stats(), stop() },
 * or { unavailable: reason }; rejects with the server's stderr when it fails.
 */
export async function startServer(id, mode, shape = null) {
  const def = SERVERS[id];
  fs.mkdirSync(LOG_DIR, { recursive: true });
  // shape: the wasyncore handler class (WASYNCORE_SHAPE, see servers/wasyncore.mjs); peers ignore it
  const env = def.backend && shape ? { ...def.env, WASYNCORE_SHAPE: shape } : def.env;
  const child = spawnPinned(SERVER_CORE, def.argv(mode), { log: path.join(LOG_DIR, `${id}-${mode}.log`), env });
  const first = await child.lines.next(STARTUP_MS);
  if (first?.startsWith('UNAVAILABLE ')) {
    await stop(child);
    return { unavailable: first.slice('UNAVAILABLE '.length) };
  }
  if (!/^\d+$/.test(first ?? '')) {
    await stop(child);
    const why = first === null ? 'exited or timed out before listening' : `unexpected first line: ${first}`;
    throw new Error(`${def.label(mode)} ${why}\n${child.stderrTail.trim()}`);
  }
  return {
    port: Number(first),
    pid: child.pid,
    alive: () => child.exitCode === null && child.signalCode === null,
    stderr: () => child.stderrTail,
    stats: () => (def.stats ? requestStats(child) : Promise.resolve(null)),
    stop: () => stop(child),
  };
}

/** Asks a wasyncore server for loopStats() (SIGUSR2 → "STATS {json}"). */
async function requestStats(child) {
  child.kill('SIGUSR2');
  const json = await child.lines.expect('STATS', 3000);
  try {
    return json ? JSON.parse(json) : null;
  } catch {
    return null;
  }
}
