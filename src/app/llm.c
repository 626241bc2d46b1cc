/*
** llm.c -- the llm binding: "llm.infer", "llm.chat" and "llm.embed"
** (docs/BINDINGS.md) decoded through the bounded cursor, checked against
** the app's models and run on the engine or a remote server. Not the engine.
*/
#include <math.h>
#include <string.h>

#include "app/app_internal.h"
#include "llm/llm.h"
#include "../../python/c/krait_abi.h"
#include "util/util.h"

/* What one call may ask for: a prompt's or a text's bytes, how many texts
** or messages, and max_tokens (past it a request is refused as absurd;
** below it the model's context decides). */
#define KA_LLM_PROMPT_MAX (1u << 20)
#define KA_LLM_ITEMS_MAX 1024u
#define KA_LLM_TOKENS_MAX 65536u
/* A remote call without a request deadline ends after this long. */
#define KA_LLM_REMOTE_NS (300ull * 1000000000ull)

/* ---- the app's copy of its models ------------------------------------- */

/* A copy of r with its strings (each NULL-safe); NULL when out of memory. */
static kl_remote *ka_remote_copy(const kl_remote *r) {
  kl_remote *c = ku_calloc(1, sizeof *c);
  if (!c) return NULL;
  c->url = r->url ? ku_strdup(r->url) : NULL;
  c->model = r->model ? ku_strdup(r->model) : NULL;
  c->api_key = r->api_key ? ku_strdup(r->api_key) : NULL;
  c->ca_file = r->ca_file ? ku_strdup(r->ca_file) : NULL;
  bool ok = (!r->url || c->url) && (!r->model || c->model) && (!r->api_key || c->api_key) &&
            (!r->ca_file || c->ca_file);
  return ok ? c : (ku_free((char *)c->url), ku_free((char *)c->model), ku_free((char *)c->api_key),
                   ku_free((char *)c->ca_file), ku_free(c), NULL);
}

/* Frees a ka_remote_copy (the API key wiped first). */
static void ka_remote_free(kl_remote *r) {
  if (!r) return;
  if (r->api_key) explicit_bzero((char *)r->api_key, strlen(r->api_key));
  ku_free((char *)r->url); ku_free((char *)r->model); ku_free((char *)r->api_key); ku_free((char *)r->ca_file);
  ku_free(r);
}

bool ka_llm_copy(ka_llm *dst, const ka_llm *src) {
  memset(dst, 0, sizeof *dst);
  dst->engine = src->engine;
  ka_llm_model *ms = ku_calloc((size_t)src->nmodels + 1, sizeof *ms);
  char **gs = ku_calloc((size_t)src->ngranted + 1, sizeof *gs);
  dst->models = ms;
  dst->granted = (const char *const *)gs;
  if (!ms || !gs) return false;
  for (int i = 0; i < src->nmodels; i++, dst->nmodels++) {
    ms[i].local = src->models[i].local;
    ms[i].name = ku_strdup(src->models[i].name);
    ms[i].remote = src->models[i].remote ? ka_remote_copy(src->models[i].remote) : NULL;
    if (!ms[i].name || (src->models[i].remote && !ms[i].remote)) { dst->nmodels++; return false; }
  }
  for (int i = 0; i < src->ngranted; i++, dst->ngranted++)
    if (!(gs[i] = ku_strdup(src->granted[i]))) return false;
  return true;
}

void ka_llm_free(ka_llm *l) {
  ka_llm_model *ms = (ka_llm_model *)l->models;
  for (int i = 0; ms && i < l->nmodels; i++) {
    ku_free((char *)ms[i].name);
    ka_remote_free((kl_remote *)ms[i].remote);
  }
  for (int i = 0; l->granted && i < l->ngranted; i++) ku_free((char *)l->granted[i]);
  ku_free(ms);
  ku_free((void *)l->granted);
  memset(l, 0, sizeof *l);
}

/* ---- decoding ------------------------------------------------------------ */

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

/* The bytes of the sampling parameters (ka_llm_params). */
#define KA_LLM_PARAMS_BYTES 33u

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

/* The sampling parameters (docs/BINDINGS.md; KA_LLM_PARAMS_BYTES), each checked; why one is
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

/* The model named (name, n) for x's app: 0 with *m, or KRAIT_E_DENIED
** (configured, not granted), KRAIT_E_NOTFOUND (not configured). */
static int32_t ka_llm_find(ka_ctx *x, const char *op, const char *name, size_t n, const ka_llm_model **m) {
  const ka_llm *l = x->llm;
  bool granted = false;
  for (int i = 0; l && i < l->ngranted && !granted; i++)
    granted = strlen(l->granted[i]) == n && !memcmp(l->granted[i], name, n);
  for (int i = 0; l && i < l->nmodels; i++)
    if (strlen(l->models[i].name) == n && !memcmp(l->models[i].name, name, n)) {
      *m = &l->models[i];
      if (granted) return 0;
      return ka_fail_call(x, KRAIT_E_DENIED, "%s: model \"%.*s\" is not granted to this app: add it to the "
                          "app's ai_models in krait.toml", op, (int)(n > 128 ? 128 : n), name);
    }
  return ka_fail_call(x, KRAIT_E_NOTFOUND, "%s: no model \"%.*s\": it is not configured ([llm.models] in "
                      "krait.toml) %s", op, (int)(n > 128 ? 128 : n), name,
                      x->cli ? "nor given with --llm-model" : "and not in the app's ai_models");
}

/* The request's deadline for a call on m: the request's; a remote call
** without one is bounded all the same. */
static uint64_t ka_llm_deadline(ka_ctx *x, const ka_llm_model *m) {
  return !x->deadline && m->remote ? ka_wait_end(x, KA_LLM_REMOTE_NS) : x->deadline;
}

/* The KRAIT_E_* code for a KL_E_* result, with op and err as the message. */
static int32_t ka_llm_fail(ka_ctx *x, const char *op, int rc, const char *err) {
  int32_t code = rc == KL_E_INPUT ? KRAIT_E_INVAL : rc == KL_E_BUSY ? KRAIT_E_STATE
               : rc == KL_E_TIMEOUT ? KRAIT_E_TIMEOUT : KRAIT_E_BACKEND;
  return ka_fail_call(x, code, "%s: %s", op, err[0] ? err : "the model failed");
}

/* A generation's result: text, prompt and generated tokens, finish. */
static int32_t ka_llm_result(ka_ctx *x, const char *op, int rc, kl_infer_result *r, const char *err,
                             ka_out *out) {
  if (rc != KL_OK) { kl_result_free(r); return ka_llm_fail(x, op, rc, err); }
  const char *finish = r->finish ? r->finish : "stop";
  ka_out_str(out, r->text ? r->text : "", r->text ? r->text_len : 0);
  ka_out_put(out, &r->prompt_tokens, 4);
  ka_out_put(out, &r->generated_tokens, 4);
  ka_out_str(out, finish, strlen(finish));
  kl_result_free(r);
  return 0;
}

/* ---- the operations ------------------------------------------------------ */

/* The model at the start of a request: decoded and looked up. */
static int32_t ka_llm_begin(ka_ctx *x, ku_cursor *in, const char *op, const ka_llm_model **m) {
  int32_t rc;
  size_t n;
  char why[128];
  const char *name = ka_llm_str(in, 128, "the model name", &n, why, sizeof why);
  if (!name) return ka_fail_call(x, KRAIT_E_NOTFOUND, "%s: no such model: %s", op, why);
  rc = ka_llm_find(x, op, name, n, m);
  if (!rc && !(*m)->remote && !(*m)->local)
    rc = ka_fail_call(x, KRAIT_E_BACKEND, "%s: model \"%s\" is not loaded in this process", op, (*m)->name);
  return rc;
}

/* llm.infer: model, prompt, params -> text, usage, finish. */
int32_t ka_llm_infer(ka_ctx *x, ku_cursor *in, ka_out *out) {
  const ka_llm_model *m;
  kl_infer_params p;
  kl_infer_result r = { 0 };
  char why[256], err[KL_ERR_SIZE] = "";
  size_t n;
  int32_t rc = ka_llm_begin(x, in, "llm.infer", &m);
  if (rc) return rc;
  const char *prompt = ka_llm_str(in, KA_LLM_PROMPT_MAX, "the prompt", &n, why, sizeof why);
  bool bad = !prompt;
  if (!bad) bad = ka_llm_params(in, &p, why, sizeof why) != NULL;
  if (!bad && !ku_eof(in)) ku_cfail(in, 0, "bytes after the parameters");
  if (!bad && !n) bad = snprintf(why, sizeof why, "the prompt is empty");
  if (bad) return ka_fail_call(x, KRAIT_E_INVAL, "llm.infer: %s", why);
  uint64_t dl = ka_llm_deadline(x, m);
  int krc = m->remote ? kl_remote_infer(m->remote, prompt, n, &p, dl, &r, err, sizeof err)
                      : kl_infer(x->llm->engine, m->local, prompt, n, &p, dl, &r, err, sizeof err);
  return ka_llm_result(x, "llm.infer", krc, &r, err, out);
}

/* The u32 count then count messages (role, content) of an llm.chat
** request into msgs (ku_malloc'ed); why one is wrong into why. */
static const char *ka_llm_msgs(ku_cursor *in, kl_chat_msg **msgs, size_t *count, char *why, size_t wn) {
  static const char *const roles[] = { "system", "user", "assistant" };
  uint32_t n = ku_fixed32(in);
  *msgs = NULL;
  *count = 0;
  if (n == 0 || n > KA_LLM_ITEMS_MAX) {
    snprintf(why, wn, "%u messages: send 1 to %u", n, KA_LLM_ITEMS_MAX);
    return why;
  }
  ka_llm_scan(*in, n, 2, KA_LLM_PARAMS_BYTES);
  kl_chat_msg *ms = ku_calloc(n, sizeof *ms);
  if (!ms) { snprintf(why, wn, "out of memory"); return why; }
  *msgs = ms;
  for (uint32_t i = 0; i < n; i++, (*count)++) {
    size_t rn;
    char what[64];
    snprintf(what, sizeof what, "message %u's role", i + 1);
    const char *role = ka_llm_str(in, 16, what, &rn, why, wn);
    if (!role) return why;
    for (size_t k = 0; k < 3; k++)
      if (strlen(roles[k]) == rn && !memcmp(roles[k], role, rn)) ms[i].role = roles[k];
    if (!ms[i].role) {
      snprintf(why, wn, "message %u has role \"%.*s\": use \"system\", \"user\" or \"assistant\"", i + 1,
               (int)rn, role);
      return why;
    }
    snprintf(what, sizeof what, "message %u's content", i + 1);
    if (!(ms[i].content = ka_llm_str(in, KA_LLM_PROMPT_MAX, what, &ms[i].content_len, why, wn))) return why;
  }
  return NULL;
}

/* llm.chat's work once decoded: the model's chat template (local) or the
** server's /chat/completions (remote). */
static int ka_llm_chat_run(ka_ctx *x, const ka_llm_model *m, const kl_chat_msg *ms, size_t n,
                           const kl_infer_params *p, kl_infer_result *r, char *err, size_t cap) {
  uint64_t dl = ka_llm_deadline(x, m);
  if (m->remote) return kl_remote_chat(m->remote, ms, n, p, dl, r, err, cap);
  size_t len;
  char *prompt = kl_chat_prompt(m->local, ms, n, &len, err, cap);
  if (!prompt) return KL_E_INPUT;
  int rc = kl_infer(x->llm->engine, m->local, prompt, len, p, dl, r, err, cap);
  ku_free(prompt);
  return rc;
}

/* llm.chat: model, messages, params -> text, usage, finish. */
int32_t ka_llm_chat(ka_ctx *x, ku_cursor *in, ka_out *out) {
  const ka_llm_model *m;
  kl_chat_msg *ms = NULL;
  size_t n = 0;
  kl_infer_params p;
  kl_infer_result r = { 0 };
  char why[256], err[KL_ERR_SIZE] = "";
  int32_t rc = ka_llm_begin(x, in, "llm.chat", &m);
  if (rc) return rc;
  const char *bad = ka_llm_msgs(in, &ms, &n, why, sizeof why);
  if (!bad) bad = ka_llm_params(in, &p, why, sizeof why);   /* fixed size: a short one fails */
  if (!bad && !ku_eof(in)) bad = "bytes after the parameters";
  int krc = bad ? KL_E_INPUT : ka_llm_chat_run(x, m, ms, n, &p, &r, err, sizeof err);
  ku_free(ms);
  if (bad) return ka_fail_call(x, KRAIT_E_INVAL, "llm.chat: %s", bad);
  return ka_llm_result(x, "llm.chat", krc, &r, err, out);
}

/* The u32 count then count texts of an llm.embed request into texts and
** lens (ku_malloc'ed; freed by the caller); why one is wrong into why. */
static const char *ka_llm_texts(ku_cursor *in, const char ***texts, size_t **lens, uint32_t *count, char *why,
                                size_t wn) {
  uint32_t n = ku_fixed32(in);
  *count = 0;
  if (n == 0 || n > KA_LLM_ITEMS_MAX) {
    snprintf(why, wn, "%u texts: send 1 to %u", n, KA_LLM_ITEMS_MAX);
    return why;
  }
  ka_llm_scan(*in, n, 1, 0);
  *texts = ku_calloc(n, sizeof **texts);
  *lens = ku_calloc(n, sizeof **lens);
  if (!*texts || !*lens) { snprintf(why, wn, "out of memory"); return why; }
  for (uint32_t i = 0; i < n; i++, (*count)++) {
    char what[64];
    snprintf(what, sizeof what, "text %u", i + 1);
    if (!((*texts)[i] = ka_llm_str(in, KA_LLM_PROMPT_MAX, what, &(*lens)[i], why, wn))) return why;
  }
  if (!ku_eof(in)) { snprintf(why, wn, "bytes after the texts"); return why; }
  return NULL;
}

/* An embedding result: u32 n, u32 dim, u32 prompt tokens, n * dim f32. */
static int32_t ka_llm_vectors(ka_out *out, const float *v, uint32_t n, uint32_t dim, uint32_t tokens) {
  ka_out_put(out, &n, 4);
  ka_out_put(out, &dim, 4);
  ka_out_put(out, &tokens, 4);
  ka_out_put(out, v, (size_t)n * dim * sizeof *v);
  return 0;
}

/* llm.embed: model, texts -> vectors and usage. */
int32_t ka_llm_embed(ka_ctx *x, ku_cursor *in, ka_out *out) {
  const ka_llm_model *m;
  const char **texts = NULL;
  size_t *lens = NULL;
  uint32_t n = 0, dim = 0, tokens = 0;
  float *v = NULL;
  char why[256], err[KL_ERR_SIZE] = "";
  int32_t rc = ka_llm_begin(x, in, "llm.embed", &m);
  if (rc) return rc;
  if (ka_llm_texts(in, &texts, &lens, &n, why, sizeof why)) {
    ku_free(texts);
    ku_free(lens);
    return ka_fail_call(x, KRAIT_E_INVAL, "llm.embed: %s", why);
  }
  uint64_t dl = ka_llm_deadline(x, m);
  int krc = m->remote ? kl_remote_embed(m->remote, texts, lens, n, dl, &v, &dim, &tokens, err, sizeof err)
                      : kl_embed(x->llm->engine, m->local, texts, lens, n, dl, &v, &tokens, err, sizeof err);
  if (krc == KL_OK && !m->remote) dim = kl_model_dim(m->local);
  ku_free(texts);
  ku_free(lens);
  rc = krc == KL_OK ? ka_llm_vectors(out, v, n, dim, tokens) : ka_llm_fail(x, "llm.embed", krc, err);
  ku_free(v);
  return rc;
}
