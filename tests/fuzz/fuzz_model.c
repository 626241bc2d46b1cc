/*
** tests/fuzz/fuzz_model.c -- libFuzzer target: bytes -> GGUF -> model.
** Owns: parse, kl_model_from_gguf's checks (errors must name the file),
** then a short forward pass: two tokens through a decoder (a sequence of
** up to four positions, one more token after), or an encoder's embedding.
** Does not own: the GGUF reader (fuzz_gguf.c), the engine, the seeds
** (model-seeds/, written by tests/host/test_llm_model --seeds).
*/
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "llm/model.h"

static kl_pool *pool;

/* Runs tokens 0 and 1 (1 only when the vocabulary has it) through m; an
** in-range evaluation must succeed, one past the sequence must not. */
static void run(const kl_model *m) {
  char err[KL_ERR_SIZE];
  uint32_t nv = kl_vocab_size(kl_model_vocab(m)), d = kl_model_dim(m);
  int32_t tok[3] = { 0, nv > 1 ? 1 : 0, 0 };
  size_t n = kl_model_ctx(m) >= 2 ? 2 : 1;
  if (kl_model_generates(m)) {
    uint32_t ctx = kl_model_ctx(m) < 4 ? kl_model_ctx(m) : 4;
    kl_seq *s = kl_seq_new(m, ctx, err, sizeof err);
    float *logits = malloc((size_t)nv * sizeof(float));
    if (s && logits) {
      if (kl_seq_eval(s, pool, tok, n, logits, err, sizeof err) != KL_OK) abort();
      if (n < ctx && kl_seq_eval(s, pool, tok + 2, 1, logits, err, sizeof err) != KL_OK)
        abort();
      if (kl_seq_eval(s, pool, tok, ctx, logits, err, sizeof err) != KL_E_INPUT) abort();
    }
    free(logits);
    kl_seq_free(s);
  } else if (kl_model_embeds(m)) {
    float *out = malloc((size_t)d * sizeof(float));
    if (out && kl_bert_embed(m, pool, tok, n, out, err, sizeof err) != KL_OK) abort();
    free(out);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char err[KL_ERR_SIZE];
  kl_gguf *g;
  kl_model *m;
  if (!pool) pool = kl_pool_new(1);
  g = kl_gguf_parse(data, size, err, sizeof err);
  if (!g) return 0;
  m = kl_model_from_gguf(g, "fuzz.gguf", err, sizeof err);
  if (!m) {
    if (strncmp(err, "fuzz.gguf: ", 11) != 0) abort();
    return 0;
  }
  run(m);
  kl_model_free(m);
  return 0;
}
