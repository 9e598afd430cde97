// Timers under load: idle timeouts on many connections of which half fall silent — exactly the
// silent half is closed, each no sooner than its timeout — while timer callbacks that throw
// (per channel and map-wide) reach handleTimerError and disturb no byte of the active half.
import { it, expect, afterEach } from "vitest";
import { ChannelMap, Dispatcher, DispatcherWithSend, Socket, closeAll, loopStats, type TimerHandle } from "../../host/index.js";
import { runLoop, forkClient, waitFor, size, report, SOAK } from "./helpers.js";

const CONNS = size(1000, 5000);
const IDLE = 1.5; // seconds
const TIME = SOAK ? 300_000 : 30_000;

let map: ChannelMap;
afterEach(() => closeAll({ map, ignoreAll: true }));

interface Tally { idle: number[]; idleAfter: number[]; peer: number[]; timerErrors: number; mapTimerErrors: number; errors: unknown[] }

/** Echoes, learns its client's index from the first 4 bytes, closes after IDLE seconds of silence. */
class IdleEcho extends DispatcherWithSend {
  id = -1;
  private head = Buffer.alloc(0);
  private lastRead = performance.now();
  constructor(sock: Socket, map: ChannelMap, private readonly tally: Tally, n: number) {
    super(sock, map);
    this.setIdleTimeout(IDLE);
    // Every tenth channel also runs a timer that always throws.
    if (n % 10 === 0) this.callEvery(0.05, () => { throw new Error("timer bug"); });
  }
  override handleRead(): void {
    const d = this.recv(4096);
    if (d.length === 0) return;
    this.lastRead = performance.now();
    if (this.id < 0) {
      this.head = Buffer.concat([this.head, d]);
      if (this.head.length >= 4) this.id = this.head.readUInt32LE(0);
    }
    this.send(d);
  }
  override handleIdle(): void {
    this.tally.idle.push(this.id);
    this.tally.idleAfter.push(performance.now() - this.lastRead);
    this.close();
  }
  override handleClose(): void {
    this.tally.peer.push(this.id);
    this.close();
  }
  override handleError(err: unknown): void {
    this.tally.errors.push(err);
    this.close();
  }
  override handleTimerError(err: unknown, timer: TimerHandle): void {
    void err; void timer;
    this.tally.timerErrors++;
  }
}

interface Result { i: number; active: boolean; sent: number; echoed: number; bad: number; pending: number; closedAfter: number; error: string | null }

it(`closes exactly the silent half of ${CONNS} connections on their idle timeout, while throwing timers run`, async () => {
  map = new ChannelMap();
  const tally: Tally = { idle: [], idleAfter: [], peer: [], timerErrors: 0, mapTimerErrors: 0, errors: [] };
  map.handleTimerError = () => { tally.mapTimerErrors++; };
  const server = new (class extends Dispatcher {
    accepted = 0;
    override handleAccepted(sock: Socket): void { new IdleEcho(sock, map, tally, this.accepted++); }
  })(null, map);
  server.createSocket();
  server.bind(["127.0.0.1", 0]);
  server.listen(4096);
  const port = (server.socket!.getsockname() as [string, number])[1];
  map.callEvery(0.01, () => { throw new Error("map timer bug"); });
  const run = runLoop(map, { timeout: 1 });

  const child = forkClient("idle-client.mjs");
  child.send({ host: "127.0.0.1", port, conns: CONNS, activeEvery: 150, runMs: IDLE * 1000 * 2.2 });
  const up = await child.next<{ phase: string; ms: number }>(TIME);
  expect(up.phase).toBe("connected");
  const done = await child.next<{ phase: string; results: Result[] }>(TIME);
  const results = done.results;
  const silent = results.filter((r) => !r.active);
  const active = results.filter((r) => r.active);

  // Exactly the silent half was closed by its idle timeout, none too early; no active one was.
  expect(tally.idle.slice().sort((a, b) => a - b)).toEqual(silent.map((r) => r.i));
  expect(silent.filter((r) => r.closedAfter < IDLE * 1000 - 20)).toEqual([]);
  // Measured at the server, from the last bytes read (the clients' figures include accept delays).
  const idleAfter = tally.idleAfter.sort((a, b) => a - b);
  expect(idleAfter[0]).toBeGreaterThanOrEqual(IDLE * 1000 - 5);
  expect(active.filter((r) => r.closedAfter >= 0)).toEqual([]);
  // The active half's bytes came back intact and in order, throwing timers notwithstanding.
  expect(active.filter((r) => r.bad !== 0 || r.error !== null || r.echoed + r.pending !== r.sent || r.pending > 64)).toEqual([]);
  expect(tally.errors).toEqual([]);
  expect(tally.timerErrors).toBeGreaterThan(0);
  expect(tally.mapTimerErrors).toBeGreaterThan(0);
  // The client closed the active half: they close as peers (not as idle).
  await waitFor(() => map.size === 1, `the active channels to close (open: ${map.size - 1})`);
  expect(tally.peer.slice().sort((a, b) => a - b)).toEqual(active.map((r) => r.i));
  const stats = loopStats({ map });
  expect(stats.timersPending).toBe(1); // only the map's own timer: every channel's timers went with it
  await run.stop();
  const ms = (v: number): number => Math.round(v);
  const [earliest, median, latest] = [idleAfter[0], idleAfter[idleAfter.length >> 1], idleAfter[idleAfter.length - 1]].map(ms);
  report("timers under load", {
    connections: CONNS, idleTimeoutMs: IDLE * 1000, silentClosed: tally.idle.length, activeKept: active.length,
    idleFiredAfterLastReadMs: { earliest, median, latest }, channelTimerErrors: tally.timerErrors, mapTimerErrors: tally.mapTimerErrors,
    activeBytesEchoed: active.reduce((a, r) => a + r.echoed, 0), connectMs: up.ms,
  });
}, TIME * 2 + 10_000);
