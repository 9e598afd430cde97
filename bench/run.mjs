#!/usr/bin/env node
// wasyncore benchmark harness.
//   node bench/run.mjs            full run → bench/RESULTS.md, bench/results.svg (< 15 min)
//   node bench/run.mjs --quick    3 short rounds → bench/out/quick/ (< 2 min)
//   node bench/run.mjs --smoke    every scenario once, ~1 s each → bench/out/smoke/; exit 1 if any failed
// wasyncore runs twice per scenario, on its native and its net backend (the native one is
// reported unavailable, not failed, where the addon does not load).
// Options: --only id,id  (scenario ids)   --rounds N   --out DIR
//          --servers id,id  (wasyncore-native, wasyncore-net, node-net, node-http, asyncore, asyncio)
//          --render FILE  (rewrite RESULTS.md / results.svg from a saved bench/out/results-*.json)
import fs from 'node:fs';
import path from 'node:path';
import { MODES } from './lib/config.mjs';
import { useClients } from './lib/loads.mjs';
import { BENCH_DIR, OUT_DIR } from './lib/paths.mjs';
import { disablePinning, installCleanup } from './lib/proc.mjs';
import { keepSections, renderMarkdown, summaryRows, targetTally, titleOf } from './lib/report.mjs';
import { runScenario, ServerPool } from './lib/runner.mjs';
import { SCENARIOS } from './lib/scenarios.mjs';
import { SERVERS, subjectsUnavailable } from './lib/servers.mjs';
import { fmt, fmtRatio } from './lib/stats.mjs';
import { renderSvg } from './lib/svg.mjs';
import { buildClients, ensureWrk, hasTaskset, machineInfo } from './lib/tools.mjs';

const log = (msg) => process.stdout.write(`${msg}\n`);

function parseArgs(argv) {
  const opts = { mode: 'full', only: null, servers: null, rounds: null, out: null, render: null };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--smoke' || arg === '--quick' || arg === '--full') opts.mode = arg.slice(2);
    else if (arg === '--only') opts.only = argv[++i].split(',');
    else if (arg === '--rounds') opts.rounds = Number(argv[++i]);
    else if (arg === '--out') opts.out = path.resolve(argv[++i]);
    else if (arg === '--servers') opts.servers = argv[++i].split(',');
    else if (arg === '--render') opts.render = path.resolve(argv[++i]);
    else if (arg === '--help' || arg === '-h') {
      log(fs.readFileSync(new URL(import.meta.url), 'utf8').split('\n').slice(1, 10).join('\n').replace(/^\/\/ ?/gm, ''));
      process.exit(0);
    } else {
      log(`unknown option ${arg} (see --help)`);
      process.exit(2);
    }
  }
  return opts;
}

function selectScenarios(only) {
  if (!only) return SCENARIOS;
  const unknown = only.filter((id) => !SCENARIOS.some((s) => s.id === id));
  if (unknown.length) {
    log(`unknown scenario(s) ${unknown.join(', ')}; known: ${SCENARIOS.map((s) => s.id).join(', ')}`);
    process.exit(2);
  }
  return SCENARIOS.filter((s) => only.includes(s.id));
}

function prepare(opts) {
  const unknown = (opts.servers ?? []).filter((id) => !SERVERS[id]);
  if (unknown.length) {
    log(`unknown server(s) ${unknown.join(', ')}; known: ${Object.keys(SERVERS).join(', ')}`);
    process.exit(2);
  }
  const env = { wrk: ensureWrk(log), unavailable: subjectsUnavailable(), servers: opts.servers };
  if (!hasTaskset()) {
    log('taskset missing or fewer than 2 cores: servers and load are not pinned');
    disablePinning();
  }
  useClients(buildClients());
  for (const [id, why] of Object.entries(env.unavailable)) log(`${SERVERS[id].label()}: ${why} — its rows are skipped`);
  if (!env.wrk) log('wrk missing: HTTP rows are skipped');
  return env;
}

function writeOutputs(outDir, data, saveRaw = true) {
  fs.mkdirSync(outDir, { recursive: true });
  fs.mkdirSync(OUT_DIR, { recursive: true });
  const md = path.join(outDir, 'RESULTS.md');
  const svg = path.join(outDir, 'results.svg');
  fs.writeFileSync(md, keepSections(fs.existsSync(md) ? fs.readFileSync(md, 'utf8') : '', renderMarkdown(data)));
  fs.writeFileSync(svg, renderSvg(data));
  const raw = data.results.map(({ scenario, cells }) => ({ id: scenario.id, cells }));
  // The raw samples: bench/out/results-MODE.json, or beside the outputs when --out chose a directory.
  const rawDir = outDir === path.resolve(BENCH_DIR, MODES[data.mode].outDir) ? OUT_DIR : outDir;
  if (saveRaw) fs.writeFileSync(path.join(rawDir, `results-${data.mode}.json`), JSON.stringify({ ...data, results: raw }, null, 1));
  return [md, svg];
}

function printSummary(data) {
  log('\nSummary (each wasyncore backend ÷ peer):');
  const rows = summaryRows(data.results, data.cfg);
  for (const row of rows) {
    if (row.first) log(`  ${row.title} — ${row.metric.label}`);
    const ratios = Object.entries(row.ratios).filter(([id]) => row.peers[id])
      .map(([id, r]) => `${row.peers[id]} ${fmtRatio(r)}`).join(', ');
    const value = row.subject == null && row.skipped ? row.skipped : fmt(row.subject);
    log(`    ${row.backend.padEnd(6)} ${value}; ${ratios}${row.backend === 'native' ? `; net backend ${fmtRatio(row.vsNet)}` : ''}`);
  }
  for (const backend of ['native', 'net']) {
    const t = targetTally(rows, backend);
    const nodata = t.total - t.met - t.missed;
    log(`  ${backend} backend: ${t.met} of ${t.total} targets met${nodata ? ` (${nodata} without data)` : ''}`);
  }
}

/** Cells that should have produced a number and did not. */
function failures(results) {
  return results.flatMap(({ scenario, cells }) =>
    cells.filter((c) => c.status === 'failed').map((c) => `${scenario.id} / ${c.label}: ${c.errors[0]?.split('\n')[0]}`));
}

/** Rewrites the outputs from a saved raw JSON file (no measuring). */
function render(opts) {
  const saved = JSON.parse(fs.readFileSync(opts.render, 'utf8'));
  const results = saved.results.map(({ id, cells }) => ({ scenario: SCENARIOS.find((s) => s.id === id), cells }))
    .filter((r) => r.scenario);
  const data = { ...saved, results };
  const written = writeOutputs(opts.out ?? path.resolve(BENCH_DIR, data.cfg.outDir), data, false);
  log(`wrote ${written.map((p) => path.relative(process.cwd(), p)).join(', ')} from ${path.relative(process.cwd(), opts.render)}`);
}

async function main() {
  if (process.argv.includes('--workers')) return (await import('./workers.mjs')).main(process.argv.slice(2)); // several cores: bench/workers.mjs
  const opts = parseArgs(process.argv.slice(2));
  if (opts.render) return render(opts);
  const cfg = { ...MODES[opts.mode], ...(opts.rounds ? { rounds: opts.rounds } : {}) };
  installCleanup();
  const started = Date.now();
  const info = machineInfo();
  log(`wasyncore bench (${opts.mode}): ${info.cpu}, Node ${info.node}, ${info.python}`);
  const env = prepare(opts);
  const results = [];
  const pool = new ServerPool(cfg.reuseServers);
  try {
    for (const scenario of selectScenarios(opts.only)) {
      log(`\n▶ ${titleOf(scenario, cfg)} [${scenario.id}]`);
      const t0 = Date.now();
      results.push(await runScenario(scenario, cfg, env, log, pool));
      log(`  (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
    }
  } finally {
    await pool.close();
  }
  const seconds = (Date.now() - started) / 1000;
  const data = { results, info, cfg, mode: opts.mode, unavailable: env.unavailable, seconds };
  const written = writeOutputs(opts.out ?? path.resolve(BENCH_DIR, cfg.outDir), data);
  printSummary(data);
  const failed = failures(results);
  const cells = results.flatMap((r) => r.cells);
  const skipped = cells.filter((c) => c.status === 'skipped').length;
  log(`\nwrote ${written.map((p) => path.relative(process.cwd(), p)).join(', ')} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  log(`bench ${opts.mode}: ${cells.length - failed.length - skipped} cells ok, ${failed.length} cells failed, ${skipped} cells skipped`);
  for (const f of failed) log(`  FAILED ${f}`);
  process.exitCode = failed.length ? 1 : 0;
}

await main();
