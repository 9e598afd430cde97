// Load generators, each pinned to the load core. Every function resolves one
// sample (an object of numbers) or throws with the tool's own message.
import path from 'node:path';
import { BENCH_DIR } from './paths.mjs';
import { cpuTimes, rssBytes, run, sleep, spawnPinned } from './proc.mjs';
import { LOAD_CORE } from './servers.mjs';

const HOST = '127.0.0.1';
let clients = {};

/** Paths of the compiled C clients (from tools.buildClients). */
export function useClients(paths) {
  clients = paths;
}

function parseJsonLine(stdout, prefix = '') {
  const line = stdout.split('\n').find((l) => l.startsWith(`${prefix}{`));
  if (!line) throw new Error('no result line');
  return JSON.parse(line.slice(prefix.length));
}

async function runTool(argv, { timeoutMs, env, prefix = '' }) {
  const { code, stdout, stderr } = await run(LOAD_CORE, argv, { timeoutMs, env });
  try {
    return { code, result: parseJsonLine(stdout, prefix) };
  } catch {
    throw new Error(`${path.basename(argv[0])} exited ${code}: ${(stderr || stdout).trim().slice(-500)}`);
  }
}

/** wrk HTTP/1.1 keep-alive load: { rps, p50_ms, p99_ms, errors }. */
export async function wrk(port, { conns, seconds, pipeline = 1 }) {
  const argv = ['wrk', '-t1', `-c${conns}`, `-d${Math.max(1, Math.round(seconds))}s`, '--timeout', '5s',
    '-s', path.join(BENCH_DIR, 'load', 'wrk.lua'), `http://${HOST}:${port}/`];
  const { result: r } = await runTool(argv, {
    timeoutMs: (seconds + 30) * 1000, env: { WRK_PIPELINE: String(pipeline) }, prefix: 'WRKJSON ',
  });
  const errors = r.connect_errors + r.read_errors + r.write_errors + r.status_errors + r.timeouts;
  if (r.requests === 0) throw new Error(`wrk completed no request (${errors} errors)`);
  return {
    ops: r.requests,
    rps: r.requests / (r.duration_us / 1e6),
    p50_ms: r.p50_us / 1000,
    // wrk's percentiles are unreliable with pipelining (it reports 0).
    p99_ms: pipeline > 1 || r.p99_us === 0 ? null : r.p99_us / 1000,
    errors,
  };
}

/** C echo ping-pong: { rps, p50_ms, p99_ms, errors }. */
export async function echo(port, { conns, size = 64, seconds, warmup = 0 }) {
  const argv = [clients.echo_client, HOST, String(port), String(conns), String(size), String(seconds), String(warmup)];
  const { code, result: r } = await runTool(argv, { timeoutMs: (seconds + warmup + 60) * 1000 });
  if (code !== 0 || r.round_trips === 0) throw new Error(`echo client: no round trip completed (${r.errors} errors)`);
  return { ops: r.round_trips, rps: r.rps, p50_ms: r.p50_us / 1000, p99_ms: r.p99_us / 1000, errors: r.errors };
}

/** C streaming client: { mib_s, records_s, seconds } (checks every echoed byte). */
export async function stream(port, { bytes, record = 0, window, seconds }) {
  const argv = [clients.stream_client, HOST, String(port), String(bytes), String(record), String(window), String(seconds)];
  const { code, result: r } = await runTool(argv, { timeoutMs: (seconds + 60) * 1000 });
  if (code !== 0) throw new Error(`stream client failed after ${r.bytes} bytes (echo incomplete or corrupted)`);
  const mib = r.bytes / 2 ** 20;
  return { ops: record ? r.records_per_s * r.seconds : mib, mib_s: r.mib_per_s, records_s: record ? r.records_per_s : null, seconds: r.seconds, mib };
}

/**
 * The idle-connections probe against a running server: round-trip time on one
 * active connection before and while `conns` idle connections are open, and the
 * server's RSS (and wasyncore core memory) growth per idle connection.
 */
export async function idle(server, { conns, seconds, connectCap }) {
  const argv = [clients.idle_client, HOST, String(server.port), String(conns), String(seconds), String(connectCap)];
  const probe = spawnPinned(LOAD_CORE, argv);
  const step = async (tag, timeoutMs) => {
    const json = await probe.lines.expect(tag, timeoutMs);
    if (json === null) throw new Error(`idle client: no ${tag} line. ${probe.stderrTail.trim()}`);
    return JSON.parse(json);
  };
  try {
    const base = await step('BASE', (seconds + 10) * 1000);
    const before = await memory(server);
    probe.stdin.write('go\n');
    const ready = await step('READY', (connectCap + 30) * 1000);
    if (ready.conns === 0) throw new Error('no idle connection could be opened');
    await sleep(150);
    const after = await memory(server);
    probe.stdin.write('go\n');
    const loaded = await step('LOADED', (seconds + 30) * 1000);
    return idleSample(base, loaded, ready, before, after);
  } finally {
    probe.stdin.end();
    await Promise.race([probe.exited, sleep(3000)]);
    probe.kill('SIGKILL');
  }
}

async function memory(server) {
  const stats = await server.stats();
  return { rss: rssBytes(server.pid), core: stats?.coreMemoryInUse ?? null, reserved: stats?.coreMemoryReserved ?? null };
}

function idleSample(base, loaded, ready, before, after) {
  const perConn = (a, b) => (a == null || b == null ? null : (b - a) / ready.conns);
  return {
    rss_per_conn: perConn(before.rss, after.rss),
    core_per_conn: perConn(before.core, after.core),
    core_reserved_per_conn: perConn(before.reserved, after.reserved),
    rtt_base_us: base.p50_us,
    rtt_idle_us: loaded.p50_us,
    pass_cost_us: loaded.p50_us - base.p50_us,
    pass_ns_per_conn: ((loaded.p50_us - base.p50_us) * 1000) / ready.conns,
    conns: ready.conns,
    connect_s: ready.seconds,
  };
}

/** One wrk run with the server's CPU time over it: { rps, p99_ms, ops, user_us, sys_us, cpu_us } (µs per request). */
async function wrkWithCpu(server, opts) {
  const c0 = cpuTimes(server.pid);
  const t0 = process.hrtime.bigint();
  const r = await wrk(server.port, opts);
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  const c1 = cpuTimes(server.pid);
  const per = (k) => (c0 && c1 && r.rps > 0 ? ((c1[k] - c0[k]) / wall / r.rps) * 1e6 : null);
  const user = per('user');
  const sys = per('sys');
  return { ...r, user_us: user, sys_us: sys, cpu_us: user == null ? null : user + sys };
}

/**
 * HTTP keep-alive throughput of a running server without, then with, `conns` idle keep-alive
 * connections open (bench/load/hold_client.c: each made one request, then stays silent).
 * `around(fn)` wraps the loaded wrk run (the harness counts its syscalls there). Sample: req/s
 * both ways, `keep` = with ÷ without, and CPU µs per request both ways.
 */
export async function idleHttp(server, { conns, idleConns, seconds, warmup, connectCap }, around = (fn) => fn()) {
  if (warmup > 0) await wrk(server.port, { conns, seconds: warmup });
  const base = await wrkWithCpu(server, { conns, seconds });
  const hold = spawnPinned(LOAD_CORE, [clients.hold_client, HOST, String(server.port), String(idleConns), String(connectCap)]);
  try {
    const json = await hold.lines.expect('READY', (connectCap + 30) * 1000);
    if (json === null) throw new Error(`hold client: no READY line. ${hold.stderrTail.trim()}`);
    const ready = JSON.parse(json);
    if (ready.conns === 0) throw new Error('no idle connection could be opened');
    await sleep(150);
    const loaded = await around(() => wrkWithCpu(server, { conns, seconds }));
    return {
      rps_base: base.rps, rps_idle: loaded.rps, keep: loaded.rps / base.rps,
      keep_cpu: base.cpu_us != null && loaded.cpu_us > 0 ? base.cpu_us / loaded.cpu_us : null,
      cpu_us_base: base.cpu_us, cpu_us: loaded.cpu_us, user_us: loaded.user_us, sys_us: loaded.sys_us,
      p99_ms: loaded.p99_ms, conns: ready.conns, ops: loaded.ops,
    };
  } finally {
    hold.stdin.end();
    await Promise.race([hold.exited, sleep(3000)]);
    hold.kill('SIGKILL');
  }
}
