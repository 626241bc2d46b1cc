/*
** url.c -- the strict parser of URLs a guest passes for outbound calls:
** scheme, userinfo, host (names, IPv4, bracketed IPv6), port, path, query.
** Not what is allowed (allow.c, policy.c). Reads only through a ku_cursor.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>

#include "net/net.h"
#include "util/cursor.h"

/* The parse of one URL: the cursor over it and the catch point. */
typedef struct ko_up {
  ku_cursor c;
  ku_fail fail;
  ko_url *u;
} ko_up;

/* The schemes with a default port: those Spin knows. */
static const struct { const char *scheme; uint16_t port; } ko_ports[] = {
  { "http", 80 }, { "https", 443 }, { "postgres", 5432 }, { "redis", 6379 },
  { "mysql", 3306 }, { "mqtt", 1883 },
};

uint16_t ko_default_port(const char *scheme) {
  for (size_t i = 0; i < sizeof ko_ports / sizeof ko_ports[0]; i++)
    if (!strcmp(scheme, ko_ports[i].scheme)) return ko_ports[i].port;
  return 0;
}

const char *ko_show(const char *s, size_t n, char *out) {
  size_t o = 0;
  out[o++] = '"';
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (i == 80) { memcpy(out + o, "...", 3); o += 3; break; }
    if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') o += (size_t)sprintf(out + o, "\\x%02x", c);
    else out[o++] = (char)c;
  }
  out[o++] = '"';
  out[o] = '\0';
  return out;
}

const char *ko_url_origin(const ko_url *u, char *out, size_t cap) {
  bool v6 = u->is_ip && u->ip.family == 6;
  snprintf(out, cap, "%s://%s%s%s:%u", u->scheme, v6 ? "[" : "", u->host, v6 ? "]" : "",
           (unsigned)u->port);
  return out;
}

static _Noreturn void ko_fail_at(ko_up *P, size_t at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Reports "URL "...": what, at byte N" and leaves through the catch point. */
static _Noreturn void ko_fail_at(ko_up *P, size_t at, const char *fmt, ...) {
  char what[200], shown[KO_SHOW_SIZE];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  ku_fmt(P->fail.msg, P->fail.cap, "URL %s: %s at byte %zu",
         ko_show((const char *)P->c.base, (size_t)(P->c.end - P->c.base), shown), what, at);
  longjmp(P->fail.jb, 1);
}

/* The next byte, or -1 at the end. */
static int ko_peek(const ku_cursor *c) { return ku_eof(c) ? -1 : *c->p; }

static bool ko_alpha(int b) { return (b | 0x20) >= 'a' && (b | 0x20) <= 'z'; }
static bool ko_digit(int b) { return b >= '0' && b <= '9'; }
static bool ko_hex(int b) { return ko_digit(b) || ((b | 0x20) >= 'a' && (b | 0x20) <= 'f'); }
/* Whether b is one of the bytes of set (never the NUL byte). */
static bool ko_in(const char *set, int b) { return b > 0 && strchr(set, b) != NULL; }

/* Refuses byte b at offset at when it may not appear in a URL at all:
** control bytes, space, non-ASCII, backslash. where names the part. */
static void ko_plain(ko_up *P, int b, size_t at, const char *where) {
  if (b == ' ') ko_fail_at(P, at, "a space in the %s (percent-encode it as %%20)", where);
  if (b < 0x20 || b == 0x7f) ko_fail_at(P, at, "control byte 0x%02x in the %s", b, where);
  if (b >= 0x80) ko_fail_at(P, at, "non-ASCII byte 0x%02x in the %s (percent-encode it)", b, where);
  if (b == '\\') ko_fail_at(P, at, "a backslash in the %s", where);
}

/* scheme "://": letters, digits, '+', '-', '.', starting with a letter. */
static void ko_scheme(ko_up *P) {
  ku_cursor *c = &P->c;
  size_t n = 0;
  while (ko_peek(c) >= 0 && (ko_alpha(ko_peek(c)) || (n && (ko_digit(ko_peek(c)) ||
         ko_peek(c) == '+' || ko_peek(c) == '-' || ko_peek(c) == '.')))) {
    if (n == KO_SCHEME_MAX) ko_fail_at(P, ku_offset(c), "a scheme longer than %d bytes", KO_SCHEME_MAX);
    P->u->scheme[n++] = (char)(ku_u8(c) | 0x20);
  }
  P->u->scheme[n] = '\0';
  if (n == 0 || ko_peek(c) != ':')
    ko_fail_at(P, ku_offset(c), "no scheme: a URL starts with scheme:// (as in https://)");
  ku_u8(c);
  if (ku_left(c) < 2 || c->p[0] != '/' || c->p[1] != '/')
    ko_fail_at(P, ku_offset(c), "no \"//\" after \"%s:\": the URL needs a host", P->u->scheme);
  ku_bytes(c, 2);
}

/* userinfo [s, s+n) at offset at: unreserved, sub-delims, ':', %HH. */
static void ko_userinfo(ko_up *P, const uint8_t *s, size_t n, size_t at) {
  for (size_t i = 0; i < n; i++) {
    if (s[i] == '%' && (i + 2 >= n || !ko_hex(s[i + 1]) || !ko_hex(s[i + 2])))
      ko_fail_at(P, at + i, "'%%' not followed by two hex digits in the userinfo");
    if (!ko_alpha(s[i]) && !ko_digit(s[i]) && !ko_in("-._~!$&'()*+,;=:%", s[i]))
      ko_fail_at(P, at + i, "character '%c' is not allowed in the userinfo", s[i]);
  }
}

/* Whether label [s, s+n) reads as a number (decimal, or 0x hex) as the
** last label of an IPv4 address would: no real DNS name ends so. */
static bool ko_numeric(const char *s, size_t n) {
  bool hex = n >= 2 && s[0] == '0' && (s[1] | 0x20) == 'x';
  if (n == 0) return false;
  for (size_t i = hex ? 2 : 0; i < n; i++)
    if (!(hex ? ko_hex(s[i]) : ko_digit(s[i]))) return false;
  return true;
}

const char *ko_name_check(const char *s, size_t n, ko_addr *ip, bool *is_ip) {
  size_t start = 0;
  *is_ip = false;
  if (n == 0) return "an empty host";
  if (n > KO_HOST_MAX) return "a host name longer than 253 bytes";
  for (size_t i = 0; i < n; i++)
    if (!ko_alpha(s[i]) && !ko_digit(s[i]) && !ko_in("-_.", s[i]))
      return "a character that is not a letter, digit, '-', '_' or '.' in the host name";
  for (size_t i = 0; i <= n; i++) {
    if (i < n && s[i] != '.') continue;
    if (i == start) return "an empty label in the host name";
    if (i - start > 63) return "a host name label longer than 63 bytes";
    start = i + 1;
  }
  for (start = n; start > 0 && s[start - 1] != '.'; start--) {}
  if (!ko_numeric(s + start, n - start)) return NULL;
  if (!ko_addr_parse(s, n, ip))
    return "a numeric host that is not a dotted-quad IPv4 address (write a.b.c.d with decimal "
           "parts 0-255, no leading zeros)";
  *is_ip = true;
  return NULL;
}

/* The host name [s, s+n) at offset at: ko_name_check's rules, lowered, a
** trailing dot dropped. */
static void ko_name(ko_up *P, const uint8_t *s, size_t n, size_t at) {
  ko_url *u = P->u;
  for (size_t i = 0; i < n; i++) {
    ko_plain(P, s[i], at + i, "host");
    if (s[i] == '%') ko_fail_at(P, at + i, "a percent-encoded host (not supported)");
  }
  if (n && s[n - 1] == '.') n--;
  const char *why = ko_name_check((const char *)s, n, &u->ip, &u->is_ip);
  if (why) ko_fail_at(P, at, "%s", why);
  for (size_t i = 0; i < n; i++) u->host[i] = (char)(ko_alpha(s[i]) ? s[i] | 0x20 : s[i]);
  u->host[n] = '\0';
}

/* "[IPv6]" [s, s+n) at offset at (the brackets included). */
static void ko_ipv6(ko_up *P, const uint8_t *s, size_t n, size_t at) {
  ko_url *u = P->u;
  char text[KO_ADDR_TEXT];
  for (size_t i = 1; i + 1 < n; i++) {
    ko_plain(P, s[i], at + i, "IPv6 address");
    if (s[i] == '%') ko_fail_at(P, at + i, "an IPv6 zone identifier (not supported)");
    if ((s[i] | 0x20) == 'v' && i == 1) ko_fail_at(P, at + i, "an IPvFuture address (not supported)");
  }
  if (!ko_addr_parse((const char *)s + 1, n - 2, &u->ip) || u->ip.family != 6)
    ko_fail_at(P, at, "\"%.*s\" is not an IPv6 address", (int)(n < 60 ? n : 60), (const char *)s);
  u->is_ip = true;
  snprintf(u->host, sizeof u->host, "%s", ko_addr_text(&u->ip, text));
}

/* The port [s, s+n) at offset at: 1 to 65535, decimal. */
static void ko_port(ko_up *P, const uint8_t *s, size_t n, size_t at) {
  unsigned long v = 0;
  if (n == 0) ko_fail_at(P, at, "an empty port after ':'");
  for (size_t i = 0; i < n; i++) {
    if (!ko_digit(s[i])) ko_fail_at(P, at + i, "a port that is not a number");
    v = v * 10 + (unsigned long)(s[i] - '0');
    if (v > 65535) ko_fail_at(P, at, "port %.*s is over 65535", (int)(n < 20 ? n : 20), (const char *)s);
  }
  if (v == 0) ko_fail_at(P, at, "port 0");
  P->u->port = (uint16_t)v;
  P->u->port_given = true;
}

/* The authority, up to '/', '?', '#' or the end. */
static void ko_authority(ko_up *P) {
  ku_cursor *c = &P->c;
  size_t at = ku_offset(c), n = 0, user = 0, ats = 0;
  while (n < ku_left(c) && !ko_in("/?#", c->p[n])) {
    ko_plain(P, c->p[n], at + n, c->p[n] >= 0x80 ? "host (IDNA is not supported: pass the "
             "xn-- form of a non-ASCII name)" : "authority");
    if (c->p[n] == '@') { ats++; user = n + 1; }
    n++;
  }
  if (ats > 1) ko_fail_at(P, at, "more than one '@' in the authority (percent-encode the userinfo's)");
  const uint8_t *s = ku_bytes(c, n);
  if (ats) {
    ko_userinfo(P, s, user - 1, at);
    P->u->user_at = at;
    P->u->user_len = user - 1;
  }
  const uint8_t *h = s + user, *end = s + n, *colon;
  size_t hat = at + user;
  if (h < end && *h == '[') {
    const uint8_t *close = memchr(h, ']', (size_t)(end - h));
    if (!close) ko_fail_at(P, hat, "'[' without ']' around an IPv6 address");
    ko_ipv6(P, h, (size_t)(close - h) + 1, hat);
    colon = close + 1;
    if (colon < end && *colon != ':') ko_fail_at(P, at + (size_t)(colon - s), "'%c' after ']'", *colon);
  } else {
    colon = memchr(h, ':', (size_t)(end - h));
    if (!colon) colon = end;
    ko_name(P, h, (size_t)(colon - h), hat);
  }
  if (colon < end) ko_port(P, colon + 1, (size_t)(end - colon - 1), at + (size_t)(colon - s) + 1);
}

/* A path, query or fragment part up to any byte of stop (where names it):
** printable ASCII, '%' only before two hex digits. Returns its offset. */
static size_t ko_rest(ko_up *P, const char *stop, const char *where, size_t *len) {
  ku_cursor *c = &P->c;
  size_t at = ku_offset(c);
  while (!ku_eof(c) && !ko_in(stop, *c->p)) {
    size_t o = ku_offset(c);
    int b = ku_u8(c);
    ko_plain(P, b, o, where);
    if (b == '%' && (ku_left(c) < 2 || !ko_hex(c->p[0]) || !ko_hex(c->p[1])))
      ko_fail_at(P, o, "'%%' not followed by two hex digits in the %s", where);
  }
  *len = ku_offset(c) - at;
  return at;
}

/* The whole URL under the catch point (the parse state lives in *P, so
** it stays defined after a longjmp). */
static bool ko_run(ko_up *P) {
  size_t n;
  if (setjmp(P->fail.jb)) return false;
  ko_scheme(P);
  ko_authority(P);
  if (ko_peek(&P->c) == '/') P->u->path_at = ko_rest(P, "?#", "path", &P->u->path_len);
  if (ko_peek(&P->c) == '?') {
    ku_u8(&P->c);
    P->u->query_at = ko_rest(P, "#", "query", &P->u->query_len);
  }
  if (ko_peek(&P->c) == '#') {
    ku_u8(&P->c);
    ko_rest(P, "", "fragment", &n);
  }
  if (!ku_eof(&P->c)) ko_fail_at(P, ku_offset(&P->c), "unexpected byte 0x%02x", *P->c.p);
  if (!P->u->port_given && !(P->u->port = ko_default_port(P->u->scheme)))
    ko_fail_at(P, ku_offset(&P->c), "no port, and scheme \"%s\" has no default port", P->u->scheme);
  return true;
}

int ko_url_parse(const char *s, size_t n, ko_url *u, char *err, size_t errlen) {
  char shown[KO_SHOW_SIZE];
  memset(u, 0, sizeof *u);
  if (n > KO_URL_MAX) {
    ku_fmt(err, errlen, "URL %s (%zu bytes) is longer than %d bytes", ko_show(s, n, shown), n, KO_URL_MAX);
    return -1;
  }
  ko_up P = { .u = u };
  const uint8_t *b = n ? (const uint8_t *)s : (const uint8_t *)"";
  P.c = (ku_cursor){ b, b + n, b, "URL", &P.fail };
  P.fail.msg = err;
  P.fail.cap = errlen;
  if (ko_run(&P)) return 0;
  memset(u, 0, sizeof *u);
  return -1;
}
