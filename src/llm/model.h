/*
** model.h -- the layout of an opened model (struct kl_model) that model.c
** fills and the forward passes (llama.c, bert.c) read. Not the checks
** (model.c) nor the arithmetic (llama.c, bert.c).
*/
#ifndef KL_MODEL_H
#define KL_MODEL_H

#include "llm/llm_internal.h"

/* The tensors of one block. A llama block uses the first nine; a bert
** block the attention projections, their biases and the post-norms. 1-D
** tensors (norm weights, biases) are F32 and read in place as floats. */
typedef struct kl_layer {
  const kl_tensor *wq, *wk, *wv, *wo;
  const kl_tensor *attn_norm, *ffn_norm;          /* llama: pre-norms */
  const kl_tensor *gate, *up, *down;
  const kl_tensor *bq, *bk, *bv, *bo;             /* bert: biases */
  const kl_tensor *attn_out_norm, *attn_out_norm_b;
  const kl_tensor *up_b, *down_b;
  const kl_tensor *out_norm, *out_norm_b;
} kl_layer;

/* Pooling of a bert model's token rows (GGUF <arch>.pooling_type). */
enum { KL_POOL_MEAN = 1, KL_POOL_CLS = 2 };

struct kl_model {
  char *path;              /* the file, for messages */
  kl_gguf *g;
  kl_vocab *vocab;
  int arch;                /* KL_ARCH_* */
  uint32_t n_ctx;          /* training context length */
  uint32_t n_embd, n_layer, n_ff, n_head, n_head_kv, head_dim, n_rot;
  uint32_t n_vocab;
  float eps;               /* RMSNorm (llama) or LayerNorm (bert) epsilon */
  float rope_base;         /* RoPE frequency base */
  float rope_scale;        /* linear position scale (1 / scaling factor) */
  int pooling;             /* KL_POOL_* (bert) */
  const kl_tensor *tok_embd;
  const kl_tensor *out_norm, *output, *rope_freqs;   /* llama */
  const kl_tensor *type_embd, *pos_embd;             /* bert */
  const kl_tensor *tok_norm, *tok_norm_b;            /* bert */
  kl_layer *layers;        /* n_layer blocks */
};

/* The floats of a 1-D F32 tensor (checked F32 and aligned at open). */
static inline const float *kl_f32(const kl_tensor *t) {
  return (const float *)(const void *)t->data;
}

#endif
