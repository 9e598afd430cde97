// engine_poll driven directly: event order, select vs poll2 records, map filtering, readiness.
import { describe, it, expect, beforeEach } from "vitest";
import fc from "fast-check";
import {
  E_RANGE, F_ACCEPTING, F_EOF, F_OPEN, F_ALWAYS_R, F_CONNECTED, R, W, MODE_SELECT, MODE_POLL2,
} from "../../host/core/abi.js";
import { freshCore, fcParams, fcTimeout, pattern, type Core, type Ev } from "./wasm.js";
import { CoreModel } from "./model.js";

const POLLIN = 1, POLLOUT = 4, POLLERR = 8, POLLHUP = 16;

let core: Core;
beforeEach(() => {
  core = freshCore();
});

const open = (map = 1) => core.x.chan_open(map);
const readable = (t: number) => core.push("in", t, pattern(3));
const writable = (t: number) => core.x.chan_set_flags(t, F_OPEN, 0);
const ev = (token: number, flags: number): Ev => ({ token, flags });

describe("select mode", () => {
  it("reports every POLLIN event, then every POLLOUT event, each in channel insertion order", () => {
    const [a, b, c, d] = [open(), open(), open(), open()];
    writable(d);
    readable(c);
    writable(b);
    readable(a);
    writable(a);
    expect(core.poll(1, MODE_SELECT)).toEqual([ev(a, POLLIN), ev(c, POLLIN), ev(a, POLLOUT), ev(b, POLLOUT), ev(d, POLLOUT)]);
  });

  it("orders by when the channel was opened, not by its slot, after slots are reused", () => {
    const [a, b, c] = [open(), open(), open()];
    core.x.chan_close(a);
    core.x.chan_close(b);
    const d = open(); // takes b's slot (the free list is a stack)
    const e = open(); // takes a's slot
    expect((d & 0xfffff) < (c & 0xfffff)).toBe(true);
    for (const t of [e, d, c]) readable(t);
    expect(core.poll(1, MODE_SELECT).map((x) => x.token)).toEqual([c, d, e]);
  });

  it("orders by when the channel joined the map: leaving and rejoining moves it to the end", () => {
    const [a, b, c] = [open(0), open(0), open(0)];
    for (const t of [c, a, b]) core.set(t, "map", 1); // joins in the order c, a, b
    for (const t of [a, b, c]) readable(t);
    expect(core.poll(1, MODE_SELECT).map((x) => x.token)).toEqual([c, a, b]);
    core.set(a, "map", 0);
    core.set(a, "map", 1);
    core.set(b, "map", 1); // already there: keeps its place, as a dict assignment does
    expect(core.poll(1, MODE_SELECT).map((x) => x.token)).toEqual([c, b, a]);
    const seq = core.get(c, "seq");
    core.set(c, "map", 1);
    expect(core.get(c, "seq")).toBe(seq);
  });

  it("reports a channel interested in reading only as POLLIN even when it is writable", () => {
    const a = open();
    readable(a);
    writable(a);
    core.set(a, "interest", R);
    expect(core.poll(1, MODE_SELECT)).toEqual([ev(a, POLLIN)]);
    core.set(a, "interest", W);
    expect(core.poll(1, MODE_SELECT)).toEqual([ev(a, POLLOUT)]);
  });

  it("reports an errored channel as both readable and writable", () => {
    const a = open();
    core.set(a, "errno", 104);
    expect(core.poll(1, MODE_SELECT)).toEqual([ev(a, POLLIN), ev(a, POLLOUT)]);
  });

  it("keeps order and counts with thousands of ready channels", () => {
    const tokens = Array.from({ length: 3000 }, () => open());
    for (let i = tokens.length - 1; i >= 0; i--) {
      if (i % 2 === 0) readable(tokens[i]);
      writable(tokens[i]);
    }
    const evs = core.poll(1, MODE_SELECT);
    const reads = tokens.filter((_, i) => i % 2 === 0).map((t) => ev(t, POLLIN));
    expect(evs).toEqual([...reads, ...tokens.map((t) => ev(t, POLLOUT))]);
    expect(core.stat("ready")).toBe(3000);
    expect(core.stat("events")).toBe(4500);
  });
});

describe("poll2 mode", () => {
  it("gives one record per channel with its flags combined, in insertion order", () => {
    const [a, b, c] = [open(), open(), open()];
    writable(c);
    readable(c);
    readable(b);
    writable(a);
    expect(core.poll(1, MODE_POLL2)).toEqual([ev(a, POLLOUT), ev(b, POLLIN), ev(c, POLLIN | POLLOUT)]);
  });

  it("adds POLLERR|POLLHUP when the channel has an errno", () => {
    const [a, b] = [open(), open()];
    core.set(a, "errno", 111);
    core.set(b, "errno", 104);
    core.set(b, "interest", R);
    expect(core.poll(1, MODE_POLL2)).toEqual([
      ev(a, POLLIN | POLLOUT | POLLERR | POLLHUP), ev(b, POLLIN | POLLERR | POLLHUP),
    ]);
  });
});

describe("what is never reported", () => {
  it("never reports POLLOUT for an accepting channel, whatever else is set", () => {
    const a = open();
    core.x.chan_set_flags(a, F_ACCEPTING | F_OPEN, 0);
    core.set(a, "hostReady", W);
    expect(core.poll(1, MODE_SELECT)).toEqual([]);
    expect(core.x.chan_ready(a)).toBe(0);
    core.set(a, "hostReady", R | W);
    expect(core.poll(1, MODE_SELECT)).toEqual([ev(a, POLLIN)]);
    core.set(a, "errno", 24);
    expect(core.poll(1, MODE_SELECT)).toEqual([ev(a, POLLIN)]);
    expect(core.poll(1, MODE_POLL2)).toEqual([ev(a, POLLIN | POLLERR | POLLHUP)]);
  });

  it("never reports a channel whose interest is 0, even with input, EOF and an errno", () => {
    const a = open();
    readable(a);
    writable(a);
    core.x.chan_set_flags(a, F_EOF | F_ALWAYS_R, 0);
    core.set(a, "errno", 104);
    core.set(a, "hostReady", R | W);
    core.set(a, "interest", 0);
    expect(core.poll(1, MODE_SELECT)).toEqual([]);
    expect(core.poll(1, MODE_POLL2)).toEqual([]);
    expect(core.stat("ready")).toBe(0);
    expect(core.commitInterest([[a, R]])).toBe(0);
    expect(core.poll(1, MODE_POLL2)).toEqual([ev(a, POLLIN | POLLERR | POLLHUP)]);
  });

  it("never reports a closed channel, even one that was ready", () => {
    const [a, b] = [open(), open()];
    readable(a);
    readable(b);
    core.x.chan_close(a);
    expect(core.poll(1, MODE_SELECT)).toEqual([ev(b, POLLIN)]);
    expect(core.stat("ready")).toBe(1);
  });

  it("reports only the channels of the map asked for (map 0 is a map like any other)", () => {
    const [a, b, c, z] = [open(1), open(2), open(1), open(0)];
    for (const t of [a, b, c, z]) readable(t);
    expect(core.poll(1, MODE_SELECT).map((x) => x.token)).toEqual([a, c]);
    expect(core.poll(2, MODE_POLL2).map((x) => x.token)).toEqual([b]);
    expect(core.poll(0, MODE_SELECT).map((x) => x.token)).toEqual([z]);
    expect(core.poll(3, MODE_SELECT)).toEqual([]);
    core.set(b, "map", 1); // joins map 1 last
    expect(core.poll(1, MODE_SELECT).map((x) => x.token)).toEqual([a, c, b]);
  });

  it("rejects modes other than select and poll2 with E_RANGE", () => {
    readable(open());
    for (const m of [2, 3, -1, 0x7fffffff]) expect(core.x.engine_poll(1, m)).toBe(E_RANGE);
  });
});

describe("readiness derivation", () => {
  const cases: [string, (t: number) => void, number][] = [
    ["nothing set", () => {}, 0],
    ["queued input", (t) => readable(t), R],
    ["EOF", (t) => core.x.chan_set_flags(t, F_EOF, 0), R],
    ["always-readable (a file)", (t) => core.x.chan_set_flags(t, F_ALWAYS_R, 0), R],
    ["host-reported R", (t) => core.set(t, "hostReady", R), R],
    ["host-reported W", (t) => core.set(t, "hostReady", W), W],
    ["an errno", (t) => core.set(t, "errno", 32), R | W],
    ["OPEN with an empty output queue", (t) => writable(t), W],
    ["connected but not OPEN", (t) => core.x.chan_set_flags(t, F_CONNECTED, 0), 0],
    ["OPEN with outLen + inflight one below the window", (t) => {
      writable(t);
      core.set(t, "window", 100);
      core.push("out", t, pattern(60));
      core.set(t, "inflight", 39);
    }, W],
    ["OPEN with outLen + inflight at the window", (t) => {
      writable(t);
      core.set(t, "window", 100);
      core.push("out", t, pattern(60));
      core.set(t, "inflight", 40);
    }, 0],
    ["OPEN with inflight alone past the window", (t) => {
      writable(t);
      core.set(t, "inflight", 0xffffffff);
    }, 0],
    ["OPEN with a zero window", (t) => {
      writable(t);
      core.set(t, "window", 0);
    }, 0],
  ];

  it.each(cases)("derives readiness from %s", (_name, setup, bits) => {
    const t = open();
    setup(t);
    const flags = (bits & R ? POLLIN : 0) | (bits & W ? POLLOUT : 0);
    const evs = core.poll(1, MODE_POLL2);
    expect(evs.length ? evs[0].flags & (POLLIN | POLLOUT) : 0).toBe(flags);
    expect(core.x.chan_ready(t)).toBe(bits ? 1 : 0);
  });

  it("follows the queues: consuming the input or output moves the channel in and out of the ready set", () => {
    const t = open();
    writable(t);
    core.set(t, "window", 100);
    core.set(t, "interest", R | W);
    readable(t);
    core.push("out", t, pattern(100));
    expect(core.poll(1, MODE_POLL2)).toEqual([ev(t, POLLIN)]);
    core.take("in", t, 3);
    expect(core.poll(1, MODE_POLL2)).toEqual([]);
    expect(core.stat("ready")).toBe(0);
    core.take("out", t, 1);
    expect(core.poll(1, MODE_POLL2)).toEqual([ev(t, POLLOUT)]);
    core.x.chan_set_flags(t, 0, F_OPEN);
    expect(core.poll(1, MODE_POLL2)).toEqual([]);
  });
});

describe("property: events equal the model's", () => {
  type Op = [kind: number, ch: number, a: number];
  const opArb = fc.tuple(fc.nat(9), fc.nat(5), fc.nat(0xffff));

  it("matches the model's select and poll2 events after any sequence of readiness changes", () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 50 }), (ops: Op[]) => {
        const c = freshCore();
        const m = new CoreModel();
        const tokens = [0, 1, 2, 3, 4, 5].map((i) => c.x.chan_open(1 + (i % 2)));
        tokens.forEach((t, i) => expect(t).toBe(m.open(1 + (i % 2))));
        for (const [kind, ch, a] of ops) {
          const t = tokens[ch];
          const flagBits = [F_EOF, F_OPEN, F_ACCEPTING, F_ALWAYS_R][a % 4];
          switch (kind) {
            case 0: expect(c.x.chan_set_flags(t, flagBits, 0)).toBe(m.setFlags(t, flagBits, 0)); break;
            case 1: expect(c.x.chan_set_flags(t, 0, flagBits)).toBe(m.setFlags(t, 0, flagBits)); break;
            case 2: expect(c.set(t, "interest", a % 4)).toBe(m.set(t, 8, a % 4)); break;
            case 3: expect(c.set(t, "hostReady", a % 4)).toBe(m.set(t, 12, a % 4)); break;
            case 4: expect(c.set(t, "errno", a % 3 === 0 ? a : 0)).toBe(m.set(t, 16, a % 3 === 0 ? a : 0)); break;
            case 5: expect(c.set(t, "window", a % 200)).toBe(m.set(t, 60, a % 200)); break;
            case 6: {
              const dir = a % 2 ? "in" : "out";
              const data = pattern(a % 150);
              const pushed = c.push(dir, t, data);
              const len = m.reserve(dir, t, data.length);
              if (len) m.commit(dir, t, len, data);
              expect(pushed).toBe(len); // default chunk (16 KiB) takes these in one run
              break;
            }
            case 7: {
              const dir = a % 2 ? "in" : "out";
              const n = Math.min(a % 100, m.live(t)!.q(dir).bytes.length);
              expect(c.consume(dir, t, n)).toBe(m.consume(dir, t, n));
              break;
            }
            case 8: expect(c.set(t, "inflight", a % 120)).toBe(m.set(t, 56, a % 120)); break;
            default: {
              expect(c.x.chan_close(t)).toBe(m.close(t));
              tokens[ch] = c.x.chan_open(1 + (a % 2));
              expect(tokens[ch]).toBe(m.open(1 + (a % 2)));
            }
          }
          for (const map of [1, 2]) {
            expect(c.poll(map, MODE_SELECT)).toEqual(m.poll(map, MODE_SELECT));
            expect(c.poll(map, MODE_POLL2)).toEqual(m.poll(map, MODE_POLL2));
          }
          expect(c.stat("ready")).toBe(m.readyCount());
        }
      }),
      fcParams(200),
    );
  }, fcTimeout(200));
});
