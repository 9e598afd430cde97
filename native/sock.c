// The socket syscalls, one thin function each. Every descriptor is non-blocking and
// close-on-exec; every call returns its result or -errno (getsockopt throws instead, since an
// option's value may be any int). Bytes move straight between the kernel and the caller's
// memory (the WASM core's ArrayBuffer or a Buffer): no copy and no allocation here.
#include <errno.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stddef.h>
#include <string.h>
#include <poll.h>
#include <sys/un.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

#include "wasyncore.h"

static napi_value result(napi_env env, long rc) {
  return num(env, rc < 0 ? -errno : (double)rc);
}

// A new descriptor of this environment (closed with it if the host has not closed it by then).
static napi_value opened(napi_env env, int fd) {
  if (fd < 0) return num(env, -errno);
  fd_owned(env, fd, 1);
  return num(env, fd);
}

/** socket(family, type) → fd */
static napi_value js_socket(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (!args_get(env, info, argv, 2, 2)) return NULL;
  int family = arg_int(env, argv[0]), type = arg_int(env, argv[1]);
  return opened(env, socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
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

/**
 * accept(fd, withAddress?) → the new connection's fd (non-blocking, close-on-exec), or with
 * `withAddress` [fd, the peer's address] from accept4 itself (no getpeername call), or -errno.
 */
static napi_value js_accept(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  size_t argc = 2;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc < 1) {
    napi_throw_type_error(env, NULL, "wasyncore native: too few arguments");
    return NULL;
  }
  bool with = false;
  if (argc > 1) napi_get_value_bool(env, argv[1], &with);
  struct sockaddr_storage sa;
  socklen_t alen = sizeof(sa);
  int rc;
  do rc = accept4(arg_int(env, argv[0]), with ? (struct sockaddr*)&sa : NULL, with ? &alen : NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
  while (rc < 0 && errno == EINTR);
  if (rc < 0 || !with) return opened(env, rc);
  fd_owned(env, rc, 1);
  napi_value out;
  napi_create_array_with_length(env, 2, &out);
  napi_set_element(env, out, 0, num(env, rc));
  napi_set_element(env, out, 1, addr_to_js(env, &sa, alen));
  return out;
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

// Datagram records, as the host's core queue keeps them (little-endian):
//   length u32 | port u16 | alen u8 | 0 | payload (length) | address (alen bytes: IP text or Unix path)
#define REC_HEADER 8
#define REC_ADDR_MAX 110 // sun_path (108) or INET6_ADDRSTRLEN (46), plus slack
#define REC_MIN_ROOM 65536 // a later record needs room for any IP datagram, else the batch stops

static int addr_text(const struct sockaddr_storage* sa, socklen_t len, char* out, int* port) {
  *port = 0;
  if (sa->ss_family == AF_INET) {
    const struct sockaddr_in* in = (const struct sockaddr_in*)sa;
    *port = ntohs(in->sin_port);
    return inet_ntop(AF_INET, &in->sin_addr, out, REC_ADDR_MAX) ? (int)strlen(out) : 0;
  }
  if (sa->ss_family == AF_INET6) {
    const struct sockaddr_in6* in6 = (const struct sockaddr_in6*)sa;
    *port = ntohs(in6->sin6_port);
    return inet_ntop(AF_INET6, &in6->sin6_addr, out, REC_ADDR_MAX) ? (int)strlen(out) : 0;
  }
  if (sa->ss_family == AF_UNIX) {
    const struct sockaddr_un* un = (const struct sockaddr_un*)sa;
    size_t off = offsetof(struct sockaddr_un, sun_path);
    if (len <= off) return 0; // an unbound sender
    size_t n = len - off;
    if (un->sun_path[0] != '\0') n = strnlen(un->sun_path, n);
    if (n > REC_ADDR_MAX) n = REC_ADDR_MAX;
    memcpy(out, un->sun_path, n);
    return (int)n;
  }
  return 0;
}

/**
 * recvrecs(fd, buffer, offset, length, max, budget, exemptFirst, info: Int32Array(2)) → bytes written.
 * Receives up to `max` datagrams into `buffer` as back-to-back records (see above), one
 * recvfrom(2) each, until the kernel has none (EAGAIN), an error, too little room is left, or the
 * next record might take the records past `budget` bytes (then the datagram stays in the kernel;
 * the first record is exempt when `exemptFirst`). Near the budget the next datagram's length is
 * peeked (MSG_PEEK | MSG_TRUNC), so a record is never cut to fit.
 * info[0] = records written, info[1] = the errno that ended the batch (0: max or room reached,
 * -1: the budget). A datagram longer than the buffer's room is truncated, as recvfrom(2) truncates.
 */
static napi_value js_recvrecs(napi_env env, napi_callback_info info) {
  napi_value argv[8];
  if (!args_get(env, info, argv, 8, 8)) return NULL;
  int off = arg_int(env, argv[2]), len = arg_int(env, argv[3]), max = arg_int(env, argv[4]);
  double budget = 0;
  napi_get_value_double(env, argv[5], &budget);
  bool exempt = false;
  napi_get_value_bool(env, argv[6], &exempt);
  char* p = region(env, argv[1], off, len);
  if (!p) return NULL;
  int32_t* out = (int32_t*)region(env, argv[7], 0, 8);
  if (!out) return NULL;
  int fd = arg_int(env, argv[0]);
  int used = 0, count = 0, err = 0;
  while (count < max) {
    int room = len - used - REC_HEADER - REC_ADDR_MAX;
    if (room <= 0 || (count > 0 && room < REC_MIN_ROOM)) break;
    double left = budget - used;
    if (!(count == 0 && exempt) && left < (double)REC_MIN_ROOM + REC_HEADER + REC_ADDR_MAX) {
      char probe;
      ssize_t next;
      do next = recv(fd, &probe, 1, MSG_PEEK | MSG_TRUNC);
      while (next < 0 && errno == EINTR);
      if (next < 0) { err = errno; break; }
      if ((double)(REC_HEADER + next + REC_ADDR_MAX) > left) { err = -1; break; }
    }
    struct sockaddr_storage sa;
    socklen_t alen = sizeof(sa);
    char* rec = p + used;
    ssize_t rc;
    do rc = recvfrom(fd, rec + REC_HEADER, (size_t)room, 0, (struct sockaddr*)&sa, &alen);
    while (rc < 0 && errno == EINTR);
    if (rc < 0) { err = errno; break; }
    int port;
    int tlen = addr_text(&sa, alen, rec + REC_HEADER + rc, &port);
    uint32_t n = (uint32_t)rc;
    rec[0] = (char)(n & 0xff); rec[1] = (char)((n >> 8) & 0xff); rec[2] = (char)((n >> 16) & 0xff); rec[3] = (char)(n >> 24);
    rec[4] = (char)(port & 0xff); rec[5] = (char)(port >> 8);
    rec[6] = (char)tlen; rec[7] = 0;
    used += REC_HEADER + (int)rc + tlen;
    count++;
  }
  out[0] = count;
  out[1] = err;
  return num(env, used);
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
  int fd = arg_int(env, argv[0]);
  fd_owned(env, fd, 0); // before close(2): another thread may get the number next
  return result(env, close(fd));
}

/** dup(fd) → a new close-on-exec descriptor for the same file */
static napi_value js_dup(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!args_get(env, info, argv, 1, 1)) return NULL;
  return opened(env, fcntl(arg_int(env, argv[0]), F_DUPFD_CLOEXEC, 0));
}

/**
 * setsockopt(fd, level, option, value) → 0. `value` is an int, or the option's bytes (an
 * ArrayBuffer or a typed array: e.g. SO_LINGER's struct linger, as Python passes bytes).
 */
static napi_value js_setsockopt(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  if (!args_get(env, info, argv, 4, 4)) return NULL;
  napi_valuetype t;
  napi_typeof(env, argv[3], &t);
  int fd = arg_int(env, argv[0]), level = arg_int(env, argv[1]), option = arg_int(env, argv[2]);
  if (t == napi_object) {
    bool is_ab = false, is_ta = false;
    size_t len = 0;
    napi_is_arraybuffer(env, argv[3], &is_ab);
    if (is_ab) {
      void* d;
      napi_get_arraybuffer_info(env, argv[3], &d, &len);
    } else {
      napi_is_typedarray(env, argv[3], &is_ta);
      if (!is_ta) {
        napi_throw_type_error(env, NULL, "wasyncore native: setsockopt value must be an int or bytes");
        return NULL;
      }
      napi_typedarray_type type;
      size_t length, offset;
      void* d;
      napi_value ab;
      napi_get_typedarray_info(env, argv[3], &type, &length, &d, &ab, &offset);
      len = type == napi_uint8_array || type == napi_int8_array || type == napi_uint8_clamped_array ? length : 0;
      if (len == 0 && length > 0) {
        napi_throw_type_error(env, NULL, "wasyncore native: setsockopt bytes must be a Uint8Array");
        return NULL;
      }
    }
    if (len > 1024) return num(env, -EINVAL);
    char* p = region(env, argv[3], 0, (int)len);
    if (!p) return NULL;
    return result(env, setsockopt(fd, level, option, p, (socklen_t)len));
  }
  int v = arg_int(env, argv[3]);
  return result(env, setsockopt(fd, level, option, &v, sizeof(v)));
}

/** getsockoptBytes(fd, level, option, buflen) → a Buffer of what the kernel wrote (at most buflen bytes), or -errno */
static napi_value js_getsockopt_bytes(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  if (!args_get(env, info, argv, 4, 4)) return NULL;
  int buflen = arg_int(env, argv[3]);
  if (buflen < 0 || buflen > 1024) return num(env, -EINVAL);
  char buf[1024];
  socklen_t len = (socklen_t)buflen;
  if (getsockopt(arg_int(env, argv[0]), arg_int(env, argv[1]), arg_int(env, argv[2]), buf, &len) < 0) return num(env, -errno);
  napi_value out;
  void* data;
  if (napi_create_buffer_copy(env, len, buf, &data, &out) != napi_ok) return NULL;
  return out;
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

/** poll(fd, events) → the events poll(2) reports now (no waiting), or -errno */
static napi_value js_poll(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (!args_get(env, info, argv, 2, 2)) return NULL;
  struct pollfd p = { .fd = arg_int(env, argv[0]), .events = (short)arg_int(env, argv[1]), .revents = 0 };
  int rc;
  do rc = poll(&p, 1, 0);
  while (rc < 0 && errno == EINTR);
  return rc < 0 ? num(env, -errno) : num(env, p.revents);
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
    { "recvrecs", NULL, js_recvrecs, NULL, NULL, NULL, napi_default, NULL },
    { "shutdown", NULL, js_shutdown, NULL, NULL, NULL, napi_default, NULL },
    { "close", NULL, js_close, NULL, NULL, NULL, napi_default, NULL },
    { "dup", NULL, js_dup, NULL, NULL, NULL, napi_default, NULL },
    { "setsockopt", NULL, js_setsockopt, NULL, NULL, NULL, napi_default, NULL },
    { "getsockopt", NULL, js_getsockopt, NULL, NULL, NULL, napi_default, NULL },
    { "getsockoptBytes", NULL, js_getsockopt_bytes, NULL, NULL, NULL, napi_default, NULL },
    { "poll", NULL, js_poll, NULL, NULL, NULL, napi_default, NULL },
    { "sockname", NULL, js_sockname, NULL, NULL, NULL, napi_default, NULL },
    { "peername", NULL, js_peername, NULL, NULL, NULL, napi_default, NULL },
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
}
