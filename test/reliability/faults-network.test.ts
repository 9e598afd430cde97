// Network faults: peers that reset, half-close, vanish during connect; refused connects; close()
// while output is still queued. The loop survives each, the right handler runs, and other
// channels' bytes stay intact.
import { describe, it, expect, afterEach } from "vitest";
import * as net from "node:net";
import { createHash, randomBytes } from "node:crypto";
import { ChannelMap, Dispatcher, DispatcherWithSend, Socket, SocketError, closeAll } from "../../host/index.js";
import { EchoServer, Bystanders, Recorder, runLoop, waitFor, sleep, KiB, MiB, type Target } from "./helpers.js";

let map: ChannelMap;
afterEach(() => closeAll({ map, ignoreAll: true }));

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

/** A port nothing listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

/** Collects a node:net client's bytes until the server closes; resumes reading after `delayMs`. */
function collect(target: Target, delayMs = 0): Promise<{ bytes: number; hash: string; error: string | null }> {
  return new Promise((resolve) => {
    const s = net.connect(target as net.NetConnectOpts);
    const h = createHash("sha256");
    let bytes = 0, error: string | null = null;
    s.on("data", (d: Buffer) => { h.update(d); bytes += d.length; });
    s.on("error", (e: NodeJS.ErrnoException) => { error = e.code ?? String(e); });
    s.on("close", () => resolve({ bytes, hash: h.digest("hex"), error }));
    s.once("connect", () => { if (delayMs) { s.pause(); setTimeout(() => s.resume(), delayMs); } });
  });
}

describe.each([
  { mode: "select", usePoll: false },
  { mode: "poll2", usePoll: true },
])("network faults ($mode)", ({ usePoll }) => {
  async function setup(): Promise<{ server: EchoServer; target: Target; stop(): Promise<void>; by: Bystanders }> {
    map = new ChannelMap();
    const server = new EchoServer(map);
    const run = runLoop(map, { usePoll });
    const target = { host: "127.0.0.1", port: server.port };
    const by = await Bystanders.open(target, 8);
    await waitFor(() => server.accepted === 8, "the bystanders to be accepted");
    by.write(64 * KiB);
    return { server, target, stop: run.stop, by };
  }

  it("calls handleClose (not handleError) once for each peer that resets mid-transfer", async () => {
    const { server, target, stop, by } = await setup();
    const RESETS = 16;
    await Promise.all(range(RESETS).map(() => new Promise<void>((resolve) => {
      const s = net.connect(target);
      let got = 0;
      s.on("connect", () => s.write(randomBytes(MiB)));
      s.on("data", (d: Buffer) => {
        got += d.length;
        if (got >= 64 * KiB && !s.destroyed) { s.resetAndDestroy(); resolve(); }
      });
      s.on("error", () => {});
    })));
    by.write(64 * KiB);
    await waitFor(() => server.records.length === RESETS, "every reset channel to close");
    expect(server.records.map((r) => r.closes)).toEqual(range(RESETS).map(() => 1));
    expect(server.records.every((r) => r.received >= 64 * KiB && r.received <= MiB)).toBe(true);
    expect(await by.finish()).toEqual([]);
    expect(server.errors).toEqual([]);
    await stop();
  });

  it("echoes everything to a peer that half-closes right after sending, then closes once", async () => {
    const { server, target, stop, by } = await setup();
    const data = randomBytes(2 * MiB);
    const back = await new Promise<{ bytes: number; hash: string }>((resolve, reject) => {
      const s = net.connect(target);
      const h = createHash("sha256");
      let bytes = 0;
      s.on("data", (d: Buffer) => { h.update(d); bytes += d.length; });
      s.on("end", () => resolve({ bytes, hash: h.digest("hex") }));
      s.on("error", reject);
      s.end(data); // FIN right behind the data; the echo is still read to the end
    });
    expect(back).toEqual({ bytes: data.length, hash: createHash("sha256").update(data).digest("hex") });
    expect(await by.finish()).toEqual([]);
    await waitFor(() => server.live.size === 0, "the server channels to close");
    expect(server.records.map((r) => r.closes)).toEqual(range(9).map(() => 1));
    expect(server.errors).toEqual([]);
    await stop();
  });

  it("survives peers that vanish during connect (destroy before, on, and reset on connect)", async () => {
    const { server, target, stop, by } = await setup();
    const N = 12;
    for (const i of range(N)) {
      const s = net.connect(target);
      s.on("error", () => {});
      if (i % 3 === 0) s.destroy();
      else if (i % 3 === 1) s.on("connect", () => s.destroy());
      else s.on("connect", () => s.resetAndDestroy());
    }
    // Connections are accepted in order: once a later one is served, every earlier one was accepted.
    const late = await Bystanders.open(target, 1);
    late.write(1000);
    by.write(64 * KiB);
    expect(await late.finish()).toEqual([]);
    await waitFor(() => server.live.size === 8, "every vanished peer's channel to close");
    expect(server.accepted).toBeGreaterThanOrEqual(8 + 1 + Math.ceil((2 * N) / 3));
    expect(server.records.every((r) => r.closes <= 1)).toBe(true);
    expect(await by.finish()).toEqual([]);
    expect(server.errors).toEqual([]);
    await stop();
  });

  it("closes an engine client once when its server resets during connect or mid-transfer", async () => {
    const { stop, by } = await setup();
    const peer = net.createServer((sock) => {
      sock.on("error", () => {});
      if (peer.connections++ % 2 === 0) sock.resetAndDestroy(); // during connect
      else sock.once("data", () => sock.resetAndDestroy()); // mid-transfer
    }) as net.Server & { connections: number };
    peer.connections = 0;
    await new Promise<void>((r) => peer.listen(0, "127.0.0.1", r));
    const port = (peer.address() as net.AddressInfo).port;
    const clients: (DispatcherWithSend & { calls: string[] })[] = [];
    for (let i = 0; i < 8; i++) {
      const c = new DispatcherWithSend(null, map) as DispatcherWithSend & { calls: string[] };
      c.calls = [];
      c.handleConnect = () => { c.calls.push("handleConnect"); };
      c.handleRead = () => { c.calls.push("handleRead"); c.recv(4096); };
      c.handleClose = () => { c.calls.push("handleClose"); c.close(); };
      c.handleError = (err: unknown) => { c.calls.push(`handleError ${(err as SocketError).code}`); c.close(); };
      c.createSocket();
      c.connect(["127.0.0.1", port]);
      c.send(randomBytes(4 * MiB)); // queued in outBuffer until connected
      clients.push(c);
      await waitFor(() => c.isClosed(), `client ${i} to close`);
    }
    for (const c of clients) {
      // Exactly one closing handler ran, and nothing after it. (select routes a reset seen while
      // connecting to handleError, as asyncore does; poll2 to handleClose.)
      const closing = c.calls.filter((x) => x === "handleClose" || x.startsWith("handleError"));
      expect(closing).toHaveLength(1);
      expect(c.calls.at(-1)).toBe(closing[0]);
      expect(closing[0]).toMatch(/^handleClose$|^handleError (ECONNRESET|EPIPE)$/);
    }
    await new Promise<void>((r) => peer.close(() => r()));
    expect(await by.finish()).toEqual([]);
    await stop();
  });

  it("routes a connect to a closed port to handleError with SocketError ECONNREFUSED", async () => {
    const { stop, by } = await setup();
    const port = await closedPort();
    const c = new Recorder(null, map);
    c.createSocket();
    const cfd = c.socket!.fileno();
    c.connect(["127.0.0.1", port]);
    await waitFor(() => c.calls.length > 0 && c.isClosed(), "the refused connect to be reported");
    expect(c.calls).toEqual(["handleError"]);
    expect(c.errors[0]).toBeInstanceOf(SocketError);
    expect(c.errors[0]).toMatchObject({ code: "ECONNREFUSED", errno: 111 });
    expect(map.has(cfd)).toBe(false);
    // The default handleError logs and closes the channel.
    const d = new Dispatcher(null, map);
    const logged: string[] = [];
    d.logInfo = (msg: unknown, type = "info") => { logged.push(`${type}: ${String(msg)}`); };
    d.createSocket();
    const fd = d.socket!.fileno();
    d.connect(["127.0.0.1", port]);
    await waitFor(() => d.isClosed(), "the default handleError to close the channel");
    expect(logged.some((l) => l.startsWith("error: uncaptured exception") && l.includes("ECONNREFUSED"))).toBe(true);
    expect(map.has(fd)).toBe(false);
    expect(await by.finish()).toEqual([]);
    await stop();
  });

  it("delivers every byte send() took when close() runs with output still queued", async () => {
    const { server, stop, by } = await setup();
    let accepted = 0;
    const h = createHash("sha256");
    class Blaster extends Dispatcher {
      calls = 0;
      override writable(): boolean { return true; }
      override readable(): boolean { return false; }
      override handleWrite(): void {
        // Fill the send window on 40 passes, then close with the last window still queued.
        for (let n = 1; n > 0;) {
          const chunk = randomBytes(16 * KiB);
          n = this.send(chunk);
          h.update(chunk.subarray(0, n));
          accepted += n;
        }
        if (++this.calls === 40) this.close();
      }
    }
    server.handleAccepted = (sock: Socket) => { new Blaster(sock, map); };
    const got = await collect({ host: "127.0.0.1", port: server.port }, 200);
    expect(got).toEqual({ bytes: accepted, hash: h.digest("hex"), error: null });
    expect(accepted).toBeGreaterThanOrEqual(40 * 16 * KiB);
    expect(await by.finish()).toEqual([]);
    await stop();
  });

  it("drops DispatcherWithSend's outBuffer on close() but delivers what it handed to send()", async () => {
    const { server, stop, by } = await setup();
    const data = randomBytes(MiB);
    let left = -1;
    let sender: DispatcherWithSend | undefined;
    server.handleAccepted = (sock: Socket) => {
      sender = new DispatcherWithSend(sock, map);
      sender.send(data);
      left = sender.outBuffer.length;
      sender.close();
    };
    const got = await collect({ host: "127.0.0.1", port: server.port });
    expect(left).toBeGreaterThan(0);
    const taken = data.length - left;
    expect(got).toEqual({ bytes: taken, hash: createHash("sha256").update(data.subarray(0, taken)).digest("hex"), error: null });
    // The state says what was dropped: outBuffer still holds it, and the channel is closed.
    expect(sender!.outBuffer.length).toBe(left);
    expect(sender!.connected).toBe(false);
    expect(() => sender!.send(Buffer.from("x"))).toThrow(SocketError);
    expect(await by.finish()).toEqual([]);
    await stop();
  });

  it("ends loop() promptly when the map is emptied from outside a pass", async () => {
    map = new ChannelMap();
    new EchoServer(map);
    const run = runLoop(map, { usePoll, timeout: 30 });
    await sleep(50);
    const t0 = Date.now();
    await run.stop();
    expect(Date.now() - t0).toBeLessThan(2000);
  });
});
