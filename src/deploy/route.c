/*
** route.c -- one HTTP request through an app: the server's request copied
** into the app's form, the app's response (whole or streamed) copied back,
** its outcome counted. Does not own HTTP (src/serve) or the sandbox (src/app).
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deploy/deploy_internal.h"
#include "util/util.h"

/* The lower-cased copy of n bytes of name into buf (cap bytes). */
static void kx_lower(char *buf, size_t cap, const char *name, size_t n) {
  size_t i = 0;
  for (; i < n && i + 1 < cap; i++) buf[i] = (char)(name[i] >= 'A' && name[i] <= 'Z' ? name[i] + 32 : name[i]);
  buf[i] = '\0';
}

/* Copies the HTTP request into the app's form (names lower-cased). */
static ka_header *kx_headers(const ks_request *rq, char *names, size_t cap) {
  ka_header *h = ku_calloc(rq->nheaders + 1, sizeof *h);
  size_t used = 0;
  for (size_t i = 0; h && i < rq->nheaders; i++) {
    const kh_header *k = &rq->headers[i];
    size_t n = k->name.len < 255 ? k->name.len : 255;
    if (used + n + 1 > cap) break;
    kx_lower(names + used, n + 1, k->name.p, n);
    h[i] = (ka_header){ names + used, k->value.p, n, k->value.len };
    used += n + 1;
  }
  return h;
}

/* Copies the app's status and headers into res; the server refuses the
** fields it owns (framing) and malformed ones, which are dropped. */
static void kx_head(ks_response *res, const ka_response *out) {
  ks_response_status(res, out->status);
  for (size_t i = 0; i < out->nheaders; i++) {
    char name[256], value[8192];
    snprintf(name, sizeof name, "%.*s", (int)out->headers[i].name_len, out->headers[i].name);
    snprintf(value, sizeof value, "%.*s", (int)out->headers[i].value_len, out->headers[i].value);
    ks_response_header(res, name, value);
  }
}

/* A streamed response's head and first part: sent chunked at once. */
static void kx_sink_head(void *data, const ka_response *out) {
  ks_response *res = data;
  kx_head(res, out);
  ks_response_chunked(res);
  ks_response_write(res, out->body, out->body_len);
  ks_response_flush(res);
}

/* A streamed response's next part. */
static void kx_sink_part(void *data, const uint8_t *p, size_t n) {
  ks_response_write(data, p, n);
  ks_response_flush(data);
}

kx_build *kx_build_new(ka_app *app, kk_store **stores, bool owned) {
  kx_build *b = ku_calloc(1, sizeof *b);
  if (b) *b = (kx_build){ app, stores, 0, owned };
  return b;
}

/* Frees a build no request runs on: its app and stores when it owns them. */
static void kx_build_free(kx_build *b) {
  if (!b) return;
  if (b->owned) {
    ka_app_free(b->app);
    for (int i = 0; b->stores && b->stores[i]; i++) kk_close(b->stores[i]);
    ku_free(b->stores);
  }
  ku_free(b);
}

void kx_route_swap(kx_app_route *r, kx_build *b) {
  pthread_mutex_lock(&r->lock);
  kx_build *old = r->cur;
  r->cur = b;
  bool idle = old && old->refs == 0;
  if (old) old->refs = -old->refs - 1;   /* negative: replaced, -1 - running */
  pthread_mutex_unlock(&r->lock);
  if (idle) kx_build_free(old);
}

void kx_route_free(kx_app_route *r) {
  kx_build_free(r->cur);
  r->cur = NULL;
  pthread_mutex_destroy(&r->lock);
}

/* The route's current build, held for one request. */
static kx_build *kx_hold(kx_app_route *r) {
  pthread_mutex_lock(&r->lock);
  kx_build *b = r->cur;
  b->refs++;
  pthread_mutex_unlock(&r->lock);
  return b;
}

/* Lets go of b: a replaced build is freed after its last request. */
static void kx_release(kx_app_route *r, kx_build *b) {
  pthread_mutex_lock(&r->lock);
  bool last = b->refs < 0 ? ++b->refs == -1 : (b->refs--, false);
  pthread_mutex_unlock(&r->lock);
  if (last) kx_build_free(b);
}

/* A stream that broke after its head went out ends truncated (KS_TRAP). */
ks_outcome kx_handle(const ks_request *rq, ks_response *res, void *data) {
  kx_app_route *r = data;
  char method[32], uri[8192], names[16384];
  if (rq->method.len >= sizeof method || rq->target.len >= sizeof uri) {
    ks_response_status(res, 414);
    return KS_OK;
  }
  snprintf(method, sizeof method, "%.*s", (int)rq->method.len, rq->method.p);
  snprintf(uri, sizeof uri, "%.*s", (int)rq->target.len, rq->target.p);
  ka_header *h = kx_headers(rq, names, sizeof names);
  ka_sink sink = { kx_sink_head, kx_sink_part, res };
  ka_request req = { method, uri, h, h ? rq->nheaders : 0, rq->body, rq->body_len, &sink, rq->start_ns };
  ka_response out;
  kx_build *b = kx_hold(r);
  ka_app_handle(b->app, &req, &out);
  kx_release(r, b);
  ku_free(h);
  ks_histogram_observe(r->start, (double)out.start_ns / 1e9);
  if (!out.streamed) {
    kx_head(res, &out);
    ks_response_write(res, out.body, out.body_len);
  }
  ka_outcome why = out.outcome;
  bool broken = out.streamed && why != KA_OK;
  ka_response_free(&out);
  if (why == KA_TIMEOUT) ks_counter_add(r->timeouts, 1);
  if (why == KA_TRAP) ks_counter_add(r->traps, 1);
  if (why == KA_TIMEOUT) return KS_TIMEOUT;
  return why == KA_TRAP || broken ? KS_TRAP : KS_OK;
}
