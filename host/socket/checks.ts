// Socket helpers shared by both backends' sockets (host/socket/socket.ts, host/sys/native/): argument checks,
// socket option names, and closing accepted sockets an accept handler left behind.
import { SOL_SOCKET, SO_REUSEADDR, SO_ERROR, SO_KEEPALIVE, IPPROTO_TCP, TCP_NODELAY } from "../core/constants.js";
import { SocketError } from "../core/errors.js";
import { describe } from "../core/address.js";

/** What closeOrphans() needs of an accepted socket. */
interface Orphan { adopted: boolean; readonly closed: boolean; close(): void; }

// Sockets accept() returned during the handleAccept() running now (closeOrphans).
let acceptedNow: Orphan[] | null = null;

/** @internal Records a socket accept() just returned, for closeOrphans(). */
export function noteAccepted(sock: Orphan): void {
  acceptedNow?.push(sock);
}

/**
 * @internal Runs a listener's accept handler; if it throws (or its promise rejects), every
 * socket accept() returned meanwhile that no dispatcher adopted is closed instead of staying
 * open forever, and the error goes on to the caller (handleError).
 */
export function closeOrphans(handler: () => unknown): unknown {
  const outer = acceptedNow;
  const mine: Orphan[] = (acceptedNow = []);
  const orphansClosed = (err: unknown): never => {
    for (const s of mine) if (!s.adopted && !s.closed) s.close();
    throw err;
  };
  let ret: unknown;
  try {
    ret = handler();
  } catch (err) {
    orphansClosed(err);
  } finally {
    acceptedNow = outer;
  }
  if (ret !== null && typeof ret === "object" && typeof (ret as Promise<unknown>).then === "function") {
    return (ret as Promise<unknown>).then(undefined, orphansClosed);
  }
  return ret;
}

export function checkInt(v: unknown, what: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof v !== "number" || !Number.isInteger(v)) throw new TypeError(`${what} must be an integer, got ${describe(v)}`);
  if (v < min || v > max) throw new RangeError(`${what} must be in ${min}..${max}, got ${v}`);
  return v;
}

/** Throws a TypeError unless `data` is bytes. */
export function checkBytes(data: unknown, what: string): Uint8Array {
  if (!(data instanceof Uint8Array)) {
    throw new TypeError(`${what}: data must be a Uint8Array or Buffer, got ${typeof data === "string" ? "a string (encode it first, e.g. Buffer.from(s))" : describe(data)}`);
  }
  return data;
}

/** Per-channel buffer limits (bytes). */
export interface BufferLimits {
  /** Output queued in the core plus bytes in Node's write buffer before send() returns 0. */
  sendWindow?: number;
  /** Buffered input above which the socket stops reading until the application reads. */
  recvPause?: number;
}

/** The option name setsockopt()/getsockopt() keep for a (level, option) pair; throws ENOPROTOOPT for others. */
export function optionName(level: number, option: number, what: string): string {
  if (level === SOL_SOCKET && option === SO_REUSEADDR) return "reuseaddr";
  if (level === SOL_SOCKET && option === SO_ERROR) {
    if (what === "setsockopt") throw new SocketError("ENOPROTOOPT", "setsockopt(SOL_SOCKET, SO_ERROR): read-only option");
    return "error";
  }
  if (level === SOL_SOCKET && option === SO_KEEPALIVE) return "keepalive";
  if (level === IPPROTO_TCP && option === TCP_NODELAY) return "nodelay";
  throw new SocketError("ENOPROTOOPT", `${what}(${describe(level)}, ${describe(option)}): option not supported on Node`);
}
