/*
** http.h -- HTTP/1.1 wire format for `krait serve` (prefix kh_).
** Owns: request-head parsing, body framing, chunked decoding, response writing.
** Does not own: sockets, timers (408 is the server's), routing, Python handlers.
*/
#ifndef KH_HTTP_H
#define KH_HTTP_H

#include "util/util.h"
#include <time.h>

/* Status codes the parser and server produce. */
enum {
  KH_OK = 200,
  KH_BAD_REQUEST = 400,
  KH_REQUEST_TIMEOUT = 408,        /* the server's timer, never the parser */
  KH_CONTENT_TOO_LARGE = 413,
  KH_URI_TOO_LONG = 414,
  KH_EXPECTATION_FAILED = 417,
  KH_HEADERS_TOO_LARGE = 431,
  KH_NOT_IMPLEMENTED = 501,
  KH_VERSION_NOT_SUPPORTED = 505
};

/* What a parse or decode call reports. On KH_ERROR, `status` holds the
** response code and `reason` a short message naming what and where. */
typedef enum kh_result { KH_NEED_MORE = 0, KH_DONE = 1, KH_ERROR = -1 } kh_result;

/* Bounds on one request; kh_limits_default fills sane values. A value is
** allowed when it is <= its bound ("exactly at" passes, one past fails). */
typedef struct kh_limits {
  size_t max_request_line;  /* bytes of the request line, CRLF excluded (414) */
  size_t max_header_bytes;  /* bytes of the header section incl. every CRLF and
                               the closing empty line (431); trailers too */
  size_t max_headers;       /* header field lines (431); trailers too */
  uint64_t max_body;        /* decoded body bytes (413) */
  size_t max_chunk_line;    /* a chunk-size line with extensions, CRLF excluded (400) */
} kh_limits;

void kh_limits_default(kh_limits *lim);

/* A view of bytes inside the caller's buffer. `off` is the offset from the
** buffer start (kept so the caller may move the buffer between calls). */
typedef struct kh_view {
  const char *p;
  size_t len;
  size_t off;
} kh_view;

typedef struct kh_header {
  kh_view name, value;   /* value without leading/trailing whitespace */
} kh_header;

typedef enum kh_target_form {
  KH_FORM_ORIGIN,     /* /path?query */
  KH_FORM_ABSOLUTE,   /* http://host/path?query */
  KH_FORM_AUTHORITY,  /* host:port (CONNECT only) */
  KH_FORM_ASTERISK    /* * (OPTIONS only) */
} kh_target_form;

typedef enum kh_body_kind {
  KH_BODY_NONE,       /* no Content-Length, no Transfer-Encoding */
  KH_BODY_LENGTH,     /* content_length bytes follow the head */
  KH_BODY_CHUNKED     /* feed the bytes after the head to kh_chunked */
} kh_body_kind;

/* One parsed request head. Views are valid once kh_parse returned KH_DONE
** and point into the buffer passed to that call. */
typedef struct kh_request {
  kh_view method, target, path, query;  /* query excludes the '?' */
  bool has_query;
  kh_target_form form;
  int version_minor;                    /* HTTP/1.<minor>: 0 or 1 */
  kh_header *headers;                   /* caller's array, in wire order */
  size_t nheaders, cap_headers;
  size_t head_len;                      /* bytes of the head incl. final CRLF */
  kh_body_kind body;
  uint64_t content_length;              /* for KH_BODY_LENGTH */
  bool keep_alive;
  bool expect_continue;
} kh_request;

/* The incremental head parser. Its state survives between calls; every
** byte is looked at once, so the outcome never depends on how the bytes
** were split across calls. */
typedef struct kh_parser {
  kh_limits lim;
  kh_request req;
  int state;
  kh_result result;
  int status;
  char reason[128];
  size_t pos;          /* bytes of the buffer consumed so far */
  size_t line_start;   /* offset of the request line */
  size_t tok_start;    /* offset of the token being read */
  size_t query_off;    /* offset of the first '?' in the target, or 0 */
  size_t hdr_start;    /* offset of the header section */
  size_t value_end;    /* end of the header value without trailing OWS */
  bool skipped_empty;  /* the one allowed empty line before the request */
} kh_parser;

/* Prepares p for a new request; `headers` has room for `cap` fields. */
void kh_parser_init(kh_parser *p, const kh_limits *lim, kh_header *headers, size_t cap);
/* Parses buf[0..len), the whole request received so far (buf[0..p->pos)
** must be unchanged since the previous call). Returns KH_NEED_MORE,
** KH_DONE (p->req is complete; the body starts at buf + p->req.head_len)
** or KH_ERROR (p->status, p->reason). Repeating a call after DONE/ERROR
** returns the same result. */
kh_result kh_parse(kh_parser *p, const uint8_t *buf, size_t len);

/* Case-insensitive header lookup: the index of the first field named
** `name` at or after index `from`, or -1. */
long kh_find_header(const kh_request *r, const char *name, size_t from);
/* The value of the first field named `name`, or NULL (len untouched). */
const char *kh_header_value(const kh_request *r, const char *name, size_t *len);
/* Whether a view equals a NUL-terminated string, ignoring ASCII case. */
bool kh_view_ieq(kh_view v, const char *s);

/* The incremental chunked-body decoder (RFC 9112 7.1). Extensions are
** checked and ignored; trailer fields are checked, counted and dropped. */
typedef struct kh_chunked {
  kh_limits lim;
  int state;
  kh_result result;
  int status;
  char reason[128];
  uint64_t size;       /* size of the chunk being read / bytes left in it */
  uint64_t total;      /* decoded body bytes so far */
  uint64_t at;         /* bytes consumed over all calls, for messages */
  size_t line_len;     /* bytes of the current chunk-size or trailer line */
  size_t trailer_bytes, ntrailers;
  bool digits;         /* the chunk-size line has at least one digit */
} kh_chunked;

void kh_chunked_init(kh_chunked *c, const kh_limits *lim);
/* Decodes buf[0..len) in place: the body bytes it held are moved to
** buf[0..*out_len). *consumed is len, except on KH_DONE, where bytes
** after the body (a pipelined request) start at buf + *consumed. */
kh_result kh_chunked_feed(kh_chunked *c, uint8_t *buf, size_t len,
                          size_t *consumed, size_t *out_len);

/* ---- responses (write.c) --------------------------------------------- */

/* The reason phrase for a status code ("Unknown" when not listed). */
const char *kh_reason(int status);

typedef enum kh_framing {
  KH_FRAME_LENGTH,   /* Content-Length: content_length */
  KH_FRAME_CHUNKED,  /* Transfer-Encoding: chunked */
  KH_FRAME_NONE      /* neither (1xx, 204, 304, or close-delimited) */
} kh_framing;

typedef struct kh_response {
  int status;                 /* 100..999 */
  const kh_header *headers;   /* extra fields; views need only p and len */
  size_t nheaders;
  kh_framing framing;
  uint64_t content_length;
  bool close;                 /* adds Connection: close */
  time_t date;                /* adds Date when nonzero */
} kh_response;

/* Writes the status line and header section (ending with the empty line)
** into buf; returns the length, or -1 when it does not fit or a header
** name is not a token or a value holds CR, LF or NUL. */
long kh_format_head(char *buf, size_t cap, const kh_response *r);
/* Writes one chunk (size line, data, CRLF); n == 0 writes nothing, since
** an empty chunk would end the body. Returns the length or -1. */
long kh_write_chunk(char *buf, size_t cap, const void *data, size_t n);
/* The size line for an n-byte chunk, for gathered writes (data and "\r\n"
** go separately). Returns the length or -1. */
long kh_chunk_prefix(char *buf, size_t cap, size_t n);
/* The last chunk and an empty trailer section: "0\r\n\r\n". */
long kh_write_last_chunk(char *buf, size_t cap);
/* An IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT"); needs 30 bytes. */
long kh_format_date(char *buf, size_t cap, time_t t);

/* ---- shared by parse.c, frame.c and chunked.c ----------------------- */

/* tchar of RFC 9110 5.6.2: the bytes of methods, header names, codings. */
static inline bool kh_tchar(uint8_t b) {
  return (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') ||
         (b >= '0' && b <= '9') || (b && strchr("!#$%&'*+-.^_`|~", b));
}
/* A header-value byte: VCHAR, obs-text, SP or HTAB. */
static inline bool kh_vchar(uint8_t b) {
  return (b >= 0x21 && b != 0x7f) || b == ' ' || b == '\t';
}
/* Formats an error into reason[128] and returns KH_ERROR. */
kh_result kh_fail(int *status, char *reason, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Checks the fields of a complete head (Host, framing, Connection,
** Expect); fills the framing fields of p->req or fails. */
kh_result kh_finish_head(kh_parser *p);

#endif
