// The `net` backend's stream socket (TCP, Unix) over a libuv stream handle (stream.ts). Node is
// completion-based, asyncore readiness-based: this class and its base (stream-socket.ts, which holds the
// readiness and byte rules it shares with public-socket.ts) turn the handle's events into its channel's
// readiness in the core (as mio adapts IOCP). Here: bind, listen, accept (a queued connection on a listener
// → host-ready READABLE), connect, and the write path (a large send straight to the OS, the queue through
// one staging buffer per pass).
import { AF_INET6, AF_UNIX } from "../../core/constants.js";
import { SocketError } from "../../core/errors.js";
import { FIELD, R } from "../../core/abi.js";
import { type Address, checkIp, checkPath, ipOut, unboundAddress, describe } from "../../core/address.js";
import { notifyReady } from "../../core/wake.js";
import * as sys from "./handles.js";
import { adoptRaw, connectRaw, type RawStream, type RawTarget } from "./stream.js";
import { bindPort } from "./shared.js";
import { DIRECT_MIN, STAGING, releaseStaging, retireStaging, staging, stagingView } from "./staging.js";
import { StreamSocketBase } from "./stream-socket.js";

// Shared empty default (never mutated): most sockets never queue connections.
const NONE_PENDING: sys.UvStreamHandle[] = [];

/** A stream socket over a libuv handle, its buffers in the core. */
export class NetStreamSocket extends StreamSocketBase<RawStream> {
  private server: sys.ServerHandle | null = null;
  private accepted: sys.UvStreamHandle[] = NONE_PENDING; // a listener's own array from its first connection

  /** Python: socket.bind(address) — synchronous, as in asyncore. */
  bind(address: Address): void {
    if (this.state !== "fresh") throw new SocketError("EINVAL", `bind(${describe(address)}): socket is already ${this.state}`);
    let h: sys.ServerHandle | string;
    if (this.family === AF_UNIX) {
      const path = checkPath(address, "bind()");
      h = sys.bindPipe(path);
      if (typeof h !== "string") this.boundAddr = path;
    } else {
      const t = checkIp(this.family, address, "bind()", true);
      h = bindPort(this.family === AF_INET6, t.host, t.port, (this.options?.get("reuseport") ?? 0) !== 0, address);
      if (typeof h !== "string") {
        const a = sys.serverAddress(h);
        this.boundAddr = ipOut(this.family, a?.address ?? t.host, a?.port ?? t.port);
      }
    }
    if (typeof h === "string") throw new SocketError(h, `bind(${describe(address)})`);
    this.server = h;
    this.state = "bound";
    this.setOption("reuseaddr", 1); // libuv sets SO_REUSEADDR on every TCP bind
  }

  /** Python: socket.listen(backlog) */
  listen(backlog: number): void {
    if (this.state === "listening") return;
    if (this.state !== "bound" || !this.server) {
      // Python binds an unbound socket to an ephemeral port; do the same on loopback-free any address.
      if (this.state !== "fresh") throw new SocketError("EINVAL", `listen(): socket is ${this.state}`);
      this.bind(this.family === AF_UNIX ? `\0wasyncore-${process.pid}-${this.token}` : ["", 0]);
    }
    const err = sys.listen(this.server!, Math.max(backlog, 1), (handle) => this.onConnection(handle));
    if (err) throw new SocketError(err, `listen(${backlog})`);
    this.state = "listening";
  }

  private onConnection(handle: sys.UvStreamHandle): void {
    if (this.state !== "listening") { handle.close(); return; }
    // hostReady goes to R with the first pending connection, back to 0 when accept() takes the last
    if (this.accepted === NONE_PENDING) this.accepted = [];
    if (this.accepted.push(handle) === 1) this.engine.setField(this.token, FIELD.hostReady, R);
    notifyReady(this.token);
  }

  /** Python: socket.accept() — null when nothing is pending (no Error built per empty poll). */
  acceptOrNull(): [NetStreamSocket, Address] | null {
    if (this.state !== "listening") throw new SocketError("EINVAL", "accept(): socket is not listening");
    const handle = this.accepted.shift();
    if (this.accepted.length === 0) this.engine.setField(this.token, FIELD.hostReady, 0);
    if (!handle) return null;
    const sock = new NetStreamSocket(this.family);
    sock.inheritOptions(this);
    sock.adopted(adoptRaw(handle, sock));
    if (this.family === AF_UNIX) sock.peerAddr = "";
    let addr: Address;
    if (this.family === AF_UNIX) addr = "";
    else {
      const peer = sys.peerOf(handle);
      addr = typeof peer === "string" ? unboundAddress(this.family) : ipOut(this.family, peer.address, peer.port);
      if (typeof peer !== "string") sock.peerAddr = addr;
    }
    return [sock, addr];
  }

  /**
   * Starts a connect. Completion (or failure) shows up as readiness on a later pass;
   * errors known now (bad address, missing Unix path) throw at once.
   */
  connect(address: Address): void {
    if (this.state === "connected" || this.state === "connecting") throw new SocketError(this.state === "connected" ? "EISCONN" : "EALREADY", `connect(${describe(address)})`);
    if (this.state === "listening") throw new SocketError("EINVAL", `connect(${describe(address)}): socket is listening`);
    let target: RawTarget;
    if (this.family === AF_UNIX) {
      const path = checkPath(address, "connect()");
      // A Unix connect fails at once in the kernel when the path is missing: throw now, as Python does.
      const err = sys.unixPathError(path);
      if (err) throw new SocketError(err, `connect(${describe(address)})`);
      target = { path };
      this.peerAddr = path;
    } else {
      const t = checkIp(this.family, address, "connect()", false);
      target = { host: t.host, port: t.port, family: this.family === AF_INET6 ? 6 : 4 };
      if (this.boundAddr && Array.isArray(this.boundAddr)) {
        // A bound client: hand the local address to Node's connect instead of the listener handle.
        Object.assign(target, { localAddress: this.boundAddr[0], localPort: this.boundAddr[1] });
        this.server?.close();
        this.server = null;
      }
      this.peerAddr = ipOut(this.family, t.host, t.port);
    }
    this.state = "connecting";
    this.stream = connectRaw(target, this);
    this.applyOptions();
  }

  /** A write that went on after its call completed (RawSink). */
  onWritten(buf: Uint8Array): void {
    releaseStaging(buf);
    if (this.state === "closed" || !this.stream) return;
    this.engine.setField(this.token, FIELD.inflight, this.stream.pending);
    notifyReady(this.token);
  }

  /**
   * A large send on an empty output queue goes to the OS socket now, as CPython's send() does:
   * one copy (into staging) instead of two (into the core, then out of it at the pass's flush).
   * Returns the bytes taken, or 0 to take the queue's path (bytes queued first, little room).
   */
  protected override sendNow(data: Uint8Array): number {
    const e = this.engine, t = this.token, s = this.stream;
    if (data.length < DIRECT_MIN || s === null || e.core.chan_get(t, FIELD.outLen) !== 0) return 0;
    const n = Math.min(data.length, e.core.chan_get(t, FIELD.window) - s.pending, STAGING);
    if (n < DIRECT_MIN) return 0;
    e.stamp();
    if (e.core.out_direct(t, n) !== 1) return 0; // no memory for output: the queue's path says so
    staging.set(n === data.length ? data : new Uint8Array(data.buffer, data.byteOffset, n));
    const buf = stagingView(n);
    const rc = s.write(buf);
    if (rc !== true && rc !== false) {
      this.onError(rc);
      throw new SocketError(rc === "ECONNRESET" ? "ECONNRESET" : "EPIPE", "send()");
    }
    if (rc) { // completes later and keeps staging
      retireStaging();
      e.setField(t, FIELD.inflight, s.pending);
      notifyReady(t);
    }
    return n;
  }

  /** Writes the output queue to the OS socket (once per pass). */
  flush(): void {
    this.flushQueued = false;
    const s = this.stream;
    if (this.state !== "connected" || s === null) return;
    const n = this.engine.takeOutInto(this.token, staging);
    if (n === 0) return;
    const buf = n > 0 ? stagingView(n) : this.engine.takeOut(this.token)!;
    this.outputTaken();
    const rc = s.write(buf);
    if (rc === true) { // completes later and keeps buf
      if (buf.buffer === staging.buffer) retireStaging();
      this.engine.setField(this.token, FIELD.inflight, s.pending);
    } else if (rc !== false) this.onError(rc);
    notifyReady(this.token); // the output queue shrank: writable again
  }

  protected closeListener(): void {
    this.server?.close();
    for (const h of this.accepted) h.close();
    this.server = null;
    this.accepted = NONE_PENDING;
  }
}
