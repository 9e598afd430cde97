// One native stream descriptor's state, kept in step with its core channel and its epoll interest.
//
// The kernel reports readiness (epoll, level-triggered); this turns it into the core's state:
//   EPOLLIN  on a listener      → host-ready R until accept() finds the queue empty
//   EPOLLOUT while connecting   → SO_ERROR decides: OPEN (writable), or the errno
//   EPOLLIN/HUP/ERR             → recv(2) straight into the input queue's chunks (READABLE),
//                                 0 bytes → EOF flag, an error → errno
//   EPOLLPRI                    → host-ready X (urgent data) until recv(MSG_OOB), or until the
//                                 application reads and poll(2) says the stream passed the mark
//   EPOLLOUT after a full send  → the send window reopens (WRITABLE)
// The send window: the kernel's buffer is the only send queue, so a channel's window bounds the
// bytes send() hands the kernel per loop pass (counted in the in-flight field until the pass's
// end-of-pass flush), as the net backend's window bounds bytes not yet written by libuv.
// The events wanted follow from that state (want()); the kernel is told only when they change.
import { Buffer } from "node:buffer"; // the global Buffer is a getter in Node: one call per use
import { getEngine, type Engine } from "../../core/engine.js";
import { FIELD, F_OPEN, F_EOF, R, W, X } from "../../core/abi.js";
import { SOL_SOCKET, SO_ERROR } from "../../core/constants.js";
import { errnoOf, codeOf, thrownErrno } from "../../core/errors.js";
import { notifyReady, markDirty } from "../../core/wake.js";
import { Interest, track, untrack, type Addon, type EpollTarget } from "./addon.js";
import { queueSend, withdrawSend, type BatchedSender } from "./batch.js";

/** The lifecycle of a stream socket. */
export type StreamState = "fresh" | "bound" | "listening" | "connecting" | "connected" | "closed";

const READ_MAX = 65536; // asked of in_reserve; a chunk's free tail bounds each recv(2)
const READS_PER_WAKE = 8; // then other sockets get their turn (epoll is level-triggered)
const BLOCKED = 2 ** 31; // in the in-flight field: no send window left until EPOLLOUT
/** -EAGAIN, as the addon returns it. */
export const NEG_EAGAIN = -errnoOf("EAGAIN");

const capPaused = new Set<NativeStream>(); // stopped reading at the core's memory cap

/** A descriptor's readiness state, kept in step with its core channel and its epoll interest. */
export class NativeStream implements EpollTarget, BatchedSender {
  readonly engine: Engine = getEngine();
  readonly interest: Interest;
  // The state below changes only through this class's methods (one writer, as libuv's uv__io_start/stop).
  #state: StreamState = "fresh";
  #error: string | null = null;
  #eof = false;
  #hup = false;
  private paused = false; // input queue at its bound, or the core at its memory cap
  #blocked = false;
  private urgent = false; // urgent data is pending until recv(MSG_OOB)
  private acceptReady = false;
  #resolving = false;
  #sent = 0;
  #dirty = false;
  #batched = -1; // the slot of this pass's end-of-pass send in the batch (batch.ts), or -1

  /** The lifecycle state. */
  get state(): StreamState { return this.#state; }
  /** The pending error, the one SO_ERROR reports (the first one wins). */
  get error(): string | null { return this.#error; }
  /** The peer's EOF was read. */
  get eof(): boolean { return this.#eof; }
  /** EPOLLHUP: no more bytes either way. */
  get hup(): boolean { return this.#hup; }
  /** The kernel's send buffer is full: wait for EPOLLOUT. */
  get blocked(): boolean { return this.#blocked; }
  /** A host name is being resolved before connect(2). */
  get resolving(): boolean { return this.#resolving; }
  /** Bytes send() handed the kernel this pass (the send window's in-flight count). */
  get sent(): number { return this.#sent; }

  constructor(readonly a: Addon, readonly fd: number, readonly token: number) {
    this.interest = new Interest(a, fd);
    track(fd, this);
  }

  private want(): number {
    const k = this.a.constants;
    switch (this.state) {
      case "listening":
        return this.acceptReady ? 0 : k.EPOLLIN;
      case "connecting":
        return this.resolving || this.error !== null ? 0 : k.EPOLLOUT;
      case "connected": {
        if (this.error !== null) return 0;
        let ev = 0;
        if (!this.paused && !this.eof) ev |= k.EPOLLIN;
        if (!this.urgent && !this.eof && !this.hup) ev |= k.EPOLLPRI;
        if (this.blocked && !this.hup) ev |= k.EPOLLOUT;
        return ev;
      }
      default:
        return 0;
    }
  }

  /** Tells the kernel the events wanted now, if they changed. */
  sync(): void {
    const rc = this.interest.sync(this.want());
    if (rc < 0) this.fail(codeOf(-rc)); // e.g. ENOSPC: max_user_watches reached
  }

  /** epoll reported `ev` for this descriptor. */
  onEpoll(ev: number): void {
    const k = this.a.constants;
    const state = this.state;
    if (state === "listening") {
      this.acceptReady = true;
      this.engine.setField(this.token, FIELD.hostReady, R);
    } else if (state === "connecting") {
      const err = this.soError();
      if (err !== 0) this.fail(codeOf(err));
      else this.opened();
    } else if (state === "connected") {
      if (ev & (k.EPOLLIN | k.EPOLLHUP | k.EPOLLERR)) {
        if (!this.paused && !this.eof) this.fill();
        else if (ev & k.EPOLLERR) this.takeError();
      }
      if (ev & k.EPOLLPRI) this.setUrgent(true);
      if (ev & k.EPOLLHUP) this.#hup = true; // no more bytes either way: send() will say EPIPE
      if (ev & (k.EPOLLOUT | k.EPOLLHUP)) this.unblock();
    } else return;
    this.sync();
    notifyReady(this.token);
  }

  /** The connection is up: the channel can take bytes. */
  opened(): void {
    this.#state = "connected";
    this.engine.core.chan_set_flags(this.token, F_OPEN, 0);
    this.sync();
  }

  /** bind(2) succeeded. */
  bound(): void {
    this.#state = "bound";
  }

  /** listen(2) succeeded: accept readiness from now on. */
  listening(): void {
    this.#state = "listening";
    this.sync();
  }

  /** connect(2) is in progress (or completed at once: its EPOLLOUT is on the way). */
  connecting(): void {
    this.#state = "connecting";
    this.#resolving = false;
    this.sync();
  }

  /** A host name is being resolved; connecting() or fail() follows. */
  resolveStarted(): void {
    this.#state = "connecting";
    this.#resolving = true;
  }

  /** The name lookup ended (connecting() or fail() follows). */
  resolveEnded(): void {
    this.#resolving = false;
  }

  /**
   * A Unix connect(2) refused with EAGAIN (the listener's backlog is full): the unconnected socket
   * polls as the kernel has it, readable and writable (POLLOUT|POLLHUP).
   */
  unconnected(): void {
    this.#state = "connecting";
    this.engine.setField(this.token, FIELD.hostReady, R | W);
    notifyReady(this.token);
  }

  /** Queues `owner` for the end-of-pass flush once per pass. */
  queueFlush(owner: { flush(): void }): void {
    if (this.#dirty) return;
    this.#dirty = true;
    markDirty(owner);
  }

  /**
   * The end of a pass (its flush): the window reopens and the core's queued output goes to the
   * kernel — its first region in the pass's batch (one addon call for every stream, batch.ts).
   */
  passEnded(): void {
    this.#dirty = false;
    this.endPass();
    if (this.#batched >= 0 || this.state !== "connected" || this.blocked) return;
    const e = this.engine;
    if (e.field(this.token, FIELD.outLen) === 0) return;
    const ptr = e.core.out_peek(this.token);
    this.#batched = queueSend(this.a, this, this.fd, ptr, e.core.result_len());
  }

  /** The batch sent this stream's region: `n` of `len` bytes, or -errno. */
  batchSent(n: number, len: number): void {
    this.#batched = -1;
    if (this.state !== "connected") return;
    if (n > 0) this.engine.core.out_consume(this.token, n);
    if (n === NEG_EAGAIN || (n > 0 && n < len)) this.block();
    else if (n < 0) this.fail(codeOf(-n));
    else if (this.engine.field(this.token, FIELD.outLen) > 0) this.flushCore(); // the queue spans chunks
  }

  /** Takes this stream's region out of the pass's batch (it is about to send or drop it itself). */
  private unbatch(): void {
    if (this.#batched < 0) return;
    withdrawSend(this.#batched);
    this.#batched = -1;
  }

  /** Records an error as the channel's errno (readable and writable, as select reports it). */
  fail(code: string): void {
    if (this.error !== null) return;
    this.#error = code;
    this.engine.setField(this.token, FIELD.errno, errnoOf(code) || errnoOf("EIO"));
  }

  /** SO_ERROR from the kernel (reading it clears it there). */
  soError(): number {
    try {
      return this.a.getsockopt(this.fd, SOL_SOCKET, SO_ERROR);
    } catch (err) {
      return thrownErrno(err);
    }
  }

  private takeError(): void {
    const err = this.soError();
    if (err !== 0) this.fail(codeOf(err));
  }

  /** Urgent data pending (EPOLLPRI) or consumed (recv(MSG_OOB)): the channel's exceptional readiness. */
  setUrgent(on: boolean): void {
    this.urgent = on;
    this.engine.setField(this.token, FIELD.hostReady, on ? X : 0);
  }

  /**
   * Input reached the application while urgent data was pending: is it still? Reading past the
   * urgent mark ends it in the kernel (with SO_OOBINLINE the byte is part of the stream, and
   * without it the stream skips the byte no one fetched with recv(MSG_OOB)); EPOLLPRI was not
   * watched meanwhile, so ask poll(2). Checked when the application reads, not when the kernel's
   * bytes enter the core, so handleExpt() still sees the urgent data that came with them.
   */
  recheckUrgent(): void {
    if (!this.urgent || this.state !== "connected") return;
    const k = this.a.constants;
    const rc = this.a.poll(this.fd, k.EPOLLPRI);
    if (rc >= 0 && (rc & k.EPOLLPRI) === 0) {
      this.setUrgent(false);
      this.sync(); // watch EPOLLPRI again for the next urgent byte
    }
  }

  /** A connection was accepted (or none was queued): ready again only when epoll reports another. */
  acceptDrained(): void {
    this.acceptReady = false;
    this.engine.setField(this.token, FIELD.hostReady, 0);
    this.sync();
  }

  private unblock(): void {
    if (!this.blocked) return;
    this.#blocked = false;
    this.engine.setField(this.token, FIELD.inflight, this.sent);
    if (this.engine.field(this.token, FIELD.outLen) > 0) this.flushCore(); // what the full kernel buffer left queued
  }

  /** send() handed the kernel `n` bytes: they count against the window until the pass ends; they are activity. */
  addSent(n: number): void {
    this.#sent += n;
    if (!this.blocked) this.engine.setField(this.token, FIELD.inflight, this.sent);
  }

  /** The end of a pass: the window reopens; this pass's sends stamp the channel's last activity. */
  private endPass(): void {
    if (this.sent === 0 || this.state === "closed") return;
    this.#sent = 0;
    const e = this.engine;
    if (e.stamping) e.setField(this.token, FIELD.tick, e.tick()); // only idle timeouts read the stamps
    if (!this.blocked) e.setField(this.token, FIELD.inflight, 0);
    notifyReady(this.token);
  }

  /** The kernel refused bytes: unwritable until EPOLLOUT. */
  block(): void {
    if (this.blocked) return;
    this.#blocked = true;
    this.engine.setField(this.token, FIELD.inflight, BLOCKED);
    this.sync();
  }

  /** Can a recv(2) find anything now (connected, reading, no error, no EOF)? */
  get readable(): boolean {
    return this.state === "connected" && !this.paused && !this.eof && this.error === null;
  }

  /** Reads what the kernel has into the core's input queue, straight into its chunks. */
  fill(): void {
    const core = this.engine.core;
    const token = this.token;
    this.engine.stamp(); // the bytes' arrival stamps the channel's last activity (in_commit), when read
    for (let i = 0; i < READS_PER_WAKE; i++) {
      const ptr = core.in_reserve(token, READ_MAX);
      if (ptr === 0) {
        this.paused = true; // the core is at its memory cap: retried when any input is consumed
        capPaused.add(this);
        return;
      }
      const len = core.result_len();
      // bytes(): a cached view (memory.buffer is a call into V8 each time), re-acquired after growth
      const n = this.a.recv(this.fd, this.engine.bytes(), ptr, len, 0);
      if (n > 0) {
        if (core.in_commit(token, n) === 1) { this.paused = true; return; } // at its bound
        if (n < len) return;
        continue;
      }
      core.in_commit(token, 0); // returns the reserved chunk
      if (n === 0) {
        this.#eof = true;
        core.chan_set_flags(token, F_EOF, 0);
      } else if (n !== NEG_EAGAIN) this.fail(codeOf(-n));
      return;
    }
  }

  /**
   * Up to `n` (> 0) of the `avail` (> 0) queued input bytes, copied out into a new Buffer and
   * consumed; reading resumes when that takes the queue below its pause bound.
   */
  take(n: number, avail: number): Buffer {
    const e = this.engine;
    const core = e.core;
    const token = this.token;
    const ptr = core.in_peek(token);
    const len = core.result_len();
    const want = n < avail ? n : avail;
    if (this.urgent) this.recheckUrgent();
    if (ptr === 0 || len < want) { // spans chunks: the engine's general copy
      const data = e.takeIn(token, n);
      if (e.resumeOk) this.consumed();
      return data;
    }
    const out = Buffer.allocUnsafe(want);
    out.set(e.bytes().subarray(ptr, ptr + want));
    if (core.in_consume(token, want) === 1) this.consumed();
    return out;
  }

  /**
   * Input was consumed (`resumeOk` from the core): read again wherever the memory cap stopped it,
   * and here once the queue is down to half its pause bound. The hysteresis keeps a reader that
   * lags behind a fast sender from turning EPOLLIN off and on (an epoll_ctl pair and a wake-up)
   * for every recv() the application makes; the kernel's buffer holds the rest meanwhile.
   */
  consumed(): void {
    if (this.paused && !capPaused.has(this)) {
      const e = this.engine;
      const len = e.field(this.token, FIELD.inLen);
      if (len === 0 || len <= e.field(this.token, FIELD.pause) >>> 1) this.resume();
    }
    if (capPaused.size > 0) for (const s of capPaused) s.resume();
  }

  /** The limits changed: reading resumes if the input queue is now below its pause bound. */
  limitsChanged(): void {
    const e = this.engine;
    if (this.paused && e.field(this.token, FIELD.inLen) < e.field(this.token, FIELD.pause)) {
      this.resume();
      if (capPaused.size > 0) for (const s of capPaused) s.resume();
    }
  }

  private resume(): void {
    if (!this.paused || this.state !== "connected") return;
    this.paused = false;
    capPaused.delete(this);
    this.sync();
  }

  /**
   * Sends what the core's output queue holds (small sends queued this pass, other writers of the
   * core). `force`: try even while blocked (close and shutdown: the kernel may have room by now).
   */
  flushCore(force = false): void {
    this.unbatch(); // its bytes go now, in order, from here
    const core = this.engine.core;
    if (force && this.blocked && this.error === null && this.engine.field(this.token, FIELD.outLen) > 0) {
      this.unblock(); // flushes, and blocks again if the kernel is still full
      this.sync();
      return;
    }
    while (this.state === "connected" && !this.blocked && this.engine.field(this.token, FIELD.outLen) > 0) {
      const ptr = core.out_peek(this.token);
      const len = core.result_len();
      const n = this.a.send(this.fd, this.engine.bytes(), ptr, len, 0);
      if (n > 0) core.out_consume(this.token, n);
      if (n === NEG_EAGAIN || (n > 0 && n < len)) this.block();
      else if (n < 0) { this.fail(codeOf(-n)); return; }
    }
  }

  /**
   * Leaves epoll and closes the descriptor. Bytes send() accepted into the core's queue that the
   * kernel could not take yet (its buffer full) are not lost: they move to a Lingerer, which
   * writes them on EPOLLOUT and closes the descriptor when they are out (or the peer is gone).
   */
  close(): void {
    if (this.state === "closed") return;
    this.unbatch();
    const rest = this.state === "connected" && this.error === null && !this.hup ? this.engine.takeOut(this.token) : null;
    this.#state = "closed";
    capPaused.delete(this);
    if (rest !== null && rest.length > 0) {
      new Lingerer(this.a, this.fd, this.interest, rest);
      return;
    }
    this.interest.drop();
    untrack(this.fd);
    this.a.close(this.fd);
  }
}

/** A closed stream's last bytes: written as the kernel takes them, then the descriptor closes. */
class Lingerer implements EpollTarget {
  private off = 0;

  constructor(readonly a: Addon, readonly fd: number, readonly interest: Interest, readonly rest: Buffer) {
    track(fd, this);
    this.onEpoll(a.constants.EPOLLOUT);
  }

  onEpoll(ev: number): void {
    const k = this.a.constants;
    while (this.off < this.rest.length && !(ev & (k.EPOLLERR | k.EPOLLHUP))) {
      const n = this.a.send(this.fd, this.rest, this.off, this.rest.length - this.off, 0);
      if (n > 0) this.off += n;
      else if (n === NEG_EAGAIN) {
        if (this.interest.sync(k.EPOLLOUT) === 0) return; // wait for room; the armed descriptor keeps Node alive
        break;
      } else break; // EPIPE, ECONNRESET: the peer is gone, so are the bytes (as with close(2))
    }
    this.interest.drop();
    untrack(this.fd);
    this.a.close(this.fd);
  }
}
