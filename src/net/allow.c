/*
** allow.c -- the allow-list of outbound hosts in Spin's syntax
** (allowed_outbound_hosts entries, krait python's --allow-net values) and
** matching a URL's scheme, host and port. Not the address policy (policy.c).
*/
#include <stdarg.h>
#include <stdio.h>

#include "net/net.h"
#include "util/util.h"

#define KO_ENTRY_MAX 300   /* bytes of one entry */

/* Formats why an entry is refused into why; returns -1. */
static int ko_why(char *why, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int ko_why(char *why, size_t cap, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  ku_vfmt(why, cap, fmt, ap);
  va_end(ap);
  return -1;
}

/* The scheme part: "*" (any) or letters, lowered into e->scheme. */
static int ko_entry_scheme(const char *s, size_t n, ko_entry *e, char *why, size_t cap) {
  if (n == 1 && s[0] == '*') return 0;
  if (n && s[0] == '{') return ko_why(why, cap, "scheme lists ({...}) are not supported: write one entry per scheme");
  if (n == 0 || n > KO_SCHEME_MAX) return ko_why(why, cap, "the scheme must be 1 to %d letters, or *", KO_SCHEME_MAX);
  for (size_t i = 0; i < n; i++) {
    if (!((s[i] | 0x20) >= 'a' && (s[i] | 0x20) <= 'z'))
      return ko_why(why, cap, "scheme \"%.*s\" must be letters only, or *", (int)n, s);
    e->scheme[i] = (char)(s[i] | 0x20);
  }
  e->scheme[n] = '\0';
  return 0;
}

/* A decimal port (or range end) [s, s+n) of at most 65535 into *out. */
static bool ko_num(const char *s, size_t n, unsigned *out) {
  unsigned v = 0;
  if (n == 0 || n > 5) return false;
  for (size_t i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (unsigned)(s[i] - '0');
  }
  *out = v;
  return v <= 65535;
}

/* The port part: empty (the scheme's default), "*", "N" or "A..B" (B
** excluded, as in Spin). */
static int ko_entry_port(const char *s, size_t n, ko_entry *e, char *why, size_t cap) {
  unsigned lo, hi;
  const char *dots = n > 2 ? strstr(s, "..") : NULL;
  if (n == 0) {
    uint16_t d = e->scheme[0] ? ko_default_port(e->scheme) : 0;
    if (!d)
      return ko_why(why, cap, "no port, and scheme \"%s\" has no default port: add \":PORT\" or \":*\"",
                    e->scheme[0] ? e->scheme : "*");
    e->lo = e->hi = d;
    return 0;
  }
  if (n == 1 && s[0] == '*') { e->any_port = true; return 0; }
  if (s[0] == '{')
    return ko_why(why, cap, "port lists ({...}) are not supported: write one entry per port, or a range A..B");
  if (dots && dots < s + n) {
    if (!ko_num(s, (size_t)(dots - s), &lo) || !ko_num(dots + 2, n - (size_t)(dots - s) - 2, &hi))
      return ko_why(why, cap, "port range \"%.*s\" is not two numbers 0-65535", (int)n, s);
    if (lo == 0) lo = 1;   /* port 0 is never reached */
    if (lo >= hi)
      return ko_why(why, cap, "port range \"%.*s\" holds no port 1-65535 (its end is excluded, as "
                    "in Spin)", (int)n, s);
    e->lo = (uint16_t)lo;
    e->hi = (uint16_t)(hi - 1);
    return 0;
  }
  if (!ko_num(s, n, &lo) || lo == 0)
    return ko_why(why, cap, "port \"%.*s\" is not a number 1-65535 (or *, or a range A..B)", (int)n, s);
  e->lo = e->hi = (uint16_t)lo;
  return 0;
}

/* A network "ADDR/BITS" or an address: e->net and e->bits (host bits
** cleared, as Spin does). */
static int ko_entry_net(const char *s, size_t n, const char *bits, size_t nb, ko_entry *e, char *why,
                        size_t cap) {
  unsigned b;
  if (!ko_addr_parse(s, n, &e->net)) return ko_why(why, cap, "\"%.*s\" is not an IP address", (int)n, s);
  ko_addr_unmap(&e->net);
  unsigned max = e->net.family == 4 ? 32 : 128;
  e->bits = max;
  if (bits) {
    if (!ko_num(bits, nb, &b) || b > max)
      return ko_why(why, cap, "prefix length \"/%.*s\" is not a number 0-%u", (int)nb, bits, max);
    e->bits = b;
    for (unsigned i = b; i < max; i++) e->net.b[i / 8] &= (uint8_t)~(0x80u >> (i % 8));
  }
  e->kind = KO_HOST_NET;
  return 0;
}

/* A host that is a name, "*", "*.domain" or an IPv4 address or network
** (IPv6 ones are bracketed: ko_entry_host). */
static int ko_entry_word(const char *s, size_t n, const char *bits, size_t nb, ko_entry *e, char *why,
                         size_t cap) {
  bool is_ip;
  ko_addr ip;
  if (n == 1 && s[0] == '*' && !bits) { e->kind = KO_HOST_ANY; return 0; }
  if ((n == 4 && !memcmp(s, "self", 4)) || (n == 8 && !memcmp(s, "self.alt", 8)))
    return ko_why(why, cap, "host \"%.*s\" (requests to the app itself) is not supported by krait", (int)n, s);
  if (n && s[0] == '{') return ko_why(why, cap, "host lists ({...}) are not supported: write one entry per host");
  if (bits) return ko_entry_net(s, n, bits, nb, e, why, cap);
  bool wild = n > 2 && s[0] == '*' && s[1] == '.';
  const char *d = wild ? s + 2 : s;
  size_t dn = wild ? n - 2 : n;
  if (memchr(d, '*', dn))
    return ko_why(why, cap, "a wildcard is allowed only as a leading \"*.\" (as in \"*.example.org\")");
  if (dn && d[dn - 1] == '.') dn--;
  const char *bad = ko_name_check(d, dn, &ip, &is_ip);
  if (bad) return ko_why(why, cap, "%s", bad);
  if (is_ip && !wild) return ko_entry_net(d, dn, NULL, 0, e, why, cap);
  if (is_ip) return ko_why(why, cap, "\"*.\" must be followed by a domain name, not an address");
  e->kind = wild ? KO_HOST_SUFFIX : KO_HOST_NAME;
  snprintf(e->host, sizeof e->host, "%s%.*s", wild ? "." : "", (int)dn, d);
  for (char *p = e->host; *p; p++)
    if (*p >= 'A' && *p <= 'Z') *p = (char)(*p | 0x20);
  return 0;
}

/* The host and port after "scheme://": HOST[/BITS][:PORT][/], with IPv6
** in brackets ("[::1]", "[fd00::]/8"). */
static int ko_entry_rest(const char *r, ko_entry *e, char *why, size_t cap) {
  const char *h = r, *hend, *p, *bits = NULL;
  size_t nb = 0;
  if (*r == '[') {
    const char *close = strchr(r, ']');
    if (!close) return ko_why(why, cap, "'[' without ']' around an IPv6 address");
    h = r + 1;
    hend = close;
    p = close + 1;
  } else {
    hend = r + strcspn(r, ":/");
    p = hend;
    if (*hend == ':' && strchr(hend + 1, ':'))
      return ko_why(why, cap, "an IPv6 address is written in brackets, as in \"http://[::1]:8080\"");
  }
  if (*p == '/' && p[1] >= '0' && p[1] <= '9') {   /* a network's prefix length */
    bits = p + 1;
    nb = strcspn(bits, ":/");
    p = bits + nb;
  }
  const char *port = *p == ':' ? p + 1 : p;
  size_t np = *p == ':' ? strcspn(port, "/") : 0;
  const char *path = port + np;
  if (*p && *p != ':' && *p != '/') return ko_why(why, cap, "'%c' after the host", *p);
  if (*path == '/' && path[1])
    return ko_why(why, cap, "a path (\"%s\"): an entry names a scheme, a host and a port only", path);
  int rc = *r == '[' ? (ko_addr_parse(h, (size_t)(hend - h), &e->net) && e->net.family == 6
                            ? ko_entry_net(h, (size_t)(hend - h), bits, nb, e, why, cap)
                            : ko_why(why, cap, "\"[%.*s]\" is not an IPv6 address", (int)(hend - h), h))
                     : ko_entry_word(h, (size_t)(hend - h), bits, nb, e, why, cap);
  return rc ? rc : ko_entry_port(port, np, e, why, cap);
}

/* Parses entry text [s, s+n) into e; 0, or -1 with why. */
static int ko_entry_parse(const char *s, size_t n, ko_entry *e, char *why, size_t cap) {
  char buf[KO_ENTRY_MAX + 1];
  memset(e, 0, sizeof *e);
  if (n == 0) return ko_why(why, cap, "it is empty: write scheme://host[:port]");
  if (n > KO_ENTRY_MAX) return ko_why(why, cap, "it is longer than %d bytes", KO_ENTRY_MAX);
  for (size_t i = 0; i < n; i++)
    if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
      return ko_why(why, cap, "byte %zu (0x%02x) is a space, a control byte or not ASCII", i,
                    (unsigned char)s[i]);
  memcpy(buf, s, n);
  buf[n] = '\0';
  if (!strcmp(buf, "insecure:allow-all"))
    return ko_why(why, cap, "\"insecure:allow-all\" is not supported: \"*://*:*\" allows every host "
                  "and port (private, loopback and link-local addresses still need entries naming them)");
  const char *sep = strstr(buf, "://");
  if (!sep && (!strcmp(buf, "*") || !strcmp(buf, ":") || !strcmp(buf, "?")))
    return ko_why(why, cap, "not an entry: write scheme://host[:port], with * for any scheme, host "
                  "or port (\"*://*:*\" allows every host)");
  if (!sep && strchr(buf, ':'))
    return ko_why(why, cap, "no scheme: write scheme://host[:port] (as in \"https://%s\", or "
                  "\"*://%s\" for any scheme)", buf, buf);
  if (!sep)
    return ko_why(why, cap, "no scheme: write scheme://host[:port] (as in \"https://%s\", or "
                  "\"*://%s:*\" for any scheme and port)", buf, buf);
  if (ko_entry_scheme(buf, (size_t)(sep - buf), e, why, cap) || ko_entry_rest(sep + 3, e, why, cap))
    return -1;
  return 0;
}

void ko_allow_init(ko_allow *a, ko_source source) {
  memset(a, 0, sizeof *a);
  a->source = source;
}

void ko_allow_free(ko_allow *a) {
  for (size_t i = 0; i < a->n; i++) ku_free(a->v[i].text);
  ku_free(a->v);
  ko_allow_init(a, a->source);
}

/* Appends e with its text [s, s+n); 0, or -1 with err when out of memory. */
static int ko_push(ko_allow *a, ko_entry *e, const char *s, size_t n, char *err, size_t errlen) {
  if (a->n == a->cap) {
    size_t cap = a->cap ? a->cap * 2 : 4;
    ko_entry *v = ku_realloc(a->v, cap * sizeof *v);
    if (!v) { ku_fmt(err, errlen, "out of memory"); return -1; }
    a->v = v;
    a->cap = cap;
  }
  if (!(e->text = ku_strndup(s, n))) { ku_fmt(err, errlen, "out of memory"); return -1; }
  a->v[a->n++] = *e;
  return 0;
}

/* [*s, *s+*n) without leading and trailing spaces and tabs (Spin trims). */
static void ko_trim(const char **s, size_t *n) {
  while (*n && (**s == ' ' || **s == '\t')) { (*s)++; (*n)--; }
  while (*n && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t')) (*n)--;
}

int ko_allow_add(ko_allow *a, const char *s, size_t n, char *err, size_t errlen) {
  char why[KO_ERR_SIZE], shown[KO_SHOW_SIZE];
  ko_entry e;
  ko_trim(&s, &n);
  if (ko_entry_parse(s, n, &e, why, sizeof why)) {
    ku_fmt(err, errlen, "entry %s: %s", ko_show(s, n, shown), why);
    return -1;
  }
  return ko_push(a, &e, s, n, err, errlen);
}

int ko_allow_flag(ko_allow *a, const char *value, char *err, size_t errlen) {
  char buf[KO_ENTRY_MAX + 16], why[KO_ERR_SIZE], shown[KO_SHOW_SIZE];
  size_t n = strlen(value);
  const char *close = value[0] == '[' ? strchr(value, ']') : NULL;
  bool port = close ? close[1] == ':' : strchr(value, ':') != NULL;
  ko_entry e;
  if (strstr(value, "://")) snprintf(buf, sizeof buf, "%s", value);
  else if (n > KO_ENTRY_MAX) snprintf(buf, sizeof buf, "%s", value);   /* refused as too long */
  else snprintf(buf, sizeof buf, "*://%s%s", value, port ? "" : ":*");
  if (n == 0) ku_fmt(why, sizeof why, "no host: write HOST[:PORT] (as in api.example.com:443)");
  if (n == 0 || ko_entry_parse(buf, strlen(buf), &e, why, sizeof why)) {
    ku_fmt(err, errlen, KO_CLI_FLAG " %s: %s", ko_show(value, n, shown), why);
    return -1;
  }
  return ko_push(a, &e, value, n, err, errlen);
}

bool ko_entry_reaches(const ko_entry *e, const ko_url *u) {
  return (!e->scheme[0] || !strcmp(e->scheme, u->scheme)) &&
         (e->any_port || (u->port >= e->lo && u->port <= e->hi));
}

/* Whether e's host part allows u's host. */
static bool ko_host_allows(const ko_entry *e, const ko_url *u) {
  size_t n = strlen(u->host), m = strlen(e->host);
  ko_addr ip = u->ip;
  switch (e->kind) {
  case KO_HOST_ANY: return true;
  case KO_HOST_SUFFIX: return !u->is_ip && n > m && !strcmp(u->host + n - m, e->host);
  case KO_HOST_NAME: return !u->is_ip && !strcmp(u->host, e->host);
  case KO_HOST_NET: ko_addr_unmap(&ip); return u->is_ip && ko_addr_in(&ip, &e->net, e->bits);
  }
  return false;
}

const ko_entry *ko_allow_match(const ko_allow *a, const ko_url *u) {
  for (size_t i = 0; i < a->n; i++)
    if (ko_entry_reaches(&a->v[i], u) && ko_host_allows(&a->v[i], u)) return &a->v[i];
  return NULL;
}
