// Write readiness at the memory cap: when the core's pool can give a channel no memory for
// output, send() returns 0 and the channel stops being write-ready (no handleWrite every pass);
// once memory frees it is write-ready again and every byte it then sends arrives.
// configure() changes engine-wide limits, so this file (its own process) restores them after.
import { it, expect, afterEach } from "vitest";
import * as net from "node:net";
import { createHash, randomBytes } from "node:crypto";
import { ChannelMap, Dispatcher, DispatcherWithSend, Socket, closeAll, configure, loopStats } from "../../host/index.js";
import { getEngine } from "../../host/core/engine.js";
import { F_OPEN, F_OUTWAIT, R, W } from "../../host/core/abi.js";
import { freshCore } from "../core/wasm.js";
import { EchoServer, runLoop, waitFor, sleep, report, KiB, MiB } from "./helpers.js";
import { passes } from "../support/index.js";

const CAP = 1 * MiB;

let map: ChannelMap;
afterEach(() => {
  closeAll({ map, ignoreAll: true });
  configure({ memoryCap: 2 ** 30, recvPause: 256 * KiB });
});

/** Counts its handleWrite calls and the sends that got nothing. */
class Writer extends DispatcherWithSend {
  writes = 0;
  zeroSends = 0;
  readonly errors: unknown[] = [];
  override readable(): boolean { return false; }
  override handleWrite(): void {
    this.writes++;
    const before = this.outBuffer.length;
    this.initiateSend();
    if (this.outBuffer.length === before) this.zeroSends++;
  }
  override handleClose(): void { this.close(); }
  override handleError(err: unknown): void { this.errors.push(err); this.close(); }
}

it("core: a channel whose output the pool cannot take is not write-ready until a chunk frees", () => {
  const core = freshCore();
  const x = core.x;
  const CHUNK = 1024;
  expect(x.engine_init(CHUNK, 4 * (CHUNK + 16), 1 << 20, 1 << 20)).toBe(0); // room for four chunks
  const a = x.chan_open(1), b = x.chan_open(1);
  for (const t of [a, b]) {
    x.chan_set_flags(t, F_OPEN, 0);
    core.set(t, "interest", R | W);
  }
  expect(core.push("out", a, new Uint8Array(4 * CHUNK))).toBe(4 * CHUNK); // a takes the whole pool
  expect(core.poll(1, 1)).toEqual([{ token: a, flags: 4 }, { token: b, flags: 4 }]);
  expect(x.out_reserve(b, 1)).toBe(0); // b gets nothing: it waits for memory
  expect(x.chan_flags(b) & F_OUTWAIT).toBe(F_OUTWAIT);
  expect([core.stat("outWaiting"), x.chan_ready(b)]).toEqual([1, 0]);
  expect(core.poll(1, 1)).toEqual([{ token: a, flags: 4 }]);
  expect(x.out_consume(a, CHUNK - 1)).toBe(0); // frees no chunk: b still waits
  expect(core.poll(1, 1)).toEqual([{ token: a, flags: 4 }]);
  expect(x.out_consume(a, 1)).toBe(0); // a chunk goes back to the pool: b is writable again
  expect([core.stat("outWaiting"), core.stat("outWakes"), x.chan_flags(b) & F_OUTWAIT]).toEqual([0, 1, 0]);
  expect(core.poll(1, 1)).toEqual([{ token: a, flags: 4 }, { token: b, flags: 4 }]);
  expect(x.out_reserve(b, 1)).not.toBe(0);
  // A higher cap, and a closed channel's chunks, wake waiters too; a closed waiter is not counted.
  expect(x.out_commit(b, 1)).toBe(0);
  const c = x.chan_open(1);
  x.chan_set_flags(c, F_OPEN, 0);
  expect(x.out_reserve(c, CHUNK)).toBe(0);
  expect(core.stat("outWaiting")).toBe(1);
  expect(x.engine_init(CHUNK, 5 * (CHUNK + 16), 1 << 20, 1 << 20)).toBe(0);
  expect([core.stat("outWaiting"), x.chan_ready(c)]).toEqual([0, 1]);
  expect(x.out_reserve(c, CHUNK)).not.toBe(0);
  expect(x.out_commit(c, CHUNK)).toBe(0);
  const d = x.chan_open(1);
  expect(x.out_reserve(d, 1)).toBe(0);
  expect(core.stat("outWaiting")).toBe(1);
  expect(x.chan_close(d)).toBe(0);
  expect(core.stat("outWaiting")).toBe(0);
  expect(x.chan_close(b)).toBe(0);
  expect(x.out_reserve(a, 1)).not.toBe(0); // b's chunk came back
});

it("stops calling handleWrite while the pool has no memory for output, and resumes when it frees", async () => {
  configure({ memoryCap: CAP });
  map = new ChannelMap();
  const e = getEngine();
  const server = new EchoServer(map);
  const sinks: Dispatcher[] = [];
  let writer: Writer | undefined;
  server.handleAccepted = (sock: Socket) => {
    if (server.accepted++ === 0) { writer = new Writer(sock, map); return; }
    // Sinks that do not read: their input takes the pool's input share.
    sinks.push(new (class extends Dispatcher {
      override readable(): boolean { return false; }
      override writable(): boolean { return false; }
      override handleRead(): void { this.recv(64 * KiB); }
      override handleClose(): void { this.close(); }
    })(sock, map));
  };
  // A long pass timeout: only a wake from the memory being freed can end a wait in time.
  const run = runLoop(map, { timeout: 30 });

  // The writer's peer reads everything.
  const peer = net.connect({ host: "127.0.0.1", port: server.port });
  const got = createHash("sha256");
  let gotBytes = 0;
  peer.on("data", (d: Buffer) => { got.update(d); gotBytes += d.length; });
  peer.on("error", () => {});
  await waitFor(() => writer !== undefined, "the writer's connection");

  // Fill the input share, then lower the cap to what is allocated: no chunk is left for output.
  const flooders = Array.from({ length: 4 }, () => {
    const s = net.connect({ host: "127.0.0.1", port: server.port });
    s.on("error", () => {});
    s.write(randomBytes(512 * KiB));
    return s;
  });
  const chunk = e.stat("chunkSize") + 16;
  await waitFor(() => (e.stat("chunksLive") + 1) * chunk > CAP - CAP / 4, "input to fill its share of the cap");
  getEngine().core.pool_trim();
  configure({ memoryCap: e.stat("chunkBytes") });

  const data = randomBytes(2 * MiB);
  const w = writer!;
  const eventsBefore = loopStats({ map }).eventsDispatched;
  w.send(data); // queued in outBuffer: the core takes nothing
  expect(w.outBuffer.length).toBe(data.length);
  const t0 = performance.now();
  await passes(map, 20); // the positive control: 20 passes ran (a timer wakes them), the writer writable throughout
  const msStarved = Math.round(performance.now() - t0);
  const starved = { writes: w.writes, zeroSends: w.zeroSends, events: loopStats({ map }).eventsDispatched - eventsBefore };
  // At most the pass that found no memory ran handleWrite; no pass after it did.
  expect(starved.writes).toBeLessThanOrEqual(2);
  expect(w.outBuffer.length).toBe(data.length);

  // Memory frees outside a pass (the cap goes back up): the waiting pass wakes and the writer
  // sends everything through the output share of the pool, the sinks still not reading.
  configure({ memoryCap: CAP });
  await waitFor(() => gotBytes === data.length, `the writer's bytes to arrive (${gotBytes}/${data.length})`, 20_000);
  expect(got.digest("hex")).toBe(createHash("sha256").update(data).digest("hex"));
  expect(w.errors).toEqual([]);
  peer.destroy();
  for (const s of flooders) s.destroy();
  await run.stop();
  report("write readiness at the memory cap", { ...starved, msStarved, bytesAfter: data.length });
});
