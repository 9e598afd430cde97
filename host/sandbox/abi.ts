// The boundary of a server module built with examples/assembly/asconfig.json: its imports and
// exports, once. A test checks these against the built .wasm files.

/** The versioned namespace of the socket syscalls the Node runner grants (host flavour). */
export const SOCK_NAMESPACE = "wasyncore_sock_v1";

/** Every function of the namespace (a module imports the subset it uses). */
export const SOCK_IMPORTS = [
  "sock_open", "sock_bind", "sock_listen", "sock_accept", "sock_connect",
  "sock_send", "sock_recv", "sock_close", "sock_poll", "sock_error", "sock_local_port",
] as const;

/** Functions a host-flavour server module exports, beside `memory` and `_initialize`. */
export const SERVER_EXPORTS = ["server_pass", "server_passes"] as const;

/** WASIX-flavour socket imports: wasix_32v1 for what preview1 lacks, preview1 for the rest. */
export const WASIX_IMPORTS = {
  wasix_32v1: ["sock_open", "sock_bind", "sock_listen", "sock_connect"],
  wasi_snapshot_preview1: ["sock_accept", "sock_recv", "sock_send", "poll_oneoff", "fd_close", "fd_fdstat_set_flags"],
} as const;

/** WASI preview1 error numbers the runner returns (negated) from the socket calls. */
export const WASI_ERRNO: Record<string, number> = {
  EACCES: 2, EADDRINUSE: 3, EADDRNOTAVAIL: 4, EAFNOSUPPORT: 5, EAGAIN: 6, EALREADY: 7, EBADF: 8,
  ECONNABORTED: 13, ECONNREFUSED: 14, ECONNRESET: 15, EHOSTUNREACH: 23, EINPROGRESS: 26, EINVAL: 28,
  EIO: 29, EISCONN: 30, EMFILE: 33, ENETUNREACH: 40, ENOMEM: 48, ENOTCONN: 53, ENOTSUP: 58, EPIPE: 64,
  ETIMEDOUT: 73,
};

/** The WASI errno for a Node/libuv error code (EIO when unknown). */
export function wasiErrno(code: string): number {
  return WASI_ERRNO[code] ?? WASI_ERRNO.EIO;
}
