// The core's part of the native backend: exceptional readiness (X → POLLPRI) and queues that give
// back a chunk reserved for a read that found nothing.
import { describe, it, expect } from "vitest";
import { getEngine } from "../../host/core/engine.js";
import { FIELD, F_OPEN, R, W, X, MODE_SELECT, MODE_POLL2 } from "../../host/core/abi.js";
import { POLLIN, POLLOUT, POLLPRI } from "../../host/core/constants.js";

const MAP = 7001;

function events(mode: number): [number, number][] {
  const core = getEngine().core;
  const n = core.engine_poll(MAP, mode);
  const ev = new Int32Array(core.memory.buffer, core.events_ptr(), n * 2);
  return Array.from({ length: n }, (_, i) => [ev[2 * i], ev[2 * i + 1]] as [number, number]);
}

describe("exceptional readiness in the core", () => {
  it("reports host-ready X as POLLPRI: select after all reads and writes, poll2 as a flag", () => {
    const e = getEngine();
    const a = e.core.chan_open(MAP);
    const b = e.core.chan_open(MAP);
    try {
      e.core.chan_set_flags(a, F_OPEN, 0); // writable
      e.setField(a, FIELD.interest, R | W);
      e.setField(b, FIELD.interest, R);
      e.setField(b, FIELD.hostReady, R | X);
      expect(events(MODE_SELECT)).toEqual([[b, POLLIN], [a, POLLOUT], [b, POLLPRI]]);
      expect(events(MODE_POLL2)).toEqual([[a, POLLOUT], [b, POLLIN | POLLPRI]]);
    } finally {
      e.core.chan_close(a);
      e.core.chan_close(b);
    }
  });

  it("selects X for any interest, as asyncore's select puts every readable or writable channel in its `e` set", () => {
    const e = getEngine();
    const a = e.core.chan_open(MAP);
    try {
      e.setField(a, FIELD.hostReady, X);
      e.setField(a, FIELD.interest, W); // not writable (not open): only X is ready
      expect(e.core.chan_ready(a)).toBe(1);
      expect(events(MODE_SELECT)).toEqual([[a, POLLPRI]]);
      e.setField(a, FIELD.interest, 0);
      expect(e.core.chan_ready(a)).toBe(0);
      expect(events(MODE_SELECT)).toEqual([]);
    } finally {
      e.core.chan_close(a);
    }
  });
});

describe("input queues and empty reads", () => {
  it("gives back the chunk reserved for a read that found nothing, and a drained queue holds none", () => {
    const e = getEngine();
    const core = e.core;
    const a = core.chan_open(MAP);
    try {
      const live = e.stat("chunksLive");
      expect(core.in_reserve(a, 65536)).not.toBe(0);
      expect(e.stat("chunksLive")).toBe(live + 1);
      expect(core.in_commit(a, 0)).toBe(0); // EAGAIN: nothing read
      expect(e.stat("chunksLive")).toBe(live);
      // a full chunk, then an empty reservation behind it: draining the bytes frees both
      const chunk = e.stat("chunkSize");
      expect(e.pushIn(a, new Uint8Array(chunk), 0, chunk)).toBe(chunk);
      core.in_reserve(a, 65536);
      core.in_commit(a, 0);
      expect(e.stat("chunksLive")).toBe(live + 2);
      expect(e.takeIn(a, chunk).length).toBe(chunk);
      expect(e.field(a, FIELD.inLen)).toBe(0);
      expect(e.stat("chunksLive")).toBe(live);
    } finally {
      core.chan_close(a);
    }
  });
});
