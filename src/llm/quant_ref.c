/*
** quant_ref.c -- the portable reference kernels (kl_kern_ref): dot products
** of F32/F16/Q4_0/Q8_0/Q4_K/Q6_K rows, Q8_0/Q8_K activation quantizers,
** half-precision conversion. Not the SIMD kernels (src/platform/simd_x86.c).
*/
#include "llm/quant.h"

#include <math.h>
#include <string.h>

/* Bits of a float and back, without aliasing trouble. */
static uint32_t f32_bits(float f) {
  uint32_t u;
  memcpy(&u, &f, sizeof u);
  return u;
}

static float bits_f32(uint32_t u) {
  float f;
  memcpy(&f, &u, sizeof f);
  return f;
}

/* Normal, subnormal, infinite and NaN halves, widened exactly. */
float kl_f16_to_f32(uint16_t h) {
  uint32_t sign = (uint32_t)(h & 0x8000) << 16;
  uint32_t exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
  if (exp == 0) {
    float v = (float)mant * 0x1p-24f;    /* exact: 10 bits */
    return bits_f32(f32_bits(v) | sign);
  }
  if (exp == 31) return bits_f32(sign | 0x7f800000u | (mant << 13));
  return bits_f32(sign | ((exp + 112) << 23) | (mant << 13));
}

/* Round to nearest even by letting the FPU round: scaling the magnitude
** into place makes the float addition drop exactly the bits a half loses
** (the FP16 library's method, which ggml uses without F16C). */
uint16_t kl_f32_to_f16(float f) {
  float base = (fabsf(f) * 0x1p+112f) * 0x1p-110f;
  uint32_t w = f32_bits(f), shl1 = w + w, sign = w & 0x80000000u;
  uint32_t bias = shl1 & 0xff000000u;
  if (bias < 0x71000000u) bias = 0x71000000u;
  base = bits_f32((bias >> 1) + 0x07800000u) + base;
  uint32_t bits = f32_bits(base);
  uint32_t nonsign = ((bits >> 13) & 0x7c00u) + (bits & 0x0fffu);
  return (uint16_t)((sign >> 16) | (shl1 > 0xff000000u ? 0x7e00u : nonsign));
}

/* Eight running sums, so the compiler may vectorize without reordering. */
static float ref_dot_f32(const float *w, const float *x, size_t n) {
  float acc[8] = {0};
  size_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int k = 0; k < 8; k++) acc[k] += w[i + k] * x[i + k];
  float s = 0;
  for (; i < n; i++) s += w[i] * x[i];
  for (int k = 0; k < 8; k++) s += acc[k];
  return s;
}

static float ref_dot_f16(const uint16_t *w, const float *x, size_t n) {
  float acc[8] = {0};
  size_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int k = 0; k < 8; k++) acc[k] += kl_f16_to_f32(w[i + k]) * x[i + k];
  float s = 0;
  for (; i < n; i++) s += kl_f16_to_f32(w[i]) * x[i];
  for (int k = 0; k < 8; k++) s += acc[k];
  return s;
}

/* Q4_0 x Q8_0: an exact integer sum per block, scaled by both deltas. */
static float ref_dot_q4_0(const void *vw, const void *vx, size_t nb) {
  const kp_bq4_0 *w = vw;
  const kp_bq8_0 *x = vx;
  float sum = 0;
  for (size_t b = 0; b < nb; b++) {
    int s = 0;
    for (int j = 0; j < KP_QK32 / 2; j++) {
      s += ((w[b].qs[j] & 15) - 8) * x[b].qs[j];
      s += ((w[b].qs[j] >> 4) - 8) * x[b].qs[j + KP_QK32 / 2];
    }
    sum += (float)s * (kl_f16_to_f32(w[b].d) * kl_f16_to_f32(x[b].d));
  }
  return sum;
}

static float ref_dot_q8_0(const void *vw, const void *vx, size_t nb) {
  const kp_bq8_0 *w = vw, *x = vx;
  float sum = 0;
  for (size_t b = 0; b < nb; b++) {
    int s = 0;
    for (int j = 0; j < KP_QK32; j++) s += w[b].qs[j] * x[b].qs[j];
    sum += (float)s * (kl_f16_to_f32(w[b].d) * kl_f16_to_f32(x[b].d));
  }
  return sum;
}

/* ggml's get_scale_min_k4: scale and min of Q4_K sub-block j (6 bits each;
** 0-3 in the low bits of bytes 0-7, 4-7 split over bytes 8-11 and the
** top bits of bytes 0-7). */
static void scale_min_k4(int j, const uint8_t *q, int *sc, int *mn) {
  if (j < 4) {
    *sc = q[j] & 63;
    *mn = q[j + 4] & 63;
  } else {
    *sc = (q[j + 4] & 0xf) | ((q[j - 4] >> 6) << 4);
    *mn = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
  }
}

/* Q4_K x Q8_K: sub-block j's elements are d*sc_j*q - dmin*m_j, so the dot
** is d*dx*sum(sc_j * q.a) - dmin*dx*sum(m_j * (sum of a over j)), the
** latter from the activation's bsums. */
static float ref_dot_q4_K(const void *vw, const void *vx, size_t nb) {
  const kp_bq4_K *w = vw;
  const kp_bq8_K *x = vx;
  float sum = 0;
  for (size_t b = 0; b < nb; b++) {
    const uint8_t *q = w[b].qs;
    const int8_t *a = x[b].qs;
    int isum = 0, msum = 0;
    for (int g = 0; g < 4; g++, q += 32, a += 64) {
      int sc0, m0, sc1, m1, lo = 0, hi = 0;
      scale_min_k4(2 * g, w[b].scales, &sc0, &m0);
      scale_min_k4(2 * g + 1, w[b].scales, &sc1, &m1);
      for (int l = 0; l < 32; l++) {
        lo += (q[l] & 15) * a[l];
        hi += (q[l] >> 4) * a[l + 32];
      }
      isum += sc0 * lo + sc1 * hi;
      msum += m0 * (x[b].bsums[4 * g] + x[b].bsums[4 * g + 1]);
      msum += m1 * (x[b].bsums[4 * g + 2] + x[b].bsums[4 * g + 3]);
    }
    sum += kl_f16_to_f32(w[b].d) * x[b].d * (float)isum;
    sum -= kl_f16_to_f32(w[b].dmin) * x[b].d * (float)msum;
  }
  return sum;
}

/* Q6_K x Q8_K: each half of 128 elements takes its 4-bit lows from 64 ql
** bytes and its 2-bit highs from 32 qh bytes; 16 elements share a scale. */
static float ref_dot_q6_K(const void *vw, const void *vx, size_t nb) {
  const kp_bq6_K *w = vw;
  const kp_bq8_K *x = vx;
  float sum = 0;
  for (size_t b = 0; b < nb; b++) {
    int isum = 0;
    for (int h = 0; h < 2; h++) {
      const uint8_t *ql = w[b].ql + 64 * h, *qh = w[b].qh + 32 * h;
      const int8_t *sc = w[b].scales + 8 * h, *a = x[b].qs + 128 * h;
      for (int l = 0; l < 32; l++) {
        int is = l / 16;
        int q1 = ((ql[l] & 15) | ((qh[l] & 3) << 4)) - 32;
        int q2 = ((ql[l + 32] & 15) | (((qh[l] >> 2) & 3) << 4)) - 32;
        int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
        int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
        isum += sc[is] * q1 * a[l] + sc[is + 2] * q2 * a[l + 32] +
                sc[is + 4] * q3 * a[l + 64] + sc[is + 6] * q4 * a[l + 96];
      }
    }
    sum += kl_f16_to_f32(w[b].d) * x[b].d * (float)isum;
  }
  return sum;
}

/* As ggml's x86 quantize_row_q8_0: d = amax/127 (stored as a half), each
** x * (127/amax) rounded to nearest even. */
static void ref_quant_q8_0(const float *x, void *vout, size_t nb) {
  kp_bq8_0 *out = vout;
  for (size_t b = 0; b < nb; b++, x += KP_QK32) {
    float amax = 0;
    for (int j = 0; j < KP_QK32; j++) amax = fmaxf(amax, fabsf(x[j]));
    float id = amax != 0 ? 127.f / amax : 0.f;
    out[b].d = kl_f32_to_f16(amax / 127.f);
    for (int j = 0; j < KP_QK32; j++)
      out[b].qs[j] = (int8_t)nearbyintf(x[j] * id);
  }
}

/* As ggml's quantize_row_q8_K_ref: the element of largest magnitude maps to
** -127 (its sign kept in d), rounding to nearest even; bsums per 16. */
static void ref_quant_q8_K(const float *x, void *vout, size_t nb) {
  kp_bq8_K *out = vout;
  for (size_t b = 0; b < nb; b++, x += KP_QK_K) {
    float amax = 0, max = 0;
    for (int j = 0; j < KP_QK_K; j++)
      if (fabsf(x[j]) > amax) { amax = fabsf(x[j]); max = x[j]; }
    memset(&out[b], 0, sizeof out[b]);
    if (amax == 0) continue;
    float iscale = -127.f / max;
    for (int j = 0; j < KP_QK_K; j++) {
      long v = lrintf(iscale * x[j]);
      out[b].qs[j] = (int8_t)(v > 127 ? 127 : v);
    }
    for (int g = 0; g < KP_QK_K / 16; g++) {
      int s = 0;
      for (int j = 0; j < 16; j++) s += out[b].qs[16 * g + j];
      out[b].bsums[g] = (int16_t)s;
    }
    out[b].d = 1 / iscale;
  }
}

/* The row loops: one per type, each dot taking n elements as its blocks. */
#define ROWS(name, dot, type, per)                                           \
  static void name(const void *w, size_t rb, size_t nr, const void *x,     \
                   size_t n, float *y) {                                   \
    for (size_t r = 0; r < nr; r++)                                        \
      y[r] = dot((const type *)(const void *)((const uint8_t *)w + r * rb), \
                 x, n / (per));                                            \
  }
ROWS(ref_rows_f32, ref_dot_f32, float, 1)
ROWS(ref_rows_f16, ref_dot_f16, uint16_t, 1)
ROWS(ref_rows_q4_0, ref_dot_q4_0, uint8_t, KP_QK32)
ROWS(ref_rows_q8_0, ref_dot_q8_0, uint8_t, KP_QK32)
ROWS(ref_rows_q4_K, ref_dot_q4_K, uint8_t, KP_QK_K)
ROWS(ref_rows_q6_K, ref_dot_q6_K, uint8_t, KP_QK_K)

const kp_kern kl_kern_ref = {
  "scalar", ref_dot_f32, ref_dot_f16, ref_dot_q4_0, ref_dot_q8_0,
  ref_dot_q4_K, ref_dot_q6_K, ref_quant_q8_0, ref_quant_q8_K,
  ref_rows_f32, ref_rows_f16, ref_rows_q4_0, ref_rows_q8_0, ref_rows_q4_K,
  ref_rows_q6_K,
};
