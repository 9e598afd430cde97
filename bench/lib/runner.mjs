// Runs a scenario: every server once per round, interleaved (A B C A B C …).
// The full run starts a fresh server process per run; the quick run keeps each
// server's process for all rounds of consecutive scenarios of the same mode (unless
// a scenario needs fresh ones), which saves the start-ups. Collects samples and their medians, and the
// server's own CPU time per operation (utime + stime from /proc around the load), split into
// user and kernel time; after the rounds, one more run per server counts its syscalls per operation.
import { cpuTimes } from './proc.mjs';
import { startServer, SERVERS } from './servers.mjs';
import { medians } from './stats.mjs';
import { countSyscalls } from './syscalls.mjs';

/** Why a whole cell is skipped before it starts, or null. */
function skipReason(scenario, id, env) {
  if (scenario.needs === 'wrk' && !env.wrk) return 'skipped: wrk missing';
  return env.unavailable?.[id] ?? null;
}

/**
 * scenario.measure, plus the server's CPU µs per operation: its CPU share over the
 * measurement divided by the rate (warm-ups inside the client count on both sides), as
 * user_us + sys_us = cpu_us. (A scenario that measures CPU itself, idle-http, sets them.)
 */
async function measureWithCpu(scenario, server, cfg) {
  const cpu0 = cpuTimes(server.pid);
  const t0 = process.hrtime.bigint();
  const sample = await scenario.measure(server, cfg);
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu1 = cpuTimes(server.pid);
  if (scenario.cpu) {
    const rate = sample[scenario.cpu.per];
    const per = (k) => (cpu0 == null || cpu1 == null || !(rate > 0) ? null : ((cpu1[k] - cpu0[k]) / wall / rate) * 1e6);
    sample.user_us = per('user');
    sample.sys_us = per('sys');
    sample.cpu_us = sample.user_us == null ? null : sample.user_us + sample.sys_us;
  }
  return sample;
}

/**
 * Server processes: fresh per run, or (quick run) kept for every scenario of the same
 * mode (http, echo, chat) until the run moves on to another mode. A scenario marked
 * `fresh` (idle: memory is measured from a fresh process) always starts its own.
 */
export class ServerPool {
  #kept = new Map();

  constructor(reuse) {
    this.reuse = reuse;
  }

  #keeps(scenario) {
    return this.reuse && !scenario.fresh;
  }

  async acquire(id, scenario) {
    const key = `${id}/${scenario.mode}${scenario.shape ? `/${scenario.shape}` : ''}`;
    const kept = this.#keeps(scenario) ? this.#kept.get(key) : null;
    if (kept?.alive()) return kept;
    const server = await startServer(id, scenario.mode, scenario.shape);
    if (this.#keeps(scenario) && !server.unavailable) this.#kept.set(key, server);
    return server;
  }

  async release(server, scenario, failed) {
    if (!this.#keeps(scenario) || failed) await server.stop();
  }

  /** Stops the kept servers of other modes than `mode` (all of them when mode is null). */
  async keepOnly(mode) {
    const drop = [...this.#kept].filter(([key]) => key.split('/')[1] !== mode);
    for (const [key] of drop) this.#kept.delete(key);
    await Promise.all(drop.map(([, s]) => s.stop()));
  }

  close() {
    return this.keepOnly(null);
  }
}

/** One (optionally warmed-up) measurement on server `id`. */
async function runOnce(scenario, id, cfg, pool) {
  const server = await pool.acquire(id, scenario);
  if (server.unavailable) return { unavailable: server.unavailable };
  let failed = true;
  try {
    if (scenario.warmup && cfg.warmupSeconds > 0) await scenario.warmup(server, cfg);
    const sample = await measureWithCpu(scenario, server, cfg);
    if (!server.alive()) throw new Error(`server died during the run\n${server.stderr().trim()}`);
    failed = false;
    return { sample };
  } finally {
    await pool.release(server, scenario, failed);
  }
}

/**
 * One more run on server `id` with its syscalls counted (bench/lib/syscalls.mjs): syscalls per
 * operation in total and by name, or null. Echo clients skip their warm-up here, so every syscall
 * counted belongs to a counted operation.
 */
async function syscallRun(scenario, id, cfg, pool) {
  const server = await pool.acquire(id, scenario);
  if (server.unavailable) return null;
  let failed = true;
  try {
    const quiet = { ...cfg, echoWarmup: 0 };
    if (scenario.warmup && cfg.warmupSeconds > 0) await scenario.warmup(server, cfg);
    let counted = null;
    const around = async (fn) => {
      const { result, syscalls } = await countSyscalls(server.pid, fn);
      counted = { result, syscalls };
      return result;
    };
    // idle-http counts only its loaded phase (`around`); the others the whole measurement
    if (scenario.syscallsInside) await scenario.measure(server, quiet, around);
    else await around(() => scenario.measure(server, quiet));
    failed = false;
    const ops = counted?.result?.ops;
    if (!counted?.syscalls || !(ops > 0)) return null;
    const { tool, total, by } = counted.syscalls;
    return { tool, per_op: total / ops, by: Object.fromEntries(Object.entries(by).map(([k, v]) => [k, v / ops])) };
  } finally {
    await pool.release(server, scenario, failed);
  }
}

function describe(scenario, sample) {
  const m = scenario.metrics.find((x) => x.summary) ?? scenario.metrics[0];
  const v = sample[m.key];
  return v == null ? 'ok' : `${v.toFixed(v >= 100 ? 0 : 2)} ${m.label}`;
}

async function runCell(scenario, cell, cfg, pool, tag, log) {
  const t0 = Date.now();
  try {
    const { sample, unavailable } = await runOnce(scenario, cell.id, cfg, pool);
    if (unavailable) {
      cell.reason = unavailable;
      cell.unavailable = true;
      log(`${tag} skipped (${unavailable})`);
      return;
    }
    cell.samples.push(sample);
    log(`${tag} ${describe(scenario, sample)}  [${((Date.now() - t0) / 1000).toFixed(1)} s]`);
  } catch (err) {
    const message = String(err.message ?? err);
    cell.errors.push(message);
    log(`${tag} FAILED: ${message.split('\n').slice(0, 3).join(' | ')}`);
  }
}

/**
 * Returns { scenario, cells: [{ id, label, status, reason, unavailable, samples, median, errors }] }
 * (reason: why skipped; unavailable: the server cannot run on this machine, e.g. no native addon).
 */
export async function runScenario(scenario, cfg, env, log, sharedPool = null) {
  const servers = env.servers ? scenario.servers.filter((id) => env.servers.includes(id)) : scenario.servers;
  const cells = servers.map((id) => {
    const reason = skipReason(scenario, id, env);
    return { id, label: SERVERS[id].label(scenario.mode), samples: [], errors: [], reason,
      unavailable: reason !== null && reason === env.unavailable?.[id] };
  });
  const pool = sharedPool ?? new ServerPool(cfg.reuseServers);
  await pool.keepOnly(scenario.mode);
  try {
    for (let round = 1; round <= cfg.rounds; round++) {
      for (const cell of cells.filter((c) => !c.reason)) {
        await runCell(scenario, cell, cfg, pool, `  round ${round}/${cfg.rounds} ${cell.label.padEnd(19)}`, log);
      }
    }
    if (cfg.syscalls && scenario.syscalls) {
      for (const cell of cells.filter((c) => !c.reason && c.samples.length)) {
        try {
          cell.syscalls = await syscallRun(scenario, cell.id, cfg, pool);
          const s = cell.syscalls;
          log(`  syscalls ${cell.label.padEnd(19)} ${s ? `${s.per_op.toFixed(2)} per ${scenario.opUnit ?? 'op'} (${s.tool})` : 'not counted'}`);
        } catch (err) {
          log(`  syscalls ${cell.label.padEnd(19)} FAILED: ${String(err.message ?? err).split('\n')[0]}`);
        }
      }
    }
  } finally {
    if (!sharedPool) await pool.close();
  }
  for (const cell of cells) {
    cell.median = cell.samples.length ? medians(cell.samples) : null;
    if (cell.median && cell.syscalls) cell.median.sys_per_op = cell.syscalls.per_op;
    cell.status = cell.samples.length ? 'ok' : cell.reason ? 'skipped' : 'failed';
  }
  return { scenario, cells };
}
