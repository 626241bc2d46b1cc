/*
** tests/host/test_llm_model.c -- small llama/bert GGUF files written here,
** broken as kl_model_open must name, run against a double-precision forward
** pass, generated from. Not the numpy/llama.cpp comparisons (tests/llm).
*/
#include "test.h"
#include "llm/llm_internal.h"
#include "platform/platform.h"
#include "util/util.h"

#include <math.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- a GGUF writer ------------------------------------------------------ */

typedef struct mb {
  uint8_t *b;
  size_t n, cap;
} mb;

static void put(mb *g, const void *p, size_t n) {
  if (g->n + n > g->cap) {
    g->cap = (g->n + n) * 2 + 4096;
    g->b = realloc(g->b, g->cap);
  }
  memcpy(g->b + g->n, p, n);
  g->n += n;
}
static void p32(mb *g, uint32_t v) { put(g, &v, 4); }
static void p64(mb *g, uint64_t v) { put(g, &v, 8); }
static void pf32(mb *g, float v) { put(g, &v, 4); }
static void pstr(mb *g, const char *s) { p64(g, strlen(s)); put(g, s, strlen(s)); }

/* What a test model looks like, and how it is broken. */
typedef struct spec {
  const char *arch;          /* general.architecture */
  uint32_t embd, heads, kv_heads, ff, layers, ctx;
  const char *omit;          /* a tensor left out */
  const char *bad;           /* a tensor given one row (or one float
                                ** of a vector) too many */
  const char *omit_key;      /* a hyperparameter left out (suffix) */
  uint32_t experts;          /* llama.expert_count when not 0 */
} spec;

static const spec LLAMA = { "llama", 16, 4, 2, 24, 2, 48, 0, 0, 0, 0 };
static const spec BERT = { "bert", 16, 4, 4, 24, 2, 32, 0, 0, 0, 0 };

/* The metadata under construction: its bytes and count. */
typedef struct kvs {
  mb m;
  uint64_t n;
} kvs;

static void kv_u32(kvs *k, const char *key, uint32_t v) {
  pstr(&k->m, key); p32(&k->m, KL_G_U32); p32(&k->m, v); k->n++;
}
static void kv_f32(kvs *k, const char *key, float v) {
  pstr(&k->m, key); p32(&k->m, KL_G_F32); pf32(&k->m, v); k->n++;
}
static void kv_str(kvs *k, const char *key, const char *v) {
  pstr(&k->m, key); p32(&k->m, KL_G_STR); pstr(&k->m, v); k->n++;
}
static void kv_bool(kvs *k, const char *key, bool v) {
  uint8_t b = v;
  pstr(&k->m, key); p32(&k->m, KL_G_BOOL); put(&k->m, &b, 1); k->n++;
}
/* A hyperparameter <arch>.<key>, unless the spec leaves it out. */
static void hp_u32(kvs *k, const spec *s, const char *key, uint32_t v) {
  char name[128];
  if (s->omit_key && !strcmp(s->omit_key, key)) return;
  snprintf(name, sizeof name, "%s.%s", s->arch, key);
  kv_u32(k, name, v);
}
static void hp_f32(kvs *k, const spec *s, const char *key, float v) {
  char name[128];
  if (s->omit_key && !strcmp(s->omit_key, key)) return;
  snprintf(name, sizeof name, "%s.%s", s->arch, key);
  kv_f32(k, name, v);
}

/* The test vocabularies: an SPM one (unk, bos, eos, 256 bytes, a few
** pieces) and a WordPiece one. */
static const char *const SPM_WORDS[] = {
  "\xe2\x96\x81", "a", "b", "\xe2\x96\x81" "a", "ab", "\xe2\x96\x81" "ab",
  "\xe2\x96\x81" "b", "ba"
};
static const char *const WPM_WORDS[] = {
  "[PAD]", "[UNK]", "[CLS]", "[SEP]", "a", "b", "##a", "##b", "ab", "hello",
  "world", "##s"
};
#define SPM_N (3 + 256 + KU_COUNT(SPM_WORDS))
#define WPM_N KU_COUNT(WPM_WORDS)

/* Writes the SPM vocabulary's metadata. */
static void vocab_spm(kvs *k) {
  char name[16];
  kv_str(k, "tokenizer.ggml.model", "llama");
  pstr(&k->m, "tokenizer.ggml.tokens"); p32(&k->m, KL_G_ARR);
  p32(&k->m, KL_G_STR); p64(&k->m, SPM_N);
  pstr(&k->m, "<unk>"); pstr(&k->m, "<s>"); pstr(&k->m, "</s>");
  for (int i = 0; i < 256; i++) {
    snprintf(name, sizeof name, "<0x%02X>", i);
    pstr(&k->m, name);
  }
  for (size_t i = 0; i < KU_COUNT(SPM_WORDS); i++) pstr(&k->m, SPM_WORDS[i]);
  k->n++;
  pstr(&k->m, "tokenizer.ggml.scores"); p32(&k->m, KL_G_ARR);
  p32(&k->m, KL_G_F32); p64(&k->m, SPM_N);
  for (size_t i = 0; i < SPM_N; i++)
    pf32(&k->m, i < 259 ? 0.0f : -(float)(i - 259));
  k->n++;
  pstr(&k->m, "tokenizer.ggml.token_type"); p32(&k->m, KL_G_ARR);
  p32(&k->m, KL_G_I32); p64(&k->m, SPM_N);
  for (size_t i = 0; i < SPM_N; i++)
    p32(&k->m, i == 0 ? 2 : i < 3 ? 3 : i < 259 ? 6 : 1);
  k->n++;
  kv_u32(k, "tokenizer.ggml.bos_token_id", 1);
  kv_u32(k, "tokenizer.ggml.eos_token_id", 2);
  kv_u32(k, "tokenizer.ggml.unknown_token_id", 0);
  kv_bool(k, "tokenizer.ggml.add_bos_token", true);
}

/* Writes the WordPiece vocabulary's metadata. */
static void vocab_wpm(kvs *k) {
  kv_str(k, "tokenizer.ggml.model", "bert");
  pstr(&k->m, "tokenizer.ggml.tokens"); p32(&k->m, KL_G_ARR);
  p32(&k->m, KL_G_STR); p64(&k->m, WPM_N);
  for (size_t i = 0; i < WPM_N; i++) pstr(&k->m, WPM_WORDS[i]);
  k->n++;
  pstr(&k->m, "tokenizer.ggml.token_type"); p32(&k->m, KL_G_ARR);
  p32(&k->m, KL_G_I32); p64(&k->m, WPM_N);
  for (size_t i = 0; i < WPM_N; i++) p32(&k->m, i < 4 ? 3 : 1);
  k->n++;
  kv_u32(k, "tokenizer.ggml.bos_token_id", 2);
  kv_u32(k, "tokenizer.ggml.eos_token_id", 3);
  kv_u32(k, "tokenizer.ggml.cls_token_id", 2);
  kv_u32(k, "tokenizer.ggml.seperator_token_id", 3);
  kv_u32(k, "tokenizer.ggml.unknown_token_id", 1);
  kv_u32(k, "tokenizer.ggml.padding_token_id", 0);
}

/* One tensor to write: its name and shape (ne1 0: a vector). */
typedef struct tdesc {
  char name[64];
  uint64_t ne0, ne1;
  bool norm;                 /* values around 1 (a norm's weight) */
} tdesc;

static void tadd(tdesc *t, size_t *n, const char *name, int bid,
                 uint64_t ne0, uint64_t ne1, bool norm) {
  snprintf(t[*n].name, sizeof t[*n].name, name, bid);
  t[*n].ne0 = ne0;
  t[*n].ne1 = ne1;
  t[*n].norm = norm;
  (*n)++;
}

/* The tensors of a llama or bert model of spec s. */
static size_t tensors_of(const spec *s, uint32_t nv, tdesc *t) {
  size_t n = 0;
  uint64_t d = s->embd, kv = (uint64_t)d / s->heads * s->kv_heads;
  tadd(t, &n, "token_embd.weight", 0, d, nv, false);
  if (!strcmp(s->arch, "bert")) {
    tadd(t, &n, "token_types.weight", 0, d, 2, false);
    tadd(t, &n, "position_embd.weight", 0, d, s->ctx, false);
    tadd(t, &n, "token_embd_norm.weight", 0, d, 0, true);
    tadd(t, &n, "token_embd_norm.bias", 0, d, 0, false);
    for (int b = 0; b < (int)s->layers; b++) {
      static const char *const mats[] = { "attn_q", "attn_k", "attn_v",
                                          "attn_output" };
      for (int i = 0; i < 4; i++) {
        char nm[64];
        snprintf(nm, sizeof nm, "blk.%%d.%s.weight", mats[i]);
        tadd(t, &n, nm, b, d, d, false);
        snprintf(nm, sizeof nm, "blk.%%d.%s.bias", mats[i]);
        tadd(t, &n, nm, b, d, 0, false);
      }
      tadd(t, &n, "blk.%d.attn_output_norm.weight", b, d, 0, true);
      tadd(t, &n, "blk.%d.attn_output_norm.bias", b, d, 0, false);
      tadd(t, &n, "blk.%d.ffn_up.weight", b, d, s->ff, false);
      tadd(t, &n, "blk.%d.ffn_up.bias", b, s->ff, 0, false);
      tadd(t, &n, "blk.%d.ffn_down.weight", b, s->ff, d, false);
      tadd(t, &n, "blk.%d.ffn_down.bias", b, d, 0, false);
      tadd(t, &n, "blk.%d.layer_output_norm.weight", b, d, 0, true);
      tadd(t, &n, "blk.%d.layer_output_norm.bias", b, d, 0, false);
    }
    return n;
  }
  tadd(t, &n, "output_norm.weight", 0, d, 0, true);
  tadd(t, &n, "output.weight", 0, d, nv, false);
  for (int b = 0; b < (int)s->layers; b++) {
    tadd(t, &n, "blk.%d.attn_norm.weight", b, d, 0, true);
    tadd(t, &n, "blk.%d.attn_q.weight", b, d, d, false);
    tadd(t, &n, "blk.%d.attn_k.weight", b, d, kv, false);
    tadd(t, &n, "blk.%d.attn_v.weight", b, d, kv, false);
    tadd(t, &n, "blk.%d.attn_output.weight", b, d, d, false);
    tadd(t, &n, "blk.%d.ffn_norm.weight", b, d, 0, true);
    tadd(t, &n, "blk.%d.ffn_gate.weight", b, d, s->ff, false);
    tadd(t, &n, "blk.%d.ffn_up.weight", b, d, s->ff, false);
    tadd(t, &n, "blk.%d.ffn_down.weight", b, s->ff, d, false);
  }
  return n;
}

/* A deterministic value in [-0.5, 0.5). */
static float rnd(uint64_t *st) {
  *st = *st * 6364136223846793005ull + 1442695040888963407ull;
  return (float)((*st >> 40) & 0xffffff) / 16777216.0f - 0.5f;
}

static char model_path[256];

/* Writes the model of spec s to model_path. */
static void write_model(const spec *s) {
  bool bert = !strcmp(s->arch, "bert");
  uint32_t nv = bert ? WPM_N : SPM_N;
  tdesc t[160];
  size_t nt = tensors_of(s, nv, t), kept = 0;
  kvs k = { 0 };
  mb f = { 0 };
  uint64_t off = 0, st = 12345;
  FILE *out;
  kv_str(&k, "general.architecture", s->arch);
  hp_u32(&k, s, "context_length", s->ctx);
  hp_u32(&k, s, "embedding_length", s->embd);
  hp_u32(&k, s, "block_count", s->layers);
  hp_u32(&k, s, "feed_forward_length", s->ff);
  hp_u32(&k, s, "attention.head_count", s->heads);
  if (bert) {
    hp_f32(&k, s, "attention.layer_norm_epsilon", 1e-12f);
    kv_bool(&k, "bert.attention.causal", false);
    hp_u32(&k, s, "pooling_type", 1);
    vocab_wpm(&k);
  } else {
    hp_u32(&k, s, "attention.head_count_kv", s->kv_heads);
    hp_f32(&k, s, "attention.layer_norm_rms_epsilon", 1e-5f);
    hp_f32(&k, s, "rope.freq_base", 10000.0f);
    if (s->experts) hp_u32(&k, s, "expert_count", s->experts);
    vocab_spm(&k);
  }
  for (size_t i = 0; i < nt; i++)
    if (!s->omit || strcmp(s->omit, t[i].name)) t[kept++] = t[i];
  put(&f, "GGUF", 4);
  p32(&f, 3);
  p64(&f, kept);
  p64(&f, k.n);
  put(&f, k.m.b, k.m.n);
  for (size_t i = 0; i < kept; i++) {
    bool bad = s->bad && !strcmp(s->bad, t[i].name);
    uint64_t ne0 = t[i].ne0 + (bad && !t[i].ne1 ? 1 : 0);
    uint64_t ne1 = t[i].ne1 + (bad && t[i].ne1 ? 1 : 0);
    pstr(&f, t[i].name);
    p32(&f, ne1 ? 2 : 1);
    p64(&f, ne0);
    if (ne1) p64(&f, ne1);
    p32(&f, KL_T_F32);
    p64(&f, off);
    off += ((ne0 * (ne1 ? ne1 : 1) * 4 + 31) / 32) * 32;
  }
  while (f.n % 32) put(&f, "", 1);
  for (size_t i = 0; i < kept; i++) {
    bool bad = s->bad && !strcmp(s->bad, t[i].name);
    uint64_t cnt = (t[i].ne0 + (bad && !t[i].ne1 ? 1 : 0)) *
                   ((t[i].ne1 ? t[i].ne1 : 1) + (bad && t[i].ne1 ? 1 : 0));
    for (uint64_t j = 0; j < cnt; j++)
      pf32(&f, t[i].norm ? 1.0f + 0.4f * rnd(&st) : rnd(&st));
    while (f.n % 32) put(&f, "", 1);
  }
  out = fopen(model_path, "wb");
  fwrite(f.b, 1, f.n, out);
  fclose(out);
  free(f.b);
  free(k.m.b);
}

static char t_err[KL_ERR_SIZE];

/* Writes spec s and opens it: the model, or NULL with t_err set. */
static kl_model *open_spec(const spec *s) {
  write_model(s);
  return kl_model_open(model_path, t_err, sizeof t_err);
}

/* ---- a plain reference forward pass ------------------------------------ */

/* Row r of the F32 tensor name as doubles. */
static const float *W(const kl_model *m, const char *fmt, int bid) {
  char name[96];
  snprintf(name, sizeof name, fmt, bid);
  const kl_tensor *t = kl_gguf_tensor(kl_model_gguf(m), name);
  return t ? (const float *)(const void *)t->data : NULL;
}

/* y[rows] = W x[cols] (W rows of cols). */
static void mv(const float *w, const double *x, int rows, int cols,
               double *y) {
  for (int r = 0; r < rows; r++) {
    double s = 0;
    for (int c = 0; c < cols; c++) s += (double)w[(size_t)r * cols + c] * x[c];
    y[r] = s;
  }
}

/* The llama logits after tokens tok[0..n) of spec s, in double. */
static void ref_llama(const kl_model *m, const spec *s, const int32_t *tok,
                      int n, double *logits) {
  int d = (int)s->embd, hd = d / (int)s->heads, kvd = hd * (int)s->kv_heads;
  int ff = (int)s->ff, nv = (int)SPM_N;
  double *x = calloc((size_t)n * d, 8), *xb = calloc(d, 8);
  double *q = calloc((size_t)n * d, 8), *k = calloc((size_t)n * kvd, 8);
  double *v = calloc((size_t)n * kvd, 8), *att = calloc(d, 8);
  double *g = calloc(ff, 8), *u = calloc(ff, 8), *o = calloc(d, 8);
  double *out = calloc((size_t)n * d, 8);
  for (int t = 0; t < n; t++)
    for (int i = 0; i < d; i++)
      x[t * d + i] = W(m, "token_embd.weight", 0)[(size_t)tok[t] * d + i];
  for (int l = 0; l < (int)s->layers; l++) {
    for (int t = 0; t < n; t++) {
      double ss = 0;
      for (int i = 0; i < d; i++) ss += x[t * d + i] * x[t * d + i];
      for (int i = 0; i < d; i++)
        xb[i] = x[t * d + i] / sqrt(ss / d + 1e-5) *
                W(m, "blk.%d.attn_norm.weight", l)[i];
      mv(W(m, "blk.%d.attn_q.weight", l), xb, d, d, q + t * d);
      mv(W(m, "blk.%d.attn_k.weight", l), xb, kvd, d, k + t * kvd);
      mv(W(m, "blk.%d.attn_v.weight", l), xb, kvd, d, v + t * kvd);
      for (int h = 0; h < d / hd + (int)s->kv_heads; h++) {
        double *vec = h < d / hd ? q + t * d + h * hd
                                 : k + t * kvd + (h - d / hd) * hd;
        for (int i = 0; i < hd; i += 2) {
          double th = t * pow(10000.0, -(double)i / hd);
          double a = vec[i], b = vec[i + 1];
          vec[i] = a * cos(th) - b * sin(th);
          vec[i + 1] = a * sin(th) + b * cos(th);
        }
      }
    }
    for (int t = 0; t < n; t++) {
      for (int h = 0; h < (int)s->heads; h++) {
        int kh = h / ((int)s->heads / (int)s->kv_heads);
        double sc[64], mx = -1e300, sum = 0;
        for (int j = 0; j <= t; j++) {
          double dot = 0;
          for (int i = 0; i < hd; i++)
            dot += q[t * d + h * hd + i] * k[j * kvd + kh * hd + i];
          sc[j] = dot / sqrt(hd);
          if (sc[j] > mx) mx = sc[j];
        }
        for (int j = 0; j <= t; j++) sum += (sc[j] = exp(sc[j] - mx));
        for (int i = 0; i < hd; i++) {
          double a = 0;
          for (int j = 0; j <= t; j++) a += sc[j] / sum * v[j * kvd + kh * hd + i];
          att[h * hd + i] = a;
        }
      }
      mv(W(m, "blk.%d.attn_output.weight", l), att, d, d, o);
      for (int i = 0; i < d; i++) out[t * d + i] = x[t * d + i] + o[i];
    }
    for (int t = 0; t < n; t++) {
      double ss = 0;
      for (int i = 0; i < d; i++) ss += out[t * d + i] * out[t * d + i];
      for (int i = 0; i < d; i++)
        xb[i] = out[t * d + i] / sqrt(ss / d + 1e-5) *
                W(m, "blk.%d.ffn_norm.weight", l)[i];
      mv(W(m, "blk.%d.ffn_gate.weight", l), xb, ff, d, g);
      mv(W(m, "blk.%d.ffn_up.weight", l), xb, ff, d, u);
      for (int i = 0; i < ff; i++) g[i] = g[i] / (1 + exp(-g[i])) * u[i];
      mv(W(m, "blk.%d.ffn_down.weight", l), g, d, ff, o);
      for (int i = 0; i < d; i++) x[t * d + i] = out[t * d + i] + o[i];
    }
  }
  {
    double ss = 0;
    for (int i = 0; i < d; i++) ss += x[(n - 1) * d + i] * x[(n - 1) * d + i];
    for (int i = 0; i < d; i++)
      xb[i] = x[(n - 1) * d + i] / sqrt(ss / d + 1e-5) *
              W(m, "output_norm.weight", 0)[i];
    mv(W(m, "output.weight", 0), xb, nv, d, logits);
  }
  free(x); free(xb); free(q); free(k); free(v); free(att); free(g); free(u);
  free(o); free(out);
}

/* LayerNorm of x[d] in place with the named weight and bias. */
static void ref_ln(const kl_model *m, double *x, int d, const char *w,
                   const char *b, int l) {
  double mean = 0, var = 0;
  for (int i = 0; i < d; i++) mean += x[i];
  mean /= d;
  for (int i = 0; i < d; i++) var += (x[i] - mean) * (x[i] - mean);
  var /= d;
  for (int i = 0; i < d; i++)
    x[i] = (x[i] - mean) / sqrt(var + 1e-12) * W(m, w, l)[i] + W(m, b, l)[i];
}

/* GELU as ggml's CPU kernel: tanh form on the input rounded to f16, the
** result rounded to f16 (its table); 0 below -10, x above 10. */
static double ref_gelu(double z) {
  double h = (double)(_Float16)(float)z;
  if (z <= -10) return 0;
  if (z >= 10) return z;
  h = 0.5 * h * (1 + tanh(0.7978845608028654 * (h + 0.044715 * h * h * h)));
  return (double)(_Float16)(float)h;
}

/* The bert embedding of tok[0..n), in double (mean-pooled, normalized). */
static void ref_bert(const kl_model *m, const spec *s, const int32_t *tok,
                     int n, double *emb) {
  int d = (int)s->embd, hd = d / (int)s->heads, ff = (int)s->ff;
  double *x = calloc((size_t)n * d, 8), *q = calloc((size_t)n * d, 8);
  double *k = calloc((size_t)n * d, 8), *v = calloc((size_t)n * d, 8);
  double *a = calloc((size_t)n * d, 8), *h = calloc(ff, 8), norm = 0;
  for (int t = 0; t < n; t++) {
    for (int i = 0; i < d; i++)
      x[t * d + i] = W(m, "token_embd.weight", 0)[(size_t)tok[t] * d + i] +
                     W(m, "token_types.weight", 0)[i] +
                     W(m, "position_embd.weight", 0)[(size_t)t * d + i];
    ref_ln(m, x + t * d, d, "token_embd_norm.weight", "token_embd_norm.bias", 0);
  }
  for (int l = 0; l < (int)s->layers; l++) {
    for (int t = 0; t < n; t++) {
      mv(W(m, "blk.%d.attn_q.weight", l), x + t * d, d, d, q + t * d);
      mv(W(m, "blk.%d.attn_k.weight", l), x + t * d, d, d, k + t * d);
      mv(W(m, "blk.%d.attn_v.weight", l), x + t * d, d, d, v + t * d);
      for (int i = 0; i < d; i++) {
        q[t * d + i] += W(m, "blk.%d.attn_q.bias", l)[i];
        k[t * d + i] += W(m, "blk.%d.attn_k.bias", l)[i];
        v[t * d + i] += W(m, "blk.%d.attn_v.bias", l)[i];
      }
    }
    for (int t = 0; t < n; t++)
      for (int hh = 0; hh < (int)s->heads; hh++) {
        double sc[64], mx = -1e300, sum = 0;
        for (int j = 0; j < n; j++) {
          double dot = 0;
          for (int i = 0; i < hd; i++)
            dot += q[t * d + hh * hd + i] * k[j * d + hh * hd + i];
          sc[j] = dot / sqrt(hd);
          if (sc[j] > mx) mx = sc[j];
        }
        for (int j = 0; j < n; j++) sum += (sc[j] = exp(sc[j] - mx));
        for (int i = 0; i < hd; i++) {
          double acc = 0;
          for (int j = 0; j < n; j++) acc += sc[j] / sum * v[j * d + hh * hd + i];
          a[t * d + hh * hd + i] = acc;
        }
      }
    for (int t = 0; t < n; t++) {
      double o[64], f2[64];
      mv(W(m, "blk.%d.attn_output.weight", l), a + t * d, d, d, o);
      for (int i = 0; i < d; i++)
        x[t * d + i] += o[i] + W(m, "blk.%d.attn_output.bias", l)[i];
      ref_ln(m, x + t * d, d, "blk.%d.attn_output_norm.weight",
             "blk.%d.attn_output_norm.bias", l);
      mv(W(m, "blk.%d.ffn_up.weight", l), x + t * d, ff, d, h);
      for (int i = 0; i < ff; i++) {
        h[i] = ref_gelu(h[i] + W(m, "blk.%d.ffn_up.bias", l)[i]);
      }
      mv(W(m, "blk.%d.ffn_down.weight", l), h, d, ff, f2);
      for (int i = 0; i < d; i++)
        x[t * d + i] += f2[i] + W(m, "blk.%d.ffn_down.bias", l)[i];
      ref_ln(m, x + t * d, d, "blk.%d.layer_output_norm.weight",
             "blk.%d.layer_output_norm.bias", l);
    }
  }
  for (int i = 0; i < d; i++) {
    emb[i] = 0;
    for (int t = 0; t < n; t++) emb[i] += x[t * d + i] / n;
    norm += emb[i] * emb[i];
  }
  for (int i = 0; i < d; i++) emb[i] /= sqrt(norm);
  free(x); free(q); free(k); free(v); free(a); free(h);
}

/* ---- tests -------------------------------------------------------------- */

static kl_pool *pool;

/* Each broken file is refused with a message naming the file, the tensor
** or key and what was expected. */
static void test_open_errors(void) {
  spec s = LLAMA;
  kl_model *m;
  s.omit = "blk.1.ffn_up.weight";
  CHECK(!open_spec(&s));
  CHECK(strstr(t_err, model_path) == t_err);
  CHECK_CONTAINS(t_err, "tensor blk.1.ffn_up.weight is missing");
  s = LLAMA;
  s.bad = "blk.0.attn_k.weight";
  CHECK(!open_spec(&s));
  CHECK_CONTAINS(t_err, "tensor blk.0.attn_k.weight: expected shape [16, 8], "
                 "found [16, 9]");
  s = LLAMA;
  s.arch = "gpt2";
  CHECK(!open_spec(&s));
  CHECK_CONTAINS(t_err, "architecture 'gpt2' is not supported");
  s = LLAMA;
  s.omit_key = "attention.layer_norm_rms_epsilon";
  CHECK(!open_spec(&s));
  CHECK_CONTAINS(t_err, "metadata llama.attention.layer_norm_rms_epsilon is "
                 "missing");
  s = LLAMA;
  s.heads = 8;           /* head size 2 ... */
  s.embd = 24;           /* ... 3: odd */
  s.kv_heads = 8;
  CHECK(!open_spec(&s));
  CHECK_CONTAINS(t_err, "head size 3 is odd");
  s = LLAMA;
  s.experts = 8;
  CHECK(!open_spec(&s));
  CHECK_CONTAINS(t_err, "mixture-of-experts models are not supported");
  s = LLAMA;
  s.kv_heads = 3;
  CHECK(!open_spec(&s));
  CHECK_CONTAINS(t_err, "head_count 4 is not a multiple of head_count_kv 3");
  s = BERT;
  s.bad = "blk.1.ffn_down.bias";
  CHECK(!open_spec(&s));
  CHECK_CONTAINS(t_err, "tensor blk.1.ffn_down.bias: expected shape [16], "
                 "found [17]");
  s = BERT;
  s.omit = "position_embd.weight";
  CHECK(!open_spec(&s));
  CHECK_CONTAINS(t_err, "tensor position_embd.weight is missing");
  CHECK(!kl_model_open("/nonexistent/m.gguf", t_err, sizeof t_err));
  CHECK(!strcmp(t_err, "/nonexistent/m.gguf: No such file or directory"));
  m = open_spec(&LLAMA);
  CHECK(m);
  CHECK(kl_model_generates(m) && !kl_model_embeds(m));
  CHECK_INT(kl_model_ctx(m), 48);
  CHECK_INT(kl_model_dim(m), 16);
  kl_model_free(m);
}

/* The largest |a - b| relative to the largest |b|. */
static double rel_diff(const float *a, const double *b, size_t n) {
  double mx = 0, scale = 1e-30;
  for (size_t i = 0; i < n; i++) {
    if (fabs(a[i] - b[i]) > mx) mx = fabs(a[i] - b[i]);
    if (fabs(b[i]) > scale) scale = fabs(b[i]);
  }
  return mx / scale;
}

/* The logits after 40 tokens (two batches) match the reference; fed one
** at a time they are the same. */
static void test_forward(void) {
  kl_model *m = open_spec(&LLAMA);
  int32_t tok[40];
  float got[SPM_N], one[SPM_N];
  double want[SPM_N];
  kl_seq *s;
  CHECK(m);
  for (int i = 0; i < 40; i++) tok[i] = (int32_t)((i * 37 + 1) % SPM_N);
  s = kl_seq_new(m, 40, t_err, sizeof t_err);
  CHECK(s);
  CHECK_INT(kl_seq_eval(s, pool, tok, 40, got, t_err, sizeof t_err), KL_OK);
  CHECK_INT(kl_seq_eval(s, pool, tok, 1, got, t_err, sizeof t_err), KL_E_INPUT);
  CHECK_CONTAINS(t_err, "1 tokens at position 40 do not fit a sequence of 40");
  kl_seq_free(s);
  ref_llama(m, &LLAMA, tok, 40, want);
  if (rel_diff(got, want, SPM_N) > 1e-5)
    printf("  relative difference %g\n", rel_diff(got, want, SPM_N));
  CHECK(rel_diff(got, want, SPM_N) <= 1e-5);
  s = kl_seq_new(m, 40, t_err, sizeof t_err);
  CHECK(s);
  for (int i = 0; i < 40; i++)
    CHECK_INT(kl_seq_eval(s, pool, tok + i, 1, one, t_err, sizeof t_err), KL_OK);
  CHECK_INT(kl_seq_eval(s, pool, tok, 1, one, t_err, sizeof t_err), KL_E_INPUT);
  kl_seq_free(s);
  for (size_t i = 0; i < SPM_N; i++) CHECK(fabsf(one[i] - got[i]) < 1e-4f);
  s = kl_seq_new(m, 4, t_err, sizeof t_err);
  tok[1] = (int32_t)SPM_N;
  CHECK_INT(kl_seq_eval(s, pool, tok, 2, got, t_err, sizeof t_err), KL_E_INPUT);
  CHECK_CONTAINS(t_err, "outside the vocabulary");
  kl_seq_free(s);
  CHECK(!kl_seq_new(m, 49, t_err, sizeof t_err));
  CHECK_CONTAINS(t_err, "the model's context is 1..48");
  kl_model_free(m);
}

/* The bert embedding matches the reference and has unit length. */
static void test_bert(void) {
  kl_model *m = open_spec(&BERT);
  int32_t tok[] = { 2, 9, 10, 4, 6, 11, 3 };
  float got[16];
  double want[16], norm = 0, mx = 0;
  CHECK(m);
  CHECK(kl_model_embeds(m) && !kl_model_generates(m));
  CHECK_INT(kl_bert_embed(m, pool, tok, 7, got, t_err, sizeof t_err), KL_OK);
  ref_bert(m, &BERT, tok, 7, want);
  for (int i = 0; i < 16; i++) {
    norm += (double)got[i] * got[i];
    if (fabs(got[i] - want[i]) > mx) mx = fabs(got[i] - want[i]);
  }
  if (mx > 1e-5) printf("  max difference %g\n", mx);
  CHECK(mx <= 1e-5);
  CHECK(fabs(norm - 1) < 1e-5);
  CHECK_INT(kl_bert_embed(m, pool, tok, 33, got, t_err, sizeof t_err),
            KL_E_INPUT);
  CHECK_CONTAINS(t_err, "33 tokens: the model takes 1..32");
  kl_model_free(m);
}

/* Greedy generation is deterministic and starts with the argmax of the
** prompt's logits; a seed reproduces a sampled run. */
static void test_generate(void) {
  kl_model *m = open_spec(&LLAMA);
  kl_infer_params ip = KL_PARAMS_DEFAULT;
  kl_infer_result a, b;
  int32_t *ta = NULL, *tb = NULL;
  CHECK(m);
  ip.temperature = 0;
  ip.max_tokens = 12;
  CHECK_INT(kl_generate_tokens(m, pool, "ab ba", 5, &ip, 0, &a, &ta, t_err,
                               sizeof t_err), KL_OK);
  CHECK_INT(kl_generate_tokens(m, pool, "ab ba", 5, &ip, 0, &b, &tb, t_err,
                               sizeof t_err), KL_OK);
  CHECK(a.prompt_tokens > 0);
  CHECK_INT(a.generated_tokens, b.generated_tokens);
  CHECK(a.generated_tokens == 12 || !strcmp(a.finish, "stop"));
  CHECK(!memcmp(ta, tb, a.generated_tokens * sizeof *ta));
  CHECK_STR(a.text, b.text);
  CHECK(ku_utf8_valid((const uint8_t *)a.text, a.text_len));
  CHECK_INT(strlen(a.text), a.text_len);
  ku_free(a.text); ku_free(b.text); ku_free(ta); ku_free(tb);
  {   /* from the prompt's tokens (how a chat runs): the same tokens */
    int32_t pt[16];
    int64_t np = kl_tokenize(kl_model_vocab(m), "ab ba", 5, true, pt, 16);
    CHECK(np > 0 && np <= 16);
    CHECK_INT(kl_generate_tokens(m, pool, "ab ba", 5, &ip, 0, &a, &ta, t_err,
                                 sizeof t_err), KL_OK);
    CHECK_INT(kl_generate_from_tokens(m, pool, pt, (size_t)np, &ip, 0, &b,
                                      &tb, t_err, sizeof t_err), KL_OK);
    CHECK_INT(a.generated_tokens, b.generated_tokens);
    CHECK(!memcmp(ta, tb, a.generated_tokens * sizeof *ta));
    CHECK_STR(a.text, b.text);
    ku_free(a.text); ku_free(b.text); ku_free(ta); ku_free(tb);
    CHECK_INT(kl_generate(m, pool, "a\xff", 2, &ip, 0, &b, t_err,
                          sizeof t_err), KL_E_INPUT);
    CHECK_CONTAINS(t_err, "the text (2 bytes) is not valid UTF-8");
    pt[0] = 1 << 30;
    CHECK_INT(kl_generate_from_tokens(m, pool, pt, (size_t)np, &ip, 0, &b,
                                      NULL, t_err, sizeof t_err), KL_E_INPUT);
    CHECK_CONTAINS(t_err, "prompt token 0 is 1073741824, not in the vocabulary");
  }
  ip.temperature = 0.9f;
  ip.has_seed = true;
  ip.seed = 7;
  CHECK_INT(kl_generate_tokens(m, pool, "ab", 2, &ip, 0, &a, &ta, t_err,
                               sizeof t_err), KL_OK);
  CHECK_INT(kl_generate_tokens(m, pool, "ab", 2, &ip, 0, &b, &tb, t_err,
                               sizeof t_err), KL_OK);
  CHECK_INT(a.generated_tokens, b.generated_tokens);
  CHECK(!memcmp(ta, tb, a.generated_tokens * sizeof *ta));
  ku_free(a.text); ku_free(b.text); ku_free(ta); ku_free(tb);
  kl_model_free(m);
}

/* Greedy tokens equal the argmax of the logits fed back step by step. */
static void test_greedy_argmax(void) {
  kl_model *m = open_spec(&LLAMA);
  kl_infer_params ip = KL_PARAMS_DEFAULT;
  kl_infer_result r;
  int32_t *toks = NULL, seq[48];
  int64_t n;
  float logits[SPM_N];
  kl_seq *s;
  CHECK(m);
  ip.temperature = 0;
  ip.repeat_penalty = 1.0f;
  ip.max_tokens = 10;
  CHECK_INT(kl_generate_tokens(m, pool, "ba", 2, &ip, 0, &r, &toks, t_err,
                               sizeof t_err), KL_OK);
  n = kl_tokenize(kl_model_vocab(m), "ba", 2, true, seq, 48);
  CHECK(n > 0 && n == r.prompt_tokens);
  s = kl_seq_new(m, 48, t_err, sizeof t_err);
  CHECK(s);
  CHECK_INT(kl_seq_eval(s, pool, seq, (size_t)n, logits, t_err, sizeof t_err), KL_OK);
  for (uint32_t i = 0; i < r.generated_tokens; i++) {
    int32_t best = 0;
    for (int32_t j = 1; j < (int32_t)SPM_N; j++)
      if (logits[j] > logits[best]) best = j;
    CHECK_INT(toks[i], best);
    CHECK_INT(kl_seq_eval(s, pool, &best, 1, logits, t_err, sizeof t_err), KL_OK);
  }
  kl_seq_free(s);
  ku_free(r.text);
  ku_free(toks);
  kl_model_free(m);
}

/* Prompts past the context, absurd max_tokens, a passed deadline, the
** context's end and a decoder asked for embeddings. */
static void test_limits(void) {
  kl_model *m = open_spec(&LLAMA);
  kl_infer_params ip = KL_PARAMS_DEFAULT;
  kl_infer_result r;
  char big[200];
  float emb[16];
  const char *texts[] = { "a" };
  size_t lens[] = { 1 };
  uint32_t used;
  CHECK(m);
  memset(big, 'x', sizeof big);   /* one byte token each */
  CHECK_INT(kl_generate(m, pool, big, 60, &ip, 0, &r, t_err, sizeof t_err),
            KL_E_INPUT);
  CHECK_CONTAINS(t_err, "the prompt is 62 tokens; the model's context is 48");
  ip.max_tokens = 1000000;
  CHECK_INT(kl_generate(m, pool, "ab", 2, &ip, 0, &r, t_err, sizeof t_err),
            KL_E_INPUT);
  CHECK_CONTAINS(t_err, "max_tokens 1000000 is more than the model's context "
                 "of 48 tokens");
  ip.max_tokens = 4;
  ip.top_p = 1.5f;
  CHECK_INT(kl_generate(m, pool, "ab", 2, &ip, 0, &r, t_err, sizeof t_err),
            KL_E_INPUT);
  CHECK_CONTAINS(t_err, "top_p 1.5");
  ip.top_p = 0.9f;
  ip.temperature = NAN;
  CHECK_INT(kl_generate(m, pool, "ab", 2, &ip, 0, &r, t_err, sizeof t_err),
            KL_E_INPUT);
  CHECK_CONTAINS(t_err, "expected temperature >= 0");
  ip.max_tokens = 48;
  ip.temperature = 0;
  ip.repeat_penalty = 1;
  CHECK_INT(kl_generate(m, pool, big, 40, &ip, 0, &r, t_err, sizeof t_err),
            KL_OK);
  CHECK(r.prompt_tokens + r.generated_tokens <= 48);
  CHECK(!strcmp(r.finish, "stop") || r.prompt_tokens + r.generated_tokens == 48);
  ku_free(r.text);
  ip.max_tokens = 10;
  CHECK_INT(kl_generate(m, pool, "ab", 2, &ip, kp_monotonic_ns(), &r, t_err,
                        sizeof t_err), KL_OK);
  CHECK_STR(r.finish, "deadline");
  CHECK_INT(r.generated_tokens, 0);
  CHECK_STR(r.text, "");
  ku_free(r.text);
  CHECK_INT(kl_embed_texts(m, pool, texts, lens, 1, 0, emb, &used, t_err,
                           sizeof t_err), KL_E_MODEL);
  CHECK_CONTAINS(t_err, "not embeddings");
  kl_model_free(m);
}

/* Embeddings of texts: one row per text, the tokens counted, too long a
** text refused. */
static void test_embed_texts(void) {
  kl_model *m = open_spec(&BERT);
  const char *texts[] = { "hello world", "ab", "" };
  size_t lens[] = { 11, 2, 0 };
  float out[48];
  uint32_t used = 0;
  char big[120];
  const char *bt[] = { big };
  size_t bl[] = { sizeof big };
  kl_infer_params ip = KL_PARAMS_DEFAULT;
  kl_infer_result r;
  CHECK(m);
  CHECK_INT(kl_embed_texts(m, pool, texts, lens, 3, 0, out, &used, t_err,
                           sizeof t_err), KL_OK);
  CHECK(used >= 3 * 2 + 3);
  for (int t = 0; t < 3; t++) {
    double norm = 0;
    for (int i = 0; i < 16; i++) norm += (double)out[t * 16 + i] * out[t * 16 + i];
    CHECK(fabs(norm - 1) < 1e-5);
  }
  for (size_t i = 0; i < sizeof big; i += 2) { big[i] = 'a'; big[i + 1] = ' '; }
  CHECK_INT(kl_embed_texts(m, pool, bt, bl, 1, 0, out, &used, t_err,
                           sizeof t_err), KL_E_INPUT);
  CHECK_CONTAINS(t_err, "text 0: the text has at least 60 words (each at "
                 "least one token): more than the model's context of 32 tokens");
  CHECK_INT(kl_generate(m, pool, "ab", 2, &ip, 0, &r, t_err, sizeof t_err),
            KL_E_MODEL);
  kl_model_free(m);
}

/* Running out of memory anywhere in opening, a sequence or generation is
** an error that says so, never a crash or a leak (ASan checks the leaks). */
static void test_faults(void) {
  kl_infer_params ip = KL_PARAMS_DEFAULT;
  kl_infer_result r;
  bool opened = false, generated = false;
  write_model(&LLAMA);
  for (long n = 0; n < 400 && !(opened && generated); n++) {
    kl_model *m;
    kl_seq *s;
    int rc;
    ku_fail_alloc_after(n);
    m = kl_model_open(model_path, t_err, sizeof t_err);
    if (!m) {
      ku_fail_alloc_after(-1);
      CHECK_CONTAINS(t_err, "memory");
      continue;
    }
    opened = true;
    s = kl_seq_new(m, 16, t_err, sizeof t_err);
    if (!s) CHECK_CONTAINS(t_err, "out of memory");
    kl_seq_free(s);
    ip.max_tokens = 4;
    rc = kl_generate(m, pool, "ab", 2, &ip, 0, &r, t_err, sizeof t_err);
    ku_fail_alloc_after(-1);
    if (rc == KL_OK) {
      generated = true;
      ku_free(r.text);
    } else {
      CHECK(rc == KL_E_NOMEM || rc == KL_E_INPUT);
      CHECK_CONTAINS(t_err, "memory");
    }
    kl_model_free(m);
  }
  CHECK(opened && generated);
}

/* Runs `build/krait llm ARGS` with stdout into out (cap bytes); its exit
** status, or -1 when it cannot be run. */
static int run_cli(const char *args, char *out, size_t cap) {
  char cmd[1024];
  size_t n;
  FILE *f;
  snprintf(cmd, sizeof cmd, "build/krait llm %s 2>/dev/null", args);
  f = popen(cmd, "r");
  if (!f) return -1;
  n = fread(out, 1, cap - 1, f);
  out[n] = 0;
  n = (size_t)pclose(f);
  return WIFEXITED((int)n) ? WEXITSTATUS((int)n) : -1;
}

/* `krait llm`: a failed evaluation prints no half JSON document; greedy
** generation's JSON carries the tokens and usage. Skipped when build/krait
** is not built (the asan-host tier builds only the libraries). */
static void test_cli(void) {
  static char out[1 << 16];
  char args[512];
  if (access("build/krait", X_OK) != 0) {
    printf("  (build/krait not built: skipped)\n");
    return;
  }
  write_model(&LLAMA);
  snprintf(args, sizeof args, "logits %s --tokens 1,5,%u", model_path,
           (unsigned)SPM_N);
  CHECK_INT(run_cli(args, out, sizeof out), 1);
  CHECK(out[0] == 0);      /* no half document before the error */
  snprintf(args, sizeof args, "logits %s --tokens 1,5 --all", model_path);
  CHECK_INT(run_cli(args, out, sizeof out), 0);
  CHECK(!strncmp(out, "{\"tokens\":[1,5],\"n_vocab\":267,\"logits\":[[", 41));
  snprintf(args, sizeof args, "generate %s ab --temperature 0 --max-tokens 3 "
           "--json --threads 1", model_path);
  CHECK_INT(run_cli(args, out, sizeof out), 0);
  CHECK(strstr(out, "\"usage\":{\"prompt_tokens\":"));
  CHECK(strstr(out, "\"tokens\":["));
  snprintf(args, sizeof args, "tokenize %s 'ab</s>b' --parse-special "
           "--no-add-special", model_path);
  CHECK_INT(run_cli(args, out, sizeof out), 0);
  CHECK(strstr(out, ",2,"));   /* </s>: the EOS token, no BOS first */
  CHECK(strncmp(out, "{\"tokens\":[1,", 12) != 0);
  snprintf(args, sizeof args, "generate %s ab --temperature x", model_path);
  CHECK_INT(run_cli(args, out, sizeof out), 2);
}

int main(void) {
  int fd;
  snprintf(model_path, sizeof model_path, "/tmp/krait-llm-model-XXXXXX");
  fd = mkstemp(model_path);
  if (fd < 0) return 1;
  close(fd);
  pool = kl_pool_new(2);
  RUN(test_open_errors);
  RUN(test_forward);
  RUN(test_bert);
  RUN(test_generate);
  RUN(test_greedy_argmax);
  RUN(test_limits);
  RUN(test_embed_texts);
  RUN(test_faults);
  RUN(test_cli);
  kl_pool_free(pool);
  unlink(model_path);
  return t_summary();
}
