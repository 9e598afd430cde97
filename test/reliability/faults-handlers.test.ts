// Handler faults: code that throws in every handler reaches handleError and leaves the other
// channels alone; ExitNow, and exceptions from readable()/writable()/handleError, reject loop()
// with the map intact, and a new loop() carries on.
import { describe, it, expect, afterEach } from "vitest";
import * as net from "node:net";
import { ChannelMap, Dispatcher, Socket, ExitNow, closeAll, readwrite, poll, POLLPRI } from "../../host/index.js";
import { EchoServer, EchoHandler, Bystanders, runLoop, waitFor, KiB, type Target } from "./helpers.js";

let map: ChannelMap;
afterEach(() => closeAll({ map, ignoreAll: true }));

type Hook = "handleConnect" | "handleWrite" | "handleRead" | "handleExpt" | "readable" | "writable" | "handleError";

class Boom extends Error {}

/** A client that records its handlers and throws `fault` (an Error, or ExitNow) from `hook`, once. */
class Thrower extends Dispatcher {
  readonly calls: string[] = [];
  readonly caught: unknown[] = [];
  private armed = true;
  private sent = false;
  constructor(map: ChannelMap, private readonly hook: Hook | "none", private readonly fault: () => unknown = () => new Boom(`boom in ${hook}`), private readonly asPromise = false) {
    super(null, map);
    this.createSocket();
  }
  private visit(name: Hook): void | Promise<void> {
    this.calls.push(name);
    if (name !== this.hook || !this.armed) return;
    this.armed = false;
    if (this.asPromise) return Promise.reject(this.fault());
    throw this.fault();
  }
  override readable(): boolean { if (this.hook === "readable") this.visit("readable"); return true; }
  override writable(): boolean { if (this.hook === "writable") this.visit("writable"); return !this.sent; }
  override handleConnect(): void | Promise<void> { return this.visit("handleConnect"); }
  override handleWrite(): void | Promise<void> {
    this.sent = this.send(Buffer.from("ping")) === 4;
    return this.visit("handleWrite");
  }
  override handleRead(): void | Promise<void> {
    this.recv(100);
    return this.visit("handleRead");
  }
  override handleExpt(): void { void this.visit("handleExpt"); }
  override handleClose(): void { this.calls.push("handleClose"); this.close(); }
  override handleError(err: unknown): void {
    this.caught.push(err);
    if (this.hook === "handleError") void this.visit("handleError");
    this.calls.push("handleError");
    this.close();
  }
}

describe.each([
  { mode: "select", usePoll: false },
  { mode: "poll2", usePoll: true },
])("handler faults ($mode)", ({ usePoll }) => {
  let server: EchoServer;
  let target: Target;
  let by: Bystanders;
  async function setup(): Promise<{ stop(): Promise<void>; done: Promise<void> }> {
    map = new ChannelMap();
    server = new EchoServer(map);
    const run = runLoop(map, { usePoll });
    target = { host: "127.0.0.1", port: server.port };
    by = await Bystanders.open(target, 6);
    await waitFor(() => server.accepted === 6, "the bystanders to be accepted");
    by.write(32 * KiB);
    return run;
  }
  async function finish(stop: () => Promise<void>): Promise<void> {
    by.write(32 * KiB);
    expect(await by.finish()).toEqual([]);
    await stop();
  }

  it.each([
    { hook: "handleConnect" as const, calls: ["handleConnect", "handleError"] },
    { hook: "handleWrite" as const, calls: ["handleConnect", "handleWrite", "handleError"] },
    { hook: "handleRead" as const, calls: ["handleConnect", "handleWrite", "handleRead", "handleError"] },
  ])("routes an exception from $hook to handleError; other channels are unaffected", async ({ hook, calls }) => {
    const { stop } = await setup();
    const c = new Thrower(map, hook);
    c.connect(["127.0.0.1", server.port]);
    await waitFor(() => c.isClosed(), `${hook}'s exception to close the channel`);
    expect(c.calls).toEqual(calls);
    expect(c.caught).toHaveLength(1);
    expect((c.caught[0] as Error).message).toBe(`boom in ${hook}`);
    await finish(stop);
  });

  it("routes a rejected promise from an async handleRead to handleError", async () => {
    const { stop } = await setup();
    const c = new Thrower(map, "handleRead", undefined, true);
    c.connect(["127.0.0.1", server.port]);
    await waitFor(() => c.isClosed(), "the rejection to reach handleError");
    expect(c.calls).toEqual(["handleConnect", "handleWrite", "handleRead", "handleError"]);
    expect((c.caught[0] as Error).message).toBe("boom in handleRead");
    await finish(stop);
  });

  it("routes an exception from handleExpt (readwrite with POLLPRI) to handleError", async () => {
    const { stop } = await setup();
    const c = new Thrower(map, "handleExpt");
    c.connect(["127.0.0.1", server.port]);
    await waitFor(() => c.connected, "the connect");
    const before = [...c.calls];
    readwrite(c, POLLPRI);
    expect(c.calls).toEqual([...before, "handleExpt", "handleError"]);
    expect(c.isClosed()).toBe(true);
    await finish(stop);
  });

  it("routes exceptions from handleAccept, handleAccepted and handleClose to handleError; the listener keeps serving", async () => {
    const { stop } = await setup();
    const calls: string[] = [];
    let acceptFaults = 1, acceptedFaults = 1;
    server.handleAccept = function (this: EchoServer) {
      calls.push("handleAccept");
      if (acceptFaults-- > 0) throw new Boom("boom in handleAccept");
      return Dispatcher.prototype.handleAccept.call(this);
    };
    server.handleAccepted = function (this: EchoServer, sock: Socket) {
      calls.push("handleAccepted");
      const h = new (class extends EchoHandler {
        override handleClose(): void { calls.push("handleClose"); throw new Boom("boom in handleClose"); }
      })(sock, map, server);
      server.live.add(h);
      if (acceptedFaults-- > 0) throw new Boom("boom in handleAccepted");
    };
    server.handleError = (err: unknown) => { calls.push("handleError"); server.errors.push(err); };
    const data = Buffer.alloc(100 * KiB, 7);
    const echo = (): Promise<number> => new Promise((resolve, reject) => {
      const s = net.connect(target as net.NetConnectOpts);
      let got = 0;
      s.on("data", (d: Buffer) => { got += d.length; });
      s.on("end", () => { s.end(); resolve(got); });
      s.on("error", reject);
      s.end(data);
    });
    expect(await echo()).toBe(data.length);
    expect(await echo()).toBe(data.length);
    await waitFor(() => server.errors.length === 4, "four errors: accept, accepted, and two closes");
    expect(calls).toEqual([
      "handleAccept", "handleError", // the pending connection stays queued and is accepted next pass
      "handleAccept", "handleAccepted", "handleError",
      "handleClose", // the EchoHandler's handleClose throws: its handleError closes it (not the listener's)
      "handleAccept", "handleAccepted", "handleClose",
    ]);
    expect(server.errors.map((e) => (e as Error).message)).toEqual([
      "boom in handleAccept", "boom in handleAccepted", "boom in handleClose", "boom in handleClose",
    ]);
    expect(server.accepting).toBe(true);
    await finish(stop);
  });

  it.each(["readable", "writable", "handleError"] as const)("rejects loop() with an exception from %s; a new loop() carries on", async (hook) => {
    const { done } = await setup();
    const c = new Thrower(map, hook, hook === "handleError" ? () => new Boom("boom in handleError") : undefined);
    if (hook === "handleError") c.handleConnect = () => { throw new Error("first"); };
    c.connect(["127.0.0.1", server.port]);
    await expect(done).rejects.toThrow(`boom in ${hook}`);
    expect(map.running).toBe(null);
    c.close();
    const again = runLoop(map, { usePoll });
    await finish(again.stop);
  });

  it("rejects loop() with ExitNow from a nested handleConnect and keeps the channel's state", async () => {
    const { done } = await setup();
    const c = new Thrower(map, "handleConnect", () => new ExitNow("leave"));
    c.connect(["127.0.0.1", server.port]);
    await expect(done).rejects.toBeInstanceOf(ExitNow);
    // asyncore: handleConnect raised before `connected` was set; the channel is still mapped.
    expect([c.connecting, c.connected, c.isClosed(), map.has(c.socket!.fileno())]).toEqual([true, false, false, true]);
    const again = runLoop(map, { usePoll });
    await waitFor(() => c.connected && c.calls.includes("handleRead"), "the next loop to finish the connect");
    expect(c.calls).toEqual(["handleConnect", "handleConnect", "handleWrite", "handleRead"]);
    c.close();
    await finish(again.stop);
  });

  it("rejects loop() and poll() with ExitNow from handleClose reached through recv() in handleRead", async () => {
    const { done } = await setup();
    server.handleAccepted = (sock: Socket) => {
      server.live.add(new (class extends EchoHandler {
        override handleClose(): void { throw new ExitNow("closing time"); }
      })(sock, map, server));
    };
    const s = net.connect(target as net.NetConnectOpts);
    s.on("error", () => {});
    s.end(Buffer.from("bye"));
    await expect(done).rejects.toBeInstanceOf(ExitNow);
    // The same from a single poll: the EOF is still pending, so the next pass raises again.
    await expect(poll(1, map)).rejects.toBeInstanceOf(ExitNow);
    for (const h of server.live) if (h.received === 3) h.close();
    s.destroy();
    const again = runLoop(map, { usePoll });
    await finish(again.stop);
  });
});
