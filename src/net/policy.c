/*
** policy.c -- the address policy of outbound calls: the host resolves a
** name itself and keeps the addresses a call may reach (special ones only
** when an entry names them). Not entry syntax (allow.c) nor messages.
*/
#include <netdb.h>
#include <stdio.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include "net/net.h"
#include "util/util.h"

/* Whether an entry grants special address x to u: one that reaches u's
** scheme and port and names x literally (an address or a network), or
** names "localhost" when u's host is "localhost" and x is loopback. Any
** such entry will do, not only the one that matched u's host: it already
** lets the guest connect to x by its address. */
static bool ko_granted(const ko_allow *a, const ko_url *u, const ko_addr *x, ko_class c) {
  for (size_t i = 0; i < a->n; i++) {
    const ko_entry *e = &a->v[i];
    if (!ko_entry_reaches(e, u)) continue;
    if (e->kind == KO_HOST_NET && ko_addr_in(x, &e->net, e->bits)) return true;
    if (e->kind == KO_HOST_NAME && c == KO_LOOPBACK && !strcmp(e->host, "localhost") &&
        !strcmp(u->host, "localhost"))
      return true;
  }
  return false;
}

/* Starts d for u with verdict why. */
static ko_verdict ko_deny(ko_denial *d, const ko_url *u, ko_verdict why) {
  memset(d, 0, sizeof *d);
  d->why = why;
  snprintf(d->scheme, sizeof d->scheme, "%s", u->scheme);
  snprintf(d->host, sizeof d->host, "%s", u->host);
  d->port = u->port;
  d->host_is_ip = u->is_ip;
  return why;
}

ko_verdict ko_policy_check(const ko_allow *a, const ko_url *u, const ko_addr *found, size_t n,
                           ko_dest *out, ko_denial *d) {
  bool refused = false;
  memset(out, 0, sizeof *out);
  out->port = u->port;
  ko_deny(d, u, KO_ALLOWED);
  if (a->n == 0) return ko_deny(d, u, KO_DENIED_EMPTY);
  if (!ko_allow_match(a, u)) return ko_deny(d, u, KO_DENIED_HOST);
  for (size_t i = 0; i < n; i++) {
    ko_addr x = found[i];
    ko_addr_unmap(&x);
    ko_class c = ko_addr_class(&x);
    if (c != KO_PUBLIC && !ko_granted(a, u, &x, c)) {
      if (!refused) d->addr = x;
      refused = true;
      continue;
    }
    bool dup = false;
    for (size_t k = 0; k < out->n; k++) dup |= !memcmp(&out->addr[k], &x, sizeof x);
    if (!dup && out->n < KO_ADDRS_MAX) out->addr[out->n++] = x;
  }
  if (out->n) return KO_ALLOWED;
  if (!refused) return ko_deny(d, u, KO_NO_ADDRESS);
  ko_addr first = d->addr;
  ko_deny(d, u, KO_DENIED_ADDR);
  d->addr = first;
  return KO_DENIED_ADDR;
}

/* The addresses of name (at most KO_ADDRS_MAX * 2) into found; their
** number, or -1 with the resolver's reason in d->detail. */
static int ko_lookup(const char *name, ko_addr *found, size_t cap, ko_denial *d) {
  struct addrinfo hints, *res = NULL;
  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  int rc = getaddrinfo(name, NULL, &hints, &res);
  if (rc != 0) {
    snprintf(d->detail, sizeof d->detail, "%s", gai_strerror(rc));
    return -1;
  }
  size_t n = 0;
  for (struct addrinfo *r = res; r && n < cap; r = r->ai_next) {
    if (r->ai_family == AF_INET) {
      found[n].family = 4;
      memcpy(found[n++].b, &((struct sockaddr_in *)r->ai_addr)->sin_addr, 4);
    } else if (r->ai_family == AF_INET6) {
      found[n].family = 6;
      memcpy(found[n++].b, &((struct sockaddr_in6 *)r->ai_addr)->sin6_addr, 16);
    }
  }
  freeaddrinfo(res);
  return (int)n;
}

ko_verdict ko_resolve(const ko_allow *a, const ko_url *u, ko_dest *out, ko_denial *d) {
  ko_addr found[KO_ADDRS_MAX * 2];
  memset(found, 0, sizeof found);
  memset(out, 0, sizeof *out);
  if (a->n == 0) return ko_deny(d, u, KO_DENIED_EMPTY);
  if (!ko_allow_match(a, u)) return ko_deny(d, u, KO_DENIED_HOST);  /* no lookup for it */
  if (u->is_ip) return ko_policy_check(a, u, &u->ip, 1, out, d);
  size_t pinned = ko_pin_find(u->host, found, KO_ADDRS_MAX);  /* --resolve */
  if (pinned) return ko_policy_check(a, u, found, pinned, out, d);
  ko_denial why;
  int n = ko_lookup(u->host, found, KO_ADDRS_MAX * 2, &why);
  if (n < 0) {
    ko_deny(d, u, KO_NO_ADDRESS);
    memcpy(d->detail, why.detail, sizeof d->detail);
    return KO_NO_ADDRESS;
  }
  return ko_policy_check(a, u, found, (size_t)n, out, d);
}
