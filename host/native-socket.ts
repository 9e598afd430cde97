// NativeSocket: Python's socket.socket over a real non-blocking descriptor (the native backend).
//
// Same public surface as Socket (it is one: `instanceof Socket` holds), different effects:
//   readiness   the kernel's, from epoll (host/syscalls/native.ts), turned into core state:
//               bytes read at once into the channel's input queue (READABLE), EOF flag, errno,
//               host-ready R on a listener with connections queued, host-ready X on urgent data
//   recv        the kernel writes straight into the core's input-queue chunks (in_reserve)
//   send        one send(2) from the caller's bytes: returns what the kernel took, EAGAIN when
//               it took nothing; WRITABLE drops until EPOLLOUT after a short or refused send
//   bind        bind(2): synchronous, EADDRINUSE at once, no SO_REUSEADDR unless asked
// Everything the loop does stays the same: readiness marks the core and calls notifyReady().
import { lookup } from "node:dns";
import { isIP } from "node:net";
import { Socket, checkBytes } from "./socket.js";
import { SOCK_STREAM, SOL_SOCKET, SO_ERROR, AF_UNIX, AF_INET6 } from "./constants.js";
import { SocketError, errnoOf, codeOf } from "./errors.js";
import { getEngine, type Engine } from "./engine.js";
import { FIELD, F_OPEN, F_EOF, R, X } from "./abi.js";
import { type Address, checkIp, checkPath, describe, familyName, unboundAddress } from "./address.js";
import { native, track, untrack, Interest, type Addon, type NativeAddress } from "./syscalls/native.js";
import { notifyReady } from "./wake.js";
import { registerNativeStream } from "./backend.js";

type State = "fresh" | "bound" | "listening" | "connecting" | "connected" | "closed";

const EMPTY = Buffer.alloc(0);
const READ_MAX = 65536; // asked of in_reserve; a chunk's free tail bounds each recv(2)
const READS_PER_WAKE = 4; // then other sockets get their turn (epoll is level-triggered)
const BLOCKED = 2 ** 31; // in the in-flight field: no send window left until EPOLLOUT
const EAGAIN = errnoOf("EAGAIN");
const EINPROGRESS = errnoOf("EINPROGRESS");

let A: Addon; // set when the first native socket is made
let EPOLLIN = 0, EPOLLPRI = 0, EPOLLOUT = 0, EPOLLERR = 0, EPOLLHUP = 0, MSG_OOB = 0;

const capPaused = new Set<NativeSocket>(); // stopped reading at the core's memory cap

function checkInt(v: unknown, what: string, min: number, max: number): number {
  if (typeof v !== "number" || !Number.isInteger(v)) throw new TypeError(`${what} must be an integer, got ${describe(v)}`);
  if (v < min || v > max) throw new RangeError(`${what} must be in ${min}..${max}, got ${v}`);
  return v;
}

function toAddress(family: number, a: NativeAddress): Address {
  return a === null ? unboundAddress(family) : a;
}

/** A SocketError for a -errno result. */
function fail(rc: number, what: string): SocketError {
  return SocketError.fromErrno(-rc, what);
}

/** A stream socket on a kernel descriptor, read and written without Node's streams. Python: socket.socket */
export class NativeSocket extends Socket {
  readonly #engine: Engine;
  readonly #token: number;
  readonly #fd: number;
  readonly #interest: Interest;
  #state: State = "fresh";
  #error: string | null = null; // the pending error SO_ERROR reports
  #eof = false;
  #hup = false;
  #paused = false; // input queue at its bound, or the core at its memory cap
  #blocked = false; // the kernel's send buffer is full: wait for EPOLLOUT
  #urgent = false; // urgent data is pending until recv(MSG_OOB)
  #acceptReady = false;
  #resolving = false;

  /** Python: socket.socket(family, type); `fd` adopts a connected descriptor (accept). */
  constructor(family: number, type: number = SOCK_STREAM, fd?: number) {
    super(family, type);
    this.#engine = getEngine();
    this.#token = super.fileno();
    const adopted = fd !== undefined;
    if (fd === undefined) {
      fd = A.socket(family, type);
      if (fd < 0) {
        super.close();
        throw fail(fd, `socket(${familyName(family)}, SOCK_STREAM)`);
      }
    }
    this.#fd = fd;
    this.#interest = new Interest(fd);
    track(fd, this);
    if (adopted) this.#opened();
  }

  /** The kernel's descriptor (fileno() is the core's token, as on every backend). */
  get osFd(): number {
    return this.#state === "closed" ? -1 : this.#fd;
  }

  #ensureOpen(what: string): void {
    if (this.#state === "closed") throw new SocketError("EBADF", `${what} on a closed socket`);
  }

  // ---- readiness -------------------------------------------------------------------------

  #want(): number {
    switch (this.#state) {
      case "listening":
        return this.#acceptReady ? 0 : EPOLLIN;
      case "connecting":
        return this.#resolving || this.#error !== null ? 0 : EPOLLOUT;
      case "connected": {
        if (this.#error !== null) return 0;
        let ev = 0;
        if (!this.#paused && !this.#eof) ev |= EPOLLIN;
        if (!this.#urgent && !this.#eof && !this.#hup) ev |= EPOLLPRI;
        if (this.#blocked && !this.#hup) ev |= EPOLLOUT;
        return ev;
      }
      default:
        return 0;
    }
  }

  #sync(): void {
    const rc = this.#interest.sync(this.#want());
    if (rc < 0) this.#fail(codeOf(-rc)); // e.g. ENOSPC: max_user_watches reached
  }

  /** epoll reported `ev` for this descriptor. */
  onEpoll(ev: number): void {
    const state = this.#state;
    if (state === "listening") {
      this.#acceptReady = true; // until accept() finds the queue empty
      this.#engine.setField(this.#token, FIELD.hostReady, R);
    } else if (state === "connecting") {
      const err = this.#soError();
      if (err !== 0) this.#fail(codeOf(err));
      else this.#opened();
    } else if (state === "connected") {
      if (ev & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
        if (!this.#paused && !this.#eof) this.#fill();
        else if (ev & EPOLLERR) this.#takeError();
      }
      if (ev & EPOLLPRI) {
        this.#urgent = true;
        this.#engine.setField(this.#token, FIELD.hostReady, X);
      }
      if (ev & EPOLLHUP) this.#hup = true; // no more bytes either way: send() will say EPIPE
      if (ev & (EPOLLOUT | EPOLLHUP)) this.#unblock();
    } else return;
    this.#sync();
    notifyReady(this.#token);
  }

  #opened(): void {
    this.#state = "connected";
    this.#engine.core.chan_set_flags(this.#token, F_OPEN, 0);
    this.#sync();
  }

  #fail(code: string): void {
    if (this.#error !== null) return; // the first error is the one reported
    this.#error = code;
    this.#engine.setField(this.#token, FIELD.errno, errnoOf(code) || errnoOf("EIO"));
  }

  #soError(): number {
    try {
      return A.getsockopt(this.#fd, SOL_SOCKET, SO_ERROR);
    } catch (err) {
      return Number((err as { code?: string }).code) || errnoOf("EIO");
    }
  }

  #takeError(): void {
    const err = this.#soError();
    if (err !== 0) this.#fail(codeOf(err));
  }

  #unblock(): void {
    if (!this.#blocked) return;
    this.#blocked = false;
    this.#engine.setField(this.#token, FIELD.inflight, 0);
  }

  #block(): void {
    if (this.#blocked) return;
    this.#blocked = true;
    this.#engine.setField(this.#token, FIELD.inflight, BLOCKED);
    this.#sync();
  }

  /** Reads what the kernel has into the core's input queue, straight into its chunks. */
  #fill(): void {
    const core = this.#engine.core;
    const token = this.#token;
    for (let i = 0; i < READS_PER_WAKE; i++) {
      const ptr = core.in_reserve(token, READ_MAX);
      if (ptr === 0) {
        this.#paused = true; // the core is at its memory cap: retried when any input is consumed
        capPaused.add(this);
        return;
      }
      const len = core.result_len();
      const n = A.recv(this.#fd, core.memory.buffer, ptr, len, 0);
      if (n > 0) {
        if (core.in_commit(token, n) === 1) { this.#paused = true; return; } // at its bound
        if (n < len) return;
        continue;
      }
      core.in_commit(token, 0); // returns the reserved chunk
      if (n === 0) {
        this.#eof = true;
        core.chan_set_flags(token, F_EOF, 0);
      } else if (n !== -EAGAIN) this.#fail(codeOf(-n));
      return;
    }
  }

  #resume(): void {
    if (!this.#paused || this.#state !== "connected") return;
    this.#paused = false;
    capPaused.delete(this);
    this.#sync();
  }

  // ---- Python's socket methods ------------------------------------------------------------

  /** Python: socket.bind(address) — bind(2), synchronous: EADDRINUSE throws here. */
  override bind(address: Address): void {
    this.#ensureOpen("bind()");
    if (this.#state !== "fresh") throw new SocketError("EINVAL", `bind(${describe(address)}): socket is already ${this.#state}`);
    let rc: number;
    if (this.family === AF_UNIX) rc = A.bind(this.#fd, AF_UNIX, checkPath(address, "bind()"), 0, 0);
    else {
      const t = checkIp(this.family, address, "bind()", true);
      rc = A.bind(this.#fd, this.family, t.host, t.port, scopeOf(address));
    }
    if (rc < 0) throw fail(rc, `bind(${describe(address)})`);
    this.#state = "bound";
  }

  /** Python: socket.listen(backlog) — an unbound TCP socket gets an ephemeral port, as the kernel does. */
  override listen(backlog = 5): void {
    this.#ensureOpen("listen()");
    checkInt(backlog, "listen(): backlog", 0, 65535);
    if (this.#state !== "fresh" && this.#state !== "bound" && this.#state !== "listening") {
      throw new SocketError("EINVAL", `listen(): socket is ${this.#state}`);
    }
    const rc = A.listen(this.#fd, backlog);
    if (rc < 0) throw fail(rc, `listen(${backlog})`);
    this.#state = "listening";
    this.#sync();
  }

  /** Python: socket.accept() — accept4(2); throws SocketError EAGAIN when nothing is pending. */
  override accept(): [Socket, Address] {
    this.#ensureOpen("accept()");
    if (this.#state !== "listening") throw new SocketError("EINVAL", "accept(): socket is not listening");
    const fd = A.accept(this.#fd);
    if (fd < 0) {
      if (fd === -EAGAIN) {
        this.#acceptReady = false;
        this.#engine.setField(this.#token, FIELD.hostReady, 0);
        this.#sync();
      }
      throw fail(fd, "accept()");
    }
    const sock = new NativeSocket(this.family, this.type, fd);
    const peer = A.peername(fd);
    return [sock, typeof peer === "number" ? unboundAddress(this.family) : toAddress(this.family, peer)];
  }

  /**
   * Starts a connect(2). Completion (or failure) shows up as readiness on a later pass, even when
   * the kernel completed it at once (a Unix socket): handleConnect() always runs from the loop.
   * Errors the kernel reports at call time throw (ENOENT, ECONNREFUSED and EAGAIN for Unix paths).
   */
  override connect(address: Address): void {
    this.#ensureOpen("connect()");
    const s = this.#state;
    if (s === "connected" || s === "connecting") throw new SocketError(s === "connected" ? "EISCONN" : "EALREADY", `connect(${describe(address)})`);
    if (s === "listening") throw new SocketError("EINVAL", `connect(${describe(address)}): socket is listening`);
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
    this.#state = "connecting";
    this.#resolving = true;
    lookup(t.host, { family: this.family === AF_INET6 ? 6 : 4 }, (err, ip) => {
      if (this.#state !== "connecting") return;
      this.#resolving = false;
      if (err) this.#fail(typeof err.code === "string" ? err.code : "ENOTFOUND");
      else {
        try {
          this.#start(address, ip, t.port, 0);
        } catch (e) {
          this.#fail(e instanceof SocketError ? e.code : "EIO");
        }
      }
      this.#sync();
      notifyReady(this.#token);
    });
  }

  #start(address: Address, host: string, port: number, scope: number): void {
    const rc = A.connect(this.#fd, this.family, host, port, scope);
    if (rc < 0 && rc !== -EINPROGRESS) throw fail(rc, `connect(${describe(address)})`);
    this.#state = "connecting"; // a connect the kernel completed at once reports EPOLLOUT at once
    this.#sync();
  }

  /** Python: socket.recv(n, flags) — from the core's input queue; EAGAIN when empty, b'' at EOF. */
  override recv(n: number, flags = 0): Buffer {
    this.#ensureOpen("recv()");
    checkInt(n, "recv(): bufferSize", 0, 2 ** 31 - 1);
    checkInt(flags, "recv(): flags", 0, 2 ** 31 - 1);
    if (flags !== 0) return this.#recvFlags(n, flags);
    const e = this.#engine;
    if (this.#state === "connecting" && !this.#resolving && this.#error === null && typeof A.peername(this.#fd) !== "number") {
      this.#opened(); // the kernel has connected (its event is on the way): read as recv(2) would
    }
    if (e.field(this.#token, FIELD.inLen) === 0 && this.#state === "connected" && !this.#paused && !this.#eof && this.#error === null) {
      this.#fill(); // whatever arrived since the last wake-up, as recv(2) would see it
    }
    if (e.field(this.#token, FIELD.inLen) > 0 && n > 0) {
      const data = e.takeIn(this.#token, n);
      if (e.resumeOk) {
        this.#resume();
        if (capPaused.size > 0) for (const s of capPaused) s.#resume();
      }
      return data;
    }
    if (this.#error !== null) throw new SocketError(this.#error, "recv()");
    if (this.#eof) return EMPTY;
    if (this.#state !== "connected" && this.#state !== "connecting") throw new SocketError("ENOTCONN", "recv()");
    if (n === 0) return EMPTY;
    throw new SocketError("EAGAIN", "recv()");
  }

  // recv(n, MSG_OOB) and other flags: straight from the kernel into a new Buffer.
  #recvFlags(n: number, flags: number): Buffer {
    const buf = Buffer.allocUnsafe(n);
    const got = A.recv(this.#fd, buf, 0, n, flags);
    if (flags & MSG_OOB && got !== -EAGAIN) {
      this.#urgent = false; // read, or gone (EINVAL): watch for the next one
      this.#engine.setField(this.#token, FIELD.hostReady, 0);
      this.#sync();
    }
    if (got < 0) throw fail(got, "recv()");
    return buf.subarray(0, got);
  }

  /** Python: socket.send(data, flags) — send(2): the bytes the kernel took; EAGAIN when none. */
  override send(data: Uint8Array, flags = 0): number {
    this.#ensureOpen("send()");
    checkBytes(data, "send()");
    checkInt(flags, "send(): flags", 0, 2 ** 31 - 1);
    if (this.#state === "connecting") {
      if (this.#error !== null || this.#resolving) throw new SocketError(this.#error ?? "EAGAIN", "send()");
    } else if (this.#state !== "connected") throw new SocketError("ENOTCONN", "send()");
    if (data.length === 0) return 0;
    // While connecting, the kernel says EAGAIN, or takes the bytes once it has connected.
    const n = A.send(this.#fd, data, 0, data.length, flags);
    if (n < 0) {
      if (n === -EAGAIN) { if (this.#state === "connected") this.#block(); }
      else if (this.#state === "connecting") this.#fail(codeOf(-n)); // send(2) consumed the connect's error
      throw fail(n, "send()");
    }
    if (this.#state === "connecting") this.#opened(); // handleConnect() still comes from the loop
    if (n < data.length) this.#block(); // the kernel's buffer is full now
    return n;
  }

  /** Writes output the core holds for this channel (its queue is unused by send(); kept for callers of the core's out_* exports). */
  override flush(): void {
    const core = this.#engine.core;
    while (this.#state === "connected" && !this.#blocked && this.#engine.field(this.#token, FIELD.outLen) > 0) {
      const ptr = core.out_peek(this.#token);
      const len = core.result_len();
      const n = A.send(this.#fd, core.memory.buffer, ptr, len, 0);
      if (n > 0) core.out_consume(this.#token, n);
      if (n === -EAGAIN || (n > 0 && n < len)) this.#block();
      else if (n < 0) { this.#fail(codeOf(-n)); return; }
    }
  }

  /** Python: socket.shutdown(how) */
  shutdown(how: number): void {
    this.#ensureOpen("shutdown()");
    const rc = A.shutdown(this.#fd, checkInt(how, "shutdown(): how", 0, 2));
    if (rc < 0) throw fail(rc, "shutdown()");
  }

  /** Python: socket.close() — close(2); bytes send() returned for are the kernel's to deliver. */
  override close(): void {
    if (this.#state === "closed") return;
    if (this.#state === "connected" && this.#error === null) this.flush();
    this.#state = "closed";
    capPaused.delete(this);
    this.#interest.sync(0);
    untrack(this.#fd);
    A.close(this.#fd);
    super.close();
  }

  /** Python: socket.getsockname() */
  override getsockname(): Address {
    this.#ensureOpen("getsockname()");
    const a = A.sockname(this.#fd);
    if (typeof a === "number") throw fail(a, "getsockname()");
    return toAddress(this.family, a);
  }

  /** Python: socket.getpeername() — ENOTCONN unless connected. */
  override getpeername(): Address {
    this.#ensureOpen("getpeername()");
    const a = A.peername(this.#fd); // the kernel's answer, even while the loop has not seen the connect yet
    if (typeof a === "number") throw fail(a, "getpeername()");
    return toAddress(this.family, a);
  }

  /** Python: socket.setsockopt(level, option, value) — setsockopt(2) with an int. */
  override setsockopt(level: number, option: number, value: number | boolean): void {
    this.#ensureOpen("setsockopt()");
    const v = typeof value === "boolean" ? Number(value) : checkInt(value, "setsockopt(): value", -(2 ** 31), 2 ** 31 - 1);
    const rc = A.setsockopt(this.#fd, checkInt(level, "setsockopt(): level", 0, 2 ** 31 - 1), checkInt(option, "setsockopt(): option", 0, 2 ** 31 - 1), v);
    if (rc < 0) throw fail(rc, `setsockopt(${level}, ${option}, ${v})`);
  }

  /** Python: socket.getsockopt(level, option) — getsockopt(2); SO_ERROR keeps reporting the pending error. */
  override getsockopt(level: number, option: number): number {
    this.#ensureOpen("getsockopt()");
    checkInt(level, "getsockopt(): level", 0, 2 ** 31 - 1);
    checkInt(option, "getsockopt(): option", 0, 2 ** 31 - 1);
    const soError = level === SOL_SOCKET && option === SO_ERROR;
    if (soError && this.#error !== null) return errnoOf(this.#error) || errnoOf("EIO");
    let v: number;
    try {
      v = A.getsockopt(this.#fd, level, option);
    } catch (err) {
      throw SocketError.fromErrno(Number((err as { code?: string }).code) || errnoOf("EIO"), `getsockopt(${level}, ${option})`);
    }
    if (soError && v !== 0) this.#fail(codeOf(v)); // read (and cleared) here: keep it pending
    return v;
  }

  /** The pending error (the one SO_ERROR reports) as a SocketError, or null. */
  override pendingError(): SocketError | null {
    return this.#error !== null ? new SocketError(this.#error) : null;
  }

  /** Resumes reading after input was consumed in the core outside recv() (AsyncChat's framer). */
  inputConsumed(): void {
    if (this.#engine.resumeOk) this.#resume();
  }

  /** Has the peer's EOF been reached, with nothing left beyond what the core holds? */
  atEof(): boolean {
    return this.#state !== "closed" && this.#eof;
  }

  /** Python: repr(socket) */
  override toString(): string {
    return `<Socket fd=${this.fileno()}, family=${familyName(this.family)}, type=SOCK_STREAM, ${this.#state}, native fd ${this.osFd}>`;
  }
}

function scopeOf(address: Address): number {
  return Array.isArray(address) && address.length === 4 && Number.isInteger(address[3]) ? (address[3] as number) : 0;
}

registerNativeStream((family, type) => {
  if (A === undefined) {
    const a = native();
    if (a === null) throw new Error("wasyncore: the native backend is not available");
    A = a;
    ({ EPOLLIN, EPOLLPRI, EPOLLOUT, EPOLLERR, EPOLLHUP, MSG_OOB } = a.constants);
  }
  return new NativeSocket(family, type);
});
