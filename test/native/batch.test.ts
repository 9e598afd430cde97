// End-of-pass sends in one addon call (native/batch.c sendmany, host/sys/native/batch.ts).
import * as net from "node:net";
import { describe, it, expect, afterEach } from "vitest";
import { native, nativeUnavailable } from "../../host/sys/native/addon.js";
import { queueSend, withdrawSend, runBatch, batchStats } from "../../host/sys/native/batch.js";
import { AF_INET, SOCK_STREAM, Dispatcher, closeAll, poll } from "../../host/index.js";
import { getEngine } from "../../host/core/engine.js";
import { missing } from "../support/index.js";

const addon = native();

/** A connected pair of kernel sockets made through the addon: [client fd, accepted fd]. */
function pair(): [number, number] {
  const a = addon!;
  const l = a.socket(AF_INET, SOCK_STREAM);
  expect(a.bind(l, AF_INET, "127.0.0.1", 0, 0)).toBe(0);
  expect(a.listen(l, 4)).toBe(0);
  const [, port] = a.sockname(l) as [string, number];
  const c = a.socket(AF_INET, SOCK_STREAM);
  const rc = a.connect(c, AF_INET, "127.0.0.1", port, 0);
  expect(rc === 0 || rc === -115).toBe(true); // EINPROGRESS
  let s = -11;
  for (let i = 0; i < 100000 && s === -11; i++) s = a.accept(l) as number;
  a.close(l);
  expect(s).toBeGreaterThan(2);
  return [c, s];
}

function drain(fd: number, want: number): Buffer {
  const buf = Buffer.alloc(want);
  let got = 0;
  for (let i = 0; i < 1_000_000 && got < want; i++) {
    const n = addon!.recv(fd, buf, got, want - got, 0);
    if (n > 0) got += n;
    else if (n !== -11) break;
  }
  return buf.subarray(0, got);
}

describe.skipIf(missing("the native addon", addon === null))(`sendmany${addon === null ? ` (skipped: ${nativeUnavailable()})` : ""}`, () => {
  it("sends each region to its descriptor in order and reports each result, errors included, without stopping", () => {
    const a = addon!;
    const [c1, s1] = pair();
    const [c2, s2] = pair();
    try {
      const mem = Buffer.from("hello-first|second-part|third");
      const list = new Int32Array([
        c1, 0, 12, 99, // "hello-first|"
        1_000_000, 0, 5, 99, // EBADF
        c2, 12, 12, 99, // "second-part|"
        -1, 0, 5, 99, // withdrawn: skipped
        c1, 24, 5, 99, // "third"
        c2, 20, 100, 99, // outside the buffer: EFAULT, nothing sent
      ]);
      expect(a.sendmany(mem, list, 6)).toBe(6);
      expect([list[3], list[7], list[11], list[15], list[19], list[23]]).toEqual([12, -9, 12, 0, 5, -14]);
      expect(drain(s1, 17).toString()).toBe("hello-first|third");
      expect(drain(s2, 12).toString()).toBe("second-part|");
      expect(a.recv(s2, Buffer.alloc(8), 0, 8, 0)).toBe(-11); // nothing more arrived
    } finally {
      for (const fd of [c1, s1, c2, s2]) a.close(fd);
    }
  });

  it("refuses a list shorter than n quadruples with a RangeError", () => {
    expect(() => addon!.sendmany(Buffer.alloc(8), new Int32Array(4), 2)).toThrow(RangeError);
  });

  it("batch.ts: a withdrawn send is neither sent nor reported; the others are, in one call", () => {
    const a = addon!;
    const [c1, s1] = pair();
    const [c2, s2] = pair();
    const before = { ...batchStats };
    try {
      const e = getEngine();
      const scratch = e.core.scratch_ptr(); // any core memory will do for the test's bytes
      e.bytes().set(Buffer.from("abcdef"), scratch);
      const reports: string[] = [];
      const owner = (name: string) => ({ batchSent: (n: number, len: number) => reports.push(`${name} ${n}/${len}`) });
      queueSend(a, owner("one"), c1, scratch, 3);
      const slot = queueSend(a, owner("two"), c2, scratch + 3, 3);
      queueSend(a, owner("three"), c2, scratch, 2);
      withdrawSend(slot);
      runBatch();
      expect(batchStats.calls - before.calls).toBe(1);
      expect(batchStats.sends - before.sends).toBe(3);
      expect(reports).toEqual(["one 3/3", "three 2/2"]);
      expect(drain(s1, 3).toString()).toBe("abc");
      expect(drain(s2, 2).toString()).toBe("ab");
      expect(a.recv(s2, Buffer.alloc(8), 0, 8, 0)).toBe(-11);
    } finally {
      for (const fd of [c1, s1, c2, s2]) a.close(fd);
    }
  });
});

// test/native/ runs in the native project only (vitest.config.ts)
describe.skipIf(missing("the native addon", addon === null))("end-of-pass flush on the native backend", () => {
  afterEach(() => closeAll());

  it("flushes the small sends of many channels in one sendmany per pass, every byte in order", async () => {
    const N = 12;
    const ROUNDS = 20;
    const received = new Map<number, Buffer[]>();
    const server = net.createServer((conn) => {
      const id = received.size;
      received.set(id, []);
      conn.on("data", (d) => received.get(id)!.push(d));
      conn.on("error", () => {});
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as net.AddressInfo).port;
    class Client extends Dispatcher {
      override readable(): boolean { return false; }
      override writable(): boolean { return !this.connected; }
      override handleConnect(): void {}
    }
    const clients: Client[] = [];
    for (let i = 0; i < N; i++) {
      const d = new Client();
      d.createSocket();
      d.connect(["127.0.0.1", port]);
      clients.push(d);
    }
    for (let k = 0; k < 500 && (clients.some((d) => !d.connected) || received.size < N); k++) await poll(0.01);
    expect(clients.every((d) => d.connected)).toBe(true);
    const before = { ...batchStats };
    {
      for (let r = 0; r < ROUNDS; r++) {
        // one pass: every channel sends two small messages from inside the pass (a timer runs in the dispatch)
        clients[0].callLater(0, () => {
          clients.forEach((d, i) => { d.send(Buffer.from(`${i}:${r}a,`)); d.send(Buffer.from(`${i}:${r}b;`)); });
        });
        await poll(0.05);
        await poll(0);
      }
    }
    // one call per pass carried every channel's two sends (one region each)
    expect(batchStats.calls - before.calls).toBe(ROUNDS);
    expect(batchStats.sends - before.sends).toBe(ROUNDS * N);
    const texts = new Set<string>();
    for (let k = 0; k < 500; k++) {
      texts.clear();
      for (const parts of received.values()) texts.add(Buffer.concat(parts).toString());
      if ([...texts].every((t) => t.length > 0 && t.split(";").length === ROUNDS + 1)) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    const expected = new Set(clients.map((_, i) => Array.from({ length: ROUNDS }, (_, r) => `${i}:${r}a,${i}:${r}b;`).join("")));
    expect(texts).toEqual(expected);
    server.close();
  });
});
