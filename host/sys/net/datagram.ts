// The `net` backend's datagram socket (AF_INET, AF_INET6): a SocketImpl over a libuv UDP handle
// (dgram-handle.ts). Each arriving datagram is queued whole as one record (host/sys/records.ts);
// a datagram that does not fit (the channel's recvPause, or the core's memory cap) is dropped, as
// the kernel drops on a full receive buffer, and counted. Sends go to libuv at once, as sendto() does.
import { Buffer } from "node:buffer";
import { AF_INET6, AF_UNIX, SOL_SOCKET, SO_REUSEADDR, SO_ERROR, SO_KEEPALIVE, SO_BROADCAST, SO_SNDBUF, SO_RCVBUF } from "../../core/constants.js";
import { SocketError, EngineAbortError, errnoOf } from "../../core/errors.js";
import { getEngine, type Engine } from "../../core/engine.js";
import { FIELD, F_DGRAM, F_OPEN } from "../../core/abi.js";
import { type Address, checkIp, checkTarget, ipOut, unboundAddress, describe } from "../../core/address.js";
import { notifyReady, memoryFreed } from "../../core/wake.js";
import type { SocketImpl } from "../seam.js";
import { HEADER, countDrop, takeRecord, trackDrops, untrackDrops, type DropSource } from "../records.js";
import * as sys from "./dgram-handle.js";

const header = Buffer.alloc(HEADER);
const hostBytes = Buffer.alloc(255);

/** A datagram socket over a libuv UDP handle (AF_INET, AF_INET6). */
export class NetDatagramSocket implements SocketImpl, DropSource {
  readonly backend = "net";
  readonly osFd = -1;
  readonly token: number;
  private readonly engine: Engine = getEngine();
  /** The syscall layer's socket. */
  readonly port: sys.UdpPort;
  private state: "fresh" | "bound" | "connected" | "closed" = "fresh";
  private peer: Address | null = null;
  private errorCode: string | null = null;
  private inflight = 0;
  /** The kernel's drop count for this socket when last read. */
  lastKernelDrops = 0;
  private readonly options = new Map<number, number>();

  constructor(private readonly family: number) {
    if (family === AF_UNIX) { // asyncore: Python has them; Node's net does not
      throw new SocketError("EAFNOSUPPORT", "Socket(AF_UNIX, SOCK_DGRAM): Node has no Unix datagram sockets (the native backend has)");
    }
    const engine = this.engine;
    this.token = engine.openChannel("Socket");
    const token = this.token;
    this.port = new sys.UdpPort(family === AF_INET6, {
      onDatagram: (buf, host, port) => this.onDatagram(buf, host, port),
      onError: (code) => this.onError(code),
      onSent: (bytes, code) => {
        this.inflight -= bytes;
        if (this.state === "closed") return;
        this.engine.setField(this.token, FIELD.inflight, this.inflight);
        if (code) this.onError(code);
        else notifyReady(this.token);
      },
    });
    // A datagram socket can always take a datagram (W), and reads whole datagrams.
    engine.core.chan_set_flags(token, F_DGRAM | F_OPEN, 0);
    trackDrops(this);
  }

  get closed(): boolean {
    return this.state === "closed";
  }

  /** The socket's inode (DropSource). */
  inode(): number { return this.port.inode(); }

  /** Is it an IPv6 socket (DropSource)? */
  get isIpv6(): boolean { return this.port.isIpv6; }

  private onDatagram(buf: Buffer, host: string, port: number): void {
    if (this.state === "closed") return;
    const e = this.engine;
    const alen = Math.min(host.length, 255);
    const need = HEADER + alen + buf.length;
    const queued = e.field(this.token, FIELD.inLen);
    if ((queued > 0 && queued + need > e.field(this.token, FIELD.pause)) || e.core.in_room(this.token) < need) {
      countDrop();
      return;
    }
    header.writeUInt32LE(buf.length, 0);
    header.writeUInt16LE(port, 4);
    header[6] = alen;
    header[7] = 0;
    hostBytes.write(host, 0, alen, "latin1");
    const a = e.pushIn(this.token, header, 0, HEADER);
    const b = e.pushIn(this.token, buf, 0, buf.length);
    const c = e.pushIn(this.token, hostBytes, 0, alen);
    if (a + b + c !== need) throw new EngineAbortError(`datagram of ${need} bytes only partly queued (${a + b + c})`);
    notifyReady(this.token);
  }

  private onError(code: string): void {
    if (this.state === "closed") return;
    this.errorCode = code;
    this.engine.setField(this.token, FIELD.errno, errnoOf(code) || errnoOf("EIO"));
    notifyReady(this.token);
  }

  /** Throws the pending error (once: reading it clears it, as SO_ERROR does). */
  private raisePending(what: string): void {
    const code = this.takeError();
    if (code) throw new SocketError(code, what);
  }

  private takeError(): string | null {
    const code = this.errorCode;
    if (code) {
      this.errorCode = null;
      this.engine.setField(this.token, FIELD.errno, 0);
    }
    return code;
  }

  /** Python: socket.bind(address) for SOCK_DGRAM — synchronous. */
  bind(address: Address): void {
    const t = checkIp(this.family, address, "bind()", true);
    if (this.state !== "fresh" || this.port.fd >= 0) throw new SocketError("EINVAL", `bind(${describe(address)}): socket is already bound`);
    const err = this.port.bind(t.host, t.port, (this.options.get(SO_REUSEADDR) ?? 0) !== 0);
    if (err) throw new SocketError(err, `bind(${describe(address)})`);
    this.state = "bound";
    this.opened();
  }

  /** Python: socket.connect(address) for SOCK_DGRAM — sets the default peer, synchronously. */
  connect(address: Address): void {
    const t = checkTarget(this.family, address, "connect()");
    if (this.state === "connected") this.port.disconnect();
    const err = this.port.connect(t.host, t.port);
    if (err) throw new SocketError(err, `connect(${describe(address)})`);
    this.state = "connected";
    this.peer = ipOut(this.family, t.host, t.port);
    this.opened();
  }

  /** The OS socket now exists: apply waiting options and start receiving. */
  private opened(): void {
    for (const [opt, v] of this.options) this.apply(opt, v);
    const err = this.port.startReceiving();
    if (err) this.onError(err);
  }

  /** Python: socket.sendto(data, address) — the whole datagram or an error; EAGAIN when the send window is full. */
  sendto(data: Uint8Array, address: Address): number {
    if (address === undefined) throw new TypeError("sendto(): address is required (use send() on a connected socket)");
    const t = checkTarget(this.family, address, "sendto()");
    if (this.state === "connected") {
      // asyncore: libuv refuses a destination on a connected socket (EISCONN); Linux would send to it.
      const p = this.peer as [string, number];
      if (p[0] !== t.host || p[1] !== t.port) throw new SocketError("EISCONN", `sendto(${describe(address)}): the socket is connected to ${describe(this.peer)}`);
      return this.transmit(data, null, 0, address);
    }
    return this.transmit(data, t.host, t.port, address);
  }

  /** Python: socket.send(data) on a connected datagram socket. */
  send(data: Uint8Array, flags: number): number {
    if (flags !== 0) throw new SocketError("EOPNOTSUPP", `send(<${data.length} bytes>, ${flags}): flags need the native backend`);
    if (this.state !== "connected") throw new SocketError("EDESTADDRREQ", "send(): the datagram socket is not connected (use sendto())");
    return this.transmit(data, null, 0, null);
  }

  private transmit(data: Uint8Array, host: string | null, port: number, address: Address | null): number {
    const what = (): string => address === null ? "send()" : `sendto(${describe(address)})`; // built only for an error
    if (this.errorCode) this.raisePending(what());
    if (this.inflight >= this.engine.field(this.token, FIELD.window)) throw new SocketError("EAGAIN", what());
    const copy = Buffer.from(data); // libuv may keep it until the kernel takes it
    const rc = this.port.send(copy, host, port);
    if (typeof rc === "string") throw new SocketError(rc, `${what()} of ${data.length} bytes`);
    if (rc === sys.QUEUED) {
      this.inflight += copy.length;
      this.engine.setField(this.token, FIELD.inflight, this.inflight);
    }
    if (this.state === "fresh") { this.state = "bound"; this.opened(); } // the kernel bound it
    return data.length;
  }

  /** Python: socket.recvfrom(n) — one datagram (at most n bytes of it) and its source; EAGAIN when none is queued. */
  recvfrom(n: number): [Buffer, Address] {
    if (this.errorCode) this.raisePending("recvfrom()");
    if (this.engine.field(this.token, FIELD.inLen) <= 0) throw new SocketError("EAGAIN", "recvfrom()");
    return takeRecord(this.engine, this.token, this.family, n);
  }

  /** Python: socket.recv(n) on a datagram socket — one datagram's first n bytes. */
  recv(n: number, flags: number): Buffer {
    if (flags !== 0) throw new SocketError("EOPNOTSUPP", `recv(${n}, ${flags}): flags need the native backend`);
    return this.recvfrom(n)[0];
  }

  /** Python: socket.listen() — EOPNOTSUPP. */
  listen(): void {
    throw new SocketError("EOPNOTSUPP", "listen(): not a stream socket (SOCK_DGRAM)");
  }

  /** Python: socket.accept() — EOPNOTSUPP. */
  acceptOrNull(): null {
    throw new SocketError("EOPNOTSUPP", "accept(): not a stream socket (SOCK_DGRAM)");
  }

  /** Python: socket.shutdown(how) — not on this backend. */
  shutdown(how: number): void {
    throw new SocketError("EOPNOTSUPP", `shutdown(${how}): needs the native backend`);
  }

  /** Nothing to resume: datagrams beyond the bound are dropped (and counted). */
  limitsChanged(): void {}

  /** Not a stream: nothing to resume. */
  inputConsumed(): void {}

  /** Not a stream: never at EOF. */
  atEof(): boolean {
    return false;
  }

  /** The state, for repr(). */
  describe(): string {
    return this.state;
  }

  /** Python: socket.getsockname() — ['0.0.0.0', 0] until bound (explicitly or by a first send). */
  getsockname(): Address {
    const a = this.port.localAddress();
    return a ? ipOut(this.family, a.address, a.port) : unboundAddress(this.family);
  }

  /** Python: socket.getpeername() — ENOTCONN unless connected. */
  getpeername(): Address {
    if (this.state !== "connected" || this.peer === null) throw new SocketError("ENOTCONN", "getpeername()");
    return this.peer;
  }

  /** Python: socket.setsockopt — SO_REUSEADDR (before bind), SO_BROADCAST, SO_RCVBUF, SO_SNDBUF, SO_KEEPALIVE. */
  setsockopt(level: number, option: number, value: number): void {
    checkOption(level, option, "setsockopt");
    if (option === SO_ERROR) throw new SocketError("ENOPROTOOPT", "setsockopt(SOL_SOCKET, SO_ERROR): read-only option");
    this.options.set(option, value);
    if (this.port.fd >= 0) this.apply(option, value);
  }

  private apply(option: number, value: number): void {
    let err: string | null = null;
    if (option === SO_BROADCAST) err = this.port.setBroadcast(value !== 0);
    else if (option === SO_RCVBUF || option === SO_SNDBUF) {
      const rc = this.port.bufferSize(option === SO_RCVBUF, Math.max(1, value));
      if (typeof rc === "string") err = rc;
    }
    if (err) throw new SocketError(err, `setsockopt(SOL_SOCKET, ${option}, ${value})`);
  }

  /** Python: socket.getsockopt — SO_ERROR returns and clears the pending error. */
  getsockopt(level: number, option: number): number {
    checkOption(level, option, "getsockopt");
    if (option === SO_ERROR) {
      const code = this.takeError();
      return code ? errnoOf(code) || errnoOf("EIO") : 0;
    }
    if (option === SO_RCVBUF || option === SO_SNDBUF) {
      if (this.port.fd >= 0) {
        const rc = this.port.bufferSize(option === SO_RCVBUF, 0);
        if (typeof rc === "number") return rc;
      }
      // No OS socket yet (libuv creates it on bind): what Linux would report.
      const set = this.options.get(option);
      const max = sys.kernelDefault(option === SO_RCVBUF ? "rmem_max" : "wmem_max");
      if (set !== undefined) return 2 * (max > 0 ? Math.min(set, max) : set);
      return sys.kernelDefault(option === SO_RCVBUF ? "rmem_default" : "wmem_default");
    }
    return this.options.get(option) ?? 0;
  }

  /** The pending error as a SocketError, or null (not cleared). */
  pendingError(): SocketError | null {
    return this.errorCode ? new SocketError(this.errorCode) : null;
  }

  /** Datagrams sendto() took that libuv still queues are sent; the socket then closes. */
  close(): void {
    if (this.state === "closed") return;
    untrackDrops(this);
    this.state = "closed";
    this.port.close();
    this.engine.core.chan_close(this.token);
    memoryFreed();
  }
}

function checkOption(level: number, option: number, what: string): void {
  if (level === SOL_SOCKET && (option === SO_REUSEADDR || option === SO_ERROR || option === SO_BROADCAST ||
      option === SO_RCVBUF || option === SO_SNDBUF || option === SO_KEEPALIVE)) return;
  throw new SocketError("ENOPROTOOPT", `${what}(${describe(level)}, ${describe(option)}): option not available on a datagram socket`);
}

