#!/usr/bin/env node
// In-process microbenchmarks of the native backend's per-call levers (CPU time per call, medians of
// 9 interleaved rounds; no load generator, so they hold up on a busy machine better than throughput):
//   node bench/micro.mjs sendmany [channels=50] [passes=2000]  — one send() addon call per channel vs one sendmany per pass
//   node bench/micro.mjs recvinto [bytes=64] [reads=20000]     — socket.recv(65536) (a new Buffer) vs socket.recvInto(buffer)
// Needs the build (npm run build) and the native addon.
process.env.WASYNCORE_BACKEND = 'native';
const api = await import('../build/host/index.js');
const { native } = await import('../build/host/sys/native/addon.js');
const a = native();
if (a === null) {
  console.log('the native addon is not available here');
  process.exit(1);
}
const [what = 'sendmany', arg1, arg2] = process.argv.slice(2);
const ROUNDS = 9;
const med = (xs) => [...xs].sort((x, y) => x - y)[xs.length >> 1];

/** A connected pair of kernel sockets through the addon: [client fd, accepted fd]. */
function pair() {
  const l = a.socket(api.AF_INET, api.SOCK_STREAM);
  a.bind(l, api.AF_INET, '127.0.0.1', 0, 0);
  a.listen(l, 4);
  const [, port] = a.sockname(l);
  const c = a.socket(api.AF_INET, api.SOCK_STREAM);
  a.connect(c, api.AF_INET, '127.0.0.1', port, 0);
  let s = -11;
  while (s === -11) s = a.accept(l);
  a.close(l);
  return [c, s];
}

/** µs of user and system CPU per unit while `fn` runs `units` of work. */
function cpuPer(units, fn) {
  const c0 = process.cpuUsage();
  fn();
  const d = process.cpuUsage(c0);
  return { user: d.user / units, sys: d.system / units };
}

function report(label, unit, samples) {
  for (const [k, xs] of Object.entries(samples)) {
    console.log(`${label} ${k.padEnd(6)} user ${med(xs.map((x) => x.user)).toFixed(3)} µs/${unit}, kernel ${med(xs.map((x) => x.sys)).toFixed(3)} µs/${unit}`);
  }
}

if (what === 'sendmany') {
  const K = Number(arg1 ?? 50);
  const PASSES = Number(arg2 ?? 2000);
  const pairs = Array.from({ length: K }, pair);
  const mem = new Uint8Array(64 * K);
  const list = new Int32Array(4 * K);
  const rbuf = new Uint8Array(1 << 16);
  const drain = () => { for (const [, s] of pairs) while (a.recv(s, rbuf, 0, rbuf.length, 0) > 0); };
  const one = () => { for (let i = 0; i < K; i++) a.send(pairs[i][0], mem, i * 64, 64, 0); };
  const many = () => {
    for (let i = 0; i < K; i++) { list[4 * i] = pairs[i][0]; list[4 * i + 1] = i * 64; list[4 * i + 2] = 64; }
    a.sendmany(mem, list, K);
  };
  const run = (pass) => cpuPer(PASSES * K, () => { for (let p = 0; p < PASSES; p++) { pass(); if ((p & 7) === 7) drain(); } drain(); });
  const samples = { send: [], sendmany: [] };
  for (let r = 0; r < ROUNDS; r++) { samples.send.push(run(one)); samples.sendmany.push(run(many)); }
  report(`${K} channels × 64 B per pass:`, 'channel', samples);
} else if (what === 'recvinto') {
  const SIZE = Number(arg1 ?? 64);
  const N = Number(arg2 ?? (SIZE > 4096 ? 1000 : 20000));
  const l = new api.Socket(api.AF_INET, api.SOCK_STREAM);
  l.bind(['127.0.0.1', 0]);
  l.listen(4);
  const c = a.socket(api.AF_INET, api.SOCK_STREAM);
  a.connect(c, api.AF_INET, '127.0.0.1', l.getsockname()[1], 0);
  let accepted = null;
  while (!accepted) { accepted = l.accept(); await new Promise((r) => setImmediate(r)); }
  const s = accepted[0];
  const msg = Buffer.alloc(SIZE, 120);
  const into = Buffer.alloc(65536);
  const once = (useInto) => {
    a.send(c, msg, 0, SIZE, 0);
    for (let got = 0; got < SIZE;) {
      try { got += useInto ? s.recvInto(into) : s.recv(65536).length; } catch (err) { if (err.code !== 'EAGAIN') throw err; }
    }
  };
  const run = (useInto) => cpuPer(N, () => { for (let i = 0; i < N; i++) once(useInto); });
  const samples = { recv: [], recvInto: [] };
  for (let r = 0; r < ROUNDS; r++) { samples.recv.push(run(false)); samples.recvInto.push(run(true)); }
  report(`${SIZE} B sent then read:`, 'read', samples);
} else {
  console.log('usage: node bench/micro.mjs sendmany [channels] [passes] | recvinto [bytes] [reads]');
  process.exit(2);
}
process.exit(0);
