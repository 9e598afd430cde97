// host/core/abi.ts's numbers (fields, flags, result codes, stats, modes) are the core's: checked against the
// constants assembly/ is compiled from, and by behaviour against a fresh build/core.wasm.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import * as abi from "../../host/core/abi.js";
import { freshCore } from "./wasm.js";

/** Every `@inline export const NAME: T = expr;` of an AssemblyScript file, evaluated in order. */
function constants(file: string, known: Record<string, number> = {}): Record<string, number> {
  const src = readFileSync(new URL(`../../assembly/${file}`, import.meta.url), "utf8");
  const out: Record<string, number> = { ...known };
  for (const m of src.matchAll(/^@inline export const (\w+): \w+ = ([^;]+);/gm)) {
    const expr = m[2].replace(/<\w+>/g, "").replace(/\b[A-Z_][A-Z0-9_]*\b/g, (name) => {
      if (!(name in out)) throw new Error(`${file}: ${m[1]} uses ${name} before it is known`);
      return `(${out[name]})`;
    });
    if (!/^[\d\s()<>|&+\-*x0-9a-fA-F~]+$/.test(expr)) throw new Error(`${file}: cannot evaluate ${m[1]} = ${m[2]}`);
    out[m[1]] = Number(new Function(`return (${expr});`)());
  }
  return out;
}

const L = constants("layout.ts");

describe("host/core/abi.ts against assembly/layout.ts", () => {
  it("has the core's result codes", () => {
    for (const k of ["OK", "E_TOKEN", "E_RANGE", "E_NOMEM", "E_STATE", "E_NOTFOUND"] as const) expect(abi[k], k).toBe(L[k]);
  });

  it("has the core's channel flags and readiness bits", () => {
    for (const k of ["F_LIVE", "F_CONNECTED", "F_ACCEPTING", "F_CONNECTING", "F_CLOSING", "F_EOF", "F_OPEN", "F_ALWAYS_R", "F_DGRAM", "F_OUTWAIT", "R", "W", "X", "MODE_SELECT", "MODE_POLL2"] as const) {
      expect(abi[k], k).toBe(L[k]);
    }
  });

  it("has the channel record's field offsets", () => {
    expect(abi.FIELD).toEqual({
      interest: L.C_INTEREST, hostReady: L.C_HOSTREADY, errno: L.C_ERRNO, seq: L.C_SEQ, map: L.C_MAP,
      inLen: L.C_IN + L.Q_LEN, outLen: L.C_OUT + L.Q_LEN, inflight: L.C_INFLIGHT, window: L.C_WINDOW,
      pause: L.C_PAUSE, tick: L.C_TICK,
    });
  });

  it("has the timer batch and terminator limits", () => {
    expect(abi.TIMER_BATCH).toBe(constants("timers.ts", L).TIMER_BATCH);
    expect(abi.MAX_TERMINATOR).toBe(L.SCRATCH_PAIRS * 8);
  });
});

describe("host/core/abi.ts against a running core", () => {
  it("reads the fields engine_init and chan_open set where FIELD says", () => {
    const c = freshCore().x;
    expect(c.engine_init(16384, 2 ** 22, 12345, 23456)).toBe(0);
    const t = c.chan_open(7);
    expect(c.chan_get(t, abi.FIELD.window)).toBe(12345);
    expect(c.chan_get(t, abi.FIELD.pause)).toBe(23456);
    expect(c.chan_get(t, abi.FIELD.map)).toBe(7);
    expect(c.chan_get(t, abi.FIELD.inLen)).toBe(0);
  });

  it("counts queued bytes in FIELD.inLen and FIELD.outLen", () => {
    const c = freshCore().x;
    c.engine_init(16384, 2 ** 22, 65536, 262144);
    const t = c.chan_open(1);
    expect(c.in_reserve(t, 100)).toBeGreaterThan(0);
    c.in_commit(t, 37);
    expect(c.out_reserve(t, 100)).toBeGreaterThan(0);
    c.out_commit(t, 11);
    expect(c.chan_get(t, abi.FIELD.inLen)).toBe(37);
    expect(c.chan_get(t, abi.FIELD.outLen)).toBe(11);
    expect(c.engine_stat(abi.STAT.bytesIn)).toBe(37);
  });

  it("reports readiness the host marks in FIELD.hostReady and FIELD.errno, filtered by FIELD.interest", () => {
    const c = freshCore().x;
    c.engine_init(16384, 2 ** 22, 65536, 262144);
    const t = c.chan_open(1);
    c.chan_set(t, abi.FIELD.interest, abi.R);
    expect(c.engine_poll(1, abi.MODE_SELECT)).toBe(0);
    c.chan_set(t, abi.FIELD.hostReady, abi.R);
    expect(c.engine_poll(1, abi.MODE_SELECT)).toBe(1);
    c.chan_set(t, abi.FIELD.hostReady, 0);
    expect(c.engine_poll(1, abi.MODE_SELECT)).toBe(0);
    c.chan_set(t, abi.FIELD.errno, 104);
    expect(c.engine_poll(1, abi.MODE_SELECT)).toBeGreaterThan(0);
  });

  it("answers every STAT index with the figure it names", () => {
    const c = freshCore().x;
    c.engine_init(8192, 2 ** 21, 65536, 262144);
    expect(c.engine_stat(abi.STAT.chunkSize)).toBe(8192);
    expect(c.engine_stat(abi.STAT.memoryCap)).toBe(2 ** 21);
    const before = c.engine_stat(abi.STAT.channels);
    c.chan_open(1);
    expect(c.engine_stat(abi.STAT.channels)).toBe(before + 1);
    expect(c.engine_stat(abi.STAT.memoryBytes)).toBe(c.memory.buffer.byteLength);
    for (const i of Object.values(abi.STAT)) expect(c.engine_stat(i), `STAT ${i}`).toBeGreaterThanOrEqual(0);
    expect(c.engine_stat(Object.keys(abi.STAT).length)).toBe(abi.E_RANGE); // no index past the table
  });
});
