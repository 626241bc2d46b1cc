/*
** rjson.c -- the JSON of the remote backend (jansson): request bodies in
** OpenAI's shape with llama.cpp's and ollama's sampling fields, and the
** replies read back, every field checked. No sockets (rhttp.c).
*/
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llm/remote_internal.h"
#include "util/util.h"

/* f as the shortest decimal that reads back as the same float, so 0.8f is
** sent as 0.8 (not 0.800000011920929). */
static json_t *jfloat(float f) {
  char s[32];
  for (int prec = 6; prec <= 9; prec++) {
    snprintf(s, sizeof s, "%.*g", prec, (double)f);
    if ((float)strtod(s, NULL) == f) break;
  }
  return json_real(strtod(s, NULL));
}

/* Sets key to v in o (v's reference taken); false when v is NULL. */
static bool put(json_t *o, const char *key, json_t *v) {
  return v && json_object_set_new(o, key, v) == 0;
}

/* The sampling fields of p into o. top_k, repeat_penalty and
** repeat_last_n (llama.cpp's server and ollama read them; OpenAI's own API
** refuses unknown fields) are sent only when they change something. */
static bool params(json_t *o, const kl_infer_params *p) {
  bool ok = put(o, "max_tokens", json_integer(p->max_tokens)) && put(o, "temperature", jfloat(p->temperature)) &&
            put(o, "top_p", jfloat(p->top_p)) && put(o, "stream", json_false());
  if (ok && p->top_k) ok = put(o, "top_k", json_integer(p->top_k));
  if (ok && p->repeat_penalty != 1.0f)
    ok = put(o, "repeat_penalty", jfloat(p->repeat_penalty)) && put(o, "repeat_last_n", json_integer(p->repeat_last_n));
  if (ok && p->has_seed) ok = put(o, "seed", json_integer((json_int_t)(p->seed & (uint64_t)INT64_MAX)));
  return ok;
}

/* A request object naming the server's model; NULL when out of memory. */
static json_t *request(const kl_remote *r) {
  json_t *o = json_object();
  if (o && !put(o, "model", json_string(r->model ? r->model : ""))) { json_decref(o); return NULL; }
  return o;
}

/* o serialized (ku_malloc'ed) and released; NULL with err set. */
static char *finish(json_t *o, bool ok, size_t *n, int *rc, char *err, size_t cap) {
  char *s = NULL;
  size_t flags = JSON_COMPACT | JSON_REAL_PRECISION(9), len = ok ? json_dumpb(o, NULL, 0, flags) : 0;
  if (len && (s = ku_malloc(len + 1)) && json_dumpb(o, s, len, flags) == len) {
    s[len] = '\0';
    *n = len;
  } else if (ok) {
    ku_free(s);
    s = NULL;
  }
  json_decref(o);
  if (!s && !*rc) { *rc = KL_E_NOMEM; ku_fmt(err, cap, "out of memory building the request"); }
  return s;
}

/* A JSON string of [s, s+n), or NULL with *rc and err set when it is not
** UTF-8 (jansson takes only that). */
static json_t *text(const char *s, size_t n, const char *what, int *rc, char *err, size_t cap) {
  if (!ku_utf8_valid((const uint8_t *)s, n)) {
    *rc = KL_E_INPUT;
    ku_fmt(err, cap, "%s is not valid UTF-8", what);
    return NULL;
  }
  return json_stringn(s, n);
}

char *kl_rjson_completion(const kl_remote *r, const char *prompt, size_t len, const kl_infer_params *p,
                          size_t *n, int *rc, char *err, size_t cap) {
  json_t *o = request(r);
  *rc = KL_OK;
  bool ok = o && put(o, "prompt", text(prompt, len, "the prompt", rc, err, cap)) && params(o, p);
  return finish(o, ok, n, rc, err, cap);
}

char *kl_rjson_chat(const kl_remote *r, const kl_chat_msg *msgs, size_t nmsg, const kl_infer_params *p,
                    size_t *n, int *rc, char *err, size_t cap) {
  json_t *o = request(r), *a = json_array();
  *rc = KL_OK;
  bool ok = o && put(o, "messages", a) && params(o, p);
  for (size_t i = 0; ok && i < nmsg; i++) {
    json_t *m = json_object();
    char what[64];
    snprintf(what, sizeof what, "message %zu's content", i);
    ok = m && json_array_append_new(a, m) == 0 && put(m, "role", text(msgs[i].role, strlen(msgs[i].role),
                                                                      "a role", rc, err, cap)) &&
         put(m, "content", text(msgs[i].content, msgs[i].content_len, what, rc, err, cap));
  }
  if (!o) json_decref(a);
  return finish(o, ok, n, rc, err, cap);
}

char *kl_rjson_embeddings(const kl_remote *r, const char *const *texts, const size_t *lens, size_t ntext,
                          size_t *n, int *rc, char *err, size_t cap) {
  json_t *o = request(r), *a = json_array();
  *rc = KL_OK;
  bool ok = o && put(o, "input", a) && put(o, "encoding_format", json_string("float"));
  for (size_t i = 0; ok && i < ntext; i++) {
    char what[32];
    snprintf(what, sizeof what, "text %zu", i);
    ok = json_array_append_new(a, text(texts[i], lens[i], what, rc, err, cap)) == 0;
  }
  if (!o) json_decref(a);
  return finish(o, ok, n, rc, err, cap);
}

/* The shape a reply may have: the generation's limits, plus ntext rows
** of an embeddings reply (each an object and an array of at most
** KL_REMOTE_DIM_MAX numbers, three keys and their values). */
static ku_json_shape reply_shape(size_t ntext) {
  return (ku_json_shape){ KL_REPLY_VALUES_MAX + ntext * (KL_REMOTE_DIM_MAX + 8u), KL_REPLY_VALUES_MAX + 2 * ntext,
                          KL_REPLY_DEPTH_MAX };
}

/* Whether [s, s+n) fits max (checked before jansson parses it: ~250
** bytes per "{}"); false with err naming the limit. */
static bool fits(const uint8_t *s, size_t n, const ku_json_shape *max, char *err, size_t cap) {
  ku_json_shape got;
  if (ku_json_shape_of(s, n, max, &got) == 0) return true;
  if (got.depth > max->depth) ku_fmt(err, cap, "the reply nests deeper than %zu levels", max->depth);
  else if (got.containers > max->containers)
    ku_fmt(err, cap, "the reply holds more than %zu objects and arrays; krait reads at most that many", max->containers);
  else ku_fmt(err, cap, "the reply holds more than %zu JSON values; krait reads at most that many", max->values);
  return false;
}

/* The reply's JSON object (its shape within max), or NULL with err set. */
static json_t *load(const uint8_t *s, size_t n, const ku_json_shape *max, char *err, size_t cap) {
  json_error_t je;
  if (!fits(s, n, max, err, cap)) return NULL;
  json_t *v = json_loadb((const char *)s, n, 0, &je);
  if (!v) { ku_fmt(err, cap, "the reply is not JSON: %s at byte %d", je.text, je.position); return NULL; }
  if (!json_is_object(v)) { ku_fmt(err, cap, "the reply is not a JSON object"); json_decref(v); return NULL; }
  return v;
}

/* usage.<key> of o as a token count (0 when absent). */
static uint32_t usage(json_t *o, const char *key) {
  json_t *u = json_object_get(o, "usage"), *v = json_object_get(u, key);
  json_int_t x = json_is_integer(v) ? json_integer_value(v) : 0;
  return x < 0 ? 0 : x > UINT32_MAX ? UINT32_MAX : (uint32_t)x;
}

/* The generated text of a completion (choices[0].text) or a chat reply
** (choices[0].message.content; null is empty), or NULL with err set. */
static json_t *choice_text(int kind, json_t *o, json_t **choice, char *err, size_t cap) {
  json_t *ch = json_array_get(json_object_get(o, "choices"), 0);
  json_t *t = kind == KL_RJ_CHAT ? json_object_get(json_object_get(ch, "message"), "content")
                                 : json_object_get(ch, "text");
  *choice = ch;
  if (!json_is_object(ch)) ku_fmt(err, cap, "the reply has no choices[0] object");
  else if (kind == KL_RJ_CHAT && json_is_null(t)) return t;
  else if (!json_is_string(t))
    ku_fmt(err, cap, "the reply's %s is not a string", kind == KL_RJ_CHAT ? "choices[0].message.content" : "choices[0].text");
  else return t;
  return NULL;
}

int kl_rjson_infer(int kind, const uint8_t *s, size_t n, kl_infer_result *out, char *err, size_t cap) {
  memset(out, 0, sizeof *out);
  ku_json_shape max = reply_shape(0);
  json_t *o = load(s, n, &max, err, cap), *ch = NULL, *t = o ? choice_text(kind, o, &ch, err, cap) : NULL;
  if (!t) { json_decref(o); return KL_E_MODEL; }
  size_t len = json_is_string(t) ? json_string_length(t) : 0;
  out->text = ku_malloc(len + 1);
  if (!out->text) { json_decref(o); ku_fmt(err, cap, "out of memory"); return KL_E_NOMEM; }
  if (len) memcpy(out->text, json_string_value(t), len);
  out->text[len] = '\0';
  out->text_len = len;
  const char *fin = json_string_value(json_object_get(ch, "finish_reason"));
  out->finish = fin && !strcmp(fin, "length") ? "length" : "stop";
  out->prompt_tokens = usage(o, "prompt_tokens");
  out->generated_tokens = usage(o, "completion_tokens");
  json_decref(o);
  return KL_OK;
}

/* Row i of the embeddings (data[k] whose index is i, else data[i]) into
** row (dim floats; *dim set by the first); false with err set. */
static bool embed_row(json_t *data, size_t i, float *row, uint32_t dim, char *err, size_t cap) {
  json_t *item = NULL, *v;
  size_t k;
  json_array_foreach(data, k, v) {
    json_t *ix = json_object_get(v, "index");
    if (json_is_integer(ix) && json_integer_value(ix) == (json_int_t)i) { item = v; break; }
  }
  if (!item) item = json_array_get(data, i);
  json_t *e = json_object_get(item, "embedding");
  if (!json_is_array(e) || json_array_size(e) != dim) {
    ku_fmt(err, cap, "the reply's embedding %zu is not an array of %u numbers", i, dim);
    return false;
  }
  json_array_foreach(e, k, v) {
    float x = json_is_number(v) ? (float)json_number_value(v) : 0;
    if (!json_is_number(v)) { ku_fmt(err, cap, "the reply's embedding %zu holds a value that is not a number", i); return false; }
    if (!isfinite(x)) {
      ku_fmt(err, cap, "the reply's embedding %zu holds %g at %zu, which a float cannot hold", i, json_number_value(v), k);
      return false;
    }
    row[k] = x;
  }
  return true;
}

/* The width of the first embedding of data, or 0 with err set. */
static uint32_t embed_dim(json_t *data, size_t ntext, char *err, size_t cap) {
  if (!json_is_array(data) || json_array_size(data) != ntext) {
    ku_fmt(err, cap, "the reply's data is not an array of %zu embeddings", ntext);
    return 0;
  }
  size_t dim = json_array_size(json_object_get(json_array_get(data, 0), "embedding"));
  if (ntext && (dim == 0 || dim > KL_REMOTE_DIM_MAX)) {
    ku_fmt(err, cap, "the reply's first embedding has %zu numbers; krait takes 1 to %u", dim, KL_REMOTE_DIM_MAX);
    return 0;
  }
  return (uint32_t)dim;
}

int kl_rjson_embed(const uint8_t *s, size_t n, size_t ntext, float **out, uint32_t *dim, uint32_t *prompt_tokens,
                   char *err, size_t cap) {
  *out = NULL;
  *dim = 0;
  ku_json_shape max = reply_shape(ntext);
  json_t *o = load(s, n, &max, err, cap), *data = json_object_get(o, "data");
  uint32_t d = o ? embed_dim(data, ntext, err, cap) : 0;
  if (!o || (ntext && !d)) { json_decref(o); return KL_E_MODEL; }
  if ((uint64_t)ntext * d > n / 2) {   /* each number takes 2 bytes or more */
    ku_fmt(err, cap, "the reply is too short for %zu embeddings of %u numbers", ntext, d);
    json_decref(o);
    return KL_E_MODEL;
  }
  float *v = ku_malloc(ntext * d * sizeof *v + 1);
  if (!v) { json_decref(o); ku_fmt(err, cap, "out of memory"); return KL_E_NOMEM; }
  for (size_t i = 0; i < ntext; i++)
    if (!embed_row(data, i, v + i * d, d, err, cap)) { ku_free(v); json_decref(o); return KL_E_MODEL; }
  *prompt_tokens = usage(o, "prompt_tokens");
  *out = v;
  *dim = d;
  json_decref(o);
  return KL_OK;
}

/* The server's message: error.message, a string error, or detail (FastAPI
** servers), cut at 300 bytes (a character boundary) with control bytes
** dropped; "" when none. */
static void server_message(const uint8_t *s, size_t n, char *msg, size_t cap) {
  ku_json_shape max = reply_shape(0), got;
  bool ok = ku_json_shape_of(s, n, &max, &got) == 0;
  json_t *o = ok ? json_loadb((const char *)s, n, 0, NULL) : NULL, *e = json_object_get(o, "error");
  const char *m = json_string_value(json_object_get(e, "message"));
  if (!m) m = json_string_value(e);
  if (!m) m = json_string_value(json_object_get(o, "detail"));
  size_t k = 0, most = m ? (size_t)ku_utf8_cut(m, strlen(m), cap - 1 < 300 ? cap - 1 : 300) : 0;
  for (size_t i = 0; i < most; i++)
    if ((unsigned char)m[i] >= 0x20 && m[i] != 0x7f) msg[k++] = m[i];
  msg[k] = '\0';
  json_decref(o);
}

int kl_rjson_error(int status, const uint8_t *s, size_t n, char *err, size_t cap) {
  char msg[320];
  server_message(s, n, msg, sizeof msg);
  if (msg[0]) ku_fmt(err, cap, "the server answered %d: %s", status, msg);
  else ku_fmt(err, cap, "the server answered %d %s", status, kh_reason(status));
  if (status == 400 || status == 413 || status == 422) return KL_E_INPUT;
  if (status == 429 || status == 503) return KL_E_BUSY;
  return KL_E_MODEL;
}
