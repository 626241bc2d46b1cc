/*
** redis.c -- the Redis backend of the key-value binding (hiredis, sync):
** URL parsing, connect/AUTH/SELECT with timeouts, one reconnect, commands.
** Does not own argument checks, counters or message layout (kv.c).
*/
#include "kv/kv_internal.h"

#include <hiredis/hiredis.h>

/*
** Layout, per store name N:
**   krait:kv:N:k:<key>   a string holding the value
**   krait:kv:N:index     a sorted set of every key, all scores 0
** Names have no ':' (kv.c), so two stores' layouts never overlap.
**
** Listing uses the index, not SCAN: SCAN walks the whole db (every store
** on the server) in hash order, so a sorted page after a cursor would cost
** a full scan per page. ZRANGEBYLEX on the index returns keys in memcmp
** order -- SQLite's BLOB order -- from any bound in O(log n + page).
** The price: every set/delete is a MULTI/EXEC of two commands, and keys
** written to Redis behind the binding's back are not listed.
*/

#define RD_ARGS 8

typedef struct rd_store {
  redisContext *c;             /* NULL while disconnected */
  char host[256];
  int port, db;
  char *user, *pass;           /* decoded; NULL when absent */
  struct timeval tv;
  char prefix[KK_NAME_MAX + 16];     /* "krait:kv:N:k:" */
  size_t prefix_len;
  char index[KK_NAME_MAX + 16];      /* "krait:kv:N:index" */
  uint8_t key[KK_NAME_MAX + 16 + KK_KEY_MAX];   /* prefix + a key */
  uint8_t lo[KK_KEY_MAX + 1], hi[KK_KEY_MAX + 1];  /* ZRANGEBYLEX bounds */
} rd_store;

/* One command as binary-safe arguments (hiredis' argv form, like %b). */
typedef struct rd_cmd {
  int argc;
  const char *argv[RD_ARGS];
  size_t len[RD_ARGS];
} rd_cmd;

/* Appends one argument of n bytes. */
static void arg(rd_cmd *c, const void *p, size_t n) {
  assert(c->argc < RD_ARGS);
  c->argv[c->argc] = p;
  c->len[c->argc] = n;
  c->argc++;
}

static void arg_s(rd_cmd *c, const char *s) { arg(c, s, strlen(s)); }

/* Builds the data key of a user key in r->key. */
static size_t data_key(rd_store *r, const uint8_t *key, size_t n) {
  memcpy(r->key, r->prefix, r->prefix_len);
  memcpy(r->key + r->prefix_len, key, n);
  return r->prefix_len + n;
}

/* ---- URL ------------------------------------------------------------- */

/* Copies s[0..n) with %XX decoded into a ku_malloc string; NULL when out
** of memory or on a bad escape (*bad set). */
static char *decode(const char *s, size_t n, bool *bad) {
  char *d = ku_malloc(n + 1);
  if (d && ku_unescape(s, n, d) == SIZE_MAX) {
    *bad = true;
    ku_free(d);
    return NULL;
  }
  return d;
}

/* Parses a decimal number in [lo, hi] from s[0..n); -1 when not one. */
static long number(const char *s, size_t n, long lo, long hi) {
  if (n == 0 || n > 9) return -1;
  long v = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9') return -1;
    v = v * 10 + (s[i] - '0');
  }
  return v >= lo && v <= hi ? v : -1;
}

/* Splits "[user]:password" into decoded r->user (NULL when empty) and
** r->pass. */
static const char *parse_userinfo(rd_store *r, const char *s, size_t n) {
  const char *colon = memchr(s, ':', n);
  if (!colon) return "credentials must be [user]:password";
  bool bad = false;
  size_t un = (size_t)(colon - s);
  if (un) r->user = decode(s, un, &bad);
  if (!bad) r->pass = decode(colon + 1, n - un - 1, &bad);
  if (bad) return "bad %XX escape in the credentials";
  if ((un && !r->user) || !r->pass) return "out of memory";
  return NULL;
}

/* Parses "host[:port]" or "[v6][:port]" into r->host and r->port. */
static const char *parse_hostport(rd_store *r, const char *s, size_t n) {
  const char *h = s, *end = s + n, *p;
  size_t hn;
  if (n && s[0] == '[') {
    const char *close = memchr(s, ']', n);
    if (!close) return "missing ']' after an IPv6 host";
    h = s + 1;
    hn = (size_t)(close - h);
    p = close + 1;
    if (p < end && *p != ':') return "junk after ']'";
  } else {
    p = memchr(s, ':', n);
    if (!p) p = end;
    hn = (size_t)(p - h);
  }
  if (hn == 0) return "no host";
  if (hn >= sizeof r->host) return "host name too long";
  memcpy(r->host, h, hn);
  r->host[hn] = 0;
  r->port = 6379;
  if (p < end) {
    long port = number(p + 1, (size_t)(end - p - 1), 1, 65535);
    if (port < 0) return "port must be 1..65535";
    r->port = (int)port;
  }
  return NULL;
}

/* Parses redis://[[user]:password@]host[:port][/db]; NULL or the reason
** it is malformed. */
static const char *parse_url(rd_store *r, const char *url) {
  static const char scheme[] = "redis://";
  if (strncmp(url, scheme, sizeof scheme - 1) != 0) return "must start with redis://";
  const char *a = url + sizeof scheme - 1;
  const char *slash = strchr(a, '/');
  const char *aend = slash ? slash : a + strlen(a);
  const char *at = NULL;
  for (const char *p = a; p < aend; p++)
    if (*p == '@') at = p;
  const char *why = at ? parse_userinfo(r, a, (size_t)(at - a)) : NULL;
  if (!why) why = parse_hostport(r, at ? at + 1 : a, (size_t)(aend - (at ? at + 1 : a)));
  r->db = 0;
  if (!why && slash && slash[1]) {
    long db = number(slash + 1, strlen(slash + 1), 0, 1000000);
    if (db < 0) return "db must be a number after '/'";
    r->db = (int)db;
  }
  return why;
}

/* ---- connection ------------------------------------------------------- */

/* Maps a Redis error reply to a code: transient states are "unavailable",
** anything else the server refused is a backend error. */
static kk_code reply_code(const char *msg) {
  static const char *const transient[] = { "LOADING", "BUSY", "MASTERDOWN",
                                           "TRYAGAIN", "CLUSTERDOWN" };
  for (size_t i = 0; i < KU_COUNT(transient); i++)
    if (strncmp(msg, transient[i], strlen(transient[i])) == 0) return KK_UNAVAILABLE;
  return KK_BACKEND;
}

/* Runs one handshake command on a fresh connection; OK unless it got no
** reply or an error reply. */
static kk_code handshake_cmd(kk_store *s, rd_store *r, rd_cmd *cmd,
                             const char *what, kk_error *err) {
  redisReply *rep = redisCommandArgv(r->c, cmd->argc, cmd->argv, cmd->len);
  if (!rep)
    return kk_fail(s, err, KK_UNAVAILABLE, "%s: %s", what, r->c->errstr);
  kk_code rc = KK_OK;
  if (rep->type == REDIS_REPLY_ERROR)
    rc = kk_fail(s, err, reply_code(rep->str), "%s: %s", what, rep->str);
  freeReplyObject(rep);
  return rc;
}

/* AUTH (when the URL has a password), SELECT (db other than 0), PING. */
static kk_code handshake(kk_store *s, rd_store *r, kk_error *err) {
  rd_cmd cmd = { 0 };
  kk_code rc = KK_OK;
  if (r->pass) {
    arg_s(&cmd, "AUTH");
    if (r->user) arg_s(&cmd, r->user);
    arg_s(&cmd, r->pass);
    rc = handshake_cmd(s, r, &cmd, "AUTH", err);
  }
  if (rc == KK_OK && r->db) {
    char db[16];
    ku_fmt(db, sizeof db, "%d", r->db);
    rd_cmd sel = { 0 };
    arg_s(&sel, "SELECT");
    arg_s(&sel, db);
    rc = handshake_cmd(s, r, &sel, "SELECT", err);
  }
  if (rc == KK_OK) {
    rd_cmd ping = { 0 };
    arg_s(&ping, "PING");
    rc = handshake_cmd(s, r, &ping, "PING", err);
  }
  return rc;
}

/* Drops the connection (if any). */
static void disconnect(rd_store *r) {
  if (r->c) redisFree(r->c);
  r->c = NULL;
}

/* Connects with the connect timeout, sets the command timeout and
** keepalive, then runs the handshake. */
static kk_code connect_to(kk_store *s, rd_store *r, kk_error *err) {
  assert(!r->c);
  r->c = redisConnectWithTimeout(r->host, r->port, r->tv);
  if (!r->c) return kk_fail(s, err, KK_NOMEM, "out of memory");
  kk_code rc = KK_OK;
  if (r->c->err)
    rc = kk_fail(s, err, KK_UNAVAILABLE, "cannot connect: %s", r->c->errstr);
  else if (redisSetTimeout(r->c, r->tv) != REDIS_OK ||
           redisEnableKeepAlive(r->c) != REDIS_OK)
    rc = kk_fail(s, err, KK_UNAVAILABLE, "cannot set socket options: %s",
                 r->c->errstr);
  if (rc == KK_OK) rc = handshake(s, r, err);
  if (rc != KK_OK) disconnect(r);
  return rc;
}

/* ---- commands --------------------------------------------------------- */

/* Checks one reply (and an EXEC's elements) for an error reply. */
static kk_code check_reply(kk_store *s, redisReply *rep, kk_error *err) {
  if (rep->type == REDIS_REPLY_ERROR)
    return kk_fail(s, err, reply_code(rep->str), "redis: %s", rep->str);
  if (rep->type == REDIS_REPLY_ARRAY)
    for (size_t i = 0; i < rep->elements; i++)
      if (rep->element[i]->type == REDIS_REPLY_ERROR)
        return check_reply(s, rep->element[i], err);
  return KK_OK;
}

/* Sends n commands in one write and reads their n replies. Returns false
** when the connection broke (r->c->err set); otherwise *last is the last
** reply and *rc the first error reply's code (every reply is read so the
** stream stays in step). */
static bool send_batch(kk_store *s, rd_store *r, const rd_cmd *cmds, int n,
                       redisReply **last, kk_code *rc, kk_error *err) {
  for (int i = 0; i < n; i++)
    if (redisAppendCommandArgv(r->c, cmds[i].argc, (const char **)cmds[i].argv,
                               cmds[i].len) != REDIS_OK)
      return false;
  *rc = KK_OK;
  for (int i = 0; i < n; i++) {
    void *rep = NULL;
    if (redisGetReply(r->c, &rep) != REDIS_OK || !rep) {
      if (*last) freeReplyObject(*last);
      *last = NULL;
      return false;
    }
    kk_code c = check_reply(s, rep, err);
    if (*rc == KK_OK) *rc = c;
    if (*last) freeReplyObject(*last);
    *last = rep;
  }
  return true;
}

/* Runs a batch, connecting first when disconnected. A broken connection
** (reset, EOF, timeout) is dropped and the batch retried once on a new
** one: every batch here is idempotent. On KK_OK *out is the last reply,
** for the caller to free. */
static kk_code exec_batch(kk_store *s, const rd_cmd *cmds, int n,
                          redisReply **out, kk_error *err) {
  rd_store *r = s->impl;
  char why[128] = "";
  for (int attempt = 0; attempt < 2; attempt++) {
    if (!r->c) {
      s->stats.reconnects++;
      kk_code rc = connect_to(s, r, err);
      if (rc != KK_OK) return rc;
    }
    redisReply *last = NULL;
    kk_code rc = KK_OK;
    if (send_batch(s, r, cmds, n, &last, &rc, err)) {
      if (rc == KK_OK) { *out = last; return KK_OK; }
      freeReplyObject(last);
      return rc;
    }
    ku_fmt(why, sizeof why, "%s", r->c->errstr[0] ? r->c->errstr : "connection lost");
    disconnect(r);
  }
  return kk_fail(s, err, KK_UNAVAILABLE, "connection lost twice: %s", why);
}

/* Runs one command; see exec_batch. */
static kk_code exec1(kk_store *s, const rd_cmd *cmd, redisReply **out,
                     kk_error *err) {
  return exec_batch(s, cmd, 1, out, err);
}

static kk_code rd_get(kk_store *s, const uint8_t *key, size_t key_len,
                      kk_value *out, kk_error *err) {
  rd_store *r = s->impl;
  rd_cmd cmd = { 0 };
  arg_s(&cmd, "GET");
  arg(&cmd, r->key, data_key(r, key, key_len));
  redisReply *rep;
  kk_code rc = exec1(s, &cmd, &rep, err);
  if (rc != KK_OK) return rc;
  if (rep->type == REDIS_REPLY_NIL) rc = KK_NOT_FOUND;
  else if (rep->type != REDIS_REPLY_STRING)
    rc = kk_fail(s, err, KK_BACKEND, "GET: unexpected reply type %d", rep->type);
  else if (!(out->data = ku_malloc(rep->len + 1)))
    rc = kk_fail(s, err, KK_NOMEM, "out of memory");
  else {
    memcpy(out->data, rep->str, rep->len);
    out->data[rep->len] = 0;
    out->len = rep->len;
  }
  freeReplyObject(rep);
  return rc;
}

/* Runs MULTI, cmd, an index update, EXEC as one batch. */
static kk_code transact(kk_store *s, const rd_cmd *cmd, const rd_cmd *idx,
                        kk_error *err) {
  rd_cmd batch[4] = { { 0 }, *cmd, *idx, { 0 } };
  arg_s(&batch[0], "MULTI");
  arg_s(&batch[3], "EXEC");
  redisReply *rep;
  kk_code rc = exec_batch(s, batch, 4, &rep, err);
  if (rc != KK_OK) return rc;
  if (rep->type != REDIS_REPLY_ARRAY)
    rc = kk_fail(s, err, KK_BACKEND, "EXEC: transaction aborted");
  freeReplyObject(rep);
  return rc;
}

static kk_code rd_set(kk_store *s, const uint8_t *key, size_t key_len,
                      const uint8_t *val, size_t val_len, kk_error *err) {
  rd_store *r = s->impl;
  rd_cmd set = { 0 }, idx = { 0 };
  arg_s(&set, "SET");
  arg(&set, r->key, data_key(r, key, key_len));
  arg(&set, val, val_len);
  arg_s(&idx, "ZADD");
  arg_s(&idx, r->index);
  arg_s(&idx, "0");
  arg(&idx, key, key_len);
  return transact(s, &set, &idx, err);
}

static kk_code rd_del(kk_store *s, const uint8_t *key, size_t key_len,
                      kk_error *err) {
  rd_store *r = s->impl;
  rd_cmd del = { 0 }, idx = { 0 };
  arg_s(&del, "DEL");
  arg(&del, r->key, data_key(r, key, key_len));
  arg_s(&idx, "ZREM");
  arg_s(&idx, r->index);
  arg(&idx, key, key_len);
  return transact(s, &del, &idx, err);
}

static kk_code rd_exists(kk_store *s, const uint8_t *key, size_t key_len,
                         bool *found, kk_error *err) {
  rd_store *r = s->impl;
  rd_cmd cmd = { 0 };
  arg_s(&cmd, "EXISTS");
  arg(&cmd, r->key, data_key(r, key, key_len));
  redisReply *rep;
  kk_code rc = exec1(s, &cmd, &rep, err);
  if (rc != KK_OK) return rc;
  if (rep->type == REDIS_REPLY_INTEGER) *found = rep->integer > 0;
  else rc = kk_fail(s, err, KK_BACKEND, "EXISTS: unexpected reply type %d", rep->type);
  freeReplyObject(rep);
  return rc;
}

/* The ZRANGEBYLEX lower bound: "-", "[lo" or "(lo" (into r->lo). */
static void lex_min(rd_store *r, const kk_range *g, rd_cmd *cmd) {
  if (g->lo_incl && g->lo_len == 0) { arg_s(cmd, "-"); return; }
  r->lo[0] = g->lo_incl ? '[' : '(';
  memcpy(r->lo + 1, g->lo, g->lo_len);
  arg(cmd, r->lo, g->lo_len + 1);
}

/* The ZRANGEBYLEX upper bound for keys with the prefix: "(" followed by
** the smallest string above every such key (trailing 0xff bytes dropped,
** the last byte incremented), or "+" when there is none. */
static void lex_max(rd_store *r, const kk_range *g, rd_cmd *cmd) {
  size_t n = g->prefix_len;
  while (n && g->prefix[n - 1] == 0xff) n--;
  if (n == 0) { arg_s(cmd, "+"); return; }
  r->hi[0] = '(';
  memcpy(r->hi + 1, g->prefix, n);
  r->hi[n]++;
  arg(cmd, r->hi, n + 1);
}

/* Copies up to limit members of a ZRANGEBYLEX reply into the page; one
** more sets out->more. */
static kk_code take_page(kk_store *s, const kk_range *g, redisReply *rep,
                         kk_page *out, kk_error *err) {
  if (rep->type != REDIS_REPLY_ARRAY)
    return kk_fail(s, err, KK_BACKEND, "ZRANGEBYLEX: unexpected reply type %d", rep->type);
  for (size_t i = 0; i < rep->elements; i++) {
    redisReply *e = rep->element[i];
    const uint8_t *k = (const uint8_t *)e->str;
    if (e->type != REDIS_REPLY_STRING || !kk_has_prefix(k, e->len, g->prefix, g->prefix_len))
      break;
    if (out->count == g->limit) { out->more = true; break; }
    if (!kk_list_push(out, k, e->len)) return kk_fail(s, err, KK_NOMEM, "out of memory");
  }
  return KK_OK;
}

/* Lists one page from the index with ZRANGEBYLEX ... LIMIT 0 limit+1. */
static kk_code rd_list(kk_store *s, const kk_range *g, kk_page *out,
                       kk_error *err) {
  rd_store *r = s->impl;
  char count[24];
  ku_fmt(count, sizeof count, "%zu", g->limit + 1);
  rd_cmd cmd = { 0 };
  arg_s(&cmd, "ZRANGEBYLEX");
  arg_s(&cmd, r->index);
  lex_min(r, g, &cmd);
  lex_max(r, g, &cmd);
  arg_s(&cmd, "LIMIT");
  arg_s(&cmd, "0");
  arg_s(&cmd, count);
  redisReply *rep;
  kk_code rc = exec1(s, &cmd, &rep, err);
  if (rc != KK_OK) return rc;
  rc = take_page(s, g, rep, out, err);
  freeReplyObject(rep);
  return rc;
}

/* Frees the connection and the parsed URL. */
static void rd_free(rd_store *r) {
  disconnect(r);
  ku_free(r->user);
  ku_free(r->pass);
  ku_free(r);
}

static void rd_close(kk_store *s) { rd_free(s->impl); s->impl = NULL; }

static const kk_ops redis_ops = {
  rd_get, rd_set, rd_del, rd_exists, rd_list, rd_close,
};

/* Parses the URL, names the keys and connects (so a dead server is
** reported at open). */
kk_code kk_redis_open(kk_store *s, const kk_config *cfg, kk_error *err) {
  const char *url = cfg->url ? cfg->url : "";
  rd_store *r = ku_calloc(1, sizeof *r);
  if (!r) return kk_fail(s, err, KK_NOMEM, "out of memory");
  const char *why = parse_url(r, url);
  if (why) {
    ku_fmt(s->desc, sizeof s->desc, "redis");
    rd_free(r);
    return kk_fail(s, err, KK_BAD_CONFIG, "bad URL (%s): expected "
                   "redis://[:password@]host:port/db", why);
  }
  ku_fmt(s->desc, sizeof s->desc, strchr(r->host, ':') ? "redis [%s]:%d/%d"
         : "redis %s:%d/%d", r->host, r->port, r->db);
  ku_fmt(r->prefix, sizeof r->prefix, "krait:kv:%s:k:", s->name);
  r->prefix_len = strlen(r->prefix);
  ku_fmt(r->index, sizeof r->index, "krait:kv:%s:index", s->name);
  int ms = cfg->timeout_ms > 0 ? cfg->timeout_ms : KK_TIMEOUT_MS;
  r->tv.tv_sec = ms / 1000;
  r->tv.tv_usec = (ms % 1000) * 1000;
  s->impl = r;
  kk_code rc = connect_to(s, r, err);
  if (rc != KK_OK) { s->impl = NULL; rd_free(r); return rc; }
  s->ops = &redis_ops;
  return KK_OK;
}
