/*
** remote.c -- the remote backend: kl_remote_infer, kl_remote_chat and
** kl_remote_embed against an OpenAI-compatible server (llama.cpp's, ollama,
** vLLM, krait serve's /v1). Not the wire (rhttp.c, reply.c) nor the JSON.
*/
#include <stdio.h>
#include <string.h>

#include "llm/remote_internal.h"
#include "util/util.h"

/* The reply to json posted at endpoint: KL_OK with a 2xx body, else the
** server's error mapped (kl_rjson_error) or the exchange's failure. */
static int post(const kl_remote *r, const char *endpoint, char *json, size_t n, uint64_t deadline_ns,
                uint8_t **body, size_t *blen, char *where, size_t wcap, char *err, size_t cap) {
  int status = 0;
  int rc = kl_rhttp_post(r, endpoint, json, n, deadline_ns, &status, body, blen, err, cap, where, wcap);
  ku_free(json);
  if (rc != KL_OK) return rc;
  if (status >= 200 && status < 300) return KL_OK;
  char why[KL_ERR_SIZE];
  rc = kl_rjson_error(status, *body, *blen, why, sizeof why);
  ku_fmt(err, cap, "%s: %s", where, why);
  ku_free(*body);
  *body = NULL;
  return rc;
}

/* Posts a generation request (json, or NULL when building it failed with
** rc) and decodes the reply of its kind into out. */
static int generate(const kl_remote *r, int kind, char *json, size_t n, int rc, uint64_t deadline_ns,
                    kl_infer_result *out, char *err, size_t cap) {
  uint8_t *body = NULL;
  size_t blen = 0;
  char where[KL_WHERE_SIZE], why[KL_ERR_SIZE];
  memset(out, 0, sizeof *out);
  if (!json) return rc;
  const char *endpoint = kind == KL_RJ_CHAT ? "/chat/completions" : "/completions";
  rc = post(r, endpoint, json, n, deadline_ns, &body, &blen, where, sizeof where, err, cap);
  if (rc != KL_OK) return rc;
  rc = kl_rjson_infer(kind, body, blen, out, why, sizeof why);
  if (rc != KL_OK) ku_fmt(err, cap, "%s: %s", where, why);
  ku_free(body);
  return rc;
}

int kl_remote_infer(const kl_remote *r, const char *prompt, size_t len, const kl_infer_params *p,
                    uint64_t deadline_ns, kl_infer_result *out, char *err, size_t cap) {
  size_t n = 0;
  int rc = KL_OK;
  char *json = kl_rjson_completion(r, prompt, len, p, &n, &rc, err, cap);
  return generate(r, KL_RJ_COMPLETION, json, n, rc, deadline_ns, out, err, cap);
}

int kl_remote_chat(const kl_remote *r, const kl_chat_msg *msgs, size_t nmsg, const kl_infer_params *p,
                   uint64_t deadline_ns, kl_infer_result *out, char *err, size_t cap) {
  size_t n = 0;
  int rc = KL_OK;
  char *json = kl_rjson_chat(r, msgs, nmsg, p, &n, &rc, err, cap);
  return generate(r, KL_RJ_CHAT, json, n, rc, deadline_ns, out, err, cap);
}

int kl_remote_embed(const kl_remote *r, const char *const *texts, const size_t *lens, size_t ntext,
                    uint64_t deadline_ns, float **out, uint32_t *dim, uint32_t *prompt_tokens, char *err,
                    size_t cap) {
  size_t n = 0, blen = 0;
  int rc = KL_OK;
  uint8_t *body = NULL;
  char where[KL_WHERE_SIZE], why[KL_ERR_SIZE];
  *out = NULL;
  *dim = *prompt_tokens = 0;
  char *json = kl_rjson_embeddings(r, texts, lens, ntext, &n, &rc, err, cap);
  if (!json) return rc;
  rc = post(r, "/embeddings", json, n, deadline_ns, &body, &blen, where, sizeof where, err, cap);
  if (rc != KL_OK) return rc;
  rc = kl_rjson_embed(body, blen, ntext, out, dim, prompt_tokens, why, sizeof why);
  if (rc != KL_OK) ku_fmt(err, cap, "%s: %s", where, why);
  ku_free(body);
  return rc;
}
