// Datagram sockets (SOCK_DGRAM): what Socket delegates to for AF_INET/AF_INET6 datagrams on the
// `net` backend, and the record queue both backends share (host/native-dgram.ts is the native one).
//
// Each arriving datagram is stored whole in the channel's input queue in the core, as one record
// carrying its length and source, so the channel is readable while any datagram is queued and
// recvfrom(n) takes exactly one datagram (at most n bytes of it; the rest is discarded, as POSIX
// does). Sends go to the kernel at once, as sendto() does.
//
// Input queue record (little-endian; the native addon's recvrecs() writes the same layout):
//
//   0        4      6      7      8                  8 + length
//   +--------+------+------+------+------------------+--------------------------------+
//   | length | port | alen | 0    | payload (length) | source (alen: IP text or path) |
//   +--------+------+------+------+------------------+--------------------------------+
//
// On `net`, a datagram that does not fit (the channel's receive bound, recvPause, or the core's
// memory cap) is dropped, as the kernel drops on a full receive buffer, and counted: loopStats()
// reports those drops plus the kernel's own (Linux /proc/net/udp) as datagramsDropped. The native
// backend stops reading at the bound instead: the rest waits in the kernel, as under CPython.
import { isIP } from "node:net";
import { AF_INET6, AF_UNIX, SOL_SOCKET, SO_REUSEADDR, SO_ERROR, SO_KEEPALIVE, SO_BROADCAST, SO_SNDBUF, SO_RCVBUF } from "../../core/constants.js";
import { SocketError, EngineAbortError, errnoOf } from "../../core/errors.js";
import type { Engine } from "../../core/engine.js";
import { FIELD, F_DGRAM, F_OPEN } from "../../core/abi.js";
import { type Address, checkIp, ipOut, unboundAddress, describe } from "../../core/address.js";
import { notifyReady, memoryFreed } from "../../core/wake.js";
import * as sys from "./dgram-handle.js";

const HEADER = 8;
const header = Buffer.alloc(HEADER);
const hostBytes = Buffer.alloc(255);

let queueDrops = 0; // dropped by the engine: receive bound or memory cap
let closedKernelDrops = 0; // kernel drops of sockets already closed

/** A datagram socket whose kernel drop counter (/proc/net/udp{,6}) counts in datagramsDropped. */
export interface DropSource {
  /** The socket's inode, or -1 (no OS socket yet, or not a UDP socket). */
  inode(): number;
  readonly isIpv6: boolean;
  /** The kernel's drop count for this socket when last read. */
  lastKernelDrops: number;
}
const open = new Set<DropSource>();

/** Counts `src`'s kernel drops from now on (a datagram socket was made). */
export function trackDrops(src: DropSource): void {
  open.add(src);
}

/** `src` is closing: its kernel drops so far stay counted. */
export function untrackDrops(src: DropSource): void {
  if (!open.delete(src)) return;
  refreshKernelDrops([src]);
  closedKernelDrops += src.lastKernelDrops;
}

/** Datagrams dropped so far, engine-wide: by the engine's bounds and, where visible, by the kernel. */
export function datagramsDropped(): number {
  refreshKernelDrops(open);
  let n = queueDrops + closedKernelDrops;
  for (const p of open) n += p.lastKernelDrops;
  return n;
}

/** Reads the kernel's drop counters of these sockets (one read of each /proc table). */
function refreshKernelDrops(ports: Iterable<DropSource>): void {
  for (const ipv6 of [false, true]) {
    const byInode = new Map<number, DropSource>();
    for (const p of ports) {
      const ino = p.inode();
      if (p.isIpv6 === ipv6 && ino >= 0) byInode.set(ino, p);
    }
    const drops = sys.kernelDrops(new Set(byInode.keys()), ipv6);
    if (drops === null) continue;
    for (const [ino, n] of drops) byInode.get(ino)!.lastKernelDrops = n;
  }
}

/** A Python-style datagram address check: IP literal or 'localhost' (no synchronous DNS on Node). */
export function checkTarget(family: number, address: unknown, what: string): { host: string; port: number } {
  const t = checkIp(family, address, what, false);
  if (isIP(t.host) === 0) {
    throw new TypeError(`${what}: datagram sockets take an IP address or 'localhost' — resolve ${JSON.stringify(t.host)} first (dns.lookup)`);
  }
  return t;
}

/** Throws a TypeError naming `what` unless `data` is bytes. */
export function checkData(data: unknown, what: string): Uint8Array {
  if (!(data instanceof Uint8Array)) {
    throw new TypeError(`${what}: data must be a Uint8Array or Buffer, got ${typeof data === "string" ? "a string (encode it first, e.g. Buffer.from(s))" : describe(data)}`);
  }
  return data;
}

/**
 * Queues one record (src[start, end), laid out as above) in the channel's input queue, or drops
 * and counts it when it does not fit the core's memory cap or (when `bounded`) the receive bound;
 * true if queued.
 */
export function queueRecord(e: Engine, token: number, src: Uint8Array, start: number, end: number, bounded: boolean): boolean {
  const need = end - start;
  const queued = e.field(token, FIELD.inLen);
  if ((bounded && queued > 0 && queued + need > e.field(token, FIELD.pause)) || !poolHasRoom(e, token, need)) {
    queueDrops++;
    return false;
  }
  if (e.pushIn(token, src, start, end) !== need) throw new EngineAbortError(`datagram record of ${need} bytes only partly queued`);
  return true;
}

/** Takes the oldest record: at most n bytes of its datagram (the rest is discarded, as POSIX recvfrom() does) and its source. */
export function takeRecord(e: Engine, t: number, family: number, n: number): [Buffer, Address] {
  const core = e.core;
  let ptr = core.in_peek(t);
  let mem = e.bytes();
  let len: number, port: number, alen: number;
  if (core.result_len() >= HEADER) {
    len = (mem[ptr] | (mem[ptr + 1] << 8) | (mem[ptr + 2] << 16) | (mem[ptr + 3] << 24)) >>> 0;
    port = mem[ptr + 4] | (mem[ptr + 5] << 8);
    alen = mem[ptr + 6];
    if (core.in_consume(t, HEADER) < 0) throw new EngineAbortError("in_consume failed on a datagram header");
  } else { // the header spans two chunks
    const h = e.takeIn(t, HEADER);
    len = h.readUInt32LE(0);
    port = h.readUInt16LE(4);
    alen = h[6];
  }
  const data = e.takeIn(t, Math.min(n, len));
  if (data.length < len && core.in_consume(t, len - data.length) < 0) {
    throw new EngineAbortError(`datagram of ${len} bytes missing from the queue`);
  }
  const enc = family === AF_UNIX ? "utf8" : "latin1";
  let host = "";
  if (alen > 0) {
    ptr = core.in_peek(t);
    mem = e.bytes();
    if (core.result_len() >= alen) {
      host = Buffer.from(mem.buffer, mem.byteOffset + ptr, alen).toString(enc);
      if (core.in_consume(t, alen) < 0) throw new EngineAbortError("in_consume failed on a datagram source");
    } else host = e.takeIn(t, alen).toString(enc);
  }
  memoryFreed();
  return [data, family === AF_UNIX ? host : ipOut(family, host, port)];
}

/** The datagram half of a Socket on the `net` backend: bind, connect, sendto/recvfrom, options. */
export class DatagramPort implements DropSource {
  /** The syscall layer's socket. */
  readonly port: sys.UdpPort;
  private state: "fresh" | "bound" | "connected" | "closed" = "fresh";
  private peer: Address | null = null;
  private errorCode: string | null = null;
  private inflight = 0;
  /** The kernel's drop count for this socket when last read. */
  lastKernelDrops = 0;
  private readonly options = new Map<number, number>();

  constructor(private readonly engine: Engine, private readonly token: number, private readonly family: number) {
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
    if ((queued > 0 && queued + need > e.field(this.token, FIELD.pause)) || !poolHasRoom(e, this.token, need)) {
      queueDrops++;
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
    checkData(data, "sendto()");
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
  send(data: Uint8Array): number {
    checkData(data, "send()");
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
  recv(n: number): Buffer {
    return this.recvfrom(n)[0];
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
  }
}

function checkOption(level: number, option: number, what: string): void {
  if (level === SOL_SOCKET && (option === SO_REUSEADDR || option === SO_ERROR || option === SO_BROADCAST ||
      option === SO_RCVBUF || option === SO_SNDBUF || option === SO_KEEPALIVE)) return;
  throw new SocketError("ENOPROTOOPT", `${what}(${describe(level)}, ${describe(option)}): option not available on a datagram socket`);
}

/** Can the core's pool take `need` more bytes without hitting its memory cap? (Conservative.) */
function poolHasRoom(e: Engine, token: number, need: number): boolean {
  return e.core.in_room(token) >= need;
}
