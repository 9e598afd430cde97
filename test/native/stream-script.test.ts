// NativeStream (host/sys/native/stream.ts) driven by a scripted fake Addon: epoll event sequences
// (EPOLLIN, EAGAIN, EPOLLHUP, EPOLLPRI, EPOLLOUT) become the core channel's state exactly, without sockets.
// Runs on any machine: the fake stands in for the addon, the core is the real build/core.wasm.
import { describe, expect, it } from "vitest";
import { getEngine } from "../../host/core/engine.js";
import { FIELD, F_EOF, R, X } from "../../host/core/abi.js";
import { errnoOf } from "../../host/core/errors.js";
import { NativeStream } from "../../host/sys/native/stream.js";
import type { Addon } from "../../host/sys/native/addon.js";

const K = {
  EPOLLIN: 0x001, EPOLLPRI: 0x002, EPOLLOUT: 0x004, EPOLLERR: 0x008, EPOLLHUP: 0x010, EPOLLRDHUP: 0x2000,
  EPOLL_CTL_ADD: 1, EPOLL_CTL_DEL: 2, EPOLL_CTL_MOD: 3, MSG_OOB: 1, MSG_PEEK: 2, SHUT_RD: 0, SHUT_WR: 1, SHUT_RDWR: 2, BATCH: 256,
};
const EAGAIN = -errnoOf("EAGAIN");

/** A fake addon: recv() answers from a script (bytes, 0 for EOF, or -errno), ctl() calls are recorded. */
function fakeAddon(script: (Uint8Array | number)[]) {
  const ctl: [number, number][] = [];
  const calls = { recv: 0, close: 0 };
  const a = {
    constants: K,
    ctl(op: number, _fd: number, events: number) { ctl.push([op, events]); return 0; },
    ref() {},
    recv(_fd: number, buf: Uint8Array, off: number, len: number) {
      calls.recv++;
      const next = script.shift() ?? EAGAIN;
      if (typeof next === "number") return next;
      const n = Math.min(len, next.length);
      buf.set(next.subarray(0, n), off);
      if (n < next.length) script.unshift(next.subarray(n));
      return n;
    },
    getsockopt() { return 0; },
    close() { calls.close++; return 0; },
    send() { return EAGAIN; },
  } as unknown as Addon;
  return { a, ctl, calls };
}

function open(script: (Uint8Array | number)[]) {
  const e = getEngine();
  const token = e.openChannel("test");
  const f = fakeAddon(script);
  const s = new NativeStream(f.a, 1000 + token % 1000, token);
  s.opened(); // connected: reading and urgent data are watched
  return { e, token, s, ...f };
}

describe("NativeStream under a scripted addon", () => {
  it("watches EPOLLIN|EPOLLPRI once connected (one EPOLL_CTL_ADD)", () => {
    const { ctl, e, token, s } = open([]);
    expect(ctl).toEqual([[K.EPOLL_CTL_ADD, K.EPOLLIN | K.EPOLLPRI]]);
    s.close();
    e.core.chan_close(token);
  });

  it("reads on EPOLLIN into the input queue; a short read ends the wake-up (epoll reports the rest again)", () => {
    const { e, token, s, calls } = open([Buffer.from("hello "), Buffer.from("world"), EAGAIN]);
    s.onEpoll(K.EPOLLIN);
    expect(e.field(token, FIELD.inLen)).toBe(6);
    expect(calls.recv).toBe(1);
    s.onEpoll(K.EPOLLIN);
    expect(e.field(token, FIELD.inLen)).toBe(11);
    expect(e.takeIn(token, 100).toString()).toBe("hello world");
    s.onEpoll(K.EPOLLIN); // EAGAIN: nothing more, no error
    expect(s.error).toBe(null);
    expect(calls.recv).toBe(3);
    s.close();
    e.core.chan_close(token);
  });

  it("sets F_EOF when recv(2) returns 0 and stops watching EPOLLIN", () => {
    const { e, token, s, ctl } = open([Buffer.from("last"), 0]);
    s.onEpoll(K.EPOLLIN | K.EPOLLRDHUP);
    expect(s.eof).toBe(false);
    s.onEpoll(K.EPOLLIN | K.EPOLLRDHUP);
    expect(e.field(token, FIELD.inLen)).toBe(4);
    expect(e.core.chan_flags(token) & F_EOF).toBe(F_EOF);
    expect(s.eof).toBe(true);
    expect(ctl.at(-1)).toEqual([K.EPOLL_CTL_DEL, 0]); // at EOF nothing is watched: a hung-up peer cannot wake the loop
    s.close();
    e.core.chan_close(token);
  });

  it("records ECONNRESET from recv(2) as the channel's errno and stops watching", () => {
    const { e, token, s, ctl } = open([-errnoOf("ECONNRESET")]);
    s.onEpoll(K.EPOLLIN | K.EPOLLERR | K.EPOLLHUP);
    expect(s.error).toBe("ECONNRESET");
    expect(e.field(token, FIELD.errno)).toBe(errnoOf("ECONNRESET"));
    expect(ctl.at(-1)).toEqual([K.EPOLL_CTL_DEL, 0]);
    s.close();
    e.core.chan_close(token);
  });

  it("marks urgent data (EPOLLPRI) as exceptional readiness and stops watching EPOLLPRI until it is read", () => {
    const { e, token, s, ctl } = open([]);
    s.onEpoll(K.EPOLLPRI);
    expect(e.field(token, FIELD.hostReady) & X).toBe(X);
    expect(ctl.at(-1)).toEqual([K.EPOLL_CTL_MOD, K.EPOLLIN]);
    s.setUrgent(false);
    s.sync();
    expect(e.field(token, FIELD.hostReady) & X).toBe(0);
    expect(ctl.at(-1)).toEqual([K.EPOLL_CTL_MOD, K.EPOLLIN | K.EPOLLPRI]);
    s.close();
    e.core.chan_close(token);
  });

  it("stops reading at the channel's pause bound and resumes when the application reads", () => {
    const { e, token, s, ctl } = open([new Uint8Array(300).fill(7), EAGAIN]);
    e.setField(token, FIELD.pause, 100);
    s.onEpoll(K.EPOLLIN);
    expect(e.field(token, FIELD.inLen)).toBeGreaterThanOrEqual(100);
    expect(ctl.at(-1)).toEqual([K.EPOLL_CTL_MOD, K.EPOLLPRI]); // EPOLLIN off: the kernel keeps the rest
    const have = e.field(token, FIELD.inLen);
    s.take(have, have);
    expect(ctl.at(-1)).toEqual([K.EPOLL_CTL_MOD, K.EPOLLIN | K.EPOLLPRI]);
    s.close();
    e.core.chan_close(token);
  });

  it("is readable for a listener only after EPOLLIN and until accept() finds the queue empty", () => {
    const e = getEngine();
    const token = e.openChannel("test");
    const f = fakeAddon([]);
    const s = new NativeStream(f.a, 3000 + token % 1000, token);
    s.listening();
    expect(f.ctl).toEqual([[K.EPOLL_CTL_ADD, K.EPOLLIN]]);
    expect(e.field(token, FIELD.hostReady)).toBe(0);
    s.onEpoll(K.EPOLLIN);
    expect(e.field(token, FIELD.hostReady)).toBe(R);
    expect(f.ctl.at(-1)).toEqual([K.EPOLL_CTL_DEL, 0]); // no more wake-ups until accept() drains the queue
    s.acceptDrained();
    expect(e.field(token, FIELD.hostReady)).toBe(0);
    expect(f.ctl.at(-1)).toEqual([K.EPOLL_CTL_ADD, K.EPOLLIN]);
    s.close();
    e.core.chan_close(token);
  });

  it("closes the descriptor once, leaving the epoll set first", () => {
    const { e, token, s, ctl, calls } = open([]);
    s.close();
    s.close();
    expect(ctl.at(-1)).toEqual([K.EPOLL_CTL_DEL, 0]);
    expect(calls.close).toBe(1);
    e.core.chan_close(token);
  });
});
