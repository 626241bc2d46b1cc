/*
** reply.c -- an HTTP/1.1 response from a remote LLM server, parsed as its
** bytes arrive: the status line and fields through the bounded cursor,
** the body by length, chunked (src/http's decoder) or until close. No sockets.
*/
#include <stdio.h>
#include <string.h>

#include "llm/remote_internal.h"
#include "util/cursor.h"
#include "krait.h"

enum { ST_HEAD, ST_BODY, ST_DONE, ST_BAD };

void kl_reply_init(kl_reply *r, size_t max_body) {
  memset(r, 0, sizeof *r);
  r->max_body = max_body;
  kh_limits_default(&r->lim);
  r->lim.max_body = max_body;
  kh_chunked_init(&r->chunk, &r->lim);
}

/* Fails the reply with a message; KL_REPLY_BAD. */
static kl_reply_rc bad(kl_reply *r, char *err, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static kl_reply_rc bad(kl_reply *r, char *err, size_t cap, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  ku_vfmt(err, cap, fmt, ap);
  va_end(ap);
  r->stage = ST_BAD;
  return KL_REPLY_BAD;
}

/* Whether the next bytes of c are s (not consumed). */
static bool ahead(const ku_cursor *c, const char *s) {
  size_t n = strlen(s);
  return ku_left(c) >= n && memcmp(c->p, s, n) == 0;
}

/* Consumes the exact bytes s, or fails naming what was expected. */
static void expect(ku_cursor *c, const char *s, const char *what) {
  if (!ahead(c, s)) ku_cfail(c, KRAIT_ERR_MALFORMED, "expected %s", what);
  c->p += strlen(s);
}

/* "HTTP/1.x NNN[ reason]\r\n": the status code. */
static int status_line(ku_cursor *c) {
  expect(c, "HTTP/1.", "\"HTTP/1.\" (the server does not speak HTTP/1.x)");
  uint8_t minor = ku_u8(c);
  if (minor != '0' && minor != '1') ku_cfail(c, KRAIT_ERR_MALFORMED, "HTTP version 1.%c is not 1.0 or 1.1", minor);
  expect(c, " ", "a space after the version");
  int code = 0;
  for (int i = 0; i < 3; i++) {
    uint8_t d = ku_u8(c);
    if (d < '0' || d > '9') ku_cfail(c, KRAIT_ERR_MALFORMED, "the status code is not three digits");
    code = code * 10 + (d - '0');
  }
  if (code < 100) ku_cfail(c, KRAIT_ERR_MALFORMED, "status code %03d is below 100", code);
  if (!ahead(c, "\r\n")) {
    expect(c, " ", "a space or the end of the line after the status code");
    while (!ahead(c, "\r\n"))
      if (!kh_vchar(ku_u8(c))) ku_cfail(c, KRAIT_ERR_MALFORMED, "a control byte in the reason phrase");
  }
  c->p += 2;
  return code;
}

/* The digits of a Content-Length value [v, v+n); fails unless 1 to 19
** digits (and equal to an earlier one). */
static void content_length(ku_cursor *c, kl_reply *r, const uint8_t *v, size_t n, bool *seen) {
  uint64_t x = 0;
  if (n == 0 || n > 19) ku_cfail(c, KRAIT_ERR_MALFORMED, "Content-Length is not 1 to 19 digits");
  for (size_t i = 0; i < n; i++) {
    if (v[i] < '0' || v[i] > '9') ku_cfail(c, KRAIT_ERR_MALFORMED, "Content-Length holds a byte that is not a digit");
    x = x * 10 + (uint64_t)(v[i] - '0');
  }
  if (*seen && x != r->length) ku_cfail(c, KRAIT_ERR_MALFORMED, "two Content-Length fields disagree");
  *seen = true;
  r->length = x;
}

/* Whether [v, v+n) equals s ignoring ASCII case. */
static bool ieq(const uint8_t *v, size_t n, const char *s) {
  kh_view w = { (const char *)v, n, 0 };
  return kh_view_ieq(w, s);
}

/* What one field means for the body: its length, its transfer coding (only
** "chunked") and its content coding (only "identity": krait asks for it). */
static void field(ku_cursor *c, kl_reply *r, kh_view name, const uint8_t *v, size_t n, bool *cl, bool *te) {
  if (kh_view_ieq(name, "content-length")) content_length(c, r, v, n, cl);
  else if (kh_view_ieq(name, "transfer-encoding")) {
    if (*te || !ieq(v, n, "chunked"))
      ku_cfail(c, KRAIT_ERR_MALFORMED, "Transfer-Encoding \"%.*s\" is not supported (only chunked)",
               (int)(n > 40 ? 40 : n), (const char *)v);
    *te = true;
  } else if (kh_view_ieq(name, "content-encoding") && !ieq(v, n, "identity"))
    ku_cfail(c, KRAIT_ERR_MALFORMED, "Content-Encoding \"%.*s\" is not supported (krait asks for identity)",
             (int)(n > 40 ? 40 : n), (const char *)v);
}

/* The field lines up to the empty line; sets the framing of a final reply. */
static void fields(ku_cursor *c, kl_reply *r) {
  bool cl = false, te = false;
  size_t count = 0;
  while (!ahead(c, "\r\n")) {
    if (++count > KL_REPLY_FIELDS_MAX) ku_cfail(c, KRAIT_ERR_MALFORMED, "more than %d fields", KL_REPLY_FIELDS_MAX);
    const uint8_t *name = c->p;
    while (!ahead(c, ":"))
      if (!kh_tchar(ku_u8(c))) ku_cfail(c, KRAIT_ERR_MALFORMED, "a field name holds a byte that is not a token");
    kh_view nv = { (const char *)name, (size_t)(c->p - name), 0 };
    if (!nv.len) ku_cfail(c, KRAIT_ERR_MALFORMED, "a field has an empty name");
    c->p++;
    while (ahead(c, " ") || ahead(c, "\t")) c->p++;
    const uint8_t *v = c->p, *end = c->p;
    while (!ahead(c, "\r\n")) {
      uint8_t b = ku_u8(c);
      if (!kh_vchar(b)) ku_cfail(c, KRAIT_ERR_MALFORMED, "a control byte in the value of a field");
      if (b != ' ' && b != '\t') end = c->p;
    }
    c->p += 2;
    field(c, r, nv, v, (size_t)(end - v), &cl, &te);
  }
  c->p += 2;
  r->framing = te ? KL_FRAME_CHUNKED : cl ? KL_FRAME_LENGTH : KL_FRAME_CLOSE;
  if (!te && !cl && (r->status == 204 || r->status == 304)) r->framing = KL_FRAME_LENGTH, r->length = 0;
}

/* Parses the complete head buf[at, end) into r; 0, or -1 with err set. */
static int parse_head(kl_reply *r, const uint8_t *buf, size_t at, size_t end, char *err, size_t cap) {
  ku_fail f = { .msg = err, .cap = cap };
  ku_cursor c = { buf + at, buf + end, buf, "the reply's head", &f };
  if (setjmp(f.jb)) return -1;
  r->status = status_line(&c);
  if (r->status == 101) ku_cfail(&c, KRAIT_ERR_MALFORMED, "101 Switching Protocols was not asked for");
  fields(&c, r);
  return 0;
}

/* Looks for the end of the head; parses it once complete. An interim
** (1xx) head is skipped and the next one read. */
static kl_reply_rc head(kl_reply *r, uint8_t *buf, size_t len, bool eof, char *err, size_t cap) {
  for (;;) {
    size_t from = r->scan > r->head_at + 3 ? r->scan - 3 : r->head_at;
    const uint8_t *e = from < len ? memmem(buf + from, len - from, "\r\n\r\n", 4) : NULL;
    size_t end = e ? (size_t)(e - buf) + 4 : 0;
    r->scan = len;
    if ((e ? end : len) - r->head_at > KL_REPLY_HEAD_MAX)
      return bad(r, err, cap, "the reply's head is longer than %u bytes", KL_REPLY_HEAD_MAX);
    if (!e && eof)
      return bad(r, err, cap, len == r->head_at ? "the server closed the connection without a reply"
                                                : "the server closed the connection within the reply's head");
    if (!e) { r->used = len; return KL_REPLY_MORE; }
    if (parse_head(r, buf, r->head_at, end, err, cap) != 0) { r->stage = ST_BAD; return KL_REPLY_BAD; }
    r->head_at = r->scan = end;
    if (r->status >= 200) break;
    if (++r->interim > KL_REPLY_INTERIM_MAX)
      return bad(r, err, cap, "the reply is too large: more than %d interim (1xx) heads", KL_REPLY_INTERIM_MAX);
  }
  r->body_at = r->used = r->head_at;
  r->stage = ST_BODY;
  if (r->framing == KL_FRAME_LENGTH && r->length > r->max_body)
    return bad(r, err, cap, "the reply's body is %llu bytes; krait reads at most %zu",
               (unsigned long long)r->length, r->max_body);
  return KL_REPLY_MORE;
}

/* The body after the head: complete, more to come, or wrong. */
static kl_reply_rc body(kl_reply *r, uint8_t *buf, size_t len, bool eof, char *err, size_t cap) {
  size_t have = len - r->body_at;
  if (r->framing == KL_FRAME_LENGTH) {
    r->used = len;
    if (have >= r->length) { r->body_len = (size_t)r->length; r->stage = ST_DONE; return KL_REPLY_DONE; }
    if (eof)
      return bad(r, err, cap, "the server closed the connection after %zu of the body's %llu bytes", have,
                 (unsigned long long)r->length);
    return KL_REPLY_MORE;
  }
  if (r->framing == KL_FRAME_CLOSE) {
    r->used = len;
    r->body_len = have;
    if (have > r->max_body) return bad(r, err, cap, "the reply's body is longer than %zu bytes", r->max_body);
    if (eof) { r->stage = ST_DONE; return KL_REPLY_DONE; }
    return KL_REPLY_MORE;
  }
  size_t consumed = 0, out = 0, raw = r->used;
  kh_result k = kh_chunked_feed(&r->chunk, buf + raw, len - raw, &consumed, &out);
  r->body_len += out;
  r->used = r->body_at + r->body_len;
  if (k == KH_ERROR) return bad(r, err, cap, "the reply's chunked body: %s", r->chunk.reason);
  if (k == KH_DONE) { r->stage = ST_DONE; return KL_REPLY_DONE; }
  if (eof) return bad(r, err, cap, "the server closed the connection within the chunked body");
  return KL_REPLY_MORE;
}

kl_reply_rc kl_reply_feed(kl_reply *r, uint8_t *buf, size_t len, bool eof, char *err, size_t cap) {
  if (r->stage == ST_DONE) return KL_REPLY_DONE;
  if (r->stage == ST_BAD) return KL_REPLY_BAD;
  if (r->stage == ST_HEAD) {
    kl_reply_rc rc = head(r, buf, len, eof, err, cap);
    if (rc != KL_REPLY_MORE || r->stage == ST_HEAD) return rc;
  }
  return body(r, buf, len, eof, err, cap);
}
