#!/usr/bin/env node
// Profiling helper: server CPU per operation (robust on a busy machine) and CPU profiles.
//
//   node bench/profile.mjs [--scenarios echo-100,http-50,...] [--rounds N] [--seconds S] [--warmup S]
//                          [--subjects wasyncore,node-net,asyncore,base=/path/to/other/checkout] [--cpu-prof DIR]
//                          [--shape writable] [--idle N] [--syscalls]
//
// Each round runs every subject once per scenario (interleaved A B A B …), each in a fresh server
// process pinned to core 0 with the load on core 1, and reports, per subject, the median rate and
// the median server CPU time (user + system, from /proc/PID/stat) per operation. CPU per operation
// changes little when other work competes for the cores; throughput does. A warm-up load (default
// 1 s, not measured) runs first, so JIT compilation is not counted per operation.
// A subject `name=/path` runs /path/bench/servers/wasyncore.mjs (e.g. a checkout of main, built);
// `asyncore` is CPython's asyncore peer (bench/servers/py_asyncore.py). WASYNCORE_BACKEND picks the backend.
// --cpu-prof DIR writes one .cpuprofile per wasyncore run there and prints its top self-time entries.
// --shape writable: wasyncore handlers that override writable() (WASYNCORE_SHAPE, servers/wasyncore.mjs).
// idle-http: wrk -c50 with N (--idle, default 10000) idle keep-alive connections open; its CPU/op is
// the loaded phase's, and "kept" is CPU per request without them ÷ with (robust on a busy machine). --syscalls: syscalls per op (perf/strace).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { echo, idleHttp, stream, useClients, wrk } from './lib/loads.mjs';
import { countSyscalls } from './lib/syscalls.mjs';
import { BENCH_DIR } from './lib/paths.mjs';
import { installCleanup, sleep, spawnPinned, stop } from './lib/proc.mjs';
import { buildClients } from './lib/tools.mjs';

const MiB = 2 ** 20;
const TICK_US = 1e6 / 100; // Linux USER_HZ

const opts = { idle: 10_000, shape: null, syscalls: false };

const SCENARIOS = {
  'idle-http': { mode: 'http', unit: 'req', load: (port, s, pid) => idleHttp({ port, pid }, { conns: 50, idleConns: opts.idle, seconds: s, warmup: 1, connectCap: 60 }).then((r) => ({ ops: r.ops, rate: r.rps_idle, keep: r.keep_cpu, cpu_us: r.cpu_us, user_us: r.user_us })) },
  'http-50': { mode: 'http', unit: 'req', load: (port, s) => wrk(port, { conns: 50, seconds: s }).then((r) => ({ ops: r.rps * s, rate: r.rps, p99: r.p99_ms })) },
  'http-400': { mode: 'http', unit: 'req', load: (port, s) => wrk(port, { conns: 400, seconds: s }).then((r) => ({ ops: r.rps * s, rate: r.rps, p99: r.p99_ms })) },
  'http-pipe16': { mode: 'http', unit: 'req', load: (port, s) => wrk(port, { conns: 50, seconds: s, pipeline: 16 }).then((r) => ({ ops: r.rps * s, rate: r.rps })) },
  'echo-1': { mode: 'echo', unit: 'rt', load: (port, s) => echo(port, { conns: 1, seconds: s, warmup: 0.2 }).then((r) => ({ ops: r.rps * (s + 0.2), rate: r.rps, p99: r.p99_ms })) },
  'echo-10': { mode: 'echo', unit: 'rt', load: (port, s) => echo(port, { conns: 10, seconds: s, warmup: 0.2 }).then((r) => ({ ops: r.rps * (s + 0.2), rate: r.rps, p99: r.p99_ms })) },
  'echo-100': { mode: 'echo', unit: 'rt', load: (port, s) => echo(port, { conns: 100, seconds: s, warmup: 0.2 }).then((r) => ({ ops: r.rps * (s + 0.2), rate: r.rps, p99: r.p99_ms })) },
  'echo-1000': { mode: 'echo', unit: 'rt', load: (port, s) => echo(port, { conns: 1000, seconds: s, warmup: 0.2 }).then((r) => ({ ops: r.rps * (s + 0.2), rate: r.rps, p99: r.p99_ms })) },
  bulk: { mode: 'echo', unit: 'MiB', load: (port, s) => stream(port, { bytes: 256 * MiB, window: 4 * MiB, seconds: s * 4 }).then((r) => ({ ops: r.mib, rate: r.mib_s })) },
  'chat-lines': { mode: 'chat', unit: 'msg', load: (port, s) => stream(port, { bytes: 50 * MiB, record: 50, window: 256 * 1024, seconds: s * 4 }).then((r) => ({ ops: r.records_s * r.seconds, rate: r.records_s })) },
  'chat-1mib': { mode: 'chat', unit: 'MiB', load: (port, s) => stream(port, { bytes: 256 * MiB, record: MiB, window: 4 * MiB, seconds: s * 4 }).then((r) => ({ ops: r.mib, rate: r.mib_s })) },
};

function parseArgs(argv) {
  const o = { scenarios: ['echo-100', 'echo-1000', 'http-50', 'http-400', 'http-pipe16', 'bulk'], rounds: 3, seconds: 2, subjects: ['wasyncore', 'node-net'], prof: null, warmup: 1 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--scenarios') o.scenarios = argv[++i].split(',');
    else if (a === '--rounds') o.rounds = Number(argv[++i]);
    else if (a === '--seconds') o.seconds = Number(argv[++i]);
    else if (a === '--warmup') o.warmup = Number(argv[++i]);
    else if (a === '--subjects') o.subjects = argv[++i].split(',');
    else if (a === '--cpu-prof') o.prof = path.resolve(argv[++i]);
    else if (a === '--shape') opts.shape = argv[++i];
    else if (a === '--idle') opts.idle = Number(argv[++i]);
    else if (a === '--syscalls') opts.syscalls = true;
    else { console.log(fs.readFileSync(new URL(import.meta.url), 'utf8').split('\n').slice(1, 14).join('\n').replace(/^\/\/ ?/gm, '')); process.exit(a === '--help' ? 0 : 2); }
  }
  for (const s of o.scenarios) if (!SCENARIOS[s]) { console.log(`unknown scenario ${s}; known: ${Object.keys(SCENARIOS).join(', ')}`); process.exit(2); }
  return o;
}

// SIGTERM → process.exit(0), so --cpu-prof gets written.
const EXIT_ON_TERM = `data:text/javascript,process.on('SIGTERM',()=>process.exit(0))`;

function serverArgv(subject, mode, prof) {
  const [name, root] = subject.includes('=') ? subject.split('=') : [subject, null];
  const flags = prof ? ['--cpu-prof', '--cpu-prof-dir', prof, '--import', EXIT_ON_TERM] : [];
  if (name === 'node-net') return { name, argv: ['node', ...flags, path.join(BENCH_DIR, 'servers', 'node_net.mjs'), mode] };
  if (name === 'asyncore') return { name, argv: ['python3', path.join(BENCH_DIR, 'servers', 'py_asyncore.py'), mode] };
  const script = path.join(root ?? path.dirname(BENCH_DIR), 'bench', 'servers', 'wasyncore.mjs');
  return { name, argv: ['node', ...flags, script, mode] };
}

/** [user, user + system] CPU ticks of a process. */
function cpuTicks(pid) {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return [Number(f[11]), Number(f[11]) + Number(f[12])]; // utime, stime
}

async function runOne(subject, scenario, seconds, prof, warmup) {
  const { name, argv } = serverArgv(subject, SCENARIOS[scenario].mode, prof);
  const child = spawnPinned(0, argv, { env: opts.shape ? { WASYNCORE_SHAPE: opts.shape } : {} });
  const first = await child.lines.next(15000);
  if (!/^\d+$/.test(first ?? '')) { await stop(child); throw new Error(`${name}: ${first} ${child.stderrTail}`); }
  // The node process is bash's exec'd child: the same pid.
  const pid = child.pid;
  await sleep(100);
  // Warm-up (not measured): JIT compilation and module loading are not per-operation costs.
  if (warmup > 0) await SCENARIOS[scenario].load(Number(first), warmup).catch(() => {});
  const t0 = cpuTicks(pid);
  const load = () => SCENARIOS[scenario].load(Number(first), seconds, pid);
  const { result: r, syscalls } = opts.syscalls ? await countSyscalls(pid, load) : { result: await load(), syscalls: null };
  const t1 = cpuTicks(pid);
  await stop(child, 5000);
  const sysPerOp = syscalls ? syscalls.total / r.ops : null;
  if (r.cpu_us != null) return { ...r, cpuPerOp: r.cpu_us, userPerOp: r.user_us, sysPerOp };
  return { ...r, cpuPerOp: (t1[1] - t0[1]) * TICK_US / r.ops, userPerOp: (t1[0] - t0[0]) * TICK_US / r.ops, sysPerOp };
}

const median = (xs) => { const s = xs.filter((x) => x != null).sort((a, b) => a - b); return s.length ? s[(s.length - 1) >> 1] : null; };

/** Top self-time entries of a .cpuprofile. */
export function topEntries(file, n = 25) {
  const p = JSON.parse(fs.readFileSync(file, 'utf8'));
  const self = new Map();
  const byId = new Map(p.nodes.map((node) => [node.id, node]));
  const dt = new Map();
  for (let i = 0; i < p.samples.length; i++) dt.set(p.samples[i], (dt.get(p.samples[i]) ?? 0) + (p.timeDeltas[i] ?? 0));
  let total = 0;
  for (const [id, us] of dt) {
    const cf = byId.get(id).callFrame;
    const key = `${cf.functionName || '(anonymous)'} ${cf.url ? path.basename(cf.url) : ''}:${cf.lineNumber + 1}`;
    self.set(key, (self.get(key) ?? 0) + us);
    total += us;
  }
  return { total, rows: [...self].sort((a, b) => b[1] - a[1]).slice(0, n) };
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  installCleanup();
  useClients(buildClients());
  if (o.prof) fs.mkdirSync(o.prof, { recursive: true });
  console.log(`load average ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  for (const scenario of o.scenarios) {
    const samples = Object.fromEntries(o.subjects.map((s) => [s, []]));
    for (let r = 0; r < o.rounds; r++) {
      for (const subject of o.subjects) {
        const before = o.prof ? new Set(fs.readdirSync(o.prof)) : null;
        try {
          const s = await runOne(subject, scenario, o.seconds, o.prof, o.warmup);
          samples[subject].push(s);
          console.log(`  ${scenario} r${r + 1} ${subject.padEnd(12)} ${s.rate.toFixed(0).padStart(9)} ${SCENARIOS[scenario].unit}/s  ${s.cpuPerOp.toFixed(2).padStart(8)} µs CPU/${SCENARIOS[scenario].unit} (user ${s.userPerOp.toFixed(2)})${s.p99 != null ? `  p99 ${s.p99.toFixed(1)} ms` : ''}${s.keep != null ? `  kept ${s.keep.toFixed(2)}` : ''}${s.sysPerOp != null ? `  ${s.sysPerOp.toFixed(2)} syscalls/op` : ''}`);
        } catch (err) {
          console.log(`  ${scenario} r${r + 1} ${subject}: FAILED ${err.message.slice(0, 300)}`);
        }
        if (before) {
          for (const f of fs.readdirSync(o.prof)) {
            if (before.has(f) || !f.endsWith('.cpuprofile')) continue;
            const dest = path.join(o.prof, `${scenario}-${subject.split('=')[0]}-r${r + 1}.cpuprofile`);
            fs.renameSync(path.join(o.prof, f), dest);
            const { total, rows } = topEntries(dest, 20);
            console.log(`    profile ${dest} (${(total / 1e3).toFixed(0)} ms sampled)`);
            for (const [key, us] of rows) console.log(`      ${(100 * us / total).toFixed(1).padStart(5)}%  ${key}`);
          }
        }
      }
    }
    const base = o.subjects[o.subjects.length - 1];
    const med = (s, k) => median(samples[s].map((x) => x[k]));
    console.log(`${scenario}: medians (ratio to ${base})`);
    for (const s of o.subjects) {
      const rate = med(s, 'rate'), cpu = med(s, 'cpuPerOp'), user = med(s, 'userPerOp'), p99 = med(s, 'p99'), keep = med(s, 'keep'), sc = med(s, 'sysPerOp');
      console.log(`  ${s.padEnd(12)} ${rate?.toFixed(0).padStart(9)} ${SCENARIOS[scenario].unit}/s (${(rate / med(base, 'rate')).toFixed(2)}×)  ${cpu?.toFixed(2).padStart(8)} µs CPU/op (${(cpu / med(base, 'cpuPerOp')).toFixed(2)}×)  user ${user?.toFixed(2)} µs (${(user / med(base, 'userPerOp')).toFixed(2)}×)${p99 != null ? `  p99 ${p99.toFixed(1)} ms` : ''}${keep != null ? `  kept ${keep.toFixed(2)}` : ''}${sc != null ? `  ${sc.toFixed(2)} syscalls/op` : ''}`);
    }
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname)) {
  await main();
  process.exit(0);
}
