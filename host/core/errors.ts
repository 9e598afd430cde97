// One table maps Node's error codes to errno numbers and messages (libuv's UV_ERRNO_MAP idea).
import { constants as osConstants } from "node:os";
import { getSystemErrorMap } from "node:util";
import { describe } from "./address.js";

const ERRNO = osConstants.errno as Record<string, number>;

const MESSAGES: Record<string, string> = {
  EAGAIN: "Resource temporarily unavailable",
  EBADF: "Bad file descriptor",
  ECONNREFUSED: "Connection refused",
  ECONNRESET: "Connection reset by peer",
  ECONNABORTED: "Software caused connection abort",
  EPIPE: "Broken pipe",
  ENOTCONN: "Transport endpoint is not connected",
  ESHUTDOWN: "Cannot send after transport endpoint shutdown",
  EADDRINUSE: "Address already in use",
  EADDRNOTAVAIL: "Cannot assign requested address",
  EACCES: "Permission denied",
  ENOENT: "No such file or directory",
  EINVAL: "Invalid argument",
  EISCONN: "Transport endpoint is already connected",
  EALREADY: "Operation already in progress",
  ETIMEDOUT: "Connection timed out",
  EHOSTUNREACH: "No route to host",
  ENETUNREACH: "Network is unreachable",
  ENOPROTOOPT: "Protocol not available",
  EAFNOSUPPORT: "Address family not supported by protocol",
  ENOTSOCK: "Socket operation on non-socket",
  EOPNOTSUPP: "Operation not supported",
  EMSGSIZE: "Message too long",
  ENOMEM: "Cannot allocate memory",
  ENOBUFS: "No buffer space available",
  EMFILE: "Too many open files",
  ENOTFOUND: "Name or service not known",
  EAI_AGAIN: "Temporary failure in name resolution",
};

/** The positive errno for a code like 'ECONNRESET' (0 when the code has no POSIX number, e.g. 'ENOTFOUND'). */
export function errnoOf(code: string): number {
  return ERRNO[code] ?? 0;
}

/** The calls a context message may start with (`"bind(['::1', 0])"` → syscall `'bind'`). */
const SYSCALLS = new Set(["socket", "bind", "listen", "accept", "connect", "send", "recv", "sendto", "recvfrom", "shutdown", "close", "getsockname", "getpeername", "setsockopt", "getsockopt", "getaddrinfo", "write", "read"]);

/** What a SocketError knows about the call that failed, like Node's system errors. */
export interface SocketErrorDetails {
  /** The call that failed, e.g. `'connect'` (taken from the message when it starts with `name(`). */
  syscall?: string;
  /** The host or Unix path involved, e.g. `'127.0.0.1'`. */
  address?: string;
  /** The port involved (IP families). */
  port?: number;
}

/** The code for a positive errno ('E?' + number when unknown). */
export function codeOf(errno: number): string {
  for (const [code, n] of Object.entries(ERRNO)) if (n === errno) return code;
  return `E${errno}`;
}

/** The message for a positive errno, e.g. "Connection refused"; never empty. Python: os.strerror / asyncore._strerror */
export function strerror(errno: number): string {
  const code = codeOf(errno);
  const known = MESSAGES[code];
  if (known !== undefined) return known;
  // libuv knows the rest (its messages are strerror's, lower-cased).
  const uv = Number.isInteger(errno) && errno > 0 ? getSystemErrorMap().get(-errno) : undefined;
  if (uv !== undefined) return uv[1].charAt(0).toUpperCase() + uv[1].slice(1);
  return `Unknown error ${errno}`;
}

/**
 * A socket error with asyncore's meaning: `code` says what went wrong, `errno` is its positive POSIX number
 * (as Python's `OSError.errno`; `undefined` for codes that have none, such as `'ENOTFOUND'` and `'EAI_AGAIN'`),
 * and `syscall`, `address`, `port` say where, when known (as on Node's system errors).
 * Python: OSError (and its subclasses).
 */
export class SocketError extends Error {
  /** Symbolic code, e.g. 'ECONNRESET'. */
  readonly code: string;
  /** The positive POSIX errno (Linux numbers), or `undefined` for a code without one ('ENOTFOUND', 'EAI_AGAIN'). */
  readonly errno: number | undefined;
  /** The call that failed, e.g. `'connect'`, when known. */
  readonly syscall?: string;
  /** The host (or Unix path) the failed call was about, when known. */
  readonly address?: string;
  /** The port the failed call was about, when known. */
  readonly port?: number;
  /** Builds one for `code` (e.g. 'ECONNREFUSED'); `message` is the context, e.g. "connect(['127.0.0.1', 1])". */
  constructor(code: string, message?: string, details: SocketErrorDetails = {}) {
    const errno = errnoOf(code) || undefined;
    super(`${errno === undefined ? "" : `[Errno ${errno}] `}${message ?? MESSAGES[code] ?? code} (${code})`);
    this.name = "SocketError";
    this.code = code;
    this.errno = errno;
    const syscall = details.syscall ?? /^([a-z]+)\(/.exec(message ?? "")?.[1];
    if (syscall !== undefined && (details.syscall !== undefined || SYSCALLS.has(syscall))) this.syscall = syscall;
    if (details.address !== undefined) this.address = details.address;
    if (details.port !== undefined) this.port = details.port;
  }
  /** Builds one from a positive errno. */
  static fromErrno(errno: number, context?: string, details?: SocketErrorDetails): SocketError {
    const code = codeOf(errno);
    return new SocketError(code, context ? `${context}: ${strerror(errno)}` : undefined, details);
  }
  /** Builds one from a syscall's negative result (-errno), as the native addon returns them. */
  static fromResult(rc: number, context: string, details?: SocketErrorDetails): SocketError {
    return SocketError.fromErrno(-rc, context, details);
  }
  /** Builds one from an Error thrown with an errno in `code` (the addon's getsockopt), else EIO. */
  static fromThrown(err: unknown, context: string): SocketError {
    return SocketError.fromErrno(thrownErrno(err), context);
  }
  /** Builds one from a Node error (err.code), keeping unknown codes recognisable. */
  static fromNode(err: NodeJS.ErrnoException, context?: string, details?: SocketErrorDetails): SocketError {
    const code = typeof err.code === "string" ? err.code : "EIO";
    return new SocketError(code, context ? `${context}: ${MESSAGES[code] ?? err.message}` : MESSAGES[code] ?? err.message, details);
  }
}

/**
 * Fills in a SocketError's `syscall`, `address` and `port` from the call and the address it was given,
 * where the error does not already say; returns `err` (anything else passes through untouched).
 */
export function locate(err: unknown, syscall: string | undefined, address: unknown): unknown {
  if (!(err instanceof SocketError)) return err;
  const e = err as { -readonly [K in "syscall" | "address" | "port"]?: SocketError[K] };
  if (e.syscall === undefined && syscall !== undefined) e.syscall = syscall;
  if (e.address !== undefined) return err;
  if (typeof address === "string") e.address = address;
  else if (Array.isArray(address) && typeof address[0] === "string" && typeof address[1] === "number") {
    e.address = address[0];
    e.port = address[1];
  }
  return err;
}

/** Raised to leave loop() at once. Python: asyncore.ExitNow */
export class ExitNow extends Error {
  constructor(message = "ExitNow") {
    super(message);
    this.name = "ExitNow";
  }
}

/** The core broke an invariant (a trap or an impossible return value). */
export class EngineAbortError extends Error {
  constructor(message: string) {
    super(`wasyncore core aborted: ${message}`);
    this.name = "EngineAbortError";
  }
}

/** asyncore._DISCONNECTED: errors that mean "the peer is gone" and go to handleClose(). */
export const DISCONNECTED = new Set(["ECONNRESET", "ENOTCONN", "ESHUTDOWN", "ECONNABORTED", "EPIPE", "EBADF"]);

/** Is this a SocketError whose code is in asyncore's disconnected set? */
export function isDisconnect(err: unknown): boolean {
  return err instanceof SocketError && DISCONNECTED.has(err.code);
}

/** The errno an Error carries in `code` as a decimal string (the addon's getsockopt throws so), else EIO's. */
export function thrownErrno(err: unknown): number {
  return Number((err as { code?: string } | null)?.code) || errnoOf("EIO");
}

/** Throws a TypeError or RangeError naming `what` unless `v` is an integer in min..max; returns it. */
export function checkInt(v: unknown, what: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof v !== "number" || !Number.isInteger(v)) throw new TypeError(`${what} must be an integer, got ${describe(v)}`);
  if (v < min || v > max) throw new RangeError(`${what} must be in ${min}..${max}, got ${v}`);
  return v;
}

/** Throws a TypeError naming `what` unless `data` is bytes; returns it. */
export function checkBytes(data: unknown, what: string): Uint8Array {
  if (!(data instanceof Uint8Array)) {
    throw new TypeError(`${what}: data must be a Uint8Array or Buffer, got ${typeof data === "string" ? "a string (encode it first, e.g. Buffer.from(s))" : describe(data)}`);
  }
  return data;
}
