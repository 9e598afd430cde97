#!/usr/bin/env node
// The native backend against the net backend, raw Node net and CPython asyncore, on the
// bench/lib harness (same servers, same C/wrk load, interleaved rounds, fresh process per run).
//   node bench/native-compare.mjs [--rounds N] [--seconds S] [--only http-50,echo-100,...]
// Besides throughput and p99 it reports the server's own CPU time per request (utime + stime
// from /proc ÷ requests): on a busy machine, throughput moves with the neighbours' load, CPU
// per request much less. Writes bench/out/native-compare.json and prints a Markdown table.
import fs from 'node:fs';
import path from 'node:path';
import { SERVERS } from './lib/servers.mjs';
import { SCENARIOS } from './lib/scenarios.mjs';
import { runScenario } from './lib/runner.mjs';
import { useClients } from './lib/loads.mjs';
import { buildClients, ensureWrk, hasTaskset } from './lib/tools.mjs';
import { disablePinning, installCleanup } from './lib/proc.mjs';
import { BENCH_DIR, OUT_DIR } from './lib/paths.mjs';

const IDS = ['wasyncore-native', 'wasyncore-net', 'node-net', 'asyncore'];
const DEFAULT_SCENARIOS = ['http-50', 'http-400', 'echo-100', 'echo-1000', 'bulk'];
const log = (msg) => process.stdout.write(`${msg}\n`);

const script = path.join(BENCH_DIR, 'servers', 'wasyncore.mjs');
for (const backend of ['native', 'net']) {
  SERVERS[`wasyncore-${backend}`] = {
    label: () => `wasyncore ${backend}`,
    argv: (mode) => ['env', `WASYNCORE_BACKEND=${backend}`, 'node', script, mode],
    stats: true,
  };
}

function args(argv) {
  const o = { rounds: 3, seconds: 3, only: DEFAULT_SCENARIOS };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--rounds') o.rounds = Number(argv[++i]);
    else if (argv[i] === '--seconds') o.seconds = Number(argv[++i]);
    else if (argv[i] === '--only') o.only = argv[++i].split(',');
    else throw new Error(`unknown option ${argv[i]}`);
  }
  return o;
}

/** CPU seconds (user + system) the process has used, from /proc/<pid>/stat. */
function cpuSeconds(pid) {
  try {
    const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(f[11]) + Number(f[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
  } catch {
    return null;
  }
}

/** The scenario, measuring the server's CPU time per request around the load. */
function withCpu(scenario) {
  return {
    ...scenario,
    servers: IDS.filter((id) => scenario.servers.includes(id) || (id.startsWith('wasyncore-') && scenario.servers.includes('wasyncore'))),
    measure: async (server, cfg) => {
      const before = cpuSeconds(server.pid);
      const sample = await scenario.measure(server, cfg);
      const after = cpuSeconds(server.pid);
      const secs = cfg.wrkSeconds ?? cfg.echoSeconds;
      const requests = sample.rps ? sample.rps * (scenario.mode === 'http' ? cfg.wrkSeconds : cfg.echoSeconds) : null;
      sample.cpu_us_per_req = before !== null && after !== null && requests ? ((after - before) * 1e6) / requests : null;
      sample.cpu_share = before !== null && after !== null && secs ? (after - before) / secs : null;
      return sample;
    },
  };
}

const fmt = (v, digits = 0) => (v == null ? '—' : v.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }));

async function main() {
  const o = args(process.argv.slice(2));
  installCleanup();
  if (!hasTaskset()) disablePinning();
  useClients(buildClients());
  const env = { wrk: ensureWrk(log), subjectMissing: null };
  const cfg = { rounds: o.rounds, wrkSeconds: o.seconds, warmupSeconds: 1, echoSeconds: o.seconds, echoWarmup: 0.5,
    bulkBytes: 512 * 2 ** 20, bulkCapSeconds: 30, idleConns: 10_000, idleSeconds: 0.5 };
  const results = [];
  for (const id of o.only) {
    const scenario = SCENARIOS.find((s) => s.id === id);
    if (!scenario) throw new Error(`unknown scenario ${id}`);
    log(`\n▶ ${typeof scenario.title === 'function' ? scenario.title(cfg) : scenario.title} [${id}]`);
    results.push(await runScenario(withCpu(scenario), cfg, env, log));
  }
  fs.mkdirSync(OUT_DIR, { recursive: true });
  fs.writeFileSync(path.join(OUT_DIR, 'native-compare.json'), JSON.stringify(results.map((r) => ({ id: r.scenario.id, cells: r.cells })), null, 1));
  log(`\n| scenario | server | throughput | p99 ms | CPU µs/req | native ÷ it |`);
  log(`|---|---|---:|---:|---:|---:|`);
  for (const { scenario, cells } of results) {
    const key = scenario.id === 'bulk' ? 'mib_s' : 'rps';
    const native = cells.find((c) => c.id === 'wasyncore-native')?.median?.[key];
    for (const c of cells) {
      const m = c.median ?? {};
      const ratio = native && m[key] && c.id !== 'wasyncore-native' ? `${(native / m[key]).toFixed(2)}×` : '';
      log(`| ${scenario.id} | ${c.label} | ${fmt(m[key], key === 'mib_s' ? 0 : 0)}${key === 'mib_s' ? ' MiB/s' : ''} | ${fmt(m.p99_ms, 2)} | ${fmt(m.cpu_us_per_req, 1)} | ${ratio} |`);
    }
  }
}

await main();
