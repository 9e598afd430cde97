// The socket syscalls, one thin function each. Every descriptor is non-blocking and
// close-on-exec; every call returns its result or -errno (getsockopt throws instead, since an
// option's value may be any int). Bytes move straight between the kernel and the caller's
// memory (the WASM core's ArrayBuffer or a Buffer): no copy and no allocation here.
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

#include "wasyncore.h"

static napi_value result(napi_env env, long rc) {
  return num(env, rc < 0 ? -errno : (double)rc);
}

/** socket(family, type) → fd */
static napi_value js_socket(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (!args_get(env, info, argv, 2, 2)) return NULL;
  int family = arg_int(env, argv[0]), type = arg_int(env, argv[1]);
  return result(env, socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
}

/** bind(fd, family, host, port, scopeId) → 0 */
static napi_value js_bind(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  if (!args_get(env, info, argv, 5, 5)) return NULL;
  struct sockaddr_storage sa;
  int len = addr_from_js(env, arg_int(env, argv[1]), argv[2], arg_int(env, argv[3]), arg_int(env, argv[4]), &sa);
  if (len < 0) return num(env, len);
  return result(env, bind(arg_int(env, argv[0]), (struct sockaddr*)&sa, (socklen_t)len));
}

/** connect(fd, family, host, port, scopeId) → 0, or -EINPROGRESS while it completes */
static napi_value js_connect(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  if (!args_get(env, info, argv, 5, 5)) return NULL;
  struct sockaddr_storage sa;
  int len = addr_from_js(env, arg_int(env, argv[1]), argv[2], arg_int(env, argv[3]), arg_int(env, argv[4]), &sa);
  if (len < 0) return num(env, len);
  int rc;
  do rc = connect(arg_int(env, argv[0]), (struct sockaddr*)&sa, (socklen_t)len);
  while (rc < 0 && errno == EINTR);
  return result(env, rc);
}

/** listen(fd, backlog) → 0 */
static napi_value js_listen(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (!args_get(env, info, argv, 2, 2)) return NULL;
  return result(env, listen(arg_int(env, argv[0]), arg_int(env, argv[1])));
}

/** accept(fd) → the new connection's fd (non-blocking, close-on-exec) */
static napi_value js_accept(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!args_get(env, info, argv, 1, 1)) return NULL;
  int rc;
  do rc = accept4(arg_int(env, argv[0]), NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
  while (rc < 0 && errno == EINTR);
  return result(env, rc);
}

/** recv(fd, buffer, offset, length, flags) → bytes received (0 = EOF) */
static napi_value js_recv(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  if (!args_get(env, info, argv, 5, 5)) return NULL;
  int off = arg_int(env, argv[2]), len = arg_int(env, argv[3]);
  char* p = region(env, argv[1], off, len);
  if (!p) return NULL;
  ssize_t rc;
  do rc = recv(arg_int(env, argv[0]), p, (size_t)len, arg_int(env, argv[4]));
  while (rc < 0 && errno == EINTR);
  return result(env, rc);
}

/** send(fd, buffer, offset, length, flags) → bytes the kernel took */
static napi_value js_send(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  if (!args_get(env, info, argv, 5, 5)) return NULL;
  int off = arg_int(env, argv[2]), len = arg_int(env, argv[3]);
  char* p = region(env, argv[1], off, len);
  if (!p) return NULL;
  ssize_t rc;
  do rc = send(arg_int(env, argv[0]), p, (size_t)len, arg_int(env, argv[4]) | MSG_NOSIGNAL);
  while (rc < 0 && errno == EINTR);
  return result(env, rc);
}

/** sendto(fd, buffer, offset, length, flags, family, host, port, scopeId) → bytes sent */
static napi_value js_sendto(napi_env env, napi_callback_info info) {
  napi_value argv[9];
  if (!args_get(env, info, argv, 9, 9)) return NULL;
  int off = arg_int(env, argv[2]), len = arg_int(env, argv[3]);
  char* p = region(env, argv[1], off, len);
  if (!p) return NULL;
  struct sockaddr_storage sa;
  int alen = addr_from_js(env, arg_int(env, argv[5]), argv[6], arg_int(env, argv[7]), arg_int(env, argv[8]), &sa);
  if (alen < 0) return num(env, alen);
  ssize_t rc;
  do rc = sendto(arg_int(env, argv[0]), p, (size_t)len, arg_int(env, argv[4]) | MSG_NOSIGNAL, (struct sockaddr*)&sa, (socklen_t)alen);
  while (rc < 0 && errno == EINTR);
  return result(env, rc);
}

/** recvfrom(fd, buffer, offset, length, flags) → [bytes, address] or -errno */
static napi_value js_recvfrom(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  if (!args_get(env, info, argv, 5, 5)) return NULL;
  int off = arg_int(env, argv[2]), len = arg_int(env, argv[3]);
  char* p = region(env, argv[1], off, len);
  if (!p) return NULL;
  struct sockaddr_storage sa;
  socklen_t alen = sizeof(sa);
  ssize_t rc;
  do rc = recvfrom(arg_int(env, argv[0]), p, (size_t)len, arg_int(env, argv[4]), (struct sockaddr*)&sa, &alen);
  while (rc < 0 && errno == EINTR);
  if (rc < 0) return num(env, -errno);
  napi_value out;
  napi_create_array_with_length(env, 2, &out);
  napi_set_element(env, out, 0, num(env, (double)rc));
  napi_set_element(env, out, 1, addr_to_js(env, &sa, alen));
  return out;
}

/** shutdown(fd, how) → 0 */
static napi_value js_shutdown(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (!args_get(env, info, argv, 2, 2)) return NULL;
  return result(env, shutdown(arg_int(env, argv[0]), arg_int(env, argv[1])));
}

/** close(fd) → 0 (the descriptor is gone even when close reports an error) */
static napi_value js_close(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!args_get(env, info, argv, 1, 1)) return NULL;
  return result(env, close(arg_int(env, argv[0])));
}

/** dup(fd) → a new close-on-exec descriptor for the same file */
static napi_value js_dup(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!args_get(env, info, argv, 1, 1)) return NULL;
  return result(env, fcntl(arg_int(env, argv[0]), F_DUPFD_CLOEXEC, 0));
}

/** setsockopt(fd, level, option, value) → 0 (int options) */
static napi_value js_setsockopt(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  if (!args_get(env, info, argv, 4, 4)) return NULL;
  int v = arg_int(env, argv[3]);
  return result(env, setsockopt(arg_int(env, argv[0]), arg_int(env, argv[1]), arg_int(env, argv[2]), &v, sizeof(v)));
}

/** getsockopt(fd, level, option) → the int value; throws an Error whose code is the errno */
static napi_value js_getsockopt(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  if (!args_get(env, info, argv, 3, 3)) return NULL;
  int v = 0;
  socklen_t len = sizeof(v);
  if (getsockopt(arg_int(env, argv[0]), arg_int(env, argv[1]), arg_int(env, argv[2]), &v, &len) < 0) {
    char code[16];
    snprintf(code, sizeof(code), "%d", errno);
    napi_throw_error(env, code, "getsockopt failed");
    return NULL;
  }
  return num(env, v);
}

static napi_value name_of(napi_env env, napi_callback_info info, int peer) {
  napi_value argv[1];
  if (!args_get(env, info, argv, 1, 1)) return NULL;
  struct sockaddr_storage sa;
  socklen_t len = sizeof(sa);
  int fd = arg_int(env, argv[0]);
  int rc = peer ? getpeername(fd, (struct sockaddr*)&sa, &len) : getsockname(fd, (struct sockaddr*)&sa, &len);
  if (rc < 0) return num(env, -errno);
  return addr_to_js(env, &sa, len);
}

/** sockname(fd) → address or -errno */
static napi_value js_sockname(napi_env env, napi_callback_info info) { return name_of(env, info, 0); }
/** peername(fd) → address or -errno */
static napi_value js_peername(napi_env env, napi_callback_info info) { return name_of(env, info, 1); }

void sock_register(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    { "socket", NULL, js_socket, NULL, NULL, NULL, napi_default, NULL },
    { "bind", NULL, js_bind, NULL, NULL, NULL, napi_default, NULL },
    { "connect", NULL, js_connect, NULL, NULL, NULL, napi_default, NULL },
    { "listen", NULL, js_listen, NULL, NULL, NULL, napi_default, NULL },
    { "accept", NULL, js_accept, NULL, NULL, NULL, napi_default, NULL },
    { "recv", NULL, js_recv, NULL, NULL, NULL, napi_default, NULL },
    { "send", NULL, js_send, NULL, NULL, NULL, napi_default, NULL },
    { "sendto", NULL, js_sendto, NULL, NULL, NULL, napi_default, NULL },
    { "recvfrom", NULL, js_recvfrom, NULL, NULL, NULL, napi_default, NULL },
    { "shutdown", NULL, js_shutdown, NULL, NULL, NULL, napi_default, NULL },
    { "close", NULL, js_close, NULL, NULL, NULL, napi_default, NULL },
    { "dup", NULL, js_dup, NULL, NULL, NULL, napi_default, NULL },
    { "setsockopt", NULL, js_setsockopt, NULL, NULL, NULL, napi_default, NULL },
    { "getsockopt", NULL, js_getsockopt, NULL, NULL, NULL, napi_default, NULL },
    { "sockname", NULL, js_sockname, NULL, NULL, NULL, napi_default, NULL },
    { "peername", NULL, js_peername, NULL, NULL, NULL, napi_default, NULL },
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
}
