// The native backend's stream socket: a SocketImpl over a real non-blocking descriptor.
//
// Same behaviour as the `net` backend's stream socket, different effects:
//   readiness   the kernel's, from epoll, kept in the core by NativeStream (host/sys/native/stream.ts)
//   recv        the kernel writes straight into the core's input-queue chunks; recv() copies out
//   send        bounded by what is left of the channel's send window this pass. Small sends
//               (< 16 KiB) are queued in the core and written once per channel at the pass's
//               end; a large one on an empty queue is one send(2) from the caller's bytes and
//               returns what the kernel took, EAGAIN when it took nothing; WRITABLE drops
//               until EPOLLOUT after a short or refused send
//   bind        bind(2): synchronous, EADDRINUSE at once, no SO_REUSEADDR unless asked
// Everything the loop does stays the same: readiness marks the core and calls notifyReady().
// Its descriptor's readiness state lives in NativeStream (stream.ts), changed only by its methods.
import { Buffer } from "node:buffer";
import cluster from "node:cluster";
import { lookup } from "node:dns";
import { isIP } from "node:net";
import { SOL_SOCKET, SO_ERROR, SO_REUSEPORT, AF_UNIX, AF_INET6, SOCK_STREAM } from "../../core/constants.js";
import { SocketError, errnoOf, codeOf, checkInt } from "../../core/errors.js";
import { FIELD } from "../../core/abi.js";
import { type Address, checkIp, checkPath, describe, familyName, unboundAddress } from "../../core/address.js";
import { notifyReady, memoryFreed } from "../../core/wake.js";
import { getEngine } from "../../core/engine.js";
import type { SocketImpl } from "../seam.js";
import { loadAddon, nativeStats, type Addon, type NativeAddress } from "./addon.js";
import { NativeStream, NEG_EAGAIN } from "./stream.js";

const EMPTY = Buffer.alloc(0);
let A: Addon; // the addon, loaded by the first native socket
const NEG_EINPROGRESS = -errnoOf("EINPROGRESS");
// Errors from send(2) that mean the connection is gone: they become the pending error (SO_ERROR
// reads it once in the kernel, and send(2) consumed it), so recv() and pendingError() see it too.
const LOST = new Set(["ECONNRESET", "ECONNABORTED", "ETIMEDOUT", "EHOSTUNREACH", "ENETUNREACH", "ENETDOWN", "EHOSTDOWN"]);
const INT_MAX = 2 ** 31 - 1;
const DIRECT_MIN = 16384; // send() of at least this many bytes on an empty output queue goes to the kernel at once

let sharing = false;

/** Do TCP binds to a fixed port set SO_REUSEPORT first? In a node:cluster worker, and where the cores helper said so. */
function shareBinds(): boolean {
  return sharing || cluster.isWorker;
}

/** Makes TCP binds to a fixed port in this thread set SO_REUSEPORT first (the cores helper's workers). */
export function setShareBinds(on: boolean): void {
  sharing = on;
}

function toAddress(family: number, a: NativeAddress): Address {
  return a === null ? unboundAddress(family) : a;
}

function copyAddress(a: Address): Address {
  return Array.isArray(a) ? (a.slice() as Address) : a;
}

function scopeOf(address: Address): number {
  return Array.isArray(address) && address.length === 4 && Number.isInteger(address[3]) ? (address[3] as number) : 0;
}

/** A stream socket on a kernel descriptor, read and written without Node's streams. */
export class NativeStreamSocket implements SocketImpl {
  readonly backend = "native";
  readonly #s: NativeStream;
  #shutWr = false; // shutdown(SHUT_WR or SHUT_RDWR): EPIPE from send() is our own doing
  #unconnected = false; // a Unix connect() refused with EAGAIN: recv/send go to the kernel as they are
  #peer: Address | null = null; // from accept4: getpeername() while the connection is up

  /** Python: socket.socket(family, SOCK_STREAM); `fd` adopts a connected descriptor (accept). */
  constructor(readonly family: number, fd?: number) {
    A ??= loadAddon();
    const adopted = fd !== undefined;
    if (fd === undefined) {
      fd = A.socket(family, SOCK_STREAM);
      if (fd < 0) throw SocketError.fromResult(fd, `socket(${familyName(family)}, SOCK_STREAM)`);
    }
    let token: number;
    try {
      token = getEngine().openChannel("Socket");
    } catch (err) {
      A.close(fd);
      throw err;
    }
    this.#s = new NativeStream(A, fd, token);
    if (adopted) this.#s.opened();
  }

  /** The core channel's token. */
  get token(): number {
    return this.#s.token;
  }

  get closed(): boolean {
    return this.#s.state === "closed";
  }

  /** The kernel's descriptor (fileno() is the core's token, as on every backend); -1 once closed. */
  get osFd(): number {
    return this.#s.state === "closed" ? -1 : this.#s.fd;
  }


  /** Python: socket.bind(address) — bind(2), synchronous: EADDRINUSE throws here. */
  bind(address: Address): void {
    const s = this.#s;
    if (s.state !== "fresh") throw new SocketError("EINVAL", `bind(${describe(address)}): socket is already ${s.state}`);
    let rc: number;
    if (this.family === AF_UNIX) rc = A.bind(s.fd, AF_UNIX, checkPath(address, "bind()"), 0, 0);
    else {
      const t = checkIp(this.family, address, "bind()", true);
      // in a node:cluster worker (or one of serveOnCores'), every worker binds its own listener of the port
      if (t.port !== 0 && shareBinds()) {
        const r = A.setsockopt(s.fd, SOL_SOCKET, SO_REUSEPORT, 1);
        if (r < 0) throw SocketError.fromResult(r, `bind(${describe(address)}): setsockopt(SO_REUSEPORT)`);
      }
      rc = A.bind(s.fd, this.family, t.host, t.port, scopeOf(address));
    }
    if (rc < 0) throw SocketError.fromResult(rc, `bind(${describe(address)})`);
    s.bound();
  }

  /** Python: socket.listen(backlog) — an unbound TCP socket gets an ephemeral port, as the kernel does. */
  listen(backlog: number): void {
    const s = this.#s;
    if (s.state !== "fresh" && s.state !== "bound" && s.state !== "listening") throw new SocketError("EINVAL", `listen(): socket is ${s.state}`);
    const rc = A.listen(s.fd, backlog);
    if (rc < 0) throw SocketError.fromResult(rc, `listen(${backlog})`);
    s.listening();
  }

  /**
   * Python: socket.accept() — accept4(2), null when nothing is pending (Socket.accept()
   * throws EAGAIN for that, Dispatcher.accept() takes the null: no Error built per empty poll).
   * accept4 reports the peer's address itself: no getpeername(2) here, nor in the Dispatcher's
   * constructor (getpeername() answers from it while the connection is up).
   */
  acceptOrNull(): [NativeStreamSocket, Address] | null {
    const s = this.#s;
    if (s.state !== "listening") throw new SocketError("EINVAL", "accept(): socket is not listening");
    const r = A.accept(s.fd, true);
    if (typeof r === "number") {
      if (r !== NEG_EAGAIN) throw SocketError.fromResult(r, "accept()");
      s.acceptDrained();
      return null;
    }
    s.acceptDrained(); // readable again only when epoll reports another pending connection, as select would
    const sock = new NativeStreamSocket(this.family, r[0]);
    const peer = toAddress(this.family, r[1]);
    sock.#peer = peer;
    return [sock, copyAddress(peer)];
  }

  /**
   * Starts a connect(2). Completion (or failure) shows up as readiness on a later pass, even when
   * the kernel completed it at once (a Unix socket): handleConnect() always runs from the loop.
   * Errors the kernel reports at call time throw (ENOENT, ECONNREFUSED and EAGAIN for Unix paths).
   */
  connect(address: Address): void {
    const s = this.#s;
    if (s.state === "connected" || s.state === "connecting") throw new SocketError(s.state === "connected" ? "EISCONN" : "EALREADY", `connect(${describe(address)})`);
    if (s.state === "listening") throw new SocketError("EINVAL", `connect(${describe(address)}): socket is listening`);
    if (this.family === AF_UNIX) {
      this.#start(address, checkPath(address, "connect()"), 0, 0);
      return;
    }
    const t = checkIp(this.family, address, "connect()", false);
    if (isIP(t.host) !== 0) {
      this.#start(address, t.host, t.port, scopeOf(address));
      return;
    }
    // A host name: resolved asynchronously, as the net backend does; failures reach handleError.
    s.resolveStarted();
    lookup(t.host, { family: this.family === AF_INET6 ? 6 : 4 }, (err, ip) => {
      if (s.state !== "connecting") return;
      s.resolveEnded();
      if (err) s.fail(typeof err.code === "string" ? err.code : "ENOTFOUND");
      else {
        try {
          this.#start(address, ip, t.port, 0);
        } catch (e) {
          s.fail(e instanceof SocketError ? e.code : "EIO");
        }
      }
      s.sync();
      notifyReady(s.token);
    });
  }

  #start(address: Address, host: string, port: number, scope: number): void {
    const s = this.#s;
    const rc = A.connect(s.fd, this.family, host, port, scope);
    if (rc < 0 && rc !== NEG_EINPROGRESS) {
      if (rc === NEG_EAGAIN && this.family === AF_UNIX) {
        // A Unix listener's backlog is full: socket.connect() raises EAGAIN, as in Python, and the
        // unconnected socket polls as the kernel has it (readable and writable: POLLOUT|POLLHUP).
        // asyncore's connect() takes EAGAIN (connect_ex's EWOULDBLOCK) as in progress: so
        // handle_connect() runs, then recv()/send() meet the kernel's EINVAL/ENOTCONN.
        this.#unconnected = true;
        s.unconnected();
      }
      throw SocketError.fromResult(rc, `connect(${describe(address)})`);
    }
    // asyncore: a Unix connect the kernel completed at once still reaches handleConnect() from the
    // loop (CPython calls handle_connect_event() inside connect()); it reports EPOLLOUT at once
    s.connecting();
  }

  /** Python: socket.recv(n, flags) — from the core's input queue; EAGAIN when empty, b'' at EOF. */
  recv(n: number, flags: number): Buffer {
    const s = this.#s;
    if (flags !== 0 || this.#unconnected) return this.#recvFlags(s, n, flags);
    if (s.state === "connecting" && !s.resolving && s.error === null && typeof A.peername(s.fd) !== "number") {
      s.opened(); // the kernel has connected (its event is on the way): read as recv(2) would
    }
    const e = s.engine;
    let avail = e.field(s.token, FIELD.inLen);
    if (avail === 0 && s.readable) { // what arrived since the last wake-up
      s.fill();
      avail = e.field(s.token, FIELD.inLen);
    }
    if (avail > 0 && n > 0) return s.take(n, avail);
    if (s.error !== null) throw new SocketError(s.error, "recv()");
    if (s.eof) return EMPTY;
    if (s.state !== "connected" && s.state !== "connecting") throw new SocketError("ENOTCONN", "recv()");
    if (n === 0) return EMPTY;
    throw new SocketError("EAGAIN", "recv()");
  }

  /** Python: socket.recv_into(buffer, n, flags) — from the core's input queue into `buffer`, no allocation. */
  recvInto(buffer: Uint8Array, n: number, flags: number): number {
    const s = this.#s;
    const e = s.engine;
    let avail = flags === 0 && !this.#unconnected ? e.field(s.token, FIELD.inLen) : 0;
    if (avail === 0 && flags === 0 && !this.#unconnected && s.readable) { // what arrived since the last wake-up
      s.fill();
      avail = e.field(s.token, FIELD.inLen);
    }
    if (avail > 0) {
      s.recheckUrgent();
      const got = e.takeInInto(s.token, buffer, n);
      if (e.resumeOk) s.consumed();
      return got;
    }
    const data = this.recv(n, flags); // flags, EOF (0), errors and EAGAIN as recv() has them
    buffer.set(data);
    return data.length;
  }

  // recv(n, MSG_OOB) and other flags: straight from the kernel into a new Buffer.
  #recvFlags(s: NativeStream, n: number, flags: number): Buffer {
    const buf = Buffer.allocUnsafe(n);
    const got = A.recv(s.fd, buf, 0, n, flags);
    if (flags & A.constants.MSG_OOB && got !== NEG_EAGAIN) {
      s.setUrgent(false); // read, or gone (EINVAL): watch for the next one
      s.sync();
    } else if (got > 0 && !(flags & A.constants.MSG_PEEK)) s.recheckUrgent(); // past the urgent mark?
    if (got < 0) throw SocketError.fromResult(got, "recv()");
    return buf.subarray(0, got);
  }

  /** Python: socket.send(data, flags) — send(2): the bytes the kernel took; EAGAIN when none. */
  send(data: Uint8Array, flags: number): number {
    const s = this.#s;
    if (this.#unconnected) {
      const n = A.send(s.fd, data, 0, data.length, flags);
      if (n < 0) throw SocketError.fromResult(n, "send()");
      nativeStats.bytesOut += n;
      return n;
    }
    if (s.state === "connecting") {
      if (s.error !== null || s.resolving) throw new SocketError(s.error ?? "EAGAIN", "send()");
    } else if (s.state !== "connected") throw new SocketError("ENOTCONN", "send()");
    if (data.length === 0) return 0;
    const e = s.engine;
    // asyncore: bounded by the send window (per channel per pass), so sendWindow means the same on both backends
    const queued = e.field(s.token, FIELD.outLen);
    const room = e.field(s.token, FIELD.window) - queued - s.sent;
    if (room <= 0) throw new SocketError("EAGAIN", "send(): the channel's send window is full for this pass");
    const len = Math.min(data.length, room);
    // asyncore: small sends on a healthy connection are queued in the core and written once per
    // channel at the end of the pass (as on the net backend): one send(2) per pass, not one per
    // call — AsyncChat pushes a message per line. The kernel's errors and EAGAIN still come from
    // send(2) itself (those paths below); a large send on an empty queue goes to the kernel now.
    if ((data.length < DIRECT_MIN || queued > 0) && flags === 0 && s.state === "connected" && !s.blocked &&
        s.error === null && !s.hup && !this.#shutWr) {
      const n = e.pushOut(s.token, len === data.length ? data : data.subarray(0, len));
      if (n === 0) throw new SocketError("EAGAIN", "send(): no core memory for output (memory cap)");
      s.queueFlush(this);
      return n;
    }
    if (queued > 0 && s.state === "connected" && s.error === null && !s.hup) {
      // send(data, flags) after small sends this pass: those go first (urgent data after the bytes before it)
      s.flushCore(true);
      if (e.field(s.token, FIELD.outLen) > 0) {
        throw new SocketError(s.error ?? "EAGAIN", "send(): the bytes sent before are still waiting for the kernel");
      }
    }
    // While connecting, the kernel says EAGAIN, or takes the bytes once it has connected.
    const n = A.send(s.fd, data, 0, len, flags);
    if (n < 0) {
      if (n === NEG_EAGAIN) { if (s.state === "connected") s.block(); }
      else if (s.state === "connecting") s.fail(codeOf(-n)); // send(2) consumed the connect's error
      else if (LOST.has(codeOf(-n)) || (codeOf(-n) === "EPIPE" && !this.#shutWr)) s.fail(codeOf(-n));
      throw SocketError.fromResult(n, "send()");
    }
    nativeStats.bytesOut += n; // past the core's queues: loopStats() adds these
    if (s.state === "connecting") s.opened(); // handleConnect() still comes from the loop
    if (n < len) s.block(); // the kernel's buffer is full now
    s.queueFlush(this); // the window reopens at the end of this pass (flush())
    s.addSent(n);
    return n;
  }

  /**
   * Python: socket.sendto(data, address) on a stream socket — the address is checked, then ignored
   * once connected (as Linux does); EPIPE before connect. Bounded by the send window like send().
   */
  sendto(data: Uint8Array, address: Address): number {
    const s = this.#s;
    if (this.family === AF_UNIX) checkPath(address, "sendto()");
    else checkIp(this.family, address, "sendto()", false);
    if (s.state !== "connected" && s.state !== "connecting") throw new SocketError("EPIPE", "sendto(): the stream socket is not connected");
    return this.send(data, 0);
  }

  /** Python: socket.recvfrom(n) on a stream socket — recv(n) and the peer's address. */
  recvfrom(n: number): [Buffer, Address] {
    const data = this.recv(n, 0);
    const peer = A.peername(this.#s.fd);
    // asyncore: Python returns None as a stream socket's address; the peer keeps the tuple typed.
    return [data, typeof peer === "number" ? unboundAddress(this.family) : toAddress(this.family, peer)];
  }

  /** End of pass: reopens the send window and writes output the core holds (send() itself does not queue there). */
  flush(): void {
    this.#s.passEnded();
  }

  /** The channel's limits changed in the core: reading resumes if now below the bound. */
  limitsChanged(): void {
    this.#s.limitsChanged();
  }

  /** Python: socket.shutdown(how) */
  shutdown(how: number): void {
    const s = this.#s;
    if (how !== A.constants.SHUT_RD && s.state === "connected" && s.error === null) s.flushCore(true); // queued bytes go first
    const rc = A.shutdown(s.fd, how);
    if (rc < 0) throw SocketError.fromResult(rc, "shutdown()");
    if (how !== A.constants.SHUT_RD) this.#shutWr = true;
  }

  /** Python: socket.close() — close(2); bytes send() returned for are the kernel's to deliver. */
  close(): void {
    const s = this.#s;
    if (s.state === "closed") return;
    if (s.state === "connected" && s.error === null) s.flushCore(true);
    s.close();
    s.engine.core.chan_close(s.token);
    memoryFreed();
  }

  /** Python: socket.getsockname() */
  getsockname(): Address {
    const a = A.sockname(this.#s.fd);
    if (typeof a === "number") throw SocketError.fromResult(a, "getsockname()");
    return toAddress(this.family, a);
  }

  /** Python: socket.getpeername() — the kernel's answer (ENOTCONN until connected). */
  getpeername(): Address {
    const s = this.#s;
    if (this.#peer !== null && s.state === "connected" && s.error === null && !s.eof && !s.hup) return copyAddress(this.#peer);
    const a = A.peername(s.fd);
    if (typeof a === "number") throw SocketError.fromResult(a, "getpeername()");
    return toAddress(this.family, a);
  }

  /** Python: socket.setsockopt(level, option, value) — setsockopt(2) with an int. */
  setsockopt(level: number, option: number, value: number): void {
    const rc = A.setsockopt(this.#s.fd, checkInt(level, "setsockopt(): level", 0, INT_MAX), checkInt(option, "setsockopt(): option", 0, INT_MAX), value);
    if (rc < 0) throw SocketError.fromResult(rc, `setsockopt(${level}, ${option}, ${value})`);
  }

  /** Python: socket.getsockopt(level, option) — getsockopt(2); SO_ERROR keeps reporting the pending error. */
  getsockopt(level: number, option: number): number {
    const s = this.#s;
    checkInt(level, "getsockopt(): level", 0, INT_MAX);
    checkInt(option, "getsockopt(): option", 0, INT_MAX);
    const soError = level === SOL_SOCKET && option === SO_ERROR;
    // asyncore: SO_ERROR stays set until close (CPython's read clears it), as on the net backend
    if (soError && s.error !== null) return errnoOf(s.error) || errnoOf("EIO");
    let v: number;
    try {
      v = A.getsockopt(s.fd, level, option);
    } catch (err) {
      throw SocketError.fromThrown(err, `getsockopt(${level}, ${option})`);
    }
    if (soError && v !== 0) s.fail(codeOf(v)); // read (and cleared) in the kernel: keep it pending here
    return v;
  }

  /** The pending error (the one SO_ERROR reports) as a SocketError, or null. */
  pendingError(): SocketError | null {
    return this.#s.error !== null ? new SocketError(this.#s.error) : null;
  }

  /** Resumes reading after input was consumed in the core outside recv() (AsyncChat's framer). */
  inputConsumed(): void {
    this.#s.recheckUrgent(); // (nothing unless urgent data is pending)
    if (this.#s.engine.resumeOk) this.#s.consumed();
  }

  /** Has the peer's EOF been reached, with nothing left beyond what the core holds? */
  atEof(): boolean {
    return this.#s.state !== "closed" && this.#s.eof;
  }

  /** The state, for repr(). */
  describe(): string {
    return `${this.#s.state}, native fd ${this.osFd}`;
  }
}
