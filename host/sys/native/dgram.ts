// The native backend's datagram socket: a SocketImpl over a real non-blocking descriptor, for
// AF_INET, AF_INET6 and AF_UNIX (Python's socket.socket(family, SOCK_DGRAM)).
//
// Same public behaviour as the `net` backend's datagrams (host/sys/net/datagram.ts), different effects:
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
import { Buffer } from "node:buffer";
import { fstatSync } from "node:fs";
import { AF_INET6, AF_UNIX, SOCK_DGRAM, SOL_SOCKET, SO_ERROR } from "../../core/constants.js";
import { SocketError, errnoOf, codeOf, checkInt, thrownErrno } from "../../core/errors.js";
import { getEngine, type Engine } from "../../core/engine.js";
import { FIELD, F_DGRAM, F_OPEN } from "../../core/abi.js";
import { type Address, checkIp, checkPath, checkTarget, describe, familyName, unboundAddress } from "../../core/address.js";
import { memoryFreed, notifyReady } from "../../core/wake.js";
import type { SocketImpl } from "../seam.js";
import { queueRecord, takeRecord, trackDrops, untrackDrops, type DropSource } from "../records.js";
import { loadAddon, track, untrack, Interest, type Addon, type EpollTarget, type NativeAddress } from "./addon.js";

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

type State = "fresh" | "bound" | "connected" | "closed";

/** A datagram socket on a kernel descriptor. */
export class NativeDatagramImpl implements SocketImpl, EpollTarget, DropSource {
  readonly backend = "native";
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
  constructor(readonly family: number) {
    A ??= loadAddon();
    const fd = A.socket(family, SOCK_DGRAM);
    if (fd < 0) throw SocketError.fromResult(fd, `socket(${familyName(family)}, SOCK_DGRAM)`);
    try {
      this.#token = this.#engine.openChannel("Socket");
    } catch (err) {
      A.close(fd);
      throw err;
    }
    this.#fd = fd;
    // A datagram socket can always take a datagram (W), and reads whole datagrams.
    this.#engine.core.chan_set_flags(this.#token, F_DGRAM | F_OPEN, 0);
    this.#interest = new Interest(A, fd);
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

  /** The core channel's token. */
  get token(): number {
    return this.#token;
  }

  get closed(): boolean {
    return this.#state === "closed";
  }

  /** The kernel's address arguments for `address`: [host-or-path, port, scopeId]. */
  #target(address: Address, what: string, forBind: boolean): [string, number, number] {
    if (this.family === AF_UNIX) return [checkPath(address, what), 0, 0];
    const t = forBind ? checkIp(this.family, address, what, true) : checkTarget(this.family, address, what);
    const scope = Array.isArray(address) && address.length === 4 && Number.isInteger(address[3]) ? (address[3] as number) : 0;
    return [t.host, t.port, scope];
  }

  /** Python: socket.bind(address) — bind(2), synchronous (EADDRINUSE, EINVAL when already bound). */
  bind(address: Address): void {
    const fd = this.#fd;
    const [host, port, scope] = this.#target(address, "bind()", true);
    const rc = A.bind(fd, this.family, host, port, scope);
    if (rc < 0) throw SocketError.fromResult(rc, `bind(${describe(address)})`);
    if (this.#state === "fresh") this.#state = "bound";
    this.#startReceiving();
  }

  /** Python: socket.connect(address) — connect(2): the default peer, synchronously (binds an unbound socket). */
  connect(address: Address): void {
    const fd = this.#fd;
    const [host, port, scope] = this.#target(address, "connect()", false);
    const rc = A.connect(fd, this.family, host, port, scope);
    if (rc < 0) throw SocketError.fromResult(rc, `connect(${describe(address)})`);
    this.#state = "connected";
    this.#startReceiving();
  }

  /** Python: socket.listen() — EOPNOTSUPP. */
  listen(): void {
    throw new SocketError("EOPNOTSUPP", "listen(): not a stream socket (SOCK_DGRAM)");
  }

  /** Python: socket.accept() — EOPNOTSUPP. */
  acceptOrNull(): null {
    throw new SocketError("EOPNOTSUPP", "accept(): not a stream socket (SOCK_DGRAM)");
  }

  /** Python: socket.shutdown(how) — shutdown(2). */
  shutdown(how: number): void {
    const rc = A.shutdown(this.#fd, how);
    if (rc < 0) throw SocketError.fromResult(rc, "shutdown()");
  }

  /** Python: socket.sendto(data, address) — sendto(2): the whole datagram or an error; EAGAIN when the kernel's buffer is full. */
  sendto(data: Uint8Array, address: Address): number {
    const fd = this.#fd;
    if (address === undefined) throw new TypeError("sendto(): address is required (use send() on a connected socket)");
    const [host, port, scope] = this.#target(address, "sendto()", false);
    if (this.#error !== null) this.#raisePending(`sendto(${describe(address)})`);
    const rc = A.sendto(fd, data, 0, data.length, 0, this.family, host, port, scope);
    if (rc < 0) this.#refused(rc, data.length, `sendto(${describe(address)})`); // the message is built only for an error
    return this.#sent(rc);
  }

  /** Python: socket.send(data) on a connected datagram socket — send(2). */
  send(data: Uint8Array, flags: number): number {
    const fd = this.#fd;
    if (this.#state !== "connected") throw new SocketError("EDESTADDRREQ", "send(): the datagram socket is not connected (use sendto())");
    this.#raisePending("send()");
    const rc = A.send(fd, data, 0, data.length, flags);
    if (rc < 0) this.#refused(rc, data.length, "send()");
    return this.#sent(rc);
  }

  #refused(rc: number, len: number, what: string): never {
    if (rc === NEG_EAGAIN) this.#block();
    throw SocketError.fromResult(rc, `${what} of ${len} bytes`);
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
  recvfrom(n: number): [Buffer, Address] {
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
  limitsChanged(): void {
    if (this.#paused) this.#resume();
  }

  #resume(): void {
    const e = this.#engine;
    if (this.#state === "closed" || e.field(this.#token, FIELD.inLen) >= e.field(this.#token, FIELD.pause)) return;
    this.#paused = false;
    this.#sync();
  }

  /** Python: socket.recv(n) on a datagram socket — one datagram's first n bytes. */
  recv(n: number, flags: number): Buffer {
    if (flags !== 0) throw new SocketError("EOPNOTSUPP", `recv(${n}, ${flags}): flags on a datagram socket are not supported`);
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
      err = thrownErrno(e);
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
  getsockname(): Address {
    const a = A.sockname(this.#fd);
    if (typeof a === "number") throw SocketError.fromResult(a, "getsockname()");
    return toAddress(this.family, a);
  }

  /** Python: socket.getpeername() — ENOTCONN unless connected. */
  getpeername(): Address {
    const a = A.peername(this.#fd);
    if (typeof a === "number") throw SocketError.fromResult(a, "getpeername()");
    return toAddress(this.family, a);
  }

  /** Python: socket.setsockopt(level, option, value) — setsockopt(2) with an int. */
  setsockopt(level: number, option: number, value: number): void {
    const rc = A.setsockopt(this.#fd, checkInt(level, "setsockopt(): level", 0, INT_MAX), checkInt(option, "setsockopt(): option", 0, INT_MAX), value);
    if (rc < 0) throw SocketError.fromResult(rc, `setsockopt(${level}, ${option}, ${value})`);
  }

  /** Python: socket.getsockopt(level, option) — getsockopt(2); SO_ERROR returns and clears the pending error. */
  getsockopt(level: number, option: number): number {
    const fd = this.#fd;
    checkInt(level, "getsockopt(): level", 0, INT_MAX);
    checkInt(option, "getsockopt(): option", 0, INT_MAX);
    if (level === SOL_SOCKET && option === SO_ERROR) {
      const code = this.#takeError();
      if (code !== null) return errnoOf(code) || errnoOf("EIO");
    }
    try {
      return A.getsockopt(fd, level, option);
    } catch (err) {
      throw SocketError.fromThrown(err, `getsockopt(${level}, ${option})`);
    }
  }

  /** The pending error as a SocketError, or null (not cleared). */
  pendingError(): SocketError | null {
    return this.#error !== null ? new SocketError(this.#error) : null;
  }

  /** Python: socket.close() — close(2); datagrams send() returned for are the kernel's. Idempotent. */
  close(): void {
    if (this.#state === "closed") return;
    untrackDrops(this); // its kernel drops so far stay counted
    this.#state = "closed";
    this.#interest.drop();
    untrack(this.#fd);
    A.close(this.#fd);
    this.#engine.core.chan_close(this.#token);
    memoryFreed();
  }

  /** Not a stream: nothing to resume. */
  inputConsumed(): void {}

  /** Not a stream: never at EOF. */
  atEof(): boolean {
    return false;
  }

  /** The state, for repr(). */
  describe(): string {
    return `${this.#state}, native fd ${this.osFd}`;
  }

}

function toAddress(family: number, a: NativeAddress): Address {
  return a === null ? unboundAddress(family) : a;
}
