/*
** tests/fuzz/fuzz_net.c -- libFuzzer target: the outbound policy (src/net)
** and the net.* payload decoders (src/app/netreq.c). Owns: an input whose
** first byte is 1..7 is that operation's payload (connect, tls, send, recv,
** poll, shutdown, close), decoded alone, no sockets; any other input is a
** guest URL line then allow-list entry lines (as allowed_outbound_hosts and
** as --allow-net): parse, match, the address policy on literal and fixed
** addresses, denial messages, and their invariants. Does not own: src/net,
** src/app or the seeds (net-seeds/).
*/
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "app/net_internal.h"
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

/* What a decoded connect promises: a host of name or address bytes,
** at most 253, that the URL netops.c builds from it parses or is refused. */
static void check_connect(const ka_net_connect *r) {
  size_t n = strlen(r->host);
  char text[KO_HOST_MAX + 64], err[KO_ERR_SIZE];
  ko_url u;
  if (n == 0 || n > KO_HOST_MAX || r->port == 0) abort();
  for (size_t i = 0; i < n; i++)
    if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_:", r->host[i])) abort();
  bool v6 = strchr(r->host, ':') != NULL;
  snprintf(text, sizeof text, "tcp://%s%s%s:%u", v6 ? "[" : "", r->host, v6 ? "]" : "", r->port);
  err[0] = '\0';
  if (ko_url_parse(text, strlen(text), &u, err, sizeof err) == 0) {
    if (u.user_len || u.path_len || u.port != r->port || strcasecmp(u.host, r->host) != 0) {
      /* the only difference allowed: a trailing dot dropped, an IPv6 address made canonical */
      if (!v6 && !(strlen(u.host) + 1 == n && r->host[n - 1] == '.')) abort();
    }
  } else if (!err[0]) {
    abort();
  }
}

/* What a decoded tls promises: ALPN in wire format, known flag bits. */
static void check_tls(const ka_net_tls *r) {
  size_t at = 0;
  if (r->alpn_len > sizeof r->alpn || (r->flags & ~KA_NET_TLS_FLAGS)) abort();
  while (at < r->alpn_len) {
    if (r->alpn[at] == 0) abort();
    at += 1 + r->alpn[at];
  }
  if (at != r->alpn_len || strlen(r->name) > KO_HOST_MAX) abort();
  if ((r->flags & KO_TLS_HOSTNAME) && (!(r->flags & KO_TLS_VERIFY) || !r->name[0])) abort();
}

/* Decodes an exact-size copy of payload [p, p+n) as operation op (1..7). */
static void decode_op(uint8_t op, const uint8_t *p, size_t n) {
  uint8_t *b = malloc(n ? n : 1);
  char msg[160];
  ku_fail fail = { .msg = msg, .cap = sizeof msg };
  if (!b) return;
  if (n) memcpy(b, p, n);
  ku_cursor c = { b, b + n, b, "fuzz", &fail };
  ka_net_connect cr;
  ka_net_tls tr;
  ka_net_io io;
  if (setjmp(fail.jb)) { if (!msg[0]) abort(); free(b); return; }
  switch (op) {
  case 1: ka_net_decode_connect(&c, &cr); check_connect(&cr); break;
  case 2: ka_net_decode_tls(&c, &tr); check_tls(&tr); break;
  case 3:
    ka_net_decode_send(&c, &io);
    if (io.data + io.len != b + n) abort();
    break;
  case 4:
    ka_net_decode_recv(&c, &io);
    if (io.max < 1 || io.max > KA_NET_RECV_MAX) abort();
    break;
  case 5: ka_net_decode_poll(&c, &io); break;
  case 6: ka_net_decode_shutdown(&c, &io); if (io.how > 2) abort(); break;
  default: ka_net_decode_close(&c, &io); break;
  }
  if (op != 3 && c.p != c.end) abort();   /* every byte read */
  free(b);
}

/* libFuzzer: one input. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size && data[0] >= 1 && data[0] <= 7) {
    decode_op(data[0], data + 1, size - 1);
    return 0;
  }
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
      (void)ko_resolve(&m, &u, 0, &out, &d);
    }
  } else if (text && !err[0]) {
    abort();
  }
  free(text);
  ko_allow_free(&m);
  ko_allow_free(&c);
  return 0;
}
