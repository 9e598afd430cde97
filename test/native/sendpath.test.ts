// The native backend's send path and accept path: small sends queued in the core and written
// once per pass (in order with large ones, flushed by close() and shutdown()), loopStats()
// counting every byte sent, and accept4 reporting the peer's address (no EAGAIN error objects).
import { describe, it, expect, beforeAll, beforeEach, afterEach } from "vitest";
import { connect, type Socket as NetSocket } from "node:net";
import { ChannelMap, Dispatcher, loop, SocketError, closeAll, configure, loopStats, type Address, type Socket } from "../../host/index.js";
import { native, nativeUnavailable } from "../../host/sys/native/addon.js";
import { BaseServer, ipv4, ipv6, loopUntil } from "../asyncore/fixtures.js";
import { missing } from "../support/index.js";

const built = native() !== null;
const SHUT_WR = 1;

function line(i: number): Buffer {
  return Buffer.from(`line ${String(i).padStart(6, "0")} ${"x".repeat(37)}\n`); // 50 bytes
}

describe.skipIf(missing("the native addon", !built))(`native send and accept paths${built ? "" : ` (skipped: ${nativeUnavailable()})`}`, () => {
  beforeAll(() => configure({ backend: "native" }));
  let map: ChannelMap;
  let peers: NetSocket[];
  beforeEach(() => { map = new ChannelMap(); peers = []; });
  afterEach(() => {
    closeAll({ map, ignoreAll: true });
    for (const p of peers) p.destroy();
  });

  /** A server whose one connection runs `onAccepted`; a node:net peer collecting what arrives. */
  async function pair(onAccepted: (d: Dispatcher) => void, family = ipv4) {
    let accepted: Dispatcher | null = null;
    class Conn extends Dispatcher {
      override handleRead(): void { this.recv(65536); }
      override writable(): boolean { return false; }
      override handleClose(): void { this.close(); }
    }
    const server = new BaseServer(family, family.addr(), map, class extends Conn {
      constructor(sock: Socket, m: ChannelMap) {
        super(sock, m);
        accepted = this;
      }
    });
    const [host, port] = server.address as [string, number];
    const got: Buffer[] = [];
    const peer = connect({ host, port });
    peers.push(peer);
    let ended = false;
    peer.on("data", (b) => got.push(b));
    peer.on("end", () => { ended = true; });
    peer.on("error", () => {});
    await loopUntil(map, () => accepted !== null, false);
    onAccepted(accepted!);
    return { peer, received: () => Buffer.concat(got), ended: () => ended };
  }

  it("small sends in one pass arrive whole and in order, with a large send queued behind them", async () => {
    const parts = [...Array.from({ length: 400 }, (_, i) => line(i)), Buffer.alloc(100_000, 0x61), line(400)];
    const expected = Buffer.concat(parts);
    const taken: number[] = [];
    const before = loopStats().bytesOut;
    const p = await pair((d) => { for (const b of parts) taken.push(d.send(b)); });
    expect(taken.slice(0, 400).every((n) => n === 50)).toBe(true);
    const total = taken.reduce((a, b) => a + b, 0);
    await loopUntil(map, () => p.received().length >= total, false, { passes: 5000, seconds: 20 });
    expect(p.received().equals(expected.subarray(0, total))).toBe(true);
    expect(loopStats().bytesOut - before).toBe(total);
  });

  it("loopStats().bytesOut counts a large send the kernel took at once, as bytesIn counts what arrived", async () => {
    const big = Buffer.alloc(65536, 0x62);
    let conn: Dispatcher | null = null;
    const before = loopStats();
    const p = await pair((d) => { conn = d; });
    const n = conn!.send(big);
    expect(n).toBeGreaterThan(0);
    await loopUntil(map, () => p.received().length >= n, false, { passes: 5000, seconds: 20 });
    expect(loopStats().bytesOut - before.bytesOut).toBe(n);
    p.peer.write(Buffer.alloc(1000, 0x63));
    await loopUntil(map, () => loopStats().bytesIn - before.bytesIn >= 1000, false, { passes: 5000, seconds: 20 });
    expect(loopStats().bytesIn - before.bytesIn).toBe(1000);
  });

  it("close() right after small sends delivers them, then EOF", async () => {
    const data = Buffer.concat(Array.from({ length: 20 }, (_, i) => line(i)));
    const p = await pair((d) => {
      for (let i = 0; i < 20; i++) d.send(line(i));
      d.close();
    });
    const deadline = Date.now() + 10_000;
    while (!p.ended() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    expect(p.ended()).toBe(true);
    expect(p.received().equals(data)).toBe(true);
  });

  it("close() while the peer is not reading keeps every byte send() accepted and delivers it once the peer reads", async () => {
    let conn: Dispatcher | null = null;
    const p = await pair((d) => { conn = d; });
    p.peer.pause(); // the kernel's buffers fill up
    let accepted = 0;
    let sum = 0;
    let i = 0;
    let idle = 0;
    for (let pass = 0; pass < 5000 && idle < 20 && accepted < 64 * 1024 * 1024; pass++) {
      let took = 0;
      for (;;) {
        const b = line(i);
        const n = conn!.send(b);
        for (let j = 0; j < n; j++) sum = (sum + b[j]!) % 1_000_000_007;
        took += n;
        if (n < b.length) { if (n > 0) i++; break; } // a partial line is not sent again: the count stays exact
        i++;
      }
      accepted += took;
      idle = took === 0 ? idle + 1 : 0;
      await loop({ timeout: 0.01, count: 1, map });
    }
    expect(idle).toBe(20); // the kernel's buffers were full when close() ran
    conn!.close();
    p.peer.resume();
    const deadline = Date.now() + 30_000;
    while (!p.ended() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    expect(p.ended()).toBe(true);
    const got = p.received();
    expect(got.length).toBe(accepted);
    let s = 0;
    for (let j = 0; j < got.length; j++) s = (s + got[j]!) % 1_000_000_007;
    expect(s).toBe(sum);
  });

  it("shutdown(SHUT_WR) right after small sends sends them before the FIN", async () => {
    const data = Buffer.concat(Array.from({ length: 20 }, (_, i) => line(i)));
    const p = await pair((d) => {
      for (let i = 0; i < 20; i++) d.send(line(i));
      (d.socket as unknown as { shutdown(how: number): void }).shutdown(SHUT_WR);
    });
    await loopUntil(map, () => p.ended(), false, { passes: 5000, seconds: 10 });
    expect(p.received().equals(data)).toBe(true);
  });

  for (const family of [ipv4, ipv6]) {
    it(`accept() reports the peer's address and getpeername() agrees, an empty queue is null (${family.name})`, async () => {
      const results: ([Socket, Address] | null)[] = [];
      let threw: unknown = null;
      class Listener extends Dispatcher {
        override handleAccept(): void {
          results.push(this.accept());
          results.push(this.accept()); // the queue is empty now: null, not an error
          try { this.socket!.accept(); } catch (err) { threw = err; }
        }
      }
      const l = new Listener(null, map);
      l.createSocket(family.af);
      l.bind(family.addr());
      l.listen(5);
      const [host, port] = l.socket!.getsockname() as [string, number];
      const peer = connect({ host, port });
      peers.push(peer);
      peer.on("error", () => {});
      await new Promise((r) => peer.once("connect", r));
      await loopUntil(map, () => results.length >= 2, false);
      const [sock, addr] = results[0]!;
      expect(results[1]).toBeNull();
      expect(threw).toBeInstanceOf(SocketError);
      expect((threw as SocketError).code).toBe("EAGAIN");
      expect((addr as [string, number])[0]).toBe(peer.localAddress);
      expect((addr as [string, number])[1]).toBe(peer.localPort);
      expect(sock.getpeername()).toEqual(addr);
      const d = new Dispatcher(sock, map);
      expect(d.addr).toEqual(addr);
      sock.close();
    });
  }
});
