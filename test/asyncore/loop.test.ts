// loop()/poll() contract: empty map, count, re-entrance, and an idle loop that does not spin.
import { describe, it, expect, beforeEach, afterEach } from "vitest";
import { AF_INET, ChannelMap, Dispatcher, closeAll, loop, poll, poll2 } from "../../host/index.js";
import { BaseServer, BaseTestHandler, ipv4 } from "./fixtures.js";

/** A listener that answers readable() and counts how often it was asked (once per pass). */
class CountingListener extends Dispatcher {
  asked = 0;
  constructor(map: ChannelMap) {
    super(null, map);
    this.createSocket(AF_INET);
    this.bind(["127.0.0.1", 0]);
    this.listen(5);
  }
  override readable(): boolean {
    this.asked++;
    return true;
  }
  override handleError(err: unknown): void { throw err; }
}

describe("loop()", () => {
  let map: ChannelMap;
  beforeEach(() => { map = new ChannelMap(); });
  afterEach(() => closeAll({ map, ignoreAll: true }));

  it("resolves at once on an empty map, whatever the timeout", async () => {
    const t0 = performance.now();
    await loop({ map });
    await loop({ map, timeout: 30, usePoll: true });
    await loop({ map, count: 5 });
    expect(performance.now() - t0).toBeLessThan(1000);
  });

  it("runs exactly `count` passes, asking readable() once per pass", async () => {
    const l = new CountingListener(map);
    await loop({ map, timeout: 0.001, count: 7 });
    expect(l.asked).toBe(7);
    await loop({ map, timeout: 0.001, count: 3, usePoll: true });
    expect(l.asked).toBe(10);
    await loop({ map, timeout: 0.001, count: 0 });
    expect(l.asked).toBe(10);
  });

  it("stops before `count` when the map empties", async () => {
    let passes = 0;
    const l = new (class extends CountingListener {
      override readable(): boolean {
        if (++passes === 3) this.close();
        return super.readable();
      }
    })(map);
    await loop({ map, timeout: 0.001, count: 100 });
    expect(passes).toBe(3);
    expect(l.accepting).toBe(false);
    expect(map.size).toBe(0);
  });

  it("without count, runs until the last channel closes", async () => {
    const calls: string[] = [];
    class Client extends BaseTestHandler {
      override handleConnect(): void { calls.push("handleConnect"); }
      override handleWrite(): void {
        calls.push("handleWrite");
        this.close();
        server.close();
      }
    }
    class Handler extends BaseTestHandler {
      override handleRead(): void { this.recv(1024); }
      override handleWrite(): void {}
      override handleClose(): void { this.close(); }
    }
    const server = new BaseServer(ipv4, ["127.0.0.1", 0], map, Handler);
    const client = new Client(null, map);
    client.createSocket(AF_INET);
    client.connect(server.address);
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error("loop() did not end")), 5000); });
    await Promise.race([loop({ map, timeout: 0.05 }), bound]).finally(() => clearTimeout(timer));
    expect(calls).toEqual(["handleConnect", "handleWrite"]);
    expect(map.size).toBe(0);
  });

  it("rejects loop()/poll()/poll2() while another loop runs on the same map, and serves other maps", async () => {
    new CountingListener(map);
    const running = loop({ map, timeout: 0.02, count: 5 });
    await expect(loop({ map, count: 1 })).rejects.toThrow(/loop\(\) is already running on this map/);
    await expect(poll(0, map)).rejects.toThrow(/already running/);
    await expect(poll2(0, map)).rejects.toThrow(/not re-entrant/);
    const other = new ChannelMap();
    const l2 = new CountingListener(other);
    await loop({ map: other, timeout: 0.001, count: 2 });
    expect(l2.asked).toBe(2);
    closeAll({ map: other });
    await running;
    await loop({ map, timeout: 0.001, count: 1 }); // usable again once the first loop is done
  });

  it("rejects bad options with errors naming the value", async () => {
    await expect(loop({ map, timeout: -1 })).rejects.toThrow(RangeError);
    await expect(loop({ map, timeout: "1" as unknown as number })).rejects.toThrow(/"1"/);
    await expect(loop({ map, count: -2 })).rejects.toThrow(/-2/);
    await expect(loop({ map: {} as unknown as ChannelMap })).rejects.toThrow(TypeError);
  });

  it("honours readable()/writable() assigned on the instance after the channel was registered", async () => {
    const calls: string[] = [];
    const server = new BaseServer(ipv4, ["127.0.0.1", 0], map, class extends BaseTestHandler {
      override writable(): boolean { return false; }
      override handleRead(): void { this.send(this.recv(64)); }
    });
    const client = new Dispatcher(null, map);
    client.createSocket(AF_INET);
    // assigned after createSocket() put the channel in the map, before the first pass (as Python code may do)
    client.readable = () => false;
    client.writable = () => !client.connected;
    client.handleConnect = () => { calls.push("handleConnect"); };
    client.handleRead = () => { calls.push("handleRead"); };
    client.handleWrite = () => { calls.push("handleWrite"); };
    client.handleError = (err) => { throw err; };
    client.connect(server.address);
    for (let i = 0; i < 500 && !client.connected; i++) await loop({ map, timeout: 0.01, count: 1 });
    expect(client.send(Buffer.from("echo me"))).toBe(7);
    await loop({ map, timeout: 0.01, count: 10 }); // the echo comes back, but the client is not readable
    expect(calls).toEqual(["handleConnect", "handleWrite"]);
  });

  it("uses little CPU while it waits on an idle listener", async () => {
    const l = new CountingListener(map);
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await loop({ map, timeout: 0.3, count: 1 });
    await loop({ map, timeout: 0.05, count: 2, usePoll: true });
    const wall = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    const cpuMs = (cpu.user + cpu.system) / 1000;
    // The control: this process's CPU over the same wall time spent in a plain setTimeout (vitest's
    // worker and GC threads count in both). A spinning loop would use its whole wall time.
    const ctl0 = process.cpuUsage();
    await new Promise((r) => setTimeout(r, wall));
    const ctl = process.cpuUsage(ctl0);
    const controlMs = (ctl.user + ctl.system) / 1000;
    expect(l.asked).toBe(3);
    expect(wall).toBeGreaterThanOrEqual(380); // it waited for the timeout instead of returning early
    expect(cpuMs, `loop ${cpuMs.toFixed(1)} ms CPU, control ${controlMs.toFixed(1)} ms, over ${wall.toFixed(0)} ms`).toBeLessThan(controlMs + 0.25 * wall);
  });
});
