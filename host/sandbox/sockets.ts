// The wasyncore_sock_v1 namespace for one module: descriptors over Node sockets, checked against
// the module's grants and bounded by its budgets. Every call takes numbers and (pointer, length)
// pairs in the module's memory and returns >= 0 or -errno (WASI numbering); nothing here blocks.
//
// Readiness is level-triggered: sock_poll reports what each descriptor can do now —
//   listener: POLLIN while accepted connections wait
//   stream:   POLLIN while bytes, EOF or an error wait; POLLOUT while the socket is below its
//             high-water mark and the module's send budget has room; POLLERR; POLLHUP at EOF.
// Budgets (SocketLimits): bytes held toward peers and from peers per module, descriptors per module
// and per process, connections held for a listener (its backlog), listeners under a :0 grant,
// records per sock_poll. A closed socket lingers (counted) until its bytes are delivered or
// lingerMs passes; closeAll() destroys everything at once. Any change calls `wake`.
import type * as net from "node:net";
import { isIP } from "node:net";
import * as sys from "../sys/net/module-tcp.js";
import { Grants, normalizeHost } from "./grants.js";
import { wasiErrno, WASI_ERRNO as E } from "./abi.js";
import { DEFAULT_SOCKET_LIMITS, processFdBudget, type SocketLimits } from "./limits.js";
import { startConnect } from "./connects.js";


const [POLLIN, POLLOUT, POLLERR, POLLHUP] = [0x001, 0x004, 0x008, 0x010];

const tables = new Set<SocketTable>();

function processFdsUsed(): number {
  let n = 0;
  for (const t of tables) n += t.used();
  return n;
}

type State = "fresh" | "bound" | "listening" | "connecting" | "connected";

interface Entry {
  state: State;
  family: 4 | 6;
  server: sys.ServerHandle | null;
  pending: sys.HeldConnection[];
  backlog: number;
  ephemeral: boolean;
  stream: net.Socket | null;
  chunks: Buffer[];
  buffered: number;
  queued: number;
  dead: boolean;
  paused: boolean;
  eof: boolean;
  err: string | null;
  errReported: boolean;
  port: number;
}

function entry(family: 4 | 6): Entry {
  return { state: "fresh", family, server: null, pending: [], backlog: 0, ephemeral: false, stream: null, chunks: [], buffered: 0, queued: 0, dead: false, paused: false, eof: false, err: null, errReported: false, port: 0 };
}

/** What a module's sockets hold now (loopStats of the sandbox). */
export interface SocketStats {
  /** Descriptors the module has open. */ fds: number;
  /** Closed sockets still delivering their output. */ lingering: number;
  /** Connections waiting in the module's listen backlogs. */ pending: number;
  /** Bytes the host holds toward peers for the module. */ sendQueued: number;
  /** Bytes received and not yet read by the module. */ recvBuffered: number;
  /** Connections refused because a backlog or a budget was full. */ refused: number;
}

/** The socket syscalls of one module. */
export class SocketTable {
  private readonly fds = new Map<number, Entry>();
  private readonly lingering = new Set<Entry>();
  /** The next descriptor number (shared with the module's datagram sockets, datagrams.ts). */
  nextFd = 3;
  private sendQueued = 0;
  private recvBuffered = 0;
  private pendingCount = 0;
  private refusedCount = 0;
  private closed = false;
  protected readonly limits: SocketLimits;
  /** Connections and listeners denied by the grants (for logs and tests). */
  readonly denied: string[] = [];
  /** Listen attempts that failed ("listen 127.0.0.1:80: EADDRINUSE"), for the runner's exit status. */
  readonly listenFailures: string[] = [];
  /** Did any listen succeed? */
  listened = false;

  constructor(protected readonly grants: Grants, protected readonly mem: () => WebAssembly.Memory, protected readonly wake: () => void, limits: Partial<SocketLimits> = {}) {
    this.limits = { ...DEFAULT_SOCKET_LIMITS, ...limits };
    tables.add(this);
  }

  /** Descriptors counted against the budgets: open, lingering and waiting in backlogs. */
  used(): number { return this.fds.size + this.lingering.size + this.pendingCount; }

  /** Addresses the module listens on. */
  listening(): { host: string; port: number }[] {
    const out: { host: string; port: number }[] = [];
    for (const e of this.fds.values()) {
      if (e.state !== "listening" || !e.server) continue;
      const a = sys.serverAddress(e.server);
      if (a) out.push({ host: a.address, port: a.port });
    }
    return out;
  }

  /** What the module's sockets hold now. */
  stats(): SocketStats {
    return { fds: this.fds.size, lingering: this.lingering.size, pending: this.pendingCount, sendQueued: this.sendQueued, recvBuffered: this.recvBuffered, refused: this.refusedCount };
  }

  /** Stops accepting: listeners and their waiting connections are closed (the module is draining). */
  stopAccepting(): void {
    for (const e of this.fds.values()) {
      if (!e.server) continue;
      e.server.close();
      e.server = null;
      this.dropPending(e);
    }
  }

  private dropPending(e: Entry): void {
    this.pendingCount -= e.pending.length;
    for (const h of e.pending) h.close();
    e.pending = [];
  }

  /** Connected or connecting streams, lingering ones included. */
  streams(): number { return this.lingering.size + [...this.fds.values()].filter((e) => e.stream).length; }

  /** Destroys every socket at once (the module is gone), lingering ones included. */
  closeAll(): void {
    this.closed = true;
    for (const e of [...this.fds.values(), ...this.lingering]) this.destroy(e);
    this.fds.clear();
    this.lingering.clear();
    this.pendingCount = 0;
    tables.delete(this);
  }

  private destroy(e: Entry): void {
    e.dead = true;
    this.sendQueued -= e.queued;
    this.recvBuffered -= e.buffered;
    e.queued = e.buffered = 0;
    e.chunks = [];
    e.stream?.destroy();
    e.server?.close();
    this.dropPending(e);
  }

  private text(ptr: number, len: number): string | null {
    const buf = this.mem().buffer;
    if (ptr < 0 || len < 0 || len > 1024 || ptr + len > buf.byteLength) return null;
    return Buffer.from(buf, ptr, len).toString("utf8");
  }

  /** The import object for WebAssembly.instantiate (names: ABI_VERSIONS.wasyncore_sock_v1). */
  imports(): Record<string, (...args: number[]) => number> {
    return {
      sock_open: (family) => this.open(family),
      sock_bind: (fd, ptr, len, port) => this.bind(fd, ptr >>> 0, len >>> 0, port),
      sock_listen: (fd, backlog) => this.listen(fd, backlog),
      sock_accept: (fd) => this.accept(fd),
      sock_connect: (fd, ptr, len, port) => this.connect(fd, ptr >>> 0, len >>> 0, port),
      sock_send: (fd, ptr, len) => this.send(fd, ptr >>> 0, len >>> 0),
      sock_recv: (fd, ptr, len) => this.recv(fd, ptr >>> 0, len >>> 0),
      sock_close: (fd) => this.close(fd),
      sock_poll: (fds, n) => this.poll(fds >>> 0, n),
      sock_error: (fd) => this.error(fd),
      sock_local_port: (fd) => this.localPort(fd),
    };
  }

  /** Is the module's or the process's descriptor budget used up? */
  budgetFull(): boolean {
    return this.used() >= this.limits.maxFds || processFdsUsed() >= processFdBudget();
  }

  private open(family: number): number {
    if (this.closed) return -E.EBADF;
    if (family !== 4 && family !== 6) return -E.EAFNOSUPPORT;
    if (this.budgetFull()) return -E.EMFILE;
    const fd = this.nextFd++;
    this.fds.set(fd, entry(family));
    return fd;
  }

  private target(e: Entry, ptr: number, len: number, port: number): { host: string; port: number } | number {
    const raw = this.text(ptr, len);
    if (raw === null) return -E.EINVAL;
    if (!Number.isInteger(port) || port < 0 || port > 65535) return -E.EINVAL;
    const host = normalizeHost(raw);
    if (isIP(host) !== e.family) return -E.EAFNOSUPPORT;
    return { host, port };
  }

  private bind(fd: number, ptr: number, len: number, port: number): number {
    const e = this.fds.get(fd);
    if (!e) return -E.EBADF;
    if (e.state !== "fresh") return -E.EINVAL;
    const t = this.target(e, ptr, len, port);
    if (typeof t === "number") return t;
    const where = `${t.host.includes(":") ? `[${t.host}]` : t.host}:${t.port}`;
    if (!this.grants.mayBind(t.host, t.port)) {
      this.denied.push(`listen ${t.host}:${t.port}`);
      this.listenFailures.push(`listen ${where}: EACCES (not granted)`);
      return -E.EACCES;
    }
    if (t.port === 0) {
      let n = 0;
      for (const o of this.fds.values()) if (o.ephemeral) n++;
      if (n >= this.limits.ephemeralListeners) {
        this.listenFailures.push(`listen ${where}: EMFILE (a :0 grant allows ${this.limits.ephemeralListeners} listeners)`);
        return -E.EMFILE;
      }
    }
    const h = sys.bindTcp(e.family === 6, t.host, t.port);
    if (typeof h === "string") {
      this.listenFailures.push(`listen ${where}: ${h}`);
      return -wasiErrno(h);
    }
    e.server = h;
    e.state = "bound";
    e.ephemeral = t.port === 0;
    e.port = sys.serverAddress(h)?.port ?? t.port;
    return 0;
  }

  private listen(fd: number, backlog: number): number {
    const e = this.fds.get(fd);
    if (!e) return -E.EBADF;
    if (e.state === "listening") return 0;
    if (e.state !== "bound" || !e.server) return -E.EACCES; // an unbound listen would pick an address nobody granted
    e.backlog = Math.max(1, Math.min(backlog | 0, this.limits.maxBacklog));
    const err = sys.listen(e.server, e.backlog, (handle) => {
      // accept(2) happened in libuv already: hold at most the backlog, within the fd budgets
      if (e.dead || this.fds.get(fd) !== e || e.pending.length >= e.backlog || this.budgetFull()) {
        this.refusedCount++;
        handle.close();
        return;
      }
      e.pending.push(handle);
      this.pendingCount++;
      this.wake();
    });
    if (err) {
      this.listenFailures.push(`listen port ${e.port}: ${err}`);
      return -wasiErrno(err);
    }
    e.state = "listening";
    this.listened = true;
    return 0;
  }

  private pauseAll(): void {
    for (const o of this.fds.values()) {
      if (!o.paused && o.stream) {
        o.paused = true;
        sys.setReading(o.stream, false);
      }
    }
  }

  private resume(): void {
    if (this.recvBuffered >= this.limits.recvBudget / 2) return;
    for (const o of this.fds.values()) {
      if (o.paused && o.stream && o.buffered < this.limits.highWater / 2) {
        o.paused = false;
        sys.setReading(o.stream, true);
      }
    }
  }

  private sink(e: Entry): sys.StreamSink {
    return {
      onData: (buf, n) => {
        if (e.dead) return false;
        e.chunks.push(Buffer.from(buf.subarray(0, n)));
        e.buffered += n;
        this.recvBuffered += n;
        this.wake();
        if (this.recvBuffered >= this.limits.recvBudget) this.pauseAll(); // the module's budget: every socket stops
        if (e.buffered >= this.limits.highWater || e.paused) { e.paused = true; return false; }
        return true;
      },
      onEnd: () => { e.eof = true; this.wake(); },
      onError: (code) => { e.err ??= code; this.wake(); },
      onConnect: () => {
        if (e.state === "connecting") e.state = "connected";
        this.wake();
      },
    };
  }

  private accept(fd: number): number {
    const e = this.fds.get(fd);
    if (!e) return -E.EBADF;
    if (e.state !== "listening") return -E.EINVAL;
    const handle = e.pending.shift();
    if (!handle) return -E.EAGAIN;
    this.pendingCount--; // the handle moves from the backlog into the table: the count is unchanged
    const c = entry(e.family);
    c.state = "connected";
    c.stream = sys.adopt(handle, this.sink(c));
    const nfd = this.nextFd++;
    this.fds.set(nfd, c);
    return nfd;
  }

  private connect(fd: number, ptr: number, len: number, port: number): number {
    const e = this.fds.get(fd);
    if (!e) return -E.EBADF;
    return startConnect(e, () => this.target(e, ptr, len, port), this.grants, this.denied, () => this.sink(e));
  }

  private room(s: net.Socket): number {
    return Math.min(this.limits.highWater - s.writableLength, this.limits.sendBudget - this.sendQueued);
  }

  private send(fd: number, ptr: number, len: number): number {
    const e = this.fds.get(fd);
    if (!e) return -E.EBADF;
    if (e.err) return -(e.err === "ECONNRESET" ? E.ECONNRESET : E.EPIPE);
    if (e.state === "connecting") return -E.EAGAIN;
    const s = e.stream;
    if (e.state !== "connected" || !s) return -E.ENOTCONN;
    if (s.writableEnded || s.destroyed) return -E.EPIPE;
    const buf = this.mem().buffer;
    if (ptr + len > buf.byteLength) return -E.EINVAL;
    if (len === 0) return 0;
    const n = Math.min(len, this.room(s));
    if (n <= 0) return -E.EAGAIN;
    // a copy: module memory is reused at once; at most the room under both limits
    const chunk = Buffer.from(new Uint8Array(buf, ptr, n));
    e.queued += n;
    this.sendQueued += n;
    s.write(chunk, () => {
      if (e.dead) return;
      e.queued -= n;
      this.sendQueued -= n;
      this.wake();
    });
    return n;
  }

  private recv(fd: number, ptr: number, len: number): number {
    const e = this.fds.get(fd);
    if (!e) return -E.EBADF;
    const mem = new Uint8Array(this.mem().buffer);
    if (ptr + len > mem.length) return -E.EINVAL;
    if (e.buffered > 0 && len > 0) {
      let got = 0;
      while (got < len && e.chunks.length > 0) {
        const head = e.chunks[0];
        const n = Math.min(head.length, len - got);
        mem.set(head.subarray(0, n), ptr + got);
        got += n;
        if (n === head.length) e.chunks.shift();
        else e.chunks[0] = head.subarray(n);
      }
      e.buffered -= got;
      this.recvBuffered -= got;
      this.resume();
      return got;
    }
    if (e.err) return -wasiErrno(e.err);
    if (e.eof) return 0;
    if (e.state !== "connected") return -E.ENOTCONN;
    return -E.EAGAIN;
  }

  private close(fd: number): number {
    const e = this.fds.get(fd);
    if (!e) return -E.EBADF;
    this.fds.delete(fd);
    const s = e.stream;
    if (s && e.state === "connected" && !e.err && !s.destroyed && s.writableLength > 0) {
      // bytes the module sent are still delivered, then the socket closes; it lingers (counted)
      // until then, or until lingerMs passes, or the module stops
      this.recvBuffered -= e.buffered;
      e.buffered = 0;
      e.chunks = [];
      this.lingering.add(e);
      const done = (): void => {
        clearTimeout(timer);
        if (!this.lingering.delete(e)) return;
        this.destroy(e);
        this.wake();
      };
      const timer = setTimeout(done, this.limits.lingerMs);
      timer.unref();
      s.end();
      s.once("finish", done);
      s.once("close", done);
      s.once("error", done);
    } else this.destroy(e);
    this.resume();
    return 0;
  }

  private poll(ptr: number, n: number): number {
    const buf = this.mem().buffer;
    if (n < 0 || n > this.limits.maxPollRecords || ptr + n * 8 > buf.byteLength) return -E.EINVAL;
    const view = new DataView(buf);
    let ready = 0;
    for (let i = 0; i < n; i++) {
      const at = ptr + i * 8;
      const e = this.fds.get(view.getInt32(at, true));
      const want = view.getUint16(at + 4, true);
      let rev = 0;
      if (!e) rev = POLLERR;
      else if (e.state === "listening") {
        if (e.pending.length > 0) rev |= POLLIN;
      } else {
        if (e.buffered > 0 || e.eof || e.err) rev |= POLLIN;
        if (e.err) rev |= POLLERR;
        if (e.eof && e.buffered === 0) rev |= POLLHUP;
        if (e.state === "connected" && e.stream && this.room(e.stream) > 0) rev |= POLLOUT;
      }
      rev &= want | POLLERR | POLLHUP;
      view.setUint16(at + 6, rev, true);
      if (rev) ready++;
    }
    return ready;
  }

  private error(fd: number): number {
    const e = this.fds.get(fd);
    if (!e) return -E.EBADF;
    if (!e.err || e.errReported) return 0;
    e.errReported = true; // reading SO_ERROR clears it
    return wasiErrno(e.err);
  }

  private localPort(fd: number): number {
    const e = this.fds.get(fd);
    if (!e) return -E.EBADF;
    if (e.server) return sys.serverAddress(e.server)?.port ?? e.port;
    const p = e.stream?.localPort;
    return typeof p === "number" ? p : -E.ENOTCONN;
  }
}
