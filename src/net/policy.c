/*
** policy.c -- the address policy of outbound calls: the host resolves a
** name itself and keeps the addresses a call may reach (special ones only
** when an entry names them). Not entry syntax (allow.c) nor messages.
*/
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

ko_verdict ko_addresses(const ko_url *u, uint64_t deadline, ko_addr *found, size_t cap, size_t *n,
                        ko_denial *d) {
  *n = 0;
  ko_deny(d, u, KO_ALLOWED);
  if (u->is_ip) {
    if (cap) found[(*n)++] = u->ip;
    return KO_ALLOWED;
  }
  if ((*n = ko_pin_find(u->host, found, cap))) return KO_ALLOWED;   /* --resolve */
  char why[sizeof d->detail];
  int got = ko_lookup(u->host, deadline, found, cap, why, sizeof why);
  if (got >= 0) { *n = (size_t)got; return KO_ALLOWED; }
  ko_deny(d, u, got == KO_LOOKUP_TIMEOUT ? KO_TIMED_OUT : KO_NO_ADDRESS);
  memcpy(d->detail, why, sizeof d->detail);
  return d->why;
}

ko_verdict ko_resolve(const ko_allow *a, const ko_url *u, uint64_t deadline, ko_dest *out, ko_denial *d) {
  ko_addr found[KO_ADDRS_MAX * 2];
  size_t n;
  memset(found, 0, sizeof found);
  memset(out, 0, sizeof *out);
  if (a->n == 0) return ko_deny(d, u, KO_DENIED_EMPTY);
  if (!ko_allow_match(a, u)) return ko_deny(d, u, KO_DENIED_HOST);  /* no lookup for it */
  ko_verdict v = ko_addresses(u, deadline, found, KO_ADDRS_MAX * 2, &n, d);
  if (v != KO_ALLOWED) return v;
  return ko_policy_check(a, u, found, n, out, d);
}
