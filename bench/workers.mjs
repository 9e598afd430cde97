#!/usr/bin/env node
// Several cores: HTTP and echo served by 1..N worker processes (serveOnCores) on each backend.
//   node bench/workers.mjs --workers N      (also: node bench/run.mjs --workers N)
// Options: --seconds S (load per run, default 4)  --rounds R (interleaved, default 3)  --conns C (default 64)
//          --rate R (the paced runs' round trips per second per worker, default 20000; 0: no paced runs)
//          --loads saturated,paced (which loads to run, default both)
//          --pin / --no-pin (server processes on core 0, the load on core 1; default: pinned on a 2-core machine)
//          --backends native,net  --kinds echo,http  --render FILE (rewrite the section from a saved workers.json)
// Two loads per (backend, kind, workers): "saturated" (echo_client / wrk as fast as they go, --conns connections in
// all) and "paced" (the same load per worker at any N: --conns / 2 connections and --rate round trips per second
// for each worker, from echo_client). Reports requests/s, server CPU per request (µs, user+sys summed over the worker
// processes, median of the rounds) and how connections and requests spread over the workers.
// Writes bench/out/workers.json and the "Several cores" section of bench/RESULTS.md.
import fs from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import { spawn, execFileSync } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { BENCH_DIR, OUT_DIR, WASYNCORE_ENTRY } from './lib/paths.mjs';

const SELF = fileURLToPath(import.meta.url);
const SIZE = 64;
const RESPONSE = Buffer.from('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\nHello, world!');
const log = (msg) => process.stdout.write(`${msg}\n`);

function parse(argv) {
  const o = { workers: 2, seconds: 4, rounds: 3, conns: 64, backends: null, kinds: ['echo', 'http'], serve: null, render: null, pin: os.cpus().length === 2, rate: 20000, loads: ['saturated', 'paced'] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const num = (name) => {
      const v = Number(argv[++i]);
      if (!Number.isInteger(v) || v < (name === '--rate' ? 0 : 1)) { log(`${name} must be a positive integer, got ${argv[i]}`); process.exit(2); }
      return v;
    };
    if (a === '--workers') o.workers = num('--workers');
    else if (a === '--seconds') o.seconds = num('--seconds');
    else if (a === '--rounds') o.rounds = num('--rounds');
    else if (a === '--conns') o.conns = num('--conns');
    else if (a === '--backends') o.backends = argv[++i].split(',');
    else if (a === '--kinds') o.kinds = argv[++i].split(',');
    else if (a === '--loads') o.loads = argv[++i].split(',');
    else if (a === '--serve') o.serve = argv[++i];
    else if (a === '--render') o.render = argv[++i];
    else if (a === '--pin') o.pin = true;
    else if (a === '--no-pin') o.pin = false;
    else if (a === '--rate') o.rate = num('--rate');
    else if (a === '--help' || a === '-h') {
      log(fs.readFileSync(SELF, 'utf8').split('\n').slice(1, 13).join('\n').replace(/^\/\/ ?/gm, ''));
      process.exit(0);
    } else { log(`unknown option ${a} (see --help)`); process.exit(2); }
  }
  return o;
}

// ---- the server: this file run with --serve KIND (the primary, then each worker) -------------------

async function serve(kind, n) {
  const api = await import(pathToFileURL(WASYNCORE_ENTRY).href);
  const { serveOnCores, Dispatcher, DispatcherWithSend } = api;
  const cores = await serveOnCores(n, (ctx) => {
    const c = ctx.counters;
    c.accepted = 0;
    c.requests = 0;
    c.echoBytes = 0;
    class Echo extends DispatcherWithSend {
      handleRead() {
        const d = this.recv(65536);
        if (d.length === 0) return;
        c.echoBytes += d.length;
        this.send(d);
      }
      handleClose() { this.close(); }
    }
    class Http extends DispatcherWithSend {
      tail = '';
      handleRead() {
        const d = this.recv(65536);
        if (d.length === 0) return;
        let s = this.tail + d.toString('latin1');
        let i;
        while ((i = s.indexOf('\r\n\r\n')) >= 0) {
          c.requests++;
          this.send(RESPONSE);
          s = s.slice(i + 4);
        }
        this.tail = s;
      }
      handleClose() { this.close(); }
    }
    const Handler = kind === 'http' ? Http : Echo;
    const server = new (class extends Dispatcher {
      handleAccepted(sock) { c.accepted++; new Handler(sock, ctx.map); }
    })(null, ctx.map);
    server.createSocket(ctx.family);
    server.bind(ctx.address);
    server.listen(1024);
  }, { script: SELF, drainTimeout: 2 });
  if (cores === null) return; // a worker: its loop ended
  process.stdout.write(`PORT ${cores.address[1]}\n`);
  let buf = '';
  process.stdin.on('data', async (d) => {
    buf += d.toString();
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const cmd = buf.slice(0, i).trim();
      buf = buf.slice(i + 1);
      if (cmd === 'stats') process.stdout.write(`STATS ${JSON.stringify(await cores.stats())}\n`);
      if (cmd === 'stop') { await cores.stop(); process.stdin.pause(); }
    }
  });
}

// ---- the driver ------------------------------------------------------------------------------------

// --pin: the server's processes (primary and workers) share core 0 and the load generator has core 1, so
// 1 and N workers get the same CPU and the per-request cost is compared without the load in between.
const PIN = { server: null, load: null };
function pinned(cpu, cmd, args) {
  return cpu === null ? [cmd, args] : ['taskset', ['-c', String(cpu), cmd, ...args]];
}

function startServer(kind, n, backend) {
  const [cmd, args] = pinned(PIN.server, process.execPath, [SELF, '--serve', kind, '--workers', String(n)]);
  const proc = spawn(cmd, args, {
    env: { ...process.env, WASYNCORE_BACKEND: backend }, stdio: ['pipe', 'pipe', 'inherit'],
  });
  const waiting = [];
  let buf = '';
  proc.stdout.on('data', (d) => {
    buf += d.toString();
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      const w = waiting.findIndex((x) => line.startsWith(x.prefix));
      if (w >= 0) waiting.splice(w, 1)[0].resolve(line.slice(line.indexOf(' ') + 1));
    }
  });
  const next = (prefix) => new Promise((resolve, reject) => {
    waiting.push({ prefix, resolve });
    proc.once('exit', (code) => reject(new Error(`server (${kind}, ${n} workers, ${backend}) exited ${code}`)));
  });
  return {
    port: next('PORT ').then(Number),
    stats: () => { const p = next('STATS ').then(JSON.parse); proc.stdin.write('stats\n'); return p; },
    stop: () => new Promise((resolve) => { proc.once('exit', resolve); proc.stdin.write('stop\n'); setTimeout(() => proc.kill('SIGKILL'), 15_000).unref(); }),
  };
}

function echoClient() {
  const bin = path.join(OUT_DIR, 'echo_client');
  const src = path.join(BENCH_DIR, 'load', 'echo_client.c');
  if (!fs.existsSync(bin) || fs.statSync(bin).mtimeMs < fs.statSync(src).mtimeMs) {
    fs.mkdirSync(OUT_DIR, { recursive: true });
    execFileSync('gcc', ['-O2', '-Wall', '-o', bin, src], { stdio: 'inherit' });
  }
  return bin;
}

function hasTaskset() {
  try { execFileSync('taskset', ['-c', '0', 'true'], { stdio: 'ignore' }); return true; } catch { return false; }
}

function hasWrk() {
  try { execFileSync('wrk', ['-v'], { stdio: 'ignore' }); return true; } catch (err) { return err.status !== undefined && err.code !== 'ENOENT'; }
}

const GET = 'GET / HTTP/1.1\\r\\nHost: 127.0.0.1\\r\\n\\r\\n'; // echo_client unescapes it

/** Connections of one worker under the paced load. */
const pacedConns = (o) => Math.max(1, Math.floor(o.conns / 2));

/**
 * The load: "saturated", as fast as it goes (echo_client / wrk, o.conns connections), or "paced", a load that
 * grows with the workers — pacedConns(o) connections and o.rate round trips per second for each worker — from
 * echo_client in both kinds (HTTP: a keep-alive GET and its known reply).
 */
function runLoad(kind, port, o, echoBin, n, mode) {
  const [cmd, args] = mode === 'paced'
    ? [echoBin, ['127.0.0.1', String(port), String(pacedConns(o) * n), String(SIZE), String(o.seconds), '1', String(o.rate * n),
      ...(kind === 'http' ? [GET, String(RESPONSE.length)] : [])]]
    : kind === 'echo'
      ? [echoBin, ['127.0.0.1', String(port), String(o.conns), String(SIZE), String(o.seconds), '1']]
      : ['wrk', ['-t1', `-c${o.conns}`, `-d${o.seconds}s`, `http://127.0.0.1:${port}/`]];
  return new Promise((resolve, reject) => {
    const p = spawn(...pinned(PIN.load, cmd, args), { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.on('data', (d) => { out += d; });
    p.once('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`${cmd} exited ${code}: ${out}`))));
  });
}

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s.length ? (s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2) : NaN; };

/** One measured run: the load for o.seconds against `n` workers; what the workers counted and spent. */
async function measure(kind, n, backend, o, echoBin, mode) {
  const srv = startServer(kind, n, backend);
  const port = await srv.port;
  const before = await srv.stats();
  const t0 = process.hrtime.bigint();
  await runLoad(kind, port, o, echoBin, n, mode);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const after = await srv.stats();
  await srv.stop();
  const reqs = (s) => (kind === 'http' ? s.counters.requests : s.counters.echoBytes / SIZE);
  const requests = reqs(after.total) - reqs(before.total);
  const cpu = after.total.cpuMicros - before.total.cpuMicros;
  const byWorker = after.workers.map((w) => {
    const b = before.workers.find((x) => x.index === w.index);
    return { index: w.index, accepted: w.counters.accepted - b.counters.accepted, requests: reqs(w) - reqs(b) };
  });
  return { requests, seconds, rps: requests / seconds, cpuPerRequest: cpu / requests, byWorker };
}

function share(byWorker, key) {
  const total = byWorker.reduce((t, w) => t + w[key], 0);
  return byWorker.map((w) => (total ? `${Math.round((100 * w[key]) / total)}%` : '–')).join(' / ');
}

function render(rows, o, info) {
  const ratio = (r) => {
    const one = rows.find((x) => x.backend === r.backend && x.kind === r.kind && x.mode === r.mode && x.workers === 1);
    return one ? r.cpuPerRequest / one.cpuPerRequest : NaN;
  };
  const paced = rows.some((r) => r.mode === 'paced');
  const pacedLoad = `${pacedConns(o)} connections and ${o.rate.toLocaleString('en-US')} round trips/s per worker`;
  const lines = [
    '<!-- workers:begin (written by bench/workers.mjs; bench/run.mjs keeps it) -->',
    '## Several cores: serveOnCores() with 1..N worker processes',
    '',
    `\`node bench/run.mjs --workers ${o.workers}\` on ${info.cpu}, Node ${process.version}, ${info.date}; ${o.seconds} s per run, ${o.rounds} interleaved rounds (medians)${info.load === undefined ? '' : `, 1-minute load average ${info.load.toFixed(2)} at the start`}${o.pin ? '; the server\'s processes pinned to core 0, the load generator to core 1' : ''}.`,
    'Server CPU per request is user + system time summed over the worker processes, divided by the requests they served;',
    '"÷ 1 worker" is that figure over the same load\'s with one worker (1.00 = flat).',
    `Loads: **saturated** — ${o.conns} keep-alive connections in all, as fast as the client goes (echo_client, wrk)${paced ? `; **paced** — the same load for each worker at any N (${pacedLoad}, echo_client on a fixed schedule; HTTP as a keep-alive GET)` : ''}.`,
    '',
    '| backend | load | kind | workers | requests/s | server CPU per request (µs) | ÷ 1 worker | connections per worker | requests per worker |',
    '|---|---|---|---:|---:|---:|---:|---|---|',
  ];
  for (const r of rows) {
    lines.push(`| ${r.backend} | ${r.mode} | ${r.kind} | ${r.workers} | ${Math.round(r.rps).toLocaleString('en-US')} | ${r.cpuPerRequest.toFixed(1)} | ${r.workers === 1 ? '1.00' : ratio(r).toFixed(2)} | ${r.connShare} | ${r.reqShare} |`);
  }
  const list = (mode) => rows.filter((r) => r.mode === mode && r.workers > 1).map((r) => `${r.backend} ${r.kind} ×${r.workers}: ${ratio(r).toFixed(2)}`).join('; ');
  lines.push('',
    `Scaling needs more cores than this machine has: it has ${info.cores}, and the load generator needs one of them, so the`,
    'workers here share one core and cannot add throughput. What carries over to a larger machine is the cost per request',
    'of each worker — the per-core figure: the workers share no state (each its own loop, core instance and listener), so',
    'where each has a core, each does the work per request one worker does, and throughput grows with the cores.');
  if (paced) {
    lines.push('',
      `**Per-core figure, paced load** (each worker gets the load one worker gets: ${pacedLoad}), CPU per request ÷ 1 worker:`,
      `${list('paced') || 'run with --workers 2 or more'}. This is the per-core figure: it does not grow with N (the`,
      'workers share nothing). Where it is below 1, the one shared core is busier with more workers and so idles less:',
      'fewer requests pay for waking an idle core (on this VM, a halted vCPU) — a cost a worker with a core of its own pays',
      `as one worker does here. requests/s is what the client achieved of the ${o.rate.toLocaleString('en-US')} × N offered.`);
  }
  lines.push('',
    `**Saturated load**, CPU per request ÷ 1 worker: ${list('saturated') || 'run with --workers 2 or more'}. Here it rises: the same`,
    'connections split over N workers time-sharing one core, so each wake-up of a worker finds fewer requests ready (less',
    'work per epoll_wait, per pass and per context switch), and the workers preempt one another. That is a cost of more',
    'workers than cores, not of more workers.',
    'Connections spread by the kernel: SO_REUSEPORT\'s hash of the 4-tuple on native (uneven for few connections), and',
    'whichever worker process accept()s first on the shared handle on net.',
    '<!-- workers:end -->', '');
  return lines.join('\n');
}

const SECTION = /<!-- workers:begin[\s\S]*?<!-- workers:end -->\n?/;

/** Puts the section into bench/RESULTS.md (replacing an earlier one). */
function writeSection(md) {
  const file = path.join(BENCH_DIR, 'RESULTS.md');
  const old = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
  fs.writeFileSync(file, SECTION.test(old) ? old.replace(SECTION, md) : `${old.replace(/\n*$/, '\n\n')}${md}`);
  return file;
}

export async function main(argv) {
  const o = parse(argv);
  if (o.serve !== null) return serve(o.serve, o.workers);
  if (o.render !== null) return report(JSON.parse(fs.readFileSync(o.render, 'utf8')));
  if (!fs.existsSync(WASYNCORE_ENTRY)) { log('not built: run npm run build'); process.exit(1); }
  const api = await import(pathToFileURL(WASYNCORE_ENTRY).href);
  const backends = o.backends ?? (api.loopStats().backend === 'native' ? ['native', 'net'] : ['net']);
  const kinds = o.kinds.filter((k) => k !== 'http' || hasWrk());
  if (kinds.length < o.kinds.length) log('wrk missing: HTTP rows are skipped');
  const modes = o.loads.filter((m) => m === 'saturated' || (m === 'paced' && o.rate > 0));
  if (o.pin && !hasTaskset()) { log('taskset missing: runs are not pinned'); o.pin = false; }
  if (o.pin) Object.assign(PIN, { server: 0, load: 1 });
  const echoBin = kinds.includes('echo') || o.rate > 0 ? echoClient() : null;
  const info = { cpu: `${os.cpus()[0]?.model?.trim() ?? 'CPU'} × ${os.cpus().length}`, cores: os.cpus().length, date: new Date().toISOString().slice(0, 16) + 'Z', load: os.loadavg()[0] };
  const counts = Array.from({ length: o.workers }, (_, i) => i + 1);
  const runs = new Map();
  for (let round = 0; round < o.rounds; round++) {
    for (const mode of modes) for (const backend of backends) for (const kind of kinds) for (const n of counts) {
      const r = await measure(kind, n, backend, o, echoBin, mode);
      const key = `${backend}/${kind}/${n}/${mode}`;
      if (!runs.has(key)) runs.set(key, []);
      runs.get(key).push(r);
      log(`round ${round + 1}: ${key}: ${Math.round(r.rps)} req/s, ${r.cpuPerRequest.toFixed(1)} µs CPU/request, connections ${share(r.byWorker, 'accepted')}`);
    }
  }
  fs.mkdirSync(OUT_DIR, { recursive: true });
  const saved = { options: o, info, runs: Object.fromEntries(runs) };
  fs.writeFileSync(path.join(OUT_DIR, 'workers.json'), JSON.stringify(saved, null, 2));
  report(saved);
}

/** The table from the runs (also from a saved bench/out/workers.json: --render FILE). */
function report({ options: o, info, runs }) {
  const rows = [];
  for (const [key, rs] of Object.entries(runs)) {
    const [backend, kind, n, mode = 'saturated'] = key.split('/');
    const mid = median(rs.map((x) => x.cpuPerRequest));
    const typical = rs.reduce((best, r) => (Math.abs(r.cpuPerRequest - mid) < Math.abs(best.cpuPerRequest - mid) ? r : best), rs[0]);
    rows.push({ backend, kind, mode, workers: Number(n), rps: median(rs.map((r) => r.rps)), cpuPerRequest: mid, bestCpu: Math.min(...rs.map((r) => r.cpuPerRequest)), connShare: share(typical.byWorker, 'accepted'), reqShare: share(typical.byWorker, 'requests') });
  }
  const md = render(rows, o, info);
  log(`\n${md}`);
  log(`wrote ${path.relative(process.cwd(), writeSection(md))}`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === SELF) await main(process.argv.slice(2));
