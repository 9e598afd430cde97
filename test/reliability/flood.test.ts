// Flood: a client writes as fast as it can to a handler that does not read (readable() false).
// The engine stops reading the socket once recvPause bytes are buffered, core memory stays
// bounded, and when the handler starts reading every byte arrives intact.
// configure() changes engine-wide limits, so this file (its own process) restores them after.
import { it, expect, afterEach } from "vitest";
import { createHash } from "node:crypto";
import { ChannelMap, Dispatcher, Socket, closeAll, configure, loopStats } from "../../host/index.js";
import { getEngine } from "../../host/core/engine.js";
import { FIELD } from "../../host/core/abi.js";
import { pattern } from "./clients/pattern.mjs";
import { EchoServer, forkClient, runLoop, waitFor, sleep, size, report, KiB, MiB, SOAK } from "./helpers.js";

const TOTAL = size(64 * MiB, 1024 * MiB);
const READ_BUFFER = 64 * KiB; // the syscall layer's receive buffer: one read may land past the bound
const TIME = SOAK ? 600_000 : 40_000;

let map: ChannelMap;
afterEach(() => {
  closeAll({ map, ignoreAll: true });
  configure({ recvPause: 256 * KiB });
});

/** Does not read until `reading` is set; then checks every byte against the pattern. */
class Sink extends Dispatcher {
  reading = false;
  received = 0;
  intact = true;
  closes = 0;
  readonly digest = createHash("sha256");
  constructor(sock: Socket, map: ChannelMap, private readonly pat: ReturnType<typeof pattern>) {
    super(sock, map);
  }
  override readable(): boolean { return this.reading; }
  override writable(): boolean { return false; }
  override handleRead(): void {
    const d = this.recv(256 * KiB);
    if (d.length === 0) return;
    if (this.intact && !this.pat.matches(this.received, d)) this.intact = false;
    this.digest.update(d);
    this.received += d.length;
  }
  override handleClose(): void { this.closes++; this.close(); }
}

async function flood(recvPause: number, total = TOTAL, exact = false): Promise<void> {
  map = new ChannelMap();
  const seed = Date.now() >>> 0;
  const pat = pattern(seed);
  const server = new EchoServer(map);
  let sink: Sink | undefined;
  server.handleAccepted = (sock: Socket) => { sink = new Sink(sock, map, pat); };
  const run = runLoop(map, { timeout: 0.1 });
  const e = getEngine();
  const base = process.memoryUsage();
  const child = forkClient("flood.mjs");
  child.send({ host: "127.0.0.1", port: server.port, seed, total, blockedMs: 300 });
  const blocked = await child.next<{ phase: string; written: number }>(TIME);
  expect(blocked.phase).toBe("blocked");
  const s = sink!;
  const token = s.socket!.fileno();
  await waitFor(() => e.field(token, FIELD.inLen) >= recvPause, "the input queue to reach recvPause"); // a loaded machine may lag

  // The writer is blocked: input sits at the bound and does not grow.
  const samples: { inLen: number; core: number; ab: number; rss: number }[] = [];
  for (let i = 0; i < 15; i++) {
    const m = process.memoryUsage();
    samples.push({ inLen: e.field(token, FIELD.inLen), core: loopStats({ map }).coreMemoryInUse, ab: m.arrayBuffers - base.arrayBuffers, rss: m.rss - base.rss });
    await sleep(20);
  }
  const inLens = samples.map((x) => x.inLen);
  expect(Math.min(...inLens)).toBeGreaterThanOrEqual(recvPause);
  expect(Math.max(...inLens)).toBeLessThan(recvPause + READ_BUFFER);
  expect(new Set(inLens).size).toBe(1); // paused: nothing more arrives
  // the README's "exactly 65,536 bytes" at 64 KiB on native (recv(2) into the core stops at the bound); on net a
  // libuv read already in flight lands whole, so there the bound above (one read past recvPause) is the claim
  if (exact && process.env.WASYNCORE_BACKEND === "native") expect(inLens[0]).toBe(recvPause);
  const chunk = loopStats({ map }).coreMemoryInUse / Math.max(1, loopStats({ map }).chunksInUse);
  expect(Math.max(...samples.map((x) => x.core))).toBeLessThanOrEqual(recvPause + READ_BUFFER + chunk);
  expect(Math.max(...samples.map((x) => x.ab))).toBeLessThan(32 * MiB);
  expect(blocked.written).toBeLessThan(total);

  // The handler starts reading: every byte arrives, in order.
  s.reading = true;
  const done = await child.next<{ phase: string; written: number; error: string | null; hash: string }>(TIME);
  await waitFor(() => s.isClosed(), "the sink to see EOF and close");
  expect(done).toEqual({ phase: "done", written: total, error: null, hash: s.digest.digest("hex") });
  expect([s.received, s.intact, s.closes]).toEqual([total, true, 1]);
  await run.stop();
  report(`flood (recvPause ${recvPause})`, {
    total, writtenWhenBlocked: blocked.written, bufferedWhilePaused: inLens[0],
    maxCore: Math.max(...samples.map((x) => x.core)), maxArrayBuffersDelta: Math.max(...samples.map((x) => x.ab)),
  });
}

it(`pauses input at the default recvPause (256 KiB) against a ${TOTAL / MiB} MiB flood, then delivers every byte`, async () => {
  await flood(256 * KiB);
}, TIME + 10_000);

it("pauses input at a configured recvPause (64 KiB)", async () => {
  configure({ recvPause: 64 * KiB });
  await flood(64 * KiB, TOTAL / 4, true);
}, TIME + 10_000);
