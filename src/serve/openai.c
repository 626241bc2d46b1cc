/*
** openai.c -- krait serve's /v1 API on the admin listener: the bearer
** token, the endpoints (models, completions, chat, embeddings) run on the
** engine from a worker, answers and errors in OpenAI's shapes.
*/
#include <jansson.h>
#include <math.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "platform/platform.h"
#include "serve/openai.h"
#include "util/util.h"

static atomic_ulong ks_oai_ids;

/* Writes o (released) as the JSON answer with status. */
static ks_outcome answer(ks_response *res, int status, json_t *o) {
  char *s = o ? json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(9)) : NULL;
  json_decref(o);
  ks_response_status(res, s ? status : 500);
  ks_response_header(res, "Content-Type", "application/json");
  if (!s) {
    static const char oom[] = "{\"error\":{\"message\":\"out of memory\",\"type\":\"server_error\"}}\n";
    ks_response_write(res, oom, sizeof oom - 1);
    return KS_OK;
  }
  ks_response_write(res, s, strlen(s));
  ks_response_write(res, "\n", 1);
  free(s);   /* jansson's */
  return KS_OK;
}

/* The error e as OpenAI sends it: {"error": {message, type, param, code}};
** a message jansson refuses (not UTF-8) is replaced, its status kept. */
static ks_outcome error(ks_response *res, const ks_oai_err *e) {
  json_t *o = json_pack("{s:{s:s, s:s, s:s?, s:s?}}", "error", "message", e->message, "type", e->type, "param",
                        e->param, "code", e->code);
  if (!o)
    o = json_pack("{s:{s:s, s:s, s:s?, s:s?}}", "error", "message", "(the error's message could not be sent)",
                  "type", e->type, "param", e->param, "code", e->code);
  if (e->status == 503) ks_response_header(res, "Retry-After", "1");
  if (e->status == 401) ks_response_header(res, "WWW-Authenticate", "Bearer realm=\"krait /v1\"");
  return answer(res, e->status, o);
}

/* Whether the request bears the API's token: the SHA-256 digests of the
** two compared in constant time, so neither the token's bytes nor its
** length show in the time taken. */
static bool authorized(const ks_oai *api, const ks_request *rq) {
  size_t n = 0;
  const char *v = ks_request_header(rq, "authorization", &n);
  unsigned char got[EVP_MAX_MD_SIZE], want[EVP_MAX_MD_SIZE];
  unsigned gn = 0, wn = 0;
  if (!api->token) return true;
  if (!v || n < 7 || strncasecmp(v, "Bearer ", 7)) return false;
  if (!EVP_Digest(v + 7, n - 7, got, &gn, EVP_sha256(), NULL) ||
      !EVP_Digest(api->token, strlen(api->token), want, &wn, EVP_sha256(), NULL) || gn != wn)
    return false;
  return CRYPTO_memcmp(got, want, wn) == 0;
}

/* The model named name, or NULL with e filled (404, the models listed). */
static const ks_oai_model *find(const ks_oai *api, const char *name, ks_oai_err *e) {
  char have[256] = "";
  for (size_t i = 0; i < api->nmodels; i++) {
    if (!strcmp(api->models[i].name, name)) return &api->models[i];
    snprintf(have + strlen(have), sizeof have - strlen(have), "%s\"%s\"", i ? ", " : "", api->models[i].name);
  }
  ks_oai_fail(e, 404, "model", "model_not_found", "model \"%.*s\" not found (this server has %s)",
              ku_utf8_cut(name, strlen(name), 128), name, api->nmodels ? have : "none");
  return NULL;
}

/* One model as GET /v1/models lists it. */
static json_t *model_json(const ks_oai_model *m) {
  return json_pack("{s:s, s:s, s:i, s:s, s:i, s:s}", "id", m->name, "object", "model", "created", 0, "owned_by",
                   "krait", "context_length", (json_int_t)kl_model_ctx(m->model), "kind",
                   kl_model_embeds(m->model) ? "embeddings" : "text");
}

/* GET /v1/models and /v1/models/ID. */
static ks_outcome models(const ks_oai *api, const char *id, ks_response *res) {
  ks_oai_err e;
  if (id) {
    const ks_oai_model *m = find(api, id, &e);
    return m ? answer(res, 200, model_json(m)) : error(res, &e);
  }
  json_t *list = json_array();
  for (size_t i = 0; list && i < api->nmodels; i++) json_array_append_new(list, model_json(&api->models[i]));
  return answer(res, 200, json_pack("{s:s, s:o}", "object", "list", "data", list));
}

/* A KL_* failure of the engine as an HTTP error. */
static ks_outcome engine_error(ks_response *res, int rc, const char *why) {
  ks_oai_err e;
  int status = rc == KL_E_INPUT ? 400 : rc == KL_E_BUSY || rc == KL_E_NOMEM ? 503 : rc == KL_E_TIMEOUT ? 504 : 500;
  ks_oai_fail(&e, status, NULL, rc == KL_E_BUSY ? "busy" : rc == KL_E_TIMEOUT ? "timeout" : NULL, "%s", why);
  return error(res, &e);
}

/* The usage object. */
static json_t *usage(uint32_t prompt, uint32_t generated, bool embed) {
  if (embed) return json_pack("{s:i, s:i}", "prompt_tokens", (json_int_t)prompt, "total_tokens", (json_int_t)prompt);
  return json_pack("{s:i, s:i, s:i}", "prompt_tokens", (json_int_t)prompt, "completion_tokens",
                   (json_int_t)generated, "total_tokens", (json_int_t)prompt + generated);
}

/* A generation's answer: a text completion or a chat completion. */
static json_t *completion_json(const ks_oai_req *r, const kl_infer_result *out) {
  bool chat = r->kind == KS_OAI_CHAT;
  char id[48];
  snprintf(id, sizeof id, "%s-krait%lu", chat ? "chatcmpl" : "cmpl", (unsigned long)atomic_fetch_add(&ks_oai_ids, 1));
  const char *fin = out->finish && !strcmp(out->finish, "stop") ? "stop" : "length";
  json_t *text = json_stringn(out->text ? out->text : "", out->text_len);
  json_t *choice = chat ? json_pack("{s:i, s:{s:s, s:o}, s:n, s:s}", "index", 0, "message", "role", "assistant",
                                    "content", text, "logprobs", "finish_reason", fin)
                        : json_pack("{s:i, s:o, s:n, s:s}", "index", 0, "text", text, "logprobs", "finish_reason", fin);
  return json_pack("{s:s, s:s, s:I, s:s, s:[o], s:o}", "id", id, "object", chat ? "chat.completion" : "text_completion",
                   "created", (json_int_t)(kp_realtime_ns() / 1000000000ull), "model", r->model, "choices", choice,
                   "usage", usage(out->prompt_tokens, out->generated_tokens, false));
}

/* POST /v1/completions and /v1/chat/completions. */
static ks_outcome generate(const ks_oai *api, const ks_oai_model *m, ks_oai_req *r, uint64_t deadline,
                           ks_response *res) {
  char err[KL_ERR_SIZE];
  ks_oai_err e;
  kl_infer_result out = { 0 };
  if (!kl_model_generates(m->model)) {
    ks_oai_fail(&e, 400, "model", NULL, "model \"%s\" makes embeddings, not text: use /v1/embeddings", m->name);
    return error(res, &e);
  }
  if (!r->has_max_tokens && r->p.max_tokens > kl_model_ctx(m->model)) r->p.max_tokens = kl_model_ctx(m->model);
  int rc = r->kind == KS_OAI_CHAT
               ? kl_chat(api->engine, m->model, r->msgs, r->nmsgs, &r->p, deadline, &out, err, sizeof err)
               : kl_infer(api->engine, m->model, r->prompt, r->prompt_len, &r->p, deadline, &out, err, sizeof err);
  if (rc != KL_OK) return engine_error(res, rc, err);
  bool cut = out.finish && !strcmp(out.finish, "deadline");
  if (cut && out.generated_tokens == 0) {
    kl_result_free(&out);
    return engine_error(res, KL_E_TIMEOUT, "the request's deadline ([llm] api_timeout_ms) passed before any token "
                        "was generated");
  }
  if (cut) ks_response_header(res, "x-krait-finish", "deadline");   /* finish_reason stays OpenAI's "length" */
  json_t *o = completion_json(r, &out);
  kl_result_free(&out);
  return answer(res, 200, o);
}

json_t *ks_oai_embed_rows(const char *model, const float *v, size_t n, uint32_t dim, char *err, size_t cap) {
  json_t *data = json_array();
  bool ok = data != NULL;
  err[0] = '\0';
  for (size_t i = 0; ok && i < n; i++) {
    json_t *row = json_array();
    ok = row != NULL;
    for (uint32_t k = 0; ok && k < dim; k++) {
      if (!isfinite(v[i * dim + k])) {
        ku_fmt(err, cap, "model \"%s\" made an embedding value that is not a finite number (text %zu, "
               "dimension %u)", model, i, k);
        ok = false;
      } else ok = json_array_append_new(row, json_real(v[i * dim + k])) == 0;
    }
    if (!ok) json_decref(row);
    ok = ok && json_array_append_new(data, json_pack("{s:s, s:i, s:o}", "object", "embedding", "index",
                                                     (json_int_t)i, "embedding", row)) == 0;
    if (!ok && !err[0]) ku_fmt(err, cap, "out of memory for the embeddings' answer");
  }
  if (!ok) json_decref(data);
  return ok ? data : NULL;
}

/* POST /v1/embeddings. */
static ks_outcome embed(const ks_oai *api, const ks_oai_model *m, ks_oai_req *r, uint64_t deadline,
                        ks_response *res) {
  char err[KL_ERR_SIZE];
  ks_oai_err e;
  float *v = NULL;
  uint32_t dim = kl_model_dim(m->model), tokens = 0;
  if (!kl_model_embeds(m->model))
    ks_oai_fail(&e, 400, "model", NULL, "model \"%s\" generates text; embeddings need an encoder (bert) model", m->name);
  else if (r->dimensions && r->dimensions != dim)
    ks_oai_fail(&e, 400, "dimensions", NULL, "model \"%s\" makes embeddings of %u dimensions, not %u", m->name, dim,
                r->dimensions);
  else e.status = 0;
  if (e.status) return error(res, &e);
  int rc = kl_embed(api->engine, m->model, r->texts, r->lens, r->ntexts, deadline, &v, &tokens, err, sizeof err);
  if (rc != KL_OK) return engine_error(res, rc, err);
  json_t *data = ks_oai_embed_rows(m->name, v, r->ntexts, dim, err, sizeof err);
  ku_free(v);
  if (!data) return engine_error(res, KL_E_MODEL, err);
  return answer(res, 200, json_pack("{s:s, s:o, s:s, s:o}", "object", "list", "data", data, "model", r->model,
                                    "usage", usage(tokens, 0, true)));
}

/* A POST endpoint: the body checked, the model found, the work run. */
static ks_outcome run(const ks_oai *api, int kind, const ks_request *rq, ks_response *res) {
  ks_oai_req r;
  ks_oai_err e;
  uint64_t deadline = rq->start_ns + api->timeout_ms * 1000000ull;
  const ks_oai_model *m = NULL;
  ks_outcome o;
  if (ks_oai_parse(kind, rq->body, rq->body_len, &r, &e) != 0 || !(m = find(api, r.model, &e))) o = error(res, &e);
  else if (kind == KS_OAI_EMBEDDINGS) o = embed(api, m, &r, deadline, res);
  else o = generate(api, m, &r, deadline, res);
  ks_oai_req_free(&r);
  return o;
}

/* Whether view v is exactly s. */
static bool is(kh_view v, const char *s) {
  return v.len == strlen(s) && memcmp(v.p, s, v.len) == 0;
}

ks_outcome ks_oai_handle(const ks_request *rq, ks_response *res, void *data) {
  const ks_oai *api = data;
  ks_oai_err e;
  kh_view p = rq->path;
  bool get = is(rq->method, "GET") || is(rq->method, "HEAD"), post = is(rq->method, "POST");
  int kind = is(p, "/v1/completions") ? KS_OAI_COMPLETION : is(p, "/v1/chat/completions") ? KS_OAI_CHAT
           : is(p, "/v1/embeddings") ? KS_OAI_EMBEDDINGS : 0;
  bool list = is(p, "/v1/models"), one = p.len > 11 && !memcmp(p.p, "/v1/models/", 11);
  if (!authorized(api, rq)) {
    ks_oai_fail(&e, 401, NULL, "invalid_api_key", "this API needs \"Authorization: Bearer <token>\" with the "
                "token krait serve was given (--llm-api-token)");
    return error(res, &e);
  }
  if (!kind && !list && !one) {
    ks_oai_fail(&e, 404, NULL, "unknown_url", "no endpoint %.*s (krait serves GET /v1/models, POST "
                "/v1/completions, /v1/chat/completions and /v1/embeddings)", (int)(p.len > 200 ? 200 : p.len), p.p);
    return error(res, &e);
  }
  if ((kind && !post) || (!kind && !get)) {
    ks_response_header(res, "Allow", kind ? "POST" : "GET, HEAD");
    ks_oai_fail(&e, 405, NULL, NULL, "%.*s takes %s", (int)p.len, p.p, kind ? "POST" : "GET");
    return error(res, &e);
  }
  if (kind) return run(api, kind, rq, res);
  if (!one) return models(api, NULL, res);
  char id[160];
  snprintf(id, sizeof id, "%.*s", ku_utf8_cut(p.p + 11, p.len - 11, 150), p.p + 11);
  return models(api, id, res);
}
