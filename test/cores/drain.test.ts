// drain(): a graceful stop closes the listeners, delivers what accepted connections were sent, then ends the map.
import { describe, it, expect, beforeEach, afterEach } from "vitest";
import * as net from "node:net";
import { Buffer } from "node:buffer";
import { AF_INET, AsyncChat, ChannelMap, Dispatcher, closeAll, drain, loop, type Socket } from "../../host/index.js";

const REPLY = 4 * 1024 * 1024;

/** Answers "GET\n" with REPLY bytes (a repeating pattern) and closes when done. */
class Replier extends AsyncChat {
  constructor(sock: Socket, map: ChannelMap) {
    super(sock, map);
    this.setTerminator("\n");
  }
  override collectIncomingData(): void {}
  override foundTerminator(): void {
    const body = Buffer.alloc(REPLY);
    for (let i = 0; i < REPLY; i++) body[i] = i % 251;
    this.push(body);
    this.closeWhenDone();
  }
}

/** Keeps its connection open until the peer closes (an idle keep-alive client). */
class Idle extends Dispatcher {
  override handleRead(): void { this.recv(4096); }
  override writable(): boolean { return false; }
  override handleClose(): void { this.close(); }
}

class Server extends Dispatcher {
  constructor(map: ChannelMap, readonly handler: new (s: Socket, m: ChannelMap) => Dispatcher) {
    super(null, map);
    this.createSocket(AF_INET);
    this.setReuseAddr();
    this.bind(["127.0.0.1", 0]);
    this.listen(64);
  }
  get port(): number { return (this.socket!.getsockname() as [string, number])[1]; }
  override handleAccepted(sock: Socket): void { new this.handler(sock, this._map); }
  override handleError(err: unknown): void { throw err; }
}

/** Connects, sends `line`, and (after `pauseMs` without reading) collects everything until EOF. */
function fetch(port: number, line: string, pauseMs = 0): { connected: Promise<void>; body: Promise<Buffer> } {
  const c = net.connect(port, "127.0.0.1");
  const connected = new Promise<void>((resolve, reject) => { c.once("connect", resolve); c.once("error", reject); });
  const body = new Promise<Buffer>((resolve, reject) => {
    const parts: Buffer[] = [];
    c.once("connect", () => {
      c.write(line);
      if (pauseMs > 0) { c.pause(); setTimeout(() => c.resume(), pauseMs); }
    });
    c.on("data", (d) => parts.push(d));
    c.once("end", () => { c.end(); resolve(Buffer.concat(parts)); });
    c.once("error", reject);
  });
  return { connected, body };
}

function refused(port: number): Promise<string> {
  return new Promise((resolve) => {
    const c = net.connect(port, "127.0.0.1");
    c.once("connect", () => { c.destroy(); resolve("connected"); });
    c.once("error", (e: NodeJS.ErrnoException) => resolve(e.code ?? String(e)));
  });
}

function intact(b: Buffer): boolean {
  if (b.length !== REPLY) return false;
  for (let i = 0; i < b.length; i += 4093) if (b[i] !== i % 251) return false;
  return b[b.length - 1] === (b.length - 1) % 251;
}

describe("drain()", () => {
  let map: ChannelMap;
  beforeEach(() => { map = new ChannelMap(); });
  afterEach(() => closeAll({ map, ignoreAll: true }));

  it("checks its arguments", () => {
    expect(() => drain({ map: {} as ChannelMap })).toThrow(/drain\(\): map must be a ChannelMap/);
    expect(() => drain({ map, timeout: "1" as unknown as number })).toThrow(/drain\(\): timeout must be a number of seconds, got "1"/);
    expect(() => drain({ map, timeout: -1 })).toThrow(/drain\(\): timeout must be >= 0, got -1/);
  });

  it("on an empty map resolves true at once and cancels the map's timers", async () => {
    let fired = 0;
    map.callEvery(0.01, () => { fired++; });
    expect(await drain({ map, timeout: 5 })).toBe(true);
    const before = fired;
    await new Promise((r) => setTimeout(r, 50));
    expect(fired).toBe(before);
    await loop({ map, timeout: 1 }); // nothing keeps it running
  });

  it("while loop() drives the map: stops accepting, delivers every accepted byte, and loop() returns", async () => {
    const server = new Server(map, Replier);
    const port = server.port;
    let ticks = 0;
    map.callEvery(0.02, () => { ticks++; }); // a timer would keep loop() running forever
    const looping = loop({ map, timeout: 0.5 });
    // three clients whose requests were accepted, reading only after the drain began
    const clients = [fetch(port, "GET\n", 300), fetch(port, "GET\n", 300), fetch(port, "GET\n", 300)];
    await Promise.all(clients.map((c) => c.connected));
    while (map.size < 4) await new Promise((r) => setTimeout(r, 5)); // accepted by the server
    const drained = drain({ map, timeout: 30 });
    expect(drain({ map })).toBe(drained); // one drain per map
    expect(server.accepting).toBe(false);
    expect(server.isClosed()).toBe(true);
    expect(await refused(port)).toBe("ECONNREFUSED");
    const bodies = await Promise.all(clients.map((c) => c.body));
    for (const b of bodies) expect(intact(b)).toBe(true);
    expect(await drained).toBe(true);
    await looping;
    expect(map.size).toBe(0);
    expect(ticks).toBeGreaterThan(0);
  });

  it("with no loop running, runs the passes itself", async () => {
    const server = new Server(map, Replier);
    const client = fetch(server.port, "GET\n", 100);
    await client.connected;
    // accept and read the request, so the reply is queued before the drain
    while (map.size < 2) await loop({ map, timeout: 0.05, count: 1 });
    const drained = drain({ map, timeout: 30 });
    expect(server.isClosed()).toBe(true);
    expect(intact(await client.body)).toBe(true);
    expect(await drained).toBe(true);
  });

  it("after the timeout closes what is left (closeAll) and resolves false", async () => {
    const server = new Server(map, Idle);
    const c = net.connect(server.port, "127.0.0.1");
    const ended = new Promise<void>((resolve) => c.once("end", () => { c.end(); resolve(); }));
    c.on("data", () => {});
    c.on("error", () => {});
    const looping = loop({ map, timeout: 0.5 });
    while (map.size < 2) await new Promise((r) => setTimeout(r, 5));
    const t0 = performance.now();
    expect(await drain({ map, timeout: 0.3 })).toBe(false);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(250);
    expect(map.size).toBe(0);
    await ended; // the idle connection was closed by the server
    await looping;
  });

  it("also closes a listener a handler opens while draining", async () => {
    const server = new Server(map, Idle);
    const c = net.connect(server.port, "127.0.0.1");
    c.on("error", () => {});
    const looping = loop({ map, timeout: 0.5 });
    while (map.size < 2) await new Promise((r) => setTimeout(r, 5));
    const idle = [...map.values()].find((v) => v instanceof Idle) as Idle;
    const drained = drain({ map, timeout: 30 });
    const late = new Server(map, Idle); // opened after the drain began
    await new Promise((r) => setTimeout(r, 100));
    expect(late.isClosed()).toBe(true);
    c.end(); // the client leaves: the last channel closes itself
    expect(await drained).toBe(true);
    expect(idle.isClosed()).toBe(true);
    await looping;
  });
});
