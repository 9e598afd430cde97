// wasyncore native backend: shared declarations of the addon's files.
//
//   addon.c  module init, the epoll instance and its libuv watcher, the event batch
//   sock.c   the socket syscalls (non-blocking; every call returns a result or -errno)
//   addr.c   socket addresses between JS values and struct sockaddr
//   batch.c  batched socket calls (sendmany: one call flushes many channels)
#ifndef WASYNCORE_H
#define WASYNCORE_H

#include <node_api.h>
#include <sys/socket.h>

// Every N-API call below is expected to succeed; a failure is a bug in the addon or the host.
#define CHECK(call)                                                        \
  do {                                                                     \
    if ((call) != napi_ok) {                                               \
      napi_throw_error(env, NULL, "wasyncore native: " #call " failed");   \
      return NULL;                                                         \
    }                                                                      \
  } while (0)

/** Up to `max` arguments of the current call; throws and returns 0 when fewer than `need` came. */
int args_get(napi_env env, napi_callback_info info, napi_value* argv, size_t max, size_t need);
/** An int32 argument (numbers are truncated as ToInt32 does). */
int arg_int(napi_env env, napi_value v);
/** A number result. */
napi_value num(napi_env env, double v);
/**
 * The bytes of an ArrayBuffer or a typed array from `off` for `len` bytes (never NULL), or
 * NULL after throwing a RangeError when the region is not inside it.
 */
char* region(napi_env env, napi_value buf, int off, int len);

/**
 * Fills `sa` from (family, host-or-path, port, scopeId); returns its length or -errno
 * (EAFNOSUPPORT for an unknown family, EINVAL for a host that is not a literal of the family).
 */
int addr_from_js(napi_env env, int family, napi_value host, int port, int scope, struct sockaddr_storage* sa);
/** The JS form of an address: [host, port] / [host, port, flowinfo, scopeId] / a path string. */
napi_value addr_to_js(napi_env env, const struct sockaddr_storage* sa, socklen_t len);

/**
 * Records that this environment opened (`on`) or closed descriptor `fd`: when the environment
 * goes away (a worker exits), the addon closes the descriptors it still owns.
 */
void fd_owned(napi_env env, int fd, int on);

/** Registers the socket functions (sock.c) on the module's exports. */
void sock_register(napi_env env, napi_value exports);

/** Registers the batched calls (batch.c) on the module's exports. */
void batch_register(napi_env env, napi_value exports);

#endif
