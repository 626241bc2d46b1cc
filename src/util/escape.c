/*
** escape.c -- percent-decoding (RFC 3986 %XX), shared by the Redis key-value
** backend and the redis binding (a URL's credentials). Not URL parsing (src/net).
*/
#include "util/util.h"

/* The value of hex digit c, or -1. */
static int ku_hexval(char c) {
  return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
       : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

size_t ku_unescape(const char *s, size_t n, char *out) {
  size_t o = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] != '%') { out[o++] = s[i]; continue; }
    int hi = i + 2 < n ? ku_hexval(s[i + 1]) : -1;
    int lo = i + 2 < n ? ku_hexval(s[i + 2]) : -1;
    if (hi < 0 || lo < 0) return SIZE_MAX;
    out[o++] = (char)(hi * 16 + lo);
    i += 2;
  }
  out[o] = '\0';
  return o;
}
