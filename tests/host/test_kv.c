/*
** tests/host/test_kv.c -- the key-value binding (src/kv/) against both real
** backends: one test list run on SQLite files and on a redis-server this
** binary starts itself, plus each backend's own cases. Owns no kv code.
*/
#define _GNU_SOURCE 1   /* pipe2, nftw */
#include "deploy/deploy.h"
#include "kv/kv.h"
#include "kv/kv_internal.h"
#include "manifest/manifest.h"
#include "test.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <sqlite3.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char tmpdir[256];          /* SQLite files, redis-server's dir */
static pid_t main_pid;
static pid_t redis_pid;
static int redis_port;
static char redis_url[128];
static char redis_problem[700];   /* why redis-server did not start */
static kk_backend cur;            /* backend under test */
static int seq;                   /* fresh store names */

/* ---- helpers ------------------------------------------------------------ */

/* Fails the test unless call returns KK_OK; uses the local `err`. */
#define OK(call)                                                          \
  do {                                                                    \
    kk_code t_rc = (call);                                                \
    if (t_rc != KK_OK) {                                                  \
      char t_m[900];                                                      \
      snprintf(t_m, sizeof t_m, "%s to be ok (got %s: %s)", #call,        \
               kk_code_name(t_rc), err.message);                          \
      t_report(__FILE__, __LINE__, t_m);                                  \
      return;                                                             \
    }                                                                     \
  } while (0)

/* Fails the test unless message equals want (both printed on a mismatch;
** CHECK_STR's fixed buffer is too small for two full messages). */
#define CHECK_MSG(message, want)                                          \
  do {                                                                    \
    if (strcmp((message), (want)) != 0) {                                 \
      printf("  got:  %s\n  want: %s\n", (message), (want));              \
      t_report(__FILE__, __LINE__, #message " == " #want);                \
      return;                                                             \
    }                                                                     \
  } while (0)

/* Opens store `name` on the backend under test into var, or fails. */
#define OPEN(var, name)                                                   \
  kk_store *var = open_store(name, 3000, &err);                           \
  do {                                                                    \
    if (!var) { t_report(__FILE__, __LINE__, err.message); return; }      \
  } while (0)

/* A fresh store name, so tests never see each other's keys. */
static const char *fresh(char *buf) {
  snprintf(buf, 32, "t%d", ++seq);
  return buf;
}

/* The config of store `name` on the current backend (path/url buffers
** live in the caller). */
static kk_store *open_store(const char *name, int timeout_ms, kk_error *err) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s.db", tmpdir, name);
  kk_config cfg = { .backend = cur, .name = name, .path = path,
                    .url = redis_url, .timeout_ms = timeout_ms };
  return kk_open(&cfg, err);
}

static kk_code set_s(kk_store *s, const char *k, const char *v, kk_error *err) {
  return kk_set(s, k, strlen(k), v, strlen(v), err);
}

/* True when key k holds exactly the n bytes at want. */
static bool holds(kk_store *s, const void *k, size_t kn, const void *want,
                  size_t n) {
  kk_error err;
  kk_value v;
  if (kk_get(s, k, kn, &v, &err) != KK_OK) return false;
  bool same = v.len == n && memcmp(v.data, want, n) == 0 && v.data[n] == 0;
  kk_value_free(&v);
  return same;
}

static bool holds_s(kk_store *s, const char *k, const char *v) {
  return holds(s, k, strlen(k), v, strlen(v));
}

/* Formats a page's keys as one string, keys separated by '|', bytes
** outside printable ASCII as \xNN. */
static void page_str(const kk_page *p, char *buf, size_t cap) {
  size_t o = 0;
  buf[0] = 0;
  for (size_t i = 0; i < p->count && o + 8 < cap; i++) {
    if (i) buf[o++] = '|';
    for (size_t j = 0; j < p->keys[i].len && o + 8 < cap; j++) {
      uint8_t c = p->keys[i].data[j];
      if (c >= 0x20 && c < 0x7f && c != '\\') buf[o++] = (char)c;
      else o += (size_t)snprintf(buf + o, cap - o, "\\x%02x", c);
    }
    buf[o] = 0;
  }
}

/* Lists one page (prefix/cursor as C strings or NULL) into buf. */
static kk_code list_str(kk_store *s, const char *prefix, const char *cursor,
                        size_t limit, char *buf, size_t cap, bool *more,
                        kk_error *err) {
  kk_list_req req = { prefix, prefix ? strlen(prefix) : 0, cursor,
                      cursor ? strlen(cursor) : 0, limit };
  kk_page p;
  kk_code rc = kk_list(s, &req, &p, err);
  if (rc != KK_OK) return rc;
  page_str(&p, buf, cap);
  *more = p.more;
  kk_page_free(&p);
  return rc;
}

/* ---- the shared list: both backends ------------------------------------ */

static void set_get(void) {
  kk_error err;
  char n[32];
  OPEN(s, fresh(n));
  OK(set_s(s, "alpha", "one", &err));
  kk_value v;
  OK(kk_get(s, "alpha", 5, &v, &err));
  CHECK_INT(v.len, 3);
  CHECK_STR((const char *)v.data, "one");
  kk_value_free(&v);
  CHECK(v.data == NULL);
  kk_close(s);
}

static void overwrite(void) {
  kk_error err;
  char n[32];
  OPEN(s, fresh(n));
  OK(set_s(s, "k", "first", &err));
  OK(set_s(s, "k", "a longer second value", &err));
  CHECK(holds_s(s, "k", "a longer second value"));
  OK(set_s(s, "k", "3", &err));
  CHECK(holds_s(s, "k", "3"));
  OK(kk_set(s, "k", 1, NULL, 0, &err));           /* empty value */
  CHECK(holds_s(s, "k", ""));
  bool found;
  OK(kk_exists(s, "k", 1, &found, &err));
  CHECK(found);
  kk_close(s);
}

static void delete_keys(void) {
  kk_error err;
  char n[32];
  OPEN(s, fresh(n));
  OK(set_s(s, "gone", "x", &err));
  OK(set_s(s, "kept", "y", &err));
  OK(kk_delete(s, "gone", 4, &err));
  kk_value v;
  CHECK_INT(kk_get(s, "gone", 4, &v, &err), KK_NOT_FOUND);
  OK(kk_delete(s, "gone", 4, &err));               /* missing: fine */
  OK(kk_delete(s, "never", 5, &err));
  CHECK(holds_s(s, "kept", "y"));
  char page[256];
  bool more;
  OK(list_str(s, NULL, NULL, 0, page, sizeof page, &more, &err));
  CHECK_STR(page, "kept");
  kk_close(s);
}

static void exists_keys(void) {
  kk_error err;
  char n[32];
  OPEN(s, fresh(n));
  bool found = true;
  OK(kk_exists(s, "a", 1, &found, &err));
  CHECK(!found);
  OK(set_s(s, "a", "", &err));
  OK(kk_exists(s, "a", 1, &found, &err));
  CHECK(found);
  OK(kk_exists(s, "ab", 2, &found, &err));
  CHECK(!found);
  OK(kk_delete(s, "a", 1, &err));
  OK(kk_exists(s, "a", 1, &found, &err));
  CHECK(!found);
  kk_close(s);
}

static void missing_key(void) {
  kk_error err;
  char n[32];
  OPEN(s, fresh(n));
  kk_value v = { (uint8_t *)"junk", 4 };
  CHECK_INT(kk_get(s, "nope", 4, &v, &err), KK_NOT_FOUND);
  CHECK(v.data == NULL && v.len == 0);
  CHECK_ERR(err, KK_NOT_FOUND);
  CHECK_CONTAINS(err.message, "not found");
  kk_stats st;
  kk_stats_read(s, &st);
  CHECK_INT(st.ops[KK_OP_GET], 1);
  CHECK_INT(st.errors[KK_OP_GET], 0);
  kk_close(s);
}

static void binary_keys_values(void) {
  kk_error err;
  char n[32];
  OPEN(s, fresh(n));
  uint8_t val[256], k1[] = { 'a', 0, 'b', 0xff }, k0[] = { 0, 0, 0 };
  for (int i = 0; i < 256; i++) val[i] = (uint8_t)i;
  OK(kk_set(s, k1, sizeof k1, val, sizeof val, &err));
  OK(kk_set(s, k0, sizeof k0, "\0\0", 2, &err));
  OK(kk_set(s, "a", 1, "plain a", 7, &err));
  CHECK(holds(s, k1, sizeof k1, val, sizeof val));
  CHECK(holds(s, k0, sizeof k0, "\0\0", 2));
  CHECK(holds(s, k0, 2, "", 0) == false);           /* shorter key: absent */
  CHECK(holds_s(s, "a", "plain a"));
  char page[256];
  bool more;
  OK(list_str(s, NULL, NULL, 0, page, sizeof page, &more, &err));
  CHECK_STR(page, "\\x00\\x00\\x00|a|a\\x00b\\xff");
  OK(kk_delete(s, k1, sizeof k1, &err));
  CHECK(holds_s(s, "a", "plain a"));
  kk_close(s);
}

static void key_limits(void) {
  kk_error err;
  char n[32], key[KK_KEY_MAX + 1];
  OPEN(s, fresh(n));
  memset(key, 'k', sizeof key);
  OK(kk_set(s, key, 256, "max", 3, &err));
  CHECK(holds(s, key, 256, "max", 3));
  CHECK_INT(kk_set(s, key, 257, "x", 1, &err), KK_BAD_KEY);
  CHECK_CONTAINS(err.message, "key is 257 bytes, the limit is 256");
  CHECK_CONTAINS(err.message, "set:");
  kk_value v;
  bool found;
  CHECK_INT(kk_get(s, key, 257, &v, &err), KK_BAD_KEY);
  CHECK_INT(kk_delete(s, key, 257, &err), KK_BAD_KEY);
  CHECK_INT(kk_exists(s, key, 257, &found, &err), KK_BAD_KEY);
  CHECK_INT(kk_set(s, "", 0, "x", 1, &err), KK_BAD_KEY);
  CHECK_CONTAINS(err.message, "key is empty");
  CHECK_INT(kk_get(s, "", 0, &v, &err), KK_BAD_KEY);
  kk_stats st;
  kk_stats_read(s, &st);
  CHECK_INT(st.errors[KK_OP_SET], 2);
  CHECK_INT(st.ops[KK_OP_SET], 3);
  kk_close(s);
}

static void value_limits(void) {
  kk_error err;
  char n[32];
  OPEN(s, fresh(n));
  size_t mib = 1024 * 1024;
  uint8_t *big = malloc(mib + 1);
  CHECK(big);
  for (size_t i = 0; i <= mib; i++) big[i] = (uint8_t)(i * 7 + (i >> 10));
  kk_code rc = kk_set(s, "big", 3, big, mib, &err);
  bool same = rc == KK_OK && holds(s, "big", 3, big, mib);
  kk_code over = kk_set(s, "over", 4, big, mib + 1, &err);
  free(big);
  CHECK_INT(rc, KK_OK);
  CHECK(same);
  CHECK_INT(over, KK_TOO_LARGE);
  CHECK_CONTAINS(err.message, "value is 1048577 bytes, the limit is 1048576");
  bool found = true;
  OK(kk_exists(s, "over", 4, &found, &err));
  CHECK(!found);
  CHECK_INT(kk_set(s, "k", 1, NULL, 5, &err), KK_BAD_ARG);
  kk_close(s);
}

static void list_sorted(void) {
  kk_error err;
  char n[32];
  OPEN(s, fresh(n));
  static const struct { const char *k; size_t n; } keys[] = {
    { "b", 1 }, { "a", 1 }, { "c", 1 }, { "ab", 2 }, { "a\0", 2 },
    { "\xff", 1 }, { "\0", 1 }, { "B", 1 },
  };
  for (size_t i = 0; i < KU_COUNT(keys); i++)
    OK(kk_set(s, keys[i].k, keys[i].n, "v", 1, &err));
  char page[256];
  bool more = true;
  OK(list_str(s, NULL, NULL, 0, page, sizeof page, &more, &err));
  CHECK_STR(page, "\\x00|B|a|a\\x00|ab|b|c|\\xff");
  CHECK(!more);
  OK(set_s(s, "a", "again", &err));                /* overwrite: listed once */
  OK(list_str(s, NULL, NULL, 0, page, sizeof page, &more, &err));
  CHECK_STR(page, "\\x00|B|a|a\\x00|ab|b|c|\\xff");
  kk_close(s);
}

static void list_prefix(void) {
  kk_error err;
  char n[32];
  OPEN(s, fresh(n));
  const char *keys[] = { "user:2", "user:10", "user:1", "usera", "use",
                         "order:1", "user;", "\xff\xff", "\xff", "\xfe" };
  for (size_t i = 0; i < KU_COUNT(keys); i++) OK(set_s(s, keys[i], "v", &err));
  char page[256];
  bool more;
  OK(list_str(s, "user:", NULL, 0, page, sizeof page, &more, &err));
  CHECK_STR(page, "user:1|user:10|user:2");
  CHECK(!more);
  OK(list_str(s, "user", NULL, 0, page, sizeof page, &more, &err));
  CHECK_STR(page, "user:1|user:10|user:2|user;|usera");
  OK(list_str(s, "\xff", NULL, 0, page, sizeof page, &more, &err));
  CHECK_STR(page, "\\xff|\\xff\\xff");
  OK(list_str(s, "zzz", NULL, 0, page, sizeof page, &more, &err));
  CHECK_STR(page, "");
  CHECK(!more);
  OK(list_str(s, "user:", NULL, 2, page, sizeof page, &more, &err));
  CHECK_STR(page, "user:1|user:10");
  CHECK(more);
  OK(list_str(s, "user:", "user:10", 2, page, sizeof page, &more, &err));
  CHECK_STR(page, "user:2");
  CHECK(!more);
  /* A cursor before the prefix starts at the prefix, one after it ends. */
  OK(list_str(s, "user:", "a", 2, page, sizeof page, &more, &err));
  CHECK_STR(page, "user:1|user:10");
  OK(list_str(s, "user:", "zz", 2, page, sizeof page, &more, &err));
  CHECK_STR(page, "");
  kk_close(s);
}

/* Walks every page of store s with page size `limit` and prefix, checking
** they come back as key%05d for first..last in order. */
static void walk_pages(kk_store *s, const char *prefix, size_t limit,
                       int first, int last, int *pages) {
  kk_error err;
  kk_page p = { 0 };
  char cursor[KK_KEY_MAX + 1] = "";
  int next = first;
  *pages = 0;
  for (;;) {
    kk_list_req req = { prefix, strlen(prefix), cursor[0] ? cursor : NULL,
                        strlen(cursor), limit };
    OK(kk_list(s, &req, &p, &err));
    (*pages)++;
    CHECK(p.count <= (limit ? limit : KK_LIST_MAX));
    for (size_t i = 0; i < p.count; i++, next++) {
      char want[32];
      snprintf(want, sizeof want, "key%05d", next);
      CHECK(p.keys[i].len == strlen(want) && memcmp(p.keys[i].data, want, p.keys[i].len) == 0);
    }
    bool more = p.more;
    if (p.count)
      snprintf(cursor, sizeof cursor, "%.*s", (int)p.keys[p.count - 1].len,
               (const char *)p.keys[p.count - 1].data);
    kk_page_free(&p);
    if (!more) break;
    CHECK(*pages < 100);
  }
  CHECK_INT(next, last + 1);
}

static void list_pagination(void) {
  kk_error err;
  char n[32];
  OPEN(s, fresh(n));
  for (int i = 2199; i >= 0; i--) {       /* reverse order on purpose */
    char k[32];
    snprintf(k, sizeof k, "key%05d", i);
    OK(set_s(s, k, "v", &err));
  }
  int pages = 0;
  walk_pages(s, "", 0, 0, 2199, &pages);
  if (t_failed_now) return;
  CHECK_INT(pages, 3);                       /* 1000 + 1000 + 200 */
  walk_pages(s, "key001", 7, 100, 199, &pages);
  if (t_failed_now) return;
  CHECK_INT(pages, 15);                      /* 14 * 7 + 2 */
  walk_pages(s, "", 1000, 0, 2199, &pages);
  if (t_failed_now) return;
  CHECK_INT(pages, 3);
  walk_pages(s, "key02", 100, 2000, 2199, &pages);
  if (t_failed_now) return;
  CHECK_INT(pages, 2);
  char page[64];
  bool more;
  CHECK_INT(list_str(s, NULL, NULL, 1001, page, sizeof page, &more, &err), KK_TOO_LARGE);
  CHECK_CONTAINS(err.message, "limit 1001 is over 1000 keys per page");
  char longp[KK_KEY_MAX + 2];
  memset(longp, 'p', sizeof longp - 1);
  longp[sizeof longp - 1] = 0;
  CHECK_INT(list_str(s, longp, NULL, 0, page, sizeof page, &more, &err), KK_BAD_KEY);
  kk_list_req req = { NULL, 0, "", 0, 5 };
  kk_page p;
  CHECK_INT(kk_list(s, &req, &p, &err), KK_BAD_KEY);  /* empty cursor */
  CHECK_CONTAINS(err.message, "cursor is empty");
  kk_close(s);
}

static void isolation(void) {
  kk_error err;
  char na[32], nb[32];
  OPEN(a, fresh(na));
  OPEN(b, fresh(nb));
  OK(set_s(a, "shared", "from a", &err));
  OK(set_s(b, "shared", "from b", &err));
  OK(set_s(a, "only-a", "1", &err));
  CHECK(holds_s(a, "shared", "from a"));
  CHECK(holds_s(b, "shared", "from b"));
  bool found = true;
  OK(kk_exists(b, "only-a", 6, &found, &err));
  CHECK(!found);
  char page[128];
  bool more;
  OK(list_str(b, NULL, NULL, 0, page, sizeof page, &more, &err));
  CHECK_STR(page, "shared");
  OK(kk_delete(a, "shared", 6, &err));
  CHECK(holds_s(b, "shared", "from b"));
  kk_close(a);
  kk_close(b);
}

static void persistence(void) {
  kk_error err;
  char n[32];
  OPEN(s, fresh(n));
  OK(set_s(s, "one", "1", &err));
  OK(set_s(s, "two", "2", &err));
  OK(kk_set(s, "bin\0", 4, "\0v\0", 3, &err));
  OK(set_s(s, "tmp", "x", &err));
  OK(kk_delete(s, "tmp", 3, &err));
  kk_close(s);
  OPEN(r, n);
  CHECK(holds_s(r, "one", "1"));
  CHECK(holds_s(r, "two", "2"));
  CHECK(holds(r, "bin\0", 4, "\0v\0", 3));
  char page[128];
  bool more;
  OK(list_str(r, NULL, NULL, 0, page, sizeof page, &more, &err));
  CHECK_STR(page, "bin\\x00|one|two");
  kk_close(r);
}

static void counters(void) {
  kk_error err;
  char n[32];
  OPEN(s, fresh(n));
  kk_value v;
  bool found;
  char page[64];
  bool more;
  OK(set_s(s, "a", "1", &err));
  OK(set_s(s, "b", "2", &err));
  OK(kk_get(s, "a", 1, &v, &err));
  kk_value_free(&v);
  CHECK_INT(kk_get(s, "zz", 2, &v, &err), KK_NOT_FOUND);
  OK(kk_exists(s, "a", 1, &found, &err));
  OK(kk_delete(s, "a", 1, &err));
  OK(list_str(s, NULL, NULL, 0, page, sizeof page, &more, &err));
  CHECK_INT(list_str(s, NULL, NULL, 5000, page, sizeof page, &more, &err), KK_TOO_LARGE);
  kk_stats st;
  kk_stats_read(s, &st);
  CHECK_INT(st.ops[KK_OP_SET], 2);
  CHECK_INT(st.ops[KK_OP_GET], 2);
  CHECK_INT(st.ops[KK_OP_EXISTS], 1);
  CHECK_INT(st.ops[KK_OP_DELETE], 1);
  CHECK_INT(st.ops[KK_OP_LIST], 2);
  CHECK_INT(st.errors[KK_OP_LIST], 1);
  CHECK_INT(st.errors[KK_OP_GET] + st.errors[KK_OP_SET], 0);
  CHECK_INT(st.reconnects, 0);
  CHECK_STR(kk_op_name(KK_OP_LIST), "list");
  kk_close(s);
}

static void message_names_store(void) {
  kk_error err;
  char n[32], want[600];
  OPEN(s, fresh(n));
  CHECK_STR(kk_store_name(s), n);
  if (cur == KK_SQLITE)
    snprintf(want, sizeof want, "store \"%s\" (sqlite %s/%s.db): get: key is empty", n, tmpdir, n);
  else
    snprintf(want, sizeof want, "store \"%s\" (redis 127.0.0.1:%d/0): get: key is empty", n, redis_port);
  kk_value v;
  CHECK_INT(kk_get(s, "", 0, &v, &err), KK_BAD_KEY);
  CHECK_MSG(err.message, want);
  CHECK_STR(kk_code_name(KK_UNAVAILABLE), "backend unavailable");
  kk_close(s);
  kk_config bad = { .backend = cur, .name = "no:colons", .path = "x.db", .url = redis_url };
  CHECK(kk_open(&bad, &err) == NULL);
  CHECK_ERR(err, KK_BAD_CONFIG);
  CHECK_CONTAINS(err.message, "store name must be");
}

enum { THREADS = 4, PER_THREAD = 40 };

/* One writer thread: its own store handle on a shared store name. */
static void *writer(void *arg) {
  int id = (int)(intptr_t)arg;
  kk_error err;
  kk_store *s = open_store("threads", 10000, &err);
  if (!s) { printf("thread %d: %s\n", id, err.message); return (void *)1; }
  intptr_t bad = 0;
  for (int i = 0; i < PER_THREAD && !bad; i++) {
    char k[32];
    snprintf(k, sizeof k, "t%d-%03d", id, i);
    if (set_s(s, k, "v", &err) != KK_OK) { printf("%s\n", err.message); bad = 1; }
  }
  kk_close(s);
  return (void *)bad;
}

/* Joins the test's threads; how many returned non-NULL (failed). */
static int join_all(pthread_t th[THREADS]) {
  int failed = 0;
  for (int i = 0; i < THREADS; i++) {
    void *r;
    pthread_join(th[i], &r);
    failed += r != NULL;
  }
  return failed;
}

static void threads_share_store(void) {
  kk_error err;
  OPEN(s, "threads");               /* creates the file/name first */
  pthread_t th[THREADS];
  for (int i = 0; i < THREADS; i++)
    CHECK(pthread_create(&th[i], NULL, writer, (void *)(intptr_t)i) == 0);
  CHECK_INT(join_all(th), 0);
  kk_list_req req = { NULL, 0, NULL, 0, 0 };
  kk_page p;
  OK(kk_list(s, &req, &p, &err));
  size_t count = p.count;
  kk_page_free(&p);
  CHECK_INT(count, THREADS * PER_THREAD);
  kk_close(s);
}

/* One handle used by several threads at once, as krait serve does when
** apps share a store (the notes demo: three apps, one store): each writes
** and reads back its own keys and lists the store. Without the store's own
** lock, SQLite's reused statements and hiredis' one connection interleave
** (wrong values, misuse errors, garbled replies). */
enum { SHARED_OPS = 200 };
static void *handle_user(void *arg) {
  kk_store *s = ((void **)arg)[0];
  int id = (int)(intptr_t)((void **)arg)[1];
  kk_error err;
  for (int i = 0; i < SHARED_OPS; i++) {
    char k[32], v[32];
    snprintf(k, sizeof k, "h%d-%04d", id, i);
    snprintf(v, sizeof v, "value %d %d", id, i);
    if (set_s(s, k, v, &err) != KK_OK) { printf("  set: %s\n", err.message); return (void *)1; }
    if (!holds(s, k, strlen(k), v, strlen(v))) { printf("  %s does not hold %s\n", k, v); return (void *)1; }
    kk_list_req req = { k, 2, NULL, 0, 5 };
    kk_page p;
    if (kk_list(s, &req, &p, &err) != KK_OK) { printf("  list: %s\n", err.message); return (void *)1; }
    kk_page_free(&p);
  }
  return NULL;
}

static void threads_share_handle(void) {
  kk_error err;
  OPEN(s, "handle");
  pthread_t th[THREADS];
  void *args[THREADS][2];
  for (int i = 0; i < THREADS; i++) {
    args[i][0] = s;
    args[i][1] = (void *)(intptr_t)i;
    CHECK(pthread_create(&th[i], NULL, handle_user, args[i]) == 0);
  }
  CHECK_INT(join_all(th), 0);
  kk_stats st;
  kk_stats_read(s, &st);
  CHECK_INT(st.ops[KK_OP_SET], THREADS * SHARED_OPS);
  kk_list_req req = { NULL, 0, NULL, 0, 0 };
  kk_page p;
  OK(kk_list(s, &req, &p, &err));
  CHECK_INT(p.count, THREADS * SHARED_OPS);
  kk_page_free(&p);
  kk_close(s);
}

typedef void (*test_fn)(void);
static const struct { const char *name; test_fn fn; } shared_tests[] = {
  { "set_get", set_get }, { "overwrite", overwrite },
  { "delete", delete_keys }, { "exists", exists_keys },
  { "missing_key", missing_key }, { "binary_keys_values", binary_keys_values },
  { "key_limits", key_limits }, { "value_limits", value_limits },
  { "list_sorted", list_sorted }, { "list_prefix", list_prefix },
  { "list_pagination", list_pagination }, { "isolation", isolation },
  { "persistence", persistence }, { "counters", counters },
  { "message_names_store", message_names_store },
  { "threads_share_store", threads_share_store },
  { "threads_share_handle", threads_share_handle },
};

/* ---- SQLite only ---------------------------------------------------------- */

static void sqlite_missing_dir(void) {
  kk_error err;
  char path[512];
  snprintf(path, sizeof path, "%s/no-such-dir/x.db", tmpdir);
  kk_config cfg = { .backend = KK_SQLITE, .name = "default", .path = path };
  CHECK(kk_open(&cfg, &err) == NULL);
  CHECK_ERR(err, KK_BAD_CONFIG);
  CHECK_CONTAINS(err.message, "store \"default\" (sqlite ");
  CHECK_CONTAINS(err.message, "no-such-dir\": No such file or directory");
  cfg.path = NULL;
  CHECK(kk_open(&cfg, &err) == NULL);
  CHECK_CONTAINS(err.message, "no file path given");
}

/* Runs one SQL query on a raw connection and copies column 0 of its
** first row. */
static void query1(sqlite3 *db, const char *sql, char *out, size_t cap) {
  sqlite3_stmt *st = NULL;
  out[0] = 0;
  if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK &&
      sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
    snprintf(out, cap, "%s", (const char *)sqlite3_column_text(st, 0));
  sqlite3_finalize(st);
}

static void sqlite_file_format(void) {
  kk_error err;
  char n[32], path[512], got[512];
  OPEN(s, fresh(n));
  OK(set_s(s, "k", "v", &err));
  snprintf(path, sizeof path, "%s/%s.db", tmpdir, n);
  sqlite3 *db;
  CHECK(sqlite3_open(path, &db) == SQLITE_OK);
  query1(db, "PRAGMA journal_mode", got, sizeof got);
  bool wal = strcmp(got, "wal") == 0;
  query1(db, "SELECT sql FROM sqlite_master WHERE name = 'kv'", got, sizeof got);
  bool without_rowid = t_contains(got, "WITHOUT ROWID") && t_contains(got, "key BLOB PRIMARY KEY");
  query1(db, "SELECT typeof(key) || ',' || typeof(value) FROM kv", got, sizeof got);
  sqlite3_close(db);
  CHECK(wal);
  CHECK(without_rowid);
  CHECK_STR(got, "blob,blob");
  kk_close(s);
}

/* A store's durability reaches its SQLite connection: "process" (the
** default) runs synchronous=NORMAL (1), "power" FULL (2), read back with
** PRAGMA synchronous on the store's own connection, both from a
** kk_config and from a krait.toml through kx_open_stores (what krait
** serve opens). */
static void sqlite_synchronous(void) {
  kk_error err;
  char n[32], path[512];
  snprintf(path, sizeof path, "%s/%s.db", tmpdir, fresh(n));
  kk_config cfg = { .backend = KK_SQLITE, .name = n, .path = path };
  kk_store *s = kk_open(&cfg, &err);
  CHECK(s);
  int normal = kk_sqlite_synchronous(s);
  kk_close(s);
  cfg.durability = KK_DURABLE_POWER;
  s = kk_open(&cfg, &err);
  CHECK(s);
  int full = kk_sqlite_synchronous(s);
  bool kept = set_s(s, "k", "v", &err) == KK_OK && holds_s(s, "k", "v");
  kk_close(s);
  CHECK_INT(normal, 1);
  CHECK_INT(full, 2);
  CHECK(kept);
  char text[1400], merr[512] = "";
  snprintf(text, sizeof text,
           "[app]\nstyle = \"spin\"\nkey_value_stores = [\"p\", \"q\", \"default\"]\n"
           "[key_value_stores.p]\npath = \"%s/p.db\"\ndurability = \"power\"\n"
           "[key_value_stores.q]\npath = \"%s/q.db\"\ndurability = \"process\"\n",
           tmpdir, tmpdir);
  km_source src = { "krait.toml", tmpdir, NULL, false };
  km_manifest *m = km_manifest_read(text, strlen(text), &src, merr, sizeof merr);
  if (!m) { t_report(__FILE__, __LINE__, merr); return; }
  kk_store **st = kx_open_stores(m);
  int got[3] = { -1, -1, -1 };
  for (int i = 0; st && i < 3 && i < m->nstores; i++) {
    got[i] = kk_sqlite_synchronous(st[i]);
    kk_close(st[i]);
  }
  free(st);
  km_manifest_free(m);
  CHECK_INT(got[0], 2);   /* p: power */
  CHECK_INT(got[1], 1);   /* q: process */
  CHECK_INT(got[2], 1);   /* default: process */
}

static void sqlite_locked(void) {
  kk_error err;
  char n[32], path[512];
  kk_store *s = open_store(fresh(n), 100, &err);
  if (!s) { t_report(__FILE__, __LINE__, err.message); return; }
  OK(set_s(s, "k", "v", &err));
  snprintf(path, sizeof path, "%s/%s.db", tmpdir, n);
  sqlite3 *db;
  CHECK(sqlite3_open(path, &db) == SQLITE_OK);
  CHECK(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK);
  kk_code locked = set_s(s, "k", "w", &err);
  kk_error lerr = err;
  bool readable = holds_s(s, "k", "v");           /* WAL: readers go on */
  sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
  sqlite3_close(db);
  CHECK_INT(locked, KK_UNAVAILABLE);
  char want[600];
  snprintf(want, sizeof want, "store \"%s\" (sqlite %s): set: database is locked", n, path);
  CHECK_MSG(lerr.message, want);
  CHECK(readable);
  OK(set_s(s, "k", "w", &err));
  CHECK(holds_s(s, "k", "w"));
  kk_stats st;
  kk_stats_read(s, &st);
  CHECK_INT(st.errors[KK_OP_SET], 1);
  kk_close(s);
}

/* The durability child: writes d000000, d000001, ... and reports each
** number on fd after kk_set returned KK_OK. Never returns. */
static void durability_child(const char *name, int fd) {
  kk_error err;
  kk_store *s = open_store(name, 5000, &err);
  if (!s) { printf("child: %s\n", err.message); fflush(stdout); _exit(2); }
  for (uint32_t i = 0; i < 1000000; i++) {
    char k[32], v[64];
    snprintf(k, sizeof k, "d%06u", i);
    snprintf(v, sizeof v, "value of %u", i);
    if (set_s(s, k, v, &err) != KK_OK) { printf("child: %s\n", err.message); _exit(3); }
    if (write(fd, &i, sizeof i) != sizeof i) _exit(4);
  }
  _exit(0);
}

/* Reads acks until EOF; returns how many, the highest in *max. */
static uint32_t read_acks(int fd, uint32_t stop_at, pid_t child, uint32_t *max) {
  uint32_t n = 0, i;
  bool killed = false;
  while (read(fd, &i, sizeof i) == sizeof i) {
    if (i != n) break;                 /* acks are consecutive */
    *max = i;
    n++;
    if (n == stop_at && !killed) { kill(child, SIGKILL); killed = true; }
  }
  return n;
}

static void sqlite_durability_sigkill(void) {
  char n[32];
  fresh(n);
  int p[2];
  CHECK(pipe(p) == 0);
  fflush(stdout);
  pid_t pid = fork();
  CHECK(pid >= 0);
  if (pid == 0) { close(p[0]); durability_child(n, p[1]); }
  close(p[1]);
  uint32_t max = 0, acks = read_acks(p[0], 200, pid, &max);
  close(p[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
  CHECK(acks >= 200);
  kk_error err;
  OPEN(s, n);
  for (uint32_t i = 0; i <= max; i++) {
    char k[32], v[64];
    snprintf(k, sizeof k, "d%06u", i);
    snprintf(v, sizeof v, "value of %u", i);
    if (!holds_s(s, k, v)) {
      printf("acknowledged key %s (of %u acks) is missing\n", k, acks);
      kk_close(s);
      CHECK(!"every acknowledged key present");
    }
  }
  kk_close(s);
}

/* ---- Redis only ----------------------------------------------------------- */

/* A raw hiredis connection to the test server (db 0). */
static redisContext *raw(void) {
  struct timeval tv = { 2, 0 };
  redisContext *c = redisConnectWithTimeout("127.0.0.1", redis_port, tv);
  if (c && c->err) { redisFree(c); c = NULL; }
  return c;
}

/* Runs a raw command; returns its integer reply, or -1 (-2 on errors). */
static long long raw_int(redisContext *c, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  redisReply *r = redisvCommand(c, fmt, ap);
  va_end(ap);
  if (!r) return -2;
  long long v = r->type == REDIS_REPLY_INTEGER ? r->integer
              : r->type == REDIS_REPLY_ERROR ? -2 : -1;
  freeReplyObject(r);
  return v;
}

static void redis_server_started(void) {
  if (redis_pid > 0) return;
  t_report(__FILE__, __LINE__, redis_problem);
}

static void redis_bad_urls(void) {
  static const char *const urls[] = {
    "http://127.0.0.1:6379/0", "redis://", "redis://host:0/0",
    "redis://host:99999/0", "redis://host:6379/x", "redis://pw@host:1/0",
    "redis://:%zz@host:1/0", "redis://[::1/0", "",
  };
  for (size_t i = 0; i < KU_COUNT(urls); i++) {
    kk_error err;
    kk_config cfg = { .backend = KK_REDIS, .name = "default", .url = urls[i] };
    kk_store *s = kk_open(&cfg, &err);
    if (s) { kk_close(s); printf("accepted %s\n", urls[i]); }
    CHECK(s == NULL);
    CHECK_ERR(err, KK_BAD_CONFIG);
    CHECK_CONTAINS(err.message, "store \"default\" (redis): open: bad URL");
  }
}

/* A loopback port nothing listens on (bound, then released). */
static int free_port(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
  socklen_t len = sizeof a;
  int port = -1;
  if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
      getsockname(fd, (struct sockaddr *)&a, &len) == 0)
    port = ntohs(a.sin_port);
  if (fd >= 0) close(fd);
  return port;
}

static void redis_unreachable(void) {
  char url[64];
  int port = free_port();
  CHECK(port > 0);
  snprintf(url, sizeof url, "redis://127.0.0.1:%d/0", port);
  kk_error err;
  kk_config cfg = { .backend = KK_REDIS, .name = "default", .url = url, .timeout_ms = 500 };
  CHECK(kk_open(&cfg, &err) == NULL);
  CHECK_ERR(err, KK_UNAVAILABLE);
  char want[128];
  snprintf(want, sizeof want, "store \"default\" (redis 127.0.0.1:%d/0): open: cannot connect: ", port);
  CHECK_CONTAINS(err.message, want);
  CHECK_CONTAINS(err.message, "refused");
}

static void redis_reconnect(void) {
  kk_error err;
  char n[32];
  OPEN(s, fresh(n));
  OK(set_s(s, "k", "before", &err));
  redisContext *c = raw();
  CHECK(c);
  long long killed = raw_int(c, "CLIENT KILL TYPE normal SKIPME yes");
  redisFree(c);
  CHECK(killed >= 1);
  CHECK(holds_s(s, "k", "before"));                /* reconnects once */
  OK(set_s(s, "k", "after", &err));
  CHECK(holds_s(s, "k", "after"));
  kk_stats st;
  kk_stats_read(s, &st);
  CHECK_INT(st.reconnects, 1);
  CHECK_INT(st.errors[KK_OP_GET], 0);
  kk_close(s);
}

static void redis_layout_and_db(void) {
  kk_error err;
  char n[32], url[128];
  snprintf(url, sizeof url, "redis://127.0.0.1:%d/3", redis_port);
  kk_config cfg = { .backend = KK_REDIS, .name = fresh(n), .url = url };
  kk_store *s = kk_open(&cfg, &err);
  if (!s) { t_report(__FILE__, __LINE__, err.message); return; }
  char desc[64];
  snprintf(desc, sizeof desc, "redis 127.0.0.1:%d/3", redis_port);
  CHECK_STR(kk_store_desc(s), desc);
  OK(kk_set(s, "a\0b", 3, "v", 1, &err));
  redisContext *c = raw();
  CHECK(c);
  char key[64];
  int kn = snprintf(key, sizeof key, "krait:kv:%s:k:a", n) + 2;
  memcpy(key + kn - 2, "\0b", 2);
  long long in0 = raw_int(c, "EXISTS %b", key, (size_t)kn);
  long long sel = raw_int(c, "SELECT 3");
  long long in3 = raw_int(c, "EXISTS %b", key, (size_t)kn);
  long long idx = raw_int(c, "ZCARD krait:kv:%s:index", n);
  raw_int(c, "SELECT 0");
  redisFree(c);
  CHECK_INT(in0, 0);
  CHECK_INT(sel, -1);                               /* +OK */
  CHECK_INT(in3, 1);
  CHECK_INT(idx, 1);
  kk_close(s);
}

static void redis_auth(void) {
  redisContext *c = raw();
  CHECK(c);
  raw_int(c, "CONFIG SET requirepass s3cret");
  char url[128];
  kk_error err, nopw, wrong;
  snprintf(url, sizeof url, "redis://:s3cret@127.0.0.1:%d/0", redis_port);
  kk_config cfg = { .backend = KK_REDIS, .name = "authed", .url = url };
  kk_store *s = kk_open(&cfg, &err);
  kk_code set = s ? set_s(s, "k", "v", &err) : KK_BACKEND;
  bool read_back = s && holds_s(s, "k", "v");
  kk_close(s);
  cfg.url = redis_url;
  kk_store *s2 = kk_open(&cfg, &nopw);
  snprintf(url, sizeof url, "redis://:wr%%6Fng@127.0.0.1:%d/0", redis_port);
  cfg.url = url;
  kk_store *s3 = kk_open(&cfg, &wrong);
  raw_int(c, "CONFIG SET requirepass %s", "");
  redisFree(c);
  kk_close(s2);
  kk_close(s3);
  if (!s) { t_report(__FILE__, __LINE__, err.message); return; }
  CHECK_INT(set, KK_OK);
  CHECK(read_back);
  CHECK(s2 == NULL && s3 == NULL);
  CHECK_ERR(nopw, KK_BACKEND);
  CHECK_CONTAINS(nopw.message, "NOAUTH");
  CHECK_ERR(wrong, KK_BACKEND);
  CHECK_CONTAINS(wrong.message, "open: AUTH: WRONGPASS");
  CHECK(!strstr(wrong.message, "wrong") && !strstr(wrong.message, "%6F"));
  CHECK(!strstr(nopw.message, "s3cret"));
}

/* ---- redis-server ------------------------------------------------------- */

/* The forked child: becomes redis-server, or reports exec's errno on fd. */
static void exec_redis(const char *dir, int port, int fd) {
  char p[16];
  snprintf(p, sizeof p, "%d", port);
  prctl(PR_SET_PDEATHSIG, SIGKILL);          /* never outlive the test */
  char log[600];
  snprintf(log, sizeof log, "%s/redis.log", dir);
  int out = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (out >= 0) { dup2(out, 1); dup2(out, 2); }
  execlp("redis-server", "redis-server", "--port", p, "--bind", "127.0.0.1",
         "--save", "", "--appendonly", "no", "--daemonize", "no", "--dir",
         dir, (char *)NULL);
  int e = errno;
  if (write(fd, &e, sizeof e) < 0) _exit(126);
  _exit(127);
}

/* Waits up to 10 s for the server to answer PING. */
static bool wait_ping(void) {
  for (int i = 0; i < 200; i++) {
    redisContext *c = raw();
    redisReply *r = c ? redisCommand(c, "PING") : NULL;
    bool pong = r && r->type == REDIS_REPLY_STATUS && strcmp(r->str, "PONG") == 0;
    if (r) freeReplyObject(r);
    if (c) redisFree(c);
    if (pong) return true;
    if (waitpid(redis_pid, NULL, WNOHANG) == redis_pid) { redis_pid = 0; return false; }
    usleep(50 * 1000);
  }
  return false;
}

/* Starts redis-server on a free loopback port in tmpdir/redis; on failure
** leaves the reason in redis_problem. */
static void start_redis(void) {
  char dir[512];
  snprintf(dir, sizeof dir, "%s/redis", tmpdir);
  mkdir(dir, 0755);
  redis_port = free_port();
  snprintf(redis_url, sizeof redis_url, "redis://127.0.0.1:%d/0", redis_port);
  int ep[2];
  if (redis_port <= 0 || pipe2(ep, O_CLOEXEC) != 0) {
    snprintf(redis_problem, sizeof redis_problem, "no free port or pipe: %s", strerror(errno));
    return;
  }
  redis_pid = fork();
  if (redis_pid == 0) exec_redis(dir, redis_port, ep[1]);
  close(ep[1]);
  int e = 0;
  ssize_t got = read(ep[0], &e, sizeof e);
  close(ep[0]);
  if (got == (ssize_t)sizeof e) {
    waitpid(redis_pid, NULL, 0);
    redis_pid = 0;
    snprintf(redis_problem, sizeof redis_problem,
             "redis-server could not be started (%s): the Redis tests need "
             "Debian's redis-server (sh scripts/bootstrap.sh installs it)", strerror(e));
    return;
  }
  if (!wait_ping()) {
    if (redis_pid > 0) { kill(redis_pid, SIGKILL); waitpid(redis_pid, NULL, 0); }
    redis_pid = 0;
    snprintf(redis_problem, sizeof redis_problem,
             "redis-server on port %d did not answer PING (see %s/redis.log)", redis_port, dir);
  }
}

/* Removes one entry of the temp tree (nftw callback). */
static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *f) {
  return remove(path);
}

/* Stops redis-server and removes the temp dir; runs at exit, only in the
** process that started them (never in a forked child). */
static void cleanup(void) {
  if (getpid() != main_pid) return;
  if (redis_pid > 0) {
    kill(redis_pid, SIGTERM);
    waitpid(redis_pid, NULL, 0);
    redis_pid = 0;
  }
  if (tmpdir[0] && !getenv("KRAIT_KV_KEEP")) nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Runs the shared list on one backend, names prefixed by the backend. */
static void run_shared(kk_backend b, const char *label) {
  cur = b;
  for (size_t i = 0; i < KU_COUNT(shared_tests); i++) {
    char name[96];
    snprintf(name, sizeof name, "%s/%s", label, shared_tests[i].name);
    t_run(name, shared_tests[i].fn);
  }
}

int main(void) {
  main_pid = getpid();
  snprintf(tmpdir, sizeof tmpdir, "%s/krait-kv-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
  if (!mkdtemp(tmpdir)) { printf("mkdtemp %s: %s\n", tmpdir, strerror(errno)); return 1; }
  atexit(cleanup);
  start_redis();
  RUN(redis_server_started);
  run_shared(KK_SQLITE, "sqlite");
  run_shared(KK_REDIS, "redis");
  cur = KK_SQLITE;
  RUN(sqlite_missing_dir);
  RUN(sqlite_file_format);
  RUN(sqlite_synchronous);
  RUN(sqlite_locked);
  RUN(sqlite_durability_sigkill);
  cur = KK_REDIS;
  RUN(redis_bad_urls);
  RUN(redis_unreachable);
  RUN(redis_reconnect);
  RUN(redis_layout_and_db);
  RUN(redis_auth);
  return t_summary();
}
