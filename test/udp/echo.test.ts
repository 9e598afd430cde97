// Datagram dispatchers through loop(): echo over IPv4 and IPv6, 10,000 datagrams of random sizes.
import { describe, it, expect } from "vitest";
import { randomFillSync } from "node:crypto";
import { crc32 } from "node:zlib";
import { Dispatcher, ChannelMap, loop, closeAll, loopStats, SOCK_DGRAM, SOL_SOCKET, SO_RCVBUF, type Address } from "../../host/index.js";
import { families } from "./util.js";

/** Echoes every datagram back to its sender. */
class EchoServer extends Dispatcher {
  echoed = 0;
  errors: unknown[] = [];
  constructor(family: number, host: string, map: ChannelMap) {
    super(null, map);
    this.createSocket(family, SOCK_DGRAM);
    this.socket!.setsockopt(SOL_SOCKET, SO_RCVBUF, 1 << 20);
    this.bind([host, 0]);
  }
  override writable(): boolean { return false; }
  override handleRead(): void {
    const [data, from] = this.recvfrom(65536);
    if (this.sendto(data, from) !== data.length) this.errors.push(`echo of ${data.length} bytes not taken`);
    this.echoed++;
  }
  override handleError(err: unknown): void { this.errors.push(err); this.close(); }
}

describe.each(families)("datagram dispatchers over $name", ({ family, host }) => {
  it("calls handleConnect, then handleWrite, then handleRead for a connected echo client", async () => {
    const map = new ChannelMap();
    const server = new EchoServer(family, host, map);
    const calls: string[] = [];
    class Client extends Dispatcher {
      sent = false;
      override writable(): boolean { return !this.sent; }
      override handleConnect(): void { calls.push(`handleConnect connected=${this.connected} connecting=${this.connecting}`); }
      override handleWrite(): void { calls.push("handleWrite"); this.send(Buffer.from("echo me")); this.sent = true; }
      override handleRead(): void {
        calls.push(`handleRead ${this.recv(100).toString()}`);
        this.close();
        server.close();
      }
      override handleError(err: unknown): void { calls.push(`handleError ${String(err)}`); this.close(); server.close(); }
    }
    const client = new Client(null, map);
    client.createSocket(family, SOCK_DGRAM);
    client.connect(server.socket!.getsockname());
    await loop({ map, timeout: 1 });
    expect(calls).toEqual(["handleConnect connected=false connecting=true", "handleWrite", "handleRead echo me"]);
    expect(server.echoed).toBe(1);
    expect(server.errors).toEqual([]);
  });

  it("routes ICMP port unreachable on a connected datagram dispatcher to handleError as ECONNREFUSED", async () => {
    const map = new ChannelMap();
    const gone = new EchoServer(family, host, map);
    const target = gone.socket!.getsockname();
    gone.close();
    const calls: string[] = [];
    class Client extends Dispatcher {
      sent = false;
      override writable(): boolean { return !this.sent; }
      override handleConnect(): void { calls.push("handleConnect"); }
      override handleWrite(): void { calls.push("handleWrite"); this.send(Buffer.from("anyone?")); this.sent = true; }
      override handleRead(): void { calls.push("handleRead"); this.recv(100); }
      override handleError(err: unknown): void { calls.push(`handleError ${(err as { code?: string }).code}`); this.close(); }
    }
    const client = new Client(null, map);
    client.createSocket(family, SOCK_DGRAM);
    client.connect(target);
    await loop({ map, timeout: 1 });
    expect(calls).toEqual(["handleConnect", "handleWrite", "handleRead", "handleError ECONNREFUSED"]);
  });

  it("echoes 10,000 datagrams of random sizes up to 8 KiB, each whole, paced by a window", async () => {
    const TOTAL = 10_000;
    const WINDOW = 16; // outstanding datagrams: the kernel drops unpaced bursts (DESIGN.md "Test bounds")
    const map = new ChannelMap();
    const server = new EchoServer(family, host, map);
    const target = server.socket!.getsockname();
    const crcs = new Uint32Array(TOTAL);
    const sizes = new Uint32Array(TOTAL);
    const dropsBefore = loopStats().datagramsDropped;
    class Client extends Dispatcher {
      sent = 0;
      received = 0;
      bytes = 0;
      writes = 0;
      reads = 0;
      bad: string[] = [];
      sumSent = 0;
      sumReceived = 0;
      override writable(): boolean { return this.sent < TOTAL && this.sent - this.received < WINDOW; }
      override handleWrite(): void {
        this.writes++;
        while (this.sent < TOTAL && this.sent - this.received < WINDOW) {
          const size = 8 + Math.floor(Math.random() * (8192 - 8 + 1));
          const d = randomFillSync(Buffer.allocUnsafe(size));
          d.writeUInt32LE(this.sent, 0);
          d.writeUInt32LE(size, 4);
          if (this.sendto(d, target) === 0) return; // window full: try again next pass
          sizes[this.sent] = size;
          crcs[this.sent] = crc32(d);
          this.sumSent = (this.sumSent + crcs[this.sent]) >>> 0;
          this.sent++;
        }
      }
      override handleRead(): void {
        this.reads++;
        const [d, from] = this.recvfrom(65536);
        if (from[0] !== target[0] || from[1] !== target[1]) this.bad.push(`from ${String(from)}`);
        const seq = d.readUInt32LE(0);
        if (d.length !== sizes[seq] || d.readUInt32LE(4) !== d.length || crc32(d) !== crcs[seq]) this.bad.push(`datagram ${seq}: ${d.length} bytes`);
        this.sumReceived = (this.sumReceived + crc32(d)) >>> 0;
        this.received++;
        this.bytes += d.length;
        if (this.received === TOTAL) { this.close(); server.close(); }
      }
      override handleError(err: unknown): void { this.bad.push(String(err)); this.close(); server.close(); }
    }
    const client = new Client(null, map);
    client.createSocket(family, SOCK_DGRAM);
    client.socket!.setsockopt(SOL_SOCKET, SO_RCVBUF, 1 << 20);
    const watchdog = setTimeout(() => closeAll({ map }), 25_000);
    const t0 = performance.now();
    await loop({ map, timeout: 1 });
    clearTimeout(watchdog);
    const ms = performance.now() - t0;
    expect(client.bad).toEqual([]);
    expect(server.errors).toEqual([]);
    expect(client.sent).toBe(TOTAL);
    expect(client.received).toBe(TOTAL);
    expect(server.echoed).toBe(TOTAL);
    expect(client.reads).toBe(TOTAL); // one read event per datagram
    expect(client.sumReceived).toBe(client.sumSent);
    expect(client.bytes).toBe(sizes.reduce((a, b) => a + b, 0));
    expect(loopStats().datagramsDropped - dropsBefore).toBe(0);
    console.log(`${family === 2 ? "IPv4" : "IPv6"}: ${TOTAL} datagrams (${(client.bytes / 2 ** 20).toFixed(1)} MiB) echoed in ${ms.toFixed(0)} ms, ${client.writes} write events`);
  });

  it("lets a server answer many unconnected clients by address", async () => {
    const map = new ChannelMap();
    const server = new EchoServer(family, host, map);
    const target = server.socket!.getsockname();
    const replies = new Map<string, string>();
    const sources: Address[] = []; // checked after the loop: a throw inside a handler would only reach handleError
    let open = 5;
    class Client extends Dispatcher {
      constructor(private readonly name: string) { super(null, map); this.createSocket(family, SOCK_DGRAM); }
      private sent = false;
      override writable(): boolean { return !this.sent; }
      override handleWrite(): void { this.sendto(Buffer.from(this.name), target); this.sent = true; }
      override handleRead(): void {
        const [data, from] = this.recvfrom(100);
        sources.push(from as Address);
        replies.set(this.name, data.toString());
        this.close();
        if (--open === 0) server.close();
      }
    }
    for (let i = 0; i < 5; i++) new Client(`client-${i}`);
    const watchdog = setTimeout(() => closeAll({ map }), 15_000);
    await loop({ map, timeout: 1 });
    clearTimeout(watchdog);
    expect(sources).toEqual(Array(5).fill(target));
    expect([...replies.entries()].sort()).toEqual([0, 1, 2, 3, 4].map((i) => [`client-${i}`, `client-${i}`]));
  });
});
