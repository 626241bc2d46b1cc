/*
** tests/fuzz/fuzz_remote.c -- libFuzzer target: what the remote LLM backend
** reads from a server (src/llm/reply.c, src/llm/rjson.c). Owns: an input
** whose first byte is 0..3 is a reply parsed whole and again split at
** points the second byte picks (the outcome and the body must agree, the
** body within the buffer and the cap); 4..7 a JSON body decoded as a
** completion, a chat reply, embeddings or an error; 8..10 a request body
** of krait serve's /v1 (src/serve/oaireq.c) for completions, chat or
** embeddings. Does not own the parsers or the seeds (remote-seeds/).
*/
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "llm/remote_internal.h"
#include "serve/openai.h"
#include "util/util.h"

#define MAX_BODY 4096

/* Parses [s, s+n) fed step bytes at a time (0: whole) then the end; the
** outcome, and the status and body (a malloc'ed copy) when done. */
static kl_reply_rc parse(const uint8_t *s, size_t n, size_t step, int *status, uint8_t **body, size_t *blen) {
  uint8_t *buf = malloc(n ? n : 1);
  size_t fed = 0, len = 0;
  char err[KL_ERR_SIZE];
  kl_reply r;
  kl_reply_rc rc = KL_REPLY_MORE;
  kl_reply_init(&r, MAX_BODY);
  *body = NULL;
  while (rc == KL_REPLY_MORE) {
    size_t k = step && n - fed > step ? step : n - fed;
    memcpy(buf + len, s + fed, k);
    fed += k;
    rc = kl_reply_feed(&r, buf, len + k, false, err, sizeof err);
    if (r.used > len + k) abort();
    len = r.used;
    if (rc == KL_REPLY_MORE && fed == n) rc = kl_reply_feed(&r, buf, len, true, err, sizeof err);
    if (rc == KL_REPLY_BAD && (!err[0] || strlen(err) >= sizeof err)) abort();
  }
  if (rc == KL_REPLY_DONE) {
    if (r.body_len > MAX_BODY || r.body_at + r.body_len > n || r.status < 200 || r.status > 999) abort();
    *status = r.status;
    *blen = r.body_len;
    *body = malloc(r.body_len ? r.body_len : 1);
    memcpy(*body, buf + r.body_at, r.body_len);
  }
  free(buf);
  return rc;
}

/* The reply whole and split: the same outcome, status and body. */
static void replies(const uint8_t *s, size_t n, size_t step) {
  int st1 = 0, st2 = 0;
  uint8_t *b1, *b2;
  size_t n1 = 0, n2 = 0;
  kl_reply_rc r1 = parse(s, n, 0, &st1, &b1, &n1), r2 = parse(s, n, step, &st2, &b2, &n2);
  if (r1 != r2) abort();
  if (r1 == KL_REPLY_DONE && (st1 != st2 || n1 != n2 || memcmp(b1, b2, n1))) abort();
  free(b1);
  free(b2);
}

/* A JSON body through the decoder of kind. */
static void bodies(int kind, const uint8_t *s, size_t n, unsigned arg) {
  char err[KL_ERR_SIZE];
  if (kind == 0 || kind == 1) {
    kl_infer_result out;
    int rc = kl_rjson_infer(kind ? KL_RJ_CHAT : KL_RJ_COMPLETION, s, n, &out, err, sizeof err);
    if (rc == KL_OK && (!out.text || strlen(out.text) != out.text_len || !out.finish)) abort();
    if (rc == KL_OK && !ku_utf8_valid((const uint8_t *)out.text, out.text_len)) abort();
    ku_free(out.text);
  } else if (kind == 2) {
    float *v;
    uint32_t dim, pt;
    int rc = kl_rjson_embed(s, n, arg % 8, &v, &dim, &pt, err, sizeof err);
    if (rc == KL_OK && arg % 8 && (dim == 0 || dim > KL_REMOTE_DIM_MAX)) abort();
    ku_free(v);
  } else {
    int rc = kl_rjson_error(400 + (int)(arg % 200), s, n, err, sizeof err);
    if (rc != KL_E_INPUT && rc != KL_E_BUSY && rc != KL_E_MODEL) abort();
  }
}

/* A /v1 request body of kind: decoded, or refused with a status and a
** message; what it decodes is usable. */
static void requests(int kind, const uint8_t *s, size_t n) {
  ks_oai_req r;
  ks_oai_err e;
  memset(&e, 0, sizeof e);
  if (ks_oai_parse(kind, s, n, &r, &e) == 0) {
    if (!r.model || (kind != KS_OAI_EMBEDDINGS && r.p.max_tokens < 1)) abort();
    if (kind == KS_OAI_COMPLETION && !r.prompt) abort();
    if (kind == KS_OAI_CHAT && (!r.nmsgs || r.nmsgs > KS_OAI_MESSAGES_MAX)) abort();
    for (size_t i = 0; kind == KS_OAI_CHAT && i < r.nmsgs; i++)
      if (!r.msgs[i].role || !r.msgs[i].content || strlen(r.msgs[i].content) > r.msgs[i].content_len) abort();
    if (kind == KS_OAI_EMBEDDINGS && (!r.ntexts || r.ntexts > KS_OAI_TEXTS_MAX)) abort();
    for (size_t i = 0; kind == KS_OAI_EMBEDDINGS && i < r.ntexts; i++)
      if (!r.texts[i] || strlen(r.texts[i]) > r.lens[i]) abort();
  } else if (e.status < 400 || e.status > 599 || !e.message[0] || !e.type) {
    abort();
  }
  ks_oai_req_free(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 2) return 0;
  int mode = data[0] % 12;
  if (mode < 4) replies(data + 2, size - 2, (size_t)data[1] % 64 + 1);
  else if (mode < 8) bodies(mode - 4, data + 2, size - 2, data[1]);
  else if (mode < 11) requests(mode - 7, data + 2, size - 2);
  return 0;
}
