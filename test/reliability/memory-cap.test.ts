// Memory cap: with the core's memory cap set low, a burst that would exceed it pauses reads
// (backpressure) and resumes as memory frees; nothing crashes and nothing is lost.
// configure() changes engine-wide limits, so this file (its own process) restores them after.
import { it, expect, afterEach } from "vitest";
import * as net from "node:net";
import { createHash, randomBytes } from "node:crypto";
import { ChannelMap, Dispatcher, Socket, closeAll, configure, loopStats } from "../../host/index.js";
import { getEngine } from "../../host/core/engine.js";
import { FIELD } from "../../host/core/abi.js";
import { EchoServer, runLoop, runClient, waitFor, sleep, size, report, KiB, MiB, SOAK, type ClientResult } from "./helpers.js";
import { passes } from "../support/index.js";

const CAP = 1 * MiB;
const TIME = SOAK ? 600_000 : 40_000;

let map: ChannelMap;
afterEach(() => {
  closeAll({ map, ignoreAll: true });
  configure({ memoryCap: 2 ** 30, recvPause: 256 * KiB });
});

/** Samples the core's chunk memory every few ms until stopped. */
function sampleCore(): { stop(): number } {
  const e = getEngine();
  let max = 0;
  const timer = setInterval(() => { max = Math.max(max, e.stat("chunkBytes")); }, 5);
  return { stop: () => { clearInterval(timer); return max; } };
}

it("echoes every byte of a burst far larger than a 1 MiB core memory cap", async () => {
  configure({ memoryCap: CAP });
  map = new ChannelMap();
  const server = new EchoServer(map);
  const run = runLoop(map);
  const sampler = sampleCore();
  const conns = size(32, 200);
  const out = await runClient<{ results: ClientResult[]; ms: number }>("echo-client.mjs", {
    host: "127.0.0.1", port: server.port, conns, maxBytes: MiB, maxWrite: 256 * KiB, maxPause: 0,
    seed: Date.now() >>> 0, concurrency: conns, mode: "mix",
  }, TIME);
  await waitFor(() => server.records.length === conns, "every server channel to finish");
  const maxCore = sampler.stop();
  expect(out.results.filter((r) => r.error !== null || r.received !== r.sent || r.recvHash !== r.sentHash)).toEqual([]);
  expect(server.records.map((r) => r.hash).sort()).toEqual(out.results.map((r) => r.sentHash).sort());
  expect(server.errors).toEqual([]);
  expect(maxCore).toBeLessThanOrEqual(CAP);
  expect(loopStats({ map }).chunksInUse).toBe(0);
  await run.stop();
  const bytes = out.results.reduce((a, r) => a + r.sent, 0);
  report("memory cap (echo)", { cap: CAP, connections: conns, bytesEachWay: bytes, maxCoreChunkBytes: maxCore, ms: out.ms });
}, TIME + 10_000);

it("resumes every paused channel when memory frees, including channels that got no memory at all", async () => {
  configure({ memoryCap: CAP });
  map = new ChannelMap();
  const server = new EchoServer(map);
  let reading = false;
  const sinks: { digest: ReturnType<typeof createHash>; received: number; closed: boolean; token: number }[] = [];
  const errors: unknown[] = [];
  server.handleAccepted = (sock: Socket) => {
    const rec = { digest: createHash("sha256"), received: 0, closed: false, token: sock.fileno() };
    sinks.push(rec);
    new (class extends Dispatcher {
      override readable(): boolean { return reading; }
      override writable(): boolean { return false; }
      override handleRead(): void {
        const d = this.recv(64 * KiB);
        rec.digest.update(d);
        rec.received += d.length;
      }
      override handleClose(): void { rec.closed = true; this.close(); }
      override handleError(err: unknown): void { errors.push(err); this.close(); }
    })(sock, map);
  };
  const run = runLoop(map, { timeout: 0.1 });
  const e = getEngine();
  const N = size(16, 64);
  const PER = 512 * KiB;
  const sent: string[] = [];
  const clients = Array.from({ length: N }, () => {
    const data = randomBytes(PER);
    sent.push(createHash("sha256").update(data).digest("hex"));
    const s = net.connect({ host: "127.0.0.1", port: server.port });
    s.on("error", () => {});
    s.end(data);
    return s;
  });
  // The burst fills the pool while nobody reads: input stops at three quarters of the cap (the
  // rest stays free for output), and most channels hold bytes the core has no room for.
  const chunk = e.stat("chunkSize") + 16;
  const inputLimit = CAP - CAP / 4;
  await waitFor(() => (e.stat("chunksLive") + 1) * chunk > inputLimit, "input to reach its share of the cap", 20_000);
  await sleep(100);
  expect(e.stat("chunksLive") * chunk).toBeLessThanOrEqual(inputLimit);
  expect(e.stat("chunkBytes")).toBeLessThanOrEqual(CAP);
  expect(sinks.length).toBe(N);
  const empty = sinks.filter((s) => e.field(s.token, FIELD.inLen) === 0).length;
  expect(empty).toBeGreaterThan(0); // channels whose bytes (and FIN) wait outside the core
  reading = true;
  await waitFor(() => sinks.every((s) => s.closed), `every channel to deliver and close (received ${sinks.map((s) => s.received).join(",")})`, TIME);
  expect(errors).toEqual([]);
  expect(sinks.map((s) => s.received)).toEqual(sinks.map(() => PER));
  expect(sinks.map((s) => s.digest.digest("hex")).sort()).toEqual(sent.sort());
  expect(loopStats({ map }).chunksInUse).toBe(0);
  for (const s of clients) s.destroy();
  await run.stop();
  report("memory cap (paused burst)", { cap: CAP, connections: N, bytes: N * PER, channelsWithNoMemoryAtCap: empty });
}, TIME + 10_000);

it("shows a peer's FIN only after the bytes before it, even when they waited for memory", async () => {
  configure({ memoryCap: CAP, recvPause: CAP });
  map = new ChannelMap();
  const server = new EchoServer(map);
  const e = getEngine();
  let aReading = false;
  const calls: string[] = [];
  const got = { a: 0, b: 0 };
  const closed = { a: false, b: false };
  server.handleAccepted = (sock: Socket) => {
    const who = server.accepted++ === 0 ? "a" : "b";
    new (class extends Dispatcher {
      override readable(): boolean { return who === "b" || aReading; }
      override writable(): boolean { return false; }
      override handleRead(): void {
        const d = this.recv(64 * KiB);
        calls.push(`${who}:read ${d.length}`);
        got[who] += d.length;
      }
      override handleClose(): void { calls.push(`${who}:close`); closed[who] = true; this.close(); }
      override handleError(err: unknown): void { calls.push(`${who}:error ${String(err)}`); this.close(); }
    })(sock, map);
  };
  const run = runLoop(map, { timeout: 0.1 });
  const chunk = e.stat("chunkSize") + 16;
  const a = net.connect({ host: "127.0.0.1", port: server.port });
  a.on("error", () => {});
  a.end(randomBytes(MiB)); // takes the whole input share of the pool; A does not read yet
  await waitFor(() => (e.stat("chunksLive") + 1) * chunk > CAP - CAP / 4, "A to fill the input share");
  const b = net.connect({ host: "127.0.0.1", port: server.port });
  b.on("error", () => {});
  b.end(randomBytes(100 * KiB)); // bytes and FIN, none of which fits in the core now
  await waitFor(() => server.accepted === 2, "B to be accepted");
  await passes(map, 20); // the positive control: the loop ran 20 passes meanwhile, B's readable() said yes
  expect(calls).toEqual([]); // B is not readable: no empty read, no EAGAIN, no early close
  aReading = true;
  await waitFor(() => closed.a && closed.b, `both channels to finish (${calls.slice(-3).join("; ")})`, TIME);
  expect(got).toEqual({ a: MiB, b: 100 * KiB });
  expect(calls.filter((c) => c.includes("error"))).toEqual([]);
  // B: reads with data, then the empty read whose recv() called handleClose.
  const bCalls = calls.filter((c) => c.startsWith("b:"));
  expect(bCalls.slice(-2)).toEqual(["b:close", "b:read 0"]);
  expect(bCalls.slice(0, -2).every((c) => c.startsWith("b:read ") && c !== "b:read 0")).toBe(true);
  a.destroy();
  b.destroy();
  await run.stop();
}, TIME + 10_000);
