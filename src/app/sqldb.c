/*
** sqldb.c -- the sqlite binding's operations (python/c/krait_abi.h): a
** request's connections to the SQLite files granted to its app, bounded
** by the request's deadline and the result limit, kept between the app's
** requests when nothing of a request's own is left on them. Not the
** dispatch (bindings.c).
*/
#include <errno.h>
#include <sqlite3.h>
#include <string.h>
#include <sys/stat.h>

#include "app/app_internal.h"
#include "../../python/c/krait_abi.h"
#include "platform/platform.h"
#include "util/util.h"

/* Most connections one request may have open at once. */
#define KA_SQL_MAX_CONNS 16
/* Most idle connections an app keeps per database between requests. */
#define KA_SQL_POOL 8
#define KA_SQL_STR_(n) #n
#define KA_SQL_STR(n) KA_SQL_STR_(n)   /* a number constant as SQL text */
/* The temp database's (TEMP tables, sorts) pages at most when a
** connection is kept: one grown past that is closed instead, so its temp
** file's space is given back. */
#define KA_SQL_TEMP_KEEP 64
/* The WAL file is cut back to this after a checkpoint (journal_size_limit):
** kept connections would otherwise keep it at its largest transaction. */
#define KA_SQL_WAL_KEEP 4194304
/* The busy timeout (ms) of an app without a request deadline. */
#define KA_SQL_BUSY_MS 5000
/* The longest SQL text one statement or script may have (1 MiB). */
#define KA_SQL_MAX_SQL (1 << 20)
/* The largest a database may grow when the app has no max_disk_mb. */
#define KA_SQL_MAX_DB_BYTES (1ull << 30)
/* The longest LIKE or GLOB pattern (a match runs inside one VM step, in
** time up to the pattern's length times the value's). */
#define KA_SQL_MAX_LIKE 256
/* All the memory SQLite may hold in this process, every connection
** together (sqlite3_hard_heap_limit64): one row of 2,000 columns of
** 16 MiB values would otherwise be built whole before the result limit. */
#define KA_SQL_MAX_HEAP (1ll << 30)
/* Virtual machine steps between deadline checks (progress handler). */
#define KA_SQL_PROGRESS_STEPS 1000
/* Most virtual machine steps one call may run in an app with fuel and no
** timeout_ms (its deadline bounds it otherwise): about a second. */
#define KA_SQL_MAX_STEPS 100000000ull

/* Prepared statements a connection keeps (also between requests, while
** it is kept), keyed by their exact SQL text (as the stdlib sqlite3
** module does): a loop running one statement many times prepares it once.
** Longer SQL is prepared each time. Their text is not readable through
** the sqlite_stmt table (the authorizer). */
#define KA_SQL_CACHE 16
#define KA_SQL_CACHE_SQL 4096

typedef struct ka_sqlstmt {
  sqlite3_stmt *st;            /* NULL: a free slot */
  char *sql;                   /* its text (n bytes), owned */
  uint32_t n;
  uint64_t used;               /* the connection's clock at its last use */
} ka_sqlstmt;

/* What the authorizer and the progress handler are given: the request
** using the connection now (NULL between requests: then only krait's own
** SQL runs). Heap-allocated, so it stays put while the connection moves
** between a request's table and its database's pool. */
typedef struct ka_sqlhook { ka_ctx *x; } ka_sqlhook;

struct ka_sqlconn {
  sqlite3 *db;                 /* NULL once closed */
  ka_sqldb *grant;             /* the app's grant it opened (not owned) */
  ka_sqlhook *hook;
  int fkeys;                   /* foreign key enforcement when opened */
  ka_sqlstmt cache[KA_SQL_CACHE];
  uint64_t clock;
};

/* The progress handler: nonzero (interrupt) once the deadline passed, or,
** in an app with fuel and no deadline, past KA_SQL_MAX_STEPS in this call. */
static int ka_sql_progress(void *data) {
  ka_ctx *x = ((ka_sqlhook *)data)->x;
  if (!x) return 0;
  if (x->deadline) return kp_monotonic_ns() >= x->deadline;
  return x->app->fuel && ++x->sqlticks > KA_SQL_MAX_STEPS / KA_SQL_PROGRESS_STEPS;
}

/* The grant named (name, n) of x's app, or NULL. */
static ka_sqldb *ka_sql_grant(ka_ctx *x, const uint8_t *name, size_t n) {
  for (int i = 0; i < x->app->nsqldbs; i++)
    if (strlen(x->app->sqldbs[i].name) == n && memcmp(x->app->sqldbs[i].name, name, n) == 0)
      return &x->app->sqldbs[i];
  return NULL;
}

/* Creates the directory holding path when it is missing (one level: the
** data dir's .krait/). */
static void ka_sql_mkparent(const char *path) {
  char dir[4096];
  snprintf(dir, sizeof dir, "%s", path);
  char *slash = strrchr(dir, '/');
  if (!slash || slash == dir) return;
  *slash = '\0';
  if (mkdir(dir, 0755) != 0 && errno != EEXIST) return;
}

/* SQL functions the guest may not call: host pointers (fts3_tokenizer,
** fts5), loading code, and the shell's file access. */
static const char *const ka_sql_denied_fns[] = {
  "fts3_tokenizer", "fts5", "load_extension", "readfile", "writefile", "edit",
};

/* PRAGMAs the guest may run: informational ones with or without an
** argument (a table or index name, or a per-connection switch)... */
static const char *const ka_sql_pragmas[] = {
  "table_info", "table_xinfo", "table_list", "index_list", "index_info", "index_xinfo",
  "foreign_key_list", "foreign_key_check", "integrity_check", "quick_check",
  "foreign_keys", "defer_foreign_keys", "user_version", "application_id",
};
/* ... and ones it may only read (no argument). */
static const char *const ka_sql_pragmas_read[] = {
  "journal_mode", "synchronous", "page_size", "page_count", "max_page_count",
  "freelist_count", "data_version", "schema_version", "encoding",
};

/* Whether name is one of list's n entries (case-insensitive). */
static bool ka_sql_listed(const char *const *list, size_t n, const char *name) {
  for (size_t i = 0; name && i < n; i++)
    if (sqlite3_stricmp(list[i], name) == 0) return true;
  return false;
}

/* The authorizer (sqlite3_set_authorizer): refuses ATTACH/DETACH, the
** functions above and every PRAGMA not allowed above, keeping what it
** refused in x->sqldeny for the error. */
static int ka_sql_auth(void *data, int action, const char *a, const char *b, const char *db,
                       const char *trigger) {
  ka_ctx *x = ((ka_sqlhook *)data)->x;
  (void)db; (void)trigger;
  if (!x) return SQLITE_OK;   /* between requests: krait's own statements */
  if (action == SQLITE_READ && a && !strcmp(a, "sqlite_stmt"))   /* other requests' SQL text */
    snprintf(x->sqldeny, sizeof x->sqldeny, "reading sqlite_stmt");
  else if (action == SQLITE_ATTACH || action == SQLITE_DETACH)
    snprintf(x->sqldeny, sizeof x->sqldeny, "%s", action == SQLITE_ATTACH ? "ATTACH" : "DETACH");
  else if (action == SQLITE_FUNCTION && ka_sql_listed(ka_sql_denied_fns, sizeof ka_sql_denied_fns /
           sizeof *ka_sql_denied_fns, b))
    snprintf(x->sqldeny, sizeof x->sqldeny, "the function %.40s()", b);
  else if (action == SQLITE_PRAGMA && !ka_sql_listed(ka_sql_pragmas, sizeof ka_sql_pragmas /
           sizeof *ka_sql_pragmas, a) && (b || !ka_sql_listed(ka_sql_pragmas_read,
           sizeof ka_sql_pragmas_read / sizeof *ka_sql_pragmas_read, a)))
    snprintf(x->sqldeny, sizeof x->sqldeny, "PRAGMA %.40s%s", a ? a : "?", b ? " with a value" : "");
  else return SQLITE_OK;
  return SQLITE_DENY;
}

/* Hardens db for untrusted SQL: no extension loading, no fts3_tokenizer,
** defensive mode, untrusted schema, no attached databases, a value at most
** the result limit and SQL at most KA_SQL_MAX_SQL bytes, the authorizer,
** the deadline's progress handler. */
static void ka_sql_harden(ka_sqlhook *hook, sqlite3 *db) {
  sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 0, (int *)NULL);
  sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_FTS3_TOKENIZER, 0, (int *)NULL);
  sqlite3_db_config(db, SQLITE_DBCONFIG_DEFENSIVE, 1, (int *)NULL);
  sqlite3_db_config(db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, (int *)NULL);
  sqlite3_limit(db, SQLITE_LIMIT_ATTACHED, 0);
  sqlite3_limit(db, SQLITE_LIMIT_LENGTH, (int)KRAIT_CALL_MAX_RESULT);
  sqlite3_limit(db, SQLITE_LIMIT_SQL_LENGTH, KA_SQL_MAX_SQL);
  sqlite3_limit(db, SQLITE_LIMIT_LIKE_PATTERN_LENGTH, KA_SQL_MAX_LIKE);
  sqlite3_hard_heap_limit64(KA_SQL_MAX_HEAP);  /* process-wide: the same value every time */
  ka_sql_functions(db);
  sqlite3_set_authorizer(db, ka_sql_auth, hook);
  sqlite3_progress_handler(db, KA_SQL_PROGRESS_STEPS, ka_sql_progress, hook);
}

/* Sets db's max_page_count so the file stays within the app's max_disk_mb
** (or KA_SQL_MAX_DB_BYTES without one); the guest cannot change it (the
** authorizer). */
static int ka_sql_cap_pages(ka_ctx *x, sqlite3 *db) {
  sqlite3_stmt *st = NULL;
  int rc = sqlite3_prepare_v2(db, "PRAGMA page_size", -1, &st, NULL);
  int64_t page = rc == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
  sqlite3_finalize(st);
  if (page <= 0) return rc == SQLITE_OK ? SQLITE_ERROR : rc;
  uint64_t bytes = x->app->max_disk ? x->app->max_disk : KA_SQL_MAX_DB_BYTES;
  char sql[128];
  unsigned long long pages = bytes / (uint64_t)page ? bytes / (uint64_t)page : 1;
  snprintf(sql, sizeof sql, "PRAGMA max_page_count = %llu; PRAGMA temp.max_page_count = %llu",
           pages, pages);
  return sqlite3_exec(db, sql, NULL, NULL, NULL);
}

/* Opens and sets up the file of grant g: WAL, synchronous=FULL (an
** acknowledged write survives the process being killed, and power loss),
** then hardened (ka_sql_harden). The path is the manifest's, opened as a
** plain file name (never a URI: a "file:" path gets "./" before it), not
** through a symbolic link. */
static int32_t ka_sql_connect(ka_ctx *x, ka_sqldb *g, struct ka_sqlconn *c) {
  sqlite3 *db = NULL;
  char path[4096];
  ka_sqlhook *hook = ku_malloc(sizeof *hook);
  if (!hook) return ka_fail_call(x, KRAIT_E_TOOBIG, "sqlite.open: out of memory");
  ka_sql_mkparent(g->path);
  snprintf(path, sizeof path, "%s%s", strncmp(g->path, "file:", 5) ? "" : "./", g->path);
  int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                           SQLITE_OPEN_NOFOLLOW, NULL);
  if (rc == SQLITE_OK)
    rc = sqlite3_exec(db, "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; "
                      "PRAGMA journal_size_limit = " KA_SQL_STR(KA_SQL_WAL_KEEP) ";", NULL, NULL, NULL);
  if (rc == SQLITE_OK) rc = ka_sql_cap_pages(x, db);
  if (rc != SQLITE_OK) {
    fprintf(x->app->log, "[%s] sqlite database \"%s\" (%s): %s\n", x->app->name, g->name, g->path,
            db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
    sqlite3_close_v2(db);
    ku_free(hook);
    return ka_fail_call(x, KRAIT_E_BACKEND, "sqlite database \"%s\" cannot be opened (%s; the "
                        "server's log says more)", g->name, sqlite3_errstr(rc));
  }
  hook->x = x;
  ka_sql_harden(hook, db);
  *c = (struct ka_sqlconn){ .db = db, .grant = g, .hook = hook };
  sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_FKEY, -1, &c->fkeys);
  return 0;
}

/* A connection g keeps idle, taken into *c for request x; false when it
** keeps none. What a request may see of an earlier one's use is reset:
** last_insert_rowid() is 0 as on a new connection. */
static bool ka_sql_reuse(ka_ctx *x, ka_sqldb *g, struct ka_sqlconn *c) {
  pthread_mutex_lock(&g->lock);
  bool got = g->nidle > 0;
  if (got) *c = g->idle[--g->nidle];
  pthread_mutex_unlock(&g->lock);
  if (!got) return false;
  c->hook->x = x;
  sqlite3_set_last_insert_rowid(c->db, 0);
  return true;
}

/* Whether c may serve a later request: no transaction left open (one is
** rolled back here) and nothing in its temp schema (TEMP tables, views or
** triggers a request made are its own, so such a connection is closed);
** foreign key enforcement is put back as it was when opened. */
static bool ka_sql_clean(struct ka_sqlconn *c) {
  sqlite3_stmt *st = NULL;
  if (!sqlite3_get_autocommit(c->db)) sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
  if (!sqlite3_get_autocommit(c->db)) return false;
  if (sqlite3_prepare_v2(c->db, "SELECT (SELECT count(*) FROM temp.sqlite_schema) = 0 AND "
                         "(SELECT page_count FROM pragma_page_count('temp')) <= "
                         KA_SQL_STR(KA_SQL_TEMP_KEEP), -1, &st, NULL) != SQLITE_OK) return false;
  bool empty = sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) == 1;
  sqlite3_finalize(st);
  if (!empty) return false;
  return sqlite3_db_config(c->db, SQLITE_DBCONFIG_ENABLE_FKEY, c->fkeys, (int *)NULL) == SQLITE_OK;
}

/* Closes c: its kept statements, then the database. */
static void ka_sql_shut(struct ka_sqlconn *c) {
  for (int i = 0; i < KA_SQL_CACHE; i++) {
    sqlite3_finalize(c->cache[i].st);
    ku_free(c->cache[i].sql);
  }
  sqlite3_close_v2(c->db);
  ku_free(c->hook);
  *c = (struct ka_sqlconn){ 0 };
}

/* Ends a request's use of c: back to its database's idle connections
** (with its kept statements) when clean and there is room, else closed.
** c's slot is free afterwards. */
static void ka_sql_release(struct ka_sqlconn *c) {
  if (!c->db) return;
  c->hook->x = NULL;
  ka_sqldb *g = c->grant;
  bool kept = false;
  if (ka_sql_clean(c)) {
    pthread_mutex_lock(&g->lock);
    if (!g->idle) g->idle = ku_calloc(KA_SQL_POOL, sizeof *g->idle);
    if (g->idle && g->nidle < KA_SQL_POOL) { g->idle[g->nidle++] = *c; kept = true; }
    pthread_mutex_unlock(&g->lock);
  }
  if (kept) *c = (struct ka_sqlconn){ 0 };
  else ka_sql_shut(c);
}

void ka_sql_pool_free(ka_sqldb *g) {
  for (int i = 0; i < g->nidle; i++) ka_sql_shut(&g->idle[i]);
  ku_free(g->idle);
  g->idle = NULL;
  g->nidle = 0;
  pthread_mutex_destroy(&g->lock);
}

/* sqlite.open: req the name; result u32 handle (a closed connection's
** slot is reused, so the table never holds more than KA_SQL_MAX_CONNS).
** Denied unless the app's sqlite_databases grants the name. */
int32_t ka_sql_open(ka_ctx *x, ku_cursor *in, ka_out *out) {
  size_t n = ku_left(in);
  const uint8_t *name = ku_bytes(in, n);
  ka_sqldb *g = ka_sql_grant(x, name, n);
  if (!g)
    return ka_fail_call(x, KRAIT_E_DENIED, "sqlite database \"%.*s\" is not granted to app \"%s\": "
                        "add it to the app's sqlite_databases in krait.toml%s", (int)(n > 64 ? 64 : n),
                        (const char *)name, x->app->name,
                        n == 7 && !memcmp(name, "default", 7) ? "" : " (and declare it in a "
                        "[sqlite_databases.NAME] table)");
  int open = 0, slot = x->nconns;
  for (int i = x->nconns - 1; i >= 0; i--) {
    open += x->conns[i].db != NULL;
    if (!x->conns[i].db) slot = i;
  }
  if (open >= KA_SQL_MAX_CONNS)
    return ka_fail_call(x, KRAIT_E_TOOBIG, "sqlite: %d connections are open in this request (the "
                        "limit): close one first", open);
  if (slot == x->nconns) {
    struct ka_sqlconn *c = ku_realloc(x->conns, (size_t)(x->nconns + 1) * sizeof *c);
    if (!c) return ka_fail_call(x, KRAIT_E_TOOBIG, "sqlite.open: out of memory");
    x->conns = c;
    x->conns[x->nconns++] = (struct ka_sqlconn){ 0 };
  }
  if (!ka_sql_reuse(x, g, &x->conns[slot])) {
    int32_t rc = ka_sql_connect(x, g, &x->conns[slot]);
    if (rc) return rc;
  }
  uint32_t h = (uint32_t)slot;
  ka_out_put(out, &h, 4);
  return 0;
}

/* The open connection of handle h, or NULL with the failure in x. */
static sqlite3 *ka_sql_conn(ka_ctx *x, uint32_t h, const char *op) {
  if (h < (uint32_t)x->nconns && x->conns[h].db) return x->conns[h].db;
  ka_fail_call(x, KRAIT_E_STATE, "%s: connection %u is not open (closed, or never opened in "
               "this request)", op, h);
  return NULL;
}

/* Maps a failed statement to a result: the deadline's interruption is
** E_TIMEOUT, everything else E_BACKEND with SQLite's message. */
static int32_t ka_sql_fail(ka_ctx *x, sqlite3 *db, int rc, const char *op) {
  if (rc == SQLITE_INTERRUPT && !x->deadline) {
    fprintf(x->app->log, "[%s] %s: the query was stopped after %llu virtual machine steps\n",
            x->app->name, op, KA_SQL_MAX_STEPS);
    return ka_fail_call(x, KRAIT_E_TIMEOUT, "%s: the query was stopped after %llu virtual machine "
                        "steps (the cap per call for an app with fuel and no timeout_ms)", op,
                        KA_SQL_MAX_STEPS);
  }
  if (x->sqldeny[0])
    return ka_fail_call(x, KRAIT_E_DENIED, "%s: %s is refused: krait's sqlite binding does not "
                        "let apps change the connection's safety settings, attach files or reach "
                        "host pointers (docs/SECURITY.md)", op, x->sqldeny);
  if (rc == SQLITE_INTERRUPT || (x->deadline && kp_monotonic_ns() >= x->deadline)) {
    fprintf(x->app->log, "[%s] %s: the query was stopped at the request's deadline\n",
            x->app->name, op);
    return ka_fail_call(x, KRAIT_E_TIMEOUT, "%s: the query was stopped at the request's deadline "
                        "(the app's timeout_ms, %llu ms)", op,
                        (unsigned long long)(x->app->timeout_ns / 1000000));
  }
  if (rc == SQLITE_TOOBIG)
    return ka_fail_call(x, KRAIT_E_TOOBIG, "%s: %s (a value may be at most %u MiB, SQL text at "
                        "most %d MiB)", op, sqlite3_errmsg(db), KRAIT_CALL_MAX_RESULT >> 20,
                        KA_SQL_MAX_SQL >> 20);
  if (rc == SQLITE_FULL)
    return ka_fail_call(x, KRAIT_E_TOOBIG, "%s: %s (the database may grow to %llu MiB: the app's "
                        "max_disk_mb, or %llu MiB without one)", op, sqlite3_errmsg(db),
                        (unsigned long long)((x->app->max_disk ? x->app->max_disk :
                        KA_SQL_MAX_DB_BYTES) >> 20), KA_SQL_MAX_DB_BYTES >> 20);
  return ka_fail_call(x, KRAIT_E_BACKEND, "%s: %s", op, sqlite3_errmsg(db));
}

/* Sets db's busy timeout to what is left of the request's time. */
static void ka_sql_busy(ka_ctx *x, sqlite3 *db) {
  uint64_t now = kp_monotonic_ns();
  uint64_t left = !x->deadline ? (uint64_t)KA_SQL_BUSY_MS : x->deadline > now ? (x->deadline - now) / 1000000 : 0;
  sqlite3_busy_timeout(db, left > INT32_MAX ? INT32_MAX : left ? (int)left : 1);
}

/* Binds parameter i (1-based) from one tagged value at the cursor. */
static int ka_sql_bind(sqlite3_stmt *st, int i, ku_cursor *in) {
  uint8_t tag = ku_u8(in);
  uint32_t n;
  switch (tag) {
  case 0: return sqlite3_bind_null(st, i);
  case 1: return sqlite3_bind_int64(st, i, (int64_t)ku_fixed64(in));
  case 2: { uint64_t b = ku_fixed64(in); double d; memcpy(&d, &b, 8); return sqlite3_bind_double(st, i, d); }
  case 3: n = ku_fixed32(in); return sqlite3_bind_text(st, i, (const char *)ku_bytes(in, n), (int)n, SQLITE_TRANSIENT);
  case 4: n = ku_fixed32(in); return sqlite3_bind_blob(st, i, ku_bytes(in, n), (int)n, SQLITE_TRANSIENT);
  default: ku_cfail(in, 0, "unknown value tag %u", tag);
  }
}

/* Reads past one tagged value (checking it is whole, and under 2 GiB as
** sqlite3_bind_* takes an int, before anything is prepared, so a malformed
** request leaves no statement behind). */
static void ka_sql_skip(ku_cursor *in) {
  uint8_t tag = ku_u8(in);
  uint32_t n;
  if (tag == 1 || tag == 2) ku_fixed64(in);
  else if ((tag == 3 || tag == 4) && (n = ku_fixed32(in)) > INT32_MAX)
    ku_cfail(in, 0, "a value of %u bytes (over 2 GiB)", n);
  else if (tag == 3 || tag == 4) ku_bytes(in, n);
  else if (tag) ku_cfail(in, 0, "unknown value tag %u", tag);
}

/* Appends column j of the current row as a tagged value. */
static void ka_sql_value(ka_out *o, sqlite3_stmt *st, int j) {
  uint8_t tag;
  switch (sqlite3_column_type(st, j)) {
  case SQLITE_INTEGER: { int64_t v = sqlite3_column_int64(st, j); tag = 1; ka_out_put(o, &tag, 1); ka_out_put(o, &v, 8); break; }
  case SQLITE_FLOAT: { double v = sqlite3_column_double(st, j); tag = 2; ka_out_put(o, &tag, 1); ka_out_put(o, &v, 8); break; }
  case SQLITE_TEXT: tag = 3; ka_out_put(o, &tag, 1);
    ka_out_str(o, sqlite3_column_text(st, j), (size_t)sqlite3_column_bytes(st, j)); break;
  case SQLITE_BLOB: tag = 4; ka_out_put(o, &tag, 1);
    ka_out_str(o, sqlite3_column_blob(st, j), (size_t)sqlite3_column_bytes(st, j)); break;
  default: tag = 0; ka_out_put(o, &tag, 1); break;
  }
}

/* Whether sql has a statement after its first (tail): comments and
** whitespace do not count. */
static bool ka_sql_more(sqlite3 *db, const char *tail, const char *end) {
  while (tail < end) {
    sqlite3_stmt *st = NULL;
    const char *next = NULL;
    if (sqlite3_prepare_v2(db, tail, (int)(end - tail), &st, &next) != SQLITE_OK) return true;
    if (st) { sqlite3_finalize(st); return true; }
    if (!next || next <= tail) return false;
    tail = next;
  }
  return false;
}

/* Steps st to its end, appending its columns, then its rows (nrows
** counts them, and is written at *at); stops early once the result is over
** its limit. The columns are read after the first step: a kept statement
** is prepared again there when the schema changed since (ALTER TABLE),
** and may then have others. SQLITE_DONE or the failure. */
static int ka_sql_rows(sqlite3_stmt *st, ka_out *o, uint32_t *nrows, size_t *at) {
  int rc = st ? sqlite3_step(st) : SQLITE_DONE;
  uint32_t ncol = st ? (uint32_t)sqlite3_column_count(st) : 0;
  ka_out_put(o, &ncol, 4);
  for (uint32_t j = 0; j < ncol; j++) {
    const char *name = sqlite3_column_name(st, (int)j);
    ka_out_str(o, name ? name : "", name ? strlen(name) : 0);
  }
  *at = o->len;
  ka_out_put(o, nrows, 4);
  for (; rc == SQLITE_ROW; rc = sqlite3_step(st)) {
    for (uint32_t j = 0; j < ncol; j++) ka_sql_value(o, st, (int)j);
    ++*nrows;
    if (o->over || o->nomem) return SQLITE_DONE;
  }
  return rc;
}

/* The kept statement of c whose SQL is exactly sql[0..n), or NULL. */
static sqlite3_stmt *ka_sql_cached(struct ka_sqlconn *c, const char *sql, uint32_t n) {
  for (int i = 0; i < KA_SQL_CACHE; i++) {
    ka_sqlstmt *k = &c->cache[i];
    if (k->st && k->n == n && memcmp(k->sql, sql, n) == 0) {
      k->used = ++c->clock;
      return k->st;
    }
  }
  return NULL;
}

/* Keeps st (prepared from sql[0..n)) in c's cache, in place of the least
** recently used statement when full; short SQL only, and only when memory
** allows (otherwise st is finalized by ka_sql_done). */
static void ka_sql_keep(struct ka_sqlconn *c, const char *sql, uint32_t n, sqlite3_stmt *st) {
  ka_sqlstmt *slot = &c->cache[0];
  if (!st || n > KA_SQL_CACHE_SQL) return;
  for (int i = 1; i < KA_SQL_CACHE && slot->st; i++)
    if (!c->cache[i].st || c->cache[i].used < slot->used) slot = &c->cache[i];
  char *copy = ku_malloc(n ? n : 1);
  if (!copy) return;
  memcpy(copy, sql, n);
  if (slot->st) { sqlite3_finalize(slot->st); ku_free(slot->sql); }
  *slot = (ka_sqlstmt){ st, copy, n, ++c->clock };
}

/* Ends a use of st: a kept statement is reset (releasing its read
** transaction even when its rows were not all read) and its bindings
** cleared; one not kept is finalized. */
static void ka_sql_done(struct ka_sqlconn *c, sqlite3_stmt *st) {
  for (int i = 0; st && i < KA_SQL_CACHE; i++)
    if (c->cache[i].st == st) {
      sqlite3_reset(st);
      sqlite3_clear_bindings(st);
      return;
    }
  sqlite3_finalize(st);
}

/* sqlite.execute: one statement with bound parameters; its columns, rows,
** changes and last rowid. */
int32_t ka_sql_execute(ka_ctx *x, ku_cursor *in, ka_out *out) {
  static const char op[] = "sqlite.execute";
  uint32_t h = ku_fixed32(in), n = ku_fixed32(in);
  const char *sql = (const char *)ku_bytes(in, n);
  uint32_t np = ku_fixed32(in), nrows = 0;
  ku_cursor scan = *in;
  for (uint32_t i = 0; i < np; i++) ka_sql_skip(&scan);
  if (!ku_eof(&scan)) ku_cfail(&scan, 0, "bytes after the parameters");
  sqlite3 *db = ka_sql_conn(x, h, op);
  sqlite3_stmt *st = NULL;
  const char *tail = NULL;
  if (!db) return KRAIT_E_STATE;
  if (x->deadline && kp_monotonic_ns() >= x->deadline) return ka_sql_fail(x, db, SQLITE_INTERRUPT, op);
  ka_sql_busy(x, db);
  if (n > INT32_MAX) return ka_fail_call(x, KRAIT_E_TOOBIG, "%s: the SQL is too long", op);
  x->sqldeny[0] = '\0';
  x->sqlticks = 0;
  struct ka_sqlconn *c = &x->conns[h];
  if (!(st = ka_sql_cached(c, sql, n))) {
    if (sqlite3_prepare_v2(db, sql, (int)n, &st, &tail) != SQLITE_OK) return ka_sql_fail(x, db, sqlite3_errcode(db), op);
    if (st && ka_sql_more(db, tail, sql + n)) {
      sqlite3_finalize(st);
      return ka_fail_call(x, KRAIT_E_INVAL, "%s runs one statement; this SQL has more after the "
                          "first (run them one by one)", op);
    }
    ka_sql_keep(c, sql, n, st);
  }
  int want = st ? sqlite3_bind_parameter_count(st) : 0;
  if ((int64_t)np != want) {
    ka_sql_done(c, st);
    return ka_fail_call(x, KRAIT_E_INVAL, "%s: the statement has %d parameter%s and %u value%s "
                        "were given", op, want, want == 1 ? "" : "s", np, np == 1 ? "" : "s");
  }
  for (uint32_t i = 0; i < np; i++)
    if (ka_sql_bind(st, (int)i + 1, in) != SQLITE_OK) {
      ka_sql_done(c, st);
      return ka_sql_fail(x, db, sqlite3_errcode(db), op);
    }
  size_t at = 0;
  int64_t before = sqlite3_total_changes64(db);
  int rc = ka_sql_rows(st, out, &nrows, &at);
  bool wrote = sqlite3_total_changes64(db) != before;
  ka_sql_done(c, st);
  if (rc != SQLITE_DONE) return ka_sql_fail(x, db, rc, op);
  if (!out->over && !out->nomem) memcpy(out->p + at, &nrows, 4);
  /* sqlite3_changes64 keeps the last INSERT/UPDATE/DELETE's count, maybe
  ** an earlier request's on a kept connection: a statement that changed no
  ** row (a read, DDL) reports 0 */
  int64_t changes = wrote ? sqlite3_changes64(db) : 0, rowid = sqlite3_last_insert_rowid(db);
  ka_out_put(out, &changes, 8);
  ka_out_put(out, &rowid, 8);
  return 0;
}

/* sqlite.exec: every statement of a script, no parameters, rows dropped;
** the count run. The deadline is checked before each statement (a script
** of many short ones never reaches the progress handler). */
int32_t ka_sql_exec(ka_ctx *x, ku_cursor *in, ka_out *out) {
  static const char op[] = "sqlite.exec";
  uint32_t h = ku_fixed32(in), count = 0;
  size_t n = ku_left(in);
  const char *sql = (const char *)ku_bytes(in, n), *end = sql + n;
  sqlite3 *db = ka_sql_conn(x, h, op);
  if (!db) return KRAIT_E_STATE;
  if (n > INT32_MAX) return ka_fail_call(x, KRAIT_E_TOOBIG, "%s: the SQL is too long", op);
  ka_sql_busy(x, db);
  x->sqlticks = 0;
  while (sql < end) {
    sqlite3_stmt *st = NULL;
    const char *next = NULL;
    x->sqldeny[0] = '\0';
    if (x->deadline && kp_monotonic_ns() >= x->deadline) return ka_sql_fail(x, db, SQLITE_INTERRUPT, op);
    int rc = sqlite3_prepare_v2(db, sql, (int)(end - sql), &st, &next);
    if (rc != SQLITE_OK) return ka_sql_fail(x, db, rc, op);
    while (st && (rc = sqlite3_step(st)) == SQLITE_ROW) {}
    sqlite3_finalize(st);
    if (st && rc != SQLITE_DONE) return ka_sql_fail(x, db, rc, op);
    count += st != NULL;
    if (!next || next <= sql) break;
    sql = next;
  }
  ka_out_put(out, &count, 4);
  return 0;
}

/* sqlite.close: closes handle h (an open transaction rolls back). */
int32_t ka_sql_close(ka_ctx *x, ku_cursor *in, ka_out *out) {
  uint32_t h = ku_fixed32(in);
  if (!ka_sql_conn(x, h, "sqlite.close")) return KRAIT_E_STATE;
  ka_sql_release(&x->conns[h]);
  return 0;
}

void ka_sql_end(ka_ctx *x) {
  for (int i = 0; i < x->nconns; i++) ka_sql_release(&x->conns[i]);
  ku_free(x->conns);
  x->conns = NULL;
  x->nconns = 0;
}
