/*
** sqlite.c -- the SQLite backend of the key-value binding: one file per
** store (WAL, synchronous NORMAL or FULL, busy timeout, statements). Does
** not own argument checks, counters or message layout (kv.c).
*/
#include "kv/kv_internal.h"

#include <errno.h>
#include <sqlite3.h>
#include <sys/stat.h>

enum { Q_GET, Q_SET, Q_DEL, Q_EXISTS, Q_LIST_GE, Q_LIST_GT, Q_COUNT };

/* One statement per operation, prepared once at open. The list queries
** walk the primary key from the lower bound; the caller stops at the
** first key without the prefix (LIMIT ?2 = page size + 1). */
static const char *const queries[Q_COUNT] = {
  [Q_GET] = "SELECT value FROM kv WHERE key = ?1",
  [Q_SET] = ("INSERT INTO kv(key, value) VALUES (?1, ?2) "
             "ON CONFLICT(key) DO UPDATE SET value = excluded.value"),
  [Q_DEL] = "DELETE FROM kv WHERE key = ?1",
  [Q_EXISTS] = "SELECT 1 FROM kv WHERE key = ?1",
  [Q_LIST_GE] = "SELECT key FROM kv WHERE key >= ?1 ORDER BY key LIMIT ?2",
  [Q_LIST_GT] = "SELECT key FROM kv WHERE key > ?1 ORDER BY key LIMIT ?2",
};

static const char *const setup_sql =
  "CREATE TABLE IF NOT EXISTS kv (key BLOB PRIMARY KEY NOT NULL,"
  " value BLOB NOT NULL) WITHOUT ROWID;";

typedef struct sq_store {
  sqlite3 *db;
  sqlite3_stmt *q[Q_COUNT];
} sq_store;

/* Maps a SQLite result code to a kk_code. */
static kk_code map_code(int rc) {
  switch (rc & 0xff) {
  case SQLITE_BUSY: case SQLITE_LOCKED: return KK_UNAVAILABLE;
  case SQLITE_NOMEM: return KK_NOMEM;
  case SQLITE_TOOBIG: return KK_TOO_LARGE;
  case SQLITE_IOERR: case SQLITE_FULL: case SQLITE_CANTOPEN:
  case SQLITE_READONLY: case SQLITE_CORRUPT: case SQLITE_NOTADB:
  case SQLITE_PERM: case SQLITE_PROTOCOL: return KK_IO;
  default: return KK_BACKEND;
  }
}

/* Reports the connection's last error (or rc's text) through kk_fail. */
static kk_code fail_db(kk_store *s, sqlite3 *db, int rc, kk_error *err) {
  const char *msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  return kk_fail(s, err, map_code(rc), "%s", msg);
}

/* Rewinds a statement for its next use; returns the step's final status
** (reset reports the error of a failed step). */
static int finish(sqlite3_stmt *st) {
  int rc = sqlite3_reset(st);
  sqlite3_clear_bindings(st);
  return rc;
}

/* Binds a blob that is never NULL, even when empty (a zero-length blob
** bound from a NULL pointer would become SQL NULL). */
static int bind_blob(sqlite3_stmt *st, int i, const uint8_t *p, size_t n) {
  return sqlite3_bind_blob(st, i, n ? (const void *)p : "", (int)n,
                           SQLITE_STATIC);
}

/* Reads one value into a fresh ku_malloc buffer. */
static kk_code sq_get(kk_store *s, const uint8_t *key, size_t key_len,
                      kk_value *out, kk_error *err) {
  sq_store *q = s->impl;
  sqlite3_stmt *st = q->q[Q_GET];
  bind_blob(st, 1, key, key_len);
  int rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) {
    size_t n = (size_t)sqlite3_column_bytes(st, 0);
    const void *p = sqlite3_column_blob(st, 0);
    out->data = ku_malloc(n + 1);
    if (!out->data) { finish(st); return kk_fail(s, err, KK_NOMEM, "out of memory"); }
    if (n) memcpy(out->data, p, n);
    out->data[n] = 0;
    out->len = n;
    finish(st);
    return KK_OK;
  }
  rc = finish(st);
  return rc == SQLITE_OK ? KK_NOT_FOUND : fail_db(s, q->db, rc, err);
}

/* Runs a statement that returns no rows (or whose rows are not read). */
static kk_code run(kk_store *s, sqlite3_stmt *st, kk_error *err) {
  sq_store *q = s->impl;
  sqlite3_step(st);
  int rc = finish(st);
  return rc == SQLITE_OK ? KK_OK : fail_db(s, q->db, rc, err);
}

static kk_code sq_set(kk_store *s, const uint8_t *key, size_t key_len,
                      const uint8_t *val, size_t val_len, kk_error *err) {
  sqlite3_stmt *st = ((sq_store *)s->impl)->q[Q_SET];
  bind_blob(st, 1, key, key_len);
  bind_blob(st, 2, val, val_len);
  return run(s, st, err);
}

static kk_code sq_del(kk_store *s, const uint8_t *key, size_t key_len,
                      kk_error *err) {
  sqlite3_stmt *st = ((sq_store *)s->impl)->q[Q_DEL];
  bind_blob(st, 1, key, key_len);
  return run(s, st, err);
}

static kk_code sq_exists(kk_store *s, const uint8_t *key, size_t key_len,
                         bool *found, kk_error *err) {
  sq_store *q = s->impl;
  sqlite3_stmt *st = q->q[Q_EXISTS];
  bind_blob(st, 1, key, key_len);
  *found = sqlite3_step(st) == SQLITE_ROW;
  int rc = finish(st);
  return rc == SQLITE_OK ? KK_OK : fail_db(s, q->db, rc, err);
}

/* Walks keys from the range's lower bound, keeping those with the prefix
** until the page is full; one more matching key sets out->more. */
static kk_code sq_list(kk_store *s, const kk_range *r, kk_page *out,
                       kk_error *err) {
  sq_store *q = s->impl;
  sqlite3_stmt *st = q->q[r->lo_incl ? Q_LIST_GE : Q_LIST_GT];
  bind_blob(st, 1, r->lo, r->lo_len);
  sqlite3_bind_int64(st, 2, (sqlite3_int64)r->limit + 1);
  while (sqlite3_step(st) == SQLITE_ROW) {
    const uint8_t *k = sqlite3_column_blob(st, 0);
    size_t n = (size_t)sqlite3_column_bytes(st, 0);
    if (!kk_has_prefix(k, n, r->prefix, r->prefix_len)) break;
    if (out->count == r->limit) { out->more = true; break; }
    if (!kk_list_push(out, k, n)) {
      finish(st);
      return kk_fail(s, err, KK_NOMEM, "out of memory");
    }
  }
  int rc = finish(st);
  return rc == SQLITE_OK ? KK_OK : fail_db(s, q->db, rc, err);
}

/* Finalizes the statements and closes the connection. */
static void sq_free(sq_store *q) {
  for (int i = 0; i < Q_COUNT; i++) sqlite3_finalize(q->q[i]);
  sqlite3_close_v2(q->db);
  ku_free(q);
}

static void sq_close(kk_store *s) { sq_free(s->impl); s->impl = NULL; }

static const kk_ops sqlite_ops = {
  sq_get, sq_set, sq_del, sq_exists, sq_list, sq_close,
};

/* Checks that the file's parent directory exists, so a typo in a path
** gets a clearer message than SQLite's "unable to open database file". */
static kk_code check_parent(kk_store *s, const char *path, kk_error *err) {
  const char *slash = strrchr(path, '/');
  if (!slash) return KK_OK;
  char dir[4096];
  size_t n = slash == path ? 1 : (size_t)(slash - path);
  if (n >= sizeof dir) return kk_fail(s, err, KK_BAD_CONFIG, "path is too long");
  memcpy(dir, path, n);
  dir[n] = 0;
  struct stat st;
  if (stat(dir, &st) != 0)
    return kk_fail(s, err, KK_BAD_CONFIG, "parent directory \"%s\": %s", dir,
                   strerror(errno));
  if (!S_ISDIR(st.st_mode))
    return kk_fail(s, err, KK_BAD_CONFIG, "parent \"%s\" is not a directory", dir);
  return KK_OK;
}

/* Switches the file to WAL. The pragma answers with the mode actually in
** effect, which stays "delete"/"memory" where WAL is impossible. */
static kk_code set_wal(kk_store *s, sqlite3 *db, kk_error *err) {
  sqlite3_stmt *st = NULL;
  int rc = sqlite3_prepare_v2(db, "PRAGMA journal_mode = WAL", -1, &st, NULL);
  if (rc != SQLITE_OK) return fail_db(s, db, rc, err);
  char mode[32] = "";
  if (sqlite3_step(st) == SQLITE_ROW)
    ku_fmt(mode, sizeof mode, "%s", (const char *)sqlite3_column_text(st, 0));
  rc = sqlite3_finalize(st);
  if (rc != SQLITE_OK) return fail_db(s, db, rc, err);
  if (strcmp(mode, "wal") != 0)
    return kk_fail(s, err, KK_IO, "cannot use WAL (journal mode stays \"%s\")", mode);
  return KK_OK;
}

/* Configures a fresh connection (timeout, WAL, synchronous, table) and
** prepares every statement. synchronous is per connection (SQLite keeps
** no such setting in the file): NORMAL for KK_DURABLE_PROCESS, FULL for
** KK_DURABLE_POWER (kv.h says what each survives). */
static kk_code setup(kk_store *s, sq_store *q, const kk_config *cfg,
                     kk_error *err) {
  sqlite3_busy_timeout(q->db, cfg->timeout_ms > 0 ? cfg->timeout_ms : KK_TIMEOUT_MS);
  sqlite3_extended_result_codes(q->db, 1);
  kk_code kc = set_wal(s, q->db, err);
  if (kc != KK_OK) return kc;
  int rc = sqlite3_exec(q->db, cfg->durability == KK_DURABLE_POWER
                                   ? "PRAGMA synchronous = FULL"
                                   : "PRAGMA synchronous = NORMAL",
                        NULL, NULL, NULL);
  if (rc != SQLITE_OK) return fail_db(s, q->db, rc, err);
  rc = sqlite3_exec(q->db, setup_sql, NULL, NULL, NULL);
  if (rc != SQLITE_OK) return fail_db(s, q->db, rc, err);
  for (int i = 0; i < Q_COUNT; i++) {
    rc = sqlite3_prepare_v3(q->db, queries[i], -1, SQLITE_PREPARE_PERSISTENT,
                            &q->q[i], NULL);
    if (rc != SQLITE_OK) return fail_db(s, q->db, rc, err);
  }
  return KK_OK;
}

/* Opens (creating when missing) the store's file. The connection is
** NOMUTEX: a store is used by one thread at a time (kv.h). */
kk_code kk_sqlite_open(kk_store *s, const kk_config *cfg, kk_error *err) {
  const char *path = cfg->path ? cfg->path : "";
  ku_fmt(s->desc, sizeof s->desc, "sqlite %s", path);
  if (!path[0]) return kk_fail(s, err, KK_BAD_CONFIG, "no file path given");
  kk_code kc = check_parent(s, path, err);
  if (kc != KK_OK) return kc;
  sq_store *q = ku_calloc(1, sizeof *q);
  if (!q) return kk_fail(s, err, KK_NOMEM, "out of memory");
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
  int rc = sqlite3_open_v2(path, &q->db, flags, NULL);
  kc = rc == SQLITE_OK ? KK_OK : fail_db(s, q->db, rc, err);
  if (kc == KK_OK)
    kc = setup(s, q, cfg, err);
  if (kc != KK_OK) { sq_free(q); return kc; }
  s->ops = &sqlite_ops;
  s->impl = q;
  return KK_OK;
}

/* The store connection's PRAGMA synchronous (0 off, 1 normal, 2 full,
** 3 extra), or -1 when s is not a SQLite store: what the tests read back
** to see that a manifest's durability reached SQLite. */
int kk_sqlite_synchronous(kk_store *s) {
  if (!s || s->ops != &sqlite_ops) return -1;
  sqlite3_stmt *st = NULL;
  int v = -1;
  sq_store *q = s->impl;
  if (sqlite3_prepare_v2(q->db, "PRAGMA synchronous", -1, &st, NULL) == SQLITE_OK &&
      sqlite3_step(st) == SQLITE_ROW)
    v = sqlite3_column_int(st, 0);
  sqlite3_finalize(st);
  return v;
}
