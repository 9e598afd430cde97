// The `net` backend's datagram socket (AF_INET, AF_INET6) without process.binding: NetDatagramSocket's
// semantics (datagram.ts; the shared rules in datagram-socket.ts) over node:dgram's public API, for where the
// libuv handles are refused.
// dgram binds after resolving the address; given a lookup that answers IP literals inside the call
// (createSocket's documented `lookup` option), bind, connect and sendto run synchronously as on the
// libuv handle: bind() throws EADDRINUSE, getsockname() has the port on the next line. Differences:
// a send error other than EMSGSIZE/EAGAIN (ENETUNREACH, EACCES) is reported on the next call, not
// thrown by sendto(); the kernel's drop count is found by the socket's port in /proc/net/udp.
import { Buffer } from "node:buffer";
import * as dgram from "node:dgram";
import { isIP } from "node:net";
import { readFileSync } from "node:fs";
import { AF_INET6, SO_REUSEADDR, SO_BROADCAST, SO_SNDBUF, SO_RCVBUF } from "../../core/constants.js";
import { SocketError } from "../../core/errors.js";
import { FIELD } from "../../core/abi.js";
import { type Address, checkIp, checkTarget, ipOut, unboundAddress, describe } from "../../core/address.js";
import { notifyReady, memoryFreed } from "../../core/wake.js";
import { untrackDrops } from "../records.js";
import { DatagramSocketBase } from "./datagram-socket.js";

type LookupCb = (err: NodeJS.ErrnoException | null, address: string, family: number) => void;

/** dgram's `lookup` option: IP literals answered inside the call (the engine only passes literals). */
function literalLookup(host: string, options: unknown, cb?: LookupCb): void {
  const done = (typeof options === "function" ? options : cb) as LookupCb;
  const family = isIP(host);
  if (family === 0) done(Object.assign(new Error(`not an IP address: ${host}`), { code: "EINVAL" }), "", 0);
  else done(null, host, family);
}

function nodeCode(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return typeof code === "string" && /^E[A-Z0-9]+$/.test(code) ? code : "EINVAL";
}

/** A datagram socket over node:dgram (AF_INET, AF_INET6). */
export class PublicDatagramSocket extends DatagramSocketBase {
  private sock: dgram.Socket | null = null; // made at bind, connect or the first send (the OS socket then exists)
  private caught: string | null = null; // an error dgram emitted inside a call of ours
  private ino = -1;
  private closeWhenSent = false; // close() waits for the datagrams Node still queues

  /** Is it an IPv6 socket (DropSource)? */
  get isIpv6(): boolean { return this.family === AF_INET6; }

  /** The socket's inode (DropSource): found by its port in /proc/net/udp{,6}; -1 before bound or where unreadable. */
  inode(): number {
    if (this.ino >= 0 || this.sock === null || this.state === "closed") return this.ino;
    let port: number;
    try { port = this.sock.address().port; } catch { return -1; }
    const hexPort = `:${port.toString(16).toUpperCase().padStart(4, "0")}`;
    let table: string;
    try { table = readFileSync(this.isIpv6 ? "/proc/net/udp6" : "/proc/net/udp", "latin1"); } catch { return -1; }
    const found: number[] = [];
    for (const line of table.split("\n")) {
      const cols = line.trim().split(/\s+/);
      if (cols.length > 9 && cols[1].endsWith(hexPort)) found.push(Number(cols[9]));
    }
    if (found.length === 1) this.ino = found[0]; // a shared port (SO_REUSEADDR) stays unknown
    return this.ino;
  }

  /** Makes the dgram socket (SO_REUSEADDR must be known now: Node takes it at creation). */
  private open(): dgram.Socket {
    if (this.sock !== null) return this.sock;
    const s = dgram.createSocket({
      type: this.family === AF_INET6 ? "udp6" : "udp4",
      reuseAddr: (this.options.get(SO_REUSEADDR) ?? 0) !== 0,
      lookup: literalLookup as unknown as dgram.SocketOptions["lookup"],
    });
    s.on("message", (buf: Buffer, rinfo: dgram.RemoteInfo) => this.onDatagram(buf, rinfo.address, rinfo.port));
    s.on("error", (err: unknown) => {
      if (this.caught === "") this.caught = nodeCode(err); // inside bind()/connect(): thrown there
      else this.onError(nodeCode(err));
    });
    this.sock = s;
    return s;
  }

  /** Runs `fn`, returning the error dgram emitted during it (synchronously) or threw, or null. */
  private during(fn: () => void): string | null {
    this.caught = "";
    try {
      fn();
    } catch (err) {
      this.caught = nodeCode(err);
    }
    const c = this.caught;
    this.caught = null;
    return c === "" ? null : c;
  }

  /** Python: socket.bind(address) for SOCK_DGRAM — synchronous. */
  bind(address: Address): void {
    const t = checkIp(this.family, address, "bind()", true);
    if (this.state !== "fresh") throw new SocketError("EINVAL", `bind(${describe(address)}): socket is already bound`);
    const s = this.open();
    const err = this.during(() => s.bind({ address: t.host, port: t.port, exclusive: true }));
    if (err) {
      this.sock = null; // a fresh one for the next try (dgram keeps no state worth reusing)
      s.close();
      throw new SocketError(err, `bind(${describe(address)})`);
    }
    this.state = "bound";
    this.opened();
  }

  /** Python: socket.connect(address) for SOCK_DGRAM — sets the default peer, synchronously. */
  connect(address: Address): void {
    const t = checkTarget(this.family, address, "connect()");
    const s = this.open();
    if (this.state === "connected") s.disconnect();
    const err = this.during(() => s.connect(t.port, t.host, (e?: Error) => { if (e) this.onError(nodeCode(e)); }));
    if (err) throw new SocketError(err, `connect(${describe(address)})`);
    // A connect(2) that failed in the kernel is reported by dgram a tick later (the callback above).
    this.state = "connected";
    this.peer = ipOut(this.family, t.host, t.port);
    this.opened();
  }

  /** The OS socket now exists: apply waiting options. */
  private opened(): void {
    for (const [opt, v] of this.options) this.apply(opt, v);
  }

  protected transmit(data: Uint8Array, host: string | null, port: number, address: Address | null): number {
    const what = (): string => address === null ? "send()" : `sendto(${describe(address)})`;
    if (this.errorCode) this.raisePending(what());
    const s = this.open();
    const inflight = this.state === "fresh" ? 0 : s.getSendQueueSize();
    if (inflight >= this.engine.field(this.token, FIELD.window)) throw new SocketError("EAGAIN", what());
    // what sendmsg(2) refuses at once (Node's dgram would report it a tick later)
    if (data.length > (this.family === AF_INET6 ? 65527 : 65507)) throw new SocketError("EMSGSIZE", `${what()} of ${data.length} bytes`);
    const copy = Buffer.from(data); // Node may keep it until the kernel takes it
    const onSent = (err: Error | null): void => {
      if (this.state === "closed") { if (this.closeWhenSent && s.getSendQueueCount() === 0) { this.closeWhenSent = false; s.close(); } return; }
      this.engine.setField(this.token, FIELD.inflight, s.getSendQueueSize());
      if (err) this.onError(nodeCode(err));
      else notifyReady(this.token);
    };
    const err = this.during(() => {
      if (host === null) s.send(copy, onSent);
      else s.send(copy, port, host, onSent);
    });
    if (err) throw new SocketError(err, `${what()} of ${data.length} bytes`);
    if (this.state === "fresh") { this.state = "bound"; this.opened(); } // dgram bound it
    this.engine.setField(this.token, FIELD.inflight, s.getSendQueueSize()); // what the kernel did not take at once
    return data.length;
  }

  /** Python: socket.getsockname() — ['0.0.0.0', 0] until bound (explicitly or by a first send). */
  getsockname(): Address {
    if (this.sock === null || this.state === "fresh" || this.state === "closed") return unboundAddress(this.family);
    const a = this.sock.address();
    return ipOut(this.family, a.address, a.port);
  }

  protected hasOsSocket(): boolean {
    return this.sock !== null && this.state !== "fresh";
  }

  protected apply(option: number, value: number): void {
    const s = this.sock!;
    let err: string | null = null;
    if (option === SO_BROADCAST) err = this.during(() => s.setBroadcast(value !== 0));
    else if (option === SO_RCVBUF) err = this.during(() => s.setRecvBufferSize(Math.max(1, value)));
    else if (option === SO_SNDBUF) err = this.during(() => s.setSendBufferSize(Math.max(1, value)));
    if (err) throw new SocketError(err, `setsockopt(SOL_SOCKET, ${option}, ${value})`);
  }

  protected osBufferSize(receive: boolean): number | null {
    try { return receive ? this.sock!.getRecvBufferSize() : this.sock!.getSendBufferSize(); } catch { return null; }
  }

  /** Datagrams sendto() took that Node still queues are sent; the socket then closes. */
  close(): void {
    if (this.state === "closed") return;
    untrackDrops(this);
    const s = this.sock;
    const wasFresh = this.state === "fresh";
    this.state = "closed";
    if (s !== null) {
      s.removeAllListeners("message");
      s.on("error", () => {}); // nobody's any more
      // Datagrams still queued are sent first (closing would cancel them): the last one's callback closes.
      if (wasFresh || s.getSendQueueCount() === 0) s.close();
      else this.closeWhenSent = true;
    }
    this.engine.core.chan_close(this.token);
    memoryFreed();
  }
}
