/*
** bindings.c -- the host bindings behind the "krait" imports call and
** call_result (python/c/krait_abi.h): one table entry per operation, each
** result kept for the request until call_result. Not the operations
** (sqldb.c, netops.c, redisdb.c, pgdb.c, llm.c).
*/
#include <stdarg.h>
#include <string.h>

#include "app/app_internal.h"
#include "../../python/c/krait_abi.h"
#include "util/util.h"

/* The operations call runs, by name. A new binding adds its entries here
** (and its file); python.wasm needs no change. */
/* waits: its time is charged to the request's wait budget (ka_wait_timed;
** net.* charge their own). */
static const struct { const char *name; ka_op_fn fn; bool waits; } ka_ops[] = {
  { "sqlite.open", ka_sql_open, false },
  { "sqlite.execute", ka_sql_execute, false },
  { "sqlite.exec", ka_sql_exec, false },
  { "sqlite.close", ka_sql_close, false },
  { "net.connect", ka_net_op_connect, false },
  { "net.tls", ka_net_op_tls, false },
  { "net.send", ka_net_op_send, false },
  { "net.recv", ka_net_op_recv, false },
  { "net.poll", ka_net_op_poll, false },
  { "net.shutdown", ka_net_op_shutdown, false },
  { "net.close", ka_net_op_close, false },
  { "redis.open", ka_redis_open, true },
  { "redis.command", ka_redis_command, true },
  { "redis.close", ka_redis_close, true },
  { "postgres.open", ka_pg_open, true },
  { "postgres.query", ka_pg_query, true },
  { "postgres.execute", ka_pg_execute, true },
  { "postgres.close", ka_pg_close, true },
  { "llm.infer", ka_llm_infer, false },
  { "llm.chat", ka_llm_chat, false },
  { "llm.embed", ka_llm_embed, false },
};

int32_t ka_fail_call(ka_ctx *x, int32_t code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(x->error, sizeof x->error, fmt, ap);
  va_end(ap);
  return code;
}

bool ka_out_put(ka_out *o, const void *data, size_t n) {
  if (o->over || o->nomem) return false;
  if (o->len + n > KRAIT_CALL_MAX_RESULT) { o->over = true; return false; }
  if (o->len + n > o->cap) {
    size_t cap = o->cap ? o->cap * 2 : 256;
    while (cap < o->len + n) cap *= 2;
    uint8_t *p = ku_realloc(o->p, cap);
    if (!p) { o->nomem = true; return false; }
    o->p = p;
    o->cap = cap;
  }
  if (n) memcpy(o->p + o->len, data, n);
  o->len += n;
  return true;
}

bool ka_out_str(ka_out *o, const void *data, size_t n) {
  uint32_t len = (uint32_t)n;
  return n <= UINT32_MAX && ka_out_put(o, &len, 4) && ka_out_put(o, data, n);
}

/* The guest bytes [ptr, ptr + len), or NULL when out of bounds. */
static const uint8_t *ka_guest(krait_caller *c, uint32_t ptr, uint32_t len) {
  krait_memory *m = krait_caller_memory(c);
  if (!m || (uint64_t)ptr + len > krait_memory_size(m)) return NULL;
  return krait_memory_data(m) + ptr;
}

/* The operation named (name, n), or NULL; *waits its table flag. */
static ka_op_fn ka_op(const char *name, size_t n, bool *waits) {
  for (size_t i = 0; i < sizeof ka_ops / sizeof ka_ops[0]; i++)
    if (strlen(ka_ops[i].name) == n && memcmp(ka_ops[i].name, name, n) == 0) {
      *waits = ka_ops[i].waits;
      return ka_ops[i].fn;
    }
  return NULL;
}

/* Runs op on a private copy of the request (the guest's memory may move
** while the host works; wiped after), through the bounded cursor, its
** time charged to the wait budget when it waits; keeps the result in x.
** The operation's code, or E_INVAL for a malformed request. */
static int32_t ka_run_op(ka_ctx *x, ka_op_fn op, bool waits, const char *name, const uint8_t *req,
                         size_t n) {
  char msg[160];
  ku_fail fail = { .msg = msg, .cap = sizeof msg };
  uint8_t *copy = ku_malloc(n + 1);
  ka_out out = { 0 };
  int32_t rc;
  if (!copy) return ka_fail_call(x, KRAIT_E_TOOBIG, "%s: out of memory", name);
  memcpy(copy, req, n);
  ku_cursor c = { copy, copy + n, copy, name, &fail };
  if (setjmp(fail.jb)) rc = ka_fail_call(x, KRAIT_E_INVAL, "%s: malformed request (%s)", name, msg);
  else rc = waits ? ka_wait_timed(x, &c, &out, op) : op(x, &c, &out);
  if (rc == 0 && out.over)
    rc = ka_fail_call(x, KRAIT_E_TOOBIG, "%s: the result is over the %u-byte limit (%u MiB): "
                      "select fewer rows or columns, or page with LIMIT/OFFSET", name,
                      KRAIT_CALL_MAX_RESULT, KRAIT_CALL_MAX_RESULT >> 20);
  else if (rc == 0 && out.nomem)
    rc = ka_fail_call(x, KRAIT_E_TOOBIG, "%s: out of memory building the result", name);
  explicit_bzero(copy, n);   /* it may hold a password (redis.open, postgres.open) */
  ku_free(copy);
  ku_free(x->result);
  x->result = NULL;
  x->result_len = 0;
  if (rc != 0) { ku_free(out.p); return rc; }
  x->result = out.p;
  x->result_len = out.len;
  return (int32_t)out.len;
}

/* Whether (name, n) is an operation of krait python: net.*, and llm.*
** when it was given models (ka_cli_llm). */
static bool ka_cli_op(const ka_ctx *x, const char *name, size_t n) {
  return (n > 4 && memcmp(name, "net.", 4) == 0) || (x->llm && n > 4 && memcmp(name, "llm.", 4) == 0);
}

/* call(name, nlen, req, rlen) -> len */
int ka_imp_call(krait_caller *c, void *env, krait_slot *ar) {
  (void)env;
  ar[0].i32 = ka_call_on(krait_caller_data(c), c, ar);
  return 0;
}

int32_t ka_call_on(ka_ctx *x, krait_caller *c, krait_slot *ar) {
  const char *name = (const char *)ka_guest(c, (uint32_t)ar[0].i32, (uint32_t)ar[1].i32);
  const uint8_t *req = ka_guest(c, (uint32_t)ar[2].i32, (uint32_t)ar[3].i32);
  uint32_t nlen = (uint32_t)ar[1].i32;
  bool waits = false;
  ka_op_fn op = name ? ka_op(name, nlen, &waits) : NULL;
  if (!name || !req) ar[0].i32 = ka_fail_call(x, KRAIT_E_INVAL, "call: buffer outside memory");
  else if (x->cli && !ka_cli_op(x, name, nlen))
    ar[0].i32 = ka_fail_call(x, KRAIT_E_NOSYS, "%.*s: not running under krait serve (krait python "
                             "has only the net.* operations, and llm.* with --llm-model)",
                             (int)(nlen > 64 ? 64 : nlen), name);
  else if (!op)
    ar[0].i32 = ka_fail_call(x, KRAIT_E_NOTFOUND, "call: no host operation \"%.*s\" in this krait",
                             (int)(nlen > 64 ? 64 : nlen), name);
  else if ((uint32_t)ar[3].i32 > KA_CALL_MAX_REQUEST)
    ar[0].i32 = ka_fail_call(x, KRAIT_E_TOOBIG, "%.*s: the request is over the %u-byte limit (%u MiB)",
                             (int)(nlen > 64 ? 64 : nlen), name, KA_CALL_MAX_REQUEST,
                             KA_CALL_MAX_REQUEST >> 20);
  else if (!x->req && !x->cli)
    ar[0].i32 = ka_fail_call(x, KRAIT_E_STATE, "%.*s: host bindings are used while handling a "
                             "request, not while the app boots (nothing opened then would be in "
                             "the snapshot)", (int)nlen, name);
  else {
    char shown[65];
    snprintf(shown, sizeof shown, "%.*s", (int)nlen, name);
    ar[0].i32 = ka_run_op(x, op, waits, shown, req, (uint32_t)ar[3].i32);
  }
  return ar[0].i32;
}

/* call_result(buf, cap) -> len: copies the kept result when it fits. */
int ka_imp_call_result(krait_caller *c, void *env, krait_slot *ar) {
  (void)env;
  ar[0].i32 = ka_call_result_on(krait_caller_data(c), c, ar);
  return 0;
}

int32_t ka_call_result_on(ka_ctx *x, krait_caller *c, krait_slot *ar) {
  uint32_t cap = (uint32_t)ar[1].i32;
  uint8_t *dst = (uint8_t *)ka_guest(c, (uint32_t)ar[0].i32, cap);
  if (!dst) return ka_fail_call(x, KRAIT_E_INVAL, "call_result: buffer outside memory");
  if (x->result_len <= cap && x->result_len) memcpy(dst, x->result, x->result_len);
  return (int32_t)x->result_len;
}

void ka_bindings_end(ka_ctx *x) {
  ka_sql_end(x);
  ka_net_end(&x->net);
  ka_redis_end(x);
  ka_pg_end(x);
  ku_free(x->result);
  x->result = NULL;
  x->result_len = 0;
}
