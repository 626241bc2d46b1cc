/*
** addr.c -- IP addresses for the outbound policy: strict parsing, text,
** and the classes (loopback, private, link-local, ...) that need a grant.
** Not URLs (url.c) nor which grant applies (policy.c).
*/
#include <arpa/inet.h>
#include <string.h>

#include "net/net.h"

/* Parses one decimal part of a dotted quad: 1 to 3 digits, no leading
** zero (010 would be octal to inet_aton), at most 255. */
static bool ko_quad_part(const char *s, size_t n, uint8_t *out) {
  unsigned v = 0;
  if (n == 0 || n > 3 || (n > 1 && s[0] == '0')) return false;
  for (size_t i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (unsigned)(s[i] - '0');
  }
  if (v > 255) return false;
  *out = (uint8_t)v;
  return true;
}

/* a.b.c.d exactly. */
static bool ko_parse_v4(const char *s, size_t n, ko_addr *out) {
  size_t start = 0;
  int part = 0;
  for (size_t i = 0; i <= n; i++) {
    if (i < n && s[i] != '.') continue;
    if (part == 4 || !ko_quad_part(s + start, i - start, &out->b[part])) return false;
    part++;
    start = i + 1;
  }
  out->family = 4;
  return part == 4;
}

bool ko_addr_parse(const char *s, size_t n, ko_addr *out) {
  char buf[KO_ADDR_TEXT];
  memset(out, 0, sizeof *out);
  if (ko_parse_v4(s, n, out)) return true;
  if (n == 0 || n >= sizeof buf || memchr(s, '%', n) || !memchr(s, ':', n)) return false;
  memcpy(buf, s, n);
  buf[n] = '\0';
  if (inet_pton(AF_INET6, buf, out->b) != 1) return false;
  out->family = 6;
  return true;
}

const char *ko_addr_text(const ko_addr *a, char *out) {
  if (!inet_ntop(a->family == 4 ? AF_INET : AF_INET6, a->b, out, KO_ADDR_TEXT)) strcpy(out, "?");
  return out;
}

/* Whether a is IPv6 and starts with the bits of prefix p (bits long). */
static bool ko_v6_in(const ko_addr *a, const uint8_t *p, unsigned bits) {
  ko_addr net = { 6, { 0 } };
  memcpy(net.b, p, (bits + 7) / 8);
  return a->family == 6 && ko_addr_in(a, &net, bits);
}

static const uint8_t ko_mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

void ko_addr_unmap(ko_addr *a) {
  if (a->family != 6 || memcmp(a->b, ko_mapped, 12) != 0) return;
  memmove(a->b, a->b + 12, 4);
  memset(a->b + 4, 0, 12);
  a->family = 4;
}

bool ko_addr_in(const ko_addr *a, const ko_addr *net, unsigned bits) {
  if (a->family != net->family || bits > (a->family == 4 ? 32u : 128u)) return false;
  unsigned whole = bits / 8, rest = bits % 8;
  if (memcmp(a->b, net->b, whole) != 0) return false;
  if (rest == 0) return true;
  uint8_t mask = (uint8_t)(0xff << (8 - rest));
  return (a->b[whole] & mask) == (net->b[whole] & mask);
}

/* One IPv4 range of the table below. */
typedef struct ko_range4 { uint8_t a, b; unsigned bits; ko_class c; } ko_range4;

/* The IPv4 ranges that are not public (RFC 6890's special-purpose registry),
** by their first two bytes and prefix length; 255.255.255.255 is checked
** before them. */
static const ko_range4 ko_v4[] = {
  { 0, 0, 8, KO_UNSPECIFIED },    /* 0.0.0.0/8 "this network" */
  { 10, 0, 8, KO_PRIVATE },
  { 100, 64, 10, KO_SHARED },     /* carrier-grade NAT */
  { 127, 0, 8, KO_LOOPBACK },
  { 169, 254, 16, KO_LINK_LOCAL },/* 169.254.169.254: cloud metadata */
  { 172, 16, 12, KO_PRIVATE },
  { 192, 0, 24, KO_RESERVED },    /* protocol assignments (documentation: above) */
  { 192, 168, 16, KO_PRIVATE },
  { 198, 18, 15, KO_RESERVED },   /* benchmarking */
  { 224, 0, 4, KO_MULTICAST },
  { 240, 0, 4, KO_RESERVED },
};

/* The class of IPv4 address b. */
static ko_class ko_class4(const uint8_t *b) {
  static const uint8_t doc[3][3] = { { 192, 0, 2 }, { 198, 51, 100 }, { 203, 0, 113 } };
  if (b[0] == 255 && b[1] == 255 && b[2] == 255 && b[3] == 255) return KO_BROADCAST;
  for (size_t i = 0; i < 3; i++)
    if (memcmp(b, doc[i], 3) == 0) return KO_RESERVED;
  ko_addr a = { 4, { b[0], b[1], b[2], b[3] } };
  for (size_t i = 0; i < sizeof ko_v4 / sizeof ko_v4[0]; i++) {
    ko_addr net = { 4, { ko_v4[i].a, ko_v4[i].b } };
    if (ko_addr_in(&a, &net, ko_v4[i].bits)) return ko_v4[i].c;
  }
  return KO_PUBLIC;
}

/* The class of IPv6 address a: the ones carrying an IPv4 address (mapped
** ::ffff:0:0/96, NAT64 64:ff9b::/96, 6to4 2002::/16) by that address. */
static ko_class ko_class6(const ko_addr *a) {
  static const uint8_t nat64[12] = { 0, 0x64, 0xff, 0x9b }, nat64l[] = { 0, 0x64, 0xff, 0x9b, 0, 1 },
      sixto4[] = { 0x20, 0x02 }, teredo[] = { 0x20, 0x01, 0, 0 }, doc[] = { 0x20, 0x01, 0x0d, 0xb8 },
      discard[] = { 0x01, 0, 0, 0, 0, 0, 0, 0 }, ula[] = { 0xfc }, ll[] = { 0xfe, 0x80 },
      site[] = { 0xfe, 0xc0 }, mc[] = { 0xff }, zero[16] = { 0 };
  if (memcmp(a->b, ko_mapped, 12) == 0 || ko_v6_in(a, nat64, 96)) return ko_class4(a->b + 12);
  if (ko_v6_in(a, sixto4, 16)) return ko_class4(a->b + 2);
  if (ko_v6_in(a, zero, 128)) return KO_UNSPECIFIED;
  if (ko_v6_in(a, zero, 120) && a->b[15] == 1) return KO_LOOPBACK;
  if (ko_v6_in(a, zero, 96)) return KO_RESERVED;       /* IPv4-compatible (deprecated) */
  if (ko_v6_in(a, nat64l, 48)) return KO_PRIVATE;      /* local-use NAT64 */
  if (ko_v6_in(a, teredo, 32) || ko_v6_in(a, doc, 32) || ko_v6_in(a, discard, 64))
    return KO_RESERVED;
  if (ko_v6_in(a, ula, 7) || ko_v6_in(a, site, 10)) return KO_PRIVATE;
  if (ko_v6_in(a, ll, 10)) return KO_LINK_LOCAL;
  if (ko_v6_in(a, mc, 8)) return KO_MULTICAST;
  return KO_PUBLIC;
}

ko_class ko_addr_class(const ko_addr *a) {
  return a->family == 4 ? ko_class4(a->b) : ko_class6(a);
}

const char *ko_class_name(ko_class c) {
  static const char *const names[] = {
    "public", "loopback", "private", "shared (carrier-grade NAT)", "link-local",
    "unspecified", "multicast", "broadcast", "reserved"
  };
  return (unsigned)c < sizeof names / sizeof names[0] ? names[c] : "?";
}
