/*
** bert.c -- the bert encoder's forward pass as llama.cpp's LLM_ARCH_BERT:
** embeddings, LayerNorm, bidirectional attention, GELU, post-norms, pooling
** and L2 normalization. Not tokenization (wpm.c).
*/
#include "llm/model.h"
#include "llm/quant.h"

#include <math.h>
#include <string.h>

#include "util/util.h"

/* ggml's GELU constants (the tanh approximation). */
#define KL_GELU_A 0.044715f
#define KL_SQRT_2_OVER_PI 0.79788456080286535587989211986876f

/* The scratch of one call, all rows of n tokens. */
typedef struct kl_bert {
  const kl_model *m;
  uint32_t n;
  float *x, *xb, *q, *k, *v, *att, *hb;
  float *scores;            /* [n_head][n] */
  float *mem;
} kl_bert;

/* y = layernorm(x) * w + b over d floats (ggml_norm: mean and variance
** summed in double). */
static void kl_layernorm(float *y, const float *x, const kl_tensor *w,
                         const kl_tensor *b, uint32_t d, float eps) {
  const float *wf = kl_f32(w), *bf = kl_f32(b);
  double sum = 0.0, var = 0.0;
  float mean, scale;
  for (uint32_t i = 0; i < d; i++) sum += (double)x[i];
  mean = (float)(sum / d);
  for (uint32_t i = 0; i < d; i++) {
    float c = x[i] - mean;
    y[i] = c;
    var += (double)(c * c);
  }
  scale = 1.0f / sqrtf((float)(var / d) + eps);
  for (uint32_t i = 0; i < d; i++) y[i] = (y[i] * scale) * wf[i] + bf[i];
}

/* y = w * x + b for the n rows (a matrix product, then the bias). */
static void kl_affine(kl_pool *p, const kl_tensor *w, const kl_tensor *b,
                      const float *x, uint32_t n, float *y) {
  const float *bf = kl_f32(b);
  uint64_t rows = w->ne[1];
  if (n == 1) kl_matvec(p, w, x, y);
  else kl_matmul(p, w, x, n, y);
  for (uint32_t t = 0; t < n; t++)
    for (uint64_t i = 0; i < rows; i++) y[t * rows + i] += bf[i];
}

/* The dot product of n floats in eight lanes (vectorized, not
** reassociated). */
static float kl_bdot(const float *a, const float *b, uint32_t n) {
  float acc[8] = { 0 };
  float sum = 0.0f;
  uint32_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int k = 0; k < 8; k++) acc[k] += a[i + k] * b[i + k];
  for (; i < n; i++) acc[0] += a[i] * b[i];
  for (int k = 0; k < 8; k++) sum += acc[k];
  return sum;
}

/* Head h of token t attends to every token (no mask). */
static void kl_battn_one(const kl_bert *c, uint32_t h, uint32_t t) {
  const kl_model *m = c->m;
  uint32_t hd = m->head_dim, d = m->n_embd;
  const float *q = c->q + (size_t)t * d + (size_t)h * hd;
  float *sc = c->scores + (size_t)h * c->n;
  float *out = c->att + (size_t)t * d + (size_t)h * hd;
  float scale = 1.0f / sqrtf((float)hd), mx = -INFINITY;
  double sum = 0.0;
  for (uint32_t j = 0; j < c->n; j++) {
    sc[j] = kl_bdot(q, c->k + (size_t)j * d + (size_t)h * hd, hd) * scale;
    if (sc[j] > mx) mx = sc[j];
  }
  for (uint32_t j = 0; j < c->n; j++) {
    sc[j] = expf(sc[j] - mx);
    sum += sc[j];
  }
  memset(out, 0, hd * sizeof *out);
  for (uint32_t j = 0; j < c->n; j++) {
    const float *v = c->v + (size_t)j * d + (size_t)h * hd;
    float w = (float)(sc[j] / sum);
    for (uint32_t i = 0; i < hd; i++) out[i] += w * v[i];
  }
}

/* The pool's share i of n: heads i, i + n, ... for every token. */
static void kl_battn_job(void *arg, int i, int n) {
  const kl_bert *c = arg;
  for (uint32_t h = (uint32_t)i; h < c->m->n_head; h += (uint32_t)n)
    for (uint32_t t = 0; t < c->n; t++) kl_battn_one(c, h, t);
}

/* ggml's GELU as its CPU kernel computes it (GGML_GELU_FP16): the input
** rounded to f16, the tanh form in float, the result rounded to f16 (its
** table's entry); 0 below -10 and x above 10. */
static float kl_gelu(float x) {
  float h;
  if (x <= -10.0f) return 0.0f;
  if (x >= 10.0f) return x;
  h = kl_f16_to_f32(kl_f32_to_f16(x));
  h = 0.5f * h *
      (1.0f + tanhf(KL_SQRT_2_OVER_PI * h * (1.0f + KL_GELU_A * h * h)));
  return kl_f16_to_f32(kl_f32_to_f16(h));
}

/* One encoder block: attention, residual, post-norm; GELU feed-forward,
** residual, post-norm. */
static void kl_bert_layer(kl_bert *c, kl_pool *p, const kl_layer *ly) {
  const kl_model *m = c->m;
  uint32_t d = m->n_embd, n = c->n;
  size_t nd = (size_t)n * d, nf = (size_t)n * m->n_ff;
  kl_affine(p, ly->wq, ly->bq, c->x, n, c->q);
  kl_affine(p, ly->wk, ly->bk, c->x, n, c->k);
  kl_affine(p, ly->wv, ly->bv, c->x, n, c->v);
  kl_pool_run(p, kl_battn_job, c);
  kl_affine(p, ly->wo, ly->bo, c->att, n, c->xb);
  for (size_t i = 0; i < nd; i++) c->xb[i] += c->x[i];
  for (uint32_t t = 0; t < n; t++)
    kl_layernorm(c->x + (size_t)t * d, c->xb + (size_t)t * d,
                 ly->attn_out_norm, ly->attn_out_norm_b, d, m->eps);
  kl_affine(p, ly->up, ly->up_b, c->x, n, c->hb);
  for (size_t i = 0; i < nf; i++) c->hb[i] = kl_gelu(c->hb[i]);
  kl_affine(p, ly->down, ly->down_b, c->hb, n, c->xb);
  for (size_t i = 0; i < nd; i++) c->xb[i] += c->x[i];
  for (uint32_t t = 0; t < n; t++)
    kl_layernorm(c->x + (size_t)t * d, c->xb + (size_t)t * d,
                 ly->out_norm, ly->out_norm_b, d, m->eps);
}

/* The input rows: token + position + token type 0 embeddings, then the
** embedding LayerNorm. */
static void kl_bert_input(kl_bert *c, const int32_t *tok) {
  const kl_model *m = c->m;
  uint32_t d = m->n_embd;
  float *type0 = c->hb;   /* free until the first feed-forward */
  if (m->type_embd) kl_get_row(m->type_embd, 0, type0);
  for (uint32_t t = 0; t < c->n; t++) {
    float *row = c->xb + (size_t)t * d;
    kl_get_row(m->tok_embd, (uint64_t)tok[t], row);
    if (m->type_embd)
      for (uint32_t i = 0; i < d; i++) row[i] += type0[i];
    kl_get_row(m->pos_embd, t, c->q);
    for (uint32_t i = 0; i < d; i++) row[i] = c->q[i] + row[i];
    kl_layernorm(c->x + (size_t)t * d, row, m->tok_norm, m->tok_norm_b, d,
                 m->eps);
  }
}

/* Pools the final rows into out (mean, or the first token's for CLS
** pooling) and scales it to unit length (llama.cpp's embd_normalize 2). */
static void kl_bert_pool(const kl_bert *c, float *out) {
  uint32_t d = c->m->n_embd;
  double norm = 0.0;
  if (c->m->pooling == KL_POOL_CLS) {
    memcpy(out, c->x, d * sizeof *out);
  } else {
    for (uint32_t i = 0; i < d; i++) {
      double sum = 0.0;
      for (uint32_t t = 0; t < c->n; t++) sum += c->x[(size_t)t * d + i];
      out[i] = (float)(sum / c->n);
    }
  }
  for (uint32_t i = 0; i < d; i++) norm += (double)out[i] * out[i];
  norm = sqrt(norm);
  for (uint32_t i = 0; i < d; i++)
    out[i] = norm > 0.0 ? (float)(out[i] / norm) : 0.0f;
}

/* The embedding of n tokens (see llm_internal.h). */
int kl_bert_embed(const kl_model *m, kl_pool *p, const int32_t *tok,
                  size_t n, float *out, char *err, size_t cap) {
  kl_bert c = { .m = m, .n = (uint32_t)n };
  size_t d = m->n_embd, ff = m->n_ff;
  float *at;
  if (m->arch != KL_ARCH_BERT) {
    ku_fmt(err, cap, "%s: not an embedding model", m->path);
    return KL_E_MODEL;
  }
  if (n == 0 || n > m->n_ctx) {
    ku_fmt(err, cap, "%zu tokens: the model takes 1..%u", n, m->n_ctx);
    return KL_E_INPUT;
  }
  for (size_t i = 0; i < n; i++)
    if (tok[i] < 0 || (uint32_t)tok[i] >= m->n_vocab) {
      ku_fmt(err, cap, "token %d (at %zu) is outside the vocabulary of %u",
             tok[i], i, m->n_vocab);
      return KL_E_INPUT;
    }
  c.mem = ku_malloc((n * (6 * d + (ff > d ? ff : d)) +
                     (size_t)m->n_head * n) * sizeof(float));
  if (!c.mem) {
    ku_fmt(err, cap, "out of memory for %zu tokens' scratch", n);
    return KL_E_NOMEM;
  }
  at = c.mem;
  c.x = at; at += n * d;
  c.xb = at; at += n * d;
  c.q = at; at += n * d;
  c.k = at; at += n * d;
  c.v = at; at += n * d;
  c.att = at; at += n * d;
  c.hb = at; at += n * (ff > d ? ff : d);
  c.scores = at;
  kl_bert_input(&c, tok);
  for (uint32_t l = 0; l < m->n_layer; l++) kl_bert_layer(&c, p, &m->layers[l]);
  kl_bert_pool(&c, out);
  ku_free(c.mem);
  return KL_OK;
}
