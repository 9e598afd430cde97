// A plain node:net load client, forked by the reliability tests: many concurrent connections
// to an echo server, each sending a random amount in random-sized writes with random pauses.
// Reports, per connection, the SHA-256 of what it sent and of what came back.
//
// Protocol (IPC): the parent sends one job message; the child answers { results } and exits.
// Job: { host, port | path, conns, maxBytes, maxWrite, maxPause, seed, concurrency, mode }
//   mode 'mix': even connections half-close (end() after sending, read until the server's FIN),
//               odd ones wait for the whole echo, then close.
import * as net from "node:net";
import { createHash, randomBytes } from "node:crypto";

/** A small seeded PRNG (mulberry32), so a failing run can be replayed from its seed. */
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const POOL = randomBytes(4 << 20); // random bytes; each write takes a slice at a random offset

function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

async function one(job, i, rand) {
  const size = Math.floor(rand() * (job.maxBytes + 1));
  const halfClose = job.mode === "half" || (job.mode === "mix" && i % 2 === 0);
  const sent = createHash("sha256");
  const back = createHash("sha256");
  let received = 0;
  let error = null;
  const s = job.path ? net.connect({ path: job.path }) : net.connect({ host: job.host, port: job.port });
  s.setNoDelay(true);
  const finished = new Promise((resolve) => {
    s.on("data", (d) => {
      back.update(d);
      received += d.length;
      if (!halfClose && received >= size) s.end();
    });
    s.on("error", (e) => { error = e.code ?? String(e); resolve(); });
    s.on("close", () => resolve());
    s.on("end", () => { if (!halfClose) return; s.end(); });
  });
  await new Promise((resolve, reject) => { s.once("connect", resolve); s.once("error", reject); }).catch(() => {});
  let off = 0;
  while (off < size && !error && !s.destroyed) {
    const n = Math.min(size - off, 1 + Math.floor(rand() * job.maxWrite));
    const at = Math.floor(rand() * (POOL.length - n));
    const chunk = POOL.subarray(at, at + n);
    sent.update(chunk);
    off += n;
    if (!s.write(chunk)) await new Promise((r) => { s.once("drain", r); s.once("close", r); });
    if (job.maxPause > 0 && rand() < 0.2) await sleep(Math.floor(rand() * job.maxPause));
  }
  if (halfClose) s.end();
  else if (size === 0) s.end();
  await finished;
  return { i, size, sent: off, received, sentHash: sent.digest("hex"), recvHash: back.digest("hex"), halfClose, error };
}

async function run(job) {
  const rand = rng(job.seed);
  const results = new Array(job.conns);
  let next = 0;
  const started = Date.now();
  const worker = async () => {
    while (next < job.conns) {
      const i = next++;
      results[i] = await one(job, i, rng((job.seed ^ Math.imul(i + 1, 0x9e3779b1)) >>> 0));
    }
  };
  void rand;
  await Promise.all(Array.from({ length: Math.min(job.concurrency ?? job.conns, job.conns) }, worker));
  return { results, ms: Date.now() - started };
}

process.once("message", (job) => {
  run(job).then(
    (out) => process.send(out, () => process.exit(0)),
    (err) => process.send({ fatal: String(err?.stack ?? err) }, () => process.exit(1)),
  );
});
