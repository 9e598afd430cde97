// Datagrams under load: a paced flood through a UDP echo on the engine whose handler stops
// reading for a while. Every datagram the client sent is either received by the handler or
// counted in loopStats().datagramsDropped (sent = received + dropped, exactly); the channel's
// queue and the core's memory stay bounded; echoes come back byte-exact. Bad datagram input
// and bad calls from a handler get clear errors and the loop keeps serving.
import { it, expect, afterEach } from "vitest";
import * as dgram from "node:dgram";
import * as net from "node:net";
import { ChannelMap, Dispatcher, SocketError, closeAll, loopStats, AF_INET, SOCK_DGRAM, type Address } from "../../host/index.js";
import { getEngine } from "../../host/core/engine.js";
import { FIELD } from "../../host/core/abi.js";
import { runLoop, forkClient, waitFor, size, report, KiB, MiB, SOAK } from "./helpers.js";

const TOTAL = size(20_000, 1_000_000);
const BOUND = 32 * KiB; // the echo channel's receive bound (recvPause)
const TIME = SOAK ? 900_000 : 30_000;

let map: ChannelMap;
afterEach(() => closeAll({ map, ignoreAll: true }));

/** A UDP echo that can stop reading; counts what its handler took. */
class UdpEcho extends Dispatcher {
  received = 0;
  echoFailed = 0;
  reading = true;
  readonly errors: unknown[] = [];
  onDatagram: (data: Buffer, from: Address) => boolean = () => false; // true: handled, no echo
  constructor(map: ChannelMap) {
    super(null, map);
    this.createSocket(AF_INET, SOCK_DGRAM);
    this.bind(["127.0.0.1", 0]);
  }
  get address(): Address { return this.socket!.getsockname(); }
  override readable(): boolean { return this.reading; }
  override writable(): boolean { return false; }
  override handleRead(): void {
    for (let i = 0; i < 64; i++) { // several datagrams per event, as a real server would
      let data: Buffer, from: Address;
      try {
        [data, from] = this.recvfrom(65536);
      } catch (err) {
        if (err instanceof SocketError && err.code === "EAGAIN") return;
        throw err;
      }
      this.received++;
      if (this.onDatagram(data, from)) continue;
      if (this.sendto(data, from) === 0) this.echoFailed++;
    }
  }
  override handleError(err: unknown): void { this.errors.push(err); } // keeps serving
  override handleClose(): void { this.close(); }
}

it(`accounts for every datagram of a ${TOTAL}-datagram paced flood while the handler stops reading (sent = received + dropped)`, async () => {
  map = new ChannelMap();
  const e = getEngine();
  const echo = new UdpEcho(map);
  echo.setBufferLimits({ recvPause: BOUND });
  const token = echo.fileno();
  // The handler stops reading twice, for 250 ms each, a third and two thirds of the way in.
  const pauses: number[] = [];
  const pauseAt = [Math.floor(TOTAL / 3), Math.floor((2 * TOTAL) / 3)];
  echo.onDatagram = () => {
    if (pauseAt.length > 0 && echo.received >= pauseAt[0]) {
      pauseAt.shift();
      echo.reading = false;
      echo.callLater(0.25, () => { echo.reading = true; pauses.push(echo.received); });
    }
    return false;
  };
  const run = runLoop(map, { timeout: 0.05 });
  const droppedBefore = loopStats({ map }).datagramsDropped;
  const base = process.memoryUsage();
  let maxIn = 0, maxCore = 0, maxAb = 0;
  const sampler = setInterval(() => {
    maxIn = Math.max(maxIn, e.field(token, FIELD.inLen));
    maxCore = Math.max(maxCore, e.stat("chunksLive") * (e.stat("chunkSize") + 16));
    maxAb = Math.max(maxAb, process.memoryUsage().arrayBuffers - base.arrayBuffers);
  }, 5);
  const child = forkClient("udp-flood.mjs");
  const [host, port] = echo.address as [string, number];
  const seed = Date.now() >>> 0;
  child.send({ host, port, total: TOTAL, window: 128, minSize: 64, maxSize: 1400, lostMs: 40, seed });
  const out = await child.next<{ sent: number; echoed: number; late: number; corrupt: number; lost: number; sendErrors: number; ms: number }>(TIME);
  // Whatever is still on its way lands in the handler or in the drop count: the sum converges to sent.
  const dropped = (): number => loopStats({ map }).datagramsDropped - droppedBefore;
  await waitFor(() => echo.received + dropped() >= out.sent, `received ${echo.received} + dropped ${dropped()} to reach sent ${out.sent}`);
  clearInterval(sampler);
  expect(echo.received + dropped()).toBe(out.sent); // no silent loss, no double count
  expect(pauses).toHaveLength(2);
  expect(dropped()).toBeGreaterThan(0); // the pauses did overflow the bound
  expect(out.corrupt).toBe(0);
  expect(out.echoed + out.late).toBeLessThanOrEqual(echo.received);
  expect(out.echoed + out.late).toBeGreaterThan(out.sent / 2); // most came back (late: after the client gave up)
  expect(echo.errors).toEqual([]);
  expect(maxIn).toBeLessThanOrEqual(BOUND);
  expect(maxCore).toBeLessThanOrEqual(BOUND + 2 * (e.stat("chunkSize") + 16));
  expect(maxAb).toBeLessThan(32 * MiB);
  await run.stop();
  report("datagram flood", {
    sent: out.sent, received: echo.received, dropped: dropped(), echoed: out.echoed, late: out.late, lost: out.lost,
    echoSendsRefused: echo.echoFailed, sendErrors: out.sendErrors, maxQueued: maxIn, maxCoreChunkBytes: maxCore,
    maxArrayBuffersDelta: maxAb, ms: out.ms,
  });
}, TIME + 15_000);

/** Sends `msgs` from a node:dgram socket to `to` and resolves with `want` replies (in arrival order). */
async function exchange(to: Address, msgs: Buffer[], want = msgs.length, ms = 5000): Promise<Buffer[]> {
  const s = dgram.createSocket("udp4");
  await new Promise<void>((r) => s.bind(0, "127.0.0.1", r));
  const got: Buffer[] = [];
  const [host, port] = to as [string, number];
  const done = new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    s.on("message", (m) => { got.push(m); if (got.length === want) { clearTimeout(timer); resolve(); } });
  });
  for (const m of msgs) await new Promise<void>((r) => s.send(m, port, host, () => r()));
  await done;
  s.close();
  return got;
}

it("echoes empty, maximal and arbitrary datagrams, refuses bad calls with clear errors, and keeps serving", async () => {
  map = new ChannelMap();
  const echo = new UdpEcho(map);
  const run = runLoop(map);
  const caught: unknown[] = [];
  echo.onDatagram = (data, from) => {
    if (data.toString() === "BAD") {
      const tries: [string, () => unknown][] = [
        ["string data", () => echo.sendto("text" as unknown as Buffer, from)],
        ["no address", () => echo.sendto(data, undefined as unknown as Address)],
        ["port out of range", () => echo.sendto(data, ["127.0.0.1", 70000])],
        ["host name", () => echo.sendto(data, ["example.invalid", 9])],
        ["IPv6 host on AF_INET", () => echo.sendto(data, ["::1", 9])],
        ["too large", () => echo.sendto(Buffer.alloc(70_000), from)],
        ["negative recvfrom size", () => echo.recvfrom(-1)],
      ];
      for (const [, fn] of tries) {
        try { fn(); caught.push(null); } catch (err) { caught.push(err); }
      }
      echo.sendto(Buffer.from("BAD-OK"), from);
      return true;
    }
    if (data.toString() === "THROW") throw new RangeError("a handler bug"); // handleError, then more datagrams
    return false;
  };
  const max = Buffer.alloc(65507, 7);
  const odd = Buffer.from([0, 255, 13, 10, 0, 0, 1]);
  const got = await exchange(echo.address, [Buffer.alloc(0), max, odd, Buffer.from("BAD"), Buffer.from("THROW"), Buffer.from("after")], 5);
  expect(got.map((b) => b.length)).toEqual([0, 65507, 7, 6, 5]);
  expect(got[1].equals(max)).toBe(true);
  expect(got[2].equals(odd)).toBe(true);
  expect(got[3].toString()).toBe("BAD-OK");
  expect(got[4].toString()).toBe("after");
  expect(caught.map((err) => (err as Error)?.constructor?.name)).toEqual([
    "TypeError", "TypeError", "RangeError", "TypeError", "TypeError", "SocketError", "RangeError",
  ]);
  expect(String(caught[0])).toMatch(/sendto\(\): data must be a Uint8Array/);
  expect(String(caught[2])).toMatch(/sendto\(\): port must be in 0\.\.65535, got 70000/);
  expect(String(caught[3])).toMatch(/resolve "example.invalid" first/);
  expect((caught[5] as SocketError).code).toBe("EMSGSIZE");
  expect(String(caught[6])).toMatch(/recvfrom\(\): bufferSize must be in 0\.\./);
  expect(echo.errors.map(String)).toEqual(["RangeError: a handler bug"]);

  // A connected client whose peer port is closed: ECONNREFUSED reaches its handler; the echo serves on.
  const refused = await new Promise<number>((resolve) => {
    const srv = net.createServer();
    srv.listen(0, "127.0.0.1", () => { const p = (srv.address() as net.AddressInfo).port; srv.close(() => resolve(p)); });
  });
  const calls: string[] = [];
  const c = new (class extends Dispatcher {
    override writable(): boolean { return false; }
    override handleRead(): void { this.recv(100); }
    override handleClose(): void { calls.push("handleClose"); this.close(); }
    override handleError(err: unknown): void { calls.push(`handleError ${(err as SocketError).code}`); this.close(); }
  })(null, map);
  c.createSocket(AF_INET, SOCK_DGRAM);
  c.connect(["127.0.0.1", refused]);
  c.send(Buffer.from("anyone?"));
  await waitFor(() => c.isClosed(), "the refused datagram to be reported");
  expect(calls).toEqual(["handleError ECONNREFUSED"]);
  const again = await exchange(echo.address, Array.from({ length: 50 }, (_, i) => Buffer.from(`again ${i}`)));
  expect(again.map(String).sort()).toEqual(Array.from({ length: 50 }, (_, i) => `again ${i}`).sort());
  await run.stop();
});
