/*
** jshape.c -- the shape of an untrusted JSON text counted in one pass
** without parsing it (values, objects and arrays, nesting), so a caller can
** refuse a text before a parser spends ~250 bytes on each "{}" of it.
*/
#include "util/util.h"

/* Whether b separates values: structure or whitespace. */
static bool ku_jsep(uint8_t b) {
  return b == ',' || b == ':' || b == '[' || b == ']' || b == '{' || b == '}' || b == '"' || b == ' ' ||
         b == '\t' || b == '\n' || b == '\r';
}

/* Skips the string whose opening quote was s[i-1]: the index after its
** closing quote (n when it has none). */
static size_t ku_jstring(const uint8_t *s, size_t n, size_t i) {
  while (i < n && s[i] != '"') i += s[i] == '\\' ? 2 : 1;
  return i < n ? i + 1 : n;
}

/* Counts values (a string or a scalar's first byte, a bracket), objects
** and arrays, and depth, skipping strings whole; stops past a limit. */
int ku_json_shape_of(const uint8_t *s, size_t n, const ku_json_shape *max, ku_json_shape *out) {
  size_t depth = 0, i = 0;
  bool scalar = false;
  *out = (ku_json_shape){ 0, 0, 0 };
  while (i < n) {
    uint8_t b = s[i++];
    if (!ku_jsep(b)) {
      if (!scalar) out->values++;
      scalar = true;
      continue;
    }
    scalar = false;
    if (b == '"') { out->values++; i = ku_jstring(s, n, i); }
    else if (b == '{' || b == '[') {
      out->values++;
      out->containers++;
      if (++depth > out->depth) out->depth = depth;
    } else if ((b == '}' || b == ']') && depth) depth--;
    if (out->values > max->values || out->containers > max->containers || out->depth > max->depth) return -1;
  }
  return 0;
}
