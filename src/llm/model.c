/*
** model.c -- opening a model: the GGUF file mapped, its architecture's
** hyperparameters read and every tensor checked (name, type, shape), the
** vocabulary loaded. Not the forward passes (llama.c, bert.c).
*/
#include "llm/model.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "util/util.h"

/* Bounds that keep every size computed from the hyperparameters far from
** overflow (a lying file is refused, not trusted). */
#define KL_MAX_DIM (1u << 20)      /* embedding, feed-forward widths */
#define KL_MAX_LAYERS 4096u
#define KL_MAX_HEADS 4096u
#define KL_MAX_CTX (1u << 24)

/* What opening is doing: the model being filled and where errors go. */
typedef struct kl_open {
  kl_model *m;
  const char *arch;        /* the architecture's key prefix */
  char *err;
  size_t cap;
  bool failed;
} kl_open;

/* Sets "<file>: <message>" as the error, once (the first problem wins). */
static void kl_fail(kl_open *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void kl_fail(kl_open *o, const char *fmt, ...) {
  char msg[KL_ERR_SIZE];
  va_list ap;
  if (o->failed) return;
  o->failed = true;
  va_start(ap, fmt);
  ku_vfmt(msg, sizeof msg, fmt, ap);
  va_end(ap);
  ku_fmt(o->err, o->cap, "%s: %s", o->m->path, msg);
}

/* The u32 hyperparameter <arch>.<key>: def when absent and def_ok, else
** an error naming the key; out of [lo, hi] is an error too. */
static uint32_t kl_hp_u32(kl_open *o, const char *key, bool def_ok,
                          uint32_t def, uint32_t lo, uint32_t hi) {
  char name[128];
  uint32_t v;
  snprintf(name, sizeof name, "%s.%s", o->arch, key);
  if (!kl_gguf_u32(o->m->g, name, &v)) {
    if (kl_gguf_kv(o->m->g, name))
      kl_fail(o, "metadata %s is not an unsigned 32-bit integer", name);
    else if (!def_ok)
      kl_fail(o, "metadata %s is missing", name);
    v = def;
  }
  if (!o->failed && (v < lo || v > hi))
    kl_fail(o, "metadata %s is %u, expected %u..%u", name, v, lo, hi);
  return v;
}

/* The f32 hyperparameter <arch>.<key>, as kl_hp_u32; must be finite and
** positive. */
static float kl_hp_f32(kl_open *o, const char *key, bool def_ok, float def) {
  char name[128];
  float v;
  snprintf(name, sizeof name, "%s.%s", o->arch, key);
  if (!kl_gguf_f32(o->m->g, name, &v)) {
    if (kl_gguf_kv(o->m->g, name))
      kl_fail(o, "metadata %s is not a number", name);
    else if (!def_ok)
      kl_fail(o, "metadata %s is missing", name);
    v = def;
  }
  if (!o->failed && !(v > 0.0f && v < 1e30f))
    kl_fail(o, "metadata %s is %g, expected a positive number", name,
            (double)v);
  return v;
}

/* Writes t's shape as "[a, b]" into buf. */
static void kl_shape_str(const kl_tensor *t, char *buf, size_t cap) {
  size_t used = 0;
  buf[0] = 0;
  for (uint32_t i = 0; i < t->ndim && used + 24 < cap; i++)
    used += (size_t)snprintf(buf + used, cap - used, "%s%llu",
                             i ? ", " : "[",
                             (unsigned long long)t->ne[i]);
  snprintf(buf + used, cap - used, "%s", t->ndim ? "]" : "[]");
}

/* Whether t is ne0 x ne1 (ne1 0: a vector of ne0); trailing dimensions of
** 1 are allowed, as ggml writes them. */
static bool kl_shape_is(const kl_tensor *t, uint64_t ne0, uint64_t ne1) {
  uint32_t want = ne1 ? 2 : 1;
  if (t->ndim < want || t->ne[0] != ne0 || (ne1 && t->ne[1] != ne1))
    return false;
  for (uint32_t i = want; i < t->ndim; i++)
    if (t->ne[i] != 1) return false;
  return true;
}

/* The tensor called name (formatted with the block number bid), checked:
** ne1 0 means a 1-D F32 vector of ne0 floats, else a matrix of ne1 rows of
** ne0 in any supported type. NULL when absent and optional; an absent
** required tensor, a wrong type or a wrong shape is an error naming it. */
static const kl_tensor *kl_want(kl_open *o, const char *fmt, int bid,
                                uint64_t ne0, uint64_t ne1, bool optional) {
  char name[96], got[96];
  const kl_tensor *t;
  if (o->failed) return NULL;
  snprintf(name, sizeof name, fmt, bid);
  t = kl_gguf_tensor(o->m->g, name);
  if (!t) {
    if (!optional) kl_fail(o, "tensor %s is missing", name);
    return NULL;
  }
  if (!kl_shape_is(t, ne0, ne1)) {
    kl_shape_str(t, got, sizeof got);
    if (ne1)
      kl_fail(o, "tensor %s: expected shape [%llu, %llu], found %s", name,
              (unsigned long long)ne0, (unsigned long long)ne1, got);
    else
      kl_fail(o, "tensor %s: expected shape [%llu], found %s", name,
              (unsigned long long)ne0, got);
    return NULL;
  }
  if (!ne1 && (t->type != KL_T_F32 || ((uintptr_t)t->data & 3))) {
    kl_fail(o, "tensor %s: expected an aligned F32 vector, found type %s",
            name, kl_type_name(t->type));
    return NULL;
  }
  if (ne1 && !kl_type_block(t->type)) {
    kl_fail(o, "tensor %s: unsupported type %u", name, t->type);
    return NULL;
  }
  return t;
}

/* The llama hyperparameters (llama.cpp's LLM_ARCH_LLAMA keys/defaults). */
static void kl_llama_hparams(kl_open *o) {
  kl_model *m = o->m;
  kl_str st;
  uint32_t kl, vl;
  m->n_ctx = kl_hp_u32(o, "context_length", false, 0, 1, KL_MAX_CTX);
  m->n_embd = kl_hp_u32(o, "embedding_length", false, 0, 1, KL_MAX_DIM);
  m->n_layer = kl_hp_u32(o, "block_count", false, 0, 1, KL_MAX_LAYERS);
  m->n_ff = kl_hp_u32(o, "feed_forward_length", false, 0, 1, KL_MAX_DIM);
  m->n_head = kl_hp_u32(o, "attention.head_count", false, 0, 1,
                        KL_MAX_HEADS);
  m->n_head_kv = kl_hp_u32(o, "attention.head_count_kv", true, m->n_head,
                           1, KL_MAX_HEADS);
  m->eps = kl_hp_f32(o, "attention.layer_norm_rms_epsilon", false, 0);
  m->rope_base = kl_hp_f32(o, "rope.freq_base", true, 10000.0f);
  if (o->failed) return;
  if (m->n_embd % m->n_head) {
    kl_fail(o, "embedding_length %u is not a multiple of head_count %u",
            m->n_embd, m->n_head);
    return;
  }
  m->head_dim = m->n_embd / m->n_head;
  kl = kl_hp_u32(o, "attention.key_length", true, m->head_dim, 1, KL_MAX_DIM);
  vl = kl_hp_u32(o, "attention.value_length", true, m->head_dim, 1,
                 KL_MAX_DIM);
  m->n_rot = kl_hp_u32(o, "rope.dimension_count", true, m->head_dim, 2,
                       KL_MAX_DIM);
  if (o->failed) return;
  if (kl != m->head_dim || vl != m->head_dim)
    kl_fail(o, "attention key/value length %u/%u differs from the head "
            "size %u (embedding_length / head_count): not supported",
            kl, vl, m->head_dim);
  else if (m->head_dim % 2)
    kl_fail(o, "head size %u is odd: RoPE rotates pairs", m->head_dim);
  else if (m->n_rot > m->head_dim || m->n_rot % 2)
    kl_fail(o, "rope.dimension_count %u: expected an even number up to the "
            "head size %u", m->n_rot, m->head_dim);
  else if (m->n_head % m->n_head_kv)
    kl_fail(o, "head_count %u is not a multiple of head_count_kv %u",
            m->n_head, m->n_head_kv);
  if (!o->failed && kl_hp_u32(o, "expert_count", true, 0, 0, 0xffffffffu))
    kl_fail(o, "llama.expert_count is set: mixture-of-experts models are "
            "not supported");
  m->rope_scale = 1.0f;
  if (kl_gguf_str(m->g, "llama.rope.scaling.type", &st) &&
      !(st.n == 4 && memcmp(st.s, "none", 4) == 0)) {
    if (st.n == 6 && memcmp(st.s, "linear", 6) == 0)
      m->rope_scale = 1.0f / kl_hp_f32(o, "rope.scaling.factor", false, 1);
    else
      kl_fail(o, "rope scaling '%.*s' is not supported (none, linear)",
              (int)(st.n > 32 ? 32 : st.n), st.s);
  }
}

/* The llama tensors (llama.cpp's shapes; output absent: tied to
** token_embd). */
static void kl_llama_tensors(kl_open *o) {
  kl_model *m = o->m;
  uint64_t d = m->n_embd, kv = (uint64_t)m->head_dim * m->n_head_kv;
  m->tok_embd = kl_want(o, "token_embd.weight", 0, d, m->n_vocab, false);
  m->out_norm = kl_want(o, "output_norm.weight", 0, d, 0, false);
  m->output = kl_want(o, "output.weight", 0, d, m->n_vocab, true);
  if (!m->output) m->output = m->tok_embd;
  m->rope_freqs = kl_want(o, "rope_freqs.weight", 0, m->n_rot / 2, 0, true);
  for (uint32_t i = 0; i < m->n_layer && !o->failed; i++) {
    kl_layer *l = &m->layers[i];
    l->attn_norm = kl_want(o, "blk.%d.attn_norm.weight", (int)i, d, 0, false);
    l->wq = kl_want(o, "blk.%d.attn_q.weight", (int)i, d, d, false);
    l->wk = kl_want(o, "blk.%d.attn_k.weight", (int)i, d, kv, false);
    l->wv = kl_want(o, "blk.%d.attn_v.weight", (int)i, d, kv, false);
    l->wo = kl_want(o, "blk.%d.attn_output.weight", (int)i, d, d, false);
    l->ffn_norm = kl_want(o, "blk.%d.ffn_norm.weight", (int)i, d, 0, false);
    l->gate = kl_want(o, "blk.%d.ffn_gate.weight", (int)i, d, m->n_ff, false);
    l->up = kl_want(o, "blk.%d.ffn_up.weight", (int)i, d, m->n_ff, false);
    l->down = kl_want(o, "blk.%d.ffn_down.weight", (int)i, m->n_ff, d, false);
  }
}

/* The bert hyperparameters (llama.cpp's LLM_ARCH_BERT keys). */
static void kl_bert_hparams(kl_open *o) {
  kl_model *m = o->m;
  bool causal = false;
  uint32_t pool;
  m->n_ctx = kl_hp_u32(o, "context_length", false, 0, 1, KL_MAX_CTX);
  m->n_embd = kl_hp_u32(o, "embedding_length", false, 0, 1, KL_MAX_DIM);
  m->n_layer = kl_hp_u32(o, "block_count", false, 0, 1, KL_MAX_LAYERS);
  m->n_ff = kl_hp_u32(o, "feed_forward_length", false, 0, 1, KL_MAX_DIM);
  m->n_head = kl_hp_u32(o, "attention.head_count", false, 0, 1,
                        KL_MAX_HEADS);
  m->n_head_kv = m->n_head;
  m->eps = kl_hp_f32(o, "attention.layer_norm_epsilon", false, 0);
  pool = kl_hp_u32(o, "pooling_type", true, KL_POOL_MEAN, 0, 0xffffffffu);
  if (o->failed) return;
  if (m->n_embd % m->n_head) {
    kl_fail(o, "embedding_length %u is not a multiple of head_count %u",
            m->n_embd, m->n_head);
    return;
  }
  m->head_dim = m->n_embd / m->n_head;
  if (kl_gguf_bool(m->g, "bert.attention.causal", &causal) && causal)
    kl_fail(o, "bert.attention.causal is true: not supported");
  else if (pool != 0 && pool != KL_POOL_MEAN && pool != KL_POOL_CLS)
    kl_fail(o, "bert.pooling_type %u is not supported (1 mean, 2 cls)",
            pool);
  m->pooling = pool == KL_POOL_CLS ? KL_POOL_CLS : KL_POOL_MEAN;
}

/* The bert tensors (llama.cpp's shapes; token_types is optional there). */
static void kl_bert_tensors(kl_open *o) {
  kl_model *m = o->m;
  uint64_t d = m->n_embd, ff = m->n_ff;
  m->tok_embd = kl_want(o, "token_embd.weight", 0, d, m->n_vocab, false);
  if (!o->failed && (m->type_embd = kl_gguf_tensor(m->g,
                                                   "token_types.weight")))
    m->type_embd = kl_want(o, "token_types.weight", 0, d,
                           m->type_embd->ndim > 1 ? m->type_embd->ne[1] : 0,
                           false);
  if (m->type_embd && m->type_embd->ndim < 2)
    kl_fail(o, "tensor token_types.weight: expected a matrix");
  m->pos_embd = kl_want(o, "position_embd.weight", 0, d, m->n_ctx, false);
  m->tok_norm = kl_want(o, "token_embd_norm.weight", 0, d, 0, false);
  m->tok_norm_b = kl_want(o, "token_embd_norm.bias", 0, d, 0, false);
  for (uint32_t i = 0; i < m->n_layer && !o->failed; i++) {
    kl_layer *l = &m->layers[i];
    int b = (int)i;
    l->wq = kl_want(o, "blk.%d.attn_q.weight", b, d, d, false);
    l->bq = kl_want(o, "blk.%d.attn_q.bias", b, d, 0, false);
    l->wk = kl_want(o, "blk.%d.attn_k.weight", b, d, d, false);
    l->bk = kl_want(o, "blk.%d.attn_k.bias", b, d, 0, false);
    l->wv = kl_want(o, "blk.%d.attn_v.weight", b, d, d, false);
    l->bv = kl_want(o, "blk.%d.attn_v.bias", b, d, 0, false);
    l->wo = kl_want(o, "blk.%d.attn_output.weight", b, d, d, false);
    l->bo = kl_want(o, "blk.%d.attn_output.bias", b, d, 0, false);
    l->attn_out_norm = kl_want(o, "blk.%d.attn_output_norm.weight", b, d, 0,
                               false);
    l->attn_out_norm_b = kl_want(o, "blk.%d.attn_output_norm.bias", b, d, 0,
                                 false);
    l->up = kl_want(o, "blk.%d.ffn_up.weight", b, d, ff, false);
    l->up_b = kl_want(o, "blk.%d.ffn_up.bias", b, ff, 0, false);
    l->down = kl_want(o, "blk.%d.ffn_down.weight", b, ff, d, false);
    l->down_b = kl_want(o, "blk.%d.ffn_down.bias", b, d, 0, false);
    l->out_norm = kl_want(o, "blk.%d.layer_output_norm.weight", b, d, 0,
                          false);
    l->out_norm_b = kl_want(o, "blk.%d.layer_output_norm.bias", b, d, 0,
                            false);
  }
}

/* Reads general.architecture into m->arch and o->arch. */
static void kl_read_arch(kl_open *o) {
  kl_str a;
  if (!kl_gguf_str(o->m->g, "general.architecture", &a)) {
    kl_fail(o, "metadata general.architecture is missing");
  } else if (a.n == 5 && memcmp(a.s, "llama", 5) == 0) {
    o->m->arch = KL_ARCH_LLAMA;
    o->arch = "llama";
  } else if (a.n == 4 && memcmp(a.s, "bert", 4) == 0) {
    o->m->arch = KL_ARCH_BERT;
    o->arch = "bert";
  } else {
    kl_fail(o, "architecture '%.*s' is not supported (llama, bert)",
            (int)(a.n > 64 ? 64 : a.n), a.s);
  }
}

/* Everything after the mapping: architecture, hyperparameters, vocabulary
** and tensors. */
static void kl_model_load(kl_open *o) {
  kl_model *m = o->m;
  char verr[KL_ERR_SIZE];
  kl_read_arch(o);
  if (o->failed) return;
  if (m->arch == KL_ARCH_LLAMA) kl_llama_hparams(o);
  else kl_bert_hparams(o);
  if (o->failed) return;
  m->vocab = kl_vocab_load(m->g, verr, sizeof verr);
  if (!m->vocab) {
    kl_fail(o, "%s", verr);
    return;
  }
  m->n_vocab = kl_vocab_size(m->vocab);
  m->layers = ku_calloc(m->n_layer, sizeof *m->layers);
  if (!m->layers) {
    kl_fail(o, "out of memory for %u layers", m->n_layer);
    return;
  }
  if (m->arch == KL_ARCH_LLAMA) kl_llama_tensors(o);
  else kl_bert_tensors(o);
}

/* Opens the model at path (see llm_internal.h). */
kl_model *kl_model_open(const char *path, char *err, size_t cap) {
  kl_open o = { 0 };
  char gerr[KL_ERR_SIZE];
  kl_model *m = ku_calloc(1, sizeof *m);
  if (!m || !(m->path = ku_strdup(path))) {
    ku_free(m);
    ku_fmt(err, cap, "%s: out of memory", path);
    return NULL;
  }
  o.m = m;
  o.err = err;
  o.cap = cap;
  m->g = kl_gguf_open(path, gerr, sizeof gerr);
  if (!m->g && strncmp(gerr, path, strlen(path)) == 0)
    ku_fmt(err, cap, "%s", gerr);   /* it names the file already */
  else if (!m->g)
    kl_fail(&o, "%s", gerr);
  else
    kl_model_load(&o);
  if (!m->g) o.failed = true;
  if (o.failed) {
    kl_model_free(m);
    return NULL;
  }
  return m;
}

/* Releases the model: its vocabulary, mapping and tables. */
void kl_model_free(kl_model *m) {
  if (!m) return;
  kl_vocab_free(m->vocab);
  kl_gguf_free(m->g);
  ku_free(m->layers);
  ku_free(m->path);
  ku_free(m);
}

int kl_model_arch(const kl_model *m) { return m->arch; }
const kl_vocab *kl_model_vocab(const kl_model *m) { return m->vocab; }
const kl_gguf *kl_model_gguf(const kl_model *m) { return m->g; }
bool kl_model_generates(const kl_model *m) { return m->arch == KL_ARCH_LLAMA; }
bool kl_model_embeds(const kl_model *m) { return m->arch == KL_ARCH_BERT; }
uint32_t kl_model_ctx(const kl_model *m) { return m->n_ctx; }
uint32_t kl_model_dim(const kl_model *m) { return m->n_embd; }
