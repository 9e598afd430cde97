// Datagram sockets on the native backend: a kernel descriptor, epoll readiness, batched receives,
// AF_UNIX datagrams, real options and a send buffer that really fills (the net backend has none of these).
import { describe, it, expect, beforeAll, afterAll, afterEach } from "vitest";
import { rmSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  AF_INET, AF_INET6, AF_UNIX, ChannelMap, Dispatcher, SOCK_DGRAM, SOL_SOCKET, SO_REUSEADDR, SO_RCVBUF, Socket,
  closeAll, configure, loop,
} from "../../host/index.js";
import { native, nativeStats } from "../../host/sys/native/addon.js";
import { NativeDatagramSocket } from "../../host/index.js";
import { eventually, until } from "../udp/util.js";
import { code, missing } from "../support/index.js";

const built = native() !== null;
const IPPROTO_IP = 0;
const IP_TOS = 1;

let dir = "";
let seq = 0;
let saved: string | undefined;
const opened: Socket[] = [];

/** A fresh path in this file's own directory (removed, with every socket file in it, afterwards). */
function path(): string {
  return join(dir, `d${++seq}.sock`);
}

function udp(family: number): Socket {
  const s = new Socket(family, SOCK_DGRAM);
  opened.push(s);
  return s;
}


beforeAll(() => {
  saved = process.env.WASYNCORE_BACKEND;
  if (built) configure({ backend: "native" });
  dir = mkdtempSync(join(tmpdir(), "wasyncore-dgram-"));
});
afterEach(() => {
  for (const s of opened.splice(0)) s.close();
});
afterAll(() => {
  configure({ backend: null });
  if (saved !== undefined) process.env.WASYNCORE_BACKEND = saved;
  rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(missing("the native addon", !built))("native datagram sockets", () => {
  it("are NativeDatagramSocket on a kernel descriptor: fileno() is the core's token, osFd the kernel's", () => {
    const s = udp(AF_INET) as NativeDatagramSocket;
    expect(s).toBeInstanceOf(NativeDatagramSocket);
    expect(s).toBeInstanceOf(Socket);
    expect(s.osFd).toBeGreaterThan(2);
    expect(s.fileno()).not.toBe(s.osFd);
    expect(String(s)).toMatch(/type=SOCK_DGRAM, fresh, native fd \d+/);
    s.close();
    expect(s.osFd).toBe(-1);
    expect(s.fileno()).toBe(-1);
  });

  it("reports the kernel's options: SO_REUSEADDR off until set, IP_TOS as set, SO_RCVBUF doubled before bind", () => {
    const s = udp(AF_INET);
    expect(s.getsockopt(SOL_SOCKET, SO_REUSEADDR)).toBe(0);
    s.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1);
    expect(s.getsockopt(SOL_SOCKET, SO_REUSEADDR)).toBe(1);
    s.setsockopt(IPPROTO_IP, IP_TOS, 0x10); // an option the net backend never had
    expect(s.getsockopt(IPPROTO_IP, IP_TOS)).toBe(0x10);
    s.setsockopt(SOL_SOCKET, SO_RCVBUF, 65536);
    expect(s.getsockopt(SOL_SOCKET, SO_RCVBUF)).toBe(131072); // Linux doubles it, at once
    expect(code(() => s.setsockopt(SOL_SOCKET, 12345, 1))).toBe("ENOPROTOOPT");
  });

  it("drains a burst in a few wake-ups, many datagrams per call, each whole and in order", async () => {
    const rx = udp(AF_INET6);
    rx.setsockopt(SOL_SOCKET, SO_RCVBUF, 1 << 20);
    rx.bind(["::1", 0]);
    const tx = udp(AF_INET6);
    const N = 200;
    const wakeups = nativeStats.wakeups;
    for (let i = 0; i < N; i++) tx.sendto(Buffer.from(`datagram ${i}`), rx.getsockname());
    const map = new ChannelMap();
    const got: string[] = [];
    const sources: unknown[] = []; // checked after the loop: a throw inside a handler would only reach handleError
    class Reader extends Dispatcher {
      override writable(): boolean { return false; }
      override handleRead(): void {
        const [d, from] = this.recvfrom(100);
        sources.push(from);
        got.push(d.toString());
        if (got.length === N) this.close();
      }
    }
    new Reader(rx, map);
    opened.splice(opened.indexOf(rx), 1); // the reader closes it
    const watchdog = setTimeout(() => closeAll({ map }), 10_000);
    await loop({ map, timeout: 1 });
    clearTimeout(watchdog);
    expect(got).toEqual(Array.from({ length: N }, (_, i) => `datagram ${i}`));
    expect(sources).toEqual(Array(N).fill(["::1", tx.getsockname()[1], 0, 0]));
    const used = nativeStats.wakeups - wakeups;
    expect(used).toBeGreaterThanOrEqual(1); // the counter is live: reading took wake-ups
    expect(used).toBeLessThan(20); // 64 records per addon call, 4 calls per wake-up
  });
});

describe.skipIf(missing("the native addon", !built))("native AF_UNIX datagram sockets", () => {
  it("deliver whole datagrams with the sender's path ('' for an unbound sender), truncated to recvfrom(n)", async () => {
    const rx = udp(AF_UNIX);
    const rxPath = path();
    rx.bind(rxPath);
    expect(rx.getsockname()).toBe(rxPath);
    const tx = udp(AF_UNIX);
    const txPath = path();
    tx.bind(txPath);
    expect(tx.sendto(Buffer.from("from a named socket"), rxPath)).toBe(19);
    const anon = udp(AF_UNIX);
    expect(anon.sendto(Buffer.from("0123456789"), rxPath)).toBe(10);
    expect(await eventually(() => rx.recvfrom(100))).toEqual([Buffer.from("from a named socket"), txPath]);
    expect(await eventually(() => rx.recvfrom(4))).toEqual([Buffer.from("0123"), ""]);
    expect(code(() => rx.recvfrom(100))).toBe("EAGAIN"); // the rest of the datagram was discarded
    expect(code(() => udp(AF_UNIX).bind(rxPath))).toBe("EADDRINUSE");
  });

  it("carry a 100 KiB datagram whole (beyond any IP datagram)", async () => {
    const rx = udp(AF_UNIX);
    const p = path();
    rx.bind(p);
    const big = Buffer.alloc(100 * 1024);
    for (let i = 0; i < big.length; i++) big[i] = (i * 7) & 0xff;
    const tx = udp(AF_UNIX);
    expect(tx.sendto(big, p)).toBe(big.length);
    const [d] = await eventually(() => rx.recvfrom(1 << 20));
    expect(d.equals(big)).toBe(true);
  });

  it("connect synchronously: send()/recv() talk to the peer, getpeername() names it", async () => {
    const a = udp(AF_UNIX);
    const pa = path();
    a.bind(pa);
    const b = udp(AF_UNIX);
    const pb = path();
    b.bind(pb);
    expect(code(() => b.getpeername())).toBe("ENOTCONN");
    b.connect(pa);
    expect(b.getpeername()).toBe(pa);
    expect(b.send(Buffer.from("ping"))).toBe(4);
    const [ping, from] = await eventually(() => a.recvfrom(10));
    expect([ping.toString(), from]).toEqual(["ping", pb]);
    a.sendto(Buffer.from("pong"), from);
    expect((await eventually(() => b.recv(10))).toString()).toBe("pong");
    expect(code(() => udp(AF_UNIX).connect(path()))).toBe("ENOENT");
  });

  it("a sender the receiver does not read gets EAGAIN, then no write event until the receiver reads: nothing is lost", async () => {
    const map = new ChannelMap();
    const p = path();
    const TOTAL = 2000;
    const log: string[] = [];
    let draining = false;
    class Receiver extends Dispatcher {
      got = 0;
      bad = 0;
      override readable(): boolean { return draining; }
      override writable(): boolean { return false; }
      override handleRead(): void {
        const d = this.recv(65536);
        if (d.readUInt32LE(0) !== this.got) this.bad++;
        if (++this.got === TOTAL) this.close();
      }
    }
    class Sender extends Dispatcher {
      sent = 0;
      blocks = 0;
      spurious = 0; // write events whose first send() the kernel refused
      override readable(): boolean { return false; }
      override writable(): boolean { return this.sent < TOTAL; }
      override handleConnect(): void {}
      override handleWrite(): void {
        const d = Buffer.alloc(4096);
        const first = this.sent;
        while (this.sent < TOTAL) {
          d.writeUInt32LE(this.sent, 0);
          if (this.send(d) === 0) {
            if (this.sent === first) this.spurious++;
            if (this.blocks++ === 0) {
              log.push(`blocked after ${this.sent}`);
              setTimeout(() => { draining = true; log.push("draining"); }, 100);
            }
            return;
          }
          this.sent++;
        }
        this.close();
      }
    }
    const r = new Receiver(null, map);
    r.createSocket(AF_UNIX, SOCK_DGRAM);
    r.bind(p);
    const s = new Sender(null, map);
    s.createSocket(AF_UNIX, SOCK_DGRAM);
    s.connect(p);
    const watchdog = setTimeout(() => closeAll({ map }), 20_000);
    await loop({ map, timeout: 0.05 });
    clearTimeout(watchdog);
    expect(log[0]).toMatch(/^blocked after \d+$/);
    expect(log[1]).toBe("draining");
    expect(s.blocks).toBeGreaterThan(0);
    expect(s.spurious).toBe(0); // unwritable until EPOLLOUT: no write event the kernel could not take
    expect(Number(log[0].split(" ")[2])).toBeLessThan(TOTAL); // the receiver's bound (and the kernel's queue) stopped it
    expect(s.sent).toBe(TOTAL);
    expect(r.got).toBe(TOTAL);
    expect(r.bad).toBe(0);
  });
});

describe.skipIf(missing("the native addon", !built))("the backend choice for datagrams", () => {
  it("gives net datagram sockets under configure({ backend: 'net' }) and native ones under 'native'", () => {
    configure({ backend: "net" });
    try {
      const n = udp(AF_INET);
      expect(n).not.toBeInstanceOf(NativeDatagramSocket);
      expect(code(() => new Socket(AF_UNIX, SOCK_DGRAM))).toBe("EAFNOSUPPORT");
    } finally {
      configure({ backend: "native" });
    }
    expect(udp(AF_INET)).toBeInstanceOf(NativeDatagramSocket);
  });

  it("a net sender and a native receiver talk to each other", async () => {
    const rx = udp(AF_INET);
    rx.bind(["127.0.0.1", 0]);
    configure({ backend: "net" });
    let tx: Socket;
    try {
      tx = udp(AF_INET);
    } finally {
      configure({ backend: "native" });
    }
    tx.sendto(Buffer.from("across"), rx.getsockname());
    await until(() => { try { return rx.recvfrom(10)[0].toString() === "across"; } catch { return false; } }, 5000, "the datagram");
  });
});

void AF_INET6;
