// NativeSocket: Python's socket.socket over a real non-blocking descriptor (the native backend).
//
// Same public surface as Socket (it is one: `instanceof Socket` holds), different effects:
//   readiness   the kernel's, from epoll, kept in the core by NativeStream (host/sys/native/stream.ts)
//   recv        the kernel writes straight into the core's input-queue chunks; recv() copies out
//   send        bounded by what is left of the channel's send window this pass. Small sends
//               (< 16 KiB) are queued in the core and written once per channel at the pass's
//               end; a large one on an empty queue is one send(2) from the caller's bytes and
//               returns what the kernel took, EAGAIN when it took nothing; WRITABLE drops
//               until EPOLLOUT after a short or refused send
//   bind        bind(2): synchronous, EADDRINUSE at once, no SO_REUSEADDR unless asked
// Everything the loop does stays the same: readiness marks the core and calls notifyReady().
import { lookup } from "node:dns";
import { isIP } from "node:net";
import { Socket, checkBytes, noteAccepted, type BufferLimits } from "../../socket/socket.js";
import { SOCK_STREAM, SOCK_DGRAM, SOL_SOCKET, SO_ERROR, AF_UNIX, AF_INET6 } from "../../core/constants.js";
import { SocketError, errnoOf, codeOf } from "../../core/errors.js";
import { FIELD, R, W } from "../../core/abi.js";
import { type Address, checkIp, checkPath, describe, familyName, unboundAddress } from "../../core/address.js";
import { native, nativeStats, type Addon, type NativeAddress } from "./addon.js";
import { NativeStream, NEG_EAGAIN } from "./stream.js";
import { notifyReady, markDirty } from "../../core/wake.js";
import { registerNativeStream } from "../../socket/backend.js";
import { NativeDatagramSocket } from "./dgram.js";

const EMPTY = Buffer.alloc(0);
const NEG_EINPROGRESS = -errnoOf("EINPROGRESS");
// Errors from send(2) that mean the connection is gone: they become the pending error (SO_ERROR
// reads it once in the kernel, and send(2) consumed it), so recv() and pendingError() see it too.
const LOST = new Set(["ECONNRESET", "ECONNABORTED", "ETIMEDOUT", "EHOSTUNREACH", "ENETUNREACH", "ENETDOWN", "EHOSTDOWN"]);
const INT_MAX = 2 ** 31 - 1;
const DIRECT_MIN = 16384; // send() of at least this many bytes on an empty output queue goes to the kernel at once

let A: Addon; // set when the first native socket is made

function checkInt(v: unknown, what: string, min: number, max: number): number {
  if (typeof v !== "number" || !Number.isInteger(v)) throw new TypeError(`${what} must be an integer, got ${describe(v)}`);
  if (v < min || v > max) throw new RangeError(`${what} must be in ${min}..${max}, got ${v}`);
  return v;
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

/** A SocketError for a -errno result. */
function fail(rc: number, what: string): SocketError {
  return SocketError.fromErrno(-rc, what);
}

/** A stream socket on a kernel descriptor, read and written without Node's streams. Python: socket.socket */
export class NativeSocket extends Socket {
  readonly #s: NativeStream;
  #shutWr = false; // shutdown(SHUT_WR or SHUT_RDWR): EPIPE from send() is our own doing
  #unconnected = false; // a Unix connect() refused with EAGAIN: recv/send go to the kernel as they are
  #peer: Address | null = null; // from accept4: getpeername() while the connection is up

  /** Python: socket.socket(family, type); `fd` adopts a connected descriptor (accept). */
  constructor(family: number, type: number = SOCK_STREAM, fd?: number) {
    super(family, type);
    const adopted = fd !== undefined;
    if (fd === undefined) {
      fd = A.socket(family, type);
      if (fd < 0) {
        super.close();
        throw fail(fd, `socket(${familyName(family)}, SOCK_STREAM)`);
      }
    }
    this.#s = new NativeStream(A, fd, super.fileno());
    if (adopted) this.#s.opened();
  }

  /** The kernel's descriptor (fileno() is the core's token, as on every backend); -1 once closed. */
  get osFd(): number {
    return this.#s.state === "closed" ? -1 : this.#s.fd;
  }

  #open(what: string): NativeStream {
    const s = this.#s;
    if (s.state === "closed") throw new SocketError("EBADF", `${what} on a closed socket`);
    return s;
  }

  /** Python: socket.bind(address) — bind(2), synchronous: EADDRINUSE throws here. */
  override bind(address: Address): void {
    const s = this.#open("bind()");
    if (s.state !== "fresh") throw new SocketError("EINVAL", `bind(${describe(address)}): socket is already ${s.state}`);
    let rc: number;
    if (this.family === AF_UNIX) rc = A.bind(s.fd, AF_UNIX, checkPath(address, "bind()"), 0, 0);
    else {
      const t = checkIp(this.family, address, "bind()", true);
      rc = A.bind(s.fd, this.family, t.host, t.port, scopeOf(address));
    }
    if (rc < 0) throw fail(rc, `bind(${describe(address)})`);
    s.state = "bound";
  }

  /** Python: socket.listen(backlog) — an unbound TCP socket gets an ephemeral port, as the kernel does. */
  override listen(backlog = 5): void {
    const s = this.#open("listen()");
    checkInt(backlog, "listen(): backlog", 0, 65535);
    if (s.state !== "fresh" && s.state !== "bound" && s.state !== "listening") throw new SocketError("EINVAL", `listen(): socket is ${s.state}`);
    const rc = A.listen(s.fd, backlog);
    if (rc < 0) throw fail(rc, `listen(${backlog})`);
    s.state = "listening";
    s.sync();
  }

  /**
   * @internal Python: socket.accept() — accept4(2), null when nothing is pending (Socket.accept()
   * throws EAGAIN for that, Dispatcher.accept() takes the null: no Error built per empty poll).
   * accept4 reports the peer's address itself: no getpeername(2) here, nor in the Dispatcher's
   * constructor (getpeername() answers from it while the connection is up).
   */
  override acceptOrNull(): [Socket, Address] | null {
    const s = this.#open("accept()");
    if (s.state !== "listening") throw new SocketError("EINVAL", "accept(): socket is not listening");
    const r = A.accept(s.fd, true);
    if (typeof r === "number") {
      if (r !== NEG_EAGAIN) throw fail(r, "accept()");
      s.acceptDrained();
      return null;
    }
    s.acceptDrained(); // readable again only when epoll reports another pending connection, as select would
    const sock = new NativeSocket(this.family, this.type, r[0]);
    noteAccepted(sock);
    const peer = toAddress(this.family, r[1]);
    sock.#peer = peer;
    return [sock, copyAddress(peer)];
  }

  /**
   * Starts a connect(2). Completion (or failure) shows up as readiness on a later pass, even when
   * the kernel completed it at once (a Unix socket): handleConnect() always runs from the loop.
   * Errors the kernel reports at call time throw (ENOENT, ECONNREFUSED and EAGAIN for Unix paths).
   */
  override connect(address: Address): void {
    const s = this.#open("connect()");
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
    s.state = "connecting";
    s.resolving = true;
    lookup(t.host, { family: this.family === AF_INET6 ? 6 : 4 }, (err, ip) => {
      if (s.state !== "connecting") return;
      s.resolving = false;
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
        s.state = "connecting";
        this.#unconnected = true;
        s.engine.setField(s.token, FIELD.hostReady, R | W);
        notifyReady(s.token);
      }
      throw fail(rc, `connect(${describe(address)})`);
    }
    // asyncore: a Unix connect the kernel completed at once still reaches handleConnect() from the
    // loop (CPython calls handle_connect_event() inside connect()); it reports EPOLLOUT at once
    s.state = "connecting";
    s.sync();
  }

  /** Python: socket.recv(n, flags) — from the core's input queue; EAGAIN when empty, b'' at EOF. */
  override recv(n: number, flags = 0): Buffer {
    const s = this.#open("recv()");
    checkInt(n, "recv(): bufferSize", 0, INT_MAX);
    checkInt(flags, "recv(): flags", 0, INT_MAX);
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

  // recv(n, MSG_OOB) and other flags: straight from the kernel into a new Buffer.
  #recvFlags(s: NativeStream, n: number, flags: number): Buffer {
    const buf = Buffer.allocUnsafe(n);
    const got = A.recv(s.fd, buf, 0, n, flags);
    if (flags & A.constants.MSG_OOB && got !== NEG_EAGAIN) {
      s.setUrgent(false); // read, or gone (EINVAL): watch for the next one
      s.sync();
    }
    if (got < 0) throw fail(got, "recv()");
    return buf.subarray(0, got);
  }

  /** Python: socket.send(data, flags) — send(2): the bytes the kernel took; EAGAIN when none. */
  override send(data: Uint8Array, flags = 0): number {
    const s = this.#open("send()");
    checkBytes(data, "send()");
    checkInt(flags, "send(): flags", 0, INT_MAX);
    if (this.#unconnected) {
      const n = A.send(s.fd, data, 0, data.length, flags);
      if (n < 0) throw fail(n, "send()");
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
      if (!s.dirty) { s.dirty = true; markDirty(this); }
      return n;
    }
    // While connecting, the kernel says EAGAIN, or takes the bytes once it has connected.
    const n = A.send(s.fd, data, 0, len, flags);
    if (n < 0) {
      if (n === NEG_EAGAIN) { if (s.state === "connected") s.block(); }
      else if (s.state === "connecting") s.fail(codeOf(-n)); // send(2) consumed the connect's error
      else if (LOST.has(codeOf(-n)) || (codeOf(-n) === "EPIPE" && !this.#shutWr)) s.fail(codeOf(-n));
      throw fail(n, "send()");
    }
    nativeStats.bytesOut += n; // past the core's queues: loopStats() adds these
    if (s.state === "connecting") s.opened(); // handleConnect() still comes from the loop
    if (n < len) s.block(); // the kernel's buffer is full now
    if (!s.dirty) { s.dirty = true; markDirty(this); } // the window reopens at the end of this pass (flush())
    s.addSent(n);
    return n;
  }

  /**
   * Python: socket.sendto(data, address) on a stream socket — the address is checked, then ignored
   * once connected (as Linux does); EPIPE before connect. Bounded by the send window like send().
   */
  override sendto(data: Uint8Array, address: Address): number {
    const s = this.#open("sendto()");
    checkBytes(data, "sendto()");
    if (this.family === AF_UNIX) checkPath(address, "sendto()");
    else checkIp(this.family, address, "sendto()", false);
    if (s.state !== "connected" && s.state !== "connecting") throw new SocketError("EPIPE", "sendto(): the stream socket is not connected");
    return this.send(data);
  }

  /** Python: socket.recvfrom(n) on a stream socket — recv(n) and the peer's address. */
  override recvfrom(n: number): [Buffer, Address] {
    const data = this.recv(n);
    const peer = A.peername(this.#s.fd);
    // asyncore: Python returns None as a stream socket's address; the peer keeps the tuple typed.
    return [data, typeof peer === "number" ? unboundAddress(this.family) : toAddress(this.family, peer)];
  }

  /** End of pass: reopens the send window and writes output the core holds (send() itself does not queue there). */
  override flush(): void {
    const s = this.#s;
    s.dirty = false;
    s.endPass();
    s.flushCore();
  }

  /** Sets this channel's send window and input pause bound (bytes); reading resumes if now below the bound. */
  override setBufferLimits(limits: BufferLimits = {}): void {
    super.setBufferLimits(limits);
    this.#s.limitsChanged();
  }

  /** Python: socket.shutdown(how) */
  shutdown(how: number): void {
    const s = this.#open("shutdown()");
    checkInt(how, "shutdown(): how", 0, 2);
    if (how !== A.constants.SHUT_RD && s.state === "connected" && s.error === null) s.flushCore(true); // queued bytes go first
    const rc = A.shutdown(s.fd, how);
    if (rc < 0) throw fail(rc, "shutdown()");
    if (how !== A.constants.SHUT_RD) this.#shutWr = true;
  }

  /** Python: socket.close() — close(2); bytes send() returned for are the kernel's to deliver. */
  override close(): void {
    const s = this.#s;
    if (s.state === "closed") return;
    if (s.state === "connected" && s.error === null) s.flushCore(true);
    s.close();
    super.close();
  }

  /** Python: socket.getsockname() */
  override getsockname(): Address {
    const a = A.sockname(this.#open("getsockname()").fd);
    if (typeof a === "number") throw fail(a, "getsockname()");
    return toAddress(this.family, a);
  }

  /** Python: socket.getpeername() — the kernel's answer (ENOTCONN until connected). */
  override getpeername(): Address {
    const s = this.#open("getpeername()");
    if (this.#peer !== null && s.state === "connected" && s.error === null && !s.eof && !s.hup) return copyAddress(this.#peer);
    const a = A.peername(s.fd);
    if (typeof a === "number") throw fail(a, "getpeername()");
    return toAddress(this.family, a);
  }

  /** Python: socket.setsockopt(level, option, value) — setsockopt(2) with an int. */
  override setsockopt(level: number, option: number, value: number | boolean): void {
    const s = this.#open("setsockopt()");
    const v = typeof value === "boolean" ? Number(value) : checkInt(value, "setsockopt(): value", -(2 ** 31), INT_MAX);
    const rc = A.setsockopt(s.fd, checkInt(level, "setsockopt(): level", 0, INT_MAX), checkInt(option, "setsockopt(): option", 0, INT_MAX), v);
    if (rc < 0) throw fail(rc, `setsockopt(${level}, ${option}, ${v})`);
  }

  /** Python: socket.getsockopt(level, option) — getsockopt(2); SO_ERROR keeps reporting the pending error. */
  override getsockopt(level: number, option: number): number {
    const s = this.#open("getsockopt()");
    checkInt(level, "getsockopt(): level", 0, INT_MAX);
    checkInt(option, "getsockopt(): option", 0, INT_MAX);
    const soError = level === SOL_SOCKET && option === SO_ERROR;
    // asyncore: SO_ERROR stays set until close (CPython's read clears it), as on the net backend
    if (soError && s.error !== null) return errnoOf(s.error) || errnoOf("EIO");
    let v: number;
    try {
      v = A.getsockopt(s.fd, level, option);
    } catch (err) {
      throw SocketError.fromErrno(Number((err as { code?: string }).code) || errnoOf("EIO"), `getsockopt(${level}, ${option})`);
    }
    if (soError && v !== 0) s.fail(codeOf(v)); // read (and cleared) in the kernel: keep it pending here
    return v;
  }

  /** The pending error (the one SO_ERROR reports) as a SocketError, or null. */
  override pendingError(): SocketError | null {
    return this.#s.error !== null ? new SocketError(this.#s.error) : null;
  }

  /** Resumes reading after input was consumed in the core outside recv() (AsyncChat's framer). */
  inputConsumed(): void {
    if (this.#s.engine.resumeOk) this.#s.consumed();
  }

  /** Has the peer's EOF been reached, with nothing left beyond what the core holds? */
  atEof(): boolean {
    return this.#s.state !== "closed" && this.#s.eof;
  }

  /** Python: repr(socket) */
  override toString(): string {
    return `<Socket fd=${this.fileno()}, family=${familyName(this.family)}, type=SOCK_STREAM, ${this.#s.state}, native fd ${this.osFd}>`;
  }
}

registerNativeStream((family, type) => {
  if (A === undefined) {
    const a = native();
    if (a === null) throw new Error("wasyncore: the native backend is not available");
    A = a;
  }
  return type === SOCK_DGRAM ? new NativeDatagramSocket(family) : new NativeSocket(family, type);
}, NativeSocket, NativeDatagramSocket);
