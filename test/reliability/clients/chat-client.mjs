// A plain node:net client of the AsyncChat reliability tests: many concurrent connections, each
// holding one conversation (chat-protocol.mjs) written in random splits with random pauses, so
// terminators and counts land anywhere in a write. Reports, per connection, the SHA-256 of the
// replies it was owed and of what came back, and whether the server closed cleanly after.
//
// Protocol (IPC): the parent sends one job; the child answers { results, ms } and exits.
// Job: { host, port, conns, concurrency, maxBytes, maxBin, maxWrite, maxPause, seed }
import * as net from "node:net";
import { createHash } from "node:crypto";
import { rng, conversation } from "./chat-protocol.mjs";

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const sha = (b) => createHash("sha256").update(b).digest("hex");

async function one(job, i) {
  const rand = rng((job.seed ^ Math.imul(i + 1, 0x9e3779b1)) >>> 0);
  const { request, reply, frames } = conversation(rand, Math.floor(rand() * job.maxBytes), job.maxBin);
  const back = createHash("sha256");
  let received = 0;
  let error = null;
  let ended = false;
  const s = net.connect({ host: job.host, port: job.port });
  s.setNoDelay(true);
  const closed = new Promise((resolve) => {
    s.on("data", (d) => { back.update(d); received += d.length; });
    s.on("end", () => { ended = true; s.end(); });
    s.on("error", (e) => { error = e.code ?? String(e); });
    s.on("close", resolve);
  });
  await new Promise((resolve) => { s.once("connect", resolve); s.once("error", resolve); });
  let off = 0;
  while (off < request.length && !error && !s.destroyed) {
    const n = Math.min(request.length - off, 1 + Math.floor(rand() * rand() * job.maxWrite));
    const ok = s.write(request.subarray(off, off + n));
    off += n;
    if (!ok) await new Promise((r) => { s.once("drain", r); s.once("close", r); });
    if (job.maxPause > 0 && rand() < 0.05) await sleep(Math.floor(rand() * job.maxPause));
  }
  await closed; // the server closes after QUIT's reply (closeWhenDone); we never half-close first
  return { i, frames, sent: off, expected: reply.length, received, expectHash: sha(reply), recvHash: back.digest("hex"), ended, error };
}

async function run(job) {
  const results = new Array(job.conns);
  let next = 0;
  const started = Date.now();
  const worker = async () => {
    while (next < job.conns) {
      const i = next++;
      results[i] = await one(job, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(job.concurrency ?? job.conns, job.conns) }, worker));
  return { results, ms: Date.now() - started };
}

process.once("message", (job) => {
  run(job).then(
    (out) => process.send(out, () => process.exit(0)),
    (err) => process.send({ fatal: String(err?.stack ?? err) }, () => process.exit(1)),
  );
});
