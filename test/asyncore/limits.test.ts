// Per-channel buffer limits and ExitNow from an async handler.
import { describe, it, expect, afterEach } from "vitest";
import * as net from "node:net";
import { ChannelMap, Dispatcher, ExitNow, closeAll, loop, type Socket } from "../../host/index.js";
import { getEngine } from "../../host/core/engine.js";
import { FIELD } from "../../host/core/abi.js";
import { ipv4, BaseServer, loopUntil } from "./fixtures.js";

const maps: ChannelMap[] = [];
const fresh = (): ChannelMap => { const m = new ChannelMap(); maps.push(m); return m; };
afterEach(() => { for (const m of maps.splice(0)) closeAll({ map: m }); });

class Holder extends Dispatcher {
  static last: Holder | null = null;
  reading = false;
  constructor(sock: Socket, map: ChannelMap) {
    super(sock, map);
    Holder.last = this;
  }
  override readable(): boolean { return this.reading; }
  override writable(): boolean { return false; }
  override handleRead(): void { this.recv(1 << 20); }
  override handleClose(): void { this.close(); }
}

describe("setBufferLimits", () => {
  it("bounds send() by the channel's own send window", async () => {
    const map = fresh();
    const server = new BaseServer(ipv4, ipv4.addr(), map, Holder);
    const [host, port] = server.address as [string, number];
    const peer = net.connect(port, host);
    peer.pause(); // never reads: the window must fill
    await loopUntil(map, () => Holder.last !== null, false);
    const h = Holder.last!;
    h.setBufferLimits({ sendWindow: 1000 });
    expect(getEngine().field(h.fileno(), FIELD.window)).toBe(1000);
    expect(h.send(Buffer.alloc(5000, 1))).toBe(1000);
    expect(h.send(Buffer.alloc(10, 1))).toBe(0);
    peer.destroy();
  });

  it("pauses input at the channel's recvPause and resumes when raised", async () => {
    const map = fresh();
    Holder.last = null;
    const server = new BaseServer(ipv4, ipv4.addr(), map, Holder);
    const [host, port] = server.address as [string, number];
    const peer = net.connect(port, host);
    await loopUntil(map, () => Holder.last !== null, false);
    const h = Holder.last!;
    h.setBufferLimits({ recvPause: 4096 });
    const chunk = Buffer.alloc(64 * 1024, 7);
    const pump = (): void => { while (peer.write(chunk)); };
    peer.on("drain", pump);
    pump();
    const inLen = (): number => getEngine().field(h.fileno(), FIELD.inLen);
    await loopUntil(map, () => inLen() >= 4096, false);
    for (let i = 0; i < 20; i++) await loop({ timeout: 0.01, count: 1, map });
    const held = inLen();
    expect(held).toBeGreaterThanOrEqual(4096);
    expect(held).toBeLessThan(4096 + 65536 + 1); // one read past the bound at most
    h.setBufferLimits({ recvPause: 1 << 20 });
    await loopUntil(map, () => inLen() > 4096 + 65536, false);
    peer.destroy();
  });

  it("rejects bad limits with the argument and value", () => {
    const map = fresh();
    const d = new Dispatcher(null, map);
    d.createSocket();
    expect(() => d.setBufferLimits({ sendWindow: -1 })).toThrow(/sendWindow.*-1/);
    expect(() => d.setBufferLimits({ recvPause: 1.5 })).toThrow(/recvPause.*1\.5/);
    d.close();
    expect(() => d.setBufferLimits({ sendWindow: 10 })).toThrow(/EBADF/);
  });
});

describe("ExitNow from an async handler", () => {
  it("rejects loop() on the next pass", async () => {
    const map = fresh();
    class Exiter extends Dispatcher {
      override async handleWrite(): Promise<void> {
        await Promise.resolve();
        throw new ExitNow("bye");
      }
      override readable(): boolean { return false; }
      override handleConnect(): void {}
    }
    const server = new BaseServer(ipv4, ipv4.addr(), map, Holder);
    const c = new Exiter(null, map);
    c.createSocket();
    c.connect(server.address);
    await expect(loop({ timeout: 1, map })).rejects.toBeInstanceOf(ExitNow);
  });
});
