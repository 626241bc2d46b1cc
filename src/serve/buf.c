/*
** buf.c -- the growable byte buffer of src/serve/ (connection I/O, responses, metrics text).
** Owns: growth, appending and formatted appending with a sticky out-of-memory flag.
** Does not own: what the bytes mean.
*/
#include "serve/serve_internal.h"
#include <stdarg.h>

/* Makes room for `extra` more bytes (plus a NUL); false (and b->oom) on
** failure. Growth doubles, so appends are amortised O(1). */
bool ks_buf_reserve(ks_buf *b, size_t extra) {
  if (b->oom) return false;
  if (b->cap - b->len > extra) return true;
  size_t n = b->cap ? b->cap : 256;
  while (n - b->len <= extra) n *= 2;
  char *p = ku_realloc(b->p, n);
  if (!p) { b->oom = true; return false; }
  b->p = p;
  b->cap = n;
  return true;
}

void ks_buf_add(ks_buf *b, const void *p, size_t n) {
  if (!ks_buf_reserve(b, n)) return;
  if (n) memcpy(b->p + b->len, p, n);
  b->len += n;
  b->p[b->len] = 0;
}

void ks_buf_str(ks_buf *b, const char *s) { ks_buf_add(b, s, strlen(s)); }

/* printf onto the end; measures first so any length fits. */
void ks_buf_printf(ks_buf *b, const char *fmt, ...) {
  va_list ap, ap2;
  va_start(ap, fmt);
  va_copy(ap2, ap);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n >= 0 && ks_buf_reserve(b, (size_t)n)) {
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap2);
    b->len += (size_t)n;
  }
  va_end(ap2);
}

/* Drops the first n bytes, keeping the rest at the front. */
void ks_buf_consume(ks_buf *b, size_t n) {
  assert(n <= b->len);
  memmove(b->p, b->p + n, b->len - n);
  b->len -= n;
}

void ks_buf_free(ks_buf *b) {
  ku_free(b->p);
  memset(b, 0, sizeof *b);
}
