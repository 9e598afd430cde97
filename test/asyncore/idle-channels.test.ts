// README "Differences", `readable()`/`writable()`: 10,000 idle channels whose class does not override
// them cost no such calls (the core knows their answer) and no per-channel work per pass.
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { AF_INET, ChannelMap, Dispatcher, closeAll, poll } from "../../host/index.js";
import { defaultInterest } from "../../host/asyncore/map.js";

const N = 10_000;
let readableCalls = 0;
let writableCalls = 0;
const { readable, writable } = Dispatcher.prototype;
// Counting stand-ins for the defaults, registered as the defaults (the host knows them by identity).
function countingReadable(this: Dispatcher): boolean { readableCalls++; return readable.call(this); }
function countingWritable(this: Dispatcher): boolean { writableCalls++; return writable.call(this); }

beforeAll(() => {
  defaultInterest.add(countingReadable);
  defaultInterest.add(countingWritable);
  Dispatcher.prototype.readable = countingReadable;
  Dispatcher.prototype.writable = countingWritable;
});
afterAll(() => {
  Dispatcher.prototype.readable = readable;
  Dispatcher.prototype.writable = writable;
  defaultInterest.delete(countingReadable);
  defaultInterest.delete(countingWritable);
});

/** Counts its own readable()/writable() calls; answers as the default does (through it). */
class Asking extends Dispatcher {
  asked = 0;
  override readable(): boolean { this.asked++; return super.readable(); }
  override writable(): boolean { this.asked++; return super.writable(); }
}

function fill(map: ChannelMap, n: number, make: (m: ChannelMap) => Dispatcher = (m) => new Dispatcher(null, m)): Dispatcher[] {
  const out: Dispatcher[] = [];
  for (let i = 0; i < n; i++) {
    const d = make(map);
    d.createSocket(AF_INET);
    out.push(d);
  }
  return out;
}

/** Median CPU time (user + sys, µs) of one poll(0) pass over `map`, from `rounds` × `passes` passes. */
async function cpuPerPass(map: ChannelMap, passes: number): Promise<number> {
  const t0 = process.cpuUsage();
  for (let i = 0; i < passes; i++) await poll(0, map);
  const t = process.cpuUsage(t0);
  return (t.user + t.system) / passes;
}
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1];

describe("10,000 idle channels that do not override readable()/writable()", () => {
  it("are never asked: only the channels whose class overrides them are, once per pass each", async () => {
    const map = new ChannelMap();
    try {
      fill(map, N);
      const askers = fill(map, 100, (m) => new Asking(null, m)) as Asking[];
      readableCalls = writableCalls = 0;
      const PASSES = 20;
      for (let i = 0; i < PASSES; i++) await poll(0, map);
      // the overriders call the (counting) defaults through super: exactly their calls, none from the 10,000
      expect(askers.map((a) => a.asked)).toEqual(askers.map(() => 2 * PASSES));
      expect(readableCalls).toBe(100 * PASSES);
      expect(writableCalls).toBe(100 * PASSES);
    } finally {
      closeAll({ map });
    }
  });

  it("make a pass cost about what an empty map's does, less than 1,000 channels that override them", async () => {
    const idle = new ChannelMap();
    const asking = new ChannelMap();
    const empty = new ChannelMap();
    try {
      fill(idle, N);
      fill(asking, N / 10, (m) => new Asking(null, m)); // (native: 20,000 sockets could pass the fd limit)
      const r = { idle: [] as number[], asking: [] as number[], empty: [] as number[] };
      for (let round = 0; round < 7; round++) { // interleaved: load on the machine hits all three alike
        r.empty.push(await cpuPerPass(empty, 20));
        r.idle.push(await cpuPerPass(idle, 20));
        r.asking.push(await cpuPerPass(asking, 20));
      }
      const m = { empty: median(r.empty), idle: median(r.idle), asking: median(r.asking) };
      console.log("CPU µs per pass", m);
      expect(m.idle).toBeLessThan(m.asking);
      expect(m.idle).toBeLessThan(m.empty * 3 + 200);
    } finally {
      closeAll({ map: idle });
      closeAll({ map: asking });
    }
  });
});
