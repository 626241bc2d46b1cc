/*
** pgcancel.c -- the postgres binding's cancel requests: the 16-byte CancelRequest sent by
** krait itself from a short-lived thread with a bounded connect (libpq 15's PQcancel waits
** without a time limit for the server to close), PQcancel only when the key is not found.
*/
#include <errno.h>
#include <poll.h>
#include <postgresql/libpq-fe.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "app/app_internal.h"
#include "util/util.h"

/* Cancel requests in flight at once (each a short-lived thread). */
#define KA_PG_MAX_CANCELS 32
/* How long a cancel thread waits for its connection. */
#define KA_PG_CANCEL_WAIT_MS 5000
/* The CancelRequest code (the protocol's 1234 << 16 | 5678). */
#define KA_PG_CANCEL_CODE 80877102u

static atomic_int ka_pg_cancels;

/* The head of libpq 15's struct pg_cancel (libpq-int.h): the server's
** address, then the backend's PID and key. Read only after the PID and
** address are seen to match the connection's. */
typedef struct ka_pgcancel_head {
  struct sockaddr_storage addr;
  socklen_t salen;
  int be_pid, be_key;
} ka_pgcancel_head;

/* One cancel request to send. */
typedef struct ka_pgcx {
  struct sockaddr_storage addr;
  socklen_t len;
  uint8_t pkt[16];
  PGcancel *fallback;          /* non-NULL: PQcancel it instead */
} ka_pgcx;

/* Writes v big-endian at p. */
static void ka_pg_be32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}

/* Connects to c's address within KA_PG_CANCEL_WAIT_MS and sends the
** request, then closes (the server reads it before the close). */
static void ka_pg_cancel_send(const ka_pgcx *c) {
  int fd = socket(c->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), err = 0;
  socklen_t n = sizeof err;
  if (fd < 0) return;
  if (connect(fd, (const struct sockaddr *)&c->addr, c->len) == 0 || errno == EINPROGRESS) {
    struct pollfd p = { fd, POLLOUT, 0 };
    if (poll(&p, 1, KA_PG_CANCEL_WAIT_MS) == 1 && !getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &n) && !err)
      if (send(fd, c->pkt, sizeof c->pkt, MSG_NOSIGNAL) < 0) err = errno;   /* nothing more to do */
  }
  close(fd);
}

/* The cancel thread: sends the request, then frees it. */
static void *ka_pg_cancel_run(void *arg) {
  ka_pgcx *c = arg;
  char err[256];
  if (c->fallback) {
    PQcancel(c->fallback, err, sizeof err);
    PQfreeCancel(c->fallback);
  } else {
    ka_pg_cancel_send(c);
  }
  ku_free(c);
  atomic_fetch_sub(&ka_pg_cancels, 1);
  return NULL;
}

/* Fills c for pg: its own request when libpq's cancel object holds pg's
** PID and peer address where libpq 15 keeps them, else PQcancel's. false
** when neither is available. */
static bool ka_pg_cancel_fill(PGconn *pg, ka_pgcx *c) {
  PGcancel *pc = PQgetCancel(pg);
  const ka_pgcancel_head *h = (const ka_pgcancel_head *)pc;
  c->len = sizeof c->addr;
  if (!pc) return false;
  if (PQlibVersion() / 10000 == 15 && getpeername(PQsocket(pg), (struct sockaddr *)&c->addr, &c->len) == 0 &&
      h->be_pid == PQbackendPID(pg) && h->salen == c->len && !memcmp(&h->addr, &c->addr, c->len)) {
    ka_pg_be32(c->pkt, 16);
    ka_pg_be32(c->pkt + 4, KA_PG_CANCEL_CODE);
    ka_pg_be32(c->pkt + 8, (uint32_t)h->be_pid);
    ka_pg_be32(c->pkt + 12, (uint32_t)h->be_key);
    PQfreeCancel(pc);
  } else {
    c->fallback = pc;
  }
  return true;
}

/* Asks the server to cancel pg's statement from a detached thread (the
** request's time is up), at most KA_PG_MAX_CANCELS at once; pg stays the
** caller's to close. */
void ka_pg_cancel(PGconn *pg) {
  pthread_t t;
  pthread_attr_t attr;
  ka_pgcx *c = ku_calloc(1, sizeof *c);
  if (!c) return;
  if (atomic_fetch_add(&ka_pg_cancels, 1) >= KA_PG_MAX_CANCELS || !ka_pg_cancel_fill(pg, c) ||
      pthread_attr_init(&attr) != 0) {
    atomic_fetch_sub(&ka_pg_cancels, 1);
    if (c->fallback) PQfreeCancel(c->fallback);
    ku_free(c);
    return;
  }
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  if (pthread_create(&t, &attr, ka_pg_cancel_run, c) != 0) {
    atomic_fetch_sub(&ka_pg_cancels, 1);
    if (c->fallback) PQfreeCancel(c->fallback);
    ku_free(c);
  }
  pthread_attr_destroy(&attr);
}
