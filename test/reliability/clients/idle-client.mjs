// Many connections to an echo server with idle timeouts, forked by the timers-under-load test.
// Connection i sends its index (4 bytes) on connect; even ones then stay active (a few bytes
// every `activeEvery` ms, each echo checked), odd ones fall silent. Reports { phase: 'connected' }
// once all are up, then after `runMs` (and once every silent one was closed) { phase: 'done', results } with, per connection, whether
// the server closed it and when (ms after its last byte was sent).
//
// Job: { host, port, conns, activeEvery, runMs, seed }
import * as net from "node:net";

process.once("message", async (job) => {
  const started = Date.now();
  const conns = [];
  const open = (i) => new Promise((resolve) => {
    const s = net.connect({ host: job.host, port: job.port });
    const c = { i, active: i % 2 === 0, s, sent: 0, echoed: 0, bad: 0, lastSent: 0, closedAfter: -1, error: null, timer: null, expect: [] };
    s.setNoDelay(true);
    s.on("error", (e) => { c.error = e.code ?? String(e); });
    s.on("data", (d) => {
      for (const b of d) {
        if (c.expect.length === 0 || c.expect.shift() !== b) c.bad++;
        c.echoed++;
      }
    });
    s.on("end", () => {
      if (c.closedAfter < 0) c.closedAfter = Date.now() - c.lastSent;
      s.end();
    });
    s.once("connect", () => {
      const id = Buffer.alloc(4);
      id.writeUInt32LE(i, 0);
      send(c, id);
      if (c.active) {
        c.timer = setInterval(() => {
          const n = 1 + ((c.sent * 7 + i) % 16);
          send(c, Buffer.from(Array.from({ length: n }, (_, k) => (i + c.sent + k) & 255)));
        }, job.activeEvery);
      }
      resolve(c);
    });
  });
  const send = (c, data) => {
    if (c.s.destroyed || c.closedAfter >= 0) return;
    c.expect.push(...data);
    c.sent += data.length;
    c.lastSent = Date.now();
    c.s.write(data);
  };
  for (let i = 0; i < job.conns; i += 100) {
    const batch = [];
    for (let k = i; k < Math.min(job.conns, i + 100); k++) batch.push(open(k));
    conns.push(...(await Promise.all(batch)));
  }
  process.send({ phase: "connected", ms: Date.now() - started });
  // After runMs, wait on (up to 10 × runMs) until the server has closed every silent connection: on a
  // loaded machine the server accepts late, and a connection's idle countdown starts at its accept.
  const finishAt = Date.now() + job.runMs * 10;
  const silentOpen = () => conns.some((c) => !c.active && c.closedAfter < 0 && c.error === null);
  await new Promise((resolve) => setTimeout(resolve, job.runMs));
  while (silentOpen() && Date.now() < finishAt) await new Promise((resolve) => setTimeout(resolve, 50));
  {
    const results = conns.map((c) => {
      clearInterval(c.timer);
      c.s.destroy();
      return { i: c.i, active: c.active, sent: c.sent, echoed: c.echoed, bad: c.bad, pending: c.expect.length, closedAfter: c.closedAfter, error: c.error };
    });
    process.send({ phase: "done", results }, () => process.exit(0));
  }
});
