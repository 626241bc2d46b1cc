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
  ka_app_handle(r->app, &req, &out);
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
