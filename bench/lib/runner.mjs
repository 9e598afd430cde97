// Runs a scenario: every server once per round, interleaved (A B C A B C …),
// a fresh server process per run; collects samples and their medians.
import { startServer, SERVERS, SUBJECT } from './servers.mjs';
import { medians } from './stats.mjs';

/** Why a whole cell is skipped before it starts, or null. */
function skipReason(scenario, id, env) {
  if (scenario.needs === 'wrk' && !env.wrk) return 'skipped: wrk missing';
  if (id === SUBJECT && env.subjectMissing) return `wasyncore: ${env.subjectMissing}`;
  return null;
}

/** One server process, one (optionally warmed-up) measurement. */
async function runOnce(scenario, id, cfg) {
  const server = await startServer(id, scenario.mode);
  if (server.unavailable) return { unavailable: server.unavailable };
  try {
    if (scenario.warmup && cfg.warmupSeconds > 0) await scenario.warmup(server, cfg);
    const sample = await scenario.measure(server, cfg);
    if (!server.alive()) throw new Error(`server died during the run\n${server.stderr().trim()}`);
    return { sample };
  } finally {
    await server.stop();
  }
}

function describe(scenario, sample) {
  const m = scenario.metrics.find((x) => x.summary) ?? scenario.metrics[0];
  const v = sample[m.key];
  return v == null ? 'ok' : `${v.toFixed(v >= 100 ? 0 : 2)} ${m.label}`;
}

/** Returns { scenario, cells: [{ id, label, status, reason, samples, median, errors }] }. */
export async function runScenario(scenario, cfg, env, log) {
  const cells = scenario.servers.map((id) => ({
    id, label: SERVERS[id].label(scenario.mode), samples: [], errors: [], reason: skipReason(scenario, id, env),
  }));
  for (let round = 1; round <= cfg.rounds; round++) {
    for (const cell of cells.filter((c) => !c.reason)) {
      const tag = `  round ${round}/${cfg.rounds} ${cell.label.padEnd(18)}`;
      const t0 = Date.now();
      try {
        const { sample, unavailable } = await runOnce(scenario, cell.id, cfg);
        if (unavailable) {
          cell.reason = `${cell.label}: ${unavailable}`;
          log(`${tag} skipped (${unavailable})`);
          continue;
        }
        cell.samples.push(sample);
        log(`${tag} ${describe(scenario, sample)}  [${((Date.now() - t0) / 1000).toFixed(1)} s]`);
      } catch (err) {
        cell.errors.push(String(err.message ?? err));
        log(`${tag} FAILED: ${String(err.message ?? err).split('\n').slice(0, 3).join(' | ')}`);
      }
    }
  }
  for (const cell of cells) {
    cell.median = cell.samples.length ? medians(cell.samples) : null;
    cell.status = cell.samples.length ? 'ok' : cell.reason ? 'skipped' : 'failed';
  }
  return { scenario, cells };
}
