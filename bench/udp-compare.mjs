#!/usr/bin/env node
// Datagram echo throughput: wasyncore's native backend against its net backend, raw Node dgram and
// CPython asyncore, on loopback. A small C client (built here with gcc) keeps a window of datagrams
// in flight over a connected UDP socket and counts round trips; the echo server runs in its own
// process (pinned to another core with taskset where available). Interleaved rounds, medians.
//   node bench/udp-compare.mjs [--rounds N] [--seconds S] [--size BYTES] [--window W] [--micro 1]
// Reports round trips per second and the server's CPU time (utime + stime) per round trip.
// --micro 1 also times the socket calls alone, without a loop: one process sends bursts of 100
// datagrams to itself and reads them back (CPU µs per sendto + recvfrom pair), wasyncore vs CPython.
// Needs `npm run build` and the native addon (npm ci builds it).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const opts = { rounds: 3, seconds: 3, size: 64, window: 32, micro: 0 };
for (let i = 2; i < process.argv.length; i++) {
  const k = process.argv[i].replace(/^--/, '');
  if (!(k in opts)) throw new Error(`unknown option ${process.argv[i]}`);
  opts[k] = Number(process.argv[++i]);
}

const CLIENT_C = String.raw`
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }
int main(int argc, char** argv) {
  int port = atoi(argv[1]), window = atoi(argv[2]), size = atoi(argv[4]);
  double seconds = atof(argv[3]);
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
  inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
  if (connect(fd, (struct sockaddr*)&sa, sizeof sa) < 0) { perror("connect"); return 1; }
  struct timeval tv = { 0, 50000 };
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  char buf[65536];
  memset(buf, 'x', sizeof buf);
  for (int i = 0; i < window; i++) send(fd, buf, size, 0);
  long trips = 0, lost = 0;
  double end = now() + seconds;
  while (now() < end) {
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n < 0) { lost++; send(fd, buf, size, 0); continue; } // a datagram was lost: keep the window full
    trips++;
    send(fd, buf, size, 0);
  }
  printf("%ld %ld\n", trips, lost);
  return 0;
}`;

const SERVERS = {
  'wasyncore-native': { env: { WASYNCORE_BACKEND: 'native' }, argv: ['node', '--input-type=module', '-e', wasyncoreServer()] },
  'wasyncore-net': { env: { WASYNCORE_BACKEND: 'net' }, argv: ['node', '--input-type=module', '-e', wasyncoreServer()] },
  'node-dgram': { env: {}, argv: ['node', '--input-type=module', '-e', nodeServer()] },
  'asyncore': { env: {}, argv: ['python3', '-W', 'ignore', '-c', pythonServer()] },
};

function wasyncoreServer() {
  const index = JSON.stringify(path.join(ROOT, 'build', 'host', 'index.js'));
  return `
import { Dispatcher, loop, AF_INET, SOCK_DGRAM, SOL_SOCKET, SO_RCVBUF } from ${index};
class Echo extends Dispatcher {
  writable() { return false; }
  handleRead() { const [d, a] = this.recvfrom(65536); this.sendto(d, a); }
}
const e = new Echo();
e.createSocket(AF_INET, SOCK_DGRAM);
e.socket.setsockopt(SOL_SOCKET, SO_RCVBUF, 1 << 20);
e.bind(['127.0.0.1', 0]);
console.log('PORT ' + e.socket.getsockname()[1] + ' ' + e.socket.constructor.name);
await loop({ timeout: 1 });`;
}

function nodeServer() {
  return `
import dgram from 'node:dgram';
const s = dgram.createSocket({ type: 'udp4', recvBufferSize: 1 << 20 });
s.on('message', (m, r) => s.send(m, r.port, r.address));
s.bind(0, '127.0.0.1', () => console.log('PORT ' + s.address().port + ' dgram'));`;
}

function pythonServer() {
  return `
import asyncore, socket, sys
class Echo(asyncore.dispatcher):
    def writable(self): return False
    def handle_read(self):
        d, a = self.socket.recvfrom(65536)
        self.socket.sendto(d, a)
e = Echo()
e.create_socket(socket.AF_INET, socket.SOCK_DGRAM)
e.socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
e.bind(('127.0.0.1', 0))
print('PORT', e.socket.getsockname()[1], 'asyncore', flush=True)
asyncore.loop(timeout=1)`;
}

let taskset = false;
try { execFileSync('taskset', ['-c', '0', 'true'], { stdio: 'ignore' }); taskset = os.cpus().length > 1; } catch { /* none */ }
const pin = (cpu, argv) => (taskset ? ['taskset', '-c', String(cpu), ...argv] : argv);

function cpuSeconds(pid) {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}

async function startServer(id) {
  const s = SERVERS[id];
  const argv = pin(0, s.argv);
  const p = spawn(argv[0], argv.slice(1), { env: { ...process.env, ...s.env }, stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise((resolve, reject) => {
    let out = '';
    p.stdout.on('data', (d) => { out += d; const m = /PORT (\d+) (\S+)/.exec(out); if (m) resolve(m); });
    p.on('exit', (c) => reject(new Error(`${id} exited (${c}) before listening`)));
  });
  return { p, port: Number(line[1]), kind: line[2] };
}

async function round(id, client) {
  const { p, port, kind } = await startServer(id);
  const cpu0 = cpuSeconds(p.pid);
  const argv = pin(1, [client, String(port), String(opts.window), String(opts.seconds), String(opts.size)]);
  const out = execFileSync(argv[0], argv.slice(1), { encoding: 'utf8' });
  const cpu1 = cpuSeconds(p.pid);
  p.kill();
  await new Promise((r) => p.once('exit', r));
  const [trips, lost] = out.trim().split(' ').map(Number);
  return { kind, rate: trips / opts.seconds, cpuUs: ((cpu1 - cpu0) / trips) * 1e6, lost };
}

function micro() {
  const index = JSON.stringify(path.join(ROOT, 'build', 'host', 'index.js'));
  const js = `
import { Socket, AF_INET, SOCK_DGRAM, SOL_SOCKET, SO_RCVBUF } from ${index};
const rx = new Socket(AF_INET, SOCK_DGRAM); rx.setsockopt(SOL_SOCKET, SO_RCVBUF, 1 << 22); rx.bind(['127.0.0.1', 0]);
const tx = new Socket(AF_INET, SOCK_DGRAM); const to = rx.getsockname(); const d = Buffer.alloc(${opts.size});
const N = 200000; let got = 0; const t0 = process.cpuUsage();
for (let i = 0; i < N / 100; i++) {
  for (let j = 0; j < 100; j++) tx.sendto(d, to);
  for (;;) { try { rx.recvfrom(65536); got++; } catch { break; } }
  if (process.env.WASYNCORE_BACKEND === 'net') await new Promise((r) => setImmediate(r)); // udp_wrap reads between turns
}
const c = process.cpuUsage(t0);
console.log(((c.user + c.system) / got).toFixed(2) + ' ' + got);
rx.close(); tx.close();`;
  const py = `
import socket, resource
rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); rx.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
rx.bind(('127.0.0.1', 0)); rx.setblocking(False)
tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); tx.setblocking(False)
to = rx.getsockname(); d = b'x' * ${opts.size}; N = 200000; got = 0
r0 = resource.getrusage(resource.RUSAGE_SELF)
for i in range(N // 100):
    for j in range(100): tx.sendto(d, to)
    while True:
        try: rx.recvfrom(65536); got += 1
        except BlockingIOError: break
r1 = resource.getrusage(resource.RUSAGE_SELF)
print('%.2f %d' % (((r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)) / got * 1e6, got))`;
  console.log(`\nSocket calls alone (${opts.size}-byte datagrams, bursts of 100, one process):\n`);
  console.log('| sockets | CPU µs per sendto + recvfrom | received of 200,000 |');
  console.log('|---|---:|---:|');
  for (const [name, argv, env] of [
    ['wasyncore native', ['node', '--input-type=module', '-e', js], { WASYNCORE_BACKEND: 'native' }],
    ['wasyncore net', ['node', '--input-type=module', '-e', js], { WASYNCORE_BACKEND: 'net' }],
    ['CPython socket', ['python3', '-c', py], {}],
  ]) {
    const [us, got] = execFileSync(argv[0], argv.slice(1), { encoding: 'utf8', env: { ...process.env, ...env } }).trim().split(' ');
    console.log(`| ${name} | ${us} | ${Number(got).toLocaleString('en')} |`);
  }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wasyncore-udp-bench-'));
try {
  const src = path.join(dir, 'client.c');
  const client = path.join(dir, 'client');
  fs.writeFileSync(src, CLIENT_C);
  execFileSync('gcc', ['-O2', '-o', client, src]);
  const ids = Object.keys(SERVERS);
  const results = Object.fromEntries(ids.map((id) => [id, []]));
  for (let r = 0; r < opts.rounds; r++) {
    for (const id of ids) results[id].push(await round(id, client));
  }
  console.log(`UDP echo, ${opts.size}-byte datagrams, window ${opts.window}, ${opts.seconds} s × ${opts.rounds} rounds, load ${os.loadavg()[0].toFixed(2)}${taskset ? ', server on cpu 0, client on cpu 1' : ''}\n`);
  console.log('| server | round trips/s (median) | server CPU µs / round trip | lost | socket |');
  console.log('|---|---:|---:|---:|---|');
  for (const id of ids) {
    const rs = results[id];
    console.log(`| ${id} | ${Math.round(median(rs.map((x) => x.rate))).toLocaleString('en')} | ${median(rs.map((x) => x.cpuUs)).toFixed(2)} | ${rs.reduce((a, x) => a + x.lost, 0)} | ${rs[0].kind} |`);
  }
  if (opts.micro) micro();
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
