/*
 * TCP echo ping-pong load: CONNS connections, each sends SIZE bytes, waits for
 * the whole echo, records the round trip and repeats. Single thread, epoll.
 *
 * usage: echo_client HOST PORT CONNS SIZE SECONDS [WARMUP_SECONDS]
 * prints one JSON line: {"rps":..,"p50_us":..,"p99_us":..,"conns":..,"errors":..}
 */
#include "common.h"
#include <sys/epoll.h>

enum { CONNECTING, RUNNING, DEAD };
#define MAX_PENDING_CONNECTS 256

typedef struct {
  int fd, state;
  size_t got;
  double sent_at;
} conn_t;

static conn_t *conns;
static int nconns, epfd, errors;
static const char *payload;
static size_t size;

static void kill_conn(conn_t *c) {
  if (c->state == DEAD) return;
  if (c->fd >= 0) close(c->fd);
  c->fd = -1;
  c->state = DEAD;
  errors++;
}

static void send_msg(conn_t *c) {
  ssize_t n = send(c->fd, payload, size, MSG_NOSIGNAL);
  if (n != (ssize_t)size) { kill_conn(c); return; }  /* 64 B always fits an empty socket */
  c->got = 0;
  c->sent_at = now_s();
}

/* Starts connection i; returns 0 when it failed at once. */
static int open_conn(const char *host, int port, int i) {
  conn_t *c = &conns[i];
  c->fd = tcp_connect(host, port, 1);
  c->state = CONNECTING;
  if (c->fd < 0) { kill_conn(c); return 0; }
  struct epoll_event ev = { .events = EPOLLOUT, .data.u32 = (uint32_t)i };
  if (epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &ev) < 0) die("epoll_ctl");
  return 1;
}

/* Opens every connection, at most MAX_PENDING_CONNECTS at a time; returns how many are up. */
static int connect_all(const char *host, int port) {
  struct epoll_event evs[256];
  int opened = 0, settled = 0, up = 0;
  double deadline = now_s() + 30;
  while (settled < nconns && now_s() < deadline) {
    while (opened < nconns && opened - settled < MAX_PENDING_CONNECTS)
      if (!open_conn(host, port, opened++)) settled++;
    int n = epoll_wait(epfd, evs, 256, 100);
    for (int k = 0; k < n; k++) {
      conn_t *c = &conns[evs[k].data.u32];
      if (c->state != CONNECTING) continue;
      settled++;
      if (socket_error(c->fd) != 0) { kill_conn(c); continue; }
      struct epoll_event ev = { .events = EPOLLIN, .data.u32 = evs[k].data.u32 };
      epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
      c->state = RUNNING;
      up++;
    }
  }
  return up;
}

int main(int argc, char **argv) {
  if (argc < 6) {
    fprintf(stderr, "usage: %s HOST PORT CONNS SIZE SECONDS [WARMUP_SECONDS]\n", argv[0]);
    return 2;
  }
  const char *host = argv[1];
  int port = atoi(argv[2]);
  nconns = atoi(argv[3]);
  size = (size_t)atoi(argv[4]);
  double seconds = atof(argv[5]), warmup = argc > 6 ? atof(argv[6]) : 0;
  char *buf = malloc(size), scratch[65536];
  memset(buf, 'x', size);
  payload = buf;
  conns = calloc((size_t)nconns, sizeof *conns);
  epfd = epoll_create1(0);
  if (epfd < 0) die("epoll_create1");

  int up = connect_all(host, port);
  if (up == 0) { fprintf(stderr, "no connection could be opened\n"); return 1; }

  for (int i = 0; i < nconns; i++) if (conns[i].state == RUNNING) send_msg(&conns[i]);
  double t0 = now_s(), measure_from = t0 + warmup, end = measure_from + seconds;
  samples_t lat = {0};
  struct epoll_event evs[1024];
  for (double now = t0; now < end; now = now_s()) {
    int n = epoll_wait(epfd, evs, 1024, 50);
    for (int k = 0; k < n; k++) {
      conn_t *c = &conns[evs[k].data.u32];
      if (c->state != RUNNING) continue;
      ssize_t r = recv(c->fd, scratch, sizeof scratch, 0);
      if (r <= 0) { if (r == 0 || errno != EAGAIN) kill_conn(c); continue; }
      c->got += (size_t)r;
      if (c->got < size) continue;
      double done = now_s();
      if (done >= measure_from && done <= end) samples_push(&lat, (done - c->sent_at) * 1e6);
      send_msg(c);
    }
  }
  size_t count = lat.n;
  uint32_t p50 = samples_pct(&lat, 50), p99 = samples_pct(&lat, 99);
  int alive = 0;
  for (int i = 0; i < nconns; i++) alive += conns[i].state == RUNNING;
  printf("{\"rps\":%.1f,\"round_trips\":%zu,\"p50_us\":%u,\"p99_us\":%u,\"conns\":%d,\"errors\":%d}\n",
         (double)count / seconds, count, p50, p99, alive, errors);
  return count > 0 ? 0 : 1;
}
