/*
** llm.h -- the local inference engine (prefix kl_) as the rest of krait sees
** it: an engine with its threads and queue, shared models, text generation
** and embeddings. Not the bindings' payloads (src/app) nor the HTTP API.
*/
#ifndef KL_LLM_H
#define KL_LLM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KL_ERR_SIZE 512          /* a message's buffer */
/* The most bytes of one prompt, one chat message's content or one text to
** embed, and of a chat's messages together: the llm binding (src/app) and
** krait serve's /v1 API take no more. */
#define KL_PROMPT_MAX (1u << 20)

/* What a call returns: 0, or one of these (negative). Each names a
** distinct failure the guest sees as a distinct exception. */
enum {
  KL_OK = 0,
  KL_E_INPUT = -1,     /* the request is invalid (prompt too long, bad
                          parameter, max_tokens past the context...) */
  KL_E_MODEL = -2,     /* the model file is unusable, or cannot do this
                          (embeddings from a decoder-only model...) */
  KL_E_BUSY = -3,      /* the queue is full: HTTP 503 */
  KL_E_TIMEOUT = -4,   /* the deadline passed before anything could run */
  KL_E_NOMEM = -5      /* out of memory (a KV cache, scratch) */
};

/* The engine's settings ([llm] in krait.toml; CLI flags). */
typedef struct kl_engine_cfg {
  int threads;          /* matrix-vector worker threads (>= 1) */
  int max_concurrent;   /* requests generating at once (>= 1) */
  int max_queued;       /* requests waiting for a slot; more get KL_E_BUSY */
  uint32_t context;     /* the longest context a model gets (llama.cpp's
                           n_ctx): a model trained longer is capped, so no
                           request's KV cache grows past it; 0: each model's own */
} kl_engine_cfg;

#define KL_THREADS_DEFAULT 0        /* 0: the number of online CPUs */
#define KL_CONCURRENT_DEFAULT 2
#define KL_QUEUED_DEFAULT 16
#define KL_CONTEXT_DEFAULT 4096   /* [llm] context: f32 KV cache of a 7B llama 2 at it: 4 GiB */

typedef struct kl_engine kl_engine;
typedef struct kl_model kl_model;

/* A new engine (its thread pool started), or NULL with err set. */
kl_engine *kl_engine_new(const kl_engine_cfg *cfg, char *err, size_t cap);
/* Stops the pool and closes every model; no call may be running. */
void kl_engine_free(kl_engine *e);

/* The model in the GGUF file at path, opened (mmap'd, checked) on first use
** and shared by every later caller and app; NULL with err set (naming the
** file and what is wrong in it). The engine owns it. */
kl_model *kl_engine_model(kl_engine *e, const char *path, char *err, size_t cap);

/* What kind of model this is. */
bool kl_model_generates(const kl_model *m);   /* a decoder (llama...) */
bool kl_model_embeds(const kl_model *m);      /* an encoder (bert...) */
uint32_t kl_model_ctx(const kl_model *m);     /* its context length */
uint32_t kl_model_dim(const kl_model *m);     /* its embedding width */

/* Sampling and length, as Spin's InferencingParams. temperature 0 is greedy
** (argmax); repeat_penalty 1 turns the penalty off; top_k 0 and top_p 1
** keep every token. */
typedef struct kl_infer_params {
  uint32_t max_tokens;
  float temperature;
  float top_p;
  float repeat_penalty;
  uint32_t top_k;
  uint32_t repeat_last_n;
  uint64_t seed;        /* used when has_seed; else a random one */
  bool has_seed;
} kl_infer_params;

/* Spin's defaults (spin_sdk.llm.InferencingParams). */
#define KL_PARAMS_DEFAULT \
  { 100, 0.8f, 0.9f, 1.1f, 40, 64, 0, false }

/* What a generation gives back: text is ku_malloc'ed, valid UTF-8 (an
** incomplete or invalid byte sequence at a piece boundary becomes U+FFFD),
** NUL-terminated; release it with kl_result_free. */
typedef struct kl_infer_result {
  char *text;
  size_t text_len;
  uint32_t prompt_tokens;
  uint32_t generated_tokens;
  const char *finish;   /* "stop" (end of sequence), "length" (max_tokens
                           or the context), "deadline" */
} kl_infer_result;

/* Generates from prompt (raw text; the model's BOS and leading space are
** added as its GGUF metadata says) until end of sequence, max_tokens or
** deadline_ns (kp_monotonic_ns time; 0: none). Waits for a slot in the
** engine's queue (KL_E_BUSY when it is full). KL_OK or a KL_E_* with err
** naming what is wrong. */
int kl_infer(kl_engine *e, kl_model *m, const char *prompt, size_t len,
             const kl_infer_params *p, uint64_t deadline_ns,
             kl_infer_result *out, char *err, size_t cap);
void kl_result_free(kl_infer_result *r);

/* One chat message, for models whose GGUF names a chat template. */
typedef struct kl_chat_msg {
  const char *role;      /* "system", "user", "assistant" */
  const char *content;
  size_t content_len;
} kl_chat_msg;

/* The prompt text for msgs under the model's chat template (ku_malloc'ed,
** NUL-terminated, its length in *len), or NULL with err set. */
char *kl_chat_prompt(const kl_model *m, const kl_chat_msg *msgs, size_t n,
                     size_t *len, char *err, size_t cap);

/* A chat on the model's chat template, queued as kl_infer: the template's
** own text is tokenized with its control tokens, each message's content as
** plain text (a message cannot forge a turn). KL_OK or a KL_E_*. */
int kl_chat(kl_engine *e, kl_model *m, const kl_chat_msg *msgs, size_t n,
            const kl_infer_params *p, uint64_t deadline_ns,
            kl_infer_result *out, char *err, size_t cap);

/* Embeddings of n texts: out gets n * kl_model_dim floats (ku_malloc'ed),
** each row mean-pooled and L2-normalized; *prompt_tokens the tokens read. */
int kl_embed(kl_engine *e, kl_model *m, const char *const *texts,
             const size_t *lens, size_t n, uint64_t deadline_ns,
             float **out, uint32_t *prompt_tokens, char *err, size_t cap);

/* ---- the remote backend (remote.c) ------------------------------------ */

/* A model served by an OpenAI-compatible server ([llm.models.NAME] url =
** "http://host:port/v1", model = "...", api_key_variable = "..."): the
** operator's configuration, so the address needs no allow-list entry. */
typedef struct kl_remote {
  const char *url;       /* base URL ending in /v1 (http or https) */
  const char *model;     /* the server's model name */
  const char *api_key;   /* sent as "Authorization: Bearer"; may be NULL */
  const char *ca_file;   /* extra trust for https; may be NULL */
  int max_concurrent;    /* calls to this url and model at once in this
                            process ([llm] max_concurrent); 0: defaults
                            for this and max_queued */
  int max_queued;        /* calls waiting for one of them; more get
                            KL_E_BUSY at once ([llm] max_queued) */
} kl_remote;

/* The same three calls against a remote server (/v1/completions,
** /v1/chat/completions, /v1/embeddings), bounded by deadline_ns, each
** admitted as kl_infer is (r's max_concurrent and max_queued). The
** server's errors come back as KL_E_INPUT/KL_E_MODEL/KL_E_BUSY with its
** message; an unreachable server or a malformed reply as KL_E_MODEL. */
int kl_remote_infer(const kl_remote *r, const char *prompt, size_t len,
                    const kl_infer_params *p, uint64_t deadline_ns,
                    kl_infer_result *out, char *err, size_t cap);
int kl_remote_chat(const kl_remote *r, const kl_chat_msg *msgs, size_t n,
                   const kl_infer_params *p, uint64_t deadline_ns,
                   kl_infer_result *out, char *err, size_t cap);
int kl_remote_embed(const kl_remote *r, const char *const *texts,
                    const size_t *lens, size_t n, uint64_t deadline_ns,
                    float **out, uint32_t *dim, uint32_t *prompt_tokens,
                    char *err, size_t cap);

#endif
