/*
 * TCP echo ping-pong load: CONNS connections, each sends SIZE bytes, waits for
 * the whole echo, records the round trip and repeats. Single thread, epoll.
 *
 * usage: echo_client HOST PORT CONNS SIZE SECONDS [WARMUP_SECONDS [RATE [REQUEST REPLY_SIZE]]]
 * RATE > 0 paces the load: RATE round trips per second in all, each connection on a fixed schedule of one
 * message every CONNS/RATE seconds (sent when its reply is in and its slot has come): a fixed offered load
 * instead of as fast as possible. REQUEST (a C-escaped text such as "GET / HTTP/1.1\r\n\r\n") replaces the SIZE-byte
 * message and the round trip ends after REPLY_SIZE bytes (an HTTP keep-alive client with a known reply).
 * prints one JSON line: {"rps":..,"p50_us":..,"p99_us":..,"conns":..,"errors":..}
 */
#include "common.h"
#include <sys/epoll.h>

enum { CONNECTING, RUNNING, DEAD };
#define MAX_PENDING_CONNECTS 256

typedef struct {
  int fd, state, paced;
  size_t got;
  double sent_at, next_at;
} conn_t;

static conn_t *conns;
static int nconns, epfd, errors;
static const char *payload;
static size_t size, reply_size;

/* "\r\n" escapes of a REQUEST argument, in place; its length. */
static size_t unescape(char *s) {
  char *o = s;
  for (char *p = s; *p; p++) {
    if (*p == '\\' && p[1]) {
      p++;
      *o++ = *p == 'r' ? '\r' : *p == 'n' ? '\n' : *p == 't' ? '\t' : *p;
    } else {
      *o++ = *p;
    }
  }
  *o = 0;
  return (size_t)(o - s);
}

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
  double rate = argc > 7 ? atof(argv[7]) : 0, interval = rate > 0 ? nconns / rate : 0;
  char *buf, scratch[65536];
  if (argc > 9) {
    buf = argv[8];
    size = unescape(buf);
    reply_size = (size_t)atoi(argv[9]);
  } else {
    buf = malloc(size);
    memset(buf, 'x', size);
    reply_size = size;
  }
  payload = buf;
  conns = calloc((size_t)nconns, sizeof *conns);
  epfd = epoll_create1(0);
  if (epfd < 0) die("epoll_create1");

  int up = connect_all(host, port);
  if (up == 0) { fprintf(stderr, "no connection could be opened\n"); return 1; }

  double t0 = now_s(), measure_from = t0 + warmup, end = measure_from + seconds;
  for (int i = 0; i < nconns; i++) {
    if (conns[i].state != RUNNING) continue;
    if (interval > 0) { conns[i].paced = 1; conns[i].next_at = t0 + interval * i / nconns; }  /* staggered */
    else send_msg(&conns[i]);
  }
  samples_t lat = {0};
  struct epoll_event evs[1024];
  for (double now = t0; now < end; now = now_s()) {
    int wait_ms = 50;
    if (interval > 0) {  /* send what is due; sleep until the next one is */
      for (int i = 0; i < nconns; i++) {
        conn_t *c = &conns[i];
        if (c->state != RUNNING || !c->paced) continue;
        if (c->next_at <= now) { c->paced = 0; send_msg(c); continue; }  /* send_msg keeps next_at */
        int ms = (int)((c->next_at - now) * 1e3);
        if (ms < wait_ms) wait_ms = ms;
      }
    }
    int n = epoll_wait(epfd, evs, 1024, wait_ms);
    for (int k = 0; k < n; k++) {
      conn_t *c = &conns[evs[k].data.u32];
      if (c->state != RUNNING) continue;
      ssize_t r = recv(c->fd, scratch, sizeof scratch, 0);
      if (r <= 0) { if (r == 0 || errno != EAGAIN) kill_conn(c); continue; }
      c->got += (size_t)r;
      if (c->got < reply_size) continue;
      double done = now_s();
      if (done >= measure_from && done <= end) samples_push(&lat, (done - c->sent_at) * 1e6);
      if (interval > 0) {  /* the next slot of this connection's fixed schedule (now when far behind it) */
        c->next_at += interval;
        if (c->next_at < done - interval) c->next_at = done;
        if (c->next_at > done) { c->paced = 1; continue; }
      }
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
