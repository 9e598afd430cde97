// The public-API fallback's listening side (no process.binding): a bind that is only recorded and
// checked, then a node:net Server that binds and listens at listen(). See public-socket.ts.
//
// Node's public API has no synchronous bind: net.Server binds inside listen(), after resolving the
// host with dns.lookup, which answers even an IP literal on the next tick. So listen() lends
// net.js a dns.lookup that answers IP literals inside the call, for the duration of that call
// only: the handle is then bound and listening when listen() returns, and getsockname() has the
// port (as with the libuv handles). Where a Node version resolves differently, the bind happens
// on the next tick and getsockname() gives the asked port (0 for an ephemeral one) until then.
// A bind or listen error (EADDRINUSE) is emitted by Node on the next tick; listen() sees it being
// scheduled (process.nextTick, watched for the call) and returns it, so the socket's listen() throws
// it as on the libuv path. One that comes later reaches the owner through onError, and the socket
// reports it on its next pass (its accept() throws it).
import dns from "node:dns";
import * as net from "node:net";
import { lstatSync } from "node:fs";
import { dirname } from "node:path";

/** What a listener reports to its socket. */
export interface ListenSink {
  /** A connection arrived (paused: it reads once the owner resumes it). */
  onConnection(sock: net.Socket): void;
  /** The bind or listen failed (a code such as 'EADDRINUSE'), or the listener failed later. */
  onError(code: string): void;
}

// dns.lookup's callback forms: (host, cb) and (host, options, cb).
type LookupCb = (err: NodeJS.ErrnoException | null, address: string, family: number) => void;

/** A dns.lookup that answers an IP literal inside the call (what lookup() itself does one tick later). */
function literalLookup(original: typeof dns.lookup): typeof dns.lookup {
  return function lookup(host: string, options: unknown, cb?: unknown): void {
    const done = (typeof options === "function" ? options : cb) as LookupCb;
    const all = typeof options === "object" && options !== null && (options as { all?: boolean }).all === true;
    const family = net.isIP(host);
    if (family === 0 || all || typeof done !== "function") {
      (original as (...a: unknown[]) => void)(host, options, cb);
      return;
    }
    done(null, host, family);
  } as typeof dns.lookup;
}

/**
 * What a real bind() of a Unix socket path would say at once: EADDRINUSE when the path exists,
 * ENOENT/ENOTDIR/EACCES when its directory cannot be reached, else null. Abstract names (leading NUL) pass.
 */
export function unixBindError(path: string): string | null {
  if (path.startsWith("\0")) return null;
  try {
    lstatSync(path);
    return "EADDRINUSE";
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") return (err as NodeJS.ErrnoException).code ?? "EACCES";
  }
  try {
    return lstatSync(dirname(path)).isDirectory() ? null : "ENOTDIR";
  } catch (err) {
    return (err as NodeJS.ErrnoException).code ?? "ENOENT";
  }
}

function ignore(): void {}

/** Does net.Server's listen() take `reusePort` (SO_REUSEPORT; Node >= 22.12)? */
export function publicReusePort(): boolean {
  const [major, minor] = process.versions.node.split(".").map(Number);
  return major > 22 || (major === 22 && minor >= 12);
}

/** A listening node:net Server: TCP (host, port) or a Unix socket path. */
export class PublicListener {
  private readonly server: net.Server;
  private closed = false;

  constructor(sink: ListenSink) {
    // pauseOnConnect: a connection reads nothing until accept() hands it to a socket, as the kernel
    // keeps a queued connection's bytes; allowHalfOpen: the peer's FIN is an EOF, not a close.
    this.server = net.createServer({ pauseOnConnect: true, allowHalfOpen: true });
    this.server.on("connection", (sock: net.Socket) => {
      sock.on("error", ignore); // until accept() hands it to a socket that listens for its errors
      if (this.closed) sock.destroy();
      else sink.onConnection(sock);
    });
    this.server.on("error", (err: NodeJS.ErrnoException) => {
      // A failed bind or listen; errors after that (accept's EMFILE) are skipped, as libuv's handle does.
      if (!this.closed && !this.server.listening) sink.onError(typeof err.code === "string" ? err.code : "EIO");
    });
  }

  /**
   * Binds and listens on host:port (an IP literal) or a Unix path. Returns the bind or listen error
   * (a code such as 'EADDRINUSE') when it is known during the call, else null; a later one arrives
   * through the sink.
   */
  listen(where: { host: string; port: number; reusePort?: boolean } | { path: string } | { handle: object }, backlog: number): string | null {
    // Node emits a failed bind or listen on the next tick (process.nextTick(emitErrorNT, server, err)):
    // watching nextTick for the length of the call sees the error while listen() can still throw it.
    let failed: string | null = null;
    const server = this.server;
    const originalTick = process.nextTick;
    process.nextTick = function nextTick(this: unknown, fn: (...a: unknown[]) => void, ...args: unknown[]): void {
      if (args[0] === server && args[1] instanceof Error) failed ??= (args[1] as NodeJS.ErrnoException).code ?? "EIO";
      originalTick.call(process, fn, ...args);
    } as typeof process.nextTick;
    const originalLookup = dns.lookup;
    if ("host" in where) dns.lookup = literalLookup(originalLookup);
    try {
      // exclusive: this process binds its own handle even inside a cluster worker, as bind(2) would.
      if ("handle" in where) server.listen(where.handle, backlog); // a bound handle another process sent (cores)
      else if ("path" in where) server.listen({ path: where.path, backlog, exclusive: true });
      else server.listen({ host: where.host, port: where.port, backlog, exclusive: true, ...(where.reusePort ? { reusePort: true } : {}) });
    } finally {
      dns.lookup = originalLookup;
      process.nextTick = originalTick;
    }
    if (failed !== null) this.close(); // its 'error' event then goes nowhere
    return failed;
  }

  /** The bound address once bound (a TCP listener), else null. */
  address(): { address: string; port: number } | null {
    const a = this.server.address();
    return a !== null && typeof a === "object" ? { address: a.address, port: a.port } : null;
  }

  /** Stops listening (Node unlinks a Unix socket's path, as libuv does). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.server.close();
  }
}
