// What the `net` backend's two datagram sockets share (AF_INET, AF_INET6): NetDatagramSocket
// (datagram.ts, a libuv UDP handle) and PublicDatagramSocket (public-datagram.ts, node:dgram) add how
// the OS socket is made, bound, connected and written to; the rest is here. Each arriving datagram is
// queued whole as one record (host/sys/records.ts); a datagram that does not fit (the channel's
// recvPause, or the core's memory cap) is dropped, as the kernel drops on a full receive buffer, and
// counted. An error is pending until a call reports it or SO_ERROR reads it (then cleared, as in Linux).
import { Buffer } from "node:buffer";
import { AF_UNIX, SOL_SOCKET, SO_REUSEADDR, SO_ERROR, SO_KEEPALIVE, SO_BROADCAST, SO_SNDBUF, SO_RCVBUF } from "../../core/constants.js";
import { SocketError, EngineAbortError, errnoOf } from "../../core/errors.js";
import { getEngine, type Engine } from "../../core/engine.js";
import { FIELD, F_DGRAM, F_OPEN } from "../../core/abi.js";
import { type Address, checkTarget, describe } from "../../core/address.js";
import { notifyReady } from "../../core/wake.js";
import type { SocketImpl } from "../seam.js";
import { HEADER, countDrop, takeRecord, trackDrops, type DropSource } from "../records.js";
import { kernelDefault } from "./dgram-handle.js";

const header = Buffer.alloc(HEADER);
const hostBytes = Buffer.alloc(255);

/** A datagram socket whose received datagrams live in the core; subclasses own the OS socket. */
export abstract class DatagramSocketBase implements SocketImpl, DropSource {
  readonly backend = "net";
  readonly osFd = -1;
  readonly token: number;
  protected readonly engine: Engine = getEngine();
  protected state: "fresh" | "bound" | "connected" | "closed" = "fresh";
  protected peer: Address | null = null;
  protected errorCode: string | null = null;
  /** The kernel's drop count for this socket when last read. */
  lastKernelDrops = 0;
  protected readonly options = new Map<number, number>();

  constructor(protected readonly family: number) {
    if (family === AF_UNIX) { // asyncore: Python has them; Node's net does not
      throw new SocketError("EAFNOSUPPORT", "Socket(AF_UNIX, SOCK_DGRAM): Node has no Unix datagram sockets (the native backend has)");
    }
    this.token = this.engine.openChannel("Socket");
    this.engine.core.chan_set_flags(this.token, F_DGRAM | F_OPEN, 0); // always writable; whole datagrams
    trackDrops(this);
  }

  get closed(): boolean {
    return this.state === "closed";
  }

  /** Is it an IPv6 socket (DropSource)? */
  abstract get isIpv6(): boolean;
  /** The socket's inode (DropSource), -1 when unknown. */
  abstract inode(): number;
  abstract bind(address: Address): void;
  abstract connect(address: Address): void;
  abstract getsockname(): Address;
  abstract close(): void;
  /** Sends one datagram to host:port (null: the connected peer); its length, or throws. */
  protected abstract transmit(data: Uint8Array, host: string | null, port: number, address: Address | null): number;
  /** Does the OS socket exist yet (options apply at once)? */
  protected abstract hasOsSocket(): boolean;
  /** Applies a socket option to the OS socket. */
  protected abstract apply(option: number, value: number): void;
  /** The OS socket's SO_RCVBUF / SO_SNDBUF, or null where it cannot be read. */
  protected abstract osBufferSize(receive: boolean): number | null;

  /** A datagram arrived: queued whole with its source, or dropped and counted when it does not fit. */
  protected onDatagram(buf: Buffer, host: string, port: number): void {
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

  protected onError(code: string): void {
    if (this.state === "closed") return;
    this.errorCode = code;
    this.engine.setField(this.token, FIELD.errno, errnoOf(code) || errnoOf("EIO"));
    notifyReady(this.token);
  }

  /** Throws the pending error (once: reading it clears it, as SO_ERROR does). */
  protected raisePending(what: string): void {
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
    if (this.hasOsSocket()) this.apply(option, value);
  }

  /** Python: socket.getsockopt — SO_ERROR returns and clears the pending error. */
  getsockopt(level: number, option: number): number {
    checkOption(level, option, "getsockopt");
    if (option === SO_ERROR) {
      const code = this.takeError();
      return code ? errnoOf(code) || errnoOf("EIO") : 0;
    }
    if (option === SO_RCVBUF || option === SO_SNDBUF) {
      const os = this.hasOsSocket() ? this.osBufferSize(option === SO_RCVBUF) : null;
      if (os !== null) return os;
      // No OS socket yet (it is made at bind): what Linux would report.
      const set = this.options.get(option);
      const max = kernelDefault(option === SO_RCVBUF ? "rmem_max" : "wmem_max");
      if (set !== undefined) return 2 * (max > 0 ? Math.min(set, max) : set);
      return kernelDefault(option === SO_RCVBUF ? "rmem_default" : "wmem_default");
    }
    return this.options.get(option) ?? 0;
  }

  /** The pending error as a SocketError, or null (not cleared). */
  pendingError(): SocketError | null {
    return this.errorCode ? new SocketError(this.errorCode) : null;
  }
}

function checkOption(level: number, option: number, what: string): void {
  if (level === SOL_SOCKET && (option === SO_REUSEADDR || option === SO_ERROR || option === SO_BROADCAST ||
      option === SO_RCVBUF || option === SO_SNDBUF || option === SO_KEEPALIVE)) return;
  throw new SocketError("ENOPROTOOPT", `${what}(${describe(level)}, ${describe(option)}): option not available on a datagram socket`);
}
