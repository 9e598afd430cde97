// The `net` backend's datagram socket (AF_INET, AF_INET6) over a libuv UDP handle (dgram-handle.ts).
// The record queue, error and option rules are the base class's (datagram-socket.ts); here: the handle,
// bind, connect and sends, which go to libuv at once, as sendto() does.
import { Buffer } from "node:buffer";
import { AF_INET6, SO_REUSEADDR, SO_BROADCAST, SO_SNDBUF, SO_RCVBUF } from "../../core/constants.js";
import { SocketError } from "../../core/errors.js";
import { FIELD } from "../../core/abi.js";
import { type Address, checkIp, checkTarget, ipOut, unboundAddress, describe } from "../../core/address.js";
import { notifyReady, memoryFreed } from "../../core/wake.js";
import { untrackDrops } from "../records.js";
import * as sys from "./dgram-handle.js";
import { DatagramSocketBase } from "./datagram-socket.js";

/** A datagram socket over a libuv UDP handle (AF_INET, AF_INET6). */
export class NetDatagramSocket extends DatagramSocketBase {
  /** The syscall layer's socket. */
  readonly port: sys.UdpPort;
  private inflight = 0;

  constructor(family: number) {
    super(family);
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
  }

  /** The socket's inode (DropSource). */
  inode(): number { return this.port.inode(); }

  /** Is it an IPv6 socket (DropSource)? */
  get isIpv6(): boolean { return this.port.isIpv6; }

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

  protected transmit(data: Uint8Array, host: string | null, port: number, address: Address | null): number {
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

  /** Python: socket.getsockname() — ['0.0.0.0', 0] until bound (explicitly or by a first send). */
  getsockname(): Address {
    const a = this.port.localAddress();
    return a ? ipOut(this.family, a.address, a.port) : unboundAddress(this.family);
  }

  protected hasOsSocket(): boolean {
    return this.port.fd >= 0;
  }

  protected apply(option: number, value: number): void {
    let err: string | null = null;
    if (option === SO_BROADCAST) err = this.port.setBroadcast(value !== 0);
    else if (option === SO_RCVBUF || option === SO_SNDBUF) {
      const rc = this.port.bufferSize(option === SO_RCVBUF, Math.max(1, value));
      if (typeof rc === "string") err = rc;
    }
    if (err) throw new SocketError(err, `setsockopt(SOL_SOCKET, ${option}, ${value})`);
  }

  protected osBufferSize(receive: boolean): number | null {
    const rc = this.port.bufferSize(receive, 0);
    return typeof rc === "number" ? rc : null;
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
