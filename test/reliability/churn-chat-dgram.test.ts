// Churn for AsyncChat and datagram sockets: thousands of open/use/close cycles, in several
// styles, with per-channel timers; afterwards Node's handles, the process's fds, the core's
// channels, chunks and timers are back at their baseline, and the core's memory did not grow
// after the first 10% of cycles.
import { it, expect, afterEach } from "vitest";
import { ChannelMap, Dispatcher, Socket, SocketError, closeAll, loopStats, AF_INET, SOCK_DGRAM, type Address } from "../../host/index.js";
import { AsyncChat } from "../../host/asyncore/chat.js";
import { getEngine } from "../../host/core/engine.js";
import { ChatServer, ChatChannel } from "./chat-helpers.js";
import { rng, conversation } from "./clients/chat-protocol.mjs";
import { runLoop, waitFor, size, report, activeHandles, fdCount, SOAK } from "./helpers.js";

const CHAT_CYCLES = size(1500, 50_000);
const DGRAM_CYCLES = size(3000, 100_000);
const CONCURRENCY = 16;
const TIME = SOAK ? 1_200_000 : 30_000;

let map: ChannelMap;
afterEach(() => closeAll({ map, ignoreAll: true }));

interface Tally { done: number; ok: number; bad: string[]; errors: unknown[]; stale: number }

function baseline(): { handles: number; fds: number; channels: number; chunks: number; timers: number; timerHeap: number } {
  const e = getEngine();
  return {
    handles: activeHandles(), fds: fdCount(), channels: e.stat("channels"), chunks: e.stat("chunksLive"),
    timers: loopStats({ map }).timersPending, timerHeap: e.core.timer_heap_len(map.id),
  };
}

/**
 * Grows the core's chunk pool to `n` chunks and frees them again (they stay on its free list), so
 * that peaks in how many channels hold bytes at once need no new memory: any growth of the core's
 * memory after that is a leak, not a new high-water mark.
 */
function pregrowPool(n: number): void {
  const e = getEngine();
  const s = new Socket();
  const t = s.fileno();
  for (let i = 0; i < n && e.core.out_reserve(t, e.stat("chunkSize")) !== 0; i++) e.core.out_commit(t, e.core.result_len());
  s.close();
}

/** Drives `start(i)` for `cycles` cycles, `CONCURRENCY` at a time; samples core memory at 10%. */
function churn(cycles: number, tally: Tally, start: (i: number) => void): Promise<number> {
  let started = 0;
  let reservedAt10 = 0;
  return new Promise<number>((resolve, reject) => {
    const pump = (): void => {
      if (tally.done >= cycles / 10 && reservedAt10 === 0) reservedAt10 = loopStats({ map }).coreMemoryReserved;
      while (started < cycles && started - tally.done < CONCURRENCY) start(started++);
      if (tally.done === cycles) resolve(reservedAt10);
      else setImmediate(pump);
    };
    pump();
    setTimeout(() => reject(new Error(`churn stalled at ${tally.done}/${cycles}`)), TIME).unref();
  });
}

/**
 * One AsyncChat client cycle, in three styles: a whole conversation ending in QUIT, checked
 * byte for byte (i % 3 == 0); half a conversation, then close() (1); close in handleConnect (2).
 */
class ChatCycler extends AsyncChat {
  private readonly got: Buffer[] = [];
  private readonly reply: Buffer;
  private readonly request: Buffer;
  private finished = false;
  constructor(map: ChannelMap, port: number, private readonly i: number, private readonly tally: Tally) {
    super(null, map);
    const c = conversation(rng(i + 1), 200 + (i % 7) * 300, 2048);
    [this.request, this.reply] = [c.request, c.reply];
    this.setTerminator(null); // collect everything
    this.createSocket();
    this.connect(["127.0.0.1", port]);
    this.setIdleTimeout(30);
    this.callLater(60, () => {}); // cancelled by close()
  }
  override handleConnect(): void {
    const style = this.i % 3;
    if (style === 2) { this.end(true); return; }
    this.push(style === 0 ? this.request : this.request.subarray(0, this.request.length >> 1));
    if (style === 1) this.end(true); // close() drops what push() queued beyond the send window
  }
  override collectIncomingData(data: Buffer): void { this.got.push(data); }
  override foundTerminator(): void {}
  override handleClose(): void {
    const back = Buffer.concat(this.got);
    if (this.i % 3 === 0 && !back.equals(this.reply)) this.tally.bad.push(`chat cycle ${this.i}: ${back.length}/${this.reply.length} bytes`);
    this.end(this.i % 3 === 0);
  }
  override handleError(err: unknown): void { this.tally.errors.push(err); this.end(false); }
  private end(ok: boolean): void {
    this.close();
    if (this.finished) return;
    this.finished = true;
    this.tally.done++;
    if (ok) this.tally.ok++;
  }
}

it(`returns handles, fds, channels, chunks and timers to baseline after ${CHAT_CYCLES} AsyncChat cycles`, async () => {
  map = new ChannelMap();
  const server = new ChatServer(map);
  server.handleAccepted = (sock: Socket) => {
    const ch = new ChatChannel(sock, map, server, server.accepted++);
    ch.setIdleTimeout(30);
    ch.callEvery(60, () => {});
    server.live.add(ch);
  };
  const run = runLoop(map);
  pregrowPool(4 * CONCURRENCY);
  const base = baseline();
  const tally: Tally = { done: 0, ok: 0, bad: [], errors: [], stale: 0 };
  const t0 = Date.now();
  const reservedAt10 = await churn(CHAT_CYCLES, tally, (i) => { new ChatCycler(map, server.port, i, tally); });
  const ms = Date.now() - t0;
  await waitFor(() => server.records.length === server.accepted && map.size === 1, `every server channel to close (${server.records.length}/${server.accepted})`);
  await waitFor(() => activeHandles() <= base.handles && fdCount() <= base.fds, `handles ${activeHandles()}/${base.handles} and fds ${fdCount()}/${base.fds} to return to baseline`, 10_000, 20);
  const after = baseline();
  expect(tally.bad).toEqual([]);
  expect(tally.errors).toEqual([]);
  expect(server.errors).toEqual([]);
  expect(tally.ok).toBe(CHAT_CYCLES); // style 0 counts only once its whole reply arrived before the close
  // Node's handle count moves with the loop's own wait timer: at most the baseline.
  expect(after.handles).toBeLessThanOrEqual(base.handles);
  expect({ ...after, handles: 0 }).toEqual({ ...base, handles: 0 });
  expect(loopStats({ map }).coreMemoryReserved).toBe(reservedAt10);
  await run.stop();
  report("churn AsyncChat", { cycles: CHAT_CYCLES, ms, perSecond: Math.round(CHAT_CYCLES / (ms / 1000)), baseline: base, after, coreMemoryReserved: reservedAt10 });
}, TIME + 20_000);

/** A UDP echo on the engine. */
class UdpEcho extends Dispatcher {
  constructor(map: ChannelMap) {
    super(null, map);
    this.createSocket(AF_INET, SOCK_DGRAM);
    this.bind(["127.0.0.1", 0]);
  }
  override writable(): boolean { return false; }
  override handleRead(): void {
    for (;;) {
      let d: Buffer, from: Address;
      try { [d, from] = this.recvfrom(2048); } catch (err) {
        if (err instanceof SocketError && err.code === "EAGAIN") return;
        throw err;
      }
      this.sendto(d, from);
    }
  }
}

/**
 * One datagram socket's life, in four styles: send, await the echo, close (i % 4 < 2, one of
 * them connected first); send and close at once (2); bind and close without sending (3).
 */
class DgramCycler extends Dispatcher {
  private readonly msg: Buffer;
  private sent = false;
  private finished = false;
  constructor(map: ChannelMap, private readonly to: Address, private readonly i: number, private readonly tally: Tally) {
    super(null, map);
    this.msg = Buffer.from(`datagram ${i} `.repeat(1 + (i % 50)));
    this.createSocket(AF_INET, SOCK_DGRAM);
    const style = i % 4;
    if (style === 3) { this.bind(["127.0.0.1", 0]); this.end(true); return; }
    if (style === 1) this.connect(to);
    this.callLater(60, () => {}); // cancelled by close()
  }
  override writable(): boolean { return !this.sent; }
  override handleWrite(): void {
    this.sent = true;
    if (this.i % 4 === 1) this.send(this.msg);
    else this.sendto(this.msg, this.to);
    if (this.i % 4 === 2) this.end(true);
  }
  override handleRead(): void {
    const [d] = this.recvfrom(4096);
    if (d.equals(this.msg)) { this.end(true); return; }
    // An echo owed to an earlier cycle's socket that had the same port (the kernel reuses
    // ephemeral ports; style 2 closes before its echo arrives): not ours, keep waiting.
    const m = /^datagram (\d+) /.exec(d.toString("latin1"));
    if (m && Number(m[1]) < this.i && d.equals(Buffer.from(`datagram ${m[1]} `.repeat(1 + (Number(m[1]) % 50))))) this.tally.stale++;
    else { this.tally.bad.push(`datagram cycle ${this.i}: got ${JSON.stringify(d.subarray(0, 40).toString("latin1"))}`); this.end(false); }
  }
  override handleError(err: unknown): void { this.tally.errors.push(err); this.end(false); }
  override handleClose(): void { this.end(false); }
  private end(ok: boolean): void {
    this.close();
    if (this.finished) return;
    this.finished = true;
    this.tally.done++;
    if (ok) this.tally.ok++;
  }
}

it(`returns handles, fds, channels, chunks and timers to baseline after ${DGRAM_CYCLES} datagram socket cycles`, async () => {
  map = new ChannelMap();
  const echo = new UdpEcho(map);
  const to = echo.socket!.getsockname();
  const run = runLoop(map);
  pregrowPool(4 * CONCURRENCY);
  const base = baseline();
  const droppedBefore = loopStats({ map }).datagramsDropped;
  const tally: Tally = { done: 0, ok: 0, bad: [], errors: [], stale: 0 };
  const t0 = Date.now();
  const reservedAt10 = await churn(DGRAM_CYCLES, tally, (i) => { new DgramCycler(map, to, i, tally); });
  const ms = Date.now() - t0;
  await waitFor(() => map.size === 1, "every datagram socket to close");
  await waitFor(() => activeHandles() <= base.handles && fdCount() <= base.fds, `handles ${activeHandles()}/${base.handles} and fds ${fdCount()}/${base.fds} to return to baseline`, 10_000, 20);
  // Echoes that reach a socket the style-2 cycles already closed are the kernel's to discard.
  await waitFor(() => getEngine().stat("chunksLive") === base.chunks, "the echo's queue to drain");
  const after = baseline();
  expect(tally.bad).toEqual([]);
  expect(tally.errors).toEqual([]);
  expect(tally.ok).toBe(DGRAM_CYCLES);
  // Node's handle count moves with the loop's own wait timer: at most the baseline.
  expect(after.handles).toBeLessThanOrEqual(base.handles);
  expect({ ...after, handles: 0 }).toEqual({ ...base, handles: 0 });
  expect(loopStats({ map }).datagramsDropped - droppedBefore).toBe(0);
  expect(loopStats({ map }).coreMemoryReserved).toBe(reservedAt10);
  await run.stop();
  report("churn datagram sockets", { cycles: DGRAM_CYCLES, staleEchoesFromReusedPorts: tally.stale, ms, perSecond: Math.round(DGRAM_CYCLES / (ms / 1000)), baseline: base, after, coreMemoryReserved: reservedAt10 });
}, TIME + 20_000);
