/*
** kv.c -- the key-value binding's common front: opening stores, checking
** keys, values and limits, dispatching to a backend, counters and errors.
** Does not own any storage: that is sqlite.c and redis.c.
*/
#include "kv/kv_internal.h"

#include <stdarg.h>
#include <stdio.h>

static const char *const code_names[] = {
  [KK_OK] = "ok",               [KK_NOT_FOUND] = "not found",
  [KK_BAD_KEY] = "bad key",     [KK_TOO_LARGE] = "too large",
  [KK_BAD_ARG] = "bad argument", [KK_BAD_CONFIG] = "bad config",
  [KK_UNAVAILABLE] = "backend unavailable", [KK_IO] = "I/O error",
  [KK_NOMEM] = "out of memory", [KK_BACKEND] = "backend error",
};

static const char *const op_names[KK_OP_COUNT] = {
  [KK_OP_GET] = "get", [KK_OP_SET] = "set", [KK_OP_DELETE] = "delete",
  [KK_OP_EXISTS] = "exists", [KK_OP_LIST] = "list",
};

const char *kk_code_name(kk_code code) {
  if ((unsigned)code >= KU_COUNT(code_names)) return "unknown";
  return code_names[code];
}

const char *kk_op_name(kk_op op) {
  assert((unsigned)op < KK_OP_COUNT);
  return op_names[op];
}

/* Formats `store "<name>" (<desc>): <op>: <cause>` into err. */
kk_code kk_fail(kk_store *s, kk_error *err, kk_code code, const char *fmt, ...) {
  assert(err && code != KK_OK);
  char cause[384];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(cause, sizeof cause, fmt, ap);
  va_end(ap);
  err->kind = code;
  ku_fmt(err->message, sizeof err->message, "store \"%s\" (%s): %s: %s",
         s->name, s->desc[0] ? s->desc : "?", s->op ? s->op : "?", cause);
  ku_fmt(err->brief, sizeof err->brief, "store \"%s\": %s: %s",
         s->name, s->op ? s->op : "?", cause);
  return code;
}

/* Marks err as a success (empty message). */
static kk_code ok(kk_error *err) {
  err->kind = KK_OK;
  err->message[0] = err->brief[0] = 0;
  return KK_OK;
}

/* True when name is 1..KK_NAME_MAX characters of [A-Za-z0-9_.-]: no ':'
** so Redis prefixes of two stores never overlap, and no glob or path
** characters. */
static bool name_ok(const char *name) {
  size_t n = name ? strlen(name) : 0;
  if (n == 0 || n > KK_NAME_MAX) return false;
  for (size_t i = 0; i < n; i++) {
    char c = name[i];
    bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                 (c >= '0' && c <= '9');
    if (!alnum && c != '_' && c != '.' && c != '-') return false;
  }
  return true;
}

/* Opens a store: checks the name, then lets the backend connect/open. */
kk_store *kk_open(const kk_config *cfg, kk_error *err) {
  assert(cfg && err);
  kk_store tmp;
  memset(&tmp, 0, sizeof tmp);
  tmp.op = "open";
  ku_fmt(tmp.name, sizeof tmp.name, "%.*s", KK_NAME_MAX, cfg->name ? cfg->name : "");
  ku_fmt(tmp.desc, sizeof tmp.desc, "%s",
         cfg->backend == KK_REDIS ? "redis" : "sqlite");
  if (!name_ok(cfg->name)) {
    kk_fail(&tmp, err, KK_BAD_CONFIG,
            "store name must be 1..%d characters of A-Z a-z 0-9 _ . -",
            KK_NAME_MAX);
    return NULL;
  }
  kk_store *s = ku_calloc(1, sizeof *s);
  if (!s) { kk_fail(&tmp, err, KK_NOMEM, "out of memory"); return NULL; }
  *s = tmp;
  pthread_mutex_init(&s->lock, NULL);
  kk_code rc = cfg->backend == KK_REDIS ? kk_redis_open(s, cfg, err)
             : cfg->backend == KK_SQLITE ? kk_sqlite_open(s, cfg, err)
             : kk_fail(s, err, KK_BAD_CONFIG, "unknown backend %d",
                       (int)cfg->backend);
  if (rc != KK_OK) {
    pthread_mutex_destroy(&s->lock);
    ku_free(s);
    return NULL;
  }
  assert(s->ops && s->impl);
  s->op = NULL;
  ok(err);
  return s;
}

void kk_close(kk_store *s) {
  if (!s) return;
  s->ops->close(s);
  pthread_mutex_destroy(&s->lock);
  ku_free(s);
}

const char *kk_store_name(const kk_store *s) { return s->name; }
const char *kk_store_desc(const kk_store *s) { return s->desc; }

void kk_value_free(kk_value *v) {
  if (!v) return;
  ku_free(v->data);
  v->data = NULL;
  v->len = 0;
}

/* Copies the counters under the store's lock (the metrics endpoint reads
** them while workers run operations). */
void kk_stats_read(const kk_store *s, kk_stats *out) {
  pthread_mutex_t *lock = (pthread_mutex_t *)&s->lock;
  pthread_mutex_lock(lock);
  *out = s->stats;
  pthread_mutex_unlock(lock);
}

/* Starts an operation: takes the store's lock (one handle may serve
** several threads: krait serve gives one store to every app granted it),
** counts the operation and names it for messages. */
static void begin(kk_store *s, kk_op op) {
  assert(s);
  pthread_mutex_lock(&s->lock);
  s->stats.ops[op]++;
  s->op = op_names[op];
}

/* Ends an operation: counts a failure (anything but ok / not found) and
** releases the store's lock. */
static kk_code end(kk_store *s, kk_op op, kk_code rc, kk_error *err) {
  if (rc == KK_OK) ok(err);
  if (rc != KK_OK && rc != KK_NOT_FOUND) s->stats.errors[op]++;
  s->op = NULL;
  pthread_mutex_unlock(&s->lock);
  return rc;
}

/* Checks a key against the limits (1..KK_KEY_MAX bytes). */
static kk_code check_key(kk_store *s, const void *key, size_t len,
                         const char *what, kk_error *err) {
  if (len == 0) return kk_fail(s, err, KK_BAD_KEY, "%s is empty", what);
  if (len > KK_KEY_MAX)
    return kk_fail(s, err, KK_BAD_KEY, "%s is %zu bytes, the limit is %d",
                   what, len, KK_KEY_MAX);
  if (!key) return kk_fail(s, err, KK_BAD_ARG, "%s is NULL", what);
  return KK_OK;
}

kk_code kk_get(kk_store *s, const void *key, size_t key_len, kk_value *out,
               kk_error *err) {
  assert(out && err);
  begin(s, KK_OP_GET);
  out->data = NULL;
  out->len = 0;
  kk_code rc = check_key(s, key, key_len, "key", err);
  if (rc == KK_OK) rc = s->ops->get(s, key, key_len, out, err);
  if (rc == KK_NOT_FOUND) kk_fail(s, err, KK_NOT_FOUND, "key not found");
  return end(s, KK_OP_GET, rc, err);
}

/* Checks a value against the limits (0..KK_VALUE_MAX bytes). */
static kk_code check_value(kk_store *s, const void *val, size_t len,
                           kk_error *err) {
  if (len > KK_VALUE_MAX)
    return kk_fail(s, err, KK_TOO_LARGE,
                   "value is %zu bytes, the limit is %d (1 MiB)", len,
                   KK_VALUE_MAX);
  if (!val && len) return kk_fail(s, err, KK_BAD_ARG, "value is NULL");
  return KK_OK;
}

kk_code kk_set(kk_store *s, const void *key, size_t key_len, const void *val,
               size_t val_len, kk_error *err) {
  assert(err);
  begin(s, KK_OP_SET);
  kk_code rc = check_key(s, key, key_len, "key", err);
  if (rc == KK_OK) rc = check_value(s, val, val_len, err);
  if (rc == KK_OK)
    rc = s->ops->set(s, key, key_len, val ? val : (const void *)"", val_len, err);
  return end(s, KK_OP_SET, rc, err);
}

kk_code kk_delete(kk_store *s, const void *key, size_t key_len, kk_error *err) {
  assert(err);
  begin(s, KK_OP_DELETE);
  kk_code rc = check_key(s, key, key_len, "key", err);
  if (rc == KK_OK) rc = s->ops->del(s, key, key_len, err);
  return end(s, KK_OP_DELETE, rc, err);
}

kk_code kk_exists(kk_store *s, const void *key, size_t key_len, bool *found,
                  kk_error *err) {
  assert(found && err);
  begin(s, KK_OP_EXISTS);
  *found = false;
  kk_code rc = check_key(s, key, key_len, "key", err);
  if (rc == KK_OK) rc = s->ops->exists(s, key, key_len, found, err);
  return end(s, KK_OP_EXISTS, rc, err);
}

/* memcmp order with the shorter string first on a tie (BLOB order). */
static int key_cmp(const uint8_t *a, size_t an, const uint8_t *b, size_t bn) {
  int c = memcmp(a, b, an < bn ? an : bn);
  if (c) return c;
  return an < bn ? -1 : an > bn;
}

bool kk_has_prefix(const uint8_t *key, size_t len, const uint8_t *prefix,
                   size_t prefix_len) {
  return len >= prefix_len && memcmp(key, prefix, prefix_len) == 0;
}

/* Checks a list request and turns it into a range: the page starts after
** the cursor, or at the prefix when the cursor sorts before it. */
static kk_code make_range(kk_store *s, const kk_list_req *req, kk_range *r,
                          kk_error *err) {
  size_t limit = req->limit ? req->limit : KK_LIST_MAX;
  if (limit > KK_LIST_MAX)
    return kk_fail(s, err, KK_TOO_LARGE, "limit %zu is over %d keys per page",
                   limit, KK_LIST_MAX);
  if (req->prefix_len > KK_KEY_MAX)
    return kk_fail(s, err, KK_BAD_KEY, "prefix is %zu bytes, the limit is %d",
                   req->prefix_len, KK_KEY_MAX);
  if (!req->prefix && req->prefix_len)
    return kk_fail(s, err, KK_BAD_ARG, "prefix is NULL");
  if (req->cursor) {
    kk_code rc = check_key(s, req->cursor, req->cursor_len, "cursor", err);
    if (rc != KK_OK) return rc;
  }
  memset(r, 0, sizeof *r);
  r->prefix = req->prefix_len ? req->prefix : (const uint8_t *)"";
  r->prefix_len = req->prefix_len;
  r->limit = limit;
  r->lo = r->prefix;
  r->lo_len = r->prefix_len;
  r->lo_incl = true;
  if (req->cursor && key_cmp(req->cursor, req->cursor_len, r->prefix,
                             r->prefix_len) >= 0) {
    r->lo = req->cursor;
    r->lo_len = req->cursor_len;
    r->lo_incl = false;
  }
  return KK_OK;
}

kk_code kk_list(kk_store *s, const kk_list_req *req, kk_page *out,
                kk_error *err) {
  assert(req && out && err);
  begin(s, KK_OP_LIST);
  memset(out, 0, sizeof *out);
  kk_range r;
  kk_code rc = make_range(s, req, &r, err);
  if (rc == KK_OK) {
    out->keys = ku_arena_alloc(&out->arena, r.limit * sizeof *out->keys);
    rc = out->keys ? s->ops->list(s, &r, out, err)
                   : kk_fail(s, err, KK_NOMEM, "out of memory");
  }
  if (rc != KK_OK) kk_page_free(out);
  return end(s, KK_OP_LIST, rc, err);
}

/* Copies a key into the page's arena. The keys array was sized for the
** limit by kk_list, so this only allocates the bytes. */
bool kk_list_push(kk_page *out, const uint8_t *key, size_t len) {
  uint8_t *copy = ku_arena_alloc(&out->arena, len + 1);
  if (!copy) return false;
  memcpy(copy, key, len);
  out->keys[out->count].data = copy;
  out->keys[out->count].len = len;
  out->count++;
  return true;
}

void kk_page_free(kk_page *l) {
  if (!l) return;
  ku_arena_free(&l->arena);
  memset(l, 0, sizeof *l);
}
