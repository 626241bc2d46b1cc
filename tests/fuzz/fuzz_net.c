/*
** tests/fuzz/fuzz_net.c -- libFuzzer target: the outbound policy (src/net).
** Owns: line 1 of the input is a guest URL, the other lines allow-list
** entries (as allowed_outbound_hosts and as --allow-net); parse, match,
** the address policy on literal and fixed addresses, denial messages, and
** their invariants. Does not own: src/net itself or the seeds (net-seeds/).
*/
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/net.h"

/* An exact-size copy of [s, s+n) (ASan catches any read past n). */
static char *copy(const uint8_t *s, size_t n) {
  char *c = malloc(n ? n : 1);
  if (c && n) memcpy(c, s, n);
  return c;
}

/* Checks what a parsed URL promises: a lower-case host, a port, views
** inside the text, and that its origin parses back to the same. */
static void check_url(const ko_url *u, size_t n) {
  char origin[KO_HOST_MAX + 64], err[KO_ERR_SIZE];
  ko_url back;
  if (!u->scheme[0] || !u->host[0] || u->port == 0) abort();
  for (const char *p = u->host; *p; p++)
    if (*p >= 'A' && *p <= 'Z') abort();
  if (u->user_at + u->user_len > n || u->path_at + u->path_len > n || u->query_at + u->query_len > n) abort();
  ko_url_origin(u, origin, sizeof origin);
  if (ko_url_parse(origin, strlen(origin), &back, err, sizeof err) != 0) abort();
  if (strcmp(back.scheme, u->scheme) || strcmp(back.host, u->host) || back.port != u->port ||
      back.is_ip != u->is_ip)
    abort();
}

/* Checks a policy verdict: allowed addresses are public or named. */
static void check_policy(const ko_allow *a, const ko_url *u, const ko_addr *found, size_t n) {
  ko_dest out;
  ko_denial d;
  char msg[KO_ERR_SIZE];
  ko_verdict v = ko_policy_check(a, u, found, n, &out, &d);
  if (!ko_allow_match(a, u) && v != KO_DENIED_HOST && v != KO_DENIED_EMPTY) abort();
  if (out.n > KO_ADDRS_MAX || (v == KO_ALLOWED) != (out.n > 0)) abort();
  for (size_t i = 0; i < out.n; i++) {
    bool named = ko_addr_class(&out.addr[i]) == KO_PUBLIC || !strcmp(u->host, "localhost");
    for (size_t k = 0; k < a->n && !named; k++)
      named = a->v[k].kind == KO_HOST_NET && ko_addr_in(&out.addr[i], &a->v[k].net, a->v[k].bits);
    if (!named) abort();
  }
  if (v != KO_ALLOWED) {
    ko_deny_format(a, &d, msg, sizeof msg);
    if (!msg[0] || strlen(msg) >= sizeof msg) abort();
  }
}

/* Adds each entry line of [s, end) to both lists. */
static void entries(const uint8_t *s, const uint8_t *end, ko_allow *m, ko_allow *c) {
  char err[KO_ERR_SIZE];
  while (s < end) {
    const uint8_t *nl = memchr(s, '\n', (size_t)(end - s));
    size_t n = (size_t)((nl ? nl : end) - s);
    char *e = copy(s, n), *z = malloc(n + 1);
    if (e && z) {
      err[0] = '\0';
      if (ko_allow_add(m, e, n, err, sizeof err) != 0 && !err[0]) abort();
      memcpy(z, s, n);
      z[n] = '\0';
      err[0] = '\0';
      if (ko_allow_flag(c, z, err, sizeof err) != 0 && !err[0]) abort();
    }
    free(e);
    free(z);
    s += n + 1;
  }
  for (size_t i = 0; i < m->n; i++)
    if (!m->v[i].text || (!m->v[i].any_port && (m->v[i].lo == 0 || m->v[i].lo > m->v[i].hi))) abort();
}

/* libFuzzer: one input. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const char *const fixed[] = { "93.184.216.34", "127.0.0.1", "::ffff:169.254.169.254",
                                       "10.0.0.1", "fd00::1", "2001:db8::1" };
  const uint8_t *nl = memchr(data, '\n', size);
  size_t n = nl ? (size_t)(nl - data) : size;
  char *text = copy(data, n), err[KO_ERR_SIZE];
  ko_allow m, c;
  ko_url u;
  ko_addr found[8];
  size_t nf = 0;
  ko_allow_init(&m, KO_FROM_MANIFEST);
  ko_allow_init(&c, KO_FROM_CLI);
  if (nl) entries(nl + 1, data + size, &m, &c);
  err[0] = '\0';
  if (text && ko_url_parse(text, n, &u, err, sizeof err) == 0) {
    check_url(&u, n);
    if (u.is_ip) found[nf++] = u.ip;
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
      if (ko_addr_parse(fixed[i], strlen(fixed[i]), &found[nf])) nf++;
    check_policy(&m, &u, found, nf);
    check_policy(&c, &u, found, nf);
    if (u.is_ip) {   /* no lookup: the literal itself */
      ko_dest out;
      ko_denial d;
      (void)ko_resolve(&m, &u, &out, &d);
    }
  } else if (text && !err[0]) {
    abort();
  }
  free(text);
  ko_allow_free(&m);
  ko_allow_free(&c);
  return 0;
}
