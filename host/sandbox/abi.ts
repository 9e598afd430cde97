// The boundary of a server module, once, per version: which imports a runner grants and which
// exports it calls. A test checks the built .wasm files and the host's import tables against it.
// v1 is fixed (a v1 module runs on every later runner); a new import or export opens the next version
// beside it in ABI_VERSIONS.

/** One version of the socket namespace: what the module may import from it and what it must export. */
export interface AbiVersion {
  /** Functions of the namespace (a module imports the subset it uses). */
  readonly imports: readonly string[];
  /** Functions a host-flavour server module exports (beside `memory` and `_initialize`). */
  readonly exports: readonly string[];
}

/** Every socket namespace the runner grants, by name. v1 is frozen. */
export const ABI_VERSIONS: Readonly<Record<string, AbiVersion>> = {
  wasyncore_sock_v1: {
    imports: [
      "sock_open", "sock_bind", "sock_listen", "sock_accept", "sock_connect",
      "sock_send", "sock_recv", "sock_close", "sock_poll", "sock_error", "sock_local_port",
    ],
    exports: ["server_pass", "server_passes"],
  },
  // v2 (issue 19): the module's timers. Its namespace offers v1's functions unchanged (a module imports
  // from one namespace); the new export server_timeout() tells the runner when the next timer is due.
  wasyncore_sock_v2: {
    imports: [
      "sock_open", "sock_bind", "sock_listen", "sock_accept", "sock_connect",
      "sock_send", "sock_recv", "sock_close", "sock_poll", "sock_error", "sock_local_port",
    ],
    exports: ["server_pass", "server_passes", "server_timeout"],
  },
  // v3 (issue 19): datagrams. v2's functions unchanged, plus sock_open_dgram, sock_sendto and
  // sock_recvfrom (assembly/server/sys_host_abi.ts documents them; host/sandbox/datagrams.ts implements
  // them). sock_bind, sock_close, sock_poll, sock_error and sock_local_port take datagram descriptors too.
  wasyncore_sock_v3: {
    imports: [
      "sock_open", "sock_bind", "sock_listen", "sock_accept", "sock_connect",
      "sock_send", "sock_recv", "sock_close", "sock_poll", "sock_error", "sock_local_port",
      "sock_open_dgram", "sock_sendto", "sock_recvfrom",
    ],
    exports: ["server_pass", "server_passes", "server_timeout"],
  },
};

/** Exports ABI version 2 added: `server_timeout()` — ms until the module's next timer, -1 without timers. */
export const SERVER_EXPORTS_V2 = ["server_timeout"] as const;

/**
 * The ABI version a compiled module needs: the newest version whose namespace it imports or whose
 * added exports it has (a module built with today's library exports server_timeout: version 2).
 */
export function abiVersionOf(module: WebAssembly.Module): number {
  const versions = Object.keys(ABI_VERSIONS);
  const number = (ns: string): number => Number(/_v(\d+)$/.exec(ns)![1]);
  let need = 1;
  for (const imp of WebAssembly.Module.imports(module)) {
    if (versions.includes(imp.module)) need = Math.max(need, number(imp.module));
  }
  for (const exp of WebAssembly.Module.exports(module)) {
    for (const ns of versions) {
      const earlier = versions.filter((v) => number(v) < number(ns)).flatMap((v) => ABI_VERSIONS[v].exports);
      if (ABI_VERSIONS[ns].exports.includes(exp.name) && !earlier.includes(exp.name)) need = Math.max(need, number(ns));
    }
  }
  return need;
}

/**
 * The first versioned namespace of the socket syscalls the Node runner grants (host flavour), frozen.
 * Modules built with today's library import `wasyncore_sock_v3`; ABI_VERSIONS lists every version.
 */
export const SOCK_NAMESPACE = "wasyncore_sock_v1";

/** Every function of the v1 namespace (a module imports the subset it uses). */
export const SOCK_IMPORTS = ABI_VERSIONS.wasyncore_sock_v1.imports;

/** Functions a host-flavour server module exports, beside `memory` and `_initialize`. */
export const SERVER_EXPORTS = ABI_VERSIONS.wasyncore_sock_v1.exports;

/** `env` imports the runner grants: the memory it creates (capped) and AssemblyScript's abort. */
export const ENV_IMPORTS = ["memory", "abort"] as const;

/**
 * WASI preview1 names a host-flavour module may import: the runner's shim (host/sandbox/wasi.ts)
 * implements args, environ (empty), clocks, random, fd_write to 1/2, proc_exit and sched_yield;
 * the rest answer ENOSYS.
 */
export const WASI_SHIM_IMPORTS = [
  "args_get", "args_sizes_get", "environ_get", "environ_sizes_get", "clock_res_get", "clock_time_get",
  "fd_advise", "fd_allocate", "fd_close", "fd_datasync", "fd_fdstat_get", "fd_fdstat_set_flags",
  "fd_fdstat_set_rights", "fd_filestat_get", "fd_filestat_set_size", "fd_filestat_set_times", "fd_pread",
  "fd_prestat_get", "fd_prestat_dir_name", "fd_pwrite", "fd_read", "fd_readdir", "fd_renumber", "fd_seek",
  "fd_sync", "fd_tell", "fd_write", "path_create_directory", "path_filestat_get", "path_filestat_set_times",
  "path_link", "path_open", "path_readlink", "path_remove_directory", "path_rename", "path_symlink",
  "path_unlink_file", "poll_oneoff", "proc_exit", "proc_raise", "random_get", "sched_yield", "sock_accept",
  "sock_recv", "sock_send", "sock_shutdown",
] as const;

/** WASIX-flavour socket imports: wasix_32v1 for what preview1 lacks, preview1 for the rest. */
export const WASIX_IMPORTS = {
  /** WASIX's socket calls the flavour uses. */
  wasix_32v1: ["sock_open", "sock_bind", "sock_listen", "sock_connect"],
  /** WASI preview1 calls the flavour uses. */
  wasi_snapshot_preview1: ["sock_accept", "sock_recv", "sock_send", "poll_oneoff", "fd_close", "fd_fdstat_set_flags"],
} as const;

/** WASI preview1 error numbers the runner returns (negated) from the socket calls. */
export const WASI_ERRNO: Record<string, number> = {
  EACCES: 2, EADDRINUSE: 3, EADDRNOTAVAIL: 4, EAFNOSUPPORT: 5, EAGAIN: 6, EALREADY: 7, EBADF: 8,
  ECONNABORTED: 13, ECONNREFUSED: 14, ECONNRESET: 15, EHOSTUNREACH: 23, EINPROGRESS: 26, EINVAL: 28,
  EIO: 29, EISCONN: 30, EMFILE: 33, ENETUNREACH: 40, ENOMEM: 48, ENOTCONN: 53, ENOTSUP: 58, EPIPE: 64,
  ETIMEDOUT: 73, EDESTADDRREQ: 17, EMSGSIZE: 35, ENOBUFS: 42,
};

/** The WASI errno for a Node/libuv error code (EIO when unknown). */
export function wasiErrno(code: string): number {
  return WASI_ERRNO[code] ?? WASI_ERRNO.EIO;
}

/** The name of a WASI errno number (for logs), or `errno N`. */
export function wasiErrnoName(n: number): string {
  const abs = Math.abs(n);
  return Object.keys(WASI_ERRNO).find((k) => WASI_ERRNO[k] === abs) ?? `errno ${abs}`;
}
