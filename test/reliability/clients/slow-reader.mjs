// A slow reader, forked by the slow-reader test: it takes ~`perTick` bytes every `tickMs` for
// `slowMs`, checking each byte against the pattern; reports { phase: 'slow' }; waits for the
// parent's 'drain'; then reads as fast as it can until the server closes and reports the total.
//
// Job: { host, port, seed, perTick, tickMs, slowMs }
import * as net from "node:net";
import { createHash } from "node:crypto";
import { pattern } from "./pattern.mjs";

process.once("message", (job) => {
  const pat = pattern(job.seed);
  const hash = createHash("sha256");
  let received = 0;
  let intact = true;
  let error = null;
  const take = (d) => {
    if (intact && !pat.matches(received, d)) intact = false;
    hash.update(d);
    received += d.length;
  };
  const s = net.connect({ host: job.host, port: job.port });
  s.on("error", (e) => { error = e.code ?? String(e); });
  s.once("connect", () => {
    s.pause();
    const started = Date.now();
    const timer = setInterval(() => {
      const d = s.read(Math.min(job.perTick, s.readableLength || job.perTick));
      if (d) take(d);
      if (Date.now() - started < job.slowMs) return;
      clearInterval(timer);
      process.send({ phase: "slow", received, intact, ms: Date.now() - started });
      process.once("message", () => {
        const fastStart = Date.now();
        s.on("data", take);
        s.on("close", () => {
          process.send({ phase: "done", received, intact, error, hash: hash.digest("hex"), ms: Date.now() - fastStart },
            () => process.exit(0));
        });
        s.resume();
      });
    }, job.tickMs);
  });
});
