/*
** util.h -- small shared helpers: allocation with fault injection, arenas,
** growable arrays and error formatting. Owns no Wasm knowledge.
*/
#ifndef KU_UTIL_H
#define KU_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <string.h>
#include <assert.h>

#define KU_UNUSED(x) ((void)(x))
#define KU_LIKELY(x) __builtin_expect(!!(x), 1)
#define KU_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define KU_COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* Heap allocation. All krait allocations go through these so tests can make
** the Nth allocation fail (ku_fail_alloc_after). NULL on failure. */
void *ku_malloc(size_t n);
void *ku_calloc(size_t n, size_t size);
void *ku_realloc(void *p, size_t n);
void ku_free(void *p);
char *ku_strdup(const char *s);
char *ku_strndup(const char *s, size_t n);   /* at most n bytes, NUL added */
/* A printf into a new ku_malloc'ed string. */
char *ku_sprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* realpath(path) in a new ku_malloc'ed string (errno set on failure). */
char *ku_realpath(const char *path);

/* Fault injection: after n more successful allocations, fail every one
** (n < 0 disables). Used by tests, SQLite style. */
void ku_fail_alloc_after(long n);

/* An arena frees everything it handed out at once. */
typedef struct ku_arena {
  struct ku_chunk *head;
  size_t used, cap;
} ku_arena;

void *ku_arena_alloc(ku_arena *a, size_t n);   /* zeroed, 16-aligned */
char *ku_arena_strndup(ku_arena *a, const char *s, size_t n);
void ku_arena_free(ku_arena *a);

/* A growable array of fixed-size items. */
typedef struct ku_vec {
  void *data;
  size_t len, cap, item;
} ku_vec;

void ku_vec_init(ku_vec *v, size_t item);
void *ku_vec_push(ku_vec *v);  /* zeroed new slot, NULL on OOM */
bool ku_vec_reserve(ku_vec *v, size_t total);
void ku_vec_free(ku_vec *v);

/* Whether [s, s+n) is valid UTF-8 (no overlongs, surrogates or code points
** above U+10FFFF). */
bool ku_utf8_valid(const uint8_t *s, size_t n);

/* The length of the longest prefix of [s, s+n) of at most max bytes that
** does not end inside a UTF-8 sequence: "%.*s" with it never cuts a
** character (a message's quoted name, model or path). */
int ku_utf8_cut(const char *s, size_t n, size_t max);

/* What a JSON text holds (jshape.c): its values (objects, arrays, strings
** with keys, numbers, literals), its objects and arrays, its deepest
** nesting. */
typedef struct ku_json_shape {
  size_t values, containers, depth;
} ku_json_shape;
/* Counts the shape of [s, s+n) into *out without parsing it; -1 as soon as
** a count passes its max (out then holds the counts so far), else 0.
** Malformed text is counted as far as it goes: the parser names its fault. */
int ku_json_shape_of(const uint8_t *s, size_t n, const ku_json_shape *max, ku_json_shape *out);

/* Copies [s, s+n) with each %XX decoded into out (room for n + 1 bytes;
** NUL-terminated); its length, or SIZE_MAX at a '%' not followed by two
** hex digits. */
size_t ku_unescape(const char *s, size_t n, char *out);

/* Bounded snprintf into a fixed buffer that never overflows; a text that
** does not fit is cut at a character boundary and ends in "..." (every
** krait_error message is written through these). */
void ku_fmt(char *buf, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void ku_vfmt(char *buf, size_t cap, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

#endif
