/*
** sqlfn.c -- SQL functions krait replaces on a guest's SQLite connection:
** the refused ones (host pointers, loading code), and instr/replace in
** linear time. Not the authorizer or the limits (sqldb.c).
*/
#include <sqlite3.h>
#include <stdbool.h>
#include <string.h>

#include "app/app_internal.h"

/* Refuses a call in any context: the authorizer sees only the guest's own
** statements, not a schema it wrote earlier (a CHECK constraint added by
** ALTER TABLE runs when SQLite reloads the schema, unchecked), so the
** functions themselves are replaced. */
static void ka_sqlfn_refused(sqlite3_context *cx, int argc, sqlite3_value **av) {
  (void)argc, (void)av;
  sqlite3_result_error(cx, (const char *)sqlite3_user_data(cx), -1);
}

/* The bytes of v as instr and replace see them: a blob's when blob, else
** its text (UTF-8). NULL for SQL NULL; *n its length. */
static const unsigned char *ka_sqlfn_bytes(sqlite3_value *v, bool blob, int *n) {
  const unsigned char *p = blob ? sqlite3_value_blob(v) : sqlite3_value_text(v);
  *n = sqlite3_value_bytes(v);
  return p ? p : (const unsigned char *)"";
}

/* instr(X, Y) as SQLite defines it (1 + the characters, or bytes when both
** are blobs, before Y's first occurrence in X; 0 if none; 1 for an empty
** Y; NULL if either is NULL), by memmem: SQLite's own compares at every
** position, O(|X|·|Y|) inside one VM step, past the deadline's reach. */
static void ka_sqlfn_instr(sqlite3_context *cx, int argc, sqlite3_value **av) {
  (void)argc;
  int tx = sqlite3_value_type(av[0]), ty = sqlite3_value_type(av[1]), nx, ny;
  if (tx == SQLITE_NULL || ty == SQLITE_NULL) return;
  bool blob = tx == SQLITE_BLOB && ty == SQLITE_BLOB;
  const unsigned char *y = ka_sqlfn_bytes(av[1], blob, &ny), *x = ka_sqlfn_bytes(av[0], blob, &nx);
  if (ny == 0) { sqlite3_result_int(cx, 1); return; }
  const unsigned char *at = memmem(x, (size_t)nx, y, (size_t)ny);
  if (!at) { sqlite3_result_int(cx, 0); return; }
  sqlite3_int64 pos = 1;
  for (const unsigned char *p = x; p < at; p++) pos += blob || (*p & 0xc0) != 0x80;
  sqlite3_result_int64(cx, pos);
}

/* replace(X, Y, Z) as SQLite defines it (every Y in X's text replaced by
** Z; X when Y is empty; NULL if any is NULL), by memmem: linear where
** SQLite's own is O(|X|·|Y|). The result obeys SQLITE_LIMIT_LENGTH. */
static void ka_sqlfn_replace(sqlite3_context *cx, int argc, sqlite3_value **av) {
  (void)argc;
  int nx, ny, nz;
  if (sqlite3_value_type(av[0]) == SQLITE_NULL || sqlite3_value_type(av[1]) == SQLITE_NULL) return;
  const unsigned char *x = ka_sqlfn_bytes(av[0], false, &nx), *y = ka_sqlfn_bytes(av[1], false, &ny);
  if (ny == 0) { sqlite3_result_value(cx, av[0]); return; }
  if (sqlite3_value_type(av[2]) == SQLITE_NULL) return;
  const unsigned char *z = ka_sqlfn_bytes(av[2], false, &nz);
  x = ka_sqlfn_bytes(av[0], false, &nx);  /* the text again: converting Z may move it */
  y = ka_sqlfn_bytes(av[1], false, &ny);
  sqlite3_int64 n = 0, max = sqlite3_limit(sqlite3_context_db_handle(cx), SQLITE_LIMIT_LENGTH, -1);
  const unsigned char *p = x, *q;
  for (; (q = memmem(p, (size_t)(x + nx - p), y, (size_t)ny)); p = q + ny) n += (q - p) + nz;
  n += x + nx - p;
  if (n > max) { sqlite3_result_error_toobig(cx); return; }
  char *out = sqlite3_malloc64((sqlite3_uint64)n + 1), *o = out;
  if (!out) { sqlite3_result_error_nomem(cx); return; }
  for (p = x; (q = memmem(p, (size_t)(x + nx - p), y, (size_t)ny)); p = q + ny) {
    memcpy(o, p, (size_t)(q - p));
    memcpy(o + (q - p), z, (size_t)nz);
    o += (q - p) + nz;
  }
  memcpy(o, p, (size_t)(x + nx - p));
  sqlite3_result_text64(cx, out, (sqlite3_uint64)n, sqlite3_free, SQLITE_UTF8);
}

void ka_sql_functions(sqlite3 *db) {
  static const struct { const char *name; int nargs; } refused[] = {
    {"fts3_tokenizer", 1}, {"fts3_tokenizer", 2}, {"fts5", 1}, {"load_extension", 1},
    {"load_extension", 2},
  };
  static const char why[] = "the function is refused to apps (docs/SECURITY.md)";
  for (size_t i = 0; i < sizeof refused / sizeof *refused; i++)
    sqlite3_create_function_v2(db, refused[i].name, refused[i].nargs, SQLITE_UTF8, (void *)why,
                               ka_sqlfn_refused, NULL, NULL, NULL);
  sqlite3_create_function_v2(db, "instr", 2, SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL, ka_sqlfn_instr,
                             NULL, NULL, NULL);
  sqlite3_create_function_v2(db, "replace", 3, SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL,
                             ka_sqlfn_replace, NULL, NULL, NULL);
}
