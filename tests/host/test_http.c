/*
** tests/host/test_http.c -- tests of src/http/: request heads, framing, chunked bodies, limits, responses.
** Owns: whole vs byte-by-byte feeding, every error class with its status, smuggling cases, writers.
** Does not own: the parser itself (src/http/) or fuzzing it (tests/fuzz/fuzz_http.c).
*/
#include "test.h"
#include "http/http.h"

enum { NH = 32 };

static kh_header hs[NH], hs2[NH];
static kh_parser P, P2;

/* Parses the whole NUL-terminated request s with limits lim (NULL for the
** defaults) into P. */
static kh_result parse_lim(const char *s, const kh_limits *lim) {
  kh_limits d;
  kh_limits_default(&d);
  kh_parser_init(&P, lim ? lim : &d, hs, NH);
  return kh_parse(&P, (const uint8_t *)s, strlen(s));
}
static kh_result parse(const char *s) { return parse_lim(s, NULL); }

/* Parses s into P2 one byte at a time through a buffer that is moved
** (freshly allocated) on every call; returns the result of the last call. */
static kh_result parse_bytewise(const char *s, const kh_limits *lim, uint8_t **keep) {
  kh_limits d;
  kh_limits_default(&d);
  kh_parser_init(&P2, lim ? lim : &d, hs2, NH);
  size_t n = strlen(s);
  uint8_t *buf = NULL;
  kh_result r = KH_NEED_MORE;
  for (size_t i = 1; i <= n && r == KH_NEED_MORE; i++) {
    uint8_t *nb = malloc(i);
    memcpy(nb, s, i);
    free(buf);
    buf = nb;
    r = kh_parse(&P2, buf, i);
    if (r == KH_NEED_MORE && P2.pos != i) return KH_ERROR;   /* every byte consumed */
  }
  *keep = buf;
  return r;
}

/* Whether a view holds exactly the string s. */
static bool veq(kh_view v, const char *s) { return v.len == strlen(s) && memcmp(v.p, s, v.len) == 0; }

/* The number of a view as a C string (for CHECK_STR); static storage. */
static const char *vstr(kh_view v) {
  static char b[4][256];
  static int k;
  char *o = b[k++ & 3];
  snprintf(o, 256, "%.*s", (int)v.len, v.p);
  return o;
}

static void test_simple_get(void) {
  const char *s = "GET /index.html HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\n\r\n";
  CHECK_INT(parse(s), KH_DONE);
  kh_request *r = &P.req;
  CHECK_STR(vstr(r->method), "GET");
  CHECK_STR(vstr(r->target), "/index.html");
  CHECK_STR(vstr(r->path), "/index.html");
  CHECK(!r->has_query);
  CHECK_INT(r->query.len, 0);
  CHECK_INT(r->version_minor, 1);
  CHECK_INT(r->form, KH_FORM_ORIGIN);
  CHECK_INT(r->nheaders, 2);
  CHECK_STR(vstr(r->headers[0].name), "Host");
  CHECK_STR(vstr(r->headers[0].value), "example.com");
  CHECK_STR(vstr(r->headers[1].name), "Accept");
  CHECK_STR(vstr(r->headers[1].value), "*/*");
  CHECK_INT(r->head_len, strlen(s));
  CHECK_INT(r->body, KH_BODY_NONE);
  CHECK(r->keep_alive);
  CHECK(!r->expect_continue);
  CHECK(r->method.p == s);   /* zero-copy */
  /* A repeated call after DONE reports DONE again. */
  CHECK_INT(kh_parse(&P, (const uint8_t *)s, strlen(s)), KH_DONE);
}

static void test_incomplete_needs_more(void) {
  const char *s = "GET / HTTP/1.1\r\nHost: a\r\n\r";
  CHECK_INT(parse(s), KH_NEED_MORE);
  CHECK_INT(P.pos, strlen(s));
  CHECK_INT(parse(""), KH_NEED_MORE);
}

static void test_query_and_forms(void) {
  CHECK_INT(parse("GET /a/b?x=1&y=%20?z HTTP/1.1\r\nHost: a\r\n\r\n"), KH_DONE);
  CHECK_STR(vstr(P.req.path), "/a/b");
  CHECK(P.req.has_query);
  CHECK_STR(vstr(P.req.query), "x=1&y=%20?z");
  CHECK_INT(parse("GET /a? HTTP/1.1\r\nHost: a\r\n\r\n"), KH_DONE);
  CHECK(P.req.has_query);
  CHECK_INT(P.req.query.len, 0);
  CHECK_INT(parse("GET http://h.example:80/p/q?r=1 HTTP/1.1\r\nHost: h\r\n\r\n"), KH_DONE);
  CHECK_INT(P.req.form, KH_FORM_ABSOLUTE);
  CHECK_STR(vstr(P.req.path), "/p/q");
  CHECK_STR(vstr(P.req.query), "r=1");
  CHECK_INT(parse("GET http://h.example HTTP/1.1\r\nHost: h\r\n\r\n"), KH_DONE);
  CHECK_INT(P.req.path.len, 0);
  CHECK_INT(parse("OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n"), KH_DONE);
  CHECK_INT(P.req.form, KH_FORM_ASTERISK);
  CHECK_INT(parse("CONNECT h.example:443 HTTP/1.1\r\nHost: h\r\n\r\n"), KH_DONE);
  CHECK_INT(P.req.form, KH_FORM_AUTHORITY);
  CHECK_INT(parse("GET * HTTP/1.1\r\nHost: h\r\n\r\n"), KH_ERROR);
  CHECK_INT(P.status, 400);
  CHECK_INT(parse("GET index HTTP/1.1\r\nHost: h\r\n\r\n"), KH_ERROR);
  CHECK_INT(P.status, 400);
}

static void test_header_values_and_lookup(void) {
  const char *s = "GET / HTTP/1.1\r\nHost: a\r\nX-A:  one \t\r\nx-a:two\r\nX-Empty:\r\n"
                  "X-Obs: caf\xc3\xa9\r\nX-A: three\r\n\r\n";
  CHECK_INT(parse(s), KH_DONE);
  kh_request *r = &P.req;
  CHECK_INT(r->nheaders, 6);
  CHECK_STR(vstr(r->headers[1].value), "one");
  CHECK_STR(vstr(r->headers[2].value), "two");
  CHECK_INT(r->headers[3].value.len, 0);
  CHECK_STR(vstr(r->headers[4].value), "caf\xc3\xa9");
  CHECK_INT(kh_find_header(r, "x-a", 0), 1);
  CHECK_INT(kh_find_header(r, "X-A", 2), 2);
  CHECK_INT(kh_find_header(r, "x-A", 3), 5);
  CHECK_INT(kh_find_header(r, "missing", 0), -1);
  size_t n = 0;
  const char *v = kh_header_value(r, "HOST", &n);
  CHECK(v && n == 1 && v[0] == 'a');
  CHECK(kh_header_value(r, "nope", &n) == NULL);
  CHECK(veq(r->headers[4].name, "X-Obs"));
}

static void test_leading_empty_line(void) {
  CHECK_INT(parse("\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"), KH_DONE);
  CHECK_STR(vstr(P.req.method), "GET");
  CHECK_INT(parse("\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"), KH_ERROR);
  CHECK_INT(P.status, 400);
}

static void test_pipelined(void) {
  const char *s = "POST /a HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello"
                  "GET /b?q HTTP/1.1\r\nHost: a\r\n\r\n"
                  "POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
                  "GET /d HTTP/1.0\r\n\r\n";
  static const char *paths[] = { "/a", "/b", "/c", "/d" };
  size_t n = strlen(s), at = 0;
  uint8_t *buf = malloc(n);
  memcpy(buf, s, n);
  kh_limits lim;
  kh_limits_default(&lim);
  for (int i = 0; i < 4; i++) {
    kh_parser_init(&P, &lim, hs, NH);
    CHECK_INT(kh_parse(&P, buf + at, n - at), KH_DONE);
    CHECK_STR(vstr(P.req.path), paths[i]);
    at += P.req.head_len;
    if (P.req.body == KH_BODY_LENGTH) {
      CHECK(memcmp(buf + at, "hello", 5) == 0);
      at += P.req.content_length;
    } else if (P.req.body == KH_BODY_CHUNKED) {
      kh_chunked c;
      size_t used, got;
      kh_chunked_init(&c, &lim);
      CHECK_INT(kh_chunked_feed(&c, buf + at, n - at, &used, &got), KH_DONE);
      CHECK_INT(got, 3);
      CHECK(memcmp(buf + at, "abc", 3) == 0);
      at += used;
    }
  }
  CHECK_INT(at, n);
  CHECK(!P.req.keep_alive);
  free(buf);
}

/* Requests, valid and not, that must give the same outcome fed whole and
** byte by byte. */
static const char *const SAMPLES[] = {
  "GET / HTTP/1.1\r\nHost: a\r\n\r\n",
  "GET /x?y=1 HTTP/1.0\r\nConnection: keep-alive\r\nA: b\r\n\r\n",
  "\r\nPOST /u HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\nExpect: 100-continue\r\n\r\n",
  "POST /u HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
  "GET / HTTP/1.1\r\nHost : a\r\n\r\n",
  "GET / HTTP/1.1\r\nHost: a\r\nX: y\r\n z\r\n\r\n",
  "GET / HTTP/2.0\r\n\r\n",
  "GET / HTTP/1.1\nHost: a\r\n\r\n",
  "GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n",
  "GET /\x01 HTTP/1.1\r\n\r\n",
  "G(T / HTTP/1.1\r\n\r\n",
  "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
};

static void test_bytewise_identical(void) {
  for (size_t i = 0; i < KU_COUNT(SAMPLES); i++) {
    const char *s = SAMPLES[i];
    kh_result a = parse(s);
    uint8_t *buf;
    kh_result b = parse_bytewise(s, NULL, &buf);
    CHECK_INT(a, b);
    CHECK_INT(P.pos, P2.pos);
    CHECK_INT(P.status, P2.status);
    CHECK_STR(P.reason, P2.reason);
    if (a == KH_DONE) {
      CHECK_INT(P.req.nheaders, P2.req.nheaders);
      CHECK_INT(P.req.body, P2.req.body);
      CHECK_INT(P.req.content_length, P2.req.content_length);
      CHECK_INT(P.req.keep_alive, P2.req.keep_alive);
      CHECK_INT(P.req.expect_continue, P2.req.expect_continue);
      CHECK_STR(vstr(P.req.target), vstr(P2.req.target));
      CHECK(P2.req.target.p == (const char *)buf + P2.req.target.off);   /* rebased */
      for (size_t k = 0; k < P.req.nheaders; k++) {
        CHECK_STR(vstr(P.req.headers[k].name), vstr(P2.req.headers[k].name));
        CHECK_STR(vstr(P.req.headers[k].value), vstr(P2.req.headers[k].value));
      }
    }
    free(buf);
  }
}

/* Checks that s fails with status `code` and a reason containing `why`. */
#define CHECK_FAILS(s, code, why)                                         \
  do {                                                                    \
    CHECK_INT(parse(s), KH_ERROR);                                        \
    CHECK_INT(P.status, code);                                            \
    CHECK_CONTAINS(P.reason, why);                                        \
  } while (0)

static void test_errors_400(void) {
  CHECK_FAILS("GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400, "header name contains a space at byte 20");
  CHECK_FAILS("GET / HTTP/1.1\r\nHost: a\r\nX: y\r\n z\r\n\r\n", 400, "obs-fold");
  CHECK_FAILS("GET / HTTP/1.1\r\n Host: a\r\n\r\n", 400, "whitespace before the first header");
  CHECK_FAILS("GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n", 400, "bare CR");
  CHECK_FAILS("GET / HTTP/1.1\r\nHost: a\nX: b\r\n\r\n", 400, "bare LF");
  CHECK_FAILS("GET / HTTP/1.1\nHost: a\r\n\r\n", 400, "bare LF");
  CHECK_FAILS("GET / HTTP/1.1\r\nHost: a\r\n\n", 400, "bare LF");
  CHECK_FAILS("GET / HTTP/1.1\r\nHost: a\r\n\rX", 400, "bare CR");
}

static void test_errors_400_more(void) {
  static const char nul[] = "GET / HTTP/1.1\r\nHost: a\0b\r\n\r\n";
  kh_limits d;
  kh_limits_default(&d);
  kh_parser_init(&P, &d, hs, NH);
  CHECK_INT(kh_parse(&P, (const uint8_t *)nul, sizeof nul - 1), KH_ERROR);
  CHECK_INT(P.status, 400);
  CHECK_CONTAINS(P.reason, "invalid byte 0x00 in header value at byte 23");
  CHECK_FAILS("GET / HTTP/1.1\r\nX\x7f: a\r\n\r\n", 400, "header name");
  CHECK_FAILS("GET / HTTP/1.1\r\n: a\r\n\r\n", 400, "header name");
  CHECK_FAILS("G@T / HTTP/1.1\r\n\r\n", 400, "invalid byte '@' in method");
  CHECK_FAILS(" GET / HTTP/1.1\r\n\r\n", 400, "method");
  CHECK_FAILS("GET  / HTTP/1.1\r\n\r\n", 400, "empty request target");
  CHECK_FAILS("GET /a#b HTTP/1.1\r\n\r\n", 400, "request target");
  CHECK_FAILS("GET /\xff HTTP/1.1\r\n\r\n", 400, "0xff in request target");
  CHECK_FAILS("GET / http/1.1\r\n\r\n", 400, "HTTP version");
  CHECK_FAILS("GET / HTTP/1.x\r\n\r\n", 400, "HTTP version");
  CHECK_FAILS("GET / HTTP/11\r\n\r\n", 400, "HTTP version");
  CHECK_FAILS("GET / HTTP/1.1 \r\n\r\n", 400, "after the version");
  CHECK_FAILS("GET / HTTP/1.1\r\r\n\r\n", 400, "bare CR");
  CHECK_FAILS("GET /\r\n\r\n", 400, "bare CR");
  CHECK_FAILS("GET / HTTP/1.1\r\n\r\n", 400, "without Host");
  CHECK_FAILS("GET / HTTP/1.0\r\nHost: a\r\nhost: b\r\n\r\n", 400, "more than one Host");
  CHECK_INT(parse("GET / HTTP/1.0\r\n\r\n"), KH_DONE);   /* 1.0 needs no Host */
  CHECK_FAILS("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: +5\r\n\r\n", 400, "not a number");
  CHECK_FAILS("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", 400, "not a number");
  CHECK_FAILS("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 5x\r\n\r\n", 400, "not a number");
  CHECK_FAILS("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1 2\r\n\r\n", 400, "not a number");
  CHECK_FAILS("GET / HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\r\n", 400, "empty Content-Length");
  CHECK_FAILS("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 5,\r\n\r\n", 400, "empty Content-Length");
  CHECK_FAILS("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x5\r\n\r\n", 400, "not a number");
  CHECK_FAILS("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 18446744073709551616\r\n\r\n", 400,
              "overflows");
  CHECK_FAILS("GET / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue, x\r\n\r\n", 417, "100-continue");
}

static void test_smuggling(void) {
  CHECK_FAILS("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
              400, "both Content-Length and Transfer-Encoding");
  CHECK_FAILS("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n",
              400, "both");
  CHECK_FAILS("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n",
              400, "differing Content-Length");
  CHECK_FAILS("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3, 4\r\n\r\n", 400, "differing");
  CHECK_INT(parse("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\ncontent-length: 3, 3\r\n\r\n"), KH_DONE);
  CHECK_INT(P.req.content_length, 3);
  CHECK_FAILS("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", 400,
              "chunked is not the final");
  CHECK_FAILS("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", 400, "final transfer coding is not chunked");
  CHECK_FAILS("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
              400, "chunked is not the final");
  CHECK_FAILS("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked;x=1\r\n\r\n", 400, "malformed");
  CHECK_FAILS("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: \"chunked\"\r\n\r\n", 400, "malformed");
  CHECK_FAILS("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\r\n\r\n", 400, "empty Transfer-Encoding");
  CHECK_FAILS("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400, "HTTP/1.0");
  CHECK_FAILS("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding : chunked\r\n\r\n", 400, "contains a space");
  CHECK_FAILS("POST / HTTP/1.1\r\nHost: a\r\nContent-Length\t: 3\r\n\r\n", 400, "contains a space");
  CHECK_FAILS("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\tgzip\r\n\r\n", 400, "obs-fold");
  /* Case and list forms of a valid chunked coding. */
  CHECK_INT(parse("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: , CHUNKED ,\r\n\r\n"), KH_DONE);
  CHECK_INT(P.req.body, KH_BODY_CHUNKED);
}

static void test_errors_501_505(void) {
  CHECK_FAILS("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: foo\r\n\r\n", 501, "unknown transfer coding 'foo'");
  CHECK_FAILS("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: foo, chunked\r\n\r\n", 501, "unknown");
  CHECK_FAILS("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501, "only the chunked");
  CHECK_FAILS("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n",
              501, "only the chunked");
  CHECK_FAILS("GET / HTTP/2.0\r\n\r\n", 505, "HTTP version 2.0");
  CHECK_FAILS("GET / HTTP/0.9\r\n\r\n", 505, "not supported");
  CHECK_FAILS("GET / HTTP/3.1\r\n", 505, "not supported");
  CHECK_INT(parse("GET / HTTP/1.2\r\nHost: a\r\n\r\n"), KH_DONE);   /* 1.x > 1.1 is served as 1.1 */
  CHECK_INT(P.req.version_minor, 1);
  CHECK_INT(KH_REQUEST_TIMEOUT, 408);
}

/* A request line of exactly n bytes: "GET /aaa...a HTTP/1.1". */
static char *line_of(size_t n, const char *rest) {
  size_t fixed = strlen("GET / HTTP/1.1");
  char *s = malloc(n + strlen(rest) + 8);
  memcpy(s, "GET /", 5);
  memset(s + 5, 'a', n - fixed);
  strcpy(s + 5 + (n - fixed), " HTTP/1.1\r\n");
  strcat(s, rest);
  return s;
}

static void test_limit_request_line(void) {
  kh_limits lim;
  kh_limits_default(&lim);
  lim.max_request_line = 100;
  char *ok = line_of(100, "Host: a\r\n\r\n"), *bad = line_of(101, "Host: a\r\n\r\n");
  kh_result a = parse_lim(ok, &lim);
  kh_result b = parse_lim(bad, &lim);
  int st = P.status;
  /* One past fails as soon as the 101st byte arrives, before any CRLF. */
  bad[101] = 0;
  kh_result c = parse_lim(bad, &lim);
  char why[128];
  strcpy(why, P.reason);
  bad[100] = 0;
  kh_result d = parse_lim(bad, &lim);
  free(ok);
  free(bad);
  CHECK_INT(a, KH_DONE);
  CHECK_INT(b, KH_ERROR);
  CHECK_INT(st, 414);
  CHECK_INT(c, KH_ERROR);
  CHECK_CONTAINS(why, "request line longer than 100 bytes");
  CHECK_INT(d, KH_NEED_MORE);
}

/* A head whose header section is exactly n bytes (n >= 11), using one
** Host field padded with an X field. */
static char *section_of(size_t n) {
  char *s = malloc(n + 64);
  strcpy(s, "GET / HTTP/1.1\r\nHost: a\r\n");
  size_t used = strlen("Host: a\r\n") + 2, pad = n - used - strlen("X: \r\n");
  strcat(s, "X: ");
  memset(s + strlen(s), 'v', pad);
  strcpy(s + strlen("GET / HTTP/1.1\r\nHost: a\r\nX: ") + pad, "\r\n\r\n");
  return s;
}

static void test_limit_header_bytes(void) {
  kh_limits lim;
  kh_limits_default(&lim);
  lim.max_header_bytes = 200;
  char *ok = section_of(200), *bad = section_of(201);
  kh_result a = parse_lim(ok, &lim);
  size_t head = P.req.head_len;
  kh_result b = parse_lim(bad, &lim);
  free(ok);
  free(bad);
  CHECK_INT(a, KH_DONE);
  CHECK_INT(head, strlen("GET / HTTP/1.1\r\n") + 200);
  CHECK_INT(b, KH_ERROR);
  CHECK_INT(P.status, 431);
  CHECK_CONTAINS(P.reason, "header section longer than 200 bytes");
}

/* A head with Host plus n-1 more fields. */
static char *fields_of(size_t n) {
  char *s = malloc(64 + n * 8);
  strcpy(s, "GET / HTTP/1.1\r\nHost: a\r\n");
  for (size_t i = 1; i < n; i++) strcat(s, "X: 1\r\n");
  strcat(s, "\r\n");
  return s;
}

static void test_limit_header_count(void) {
  kh_limits lim;
  kh_limits_default(&lim);
  lim.max_headers = 10;
  char *ok = fields_of(10), *bad = fields_of(11), *cap = fields_of(NH + 1);
  kh_result a = parse_lim(ok, &lim);
  kh_result b = parse_lim(bad, &lim);
  int st = P.status;
  lim.max_headers = 1000;   /* the caller's array (NH) bounds it too */
  kh_result c = parse_lim(cap, &lim);
  free(ok); free(bad); free(cap);
  CHECK_INT(a, KH_DONE);
  CHECK_INT(b, KH_ERROR);
  CHECK_INT(st, 431);
  CHECK_INT(c, KH_ERROR);
  CHECK_INT(P.status, 431);
  CHECK_CONTAINS(P.reason, "more than 32 header fields");
}

static void test_limit_body(void) {
  kh_limits lim;
  kh_limits_default(&lim);
  lim.max_body = 1000;
  CHECK_INT(parse_lim("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1000\r\n\r\n", &lim), KH_DONE);
  CHECK_INT(P.req.body, KH_BODY_LENGTH);
  CHECK_INT(P.req.content_length, 1000);
  CHECK_INT(parse_lim("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1001\r\n\r\n", &lim), KH_ERROR);
  CHECK_INT(P.status, 413);
  CHECK_CONTAINS(P.reason, "exceeds the 1000-byte limit");
  /* Chunked: 1000 bytes over two chunks pass, 1001 fail at the size digit. */
  kh_chunked c;
  size_t used, got;
  char ok[] = "1f4\r\n", ok2[] = "1F4;x\r\n";
  static char data[600];
  kh_chunked_init(&c, &lim);
  CHECK_INT(kh_chunked_feed(&c, (uint8_t *)ok, 5, &used, &got), KH_NEED_MORE);
  CHECK_INT(kh_chunked_feed(&c, (uint8_t *)data, 500, &used, &got), KH_NEED_MORE);
  CHECK_INT(got, 500);
  char mid[] = "\r\n";
  CHECK_INT(kh_chunked_feed(&c, (uint8_t *)mid, 2, &used, &got), KH_NEED_MORE);
  CHECK_INT(kh_chunked_feed(&c, (uint8_t *)ok2, 7, &used, &got), KH_NEED_MORE);
  CHECK_INT(kh_chunked_feed(&c, (uint8_t *)data, 500, &used, &got), KH_NEED_MORE);
  char end[] = "\r\n0\r\n\r\n";
  CHECK_INT(kh_chunked_feed(&c, (uint8_t *)end, 7, &used, &got), KH_DONE);
  CHECK_INT(c.total, 1000);
  kh_chunked_init(&c, &lim);
  char over[] = "3e9\r\n";
  CHECK_INT(kh_chunked_feed(&c, (uint8_t *)over, 5, &used, &got), KH_ERROR);
  CHECK_INT(c.status, 413);
}

static void test_keep_alive(void) {
  CHECK_INT(parse("GET / HTTP/1.1\r\nHost: a\r\n\r\n"), KH_DONE);
  CHECK(P.req.keep_alive);
  CHECK_INT(parse("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"), KH_DONE);
  CHECK(!P.req.keep_alive);
  CHECK_INT(parse("GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, CLOSE\r\n\r\n"), KH_DONE);
  CHECK(!P.req.keep_alive);
  CHECK_INT(parse("GET / HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\nConnection: Close\r\n\r\n"), KH_DONE);
  CHECK(!P.req.keep_alive);
  CHECK_INT(parse("GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\n\r\n"), KH_DONE);
  CHECK(P.req.keep_alive);
  CHECK_INT(parse("GET / HTTP/1.0\r\n\r\n"), KH_DONE);
  CHECK(!P.req.keep_alive);
  CHECK_INT(parse("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n"), KH_DONE);
  CHECK(P.req.keep_alive);
  CHECK_INT(parse("GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n"), KH_DONE);
  CHECK(!P.req.keep_alive);
  CHECK_INT(parse("GET / HTTP/1.0\r\nConnection: keep-alived\r\n\r\n"), KH_DONE);
  CHECK(!P.req.keep_alive);
}

static void test_expect_continue(void) {
  CHECK_INT(parse("PUT / HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\nContent-Length: 9\r\n\r\n"), KH_DONE);
  CHECK(P.req.expect_continue);
  CHECK_INT(parse("PUT / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 9\r\n\r\n"), KH_DONE);
  CHECK(!P.req.expect_continue);   /* ignored for HTTP/1.0 */
  CHECK_INT(parse("PUT / HTTP/1.1\r\nHost: a\r\nExpect: 200-ok\r\n\r\n"), KH_ERROR);
  CHECK_INT(P.status, 417);
}

/* Decodes s (NUL-terminated) whole and byte by byte; both must give
** `want` decoded bytes and result r; returns the whole decoder in *out. */
static kh_result chunked_both(const char *s, const kh_limits *lim, char *dec, size_t *declen,
                              size_t *consumed, kh_chunked *out) {
  size_t n = strlen(s), used, got, tot = 0;
  uint8_t *w = malloc(n + 1);
  memcpy(w, s, n);
  kh_chunked_init(out, lim);
  kh_result a = kh_chunked_feed(out, w, n, consumed, declen);
  memcpy(dec, w, *declen);
  kh_chunked c;
  kh_chunked_init(&c, lim);
  kh_result b = KH_NEED_MORE;
  size_t i = 0;
  for (; i < n && b == KH_NEED_MORE; i++) {
    uint8_t one = (uint8_t)s[i];
    b = kh_chunked_feed(&c, &one, 1, &used, &got);
    if (got) tot += got;
    if (got && (size_t)one != (size_t)(uint8_t)dec[tot - 1]) b = 99;
  }
  free(w);
  if (a != b || tot != *declen || (a == KH_DONE && i != *consumed) || c.status != out->status ||
      strcmp(c.reason, out->reason) != 0)
    return 77;
  return a;
}

static void test_chunked_decode(void) {
  kh_limits lim;
  kh_limits_default(&lim);
  char dec[256];
  size_t n, used;
  kh_chunked c;
  const char *s = "5;name=val;q=\"a \\\" b\" ; flag\r\nhello\r\n"
                  "6\r\n world\r\n"
                  "0 ;last\r\nX-Sum: abc\r\nX-Other:\r\n\r\nGET /next";
  CHECK_INT(chunked_both(s, &lim, dec, &n, &used, &c), KH_DONE);
  CHECK_INT(n, 11);
  CHECK(memcmp(dec, "hello world", 11) == 0);
  CHECK_INT(used, strlen(s) - strlen("GET /next"));
  CHECK_INT(c.ntrailers, 2);
  CHECK_INT(c.total, 11);
  CHECK_INT(chunked_both("0\r\n\r\n", &lim, dec, &n, &used, &c), KH_DONE);
  CHECK_INT(n, 0);
  CHECK_INT(chunked_both("00000003\r\nabc\r\n0000\r\n\r\n", &lim, dec, &n, &used, &c), KH_DONE);
  CHECK_INT(n, 3);
  CHECK_INT(chunked_both("3\r\nab", &lim, dec, &n, &used, &c), KH_NEED_MORE);
  CHECK_INT(n, 2);
}

/* Checks that chunked input s fails with `code` and reason `why`. */
#define CHECK_CHUNK_FAILS(s, lim, code, why)                                \
  do {                                                                      \
    CHECK_INT(chunked_both(s, lim, dec, &n, &used, &c), KH_ERROR);          \
    CHECK_INT(c.status, code);                                              \
    CHECK_CONTAINS(c.reason, why);                                          \
  } while (0)

static void test_chunked_errors(void) {
  kh_limits lim;
  kh_limits_default(&lim);
  char dec[256];
  size_t n, used;
  kh_chunked c;
  CHECK_CHUNK_FAILS("3\r\nabcd\r\n0\r\n\r\n", &lim, 400, "data longer than its size");
  CHECK_CHUNK_FAILS("3\r\nabc\n0\r\n\r\n", &lim, 400, "chunk data ending");
  CHECK_CHUNK_FAILS("0x3\r\nabc\r\n", &lim, 400, "chunk size");
  CHECK_CHUNK_FAILS("\r\n", &lim, 400, "invalid byte 0x0d in chunk size at body byte 0");
  CHECK_CHUNK_FAILS(";x\r\n", &lim, 400, "chunk size");
  CHECK_CHUNK_FAILS("-1\r\n", &lim, 400, "chunk size");
  CHECK_CHUNK_FAILS("3 \r\nabc\r\n", &lim, 400, "chunk size");
  CHECK_CHUNK_FAILS("3\nabc\r\n", &lim, 400, "chunk size");
  CHECK_CHUNK_FAILS("3;\r\nabc\r\n", &lim, 400, "chunk extension");
  CHECK_CHUNK_FAILS("3;a=\r\nabc\r\n", &lim, 400, "chunk extension");
  CHECK_CHUNK_FAILS("3;a=\"x\r\nabc\r\n", &lim, 400, "chunk extension");
  CHECK_CHUNK_FAILS("3;a=b c\r\nabc\r\n", &lim, 400, "chunk extension");
  CHECK_CHUNK_FAILS("3;a\x01\r\n", &lim, 400, "chunk extension");
  CHECK_CHUNK_FAILS("0\r\nX : y\r\n\r\n", &lim, 400, "trailer field name");
  CHECK_CHUNK_FAILS("0\r\nX: y\r\n z\r\n\r\n", &lim, 400, "trailer field name");
  CHECK_CHUNK_FAILS("0\r\nX: y\rz\r\n\r\n", &lim, 400, "trailer line ending");
  CHECK_CHUNK_FAILS("0\r\nX: \x7f\r\n\r\n", &lim, 400, "trailer field value");
  CHECK_CHUNK_FAILS("0\r\n\rx", &lim, 400, "end of the trailer section");
  lim.max_body = UINT64_MAX;
  CHECK_CHUNK_FAILS("10000000000000000\r\n", &lim, 400, "overflows 64 bits");
  CHECK_INT(chunked_both("0000ffffffffffffffff\r\n", &lim, dec, &n, &used, &c), KH_NEED_MORE);
}

static void test_chunked_limits(void) {
  kh_limits lim;
  kh_limits_default(&lim);
  char dec[256];
  size_t n, used;
  kh_chunked c;
  lim.max_chunk_line = 8;
  CHECK_INT(chunked_both("1;abcdef\r\nx\r\n0\r\n\r\n", &lim, dec, &n, &used, &c), KH_DONE);
  CHECK_CHUNK_FAILS("1;abcdefg\r\nx\r\n0\r\n\r\n", &lim, 400, "chunk-size line longer than 8 bytes");
  kh_limits_default(&lim);
  lim.max_header_bytes = 12;   /* the trailer section with its final CRLF */
  CHECK_INT(chunked_both("0\r\nX: 12345\r\n\r\n", &lim, dec, &n, &used, &c), KH_DONE);   /* 10 + 2 */
  CHECK_CHUNK_FAILS("0\r\nX: 123456\r\n\r\n", &lim, 431, "trailer section longer than 12 bytes");
  kh_limits_default(&lim);
  lim.max_headers = 2;
  CHECK_INT(chunked_both("0\r\nA: 1\r\nB: 2\r\n\r\n", &lim, dec, &n, &used, &c), KH_DONE);
  CHECK_CHUNK_FAILS("0\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", &lim, 431, "more than 2 trailer fields");
}

static void test_moving_buffer(void) {
  const char *s = "GET /move?x HTTP/1.1\r\nHost: a\r\nK: v\r\n\r\n";
  uint8_t *buf;
  CHECK_INT(parse_bytewise(s, NULL, &buf), KH_DONE);
  CHECK(P2.req.path.p == (const char *)buf + 4);
  CHECK_STR(vstr(P2.req.path), "/move");
  CHECK_STR(vstr(P2.req.query), "x");
  CHECK_STR(vstr(P2.req.headers[1].value), "v");
  free(buf);
}

static void test_reason_phrases(void) {
  CHECK_STR(kh_reason(200), "OK");
  CHECK_STR(kh_reason(400), "Bad Request");
  CHECK_STR(kh_reason(408), "Request Timeout");
  CHECK_STR(kh_reason(413), "Content Too Large");
  CHECK_STR(kh_reason(414), "URI Too Long");
  CHECK_STR(kh_reason(431), "Request Header Fields Too Large");
  CHECK_STR(kh_reason(501), "Not Implemented");
  CHECK_STR(kh_reason(505), "HTTP Version Not Supported");
  CHECK_STR(kh_reason(299), "Unknown");
}

static void test_response_format(void) {
  char buf[512];
  kh_header h[2] = { { { "Content-Type", 12, 0 }, { "text/plain", 10, 0 } },
                     { { "X-A", 3, 0 }, { "b", 1, 0 } } };
  kh_response r = { 200, h, 2, KH_FRAME_LENGTH, 5, false, 0 };
  long n = kh_format_head(buf, sizeof buf, &r);
  const char *want = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-A: b\r\nContent-Length: 5\r\n\r\n";
  CHECK_INT(n, strlen(want));
  buf[n] = 0;
  CHECK(strcmp(buf, want) == 0);
  /* Exactly fitting works; one byte less does not. */
  CHECK_INT(kh_format_head(buf, strlen(want), &r), n);
  CHECK_INT(kh_format_head(buf, strlen(want) - 1, &r), -1);
  kh_response c = { 404, NULL, 0, KH_FRAME_CHUNKED, 0, true, 784111777 };
  n = kh_format_head(buf, sizeof buf, &c);
  CHECK(n > 0);
  buf[n] = 0;
  CHECK(strcmp(buf, "HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n"
                    "Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n\r\n") == 0);
  kh_response none = { 204, NULL, 0, KH_FRAME_NONE, 0, false, 0 };
  n = kh_format_head(buf, sizeof buf, &none);
  buf[n] = 0;
  CHECK(strcmp(buf, "HTTP/1.1 204 No Content\r\n\r\n") == 0);
  /* Response splitting and bad names are refused. */
  kh_header evil = { { "X", 1, 0 }, { "a\r\nSet-Cookie: x", 17, 0 } };
  kh_response e = { 200, &evil, 1, KH_FRAME_NONE, 0, false, 0 };
  CHECK_INT(kh_format_head(buf, sizeof buf, &e), -1);
  kh_header badname = { { "X Y", 3, 0 }, { "a", 1, 0 } };
  e.headers = &badname;
  CHECK_INT(kh_format_head(buf, sizeof buf, &e), -1);
  e.status = 42;
  e.nheaders = 0;
  CHECK_INT(kh_format_head(buf, sizeof buf, &e), -1);
}

static void test_chunk_writer(void) {
  char buf[64];
  long n = kh_write_chunk(buf, sizeof buf, "hello world!!!!!!", 17);
  CHECK_INT(n, 2 + 2 + 17 + 2);
  CHECK(memcmp(buf, "11\r\nhello world!!!!!!\r\n", (size_t)n) == 0);
  CHECK_INT(kh_write_chunk(buf, sizeof buf, "x", 0), 0);
  CHECK_INT(kh_write_chunk(buf, 5, "abc", 3), -1);
  CHECK_INT(kh_chunk_prefix(buf, sizeof buf, 255), 4);
  CHECK(memcmp(buf, "ff\r\n", 4) == 0);
  CHECK_INT(kh_write_last_chunk(buf, sizeof buf), 5);
  CHECK(memcmp(buf, "0\r\n\r\n", 5) == 0);
  CHECK_INT(kh_write_last_chunk(buf, 4), -1);
  /* What the writer makes, the decoder reads back. */
  char wire[64];
  long a = kh_write_chunk(wire, sizeof wire, "abc", 3);
  long b = kh_write_last_chunk(wire + a, sizeof wire - (size_t)a);
  kh_limits lim;
  kh_limits_default(&lim);
  kh_chunked c;
  size_t used, got;
  kh_chunked_init(&c, &lim);
  CHECK_INT(kh_chunked_feed(&c, (uint8_t *)wire, (size_t)(a + b), &used, &got), KH_DONE);
  CHECK_INT(got, 3);
  CHECK(memcmp(wire, "abc", 3) == 0);
  char d[40];
  CHECK_INT(kh_format_date(d, sizeof d, 0), 29);
  CHECK_STR(d, "Thu, 01 Jan 1970 00:00:00 GMT");
  CHECK_INT(kh_format_date(d, 29, 0), -1);
}

int main(void) {
  RUN(test_simple_get);
  RUN(test_incomplete_needs_more);
  RUN(test_query_and_forms);
  RUN(test_header_values_and_lookup);
  RUN(test_leading_empty_line);
  RUN(test_pipelined);
  RUN(test_bytewise_identical);
  RUN(test_errors_400);
  RUN(test_errors_400_more);
  RUN(test_smuggling);
  RUN(test_errors_501_505);
  RUN(test_limit_request_line);
  RUN(test_limit_header_bytes);
  RUN(test_limit_header_count);
  RUN(test_limit_body);
  RUN(test_keep_alive);
  RUN(test_expect_continue);
  RUN(test_chunked_decode);
  RUN(test_chunked_errors);
  RUN(test_chunked_limits);
  RUN(test_moving_buffer);
  RUN(test_reason_phrases);
  RUN(test_response_format);
  RUN(test_chunk_writer);
  return t_summary();
}
