/*
** chunked.c -- the incremental, in-place decoder of chunked request bodies (RFC 9112 7.1).
** Owns: chunk-size lines, extension syntax, trailer syntax, the body/line/trailer limits.
** Does not own: deciding that a body is chunked (frame.c) or where the bytes come from.
*/
#include "http/http.h"
#include "util/cursor.h"

/* Decoder states; the C_EXT_* ones walk chunk-ext (checked, then dropped). */
enum {
  C_SIZE, C_SIZE_WS, C_EXT_PRE_NAME, C_EXT_NAME, C_EXT_POST_NAME, C_EXT_PRE_VAL,
  C_EXT_TOKEN, C_EXT_QUOTED, C_EXT_QESC, C_EXT_AFTER_QUOTE, C_EXT_POST_VAL,
  C_SIZE_LF, C_DATA, C_DATA_CR, C_DATA_LF,
  C_TRAILER_START, C_TNAME, C_TVALUE, C_TLF, C_END_LF
};

#define FAIL(c, code, ...) kh_fail(&(c)->status, (c)->reason, (code), __VA_ARGS__)

/* Prepares c for a body whose first byte is the next one fed. */
void kh_chunked_init(kh_chunked *c, const kh_limits *lim) {
  memset(c, 0, sizeof *c);
  c->lim = *lim;
  c->state = C_SIZE;
  c->result = KH_NEED_MORE;
}

/* The value of a hex digit, or -1. */
static int hexval(uint8_t b) {
  if (b >= '0' && b <= '9') return b - '0';
  if ((b | 0x20) >= 'a' && (b | 0x20) <= 'f') return (b | 0x20) - 'a' + 10;
  return -1;
}

/* The failure for byte b, which has no place in `where`. */
static kh_result bad(kh_chunked *c, uint8_t b, const char *where) {
  return FAIL(c, KH_BAD_REQUEST, "invalid byte 0x%02x in %s at body byte %llu", b, where,
              (unsigned long long)c->at);
}

/* One hex digit of the chunk size: checks 64-bit overflow (400), then the
** body limit over all chunks so far (413). */
static kh_result size_digit(kh_chunked *c, int d) {
  if (c->size > UINT64_MAX >> 4) return FAIL(c, KH_BAD_REQUEST, "chunk size overflows 64 bits");
  c->size = c->size << 4 | (uint64_t)d;
  c->digits = true;
  if (c->size > c->lim.max_body - c->total)
    return FAIL(c, KH_CONTENT_TOO_LARGE, "chunked body exceeds the %llu-byte limit",
                (unsigned long long)c->lim.max_body);
  return KH_NEED_MORE;
}

/* The end of a chunk-size line: data follows, or the trailers after the
** last (zero) chunk. */
static kh_result size_line_end(kh_chunked *c, uint8_t b) {
  if (b != '\n') return bad(c, b, "chunk-size line ending");
  c->total += c->size;
  c->state = c->size ? C_DATA : C_TRAILER_START;
  c->line_len = 0;
  return KH_NEED_MORE;
}

/* One byte of a chunk extension: *( BWS ";" BWS name [ BWS "=" BWS
** ( token / quoted-string ) ] ). */
static kh_result ext_byte(kh_chunked *c, uint8_t b) {
  bool ws = b == ' ' || b == '\t', t = kh_tchar(b);
  int s = c->state, next = -1;
  switch (s) {
  case C_EXT_PRE_NAME: next = ws ? s : t ? C_EXT_NAME : -1; break;
  case C_EXT_NAME: next = t ? s : ws ? C_EXT_POST_NAME : b == '=' ? C_EXT_PRE_VAL
                          : b == ';' ? C_EXT_PRE_NAME : b == '\r' ? C_SIZE_LF : -1; break;
  case C_EXT_POST_NAME: next = ws ? s : b == '=' ? C_EXT_PRE_VAL : b == ';' ? C_EXT_PRE_NAME : -1; break;
  case C_EXT_PRE_VAL: next = ws ? s : b == '"' ? C_EXT_QUOTED : t ? C_EXT_TOKEN : -1; break;
  case C_EXT_TOKEN: next = t ? s : ws ? C_EXT_POST_VAL : b == ';' ? C_EXT_PRE_NAME
                           : b == '\r' ? C_SIZE_LF : -1; break;
  case C_EXT_QUOTED: next = b == '"' ? C_EXT_AFTER_QUOTE : b == '\\' ? C_EXT_QESC
                            : kh_vchar(b) ? s : -1; break;
  case C_EXT_QESC: next = kh_vchar(b) ? C_EXT_QUOTED : -1; break;
  case C_EXT_AFTER_QUOTE: next = ws ? C_EXT_POST_VAL : b == ';' ? C_EXT_PRE_NAME
                                 : b == '\r' ? C_SIZE_LF : -1; break;
  default:
    assert(s == C_EXT_POST_VAL);
    next = ws ? s : b == ';' ? C_EXT_PRE_NAME : -1;
  }
  if (next < 0) return bad(c, b, "chunk extension");
  c->state = next;
  return KH_NEED_MORE;
}

/* One byte of a chunk-size line before its extensions: 1*HEXDIG, then
** BWS ";" or CR. The whole line is bounded by max_chunk_line. */
static kh_result size_byte(kh_chunked *c, uint8_t b) {
  if (b != '\r' && ++c->line_len > c->lim.max_chunk_line)
    return FAIL(c, KH_BAD_REQUEST, "chunk-size line longer than %zu bytes", c->lim.max_chunk_line);
  if (c->state != C_SIZE && c->state != C_SIZE_WS) return ext_byte(c, b);
  int d = hexval(b);
  if (c->state == C_SIZE && d >= 0) return size_digit(c, d);
  if (!c->digits) return bad(c, b, "chunk size");
  if (b == ';') { c->state = C_EXT_PRE_NAME; return KH_NEED_MORE; }
  if (b == ' ' || b == '\t') { c->state = C_SIZE_WS; return KH_NEED_MORE; }
  if (b == '\r' && c->state == C_SIZE) { c->state = C_SIZE_LF; return KH_NEED_MORE; }
  return bad(c, b, "chunk size");
}

/* One byte of the trailer section: field lines like the header's, then
** the empty line. Bounded like the header section (431). */
static kh_result trailer_byte(kh_chunked *c, uint8_t b) {
  if (++c->trailer_bytes > c->lim.max_header_bytes)
    return FAIL(c, KH_HEADERS_TOO_LARGE, "trailer section longer than %zu bytes", c->lim.max_header_bytes);
  switch (c->state) {
  case C_TRAILER_START:
    if (b == '\r') { c->state = C_END_LF; return KH_NEED_MORE; }
    if (!kh_tchar(b)) return bad(c, b, "trailer field name");
    if (c->ntrailers >= c->lim.max_headers)
      return FAIL(c, KH_HEADERS_TOO_LARGE, "more than %zu trailer fields", c->lim.max_headers);
    c->state = C_TNAME;
    return KH_NEED_MORE;
  case C_TNAME:
    if (b == ':') c->state = C_TVALUE;
    return b == ':' || kh_tchar(b) ? KH_NEED_MORE : bad(c, b, "trailer field name");
  case C_TVALUE:
    if (b == '\r') c->state = C_TLF;
    return b == '\r' || kh_vchar(b) ? KH_NEED_MORE : bad(c, b, "trailer field value");
  case C_TLF:
    if (b != '\n') return bad(c, b, "trailer line ending");
    c->ntrailers++;
    c->state = C_TRAILER_START;
    return KH_NEED_MORE;
  default:
    assert(c->state == C_END_LF);
    return b == '\n' ? KH_DONE : bad(c, b, "end of the trailer section");
  }
}

/* One byte outside chunk data. */
static kh_result step(kh_chunked *c, uint8_t b) {
  switch (c->state) {
  case C_SIZE_LF: return size_line_end(c, b);
  case C_DATA_CR:
    if (b != '\r') return bad(c, b, "chunk data ending (data longer than its size?)");
    c->state = C_DATA_LF;
    return KH_NEED_MORE;
  case C_DATA_LF:
    if (b != '\n') return bad(c, b, "chunk data ending");
    c->state = C_SIZE;
    c->size = 0;
    c->digits = false;
    return KH_NEED_MORE;
  default:
    return c->state >= C_TRAILER_START ? trailer_byte(c, b) : size_byte(c, b);
  }
}

/* Moves chunk data to the front of buf in runs (the output never passes
** the input) and steps every other byte through the state machine. */
kh_result kh_chunked_feed(kh_chunked *c, uint8_t *buf, size_t len, size_t *consumed, size_t *out_len) {
  ku_cursor cur = { buf, buf + len, buf, "chunked body", NULL };
  size_t out = 0;
  kh_result res = c->result;
  while (res == KH_NEED_MORE && !ku_eof(&cur)) {
    if (c->state == C_DATA) {
      size_t avail = (size_t)(cur.end - cur.p);
      size_t n = c->size < avail ? (size_t)c->size : avail;
      const uint8_t *src = ku_bytes(&cur, n);
      memmove(buf + out, src, n);
      out += n;
      c->at += n;
      c->size -= n;
      if (c->size == 0) c->state = C_DATA_CR;
      continue;
    }
    res = step(c, ku_u8(&cur));
    c->at++;
  }
  assert((size_t)(cur.p - buf) >= out);
  c->result = res;
  *consumed = (size_t)(cur.p - buf);
  *out_len = out;
  return res;
}
