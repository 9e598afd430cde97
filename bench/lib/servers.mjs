// The servers under test: wasyncore and its peers, one process each, pinned to
// the server core. A server prints its port (or "UNAVAILABLE reason") first.
import fs from 'node:fs';
import path from 'node:path';
import { BENCH_DIR, LOG_DIR, WASYNCORE_ENTRY } from './paths.mjs';
import { spawnPinned, stop } from './proc.mjs';

export const SERVER_CORE = 0;
export const LOAD_CORE = 1;
const STARTUP_MS = 15_000;
const script = (name) => path.join(BENCH_DIR, 'servers', name);
const python = (name, mode) => ['python3', '-W', 'ignore::DeprecationWarning', script(name), mode];

/** id → how to start it. `peer` groups the report's ratio columns. */
export const SERVERS = {
  wasyncore: {
    label: () => 'wasyncore',
    argv: (mode) => ['node', script('wasyncore.mjs'), mode],
    stats: true,
  },
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
};

export const SUBJECT = 'wasyncore';

/** Why wasyncore cannot run at all, or null. */
export function wasyncoreMissing() {
  return fs.existsSync(WASYNCORE_ENTRY) ? null : 'not built';
}

/**
 * Starts server `id` in `mode`. Resolves { port, pid, stats(), stop() },
 * or { unavailable: reason }; rejects with the server's stderr when it fails.
 */
export async function startServer(id, mode) {
  const def = SERVERS[id];
  fs.mkdirSync(LOG_DIR, { recursive: true });
  const child = spawnPinned(SERVER_CORE, def.argv(mode), { log: path.join(LOG_DIR, `${id}-${mode}.log`) });
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
