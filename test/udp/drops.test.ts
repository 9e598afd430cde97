// No datagram is dropped silently: the engine's bounds and the kernel's full buffer both count.
import { describe, it, expect, afterEach } from "vitest";
import { existsSync } from "node:fs";
import { Socket, SocketError, configure, loopStats, AF_INET, SOCK_DGRAM, SOL_SOCKET, SO_RCVBUF } from "../../host/index.js";
import { until } from "./util.js";
import { currentBackend } from "../../host/socket/backend.js";
import { missing } from "../support/index.js";

const NATIVE = currentBackend() === "native";

const HOST = "127.0.0.1";
const RECORD = 8 + HOST.length; // the engine's per-datagram header: length, port, address
const defaults = { recvPause: 262144, memoryCap: 2 ** 30 };
const opened: Socket[] = [];

function udp(): Socket {
  const s = new Socket(AF_INET, SOCK_DGRAM);
  opened.push(s);
  return s;
}

/** Reads every queued datagram; returns how many there were. */
function drain(s: Socket): number {
  let n = 0;
  for (;;) {
    try {
      s.recvfrom(65536);
      n++;
    } catch (err) {
      if (err instanceof SocketError && err.code === "EAGAIN") return n;
      throw err;
    }
  }
}

afterEach(() => {
  for (const s of opened.splice(0)) s.close();
  configure(defaults);
});

describe("datagram drops", () => {
  it("drops datagrams beyond the channel's receive bound and counts each one (native: leaves them to the kernel)", async () => {
    configure({ recvPause: 16384 }); // new channels take it
    const rx = udp();
    rx.bind([HOST, 0]);
    const tx = udp();
    const before = loopStats().datagramsDropped;
    const SENT = 200;
    const fits = Math.floor(16384 / (1000 + RECORD)); // 16 records of 1017 bytes
    for (let i = 0; i < SENT; i++) {
      tx.sendto(Buffer.alloc(1000, i), rx.getsockname());
      if (i % 10 === 9) await new Promise((r) => setImmediate(r)); // paced: the kernel keeps up
    }
    if (NATIVE) {
      // native: reading stops at the bound and the rest waits in the kernel (as under CPython), which
      // drops only what its own buffer cannot hold, and those drops are counted too
      let received = 0;
      await until(() => {
        received += drain(rx);
        return received + loopStats().datagramsDropped - before === SENT;
      }, 5000, "received + dropped = sent");
      expect(received).toBeGreaterThan(fits);
      return;
    }
    await until(() => loopStats().datagramsDropped - before === SENT - fits, 5000, "all datagrams accounted for");
    expect(drain(rx)).toBe(fits);
    expect(loopStats().datagramsDropped - before).toBe(SENT - fits);
  });

  it("drops datagrams at the core's memory cap and counts them, then accepts again once read", async () => {
    const rx = udp();
    rx.bind([HOST, 0]);
    const tx = udp();
    const stats = loopStats();
    // room for about four 16 KiB chunks beyond what is in use now
    configure({ memoryCap: stats.coreMemoryInUse + 4 * (16384 + 16) });
    const before = loopStats().datagramsDropped;
    const SENT = 40;
    for (let i = 0; i < SENT; i++) {
      tx.sendto(Buffer.alloc(8000, i), rx.getsockname());
      if (i % 5 === 4) await new Promise((r) => setImmediate(r));
    }
    // 320 KiB sent against ~64 KiB of room (plus the kernel's buffer): some must be dropped, and counted
    let received = 0;
    await until(() => {
      received += drain(rx);
      return received + loopStats().datagramsDropped - before === SENT;
    }, 5000, "received + dropped = sent");
    expect(received).toBeGreaterThan(0);
    expect(loopStats().datagramsDropped - before).toBeGreaterThan(0);
    configure(defaults);
    tx.sendto(Buffer.from("after"), rx.getsockname());
    await until(() => drain(rx) === 1, 5000, "a datagram after the cap was lifted");
  });

  it.skipIf(missing("/proc/net/udp", !existsSync("/proc/net/udp")))("counts the kernel's drops when a burst overflows the socket buffer", async () => {
    const rx = udp();
    rx.setsockopt(SOL_SOCKET, SO_RCVBUF, 16384);
    rx.bind([HOST, 0]);
    const tx = udp();
    const before = loopStats().datagramsDropped;
    const SENT = 500;
    const data = Buffer.alloc(4000);
    // one synchronous burst: Node cannot read while it runs, so the kernel must drop
    for (let i = 0; i < SENT; i++) tx.sendto(data, rx.getsockname());
    let received = 0;
    await until(() => {
      received += drain(rx);
      return received + loopStats().datagramsDropped - before === SENT;
    }, 5000, "received + dropped = sent");
    expect(loopStats().datagramsDropped - before).toBeGreaterThan(0);
    expect(received).toBeGreaterThan(0);
  });
});
