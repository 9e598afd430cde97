// TLS benchmark: HTTPS keep-alive "hello" and handshakes, wasyncore (both backends) vs Node https,
// Node tls and CPython asyncore + ssl, interleaved rounds, medians, server CPU per request.
// usage: node bench/tls-compare.mjs [--rounds N] [--seconds S] [--warmup S] [--conns C] [--servers a,b] [--only hello,handshake] [--out FILE.md] [--results]
// --results puts the tables into bench/RESULTS.md between <!-- tls:begin --> and <!-- tls:end --> (replacing an earlier run's).
// Needs `npm run build`, wrk (built with OpenSSL), openssl and python3 3.11. See bench/README.md.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { BENCH_DIR, OUT_DIR } from './lib/paths.mjs';
import { installCleanup, run, spawnPinned, stop } from './lib/proc.mjs';
import { median, fmt, fmtRatio } from './lib/stats.mjs';

const SERVER_CORE = 0;
const LOAD_CORE = 1;
const script = (name) => path.join(BENCH_DIR, 'servers', name);
const { values: opt } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    seconds: { type: 'string', default: '3' },
    warmup: { type: 'string', default: '3' },
    conns: { type: 'string', default: '50' },
    servers: { type: 'string' },
    only: { type: 'string', default: 'hello,handshake' },
    out: { type: 'string' },
    results: { type: 'boolean', default: false },
  },
});
const ROUNDS = Number(opt.rounds);
const SECONDS = Number(opt.seconds);
const CONNS = Number(opt.conns);
const WARMUP = Number(opt.warmup);

const SERVERS = {
  'wasyncore-native': { label: 'wasyncore (native)', argv: (c, k, m) => ['node', script('tls_wasyncore.mjs'), c, k, m], env: { WASYNCORE_BACKEND: 'native' } },
  'wasyncore-net': { label: 'wasyncore (net)', argv: (c, k, m) => ['node', script('tls_wasyncore.mjs'), c, k, m], env: { WASYNCORE_BACKEND: 'net' } },
  'node-https': { label: 'Node https', argv: (c, k, m) => ['node', script('tls_node.mjs'), 'https', c, k, m] },
  'node-tls': { label: 'Node tls (raw)', argv: (c, k, m) => ['node', script('tls_node.mjs'), 'tls', c, k, m] },
  'asyncore-ssl': { label: 'CPython asyncore + ssl', argv: (c, k, m) => ['python3', '-W', 'ignore', script('tls_py_asyncore.py'), c, k, m] },
};
const SCENARIOS = {
  hello: { title: `HTTPS keep-alive "hello", TLS 1.3, ${CONNS} connections (handshakes excluded: ${WARMUP} s warm-up)`, mode: 'keepalive', perOp: 'req' },
  handshake: { title: `Handshakes: one request per TLS connection (Connection: close), ${CONNS} concurrent`, mode: 'close', perOp: 'handshake' },
};
const ids = opt.servers ? opt.servers.split(',') : Object.keys(SERVERS);
for (const id of ids) if (!SERVERS[id]) throw new Error(`--servers: unknown server '${id}' (known: ${Object.keys(SERVERS).join(', ')})`);
const scenarios = opt.only.split(',');
for (const s of scenarios) if (!SCENARIOS[s]) throw new Error(`--only: unknown scenario '${s}' (known: hello, handshake)`);

/** A throwaway P-256 certificate for this run (nothing committed). */
function makeCert() {
  const dir = path.join(OUT_DIR, 'tls');
  fs.mkdirSync(dir, { recursive: true });
  const cert = path.join(dir, 'cert.pem'), key = path.join(dir, 'key.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=localhost'], { stdio: 'ignore' });
  return { cert, key };
}

/** user+system CPU seconds so far of a process, and of its main thread alone (Linux /proc). */
function cpuSeconds(pid) {
  const ticks = (file) => {
    const f = fs.readFileSync(file, 'utf8').split(') ')[1].split(' ');
    return (Number(f[11]) + Number(f[12])) / 100; // utime, stime in USER_HZ ticks (100/s)
  };
  return { all: ticks(`/proc/${pid}/stat`), main: ticks(`/proc/${pid}/task/${pid}/stat`) };
}

async function wrk(port, seconds, close) {
  const argv = ['wrk', '-t1', `-c${CONNS}`, `-d${seconds}s`, '--timeout', '5s', '-s', path.join(BENCH_DIR, 'load', 'wrk.lua')];
  if (close) argv.push('-H', 'Connection: close');
  argv.push(`https://127.0.0.1:${port}/`);
  const { stdout, stderr, code } = await run(LOAD_CORE, argv, { timeoutMs: (seconds + 30) * 1000 });
  const line = stdout.split('\n').find((l) => l.startsWith('WRKJSON '));
  if (!line) throw new Error(`wrk exited ${code}: ${(stderr || stdout).slice(-300)}`);
  const r = JSON.parse(line.slice(8));
  return { requests: r.requests, rps: r.requests / (r.duration_us / 1e6), errors: r.connect_errors + r.read_errors + r.write_errors + r.status_errors + r.timeouts };
}

async function measure(id, scenario, files) {
  const s = SERVERS[id], sc = SCENARIOS[scenario];
  const child = spawnPinned(SERVER_CORE, s.argv(files.cert, files.key, sc.mode), { env: s.env ?? {} });
  try {
    const first = await child.lines.next(15_000);
    if (first === null || first.startsWith('UNAVAILABLE')) return { error: first ?? `no port (${child.stderrTail.trim().slice(-200)})` };
    const port = Number(first);
    await wrk(port, WARMUP, sc.mode === 'close'); // warm-up: keep-alive handshakes happen here, and the JIT's work
    const cpu0 = cpuSeconds(child.pid);
    const r = await wrk(port, SECONDS, sc.mode === 'close');
    const cpu1 = cpuSeconds(child.pid);
    const cpu = cpu1.all - cpu0.all;
    return { rps: r.rps, cpuUs: (cpu * 1e6) / r.requests, mainUs: ((cpu1.main - cpu0.main) * 1e6) / r.requests, cpuShare: cpu / SECONDS, errors: r.errors };
  } catch (err) {
    return { error: String(err?.message ?? err) };
  } finally {
    await stop(child);
  }
}

installCleanup();
const files = makeCert();
const samples = {};
const log = (m) => process.stderr.write(`${m}\n`);
log(`tls-compare: ${ROUNDS} rounds × ${scenarios.join(', ')} × ${ids.join(', ')}; load ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
for (let round = 1; round <= ROUNDS; round++) {
  for (const scenario of scenarios) {
    for (const id of ids) {
      const r = await measure(id, scenario, files);
      ((samples[scenario] ??= {})[id] ??= []).push(r);
      log(`round ${round} ${scenario} ${id}: ${r.error ?? `${fmt(r.rps)}/s, ${fmt(r.cpuUs)} µs CPU/${SCENARIOS[scenario].perOp} (main thread ${fmt(r.mainUs)}), CPU ${(r.cpuShare * 100).toFixed(0)}%, errors ${r.errors}`}`);
    }
  }
}

const lines = [];
lines.push('<!-- tls:begin (written by bench/tls-compare.mjs --results; bench/run.mjs keeps it) -->', `## TLS`, '');
lines.push('`node bench/tls-compare.mjs` (not part of `bench/run.mjs`): wasyncore\'s `SSLSocket` (Node\'s OpenSSL through `tls.TLSSocket` over an in-process pipe) on both backends, ' +
  'against Node `https`, Node `tls` (hand-parsed, as the wasyncore server) and CPython 3.11 asyncore + `ssl` (CPython\'s `test_ssl` AsyncoreEchoServer shape); `wrk` over HTTPS as the client, P-256 certificate made at run time. ' +
  'Issue 18\'s targets: wasyncore native ≥ 1.0× CPython asyncore + ssl and ≥ 0.9× Node https/tls.', '');
lines.push(`${new Date().toISOString().slice(0, 16)}Z, Node ${process.version}, ${os.cpus().length} cores, load average at end ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}; ${ROUNDS} interleaved rounds of ${SECONDS} s, medians. Server pinned to core 0, wrk to core 1. Ratios are of server CPU per operation (the whole process: lower CPU = better; >1× means wasyncore uses less CPU); "main thread" leaves out V8's compiler and GC threads (Python has none).`, '');
for (const scenario of scenarios) {
  const sc = SCENARIOS[scenario];
  lines.push(`### ${sc.title}`, '', `| server | ${sc.perOp}/s | server CPU µs/${sc.perOp} | of it, main thread | errors |`, '|---|---:|---:|---:|---:|');
  const med = {};
  for (const id of ids) {
    const got = samples[scenario][id].filter((x) => !x.error);
    if (got.length === 0) { lines.push(`| ${SERVERS[id].label} | ${samples[scenario][id][0].error} | | |`); continue; }
    med[id] = { rps: median(got.map((x) => x.rps)), cpuUs: median(got.map((x) => x.cpuUs)), mainUs: median(got.map((x) => x.mainUs)), errors: got.reduce((a, x) => a + x.errors, 0) };
    lines.push(`| ${SERVERS[id].label} | ${fmt(med[id].rps)} | ${fmt(med[id].cpuUs)} | ${fmt(med[id].mainUs)} | ${med[id].errors} |`);
  }
  lines.push('');
  for (const w of ['wasyncore-native', 'wasyncore-net']) {
    if (!med[w]) continue;
    const parts = ['asyncore-ssl', 'node-https', 'node-tls'].filter((p) => med[p]).map((p) => `${fmtRatio(med[p].cpuUs / med[w].cpuUs)} ${SERVERS[p].label}`);
    lines.push(`- ${SERVERS[w].label}, CPU per ${sc.perOp} vs: ${parts.join(', ')}`);
  }
  lines.push('');
}
lines.push('<!-- tls:end -->');
const text = lines.join('\n');
process.stdout.write(`${text}\n`);
if (opt.out) fs.writeFileSync(opt.out, `${text}\n`);
if (opt.results) {
  const file = path.join(BENCH_DIR, 'RESULTS.md');
  const old = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
  const re = /<!-- tls:begin[\s\S]*?<!-- tls:end -->\n?/;
  fs.writeFileSync(file, re.test(old) ? old.replace(re, `${text}\n`) : `${old.replace(/\n*$/, '\n\n')}${text}\n`);
  log(`wrote the TLS section of ${file}`);
}
