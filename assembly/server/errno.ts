// Error numbers inside a server module: WASI preview1's numbering, in both flavours.
// Expected conditions are returned as these numbers (AssemblyScript has no exceptions).

@inline export const ESUCCESS: i32 = 0;
@inline export const EACCES: i32 = 2;
@inline export const EADDRINUSE: i32 = 3;
@inline export const EADDRNOTAVAIL: i32 = 4;
@inline export const EAFNOSUPPORT: i32 = 5;
@inline export const EAGAIN: i32 = 6;
@inline export const EALREADY: i32 = 7;
@inline export const EBADF: i32 = 8;
@inline export const ECONNABORTED: i32 = 13;
@inline export const ECONNREFUSED: i32 = 14;
@inline export const ECONNRESET: i32 = 15;
@inline export const EHOSTUNREACH: i32 = 23;
@inline export const EINPROGRESS: i32 = 26;
@inline export const EINVAL: i32 = 28;
@inline export const EIO: i32 = 29;
@inline export const EISCONN: i32 = 30;
@inline export const EMFILE: i32 = 33;
@inline export const ENETUNREACH: i32 = 40;
@inline export const ENOMEM: i32 = 48;
@inline export const ENOTCONN: i32 = 53;
@inline export const ENOTSUP: i32 = 58;
@inline export const EPIPE: i32 = 64;
@inline export const ESHUTDOWN: i32 = 64; // WASI has no ESHUTDOWN; a send after shutdown is EPIPE
@inline export const ETIMEDOUT: i32 = 73;
@inline export const EDESTADDRREQ: i32 = 17;
@inline export const EMSGSIZE: i32 = 35;
@inline export const ENOBUFS: i32 = 42;

/** asyncore._DISCONNECTED: errors that mean "the peer is gone" and go to handleClose(). */
export function isDisconnect(errno: i32): bool {
  return errno == ECONNRESET || errno == ENOTCONN || errno == ECONNABORTED || errno == EPIPE || errno == EBADF;
}

/** The symbolic name of an errno ("EACCES"), for logs. */
export function errnoName(errno: i32): string {
  switch (errno) {
    case ESUCCESS: return "OK";
    case EACCES: return "EACCES";
    case EADDRINUSE: return "EADDRINUSE";
    case EADDRNOTAVAIL: return "EADDRNOTAVAIL";
    case EAFNOSUPPORT: return "EAFNOSUPPORT";
    case EAGAIN: return "EAGAIN";
    case EALREADY: return "EALREADY";
    case EBADF: return "EBADF";
    case ECONNABORTED: return "ECONNABORTED";
    case ECONNREFUSED: return "ECONNREFUSED";
    case ECONNRESET: return "ECONNRESET";
    case EHOSTUNREACH: return "EHOSTUNREACH";
    case EINPROGRESS: return "EINPROGRESS";
    case EINVAL: return "EINVAL";
    case EIO: return "EIO";
    case EISCONN: return "EISCONN";
    case EMFILE: return "EMFILE";
    case ENETUNREACH: return "ENETUNREACH";
    case ENOMEM: return "ENOMEM";
    case ENOTCONN: return "ENOTCONN";
    case ENOTSUP: return "ENOTSUP";
    case EPIPE: return "EPIPE";
    case ETIMEDOUT: return "ETIMEDOUT";
    case EDESTADDRREQ: return "EDESTADDRREQ";
    case EMSGSIZE: return "EMSGSIZE";
    case ENOBUFS: return "ENOBUFS";
  }
  return "E" + errno.toString();
}
