// Slow reader: the server tries to push 1 GiB to a client that reads ~1 KiB per 10 ms. The
// server's memory stays bounded, the channel reports unwritable (send() returns 0, write
// readiness stops), the bytes so far are intact; then the reader drains fast and, for a
// bounded amount, every byte arrives.
import { it, expect, afterEach } from "vitest";
import { createHash } from "node:crypto";
import { ChannelMap, Dispatcher, Socket, closeAll, loopStats } from "../../host/index.js";
import { getEngine } from "../../host/core/engine.js";
import { FIELD } from "../../host/core/abi.js";
import { pattern } from "./clients/pattern.mjs";
import { EchoServer, forkClient, runLoop, waitFor, size, report, KiB, MiB, SOAK } from "./helpers.js";

const SLOW_MS = size(3000, 10_000);
const DRAIN = size(8 * MiB, 64 * MiB);
const GiB = 1024 * MiB;

let map: ChannelMap;
afterEach(() => closeAll({ map, ignoreAll: true }));

/** Pushes the pattern until `limit` bytes were taken by send(), then closes (delivering the rest). */
class Pusher extends Dispatcher {
  accepted = 0;
  limit = GiB;
  zeroSends = 0;
  writes = 0;
  readonly errors: unknown[] = [];
  readonly digest = createHash("sha256");
  constructor(sock: Socket, map: ChannelMap, private readonly pat: ReturnType<typeof pattern>) {
    super(sock, map);
  }
  override writable(): boolean { return this.accepted < this.limit; }
  override handleRead(): void { this.recv(4096); }
  override handleWrite(): void {
    this.writes++;
    while (this.accepted < this.limit) {
      const chunk = this.pat.slice(this.accepted, Math.min(64 * KiB, this.limit - this.accepted));
      const n = this.send(chunk);
      if (n === 0) { this.zeroSends++; break; }
      this.digest.update(chunk.subarray(0, n));
      this.accepted += n;
    }
    if (this.accepted >= this.limit) this.close(); // what send() took is still delivered
  }
  override handleClose(): void { this.close(); }
  override handleError(err: unknown): void { this.errors.push(err); this.close(); }
}

it(`keeps memory bounded against a reader taking 1 KiB per 10 ms for ${SLOW_MS} ms, then delivers every byte`, async () => {
  map = new ChannelMap();
  const seed = Date.now() >>> 0;
  const pat = pattern(seed);
  const server = new EchoServer(map);
  let pusher: Pusher | undefined;
  server.handleAccepted = (sock: Socket) => { pusher = new Pusher(sock, map, pat); };
  const run = runLoop(map);
  const e = getEngine();
  const base = process.memoryUsage();
  const child = forkClient("slow-reader.mjs");
  child.send({ host: "127.0.0.1", port: server.port, seed, perTick: KiB, tickMs: 10, slowMs: SLOW_MS });
  await waitFor(() => pusher !== undefined, "the reader's connection");
  const p = pusher!;
  const token = p.socket!.fileno();

  // Sample while the reader is slow.
  const samples: { rss: number; ab: number; core: number; writable: boolean; writes: number }[] = [];
  const sampler = setInterval(() => {
    const m = process.memoryUsage();
    const pending = e.field(token, FIELD.outLen) + e.field(token, FIELD.inflight);
    samples.push({ rss: m.rss - base.rss, ab: m.arrayBuffers - base.arrayBuffers, core: loopStats({ map }).coreMemoryInUse,
      writable: pending < e.field(token, FIELD.window), writes: p.writes });
  }, 20);
  const slow = await child.next<{ phase: string; received: number; intact: boolean; ms: number }>(SLOW_MS + 20_000);
  clearInterval(sampler);
  const acceptedSlow = p.accepted;

  expect(slow.intact).toBe(true);
  expect(slow.received).toBeGreaterThan(0);
  // send() stopped taking bytes: what it took is what the reader read plus what the kernel
  // buffers hold (loopback autotuning allows a few MiB), nowhere near 1 GiB.
  expect(acceptedSlow - slow.received).toBeLessThan(32 * MiB);
  expect(p.zeroSends).toBeGreaterThan(0);
  // Write readiness stopped: in the second half of the slow phase the channel was unwritable in
  // most samples, and handleWrite ran on few passes.
  const late = samples.slice(samples.length >> 1);
  const unwritable = late.filter((s) => !s.writable).length / late.length;
  expect(unwritable).toBeGreaterThan(0.5);
  const lateWrites = late[late.length - 1].writes - late[0].writes;
  expect(lateWrites).toBeLessThan(late.length);
  // Memory stayed bounded: the core holds at most one send window (+ a chunk), Node at most a
  // window in flight.
  const max = (k: "rss" | "ab" | "core"): number => Math.max(...samples.map((s) => s[k]));
  expect(max("core")).toBeLessThanOrEqual(64 * KiB + 16 * KiB + 16);
  expect(max("ab")).toBeLessThan(32 * MiB);
  expect(max("rss")).toBeLessThan(96 * MiB);

  // Drain: the server offers DRAIN more bytes and closes; every byte arrives.
  p.limit = p.accepted + DRAIN;
  child.send("drain");
  const done = await child.next<{ received: number; intact: boolean; error: string | null; hash: string; ms: number }>(SOAK ? 300_000 : 30_000);
  await waitFor(() => p.isClosed(), "the pusher to close");
  expect(done).toMatchObject({ received: p.limit, intact: true, error: null, hash: p.digest.digest("hex") });
  expect(p.errors).toEqual([]);
  await run.stop();
  report("slow reader", {
    slowMs: SLOW_MS, readSlow: slow.received, acceptedWhileSlow: acceptedSlow, zeroSends: p.zeroSends,
    maxCore: max("core"), maxArrayBuffersDelta: max("ab"), maxRssDelta: max("rss"), drained: done.received, drainMs: done.ms,
    unwritableShare: Number(unwritable.toFixed(2)), lateWrites, samples: late.length,
  });
}, SLOW_MS + 60_000);
