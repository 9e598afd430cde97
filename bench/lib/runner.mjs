// Runs a scenario: every server once per round, interleaved (A B C A B C …).
// The full run starts a fresh server process per run; the quick run keeps each
// server's process for all rounds of a scenario (unless the scenario needs fresh
// ones), which saves the start-ups. Collects samples and their medians.
import { startServer, SERVERS, SUBJECT } from './servers.mjs';
import { medians } from './stats.mjs';

/** Why a whole cell is skipped before it starts, or null. */
function skipReason(scenario, id, env) {
  if (scenario.needs === 'wrk' && !env.wrk) return 'skipped: wrk missing';
  if (id === SUBJECT && env.subjectMissing) return `wasyncore: ${env.subjectMissing}`;
  return null;
}

/** Server processes for one scenario: fresh per run, or kept across its rounds. */
class ServerPool {
  #kept = new Map();

  constructor(scenario, reuse) {
    this.scenario = scenario;
    this.reuse = reuse && !scenario.fresh;
  }

  async acquire(id) {
    const kept = this.#kept.get(id);
    if (kept?.alive()) return kept;
    const server = await startServer(id, this.scenario.mode);
    if (this.reuse && !server.unavailable) this.#kept.set(id, server);
    return server;
  }

  async release(server, failed) {
    if (!this.reuse || failed) await server.stop();
  }

  async close() {
    await Promise.all([...this.#kept.values()].map((s) => s.stop()));
  }
}

/** One (optionally warmed-up) measurement on server `id`. */
async function runOnce(scenario, id, cfg, pool) {
  const server = await pool.acquire(id);
  if (server.unavailable) return { unavailable: server.unavailable };
  let failed = true;
  try {
    if (scenario.warmup && cfg.warmupSeconds > 0) await scenario.warmup(server, cfg);
    const sample = await scenario.measure(server, cfg);
    if (!server.alive()) throw new Error(`server died during the run\n${server.stderr().trim()}`);
    failed = false;
    return { sample };
  } finally {
    await pool.release(server, failed);
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
      cell.reason = `${cell.label}: ${unavailable}`;
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

/** Returns { scenario, cells: [{ id, label, status, reason, samples, median, errors }] }. */
export async function runScenario(scenario, cfg, env, log) {
  const cells = scenario.servers.map((id) => ({
    id, label: SERVERS[id].label(scenario.mode), samples: [], errors: [], reason: skipReason(scenario, id, env),
  }));
  const pool = new ServerPool(scenario, cfg.reuseServers);
  try {
    for (let round = 1; round <= cfg.rounds; round++) {
      for (const cell of cells.filter((c) => !c.reason)) {
        await runCell(scenario, cell, cfg, pool, `  round ${round}/${cfg.rounds} ${cell.label.padEnd(18)}`, log);
      }
    }
  } finally {
    await pool.close();
  }
  for (const cell of cells) {
    cell.median = cell.samples.length ? medians(cell.samples) : null;
    cell.status = cell.samples.length ? 'ok' : cell.reason ? 'skipped' : 'failed';
  }
  return { scenario, cells };
}
