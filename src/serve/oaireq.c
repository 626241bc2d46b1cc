/*
** oaireq.c -- the JSON bodies of krait serve's /v1 API decoded (jansson)
** and every field checked, with OpenAI's defaults; refusals name the field.
** Pure: no engine, so tests/fuzz/fuzz_remote.c drives it. Not answering.
*/
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "serve/openai.h"
#include "util/util.h"

int ks_oai_fail(ks_oai_err *e, int status, const char *param, const char *code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  ku_vfmt(e->message, sizeof e->message, fmt, ap);
  va_end(ap);
  e->status = status;
  e->type = status == 401 ? "authentication_error" : status >= 500 ? "server_error" : "invalid_request_error";
  e->param = param;
  e->code = code;
  return -1;
}

/* o's member key, NULL when absent or null. */
static json_t *field(json_t *o, const char *key) {
  json_t *v = json_object_get(o, key);
  return json_is_null(v) ? NULL : v;
}

/* An optional number in [lo, hi] into *out; -1 with e when wrong. */
static int number(json_t *o, const char *key, double lo, double hi, float *out, ks_oai_err *e) {
  json_t *v = field(o, key);
  if (!v) return 0;
  double x = json_number_value(v);
  if (!json_is_number(v) || !isfinite(x) || x < lo || x > hi)
    return ks_oai_fail(e, 400, key, NULL, "%s must be a number from %g to %g", key, lo, hi);
  *out = (float)x;
  return 0;
}

/* An optional integer in [lo, hi] into *out (set *has); -1 with e. */
static int integer(json_t *o, const char *key, json_int_t lo, json_int_t hi, json_int_t *out, bool *has,
                   ks_oai_err *e) {
  json_t *v = field(o, key);
  if (!v) return 0;
  if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
    return ks_oai_fail(e, 400, key, NULL, "%s must be an integer from %lld to %lld", key, (long long)lo,
                       (long long)hi);
  *out = json_integer_value(v);
  if (has) *has = true;
  return 0;
}

/* Fields krait does not do, refused unless at their neutral value. */
static int unsupported(json_t *o, ks_oai_err *e) {
  json_t *v;
  if ((v = field(o, "stream")) && !json_is_false(v))
    return ks_oai_fail(e, 400, "stream", "unsupported_value",
                       "streaming (\"stream\": true) is not supported by krait serve; send \"stream\": false");
  if ((v = field(o, "n")) && !(json_is_integer(v) && json_integer_value(v) == 1))
    return ks_oai_fail(e, 400, "n", "unsupported_value", "n must be 1 (one choice per request)");
  if ((v = field(o, "stop")) && !(json_is_array(v) && !json_array_size(v)) &&
      !(json_is_string(v) && !json_string_length(v)))
    return ks_oai_fail(e, 400, "stop", "unsupported_value", "stop sequences are not supported");
  static const char *const zero[] = { "presence_penalty", "frequency_penalty" };
  for (size_t i = 0; i < KU_COUNT(zero); i++)
    if ((v = field(o, zero[i])) && !(json_is_number(v) && json_number_value(v) == 0))
      return ks_oai_fail(e, 400, zero[i], "unsupported_value", "%s is not supported (use repeat_penalty)", zero[i]);
  return 0;
}

/* The sampling fields: OpenAI's (max_tokens, temperature, top_p) with its
** defaults (1, 1), and llama.cpp's (top_k, repeat_penalty, repeat_last_n,
** seed) off unless given. */
static int sampling(json_t *o, int kind, ks_oai_req *r, ks_oai_err *e) {
  kl_infer_params *p = &r->p;
  json_int_t mt = kind == KS_OAI_CHAT ? KS_OAI_CHAT_TOKENS : KS_OAI_COMPLETION_TOKENS, k = 0, last = 64, seed = -1;
  bool has_seed = false, has_mt = false;
  *p = (kl_infer_params){ 0, 1.0f, 1.0f, 1.0f, 0, 64, 0, false };
  const char *mkey = field(o, "max_completion_tokens") ? "max_completion_tokens" : "max_tokens";
  if (unsupported(o, e) || integer(o, mkey, 1, 1 << 20, &mt, &has_mt, e) ||
      number(o, "temperature", 0, 100, &p->temperature, e) || number(o, "top_p", 0, 1, &p->top_p, e) ||
      integer(o, "top_k", 0, 1 << 20, &k, NULL, e) || number(o, "repeat_penalty", 1e-6, 100, &p->repeat_penalty, e) ||
      integer(o, "repeat_last_n", 0, 1 << 20, &last, NULL, e) || integer(o, "seed", -1, INT64_MAX, &seed, &has_seed, e))
    return -1;
  r->has_max_tokens = has_mt;
  p->max_tokens = (uint32_t)mt;
  p->top_k = (uint32_t)k;
  p->repeat_last_n = (uint32_t)last;
  p->has_seed = has_seed && seed >= 0;
  p->seed = p->has_seed ? (uint64_t)seed : 0;
  return 0;
}

/* The prompt: a string, or an array of one string. */
static int prompt(json_t *o, ks_oai_req *r, ks_oai_err *e) {
  json_t *v = json_object_get(o, "prompt");
  if (json_is_array(v) && json_array_size(v) == 1) v = json_array_get(v, 0);
  if (!json_is_string(v))
    return ks_oai_fail(e, 400, "prompt", NULL, "prompt must be a string (or an array of one string)");
  r->prompt = json_string_value(v);
  r->prompt_len = json_string_length(v);
  if (r->prompt_len > KL_PROMPT_MAX)
    return ks_oai_fail(e, 400, "prompt", NULL, "prompt is %zu bytes; krait takes at most %u", r->prompt_len,
                       KL_PROMPT_MAX);
  return 0;
}

/* A message's content: a string, null, or text parts (joined into the
** request's arena); -1 with e. */
static int content(json_t *c, size_t i, kl_chat_msg *m, ku_arena *a, ks_oai_err *e) {
  size_t k, n = 0;
  json_t *part;
  if (!c || json_is_null(c)) { m->content = ""; return 0; }
  if (json_is_string(c)) n = json_string_length(c);
  else if (!json_is_array(c)) goto bad;
  else json_array_foreach(c, k, part) {
    json_t *t = json_object_get(part, "text");
    const char *type = json_string_value(json_object_get(part, "type"));
    if (!type || strcmp(type, "text") || !json_is_string(t)) goto bad;
    n += json_string_length(t);
  }
  if (n > KL_PROMPT_MAX)
    return ks_oai_fail(e, 400, "messages", NULL, "messages[%zu].content is %zu bytes; krait takes at most %u", i, n,
                       KL_PROMPT_MAX);
  if (json_is_string(c)) { m->content = json_string_value(c); m->content_len = n; return 0; }
  char *s = ku_arena_alloc(a, n + 1);
  if (!s) return ks_oai_fail(e, 500, NULL, NULL, "out of memory");
  m->content = s;
  m->content_len = n;
  json_array_foreach(c, k, part) {
    json_t *t = json_object_get(part, "text");
    memcpy(s, json_string_value(t), json_string_length(t));
    s += json_string_length(t);
  }
  return 0;
bad:
  return ks_oai_fail(e, 400, "messages", NULL,
                     "messages[%zu].content must be a string or an array of {\"type\": \"text\", \"text\": ...} parts", i);
}

/* The messages: 1 to KS_OAI_MESSAGES_MAX of {role, content}. */
static int messages(json_t *o, ks_oai_req *r, ku_arena *a, ks_oai_err *e) {
  json_t *v = json_object_get(o, "messages"), *m;
  size_t i, total = 0;
  if (!json_is_array(v) || !json_array_size(v) || json_array_size(v) > KS_OAI_MESSAGES_MAX)
    return ks_oai_fail(e, 400, "messages", NULL, "messages must be an array of 1 to %u messages", KS_OAI_MESSAGES_MAX);
  r->msgs = ku_arena_alloc(a, json_array_size(v) * sizeof *r->msgs);
  if (!r->msgs) return ks_oai_fail(e, 500, NULL, NULL, "out of memory");
  json_array_foreach(v, i, m) {
    const char *role = json_string_value(json_object_get(m, "role"));
    if (!json_is_object(m) || !role || (strcmp(role, "system") && strcmp(role, "user") && strcmp(role, "assistant")))
      return ks_oai_fail(e, 400, "messages", NULL, "messages[%zu] must be an object whose role is \"system\", "
                         "\"user\" or \"assistant\"", i);
    r->msgs[i].role = role;
    if (content(json_object_get(m, "content"), i, &r->msgs[i], a, e)) return -1;
    if ((total += r->msgs[i].content_len) > KL_PROMPT_MAX)
      return ks_oai_fail(e, 400, "messages", NULL, "the messages' contents come to more than %u bytes (at "
                         "messages[%zu]); krait takes at most that in one chat", KL_PROMPT_MAX, i);
    r->nmsgs++;
  }
  return 0;
}

/* The embeddings' input: a string or 1 to KS_OAI_TEXTS_MAX strings. */
static int input(json_t *o, ks_oai_req *r, ku_arena *a, ks_oai_err *e) {
  json_t *v = json_object_get(o, "input"), *t;
  const char *fmt = json_string_value(field(o, "encoding_format"));
  size_t i, n = json_is_string(v) ? 1 : json_array_size(v);
  if (field(o, "encoding_format") && (!fmt || strcmp(fmt, "float")))
    return ks_oai_fail(e, 400, "encoding_format", "unsupported_value", "encoding_format must be \"float\"");
  if (!n || n > KS_OAI_TEXTS_MAX)
    return ks_oai_fail(e, 400, "input", NULL, "input must be a string or an array of 1 to %u strings", KS_OAI_TEXTS_MAX);
  r->texts = ku_arena_alloc(a, n * sizeof *r->texts);
  r->lens = ku_arena_alloc(a, n * sizeof *r->lens);
  if (!r->texts || !r->lens) return ks_oai_fail(e, 500, NULL, NULL, "out of memory");
  for (i = 0; i < n; i++) {
    t = json_is_string(v) ? v : json_array_get(v, i);
    if (!json_is_string(t))
      return ks_oai_fail(e, 400, "input", NULL, "input[%zu] must be a string (token arrays are not supported)", i);
    r->texts[i] = json_string_value(t);
    r->lens[i] = json_string_length(t);
    if (r->lens[i] > KL_PROMPT_MAX)
      return ks_oai_fail(e, 400, "input", NULL, "input[%zu] is %zu bytes; krait takes at most %u", i, r->lens[i],
                         KL_PROMPT_MAX);
  }
  r->ntexts = n;
  json_int_t dims = 0;
  if (integer(o, "dimensions", 1, 1 << 20, &dims, NULL, e)) return -1;
  r->dimensions = (uint32_t)dims;
  return 0;
}

/* Whether the body's JSON is within KS_OAI_VALUES_MAX values and
** KS_OAI_DEPTH_MAX levels, counted before jansson parses it (16 MB of
** "[{},{},...]" would take it ~1.3 GB); -1 with e (400) when not. */
static int shape(const uint8_t *s, size_t n, ks_oai_err *e) {
  const ku_json_shape max = { KS_OAI_VALUES_MAX, KS_OAI_VALUES_MAX, KS_OAI_DEPTH_MAX };
  ku_json_shape got;
  if (ku_json_shape_of(s, n, &max, &got) == 0) return 0;
  if (got.depth > max.depth)
    return ks_oai_fail(e, 400, NULL, NULL, "the body nests deeper than %u levels; krait's /v1 takes at most that",
                       KS_OAI_DEPTH_MAX);
  return ks_oai_fail(e, 400, NULL, NULL, "the body holds more than %u JSON values; krait's /v1 takes at most that "
                     "many in one request", KS_OAI_VALUES_MAX);
}

int ks_oai_parse(int kind, const uint8_t *s, size_t n, ks_oai_req *out, ks_oai_err *e) {
  json_error_t je;
  memset(out, 0, sizeof *out);
  out->kind = kind;
  if (shape(s, n, e)) return -1;
  ku_arena *mem = ku_calloc(1, sizeof *mem);
  json_t *o = mem ? json_loadb((const char *)s, n, JSON_REJECT_DUPLICATES, &je) : NULL;
  out->json = o;
  out->mem = mem;
  if (!mem) return ks_oai_fail(e, 500, NULL, NULL, "out of memory");
  if (!o) return ks_oai_fail(e, 400, NULL, NULL, "the body is not JSON: %s (at byte %d)", je.text, je.position);
  if (!json_is_object(o)) return ks_oai_fail(e, 400, NULL, NULL, "the body must be a JSON object");
  out->model = json_string_value(json_object_get(o, "model"));
  if (!out->model) return ks_oai_fail(e, 400, "model", NULL, "model must be a string naming a model (GET /v1/models lists them)");
  if (kind == KS_OAI_EMBEDDINGS) return input(o, out, mem, e);
  if (sampling(o, kind, out, e)) return -1;
  return kind == KS_OAI_CHAT ? messages(o, out, mem, e) : prompt(o, out, e);
}

void ks_oai_req_free(ks_oai_req *r) {
  if (r->mem) ku_arena_free(r->mem);
  ku_free(r->mem);
  json_decref(r->json);
  memset(r, 0, sizeof *r);
}
