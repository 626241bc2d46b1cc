/*
** llama.c -- the llama-architecture decoder's forward pass: a sequence's KV
** cache and scratch, RMSNorm, RoPE, grouped-query attention and SwiGLU, as
** llama.cpp's LLM_ARCH_LLAMA graph computes them. Not sampling (sample.c).
*/
#include "llm/model.h"

#include <math.h>
#include <string.h>

#include "util/util.h"

/* Prompt tokens fed through one kl_matmul (the scratch holds this many
** rows): large enough for the kernels to reuse each weight row. */
#define KL_BATCH 32

/* A sequence. The KV cache is f32: it holds n_ctx positions (what the
** request asked for, not the model's whole context), so its size is the
** request's own; f32 keeps attention free of conversions (the kernels have
** no f16 SIMD path in the attention loop) and its results those of the
** f32 reference, at twice the memory of llama.cpp's default f16 cache. */
struct kl_seq {
  const kl_model *m;
  uint32_t n_ctx, pos, batch;
  uint32_t kv_dim;          /* head_dim * n_head_kv */
  float *kc, *vc;           /* [n_layer][n_ctx][kv_dim] each */
  float *x, *xb, *xb2, *q, *k, *v, *att;   /* batch rows */
  float *hb, *hb2;          /* batch rows of n_ff */
  float *scores;            /* [n_head][n_ctx] */
  float *rope;              /* cos, sin of each rotated pair: n_rot */
  float *cache_mem, *scratch_mem;
};

/* Carves n floats off *at. */
static float *kl_take(float **at, size_t n) {
  float *p = *at;
  *at += n;
  return p;
}

/* A sequence of n_ctx positions for m (see llm_internal.h). */
kl_seq *kl_seq_new(const kl_model *m, uint32_t n_ctx, char *err, size_t cap) {
  kl_seq *s;
  size_t d, ff, cache, scratch, b;
  float *at;
  if (m->arch != KL_ARCH_LLAMA) {
    ku_fmt(err, cap, "%s: not a decoder model", m->path);
    return NULL;
  }
  if (n_ctx == 0 || n_ctx > m->n_ctx) {
    ku_fmt(err, cap, "a sequence of %u positions: the model's context is "
           "1..%u", n_ctx, m->n_ctx);
    return NULL;
  }
  s = ku_calloc(1, sizeof *s);
  if (!s) goto nomem;
  s->m = m;
  s->n_ctx = n_ctx;
  s->batch = b = n_ctx < KL_BATCH ? n_ctx : KL_BATCH;
  s->kv_dim = m->head_dim * m->n_head_kv;
  d = m->n_embd;
  ff = m->n_ff;
  cache = (size_t)m->n_layer * n_ctx * s->kv_dim;
  scratch = b * (5 * d + 2 * (size_t)s->kv_dim + 2 * ff) +
            (size_t)m->n_head * n_ctx + m->n_rot;
  s->cache_mem = ku_malloc(2 * cache * sizeof(float));
  s->scratch_mem = ku_malloc(scratch * sizeof(float));
  if (!s->cache_mem || !s->scratch_mem) goto nomem;
  s->kc = s->cache_mem;
  s->vc = s->cache_mem + cache;
  at = s->scratch_mem;
  s->x = kl_take(&at, b * d);
  s->xb = kl_take(&at, b * d);
  s->xb2 = kl_take(&at, b * d);
  s->q = kl_take(&at, b * d);
  s->att = kl_take(&at, b * d);
  s->k = kl_take(&at, b * s->kv_dim);
  s->v = kl_take(&at, b * s->kv_dim);
  s->hb = kl_take(&at, b * ff);
  s->hb2 = kl_take(&at, b * ff);
  s->scores = kl_take(&at, (size_t)m->n_head * n_ctx);
  s->rope = kl_take(&at, m->n_rot);
  return s;
nomem:
  kl_seq_free(s);
  ku_fmt(err, cap, "out of memory for a KV cache of %u positions", n_ctx);
  return NULL;
}

/* Releases a sequence. */
void kl_seq_free(kl_seq *s) {
  if (!s) return;
  ku_free(s->cache_mem);
  ku_free(s->scratch_mem);
  ku_free(s);
}

/* y = w * x for nx rows: a matrix-vector product for one. */
static void kl_mm(kl_pool *p, const kl_tensor *w, const float *x,
                  uint32_t nx, float *y) {
  if (nx == 1) kl_matvec(p, w, x, y);
  else kl_matmul(p, w, x, nx, y);
}

/* y = rmsnorm(x) * w over n floats (ggml_rms_norm, then ggml_mul: the sum
** of squares in double). */
static void kl_rmsnorm(float *y, const float *x, const float *w, uint32_t n,
                       float eps) {
  double sum = 0.0;
  float scale;
  for (uint32_t i = 0; i < n; i++) sum += (double)(x[i] * x[i]);
  scale = 1.0f / sqrtf((float)(sum / n) + eps);
  for (uint32_t i = 0; i < n; i++) y[i] = (x[i] * scale) * w[i];
}

/* Fills s->rope with the cos/sin of each rotated pair at position pos, as
** ggml's rope cache: theta = pos * base^(-2i/n_rot), computed by repeated
** multiplication in float, divided by rope_freqs when the model has them
** and scaled by the linear factor. */
static void kl_rope_cache(const kl_seq *s, uint32_t pos) {
  const kl_model *m = s->m;
  const float *ff = m->rope_freqs ? kl_f32(m->rope_freqs) : NULL;
  float theta_scale = powf(m->rope_base, -2.0f / (float)m->n_rot);
  float theta = (float)pos;
  for (uint32_t i = 0; i < m->n_rot; i += 2) {
    float t = m->rope_scale * (ff ? theta / ff[i / 2] : theta);
    s->rope[i] = cosf(t);
    s->rope[i + 1] = sinf(t);
    theta *= theta_scale;
  }
}

/* Rotates the adjacent pairs (2i, 2i+1) of the first n_rot values of each
** of nh heads in x (RoPE type NORM, llama.cpp's for LLM_ARCH_LLAMA). */
static void kl_rope(const kl_seq *s, float *x, uint32_t nh) {
  uint32_t hd = s->m->head_dim;
  for (uint32_t h = 0; h < nh; h++) {
    float *v = x + (size_t)h * hd;
    for (uint32_t i = 0; i < s->m->n_rot; i += 2) {
      float c = s->rope[i], sn = s->rope[i + 1];
      float x0 = v[i], x1 = v[i + 1];
      v[i] = x0 * c - x1 * sn;
      v[i + 1] = x0 * sn + x1 * c;
    }
  }
}

/* The dot product of n floats, in eight lanes so the compiler vectorizes
** it without reassociating. */
static float kl_dot(const float *a, const float *b, uint32_t n) {
  float acc[8] = { 0 };
  float sum = 0.0f;
  uint32_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int k = 0; k < 8; k++) acc[k] += a[i + k] * b[i + k];
  for (; i < n; i++) acc[0] += a[i] * b[i];
  for (int k = 0; k < 8; k++) sum += acc[k];
  return sum;
}

/* One attention job: the batch's tokens, the layer and where they sit. */
typedef struct kl_attn {
  kl_seq *s;
  uint32_t layer, nb;
} kl_attn;

/* Attention of head h for batch row t: causal softmax of q.k / sqrt(hd)
** over positions 0..pos+t, then the weighted sum of the values. */
static void kl_attn_one(const kl_attn *a, uint32_t h, uint32_t t) {
  kl_seq *s = a->s;
  const kl_model *m = s->m;
  uint32_t hd = m->head_dim, kvh = h / (m->n_head / m->n_head_kv);
  uint32_t last = s->pos + t;
  size_t base = (size_t)a->layer * s->n_ctx * s->kv_dim + (size_t)kvh * hd;
  const float *q = s->q + (size_t)t * m->n_embd + (size_t)h * hd;
  float *sc = s->scores + (size_t)h * s->n_ctx;
  float *out = s->att + (size_t)t * m->n_embd + (size_t)h * hd;
  float scale = 1.0f / sqrtf((float)hd), mx = -INFINITY;
  double sum = 0.0;
  for (uint32_t j = 0; j <= last; j++) {
    sc[j] = kl_dot(q, s->kc + base + (size_t)j * s->kv_dim, hd) * scale;
    if (sc[j] > mx) mx = sc[j];
  }
  for (uint32_t j = 0; j <= last; j++) {
    sc[j] = expf(sc[j] - mx);
    sum += sc[j];
  }
  memset(out, 0, hd * sizeof *out);
  for (uint32_t j = 0; j <= last; j++) {
    const float *v = s->vc + base + (size_t)j * s->kv_dim;
    float w = (float)(sc[j] / sum);
    for (uint32_t i = 0; i < hd; i++) out[i] += w * v[i];
  }
}

/* The pool's share i of n: heads i, i + n, ... for every batch row. */
static void kl_attn_job(void *arg, int i, int n) {
  const kl_attn *a = arg;
  for (uint32_t h = (uint32_t)i; h < a->s->m->n_head; h += (uint32_t)n)
    for (uint32_t t = 0; t < a->nb; t++) kl_attn_one(a, h, t);
}

/* x += y over n floats (a residual). */
static void kl_add(float *x, const float *y, size_t n) {
  for (size_t i = 0; i < n; i++) x[i] += y[i];
}

/* The attention half of layer l for nb rows: pre-norm, Q/K/V, RoPE, the
** rows' keys and values into the cache, attention, output, residual. */
static void kl_attn_block(kl_seq *s, kl_pool *p, uint32_t l, uint32_t nb) {
  const kl_model *m = s->m;
  const kl_layer *ly = &m->layers[l];
  size_t d = m->n_embd, kvd = s->kv_dim;
  kl_attn a = { s, l, nb };
  for (uint32_t t = 0; t < nb; t++)
    kl_rmsnorm(s->xb + t * d, s->x + t * d, kl_f32(ly->attn_norm),
               m->n_embd, m->eps);
  kl_mm(p, ly->wq, s->xb, nb, s->q);
  kl_mm(p, ly->wk, s->xb, nb, s->k);
  kl_mm(p, ly->wv, s->xb, nb, s->v);
  for (uint32_t t = 0; t < nb; t++) {
    size_t at = ((size_t)l * s->n_ctx + s->pos + t) * kvd;
    kl_rope_cache(s, s->pos + t);
    kl_rope(s, s->q + t * d, m->n_head);
    kl_rope(s, s->k + t * kvd, m->n_head_kv);
    memcpy(s->kc + at, s->k + t * kvd, kvd * sizeof(float));
    memcpy(s->vc + at, s->v + t * kvd, kvd * sizeof(float));
  }
  kl_pool_run(p, kl_attn_job, &a);
  kl_mm(p, ly->wo, s->att, nb, s->xb2);
  kl_add(s->x, s->xb2, nb * d);
}

/* The feed-forward half of layer l: pre-norm, silu(gate) * up, down,
** residual. */
static void kl_ffn_block(kl_seq *s, kl_pool *p, uint32_t l, uint32_t nb) {
  const kl_model *m = s->m;
  const kl_layer *ly = &m->layers[l];
  size_t d = m->n_embd, nf = (size_t)nb * m->n_ff;
  for (uint32_t t = 0; t < nb; t++)
    kl_rmsnorm(s->xb + t * d, s->x + t * d, kl_f32(ly->ffn_norm),
               m->n_embd, m->eps);
  kl_mm(p, ly->gate, s->xb, nb, s->hb);
  kl_mm(p, ly->up, s->xb, nb, s->hb2);
  for (size_t i = 0; i < nf; i++)
    s->hb[i] = s->hb[i] / (1.0f + expf(-s->hb[i])) * s->hb2[i];
  kl_mm(p, ly->down, s->hb, nb, s->xb2);
  kl_add(s->x, s->xb2, nb * d);
}

/* Runs nb tokens (nb <= batch) through every layer; s->x holds their final
** hidden states. */
static void kl_batch(kl_seq *s, kl_pool *p, const int32_t *tok, uint32_t nb) {
  const kl_model *m = s->m;
  for (uint32_t t = 0; t < nb; t++)
    kl_get_row(m->tok_embd, (uint64_t)tok[t], s->x + (size_t)t * m->n_embd);
  for (uint32_t l = 0; l < m->n_layer; l++) {
    kl_attn_block(s, p, l, nb);
    kl_ffn_block(s, p, l, nb);
  }
  s->pos += nb;
}

/* Feeds n tokens (see llm_internal.h): checked first, then in batches;
** the final norm and output projection only for the last. */
int kl_seq_eval(kl_seq *s, kl_pool *p, const int32_t *tok, size_t n,
                float *logits, char *err, size_t cap) {
  const kl_model *m = s->m;
  size_t done = 0;
  uint32_t nb = 0;
  if (n == 0 || n > s->n_ctx - s->pos) {
    ku_fmt(err, cap, "%zu tokens at position %u do not fit a sequence of "
           "%u positions", n, s->pos, s->n_ctx);
    return KL_E_INPUT;
  }
  for (size_t i = 0; i < n; i++)
    if (tok[i] < 0 || (uint32_t)tok[i] >= m->n_vocab) {
      ku_fmt(err, cap, "token %d (at %zu) is outside the vocabulary of %u",
             tok[i], i, m->n_vocab);
      return KL_E_INPUT;
    }
  for (; done < n; done += nb) {
    nb = n - done < s->batch ? (uint32_t)(n - done) : s->batch;
    kl_batch(s, p, tok + done, nb);
  }
  kl_rmsnorm(s->xb, s->x + (size_t)(nb - 1) * m->n_embd,
             kl_f32(m->out_norm), m->n_embd, m->eps);
  kl_matvec(p, m->output, s->xb, logits);
  return KL_OK;
}
