/*
** remote_internal.h -- what the files of the remote backend share: the
** HTTP reply parser (reply.c), the OpenAI JSON bodies (rjson.c) and the
** exchange with the server (rhttp.c). Not the engine (llm_internal.h).
*/
#ifndef KL_REMOTE_INTERNAL_H
#define KL_REMOTE_INTERNAL_H

#include "http/http.h"
#include "llm/llm.h"

/* What krait reads of a server's reply: the head (status line and
** fields) and the decoded body. A reply past either is refused. */
#define KL_REPLY_HEAD_MAX (64u * 1024)
#define KL_REPLY_FIELDS_MAX 100
#define KL_REPLY_BODY_MAX (16u * 1024 * 1024)
/* A call's reply body: a generation's at most max(KL_REPLY_GEN_MIN,
** max_tokens * KL_REPLY_TOKEN_BYTES), an embeddings' at most
** KL_REPLY_GEN_MIN + texts * KL_REMOTE_DIM_MAX * KL_REPLY_NUMBER_BYTES,
** both at most KL_REPLY_BODY_MAX. */
#define KL_REPLY_GEN_MIN (64u * 1024)
#define KL_REPLY_TOKEN_BYTES 64u
#define KL_REPLY_NUMBER_BYTES 24u
/* A reply's JSON before it is parsed: at most this many values and
** objects/arrays besides an embeddings reply's rows (its numbers and two
** containers per text), nested at most KL_REPLY_DEPTH_MAX deep. */
#define KL_REPLY_VALUES_MAX 65536u
#define KL_REPLY_DEPTH_MAX 64u
/* At most this many interim (1xx) heads before the reply's own. */
#define KL_REPLY_INTERIM_MAX 10
/* The longest wait of a call made without a deadline. */
#define KL_REMOTE_WAIT_MAX_MS 600000
/* A message's "where" (the URL posted to, cut). */
#define KL_WHERE_SIZE 512
/* The widest embedding a reply may hold. */
#define KL_REMOTE_DIM_MAX 65536

/* ---- reply.c: an HTTP/1.1 response, read incrementally ---------------- */

typedef enum kl_reply_rc { KL_REPLY_MORE, KL_REPLY_DONE, KL_REPLY_BAD } kl_reply_rc;

/* How the body is delimited. */
enum { KL_FRAME_LENGTH = 1, KL_FRAME_CHUNKED, KL_FRAME_CLOSE };

typedef struct kl_reply {
  int stage;             /* reply.c's */
  int status;            /* the final (non-1xx) status code */
  int framing;
  uint64_t length;       /* KL_FRAME_LENGTH: the body's bytes */
  size_t head_at;        /* the head being read (after 1xx heads) */
  size_t scan;           /* where the search for its end resumes */
  size_t body_at;        /* the body starts here in the caller's buffer */
  size_t body_len;       /*   and is this long (decoded) */
  size_t used;           /* bytes of the buffer to keep (see feed) */
  size_t max_body;
  int interim;           /* 1xx heads read */
  kh_limits lim;         /* for the chunked decoder */
  kh_chunked chunk;
} kl_reply;

/* Prepares r for a reply whose body may hold max_body bytes. */
void kl_reply_init(kl_reply *r, size_t max_body);
/* Parses buf[0..len), everything received so far (bytes before r->used
** unchanged since the last call; after it, what came since), eof when the
** server closed. A chunked body is decoded in place. After each call the
** caller keeps only buf[0..r->used) and appends what comes next there.
** KL_REPLY_DONE: the body is buf[body_at..body_at+body_len); BAD: err
** says what is wrong and where. */
kl_reply_rc kl_reply_feed(kl_reply *r, uint8_t *buf, size_t len, bool eof, char *err, size_t cap);

/* ---- rjson.c: the requests' and replies' JSON ------------------------- */

/* The body of a /completions request for prompt (ku_malloc'ed, its length
** in *n), or NULL with err set (KL_E_INPUT: the prompt is not UTF-8). */
char *kl_rjson_completion(const kl_remote *r, const char *prompt, size_t len, const kl_infer_params *p,
                          size_t *n, int *rc, char *err, size_t cap);
char *kl_rjson_chat(const kl_remote *r, const kl_chat_msg *msgs, size_t nmsg, const kl_infer_params *p,
                    size_t *n, int *rc, char *err, size_t cap);
char *kl_rjson_embeddings(const kl_remote *r, const char *const *texts, const size_t *lens, size_t ntext,
                          size_t *n, int *rc, char *err, size_t cap);

/* The kind of reply a decoder reads. */
enum { KL_RJ_COMPLETION = 1, KL_RJ_CHAT, KL_RJ_EMBEDDINGS };

/* A 2xx reply's body [s, s+n) decoded into out (text, usage, finish);
** KL_OK or KL_E_MODEL with err naming what is missing or wrong. */
int kl_rjson_infer(int kind, const uint8_t *s, size_t n, kl_infer_result *out, char *err, size_t cap);
/* A 2xx /embeddings reply: ntext rows of *dim floats (ku_malloc'ed). */
int kl_rjson_embed(const uint8_t *s, size_t n, size_t ntext, float **out, uint32_t *dim, uint32_t *prompt_tokens,
                   char *err, size_t cap);
/* A 4xx/5xx reply: its KL_E_* (400, 413, 422: INPUT; 429, 503: BUSY;
** else MODEL) and err "the server answered STATUS: <its message>". */
int kl_rjson_error(int status, const uint8_t *s, size_t n, char *err, size_t cap);

/* ---- rhttp.c: one exchange with the server ----------------------------- */

/* POSTs json (n bytes) to r->url + endpoint ("/completions") and reads
** the reply (a body of at most max_body bytes) within deadline_ns (0:
** KL_REMOTE_WAIT_MAX_MS). KL_OK with
** *status and the body (ku_malloc'ed, NUL-terminated) in *body and *body_len;
** else KL_E_MODEL (unreachable, malformed) or KL_E_TIMEOUT, err naming the
** server and what went wrong (never the API key). where gets the URL
** posted to, for messages ("http://host:port/v1/completions"). */
int kl_rhttp_post(const kl_remote *r, const char *endpoint, const char *json, size_t n, size_t max_body,
                  uint64_t deadline_ns, int *status, uint8_t **body, size_t *body_len, char *err, size_t cap,
                  char *where, size_t wcap);

#endif
