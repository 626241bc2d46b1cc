/*
** quant.c -- the tensor types krait reads (block sizes, names) and row
** dequantization (kl_get_row), exactly as ggml's dequantize_row_*.
** Not the dot products (quant_ref.c, src/platform) or matrix loops (quant_mat.c).
*/
#include "llm/quant.h"

#include <string.h>

/* One row of the type table. */
typedef struct type_info {
  uint32_t type, block, size;
  const char *name;
} type_info;

static const type_info types[] = {
  { KL_T_F32, 1, sizeof(float), "F32" },
  { KL_T_F16, 1, sizeof(uint16_t), "F16" },
  { KL_T_Q4_0, KP_QK32, sizeof(kp_bq4_0), "Q4_0" },
  { KL_T_Q8_0, KP_QK32, sizeof(kp_bq8_0), "Q8_0" },
  { KL_T_Q4_K, KP_QK_K, sizeof(kp_bq4_K), "Q4_K" },
  { KL_T_Q6_K, KP_QK_K, sizeof(kp_bq6_K), "Q6_K" },
};

_Static_assert(sizeof(kp_bq4_0) == 18, "block_q4_0 is 18 bytes");
_Static_assert(sizeof(kp_bq8_0) == 34, "block_q8_0 is 34 bytes");
_Static_assert(sizeof(kp_bq4_K) == 144, "block_q4_K is 144 bytes");
_Static_assert(sizeof(kp_bq6_K) == 210, "block_q6_K is 210 bytes");
_Static_assert(sizeof(kp_bq8_K) == 292, "block_q8_K is 292 bytes");

static const type_info *type_find(uint32_t type) {
  for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
    if (types[i].type == type) return &types[i];
  return NULL;
}

uint32_t kl_type_block(uint32_t type) {
  const type_info *t = type_find(type);
  return t ? t->block : 0;
}

uint32_t kl_type_size(uint32_t type) {
  const type_info *t = type_find(type);
  return t ? t->size : 0;
}

const char *kl_type_name(uint32_t type) {
  const type_info *t = type_find(type);
  return t ? t->name : "unknown";
}

/* ne[0] / block blocks of size bytes (ne[0] is a multiple of the block:
** the GGUF reader checks it). */
uint64_t kl_row_bytes(const kl_tensor *t) {
  const type_info *ti = type_find(t->type);
  return ti ? t->ne[0] / ti->block * ti->size : 0;
}

static void deq_f16(const uint16_t *w, float *out, uint64_t n) {
  for (uint64_t i = 0; i < n; i++) out[i] = kl_f16_to_f32(w[i]);
}

/* Element j of a block is d * (low nibble of qs[j] - 8), j + 16 the high. */
static void deq_q4_0(const kp_bq4_0 *w, float *out, uint64_t nb) {
  for (uint64_t b = 0; b < nb; b++, out += KP_QK32) {
    float d = kl_f16_to_f32(w[b].d);
    for (int j = 0; j < KP_QK32 / 2; j++) {
      out[j] = (float)((w[b].qs[j] & 15) - 8) * d;
      out[j + KP_QK32 / 2] = (float)((w[b].qs[j] >> 4) - 8) * d;
    }
  }
}

static void deq_q8_0(const kp_bq8_0 *w, float *out, uint64_t nb) {
  for (uint64_t b = 0; b < nb; b++, out += KP_QK32) {
    float d = kl_f16_to_f32(w[b].d);
    for (int j = 0; j < KP_QK32; j++) out[j] = (float)w[b].qs[j] * d;
  }
}

/* The same unpacking of Q4_K's 6-bit scales and mins as the reference dot
** (ggml's get_scale_min_k4). */
static void scale_min(int j, const uint8_t *q, float *sc, float *mn) {
  int s, m;
  if (j < 4) {
    s = q[j] & 63;
    m = q[j + 4] & 63;
  } else {
    s = (q[j + 4] & 0xf) | ((q[j - 4] >> 6) << 4);
    m = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
  }
  *sc = (float)s;
  *mn = (float)m;
}

/* Each 64 elements: 32 bytes, the low nibbles first (sub-block 2g), then
** the high ones (2g + 1): x = d*sc*q - dmin*m. */
static void deq_q4_K(const kp_bq4_K *w, float *out, uint64_t nb) {
  for (uint64_t b = 0; b < nb; b++) {
    float d = kl_f16_to_f32(w[b].d), dmin = kl_f16_to_f32(w[b].dmin);
    const uint8_t *q = w[b].qs;
    for (int g = 0; g < 4; g++, q += 32) {
      float s0, m0, s1, m1;
      scale_min(2 * g, w[b].scales, &s0, &m0);
      scale_min(2 * g + 1, w[b].scales, &s1, &m1);
      float d1 = d * s0, n1 = dmin * m0, d2 = d * s1, n2 = dmin * m1;
      for (int l = 0; l < 32; l++) *out++ = d1 * (float)(q[l] & 15) - n1;
      for (int l = 0; l < 32; l++) *out++ = d2 * (float)(q[l] >> 4) - n2;
    }
  }
}

/* ggml's dequantize_row_q6_K, half by half. */
static void deq_q6_K(const kp_bq6_K *w, float *out, uint64_t nb) {
  for (uint64_t b = 0; b < nb; b++) {
    float d = kl_f16_to_f32(w[b].d);
    for (int h = 0; h < 2; h++, out += 128) {
      const uint8_t *ql = w[b].ql + 64 * h, *qh = w[b].qh + 32 * h;
      const int8_t *sc = w[b].scales + 8 * h;
      for (int l = 0; l < 32; l++) {
        int is = l / 16;
        int q1 = ((ql[l] & 15) | ((qh[l] & 3) << 4)) - 32;
        int q2 = ((ql[l + 32] & 15) | (((qh[l] >> 2) & 3) << 4)) - 32;
        int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
        int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
        out[l] = d * (float)sc[is] * (float)q1;
        out[l + 32] = d * (float)sc[is + 2] * (float)q2;
        out[l + 64] = d * (float)sc[is + 4] * (float)q3;
        out[l + 96] = d * (float)sc[is + 6] * (float)q4;
      }
    }
  }
}

void kl_get_row(const kl_tensor *t, uint64_t i, float *out) {
  uint64_t n = t->ne[0], rb = kl_row_bytes(t);
  const uint8_t *row = t->data + i * rb;
  uint64_t nb = kl_type_block(t->type) ? n / kl_type_block(t->type) : 0;
  switch (t->type) {
  case KL_T_F32: memcpy(out, row, n * sizeof(float)); break;
  case KL_T_F16: deq_f16((const uint16_t *)(const void *)row, out, n); break;
  case KL_T_Q4_0: deq_q4_0((const kp_bq4_0 *)(const void *)row, out, nb); break;
  case KL_T_Q8_0: deq_q8_0((const kp_bq8_0 *)(const void *)row, out, nb); break;
  case KL_T_Q4_K: deq_q4_K((const kp_bq4_K *)(const void *)row, out, nb); break;
  case KL_T_Q6_K: deq_q6_K((const kp_bq6_K *)(const void *)row, out, nb); break;
  default: memset(out, 0, n * sizeof(float)); break;
  }
}
