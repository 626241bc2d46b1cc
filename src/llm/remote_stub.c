/*
** remote_stub.c -- stands in for remote.c (the OpenAI-compatible client)
** until that branch merges: every remote call is KL_E_MODEL. Delete this
** file when merging remote.c (they define the same functions).
*/
#include <stdio.h>

#include "llm/llm.h"

/* The one answer of this stand-in. */
static int kl_remote_missing(const kl_remote *r, char *err, size_t cap) {
  snprintf(err, cap, "model %s at %s: the remote backend is not built into this krait", r->model, r->url);
  return KL_E_MODEL;
}

int kl_remote_infer(const kl_remote *r, const char *prompt, size_t len, const kl_infer_params *p,
                    uint64_t deadline_ns, kl_infer_result *out, char *err, size_t cap) {
  (void)prompt, (void)len, (void)p, (void)deadline_ns, (void)out;
  return kl_remote_missing(r, err, cap);
}

int kl_remote_chat(const kl_remote *r, const kl_chat_msg *msgs, size_t n, const kl_infer_params *p,
                   uint64_t deadline_ns, kl_infer_result *out, char *err, size_t cap) {
  (void)msgs, (void)n, (void)p, (void)deadline_ns, (void)out;
  return kl_remote_missing(r, err, cap);
}

int kl_remote_embed(const kl_remote *r, const char *const *texts, const size_t *lens, size_t n,
                    uint64_t deadline_ns, float **out, uint32_t *dim, uint32_t *prompt_tokens, char *err,
                    size_t cap) {
  (void)texts, (void)lens, (void)n, (void)deadline_ns, (void)out, (void)dim, (void)prompt_tokens;
  return kl_remote_missing(r, err, cap);
}
