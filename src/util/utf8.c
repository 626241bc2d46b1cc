/*
** utf8.c -- UTF-8 validity, shared by the decoder (names) and the key-value layer (keys).
** Owns: one strict check (no overlongs, surrogates or code points above U+10FFFF)
** and the cut of a text at a character boundary.
*/
#include "util/util.h"

/* Returns true when [s, s+n) is valid UTF-8. */
bool ku_utf8_valid(const uint8_t *s, size_t n) {
  size_t i = 0;
  while (i < n) {
    uint8_t b = s[i];
    uint32_t cp, len;
    if (b < 0x80) { i++; continue; }
    if ((b & 0xE0) == 0xC0) { len = 2; cp = b & 0x1F; }
    else if ((b & 0xF0) == 0xE0) { len = 3; cp = b & 0x0F; }
    else if ((b & 0xF8) == 0xF0) { len = 4; cp = b & 0x07; }
    else return false;
    if (i + len > n) return false;
    for (uint32_t k = 1; k < len; k++) {
      if ((s[i + k] & 0xC0) != 0x80) return false;
      cp = cp << 6 | (s[i + k] & 0x3F);
    }
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) ||
        (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF))
      return false;
    i += len;
  }
  return true;
}

int ku_utf8_cut(const char *s, size_t n, size_t max) {
  if (n <= max) return (int)(n > INT32_MAX ? INT32_MAX : n);
  size_t at = max;
  while (at > 0 && ((unsigned char)s[at] & 0xC0) == 0x80) at--;
  return (int)at;
}
