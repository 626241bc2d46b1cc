/*
** tests/fuzz/fuzz_llm.c -- libFuzzer target: the llm binding's requests (src/app/llmwire.c).
** Owns: byte 0 picks llm.infer, llm.chat or llm.embed, the rest is its request; checks that a decoded one points
** inside the bytes, within the caps, and that nothing leaks. Not the seeds (llm-seeds/).
*/
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "app/app_internal.h"
#include "util/util.h"

/* Whether [s, s+n) lies inside [lo, hi). */
static int inside(const void *s, size_t n, const uint8_t *lo, const uint8_t *hi) {
  const uint8_t *p = s;
  return p >= lo && p <= hi && n <= (size_t)(hi - p);
}

/* The invariants of a decoded request over [lo, hi). */
static void check(const ka_llm_req *r, const uint8_t *lo, const uint8_t *hi) {
  if (!inside(r->model, r->model_len, lo, hi) || r->model_len > KA_LLM_NAME_MAX) abort();
  if (r->op == KA_LLM_INFER && (!inside(r->prompt, r->prompt_len, lo, hi) || !r->prompt_len ||
                                r->prompt_len > KA_LLM_PROMPT_MAX))
    abort();
  if (r->op == KA_LLM_CHAT && (!r->nmsgs || r->nmsgs > KA_LLM_ITEMS_MAX)) abort();
  size_t total = 0;
  for (size_t i = 0; r->op == KA_LLM_CHAT && i < r->nmsgs; i++) {
    if (!r->msgs[i].role || !inside(r->msgs[i].content, r->msgs[i].content_len, lo, hi)) abort();
    total += r->msgs[i].content_len;
  }
  if (total > KA_LLM_PROMPT_MAX) abort();
  if (r->op == KA_LLM_EMBED && (!r->ntexts || r->ntexts > KA_LLM_ITEMS_MAX)) abort();
  for (size_t i = 0; r->op == KA_LLM_EMBED && i < r->ntexts; i++)
    if (!inside(r->texts[i], r->lens[i], lo, hi)) abort();
  if (r->op != KA_LLM_EMBED && r->params.max_tokens > KA_LLM_TOKENS_MAX) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  int op = data[0] % 3;
  size_t n = size - 1;
  uint8_t *copy = malloc(n ? n : 1);
  memcpy(copy, data + 1, n);
  char msg[300], why[256];
  ku_fail fail = { .msg = msg, .cap = sizeof msg };
  ku_cursor c = { copy, copy + n, copy, "llm", &fail };
  ka_llm_req r;
  memset(&r, 0, sizeof r);
  if (!setjmp(fail.jb)) {
    if (!ka_llm_decode(op, &c, &r, why, sizeof why)) check(&r, copy, copy + n);
    else if (!why[0]) abort();   /* a refusal always says why */
    ka_llm_req_free(&r);
  } else if (r.msgs || r.texts || r.lens) {
    abort();                     /* a cursor failure after an allocation would leak it */
  }
  free(copy);
  return 0;
}
