/*
** llm.c -- the llm binding: "llm.infer", "llm.chat" and "llm.embed"
** (docs/BINDINGS.md) decoded through the bounded cursor, checked against
** the app's models and run on the engine or a remote server. Not the engine.
*/
#include <string.h>

#include "app/app_internal.h"
#include "llm/llm.h"
#include "../../python/c/krait_abi.h"
#include "util/util.h"

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
  c->max_concurrent = r->max_concurrent;
  c->max_queued = r->max_queued;
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

/* Decodes op's request and finds its model: 0, or the code of the call's
** failure (E_INVAL for invalid input: r is freed then). */
static int32_t ka_llm_begin(ka_ctx *x, ku_cursor *in, int op, ka_llm_req *r, const ka_llm_model **m) {
  static const char *const names[] = { "llm.infer", "llm.chat", "llm.embed" };
  char why[256];
  int32_t rc = 0;
  if (ka_llm_decode(op, in, r, why, sizeof why)) rc = ka_fail_call(x, KRAIT_E_INVAL, "%s: %s", names[op], why);
  if (!rc) rc = ka_llm_find(x, names[op], r->model, r->model_len, m);
  if (!rc && !(*m)->remote && !(*m)->local)
    rc = ka_fail_call(x, KRAIT_E_BACKEND, "%s: model \"%s\" is not loaded in this process", names[op], (*m)->name);
  if (rc) ka_llm_req_free(r);
  return rc;
}

/* llm.infer: model, prompt, params -> text, usage, finish. */
int32_t ka_llm_infer(ka_ctx *x, ku_cursor *in, ka_out *out) {
  const ka_llm_model *m;
  ka_llm_req q;
  kl_infer_result r = { 0 };
  char err[KL_ERR_SIZE] = "";
  int32_t rc = ka_llm_begin(x, in, KA_LLM_INFER, &q, &m);
  if (rc) return rc;
  uint64_t dl = ka_llm_deadline(x, m);
  int krc = m->remote ? kl_remote_infer(m->remote, q.prompt, q.prompt_len, &q.params, dl, &r, err, sizeof err)
                      : kl_infer(x->llm->engine, m->local, q.prompt, q.prompt_len, &q.params, dl, &r, err, sizeof err);
  ka_llm_req_free(&q);
  return ka_llm_result(x, "llm.infer", krc, &r, err, out);
}

/* llm.chat's work once decoded: the model's chat template (local) or the
** server's /chat/completions (remote). */
static int ka_llm_chat_run(ka_ctx *x, const ka_llm_model *m, const ka_llm_req *q, kl_infer_result *r, char *err,
                           size_t cap) {
  uint64_t dl = ka_llm_deadline(x, m);
  if (m->remote) return kl_remote_chat(m->remote, q->msgs, q->nmsgs, &q->params, dl, r, err, cap);
  return kl_chat(x->llm->engine, m->local, q->msgs, q->nmsgs, &q->params, dl, r, err, cap);
}

/* llm.chat: model, messages, params -> text, usage, finish. */
int32_t ka_llm_chat(ka_ctx *x, ku_cursor *in, ka_out *out) {
  const ka_llm_model *m;
  ka_llm_req q;
  kl_infer_result r = { 0 };
  char err[KL_ERR_SIZE] = "";
  int32_t rc = ka_llm_begin(x, in, KA_LLM_CHAT, &q, &m);
  if (rc) return rc;
  int krc = ka_llm_chat_run(x, m, &q, &r, err, sizeof err);
  ka_llm_req_free(&q);
  return ka_llm_result(x, "llm.chat", krc, &r, err, out);
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
  ka_llm_req q;
  uint32_t dim = 0, tokens = 0;
  float *v = NULL;
  char err[KL_ERR_SIZE] = "";
  int32_t rc = ka_llm_begin(x, in, KA_LLM_EMBED, &q, &m);
  if (rc) return rc;
  uint64_t dl = ka_llm_deadline(x, m);
  int krc = m->remote ? kl_remote_embed(m->remote, q.texts, q.lens, q.ntexts, dl, &v, &dim, &tokens, err, sizeof err)
                      : kl_embed(x->llm->engine, m->local, q.texts, q.lens, q.ntexts, dl, &v, &tokens, err, sizeof err);
  if (krc == KL_OK && !m->remote) dim = kl_model_dim(m->local);
  rc = krc == KL_OK ? ka_llm_vectors(out, v, (uint32_t)q.ntexts, dim, tokens) : ka_llm_fail(x, "llm.embed", krc, err);
  ka_llm_req_free(&q);
  ku_free(v);
  return rc;
}
