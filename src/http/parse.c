/*
** parse.c -- the incremental, zero-copy HTTP/1.1 request-head parser (RFC 9112 2-5).
** Owns: request-line and header-field syntax, the line/section/count limits.
** Does not own: framing semantics (frame.c), bodies (chunked.c), responses (write.c).
*/
#include "http/http.h"
#include "util/cursor.h"
#include <stdarg.h>
#include <stdio.h>

/* Parser states, one per place in the grammar. */
enum {
  S_START, S_START_LF, S_METHOD, S_TARGET, S_VERSION, S_LINE_CR, S_LINE_LF,
  S_FIELD_START, S_NAME, S_OWS, S_VALUE, S_FIELD_LF, S_END_LF
};

static const char HTTP_NAME[] = "HTTP/";

/* Defaults close to common servers' (nginx, h11): 8 KiB request line,
** 32 KiB of fields, 100 fields, 16 MiB bodies. */
void kh_limits_default(kh_limits *lim) {
  lim->max_request_line = 8192;
  lim->max_header_bytes = 32768;
  lim->max_headers = 100;
  lim->max_body = 16u << 20;
  lim->max_chunk_line = 4096;
}

/* Formats a reason and records the status; every parse error goes here. */
kh_result kh_fail(int *status, char *reason, int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(reason, 128, fmt, ap);
  va_end(ap);
  *status = code;
  return KH_ERROR;
}

/* Resets p for a new request whose first byte is at offset 0 of the next
** buffer passed to kh_parse. */
void kh_parser_init(kh_parser *p, const kh_limits *lim, kh_header *headers, size_t cap) {
  assert(lim && (headers || cap == 0));
  assert(lim->max_request_line > 0 && lim->max_header_bytes > 0);
  memset(p, 0, sizeof *p);
  p->lim = *lim;
  p->req.headers = headers;
  p->req.cap_headers = cap;
  p->state = S_START;
  p->result = KH_NEED_MORE;
}

/* The printable form of byte b for messages: 'x' or 0xNN. */
static const char *show(uint8_t b, char out[8]) {
  if (b > 0x20 && b < 0x7f) snprintf(out, 8, "'%c'", b);
  else snprintf(out, 8, "0x%02x", b);
  return out;
}

#define FAIL(p, code, ...) kh_fail(&(p)->status, (p)->reason, (code), __VA_ARGS__)

/* The failure for a byte that has no place in `where`; CR and LF get
** their own wording since bare ones are a classic smuggling tool. */
static kh_result bad_byte(kh_parser *p, uint8_t b, const char *where) {
  char s[8];
  if (b == '\n') return FAIL(p, KH_BAD_REQUEST, "bare LF in %s at byte %zu", where, p->pos);
  if (b == '\r') return FAIL(p, KH_BAD_REQUEST, "bare CR in %s at byte %zu", where, p->pos);
  return FAIL(p, KH_BAD_REQUEST, "invalid byte %s in %s at byte %zu", show(b, s), where, p->pos);
}

/* The failure for a CR (at the previous byte) not followed by LF. */
static kh_result bare_cr(kh_parser *p) {
  return FAIL(p, KH_BAD_REQUEST, "bare CR (not followed by LF) at byte %zu", p->pos - 1);
}

/* The length of "scheme://" when s[0..n) starts with an absolute URI's
** scheme (RFC 3986 3.1) and "://", else 0. */
static size_t scheme_len(const char *s, size_t n) {
  size_t i = 0;
  if (n == 0 || !((s[0] | 0x20) >= 'a' && (s[0] | 0x20) <= 'z')) return 0;
  while (i < n && (((s[i] | 0x20) >= 'a' && (s[i] | 0x20) <= 'z') ||
                   (s[i] >= '0' && s[i] <= '9') || s[i] == '+' || s[i] == '-' || s[i] == '.'))
    i++;
  return n - i >= 3 && memcmp(s + i, "://", 3) == 0 ? i + 3 : 0;
}

/* Classifies the complete target buf[tok_start..pos) into a request-target
** form (RFC 9112 3.2) and records target, path and query offsets. */
static kh_result end_target(kh_parser *p, const uint8_t *buf) {
  kh_request *r = &p->req;
  const char *t = (const char *)buf + p->tok_start;
  size_t n = p->pos - p->tok_start, path = 0;
  size_t qoff = p->query_off ? p->query_off - p->tok_start : n;
  r->target.off = p->tok_start;
  r->target.len = n;
  if (n == 0) return FAIL(p, KH_BAD_REQUEST, "empty request target at byte %zu", p->pos);
  bool options = r->method.len == 7 && memcmp(buf + r->method.off, "OPTIONS", 7) == 0;
  bool connect = r->method.len == 7 && memcmp(buf + r->method.off, "CONNECT", 7) == 0;
  if (connect) {
    r->form = KH_FORM_AUTHORITY;
    if (t[0] == '/' || p->query_off || memchr(t, '/', n))
      return FAIL(p, KH_BAD_REQUEST, "CONNECT needs a host:port target");
    path = n;
  } else if (t[0] == '/') {
    r->form = KH_FORM_ORIGIN;
  } else if (n == 1 && t[0] == '*') {
    if (!options) return FAIL(p, KH_BAD_REQUEST, "target '*' is only allowed with OPTIONS");
    r->form = KH_FORM_ASTERISK;
  } else if ((path = scheme_len(t, qoff)) != 0) {
    r->form = KH_FORM_ABSOLUTE;
    const char *slash = memchr(t + path, '/', qoff - path);
    path = slash ? (size_t)(slash - t) : qoff;
  } else {
    return FAIL(p, KH_BAD_REQUEST, "request target must start with '/' (byte %zu)", p->tok_start);
  }
  r->path.off = p->tok_start + path;
  r->path.len = qoff > path ? qoff - path : 0;
  r->has_query = p->query_off != 0 && !connect;
  if (r->has_query) {
    r->query.off = p->query_off + 1;
    r->query.len = p->pos - p->query_off - 1;
  } else {
    r->query.off = r->target.off + r->target.len;   /* empty, at the end */
    r->query.len = 0;
  }
  return KH_NEED_MORE;
}

/* One byte of "HTTP/1.x": the name case-sensitively, then digit '.' digit.
** A well-formed version other than 1.x is 505; 1.2 and up count as 1.1. */
static kh_result version_byte(kh_parser *p, uint8_t b) {
  size_t k = p->pos - p->tok_start;
  if (k < 5) {
    if (b != (uint8_t)HTTP_NAME[k]) return bad_byte(p, b, "HTTP version");
    return KH_NEED_MORE;
  }
  if (k == 6) return b == '.' ? KH_NEED_MORE : bad_byte(p, b, "HTTP version");
  if (b < '0' || b > '9') return bad_byte(p, b, "HTTP version");
  if (k == 5) {
    p->req.version_minor = b - '0';   /* the major digit, for now */
    return KH_NEED_MORE;
  }
  int major = p->req.version_minor;
  if (major != 1)
    return FAIL(p, KH_VERSION_NOT_SUPPORTED, "HTTP version %d.%c is not supported", major, b);
  p->req.version_minor = b == '0' ? 0 : 1;
  p->state = S_LINE_CR;
  return KH_NEED_MORE;
}

/* One byte of the request line: method SP target SP version CRLF, after
** at most one empty line. */
static kh_result line_byte(kh_parser *p, const uint8_t *buf, uint8_t b) {
  kh_request *r = &p->req;
  if (p->state >= S_METHOD && p->state <= S_LINE_CR && b != '\r' &&
      p->pos - p->line_start >= p->lim.max_request_line)
    return FAIL(p, KH_URI_TOO_LONG, "request line longer than %zu bytes", p->lim.max_request_line);
  switch (p->state) {
  case S_START:
    if (b == '\r' && !p->skipped_empty) { p->state = S_START_LF; return KH_NEED_MORE; }
    if (!kh_tchar(b)) return bad_byte(p, b, "method");
    p->line_start = p->tok_start = p->pos;
    p->state = S_METHOD;
    return KH_NEED_MORE;
  case S_START_LF:
    if (b != '\n') return bare_cr(p);
    p->skipped_empty = true;
    p->state = S_START;
    return KH_NEED_MORE;
  case S_METHOD:
    if (kh_tchar(b)) return KH_NEED_MORE;
    if (b != ' ') return bad_byte(p, b, "method");
    r->method.off = p->tok_start;
    r->method.len = p->pos - p->tok_start;
    p->tok_start = p->pos + 1;
    p->state = S_TARGET;
    return KH_NEED_MORE;
  case S_TARGET:
    if (b == '?' && !p->query_off) p->query_off = p->pos;
    if (b > 0x20 && b < 0x7f && b != '#') return KH_NEED_MORE;
    if (b != ' ') return bad_byte(p, b, "request target");
    if (end_target(p, buf) == KH_ERROR) return KH_ERROR;
    p->tok_start = p->pos + 1;
    p->state = S_VERSION;
    return KH_NEED_MORE;
  case S_VERSION:
    return version_byte(p, b);
  case S_LINE_CR:
    if (b != '\r') return bad_byte(p, b, "request line after the version");
    p->state = S_LINE_LF;
    return KH_NEED_MORE;
  default:
    assert(p->state == S_LINE_LF);
    if (b != '\n') return bare_cr(p);
    p->hdr_start = p->pos + 1;
    p->state = S_FIELD_START;
    return KH_NEED_MORE;
  }
}

/* Appends the field whose name starts at tok_start and whose value ends
** at value_end. */
static void commit_field(kh_parser *p) {
  kh_request *r = &p->req;
  assert(r->nheaders < r->cap_headers);
  kh_header *h = &r->headers[r->nheaders++];
  h->name.p = h->value.p = NULL;
  h->value.len = p->value_end - h->value.off;
}

/* Starts a header field line at byte b, or ends the head on CR. Leading
** whitespace is obs-fold (or space before the first field): both 400. */
static kh_result field_start(kh_parser *p, uint8_t b) {
  kh_request *r = &p->req;
  if (b == '\r') { p->state = S_END_LF; return KH_NEED_MORE; }
  if (b == ' ' || b == '\t')
    return FAIL(p, KH_BAD_REQUEST, r->nheaders ? "obs-fold (line folding) at byte %zu"
                                               : "whitespace before the first header at byte %zu",
                p->pos);
  if (!kh_tchar(b)) return bad_byte(p, b, "header name");
  size_t max = p->lim.max_headers < r->cap_headers ? p->lim.max_headers : r->cap_headers;
  if (r->nheaders >= max)
    return FAIL(p, KH_HEADERS_TOO_LARGE, "more than %zu header fields", max);
  r->headers[r->nheaders].name.off = p->tok_start = p->pos;
  p->state = S_NAME;
  return KH_NEED_MORE;
}

/* One byte of the header section: name ":" OWS value OWS CRLF lines,
** then the empty line. */
static kh_result field_byte(kh_parser *p, uint8_t b) {
  if (p->pos - p->hdr_start >= p->lim.max_header_bytes)
    return FAIL(p, KH_HEADERS_TOO_LARGE, "header section longer than %zu bytes",
                p->lim.max_header_bytes);
  switch (p->state) {
  case S_FIELD_START:
    return field_start(p, b);
  case S_NAME:
    if (kh_tchar(b)) return KH_NEED_MORE;
    if (b == ' ' || b == '\t')
      return FAIL(p, KH_BAD_REQUEST, "header name contains a space at byte %zu", p->pos);
    if (b != ':') return bad_byte(p, b, "header name");
    p->req.headers[p->req.nheaders].name.len = p->pos - p->tok_start;
    p->state = S_OWS;
    return KH_NEED_MORE;
  case S_OWS:
    if (b == ' ' || b == '\t') return KH_NEED_MORE;
    p->req.headers[p->req.nheaders].value.off = p->value_end = p->pos;
    p->state = S_VALUE;
    /* fall through */
  case S_VALUE:
    if (b == '\r') { p->state = S_FIELD_LF; return KH_NEED_MORE; }
    if (!kh_vchar(b)) return bad_byte(p, b, "header value");
    if (b != ' ' && b != '\t') p->value_end = p->pos + 1;
    return KH_NEED_MORE;
  case S_FIELD_LF:
    if (b != '\n') return bare_cr(p);
    commit_field(p);
    p->state = S_FIELD_START;
    return KH_NEED_MORE;
  default:
    assert(p->state == S_END_LF);
    if (b != '\n') return bare_cr(p);
    return KH_DONE;
  }
}

/* Turns every recorded offset into a pointer into buf. */
static void set_pointers(kh_request *r, const uint8_t *buf) {
  const char *s = (const char *)buf;
  r->method.p = s + r->method.off;
  r->target.p = s + r->target.off;
  r->path.p = s + r->path.off;
  r->query.p = s + r->query.off;
  for (size_t i = 0; i < r->nheaders; i++) {
    r->headers[i].name.p = s + r->headers[i].name.off;
    r->headers[i].value.p = s + r->headers[i].value.off;
  }
}

/* Feeds the bytes not seen yet through the state machine, one at a
** time, so splitting never changes the outcome; views are stored as
** offsets and made pointers into this call's buf at the end. */
kh_result kh_parse(kh_parser *p, const uint8_t *buf, size_t len) {
  assert(len >= p->pos);
  if (p->result != KH_NEED_MORE) {
    if (p->result == KH_DONE) set_pointers(&p->req, buf);
    return p->result;
  }
  ku_cursor c = { buf + p->pos, buf + len, buf, "request", NULL };
  kh_result res = KH_NEED_MORE;
  while (res == KH_NEED_MORE && !ku_eof(&c)) {
    uint8_t b = ku_u8(&c);
    res = p->state < S_FIELD_START ? line_byte(p, buf, b) : field_byte(p, b);
    p->pos++;
  }
  if (res == KH_DONE) {
    p->req.head_len = p->pos;
    set_pointers(&p->req, buf);
    res = kh_finish_head(p);
  }
  p->result = res;
  return res;
}
