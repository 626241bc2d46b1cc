/*
** tests/llm/tokdump.c -- krait's tokenizers behind llamacpp.mjs's JSON
** protocol, for check_tok.py: {"model", "ops": [tokenize | detokenize]} on
** stdin, {"results": [...]} on stdout. Does not own the tokenizers.
**
**   build/test/llm/tokdump < request.json > reply.json
**
** tokenize: {"text", "add_special", "parse_special"} -> {"tokens"}
** detokenize: {"tokens"} -> {"text"}: the pieces joined, the first one's
**   leading space dropped when the vocabulary adds one (llama_detokenize
**   with remove_special and unparse_special false).
*/
#include "llm/vocab_internal.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

/* One tokenize op. */
static json_t *tokenize(const kl_vocab *v, json_t *op) {
  const char *text = json_string_value(json_object_get(op, "text"));
  size_t len = json_string_length(json_object_get(op, "text"));
  bool add = json_is_true(json_object_get(op, "add_special"));
  bool parse = json_is_true(json_object_get(op, "parse_special"));
  if (!text) return json_pack("{s:s}", "error", "no text");
  size_t cap = len * 2 + 8;
  int32_t *out = malloc(cap * sizeof *out);
  int64_t n = parse ? kl_tokenize_special(v, text, len, add, out, cap)
                    : kl_tokenize(v, text, len, add, out, cap);
  json_t *r;
  if (n < 0 || (size_t)n > cap) {
    r = json_pack("{s:s}", "error", "tokenize failed");
  } else {
    json_t *a = json_array();
    for (int64_t i = 0; i < n; i++) json_array_append_new(a, json_integer(out[i]));
    r = json_pack("{s:o}", "tokens", a);
  }
  free(out);
  return r;
}

/* One detokenize op. */
static json_t *detokenize(const kl_vocab *v, json_t *op) {
  json_t *toks = json_object_get(op, "tokens");
  size_t n = json_array_size(toks), m = 0, cap = 64 * n + 16;
  char *buf = malloc(cap);
  for (size_t i = 0; i < n; i++) {
    int32_t t = (int32_t)json_integer_value(json_array_get(toks, i));
    size_t k = kl_token_piece(v, t, buf + m, cap - m);
    if (i == 0 && v->add_space_prefix && k && buf[m] == ' ') {
      memmove(buf + m, buf + m + 1, k - 1);
      k--;
    }
    m += k;
  }
  json_t *r = json_pack("{s:s%}", "text", buf, m);
  free(buf);
  return r;
}

int main(void) {
  json_error_t je;
  json_t *req = json_loadf(stdin, JSON_ALLOW_NUL, &je);
  if (!req) { fprintf(stderr, "tokdump: %s\n", je.text); return 2; }
  char err[KL_ERR_SIZE];
  kl_gguf *g = kl_gguf_open(json_string_value(json_object_get(req, "model")), err, sizeof err);
  kl_vocab *v = g ? kl_vocab_load(g, err, sizeof err) : NULL;
  if (!v) { fprintf(stderr, "tokdump: %s\n", err); return 2; }
  json_t *res = json_array();
  json_t *ops = json_object_get(req, "ops");
  for (size_t i = 0; i < json_array_size(ops); i++) {
    json_t *op = json_array_get(ops, i);
    const char *o = json_string_value(json_object_get(op, "op"));
    json_array_append_new(res, !o ? json_pack("{s:s}", "error", "no op")
                               : !strcmp(o, "tokenize") ? tokenize(v, op)
                               : !strcmp(o, "detokenize") ? detokenize(v, op)
                               : json_pack("{s:s}", "error", "unknown op"));
  }
  json_t *reply = json_pack("{s:o}", "results", res);
  json_dumpf(reply, stdout, JSON_COMPACT | JSON_ENSURE_ASCII);
  putchar('\n');
  json_decref(reply);
  json_decref(req);
  kl_vocab_free(v);
  kl_gguf_free(g);
  return 0;
}
