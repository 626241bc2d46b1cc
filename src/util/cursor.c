/*
** cursor.c -- bounded reads of LEB128 integers, fixed-width values and
** byte ranges. Every overrun or overlong encoding fails with an offset.
*/
#include "util/cursor.h"
#include "krait.h"
#include <stdarg.h>
#include <stdio.h>

/* Formats "<what> at offset 0x..: <reason>" and jumps to the catch point. */
_Noreturn void ku_cfail(ku_cursor *c, int kind, const char *fmt, ...) {
  char reason[300];
  va_list ap;
  va_start(ap, fmt);
  ku_vfmt(reason, sizeof reason, fmt, ap);
  va_end(ap);
  ku_fmt(c->fail->msg, c->fail->cap, "%s at offset 0x%zx: %s",
         c->what ? c->what : "module", ku_offset(c), reason);
  c->fail->kind = kind;
  longjmp(c->fail->jb, 1);
}

/* The failure of ku_u8 at the end of the cursor. */
_Noreturn void ku_end_fail(ku_cursor *c) {
  ku_cfail(c, KRAIT_ERR_MALFORMED, "unexpected end");
}

/* Reads an unsigned LEB128 of at most `bits` bits; rejects encodings that
** are too long or set bits beyond the width ("integer too large"). */
uint64_t ku_uleb(ku_cursor *c, unsigned bits) {
  uint64_t v = 0;
  unsigned shift = 0;
  for (;;) {
    if (c->p >= c->end)
      ku_cfail(c, KRAIT_ERR_MALFORMED, "unexpected end of LEB128 integer");
    uint8_t b = *c->p++;
    if (shift + 7 > bits && shift < 64) {
      unsigned room = bits - shift;  /* bits still allowed in this byte */
      if ((b & 0x80) || (room < 7 && (b >> room) != 0))
        ku_cfail(c, KRAIT_ERR_MALFORMED,
                 (b & 0x80) ? "integer representation too long"
                            : "integer too large");
    }
    v |= (uint64_t)(b & 0x7f) << shift;
    shift += 7;
    if (!(b & 0x80)) return v;
  }
}

/* Reads a signed LEB128 of at most `bits` bits; unused bits of the last
** byte must be a sign extension ("integer too large"). */
int64_t ku_sleb(ku_cursor *c, unsigned bits) {
  uint64_t v = 0;
  unsigned shift = 0;
  uint8_t b;
  for (;;) {
    if (c->p >= c->end)
      ku_cfail(c, KRAIT_ERR_MALFORMED, "unexpected end of LEB128 integer");
    b = *c->p++;
    if (shift + 7 >= bits) {
      unsigned room = bits - shift; /* 1..7 bits left including sign */
      if (b & 0x80)
        ku_cfail(c, KRAIT_ERR_MALFORMED, "integer representation too long");
      uint8_t high = (uint8_t)((b & 0x7f) >> (room - 1)); /* sign and above */
      uint8_t mask = (uint8_t)(0x7f >> (room - 1));
      if (room < 7 && high != 0 && high != mask)
        ku_cfail(c, KRAIT_ERR_MALFORMED, "integer too large");
      v |= (uint64_t)(b & 0x7f) << shift;
      shift += 7;
      break;
    }
    v |= (uint64_t)(b & 0x7f) << shift;
    shift += 7;
    if (!(b & 0x80)) break;
  }
  if (shift < 64 && (b & 0x40)) v |= ~(uint64_t)0 << shift;
  return (int64_t)v;
}


const uint8_t *ku_bytes(ku_cursor *c, size_t n) {
  if ((size_t)(c->end - c->p) < n)
    ku_cfail(c, KRAIT_ERR_MALFORMED, "unexpected end (need %zu bytes)", n);
  const uint8_t *p = c->p;
  c->p += n;
  return p;
}

uint32_t ku_fixed32(ku_cursor *c) {
  const uint8_t *p = ku_bytes(c, 4);
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
         (uint32_t)p[3] << 24;
}

uint64_t ku_fixed64(ku_cursor *c) {
  uint64_t lo = ku_fixed32(c);
  return lo | (uint64_t)ku_fixed32(c) << 32;
}

ku_cursor ku_sub(ku_cursor *c, size_t n, const char *what) {
  ku_cursor s = *c;
  s.p = ku_bytes(c, n);
  s.end = s.p + n;
  s.what = what;
  return s;
}
