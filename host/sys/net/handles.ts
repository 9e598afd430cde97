// The `net` backend's handles: libuv TCP/pipe server handles (synchronous bind, listen, accepted
// handles) and net.Socket streams for StreamSink users (FileWrapper's pipes, the sandbox). The
// stream socket that turns these events into core readiness is host/sys/net/socket.ts.
import { Buffer } from "node:buffer";
import * as net from "node:net";
import { statSync } from "node:fs";

// Node's internal wrappers: the only synchronous bind Node has (DEP0111; present in Node 20–24).
// Kept in this one module so a native backend can replace it.
interface UvServerHandle {
  bind(host: string, port: number, flags?: number): number;
  bind6(host: string, port: number, flags: number): number;
  listen(backlog: number): number;
  getsockname(out: Record<string, unknown>): number;
  close(cb?: () => void): void;
  onconnection: ((err: number, handle?: UvStreamHandle) => void) | null;
}
interface UvPipeServerHandle {
  bind(path: string): number;
  listen(backlog: number): number;
  close(cb?: () => void): void;
  onconnection: ((err: number, handle?: UvStreamHandle) => void) | null;
}
export interface UvStreamHandle {
  getpeername?(out: Record<string, unknown>): number;
  getsockname?(out: Record<string, unknown>): number;
  close(cb?: () => void): void;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const binding = (name: string): any => (process as any).binding(name);
let tcpWrap: { TCP: new (kind: number) => UvServerHandle; constants: { SERVER: number; UV_TCP_REUSEPORT?: number } } | undefined;
let pipeWrap: { Pipe: new (kind: number) => UvPipeServerHandle; constants: { SERVER: number } } | undefined;
let uvErrName: ((n: number) => string) | undefined;

function uvName(rc: number): string {
  uvErrName ??= binding("uv").errname as (n: number) => string;
  try { return uvErrName(rc); } catch { return "EIO"; }
}

/** A bound, not yet listening, server handle. */
export type ServerHandle = UvServerHandle | UvPipeServerHandle;

/** Can a TCP handle be bound with SO_REUSEPORT (libuv's UV_TCP_REUSEPORT, which Node's handles take from Node 22.12)? */
export function reusePortSupported(): boolean {
  tcpWrap ??= binding("tcp_wrap");
  return typeof tcpWrap!.constants.UV_TCP_REUSEPORT === "number";
}

/** Binds a TCP handle synchronously. Returns the handle or the error code (e.g. 'EADDRINUSE'). */
export function bindTcp(ipv6: boolean, host: string, port: number, reusePort = false): ServerHandle | string {
  tcpWrap ??= binding("tcp_wrap");
  const h = new tcpWrap!.TCP(tcpWrap!.constants.SERVER);
  const flags = reusePort ? tcpWrap!.constants.UV_TCP_REUSEPORT ?? 0 : 0;
  let rc = ipv6 ? h.bind6(host, port, flags) : flags !== 0 ? h.bind(host, port, flags) : h.bind(host, port);
  // libuv defers bind errors (EADDRINUSE) to the next call on the handle.
  if (rc === 0) rc = h.getsockname({});
  if (rc !== 0) { h.close(); return uvName(rc); }
  return h;
}

/** Binds a Unix stream socket path synchronously. */
export function bindPipe(path: string): ServerHandle | string {
  pipeWrap ??= binding("pipe_wrap");
  const h = new pipeWrap!.Pipe(pipeWrap!.constants.SERVER);
  const rc = h.bind(path);
  if (rc !== 0) { h.close(); return uvName(rc); }
  return h;
}

/** The bound address of a TCP server handle. */
export function serverAddress(h: ServerHandle): { address: string; port: number } | null {
  const out: Record<string, unknown> = {};
  if (!("getsockname" in h) || h.getsockname(out) !== 0) return null;
  return { address: out.address as string, port: out.port as number };
}

/** Starts listening; each accepted handle is passed to `onHandle`. Returns an error code or null. */
export function listen(h: ServerHandle, backlog: number, onHandle: (handle: UvStreamHandle) => void): string | null {
  h.onconnection = (err, handle) => {
    if (err === 0 && handle) onHandle(handle);
  };
  const rc = h.listen(backlog);
  return rc === 0 ? null : uvName(rc);
}

/** Receives the bytes and events of one stream. */
export interface StreamSink {
  /** Bytes arrived (valid only during the call). Return false to stop reading. */
  onData(buf: Uint8Array, n: number): boolean;
  onEnd(): void;
  onError(code: string): void;
  onConnect(): void;
}

// One receive buffer for every stream: each read is copied into the core at once.
const readBuffer = Buffer.allocUnsafe(65536);

function streamOptions(sink: StreamSink): net.SocketConstructorOpts {
  return {
    allowHalfOpen: true,
    onread: { buffer: readBuffer, callback: (n: number, buf: Uint8Array) => sink.onData(buf, n) },
  } as net.SocketConstructorOpts;
}

function attach(s: net.Socket, sink: StreamSink): net.Socket {
  s.on("end", () => sink.onEnd());
  s.on("error", (err: NodeJS.ErrnoException) => sink.onError(typeof err.code === "string" ? err.code : "EIO"));
  return s;
}

/** Wraps an accepted handle as a reading stream. */
export function adopt(handle: UvStreamHandle, sink: StreamSink): net.Socket {
  return attach(new net.Socket({ handle, ...streamOptions(sink) } as net.SocketConstructorOpts), sink);
}

/**
 * What connect(2) would say at once about a Unix socket path: 'ENOENT' (or 'ENOTDIR', 'EACCES')
 * when it cannot be reached, null otherwise. Abstract names (leading NUL) are not checked.
 */
export function unixPathError(path: string): string | null {
  if (path.startsWith("\0")) return null;
  try {
    statSync(path);
    return null;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return typeof code === "string" ? code : "ENOENT";
  }
}

/** Starts a TCP or Unix connect; completion or failure arrives through the sink. */
export function connect(target: net.NetConnectOpts, sink: StreamSink): net.Socket {
  const s = attach(new net.Socket(streamOptions(sink)), sink);
  s.once("connect", () => sink.onConnect());
  s.connect(target);
  return s;
}

/** Address of an adopted handle's peer; null + code on failure. */
export function peerOf(handle: UvStreamHandle): { address: string; port: number } | string {
  const out: Record<string, unknown> = {};
  const rc = handle.getpeername ? handle.getpeername(out) : -107;
  return rc === 0 ? { address: out.address as string, port: out.port as number } : uvName(rc);
}

/** Stops and restarts reading on a stream (backpressure). */
export function setReading(s: net.Socket, on: boolean): void {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const h = (s as any)._handle;
  if (!h || h.reading === on) return;
  h.reading = on;
  if (on) h.readStart(); else h.readStop();
}
