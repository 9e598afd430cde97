// The wasyncore_sock_v1 namespace for one module: descriptors over Node sockets, checked
// against the module's grants. Every call takes numbers and (pointer, length) pairs in the
// module's memory and returns >= 0 or -errno (WASI numbering); nothing here blocks.
//
// Readiness is level-triggered: sock_poll reports what each descriptor can do now —
//   listener: POLLIN while accepted connections wait
//   stream:   POLLIN while bytes, EOF or an error wait; POLLOUT while the write buffer is
//             below HIGH_WATER (or when a connect finished); POLLERR with an error; POLLHUP at EOF.
// Any change calls `wake`, and the runner schedules a pass.
import type * as net from "node:net";
import { isIP } from "node:net";
import * as sys from "../sys/net/handles.js";
import { Grants, normalizeHost } from "./grants.js";
import { wasiErrno, WASI_ERRNO as E } from "./abi.js";

const POLLIN = 0x001;
const POLLOUT = 0x004;
const POLLERR = 0x008;
const POLLHUP = 0x010;
/** Bytes a stream buffers toward its peer before sock_send answers EAGAIN. */
const HIGH_WATER = 1 << 20;
/** Received bytes a stream holds for the module before it stops reading. */
const RECV_PAUSE = 1 << 20;
/** Descriptors one module may hold. */
const MAX_FDS = 65536;

type State = "fresh" | "bound" | "listening" | "connecting" | "connected";

interface Entry {
  state: State;
  family: 4 | 6;
  server: sys.ServerHandle | null;
  pending: sys.UvStreamHandle[];
  stream: net.Socket | null;
  chunks: Buffer[];
  buffered: number;
  paused: boolean;
  eof: boolean;
  err: string | null;
  errReported: boolean;
  port: number;
}

function entry(family: 4 | 6): Entry {
  return { state: "fresh", family, server: null, pending: [], stream: null, chunks: [], buffered: 0, paused: false, eof: false, err: null, errReported: false, port: 0 };
}

/** The socket syscalls of one module. */
export class SocketTable {
  private readonly fds = new Map<number, Entry>();
  private nextFd = 3;
  private mem: () => WebAssembly.Memory;
  /** Connections and listeners denied by the grants (for logs and tests). */
  readonly denied: string[] = [];

  constructor(private readonly grants: Grants, memory: () => WebAssembly.Memory, private readonly wake: () => void) {
    this.mem = memory;
  }

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

  /** Open descriptors. */
  get size(): number { return this.fds.size; }

  /** Closes every socket at once (the module is gone): streams are destroyed, listeners closed. */
  closeAll(): void {
    for (const e of this.fds.values()) {
      e.stream?.destroy();
      e.server?.close();
      for (const h of e.pending) h.close();
    }
    this.fds.clear();
  }

  private text(ptr: number, len: number): string | null {
    const buf = this.mem().buffer;
    if (ptr < 0 || len < 0 || len > 1024 || ptr + len > buf.byteLength) return null;
    return Buffer.from(buf, ptr, len).toString("utf8");
  }

  /** The import object for WebAssembly.instantiate. */
  imports(): Record<string, (...args: number[]) => number> {
    return {
      sock_open: (family) => this.open(family),
      sock_bind: (fd, ptr, len, port) => this.bind(fd, ptr, len, port),
      sock_listen: (fd, backlog) => this.listen(fd, backlog),
      sock_accept: (fd) => this.accept(fd),
      sock_connect: (fd, ptr, len, port) => this.connect(fd, ptr, len, port),
      sock_send: (fd, ptr, len) => this.send(fd, ptr, len),
      sock_recv: (fd, ptr, len) => this.recv(fd, ptr, len),
      sock_close: (fd) => this.close(fd),
      sock_poll: (fds, n) => this.poll(fds, n),
      sock_error: (fd) => this.error(fd),
      sock_local_port: (fd) => this.localPort(fd),
    };
  }

  private open(family: number): number {
    if (family !== 4 && family !== 6) return -E.EAFNOSUPPORT;
    if (this.fds.size >= MAX_FDS) return -E.EMFILE;
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
    if (!this.grants.mayBind(t.host, t.port)) {
      this.denied.push(`listen ${t.host}:${t.port}`);
      return -E.EACCES;
    }
    const h = sys.bindTcp(e.family === 6, t.host, t.port);
    if (typeof h === "string") return -wasiErrno(h);
    e.server = h;
    e.state = "bound";
    e.port = sys.serverAddress(h)?.port ?? t.port;
    return 0;
  }

  private listen(fd: number, backlog: number): number {
    const e = this.fds.get(fd);
    if (!e) return -E.EBADF;
    if (e.state === "listening") return 0;
    if (e.state !== "bound" || !e.server) return -E.EACCES; // an unbound listen would pick an address nobody granted
    const err = sys.listen(e.server, Math.max(1, Math.min(backlog | 0, 65535)), (handle) => {
      if (this.fds.get(fd) !== e) { handle.close(); return; }
      e.pending.push(handle);
      this.wake();
    });
    if (err) return -wasiErrno(err);
    e.state = "listening";
    return 0;
  }

  private sink(e: Entry): sys.StreamSink {
    return {
      onData: (buf, n) => {
        e.chunks.push(Buffer.from(buf.subarray(0, n)));
        e.buffered += n;
        this.wake();
        if (e.buffered >= RECV_PAUSE) { e.paused = true; return false; }
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
    if (this.fds.size >= MAX_FDS) { handle.close(); return -E.EMFILE; }
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
    if (e.state === "connected") return -E.EISCONN;
    if (e.state === "connecting") return -E.EALREADY;
    if (e.state !== "fresh") return -E.EINVAL;
    const t = this.target(e, ptr, len, port);
    if (typeof t === "number") return t;
    if (!this.grants.mayConnect(t.host, t.port)) {
      this.denied.push(`connect ${t.host}:${t.port}`);
      return -E.EACCES;
    }
    e.state = "connecting";
    e.stream = sys.connect({ host: t.host, port: t.port, family: e.family }, this.sink(e));
    return 0;
  }

  private send(fd: number, ptr: number, len: number): number {
    const e = this.fds.get(fd);
    if (!e) return -E.EBADF;
    if (e.err) return -(e.err === "ECONNRESET" ? E.ECONNRESET : E.EPIPE);
    if (e.state === "connecting") return -E.EAGAIN;
    if (e.state !== "connected" || !e.stream) return -E.ENOTCONN;
    if (e.stream.writableEnded || e.stream.destroyed) return -E.EPIPE;
    if (e.stream.writableLength >= HIGH_WATER) return -E.EAGAIN;
    const buf = this.mem().buffer;
    if (ptr < 0 || len < 0 || ptr + len > buf.byteLength) return -E.EINVAL;
    if (len === 0) return 0;
    e.stream.write(Buffer.from(new Uint8Array(buf, ptr, len))); // a copy: module memory is reused at once
    return len;
  }

  private recv(fd: number, ptr: number, len: number): number {
    const e = this.fds.get(fd);
    if (!e) return -E.EBADF;
    const mem = new Uint8Array(this.mem().buffer);
    if (ptr < 0 || len < 0 || ptr + len > mem.length) return -E.EINVAL;
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
      if (e.paused && e.buffered < RECV_PAUSE / 2 && e.stream) {
        e.paused = false;
        sys.setReading(e.stream, true);
      }
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
    if (s && e.state === "connected" && !e.err && s.writableLength > 0) {
      // bytes the module sent are still delivered, then the socket closes
      s.end();
      s.once("finish", () => s.destroy());
      s.once("error", () => s.destroy());
    } else s?.destroy();
    e.server?.close();
    for (const h of e.pending) h.close();
    return 0;
  }

  private poll(ptr: number, n: number): number {
    const buf = this.mem().buffer;
    if (n < 0 || ptr < 0 || ptr + n * 8 > buf.byteLength) return -E.EINVAL;
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
        if (e.state === "connected" && e.stream && e.stream.writableLength < HIGH_WATER) rev |= POLLOUT;
      }
      rev &= want | POLLERR | POLLHUP;
      view.setUint16(at + 6, rev, true);
      if (rev) ready++;
    }
    return ready;
  }

  private error(fd: number): number {
    const e = this.fds.get(fd);
    if (!e) return E.EBADF;
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
