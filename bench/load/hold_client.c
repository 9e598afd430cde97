/*
 * Idle keep-alive connections for the idle-HTTP rows. Opens IDLE connections; each sends one
 * HTTP/1.1 keep-alive request and waits for the first bytes of its answer (so the server has
 * accepted and served it), then stays open and silent -> "READY {json}". Holds them until a
 * line (or EOF) arrives on stdin, then exits, closing everything.
 *
 * usage: hold_client HOST PORT IDLE [CONNECT_CAP_SECONDS]
 * Opening stops after CONNECT_CAP_SECONDS (default 60); READY says how many are held.
 */
#include "common.h"
#include <sys/epoll.h>

#define MAX_PENDING 256
#define SAID_HELLO (1ull << 32)

static const char REQUEST[] = "GET / HTTP/1.1\r\nHost: bench\r\n\r\n";
static int *fds;
static char *done;

/* Handles one readiness event of connection i; returns 1 when it settled (served or failed). */
static int step(int epfd, uint64_t data, int *ok) {
  int i = (int)(uint32_t)data, fd = fds[i], err = socket_error(fd);
  char buf[256];
  ssize_t n = err ? -1 : recv(fd, buf, sizeof buf, 0);
  if (n > 0) {
    epoll_ctl(epfd, EPOLL_CTL_DEL, fd, NULL);
    done[i] = 1;
    *ok += 1;
    return 1;
  }
  if (n < 0 && !err && errno == EAGAIN) {
    if (data & SAID_HELLO) return 0; /* spurious wake-up */
    struct epoll_event ev = { .events = EPOLLIN, .data.u64 = (uint32_t)i | SAID_HELLO };
    ssize_t len = (ssize_t)(sizeof REQUEST - 1);
    if (send(fd, REQUEST, (size_t)len, MSG_NOSIGNAL) == len && epoll_ctl(epfd, EPOLL_CTL_MOD, fd, &ev) == 0) return 0;
  }
  epoll_ctl(epfd, EPOLL_CTL_DEL, fd, NULL);
  close(fd);
  fds[i] = -1;
  return 1;
}

static int open_one(int epfd, const char *host, int port, int i) {
  fds[i] = tcp_connect(host, port, 1);
  struct epoll_event ev = { .events = EPOLLOUT, .data.u64 = (uint32_t)i };
  if (fds[i] >= 0 && epoll_ctl(epfd, EPOLL_CTL_ADD, fds[i], &ev) == 0) return 1;
  if (fds[i] >= 0) close(fds[i]);
  fds[i] = -1;
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: %s HOST PORT IDLE [CONNECT_CAP_SECONDS]\n", argv[0]);
    return 2;
  }
  int port = atoi(argv[2]), count = atoi(argv[3]);
  double cap = argc > 4 ? atof(argv[4]) : 60;
  int epfd = epoll_create1(0), opened = 0, settled = 0, ok = 0;
  if (epfd < 0) die("epoll_create1");
  fds = calloc((size_t)count + 1, sizeof *fds);
  done = calloc((size_t)count + 1, 1);
  struct epoll_event evs[512];
  double t0 = now_s();
  while (settled < count && now_s() < t0 + cap) {
    while (opened < count && opened - settled < MAX_PENDING)
      if (!open_one(epfd, argv[1], port, opened++)) settled++;
    int n = epoll_wait(epfd, evs, 512, 100);
    for (int k = 0; k < n; k++) settled += step(epfd, evs[k].data.u64, &ok);
  }
  for (int i = 0; i < opened; i++)
    if (fds[i] >= 0 && !done[i]) close(fds[i]);
  close(epfd);
  printf("READY {\"conns\":%d,\"failed\":%d,\"seconds\":%.3f}\n", ok, count - ok, now_s() - t0);
  fflush(stdout);
  char line[64];
  if (!fgets(line, sizeof line, stdin)) return 0;
  return 0;
}
