// Batched socket calls: one addon call for many descriptors (fewer N-API crossings per pass).
//
// sendmany(buffer, list, n): the end of a loop pass flushes every channel that queued output in
// that pass with one call instead of one send() call each. `list` is an Int32Array of n
// {fd, offset, length, result} quadruples over `buffer` (the core's memory); each send(2) runs in
// order and its result (bytes sent, or -errno) goes into the quadruple's `result` (fd -1: skipped). The kernel
// crossings stay one send(2) per channel: what it saves is the JS → C transition and argument
// unwrapping per channel (~0.3 µs each, measured).
#include <errno.h>
#include <stdint.h>

#include "wasyncore.h"

#define QUAD 4

/** sendmany(buffer, list: Int32Array, n) → n; list[4i + 3] = bytes sent or -errno. */
static napi_value js_sendmany(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  if (!args_get(env, info, argv, 3, 3)) return NULL;
  int n = arg_int(env, argv[2]);
  if (n < 0) {
    napi_throw_range_error(env, NULL, "wasyncore native: sendmany: n < 0");
    return NULL;
  }
  int32_t* list = (int32_t*)region(env, argv[1], 0, n * QUAD * (int)sizeof(int32_t));
  if (!list) return NULL;
  // The buffer's bounds: each region is checked against them before its send(2).
  char* base = region(env, argv[0], 0, 0);
  if (!base) return NULL;
  size_t size = 0;
  bool is_ab = false;
  napi_is_arraybuffer(env, argv[0], &is_ab);
  if (is_ab) {
    void* data;
    napi_get_arraybuffer_info(env, argv[0], &data, &size);
  } else {
    napi_typedarray_type type;
    size_t length, offset;
    napi_value ab;
    void* data;
    napi_get_typedarray_info(env, argv[0], &type, &length, &data, &ab, &offset);
    size = type == napi_uint8_array || type == napi_int8_array || type == napi_uint8_clamped_array ? length : 0;
  }
  for (int i = 0; i < n; i++) {
    int32_t* q = list + QUAD * i;
    int fd = q[0], off = q[1], len = q[2];
    if (fd < 0) { // withdrawn by the host after it was queued: nothing to send
      q[3] = 0;
      continue;
    }
    if (off < 0 || len < 0 || (size_t)off + (size_t)len > size) {
      q[3] = -EFAULT; // outside the buffer: refused, nothing sent
      continue;
    }
    ssize_t rc;
    do rc = send(fd, base + off, (size_t)len, MSG_NOSIGNAL);
    while (rc < 0 && errno == EINTR);
    q[3] = rc < 0 ? -errno : (int32_t)rc;
  }
  return num(env, n);
}

void batch_register(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    { "sendmany", NULL, js_sendmany, NULL, NULL, NULL, napi_default, NULL },
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
}
