// The Node syscall layer for datagram sockets: libuv UDP handles from Node's udp_wrap.
//
// Node's public dgram.Socket binds asynchronously (it resolves the host first, even an IP
// literal); asyncore needs bind() to return with the port known. So this module drives the
// udp_wrap handle directly, the way net.ts drives tcp_wrap:
//   bind / connect    → synchronous; errors come back as codes (EADDRINUSE at once)
//   send              → libuv tries sendmsg() at once; when the kernel's buffer is full it
//                       queues the datagram and reports completion later (onSent)
//   datagram arrives  → onDatagram(buf, host, port): one whole datagram per call
//   ICMP error        → onError(code) (ECONNREFUSED on a connected socket, as recv() reports)
// libuv creates the OS socket lazily (on bind, connect or the first send), so options that
// need a descriptor wait until then.
import { readFileSync, fstatSync } from "node:fs";
import { binding, uvName } from "./uv.js";

type Rinfo = { address: string; port: number };
interface UvUdpHandle {
  readonly fd: number;
  bind(ip: string, port: number, flags: number): number;
  bind6(ip: string, port: number, flags: number): number;
  connect(ip: string, port: number): number;
  connect6(ip: string, port: number): number;
  disconnect(): number;
  send(req: SendReq, list: Buffer[], count: number, ...rest: unknown[]): number;
  send6(req: SendReq, list: Buffer[], count: number, ...rest: unknown[]): number;
  recvStart(): number;
  recvStop(): number;
  getsockname(out: Record<string, unknown>): number;
  getpeername(out: Record<string, unknown>): number;
  setBroadcast(on: boolean): number;
  bufferSize(size: number, recv: boolean, ctx: Record<string, unknown>): number | undefined;
  close(cb?: () => void): void;
  onmessage: ((nread: number, handle: unknown, buf?: Buffer, rinfo?: Rinfo) => void) | null;
}
interface SendReq { oncomplete?: (status: number) => void; buffer?: Buffer; }

let udpWrap: { UDP: new () => UvUdpHandle; SendWrap: new () => SendReq; constants: { UV_UDP_REUSEADDR: number } } | undefined;

/** What a datagram socket reports. */
export interface DatagramSink {
  /** One whole datagram arrived from host:port (`buf` is the sink's to keep). */
  onDatagram(buf: Buffer, host: string, port: number): void;
  /** The socket reported an error (an ICMP error on a connected socket). */
  onError(code: string): void;
  /** A queued datagram of `bytes` left (code set when the send failed). */
  onSent(bytes: number, code: string | null): void;
}

/** send() result: the datagram left now. */
export const SENT = 1;
/** send() result: the datagram waits in libuv's queue; onSent() follows. */
export const QUEUED = 0;

/** One UDP socket. Methods return an error code string or null, as the kernel would. */
export class UdpPort {
  private readonly h: UvUdpHandle;
  private receiving = false;
  private ino = -1;
  private queued = 0; // datagrams waiting in libuv's send queue
  private closing = false;

  constructor(private readonly ipv6: boolean, private readonly sink: DatagramSink) {
    udpWrap ??= binding("udp_wrap");
    this.h = new udpWrap!.UDP();
    this.h.onmessage = (nread, _handle, buf, rinfo) => {
      if (nread < 0) this.sink.onError(uvName(nread));
      else if (buf && rinfo) this.sink.onDatagram(buf, rinfo.address, rinfo.port);
    };
  }

  /** The OS descriptor (negative until libuv has created the socket). */
  get fd(): number { return this.h.fd; }

  /** Binds synchronously (SO_REUSEADDR first when `reuse`). */
  bind(host: string, port: number, reuse: boolean): string | null {
    const flags = reuse ? udpWrap!.constants.UV_UDP_REUSEADDR : 0;
    const rc = this.ipv6 ? this.h.bind6(host, port, flags) : this.h.bind(host, port, flags);
    return rc === 0 ? null : uvName(rc);
  }

  /** Sets the default destination (and filters arrivals to it), synchronously. */
  connect(host: string, port: number): string | null {
    const rc = this.ipv6 ? this.h.connect6(host, port) : this.h.connect(host, port);
    return rc === 0 ? null : uvName(rc);
  }

  /** Forgets the connected peer. */
  disconnect(): void {
    this.h.disconnect();
  }

  /** Sends one datagram to host:port, or to the connected peer when `host` is null. */
  send(data: Buffer, host: string | null, port: number): number | string {
    const req = new udpWrap!.SendWrap();
    req.buffer = data; // libuv reads it until oncomplete when the send is queued
    req.oncomplete = (status) => {
      if (--this.queued === 0 && this.closing) { this.h.close(); return; }
      if (!this.closing) this.sink.onSent(data.length, status < 0 ? uvName(status) : null);
    };
    const list = [data];
    let rc: number;
    if (host === null) rc = this.h.send(req, list, 1, true);
    else rc = this.ipv6 ? this.h.send6(req, list, 1, port, host, true) : this.h.send(req, list, 1, port, host, true);
    if (rc > 0) return SENT; // Node returns length + 1 for a synchronous send
    if (rc < 0) return uvName(rc);
    this.queued++;
    return QUEUED;
  }

  /** Starts delivering datagrams (once the socket is bound; starting earlier would bind it). */
  startReceiving(): string | null {
    if (this.receiving) return null;
    const rc = this.h.recvStart();
    if (rc !== 0) return uvName(rc);
    this.receiving = true;
    return null;
  }

  /** The bound address, or null before the OS socket exists. */
  localAddress(): Rinfo | null {
    const out: Record<string, unknown> = {};
    return this.h.getsockname(out) === 0 ? { address: out.address as string, port: out.port as number } : null;
  }

  /** The connected peer, or null. */
  peerAddress(): Rinfo | null {
    const out: Record<string, unknown> = {};
    return this.h.getpeername(out) === 0 ? { address: out.address as string, port: out.port as number } : null;
  }

  /** SO_BROADCAST. */
  setBroadcast(on: boolean): string | null {
    const rc = this.h.setBroadcast(on);
    return rc === 0 ? null : uvName(rc);
  }

  /** SO_RCVBUF / SO_SNDBUF: sets when `size` > 0, returns the kernel's value (Linux doubles it) or a code. */
  bufferSize(recv: boolean, size: number): number | string {
    const ctx: Record<string, unknown> = {};
    const v = this.h.bufferSize(size, recv, ctx);
    if (typeof v === "number" && ctx.code === undefined) return v;
    return typeof ctx.code === "string" ? ctx.code : "EINVAL";
  }

  /** The socket's inode (its key in /proc/net/udp), or -1 before the OS socket exists. */
  inode(): number {
    if (this.ino < 0 && this.h.fd >= 0) {
      try { this.ino = fstatSync(this.h.fd).ino; } catch { /* closed under us */ }
    }
    return this.ino;
  }

  /** Is this an IPv6 socket (listed in /proc/net/udp6)? */
  get isIpv6(): boolean { return this.ipv6; }

  /** Closes the socket. Datagrams still queued in libuv are sent first (closing would cancel them). */
  close(): void {
    this.h.onmessage = null;
    this.closing = true;
    if (this.receiving) this.h.recvStop();
    if (this.queued === 0) this.h.close();
  }
}

/** A Linux socket-buffer default or limit ('rmem_default', 'rmem_max', ...), 0 where unknown. */
export function kernelDefault(name: "rmem_default" | "rmem_max" | "wmem_default" | "wmem_max"): number {
  try { return Number(readFileSync(`/proc/sys/net/core/${name}`, "latin1").trim()) || 0; } catch { return 0; }
}
