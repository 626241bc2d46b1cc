/*
** pgaddr.c -- the postgres binding's addresses: parsing a guest's
** connection string or URL through the bounded cursor, the keyword
** whitelist and value checks. Not libpq's settings (pgenv.c) or the
** operations (pgdb.c).
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "app/pg.h"
#include "util/cursor.h"

/* The keywords a guest may give, by ka_pgkey. */
static const char *const ka_pg_keys[KA_PGK_COUNT] = {
  "host", "port", "user", "password", "dbname", "options", "application_name", "sslmode",
  "connect_timeout", "target_session_attrs", "channel_binding", "keepalives", "keepalives_idle",
  "keepalives_interval", "keepalives_retries", "tcp_user_timeout",
};

/* A parse in progress: the cursor over the address, the catch point, the
** result. */
typedef struct ka_pp {
  ku_cursor c;
  ku_fail fail;
  ka_pgaddr *a;
} ka_pp;

const char *ka_pg_key_name(ka_pgkey k) { return k < KA_PGK_COUNT ? ka_pg_keys[k] : "?"; }

static _Noreturn void ka_pp_fail(ka_pp *P, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Reports "postgres address: <what>" and leaves through the catch point. */
static _Noreturn void ka_pp_fail(ka_pp *P, const char *fmt, ...) {
  char what[400];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  ku_fmt(P->fail.msg, P->fail.cap, "postgres address: %s", what);
  longjmp(P->fail.jb, 1);
}

static bool ka_pp_space(int b) { return b == ' ' || b == '\t' || b == '\n' || b == '\r' || b == '\f' || b == '\v'; }
static int ka_pp_peek(const ku_cursor *c) { return ku_eof(c) ? -1 : *c->p; }
static int ka_pp_hex(int b) {
  return b >= '0' && b <= '9' ? b - '0' : (b | 0x20) >= 'a' && (b | 0x20) <= 'f' ? (b | 0x20) - 'a' + 10 : -1;
}

/* Starts a value in a's buffer; the bytes go in with ka_pp_put and it
** ends with ka_pp_end. The buffer holds every decoded value: each is at
** most as long as its text, and the text at most KA_PG_MAX_ADDRESS. */
static char *ka_pp_start(ka_pp *P) { return P->a->buf + P->a->used; }
static void ka_pp_put(ka_pp *P, int b) {
  if (b == 0) ka_pp_fail(P, "a NUL byte in a value");
  if (P->a->used + 2 > sizeof P->a->buf) ka_pp_fail(P, "too long");
  P->a->buf[P->a->used++] = (char)b;
}
static const char *ka_pp_end(ka_pp *P, const char *start) {
  if (P->a->used + 1 > sizeof P->a->buf) ka_pp_fail(P, "too long");
  P->a->buf[P->a->used++] = '\0';
  return start;
}

/* The keyword [s, s+n), or fails naming it (shown quoted and cut) and the
** keywords allowed. */
static ka_pgkey ka_pp_key(ka_pp *P, const char *s, size_t n) {
  char shown[KO_SHOW_SIZE];
  for (int k = 0; k < KA_PGK_COUNT; k++)
    if (strlen(ka_pg_keys[k]) == n && memcmp(ka_pg_keys[k], s, n) == 0) return (ka_pgkey)k;
  if (n == 8 && !memcmp(s, "hostaddr", 8))
    ka_pp_fail(P, "keyword \"hostaddr\" is refused: give the host by name or address in \"host\" "
               "(krait resolves it and checks it against allowed_outbound_hosts)");
  ka_pp_fail(P, "keyword %s is refused (it would make the host read files, use its credentials "
             "or is unknown to Spin); the keywords allowed are host, port, user, password, dbname, "
             "options, application_name, sslmode, connect_timeout, target_session_attrs, "
             "channel_binding, keepalives, keepalives_idle, keepalives_interval, "
             "keepalives_retries, tcp_user_timeout", ko_show(s, n, shown));
}

/* Whether v is one of the NULL-ended words. */
static bool ka_pp_oneof(const char *v, const char *const *words) {
  for (; *words; words++)
    if (!strcmp(v, *words)) return true;
  return false;
}

/* Checks the value of keyword k; the port is kept as a number. */
static void ka_pp_check(ka_pp *P, ka_pgkey k, const char *v) {
  static const char *const modes[] = { "disable", "prefer", "require", NULL };
  static const char *const attrs[] = { "any", "read-write", "read-only", "primary", "standby",
                                       "prefer-standby", NULL };
  size_t n = strlen(v);
  switch (k) {
  case KA_PGK_HOST:
    if (v[0] == '/' || v[0] == '@')
      ka_pp_fail(P, "host is a Unix-domain socket path: krait connects to TCP hosts only (give "
                 "host=NAME or an address, allowed by allowed_outbound_hosts)");
    if (strchr(v, ','))
      ka_pp_fail(P, "host lists several hosts: krait connects to one host per connection");
    if (!n) ka_pp_fail(P, "host is empty");
    for (size_t i = 0; i < n; i++)   /* a name, an IPv4 or an IPv6 address: nothing a URL parser splits at */
      if (!((v[i] | 0x20) >= 'a' && (v[i] | 0x20) <= 'z') && !(v[i] >= '0' && v[i] <= '9') && !strchr("-_.:", v[i]))
        ka_pp_fail(P, "host has a character that is not a letter, digit, '-', '_', '.' or ':' (of an "
                   "IPv6 address)");
    return;
  case KA_PGK_PORT: {
    unsigned long p = 0;
    for (size_t i = 0; i < n && p <= 65535; i++) {
      if (v[i] < '0' || v[i] > '9') ka_pp_fail(P, "port is not a number from 1 to 65535");
      p = p * 10 + (unsigned)(v[i] - '0');
    }
    if (!n || p == 0 || p > 65535) ka_pp_fail(P, "port is not a number from 1 to 65535");
    P->a->port = (uint16_t)p;
    return;
  }
  case KA_PGK_SSLMODE:
    if (!ka_pp_oneof(v, modes)) ka_pp_fail(P, "sslmode must be disable, prefer or require");
    return;
  case KA_PGK_CHANNEL_BINDING:
    if (!ka_pp_oneof(v, modes)) ka_pp_fail(P, "channel_binding must be disable, prefer or require");
    return;
  case KA_PGK_TARGET:
    if (!ka_pp_oneof(v, attrs))
      ka_pp_fail(P, "target_session_attrs must be any, read-write, read-only, primary, standby "
                 "or prefer-standby");
    return;
  case KA_PGK_CONNECT_TIMEOUT: case KA_PGK_KEEPALIVES: case KA_PGK_KEEPALIVES_IDLE:
  case KA_PGK_KEEPALIVES_INTERVAL: case KA_PGK_KEEPALIVES_RETRIES: case KA_PGK_TCP_USER_TIMEOUT:
    for (size_t i = 0; i < n; i++)
      if (v[i] < '0' || v[i] > '9') n = 0;
    if (!n || n > 9) ka_pp_fail(P, "%s must be a whole number (at most 9 digits)", ka_pg_keys[k]);
    return;
  default:
    return;
  }
}

/* Records keyword k = v (a later one replaces an earlier, as in libpq). */
static void ka_pp_set(ka_pp *P, ka_pgkey k, const char *v) {
  ka_pp_check(P, k, v);
  P->a->val[k] = v;
}

/* One key=value value: quoted ('...' with \ escapes) or up to the next
** space (\ escapes). */
static const char *ka_pp_kvvalue(ka_pp *P) {
  ku_cursor *c = &P->c;
  char *v = ka_pp_start(P);
  if (ka_pp_peek(c) == '\'') {
    ku_u8(c);
    for (;;) {
      if (ku_eof(c)) ka_pp_fail(P, "a quoted value has no closing quote");
      int b = ku_u8(c);
      if (b == '\'') break;
      if (b == '\\') {
        if (ku_eof(c)) ka_pp_fail(P, "a quoted value has no closing quote");
        b = ku_u8(c);
      }
      ka_pp_put(P, b);
    }
  } else {
    while (!ku_eof(c) && !ka_pp_space(ka_pp_peek(c))) {
      int b = ku_u8(c);
      if (b == '\\' && !ku_eof(c)) b = ku_u8(c);
      ka_pp_put(P, b);
    }
  }
  return ka_pp_end(P, v);
}

/* key=value pairs separated by spaces (libpq's conninfo syntax). */
static void ka_pp_pairs(ka_pp *P) {
  ku_cursor *c = &P->c;
  for (;;) {
    while (!ku_eof(c) && ka_pp_space(ka_pp_peek(c))) ku_u8(c);
    if (ku_eof(c)) return;
    const char *key = (const char *)c->p;
    while (!ku_eof(c) && ka_pp_peek(c) != '=' && !ka_pp_space(ka_pp_peek(c))) ku_u8(c);
    size_t kn = (size_t)((const char *)c->p - key);
    while (!ku_eof(c) && ka_pp_space(ka_pp_peek(c))) ku_u8(c);
    if (ka_pp_peek(c) != '=') {
      char shown[KO_SHOW_SIZE];
      ka_pp_fail(P, "%s has no \"=\" after it (the address is key=value pairs or a "
                 "postgres:// URL)", ko_show(key, kn, shown));
    }
    ku_u8(c);
    while (!ku_eof(c) && ka_pp_space(ka_pp_peek(c))) ku_u8(c);
    ka_pgkey k = ka_pp_key(P, key, kn);
    ka_pp_set(P, k, ka_pp_kvvalue(P));
  }
}

/* [s, s+n) percent-decoded into a's buffer. */
static const char *ka_pp_decode(ka_pp *P, const uint8_t *s, size_t n, const char *part) {
  char *v = ka_pp_start(P);
  for (size_t i = 0; i < n; i++) {
    int b = s[i];
    if (b == '%') {
      if (i + 2 >= n || ka_pp_hex(s[i + 1]) < 0 || ka_pp_hex(s[i + 2]) < 0)
        ka_pp_fail(P, "'%%' not followed by two hex digits in the URL's %s", part);
      b = ka_pp_hex(s[i + 1]) * 16 + ka_pp_hex(s[i + 2]);
      i += 2;
    }
    ka_pp_put(P, b);
  }
  return ka_pp_end(P, v);
}

/* The bytes up to (not including) the first of stops, or the end. */
static const uint8_t *ka_pp_until(ku_cursor *c, const char *stops, size_t *n) {
  const uint8_t *s = c->p;
  while (!ku_eof(c) && (*c->p == 0 || !strchr(stops, *c->p))) c->p++;   /* a NUL is no stop */
  *n = (size_t)(c->p - s);
  return s;
}

/* The URL's host[:port] part (an IPv6 address in brackets). */
static void ka_pp_netloc(ka_pp *P) {
  ku_cursor *c = &P->c;
  size_t n;
  const uint8_t *h;
  if (ka_pp_peek(c) == '[') {
    ku_u8(c);
    h = ka_pp_until(c, "]", &n);
    if (ku_eof(c)) ka_pp_fail(P, "an IPv6 address in the URL has no closing ']'");
    ku_u8(c);
  } else {
    h = ka_pp_until(c, ":/?,", &n);
  }
  if (n == 0) ka_pp_fail(P, "the URL has no host (a Unix-domain socket is not allowed: give a TCP host)");
  ka_pp_set(P, KA_PGK_HOST, ka_pp_decode(P, h, n, "host"));
  if (ka_pp_peek(c) == ':') {
    ku_u8(c);
    const uint8_t *p = ka_pp_until(c, "/?,", &n);
    ka_pp_set(P, KA_PGK_PORT, ka_pp_decode(P, p, n, "port"));
  }
  if (ka_pp_peek(c) == ',') ka_pp_fail(P, "the URL lists several hosts: krait connects to one host per connection");
}

/* The URL's ?key=value&... parameters. */
static void ka_pp_query(ka_pp *P) {
  ku_cursor *c = &P->c;
  while (!ku_eof(c)) {
    size_t n, kn;
    const uint8_t *kv = ka_pp_until(c, "&", &n);
    if (!ku_eof(c)) ku_u8(c);
    if (!n) continue;
    const uint8_t *eq = memchr(kv, '=', n);
    if (!eq) {
      char shown[KO_SHOW_SIZE];
      ka_pp_fail(P, "URL parameter %s has no \"=\"", ko_show((const char *)kv, n, shown));
    }
    kn = (size_t)(eq - kv);
    const char *key = ka_pp_decode(P, kv, kn, "parameters");
    ka_pgkey k = ka_pp_key(P, key, strlen(key));
    ka_pp_set(P, k, ka_pp_decode(P, eq + 1, n - kn - 1, "parameters"));
  }
}

/* postgres[ql]://[user[:password]@]host[:port][/dbname][?key=value&...] */
static void ka_pp_uri(ka_pp *P) {
  ku_cursor *c = &P->c;
  size_t n, at;
  const uint8_t *rest = c->p, *stop = rest;
  while (stop < c->end && *stop != '/' && *stop != '?') stop++;
  const uint8_t *amp = NULL;
  for (const uint8_t *q = rest; q < stop; q++)
    if (*q == '@') amp = q;
  (void)n;
  if (amp) {
    const uint8_t *colon = memchr(rest, ':', (size_t)(amp - rest));
    at = (size_t)((colon ? colon : amp) - rest);
    if (at) ka_pp_set(P, KA_PGK_USER, ka_pp_decode(P, rest, at, "user"));
    if (colon) ka_pp_set(P, KA_PGK_PASSWORD, ka_pp_decode(P, colon + 1, (size_t)(amp - colon - 1), "password"));
    c->p = amp + 1;
  }
  ka_pp_netloc(P);
  if (ka_pp_peek(c) == '/') {
    ku_u8(c);
    const uint8_t *d = ka_pp_until(c, "?", &n);
    if (n) ka_pp_set(P, KA_PGK_DBNAME, ka_pp_decode(P, d, n, "database name"));
  }
  if (ka_pp_peek(c) == '?') {
    ku_u8(c);
    ka_pp_query(P);
  }
  if (!ku_eof(c)) ka_pp_fail(P, "unexpected text after the URL's host");
}

/* Whether the text starts with prefix, skipping it when it does. */
static bool ka_pp_prefix(ku_cursor *c, const char *prefix) {
  size_t n = strlen(prefix);
  if (ku_left(c) < n || memcmp(c->p, prefix, n)) return false;
  c->p += n;
  return true;
}

int ka_pg_parse(const char *s, size_t n, ka_pgaddr *a, char *err, size_t errlen) {
  char msg[512];
  ka_pp P;
  memset(a, 0, sizeof *a);
  a->port = 5432;
  if (n > KA_PG_MAX_ADDRESS) {
    ku_fmt(err, errlen, "postgres address: longer than %d bytes", KA_PG_MAX_ADDRESS);
    return -1;
  }
  P.c = (ku_cursor){ (const uint8_t *)s, (const uint8_t *)s + n, (const uint8_t *)s, "address", &P.fail };
  P.fail = (ku_fail){ .msg = msg, .cap = sizeof msg };
  P.a = a;
  if (setjmp(P.fail.jb)) {
    ku_fmt(err, errlen, "%s", msg);
    return -1;
  }
  if (ka_pp_prefix(&P.c, "postgresql://") || ka_pp_prefix(&P.c, "postgres://")) ka_pp_uri(&P);
  else ka_pp_pairs(&P);
  if (!a->val[KA_PGK_HOST]) ka_pp_fail(&P, "no host (give host=NAME, or a postgres://HOST URL)");
  if (!a->val[KA_PGK_USER] || !a->val[KA_PGK_USER][0]) ka_pp_fail(&P, "no user (give user=NAME)");
  return 0;
}

int ka_pg_url(const ka_pgaddr *a, ko_url *u, char *err, size_t errlen) {
  char text[KO_HOST_MAX + 32];
  const char *h = a->val[KA_PGK_HOST];
  bool v6 = strchr(h, ':') != NULL;
  if (strlen(h) > KO_HOST_MAX) {
    ku_fmt(err, errlen, "postgres address: the host is longer than %d bytes", KO_HOST_MAX);
    return -1;
  }
  snprintf(text, sizeof text, "postgres://%s%s%s:%u", v6 ? "[" : "", h, v6 ? "]" : "", (unsigned)a->port);
  char why[KO_ERR_SIZE];
  if (ko_url_parse(text, strlen(text), u, why, sizeof why) != 0) {
    ku_fmt(err, errlen, "postgres address: the host is not a host name or address (%s)", why);
    return -1;
  }
  return 0;
}
