// The `net` backend's stream socket (TCP, Unix) without process.binding: NetStreamSocket's
// semantics (socket.ts) over Node's public API, for where the libuv handles are refused (Node's
// permission model) or WASYNCORE_NET_PUBLIC=1 asks for it. The readiness and byte rules are the base
// class's (stream-socket.ts); here: bind, listen, accept (a queued connection on a listener → host-ready
// READABLE), connect and the write path.
// asyncore: bind() only checks the address (Node has no public synchronous bind); listen() or
// connect() binds, so EADDRINUSE is thrown by listen() (see public-listen.ts; where Node reports it
// later, the next pass does: accept() throws it into handleError) or fails the connect. Slower
// than socket.ts: see public-stream.ts.
import type * as net from "node:net";
import cluster from "node:cluster";
import { AF_INET6, AF_UNIX, SOL_SOCKET, SO_REUSEPORT } from "../../core/constants.js";
import { SocketError, errnoOf } from "../../core/errors.js";
import { FIELD, R } from "../../core/abi.js";
import { type Address, checkIp, checkPath, ipOut, unboundAddress, describe } from "../../core/address.js";
import { notifyReady } from "../../core/wake.js";
import type { RawTarget } from "./stream.js";
import { unixPathError } from "./handles.js";
import { PublicListener, publicReusePort, unixBindError } from "./public-listen.js";
import { takeShared } from "./shared.js";
import { PublicStream, adoptPublic, connectPublic } from "./public-stream.js";
import { StreamSocketBase } from "./stream-socket.js";

const NONE_PENDING: net.Socket[] = [];

/** A stream socket over node:net's public API, its buffers in the core. */
export class PublicStreamSocket extends StreamSocketBase<PublicStream> {
  private listener: PublicListener | null = null;
  private accepted: net.Socket[] = NONE_PENDING;
  private errorWhat = ""; // the call a late listen error belongs to, and its address (SocketError's details)
  private errorAt: { address?: string; port?: number } = {};

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
    impl.inheritOptions(this);
    let addr: Address = "";
    if (this.family !== AF_UNIX) {
      addr = sock.remoteAddress !== undefined && sock.remotePort !== undefined
        ? ipOut(this.family, sock.remoteAddress, sock.remotePort) : unboundAddress(this.family);
      if (sock.remoteAddress !== undefined) impl.peerAddr = addr;
    } else impl.peerAddr = "";
    impl.adopted(adoptPublic(sock, impl));
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

  /** The connect completed (RawSink): the socket's own address from now on. */
  override onConnect(): void {
    if (this.state === "connecting" && Array.isArray(this.boundAddr)) this.boundAddr = null;
    super.onConnect();
  }

  /** A write completed (RawSink). */
  onWritten(): void {
    if (this.state === "closed" || !this.stream) return;
    this.engine.setField(this.token, FIELD.inflight, this.stream.pending);
    notifyReady(this.token);
  }

  /** The stream failed (RawSink). */
  override onError(code: string): void {
    this.fail(code, "");
  }

  private fail(code: string, what: string): void {
    if (this.state === "closed" || this.errorCode !== null) return;
    this.errorCode = code;
    this.errorWhat = what;
    this.engine.setField(this.token, FIELD.errno, errnoOf(code) || errnoOf("EIO"));
    notifyReady(this.token);
  }

  /** Writes the output queue to the socket (once per pass); Node keeps the Buffer until written. */
  flush(): void {
    this.flushQueued = false;
    const s = this.stream;
    if (this.state !== "connected" || s === null) return;
    const buf = this.engine.takeOut(this.token);
    if (buf === null) return;
    this.outputTaken();
    const rc = s.write(buf);
    if (rc === true) this.engine.setField(this.token, FIELD.inflight, s.pending);
    else this.onError(rc);
    notifyReady(this.token); // the output queue shrank: writable again
  }

  protected closeListener(): void {
    this.listener?.close();
    for (const sock of this.accepted) sock.destroy();
    this.listener = null;
    this.accepted = NONE_PENDING;
  }

  /** Python: socket.getsockname() — the asked address until listen()/connect() bound it (asyncore: see the header). */
  override getsockname(): Address {
    if (this.state === "listening" && this.listener !== null && this.family !== AF_UNIX && this.boundAddr !== null && (this.boundAddr as [string, number])[1] === 0) {
      const real = this.listener.address(); // bound on a later tick where listen() could not bind at once
      if (real !== null) this.boundAddr = ipOut(this.family, real.address, real.port);
    }
    return super.getsockname();
  }

  /** Python: socket.setsockopt(level, option, value) */
  override setsockopt(level: number, option: number, value: number): void {
    if (level === SOL_SOCKET && option === SO_REUSEPORT) { // net.Server's listen({ reusePort }) sets it
      if (!publicReusePort()) throw new SocketError("ENOPROTOOPT", `setsockopt(SOL_SOCKET, SO_REUSEPORT): the net backend needs Node >= 22.12 for it (this is Node ${process.versions.node}); the native backend has it on any Node`);
      if (this.state === "listening") throw new SocketError("EINVAL", "setsockopt(SOL_SOCKET, SO_REUSEPORT): set it before listen() (the public API sets it at bind)");
      this.setOption("reuseport", value);
      return;
    }
    super.setsockopt(level, option, value);
  }

  /** The pending error (the one SO_ERROR reports) as a SocketError, or null. */
  override pendingError(): SocketError | null {
    return this.errorCode ? new SocketError(this.errorCode, this.errorWhat || undefined, this.errorAt) : null;
  }
}
