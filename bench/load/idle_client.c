/*
 * Idle-connections probe. Talks to the harness on stdin/stdout:
 *   1. ping-pongs 64 bytes on one active connection for SECONDS -> "BASE {json}"
 *      waits for a line on stdin
 *   2. opens IDLE connections; each sends 1 byte and waits for its echo, then
 *      stays open and silent -> "READY {json}"; waits for a line on stdin
 *   3. ping-pongs again on the active connection -> "LOADED {json}"
 *      waits for a line (or EOF) on stdin, then exits, closing everything.
 *
 * usage: idle_client HOST PORT IDLE SECONDS [CONNECT_CAP_SECONDS]
 * Opening stops after CONNECT_CAP_SECONDS (default 120); READY says how many opened.
 */
#include "common.h"
#include <sys/epoll.h>

#define MSG 64
#define MAX_PENDING 256

static void wait_for_harness(void) {
  char line[64];
  if (!fgets(line, sizeof line, stdin)) exit(0);
}

static int recv_all(int fd, char *buf, size_t len) {
  for (size_t got = 0; got < len;) {
    ssize_t n = recv(fd, buf + got, len - got, 0);
    if (n <= 0) return -1;
    got += (size_t)n;
  }
  return 0;
}

/* Blocking 64-byte ping-pong on fd for `seconds`; prints TAG {json} unless tag is NULL (warm-up). */
static void ping_pong(int fd, double seconds, const char *tag) {
  char buf[MSG];
  memset(buf, 'p', sizeof buf);
  samples_t lat = {0};
  for (double t0 = now_s(), t = t0; t < t0 + seconds; t = now_s()) {
    if (send(fd, buf, sizeof buf, MSG_NOSIGNAL) != MSG || recv_all(fd, buf, sizeof buf) < 0) {
      fprintf(stderr, "active connection failed\n");
      exit(1);
    }
    samples_push(&lat, (now_s() - t) * 1e6);
  }
  size_t count = lat.n;
  if (!tag) { free(lat.v); return; }
  uint32_t p50 = samples_pct(&lat, 50), p99 = samples_pct(&lat, 99);
  printf("%s {\"round_trips\":%zu,\"p50_us\":%u,\"p99_us\":%u}\n", tag, count, p50, p99);
  fflush(stdout);
  free(lat.v);
}

#define SAID_HELLO (1ull << 32)

/* Idle connections by index: their fds, and which completed their echo. */
static int *fds;
static char *done;

/* Handles one readiness event of idle connection i (data = i | flags); returns 1 when it settled. */
static int idle_step(int epfd, uint64_t data, int *ok) {
  int i = (int)(uint32_t)data, fd = fds[i], err = socket_error(fd);
  char b = 'i';
  ssize_t n = err ? -1 : recv(fd, &b, 1, 0);
  if (n == 1) {
    epoll_ctl(epfd, EPOLL_CTL_DEL, fd, NULL);
    done[i] = 1;
    *ok += 1;
    return 1;
  }
  if (n < 0 && !err && errno == EAGAIN) {
    if (data & SAID_HELLO) return 0;  /* spurious wake-up */
    struct epoll_event ev = { .events = EPOLLIN, .data.u64 = (uint32_t)i | SAID_HELLO };
    if (send(fd, &b, 1, MSG_NOSIGNAL) == 1 && epoll_ctl(epfd, EPOLL_CTL_MOD, fd, &ev) == 0) return 0;
  }
  epoll_ctl(epfd, EPOLL_CTL_DEL, fd, NULL);
  close(fd);
  fds[i] = -1;
  return 1;
}

/* Opens connection i; returns 0 when it failed at once. */
static int open_one(int epfd, const char *host, int port, int i) {
  fds[i] = tcp_connect(host, port, 1);
  struct epoll_event ev = { .events = EPOLLOUT, .data.u64 = (uint32_t)i };
  if (fds[i] >= 0 && epoll_ctl(epfd, EPOLL_CTL_ADD, fds[i], &ev) == 0) return 1;
  if (fds[i] >= 0) close(fds[i]);
  fds[i] = -1;
  return 0;
}

/*
 * Opens `count` connections that each complete one 1-byte echo, within `cap`
 * seconds; closes the ones that did not finish in time. Returns how many did.
 */
static int open_idle(const char *host, int port, int count, double cap) {
  int epfd = epoll_create1(0), opened = 0, settled = 0, ok = 0;
  if (epfd < 0) die("epoll_create1");
  fds = calloc((size_t)count, sizeof *fds);
  done = calloc((size_t)count, 1);
  struct epoll_event evs[512];
  double t0 = now_s();
  while (settled < count && now_s() < t0 + cap) {
    while (opened < count && opened - settled < MAX_PENDING)
      if (!open_one(epfd, host, port, opened++)) settled++;
    int n = epoll_wait(epfd, evs, 512, 100);
    for (int k = 0; k < n; k++) settled += idle_step(epfd, evs[k].data.u64, &ok);
  }
  for (int i = 0; i < opened; i++)
    if (fds[i] >= 0 && !done[i]) close(fds[i]);
  close(epfd);
  printf("READY {\"conns\":%d,\"failed\":%d,\"seconds\":%.3f}\n", ok, count - ok, now_s() - t0);
  fflush(stdout);
  return ok;
}

int main(int argc, char **argv) {
  if (argc < 5) {
    fprintf(stderr, "usage: %s HOST PORT IDLE SECONDS [CONNECT_CAP_SECONDS]\n", argv[0]);
    return 2;
  }
  int port = atoi(argv[2]), idle = atoi(argv[3]);
  double seconds = atof(argv[4]), cap = argc > 5 ? atof(argv[5]) : 120;
  int active = tcp_connect(argv[1], port, 0);
  if (active < 0) die("connect");
  int one = 1;
  setsockopt(active, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  ping_pong(active, seconds, NULL);
  ping_pong(active, seconds, "BASE");
  wait_for_harness();
  open_idle(argv[1], port, idle, cap);
  wait_for_harness();
  ping_pong(active, seconds, "LOADED");
  wait_for_harness();
  return 0;
}
