// Per-channel timers and idle timeouts on real loopback connections.
import { describe, it, expect, afterEach } from "vitest";
import * as net from "node:net";
import { ChannelMap, Dispatcher, Socket, AF_INET, SocketError, loop, closeAll, loopStats, type Address, type TimerHandle } from "../../host/index.js";

type Log = string[];

/** Echoes what it reads; logs idle and close events; idle timeout set on accept. */
class IdleEcho extends Dispatcher {
  constructor(sock: Socket, map: ChannelMap, readonly name: string, readonly events: Log, idle: number) {
    super(sock, map);
    this.setIdleTimeout(idle);
  }
  override handleRead(): void {
    const data = this.recv(4096);
    if (data.length > 0) this.send(data);
  }
  override writable(): boolean { return false; }
  override handleIdle(): void {
    this.events.push(`${this.name}:idle`);
    super.handleIdle();
  }
  override handleClose(): void {
    this.events.push(`${this.name}:close`);
    this.close();
  }
}

/** A listener that hands each accepted socket to `onAccept`. */
function listen(map: ChannelMap, onAccept: (sock: Socket, addr: Address) => void): { server: Dispatcher; port: number } {
  const server = new Dispatcher(null, map);
  server.createSocket(AF_INET);
  server.bind(["127.0.0.1", 0]);
  server.listen(16);
  server.handleAccepted = onAccept;
  return { server, port: (server.socket!.getsockname() as [string, number])[1] };
}

const clients: net.Socket[] = [];
function connect(port: number): net.Socket {
  const c = net.connect(port, "127.0.0.1");
  c.on("error", () => undefined);
  clients.push(c);
  return c;
}
afterEach(() => { for (const c of clients.splice(0)) c.destroy(); });

describe("idle timeouts", () => {
  it("closes a silent connection after its idle timeout and keeps a busy one open", async () => {
    const map = new ChannelMap();
    const log: Log = [];
    const chans: IdleEcho[] = [];
    const { server, port } = listen(map, (sock) => { chans.push(new IdleEcho(sock, map, chans.length === 0 ? "silent" : "busy", log, 0.3)); });
    const silent = connect(port);
    await new Promise((r) => silent.once("connect", r));
    let silentEndedAt = 0;
    silent.on("end", () => { silentEndedAt = performance.now(); });
    const t0 = performance.now();
    const busy = connect(port);
    let echoed = 0;
    busy.on("data", (d) => { echoed += d.length; });
    const ticker = setInterval(() => busy.write("x"), 20); // one byte every 20 ms: never idle for 300 ms
    // Stop by count and order, not by the clock: once the silent one ended and 30 bytes (at least 600 ms
    // of ticks, twice the idle timeout) came back from the busy one.
    let stoppedAt = 0;
    map.callEvery(0.05, function watch(this: void) {
      if (stoppedAt === 0 && silentEndedAt > 0 && echoed >= 30) { stoppedAt = performance.now(); clearInterval(ticker); server.close(); }
    });
    const quit = map.callLater(30, () => closeAll({ map })); // a safety net only
    const done = loop({ map, timeout: 30 });
    // once the ticker stops, the busy channel goes idle too and the loop ends
    while (!log.includes("busy:close") && performance.now() - t0 < 30_000) await new Promise((r) => setTimeout(r, 10));
    clearInterval(ticker);
    closeAll({ map });
    await done;
    quit.cancel();
    expect(log).toEqual(["silent:idle", "silent:close", "busy:idle", "busy:close"]);
    expect(silentEndedAt - t0).toBeGreaterThanOrEqual(290); // never before its idle timeout
    expect(stoppedAt).toBeGreaterThan(silentEndedAt); // the busy one outlived it
    expect(stoppedAt - t0).toBeGreaterThanOrEqual(590); // by more than its own idle timeout
    expect(echoed).toBeGreaterThanOrEqual(30);
  });

  it("counts bytes the application sends as activity", async () => {
    const map = new ChannelMap();
    const log: Log = [];
    let chan: IdleEcho | undefined;
    const { server, port } = listen(map, (sock) => {
      chan = new IdleEcho(sock, map, "talker", log, 0.25);
      // 20 ticks 30 ms apart (at least 570 ms, over twice the idle timeout), then close: stopped by count
      let ticks = 0;
      chan.callEvery(0.03, function (this: IdleEcho) { this.send(Buffer.from("tick")); if (++ticks === 20) { this.close(); quit.cancel(); } });
      server.close();
    });
    const c = connect(port);
    let got = 0;
    c.on("data", (d) => { got += d.length; });
    const ended = new Promise((r) => c.once("end", r));
    const quit = map.callLater(30, () => closeAll({ map })); // a safety net only
    await loop({ map, timeout: 30 });
    quit.cancel();
    await ended;
    expect(log).toEqual([]); // never idle: it kept sending
    expect(got).toBe(20 * 4);
  });

  it("re-arms after a handleIdle() that keeps the channel open, and setIdleTimeout(null) stops it", async () => {
    const map = new ChannelMap();
    const idles: number[] = [];
    let chan: Dispatcher | undefined;
    const { server, port } = listen(map, (sock) => {
      chan = new Dispatcher(sock, map);
      chan.writable = () => false;
      chan.handleIdle = () => {
        idles.push(performance.now());
        if (idles.length === 3) { chan!.setIdleTimeout(null); chan!.callLater(0.2, function (this: Dispatcher) { this.close(); }); }
      };
      chan.setIdleTimeout(0.05);
      server.close();
    });
    connect(port);
    await loop({ map, timeout: 30 });
    expect(idles.length).toBe(3);
    expect(idles[2] - idles[1]).toBeGreaterThanOrEqual(45);
  });

  it("rejects bad idle timeouts and a dispatcher without an open socket", () => {
    const map = new ChannelMap();
    const d = new Dispatcher(null, map);
    expect(() => d.setIdleTimeout(1)).toThrow(SocketError);
    d.createSocket(AF_INET);
    expect(() => d.setIdleTimeout(-1)).toThrow(RangeError);
    expect(() => d.setIdleTimeout(NaN)).toThrow(/seconds must be a number, got NaN/);
    expect(() => d.setIdleTimeout("5" as unknown as number)).toThrow(TypeError);
    d.setIdleTimeout(10);
    expect(loopStats({ map }).timersPending).toBe(1);
    d.close();
    expect(loopStats({ map }).timersPending).toBe(0);
    expect(() => d.setIdleTimeout(1)).toThrow(/closed dispatcher/);
  });
});

describe("per-channel timers", () => {
  it("cancels a channel's timers when it closes: no callback after close", async () => {
    const map = new ChannelMap();
    const calls: string[] = [];
    let chan: Dispatcher | undefined;
    const handles: TimerHandle[] = [];
    const { server, port } = listen(map, (sock) => {
      chan = new Dispatcher(sock, map);
      chan.writable = () => false;
      handles.push(chan.callLater(0.05, () => calls.push("late")));
      handles.push(chan.callEvery(0.01, () => calls.push("every")));
      handles.push(chan.callLater(0.005, function (this: Dispatcher) {
        calls.push(this === chan ? "close-from-timer" : "wrong this");
        this.close();
      }));
      server.close();
    });
    connect(port);
    const after = map.callLater(0.2, () => calls.push("map timer still runs"));
    await loop({ map, timeout: 30 });
    expect(calls).toEqual(["close-from-timer", "map timer still runs"]);
    expect(handles.map((h) => h.cancelled)).toEqual([true, true, false]);
    expect(after.cancelled).toBe(false);
    expect(loopStats({ map }).timersPending).toBe(0);
  });

  it("cancels a channel's timers when the peer closes and handleClose() runs", async () => {
    const map = new ChannelMap();
    const calls: string[] = [];
    const { server, port } = listen(map, (sock) => {
      const chan = new Dispatcher(sock, map);
      chan.writable = () => false;
      chan.handleRead = () => { chan.recv(100); };
      chan.handleClose = () => { calls.push("handleClose"); chan.close(); };
      chan.callLater(0.3, () => calls.push("timer after close"));
      server.close();
    });
    const c = connect(port);
    c.on("connect", () => setTimeout(() => c.end(), 20));
    await loop({ map, timeout: 30 });
    expect(calls).toEqual(["handleClose"]);
  });

  it("routes a channel timer's error to the dispatcher's handleTimerError", async () => {
    const map = new ChannelMap();
    const seen: unknown[] = [];
    map.handleTimerError = () => seen.push("map");
    const d = new Dispatcher(null, map);
    d.createSocket(AF_INET);
    d.handleTimerError = (err, timer) => { seen.push((err as Error).message, timer.owner === d); d.close(); };
    d.callLater(0.001, () => { throw new Error("boom"); });
    await loop({ map });
    expect(seen).toEqual(["boom", true]);
  });

  it("rejects timers on a closed dispatcher", () => {
    const d = new Dispatcher(null, new ChannelMap());
    d.createSocket(AF_INET);
    d.close();
    expect(() => d.callLater(1, () => undefined)).toThrow(/callLater\(\) on a closed dispatcher/);
  });

  it("closeAll() cancels the map's timers, including ones due later in the same pass", async () => {
    const map = new ChannelMap();
    const calls: string[] = [];
    map.callLater(0.01, () => { calls.push("first"); closeAll({ map }); });
    map.callLater(0.01, () => calls.push("second"));
    const other = new ChannelMap();
    const survivor = other.callLater(0.01, () => calls.push("other map"));
    const d = new Dispatcher(null, map);
    d.createSocket(AF_INET);
    const owned = d.callLater(5, () => calls.push("owned"));
    await loop({ map });
    expect(calls).toEqual(["first"]);
    expect(owned.cancelled).toBe(true);
    expect(survivor.cancelled).toBe(false);
    await loop({ map: other });
    expect(calls).toEqual(["first", "other map"]);
  });
});
