// Socket addresses between the host's JS shapes and struct sockaddr.
//   AF_INET   [host, port]                      host an IPv4 literal
//   AF_INET6  [host, port, flowinfo, scopeId]   host an IPv6 literal
//   AF_UNIX   path                              a leading NUL names an abstract socket
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stddef.h>
#include <string.h>
#include <sys/un.h>

#include "wasyncore.h"

int addr_from_js(napi_env env, int family, napi_value host, int port, int scope, struct sockaddr_storage* sa) {
  memset(sa, 0, sizeof(*sa));
  char text[INET6_ADDRSTRLEN + 1];
  size_t len = 0;
  if (family == AF_UNIX) {
    struct sockaddr_un* un = (struct sockaddr_un*)sa;
    char path[sizeof(un->sun_path) + 2];
    un->sun_family = AF_UNIX;
    // Copies embedded NULs too (abstract names); a longer string shows up as len > sun_path.
    if (napi_get_value_string_utf8(env, host, path, sizeof(path), &len) != napi_ok) return -EINVAL;
    if (len == 0) return -EINVAL;
    int abstract = path[0] == '\0';
    if (len + (abstract ? 0 : 1) > sizeof(un->sun_path)) return -ENAMETOOLONG;
    memcpy(un->sun_path, path, len);
    // an abstract name is exactly its bytes; a path includes its terminating NUL
    return (int)(offsetof(struct sockaddr_un, sun_path) + len + (abstract ? 0 : 1));
  }
  if (napi_get_value_string_utf8(env, host, text, sizeof(text), &len) != napi_ok) return -EINVAL;
  if (port < 0 || port > 65535) return -EINVAL;
  if (family == AF_INET) {
    struct sockaddr_in* in = (struct sockaddr_in*)sa;
    in->sin_family = AF_INET;
    in->sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, text, &in->sin_addr) != 1) return -EINVAL;
    return sizeof(*in);
  }
  if (family == AF_INET6) {
    struct sockaddr_in6* in6 = (struct sockaddr_in6*)sa;
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons((uint16_t)port);
    in6->sin6_scope_id = (uint32_t)scope;
    if (inet_pton(AF_INET6, text, &in6->sin6_addr) != 1) return -EINVAL;
    return sizeof(*in6);
  }
  return -EAFNOSUPPORT;
}

static napi_value str(napi_env env, const char* s, size_t len) {
  napi_value v;
  napi_create_string_utf8(env, s, len, &v);
  return v;
}

napi_value addr_to_js(napi_env env, const struct sockaddr_storage* sa, socklen_t len) {
  char text[INET6_ADDRSTRLEN];
  napi_value out;
  if (sa->ss_family == AF_UNIX) {
    const struct sockaddr_un* un = (const struct sockaddr_un*)sa;
    size_t off = offsetof(struct sockaddr_un, sun_path);
    if (len <= off) return str(env, "", 0); // unnamed
    size_t n = len - off;
    if (un->sun_path[0] != '\0') n = strnlen(un->sun_path, n);
    return str(env, un->sun_path, n);
  }
  if (sa->ss_family == AF_INET) {
    const struct sockaddr_in* in = (const struct sockaddr_in*)sa;
    inet_ntop(AF_INET, &in->sin_addr, text, sizeof(text));
    napi_create_array_with_length(env, 2, &out);
    napi_set_element(env, out, 0, str(env, text, NAPI_AUTO_LENGTH));
    napi_set_element(env, out, 1, num(env, ntohs(in->sin_port)));
    return out;
  }
  if (sa->ss_family == AF_INET6) {
    const struct sockaddr_in6* in6 = (const struct sockaddr_in6*)sa;
    inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof(text));
    napi_create_array_with_length(env, 4, &out);
    napi_set_element(env, out, 0, str(env, text, NAPI_AUTO_LENGTH));
    napi_set_element(env, out, 1, num(env, ntohs(in6->sin6_port)));
    napi_set_element(env, out, 2, num(env, ntohl(in6->sin6_flowinfo)));
    napi_set_element(env, out, 3, num(env, in6->sin6_scope_id));
    return out;
  }
  napi_get_null(env, &out);
  return out;
}
