// Server CPU per operation of the `net` backend's two paths: libuv handles (process.binding) and the
// public node:net API fallback (WASYNCORE_NET_PUBLIC=1, what Node's permission model gets).
// usage: npm run build && node bench/net-public.mjs [ROUNDS]   (prints one table; rounds interleaved, medians)
// The echo server is bench/servers/wasyncore.mjs; the loads are bench/load's C clients (echo
// ping-pong, 50 connections x 64 bytes for 2 s; a 64 MiB stream through echo). CPU is the server's
// user+system time from /proc/PID/stat (10 ms ticks), divided by the round trips or MiB it served.
import { spawn, execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { buildClients } from './lib/tools.mjs';

const ROUNDS = Number(process.argv[2] ?? 3);
const SERVER = fileURLToPath(new URL('./servers/wasyncore.mjs', import.meta.url));
const TICK_US = 1e6 / Number(execFileSync('getconf', ['CLK_TCK']).toString().trim() || 100);
const clients = buildClients();

function cpuUs(pid) {
  const f = readFileSync(`/proc/${pid}/stat`, 'latin1').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) * TICK_US; // utime, stime
}

function startServer(pub) {
  const env = { ...process.env, WASYNCORE_BACKEND: 'net', WASYNCORE_NET_PUBLIC: pub ? '1' : '0' };
  const p = spawn(process.execPath, [SERVER, 'echo'], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    p.stdout.once('data', (d) => {
      const port = Number(String(d).split('\n')[0]);
      if (!port) reject(new Error(`server said: ${d}`));
      else resolve({ p, port });
    });
    p.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
  });
}

function run(argv) {
  return new Promise((resolve, reject) => {
    const c = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    c.stdout.on('data', (d) => (out += d));
    c.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out.trim().split('\n').pop())) : reject(new Error(`${argv[0]} exited ${code}`))));
  });
}

async function measure(pub) {
  const { p, port } = await startServer(pub);
  try {
    let before = cpuUs(p.pid);
    const e = await run([clients.echo_client, '127.0.0.1', String(port), '50', '64', '2', '0']);
    const echoUs = (cpuUs(p.pid) - before) / e.round_trips;
    before = cpuUs(p.pid);
    const s = await run([clients.stream_client, '127.0.0.1', String(port), String(64 << 20), '0', String(1 << 20), '20']);
    const bulkUs = (cpuUs(p.pid) - before) / (s.bytes / 2 ** 20);
    return { echoUs, bulkUs, rps: e.rps, mibs: s.mib_per_s };
  } finally {
    p.kill('SIGTERM');
  }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const rows = { handles: [], public: [] };
for (let r = 0; r < ROUNDS; r++) {
  rows.handles.push(await measure(false));
  rows.public.push(await measure(true));
}
const m = (k, key) => median(rows[k].map((x) => x[key]));
console.log('path      echo CPU µs/round trip  bulk CPU µs/MiB  (echo rps, bulk MiB/s: machine-load dependent)');
for (const k of ['handles', 'public']) {
  console.log(`${k.padEnd(9)} ${m(k, 'echoUs').toFixed(1).padStart(22)} ${m(k, 'bulkUs').toFixed(0).padStart(16)}  (${m(k, 'rps').toFixed(0)}, ${m(k, 'mibs').toFixed(0)})`);
}
console.log(`ratio public/handles: echo ${(m('public', 'echoUs') / m('handles', 'echoUs')).toFixed(2)}x, bulk ${(m('public', 'bulkUs') / m('handles', 'bulkUs')).toFixed(2)}x`);
