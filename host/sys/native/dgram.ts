// NativeDatagramSocket: Python's socket.socket(family, SOCK_DGRAM) over a real non-blocking
// descriptor (the native backend), for AF_INET, AF_INET6 and AF_UNIX.
//
// Same public behaviour as the `net` backend's datagrams (host/datagram.ts), different effects:
//   readiness   epoll EPOLLIN: the addon's recvrecs() drains the kernel's queue in batches into a
//               reused staging buffer as records, which go whole into the core's input queue (the
//               same records as `net`); recvfrom(n) takes one record
//   bound       the queue never passes the channel's recvPause nor the core's memory cap: reading
//               stops there (EPOLLIN leaves the interest) until recvfrom() takes records, and the
//               rest waits in the kernel, which drops UDP datagrams only when its own buffer is full
//               (counted) and makes an AF_UNIX sender wait (EAGAIN), as under CPython. (`net` reads
//               on and drops beyond the bound.)
//   send        sendto(2)/send(2) from the caller's bytes, at once: the kernel's answer (EAGAIN when
//               its buffer is full; then unwritable until EPOLLOUT), no copy, no queue
//   bind        bind(2), connect(2): synchronous; options are setsockopt(2)/getsockopt(2)
//   errors      an ICMP error (ECONNREFUSED on a connected socket) becomes the pending error, raised
//               once by the next recv/recvfrom/send/sendto or read (and cleared) by SO_ERROR
import { fstatSync } from "node:fs";
import { Socket, type BufferLimits } from "../../socket/socket.js";
import { AF_INET6, AF_UNIX, SOCK_DGRAM, SOL_SOCKET, SO_ERROR } from "../../core/constants.js";
import { SocketError, errnoOf, codeOf } from "../../core/errors.js";
import { getEngine, type Engine } from "../../core/engine.js";
import { FIELD, F_DGRAM, F_OPEN } from "../../core/abi.js";
import { type Address, checkIp, checkPath, describe, familyName, unboundAddress } from "../../core/address.js";
import { checkData, checkTarget, queueRecord, takeRecord, trackDrops, untrackDrops, type DropSource } from "../net/datagram.js";
import { native, track, untrack, Interest, type Addon, type EpollTarget, type NativeAddress } from "./addon.js";
import { notifyReady } from "../../core/wake.js";

const NEG_EAGAIN = -errnoOf("EAGAIN");
const EAGAIN = errnoOf("EAGAIN");
const INT_MAX = 2 ** 31 - 1;
const BLOCKED = 2 ** 31; // in the in-flight field: the kernel's send buffer is full until EPOLLOUT
const RECORDS_PER_CALL = 64;
const CALLS_PER_WAKE = 4; // then other sockets get their turn (epoll is level-triggered)
// Room for any datagram: 64 KiB for IP; an AF_UNIX datagram may reach the socket's send buffer
// (212,992 bytes by default). asyncore: a longer one (SO_SNDBUF raised) is cut to 256 KiB even
// for recvfrom(n) with a larger n, as recvfrom(2) truncates to the buffer it is given.
const STAGING = 256 * 1024;

let A: Addon;
let staging: Uint8Array | null = null; // shared by every native datagram socket; records are copied into the core at once
const batch = new Int32Array(2); // recvrecs(): [records, errno that ended the batch]

function checkInt(v: unknown, what: string, min: number, max: number): number {
  if (typeof v !== "number" || !Number.isInteger(v)) throw new TypeError(`${what} must be an integer, got ${describe(v)}`);
  if (v < min || v > max) throw new RangeError(`${what} must be in ${min}..${max}, got ${v}`);
  return v;
}

function fail(rc: number, what: string): SocketError {
  return SocketError.fromErrno(-rc, what);
}

type State = "fresh" | "bound" | "connected" | "closed";

/** A datagram socket on a kernel descriptor. Python: socket.socket(family, SOCK_DGRAM) */
export class NativeDatagramSocket extends Socket implements EpollTarget, DropSource {
  readonly #engine: Engine = getEngine();
  readonly #fd: number;
  readonly #token: number;
  readonly #interest: Interest;
  #state: State = "fresh";
  #receiving = false; // bound (explicitly, by connect or by a first send): EPOLLIN is watched
  #blocked = false;
  #paused = false; // at the receive bound or the memory cap: EPOLLIN is not watched until recvfrom() takes records
  #error: string | null = null;
  #ino = -1;
  /** The kernel's drop count for this socket when last read (DropSource). */
  lastKernelDrops = 0;

  /** Python: socket.socket(family, SOCK_DGRAM) */
  constructor(family: number) {
    super(family, SOCK_DGRAM);
    if (A === undefined) {
      const a = native();
      if (a === null) { super.close(); throw new Error("wasyncore: the native backend is not available"); }
      A = a;
    }
    const fd = A.socket(family, SOCK_DGRAM);
    if (fd < 0) {
      super.close();
      throw fail(fd, `socket(${familyName(family)}, SOCK_DGRAM)`);
    }
    this.#fd = fd;
    this.#token = super.fileno();
    // A datagram socket can always take a datagram (W), and reads whole datagrams.
    this.#engine.core.chan_set_flags(this.#token, F_DGRAM | F_OPEN, 0);
    this.#interest = new Interest(fd);
    track(fd, this);
    trackDrops(this);
  }

  /** The kernel's descriptor (fileno() is the core's token, as on every backend); -1 once closed. */
  get osFd(): number {
    return this.#state === "closed" ? -1 : this.#fd;
  }

  /** The socket's inode, its key in /proc/net/udp (DropSource); -1 for AF_UNIX or once closed. */
  inode(): number {
    if (this.#ino < 0 && this.family !== AF_UNIX && this.#state !== "closed") {
      try { this.#ino = fstatSync(this.#fd).ino; } catch { /* closed under us */ }
    }
    return this.#ino;
  }

  /** Is it an IPv6 socket (DropSource)? */
  get isIpv6(): boolean {
    return this.family === AF_INET6;
  }

  #open(what: string): number {
    if (this.#state === "closed") throw new SocketError("EBADF", `${what} on a closed socket`);
    return this.#fd;
  }

  /** The kernel's address arguments for `address`: [host-or-path, port, scopeId]. */
  #target(address: Address, what: string, forBind: boolean): [string, number, number] {
    if (this.family === AF_UNIX) return [checkPath(address, what), 0, 0];
    const t = forBind ? checkIp(this.family, address, what, true) : checkTarget(this.family, address, what);
    const scope = Array.isArray(address) && address.length === 4 && Number.isInteger(address[3]) ? (address[3] as number) : 0;
    return [t.host, t.port, scope];
  }

  /** Python: socket.bind(address) — bind(2), synchronous (EADDRINUSE, EINVAL when already bound). */
  override bind(address: Address): void {
    const fd = this.#open("bind()");
    const [host, port, scope] = this.#target(address, "bind()", true);
    const rc = A.bind(fd, this.family, host, port, scope);
    if (rc < 0) throw fail(rc, `bind(${describe(address)})`);
    if (this.#state === "fresh") this.#state = "bound";
    this.#startReceiving();
  }

  /** Python: socket.connect(address) — connect(2): the default peer, synchronously (binds an unbound socket). */
  override connect(address: Address): void {
    const fd = this.#open("connect()");
    const [host, port, scope] = this.#target(address, "connect()", false);
    const rc = A.connect(fd, this.family, host, port, scope);
    if (rc < 0) throw fail(rc, `connect(${describe(address)})`);
    this.#state = "connected";
    this.#startReceiving();
  }

  /** Python: socket.listen() — EOPNOTSUPP. */
  override listen(backlog = 5): void {
    this.#open("listen()");
    checkInt(backlog, "listen(): backlog", 0, 65535);
    throw new SocketError("EOPNOTSUPP", "listen(): not a stream socket (SOCK_DGRAM)");
  }

  /** Python: socket.accept() — EOPNOTSUPP. */
  override accept(): [Socket, Address] {
    this.#open("accept()");
    throw new SocketError("EOPNOTSUPP", "accept(): not a stream socket (SOCK_DGRAM)");
  }

  /** @internal accept() — EOPNOTSUPP. */
  override acceptOrNull(): [Socket, Address] | null {
    return this.accept();
  }

  /** Python: socket.sendto(data, address) — sendto(2): the whole datagram or an error; EAGAIN when the kernel's buffer is full. */
  override sendto(data: Uint8Array, address: Address): number {
    const fd = this.#open("sendto()");
    checkData(data, "sendto()");
    if (address === undefined) throw new TypeError("sendto(): address is required (use send() on a connected socket)");
    const [host, port, scope] = this.#target(address, "sendto()", false);
    if (this.#error !== null) this.#raisePending(`sendto(${describe(address)})`);
    const rc = A.sendto(fd, data, 0, data.length, 0, this.family, host, port, scope);
    if (rc < 0) this.#refused(rc, data.length, `sendto(${describe(address)})`); // the message is built only for an error
    return this.#sent(rc);
  }

  /** Python: socket.send(data) on a connected datagram socket — send(2). */
  override send(data: Uint8Array): number {
    const fd = this.#open("send()");
    checkData(data, "send()");
    if (this.#state !== "connected") throw new SocketError("EDESTADDRREQ", "send(): the datagram socket is not connected (use sendto())");
    this.#raisePending("send()");
    const rc = A.send(fd, data, 0, data.length, 0);
    if (rc < 0) this.#refused(rc, data.length, "send()");
    return this.#sent(rc);
  }

  #refused(rc: number, len: number, what: string): never {
    if (rc === NEG_EAGAIN) this.#block();
    throw fail(rc, `${what} of ${len} bytes`);
  }

  #sent(rc: number): number {
    if (this.#state === "fresh") {
      this.#state = "bound"; // the kernel bound it (IP); an unbound AF_UNIX sender stays nameless
      if (this.family !== AF_UNIX) this.#startReceiving();
    }
    return rc;
  }

  /**
   * Python: socket.recvfrom(n) — one datagram (at most n bytes of it) and its source; EAGAIN when none is there.
   * asyncore: an IPv6 source is [host, port, 0, 0] (flowinfo and scope id are not kept), as on `net`.
   */
  override recvfrom(n: number): [Buffer, Address] {
    this.#open("recvfrom()");
    checkInt(n, "recvfrom(): bufferSize", 0, INT_MAX);
    this.#raisePending("recvfrom()");
    const e = this.#engine;
    if (e.field(this.#token, FIELD.inLen) <= 0) {
      if (this.#state !== "fresh") this.#fill(); // what arrived since the last wake-up (the queue is empty: never paused)
      this.#raisePending("recvfrom()");
      if (e.field(this.#token, FIELD.inLen) <= 0) throw new SocketError("EAGAIN", "recvfrom()");
    }
    const out = takeRecord(e, this.#token, this.family, n);
    if (this.#paused) this.#resume();
    return out;
  }

  /** Sets this channel's send window and receive bound (bytes); reading resumes if now below the bound. */
  override setBufferLimits(limits: BufferLimits = {}): void {
    super.setBufferLimits(limits);
    if (this.#paused) this.#resume();
  }

  #resume(): void {
    const e = this.#engine;
    if (this.#state === "closed" || e.field(this.#token, FIELD.inLen) >= e.field(this.#token, FIELD.pause)) return;
    this.#paused = false;
    this.#sync();
  }

  /** Python: socket.recv(n) on a datagram socket — one datagram's first n bytes. */
  override recv(n: number): Buffer {
    return this.recvfrom(n)[0];
  }

  /** epoll reported `ev` for this descriptor. */
  onEpoll(ev: number): void {
    if (this.#state === "closed") return;
    const k = A.constants;
    if (ev & (k.EPOLLIN | k.EPOLLERR)) this.#fill();
    if (ev & k.EPOLLERR && this.#paused) this.#soError(); // not read while paused: take it, or epoll repeats it
    if (ev & k.EPOLLOUT) this.#unblock();
    this.#sync();
    notifyReady(this.#token);
  }

  /** Moves what the kernel holds into the core's input queue, as records, in batches. */
  #fill(): void {
    const buf = (staging ??= new Uint8Array(STAGING));
    const e = this.#engine;
    const t = this.#token;
    for (let call = 0; call < CALLS_PER_WAKE; call++) {
      const queued = e.field(t, FIELD.inLen);
      const bound = e.field(t, FIELD.pause);
      if (queued >= bound) { this.#pause(); return; }
      // never past the bound nor the memory cap (the addon peeks at the next length when near);
      // an empty queue takes one datagram whatever its size, as on `net`
      const budget = Math.min(bound - queued, e.core.in_room(t));
      A.recvrecs(this.#fd, buf, 0, buf.length, RECORDS_PER_CALL, budget, queued === 0, batch);
      const records = batch[0];
      const err = batch[1];
      let off = 0;
      for (let i = 0; i < records; i++) {
        const len = (buf[off] | (buf[off + 1] << 8) | (buf[off + 2] << 16) | (buf[off + 3] << 24)) >>> 0;
        const end = off + 8 + len + buf[off + 6];
        // asyncore: at the core's memory cap a datagram already received is dropped (and counted);
        // only an empty queue's first record can meet it, the budget keeps the others in the kernel
        queueRecord(e, t, buf, off, end, false);
        off = end;
      }
      if (records > 0) e.tick(); // arrivals stamp the channel's last activity
      if (err === -1) { // the budget: the rest waits in the kernel until recvfrom() takes records
        if (e.field(t, FIELD.inLen) > 0) { this.#pause(); return; }
        continue; // nothing queued (the cap dropped it): read on and drop, as `net`
      }
      if (err === 0) continue; // the batch was full: more may be waiting
      if (err !== EAGAIN) this.#fail(codeOf(err));
      return;
    }
  }

  #pause(): void {
    if (this.#paused) return;
    this.#paused = true;
    this.#sync();
  }

  #soError(): void {
    let err: number;
    try {
      err = A.getsockopt(this.#fd, SOL_SOCKET, SO_ERROR);
    } catch (e) {
      err = Number((e as { code?: string }).code) || errnoOf("EIO");
    }
    if (err !== 0) this.#fail(codeOf(err));
  }

  #startReceiving(): void {
    if (this.#receiving) return;
    this.#receiving = true;
    this.#sync();
  }

  #sync(): void {
    if (this.#state === "closed") return;
    const k = A.constants;
    const rc = this.#interest.sync((this.#receiving && !this.#paused ? k.EPOLLIN : 0) | (this.#blocked ? k.EPOLLOUT : 0));
    if (rc < 0) this.#fail(codeOf(-rc));
  }

  #block(): void {
    if (this.#blocked) return;
    this.#blocked = true;
    this.#engine.setField(this.#token, FIELD.inflight, BLOCKED);
    this.#sync();
  }

  #unblock(): void {
    if (!this.#blocked) return;
    this.#blocked = false;
    this.#engine.setField(this.#token, FIELD.inflight, 0);
  }

  /** Records a pending error (the kernel cleared its own when it reported it). */
  #fail(code: string): void {
    this.#error = code;
    this.#engine.setField(this.#token, FIELD.errno, errnoOf(code) || errnoOf("EIO"));
    notifyReady(this.#token);
  }

  #takeError(): string | null {
    const code = this.#error;
    if (code !== null) {
      this.#error = null;
      this.#engine.setField(this.#token, FIELD.errno, 0);
    }
    return code;
  }

  /** Throws the pending error (once: raising it clears it, as the kernel does). */
  #raisePending(what: string): void {
    const code = this.#error === null ? null : this.#takeError();
    if (code !== null) throw new SocketError(code, what);
  }

  /** Python: socket.getsockname() — the kernel's answer (['0.0.0.0', 0] until bound). */
  override getsockname(): Address {
    const a = A.sockname(this.#open("getsockname()"));
    if (typeof a === "number") throw fail(a, "getsockname()");
    return toAddress(this.family, a);
  }

  /** Python: socket.getpeername() — ENOTCONN unless connected. */
  override getpeername(): Address {
    const a = A.peername(this.#open("getpeername()"));
    if (typeof a === "number") throw fail(a, "getpeername()");
    return toAddress(this.family, a);
  }

  /** Python: socket.setsockopt(level, option, value) — setsockopt(2) with an int. */
  override setsockopt(level: number, option: number, value: number | boolean): void {
    const fd = this.#open("setsockopt()");
    const v = typeof value === "boolean" ? Number(value) : checkInt(value, "setsockopt(): value", -(2 ** 31), INT_MAX);
    const rc = A.setsockopt(fd, checkInt(level, "setsockopt(): level", 0, INT_MAX), checkInt(option, "setsockopt(): option", 0, INT_MAX), v);
    if (rc < 0) throw fail(rc, `setsockopt(${level}, ${option}, ${v})`);
  }

  /** Python: socket.getsockopt(level, option) — getsockopt(2); SO_ERROR returns and clears the pending error. */
  override getsockopt(level: number, option: number): number {
    const fd = this.#open("getsockopt()");
    checkInt(level, "getsockopt(): level", 0, INT_MAX);
    checkInt(option, "getsockopt(): option", 0, INT_MAX);
    if (level === SOL_SOCKET && option === SO_ERROR) {
      const code = this.#takeError();
      if (code !== null) return errnoOf(code) || errnoOf("EIO");
    }
    try {
      return A.getsockopt(fd, level, option);
    } catch (err) {
      throw SocketError.fromErrno(Number((err as { code?: string }).code) || errnoOf("EIO"), `getsockopt(${level}, ${option})`);
    }
  }

  /** The pending error as a SocketError, or null (not cleared). */
  override pendingError(): SocketError | null {
    return this.#error !== null ? new SocketError(this.#error) : null;
  }

  /** Python: socket.close() — close(2); datagrams send() returned for are the kernel's. Idempotent. */
  override close(): void {
    if (this.#state === "closed") return;
    untrackDrops(this); // its kernel drops so far stay counted
    this.#state = "closed";
    this.#interest.drop();
    untrack(this.#fd);
    A.close(this.#fd);
    super.close();
  }

  /** Python: repr(socket) */
  override toString(): string {
    return `<Socket fd=${this.fileno()}, family=${familyName(this.family)}, type=SOCK_DGRAM, ${this.#state}, native fd ${this.osFd}>`;
  }
}

function toAddress(family: number, a: NativeAddress): Address {
  return a === null ? unboundAddress(family) : a;
}
