// Connect/send/close cycles against an echo server, forked by the churn test. Styles rotate:
// send and wait for the echo, then close (i % 4 < 2); send and reset at once (2); connect and
// close without sending (3). Reports how many cycles ran and how many echoes were wrong.
//
// Job: { host, port, cycles, concurrency }
import * as net from "node:net";

const PAYLOAD = Buffer.from("churn ".repeat(20));

function cycle(job, style) {
  return new Promise((resolve) => {
    const s = net.connect({ host: job.host, port: job.port });
    let got = 0;
    let bad = false;
    s.on("error", () => {});
    s.on("close", () => resolve({ echoed: got === PAYLOAD.length && !bad }));
    s.on("data", (d) => {
      if (!d.equals(PAYLOAD.subarray(got, got + d.length))) bad = true;
      got += d.length;
      if (got >= PAYLOAD.length) s.end();
    });
    s.once("connect", () => {
      if (style === 3) s.end();
      else if (style === 2) { s.write(PAYLOAD); s.resetAndDestroy(); }
      else s.write(PAYLOAD);
    });
  });
}

process.once("message", async (job) => {
  let next = 0, echoed = 0;
  const started = Date.now();
  await Promise.all(Array.from({ length: job.concurrency }, async () => {
    while (next < job.cycles) {
      const i = next++;
      const r = await cycle(job, i % 4);
      if (r.echoed) echoed++;
    }
  }));
  process.send({ cycles: job.cycles, echoed, ms: Date.now() - started }, () => process.exit(0));
});
