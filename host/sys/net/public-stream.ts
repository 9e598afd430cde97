// The public-API fallback's connected stream (no process.binding): a node:net Socket driven the
// way stream.ts drives a libuv handle, reporting to the same RawSink. Slower than stream.ts (a
// Buffer per read, the Readable/Writable machinery, every write completes on a later tick) but
// with the same guarantees: bytes in order, EOF after the last byte, writes delivered before FIN.
import * as net from "node:net";
import type { RawSink, RawTarget } from "./stream.js";

function codeOf(err: NodeJS.ErrnoException): string {
  return typeof err.code === "string" && /^E[A-Z0-9]+$/.test(err.code) ? err.code : "EIO";
}

/** A connected (or connecting) stream socket over a node:net Socket. */
export class PublicStream {
  private sock: net.Socket | null;
  private reading = false;
  /** Bytes handed to the socket whose write has not completed yet. */
  pending = 0;
  /** end() was called: no more writes. */
  ended = false;

  constructor(sock: net.Socket, private readonly sink: RawSink) {
    this.sock = sock;
    sock.on("data", (chunk: Buffer) => {
      if (this.sock === null) return;
      if (this.sink.onData(chunk, chunk.length) === false) this.setReading(false);
    });
    sock.on("end", () => { if (this.sock !== null) this.sink.onEnd(); });
    sock.on("error", (err: NodeJS.ErrnoException) => { if (this.sock !== null) this.sink.onError(codeOf(err)); });
    sock.pause(); // the 'data' listener resumed it: reading starts with setReading(true)
  }

  /** Has destroy() closed the socket? */
  get closed(): boolean { return this.sock === null; }

  /** Starts or stops reading (backpressure). */
  setReading(on: boolean): void {
    const s = this.sock;
    if (s === null || this.reading === on) return;
    this.reading = on;
    if (on) s.resume(); else s.pause();
  }

  /**
   * Writes `buf`, which the socket keeps until the write completes (so never a buffer the caller
   * reuses). Returns true (it completes later; onWritten follows) or an error code.
   */
  write(buf: Buffer): true | string {
    const s = this.sock;
    if (s === null || this.ended) return "EPIPE";
    this.pending += buf.length;
    s.write(buf, (err) => {
      this.pending -= buf.length;
      if (this.sock === null) return; // closed: Node drops what was left
      if (err) this.sink.onError(codeOf(err as NodeJS.ErrnoException));
      this.sink.onWritten(buf);
    });
    return true;
  }

  /** Shuts the write side down once pending writes completed (FIN), then closes. */
  end(): void {
    const s = this.sock;
    if (s === null || this.ended) return;
    this.ended = true;
    this.setReading(false);
    s.end(() => this.destroy());
  }

  /** Closes the socket now (pending writes are dropped). */
  destroy(): void {
    const s = this.sock;
    if (s === null) return;
    this.sock = null;
    this.reading = false;
    s.on("error", ignore); // a late error of a socket the owner closed is nobody's
    s.destroy();
  }

  setNoDelay(on: boolean): void { this.sock?.setNoDelay(on); }
  setKeepAlive(on: boolean): void { this.sock?.setKeepAlive(on, 0); }

  /** The local address of a TCP stream, or null. */
  sockname(): { address: string; port: number } | null {
    const s = this.sock;
    if (s === null || s.localAddress === undefined || s.localPort === undefined) return null;
    return { address: s.localAddress, port: s.localPort };
  }

  /** Has the peer gone (the socket failed or closed)? */
  peerGone(): boolean {
    const s = this.sock;
    return s === null || s.destroyed;
  }
}

function ignore(): void {}

/** Wraps a connection a PublicListener accepted (paused) and starts reading. */
export function adoptPublic(sock: net.Socket, sink: RawSink): PublicStream {
  const s = new PublicStream(sock, sink);
  s.setReading(true);
  return s;
}

/** Starts a TCP or Unix connect; completion or failure arrives through the sink, never during this call. */
export function connectPublic(target: RawTarget, sink: RawSink): PublicStream {
  const sock = new net.Socket({ allowHalfOpen: true });
  const s = new PublicStream(sock, sink); // reading starts with the connect, as in stream.ts
  sock.once("connect", () => {
    if (s.closed) return;
    sink.onConnect();
    s.setReading(true);
  });
  if (target.path !== undefined) sock.connect({ path: target.path });
  else {
    const opts: net.TcpNetConnectOpts = { host: target.host!, port: target.port!, family: target.family ?? 0 };
    if (target.localAddress !== undefined) opts.localAddress = target.localAddress;
    if (target.localPort !== undefined) opts.localPort = target.localPort;
    sock.connect(opts);
  }
  return s;
}
