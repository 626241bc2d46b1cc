/*
** llmbench.c -- `krait llm bench`: a decoder's prompt and generation speed
** (tokens/s, timed apart, as llama.cpp reports them) and an encoder's
** embeddings/s. Owns only the timing loops; the engine is src/llm's.
*/
#include <stdio.h>

#include "cli/cli.h"
#include "llm/llm_internal.h"
#include "platform/platform.h"
#include "util/util.h"

/* The index of the largest of v[0..n) (the first on a tie): greedy. */
static int32_t kc_bench_argmax(const float *v, uint32_t n) {
  uint32_t best = 0;
  for (uint32_t i = 1; i < n; i++)
    if (v[i] > v[best]) best = i;
  return (int32_t)best;
}

/* Seconds since t0 (kp_monotonic_ns). */
static double kc_bench_since(uint64_t t0) {
  return (double)(kp_monotonic_ns() - t0) / 1e9;
}

/* Feeds tok[0..n-1) in one batch (the prompt, timed), then n_gen greedy
** tokens one at a time starting from tok[n-1] (each a forward pass and an
** argmax, timed together, end-of-generation ignored), and prints JSON
** with the generated ids; the same work as tests/llm/llamacpp.mjs's
** "bench" op. */
int kc_llm_bench_decoder(const kl_model *m, kl_pool *p, const int32_t *tok,
                         size_t n, uint32_t n_gen) {
  char err[KL_ERR_SIZE] = "out of memory";
  uint32_t nv = kl_vocab_size(kl_model_vocab(m));
  float *logits = ku_malloc((size_t)nv * sizeof(float));
  int32_t *gen = NULL;
  kl_seq *s = NULL;
  double tp = 0, tg = 0;
  int32_t next = tok[n - 1];
  int rc = KL_E_NOMEM;
  uint64_t t0;
  if (n + n_gen > kl_model_ctx(m))
    ku_fmt(err, sizeof err, "%zu prompt + %u generated tokens: the model's "
           "context is %u", n, n_gen, kl_model_ctx(m));
  else if (logits && (gen = ku_malloc(((size_t)n_gen + 1) * sizeof *gen)))
    s = kl_seq_new(m, (uint32_t)(n + n_gen), err, sizeof err);
  if (s) {
    t0 = kp_monotonic_ns();
    rc = n > 1 ? kl_seq_eval(s, p, tok, n - 1, logits, err, sizeof err)
               : KL_OK;
    tp = kc_bench_since(t0);
    t0 = kp_monotonic_ns();
    for (uint32_t i = 0; i < n_gen && rc == KL_OK; i++) {
      rc = kl_seq_eval(s, p, &next, 1, logits, err, sizeof err);
      gen[i] = next = kc_bench_argmax(logits, nv);
    }
    tg = kc_bench_since(t0);
  }
  if (rc == KL_OK) {
    printf("{\"prompt_tokens\":%zu,\"prompt_seconds\":%.6f,\"prompt_tps\":%.3f,"
           "\"gen_tokens\":%u,\"gen_seconds\":%.6f,\"gen_tps\":%.3f,"
           "\"threads\":%d,\"tokens\":[", n - 1, tp,
           tp > 0 ? (double)(n - 1) / tp : 0, n_gen, tg,
           tg > 0 ? n_gen / tg : 0, kl_pool_size(p));
    for (uint32_t i = 0; i < n_gen; i++) printf("%s%d", i ? "," : "", gen[i]);
    fputs("]}\n", stdout);
  } else {
    fprintf(stderr, "krait llm: bench: %s\n", err);
  }
  ku_free(gen);
  kl_seq_free(s);
  ku_free(logits);
  return rc == KL_OK ? KC_EXIT_OK : KC_EXIT_ERROR;
}

/* Embeds the n texts rounds times (tokenizing each time, as a request
** does) and prints embeddings/s and prompt tokens/s as JSON. */
int kc_llm_bench_encoder(const kl_model *m, kl_pool *p,
                         const char *const *texts, const size_t *lens,
                         size_t n, uint32_t rounds) {
  char err[KL_ERR_SIZE] = "out of memory";
  float *out = ku_malloc(n * kl_model_dim(m) * sizeof(float));
  uint64_t tokens = 0, t0 = kp_monotonic_ns();
  uint32_t used = 0;
  int rc = out ? KL_OK : KL_E_NOMEM;
  double secs;
  for (uint32_t r = 0; r < rounds && rc == KL_OK; r++) {
    rc = kl_embed_texts(m, p, texts, lens, n, 0, out, &used, err, sizeof err);
    tokens += used;
  }
  secs = kc_bench_since(t0);
  if (rc == KL_OK)
    printf("{\"embeddings\":%zu,\"tokens\":%llu,\"seconds\":%.6f,"
           "\"embed_per_s\":%.3f,\"tokens_per_s\":%.3f,\"threads\":%d}\n",
           n * rounds, (unsigned long long)tokens, secs,
           secs > 0 ? (double)(n * rounds) / secs : 0,
           secs > 0 ? (double)tokens / secs : 0, kl_pool_size(p));
  else
    fprintf(stderr, "krait llm: bench: %s\n", err);
  ku_free(out);
  return rc == KL_OK ? KC_EXIT_OK : KC_EXIT_ERROR;
}
