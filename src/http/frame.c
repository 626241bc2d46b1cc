/*
** frame.c -- the meaning of a complete request head: Host, body framing (RFC 9112 6), Connection, Expect.
** Owns: Content-Length / Transfer-Encoding rules (smuggling defence), keep-alive, 100-continue, lookup.
** Does not own: header syntax (parse.c) or reading the body itself (chunked.c, the server).
*/
#include "http/http.h"

#define FAIL(p, code, ...) kh_fail(&(p)->status, (p)->reason, (code), __VA_ARGS__)

/* ASCII lower case of one byte. */
static int lower(int c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }

/* Whether s[0..n) equals the NUL-terminated t, ignoring ASCII case. */
static bool ieq(const char *s, size_t n, const char *t) {
  for (size_t i = 0; i < n; i++)
    if (!t[i] || lower((unsigned char)s[i]) != lower((unsigned char)t[i])) return false;
  return t[n] == 0;
}

/* (see http.h) */
bool kh_view_ieq(kh_view v, const char *s) { return ieq(v.p, v.len, s); }

/* A linear scan in wire order: heads are small (max_headers) and a scan
** keeps duplicates and order without any index. */
long kh_find_header(const kh_request *r, const char *name, size_t from) {
  for (size_t i = from; i < r->nheaders; i++)
    if (kh_view_ieq(r->headers[i].name, name)) return (long)i;
  return -1;
}

/* The first field's value, the common single-valued case. */
const char *kh_header_value(const kh_request *r, const char *name, size_t *len) {
  long i = kh_find_header(r, name, 0);
  if (i < 0) return NULL;
  *len = r->headers[i].value.len;
  return r->headers[i].value.p;
}

/* The next element of a comma-separated list (RFC 9110 5.6.1) in
** [*s, end), trimmed of OWS; empty elements are skipped. False at the end. */
static bool list_next(const char **s, const char *end, kh_view *el) {
  for (;;) {
    const char *a = *s;
    while (a < end && (*a == ' ' || *a == '\t')) a++;
    if (a >= end) { *s = end; return false; }
    const char *comma = memchr(a, ',', (size_t)(end - a));
    const char *b = comma ? comma : end;
    *s = comma ? comma + 1 : end;
    while (b > a && (b[-1] == ' ' || b[-1] == '\t')) b--;
    if (b > a) { el->p = a; el->len = (size_t)(b - a); return true; }
  }
}

/* The value of one Content-Length element el (1*DIGIT); false with a
** message set when it is empty, not digits or over 64 bits. */
static bool cl_number(kh_parser *p, const char *a, const char *b, uint64_t *out) {
  uint64_t x = 0;
  while (a < b && (*a == ' ' || *a == '\t')) a++;
  while (b > a && (b[-1] == ' ' || b[-1] == '\t')) b--;
  if (a == b) { FAIL(p, KH_BAD_REQUEST, "empty Content-Length"); return false; }
  for (; a < b; a++) {
    unsigned d = (unsigned char)*a - '0';
    if (d > 9) { FAIL(p, KH_BAD_REQUEST, "Content-Length is not a number"); return false; }
    if (x > (UINT64_MAX - d) / 10) { FAIL(p, KH_BAD_REQUEST, "Content-Length overflows 64 bits"); return false; }
    x = x * 10 + d;
  }
  *out = x;
  return true;
}

/* Reads every Content-Length element of every field ("42, 42" lists
** too); all must be the same number. Sets content_length or fails (400,
** or 413 above the body limit). */
static kh_result content_length(kh_parser *p) {
  kh_request *r = &p->req;
  bool seen = false;
  uint64_t v = 0, x;
  for (long i = kh_find_header(r, "content-length", 0); i >= 0;
       i = kh_find_header(r, "content-length", (size_t)i + 1)) {
    const char *s = r->headers[i].value.p, *end = s + r->headers[i].value.len;
    for (;;) {
      const char *comma = memchr(s, ',', (size_t)(end - s));
      if (!cl_number(p, s, comma ? comma : end, &x)) return KH_ERROR;
      if (seen && x != v) return FAIL(p, KH_BAD_REQUEST, "differing Content-Length values");
      seen = true;
      v = x;
      if (!comma) break;
      s = comma + 1;
    }
  }
  if (v > p->lim.max_body)
    return FAIL(p, KH_CONTENT_TOO_LARGE, "Content-Length %llu exceeds the %llu-byte limit",
                (unsigned long long)v, (unsigned long long)p->lim.max_body);
  r->body = KH_BODY_LENGTH;
  r->content_length = v;
  return KH_DONE;
}

/* Whether a coding name is registered (RFC 9110 18.7) though krait does
** not implement it. */
static bool known_coding(kh_view c) {
  static const char *const known[] = { "gzip", "x-gzip", "deflate", "compress", "x-compress" };
  for (size_t i = 0; i < KU_COUNT(known); i++)
    if (kh_view_ieq(c, known[i])) return true;
  return false;
}

/* The coding name of one list element: its token before any parameters;
** len 0 when the element does not start with a token. */
static kh_view coding_name(kh_view el, bool *params) {
  size_t n = 0;
  while (n < el.len && kh_tchar((uint8_t)el.p[n])) n++;
  *params = n < el.len;
  kh_view c = { el.p, n, 0 };
  return c;
}

/* Checks one Transfer-Encoding element; `last` says whether it is the
** final coding. Unknown codings are 501, chunked anywhere but last 400,
** registered codings krait cannot decode 501. */
static kh_result one_coding(kh_parser *p, kh_view el, bool last) {
  bool params;
  kh_view c = coding_name(el, &params);
  if (c.len == 0) return FAIL(p, KH_BAD_REQUEST, "malformed Transfer-Encoding");
  bool chunked = kh_view_ieq(c, "chunked");
  if (!chunked && !known_coding(c))
    return FAIL(p, KH_NOT_IMPLEMENTED, "unknown transfer coding '%.*s'", (int)(c.len > 40 ? 40 : c.len), c.p);
  if (chunked && params) return FAIL(p, KH_BAD_REQUEST, "malformed Transfer-Encoding");
  if (chunked && !last) return FAIL(p, KH_BAD_REQUEST, "chunked is not the final transfer coding");
  if (!chunked && last) return FAIL(p, KH_BAD_REQUEST, "final transfer coding is not chunked");
  return KH_DONE;
}

/* Walks every Transfer-Encoding element in order (across fields); the
** body is chunked when the list is valid. */
static kh_result transfer_encoding(kh_parser *p) {
  kh_request *r = &p->req;
  kh_view el, next;
  bool have = false, unsupported = false;
  for (long i = kh_find_header(r, "transfer-encoding", 0); i >= 0;
       i = kh_find_header(r, "transfer-encoding", (size_t)i + 1)) {
    const char *s = r->headers[i].value.p, *end = s + r->headers[i].value.len;
    while (list_next(&s, end, &next)) {
      if (have && one_coding(p, el, false) == KH_ERROR) return KH_ERROR;
      unsupported |= have;   /* a coding before the last one */
      el = next;
      have = true;
    }
  }
  if (!have) return FAIL(p, KH_BAD_REQUEST, "empty Transfer-Encoding");
  if (one_coding(p, el, true) == KH_ERROR) return KH_ERROR;
  if (unsupported) return FAIL(p, KH_NOT_IMPLEMENTED, "only the chunked transfer coding is implemented");
  r->body = KH_BODY_CHUNKED;
  return KH_DONE;
}

/* Whether some field `name` lists the token `tok` (case-insensitive). */
static bool lists(const kh_request *r, const char *name, const char *tok) {
  for (long i = kh_find_header(r, name, 0); i >= 0; i = kh_find_header(r, name, (size_t)i + 1)) {
    const char *s = r->headers[i].value.p, *end = s + r->headers[i].value.len;
    kh_view el;
    while (list_next(&s, end, &el))
      if (kh_view_ieq(el, tok)) return true;
  }
  return false;
}

/* Host (exactly one in HTTP/1.1, at most one in 1.0) and Expect. */
static kh_result host_and_expect(kh_parser *p) {
  kh_request *r = &p->req;
  long h = kh_find_header(r, "host", 0);
  if (h < 0 && r->version_minor == 1) return FAIL(p, KH_BAD_REQUEST, "HTTP/1.1 request without Host");
  if (h >= 0 && kh_find_header(r, "host", (size_t)h + 1) >= 0)
    return FAIL(p, KH_BAD_REQUEST, "more than one Host field");
  long e = kh_find_header(r, "expect", 0);
  if (e < 0 || r->version_minor == 0) return KH_DONE;   /* 1.0 ignores Expect */
  if (kh_find_header(r, "expect", (size_t)e + 1) >= 0 || !kh_view_ieq(r->headers[e].value, "100-continue"))
    return FAIL(p, KH_EXPECTATION_FAILED, "only Expect: 100-continue is supported");
  r->expect_continue = true;
  return KH_DONE;
}

/* Decides framing in the order that defends against smuggling: Host and
** Expect, TE in 1.0, CL+TE together, then TE, then CL; last keep-alive
** (1.1: unless "close"; 1.0: only with "keep-alive"). */
kh_result kh_finish_head(kh_parser *p) {
  kh_request *r = &p->req;
  if (host_and_expect(p) == KH_ERROR) return KH_ERROR;
  bool te = kh_find_header(r, "transfer-encoding", 0) >= 0;
  bool cl = kh_find_header(r, "content-length", 0) >= 0;
  if (te && r->version_minor == 0) return FAIL(p, KH_BAD_REQUEST, "Transfer-Encoding in an HTTP/1.0 request");
  if (te && cl) return FAIL(p, KH_BAD_REQUEST, "both Content-Length and Transfer-Encoding");
  r->body = KH_BODY_NONE;
  if (te && transfer_encoding(p) == KH_ERROR) return KH_ERROR;
  if (cl && content_length(p) == KH_ERROR) return KH_ERROR;
  bool close = lists(r, "connection", "close");
  r->keep_alive = !close && (r->version_minor == 1 || lists(r, "connection", "keep-alive"));
  return KH_DONE;
}
