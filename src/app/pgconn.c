/*
** pgconn.c -- the postgres binding's connection setup: libpq's login runs on a helper
** thread the request waits for until its deadline (a hostile server's SCRAM iteration
** count stretches PQconnectPoll for minutes), and the bytes a connection may receive.
*/
#include <errno.h>
#include <netinet/in.h>
#include <linux/tcp.h>
#include <poll.h>
#include <postgresql/libpq-fe.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "app/app_internal.h"
#include "../../python/c/krait_abi.h"
#include "platform/platform.h"
#include "util/util.h"

/* A login in progress on its helper thread. */
typedef struct ka_pgdial {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  PGconn *pg;
  uint64_t until;
  bool done, abandoned;        /* under mu */
  int32_t code;                /* 0: logged in */
  char msg[200];
} ka_pgdial;

/* Helpers whose request stopped waiting and which are still logging in. */
static atomic_int ka_pg_dialers;

/* Waits for events on pg's socket until `until`: the events seen, 0 when
** the time is up, -1 on an error. */
int ka_pg_wait(PGconn *pg, short events, uint64_t until) {
  for (;;) {
    uint64_t now = kp_monotonic_ns();
    if (now >= until) return 0;
    uint64_t ms = (until - now + 999999) / 1000000;
    struct pollfd p = { PQsocket(pg), events, 0 };
    if (p.fd < 0) return -1;
    int rc = poll(&p, 1, ms > INT32_MAX ? INT32_MAX : (int)ms);
    if (rc > 0) return p.revents ? p.revents : events;
    if (rc < 0 && errno != EINTR) return -1;
  }
}

/* The bytes the kernel has received on pg's socket so far (TCP_INFO), 0
** when it cannot tell. libpq cannot read more than this. */
uint64_t ka_pg_received(PGconn *pg) {
  struct tcp_info t;
  socklen_t n = sizeof t;
  memset(&t, 0, sizeof t);
  if (PQsocket(pg) < 0 || getsockopt(PQsocket(pg), IPPROTO_TCP, TCP_INFO, &t, &n) != 0) return 0;
  return n >= offsetof(struct tcp_info, tcpi_bytes_received) + sizeof t.tcpi_bytes_received
           ? t.tcpi_bytes_received : 0;
}

/* Drives d's login to its end or d->until: 0, or the failure's code with
** its message in d->msg. */
static int32_t ka_pg_login(ka_pgdial *d) {
  PostgresPollingStatusType st = PGRES_POLLING_WRITING;
  while (PQstatus(d->pg) != CONNECTION_BAD && st != PGRES_POLLING_OK && st != PGRES_POLLING_FAILED) {
    int w = ka_pg_wait(d->pg, st == PGRES_POLLING_READING ? POLLIN : POLLOUT, d->until);
    if (w == 0) return KRAIT_E_TIMEOUT;
    if (ka_pg_received(d->pg) > KA_PG_MAX_LOGIN_BYTES) {
      snprintf(d->msg, sizeof d->msg, "the server sent over %u KiB while logging in",
               KA_PG_MAX_LOGIN_BYTES >> 10);
      return KRAIT_E_TOOBIG;
    }
    st = w < 0 ? PGRES_POLLING_FAILED : PQconnectPoll(d->pg);
  }
  if (st == PGRES_POLLING_OK && PQstatus(d->pg) == CONNECTION_OK && PQsetnonblocking(d->pg, 1) == 0)
    return 0;
  snprintf(d->msg, sizeof d->msg, "%s", PQerrorMessage(d->pg));
  return KRAIT_E_BACKEND;
}

/* Frees d (its connection is gone or taken). */
static void ka_pg_dial_free(ka_pgdial *d) {
  pthread_mutex_destroy(&d->mu);
  pthread_cond_destroy(&d->cv);
  ku_free(d);
}

/* The helper thread: logs in, then hands the outcome to the request or,
** when the request stopped waiting, closes the connection itself. */
static void *ka_pg_dial_run(void *arg) {
  ka_pgdial *d = arg;
  int32_t code = ka_pg_login(d);
  pthread_mutex_lock(&d->mu);
  d->code = code;
  d->done = true;
  bool gone = d->abandoned;
  pthread_cond_signal(&d->cv);
  pthread_mutex_unlock(&d->mu);
  if (gone) {
    PQfinish(d->pg);
    ka_pg_dial_free(d);
    atomic_fetch_sub(&ka_pg_dialers, 1);
  }
  return NULL;
}

/* Starts d's helper thread (detached): 0, or -1. */
static int ka_pg_dial_start(ka_pgdial *d) {
  pthread_attr_t attr;
  pthread_t t;
  if (pthread_attr_init(&attr) != 0) return -1;
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  int rc = pthread_create(&t, &attr, ka_pg_dial_run, d);
  pthread_attr_destroy(&attr);
  return rc == 0 ? 0 : -1;
}

/* Waits for d until d->until: true when the helper finished (d is the
** caller's), false when the time is up (d is left to the helper). */
static bool ka_pg_dial_wait(ka_pgdial *d) {
  struct timespec ts = { (time_t)(d->until / 1000000000u), (long)(d->until % 1000000000u) };
  pthread_mutex_lock(&d->mu);
  while (!d->done && pthread_cond_timedwait(&d->cv, &d->mu, &ts) != ETIMEDOUT) {}
  bool done = d->done;
  if (!done) {
    d->abandoned = true;
    atomic_fetch_add(&ka_pg_dialers, 1);
  }
  pthread_mutex_unlock(&d->mu);
  return done;
}

/* Logs pg in (a PQconnectStart* connection) on a helper thread, waiting
** until `until`: 0 with *out, or the failure's code with its message in
** msg; pg is closed on failure (after a timeout, by the helper). */
int32_t ka_pg_dial(PGconn *pg, uint64_t until, PGconn **out, char *msg, size_t cap) {
  pthread_condattr_t ca;
  ka_pgdial *d = atomic_load(&ka_pg_dialers) >= KA_PG_MAX_DIALERS ? NULL : ku_calloc(1, sizeof *d);
  if (!d) {
    PQfinish(pg);
    snprintf(msg, cap, "%d logins to unresponsive servers are still running in this process (the "
             "limit): try again later", KA_PG_MAX_DIALERS);
    return KRAIT_E_TOOBIG;
  }
  d->pg = pg;
  d->until = until;
  pthread_mutex_init(&d->mu, NULL);
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&d->cv, &ca);
  pthread_condattr_destroy(&ca);
  if (ka_pg_dial_start(d) != 0) {
    PQfinish(pg);
    ka_pg_dial_free(d);
    snprintf(msg, cap, "could not start the login thread");
    return KRAIT_E_BACKEND;
  }
  if (!ka_pg_dial_wait(d)) {
    snprintf(msg, cap, "timeout");
    return KRAIT_E_TIMEOUT;
  }
  int32_t code = d->code;
  snprintf(msg, cap, "%s", d->msg);
  if (code) PQfinish(pg);
  else *out = pg;
  ka_pg_dial_free(d);
  return code;
}
