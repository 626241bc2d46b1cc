/*
** wasi_mem.c -- bounds-checked access to guest linear memory for WASI.
** Owns pointer validation, little-endian loads/stores and iovec walking;
** not the memory itself (runtime) nor what the WASI calls do with it.
*/
#include <string.h>

#include "wasi/wasi_internal.h"

/* A valid address for empty spans when the memory has no bytes at all. */
static uint8_t kw_empty[1];

/* Looks up the caller's memory 0. A guest without a memory gets size 0, so
** every non-empty pointer it passes is EFAULT. */
kw_mem kw_mem_of(krait_caller *caller) {
  kw_mem m = { NULL, 0 };
  krait_memory *mem = krait_caller_memory(caller);
  if (mem) {
    m.base = krait_memory_data(mem);
    m.size = m.base ? krait_memory_size(mem) : 0;
  }
  return m;
}

/* Returns the host address of guest bytes [ptr, ptr+len), or NULL when any
** of them lies outside the memory. 64-bit arithmetic cannot wrap here. */
uint8_t *kw_span(const kw_mem *m, uint32_t ptr, uint64_t len) {
  if ((uint64_t)ptr + len > m->size)
    return NULL;
  if (!m->base)
    return kw_empty;
  return m->base + ptr;
}

/* Reads a little-endian u32 from host address p. */
uint32_t kw_get_u32(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
         (uint32_t)p[3] << 24;
}

/* Reads a little-endian u64 from host address p. */
uint64_t kw_get_u64(const uint8_t *p) {
  return (uint64_t)kw_get_u32(p) | (uint64_t)kw_get_u32(p + 4) << 32;
}

/* Writes v little-endian at host address p. */
void kw_put_u16(uint8_t *p, uint16_t v) {
  p[0] = (uint8_t)v;
  p[1] = (uint8_t)(v >> 8);
}

/* Writes v little-endian at host address p. */
void kw_put_u32(uint8_t *p, uint32_t v) {
  kw_put_u16(p, (uint16_t)v);
  kw_put_u16(p + 2, (uint16_t)(v >> 16));
}

/* Writes v little-endian at host address p. */
void kw_put_u64(uint8_t *p, uint64_t v) {
  kw_put_u32(p, (uint32_t)v);
  kw_put_u32(p + 4, (uint32_t)(v >> 32));
}

/* Stores a u32 at guest address ptr. Returns 0 or KW_EFAULT. */
int kw_put_u32_at(const kw_mem *m, uint32_t ptr, uint32_t v) {
  uint8_t *p = kw_span(m, ptr, 4);
  if (!p)
    return KW_EFAULT;
  kw_put_u32(p, v);
  return 0;
}

/* Stores a u64 at guest address ptr. Returns 0 or KW_EFAULT. */
int kw_put_u64_at(const kw_mem *m, uint32_t ptr, uint64_t v) {
  uint8_t *p = kw_span(m, ptr, 8);
  if (!p)
    return KW_EFAULT;
  kw_put_u64(p, v);
  return 0;
}

/* Checks that the iovec array and every buffer it names are inside guest
** memory, before any I/O happens. Returns 0 or KW_EFAULT. */
int kw_iovs_check(const kw_mem *m, uint32_t ptr, uint32_t n) {
  const uint8_t *v = kw_span(m, ptr, (uint64_t)n * KW_IOVEC_SIZE);
  if (!v)
    return KW_EFAULT;
  for (uint32_t i = 0; i < n; i++, v += KW_IOVEC_SIZE)
    if (!kw_span(m, kw_get_u32(v), kw_get_u32(v + 4)))
      return KW_EFAULT;
  return 0;
}

/* Translates up to max non-empty guest iovecs, from the cursor on, into
** host iovecs holding at most cap bytes in all. Returns how many it filled
** (0 when nothing is left). The cursor does not move. */
int kw_iovs_fill(kw_iovs *c, struct iovec *out, int max, uint64_t cap) {
  int k = 0;
  uint32_t skip = c->skip;
  for (uint32_t i = c->i; i < c->n && k < max && cap > 0; i++, skip = 0) {
    const uint8_t *v = c->m->base + c->ptr + (uint64_t)i * KW_IOVEC_SIZE;
    uint32_t buf = kw_get_u32(v), len = kw_get_u32(v + 4) - skip;
    if (len == 0)
      continue;
    if (len > cap)
      len = (uint32_t)cap;
    out[k].iov_base = c->m->base + buf + skip;
    out[k].iov_len = len;
    cap -= len;
    k++;
  }
  return k;
}

/* Moves the cursor forward by n bytes of buffer space. */
void kw_iovs_advance(kw_iovs *c, uint64_t n) {
  while (c->i < c->n) {
    const uint8_t *v = c->m->base + c->ptr + (uint64_t)c->i * KW_IOVEC_SIZE;
    uint32_t left = kw_get_u32(v + 4) - c->skip;
    if (n < left) {
      c->skip += (uint32_t)n;
      return;
    }
    n -= left;
    c->i++;
    c->skip = 0;
  }
}
