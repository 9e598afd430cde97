// pollOnce(): driving wasyncore from another loop.
import { describe, it, expect } from "vitest";
import * as net from "node:net";
import { randomBytes } from "node:crypto";
import { ChannelMap, Dispatcher, DispatcherWithSend, Socket, AF_INET, pollOnce, loop, closeAll } from "../../host/index.js";
import { until } from "./helpers.js";

class Echo extends DispatcherWithSend {
  override handleRead(): void {
    const data = this.recv(65536);
    if (data.length > 0) this.send(data);
  }
  override handleClose(): void { this.close(); }
}

function echoServer(map: ChannelMap): { server: Dispatcher; port: number } {
  const server = new Dispatcher(null, map);
  server.createSocket(AF_INET);
  server.bind(["127.0.0.1", 0]);
  server.listen(5);
  server.handleAccepted = (sock: Socket) => { new Echo(sock, map); };
  return { server, port: (server.socket!.getsockname() as [string, number])[1] };
}

describe("pollOnce", () => {
  it("serves an echo connection when driven from a plain setInterval", async () => {
    const map = new ChannelMap();
    const { server, port } = echoServer(map);
    const results: (number | null)[] = [];
    const driver = setInterval(() => results.push(pollOnce({ map })), 2);
    try {
      const payload = randomBytes(300_000);
      const client = net.connect(port, "127.0.0.1");
      const chunks: Buffer[] = [];
      client.on("data", (d) => chunks.push(d));
      client.on("connect", () => {
        for (let off = 0; off < payload.length; off += 10_000) client.write(payload.subarray(off, off + 10_000));
      });
      let received = 0;
      client.on("data", (d) => { received += d.length; });
      await until(() => received >= payload.length, 10_000, "the echo");
      expect(Buffer.concat(chunks).equals(payload)).toBe(true);
      client.end();
      await until(() => map.size === 1, 5000, "the echo channel to close");
    } finally {
      clearInterval(driver);
      server.close();
    }
    expect(results.every((r) => r === null)).toBe(true); // no timers on this map
  });

  it("runs due timers and returns the seconds until the next one", async () => {
    const map = new ChannelMap();
    expect(pollOnce({ map })).toBeNull();
    const calls: string[] = [];
    map.callLater(0, () => calls.push("now"));
    map.callLater(0.5, () => calls.push("later"));
    await new Promise((r) => setTimeout(r, 2));
    const next = pollOnce({ map });
    expect(calls).toEqual(["now"]);
    expect(next).toBeGreaterThan(0.3);
    expect(next).toBeLessThanOrEqual(0.5);
    closeAll({ map });
    expect(pollOnce({ map })).toBeNull();
  });

  it("drives timers from the delays it returns, with setTimeout", async () => {
    const map = new ChannelMap();
    const fired: number[] = [];
    for (const d of [0.03, 0.01, 0.02]) map.callLater(d, () => fired.push(d));
    await new Promise<void>((resolve) => {
      const step = (): void => {
        const next = pollOnce({ map });
        if (next === null) resolve();
        else setTimeout(step, Math.ceil(next * 1000));
      };
      step();
    });
    expect(fired).toEqual([0.01, 0.02, 0.03]);
  });

  it("refuses to run inside a handler or while loop() runs on the same map", async () => {
    const map = new ChannelMap();
    const errors: string[] = [];
    map.callLater(0, () => {
      try { pollOnce({ map }); } catch (err) { errors.push((err as Error).message); }
    });
    await loop({ map });
    expect(errors).toEqual(["pollOnce(): loop() is already running on this map (loop(), poll() and pollOnce() are not re-entrant)"]);
    // and loop() from a pollOnce() timer callback
    let inner: unknown;
    map.callLater(0, () => { inner = loop({ map }); });
    await new Promise((r) => setTimeout(r, 2));
    pollOnce({ map });
    await expect(inner).rejects.toThrow(/loop\(\): pollOnce\(\) is already running/);
  });

  it("rejects a map that is not a ChannelMap", () => {
    expect(() => pollOnce({ map: {} as ChannelMap })).toThrow(TypeError);
  });
});
