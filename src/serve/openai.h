/*
** openai.h -- krait serve's OpenAI-compatible API over its local models
** (prefix ks_oai_): GET /v1/models, POST /v1/completions, /v1/chat/
** completions and /v1/embeddings on the admin listener, run by a worker.
** Not the engine (src/llm) nor which models (src/deploy/llmapi.c).
*/
#ifndef KS_OPENAI_H
#define KS_OPENAI_H

#include "llm/llm.h"
#include "serve/serve.h"

/* The route of the API (on the admin listener) and its app, which has its
** own in-flight cap and queue share. */
#define KS_OAI_ROUTE "/v1/..."
#define KS_OAI_APP "krait:/v1"

/* What a request may ask for: texts per embeddings call, bytes of a
** string field, messages of a chat. */
#define KS_OAI_TEXTS_MAX 1024u
#define KS_OAI_MESSAGES_MAX 1024u
/* A body's JSON before it is parsed (a "{}" costs jansson ~250 bytes):
** at most this many values, nested at most this deep. Prompts, each
** message's content, the messages together and each text to embed are at
** most KL_PROMPT_MAX bytes, as the llm binding's. */
#define KS_OAI_VALUES_MAX 65536u
#define KS_OAI_DEPTH_MAX 32u
/* max_tokens of a completion that does not say (OpenAI's default) and of a
** chat that does not say (krait's; OpenAI's is unbounded), each capped by
** the model's context: the KV cache is sized by max_tokens, so a default of
** the whole context would size it for the whole context on every request. */
#define KS_OAI_COMPLETION_TOKENS 16u
#define KS_OAI_CHAT_TOKENS 512u

/* One model the API serves. */
typedef struct ks_oai_model {
  const char *name;            /* the id clients ask for */
  kl_model *model;
} ks_oai_model;

/* The API: its engine, models and the token its callers must bear. */
typedef struct ks_oai {
  kl_engine *engine;
  const ks_oai_model *models;
  size_t nmodels;
  const char *token;           /* "Authorization: Bearer TOKEN" required;
                                  NULL: none */
  uint64_t timeout_ms;         /* a request's deadline, from its first byte
                                  ([llm] api_timeout_ms) */
} ks_oai;

/* The route handler (data: a ks_oai). */
ks_outcome ks_oai_handle(const ks_request *rq, ks_response *res, void *data);

/* The n rows of dim floats v as /v1/embeddings lists them (a jansson
** array), or NULL with err set: a value that is not finite (JSON has no
** NaN: the row would come out short, passing for a narrower model) or out
** of memory. model names the model in err. */
struct json_t *ks_oai_embed_rows(const char *model, const float *v, size_t n, uint32_t dim, char *err, size_t cap);

/* ---- requests (oaireq.c): the JSON bodies checked ---------------------- */

enum { KS_OAI_COMPLETION = 1, KS_OAI_CHAT, KS_OAI_EMBEDDINGS };

/* A refused request, in OpenAI's error shape. */
typedef struct ks_oai_err {
  int status;                  /* 400, 404, 401, 503... */
  const char *type;            /* "invalid_request_error"... */
  const char *param;           /* the field at fault, or NULL */
  const char *code;            /* "model_not_found"..., or NULL */
  char message[KL_ERR_SIZE];
} ks_oai_err;

/* A request body decoded (views into its JSON, alive until
** ks_oai_req_free). */
typedef struct ks_oai_req {
  int kind;
  void *json;                  /* the parsed body (jansson) */
  const char *model;
  kl_infer_params p;
  bool has_max_tokens;
  const char *prompt;          /* completion */
  size_t prompt_len;
  kl_chat_msg *msgs;           /* chat */
  size_t nmsgs;
  const char **texts;          /* embeddings */
  size_t *lens;
  size_t ntexts;
  uint32_t dimensions;         /* embeddings: asked for (0: any) */
  ku_arena *mem;               /* joined message parts, arrays */
} ks_oai_req;

/* Decodes body [s, s+n) of a request of kind; 0, or -1 with e filled
** (status 400, the field named). */
int ks_oai_parse(int kind, const uint8_t *s, size_t n, ks_oai_req *out, ks_oai_err *e);
void ks_oai_req_free(ks_oai_req *r);
/* Fills e: status, the message (printf), param and code; returns -1. */
int ks_oai_fail(ks_oai_err *e, int status, const char *param, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

#endif
