// A flooding writer, forked by the flood test: it writes `total` bytes of the pattern as fast as
// the socket takes them. When a write has waited `blockedMs` for 'drain' it reports
// { phase: 'blocked' } once (the server stopped reading); at the end it half-closes, waits for
// the server to close and reports { phase: 'done', written, hash }.
//
// Job: { host, port, seed, total, blockedMs }
import * as net from "node:net";
import { createHash } from "node:crypto";
import { pattern } from "./pattern.mjs";

process.once("message", (job) => {
  const pat = pattern(job.seed);
  const hash = createHash("sha256");
  const s = net.connect({ host: job.host, port: job.port });
  let written = 0;
  let blockedSent = false;
  let error = null;
  s.on("error", (e) => { error = e.code ?? String(e); });
  s.on("data", () => {});
  s.on("close", () => process.send({ phase: "done", written, error, hash: hash.digest("hex") }, () => process.exit(0)));
  s.once("connect", async () => {
    while (written < job.total && !s.destroyed) {
      const chunk = pat.slice(written, Math.min(256 * 1024, job.total - written));
      hash.update(chunk);
      written += chunk.length;
      if (s.write(chunk)) continue;
      const t0 = Date.now();
      let timer;
      if (!blockedSent) {
        timer = setTimeout(() => {
          blockedSent = true;
          process.send({ phase: "blocked", written, waitedMs: Date.now() - t0 });
        }, job.blockedMs);
      }
      await new Promise((r) => { s.once("drain", r); s.once("close", r); });
      clearTimeout(timer);
    }
    s.end();
  });
});
