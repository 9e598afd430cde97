// TCP and Unix stream sockets straight over libuv handles, without net.Socket (issue 7).
//
// net.Socket costs a Readable and a Writable per connection (~2 KB of heap, a stream event and
// several ticks per chunk). A Socket needs far less: bytes in (copied into the core at once),
// bytes out (one write per channel per pass), EOF, errors, connect. So this module drives the
// handle itself, the way net.js does underneath:
//   reads   → handle.onread with one shared user buffer (no Buffer per read)
//   writes  → handle.writeBuffer(req, buf); most finish inside the call (libuv's try-write),
//             and then the caller may reuse `buf` at once; the rest complete later (onWritten)
//   end     → shutdown after the pending writes, then close
// Every callback is a shared function that finds its stream through the handle or request,
// so a connection holds no closures.
import { Buffer } from "node:buffer";
import { isIP } from "node:net";
import { lookup } from "node:dns";
import { binding, uvName } from "./uv.js";
import type { UvStreamHandle } from "./handles.js";

/** What a raw stream reports to its owner. */
export interface RawSink {
  /** Bytes arrived in `buf[0, n)` (valid only during the call). Return false to stop reading. */
  onData(buf: Uint8Array, n: number): boolean;
  onEnd(): void;
  onError(code: string): void;
  onConnect(): void;
  /** A write that did not finish at once has completed (`pending` shrank; `buf`, the buffer it took, is free again). */
  onWritten(buf: Uint8Array): void;
}

interface Handle extends UvStreamHandle {
  onread: (this: Handle) => void;
  useUserBuffer(buf: Uint8Array): void;
  readStart(): number;
  readStop(): number;
  writeBuffer(req: WriteReq, buf: Uint8Array): number;
  shutdown(req: ShutdownReq): number;
  setNoDelay?(on: boolean): number;
  setKeepAlive?(on: boolean, delaySecs: number): number;
  bind?(host: string, port: number): number;
  bind6?(host: string, port: number, flags: number): number;
  connect(req: ConnectReq, hostOrPath: string, port?: number): number;
  connect6?(req: ConnectReq, host: string, port: number): number;
  [OWNER]?: RawStream;
}
interface WriteReq { handle: Handle; oncomplete: (this: WriteReq, status: number) => void; async: boolean; stream?: RawStream; bytes?: number; buffer?: Uint8Array | null; }
interface ShutdownReq { handle: Handle; oncomplete: (this: ShutdownReq, status: number) => void; stream?: RawStream; }
interface ConnectReq { oncomplete: (this: ConnectReq, status: number) => void; stream?: RawStream; }

const OWNER = Symbol("wasyncore.rawStream");

interface StreamWrap {
  WriteWrap: new () => WriteReq;
  ShutdownWrap: new () => ShutdownReq;
  streamBaseState: Int32Array;
  kReadBytesOrError: number;
  kLastWriteWasAsync: number;
}
let sw: StreamWrap | undefined;
let UV_EOF = -4095;
const wrap = (): StreamWrap => {
  if (sw === undefined) {
    sw = binding("stream_wrap") as StreamWrap;
    UV_EOF = binding("uv").UV_EOF as number;
  }
  return sw;
};

// One receive buffer for every stream: each read is copied into the core before the next.
const readBuffer = Buffer.allocUnsafeSlow(65536);
// A write request object is only bound to libuv when its write goes asynchronous; until then one serves every write.
let spareReq: WriteReq | null = null;

function onRead(this: Handle): void {
  const s = this[OWNER];
  if (s === undefined || s.handle === null) return;
  const nread = sw!.streamBaseState[sw!.kReadBytesOrError];
  if (nread > 0) {
    if (s.sink.onData(readBuffer, nread) === false) s.setReading(false);
    return;
  }
  if (nread === 0) return;
  s.reading = false; // libuv stops reading at EOF and on a read error
  if (nread === UV_EOF) s.sink.onEnd();
  else s.sink.onError(uvName(nread));
}

function ignoreRead(): void {}

function onWriteDone(this: WriteReq, status: number): void {
  const s = this.stream!;
  const buf = this.buffer!;
  this.buffer = null;
  s.pending -= this.bytes!;
  if (s.handle === null) return; // closed: libuv cancels what was left
  if (status < 0) s.sink.onError(uvName(status));
  s.sink.onWritten(buf);
}

function onShutdown(this: ShutdownReq): void {
  this.stream!.destroy();
}

function onConnect(this: ConnectReq, status: number): void {
  const s = this.stream!;
  if (s.handle === null) return;
  if (status < 0) { s.sink.onError(uvName(status)); return; }
  s.sink.onConnect();
  if (s.handle !== null) s.setReading(true);
}

function failSoon(s: RawStream, code: string): void {
  process.nextTick(() => { if (s.handle !== null) s.sink.onError(code); });
}

/** A connected (or connecting) stream socket over a libuv TCP or pipe handle. */
export class RawStream {
  /** @internal */ handle: Handle | null;
  /** @internal */ readonly sink: RawSink;
  /** @internal */ reading = false;
  /** Bytes handed to the OS socket whose write has not completed yet. */
  pending = 0;
  /** end() was called: no more writes. */
  ended = false;

  constructor(handle: Handle, sink: RawSink) {
    wrap();
    this.handle = handle;
    this.sink = sink;
    handle[OWNER] = this;
    handle.onread = onRead;
    handle.useUserBuffer(readBuffer);
  }

  /** Has destroy() closed the handle? */
  get closed(): boolean { return this.handle === null; }

  /** Starts or stops reading (backpressure). */
  setReading(on: boolean): void {
    const h = this.handle;
    if (h === null || this.reading === on) return;
    this.reading = on;
    if (on) h.readStart(); else h.readStop();
  }

  /**
   * Writes `buf`. Returns false when the write finished inside the call (`buf` is free again), true
   * when it completes later (`buf` must stay untouched; onWritten follows), or an error code.
   */
  write(buf: Uint8Array): boolean | string {
    const h = this.handle;
    if (h === null || this.ended) return "EPIPE";
    const req = spareReq ?? new sw!.WriteWrap();
    spareReq = null;
    req.handle = h;
    req.oncomplete = onWriteDone;
    req.async = false;
    const err = h.writeBuffer(req, buf);
    if (err !== 0) return uvName(err);
    if (sw!.streamBaseState[sw!.kLastWriteWasAsync] === 0) {
      spareReq = req;
      return false;
    }
    req.async = true;
    req.stream = this;
    req.bytes = buf.length;
    req.buffer = buf;
    this.pending += buf.length;
    return true;
  }

  /** Shuts the write side down once pending writes completed, then closes. */
  end(): void {
    const h = this.handle;
    if (h === null || this.ended) return;
    this.ended = true;
    if (this.pending === 0) { this.destroy(); return; }
    const req = new sw!.ShutdownWrap();
    req.oncomplete = onShutdown;
    req.handle = h;
    req.stream = this;
    if (h.shutdown(req) !== 0) this.destroy(); // 1: finished at once; < 0: failed
  }

  /** Closes the handle now (pending writes are cancelled). */
  destroy(): void {
    const h = this.handle;
    if (h === null) return;
    this.handle = null;
    this.reading = false;
    h.onread = ignoreRead;
    h.close();
  }

  setNoDelay(on: boolean): void { this.handle?.setNoDelay?.(on); }
  setKeepAlive(on: boolean): void { this.handle?.setKeepAlive?.(on, 0); }

  /** The local address of a TCP stream, or null. */
  sockname(): { address: string; port: number } | null {
    const out: Record<string, unknown> = {};
    const h = this.handle;
    if (h === null || !h.getsockname || h.getsockname(out) !== 0) return null;
    return { address: out.address as string, port: out.port as number };
  }

  /** Has the peer gone (getpeername fails, or the handle is closed)? */
  peerGone(): boolean {
    const h = this.handle;
    return h === null || !h.getpeername || h.getpeername({}) !== 0;
  }
}

/** Wraps an accepted handle and starts reading. */
export function adoptRaw(handle: UvStreamHandle, sink: RawSink): RawStream {
  const s = new RawStream(handle as Handle, sink);
  s.setReading(true);
  return s;
}

/** Where connectRaw() connects: a Unix path, or a host (IP or name) and port, optionally from a local address. */
export interface RawTarget { path?: string; host?: string; port?: number; family?: 4 | 6; localAddress?: string; localPort?: number; }

/** Starts a TCP or Unix connect; completion or failure arrives through the sink, never during this call. */
export function connectRaw(target: RawTarget, sink: RawSink): RawStream {
  if (target.path !== undefined) {
    const pw = binding("pipe_wrap");
    const s = new RawStream(new pw.Pipe(pw.constants.SOCKET) as Handle, sink);
    const req = new pw.PipeConnectWrap() as ConnectReq;
    req.oncomplete = onConnect;
    req.stream = s;
    const err = s.handle!.connect(req, target.path);
    if (err !== 0) failSoon(s, uvName(err));
    return s;
  }
  const tw = binding("tcp_wrap");
  const s = new RawStream(new tw.TCP(tw.constants.SOCKET) as Handle, sink);
  const v6 = target.family === 6;
  const start = (address: string): void => {
    const h = s.handle;
    if (h === null) return;
    let err = 0;
    if (target.localAddress !== undefined || target.localPort !== undefined) {
      const local = target.localAddress ?? (v6 ? "::" : "0.0.0.0");
      err = v6 ? h.bind6!(local, target.localPort ?? 0, 0) : h.bind!(local, target.localPort ?? 0);
    }
    if (err === 0) {
      const req = new tw.TCPConnectWrap() as ConnectReq;
      req.oncomplete = onConnect;
      req.stream = s;
      err = v6 ? h.connect6!(req, address, target.port!) : h.connect(req, address, target.port!);
    }
    if (err !== 0) failSoon(s, uvName(err));
  };
  const host = target.host!;
  if (isIP(host) !== 0) start(host);
  else {
    lookup(host, { family: v6 ? 6 : 4 }, (err, address) => {
      if (s.handle === null) return;
      if (err) s.sink.onError(typeof err.code === "string" ? err.code : "EAI_FAIL");
      else start(address);
    });
  }
  return s;
}
