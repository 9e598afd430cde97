// What the `net` backend's two stream sockets share: the readiness and byte rules of a stream channel
// whose buffers live in the core, over any Node stream with completion events. NetStreamSocket
// (socket.ts, libuv handles) and PublicStreamSocket (public-socket.ts, node:net) add how to bind,
// listen, accept, connect and write; everything a connected stream does after that is here:
//   data → bytes appended to the input queue (READABLE); end → EOF flag (READABLE, recv() then returns
//   b''); error → errno (READABLE|WRITABLE, as select reports a failed socket); connect → OPEN (WRITABLE
//   while the send window has room); a write completed → in-flight bytes shrink.
// Input readiness is exact (the bytes are here); WRITABLE is a hint bounded by the send window.
import { Buffer } from "node:buffer";
import { AF_UNIX } from "../../core/constants.js";
import { SocketError, errnoOf } from "../../core/errors.js";
import { getEngine, type Engine } from "../../core/engine.js";
import { FIELD, F_OPEN, F_EOF } from "../../core/abi.js";
import { type Address, checkIp, checkPath, ipOut, unboundAddress } from "../../core/address.js";
import { notifyReady, markDirty, memoryFreed } from "../../core/wake.js";
import type { SocketImpl } from "../seam.js";
import type { RawSink } from "./stream.js";
import { optionName } from "./options.js";

/** Where a stream socket is in its life. */
export type State = "fresh" | "bound" | "listening" | "connecting" | "connected" | "closed";

/** The Node stream under a socket: a libuv handle's (RawStream) or a net.Socket's (PublicStream). */
export interface StreamLike {
  /** Bytes handed to the OS whose write has not completed yet. */
  readonly pending: number;
  /** end() was called: no more writes. */
  readonly ended: boolean;
  setReading(on: boolean): void;
  /** true: completes later; false: done now; a string: the error code. */
  write(buf: Uint8Array): boolean | string;
  /** FIN once pending writes completed, then close. */
  end(): void;
  /** Close now (pending writes dropped). */
  destroy(): void;
  sockname(): { address: string; port: number } | null;
  peerGone(): boolean;
  setNoDelay(on: boolean): void;
  setKeepAlive(on: boolean): void;
}

const EMPTY = Buffer.alloc(0);
// Shared empty default (never mutated): most sockets never stash input.
const NONE_STASHED: Buffer[] = [];

// Sockets holding received bytes the core had no memory for (its pool was at the cap). Their
// input may be empty, so no recv() of theirs would ever retry: whoever frees memory does.
const starved = new Set<StreamSocketBase<StreamLike>>();

/** Moves stashed input into the core now that memory was freed, oldest first, until the cap. */
export function feedStarved(): void {
  for (const s of starved) if (!s.refill()) return;
}

/** A stream socket over a Node stream, its buffers in the core; subclasses open the stream. */
export abstract class StreamSocketBase<S extends StreamLike> implements SocketImpl, RawSink {
  readonly backend = "net";
  readonly osFd = -1;
  readonly token: number;
  protected readonly engine: Engine = getEngine();
  protected state: State = "fresh";
  protected stream: S | null = null;
  protected boundAddr: Address | null = null;
  protected peerAddr: Address | null = null;
  protected errorCode: string | null = null;
  protected readPaused = false;
  protected stash: Buffer[] = NONE_STASHED; // bytes the core had no memory for yet (own array once needed)
  protected options: Map<string, number> | null = null; // set by setsockopt()/bind(), null while none is
  protected flushQueued = false;

  constructor(readonly family: number) {
    this.token = this.engine.openChannel("Socket");
  }

  get closed(): boolean {
    return this.state === "closed";
  }

  abstract bind(address: Address): void;
  abstract listen(backlog: number): void;
  abstract acceptOrNull(): [SocketImpl, Address] | null;
  abstract connect(address: Address): void;
  /** A write that went on after its call completed (RawSink). */
  abstract onWritten(buf: Uint8Array): void;
  /** Writes the output queue to the OS socket (once per pass). */
  abstract flush(): void;
  /** Closes the listener and the connections it queued (close()). */
  protected abstract closeListener(): void;

  /** An accepted stream is this socket's now: connected, OPEN, options applied. */
  protected adopted(stream: S): void {
    this.stream = stream;
    this.state = "connected";
    this.engine.core.chan_set_flags(this.token, F_OPEN, 0);
    this.applyOptions();
  }

  /** The peer's EOF arrived (RawSink). */
  onEnd(): void {
    if (this.state === "closed") return;
    this.engine.core.chan_set_flags(this.token, F_EOF, 0);
    notifyReady(this.token);
  }

  /** The connect completed (RawSink). */
  onConnect(): void {
    if (this.state !== "connecting") return;
    this.state = "connected";
    this.engine.core.chan_set_flags(this.token, F_OPEN, 0);
    notifyReady(this.token);
    if (this.engine.field(this.token, FIELD.outLen) > 0) this.queueFlush();
  }

  /** Bytes arrived (RawSink); false stops reading. */
  onData(buf: Uint8Array, n: number): boolean {
    if (this.state === "closed") return false;
    if (this.stash.length > 0) {
      this.stash.push(Buffer.from(buf.subarray(0, n))); // (a non-empty stash is the socket's own array)
      return false;
    }
    const taken = this.engine.pushIn(this.token, buf, 0, n);
    const pause = this.engine.pauseWanted;
    if (taken < n) { // the core is at its memory cap
      if (this.stash === NONE_STASHED) this.stash = [];
      this.stash.push(Buffer.from(buf.subarray(taken, n)));
      starved.add(this);
    }
    notifyReady(this.token);
    if (pause || taken < n) {
      this.readPaused = true;
      return false;
    }
    return true;
  }

  /** The stream failed (RawSink). */
  onError(code: string): void {
    if (this.state === "closed") return;
    this.errorCode ??= code;
    this.engine.setField(this.token, FIELD.errno, errnoOf(code) || errnoOf("EIO"));
    notifyReady(this.token);
  }

  /** Python: socket.recv(n) — throws EAGAIN when nothing is buffered; empty Buffer at EOF. */
  recv(n: number, flags: number): Buffer {
    if (flags !== 0) throw new SocketError("EOPNOTSUPP", `recv(${n}, ${flags}): flags need the native backend (Node's streams have no MSG_OOB/MSG_PEEK)`);
    const e = this.engine;
    if (e.field(this.token, FIELD.inLen) > 0 && n > 0) {
      const data = e.takeIn(this.token, n);
      if (this.readPaused && e.resumeOk) this.resumeReading();
      if (starved.size > 0) feedStarved(); // takeIn freed chunks
      memoryFreed();
      return data;
    }
    if (this.errorCode) throw new SocketError(this.errorCode, "recv()");
    if (this.stash.length === 0 && (e.core.chan_flags(this.token) & F_EOF) !== 0) return EMPTY;
    if (this.state === "listening" || this.state === "fresh" || this.state === "bound") throw new SocketError("ENOTCONN", "recv()");
    if (n === 0) return EMPTY;
    throw new SocketError("EAGAIN", "recv()");
  }

  /** Resumes a paused stream after input was consumed in the core outside recv() (AsyncChat's framer). */
  inputConsumed(): void {
    if (this.readPaused && this.engine.resumeOk) this.resumeReading();
  }

  /** Has the peer's EOF been reached, with nothing left beyond what the core holds? (AsyncChat) */
  atEof(): boolean {
    return this.state !== "closed" && this.stash.length === 0 && (this.engine.core.chan_flags(this.token) & F_EOF) !== 0;
  }

  private resumeReading(): void {
    const had = this.engine.field(this.token, FIELD.inLen);
    let full = false;
    while (this.stash.length > 0) {
      const head = this.stash[0];
      const taken = this.engine.pushIn(this.token, head, 0, head.length);
      if (taken < head.length) { this.stash[0] = head.subarray(taken); starved.add(this); break; }
      this.stash.shift();
      if (this.engine.pauseWanted) { full = true; break; }
    }
    if (this.engine.field(this.token, FIELD.inLen) !== had) notifyReady(this.token);
    if (this.stash.length > 0) return; // reading stays stopped, so no FIN can overtake the stash
    starved.delete(this);
    if (full) return; // recv() resumes once the input drains below recvPause
    this.readPaused = false;
    this.stream?.setReading(true);
  }

  /** The channel's limits changed in the core: reading resumes if now below the pause bound. */
  limitsChanged(): void {
    const e = this.engine;
    if (this.readPaused && e.field(this.token, FIELD.inLen) < e.field(this.token, FIELD.pause)) this.resumeReading();
  }

  /** Retries stashed input after memory was freed; false when the core is still at its cap. */
  refill(): boolean {
    const e = this.engine;
    if (this.state === "closed" || this.stash.length === 0) { starved.delete(this); return true; }
    // A channel over its pause bound is readable: its own recv() resumes it.
    if (e.field(this.token, FIELD.inLen) >= e.field(this.token, FIELD.pause)) return true;
    this.resumeReading();
    return !starved.has(this);
  }

  /** Python: socket.send(data) — takes what fits in the send window; EAGAIN when nothing fits. */
  send(data: Uint8Array, flags: number): number {
    if (flags !== 0) throw new SocketError("EOPNOTSUPP", `send(<${data.length} bytes>, ${flags}): flags need the native backend (Node's streams have no MSG_OOB)`);
    if (this.errorCode) throw new SocketError(this.errorCode === "ECONNRESET" ? "ECONNRESET" : "EPIPE", "send()");
    if (this.state === "connecting") throw new SocketError("EAGAIN", "send()");
    if (this.state !== "connected") throw new SocketError("ENOTCONN", "send()");
    if (data.length === 0) return 0;
    if (this.stream && this.stream.ended) throw new SocketError("EPIPE", "send()");
    const sent = this.sendNow(data);
    if (sent > 0) return sent;
    const n = this.engine.pushOut(this.token, data);
    if (n === 0) throw new SocketError("EAGAIN", "send()");
    this.queueFlush();
    return n;
  }

  /** A send that skips the output queue: the bytes taken, or 0 to queue them (this class always queues). */
  protected sendNow(data: Uint8Array): number {
    void data;
    return 0;
  }

  /** Python: socket.sendto(data, address) on a stream socket — the address is ignored once connected, as Linux does. */
  sendto(data: Uint8Array, address: Address): number {
    if (this.family === AF_UNIX) checkPath(address, "sendto()");
    else checkIp(this.family, address, "sendto()", false);
    if (this.state !== "connected" && this.state !== "connecting") throw new SocketError("EPIPE", "sendto(): the stream socket is not connected");
    return this.send(data, 0);
  }

  /** Python: socket.recvfrom(n) on a stream socket — recv(n) and the peer's address. */
  recvfrom(n: number): [Buffer, Address] {
    const data = this.recv(n, 0);
    // asyncore: Python returns None as a stream socket's address; the peer keeps the tuple typed.
    return [data, this.peerAddr ?? unboundAddress(this.family)];
  }

  /** Python: socket.shutdown(how) — not on this backend. */
  shutdown(how: number): void {
    throw new SocketError("EOPNOTSUPP", `shutdown(${how}): needs the native backend (close() ends the stream on 'net')`);
  }

  protected queueFlush(): void {
    if (this.flushQueued) return;
    this.flushQueued = true;
    markDirty(this);
  }

  /** After a flush took bytes out of the core: stashed input may fit now. */
  protected outputTaken(): void {
    if (starved.size > 0) feedStarved(); // takeOut freed chunks
    memoryFreed();
  }

  /** Python: socket.close() — bytes send() took are still delivered, then the socket closes. */
  close(): void {
    if (this.state === "closed") return;
    const s = this.stream;
    if (s && this.state === "connected" && !this.errorCode) {
      const rest = this.engine.takeOut(this.token);
      if (rest) s.write(rest);
      s.end(); // closes once the pending writes completed (at once when there are none)
    } else s?.destroy();
    this.closeListener();
    this.stream = null;
    this.stash = NONE_STASHED;
    this.state = "closed";
    this.engine.core.chan_close(this.token);
    starved.delete(this);
    if (starved.size > 0) feedStarved(); // the channel's queues went back to the pool
    memoryFreed();
  }

  /** Python: socket.getsockname() */
  getsockname(): Address {
    if (this.boundAddr) return this.boundAddr;
    if (this.family === AF_UNIX) return "";
    const local = this.stream?.sockname();
    if (local) return ipOut(this.family, local.address, local.port);
    return unboundAddress(this.family);
  }

  /** Python: socket.getpeername() — ENOTCONN unless connected. */
  getpeername(): Address {
    if (this.state !== "connected" || this.peerAddr === null) throw new SocketError("ENOTCONN", "getpeername()");
    if (this.family !== AF_UNIX && this.errorCode !== null && this.stream && this.stream.peerGone()) {
      throw new SocketError("ENOTCONN", "getpeername()");
    }
    return this.peerAddr;
  }

  /** Python: socket.setsockopt(level, option, value) */
  setsockopt(level: number, option: number, value: number): void {
    const name = optionName(level, option, "setsockopt");
    if (name === "nodelay" && this.family === AF_UNIX) throw new SocketError("EOPNOTSUPP", "setsockopt(IPPROTO_TCP, TCP_NODELAY): not a TCP socket (AF_UNIX)");
    this.setOption(name, value);
    this.applyOptions();
  }

  /** Python: socket.getsockopt(level, option) — SO_ERROR reports a pending error's errno. */
  getsockopt(level: number, option: number): number {
    const name = optionName(level, option, "getsockopt");
    if (name === "error") return this.errorCode ? errnoOf(this.errorCode) || errnoOf("EIO") : 0;
    return this.options?.get(name) ?? 0;
  }

  /** The pending error (the one SO_ERROR reports) as a SocketError, or null. */
  pendingError(): SocketError | null {
    return this.errorCode ? new SocketError(this.errorCode) : null;
  }

  protected setOption(name: string, v: number): void {
    (this.options ??= new Map()).set(name, v);
  }

  /** Options an accepted socket inherits from its listener, as on Linux (all but SO_REUSEADDR). */
  protected inheritOptions(from: StreamSocketBase<S>): void {
    if (from.options !== null) for (const [k, v] of from.options) if (k !== "reuseaddr") this.setOption(k, v);
  }

  protected applyOptions(): void {
    const s = this.stream;
    if (!s || this.options === null) return;
    const nodelay = this.options.get("nodelay");
    if (nodelay !== undefined) s.setNoDelay(nodelay !== 0);
    const keepalive = this.options.get("keepalive");
    if (keepalive !== undefined) s.setKeepAlive(keepalive !== 0);
  }

  /** The state, for repr(). */
  describe(): string {
    return this.state;
  }
}
