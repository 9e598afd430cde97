// The `net` backend's stream socket (TCP, Unix): a SocketImpl over a libuv stream handle (stream.ts).
// Node is completion-based, asyncore readiness-based: this class turns the handle's events into its
// channel's readiness in the core (as mio adapts IOCP): data → bytes appended to the input queue
// (READABLE); end → EOF flag (READABLE, recv() then returns b''); error → errno (READABLE|WRITABLE, as
// select reports a failed socket); connect → OPEN (WRITABLE while the send window has room); a queued
// connection on a listener → host-ready READABLE; a write completed → in-flight bytes shrink.
// Input readiness is exact (the bytes are here); WRITABLE is a hint bounded by the send window.
import { Buffer } from "node:buffer";
import { AF_INET6, AF_UNIX } from "../../core/constants.js";
import { SocketError, errnoOf } from "../../core/errors.js";
import { getEngine, type Engine } from "../../core/engine.js";
import { FIELD, F_OPEN, F_EOF, R } from "../../core/abi.js";
import { type Address, checkIp, checkPath, ipOut, unboundAddress, describe } from "../../core/address.js";
import { notifyReady, markDirty, memoryFreed } from "../../core/wake.js";
import type { SocketImpl } from "../seam.js";
import * as sys from "./handles.js";
import { adoptRaw, connectRaw, type RawStream, type RawSink, type RawTarget } from "./stream.js";
import { optionName } from "./options.js";
import { bindPort } from "./shared.js";
import { DIRECT_MIN, STAGING, releaseStaging, retireStaging, staging, stagingView } from "./staging.js";

type State = "fresh" | "bound" | "listening" | "connecting" | "connected" | "closed";

const EMPTY = Buffer.alloc(0);
// Shared empty defaults (never mutated): most sockets never stash input or queue connections.
const NONE_STASHED: Buffer[] = [];
const NONE_PENDING: sys.UvStreamHandle[] = [];

// Sockets holding received bytes the core had no memory for (its pool was at the cap). Their
// input may be empty, so no recv() of theirs would ever retry: whoever frees memory does.
const starved = new Set<NetStreamSocket>();

/** Moves stashed input into the core now that memory was freed, oldest first, until the cap. */
function feedStarved(): void {
  for (const s of starved) if (!s.refill()) return;
}

/** A stream socket over a libuv handle, its buffers in the core. */
export class NetStreamSocket implements SocketImpl, RawSink {
  readonly backend = "net";
  readonly osFd = -1;
  readonly token: number;
  private readonly engine: Engine = getEngine();
  private state: State = "fresh";
  private stream: RawStream | null = null;
  private server: sys.ServerHandle | null = null;
  private accepted: sys.UvStreamHandle[] = NONE_PENDING; // a listener's own array from its first connection
  private boundAddr: Address | null = null;
  private peerAddr: Address | null = null;
  private errorCode: string | null = null;
  private readPaused = false;
  private stash: Buffer[] = NONE_STASHED; // bytes the core had no memory for yet (own array once needed)
  private options: Map<string, number> | null = null; // set by setsockopt()/bind(), null while none is
  private flushQueued = false;

  constructor(readonly family: number) {
    this.token = this.engine.openChannel("Socket");
  }

  get closed(): boolean {
    return this.state === "closed";
  }

  /** Python: socket.bind(address) — synchronous, as in asyncore. */
  bind(address: Address): void {
    if (this.state !== "fresh") throw new SocketError("EINVAL", `bind(${describe(address)}): socket is already ${this.state}`);
    let h: sys.ServerHandle | string;
    if (this.family === AF_UNIX) {
      const path = checkPath(address, "bind()");
      h = sys.bindPipe(path);
      if (typeof h !== "string") this.boundAddr = path;
    } else {
      const t = checkIp(this.family, address, "bind()", true);
      h = bindPort(this.family === AF_INET6, t.host, t.port, (this.options?.get("reuseport") ?? 0) !== 0, address);
      if (typeof h !== "string") {
        const a = sys.serverAddress(h);
        this.boundAddr = ipOut(this.family, a?.address ?? t.host, a?.port ?? t.port);
      }
    }
    if (typeof h === "string") throw new SocketError(h, `bind(${describe(address)})`);
    this.server = h;
    this.state = "bound";
    this.setOption("reuseaddr", 1); // libuv sets SO_REUSEADDR on every TCP bind
  }

  /** Python: socket.listen(backlog) */
  listen(backlog: number): void {
    if (this.state === "listening") return;
    if (this.state !== "bound" || !this.server) {
      // Python binds an unbound socket to an ephemeral port; do the same on loopback-free any address.
      if (this.state !== "fresh") throw new SocketError("EINVAL", `listen(): socket is ${this.state}`);
      this.bind(this.family === AF_UNIX ? `\0wasyncore-${process.pid}-${this.token}` : ["", 0]);
    }
    const err = sys.listen(this.server!, Math.max(backlog, 1), (handle) => this.onConnection(handle));
    if (err) throw new SocketError(err, `listen(${backlog})`);
    this.state = "listening";
  }

  private onConnection(handle: sys.UvStreamHandle): void {
    if (this.state !== "listening") { handle.close(); return; }
    // hostReady goes to R with the first pending connection, back to 0 when accept() takes the last
    if (this.accepted === NONE_PENDING) this.accepted = [];
    if (this.accepted.push(handle) === 1) this.engine.setField(this.token, FIELD.hostReady, R);
    notifyReady(this.token);
  }

  /** Python: socket.accept() — null when nothing is pending (no Error built per empty poll). */
  acceptOrNull(): [NetStreamSocket, Address] | null {
    if (this.state !== "listening") throw new SocketError("EINVAL", "accept(): socket is not listening");
    const handle = this.accepted.shift();
    if (this.accepted.length === 0) this.engine.setField(this.token, FIELD.hostReady, 0);
    if (!handle) return null;
    const sock = new NetStreamSocket(this.family);
    if (this.options !== null) for (const [k, v] of this.options) if (k !== "reuseaddr") sock.setOption(k, v); // as Linux: accepted sockets inherit options
    sock.adopt(handle);
    let addr: Address;
    if (this.family === AF_UNIX) addr = "";
    else {
      const peer = sys.peerOf(handle);
      addr = typeof peer === "string" ? unboundAddress(this.family) : ipOut(this.family, peer.address, peer.port);
      if (typeof peer !== "string") sock.peerAddr = addr;
    }
    return [sock, addr];
  }

  private adopt(handle: sys.UvStreamHandle): void {
    this.stream = adoptRaw(handle, this);
    this.state = "connected";
    if (this.family === AF_UNIX) this.peerAddr = "";
    this.engine.core.chan_set_flags(this.token, F_OPEN, 0);
    this.applyOptions();
  }

  /**
   * Starts a connect. Completion (or failure) shows up as readiness on a later pass;
   * errors known now (bad address, missing Unix path) throw at once.
   */
  connect(address: Address): void {
    if (this.state === "connected" || this.state === "connecting") throw new SocketError(this.state === "connected" ? "EISCONN" : "EALREADY", `connect(${describe(address)})`);
    if (this.state === "listening") throw new SocketError("EINVAL", `connect(${describe(address)}): socket is listening`);
    let target: RawTarget;
    if (this.family === AF_UNIX) {
      const path = checkPath(address, "connect()");
      // A Unix connect fails at once in the kernel when the path is missing: throw now, as Python does.
      const err = sys.unixPathError(path);
      if (err) throw new SocketError(err, `connect(${describe(address)})`);
      target = { path };
      this.peerAddr = path;
    } else {
      const t = checkIp(this.family, address, "connect()", false);
      target = { host: t.host, port: t.port, family: this.family === AF_INET6 ? 6 : 4 };
      if (this.boundAddr && Array.isArray(this.boundAddr)) {
        // A bound client: hand the local address to Node's connect instead of the listener handle.
        Object.assign(target, { localAddress: this.boundAddr[0], localPort: this.boundAddr[1] });
        this.server?.close();
        this.server = null;
      }
      this.peerAddr = ipOut(this.family, t.host, t.port);
    }
    this.state = "connecting";
    this.stream = connectRaw(target, this);
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

  /** A write that went on after its call completed (RawSink). */
  onWritten(buf: Uint8Array): void {
    releaseStaging(buf);
    if (this.state === "closed" || !this.stream) return;
    this.engine.setField(this.token, FIELD.inflight, this.stream.pending);
    notifyReady(this.token);
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
    const have = e.field(this.token, FIELD.inLen);
    if (have > 0 && n > 0) {
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
    if (data.length >= DIRECT_MIN) {
      const sent = this.sendNow(data);
      if (sent > 0) return sent;
    }
    const n = this.engine.pushOut(this.token, data);
    if (n === 0) throw new SocketError("EAGAIN", "send()");
    this.queueFlush();
    return n;
  }

  /**
   * A large send on an empty output queue goes to the OS socket now, as CPython's send() does:
   * one copy (into staging) instead of two (into the core, then out of it at the pass's flush).
   * Returns the bytes taken, or 0 to take the queue's path (bytes queued first, little room).
   */
  private sendNow(data: Uint8Array): number {
    const e = this.engine, t = this.token, s = this.stream;
    if (s === null || e.core.chan_get(t, FIELD.outLen) !== 0) return 0;
    const n = Math.min(data.length, e.core.chan_get(t, FIELD.window) - s.pending, STAGING);
    if (n < DIRECT_MIN) return 0;
    e.stamp();
    if (e.core.out_direct(t, n) !== 1) return 0; // no memory for output: the queue's path says so
    staging.set(n === data.length ? data : new Uint8Array(data.buffer, data.byteOffset, n));
    const buf = stagingView(n);
    const rc = s.write(buf);
    if (rc !== true && rc !== false) {
      this.onError(rc);
      throw new SocketError(rc === "ECONNRESET" ? "ECONNRESET" : "EPIPE", "send()");
    }
    if (rc) { // completes later and keeps staging
      retireStaging();
      e.setField(t, FIELD.inflight, s.pending);
      notifyReady(t);
    }
    return n;
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

  private queueFlush(): void {
    if (this.flushQueued) return;
    this.flushQueued = true;
    markDirty(this);
  }

  /** Writes the output queue to the OS socket (once per pass). */
  flush(): void {
    this.flushQueued = false;
    const s = this.stream;
    if (this.state !== "connected" || s === null) return;
    const n = this.engine.takeOutInto(this.token, staging);
    if (n === 0) return;
    const buf = n > 0 ? stagingView(n) : this.engine.takeOut(this.token)!;
    if (starved.size > 0) feedStarved(); // takeOut freed chunks
    memoryFreed();
    const rc = s.write(buf);
    if (rc === true) { // completes later and keeps buf
      if (buf.buffer === staging.buffer) retireStaging();
      this.engine.setField(this.token, FIELD.inflight, s.pending);
    } else if (rc !== false) this.onError(rc);
    notifyReady(this.token); // the output queue shrank: writable again
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
    this.server?.close();
    for (const h of this.accepted) h.close();
    this.server = null;
    this.accepted = NONE_PENDING;
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

  private setOption(name: string, v: number): void {
    (this.options ??= new Map()).set(name, v);
  }

  private applyOptions(): void {
    const s = this.stream;
    if (!s) return;
    if (this.options === null) return;
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
