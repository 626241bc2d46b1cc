/*
** lookup.c -- the system resolver asked for a name's addresses within a
** deadline (getaddrinfo_a + gai_suspend; a lookup past it is cancelled or
** left to finish on its own). Not the policy on the addresses (policy.c).
*/
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "net/net.h"
#include "platform/platform.h"
#include "util/util.h"

/* One lookup: the request glibc's resolver threads work on, and what it
** points to (it must live until the lookup is done). */
typedef struct ko_gai {
  struct gaicb cb;
  struct addrinfo hints;
  char name[KO_HOST_MAX + 2];
  struct ko_gai *next;           /* in ko_late */
} ko_gai;

/* Lookups that passed their deadline but could not be cancelled: freed
** once done (each ko_lookup reaps them); at most KO_LOOKUPS_LATE_MAX. */
static ko_gai *ko_late;
static size_t ko_nlate;
static pthread_mutex_t ko_late_mu = PTHREAD_MUTEX_INITIALIZER;

/* Frees q and its result. */
static void ko_gai_free(ko_gai *q) {
  if (q->cb.ar_result) freeaddrinfo(q->cb.ar_result);
  ku_free(q);
}

/* Frees the late lookups that are done; whether there is room for
** another one (no: too many are still running). */
static bool ko_late_reap(void) {
  pthread_mutex_lock(&ko_late_mu);
  for (ko_gai **p = &ko_late; *p;) {
    ko_gai *q = *p;
    if (gai_error(&q->cb) == EAI_INPROGRESS) { p = &q->next; continue; }
    *p = q->next;
    ko_gai_free(q);
    ko_nlate--;
  }
  bool room = ko_nlate < KO_LOOKUPS_LATE_MAX;
  pthread_mutex_unlock(&ko_late_mu);
  return room;
}

/* Cancels q past its deadline, or keeps it in ko_late until it is done. */
static void ko_late_add(ko_gai *q) {
  if (gai_cancel(&q->cb) != EAI_NOTCANCELED && gai_error(&q->cb) != EAI_INPROGRESS) {
    ko_gai_free(q);
    return;
  }
  pthread_mutex_lock(&ko_late_mu);
  q->next = ko_late;
  ko_late = q;
  ko_nlate++;
  pthread_mutex_unlock(&ko_late_mu);
}

const char *ko_lookup_name(const char *name, char *out, size_t cap) {
  bool bare = !strcmp(name, "localhost") || !name[0] || name[strlen(name) - 1] == '.';
  snprintf(out, cap, bare ? "%s" : "%s.", name);
  return out;
}

/* The addresses of q's result (at most cap) into found; their number. */
static int ko_gai_addrs(const ko_gai *q, ko_addr *found, size_t cap) {
  size_t n = 0;
  for (struct addrinfo *r = q->cb.ar_result; r && n < cap; r = r->ai_next) {
    if (r->ai_family == AF_INET) {
      found[n].family = 4;
      memcpy(found[n++].b, &((struct sockaddr_in *)r->ai_addr)->sin_addr, 4);
    } else if (r->ai_family == AF_INET6) {
      found[n].family = 6;
      memcpy(found[n++].b, &((struct sockaddr_in6 *)r->ai_addr)->sin6_addr, 16);
    }
  }
  return (int)n;
}

/* Waits for q until end (kp_monotonic_ns); whether it is done. */
static bool ko_gai_wait(ko_gai *q, uint64_t end) {
  const struct gaicb *list[1] = { &q->cb };
  for (;;) {
    if (gai_error(&q->cb) != EAI_INPROGRESS) return true;
    uint64_t now = kp_monotonic_ns();
    if (now >= end) return false;
    struct timespec ts = { (time_t)((end - now) / 1000000000u), (long)((end - now) % 1000000000u) };
    gai_suspend(list, 1, &ts);   /* EAI_AGAIN, EAI_INTR: look again */
  }
}

int ko_lookup(const char *name, uint64_t deadline, ko_addr *found, size_t cap, char *why, size_t whylen) {
  uint64_t now = kp_monotonic_ns(), cap_end = now + (uint64_t)KO_WAIT_MAX_MS * 1000000u;
  uint64_t end = deadline && deadline < cap_end ? deadline : cap_end;
  if (now >= end) { snprintf(why, whylen, "the lookup timed out"); return KO_LOOKUP_TIMEOUT; }
  if (!ko_late_reap()) {
    snprintf(why, whylen, "%d earlier lookups are still running", KO_LOOKUPS_LATE_MAX);
    return -1;
  }
  ko_gai *q = ku_calloc(1, sizeof *q);
  if (!q) { snprintf(why, whylen, "out of memory"); return -1; }
  q->hints.ai_family = AF_UNSPEC;
  q->hints.ai_socktype = SOCK_STREAM;
  q->cb.ar_name = ko_lookup_name(name, q->name, sizeof q->name);
  q->cb.ar_request = &q->hints;
  struct gaicb *list[1] = { &q->cb };
  int rc = getaddrinfo_a(GAI_NOWAIT, list, 1, NULL);
  if (rc != 0) {
    snprintf(why, whylen, "%s", gai_strerror(rc));
    ku_free(q);
    return -1;
  }
  if (!ko_gai_wait(q, end)) {
    ko_late_add(q);
    snprintf(why, whylen, "the lookup timed out");
    return KO_LOOKUP_TIMEOUT;
  }
  rc = gai_error(&q->cb);
  int n = rc == 0 ? ko_gai_addrs(q, found, cap) : -1;
  if (rc != 0) snprintf(why, whylen, "%s", gai_strerror(rc));
  ko_gai_free(q);
  return n;
}
