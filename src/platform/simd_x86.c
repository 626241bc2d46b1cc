/*
** simd_x86.c -- the x86-64 kernels of simd.h (AVX2+FMA+F16C, AVX-512 VNNI)
** and the CPU probe that picks them; elsewhere a stub with none. Not the
** portable reference kernels or the matrix loops (src/llm/quant*.c).
*/
#include "platform/simd.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <cpuid.h>
#include <immintrin.h>

#define AVX2 __attribute__((target("avx2,fma,f16c")))
/* The dots, inlined into their row loops. */
#define AVX2_DOT static inline __attribute__((always_inline, target("avx2,fma,f16c")))

void kp_cpu_relax(void) {
  _mm_pause();
}

/* XCR0: which register states the OS saves (AVX: 0x6; AVX-512 adds
** 0xe0). */
static uint64_t xcr0(void) {
  uint32_t lo, hi;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return ((uint64_t)hi << 32) | lo;
}

/* Which level this CPU and its OS support, from CPUID and XCR0. */
static int cpu_level(void) {
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
  bool fma = c >> 12 & 1, osxsave = c >> 27 & 1, f16c = c >> 29 & 1;
  if (!fma || !osxsave || !f16c || (xcr0() & 0x6) != 0x6) return 0;
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d) || !(b >> 5 & 1)) return 0;
  bool avx512 = (b >> 16 & 1) && (b >> 30 & 1) && (b >> 31 & 1) &&
                (c >> 11 & 1) && (xcr0() & 0xe0) == 0xe0;  /* F BW VL VNNI */
  return avx512 ? KP_KERN_AVX512 : KP_KERN_AVX2;
}

/* How far ahead of the block it reads a kernel asks for weights: cold
** matvecs over 1024-column K-quant rows gained 10-20% (bench/llm/kern.c). */
#define PREFETCH 2048

/* Prefetches lines [p + PREFETCH, + 64 * n). */
static inline void prefetch(const void *p, int n) {
  for (int i = 0; i < n; i++) _mm_prefetch((const char *)p + PREFETCH + 64 * i, _MM_HINT_T0);
}

/* The sum of a vector's 8 lanes. */
static inline AVX2 float hsum8(__m256 v) {
  __m128 r = _mm_add_ps(_mm256_extractf128_ps(v, 1), _mm256_castps256_ps128(v));
  r = _mm_add_ps(r, _mm_movehl_ps(r, r));
  r = _mm_add_ss(r, _mm_movehdup_ps(r));
  return _mm_cvtss_f32(r);
}

static inline AVX2 float h2f(uint16_t h) {
  return _cvtsh_ss(h);
}

AVX2_DOT float avx2_dot_f32(const float *w, const float *x, size_t n) {
  __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    a0 = _mm256_fmadd_ps(_mm256_loadu_ps(w + i), _mm256_loadu_ps(x + i), a0);
    a1 = _mm256_fmadd_ps(_mm256_loadu_ps(w + i + 8), _mm256_loadu_ps(x + i + 8), a1);
    a2 = _mm256_fmadd_ps(_mm256_loadu_ps(w + i + 16), _mm256_loadu_ps(x + i + 16), a2);
    a3 = _mm256_fmadd_ps(_mm256_loadu_ps(w + i + 24), _mm256_loadu_ps(x + i + 24), a3);
  }
  for (; i + 8 <= n; i += 8)
    a0 = _mm256_fmadd_ps(_mm256_loadu_ps(w + i), _mm256_loadu_ps(x + i), a0);
  float s = hsum8(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
  for (; i < n; i++) s += w[i] * x[i];
  return s;
}

static inline AVX2 __m256 load_h8(const uint16_t *w) {
  return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(const void *)w));
}

AVX2_DOT float avx2_dot_f16(const uint16_t *w, const float *x, size_t n) {
  __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    a0 = _mm256_fmadd_ps(load_h8(w + i), _mm256_loadu_ps(x + i), a0);
    a1 = _mm256_fmadd_ps(load_h8(w + i + 8), _mm256_loadu_ps(x + i + 8), a1);
    a2 = _mm256_fmadd_ps(load_h8(w + i + 16), _mm256_loadu_ps(x + i + 16), a2);
    a3 = _mm256_fmadd_ps(load_h8(w + i + 24), _mm256_loadu_ps(x + i + 24), a3);
  }
  for (; i + 8 <= n; i += 8)
    a0 = _mm256_fmadd_ps(load_h8(w + i), _mm256_loadu_ps(x + i), a0);
  float s = hsum8(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
  for (; i < n; i++) s += h2f(w[i]) * x[i];
  return s;
}

/* Signed bytes x . y in 8 int32 lanes as floats: |x| times y with x's sign
** (maddubs wants one unsigned side; |x| <= 128, so pairs fit int16). */
static inline AVX2 __m256 mul_sum_i8(__m256i x, __m256i y) {
  __m256i p = _mm256_maddubs_epi16(_mm256_sign_epi8(x, x), _mm256_sign_epi8(y, x));
  return _mm256_cvtepi32_ps(_mm256_madd_epi16(p, _mm256_set1_epi16(1)));
}

/* 32 nibbles of a Q4_0 block as bytes minus 8: the low nibbles (elements
** 0-15) in the low lane, the high ones (16-31) in the high lane. */
static inline AVX2 __m256i q4_0_bytes(const uint8_t *qs) {
  __m128i t = _mm_loadu_si128((const __m128i *)(const void *)qs);
  __m256i b = _mm256_set_m128i(_mm_srli_epi16(t, 4), t);
  b = _mm256_and_si256(b, _mm256_set1_epi8(15));
  return _mm256_sub_epi8(b, _mm256_set1_epi8(8));
}

static inline AVX2 __m256i load32(const void *p) {
  return _mm256_loadu_si256((const __m256i *)p);
}

AVX2_DOT float avx2_dot_q4_0(const void *vw, const void *vx, size_t nb) {
  const kp_bq4_0 *w = vw;
  const kp_bq8_0 *x = vx;
  __m256 a0 = _mm256_setzero_ps(), a1 = a0;
  size_t b = 0;
  for (; b + 2 <= nb; b += 2) {
    prefetch(w + b, sizeof *w * 2 > 64 ? 2 : 1);
    __m256 d0 = _mm256_set1_ps(h2f(w[b].d) * h2f(x[b].d));
    __m256 d1 = _mm256_set1_ps(h2f(w[b + 1].d) * h2f(x[b + 1].d));
    a0 = _mm256_fmadd_ps(d0, mul_sum_i8(q4_0_bytes(w[b].qs), load32(x[b].qs)), a0);
    a1 = _mm256_fmadd_ps(d1, mul_sum_i8(q4_0_bytes(w[b + 1].qs), load32(x[b + 1].qs)), a1);
  }
  for (; b < nb; b++) {
    __m256 d0 = _mm256_set1_ps(h2f(w[b].d) * h2f(x[b].d));
    a0 = _mm256_fmadd_ps(d0, mul_sum_i8(q4_0_bytes(w[b].qs), load32(x[b].qs)), a0);
  }
  return hsum8(_mm256_add_ps(a0, a1));
}

AVX2_DOT float avx2_dot_q8_0(const void *vw, const void *vx, size_t nb) {
  const kp_bq8_0 *w = vw, *x = vx;
  __m256 a0 = _mm256_setzero_ps(), a1 = a0;
  size_t b = 0;
  for (; b + 2 <= nb; b += 2) {
    prefetch(w + b, sizeof *w * 2 > 64 ? 2 : 1);
    __m256 d0 = _mm256_set1_ps(h2f(w[b].d) * h2f(x[b].d));
    __m256 d1 = _mm256_set1_ps(h2f(w[b + 1].d) * h2f(x[b + 1].d));
    a0 = _mm256_fmadd_ps(d0, mul_sum_i8(load32(w[b].qs), load32(x[b].qs)), a0);
    a1 = _mm256_fmadd_ps(d1, mul_sum_i8(load32(w[b + 1].qs), load32(x[b + 1].qs)), a1);
  }
  for (; b < nb; b++) {
    __m256 d0 = _mm256_set1_ps(h2f(w[b].d) * h2f(x[b].d));
    a0 = _mm256_fmadd_ps(d0, mul_sum_i8(load32(w[b].qs), load32(x[b].qs)), a0);
  }
  return hsum8(_mm256_add_ps(a0, a1));
}

/* Q4_K's 12 scale bytes as 8 scales then 8 mins, one byte each (ggml's
** kmask shuffle of get_scale_min_k4). */
static inline void k4_unpack(const uint8_t *s12, uint8_t out[16]) {
  uint32_t u[4];
  memcpy(u, s12, 12);
  u[3] = ((u[2] >> 4) & 0x0f0f0f0f) | (((u[1] >> 6) & 0x03030303) << 4);
  uint32_t m = u[1] & 0x3f3f3f3f;
  u[1] = (u[2] & 0x0f0f0f0f) | (((u[0] >> 6) & 0x03030303) << 4);
  u[2] = m;
  u[0] &= 0x3f3f3f3f;
  memcpy(out, u, 16);
}

/* Byte shuffles that spread the int16 at lane word i over a 128-bit lane. */
static const uint8_t w16_shuffle[8][32] = {
#define W(i) { 2*i, 2*i+1, 2*i, 2*i+1, 2*i, 2*i+1, 2*i, 2*i+1, 2*i, 2*i+1, 2*i, 2*i+1, \
               2*i, 2*i+1, 2*i, 2*i+1, 2*i, 2*i+1, 2*i, 2*i+1, 2*i, 2*i+1, 2*i, 2*i+1, \
               2*i, 2*i+1, 2*i, 2*i+1, 2*i, 2*i+1, 2*i, 2*i+1 }
  W(0), W(1), W(2), W(3), W(4), W(5), W(6), W(7)
#undef W
};

/* Q4_K x Q8_K as ggml's AVX2 kernel: per 64 elements one 32-byte load of
** nibbles, maddubs against the activation, madd by the sub-block scale
** (shuffled out of one register); the mins through the activation's
** bsums. */
AVX2_DOT float avx2_dot_q4_K(const void *vw, const void *vx, size_t nb) {
  const kp_bq4_K *w = vw;
  const kp_bq8_K *x = vx;
  const __m256i m4 = _mm256_set1_epi8(15);
  __m256 acc = _mm256_setzero_ps();
  __m128 accm = _mm_setzero_ps();
  for (size_t b = 0; b < nb; b++) {
    uint8_t sm[16];
    prefetch(w + b, 3);
    k4_unpack(w[b].scales, sm);
    float d = x[b].d * h2f(w[b].d), dmin = -x[b].d * h2f(w[b].dmin);
    __m256i ms = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)(const void *)sm));
    __m256i bs = load32(x[b].bsums);
    __m128i bsum = _mm_hadd_epi16(_mm256_castsi256_si128(bs), _mm256_extracti128_si256(bs, 1));
    __m128i mprod = _mm_madd_epi16(_mm256_extracti128_si256(ms, 1), bsum);
    accm = _mm_fmadd_ps(_mm_set1_ps(dmin), _mm_cvtepi32_ps(mprod), accm);
    __m256i sc = _mm256_permute2x128_si256(ms, ms, 0x00);
    const uint8_t *q4 = w[b].qs;
    const int8_t *q8 = x[b].qs;
    __m256i sumi = _mm256_setzero_si256();
    for (int j = 0; j < 4; j++, q4 += 32, q8 += 64) {
      __m256i bits = load32(q4);
      __m256i lo = _mm256_and_si256(bits, m4);
      __m256i hi = _mm256_and_si256(_mm256_srli_epi16(bits, 4), m4);
      __m256i pl = _mm256_maddubs_epi16(lo, load32(q8));
      __m256i ph = _mm256_maddubs_epi16(hi, load32(q8 + 32));
      pl = _mm256_madd_epi16(_mm256_shuffle_epi8(sc, load32(w16_shuffle[2 * j])), pl);
      ph = _mm256_madd_epi16(_mm256_shuffle_epi8(sc, load32(w16_shuffle[2 * j + 1])), ph);
      sumi = _mm256_add_epi32(sumi, _mm256_add_epi32(pl, ph));
    }
    acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sumi), acc);
  }
  accm = _mm_add_ps(accm, _mm_movehl_ps(accm, accm));
  accm = _mm_add_ss(accm, _mm_movehdup_ps(accm));
  return hsum8(acc) + _mm_cvtss_f32(accm);
}

/* Byte shuffles that spread scale 2i over 8 bytes and 2i+1 over the next 8
** (Q6_K: 16 elements, i.e. 8 int16 pairs, share a scale). */
static const uint8_t k6_shuffle[8][16] = {
  { 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1 },
  { 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3 },
  { 4, 4, 4, 4, 4, 4, 4, 4, 5, 5, 5, 5, 5, 5, 5, 5 },
  { 6, 6, 6, 6, 6, 6, 6, 6, 7, 7, 7, 7, 7, 7, 7, 7 },
  { 8, 8, 8, 8, 8, 8, 8, 8, 9, 9, 9, 9, 9, 9, 9, 9 },
  { 10, 10, 10, 10, 10, 10, 10, 10, 11, 11, 11, 11, 11, 11, 11, 11 },
  { 12, 12, 12, 12, 12, 12, 12, 12, 13, 13, 13, 13, 13, 13, 13, 13 },
  { 14, 14, 14, 14, 14, 14, 14, 14, 15, 15, 15, 15, 15, 15, 15, 15 },
};

/* 32 6-bit quants (q + 32) against 32 activations, scaled in pairs of 16:
** maddubs(q, a) - maddubs(32, a) is (q - 32) . a. */
static inline AVX2 __m256i q6_part(__m256i q, __m256i a, __m128i scales, int i) {
  __m128i s = _mm_shuffle_epi8(scales, _mm_loadu_si128((const __m128i *)(const void *)k6_shuffle[i]));
  __m256i p = _mm256_sub_epi16(_mm256_maddubs_epi16(q, a),
                               _mm256_maddubs_epi16(_mm256_set1_epi8(32), a));
  return _mm256_madd_epi16(_mm256_cvtepi8_epi16(s), p);
}

/* Q6_K x Q8_K as ggml's AVX2 kernel: per 128 elements 64 bytes of lows and
** 32 of highs make four vectors of 32 quants. */
AVX2_DOT float avx2_dot_q6_K(const void *vw, const void *vx, size_t nb) {
  const kp_bq6_K *w = vw;
  const kp_bq8_K *x = vx;
  const __m256i m4 = _mm256_set1_epi8(15), m2 = _mm256_set1_epi8(3);
  __m256 acc = _mm256_setzero_ps();
  for (size_t b = 0; b < nb; b++) {
    prefetch(w + b, 4);
    __m128i scales = _mm_loadu_si128((const __m128i *)(const void *)w[b].scales);
    const uint8_t *ql = w[b].ql, *qh = w[b].qh;
    const int8_t *q8 = x[b].qs;
    __m256i sumi = _mm256_setzero_si256();
    for (int j = 0; j < 2; j++, ql += 64, qh += 32, q8 += 128) {
      __m256i l1 = load32(ql), l2 = load32(ql + 32), h = load32(qh);
      __m256i h0 = _mm256_slli_epi16(_mm256_and_si256(h, m2), 4);
      __m256i h1 = _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(h, 2), m2), 4);
      __m256i h2 = _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(h, 4), m2), 4);
      __m256i h3 = _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(h, 6), m2), 4);
      __m256i q0 = _mm256_or_si256(_mm256_and_si256(l1, m4), h0);
      __m256i q1 = _mm256_or_si256(_mm256_and_si256(l2, m4), h1);
      __m256i q2 = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), m4), h2);
      __m256i q3 = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l2, 4), m4), h3);
      __m256i s01 = _mm256_add_epi32(q6_part(q0, load32(q8), scales, 4 * j),
                                     q6_part(q1, load32(q8 + 32), scales, 4 * j + 1));
      __m256i s23 = _mm256_add_epi32(q6_part(q2, load32(q8 + 64), scales, 4 * j + 2),
                                     q6_part(q3, load32(q8 + 96), scales, 4 * j + 3));
      sumi = _mm256_add_epi32(sumi, _mm256_add_epi32(s01, s23));
    }
    acc = _mm256_fmadd_ps(_mm256_set1_ps(x[b].d * h2f(w[b].d)), _mm256_cvtepi32_ps(sumi), acc);
  }
  return hsum8(acc);
}

/* The largest |x| of 8n floats (n >= 1). */
static inline AVX2 float amax_ps(const float *x, int n) {
  const __m256 sign = _mm256_set1_ps(-0.0f);
  __m256 m = _mm256_andnot_ps(sign, _mm256_loadu_ps(x));
  for (int i = 1; i < n; i++) m = _mm256_max_ps(m, _mm256_andnot_ps(sign, _mm256_loadu_ps(x + 8 * i)));
  __m128 r = _mm_max_ps(_mm256_extractf128_ps(m, 1), _mm256_castps256_ps128(m));
  r = _mm_max_ps(r, _mm_movehl_ps(r, r));
  r = _mm_max_ss(r, _mm_movehdup_ps(r));
  return _mm_cvtss_f32(r);
}

/* 32 floats times id, rounded to nearest even, capped at 127, as bytes in
** order. */
static inline AVX2 __m256i round32(const float *x, __m256 id) {
  __m256i v[4];
  for (int k = 0; k < 4; k++) {
    __m256 f = _mm256_round_ps(_mm256_mul_ps(_mm256_loadu_ps(x + 8 * k), id),
                               _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    v[k] = _mm256_min_epi32(_mm256_cvtps_epi32(f), _mm256_set1_epi32(127));
  }
  __m256i p = _mm256_packs_epi16(_mm256_packs_epi32(v[0], v[1]), _mm256_packs_epi32(v[2], v[3]));
  return _mm256_permutevar8x32_epi32(p, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

static AVX2 void avx2_quant_q8_0(const float *x, void *vout, size_t nb) {
  kp_bq8_0 *out = vout;
  for (size_t b = 0; b < nb; b++, x += KP_QK32) {
    float amax = amax_ps(x, 4);
    out[b].d = _cvtss_sh(amax / 127.f, 0);
    __m256i q = round32(x, _mm256_set1_ps(amax != 0 ? 127.f / amax : 0.f));
    _mm256_storeu_si256((__m256i *)(void *)out[b].qs, q);
  }
}

/* The element of largest magnitude, the first one on a tie of +a and -a
** (as the reference's strict > scan). */
static inline AVX2 float signed_max(const float *x, float amax) {
  int j = 0;
  while (x[j] != amax && x[j] != -amax) j++;
  return x[j];
}

static AVX2 void avx2_quant_q8_K(const float *x, void *vout, size_t nb) {
  kp_bq8_K *out = vout;
  for (size_t b = 0; b < nb; b++, x += KP_QK_K) {
    float amax = amax_ps(x, KP_QK_K / 8);
    memset(&out[b], 0, sizeof out[b]);
    if (amax == 0) continue;
    float iscale = -127.f / signed_max(x, amax);
    for (int k = 0; k < KP_QK_K; k += 32) {
      __m256i q = round32(x + k, _mm256_set1_ps(iscale));
      _mm256_storeu_si256((__m256i *)(void *)(out[b].qs + k), q);
      __m256i s = _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_set1_epi8(1), q),
                                    _mm256_set1_epi16(1));   /* sums of 4 */
      s = _mm256_hadd_epi32(s, s);                              /* of 8 */
      s = _mm256_hadd_epi32(s, s);                              /* of 16 */
      out[b].bsums[k / 16] = (int16_t)_mm256_extract_epi32(s, 0);
      out[b].bsums[k / 16 + 1] = (int16_t)_mm256_extract_epi32(s, 4);
    }
    out[b].d = 1 / iscale;
  }
}

/* The row loops: one per type, each dot taking n elements as its blocks. */
#define ROWS(name, dot, type, per)                                           \
  static AVX2 void name(const void *w, size_t rb, size_t nr, const void *x, \
                        size_t n, float *y) {                              \
    for (size_t r = 0; r < nr; r++)                                        \
      y[r] = dot((const type *)(const void *)((const uint8_t *)w + r * rb), \
                 x, n / (per));                                            \
  }
ROWS(avx2_rows_f32, avx2_dot_f32, float, 1)
ROWS(avx2_rows_f16, avx2_dot_f16, uint16_t, 1)
ROWS(avx2_rows_q4_0, avx2_dot_q4_0, uint8_t, KP_QK32)
ROWS(avx2_rows_q8_0, avx2_dot_q8_0, uint8_t, KP_QK32)
ROWS(avx2_rows_q4_K, avx2_dot_q4_K, uint8_t, KP_QK_K)
ROWS(avx2_rows_q6_K, avx2_dot_q6_K, uint8_t, KP_QK_K)

static const kp_kern kern_avx2 = {
  "avx2", avx2_dot_f32, avx2_dot_f16, avx2_dot_q4_0, avx2_dot_q8_0,
  avx2_dot_q4_K, avx2_dot_q6_K, avx2_quant_q8_0, avx2_quant_q8_K,
  avx2_rows_f32, avx2_rows_f16, avx2_rows_q4_0, avx2_rows_q8_0,
  avx2_rows_q4_K, avx2_rows_q6_K,
};

const kp_kern *kp_kern_level(int level) {
  if (level == KP_KERN_AVX2 && cpu_level() >= KP_KERN_AVX2) return &kern_avx2;
  return NULL;
}

#else

void kp_cpu_relax(void) {
}

static int cpu_level(void) {
  return 0;
}

const kp_kern *kp_kern_level(int level) {
  (void)level;
  return NULL;
}

#endif

/* The best level, capped by KRAIT_SIMD (off, avx2, avx512). */
const kp_kern *kp_kern_best(void) {
  const char *env = getenv("KRAIT_SIMD");
  int cap = KP_KERN_AVX512;
  if (env && strcmp(env, "off") == 0) return NULL;
  if (env && strcmp(env, "avx2") == 0) cap = KP_KERN_AVX2;
  for (int l = cpu_level() < cap ? cpu_level() : cap; l > 0; l--) {
    const kp_kern *k = kp_kern_level(l);
    if (k) return k;
  }
  return NULL;
}
