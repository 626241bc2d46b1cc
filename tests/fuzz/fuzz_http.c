/*
** tests/fuzz/fuzz_http.c -- libFuzzer target: bytes -> krait's HTTP request parser and chunked decoder.
** Owns: checking that whole and randomly split feeding agree exactly (results, reasons, views, decoded bytes).
** Does not own: the parser (src/http/) or the seeds (tests/fuzz/http-seeds/).
*/
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/http.h"

enum { MAX_FIELDS = 12 };

/* A deterministic generator of piece sizes, seeded from the input. */
static uint64_t rng_next(uint64_t *s) {
  *s ^= *s << 13;
  *s ^= *s >> 7;
  *s ^= *s << 17;
  return *s;
}

/* FNV-1a of the input: the seed of its split points and limits. */
static uint64_t hash(const uint8_t *d, size_t n) {
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < n; i++) h = (h ^ d[i]) * 1099511628211ull;
  return h | 1;
}

/* Small limits so the fuzzer reaches every bound; varied by the seed. */
static void limits(kh_limits *lim, uint64_t seed) {
  kh_limits_default(lim);
  if (seed & 2) return;
  lim->max_request_line = 16 + (seed >> 8) % 64;
  lim->max_header_bytes = 32 + (seed >> 16) % 256;
  lim->max_headers = 1 + (seed >> 24) % 10;
  lim->max_body = (seed >> 32) % 2048;
  lim->max_chunk_line = 1 + (seed >> 44) % 40;
}

/* Aborts with a message: a finding. */
static void die(const char *what) {
  fprintf(stderr, "fuzz_http: %s\n", what);
  abort();
}

/* Checks one view: inside the head and matching its offset. */
static void check_view(const kh_view *v, const uint8_t *buf, size_t head) {
  if (v->off + v->len > head || v->p != (const char *)buf + v->off) die("view outside the head");
}

/* Invariants of a complete head. */
static void check_done(const kh_parser *p, const uint8_t *buf) {
  const kh_request *r = &p->req;
  size_t head = r->head_len;
  if (r->method.len == 0 || r->target.len == 0) die("empty method or target");
  check_view(&r->method, buf, head);
  check_view(&r->target, buf, head);
  check_view(&r->path, buf, head);
  if (r->has_query) check_view(&r->query, buf, head);
  for (size_t i = 0; i < r->nheaders; i++) {
    const kh_header *h = &r->headers[i];
    check_view(&h->name, buf, head);
    check_view(&h->value, buf, head);
    if (h->name.len == 0) die("empty header name");
    for (size_t k = 0; k < h->value.len; k++)
      if (h->value.p[k] == '\r' || h->value.p[k] == '\n' || h->value.p[k] == 0) die("CR/LF/NUL in value");
  }
  if (r->body == KH_BODY_LENGTH && r->content_length > p->lim.max_body) die("body over limit");
}

/* Whether two parsers reached the same outcome with the same views. */
static bool same(const kh_parser *a, const kh_parser *b) {
  if (a->result != b->result || a->pos != b->pos) return false;
  if (a->result == KH_ERROR) return a->status == b->status && strcmp(a->reason, b->reason) == 0;
  if (a->result == KH_NEED_MORE) return true;
  const kh_request *x = &a->req, *y = &b->req;
  if (x->head_len != y->head_len || x->nheaders != y->nheaders || x->body != y->body ||
      x->content_length != y->content_length || x->keep_alive != y->keep_alive ||
      x->expect_continue != y->expect_continue || x->version_minor != y->version_minor ||
      x->form != y->form || x->has_query != y->has_query)
    return false;
  const kh_view *vx[] = { &x->method, &x->target, &x->path, &x->query };
  const kh_view *vy[] = { &y->method, &y->target, &y->path, &y->query };
  for (size_t i = 0; i < 4; i++)
    if (vx[i]->off != vy[i]->off || vx[i]->len != vy[i]->len) return false;
  for (size_t i = 0; i < x->nheaders; i++)
    if (x->headers[i].name.off != y->headers[i].name.off || x->headers[i].name.len != y->headers[i].name.len ||
        x->headers[i].value.off != y->headers[i].value.off || x->headers[i].value.len != y->headers[i].value.len)
      return false;
  return true;
}

/* Feeds data to p in pieces through a buffer that grows (and moves)
** with each piece, as a server's receive buffer would. */
static void parse_pieces(kh_parser *p, const uint8_t *data, size_t size, uint64_t *rng) {
  uint8_t *buf = NULL;
  size_t len = 0;
  kh_result res = KH_NEED_MORE;
  while (len < size && res == KH_NEED_MORE) {
    size_t n = 1 + rng_next(rng) % (rng_next(rng) & 1 ? 4 : 64);
    if (n > size - len) n = size - len;
    uint8_t *nb = realloc(buf, len + n);
    if (!nb) die("oom");
    buf = nb;
    memcpy(buf + len, data + len, n);
    len += n;
    res = kh_parse(p, buf, len);
  }
  if (res == KH_DONE) check_done(p, buf);
  free(buf);
}

/* Runs the chunked decoder over body[0..n) whole and in pieces and checks
** that both give the same result, bytes and end. */
static void chunked_both(const kh_limits *lim, const uint8_t *body, size_t n, uint64_t *rng) {
  kh_chunked a, b;
  uint8_t *w = malloc(n ? n : 1), *piece = malloc(n ? n : 1), *outb = malloc(n ? n : 1);
  if (!w || !piece || !outb) die("oom");
  memcpy(w, body, n);
  size_t consumed_a, out_a, consumed_b = 0, out_b = 0;
  kh_chunked_init(&a, lim);
  kh_result ra = kh_chunked_feed(&a, w, n, &consumed_a, &out_a);
  kh_chunked_init(&b, lim);
  kh_result rb = KH_NEED_MORE;
  size_t at = 0;
  while (at < n && rb == KH_NEED_MORE) {
    size_t k = 1 + rng_next(rng) % 32, used, got;
    if (k > n - at) k = n - at;
    memcpy(piece, body + at, k);
    rb = kh_chunked_feed(&b, piece, k, &used, &got);
    if (used > k || got > used) die("chunked: bad counts");
    memcpy(outb + out_b, piece, got);
    out_b += got;
    consumed_b = at + used;
    at += k;
  }
  if (ra != rb || consumed_a != consumed_b || out_a != out_b || memcmp(w, outb, out_a) != 0)
    die("chunked: whole and split decoding differ");
  if (ra == KH_ERROR && (a.status != b.status || strcmp(a.reason, b.reason) != 0))
    die("chunked: whole and split errors differ");
  if (ra == KH_NEED_MORE && consumed_a != n) die("chunked: NEED_MORE left bytes");
  if (a.total > lim->max_body) die("chunked: body over limit");
  free(w); free(piece); free(outb);
}

/* Parses pipelined requests from the whole input, skipping or decoding
** each body, to exercise reuse of a parser across requests. */
static void pipeline(const kh_limits *lim, const uint8_t *data, size_t size) {
  kh_header hs[MAX_FIELDS];
  uint8_t *buf = malloc(size ? size : 1);
  if (!buf) die("oom");
  memcpy(buf, data, size);
  size_t at = 0;
  for (int i = 0; i < 8 && at < size; i++) {
    kh_parser p;
    kh_parser_init(&p, lim, hs, MAX_FIELDS);
    if (kh_parse(&p, buf + at, size - at) != KH_DONE) break;
    at += p.req.head_len;
    if (p.req.body == KH_BODY_LENGTH) {
      if (p.req.content_length > size - at) break;
      at += (size_t)p.req.content_length;
    } else if (p.req.body == KH_BODY_CHUNKED) {
      kh_chunked c;
      size_t used, got;
      kh_chunked_init(&c, lim);
      if (kh_chunked_feed(&c, buf + at, size - at, &used, &got) != KH_DONE) break;
      at += used;
    }
  }
  free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  uint64_t seed = hash(data, size), rng = seed;
  kh_limits lim;
  limits(&lim, seed);
  kh_header ha[MAX_FIELDS], hb[MAX_FIELDS];
  kh_parser a, b;
  uint8_t *whole = malloc(size ? size : 1);
  if (!whole) die("oom");
  memcpy(whole, data, size);
  kh_parser_init(&a, &lim, ha, MAX_FIELDS);
  kh_result ra = kh_parse(&a, whole, size);
  if (ra == KH_DONE) check_done(&a, whole);
  kh_parser_init(&b, &lim, hb, MAX_FIELDS);
  parse_pieces(&b, data, size, &rng);
  if (!same(&a, &b)) die("head: whole and split parsing differ");
  if (ra == KH_ERROR && (a.status < 400 || a.reason[0] == 0)) die("error without status/reason");
  if (ra == KH_DONE && a.req.body == KH_BODY_CHUNKED)
    chunked_both(&lim, data + a.req.head_len, size - a.req.head_len, &rng);
  else
    chunked_both(&lim, data, size, &rng);
  pipeline(&lim, data, size);
  free(whole);
  return 0;
}
