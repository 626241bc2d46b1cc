/*
** cursor.h -- the bounded cursor through which every untrusted byte is read.
** Errors longjmp to the one catch point of the reader that owns the cursor.
*/
#ifndef KU_CURSOR_H
#define KU_CURSOR_H

#include "util/util.h"
#include <setjmp.h>

/* Where a failed read goes: the owner's catch point and message buffer. */
typedef struct ku_fail {
  jmp_buf jb;
  char *msg;
  size_t cap;
  int kind;          /* krait_errkind reported by the failure */
} ku_fail;

typedef struct ku_cursor {
  const uint8_t *p, *end;  /* remaining bytes [p, end) */
  const uint8_t *base;     /* start of the whole buffer, for offsets */
  const char *what;        /* section or context name for messages */
  ku_fail *fail;
} ku_cursor;

/* Reports "<what> at offset 0x..: <reason>" and longjmps to the catch. */
_Noreturn void ku_cfail(ku_cursor *c, int kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The general readers (cursor.c); the inline ones below take the common
** one-byte case themselves and call these for the rest. */
_Noreturn void ku_end_fail(ku_cursor *c);
uint64_t ku_uleb(ku_cursor *c, unsigned bits);
int64_t ku_sleb(ku_cursor *c, unsigned bits);

/* One byte, or a failure at the end of the cursor. */
static inline uint8_t ku_u8(ku_cursor *c) {
  if (KU_UNLIKELY(c->p >= c->end)) ku_end_fail(c);
  return *c->p++;
}

/* Whether the next byte exists and is a complete LEB128 by itself (every
** width here holds 7 bits, so it is then always valid). */
static inline bool ku_leb1(const ku_cursor *c) {
  return KU_LIKELY(c->p < c->end && *c->p < 0x80);
}

/* unsigned LEB128, 32-bit */
static inline uint32_t ku_u32(ku_cursor *c) {
  return ku_leb1(c) ? *c->p++ : (uint32_t)ku_uleb(c, 32);
}
/* unsigned LEB128, 64-bit */
static inline uint64_t ku_u64(ku_cursor *c) {
  return ku_leb1(c) ? *c->p++ : ku_uleb(c, 64);
}
/* The one-byte signed LEB128 value b: 7 bits, sign-extended. */
static inline int32_t ku_sleb1(uint8_t b) {
  return (int32_t)((uint32_t)b << 25) >> 25;
}
/* signed LEB128, 32-bit */
static inline int32_t ku_s32(ku_cursor *c) {
  return ku_leb1(c) ? ku_sleb1(*c->p++) : (int32_t)ku_sleb(c, 32);
}
/* signed LEB128, 64-bit */
static inline int64_t ku_s64(ku_cursor *c) {
  return ku_leb1(c) ? ku_sleb1(*c->p++) : ku_sleb(c, 64);
}
/* signed LEB128, 33-bit (blocktype) */
static inline int64_t ku_s33(ku_cursor *c) {
  return ku_leb1(c) ? ku_sleb1(*c->p++) : ku_sleb(c, 33);
}
uint32_t ku_fixed32(ku_cursor *c);      /* little-endian 4 bytes */
uint64_t ku_fixed64(ku_cursor *c);      /* little-endian 8 bytes */
const uint8_t *ku_bytes(ku_cursor *c, size_t n);  /* n raw bytes */
/* A sub-cursor over the next n bytes (the parent skips them). */
ku_cursor ku_sub(ku_cursor *c, size_t n, const char *what);
static inline size_t ku_offset(const ku_cursor *c) {
  return (size_t)(c->p - c->base);
}
static inline bool ku_eof(const ku_cursor *c) { return c->p >= c->end; }
/* Bytes left to read: a reader with its own failure handling checks this
** before ku_bytes (which would fail through the catch point). */
static inline size_t ku_left(const ku_cursor *c) { return (size_t)(c->end - c->p); }

#endif
