// Datagram records across chunk boundaries: with 64-byte chunks every header and payload splits.
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { randomBytes } from "node:crypto";
import { Socket, configure, loopStats, AF_INET, SOCK_DGRAM } from "../../host/index.js";
import { eventually } from "./util.js";

beforeAll(() => configure({ chunkSize: 64 })); // allowed while no buffer is in use (a fresh process)
afterAll(() => configure({ chunkSize: 16384 }));

describe("datagram records in the core's queue", () => {
  it("keeps every datagram whole and separate when headers and payloads span chunks", async () => {
    const rx = new Socket(AF_INET, SOCK_DGRAM);
    rx.bind(["127.0.0.1", 0]);
    const tx = new Socket(AF_INET, SOCK_DGRAM);
    const sent: Buffer[] = [];
    for (let size = 0; size < 300; size += 7) {
      const d = randomBytes(size);
      sent.push(d);
      tx.sendto(d, rx.getsockname());
    }
    const got: Buffer[] = [];
    for (let i = 0; i < sent.length; i++) {
      // every third datagram is read short: the rest must be discarded, not leak into the next
      const n = i % 3 === 0 ? Math.floor(sent[i].length / 2) : 65536;
      const [d, from] = await eventually(() => rx.recvfrom(n));
      expect(from).toEqual(["127.0.0.1", tx.getsockname()[1]]);
      got.push(d);
    }
    for (let i = 0; i < sent.length; i++) {
      const want = i % 3 === 0 ? sent[i].subarray(0, Math.floor(sent[i].length / 2)) : sent[i];
      expect(got[i].equals(want), `datagram ${i} of ${sent[i].length} bytes`).toBe(true);
    }
    expect(() => rx.recvfrom(10)).toThrow(/EAGAIN/);
    expect(loopStats().chunksInUse).toBe(0); // every record's chunks went back to the pool
    rx.close();
    tx.close();
  });
});
