// The public socket: what Python's socket.socket is to asyncore. It checks arguments and that it is
// open, then calls its backend's implementation (host/sys/seam.ts); it never knows which backend that is.
// NativeSocket and NativeDatagramSocket are the types native sockets have (osFd, shutdown, flags).
import { Buffer } from "node:buffer";
import { AF_INET, AF_INET6, AF_UNIX, SOCK_STREAM, SOCK_DGRAM } from "../core/constants.js";
import { SocketError, checkBytes, checkInt, locate } from "../core/errors.js";
import { getEngine } from "../core/engine.js";
import { FIELD } from "../core/abi.js";
import { type Address, type AddressOf, describe, familyName } from "../core/address.js";
import { notifyReady } from "../core/wake.js";
import { openSocket, type BackendName, type SocketImpl } from "../sys/index.js";
import { backendForNewSocket, checkBackend } from "./backend.js";
import { noteAccepted, type BufferLimits } from "./orphans.js";

export type { BufferLimits };

const INT_MAX = 2 ** 31 - 1;

// The implementation behind a Socket, for this module only (NativeSocket's extras): never in the .d.ts.
let implOf: (s: Socket) => SocketImpl;

/**
 * A non-blocking socket whose buffers live in the core. Python: socket.socket
 * @typeParam F - the address family (AF_INET, AF_INET6, AF_UNIX), which types the addresses it reports.
 */
export class Socket<F extends number = number> {
  /** The address family it was made with (AF_INET, AF_INET6 or AF_UNIX). Python: socket.family */
  readonly family!: F;
  /** SOCK_STREAM or SOCK_DGRAM. Python: socket.type */
  readonly type!: number;
  readonly #impl!: SocketImpl; // (each constructor path that does not return another socket sets all three)
  /** @internal Wrapped by a dispatcher (Dispatcher.setSocket); closeOrphans() leaves it open. */
  adopted = false;

  static {
    implOf = (s) => s.#impl;
  }

  /**
   * Python: socket.socket(family, type). The socket gets the backend configure() chose (native or net).
   * @throws TypeError for an unknown family or type; SocketError EMFILE when the core's channel table is full.
   */
  constructor(family: F = AF_INET as F, type: number = SOCK_STREAM) {
    if (family !== AF_INET && family !== AF_INET6 && family !== AF_UNIX) {
      throw new TypeError(`Socket: family must be AF_INET, AF_INET6 or AF_UNIX, got ${describe(family)}`);
    }
    if (type !== SOCK_STREAM && type !== SOCK_DGRAM) {
      throw new TypeError(`Socket: type must be SOCK_STREAM or SOCK_DGRAM, got ${describe(type)}`);
    }
    // tls: an SSLSocket (host/tls/socket.ts) opens no channel: it shares its wrapped socket's, and
    // overrides every method, so it has no implementation of its own.
    if ((new.target as { wrapsChannel?: boolean }).wrapsChannel === true) {
      this.family = family;
      this.type = type;
      return;
    }
    const backend: BackendName = pending !== null ? pending.backend
      : new.target === NativeSocket || new.target === NativeDatagramSocket ? checkBackend("native", new.target.name)
      : backendForNewSocket();
    if (backend === "native" && new.target === Socket) { // a native socket is a NativeSocket / NativeDatagramSocket
      return type === SOCK_DGRAM ? new NativeDatagramSocket(family) : new NativeSocket(family, type);
    }
    this.family = family;
    this.type = type;
    this.#impl = pending ?? openSocket(backend, family, type);
    pending = null;
  }

  /** The socket's key in a channel map: its channel's token in the core (-1 once closed). Python: socket.fileno() */
  fileno(): number {
    return this.#impl.closed ? -1 : this.#impl.token;
  }

  /** Is the socket closed? */
  get closed(): boolean {
    return this.#impl.closed;
  }

  #open(what: string): SocketImpl {
    const impl = this.#impl;
    if (impl.closed) throw new SocketError("EBADF", `${what} on a closed socket`);
    return impl;
  }

  /**
   * Python: socket.bind(address) — synchronous, as in asyncore: the port is known when it returns.
   * @throws SocketError (EADDRINUSE, EINVAL when already bound, EBADF when closed); TypeError for a bad address.
   */
  bind(address: Address): void {
    const impl = this.#open("bind()");
    try {
      impl.bind(address);
    } catch (err) {
      throw locate(err, "bind", address);
    }
  }

  /**
   * Python: socket.listen(backlog)
   * @throws RangeError for a backlog outside 0..65535; SocketError (EOPNOTSUPP on SOCK_DGRAM).
   */
  listen(backlog = 5): void {
    const impl = this.#open("listen()");
    checkInt(backlog, "listen(): backlog", 0, 65535);
    impl.listen(backlog);
  }

  /**
   * Python: socket.accept() — a connected socket and its peer's address.
   * @throws SocketError EAGAIN when no connection is pending.
   */
  accept(): [Socket<F>, AddressOf<F>] {
    const pair = this.acceptOrNull() as [Socket<F>, AddressOf<F>] | null;
    if (pair === null) throw new SocketError("EAGAIN", "accept()");
    return pair;
  }

  /** @internal accept(), but null instead of an EAGAIN error (Dispatcher.accept: no Error built per empty poll). */
  acceptOrNull(): [Socket, Address] | null {
    const r = this.#open("accept()").acceptOrNull();
    if (r === null) return null;
    const sock = wrap(r[0], this.family, this.type);
    noteAccepted(sock);
    return [sock, r[1]];
  }

  /**
   * Starts a connect. Completion (or failure) shows up as readiness on a later pass;
   * errors known now (bad address, missing Unix path, closed socket) throw at once.
   * @throws SocketError (EBADF when closed, ENOENT for a missing Unix path, EISCONN, EALREADY); TypeError for a bad address.
   */
  connect(address: Address): void {
    const impl = this.#open("connect()");
    try {
      impl.connect(address);
    } catch (err) {
      throw locate(err, "connect", address);
    }
  }

  /**
   * Python: socket.recv(n, flags) — throws SocketError EAGAIN when nothing is buffered; an empty Buffer at EOF.
   * Flags (MSG_OOB, MSG_PEEK) need the native backend.
   * @throws SocketError EAGAIN when nothing is buffered, EBADF when closed, EOPNOTSUPP for flags on `net`; RangeError for a bad size.
   */
  recv(n: number, flags = 0): Buffer {
    const impl = this.#open("recv()");
    checkInt(n, "recv(): bufferSize", 0, INT_MAX);
    checkInt(flags, "recv(): flags", 0, INT_MAX);
    return impl.recv(n, flags);
  }

  /**
   * Python: socket.recv_into(buffer, nbytes=0, flags=0) — reads up to `nbytes` (0: `buffer.length`)
   * into `buffer` from its start without allocating, and returns how many; 0 means the peer closed.
   * @throws SocketError EAGAIN when nothing is buffered (as recv()); TypeError unless `buffer` is a
   * Uint8Array; RangeError when `nbytes` exceeds it.
   */
  recvInto(buffer: Uint8Array, nbytes = 0, flags = 0): number {
    if (!(buffer instanceof Uint8Array)) throw new TypeError(`recvInto(): buffer must be a Uint8Array or Buffer, got ${describe(buffer)}`);
    checkInt(nbytes, "recvInto(): nbytes", 0, INT_MAX);
    checkInt(flags, "recvInto(): flags", 0, INT_MAX);
    if (nbytes > buffer.length) throw new RangeError(`recvInto(): nbytes ${nbytes} is larger than the buffer (${buffer.length} bytes)`);
    const n = nbytes === 0 ? buffer.length : nbytes;
    // A subclass that reads its own way (SSLSocket's recv decrypts) keeps it: copy what its recv() returns.
    const impl = this.recv === Socket.prototype.recv ? this.#open("recvInto()") : null;
    if (impl === null || impl.recvInto === undefined || n === 0) {
      const data = this.recv(n, flags);
      buffer.set(data);
      return data.length;
    }
    return impl.recvInto(buffer, n, flags);
  }

  /**
   * Python: socket.send(data, flags) — the bytes taken (what fits in the send window).
   * @throws SocketError EAGAIN when nothing fits; TypeError unless `data` is bytes.
   */
  send(data: Uint8Array, flags = 0): number {
    const impl = this.#open("send()");
    checkBytes(data, "send()");
    checkInt(flags, "send(): flags", 0, INT_MAX);
    return impl.send(data, flags);
  }

  /**
   * Python: socket.sendto(data, address) — one datagram on SOCK_DGRAM. On a stream socket the
   * address is ignored once connected, as Linux does. Returns the bytes sent.
   * @throws SocketError (EAGAIN when the send window is full, EBADF when closed); TypeError for bad data or address.
   */
  sendto(data: Uint8Array, address: Address): number {
    const impl = this.#open("sendto()");
    checkBytes(data, "sendto()");
    try {
      return impl.sendto(data, address);
    } catch (err) {
      throw locate(err, "sendto", address);
    }
  }

  /**
   * Python: socket.recvfrom(n) — one datagram (at most n bytes; the rest is discarded) and its
   * source. On a stream socket, recv(n) and the peer's address.
   * @throws SocketError EAGAIN when no datagram is queued, EBADF when closed; RangeError for a bad size.
   */
  recvfrom(n: number): [Buffer, AddressOf<F>] {
    const impl = this.#open("recvfrom()");
    checkInt(n, "recvfrom(): bufferSize", 0, INT_MAX);
    return impl.recvfrom(n) as [Buffer, AddressOf<F>];
  }

  /** @internal Resumes a paused stream after input was consumed in the core outside recv() (AsyncChat's framer). */
  inputConsumed(): void {
    this.#impl.inputConsumed();
  }

  /** @internal Has the peer's EOF been reached, with nothing left beyond what the core holds? (AsyncChat) */
  atEof(): boolean {
    return this.#impl.atEof();
  }

  /** Sets this channel's send window and input pause bound (bytes); reading resumes if now below the bound. */
  setBufferLimits({ sendWindow, recvPause }: BufferLimits = {}): void {
    const impl = this.#open("setBufferLimits()");
    if (sendWindow !== undefined) checkInt(sendWindow, "setBufferLimits(): sendWindow", 1, 2 ** 31);
    if (recvPause !== undefined) checkInt(recvPause, "setBufferLimits(): recvPause", 1, 2 ** 31);
    const e = getEngine();
    if (sendWindow !== undefined) e.setField(impl.token, FIELD.window, sendWindow);
    if (recvPause !== undefined) e.setField(impl.token, FIELD.pause, recvPause);
    impl.limitsChanged();
    notifyReady(impl.token);
  }

  /** Closes the socket; bytes send() took are still delivered first. Idempotent. Python: socket.close() */
  close(): void {
    this.#impl.close();
  }

  /**
   * The local address: `[host, port]` (AF_INET), `[host, port, flowinfo, scopeId]` (AF_INET6) or a path
   * (AF_UNIX, `''` when unbound). Python: socket.getsockname()
   * @throws SocketError EBADF when closed.
   */
  getsockname(): AddressOf<F> {
    return this.#open("getsockname()").getsockname() as AddressOf<F>;
  }

  /**
   * The peer's address, in getsockname()'s shapes. Python: socket.getpeername()
   * @throws SocketError ENOTCONN unless connected; EBADF when closed.
   */
  getpeername(): AddressOf<F> {
    return this.#open("getpeername()").getpeername() as AddressOf<F>;
  }

  /**
   * Python: socket.setsockopt(level, option, value)
   * @throws SocketError ENOPROTOOPT for an option the backend cannot set.
   */
  setsockopt(level: number, option: number, value: number | boolean): void {
    const impl = this.#open("setsockopt()");
    const v = typeof value === "boolean" ? Number(value) : checkInt(value, "setsockopt(): value", -(2 ** 31), INT_MAX);
    impl.setsockopt(level, option, v);
  }

  /**
   * Reads a socket option; SO_ERROR reports a pending error's errno (0 when none). Python: socket.getsockopt(level, option)
   * @throws SocketError ENOPROTOOPT for an option the backend cannot read; EBADF when closed.
   */
  getsockopt(level: number, option: number): number {
    return this.#open("getsockopt()").getsockopt(level, option);
  }

  /** The pending error (the one SO_ERROR reports) as a SocketError, or null. */
  pendingError(): SocketError | null {
    return this.#impl.pendingError();
  }

  /** A description with the fileno, family, type and state. Python: repr(socket) */
  toString(): string {
    return `<Socket fd=${this.fileno()}, family=${familyName(this.family)}, type=${this.type === SOCK_STREAM ? "SOCK_STREAM" : "SOCK_DGRAM"}, ${this.#impl.describe()}>`;
  }
}

/** A stream socket on a kernel descriptor (the native backend): what `new Socket()` gives there. Python: socket.socket */
export class NativeSocket<F extends number = number> extends Socket<F> {
  /**
   * Makes a stream socket on the native backend, whatever configure() chose. Python: socket.socket(family, SOCK_STREAM)
   * @throws Error when the native backend is not available here; TypeError for an unknown family.
   */
  constructor(family: F, type: number = SOCK_STREAM) {
    super(family, type);
  }

  /** The kernel's descriptor (fileno() is the core's token, as on every backend); -1 once closed. */
  get osFd(): number {
    return implOf(this).osFd;
  }

  /**
   * Python: socket.shutdown(how) — SHUT_RD (0), SHUT_WR (1) or SHUT_RDWR (2); queued output goes first.
   * @throws RangeError for another `how`; SocketError from shutdown(2).
   */
  shutdown(how: number): void {
    if (this.closed) throw new SocketError("EBADF", "shutdown() on a closed socket");
    implOf(this).shutdown(checkInt(how, "shutdown(): how", 0, 2));
  }
}

/** A datagram socket on a kernel descriptor (the native backend). Python: socket.socket(family, SOCK_DGRAM) */
export class NativeDatagramSocket<F extends number = number> extends Socket<F> {
  /**
   * Makes a datagram socket on the native backend, whatever configure() chose. Python: socket.socket(family, SOCK_DGRAM)
   * @throws Error when the native backend is not available here; TypeError for an unknown family.
   */
  constructor(family: F) {
    super(family, SOCK_DGRAM);
  }

  /** The kernel's descriptor (fileno() is the core's token, as on every backend); -1 once closed. */
  get osFd(): number {
    return implOf(this).osFd;
  }
}

// An accepted connection's implementation, handed to the constructor that wrap() calls.
let pending: SocketImpl | null = null;

/** The public socket for an implementation accept() made: of its backend's class. */
function wrap(impl: SocketImpl, family: number, type: number): Socket {
  pending = impl;
  try {
    return impl.backend === "native" ? new NativeSocket(family, type) : new Socket(family, type);
  } finally {
    pending = null;
  }
}
