// The core's terminator search (chat_term / chat_find / chat_held) driven through its ABI.
import { describe, it, expect, afterEach } from "vitest";
import { getEngine } from "../../host/core/engine.js";
import { FIELD, E_TOKEN, E_RANGE, E_STATE, E_NOTFOUND, MAX_TERMINATOR } from "../../host/core/abi.js";

const e = getEngine();
const core = e.core;
const opened: number[] = [];

function channel(): number {
  const t = core.chan_open(0);
  expect(t).toBeGreaterThan(0);
  opened.push(t);
  return t;
}
function feed(t: number, s: string | Buffer): void {
  const b = typeof s === "string" ? Buffer.from(s, "latin1") : s;
  expect(e.pushIn(t, b, 0, b.length)).toBe(b.length);
}
function setTerm(t: number, term: string | Buffer): number {
  const b = typeof term === "string" ? Buffer.from(term, "latin1") : term;
  e.bytes().set(b, core.scratch_ptr());
  return core.chat_term(t, b.length);
}
const inLen = (t: number): number => e.field(t, FIELD.inLen);
/** chat_find, with the hold-back when nothing was found. */
function find(t: number, limit = inLen(t)): { index: number } | { hold: number } {
  const rc = core.chat_find(t, limit);
  return rc === E_NOTFOUND ? { hold: core.result_len() } : { index: rc };
}

afterEach(() => {
  for (const t of opened.splice(0)) core.chan_close(t);
});

describe("chat_find", () => {
  it("returns the offset of the terminator from the front of the input queue", () => {
    const t = channel();
    expect(setTerm(t, "\r\n")).toBe(0);
    feed(t, "hello\r\nworld\r\n");
    expect(find(t)).toEqual({ index: 5 });
    expect(core.in_consume(t, 7)).toBeGreaterThanOrEqual(0);
    expect(find(t)).toEqual({ index: 5 });
  });

  it("reports a terminator prefix at the end of the window as the hold-back", () => {
    const t = channel();
    setTerm(t, "\r\n.\r\n");
    feed(t, "line one\r\n.\r");
    expect(find(t)).toEqual({ hold: 4 });
    expect(core.chat_held(t)).toBe(12); // everything was searched
  });

  it("finds a terminator split across chunks and reads", () => {
    const t = channel();
    setTerm(t, "qqq");
    feed(t, "abq");
    expect(find(t)).toEqual({ hold: 1 });
    expect(core.in_consume(t, 2)).toBeGreaterThanOrEqual(0); // the host collects "ab", keeps "q"
    expect(core.chat_held(t)).toBe(1);
    feed(t, "q");
    expect(find(t)).toEqual({ hold: 2 });
    feed(t, "qrest");
    expect(find(t)).toEqual({ index: 0 });
  });

  it("searches only the first `limit` bytes", () => {
    const t = channel();
    setTerm(t, "\n");
    feed(t, "abcdef\n");
    expect(find(t, 4)).toEqual({ hold: 0 });
    expect(find(t, 7)).toEqual({ index: 6 });
  });

  it("handles self-overlapping terminators (KMP fallback)", () => {
    const t = channel();
    setTerm(t, "aab");
    feed(t, "aaaab");
    expect(find(t)).toEqual({ index: 2 });
    const u = channel();
    setTerm(u, "abab");
    feed(u, "aaba");
    expect(find(u)).toEqual({ hold: 3 });
    feed(u, "b");
    expect(find(u)).toEqual({ index: 1 });
  });

  it("does not make searched bytes readable again, only new ones", () => {
    const t = channel();
    core.chan_set(t, FIELD.interest, 1);
    setTerm(t, "\r\n");
    feed(t, "abc\r");
    expect(core.chan_ready(t)).toBe(1);
    expect(find(t)).toEqual({ hold: 1 });
    core.in_consume(t, 3);
    expect(core.chan_ready(t)).toBe(0); // only the held "\r" is left
    feed(t, "\n");
    expect(core.chan_ready(t)).toBe(1);
    expect(find(t)).toEqual({ index: 0 });
  });

  it("searches again from the front after the terminator changes", () => {
    const t = channel();
    setTerm(t, "\r\n");
    feed(t, "xy\r");
    expect(find(t)).toEqual({ hold: 1 });
    expect(core.chat_held(t)).toBe(3);
    setTerm(t, "y");
    expect(core.chat_held(t)).toBe(0);
    expect(find(t)).toEqual({ index: 1 });
  });

  it("keeps a consistent state when bytes leave the front by other means", () => {
    const t = channel();
    setTerm(t, "abcab");
    feed(t, "xxabcab"); // whole match would be found; search only "xxabca"
    expect(find(t, 6)).toEqual({ hold: 4 });
    core.in_consume(t, 3); // drop "xxa": searched bytes "bca" end in "a" only
    expect(core.chat_held(t)).toBe(3);
    expect(find(t)).toEqual({ hold: 2 }); // "bcab" ends with "ab"; "bca" was not searched again
  });

  it("looks at every input byte once while a long message arrives in small reads", () => {
    const t = channel();
    setTerm(t, "\r\n.\r\n");
    const before = core.chat_scanned();
    const msg = Buffer.alloc(200_000, "x\r\n.");
    let total = 0;
    for (let off = 0; off < msg.length; off += 7) {
      const piece = msg.subarray(off, off + 7);
      feed(t, piece);
      total += piece.length;
      const held = core.chat_held(t);
      const r = find(t);
      expect(r).toHaveProperty("hold");
      const hold = (r as { hold: number }).hold;
      core.in_consume(t, inLen(t) - hold); // collect all but the hold-back, as AsyncChat does
      expect(held).toBeLessThan(5);
    }
    feed(t, "\r\n.\r\n"); // the message ends in "\r\n.", so the match ends 2 bytes in
    total += 2;
    expect(find(t)).toEqual({ index: 0 });
    expect(core.chat_scanned() - before).toBe(total);
  });
});

describe("chat ABI validation", () => {
  it("rejects stale tokens, long terminators, windows past the queue and a missing terminator", () => {
    const t = channel();
    expect(core.chat_find(t, 0)).toBe(E_STATE);
    expect(core.chat_term(t, MAX_TERMINATOR + 1)).toBe(E_RANGE);
    expect(setTerm(t, "\n")).toBe(0);
    feed(t, "ab");
    expect(core.chat_find(t, 3)).toBe(E_RANGE);
    expect(core.chat_find(t, -1)).toBe(E_RANGE);
    expect(core.chat_find(0, 0)).toBe(E_TOKEN);
    expect(core.chat_find(t + (1 << 20), 0)).toBe(E_TOKEN);
    expect(core.chat_term(-5, 1)).toBe(E_TOKEN);
    expect(core.chat_held(12345678)).toBe(E_TOKEN);
    core.chan_close(t);
    expect(core.chat_find(t, 0)).toBe(E_TOKEN);
    expect(core.chat_held(t)).toBe(E_TOKEN);
  });

  it("frees the terminator with the channel and clears the state of a reused slot", () => {
    const t = channel();
    setTerm(t, "\r\n");
    feed(t, "a\r");
    find(t);
    const live = e.stat("chunksLive");
    core.chan_close(t);
    expect(e.stat("chunksLive")).toBe(live - 1);
    const u = channel();
    expect(core.chat_held(u)).toBe(0);
    expect(core.chat_find(u, 0)).toBe(E_STATE);
  });

  it("accepts a terminator of exactly 32 KiB", () => {
    const t = channel();
    expect(setTerm(t, Buffer.alloc(MAX_TERMINATOR, 7))).toBe(0);
    feed(t, Buffer.alloc(MAX_TERMINATOR + 3, 7));
    expect(find(t)).toEqual({ index: 0 });
  });
});
