// wasyncore native backend: one epoll instance per Node environment, watched by libuv.
//
// Interest is registered persistently (the host calls ctl() only when a socket's interest
// changes). libuv watches the epoll descriptor itself with a uv_poll_t, so Node's event loop
// never blocks here: when it becomes readable, one epoll_wait(0) collects up to BATCH ready
// sockets and the host's callback receives them all in one call, as {fd, events} int32 pairs
// in a shared ArrayBuffer (no allocation per wake-up). Level-triggered: whatever the host
// leaves unread is reported again on the next wake-up.
//
// Worker threads: every Node environment (the main thread, each worker) that loads the addon
// gets its own State (N-API instance data); nothing mutable is shared between environments.
// When an environment goes away (a worker exits or is terminated), an async cleanup hook closes
// the sockets it still has open and the epoll instance, and reports completion only from the
// watcher's close callback: Node unloads the addon after the last environment using it is gone,
// so no callback of ours may run after that.
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>
#include <uv.h>

#include "wasyncore.h"

#define BATCH 1024 // ready sockets per wake-up; the rest stay ready for the next one

typedef struct {
  napi_env env;
  int epfd;
  uv_poll_t* watcher;
  napi_ref callback;
  napi_ref batch_ref; // keeps the shared ArrayBuffer alive
  napi_async_context actx;
  napi_async_cleanup_hook_handle hook;
  uint8_t* owned; // owned[fd]: a socket this environment opened and has not closed
  size_t owned_len;
  int32_t* batch; // {fd, events} pairs, BATCH of them
  struct epoll_event ev[BATCH];
} State;

static State* state_of(napi_env env) {
  void* data = NULL;
  if (napi_get_instance_data(env, &data) != napi_ok) return NULL;
  return (State*)data;
}

void fd_owned(napi_env env, int fd, int on) {
  State* st = state_of(env);
  if (!st || fd < 0) return;
  if ((size_t)fd >= st->owned_len) {
    if (!on) return;
    size_t len = st->owned_len ? st->owned_len : 64;
    while (len <= (size_t)fd) len *= 2;
    uint8_t* grown = realloc(st->owned, len);
    if (!grown) return; // not tracked: the descriptor outlives the environment, as before
    memset(grown + st->owned_len, 0, len - st->owned_len);
    st->owned = grown;
    st->owned_len = len;
  }
  st->owned[fd] = on ? 1 : 0;
}

// ---- argument helpers (shared with sock.c) ------------------------------------------------

int args_get(napi_env env, napi_callback_info info, napi_value* argv, size_t max, size_t need) {
  size_t argc = max;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return 0;
  if (argc < need) {
    napi_throw_type_error(env, NULL, "wasyncore native: too few arguments");
    return 0;
  }
  return 1;
}

int arg_int(napi_env env, napi_value v) {
  int32_t n = 0;
  napi_get_value_int32(env, v, &n);
  return n;
}

napi_value num(napi_env env, double v) {
  napi_value out;
  napi_create_double(env, v, &out);
  return out;
}

char* region(napi_env env, napi_value buf, int off, int len) {
  bool is_ab = false;
  void* data = NULL;
  size_t size = 0;
  napi_is_arraybuffer(env, buf, &is_ab);
  if (is_ab) {
    if (napi_get_arraybuffer_info(env, buf, &data, &size) != napi_ok) data = NULL;
  } else {
    napi_typedarray_type type;
    size_t length, offset;
    napi_value ab;
    if (napi_get_typedarray_info(env, buf, &type, &length, &data, &ab, &offset) != napi_ok) {
      napi_throw_type_error(env, NULL, "wasyncore native: expected an ArrayBuffer or a typed array");
      return NULL;
    }
    size_t unit = (type == napi_int16_array || type == napi_uint16_array) ? 2
      : (type == napi_float64_array || type == napi_bigint64_array || type == napi_biguint64_array) ? 8
      : (type == napi_int8_array || type == napi_uint8_array || type == napi_uint8_clamped_array) ? 1 : 4;
    size = length * unit;
  }
  if (off < 0 || len < 0 || (size_t)off + (size_t)len > size || (data == NULL && len > 0)) {
    napi_throw_range_error(env, NULL, "wasyncore native: region outside the buffer");
    return NULL;
  }
  static char empty; // shared by every thread, but only ever a zero-length region (nothing writes it)
  return data == NULL ? &empty : (char*)data + off; // never NULL on success
}

// ---- the wake-up --------------------------------------------------------------------------

static void on_ready(uv_poll_t* handle, int status, int events) {
  State* st = (State*)handle->data;
  int n;
  do n = epoll_wait(st->epfd, st->ev, BATCH, 0);
  while (n < 0 && errno == EINTR);
  if (n <= 0) return;
  for (int i = 0; i < n; i++) {
    st->batch[2 * i] = st->ev[i].data.fd;
    st->batch[2 * i + 1] = (int32_t)st->ev[i].events;
  }
  napi_env env = st->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value cb, recv, arg, result;
  napi_get_reference_value(env, st->callback, &cb);
  napi_get_global(env, &recv); // make_callback needs an object receiver
  napi_create_int32(env, n, &arg);
  // make_callback, not call_function: Node drains microtasks and nextTicks afterwards, so
  // promises the host resolves here (a waiting loop pass) continue in this same wake-up.
  if (napi_make_callback(env, st->actx, recv, cb, 1, &arg, &result) == napi_pending_exception) {
    napi_value err;
    napi_get_and_clear_last_exception(env, &err);
    napi_fatal_exception(env, err);
  }
  napi_close_handle_scope(env, scope);
}

// The watcher is closed: the epoll instance can go, and the environment may finish its teardown.
static void watcher_closed(uv_handle_t* h) {
  State* st = (State*)h->data;
  free(h);
  if (st->epfd >= 0) close(st->epfd);
  st->epfd = -1;
  napi_remove_async_cleanup_hook(st->hook); // the last call into Node for this environment
}

// The environment is going away (a worker's exit or terminate(), or the end of the process):
// its sockets close (a peer sees the connection end, a listener's port is free again), then
// the watcher; Node waits for watcher_closed() before it tears the environment down.
static void cleanup(napi_async_cleanup_hook_handle hook, void* arg) {
  State* st = (State*)arg;
  for (size_t fd = 0; fd < st->owned_len; fd++) {
    if (st->owned[fd]) close((int)fd);
  }
  st->owned_len = 0;
  if (st->actx) {
    napi_async_destroy(st->env, st->actx);
    st->actx = NULL;
  }
  uv_poll_stop(st->watcher);
  uv_close((uv_handle_t*)st->watcher, watcher_closed);
  st->watcher = NULL;
}

// The environment's instance data is released (after the cleanup hook completed).
static void finalize_state(napi_env env, void* data, void* hint) {
  State* st = (State*)data;
  free(st->owned);
  free(st);
}

/** init(callback(n)) → ArrayBuffer of BATCH {fd, events} int32 pairs. */
static napi_value js_init(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!args_get(env, info, argv, 1, 1)) return NULL;
  if (state_of(env) != NULL) {
    napi_throw_error(env, NULL, "wasyncore native: init() called twice");
    return NULL;
  }
  State* st = calloc(1, sizeof(State));
  if (!st) {
    napi_throw_error(env, NULL, "wasyncore native: out of memory");
    return NULL;
  }
  st->env = env;
  st->epfd = epoll_create1(EPOLL_CLOEXEC);
  if (st->epfd < 0) {
    free(st);
    napi_throw_error(env, NULL, "wasyncore native: epoll_create1 failed");
    return NULL;
  }
  struct uv_loop_s* loop;
  CHECK(napi_get_uv_event_loop(env, &loop));
  st->watcher = malloc(sizeof(uv_poll_t));
  if (!st->watcher || uv_poll_init(loop, st->watcher, st->epfd) != 0) {
    close(st->epfd);
    free(st->watcher);
    free(st);
    napi_throw_error(env, NULL, "wasyncore native: uv_poll_init failed");
    return NULL;
  }
  st->watcher->data = st;
  uv_poll_start(st->watcher, UV_READABLE, on_ready);
  uv_unref((uv_handle_t*)st->watcher); // no socket open yet
  CHECK(napi_set_instance_data(env, st, finalize_state, NULL));
  CHECK(napi_add_async_cleanup_hook(env, cleanup, st, &st->hook));

  CHECK(napi_create_reference(env, argv[0], 1, &st->callback));
  napi_value name, ab;
  CHECK(napi_create_string_utf8(env, "wasyncore:epoll", NAPI_AUTO_LENGTH, &name));
  CHECK(napi_async_init(env, NULL, name, &st->actx));
  void* data;
  CHECK(napi_create_arraybuffer(env, sizeof(int32_t) * 2 * BATCH, &data, &ab));
  st->batch = (int32_t*)data;
  CHECK(napi_create_reference(env, ab, 1, &st->batch_ref));
  return ab;
}

/** ctl(op, fd, events) → 0 or -errno. op is EPOLL_CTL_ADD / _MOD / _DEL. */
static napi_value js_ctl(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  if (!args_get(env, info, argv, 3, 3)) return NULL;
  State* st = state_of(env);
  if (!st) return num(env, -EBADF);
  int op = arg_int(env, argv[0]), fd = arg_int(env, argv[1]);
  struct epoll_event ev = { .events = (uint32_t)arg_int(env, argv[2]), .data = { .fd = fd } };
  if (epoll_ctl(st->epfd, op, fd, &ev) < 0) return num(env, -errno);
  return num(env, 0);
}

/** ref(on): whether the watcher keeps Node's event loop alive (the host: while sockets are open). */
static napi_value js_ref(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!args_get(env, info, argv, 1, 1)) return NULL;
  State* st = state_of(env);
  bool on = false;
  napi_get_value_bool(env, argv[0], &on);
  if (st && st->watcher) {
    if (on) uv_ref((uv_handle_t*)st->watcher);
    else uv_unref((uv_handle_t*)st->watcher);
  }
  return NULL;
}

static void set_const(napi_env env, napi_value obj, const char* name, int v) {
  napi_value n;
  napi_create_int32(env, v, &n);
  napi_set_named_property(env, obj, name, n);
}

static napi_value constants(napi_env env) {
  napi_value c;
  napi_create_object(env, &c);
  set_const(env, c, "EPOLLIN", EPOLLIN);
  set_const(env, c, "EPOLLPRI", EPOLLPRI);
  set_const(env, c, "EPOLLOUT", EPOLLOUT);
  set_const(env, c, "EPOLLERR", EPOLLERR);
  set_const(env, c, "EPOLLHUP", EPOLLHUP);
  set_const(env, c, "EPOLLRDHUP", EPOLLRDHUP);
  set_const(env, c, "EPOLL_CTL_ADD", EPOLL_CTL_ADD);
  set_const(env, c, "EPOLL_CTL_MOD", EPOLL_CTL_MOD);
  set_const(env, c, "EPOLL_CTL_DEL", EPOLL_CTL_DEL);
  set_const(env, c, "MSG_OOB", MSG_OOB);
  set_const(env, c, "MSG_PEEK", MSG_PEEK);
  set_const(env, c, "SHUT_RD", SHUT_RD);
  set_const(env, c, "SHUT_WR", SHUT_WR);
  set_const(env, c, "SHUT_RDWR", SHUT_RDWR);
  set_const(env, c, "BATCH", BATCH);
  return c;
}

// glibc gives the top of its heap back to the kernel whenever 128 KiB lie free there. A server
// that allocates and frees a 64 KiB Buffer per recv() (V8 frees them in bunches, at GC) then
// faults and zeroes those pages again on every read: ~16 page faults per 64 KiB, ~10% of a bulk
// echo's CPU. Keep up to 32 MiB of freed heap instead, unless the user tuned malloc (or set
// WASYNCORE_MALLOC_TRIM to keep glibc's default).
static void keep_freed_heap(void) {
#ifdef __GLIBC__
  if (getenv("MALLOC_TRIM_THRESHOLD_") || getenv("GLIBC_TUNABLES") || getenv("WASYNCORE_MALLOC_TRIM")) return;
  mallopt(M_TRIM_THRESHOLD, 32 << 20);
#endif
}

// Process-wide, once: environments (worker threads) may load the addon concurrently.
static pthread_once_t heap_once = PTHREAD_ONCE_INIT;

static napi_value module_init(napi_env env, napi_value exports) {
  pthread_once(&heap_once, keep_freed_heap);
  napi_property_descriptor props[] = {
    { "init", NULL, js_init, NULL, NULL, NULL, napi_default, NULL },
    { "ctl", NULL, js_ctl, NULL, NULL, NULL, napi_default, NULL },
    { "ref", NULL, js_ref, NULL, NULL, NULL, napi_default, NULL },
    { "constants", NULL, NULL, NULL, NULL, constants(env), napi_enumerable, NULL },
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
  sock_register(env, exports);
  batch_register(env, exports);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, module_init)
