// Datagram sockets of one module (ABI wasyncore_sock_v3): ModuleSockets is the module's socket table
// (sockets.ts) with UDP descriptors beside its streams, numbered from the same counter and counted in
// the same descriptor budgets. Every call takes numbers and (pointer, length) pairs in the module's
// memory and returns >= 0 or -errno (WASI numbering); nothing here blocks.
//
//   sock_open_dgram(family)                          → fd (family 4 or 6)
//   sock_bind(fd, host, hostLen, port)               → 0; a datagram socket needs a --listen-udp grant
//   sock_sendto(fd, ptr, len, host, hostLen, port)   → len; one datagram of 0..65507 bytes to an IP literal
//   sock_recvfrom(fd, ptr, len, addr, addrCap)       → bytes copied; at `addr`: port u16, host length u16,
//                                                      the datagram's full length u32, then the host's text
// A datagram longer than `len` is truncated and the rest discarded, as recvfrom(2) does; the full
// length at addr+4 tells the module (as MSG_TRUNC would). sock_poll: POLLIN while a datagram waits,
// POLLOUT while the send budget and the rate allow one more. sock_recv reads one datagram without its
// sender; sock_send is EDESTADDRREQ, sock_listen/accept/connect ENOTSUP (no connected datagram sockets).
//
// Where a module may send: an --allow-udp address; or, from a socket bound under --listen-udp, any
// sender whose datagram that socket queued in the last dgramReplyMs (at most dgramPeers senders per
// socket, the oldest forgotten first) — so a UDP server answers its clients. Everything else: EACCES.
// Budgets (SocketLimits): dgramQueue datagrams per socket and dgramRecvBudget bytes per module wait
// for the module (more are dropped and counted); dgramSendBudget bytes wait in libuv toward the
// network; dgramSendRate datagrams per second (a token bucket of one second's worth).
import { isIP } from "node:net";
import * as udp from "../sys/net/module-udp.js";
import { SocketTable } from "./sockets.js";
import { Grants, normalizeHost } from "./grants.js";
import { wasiErrno, WASI_ERRNO as E } from "./abi.js";
import type { SocketLimits } from "./limits.js";

const [POLLIN, POLLOUT, POLLERR] = [0x001, 0x004, 0x008];
/** The largest UDP payload over IPv4 (65535 - 8 - 20); larger sends fail with EMSGSIZE. */
export const MAX_DATAGRAM = 65507;
const DENIED_LOGGED = 100; // datagram denials kept in `denied` per module (a flood is counted, not listed)

interface Datagram { data: Buffer; host: string; port: number; }

interface Dgram {
  family: 4 | 6;
  port: udp.ModuleUdpPort;
  listenGrant: boolean; // bound under --listen-udp: may reply to recent senders
  ephemeral: boolean; // bound under a :0 grant (at most limits.ephemeralListeners at once)
  bound: boolean; // bound by sock_bind, or implicitly by the first send
  receiving: boolean;
  queue: Datagram[];
  queuedBytes: number;
  sending: number; // bytes of this socket waiting in libuv
  peers: Map<string, number>; // "host|port" → ms of its last datagram, oldest first
  err: string | null;
  errReported: boolean;
  dead: boolean;
}

/** What a module's datagram sockets hold and did (loopStats of the sandbox). */
export interface DatagramStats {
  /** Datagram descriptors the module has open. */ sockets: number;
  /** Datagrams waiting for the module. */ queued: number;
  /** Bytes of those datagrams. */ queuedBytes: number;
  /** Bytes the host holds toward the network for the module. */ sendQueued: number;
  /** Datagrams dropped because a socket's queue or the module's budget was full. */ dropped: number;
  /** Datagrams the module sent. */ sent: number;
  /** Datagrams the module received (queued for it). */ received: number;
  /** sendto calls refused by the grants. */ denied: number;
}

/** The socket syscalls of one module, datagrams included (wasyncore_sock_v3). */
export class ModuleSockets extends SocketTable {
  private readonly dgrams = new Map<number, Dgram>();
  private dgramBytes = 0;
  private dgramSending = 0;
  private tokens: number;
  private refilled = Date.now();
  private refillTimer: NodeJS.Timeout | null = null;
  private counts = { dropped: 0, sent: 0, received: 0, denied: 0 };
  private shut = false;

  constructor(grants: Grants, memory: () => WebAssembly.Memory, wakeUp: () => void, limits: Partial<SocketLimits> = {}) {
    super(grants, memory, wakeUp, limits);
    this.tokens = this.limits.dgramSendRate;
  }

  /** Descriptors counted against the budgets: streams (sockets.ts) and datagram sockets. */
  override used(): number { return super.used() + this.dgrams.size; }

  /** Addresses the module's --listen-udp sockets are bound to. */
  listeningUdp(): { host: string; port: number }[] {
    const out: { host: string; port: number }[] = [];
    for (const d of this.dgrams.values()) {
      const a = d.listenGrant ? d.port.localAddress() : null;
      if (a) out.push({ host: a.address, port: a.port });
    }
    return out;
  }

  /** What the module's datagram sockets hold and did. */
  datagramStats(): DatagramStats {
    let queued = 0;
    for (const d of this.dgrams.values()) queued += d.queue.length;
    return { sockets: this.dgrams.size, queued, queuedBytes: this.dgramBytes, sendQueued: this.dgramSending, ...this.counts };
  }

  /** Destroys every socket at once, datagram sockets included. */
  override closeAll(): void {
    this.shut = true;
    for (const d of this.dgrams.values()) this.destroyDgram(d);
    this.dgrams.clear();
    if (this.refillTimer) clearTimeout(this.refillTimer);
    super.closeAll();
  }

  /** The import object: v1's functions (which also take datagram descriptors) and v3's additions. */
  override imports(): Record<string, (...args: number[]) => number> {
    const base = super.imports();
    const is = (fd: number): boolean => this.dgrams.has(fd);
    return {
      ...base,
      sock_bind: (fd, ptr, len, port) => is(fd) ? this.bindDgram(fd, ptr >>> 0, len >>> 0, port) : base.sock_bind(fd, ptr, len, port),
      sock_listen: (fd, backlog) => is(fd) ? -E.ENOTSUP : base.sock_listen(fd, backlog),
      sock_accept: (fd) => is(fd) ? -E.ENOTSUP : base.sock_accept(fd),
      sock_connect: (fd, ptr, len, port) => is(fd) ? -E.ENOTSUP : base.sock_connect(fd, ptr, len, port),
      sock_send: (fd, ptr, len) => is(fd) ? -E.EDESTADDRREQ : base.sock_send(fd, ptr, len),
      sock_recv: (fd, ptr, len) => is(fd) ? this.recvfrom(fd, ptr >>> 0, len >>> 0, 0, 0) : base.sock_recv(fd, ptr, len),
      sock_close: (fd) => is(fd) ? this.closeDgram(fd) : base.sock_close(fd),
      sock_error: (fd) => is(fd) ? this.errorDgram(fd) : base.sock_error(fd),
      sock_local_port: (fd) => is(fd) ? (this.dgrams.get(fd)!.port.localAddress()?.port ?? 0) : base.sock_local_port(fd),
      sock_poll: (fds, n) => this.pollAll(base.sock_poll, fds >>> 0, n),
      sock_open_dgram: (family) => this.openDgram(family),
      sock_sendto: (fd, ptr, len, hptr, hlen, port) => this.sendto(base, fd, ptr >>> 0, len >>> 0, hptr >>> 0, hlen >>> 0, port),
      sock_recvfrom: (fd, ptr, len, aptr, acap) => is(fd) ? this.recvfrom(fd, ptr >>> 0, len >>> 0, aptr >>> 0, acap >>> 0) : this.notDgram(base, fd),
    };
  }

  private notDgram(base: Record<string, (...args: number[]) => number>, fd: number): number {
    // a stream descriptor answers sock_local_port without side effects: EBADF only when unknown
    return base.sock_local_port(fd) === -E.EBADF ? -E.EBADF : -E.ENOTSUP;
  }

  private destroyDgram(d: Dgram): void {
    d.dead = true;
    this.dgramBytes -= d.queuedBytes;
    this.dgramSending -= d.sending;
    d.queue = [];
    d.queuedBytes = d.sending = 0;
    d.peers.clear();
    d.port.close();
  }

  private dgramText(ptr: number, len: number): string | null {
    const buf = this.mem().buffer;
    if (len > 1024 || ptr + len > buf.byteLength) return null;
    return Buffer.from(buf, ptr, len).toString("utf8");
  }

  /** An IP literal of the socket's family and a port, or -errno. */
  private address(d: Dgram, ptr: number, len: number, port: number, anyPort: boolean): { host: string; port: number } | number {
    const raw = this.dgramText(ptr, len);
    if (raw === null) return -E.EINVAL;
    if (!Number.isInteger(port) || port < (anyPort ? 0 : 1) || port > 65535) return -E.EINVAL;
    const host = normalizeHost(raw);
    const v = isIP(host);
    if (v === 0) return -E.EINVAL; // no name resolution inside the sandbox
    if (v !== d.family) return -E.EAFNOSUPPORT;
    return { host, port };
  }

  private openDgram(family: number): number {
    if (this.shut) return -E.EBADF;
    if (family !== 4 && family !== 6) return -E.EAFNOSUPPORT;
    if (this.budgetFull()) return -E.EMFILE;
    const fd = this.nextFd++;
    const d: Dgram = {
      family, listenGrant: false, ephemeral: false, bound: false, receiving: false, queue: [], queuedBytes: 0, sending: 0,
      peers: new Map(), err: null, errReported: false, dead: false, port: null as unknown as udp.ModuleUdpPort,
    };
    d.port = udp.openUdp(family === 6, {
      onDatagram: (buf, host, port) => this.arrived(d, buf, host, port),
      onError: (code) => { if (!d.dead) { d.err ??= code; this.wake(); } },
      onSent: (bytes) => {
        if (d.dead) return;
        d.sending -= bytes;
        this.dgramSending -= bytes;
        this.wake();
      },
    });
    this.dgrams.set(fd, d);
    return fd;
  }

  private arrived(d: Dgram, buf: Buffer, host: string, port: number): void {
    if (d.dead) return;
    if (d.queue.length >= this.limits.dgramQueue || this.dgramBytes + buf.length > this.limits.dgramRecvBudget) {
      this.counts.dropped++; // a full receive queue drops, as the kernel's does
      return;
    }
    d.queue.push({ data: buf, host, port });
    d.queuedBytes += buf.length;
    this.dgramBytes += buf.length;
    this.counts.received++;
    if (d.listenGrant) {
      const key = `${host}|${port}`;
      d.peers.delete(key); // re-inserted as the newest
      d.peers.set(key, Date.now());
      if (d.peers.size > this.limits.dgramPeers) d.peers.delete(d.peers.keys().next().value!);
    }
    this.wake();
  }

  private startReceiving(d: Dgram): void {
    if (d.receiving) return;
    const err = d.port.startReceiving();
    if (err) d.err ??= err;
    else d.receiving = true;
  }

  private bindDgram(fd: number, ptr: number, len: number, port: number): number {
    const d = this.dgrams.get(fd)!;
    if (d.bound) return -E.EINVAL;
    const t = this.address(d, ptr, len, port, true);
    if (typeof t === "number") return t;
    const where = `${t.host.includes(":") ? `[${t.host}]` : t.host}:${t.port}`;
    if (!this.grants.mayBindUdp(t.host, t.port)) {
      this.denied.push(`listen-udp ${where}`);
      this.listenFailures.push(`listen-udp ${where}: EACCES (not granted)`);
      return -E.EACCES;
    }
    if (t.port === 0 && [...this.dgrams.values()].filter((o) => o.ephemeral).length >= this.limits.ephemeralListeners) {
      this.listenFailures.push(`listen-udp ${where}: EMFILE (a :0 grant allows ${this.limits.ephemeralListeners} sockets)`);
      return -E.EMFILE;
    }
    const err = d.port.bind(t.host, t.port);
    if (err) {
      this.listenFailures.push(`listen-udp ${where}: ${err}`);
      return -wasiErrno(err);
    }
    d.bound = d.listenGrant = true;
    d.ephemeral = t.port === 0;
    this.listened = true;
    this.startReceiving(d);
    return 0;
  }

  /** Is a reply to host:port allowed from this socket (a sender it queued within dgramReplyMs)? */
  private recentPeer(d: Dgram, host: string, port: number): boolean {
    if (!d.listenGrant) return false;
    const seen = d.peers.get(`${host}|${port}`);
    return seen !== undefined && Date.now() - seen <= this.limits.dgramReplyMs;
  }

  /** The send rate's tokens now (refilled by elapsed time, at most one second's worth). */
  private refill(): number {
    const now = Date.now();
    this.tokens = Math.min(this.limits.dgramSendRate, this.tokens + ((now - this.refilled) * this.limits.dgramSendRate) / 1000);
    this.refilled = now;
    return this.tokens;
  }

  /** Wakes the module when the next token is due (a module waiting for POLLOUT is not left waiting). */
  private armRefill(): void {
    if (this.refillTimer || this.shut) return;
    const ms = Math.max(1, Math.ceil(((1 - this.tokens) * 1000) / this.limits.dgramSendRate) + 1);
    this.refillTimer = setTimeout(() => { this.refillTimer = null; this.wake(); }, ms);
    this.refillTimer.unref();
  }

  /** Takes a token of the send rate; false (and a wake-up armed for the next one) when none is left. */
  private takeToken(): boolean {
    if (this.refill() >= 1) return true;
    this.armRefill();
    return false;
  }

  /** POLLOUT: a token is there and the send budget has room (else a wake-up is armed for the token). */
  private canSend(): boolean {
    if (this.refill() < 1) { this.armRefill(); return false; }
    // room for the largest datagram, so a module told POLLOUT is not then told EAGAIN
    return this.dgramSending === 0 || this.dgramSending + MAX_DATAGRAM <= this.limits.dgramSendBudget;
  }

  private sendto(base: Record<string, (...args: number[]) => number>, fd: number, ptr: number, len: number, hptr: number, hlen: number, port: number): number {
    const d = this.dgrams.get(fd);
    if (!d) return this.notDgram(base, fd);
    if (ptr + len > this.mem().buffer.byteLength) return -E.EINVAL;
    if (len > MAX_DATAGRAM) return -E.EMSGSIZE;
    const t = this.address(d, hptr, hlen, port, false);
    if (typeof t === "number") return t;
    if (!this.grants.maySendUdp(t.host, t.port) && !this.recentPeer(d, t.host, t.port)) {
      if (this.counts.denied++ < DENIED_LOGGED) this.denied.push(`sendto ${t.host}:${t.port}`);
      return -E.EACCES;
    }
    if (this.dgramSending + len > this.limits.dgramSendBudget && this.dgramSending > 0) return -E.EAGAIN;
    if (!this.takeToken()) return -E.EAGAIN;
    // a copy: module memory is reused at once
    const data = Buffer.from(new Uint8Array(this.mem().buffer, ptr, len));
    const r = d.port.send(data, t.host, t.port);
    if (typeof r === "string") return -wasiErrno(r);
    this.tokens -= 1;
    this.counts.sent++;
    if (r === udp.QUEUED) {
      d.sending += len;
      this.dgramSending += len;
    }
    if (!d.bound) { d.bound = true; this.startReceiving(d); } // the first send bound an ephemeral port: replies can arrive
    return len;
  }

  private recvfrom(fd: number, ptr: number, len: number, aptr: number, acap: number): number {
    const d = this.dgrams.get(fd)!;
    const mem = new Uint8Array(this.mem().buffer);
    if (ptr + len > mem.length) return -E.EINVAL;
    if (acap !== 0 && (acap < 8 || aptr + acap > mem.length)) return -E.EINVAL;
    const g = d.queue.shift();
    if (!g) {
      if (d.err && !d.errReported) { d.errReported = true; return -wasiErrno(d.err); }
      return -E.EAGAIN;
    }
    d.queuedBytes -= g.data.length;
    this.dgramBytes -= g.data.length;
    const n = Math.min(len, g.data.length); // the rest of a longer datagram is discarded, as recvfrom(2) does
    mem.set(g.data.subarray(0, n), ptr);
    if (acap !== 0) {
      const host = Buffer.from(g.host, "latin1").subarray(0, acap - 8);
      const view = new DataView(mem.buffer);
      view.setUint16(aptr, g.port, true);
      view.setUint16(aptr + 2, host.length, true);
      view.setUint32(aptr + 4, g.data.length, true);
      mem.set(host, aptr + 8);
    }
    return n;
  }

  private closeDgram(fd: number): number {
    const d = this.dgrams.get(fd)!;
    this.dgrams.delete(fd);
    this.destroyDgram(d);
    return 0;
  }

  private errorDgram(fd: number): number {
    const d = this.dgrams.get(fd)!;
    if (!d.err || d.errReported) return 0;
    d.errReported = true;
    return wasiErrno(d.err);
  }

  private pollAll(base: (...args: number[]) => number, ptr: number, n: number): number {
    let ready = base(ptr, n);
    if (ready < 0 || this.dgrams.size === 0) return ready;
    const view = new DataView(this.mem().buffer);
    let canSend: boolean | null = null; // asked once, and only when a record wants POLLOUT
    for (let i = 0; i < n; i++) {
      const at = ptr + i * 8;
      const d = this.dgrams.get(view.getInt32(at, true));
      if (!d) continue;
      if (view.getUint16(at + 6, true) !== 0) ready--; // the stream table did not know this descriptor
      let rev = 0;
      if (d.queue.length > 0 || (d.err && !d.errReported)) rev |= POLLIN;
      if (d.err && !d.errReported) rev |= POLLERR;
      const want = view.getUint16(at + 4, true);
      if (want & POLLOUT) {
        canSend ??= this.canSend();
        if (canSend) rev |= POLLOUT;
      }
      rev &= want | POLLERR;
      view.setUint16(at + 6, rev, true);
      if (rev) ready++;
    }
    return ready;
  }
}
