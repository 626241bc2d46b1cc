/*
** llmwire.c -- the llm binding's requests (docs/BINDINGS.md, "llm") decoded
** through the bounded cursor, with their caps and checks, into pointers
** into the request. Not running them (llm.c).
*/
#include <math.h>
#include <string.h>

#include "app/app_internal.h"
#include "util/util.h"

/* A u32-length string: its bytes and *len, or NULL with why written when
** it is over max bytes or not UTF-8 (what names it); missing bytes fail
** through the cursor. */
static const char *ka_llm_str(ku_cursor *in, size_t max, const char *what, size_t *len, char *why, size_t wn) {
  uint32_t n = ku_fixed32(in);
  const char *s = (const char *)ku_bytes(in, n);
  *len = n;
  if (n > max) snprintf(why, wn, "%s is %u bytes; at most %zu", what, n, max);
  else if (!ku_utf8_valid((const uint8_t *)s, n)) snprintf(why, wn, "%s is not valid UTF-8", what);
  else return s;
  return NULL;
}

/* Checks that count items of per strings each, then extra bytes, follow
** in c (a copy of the request's cursor): a truncated request fails
** through the cursor here, before anything is allocated for them. */
static void ka_llm_scan(ku_cursor c, uint32_t count, int per, size_t extra) {
  for (uint64_t i = 0; i < (uint64_t)count * (uint64_t)per; i++) ku_bytes(&c, ku_fixed32(&c));
  ku_bytes(&c, extra);
}

/* A little-endian f32. */
static float ka_llm_f32(ku_cursor *in) {
  uint32_t u = ku_fixed32(in);
  float f;
  memcpy(&f, &u, sizeof f);
  return f;
}

/* The sampling parameters (KA_LLM_PARAMS_BYTES), each checked; why one is
** wrong into why (NULL: fine). */
static const char *ka_llm_params(ku_cursor *in, kl_infer_params *p, char *why, size_t n) {
  p->max_tokens = ku_fixed32(in);
  p->temperature = ka_llm_f32(in);
  p->top_p = ka_llm_f32(in);
  p->repeat_penalty = ka_llm_f32(in);
  p->top_k = ku_fixed32(in);
  p->repeat_last_n = ku_fixed32(in);
  p->has_seed = ku_u8(in) != 0;
  p->seed = ku_fixed64(in);
  if (p->max_tokens > KA_LLM_TOKENS_MAX)
    snprintf(why, n, "max_tokens = %u is absurd: at most %u (and the model's context)", p->max_tokens,
             KA_LLM_TOKENS_MAX);
  else if (!isfinite(p->temperature) || p->temperature < 0 || p->temperature > 100)
    snprintf(why, n, "temperature = %g is not in 0..100 (0: greedy)", (double)p->temperature);
  else if (!isfinite(p->top_p) || p->top_p < 0 || p->top_p > 1)
    snprintf(why, n, "top_p = %g is not in 0..1", (double)p->top_p);
  else if (!isfinite(p->repeat_penalty) || p->repeat_penalty <= 0 || p->repeat_penalty > 100)
    snprintf(why, n, "repeat_penalty = %g is not in (0, 100] (1: off)", (double)p->repeat_penalty);
  else
    return NULL;
  return why;
}

/* llm.chat's u32 count then count messages (role, content) into r->msgs
** (ku_malloc'ed), their contents at most KA_LLM_PROMPT_MAX together; why
** one is wrong into why. */
static const char *ka_llm_msgs(ku_cursor *in, ka_llm_req *r, char *why, size_t wn) {
  static const char *const roles[] = { "system", "user", "assistant" };
  size_t total = 0;
  uint32_t n = ku_fixed32(in);
  if (n == 0 || n > KA_LLM_ITEMS_MAX) {
    snprintf(why, wn, "%u messages: send 1 to %u", n, KA_LLM_ITEMS_MAX);
    return why;
  }
  ka_llm_scan(*in, n, 2, KA_LLM_PARAMS_BYTES);
  if (!(r->msgs = ku_calloc(n, sizeof *r->msgs))) { snprintf(why, wn, "out of memory"); return why; }
  for (uint32_t i = 0; i < n; i++, r->nmsgs++) {
    kl_chat_msg *m = &r->msgs[i];
    size_t rn;
    char what[64];
    snprintf(what, sizeof what, "message %u's role", i + 1);
    const char *role = ka_llm_str(in, 16, what, &rn, why, wn);
    if (!role) return why;
    for (size_t k = 0; k < 3; k++)
      if (strlen(roles[k]) == rn && !memcmp(roles[k], role, rn)) m->role = roles[k];
    if (!m->role) {
      snprintf(why, wn, "message %u has role \"%.*s\": use \"system\", \"user\" or \"assistant\"", i + 1,
               (int)rn, role);
      return why;
    }
    snprintf(what, sizeof what, "message %u's content", i + 1);
    if (!(m->content = ka_llm_str(in, KA_LLM_PROMPT_MAX, what, &m->content_len, why, wn))) return why;
    total += m->content_len;
  }
  if (total <= KA_LLM_PROMPT_MAX) return NULL;
  snprintf(why, wn, "the messages are %zu bytes together; at most %u", total, KA_LLM_PROMPT_MAX);
  return why;
}

/* llm.embed's u32 count then count texts into r->texts and r->lens
** (ku_malloc'ed); why one is wrong into why. */
static const char *ka_llm_texts(ku_cursor *in, ka_llm_req *r, char *why, size_t wn) {
  uint32_t n = ku_fixed32(in);
  if (n == 0 || n > KA_LLM_ITEMS_MAX) {
    snprintf(why, wn, "%u texts: send 1 to %u", n, KA_LLM_ITEMS_MAX);
    return why;
  }
  ka_llm_scan(*in, n, 1, 0);
  r->texts = ku_calloc(n, sizeof *r->texts);
  r->lens = ku_calloc(n, sizeof *r->lens);
  if (!r->texts || !r->lens) { snprintf(why, wn, "out of memory"); return why; }
  for (uint32_t i = 0; i < n; i++, r->ntexts++) {
    char what[64];
    snprintf(what, sizeof what, "text %u", i + 1);
    if (!(r->texts[i] = ka_llm_str(in, KA_LLM_PROMPT_MAX, what, &r->lens[i], why, wn))) return why;
  }
  return NULL;
}

/* What follows the model name in op's request. */
static const char *ka_llm_body(int op, ku_cursor *in, ka_llm_req *r, char *why, size_t n) {
  if (op == KA_LLM_EMBED) return ka_llm_texts(in, r, why, n);
  if (op == KA_LLM_CHAT) return ka_llm_msgs(in, r, why, n) ? why : ka_llm_params(in, &r->params, why, n);
  if (!(r->prompt = ka_llm_str(in, KA_LLM_PROMPT_MAX, "the prompt", &r->prompt_len, why, n))) return why;
  if (ka_llm_params(in, &r->params, why, n)) return why;
  if (!r->prompt_len) { snprintf(why, n, "the prompt is empty"); return why; }
  return NULL;
}

const char *ka_llm_decode(int op, ku_cursor *in, ka_llm_req *r, char *why, size_t n) {
  memset(r, 0, sizeof *r);
  r->op = op;
  if (!(r->model = ka_llm_str(in, KA_LLM_NAME_MAX, "the model name", &r->model_len, why, n))) return why;
  if (ka_llm_body(op, in, r, why, n)) return why;
  if (ku_eof(in)) return NULL;
  snprintf(why, n, "%zu bytes after the request", (size_t)(in->end - in->p));
  return why;
}

void ka_llm_req_free(ka_llm_req *r) {
  ku_free(r->msgs);
  ku_free(r->texts);
  ku_free(r->lens);
  r->msgs = NULL;
  r->texts = NULL;
  r->lens = NULL;
}
