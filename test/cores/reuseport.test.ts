// setReusePort(): two listeners of one port in one process (native, and net from Node 22.12), and the clear error where the backend cannot.
import { describe, it, expect, beforeEach, afterEach } from "vitest";
import * as net from "node:net";
import { onBackend } from "../support/index.js";
import { AF_INET, ChannelMap, Dispatcher, SOL_SOCKET, SO_REUSEPORT, SocketError, closeAll, loop, type Socket } from "../../host/index.js";

const [major, minor] = process.versions.node.split(".").map(Number);
const netCan = major > 22 || (major === 22 && minor >= 12);

class Listener extends Dispatcher {
  accepted = 0;
  constructor(map: ChannelMap, reuse: boolean, port = 0) {
    super(null, map);
    this.createSocket(AF_INET);
    if (reuse) this.setReusePort();
    this.bind(["127.0.0.1", port]);
    this.listen(128);
  }
  get port(): number { return (this.socket!.getsockname() as [string, number])[1]; }
  override handleAccepted(sock: Socket): void { this.accepted++; sock.close(); }
  override handleError(err: unknown): void { throw err; }
}

describe("setReusePort()", () => {
  let map: ChannelMap;
  beforeEach(() => { map = new ChannelMap(); });
  afterEach(() => closeAll({ map, ignoreAll: true }));

  it("is SO_REUSEPORT, Linux's 15", () => {
    expect(SO_REUSEPORT).toBe(15);
  });

  it.skipIf(onBackend("net", "`setReusePort()`") && !netCan)("lets two listeners share a port; the kernel gives each some of 200 connections", async () => {
    const a = new Listener(map, true);
    const b = new Listener(map, true, a.port);
    expect(b.port).toBe(a.port);
    expect(a.socket!.getsockopt(SOL_SOCKET, SO_REUSEPORT)).not.toBe(0);
    const looping = loop({ map, timeout: 0.05 });
    for (let i = 0; i < 200; i++) {
      await new Promise<void>((resolve, reject) => {
        const c = net.connect(a.port, "127.0.0.1", () => { c.destroy(); resolve(); });
        c.once("error", reject);
      });
    }
    while (a.accepted + b.accepted < 200) await new Promise((r) => setTimeout(r, 5));
    expect(a.accepted + b.accepted).toBe(200);
    expect(a.accepted).toBeGreaterThan(0); // the kernel's hash spreads source ports: rarely even, never all on one over 200
    expect(b.accepted).toBeGreaterThan(0);
    closeAll({ map });
    await looping;
  });

  it.skipIf(onBackend("net", "`setReusePort()`") && !netCan)("without it on both, the second bind of the port fails with EADDRINUSE", () => {
    const a = new Listener(map, true);
    expect(() => new Listener(map, false, a.port)).toThrow(expect.objectContaining({ code: "EADDRINUSE" }));
  });

  it.skipIf(onBackend("native", "`setReusePort()`") || netCan)("on the net backend before Node 22.12 throws ENOPROTOOPT naming what is needed", () => {
    const d = new Dispatcher(null, map);
    d.createSocket(AF_INET);
    let err: unknown;
    try { d.setReusePort(); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(SocketError);
    expect((err as SocketError).code).toBe("ENOPROTOOPT");
    expect(String((err as Error).message)).toMatch(/Node >= 22\.12.*native backend/);
    expect(d.socket!.getsockopt(SOL_SOCKET, SO_REUSEPORT)).toBe(0);
  });

  it("needs a socket and an open one", () => {
    const d = new Dispatcher(null, map);
    expect(() => d.setReusePort()).toThrow(/setReusePort\(\): the dispatcher has no socket/);
    d.createSocket(AF_INET);
    d.close();
    expect(() => d.setReusePort()).toThrow(/setReusePort\(\) on a closed dispatcher/);
  });
});
