/*
** alloc.c -- heap wrappers with fault injection, arenas and growable arrays.
** Everything in krait allocates through here; nothing here knows Wasm.
*/
#include "util/util.h"
#include <stdlib.h>
#include <stdio.h>
#include <stdarg.h>
#include <errno.h>
#include <limits.h>

static long fail_after = -1;

/* Decides whether this allocation should fail under fault injection; a
** failure sets errno to ENOMEM, as malloc's does. */
static bool inject_failure(void) {
  if (fail_after < 0) return false;
  if (fail_after == 0) return errno = ENOMEM, true;
  fail_after--;
  return false;
}

void ku_fail_alloc_after(long n) { fail_after = n; }

void *ku_malloc(size_t n) {
  if (inject_failure()) return NULL;
  return malloc(n ? n : 1);
}

void *ku_calloc(size_t n, size_t size) {
  if (inject_failure()) return NULL;
  return calloc(n ? n : 1, size ? size : 1);
}

void *ku_realloc(void *p, size_t n) {
  if (inject_failure()) return NULL;
  return realloc(p, n ? n : 1);
}

void ku_free(void *p) { free(p); }

char *ku_strdup(const char *s) {
  size_t n = strlen(s) + 1;
  char *d = ku_malloc(n);
  if (d) memcpy(d, s, n);
  return d;
}

char *ku_strndup(const char *s, size_t n) {
  size_t len = strnlen(s, n);
  char *d = ku_malloc(len + 1);
  if (d) { memcpy(d, s, len); d[len] = 0; }
  return d;
}

char *ku_sprintf(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  char *s = n < 0 ? NULL : ku_malloc((size_t)n + 1);
  if (!s) return NULL;
  va_start(ap, fmt);
  vsnprintf(s, (size_t)n + 1, fmt, ap);
  va_end(ap);
  return s;
}

/* Resolves path into a stack buffer, then copies it: realpath(p, NULL)
** would allocate behind the fault injection's back. */
char *ku_realpath(const char *path) {
  char buf[PATH_MAX];
  if (!realpath(path, buf)) return NULL;
  char *s = ku_strdup(buf);
  if (!s) errno = ENOMEM;
  return s;
}

struct ku_chunk {
  struct ku_chunk *next;
  size_t cap;
  _Alignas(16) unsigned char data[];
};

/* Allocates n zeroed bytes from the arena, starting a new chunk (at least
** 16 KiB, or n) when the current one is full. */
void *ku_arena_alloc(ku_arena *a, size_t n) {
  n = (n + 15) & ~(size_t)15;
  if (!a->head || a->used + n > a->cap) {
    size_t cap = n > 16384 ? n : 16384;
    struct ku_chunk *c = ku_malloc(sizeof *c + cap);
    if (!c) return NULL;
    c->next = a->head;
    c->cap = cap;
    a->head = c;
    a->used = 0;
    a->cap = cap;
  }
  void *p = a->head->data + a->used;
  a->used += n;
  memset(p, 0, n);
  return p;
}

char *ku_arena_strndup(ku_arena *a, const char *s, size_t n) {
  char *d = ku_arena_alloc(a, n + 1);
  if (d) { memcpy(d, s, n); d[n] = 0; }
  return d;
}

/* Frees every chunk of an arena. */
void ku_arena_free(ku_arena *a) {
  struct ku_chunk *c = a->head;
  while (c) {
    struct ku_chunk *next = c->next;
    ku_free(c);
    c = next;
  }
  a->head = NULL;
  a->used = a->cap = 0;
}

void ku_vec_init(ku_vec *v, size_t item) {
  v->data = NULL;
  v->len = v->cap = 0;
  v->item = item;
}

/* Ensures room for total items, doubling the capacity. */
bool ku_vec_reserve(ku_vec *v, size_t total) {
  if (total <= v->cap) return true;
  size_t cap = v->cap ? v->cap : 8;
  while (cap < total) cap *= 2;
  void *d = ku_realloc(v->data, cap * v->item);
  if (!d) return false;
  v->data = d;
  v->cap = cap;
  return true;
}

void *ku_vec_push(ku_vec *v) {
  if (!ku_vec_reserve(v, v->len + 1)) return NULL;
  void *p = (char *)v->data + v->len * v->item;
  memset(p, 0, v->item);
  v->len++;
  return p;
}

void ku_vec_free(ku_vec *v) {
  ku_free(v->data);
  v->data = NULL;
  v->len = v->cap = 0;
}

/* vsnprintf into buf, marking a cut: when the text does not fit, it ends
** in "..." placed at a UTF-8 character boundary (the bytes it replaces
** are stepped back over continuation bytes, so no character is split). */
void ku_vfmt(char *buf, size_t cap, const char *fmt, va_list ap) {
  if (cap == 0) return;
  int n = vsnprintf(buf, cap, fmt, ap);
  if (n < 0) { buf[0] = 0; return; }
  if ((size_t)n < cap || cap < 4) return;
  size_t at = cap - 4;
  while (at > 0 && ((unsigned char)buf[at] & 0xC0) == 0x80) at--;
  memcpy(buf + at, "...", 4);
}

void ku_fmt(char *buf, size_t cap, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  ku_vfmt(buf, cap, fmt, ap);
  va_end(ap);
}
