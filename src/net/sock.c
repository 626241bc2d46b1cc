/*
** sock.c -- nonblocking TCP for the outbound bindings: connect to checked
** addresses only, send and receive, each wait bounded by a deadline. Not
** which addresses (policy.c) nor TLS (tls.c).
*/
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/net.h"
#include "platform/platform.h"

/* The ms poll may wait until deadline (-1: none; 0 when past). */
static int ko_wait_ms(uint64_t deadline) {
  if (!deadline) return -1;
  uint64_t now = kp_monotonic_ns();
  if (now >= deadline) return 0;
  uint64_t ms = (deadline - now + 999999) / 1000000;
  return ms > 86400000 ? 86400000 : (int)ms;
}

int ko_sock_wait(int fd, short events, uint64_t deadline) {
  for (;;) {
    struct pollfd p = { .fd = fd, .events = events };
    int ms = ko_wait_ms(deadline), r = poll(&p, 1, ms);
    if (r > 0) return 1;
    if (r == 0 && (ms == 0 || kp_monotonic_ns() >= deadline)) return 0;
    if (r < 0 && errno != EINTR) return -1;
  }
}

/* Fills sa for a at port; its length. */
static socklen_t ko_sockaddr(const ko_addr *a, uint16_t port, struct sockaddr_storage *sa) {
  memset(sa, 0, sizeof *sa);
  if (a->family == 4) {
    struct sockaddr_in *s = (struct sockaddr_in *)sa;
    s->sin_family = AF_INET;
    s->sin_port = htons(port);
    memcpy(&s->sin_addr, a->b, 4);
    return sizeof *s;
  }
  struct sockaddr_in6 *s = (struct sockaddr_in6 *)sa;
  s->sin6_family = AF_INET6;
  s->sin6_port = htons(port);
  memcpy(&s->sin6_addr, a->b, 16);
  return sizeof *s;
}

/* One attempt at a: the connected socket, or -1 with errno. */
static int ko_connect_one(const ko_addr *a, uint16_t port, uint64_t deadline) {
  struct sockaddr_storage sa;
  socklen_t len = ko_sockaddr(a, port, &sa);
  int fd = socket(sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), e = 0, one = 1;
  socklen_t elen = sizeof e;
  if (fd < 0) return -1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (connect(fd, (struct sockaddr *)&sa, len) == 0) return fd;
  if (errno != EINPROGRESS) goto fail;
  int r = ko_sock_wait(fd, POLLOUT, deadline);
  if (r == 0) errno = ETIME;
  if (r <= 0) goto fail;
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &elen) != 0) goto fail;
  if (e == 0) return fd;
  errno = e;
fail:
  e = errno;
  close(fd);
  errno = e;
  return -1;
}

int ko_sock_connect(const ko_dest *d, uint64_t deadline, ko_addr *peer) {
  errno = EHOSTUNREACH;
  for (size_t i = 0; i < d->n; i++) {
    *peer = d->addr[i];
    int fd = ko_connect_one(&d->addr[i], d->port, deadline);
    if (fd >= 0 || errno == ETIME) return fd;
  }
  return -1;
}

int ko_sock_send(int fd, const void *p, size_t n, uint64_t deadline) {
  const uint8_t *b = p;
  while (n) {
    ssize_t w = send(fd, b, n, MSG_NOSIGNAL);
    if (w > 0) { b += w; n -= (size_t)w; continue; }
    if (w < 0 && errno == EINTR) continue;
    if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK) return -1;
    int r = ko_sock_wait(fd, POLLOUT, deadline);
    if (r == 0) errno = ETIME;
    if (r <= 0) return -1;
  }
  return 0;
}

long ko_sock_recv(int fd, void *p, size_t cap, uint64_t deadline) {
  for (;;) {
    ssize_t r = recv(fd, p, cap, 0);
    if (r >= 0) return (long)r;
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) return -1;
    int w = ko_sock_wait(fd, POLLIN, deadline);
    if (w == 0) errno = ETIME;
    if (w <= 0) return -1;
  }
}
