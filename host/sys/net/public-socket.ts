// The `net` backend's stream socket (TCP, Unix) without process.binding: NetStreamSocket's
// semantics (socket.ts) over Node's public API, for where the libuv handles are refused (Node's
// permission model) or WASYNCORE_NET_PUBLIC=1 asks for it. The same readiness rules: data → bytes
// in the input queue (READABLE); end → EOF flag; error → errno (READABLE|WRITABLE); connect → OPEN;
// a queued connection on a listener → host-ready READABLE; a write completed → in-flight shrinks.
// asyncore: bind() only checks the address (Node has no public synchronous bind); listen() or
// connect() binds, so EADDRINUSE is thrown by listen() (see public-listen.ts; where Node reports it
// later, the next pass does: accept() throws it into handleError) or fails the connect. Slower
// than socket.ts: see public-stream.ts.
import { Buffer } from "node:buffer";
import type * as net from "node:net";
import cluster from "node:cluster";
import { AF_INET6, AF_UNIX, SOL_SOCKET, SO_REUSEPORT } from "../../core/constants.js";
import { SocketError, errnoOf } from "../../core/errors.js";
import { getEngine, type Engine } from "../../core/engine.js";
import { FIELD, F_OPEN, F_EOF, R } from "../../core/abi.js";
import { type Address, checkIp, checkPath, ipOut, unboundAddress, describe } from "../../core/address.js";
import { notifyReady, markDirty, memoryFreed } from "../../core/wake.js";
import type { SocketImpl } from "../seam.js";
import type { RawSink, RawTarget } from "./stream.js";
import { unixPathError } from "./handles.js";
import { optionName } from "./options.js";
import { PublicListener, publicReusePort, unixBindError } from "./public-listen.js";
import { takeShared } from "./shared.js";
import { PublicStream, adoptPublic, connectPublic } from "./public-stream.js";

type State = "fresh" | "bound" | "listening" | "connecting" | "connected" | "closed";

const EMPTY = Buffer.alloc(0);
const NONE_STASHED: Buffer[] = [];
const NONE_PENDING: net.Socket[] = [];

// Sockets holding received bytes the core had no memory for (see socket.ts): whoever frees memory retries them.
const starved = new Set<PublicStreamSocket>();

function feedStarved(): void {
  for (const s of starved) if (!s.refill()) return;
}

/** A stream socket over node:net's public API, its buffers in the core. */
export class PublicStreamSocket implements SocketImpl, RawSink {
  readonly backend = "net";
  readonly osFd = -1;
  readonly token: number;
  private readonly engine: Engine = getEngine();
  private state: State = "fresh";
  private stream: PublicStream | null = null;
  private listener: PublicListener | null = null;
  private accepted: net.Socket[] = NONE_PENDING;
  private boundAddr: Address | null = null; // what bind() asked; the real address once listening
  private peerAddr: Address | null = null;
  private errorCode: string | null = null;
  private errorWhat = ""; // the call a late listen error belongs to, and its address (SocketError's details)
  private errorAt: { address?: string; port?: number } = {};
  private readPaused = false;
  private stash: Buffer[] = NONE_STASHED;
  private options: Map<string, number> | null = null;
  private flushQueued = false;

  constructor(readonly family: number) {
    this.token = this.engine.openChannel("Socket");
  }

  get closed(): boolean {
    return this.state === "closed";
  }

  /** Python: socket.bind(address) — checks the address now; listen() or connect() binds (asyncore: see the header). */
  bind(address: Address): void {
    if (this.state !== "fresh") throw new SocketError("EINVAL", `bind(${describe(address)}): socket is already ${this.state}`);
    if (this.family === AF_UNIX) {
      const path = checkPath(address, "bind()");
      const err = unixBindError(path);
      if (err) throw new SocketError(err, `bind(${describe(address)})`);
      this.boundAddr = path;
    } else {
      const t = checkIp(this.family, address, "bind()", true);
      this.boundAddr = ipOut(this.family, t.host, t.port);
    }
    this.state = "bound";
    this.setOption("reuseaddr", 1); // libuv sets SO_REUSEADDR on every TCP bind
  }

  /** Python: socket.listen(backlog) — binds and listens; a bind error is reported on the next pass. */
  listen(backlog: number): void {
    if (this.state === "listening") return;
    if (this.state !== "bound") {
      if (this.state !== "fresh") throw new SocketError("EINVAL", `listen(): socket is ${this.state}`);
      this.bind(this.family === AF_UNIX ? `\0wasyncore-${process.pid}-${this.token}` : ["", 0]);
    }
    const what = `listen(${backlog}) on ${describe(this.boundAddr)}`;
    const a = this.boundAddr!;
    const at = typeof a === "string" ? { address: a } : { address: a[0], port: a[1] };
    const l = new PublicListener({
      onConnection: (sock) => this.onConnection(sock),
      onError: (code) => { this.fail(code, what); this.errorAt = at; },
    });
    let err: string | null;
    let reuse = false;
    if (typeof a === "string") err = l.listen({ path: a }, Math.max(backlog, 1));
    else {
      // as sys/net/shared.ts: a handle the cores helper sent for this address, else a bind, with
      // SO_REUSEPORT in a node:cluster worker where Node can
      const shared = takeShared(a[0], a[1]);
      reuse = (this.options?.get("reuseport") ?? 0) !== 0 || (a[1] !== 0 && cluster.isWorker && publicReusePort());
      err = shared !== null ? l.listen({ handle: shared }, Math.max(backlog, 1)) : l.listen({ host: a[0], port: a[1], reusePort: reuse }, Math.max(backlog, 1));
    }
    if (err === "EADDRINUSE" && typeof a !== "string" && a[1] !== 0 && cluster.isWorker && !reuse) {
      throw new SocketError(err, `${what}: in a node:cluster worker the net backend cannot share a port before Node 22.12 (this is Node ${process.versions.node}): use serveOnCores() or the native backend`, at);
    }
    if (err !== null) throw new SocketError(err, what, at); // still bound (to nothing yet), as after a failed listen(2)
    this.listener = l;
    this.state = "listening";
    const real = l.address();
    if (real !== null) this.boundAddr = ipOut(this.family, real.address, real.port);
  }

  private onConnection(sock: net.Socket): void {
    if (this.state !== "listening") { sock.destroy(); return; }
    if (this.accepted === NONE_PENDING) this.accepted = [];
    if (this.accepted.push(sock) === 1) this.engine.setField(this.token, FIELD.hostReady, R);
    notifyReady(this.token);
  }

  /** Python: socket.accept() — null when nothing is pending; throws a listen error that arrived late. */
  acceptOrNull(): [PublicStreamSocket, Address] | null {
    if (this.state !== "listening") throw new SocketError("EINVAL", "accept(): socket is not listening");
    if (this.errorCode !== null) throw new SocketError(this.errorCode, this.errorWhat, this.errorAt);
    const sock = this.accepted.shift();
    if (this.accepted.length === 0) this.engine.setField(this.token, FIELD.hostReady, 0);
    if (!sock) return null;
    const impl = new PublicStreamSocket(this.family);
    if (this.options !== null) for (const [k, v] of this.options) if (k !== "reuseaddr") impl.setOption(k, v);
    let addr: Address = "";
    if (this.family !== AF_UNIX) {
      addr = sock.remoteAddress !== undefined && sock.remotePort !== undefined
        ? ipOut(this.family, sock.remoteAddress, sock.remotePort) : unboundAddress(this.family);
      if (sock.remoteAddress !== undefined) impl.peerAddr = addr;
    } else impl.peerAddr = "";
    impl.stream = adoptPublic(sock, impl);
    impl.state = "connected";
    this.engine.core.chan_set_flags(impl.token, F_OPEN, 0);
    impl.applyOptions();
    return [impl, addr];
  }

  /** Starts a connect (binding first when bind() asked an address); completion or failure shows up on a later pass. */
  connect(address: Address): void {
    if (this.state === "connected" || this.state === "connecting") throw new SocketError(this.state === "connected" ? "EISCONN" : "EALREADY", `connect(${describe(address)})`);
    if (this.state === "listening") throw new SocketError("EINVAL", `connect(${describe(address)}): socket is listening`);
    let target: RawTarget;
    if (this.family === AF_UNIX) {
      const path = checkPath(address, "connect()");
      const err = unixPathError(path); // a Unix connect fails at once when the path is missing, as in Python
      if (err) throw new SocketError(err, `connect(${describe(address)})`);
      target = { path };
      this.peerAddr = path;
    } else {
      const t = checkIp(this.family, address, "connect()", false);
      target = { host: t.host, port: t.port, family: this.family === AF_INET6 ? 6 : 4 };
      if (Array.isArray(this.boundAddr)) Object.assign(target, { localAddress: this.boundAddr[0], localPort: this.boundAddr[1] });
      this.peerAddr = ipOut(this.family, t.host, t.port);
    }
    this.state = "connecting";
    this.stream = connectPublic(target, this);
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
    if (Array.isArray(this.boundAddr)) this.boundAddr = null; // the socket's own address from now on
    this.engine.core.chan_set_flags(this.token, F_OPEN, 0);
    notifyReady(this.token);
    if (this.engine.field(this.token, FIELD.outLen) > 0) this.queueFlush();
  }

  /** A write completed (RawSink). */
  onWritten(): void {
    if (this.state === "closed" || !this.stream) return;
    this.engine.setField(this.token, FIELD.inflight, this.stream.pending);
    notifyReady(this.token);
  }

  /** Bytes arrived (RawSink); false stops reading. */
  onData(buf: Uint8Array, n: number): boolean {
    if (this.state === "closed") return false;
    if (this.stash.length > 0) {
      this.stash.push(Buffer.from(buf.subarray(0, n)));
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
    this.fail(code, "");
  }

  private fail(code: string, what: string): void {
    if (this.state === "closed" || this.errorCode !== null) return;
    this.errorCode = code;
    this.errorWhat = what;
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
      if (starved.size > 0) feedStarved();
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

  /** Has the peer's EOF been reached, with nothing left beyond what the core holds? */
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
    if (full) return;
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
    const n = this.engine.pushOut(this.token, data);
    if (n === 0) throw new SocketError("EAGAIN", "send()");
    this.queueFlush();
    return n;
  }

  /** Python: socket.sendto(data, address) on a stream socket — the address is ignored once connected. */
  sendto(data: Uint8Array, address: Address): number {
    if (this.family === AF_UNIX) checkPath(address, "sendto()");
    else checkIp(this.family, address, "sendto()", false);
    if (this.state !== "connected" && this.state !== "connecting") throw new SocketError("EPIPE", "sendto(): the stream socket is not connected");
    return this.send(data, 0);
  }

  /** Python: socket.recvfrom(n) on a stream socket — recv(n) and the peer's address. */
  recvfrom(n: number): [Buffer, Address] {
    return [this.recv(n, 0), this.peerAddr ?? unboundAddress(this.family)];
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

  /** Writes the output queue to the socket (once per pass); Node keeps the Buffer until written. */
  flush(): void {
    this.flushQueued = false;
    const s = this.stream;
    if (this.state !== "connected" || s === null) return;
    const buf = this.engine.takeOut(this.token);
    if (buf === null) return;
    if (starved.size > 0) feedStarved();
    memoryFreed();
    const rc = s.write(buf);
    if (rc === true) this.engine.setField(this.token, FIELD.inflight, s.pending);
    else this.onError(rc);
    notifyReady(this.token); // the output queue shrank: writable again
  }

  /** Python: socket.close() — bytes send() took are still delivered, then the socket closes. */
  close(): void {
    if (this.state === "closed") return;
    const s = this.stream;
    if (s && this.state === "connected" && !this.errorCode) {
      const rest = this.engine.takeOut(this.token);
      if (rest) s.write(rest);
      s.end();
    } else s?.destroy();
    this.listener?.close();
    for (const sock of this.accepted) sock.destroy();
    this.listener = null;
    this.accepted = NONE_PENDING;
    this.stream = null;
    this.stash = NONE_STASHED;
    this.state = "closed";
    this.engine.core.chan_close(this.token);
    starved.delete(this);
    if (starved.size > 0) feedStarved();
    memoryFreed();
  }

  /** Python: socket.getsockname() — the asked address until listen()/connect() bound it (asyncore: see the header). */
  getsockname(): Address {
    if (this.state === "listening" && this.listener !== null && this.family !== AF_UNIX && this.boundAddr !== null && (this.boundAddr as [string, number])[1] === 0) {
      const real = this.listener.address(); // bound on a later tick where listen() could not bind at once
      if (real !== null) this.boundAddr = ipOut(this.family, real.address, real.port);
    }
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
    if (level === SOL_SOCKET && option === SO_REUSEPORT) { // net.Server's listen({ reusePort }) sets it
      if (!publicReusePort()) throw new SocketError("ENOPROTOOPT", `setsockopt(SOL_SOCKET, SO_REUSEPORT): the net backend needs Node >= 22.12 for it (this is Node ${process.versions.node}); the native backend has it on any Node`);
      if (this.state === "listening") throw new SocketError("EINVAL", "setsockopt(SOL_SOCKET, SO_REUSEPORT): set it before listen() (the public API sets it at bind)");
      this.setOption("reuseport", value);
      return;
    }
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
    return this.errorCode ? new SocketError(this.errorCode, this.errorWhat || undefined, this.errorAt) : null;
  }

  private setOption(name: string, v: number): void {
    (this.options ??= new Map()).set(name, v);
  }

  private applyOptions(): void {
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
