/*
** response.c -- what handlers build (ks_response) and the bytes it becomes on the connection.
** Owns: handler-side response calls, status/framing choice (Content-Length or chunked, HEAD, 504/500).
** Does not own: head syntax (src/http/write.c), sockets and keep-alive state (conn.c).
*/
#include "serve/serve_internal.h"
#include <stdio.h>
#include <time.h>

void ks_response_init(ks_response *r, ks_job *job, bool can_stream) {
  memset(r, 0, sizeof *r);
  r->status = 200;
  r->job = job;
  r->can_stream = can_stream;
}

void ks_response_free(ks_response *r) {
  for (size_t i = 0; i < r->nheaders; i++) {
    ku_free((void *)r->headers[i].name.p);
    ku_free((void *)r->headers[i].value.p);
  }
  ku_free(r->headers);
  ks_buf_free(&r->body);
}

/* Frees a job on the loop thread; its request bytes' charge goes back to
** the server's body budget. */
void ks_job_free(ks_job *j) {
  if (!j) return;
  if (j->charged) ks_recharge(j->srv, &j->charged, 0);
  ks_response_free(&j->res);
  ku_free(j->bytes);
  ku_free(j->headers);
  ku_free(j);
}

void ks_response_status(ks_response *r, int status) {
  assert(status >= 100 && status <= 999);
  if (!r->flushed) r->status = status;
}

/* Adds one field without checks of which names are the server's. */
static int add_header(ks_response *r, const char *name, const char *value) {
  if (r->nheaders == r->cap) {
    size_t n = r->cap ? r->cap * 2 : 8;
    kh_header *h = ku_realloc(r->headers, n * sizeof *h);
    if (!h) return -1;
    r->headers = h;
    r->cap = n;
  }
  char *n = ku_strdup(name), *v = ku_strdup(value);
  if (!n || !v) { ku_free(n); ku_free(v); return -1; }
  kh_header *h = &r->headers[r->nheaders++];
  memset(h, 0, sizeof *h);
  h->name.p = n; h->name.len = strlen(n);
  h->value.p = v; h->value.len = strlen(v);
  return 0;
}

/* Refuses names that are not tokens, values with CR or LF, the framing
** fields the server owns, and any change after the head was streamed. */
int ks_response_header(ks_response *r, const char *name, const char *value) {
  static const char *const owned[] = { "content-length", "transfer-encoding", "connection" };
  if (r->flushed || !*name || strpbrk(value, "\r\n")) return -1;
  for (const char *p = name; *p; p++)
    if (!kh_tchar((uint8_t)*p)) return -1;
  kh_view v = { name, strlen(name), 0 };
  for (size_t i = 0; i < KU_COUNT(owned); i++)
    if (kh_view_ieq(v, owned[i])) return -1;
  return add_header(r, name, value);
}

int ks_response_write(ks_response *r, const void *data, size_t n) {
  ks_buf_add(&r->body, data, n);
  return r->body.oom ? -1 : 0;
}

void ks_response_chunked(ks_response *r) { if (!r->flushed) r->chunked = true; }

void ks_response_reset_body(ks_response *r) { r->body.len = 0; r->body.oom = false; }

const char *ks_request_header(const ks_request *q, const char *name, size_t *len) {
  for (size_t i = 0; i < q->nheaders; i++)
    if (kh_view_ieq(q->headers[i].name, name)) { *len = q->headers[i].value.len; return q->headers[i].value.p; }
  return NULL;
}

/* Moves the body written so far into a part and posts it to the loop,
** which sends the head first time. An HTTP/1.0 peer cannot take chunks:
** its body simply keeps growing for a Content-Length answer. */
int ks_response_flush(ks_response *r) {
  if (!r->chunked || r->body.oom) return -1;
  if (!r->can_stream || (r->flushed && r->body.len == 0)) return 0;
  ks_part *p = ku_calloc(1, sizeof *p);
  if (!p) return -1;
  p->job = r->job;
  p->data = r->body;
  memset(&r->body, 0, sizeof r->body);
  p->first = !r->flushed;
  r->flushed = true;
  p->task.fn = ks_conn_part;
  ks_loop_post(r->job->srv->loop, &p->task);
  return 0;
}

/* Formats a head onto out; the size bound covers every field. */
static void put_head(ks_buf *out, const kh_response *h) {
  size_t need = 256;
  for (size_t i = 0; i < h->nheaders; i++) need += h->headers[i].name.len + h->headers[i].value.len + 4;
  if (!ks_buf_reserve(out, need)) return;
  long n = kh_format_head(out->p + out->len, need, h);
  assert(n > 0);
  if (n > 0) out->len += (size_t)n;
}

/* One chunk (size line, data, CRLF); nothing for n == 0. */
static void put_chunk(ks_buf *out, const void *data, size_t n) {
  char line[32];
  if (n == 0) return;
  long k = kh_chunk_prefix(line, sizeof line, n);
  ks_buf_add(out, line, (size_t)k);
  ks_buf_add(out, data, n);
  ks_buf_add(out, "\r\n", 2);
}

void ks_emit_text(ks_conn *c, int status, const char *text, bool keep, bool head_only) {
  kh_header ct = { { "Content-Type", 12, 0 }, { "text/plain; charset=utf-8", 25, 0 } };
  size_t n = strlen(text);
  kh_response h = { .status = status, .headers = &ct, .nheaders = 1, .framing = KH_FRAME_LENGTH,
                    .content_length = n, .close = !keep, .date = time(NULL) };
  put_head(&c->out, &h);
  if (!head_only) ks_buf_add(&c->out, text, n);
}

/* A failed handler's status and, when it wrote nothing, the default text. */
static void apply_outcome(ks_job *job) {
  ks_response *r = &job->res;
  if (job->outcome == KS_OK) return;
  r->status = job->outcome == KS_TIMEOUT ? 504 : 500;
  if (r->body.len) return;
  ks_buf_str(&r->body, job->outcome == KS_TIMEOUT ? "Gateway Timeout: the handler ran out of time\n"
                                                   : "Internal Server Error: the handler failed\n");
  add_header(r, "Content-Type", "text/plain; charset=utf-8");
}

/* The end of a streamed body: the rest as a chunk and the last chunk;
** after a failure the last chunk is withheld and the connection closed,
** so the client sees a truncated body instead of a complete one. */
static uint64_t end_stream(ks_conn *c, ks_job *job, bool *keep) {
  ks_response *r = &job->res;
  if (job->outcome != KS_OK) { *keep = false; return r->streamed; }
  put_chunk(&c->out, r->body.p, r->body.len);
  char last[8];
  ks_buf_add(&c->out, last, (size_t)kh_write_last_chunk(last, sizeof last));
  return r->streamed + r->body.len;
}

uint64_t ks_emit(ks_conn *c, ks_job *job, bool *keep) {
  ks_response *r = &job->res;
  if (r->flushed) return end_stream(c, job, keep);
  apply_outcome(job);
  bool no_body = r->status < 200 || r->status == 204 || r->status == 304;
  bool chunked = r->chunked && r->can_stream && !no_body && job->outcome == KS_OK;
  if (*keep && job->req.version_minor == 0) add_header(r, "Connection", "keep-alive");
  kh_response h = { .status = r->status, .headers = r->headers, .nheaders = r->nheaders,
                    .framing = no_body ? KH_FRAME_NONE : chunked ? KH_FRAME_CHUNKED : KH_FRAME_LENGTH,
                    .content_length = r->body.len, .close = !*keep, .date = time(NULL) };
  put_head(&c->out, &h);
  if (no_body || job->head_method) return 0;
  if (!chunked) {
    ks_buf_add(&c->out, r->body.p, r->body.len);
    return r->body.len;
  }
  r->flushed = true;
  return end_stream(c, job, keep);
}

void ks_emit_part(ks_conn *c, ks_part *p, bool keep) {
  ks_response *r = &p->job->res;
  if (p->first) {
    kh_response h = { .status = r->status, .headers = r->headers, .nheaders = r->nheaders,
                      .framing = KH_FRAME_CHUNKED, .close = !keep, .date = time(NULL) };
    put_head(&c->out, &h);
  }
  put_chunk(&c->out, p->data.p, p->data.len);
  r->streamed += p->data.len;
}
