/*
 * Streaming load through an echo: one connection sends a deterministic byte
 * stream (optionally cut into RECORD-byte records ending in '\n') with at most
 * WINDOW bytes in flight, reads the echo back and checks every byte.
 * Stops sending after TOTAL bytes or SECONDS (at a record boundary), then drains.
 *
 * usage: stream_client HOST PORT TOTAL RECORD WINDOW SECONDS
 *   RECORD 0 = a plain byte stream (bulk); otherwise line framing (chat).
 * prints one JSON line: {"bytes":..,"seconds":..,"mib_per_s":..,"records_per_s":..,"complete":..}
 */
#include "common.h"
#include <poll.h>

#define IO_CHUNK (256 * 1024)
#define DRAIN_SECONDS 15.0

static char *pattern;      /* one period of the stream */
static size_t period;      /* a multiple of the record size */

static void make_pattern(size_t record) {
  period = 1 << 20;
  if (record && record < period) period = record * ((period + record - 1) / record);
  if (record > period) period = record;
  pattern = malloc(period);
  if (!pattern) die("malloc");
  for (size_t i = 0; i < period; i++)
    pattern[i] = (record && i % record == record - 1) ? '\n' : (char)('a' + i % 26);
}

/* Compares len received bytes at stream offset off with the pattern. */
static int verify(const char *buf, size_t len, uint64_t off) {
  while (len) {
    size_t at = (size_t)(off % period), n = period - at < len ? period - at : len;
    if (memcmp(buf, pattern + at, n) != 0) return 0;
    buf += n, off += n, len -= n;
  }
  return 1;
}

/* Bytes the sender may write now. */
static size_t sendable(uint64_t sent, uint64_t recvd, uint64_t limit, size_t window) {
  if (sent >= limit || sent - recvd >= window) return 0;
  uint64_t n = window - (sent - recvd);
  if (n > limit - sent) n = limit - sent;
  size_t at = (size_t)(sent % period);
  if (n > period - at) n = period - at;
  return n > IO_CHUNK ? IO_CHUNK : (size_t)n;
}

int main(int argc, char **argv) {
  if (argc < 7) {
    fprintf(stderr, "usage: %s HOST PORT TOTAL RECORD WINDOW SECONDS\n", argv[0]);
    return 2;
  }
  uint64_t total = strtoull(argv[3], 0, 10);
  size_t record = strtoull(argv[4], 0, 10), window = strtoull(argv[5], 0, 10);
  double seconds = atof(argv[6]);
  make_pattern(record);
  int fd = tcp_connect(argv[1], atoi(argv[2]), 0);
  if (fd < 0) die("connect");
  set_nonblock(fd);

  char *rbuf = malloc(IO_CHUNK);
  uint64_t sent = 0, recvd = 0, limit = total;
  double t0 = now_s(), last = t0, stop_at = t0 + seconds;
  int ok = 1;
  while (ok && (recvd < sent || sent < limit) && now_s() < stop_at + DRAIN_SECONDS) {
    if (limit == total && now_s() >= stop_at) {  /* time is up: finish the current record */
      limit = record ? ((sent + record - 1) / record) * record : sent;
      if (limit > total) limit = total;
    }
    size_t can = sendable(sent, recvd, limit, window);
    struct pollfd p = { .fd = fd, .events = POLLIN | (can ? POLLOUT : 0) };
    if (poll(&p, 1, 50) < 0) die("poll");
    if (p.revents & POLLOUT && can) {
      ssize_t n = send(fd, pattern + sent % period, can, MSG_NOSIGNAL);
      if (n > 0) sent += (uint64_t)n;
      else if (n < 0 && errno != EAGAIN) { perror("send"); break; }
    }
    if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
      ssize_t n = recv(fd, rbuf, IO_CHUNK, 0);
      if (n == 0 || (n < 0 && errno != EAGAIN)) { fprintf(stderr, "connection closed early\n"); break; }
      if (n > 0) {
        ok = verify(rbuf, (size_t)n, recvd);
        recvd += (uint64_t)n;
        last = now_s();
      }
    }
  }
  if (!ok) fprintf(stderr, "echoed bytes differ from the sent stream near offset %llu\n",
                   (unsigned long long)recvd);
  double secs = last - t0;
  double rate = secs > 0 ? (double)recvd / secs : 0;
  printf("{\"bytes\":%llu,\"seconds\":%.4f,\"mib_per_s\":%.2f,\"records_per_s\":%.1f,\"complete\":%s}\n",
         (unsigned long long)recvd, secs, rate / 1048576.0, record ? rate / (double)record : 0.0,
         recvd == total ? "true" : "false");
  return ok && recvd > 0 && recvd == sent ? 0 : 1;
}
