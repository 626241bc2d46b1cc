/*
** write.c -- HTTP/1.1 response bytes: status line, header section, Date, chunked body pieces.
** Owns: reason phrases and refusing header bytes that would split a response.
** Does not own: sockets or deciding the status (the server), request parsing (parse.c).
*/
#include "http/http.h"
#include <stdio.h>

/* RFC 9110 15 phrases of the codes krait and typical handlers use. */
const char *kh_reason(int status) {
  switch (status) {
  case 100: return "Continue";
  case 101: return "Switching Protocols";
  case 200: return "OK";
  case 201: return "Created";
  case 202: return "Accepted";
  case 204: return "No Content";
  case 206: return "Partial Content";
  case 301: return "Moved Permanently";
  case 302: return "Found";
  case 303: return "See Other";
  case 304: return "Not Modified";
  case 307: return "Temporary Redirect";
  case 308: return "Permanent Redirect";
  case 400: return "Bad Request";
  case 401: return "Unauthorized";
  case 403: return "Forbidden";
  case 404: return "Not Found";
  case 405: return "Method Not Allowed";
  case 408: return "Request Timeout";
  case 409: return "Conflict";
  case 411: return "Length Required";
  case 413: return "Content Too Large";
  case 414: return "URI Too Long";
  case 415: return "Unsupported Media Type";
  case 417: return "Expectation Failed";
  case 422: return "Unprocessable Content";
  case 429: return "Too Many Requests";
  case 431: return "Request Header Fields Too Large";
  case 500: return "Internal Server Error";
  case 501: return "Not Implemented";
  case 502: return "Bad Gateway";
  case 503: return "Service Unavailable";
  case 504: return "Gateway Timeout";
  case 505: return "HTTP Version Not Supported";
  default: return "Unknown";
  }
}

/* A bounded output buffer; `bad` sticks once anything did not fit. */
typedef struct out {
  char *buf;
  size_t cap, len;
  bool bad;
} out;

/* Appends n bytes, or marks the buffer bad. */
static void put(out *o, const void *s, size_t n) {
  if (o->bad || n > o->cap - o->len) { o->bad = true; return; }
  memcpy(o->buf + o->len, s, n);
  o->len += n;
}

static void puts0(out *o, const char *s) { put(o, s, strlen(s)); }

/* Appends a decimal or hex number. */
static void putnum(out *o, uint64_t v, bool hex) {
  char t[24];
  int n = snprintf(t, sizeof t, hex ? "%llx" : "%llu", (unsigned long long)v);
  put(o, t, (size_t)n);
}

/* IMF-fixdate (RFC 9110 5.6.7) from gmtime_r, with fixed English names
** (never the locale's). */
long kh_format_date(char *buf, size_t cap, time_t t) {
  static const char days[7][4] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
  static const char mons[12][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
  struct tm tm;
  if (!gmtime_r(&t, &tm) || tm.tm_year + 1900 > 9999 || tm.tm_year + 1900 < 0) return -1;
  int n = snprintf(buf, cap, "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday], tm.tm_mday,
                   mons[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return n > 0 && (size_t)n < cap ? n : -1;
}

/* Whether a caller's field is safe to send: a token name and a value of
** field-vchars (no CR, LF or NUL: no response splitting). */
static bool field_ok(const kh_header *h) {
  if (h->name.len == 0) return false;
  for (size_t i = 0; i < h->name.len; i++)
    if (!kh_tchar((uint8_t)h->name.p[i])) return false;
  for (size_t i = 0; i < h->value.len; i++)
    if (!kh_vchar((uint8_t)h->value.p[i])) return false;
  return true;
}

/* Appends "Name: value\r\n". */
static void put_field(out *o, const char *name, const char *v, size_t n) {
  puts0(o, name);
  put(o, ": ", 2);
  put(o, v, n);
  put(o, "\r\n", 2);
}

/* The framing, Connection and Date fields krait adds itself. */
static void put_own_fields(out *o, const kh_response *r) {
  if (r->framing == KH_FRAME_LENGTH) {
    puts0(o, "Content-Length: ");
    putnum(o, r->content_length, false);
    put(o, "\r\n", 2);
  } else if (r->framing == KH_FRAME_CHUNKED) {
    put_field(o, "Transfer-Encoding", "chunked", 7);
  }
  if (r->close) put_field(o, "Connection", "close", 5);
  if (r->date) {
    char d[40];
    long n = kh_format_date(d, sizeof d, r->date);
    if (n < 0) o->bad = true;
    else put_field(o, "Date", d, (size_t)n);
  }
}

/* Status line, the caller's fields (checked), then krait's framing,
** Connection and Date fields, then the empty line. */
long kh_format_head(char *buf, size_t cap, const kh_response *r) {
  out o = { buf, cap, 0, false };
  if (r->status < 100 || r->status > 999) return -1;
  puts0(&o, "HTTP/1.1 ");
  putnum(&o, (uint64_t)r->status, false);
  put(&o, " ", 1);
  puts0(&o, kh_reason(r->status));
  put(&o, "\r\n", 2);
  for (size_t i = 0; i < r->nheaders; i++) {
    const kh_header *h = &r->headers[i];
    if (!field_ok(h)) return -1;
    put(&o, h->name.p, h->name.len);
    put(&o, ": ", 2);
    put(&o, h->value.p, h->value.len);
    put(&o, "\r\n", 2);
  }
  put_own_fields(&o, r);
  put(&o, "\r\n", 2);
  return o.bad ? -1 : (long)o.len;
}

long kh_chunk_prefix(char *buf, size_t cap, size_t n) {
  out o = { buf, cap, 0, false };
  putnum(&o, n, true);
  put(&o, "\r\n", 2);
  return o.bad ? -1 : (long)o.len;
}

/* "<hex size>\r\n<data>\r\n" for a non-empty piece. */
long kh_write_chunk(char *buf, size_t cap, const void *data, size_t n) {
  if (n == 0) return 0;
  out o = { buf, cap, 0, false };
  putnum(&o, n, true);
  put(&o, "\r\n", 2);
  put(&o, data, n);
  put(&o, "\r\n", 2);
  return o.bad ? -1 : (long)o.len;
}

long kh_write_last_chunk(char *buf, size_t cap) {
  out o = { buf, cap, 0, false };
  put(&o, "0\r\n\r\n", 5);
  return o.bad ? -1 : (long)o.len;
}
