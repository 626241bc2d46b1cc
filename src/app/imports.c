/*
** imports.c -- the "krait" imports of python.wasm (python/c/krait_abi.h)
** on the host: request in, response out, key-value, log, variables and
** config. Every guest pointer is bounds-checked against memory 0.
*/
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "app/app_internal.h"
#include "../../python/c/krait_abi.h"
#include "util/cursor.h"
#include "util/util.h"

/* The error codes of the ABI, under the names this file uses. */
enum {
  KA_E_NOTFOUND = KRAIT_E_NOTFOUND, KA_E_INVAL = KRAIT_E_INVAL, KA_E_DENIED = KRAIT_E_DENIED,
  KA_E_TOOBIG = KRAIT_E_TOOBIG, KA_E_BACKEND = KRAIT_E_BACKEND, KA_E_STATE = KRAIT_E_STATE
};

/* Most bytes a response may have (headers and body, encoded). */
#define KA_MAX_RESPONSE (64u << 20)

/* The guest bytes [ptr, ptr + len), or NULL when out of bounds. */
static uint8_t *ka_span(krait_caller *c, uint32_t ptr, uint32_t len) {
  krait_memory *m = krait_caller_memory(c);
  if (!m || (uint64_t)ptr + len > krait_memory_size(m)) return NULL;
  return krait_memory_data(m) + ptr;
}

/* Records why a call failed (for error_message) and returns code. */
static int32_t ka_err(ka_ctx *x, int32_t code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(x->error, sizeof x->error, fmt, ap);
  va_end(ap);
  return code;
}

/* Copies n bytes of src to the guest buffer (ptr, cap) when they fit;
** returns n either way (the guest retries with a larger buffer). */
static int32_t ka_give(krait_caller *c, uint32_t ptr, uint32_t cap, const void *src, size_t n) {
  uint8_t *dst = ka_span(c, ptr, cap);
  if (!dst) return KA_E_INVAL;
  if (n <= cap) memcpy(dst, src, n);
  return (int32_t)n;
}

/* ---- encoding -------------------------------------------------------- */

/* Appends a u32 and n bytes at *p. */
static uint8_t *ka_put(uint8_t *p, const void *s, uint32_t n) {
  memcpy(p, &n, 4);
  memcpy(p + 4, s, n);
  return p + 4 + n;
}

uint8_t *ka_encode_request(const ka_request *req, size_t *len) {
  size_t n = 16 + strlen(req->method) + strlen(req->uri) + req->body_len;
  for (size_t i = 0; i < req->nheaders; i++)
    n += 8 + req->headers[i].name_len + req->headers[i].value_len;
  uint8_t *buf = ku_malloc(n), *p = buf;
  if (!buf) return NULL;
  uint32_t nh = (uint32_t)req->nheaders;
  p = ka_put(p, req->method, (uint32_t)strlen(req->method));
  p = ka_put(p, req->uri, (uint32_t)strlen(req->uri));
  memcpy(p, &nh, 4);
  p += 4;
  for (size_t i = 0; i < req->nheaders; i++) {
    p = ka_put(p, req->headers[i].name, (uint32_t)req->headers[i].name_len);
    p = ka_put(p, req->headers[i].value, (uint32_t)req->headers[i].value_len);
  }
  p = ka_put(p, req->body, (uint32_t)req->body_len);
  *len = (size_t)(p - buf);
  return buf;
}

/* A string (u32 length, bytes) at the cursor, as a view into its data. */
static const char *ka_str(ku_cursor *c, size_t *n) {
  uint32_t len = ku_fixed32(c);
  *n = len;
  return (const char *)ku_bytes(c, len);
}

/* Decodes a response of n bytes (a private copy in raw) into resp,
** reading the guest's encoding (little-endian u32s: status, header count,
** then length-prefixed names, values and body) through the bounded cursor.
** NULL, or why it cannot be taken. */
static const char *ka_decode_response(uint8_t *raw, size_t n, ka_response *resp) {
  char msg[160];
  ku_fail fail = { .msg = msg, .cap = sizeof msg };
  ku_cursor c = { raw, raw + n, raw, "response", &fail };
  uint32_t status, nh;
  resp->status = 0;
  if (setjmp(fail.jb)) return "malformed response encoding";
  status = ku_fixed32(&c);
  nh = ku_fixed32(&c);
  if (nh > n / 8 || status > 999) return "malformed response encoding";
  resp->status = (int)status;
  if (!(resp->headers = ku_calloc(nh + 1, sizeof *resp->headers))) return "out of memory";
  for (uint32_t i = 0; i < nh; i++) {
    ka_header *h = &resp->headers[i];
    h->name = ka_str(&c, &h->name_len);
    h->value = ka_str(&c, &h->value_len);
  }
  resp->body = (uint8_t *)ka_str(&c, &resp->body_len);
  if (!ku_eof(&c)) return "malformed response encoding";
  resp->nheaders = nh;
  resp->raw = raw;
  return NULL;
}

/* ---- the imports ------------------------------------------------------ */

#define KA_CTX ka_ctx *x = krait_caller_data(c)
#define U(i) ((uint32_t)ar[i].i32)

/* request(buf, cap) -> len */
static int ka_imp_request(krait_caller *c, void *env, krait_slot *ar) {
  KA_CTX;
  size_t n;
  if (!x->req) { ar[0].i32 = ka_err(x, KA_E_STATE, "no request while booting"); return 0; }
  uint8_t *enc = ka_encode_request(x->req, &n);
  if (!enc) return krait_caller_trap(c, "out of memory encoding the request");
  ar[0].i32 = ka_give(c, U(0), U(1), enc, n);
  ku_free(enc);
  return 0;
}

/* Why a handler's status cannot be a final answer, or NULL: 1xx would
** desynchronize keep-alive and pipelining, and 204/304 have no body. */
static const char *ka_bad_status(const ka_response *r) {
  if (r->status < 200 || r->status > 599) return "a final status must be 200..599";
  if ((r->status == 204 || r->status == 304) && r->body_len) return "204 and 304 have no body";
  return NULL;
}

/* Takes the encoded response at (ptr, len) into x->resp; 0 or an error. */
static int32_t ka_take_response(krait_caller *c, ka_ctx *x, uint32_t ptr, uint32_t len) {
  uint8_t *src = ka_span(c, ptr, len), *raw;
  if (!x->req || x->responded)
    return ka_err(x, KA_E_STATE, "respond may be called once per request");
  if (!src) return ka_err(x, KA_E_INVAL, "respond: buffer outside memory");
  if (len > KA_MAX_RESPONSE)
    return ka_err(x, KA_E_TOOBIG, "respond: %u bytes is over the %u-byte limit", len,
                  KA_MAX_RESPONSE);
  if (!(raw = ku_malloc((size_t)len + 1))) return ka_err(x, KA_E_TOOBIG, "respond: out of memory");
  memcpy(raw, src, len);
  const char *why = ka_decode_response(raw, len, x->resp);
  if (!why) why = ka_bad_status(x->resp);
  if (why) {
    int status = x->resp->status;
    ku_free(x->resp->headers);
    ku_free(raw);
    x->resp->headers = NULL;
    x->resp->raw = x->resp->body = NULL;
    x->resp->nheaders = x->resp->body_len = 0;
    x->resp->status = 0;
    fprintf(x->app->log, "[%s] respond: %s (status %d)\n", x->app->name, why, status);
    return ka_err(x, KA_E_INVAL, "respond: %s (status %d)", why, status);
  }
  x->responded = true;
  return 0;
}

/* respond(resp, len) -> 0 */
static int ka_imp_respond(krait_caller *c, void *env, krait_slot *ar) {
  KA_CTX;
  ar[0].i32 = ka_take_response(c, x, U(0), U(1));
  return 0;
}

/* respond_start(resp, len) -> 0: the head goes to the sink at once, with
** the first part; without a sink the parts are gathered. */
static int ka_imp_respond_start(krait_caller *c, void *env, krait_slot *ar) {
  KA_CTX;
  ar[0].i32 = ka_take_response(c, x, U(0), U(1));
  if (ar[0].i32 < 0) return 0;
  x->streaming = true;
  const ka_sink *k = x->req->sink;
  if (!k) return 0;
  k->head(k->data, x->resp);
  x->resp->streamed = true;
  x->resp->body_len = 0;
  return 0;
}

/* Appends n bytes to a gathered body (a sinkless stream). */
static bool ka_gather(ka_response *r, const uint8_t *p, size_t n) {
  if (r->body_len + n > KA_MAX_RESPONSE) return false;
  uint8_t *g = ku_realloc(r->gathered, r->body_len + n + 1);
  if (!g) return false;
  if (!r->gathered) memcpy(g, r->body, r->body_len);
  memcpy(g + r->body_len, p, n);
  r->gathered = r->body = g;
  r->body_len += n;
  return true;
}

/* send(buf, len) -> 0: the next part of a streamed body. */
static int ka_imp_send(krait_caller *c, void *env, krait_slot *ar) {
  KA_CTX;
  const uint8_t *p = ka_span(c, U(0), U(1));
  const ka_sink *k = x->req ? x->req->sink : NULL;
  if (!x->streaming) ar[0].i32 = ka_err(x, KA_E_STATE, "send before respond_start");
  else if (!p) ar[0].i32 = ka_err(x, KA_E_INVAL, "send: buffer outside memory");
  else if (k) { k->part(k->data, p, U(1)); ar[0].i32 = 0; }
  else ar[0].i32 = ka_gather(x->resp, p, U(1)) ? 0
                 : ka_err(x, KA_E_TOOBIG, "send: the gathered body is over %u bytes", KA_MAX_RESPONSE);
  return 0;
}

/* The grant behind handle h, or NULL. */
static ka_grant *ka_grant_of(ka_ctx *x, int32_t h) {
  return h >= 0 && h < x->app->ngrants ? &x->app->grants[h] : NULL;
}

/* kv_open(name, len) -> handle */
static int ka_imp_kv_open(krait_caller *c, void *env, krait_slot *ar) {
  KA_CTX;
  const char *name = (const char *)ka_span(c, U(0), U(1));
  ar[0].i32 = name ? ka_err(x, KA_E_DENIED, "key-value store \"%.*s\" is not granted to app "
                            "\"%s\" (grant it in krait.toml)", (int)(U(1) > 64 ? 64 : U(1)),
                            name, x->app->name)
                   : ka_err(x, KA_E_INVAL, "kv_open: name outside memory");
  for (int i = 0; name && i < x->app->ngrants; i++)
    if (strlen(x->app->grants[i].name) == U(1) && memcmp(x->app->grants[i].name, name, U(1)) == 0)
      ar[0].i32 = i;
  return 0;
}

/* Maps a failed kk_ call to an import result, keeping its message. */
static int32_t ka_kv_fail(ka_ctx *x, kk_code code, const kk_error *e) {
  int32_t r = code == KK_BAD_KEY || code == KK_BAD_ARG ? KA_E_INVAL
            : code == KK_TOO_LARGE ? KA_E_TOOBIG : KA_E_BACKEND;
  /* The guest never sees where the store lives; the operator's log does. */
  if (r == KA_E_BACKEND) fprintf(x->app->log, "[%s] %s\n", x->app->name, e->message);
  return ka_err(x, r, "%s", e->brief);
}

/* kv_get(h, key, klen, buf, cap) -> len | E_NOTFOUND */
static int ka_imp_kv_get(krait_caller *c, void *env, krait_slot *ar) {
  KA_CTX;
  ka_grant *g = ka_grant_of(x, ar[0].i32);
  const uint8_t *key = ka_span(c, U(1), U(2));
  kk_value v = { 0 };
  kk_error e;
  if (!g || !key) { ar[0].i32 = ka_err(x, KA_E_INVAL, "kv_get: bad handle or key"); return 0; }
  kk_code code = kk_get(g->store, key, U(2), &v, &e);
  if (code == KK_NOT_FOUND) ar[0].i32 = KA_E_NOTFOUND;
  else if (code != KK_OK) ar[0].i32 = ka_kv_fail(x, code, &e);
  else ar[0].i32 = ka_give(c, U(3), U(4), v.data, v.len);
  kk_value_free(&v);
  return 0;
}

/* kv_set(h, key, klen, val, vlen) -> 0 */
static int ka_imp_kv_set(krait_caller *c, void *env, krait_slot *ar) {
  KA_CTX;
  ka_grant *g = ka_grant_of(x, ar[0].i32);
  const uint8_t *key = ka_span(c, U(1), U(2)), *val = ka_span(c, U(3), U(4));
  kk_error e;
  if (!g || !key || !val) { ar[0].i32 = ka_err(x, KA_E_INVAL, "kv_set: bad handle or buffer"); return 0; }
  /* Keys come back to Python as str (get_keys): refuse what could not. */
  if (!ku_utf8_valid(key, U(2))) { ar[0].i32 = ka_err(x, KA_E_INVAL, "kv_set: the key is not valid UTF-8"); return 0; }
  kk_code code = kk_set(g->store, key, U(2), val, U(4), &e);
  ar[0].i32 = code == KK_OK ? 0 : ka_kv_fail(x, code, &e);
  return 0;
}

/* kv_delete(h, key, klen) -> 0 and kv_exists(h, key, klen) -> 0 | 1 */
static int ka_kv_keyop(krait_caller *c, krait_slot *ar, bool exists) {
  KA_CTX;
  ka_grant *g = ka_grant_of(x, ar[0].i32);
  const uint8_t *key = ka_span(c, U(1), U(2));
  kk_error e;
  bool found = false;
  if (!g || !key) { ar[0].i32 = ka_err(x, KA_E_INVAL, "kv: bad handle or key"); return 0; }
  kk_code code = exists ? kk_exists(g->store, key, U(2), &found, &e)
                        : kk_delete(g->store, key, U(2), &e);
  ar[0].i32 = code != KK_OK ? ka_kv_fail(x, code, &e) : found;
  return 0;
}

static int ka_imp_kv_delete(krait_caller *c, void *env, krait_slot *ar) { return ka_kv_keyop(c, ar, false); }
static int ka_imp_kv_exists(krait_caller *c, void *env, krait_slot *ar) { return ka_kv_keyop(c, ar, true); }

/* Encodes a page of keys as a key list; malloc'ed, *n its length. */
static uint8_t *ka_encode_keys(const kk_page *pg, size_t *n) {
  uint32_t count = (uint32_t)pg->count, more = pg->more && pg->count;
  size_t len = 8 + (more ? 4 + pg->keys[pg->count - 1].len : 0);   /* count, more, cursor */
  for (size_t i = 0; i < pg->count; i++) len += 4 + pg->keys[i].len;
  uint8_t *buf = ku_malloc(len), *p = buf;
  if (!buf) return NULL;
  memcpy(p, &count, 4);
  p += 4;
  for (size_t i = 0; i < pg->count; i++) p = ka_put(p, pg->keys[i].data, (uint32_t)pg->keys[i].len);
  memcpy(p, &more, 4);
  p += 4;
  if (more) p = ka_put(p, pg->keys[pg->count - 1].data, (uint32_t)pg->keys[pg->count - 1].len);
  assert((size_t)(p - buf) == len);
  *n = len;
  return buf;
}

/* kv_keys(h, prefix, plen, cursor, clen, limit, buf, cap) -> len */
static int ka_imp_kv_keys(krait_caller *c, void *env, krait_slot *ar) {
  KA_CTX;
  ka_grant *g = ka_grant_of(x, ar[0].i32);
  /* an empty prefix or cursor is none at all (kk_list wants NULL then) */
  kk_list_req q = { U(2) ? ka_span(c, U(1), U(2)) : NULL, U(2),
                    U(4) ? ka_span(c, U(3), U(4)) : NULL, U(4), U(5) };
  kk_page pg;
  kk_error e;
  size_t n;
  if (!g || (U(2) && !q.prefix) || (U(4) && !q.cursor)) {
    ar[0].i32 = ka_err(x, KA_E_INVAL, "kv_keys: bad arguments");
    return 0;
  }
  kk_code code = kk_list(g->store, &q, &pg, &e);
  if (code != KK_OK) { ar[0].i32 = ka_kv_fail(x, code, &e); return 0; }
  uint8_t *enc = ka_encode_keys(&pg, &n);
  kk_page_free(&pg);
  if (!enc) return krait_caller_trap(c, "out of memory listing keys");
  ar[0].i32 = ka_give(c, U(6), U(7), enc, n);
  ku_free(enc);
  return 0;
}

/* Writes the n bytes at s to f with every secret of app a in them
** replaced by "[secret]" (the longest one matching first). */
static void ka_write_redacted(FILE *f, const ka_app *a, const char *s, size_t n) {
  size_t from = 0;
  for (size_t i = 0; i < n;) {
    size_t hit = 0;
    for (int k = 0; k < a->nsecrets; k++) {
      size_t sl = strlen(a->secrets[k]);
      if (sl > hit && sl <= n - i && memcmp(s + i, a->secrets[k], sl) == 0) hit = sl;
    }
    if (!hit) { i++; continue; }
    fwrite(s + from, 1, i - from, f);
    fputs("[secret]", f);
    i += hit;
    from = i;
  }
  fwrite(s + from, 1, n - from, f);
}

/* log(level, msg, len) -> 0: one line in the app's log, secrets redacted. */
static int ka_imp_log(krait_caller *c, void *env, krait_slot *ar) {
  KA_CTX;
  const char *msg = (const char *)ka_span(c, U(1), U(2));
  static const char *names[] = { "DEBUG", "INFO", "WARNING", "ERROR" };
  int lv = ar[0].i32 / 10 - 1;
  if (msg) {
    flockfile(x->app->log);
    fprintf(x->app->log, "[%s] %s: ", x->app->name, names[lv < 0 ? 0 : lv > 3 ? 3 : lv]);
    ka_write_redacted(x->app->log, x->app, msg, U(2));
    fputc('\n', x->app->log);
    funlockfile(x->app->log);
  }
  ar[0].i32 = msg ? 0 : KA_E_INVAL;
  return 0;
}

/* variable(name, len, buf, cap) -> len | E_NOTFOUND. A variable whose
** template refers to [variables] is resolved at serve time: asking for it
** while the app boots (into the snapshot krait build writes) is refused. */
static int ka_imp_variable(krait_caller *c, void *env, krait_slot *ar) {
  KA_CTX;
  const char *name = (const char *)ka_span(c, U(0), U(1));
  ar[0].i32 = name ? KA_E_NOTFOUND : KA_E_INVAL;
  for (int i = 0; name && i < x->app->nvars; i++) {
    const ka_var *v = &x->app->vars[i];
    if (strlen(v->name) != U(1) || memcmp(v->name, name, U(1)) != 0) continue;
    if (v->value && (x->req || !v->template || !strstr(v->template, "{{")))
      ar[0].i32 = ka_give(c, U(2), U(3), v->value, strlen(v->value));
    else
      ar[0].i32 = ka_err(x, KA_E_STATE, "app variable \"%.*s\" is resolved when krait serve starts, not "
                         "while the app boots into its snapshot: read it in the handler", (int)U(1), name);
  }
  return 0;
}

/* config(buf, cap) -> len */
static int ka_imp_config(krait_caller *c, void *env, krait_slot *ar) {
  KA_CTX;
  ar[0].i32 = ka_give(c, U(0), U(1), x->app->config_json, strlen(x->app->config_json));
  return 0;
}

/* boot_info(json, len) -> 0: kept for krait build (boot only). */
static int ka_imp_boot_info(krait_caller *c, void *env, krait_slot *ar) {
  KA_CTX;
  const char *json = (const char *)ka_span(c, U(0), U(1));
  if (x->req) { ar[0].i32 = ka_err(x, KA_E_STATE, "boot_info outside krait_init"); return 0; }
  if (!json || U(1) > (1u << 20)) { ar[0].i32 = ka_err(x, KA_E_INVAL, "boot_info: bad buffer"); return 0; }
  ku_free(x->app->boot_info);
  x->app->boot_info = ku_strndup(json, U(1));
  ar[0].i32 = x->app->boot_info ? 0 : ka_err(x, KA_E_TOOBIG, "boot_info: out of memory");
  return 0;
}

/* js_call / js_result: the page's JavaScript exists only in krait.js. */
static int ka_imp_js_call(krait_caller *c, void *env, krait_slot *ar) {
  KA_CTX;
  ar[0].i32 = ka_err(x, KRAIT_E_NOSYS, "js: there is no JavaScript under krait serve (browser only)");
  return 0;
}

static int ka_imp_js_result(krait_caller *c, void *env, krait_slot *ar) {
  KA_CTX;
  ar[0].i32 = ka_err(x, KRAIT_E_NOSYS, "js: there is no JavaScript under krait serve (browser only)");
  return 0;
}

/* error_message(buf, cap) -> len */
static int ka_imp_error_message(krait_caller *c, void *env, krait_slot *ar) {
  KA_CTX;
  ar[0].i32 = ka_give(c, U(0), U(1), x->error, strlen(x->error));
  return 0;
}

/* The imports (KA_IMPORTS), each with its host function ka_imp_NAME. */
static const struct { const char *name, *sig; krait_host_fn fn; } ka_imports[] = {
#define X(name, sig) { #name, sig, ka_imp_##name },
  KA_IMPORTS(X)
#undef X
};

int ka_define_imports(krait_linker *linker, ka_app *app) {
  for (size_t i = 0; i < sizeof ka_imports / sizeof ka_imports[0]; i++)
    if (krait_linker_define_func(linker, "krait", ka_imports[i].name, ka_imports[i].sig,
                                 ka_imports[i].fn, app) != 0)
      return -1;
  return 0;
}

/* The stub body: no effect, KRAIT_E_NOSYS ("not running under krait
** serve" in the guest). */
static int ka_stub(krait_caller *caller, void *env, krait_slot *ar) {
  ar[0].i32 = KRAIT_E_NOSYS;
  return 0;
}

int ka_define_stubs(krait_linker *linker) {
  for (size_t i = 0; i < sizeof ka_imports / sizeof ka_imports[0]; i++)
    if (krait_linker_define_func(linker, "krait", ka_imports[i].name, ka_imports[i].sig,
                                 ka_stub, NULL) != 0)
      return -1;
  return 0;
}
