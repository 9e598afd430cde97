// The loop sleeps until the nearest deadline: no CPU while waiting, and no oversleeping.
import { describe, it, expect } from "vitest";
import * as net from "node:net";
import { ChannelMap, Dispatcher, AF_INET, loop, poll, callLater, closeAll, loopStats, socketMap } from "../../host/index.js";

/** Runs `fn` and returns its result with the CPU time and wall time it took (ms). */
async function measure<T>(fn: () => Promise<T>): Promise<{ value: T; cpuMs: number; wallMs: number }> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const value = await fn();
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return { value, cpuMs: (cpu.user + cpu.system) / 1000, wallMs };
}

describe("waiting for timers", () => {
  it("sleeps until a timer 200 ms out, with no channels, using < 5% CPU, and fires as late as a Node timer set beside it", async () => {
    callLater(0.02, () => undefined);
    await loop({ map: socketMap }); // warm: the engine is loaded and the code paths compiled
    // The control: a plain setTimeout due at the same moment, in the same process, shows how late this
    // machine's event loop is right now; the loop's timer may be at most 20 ms later than it. A loaded
    // machine can still disturb one run; a spinning or oversleeping loop fails every run.
    const runs: { cpuPct: number; lateMs: number; controlLateMs: number }[] = [];
    const ok = (r: (typeof runs)[number]) => r.cpuPct < 5 && r.lateMs < r.controlLateMs + 20;
    for (let attempt = 0; attempt < 3; attempt++) {
      let firedAt = 0;
      let controlAt = 0;
      const h = callLater(0.2, () => { firedAt = performance.now(); });
      const control = setTimeout(() => { controlAt = performance.now(); }, h.deadline * 1000 - performance.now());
      const { cpuMs, wallMs } = await measure(() => loop());
      while (controlAt === 0) await new Promise((r) => setTimeout(r, 1));
      clearTimeout(control);
      const lateMs = firedAt - h.deadline * 1000;
      runs.push({ cpuPct: (100 * cpuMs) / wallMs, lateMs, controlLateMs: controlAt - h.deadline * 1000 });
      expect(firedAt).toBeGreaterThan(0);
      expect(lateMs).toBeGreaterThanOrEqual(0); // never early
      if (ok(runs.at(-1)!)) break;
    }
    if (process.env.TIMER_REPORT) console.log("sleep runs", runs);
    expect(runs.find(ok), JSON.stringify(runs)).toBeDefined();
  });

  it("waits no longer than the nearest timer even with a 30 s timeout and an idle channel", async () => {
    const map = new ChannelMap();
    const server = new Dispatcher(null, map);
    server.createSocket(AF_INET);
    server.bind(["127.0.0.1", 0]);
    server.listen(5);
    let firedAt = 0;
    const h = map.callLater(0.1, () => { firedAt = performance.now(); server.close(); });
    const t0 = performance.now();
    await loop({ map, timeout: 30 });
    expect(firedAt).toBeGreaterThan(0);
    expect(performance.now() - t0).toBeLessThan(2000);
    expect(firedAt - h.deadline * 1000).toBeLessThan(100);
  });

  it("waits the full timeout when no timer is due sooner", async () => {
    const map = new ChannelMap();
    const server = new Dispatcher(null, map);
    server.createSocket(AF_INET);
    server.bind(["127.0.0.1", 0]);
    server.listen(5);
    let fired = false;
    map.callLater(5, () => { fired = true; });
    const { wallMs } = await measure(() => poll(0.2, map));
    expect(fired).toBe(false);
    expect(wallMs).toBeGreaterThanOrEqual(195);
    expect(wallMs).toBeLessThan(2000);
    closeAll({ map });
    expect(map.size).toBe(0);
    expect(loopStats({ map }).timersPending).toBe(0);
  });

  it("wakes a waiting pass when a timer due sooner is added from outside the loop", async () => {
    const map = new ChannelMap();
    map.callLater(30, () => undefined);
    let firedAt = 0;
    let h: ReturnType<ChannelMap["callLater"]> | undefined;
    setTimeout(() => { h = map.callLater(0.02, () => { firedAt = performance.now(); map.callLater(0, () => undefined); }); }, 50);
    const done = loop({ map, timeout: 30 });
    const t0 = performance.now();
    while (firedAt === 0 && performance.now() - t0 < 5000) await new Promise((r) => setTimeout(r, 5));
    expect(firedAt).toBeGreaterThan(0);
    expect(firedAt - h!.deadline * 1000).toBeLessThan(100);
    // the 30 s timer keeps loop() running until closeAll() cancels it
    closeAll({ map });
    await done;
  });

  it("keeps loop() running on a map with timers but no channels, and resolves once they are gone", async () => {
    const map = new ChannelMap();
    const order: string[] = [];
    map.callLater(0.03, () => order.push("late"));
    map.callLater(0.01, () => order.push("early"));
    await loop({ map });
    expect(order).toEqual(["early", "late"]);
  });

  it("wakes for socket readiness before a distant timer", async () => {
    const map = new ChannelMap();
    const server = new Dispatcher(null, map);
    server.createSocket(AF_INET);
    server.bind(["127.0.0.1", 0]);
    server.listen(5);
    let acceptedAt = 0;
    server.handleAccepted = (sock) => { acceptedAt = performance.now(); sock.close(); server.close(); closeTimer.cancel(); };
    const closeTimer = map.callLater(10, () => undefined);
    const port = (server.socket!.getsockname() as [string, number])[1];
    const t0 = performance.now();
    const client = net.connect(port, "127.0.0.1");
    client.on("error", () => undefined);
    await loop({ map, timeout: 30 });
    client.destroy();
    expect(acceptedAt - t0).toBeLessThan(2000);
  });
});
