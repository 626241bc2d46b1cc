/*
** remote.c -- the remote backend: kl_remote_infer, kl_remote_chat and
** kl_remote_embed against an OpenAI-compatible server (llama.cpp's, ollama,
** vLLM, krait serve's /v1), each call admitted through its model's queue.
** Not the wire (rhttp.c, reply.c) nor the JSON.
*/
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "llm/queue.h"
#include "llm/remote_internal.h"
#include "platform/platform.h"
#include "util/util.h"

/* The admission queue of one remote model (url, model and limits): made
** on first use and kept for the process's life (a reload's calls may
** still hold the old one; operators configure few). */
typedef struct kl_gate {
  char *url, *model;
  int max_running, max_waiting;
  kl_queue queue;
  struct kl_gate *next;
} kl_gate;

static pthread_mutex_t kl_gates_lock = PTHREAD_MUTEX_INITIALIZER;
static kl_gate *kl_gates;

/* The queue for r's calls; NULL when out of memory. */
static kl_queue *kl_gate_of(const kl_remote *r) {
  const char *url = r->url ? r->url : "", *model = r->model ? r->model : "";
  int run = r->max_concurrent > 0 ? r->max_concurrent : KL_CONCURRENT_DEFAULT;
  int wait = r->max_concurrent > 0 ? r->max_queued : KL_QUEUED_DEFAULT;
  pthread_mutex_lock(&kl_gates_lock);
  kl_gate *g = kl_gates;
  while (g && (strcmp(g->url, url) || strcmp(g->model, model) || g->max_running != run || g->max_waiting != wait))
    g = g->next;
  if (!g && (g = ku_calloc(1, sizeof *g)) && (g->url = ku_strdup(url)) && (g->model = ku_strdup(model))) {
    g->max_running = run;
    g->max_waiting = wait;
    kl_queue_init(&g->queue, run, wait);
    g->next = kl_gates;
    kl_gates = g;
  } else if (g && !g->model) {
    ku_free(g->url);
    ku_free(g);
    g = NULL;
  }
  pthread_mutex_unlock(&kl_gates_lock);
  return g ? &g->queue : NULL;
}

/* The reply to json posted at endpoint: KL_OK with a 2xx body, else the
** server's error mapped (kl_rjson_error) or the exchange's failure. The
** call waits for a slot of r's queue first (KL_E_BUSY when it is full). */
static int post(const kl_remote *r, const char *endpoint, char *json, size_t n, size_t max_body,
                uint64_t deadline_ns, uint8_t **body, size_t *blen, char *where, size_t wcap, char *err, size_t cap) {
  int status = 0;
  uint64_t dl = deadline_ns ? deadline_ns : kp_monotonic_ns() + KL_REMOTE_WAIT_MAX_MS * 1000000ull;
  kl_queue *q = kl_gate_of(r);
  int rc = q ? kl_queue_enter(q, dl, err, cap) : KL_E_NOMEM;
  snprintf(where, wcap, "the remote model");
  if (!q) ku_fmt(err, cap, "out of memory");
  if (rc == KL_OK) {
    rc = kl_rhttp_post(r, endpoint, json, n, max_body, dl, &status, body, blen, err, cap, where, wcap);
    kl_queue_leave(q);
  }
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

/* The most bytes of a generation's reply for max_tokens. */
static size_t gen_body_max(uint32_t max_tokens) {
  uint64_t n = (uint64_t)max_tokens * KL_REPLY_TOKEN_BYTES;
  return n < KL_REPLY_GEN_MIN ? KL_REPLY_GEN_MIN : n > KL_REPLY_BODY_MAX ? KL_REPLY_BODY_MAX : (size_t)n;
}

/* Posts a generation request (json, or NULL when building it failed with
** rc) and decodes the reply of its kind into out. */
static int generate(const kl_remote *r, int kind, char *json, size_t n, int rc, const kl_infer_params *p,
                    uint64_t deadline_ns, kl_infer_result *out, char *err, size_t cap) {
  uint8_t *body = NULL;
  size_t blen = 0;
  char where[KL_WHERE_SIZE], why[KL_ERR_SIZE];
  memset(out, 0, sizeof *out);
  if (!json) return rc;
  const char *endpoint = kind == KL_RJ_CHAT ? "/chat/completions" : "/completions";
  rc = post(r, endpoint, json, n, gen_body_max(p->max_tokens), deadline_ns, &body, &blen, where, sizeof where, err,
            cap);
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
  return generate(r, KL_RJ_COMPLETION, json, n, rc, p, deadline_ns, out, err, cap);
}

int kl_remote_chat(const kl_remote *r, const kl_chat_msg *msgs, size_t nmsg, const kl_infer_params *p,
                   uint64_t deadline_ns, kl_infer_result *out, char *err, size_t cap) {
  size_t n = 0;
  int rc = KL_OK;
  char *json = kl_rjson_chat(r, msgs, nmsg, p, &n, &rc, err, cap);
  return generate(r, KL_RJ_CHAT, json, n, rc, p, deadline_ns, out, err, cap);
}

int kl_remote_embed(const kl_remote *r, const char *const *texts, const size_t *lens, size_t ntext,
                    uint64_t deadline_ns, float **out, uint32_t *dim, uint32_t *prompt_tokens, char *err,
                    size_t cap) {
  size_t n = 0, blen = 0;
  int rc = KL_OK;
  uint8_t *body = NULL;
  char where[KL_WHERE_SIZE], why[KL_ERR_SIZE];
  uint64_t most = KL_REPLY_GEN_MIN + (uint64_t)ntext * KL_REMOTE_DIM_MAX * KL_REPLY_NUMBER_BYTES;
  *out = NULL;
  *dim = *prompt_tokens = 0;
  char *json = kl_rjson_embeddings(r, texts, lens, ntext, &n, &rc, err, cap);
  if (!json) return rc;
  rc = post(r, "/embeddings", json, n, most > KL_REPLY_BODY_MAX ? KL_REPLY_BODY_MAX : (size_t)most, deadline_ns,
            &body, &blen, where, sizeof where, err, cap);
  if (rc != KL_OK) return rc;
  rc = kl_rjson_embed(body, blen, ntext, out, dim, prompt_tokens, why, sizeof why);
  if (rc != KL_OK) ku_fmt(err, cap, "%s: %s", where, why);
  ku_free(body);
  return rc;
}
