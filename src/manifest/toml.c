/*
** toml.c -- the strict TOML 1.0 parser behind toml.h: bounded reading,
** strings, numbers, dates, the table rules, and the lookup functions.
** Does not own the manifest's meaning (keys, defaults) or file I/O.
*/
#include "manifest/toml.h"
#include "util/cursor.h"
#include "util/util.h"

#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

/* ---- the tree ----------------------------------------------------------- */

/* How a table came to exist; decides what may extend it later. */
enum {
  T_ROOT,      /* the document's root */
  T_IMPLICIT,  /* a middle part of a [a.b.c] header, not defined itself */
  T_HEADER,    /* defined by [header] or one element of [[header]] */
  T_DOTTED,    /* created by dotted keys (a.b = 1) in one section */
  T_INLINE     /* { inline table }: closed once written */
};

/* How an array came to exist. */
enum { A_STATIC, A_TABLES };

typedef struct km_entry {
  const char *key;          /* NUL-terminated copy, may contain NUL */
  size_t keylen;
  km_toml_value *val;
  uint32_t line;            /* where the key was written */
} km_entry;

struct km_toml_value {
  uint8_t type;             /* km_toml_type */
  uint8_t origin;           /* T_* for tables, A_* for arrays, dtkind */
  uint16_t depth;           /* nesting depth, root 0 */
  uint32_t line;
  uint32_t section;         /* T_DOTTED: the section that created it */
  union {
    struct { char *s; size_t len; } str;   /* STRING, DATETIME */
    int64_t i;
    double f;
    bool b;
    struct { km_entry *items; size_t len, cap; km_toml_doc *doc; } tab;
    struct { km_toml_value **items; size_t len, cap; } arr;
  } u;
};

/* One slot of the document-wide key index: (table, entry number). */
typedef struct km_slot {
  const km_toml_value *tab;  /* NULL: empty */
  size_t idx;
  uint64_t hash;
} km_slot;

struct km_toml_doc {
  ku_arena arena;            /* every value, key and string */
  km_slot *slots;            /* open addressing, power-of-two size */
  size_t nslots, used;
  km_toml_value *root;
};

/* ---- the parser and its bounded cursor --------------------------------- */

enum { MAX_KEY_PARTS = KM_TOML_MAX_DEPTH, MAX_NUMBER = 512 };

typedef struct km_key {
  const char *s;             /* decoded, arena copy */
  size_t len;
  const uint8_t *at;         /* where it was written */
} km_key;

typedef struct km_parser {
  ku_cursor c;               /* the input: [c.p, c.end) left, c.base its start */
  const uint8_t *line_start;
  uint32_t line;
  const char *name;
  km_toml_error *err;
  ku_fail fail;              /* the catch point (and the cursor's) */
  km_toml_doc *doc;
  km_toml_value *cur;        /* table receiving key/values */
  uint32_t section;          /* section id of cur */
  uint32_t sections;         /* ids handed out so far */
  char *scratch;             /* string decoding buffer */
  size_t slen, scap;
} km_parser;

/* Finds the line and column (1-based, in characters) of position at:
** from the current line when at lies on it, else by counting from the
** start (only when reporting an error). */
static void position(const km_parser *P, const uint8_t *at, uint32_t *line,
                     uint32_t *col) {
  const uint8_t *ls = P->line_start;
  uint32_t ln = P->line;
  if (at < ls) {
    ln = 1;
    ls = P->c.base;
    for (const uint8_t *q = P->c.base; q < at; q++)
      if (*q == '\n') { ln++; ls = q + 1; }
  }
  uint32_t c = 1;
  for (const uint8_t *q = ls; q < at; q++)
    if ((*q & 0xC0) != 0x80) c++;
  *line = ln;
  *col = c;
}

static _Noreturn void fail_at(km_parser *P, const uint8_t *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Reports "name:line:col: message" for position at and leaves the parse
** through its catch point. */
static _Noreturn void fail_at(km_parser *P, const uint8_t *at, const char *fmt, ...) {
  char what[300];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  assert(at >= P->c.base && at <= P->c.end);
  position(P, at, &P->err->line, &P->err->col);
  ku_fmt(P->err->message, sizeof P->err->message, "%s:%u:%u: %s", P->name,
         (unsigned)P->err->line, (unsigned)P->err->col, what);
  longjmp(P->fail.jb, 1);
}

/* Leaves the parse with an out-of-memory error at the cursor. */
static _Noreturn void fail_oom(km_parser *P) {
  P->err->out_of_memory = true;
  fail_at(P, P->c.p, "out of memory");
}

/* The next byte, or -1 at the end. */
static int peek(const km_parser *P) { return P->c.p < P->c.end ? *P->c.p : -1; }

/* The byte k places ahead, or -1 past the end. */
static int peek_at(const km_parser *P, size_t k) {
  return (size_t)(P->c.end - P->c.p) > k ? P->c.p[k] : -1;
}

/* Consumes n bytes that peek has shown to exist (through the cursor, so
** a parser bug fails the parse instead of reading past the input). */
static void skip(km_parser *P, size_t n) { ku_bytes(&P->c, n); }

/* Consumes byte c if it is next. */
static bool accept(km_parser *P, int c) {
  if (peek(P) != c) return false;
  ku_u8(&P->c);
  return true;
}

/* Whether the input continues with the string s (not consumed). */
static bool looking_at(const km_parser *P, const char *s) {
  size_t n = strlen(s);
  return (size_t)(P->c.end - P->c.p) >= n && memcmp(P->c.p, s, n) == 0;
}

/* Consumes a newline (LF or CRLF) if one is next, counting the line. A CR
** without LF is an error. */
static bool eat_newline(km_parser *P) {
  int c = peek(P);
  if (c == '\r') {
    if (peek_at(P, 1) != '\n')
      fail_at(P, P->c.p, "carriage return not followed by a newline");
    skip(P, 1);
    c = '\n';
  }
  if (c != '\n') return false;
  skip(P, 1);
  P->line++;
  P->line_start = P->c.p;
  return true;
}

/* A printable description of byte c for messages. */
static const char *describe(int c, char buf[16]) {
  if (c < 0) return "end of input";
  if (c == '\n' || c == '\r') return "end of line";
  if (c >= 0x20 && c < 0x7f) ku_fmt(buf, 16, "'%c'", c);
  else ku_fmt(buf, 16, "byte 0x%02X", (unsigned)c);
  return buf;
}

/* Rejects a control character (all but tab) at the cursor. */
static void check_control(km_parser *P, int c, const char *where) {
  if ((c < 0x20 && c != '\t') || c == 0x7f)
    fail_at(P, P->c.p, "control character U+%04X is not allowed in %s",
            (unsigned)c, where);
}

/* Skips spaces and tabs. */
static void skip_ws(km_parser *P) {
  while (P->c.p < P->c.end && (*P->c.p == ' ' || *P->c.p == '\t')) P->c.p++;
}

/* Skips a comment if one starts here (up to, not including, the newline). */
static void skip_comment(km_parser *P) {
  if (!accept(P, '#')) return;
  for (int c; (c = peek(P)) >= 0 && c != '\n'; skip(P, 1)) {
    if (c == '\r' && peek_at(P, 1) == '\n') break;
    check_control(P, c, "a comment");
  }
}

/* Skips whitespace, comments and newlines (inside arrays). */
static void skip_ws_nl(km_parser *P) {
  for (;;) {
    skip_ws(P);
    skip_comment(P);
    if (!eat_newline(P)) return;
  }
}

/* Requires the end of a line: whitespace, an optional comment, then a
** newline or the end of input. */
static void expect_eol(km_parser *P, const char *after) {
  char b[16];
  skip_ws(P);
  skip_comment(P);
  if (P->c.p >= P->c.end || eat_newline(P)) return;
  fail_at(P, P->c.p, "expected end of line after %s, found %s", after,
          describe(peek(P), b));
}

/* ---- allocation --------------------------------------------------------- */

/* n zeroed bytes from the document's arena, or an out-of-memory failure. */
static void *alloc(km_parser *P, size_t n) {
  void *m = ku_arena_alloc(&P->doc->arena, n);
  if (!m) fail_oom(P);
  return m;
}

/* Rejects nesting deeper than KM_TOML_MAX_DEPTH, pointing at at. */
static void check_depth(km_parser *P, int depth, const uint8_t *at) {
  if (depth > KM_TOML_MAX_DEPTH)
    fail_at(P, at, "nesting too deep (more than %d levels)", KM_TOML_MAX_DEPTH);
}

/* A fresh value of type t on the current line. */
static km_toml_value *new_value(km_parser *P, km_toml_type t, int depth) {
  check_depth(P, depth, P->c.p);
  km_toml_value *v = alloc(P, sizeof *v);
  v->type = (uint8_t)t;
  v->depth = (uint16_t)depth;
  v->line = P->line;
  if (t == KM_TOML_TABLE) v->u.tab.doc = P->doc;
  return v;
}

/* A new table with the given origin and section. */
static km_toml_value *new_table(km_parser *P, int depth, int origin,
                                uint32_t section) {
  km_toml_value *t = new_value(P, KM_TOML_TABLE, depth);
  t->origin = (uint8_t)origin;
  t->section = section;
  return t;
}

/* Grows an arena array of *cap items of size item to hold one more; the
** old block stays in the arena (at most doubling the space used). */
static void *grow(km_parser *P, void *items, size_t len, size_t *cap,
                  size_t item) {
  if (len < *cap) return items;
  size_t ncap = *cap ? *cap * 2 : 4;
  if (ncap > SIZE_MAX / 2 / item) fail_oom(P);
  void *n = alloc(P, ncap * item);
  if (len) memcpy(n, items, len * item);
  *cap = ncap;
  return n;
}

/* Appends byte c to the scratch buffer. */
static void scratch_put(km_parser *P, uint8_t c) {
  if (P->slen == P->scap) {
    size_t ncap = P->scap ? P->scap * 2 : 256;
    char *n = ku_realloc(P->scratch, ncap);
    if (!n) fail_oom(P);
    P->scratch = n;
    P->scap = ncap;
  }
  P->scratch[P->slen++] = (char)c;
}

/* ---- the key index ------------------------------------------------------ */

/* FNV-1a over the key, mixed with the table's address. */
static uint64_t key_hash(const km_toml_value *t, const char *k, size_t n) {
  uint64_t h = 0xcbf29ce484222325ull ^ ((uint64_t)(uintptr_t)t * 0x9E3779B97F4A7C15ull);
  for (size_t i = 0; i < n; i++) h = (h ^ (uint8_t)k[i]) * 0x100000001b3ull;
  return h ^ (h >> 29);
}

/* The slot holding key k of table t, or the empty slot where it would go. */
static km_slot *index_slot(const km_toml_doc *d, const km_toml_value *t,
                           const char *k, size_t n, uint64_t h) {
  assert(d->nslots && (d->nslots & (d->nslots - 1)) == 0);
  size_t mask = d->nslots - 1;
  for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
    km_slot *s = &d->slots[i];
    if (!s->tab) return s;
    if (s->tab != t || s->hash != h) continue;
    const km_entry *e = &t->u.tab.items[s->idx];
    if (e->keylen == n && memcmp(e->key, k, n) == 0) return s;
  }
}

/* Doubles the index (keeping it at most half full); false on OOM. */
static bool index_grow(km_toml_doc *d) {
  size_t n = d->nslots ? d->nslots * 2 : 64;
  km_slot *old = d->slots, *s = ku_calloc(n, sizeof *s);
  if (!s) return false;
  size_t oldn = d->nslots;
  d->slots = s;
  d->nslots = n;
  for (size_t i = 0; i < oldn; i++) {
    if (!old[i].tab) continue;
    size_t j = (size_t)old[i].hash & (n - 1);
    while (s[j].tab) j = (j + 1) & (n - 1);
    s[j] = old[i];
  }
  ku_free(old);
  return true;
}

/* Finds key k in table t; NULL if absent. Sets *entry when found. */
static km_toml_value *find(const km_toml_value *t, const char *k, size_t n,
                           const km_entry **entry) {
  assert(t->type == KM_TOML_TABLE);
  const km_toml_doc *d = t->u.tab.doc;
  if (!d->nslots) return NULL;
  km_slot *s = index_slot(d, t, k, n, key_hash(t, k, n));
  if (!s->tab) return NULL;
  if (entry) *entry = &t->u.tab.items[s->idx];
  return t->u.tab.items[s->idx].val;
}

/* Adds key (already copied into the arena) with value v to table t; the
** caller has checked that the key is new. */
static void add(km_parser *P, km_toml_value *t, const km_key *key,
                km_toml_value *v) {
  km_toml_doc *d = P->doc;
  if ((d->used + 1) * 2 > d->nslots && !index_grow(d)) fail_oom(P);
  t->u.tab.items = grow(P, t->u.tab.items, t->u.tab.len, &t->u.tab.cap,
                        sizeof(km_entry));
  uint64_t h = key_hash(t, key->s, key->len);
  km_slot *s = index_slot(d, t, key->s, key->len, h);
  assert(!s->tab);
  km_entry *e = &t->u.tab.items[t->u.tab.len];
  e->key = key->s;
  e->keylen = key->len;
  e->val = v;
  e->line = P->line;
  s->tab = t;
  s->idx = t->u.tab.len++;
  s->hash = h;
  d->used++;
}

/* Appends v to array a. */
static void push(km_parser *P, km_toml_value *a, km_toml_value *v) {
  a->u.arr.items = grow(P, a->u.arr.items, a->u.arr.len, &a->u.arr.cap,
                        sizeof(km_toml_value *));
  a->u.arr.items[a->u.arr.len++] = v;
}

/* ---- strings ------------------------------------------------------------ */

/* Writes code point cp as UTF-8 into the scratch buffer. */
static void put_utf8(km_parser *P, uint32_t cp) {
  if (cp < 0x80) { scratch_put(P, (uint8_t)cp); return; }
  if (cp < 0x800) {
    scratch_put(P, (uint8_t)(0xC0 | cp >> 6));
  } else if (cp < 0x10000) {
    scratch_put(P, (uint8_t)(0xE0 | cp >> 12));
    scratch_put(P, (uint8_t)(0x80 | ((cp >> 6) & 0x3F)));
  } else {
    scratch_put(P, (uint8_t)(0xF0 | cp >> 18));
    scratch_put(P, (uint8_t)(0x80 | ((cp >> 12) & 0x3F)));
    scratch_put(P, (uint8_t)(0x80 | ((cp >> 6) & 0x3F)));
  }
  scratch_put(P, (uint8_t)(0x80 | (cp & 0x3F)));
}

/* Reads the n hex digits of a \u or \U escape into a Unicode scalar. */
static void unicode_escape(km_parser *P, const uint8_t *at, int n) {
  uint32_t cp = 0;
  for (int i = 0; i < n; i++) {
    int c = peek(P), d;
    if (c >= '0' && c <= '9') d = c - '0';
    else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
    else fail_at(P, at, "\\%c escape needs %d hex digits", n == 4 ? 'u' : 'U', n);
    cp = cp << 4 | (uint32_t)d;
    skip(P, 1);
  }
  if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
    fail_at(P, at, "escape \\%c%0*X is not a Unicode scalar value",
            n == 4 ? 'u' : 'U', n, (unsigned)cp);
  put_utf8(P, cp);
}

/* Skips the rest of a line-ending backslash in a multi-line basic string:
** spaces up to a newline, then all whitespace and newlines. */
static void line_ending_backslash(km_parser *P, const uint8_t *at) {
  skip_ws(P);
  if (!eat_newline(P))
    fail_at(P, at, "a backslash followed by spaces must end the line");
  for (;;) {
    skip_ws(P);
    if (!eat_newline(P)) return;
  }
}

/* Decodes one escape sequence (the cursor is after the backslash). */
static void escape(km_parser *P, bool multiline) {
  const uint8_t *at = P->c.p - 1;
  char b[16];
  int c = peek(P);
  static const char from[] = "btnfr\"\\", to[] = "\b\t\n\f\r\"\\";
  const char *hit = c > 0 ? strchr(from, c) : NULL;
  if (hit) { skip(P, 1); scratch_put(P, (uint8_t)to[hit - from]); return; }
  if (c == 'u' || c == 'U') {
    skip(P, 1);
    unicode_escape(P, at, c == 'u' ? 4 : 8);
    return;
  }
  if (multiline && (c == ' ' || c == '\t' || c == '\n' || c == '\r')) {
    line_ending_backslash(P, at);
    return;
  }
  if (c >= 0x20 && c < 0x7f)
    fail_at(P, at, "invalid escape sequence \"\\%c\" in string", c);
  fail_at(P, at, "invalid escape: backslash followed by %s", describe(c, b));
}

/* Handles a run of quote bytes q inside a multi-line string: fewer than 3
** are content; 3 to 5 close the string (the extra 1-2 are content).
** Returns true at the end of the string. */
static bool quote_run(km_parser *P, int q) {
  size_t n = 0;
  const uint8_t *at = P->c.p;
  while (peek(P) == q) { skip(P, 1); n++; }
  if (n > 5)
    fail_at(P, at, "too many quotes in a row in a multi-line string");
  for (size_t i = 0; i < (n >= 3 ? n - 3 : n); i++) scratch_put(P, (uint8_t)q);
  return n >= 3;
}

/* Reads the body of a string whose opening quote(s) q have been consumed;
** the decoded bytes are in the scratch buffer. */
static void string_body(km_parser *P, int q, bool multiline, const uint8_t *open) {
  const char *what = multiline ? "a multi-line string" : "a string";
  P->slen = 0;
  if (multiline) eat_newline(P);  /* a newline right after """ is trimmed */
  for (;;) {
    int c = peek(P);
    if (c < 0) fail_at(P, open, "unterminated string (end of input)");
    if (c == q) {
      if (!multiline) { skip(P, 1); return; }
      if (quote_run(P, q)) return;
    } else if (c == '\\' && q == '"') {
      skip(P, 1);
      escape(P, multiline);
    } else if (c == '\n' || c == '\r') {
      if (!multiline) fail_at(P, P->c.p, "newline in a single-line string");
      eat_newline(P);
      scratch_put(P, '\n');
    } else {
      check_control(P, c, what);
      scratch_put(P, (uint8_t)c);
      skip(P, 1);
    }
  }
}

/* Reads a string of any of the four kinds at the cursor into the scratch
** buffer. allow_multi is false for keys. */
static void read_string(km_parser *P, bool allow_multi) {
  const uint8_t *open = P->c.p;
  int q = peek(P);
  assert(q == '"' || q == '\'');
  bool multi = looking_at(P, q == '"' ? "\"\"\"" : "'''");
  if (multi && !allow_multi)
    fail_at(P, open, "multi-line strings cannot be keys");
  skip(P, multi ? 3 : 1);
  string_body(P, q, multi, open);
}

/* Copies the scratch buffer into the arena (NUL-terminated). */
static char *scratch_copy(km_parser *P) {
  char *s = alloc(P, P->slen + 1);
  if (P->slen) memcpy(s, P->scratch, P->slen);
  return s;
}

/* ---- keys --------------------------------------------------------------- */

/* Whether c may appear in a bare key. */
static bool bare_char(int c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || c == '_' || c == '-';
}

/* Reads one key part (bare, "basic" or 'literal'). */
static void key_part(km_parser *P, km_key *k) {
  char b[16];
  int c = peek(P);
  k->at = P->c.p;
  if (c == '"' || c == '\'') {
    read_string(P, false);
    k->s = scratch_copy(P);
    k->len = P->slen;
    return;
  }
  if (!bare_char(c))
    fail_at(P, P->c.p, "expected a key, found %s%s", describe(c, b),
            c >= 0x80 ? " (non-ASCII keys must be quoted)" : "");
  while (bare_char(peek(P))) skip(P, 1);
  k->len = (size_t)(P->c.p - k->at);
  char *s = alloc(P, k->len + 1);
  memcpy(s, k->at, k->len);
  k->s = s;
}

/* Reads a dotted key into keys[], returning the number of parts. */
static int read_key(km_parser *P, km_key keys[MAX_KEY_PARTS]) {
  int n = 0;
  for (;;) {
    if (n == MAX_KEY_PARTS)
      fail_at(P, P->c.p, "key has more than %d parts", MAX_KEY_PARTS);
    key_part(P, &keys[n++]);
    skip_ws(P);
    if (!accept(P, '.')) return n;
    skip_ws(P);
  }
}

/* Formats key part k for a message: quoted, escaped and shortened. */
static const char *show_key(const km_key *k, char *buf, size_t cap) {
  size_t o = 0;
  assert(cap >= 16);
  buf[o++] = '"';
  for (size_t i = 0; i < k->len; i++) {
    uint8_t c = (uint8_t)k->s[i];
    if (o + 10 > cap) {  /* room for an escape, "...", quote and NUL */
      if ((c & 0xC0) == 0x80) {  /* drop the partial character */
        while (o > 1 && ((uint8_t)buf[o - 1] & 0xC0) == 0x80) o--;
        if (o > 1) o--;
      }
      memcpy(buf + o, "...", 3);
      o += 3;
      break;
    }
    if (c < 0x20 || c == 0x7f || c == '"' || c == '\\')
      o += (size_t)snprintf(buf + o, cap - o, "\\x%02X", c);
    else buf[o++] = (char)c;
  }
  buf[o++] = '"';
  buf[o] = 0;
  return buf;
}

/* ---- values ------------------------------------------------------------- */

static km_toml_value *parse_value(km_parser *P, int depth);
static void keyval(km_parser *P, km_toml_value *t, uint32_t section);

/* Whether c may appear in a number, boolean or date token. */
static bool token_char(int c) {
  return bare_char(c) || c == '.' || c == '+' || c == ':';
}

/* Whether s[i..] begins with n decimal digits. */
static bool digits(const char *s, size_t len, size_t i, size_t n) {
  if (i + n > len) return false;
  for (size_t k = i; k < i + n; k++)
    if (s[k] < '0' || s[k] > '9') return false;
  return true;
}

/* The value of the n-digit decimal number at s[i] (digits checked). */
static int num_at(const char *s, size_t i, size_t n) {
  int v = 0;
  for (size_t k = i; k < i + n; k++) v = v * 10 + (s[k] - '0');
  return v;
}

/* Checks YYYY-MM-DD at s[i] (a real calendar day). */
static bool date_ok(const char *s, size_t len, size_t i) {
  if (!digits(s, len, i, 4) || s[i + 4] != '-' || !digits(s, len, i + 5, 2) ||
      s[i + 7] != '-' || !digits(s, len, i + 8, 2))
    return false;
  static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  int y = num_at(s, i, 4), m = num_at(s, i + 5, 2), d = num_at(s, i + 8, 2);
  if (m < 1 || m > 12 || d < 1 || d > mdays[m - 1]) return false;
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return !(m == 2 && d == 29 && !leap);
}

/* Checks HH:MM:SS(.fraction)? at s[*i], advancing *i past it. */
static bool time_ok(const char *s, size_t len, size_t *i) {
  size_t k = *i;
  if (!digits(s, len, k, 2) || k + 2 >= len || s[k + 2] != ':' ||
      !digits(s, len, k + 3, 2) || k + 5 >= len || s[k + 5] != ':' ||
      !digits(s, len, k + 6, 2))
    return false;
  if (num_at(s, k, 2) > 23 || num_at(s, k + 3, 2) > 59 || num_at(s, k + 6, 2) > 60)
    return false;
  k += 8;
  if (k < len && s[k] == '.') {
    if (!digits(s, len, k + 1, 1)) return false;
    for (k++; k < len && s[k] >= '0' && s[k] <= '9'; k++) {}
  }
  *i = k;
  return true;
}

/* Checks an offset (Z or +HH:MM) that must end the token at s[i]. */
static bool offset_ok(const char *s, size_t len, size_t i) {
  if (i + 1 == len && (s[i] == 'Z' || s[i] == 'z')) return true;
  if (i + 6 != len || (s[i] != '+' && s[i] != '-') || !digits(s, len, i + 1, 2) ||
      s[i + 3] != ':' || !digits(s, len, i + 4, 2))
    return false;
  return num_at(s, i + 1, 2) <= 23 && num_at(s, i + 4, 2) <= 59;
}

/* Classifies a date/time token; 0 when it is not valid. */
static int datetime_kind(const char *s, size_t len) {
  size_t i = 0;
  if (len >= 3 && s[2] == ':')
    return time_ok(s, len, &i) && i == len ? KM_TOML_LOCAL_TIME : 0;
  if (len < 10 || !date_ok(s, len, 0)) return 0;
  if (len == 10) return KM_TOML_LOCAL_DATE;
  if (s[10] != 'T' && s[10] != 't' && s[10] != ' ') return 0;
  i = 11;
  if (!time_ok(s, len, &i)) return 0;
  if (i == len) return KM_TOML_LOCAL_DATETIME;
  return offset_ok(s, len, i) ? KM_TOML_OFFSET_DATETIME : 0;
}

/* Scans [digits with single underscores between them] in the given base
** at s[*i]; false if there are none or an underscore is misplaced. */
static bool digit_run(const char *s, size_t len, size_t *i, int base) {
  size_t k = *i, n = 0;
  bool need_digit = true;  /* at the start or after an underscore */
  for (; k < len; k++) {
    int c = s[k], d = -1;
    if (c == '_') {
      if (need_digit) return false;
      need_digit = true;
      continue;
    }
    if (c >= '0' && c <= '9') d = c - '0';
    else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
    if (d < 0 || d >= base) break;
    n++;
    need_digit = false;
  }
  if (!n || need_digit) return false;
  *i = k;
  return true;
}

/* Converts digits (underscores skipped) in base to int64; false on
** overflow. neg allows one more (INT64_MIN). */
static bool to_int(const char *s, size_t len, int base, bool neg, int64_t *out) {
  uint64_t v = 0, lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
  for (size_t k = 0; k < len; k++) {
    int c = s[k];
    if (c == '_') continue;
    uint64_t d = (uint64_t)(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
    if (v > (lim - d) / (uint64_t)base) return false;
    v = v * (uint64_t)base + d;
  }
  *out = neg ? (int64_t)(0 - v) : (int64_t)v;
  return true;
}

/* Parses a 0x / 0o / 0b integer token; i is the index of the '0'. */
static void radix_number(km_parser *P, km_toml_value *v, const char *s,
                         size_t len, size_t i, const uint8_t *at) {
  int base = s[i + 1] == 'x' ? 16 : s[i + 1] == 'o' ? 8 : 2;
  size_t k = i + 2;
  if (i) fail_at(P, at, "a sign is not allowed on hex, octal or binary integers");
  if (!digit_run(s, len, &k, base) || k != len)
    fail_at(P, at, "invalid base-%d integer \"%.*s\"", base, (int)len, s);
  if (!to_int(s + 2, len - 2, base, false, &v->u.i))
    fail_at(P, at, "integer \"%.*s\" does not fit in 64 bits", (int)len, s);
  v->type = KM_TOML_INT;
}

/* Converts a float token that matched the grammar (underscores dropped;
** at most MAX_NUMBER characters). Overflow to infinity is an error. */
static void to_float(km_parser *P, km_toml_value *v, const char *s, size_t len,
                     const uint8_t *at) {
  char buf[MAX_NUMBER + 1];
  size_t o = 0;
  assert(len <= MAX_NUMBER);
  for (size_t j = 0; j < len; j++)
    if (s[j] != '_') buf[o++] = s[j];
  buf[o] = 0;
  errno = 0;
  v->u.f = strtod(buf, NULL);
  if (errno == ERANGE && isinf(v->u.f))
    fail_at(P, at, "float \"%.*s\" is out of range", (int)len, s);
  v->type = KM_TOML_FLOAT;
}

/* Parses a decimal integer or float token; i skips the sign. Integer part
** without leading zeros, then an optional fraction and exponent. */
static void decimal_number(km_parser *P, km_toml_value *v, const char *s,
                           size_t len, size_t i, const uint8_t *at) {
  size_t k = i;
  if (!digit_run(s, len, &k, 10))
    fail_at(P, at, "invalid value \"%.*s\"", (int)len, s);
  if (s[i] == '0' && k - i > 1)
    fail_at(P, at, "leading zeros are not allowed in \"%.*s\"", (int)len, s);
  size_t int_end = k;
  if (k < len && s[k] == '.') {
    k++;
    if (!digit_run(s, len, &k, 10))
      fail_at(P, at, "a decimal point needs digits on both sides in \"%.*s\"", (int)len, s);
  }
  if (k < len && (s[k] == 'e' || s[k] == 'E')) {
    k++;
    if (k < len && (s[k] == '+' || s[k] == '-')) k++;
    if (!digit_run(s, len, &k, 10))
      fail_at(P, at, "invalid exponent in \"%.*s\"", (int)len, s);
  }
  if (k != len) fail_at(P, at, "invalid number \"%.*s\"", (int)len, s);
  if (k != int_end) { to_float(P, v, s, len, at); return; }
  if (!to_int(s + i, len - i, 10, i && s[0] == '-', &v->u.i))
    fail_at(P, at, "integer \"%.*s\" does not fit in 64 bits", (int)len, s);
  v->type = KM_TOML_INT;
}

/* Parses an integer or float token (already known not to be a date). */
static void number(km_parser *P, km_toml_value *v, const char *s, size_t len,
                   const uint8_t *at) {
  size_t i = len && (s[0] == '+' || s[0] == '-') ? 1 : 0;
  bool neg = i && s[0] == '-';
  if (len - i == 3 && (!memcmp(s + i, "inf", 3) || !memcmp(s + i, "nan", 3))) {
    v->type = KM_TOML_FLOAT;
    v->u.f = s[i] == 'i' ? (neg ? -INFINITY : INFINITY) : (neg ? -NAN : NAN);
    return;
  }
  if (len - i > 2 && s[i] == '0' && (s[i + 1] == 'x' || s[i + 1] == 'o' || s[i + 1] == 'b'))
    radix_number(P, v, s, len, i, at);
  else
    decimal_number(P, v, s, len, i, at);
}

/* Reads a bare token value: boolean, number or date/time. */
static void bare_value(km_parser *P, km_toml_value *v) {
  const uint8_t *at = P->c.p;
  char b[16];
  while (token_char(peek(P))) skip(P, 1);
  /* "1979-05-27 07:32:00": a date, a space, then a time. */
  if (P->c.p - at == 10 && peek(P) == ' ' && peek_at(P, 1) >= '0' &&
      peek_at(P, 1) <= '9' && peek_at(P, 2) >= '0' && peek_at(P, 2) <= '9' &&
      peek_at(P, 3) == ':') {
    skip(P, 1);
    while (token_char(peek(P))) skip(P, 1);
  }
  const char *s = (const char *)at;
  size_t len = (size_t)(P->c.p - at);
  if (!len) fail_at(P, at, "expected a value, found %s", describe(peek(P), b));
  if (len > MAX_NUMBER) fail_at(P, at, "value is too long (%zu characters)", len);
  if ((len == 4 && !memcmp(s, "true", 4)) || (len == 5 && !memcmp(s, "false", 5))) {
    v->type = KM_TOML_BOOL;
    v->u.b = len == 4;
    return;
  }
  bool datey = memchr(s, ':', len) || (len >= 5 && digits(s, len, 0, 4) && s[4] == '-');
  if (!datey) { number(P, v, s, len, at); return; }
  int kind = datetime_kind(s, len);
  if (!kind) fail_at(P, at, "invalid date or time \"%.*s\"", (int)len, s);
  v->type = KM_TOML_DATETIME;
  v->origin = (uint8_t)kind;
  char *copy = alloc(P, len + 1);
  memcpy(copy, s, len);
  v->u.str.s = copy;
  v->u.str.len = len;
}

/* Reads an array [a, b, ...] (newlines, comments, trailing comma). */
static km_toml_value *parse_array(km_parser *P, int depth) {
  char b[16];
  km_toml_value *a = new_value(P, KM_TOML_ARRAY, depth);
  a->origin = A_STATIC;
  skip(P, 1);
  for (;;) {
    skip_ws_nl(P);
    if (accept(P, ']')) return a;
    push(P, a, parse_value(P, depth + 1));
    skip_ws_nl(P);
    if (accept(P, ']')) return a;
    if (!accept(P, ','))
      fail_at(P, P->c.p, "expected ',' or ']' in array, found %s", describe(peek(P), b));
  }
}

/* Reads an inline table { k = v, ... }: one line, no trailing comma, and
** closed to any later additions. */
static km_toml_value *parse_inline(km_parser *P, int depth) {
  char b[16];
  km_toml_value *t = new_table(P, depth, T_INLINE, ++P->sections);
  skip(P, 1);
  skip_ws(P);
  if (accept(P, '}')) return t;
  for (;;) {
    keyval(P, t, t->section);
    skip_ws(P);
    if (accept(P, '}')) return t;
    if (!accept(P, ','))
      fail_at(P, P->c.p, "expected ',' or '}' in inline table, found %s%s",
              describe(peek(P), b),
              peek(P) == '\n' || peek(P) == '\r' ? " (inline tables must be on one line)" : "");
    skip_ws(P);
    if (peek(P) == '}')
      fail_at(P, P->c.p, "trailing comma is not allowed in an inline table");
  }
}

/* Reads any value at the cursor; depth is the depth it will have. */
static km_toml_value *parse_value(km_parser *P, int depth) {
  int c = peek(P);
  if (c == '[') return parse_array(P, depth);
  if (c == '{') return parse_inline(P, depth);
  km_toml_value *v = new_value(P, KM_TOML_STRING, depth);
  if (c == '"' || c == '\'') {
    read_string(P, true);
    v->u.str.s = scratch_copy(P);
    v->u.str.len = P->slen;
    return v;
  }
  bare_value(P, v);
  return v;
}

/* ---- tables and the key rules ------------------------------------------ */

/* Fails because key k already names a value of another kind. */
static _Noreturn void clash(km_parser *P, const km_key *k, const km_entry *e,
                            const char *why) {
  char kb[96];
  const char *what = e->val->type == KM_TOML_ARRAY && e->val->origin == A_TABLES
                         ? "array of tables" : km_toml_type_name(e->val->type);
  fail_at(P, k->at, "key %s is already defined as %s %s at line %u; %s",
          show_key(k, kb, sizeof kb), strchr("aeiou", what[0]) ? "an" : "a",
          what, (unsigned)e->line, why);
}

/* Steps from table t into key k for a dotted key/value in section sec,
** creating a dotted table if absent. Header-defined, inline and earlier
** sections' tables cannot be extended this way. */
static km_toml_value *dotted_step(km_parser *P, km_toml_value *t,
                                  const km_key *k, uint32_t sec) {
  char kb[96];
  const km_entry *e = NULL;
  km_toml_value *v = find(t, k->s, k->len, &e);
  if (!v) {
    check_depth(P, t->depth + 1, k->at);
    v = new_table(P, t->depth + 1, T_DOTTED, sec);
    add(P, t, k, v);
    return v;
  }
  if (v->type != KM_TOML_TABLE)
    clash(P, k, e, "dotted keys cannot add to it");
  if (v->origin == T_IMPLICIT) {
    v->origin = T_DOTTED;
    v->section = sec;
  }
  if (v->origin == T_DOTTED && v->section == sec) return v;
  fail_at(P, k->at, "table %s was defined %s at line %u and cannot be "
          "extended with dotted keys here", show_key(k, kb, sizeof kb),
          v->origin == T_INLINE ? "inline" : v->origin == T_HEADER
              ? "by a [table] header" : "with dotted keys in another section",
          (unsigned)v->line);
}

/* Reads key = value into table t (section sec). */
static void keyval(km_parser *P, km_toml_value *t, uint32_t sec) {
  km_key keys[MAX_KEY_PARTS];
  char b[16], kb[96];
  int n = read_key(P, keys);
  bool adjacent = P->c.p > P->c.base && bare_char(P->c.p[-1]);
  skip_ws(P);
  if (!accept(P, '=')) {
    int c = peek(P);
    if (adjacent && c > ' ' && c != '=' && c != '#')
      fail_at(P, P->c.p, "invalid character %s in bare key", describe(c, b));
    fail_at(P, P->c.p, "expected '=' after key, found %s", describe(c, b));
  }
  skip_ws(P);
  for (int i = 0; i < n - 1; i++) t = dotted_step(P, t, &keys[i], sec);
  const km_entry *e = NULL;
  if (find(t, keys[n - 1].s, keys[n - 1].len, &e))
    fail_at(P, keys[n - 1].at, "duplicate key %s (first defined at line %u)",
            show_key(&keys[n - 1], kb, sizeof kb), (unsigned)e->line);
  uint32_t line = P->line;
  km_toml_value *v = parse_value(P, t->depth + 1);
  add(P, t, &keys[n - 1], v);
  t->u.tab.items[t->u.tab.len - 1].line = line;
}

/* Steps from table t into key k of a [header] path, creating an implicit
** table if absent; arrays of tables lead to their last element. */
static km_toml_value *header_step(km_parser *P, km_toml_value *t,
                                  const km_key *k) {
  char kb[96];
  const km_entry *e = NULL;
  km_toml_value *v = find(t, k->s, k->len, &e);
  if (!v) {
    check_depth(P, t->depth + 1, k->at);
    v = new_table(P, t->depth + 1, T_IMPLICIT, 0);
    add(P, t, k, v);
    return v;
  }
  if (v->type == KM_TOML_ARRAY && v->origin == A_TABLES) {
    assert(v->u.arr.len > 0);
    return v->u.arr.items[v->u.arr.len - 1];
  }
  if (v->type != KM_TOML_TABLE)
    clash(P, k, e, "a table header cannot extend it");
  if (v->origin == T_INLINE)
    fail_at(P, k->at, "table %s was defined inline at line %u and cannot be "
            "extended", show_key(k, kb, sizeof kb), (unsigned)v->line);
  return v;
}

/* Defines table k of t for a [k] header. */
static km_toml_value *define_table(km_parser *P, km_toml_value *t,
                                   const km_key *k, const char *path) {
  const km_entry *e = NULL;
  km_toml_value *v = find(t, k->s, k->len, &e);
  if (!v) {
    check_depth(P, t->depth + 1, k->at);
    v = new_table(P, t->depth + 1, T_HEADER, 0);
    add(P, t, k, v);
    return v;
  }
  if (v->type != KM_TOML_TABLE) clash(P, k, e, "it cannot become a table");
  if (v->origin == T_IMPLICIT) {
    v->origin = T_HEADER;
    v->line = P->line;
    return v;
  }
  fail_at(P, k->at, "table [%s] is defined twice (first %s at line %u)", path,
          v->origin == T_HEADER ? "as a table" : v->origin == T_INLINE
              ? "as an inline table" : "with dotted keys",
          (unsigned)v->line);
}

/* Appends a new table to array of tables k of t for a [[k]] header. */
static km_toml_value *append_table(km_parser *P, km_toml_value *t,
                                   const km_key *k) {
  const km_entry *e = NULL;
  km_toml_value *a = find(t, k->s, k->len, &e);
  check_depth(P, t->depth + 2, k->at);
  if (!a) {
    a = new_value(P, KM_TOML_ARRAY, t->depth + 1);
    a->origin = A_TABLES;
    add(P, t, k, a);
  } else if (a->type != KM_TOML_ARRAY || a->origin != A_TABLES) {
    clash(P, k, e, "[[...]] cannot append to it");
  }
  km_toml_value *n = new_table(P, a->depth + 1, T_HEADER, 0);
  push(P, a, n);
  return n;
}

/* Formats a key path a.b."c d" for messages. */
static void show_path(const km_key *keys, int n, char *buf, size_t cap) {
  size_t o = 0;
  buf[0] = 0;
  for (int i = 0; i < n && o + 1 < cap; i++) {
    char kb[64];
    bool bare = keys[i].len > 0;
    for (size_t j = 0; j < keys[i].len; j++) bare = bare && bare_char(keys[i].s[j]);
    const char *s = bare ? keys[i].s : show_key(&keys[i], kb, sizeof kb);
    o += (size_t)snprintf(buf + o, cap - o, "%s%.60s", i ? "." : "", s);
  }
}

/* Reads a [table] or [[array of tables]] header line and makes its table
** the current one, in a new section. */
static void header(km_parser *P) {
  km_key keys[MAX_KEY_PARTS];
  char b[16], path[160];
  bool aot = looking_at(P, "[[");
  skip(P, aot ? 2 : 1);
  skip_ws(P);
  int n = read_key(P, keys);
  if (!(aot ? looking_at(P, "]]") : looking_at(P, "]")))
    fail_at(P, P->c.p, "expected '%s' to close the table header, found %s",
            aot ? "]]" : "]", describe(peek(P), b));
  skip(P, aot ? 2 : 1);
  km_toml_value *t = P->doc->root;
  for (int i = 0; i < n - 1; i++) t = header_step(P, t, &keys[i]);
  show_path(keys, n, path, sizeof path);
  P->cur = aot ? append_table(P, t, &keys[n - 1])
               : define_table(P, t, &keys[n - 1], path);
  P->section = ++P->sections;
  expect_eol(P, "table header");
}

/* ---- the document ------------------------------------------------------- */

/* Checks that the input is UTF-8 (no overlongs, surrogates or values past
** U+10FFFF), reporting the first bad byte with its line and column. */
static void check_utf8(km_parser *P) {
  const uint8_t *s = P->c.base, *e = P->c.end;
  while (s < e) {
    uint8_t c = *s;
    size_t n = c < 0x80 ? 1 : c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3
             : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
    bool ok = n && (size_t)(e - s) >= n;
    for (size_t k = 1; ok && k < n; k++) ok = (s[k] & 0xC0) == 0x80;
    if (ok && n == 3) ok = !(c == 0xE0 && s[1] < 0xA0) && !(c == 0xED && s[1] >= 0xA0);
    if (ok && n == 4) ok = !(c == 0xF0 && s[1] < 0x90) && !(c == 0xF4 && s[1] >= 0x90);
    if (!ok) {
      P->c.p = s;
      fail_at(P, s, "invalid UTF-8 (byte 0x%02X)", c);
    }
    if (c == '\n') { P->line++; P->line_start = s + 1; }
    s += n;
  }
  P->line = 1;
  P->line_start = P->c.base;
}

/* Parses the whole document into P->doc->root. */
static void document(km_parser *P) {
  check_utf8(P);
  if (looking_at(P, "\xEF\xBB\xBF")) skip(P, 3);  /* a byte order mark */
  for (;;) {
    skip_ws(P);
    int c = peek(P);
    if (c < 0) return;
    if (c == '#' || c == '\n' || c == '\r') {
      expect_eol(P, "comment");
    } else if (c == '[') {
      header(P);
    } else {
      keyval(P, P->cur, P->section);
      expect_eol(P, "value");
    }
  }
}

/* Runs the parse under its catch point; false when it failed (the caller
** frees what was built). The setjmp lives here, not in the function whose
** local the parser is, so the parser's fields stay defined after longjmp. */
static bool run(km_parser *P) {
  if (setjmp(P->fail.jb)) return false;
  P->doc->root = P->cur = new_table(P, 0, T_ROOT, 0);
  document(P);
  return true;
}

/* Sets up the document and parser and runs the parse. */
km_toml_doc *km_toml_parse(const void *bytes, size_t len, const char *name,
                           km_toml_error *err) {
  km_toml_error dummy;
  km_parser P;
  memset(&P, 0, sizeof P);
  if (!err) err = &dummy;
  memset(err, 0, sizeof *err);
  const uint8_t *start = bytes ? bytes : (const uint8_t *)"";
  P.c = (ku_cursor){ start, start + (bytes ? len : 0), start, name ? name : "toml", &P.fail };
  P.fail.msg = err->message;
  P.fail.cap = sizeof err->message;
  P.line_start = start;
  P.line = 1;
  P.name = name ? name : "toml";
  P.err = err;
  P.doc = ku_calloc(1, sizeof *P.doc);
  if (!P.doc) {
    err->out_of_memory = true;
    ku_fmt(err->message, sizeof err->message, "%s: out of memory", P.name);
    return NULL;
  }
  bool ok = run(&P);
  ku_free(P.scratch);
  if (ok) return P.doc;
  km_toml_free(P.doc);
  return NULL;
}

/* Frees the arena (every value, key and string), the index and the doc. */
void km_toml_free(km_toml_doc *doc) {
  if (!doc) return;
  ku_arena_free(&doc->arena);
  ku_free(doc->slots);
  ku_free(doc);
}

/* ---- lookups ------------------------------------------------------------ */

const km_toml_value *km_toml_root(const km_toml_doc *doc) {
  return doc ? doc->root : NULL;
}

km_toml_type km_toml_type_of(const km_toml_value *v) {
  assert(v);
  return (km_toml_type)v->type;
}

const char *km_toml_type_name(km_toml_type t) {
  static const char *const names[] = {"?", "string", "integer", "float",
                                      "boolean", "datetime", "array", "table"};
  return (unsigned)t < KU_COUNT(names) ? names[t] : "?";
}

uint32_t km_toml_line(const km_toml_value *v) { return v ? v->line : 0; }

/* Looks key up in the document-wide index (constant time). */
const km_toml_value *km_toml_getn(const km_toml_value *t, const char *key,
                                  size_t keylen) {
  if (!t || t->type != KM_TOML_TABLE || !key) return NULL;
  return find(t, key, keylen, NULL);
}

const km_toml_value *km_toml_get(const km_toml_value *t, const char *key) {
  return key ? km_toml_getn(t, key, strlen(key)) : NULL;
}

/* Walks "a.b.0.c": table keys, and array indexes for all-digit segments. */
const km_toml_value *km_toml_path(const km_toml_value *t, const char *path) {
  if (!path) return NULL;
  for (const char *s = path; t; s++) {
    const char *dot = strchr(s, '.');
    size_t n = dot ? (size_t)(dot - s) : strlen(s);
    if (t->type == KM_TOML_ARRAY) {
      size_t i = 0, k = 0;
      for (; k < n && s[k] >= '0' && s[k] <= '9' && i < SIZE_MAX / 10 - 1; k++)
        i = i * 10 + (size_t)(s[k] - '0');
      t = k == n && n ? km_toml_array_at(t, i) : NULL;
    } else {
      t = km_toml_getn(t, s, n);
    }
    if (!dot) return t;
    s = dot;
  }
  return NULL;
}

size_t km_toml_table_len(const km_toml_value *t) {
  return t && t->type == KM_TOML_TABLE ? t->u.tab.len : 0;
}

const km_toml_value *km_toml_table_at(const km_toml_value *t, size_t i,
                                      const char **key, size_t *keylen) {
  if (!t || t->type != KM_TOML_TABLE || i >= t->u.tab.len) return NULL;
  const km_entry *e = &t->u.tab.items[i];
  if (key) *key = e->key;
  if (keylen) *keylen = e->keylen;
  return e->val;
}

size_t km_toml_array_len(const km_toml_value *a) {
  return a && a->type == KM_TOML_ARRAY ? a->u.arr.len : 0;
}

const km_toml_value *km_toml_array_at(const km_toml_value *a, size_t i) {
  if (!a || a->type != KM_TOML_ARRAY || i >= a->u.arr.len) return NULL;
  return a->u.arr.items[i];
}

bool km_toml_string(const km_toml_value *v, const char **s, size_t *len) {
  if (!v || v->type != KM_TOML_STRING) return false;
  if (s) *s = v->u.str.s;
  if (len) *len = v->u.str.len;
  return true;
}

bool km_toml_int(const km_toml_value *v, int64_t *out) {
  if (!v || v->type != KM_TOML_INT) return false;
  if (out) *out = v->u.i;
  return true;
}

bool km_toml_float(const km_toml_value *v, double *out) {
  if (!v || v->type != KM_TOML_FLOAT) return false;
  if (out) *out = v->u.f;
  return true;
}

bool km_toml_bool(const km_toml_value *v, bool *out) {
  if (!v || v->type != KM_TOML_BOOL) return false;
  if (out) *out = v->u.b;
  return true;
}

bool km_toml_datetime(const km_toml_value *v, const char **s, size_t *len,
                      km_toml_dtkind *kind) {
  if (!v || v->type != KM_TOML_DATETIME) return false;
  if (s) *s = v->u.str.s;
  if (len) *len = v->u.str.len;
  if (kind) *kind = (km_toml_dtkind)v->origin;
  return true;
}
