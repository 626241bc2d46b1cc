/*
** tests/host/test_llm_quant.c -- the LLM engine's tensor kernels and pool:
** types, kl_get_row on hand-made blocks, kl_matvec/kl_matmul against F32
** over dequantized rows, SIMD vs reference, the pool. Owns no engine code.
*/
#include "llm/quant.h"
#include "util/util.h"
#include "test.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

static const uint32_t all_types[] = { KL_T_F32, KL_T_F16, KL_T_Q4_0,
                                      KL_T_Q8_0, KL_T_Q4_K, KL_T_Q6_K };

/* ---- deterministic data and test quantizers ----------------------------- */

static uint64_t rng = 88172645463325252ull;

static uint32_t rnd(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return (uint32_t)(rng >> 16);
}

/* Uniform in [-1, 1). */
static float frnd(void) {
  return (float)(rnd() % 2000001) / 1000000.0f - 1.0f;
}

static int clampi(int v, int lo, int hi) {
  return v < lo ? lo : v > hi ? hi : v;
}

/* ggml's quantize_row_q4_0_ref. */
static void q_q4_0(const float *x, kp_bq4_0 *b) {
  float amax = 0, max = 0;
  for (int j = 0; j < 32; j++)
    if (fabsf(x[j]) > amax) { amax = fabsf(x[j]); max = x[j]; }
  float d = max / -8, id = d ? 1.0f / d : 0.0f;
  b->d = kl_f32_to_f16(d);
  for (int j = 0; j < 16; j++) {
    int a = clampi((int8_t)(x[j] * id + 8.5f), 0, 15);
    int c = clampi((int8_t)(x[j + 16] * id + 8.5f), 0, 15);
    b->qs[j] = (uint8_t)(a | c << 4);
  }
}

/* ggml's quantize_row_q8_0_ref. */
static void q_q8_0(const float *x, kp_bq8_0 *b) {
  float amax = 0;
  for (int j = 0; j < 32; j++) amax = fmaxf(amax, fabsf(x[j]));
  float d = amax / 127, id = d ? 1.0f / d : 0.0f;
  b->d = kl_f32_to_f16(d);
  for (int j = 0; j < 32; j++) b->qs[j] = (int8_t)roundf(x[j] * id);
}

/* Q4_K's 8 scales and mins (6 bits) packed as get_scale_min_k4 reads
** them. */
static void pack_k4(const int *sc, const int *mn, uint8_t *q) {
  for (int j = 0; j < 4; j++) {
    q[j] = (uint8_t)((sc[j] & 63) | (sc[j + 4] >> 4) << 6);
    q[j + 4] = (uint8_t)((mn[j] & 63) | (mn[j + 4] >> 4) << 6);
    q[j + 8] = (uint8_t)((sc[j + 4] & 15) | (mn[j + 4] & 15) << 4);
  }
}

/* A plain round-to-nearest Q4_K: per sub-block scale (max-min)/15 and
** min -min, both quantized to 6 bits against the block's largest. */
static void q_q4_K(const float *x, kp_bq4_K *b) {
  float s[8], m[8], smax = 0, mmax = 0;
  for (int j = 0; j < 8; j++) {
    float lo = 0, hi = 0;
    for (int l = 0; l < 32; l++) { lo = fminf(lo, x[32 * j + l]); hi = fmaxf(hi, x[32 * j + l]); }
    s[j] = (hi - lo) / 15;
    m[j] = -lo;
    smax = fmaxf(smax, s[j]);
    mmax = fmaxf(mmax, m[j]);
  }
  float d = smax / 63, dmin = mmax / 63;
  b->d = kl_f32_to_f16(d);
  b->dmin = kl_f32_to_f16(dmin);
  d = kl_f16_to_f32(b->d);
  dmin = kl_f16_to_f32(b->dmin);
  int sc[8], mn[8];
  for (int j = 0; j < 8; j++) {
    sc[j] = d ? clampi((int)lrintf(s[j] / d), 0, 63) : 0;
    mn[j] = dmin ? clampi((int)lrintf(m[j] / dmin), 0, 63) : 0;
  }
  pack_k4(sc, mn, b->scales);
  memset(b->qs, 0, sizeof b->qs);
  for (int e = 0; e < 256; e++) {
    int j = e / 32, g = e / 64, l = e % 32;
    float ds = d * (float)sc[j], ms = dmin * (float)mn[j];
    int q = ds ? clampi((int)lrintf((x[e] + ms) / ds), 0, 15) : 0;
    b->qs[32 * g + l] |= (uint8_t)(j % 2 ? q << 4 : q);
  }
}

/* Places the 6-bit q (0..63) of element e of a Q6_K block. */
static void put_q6(kp_bq6_K *b, int e, int q) {
  int h = e / 128, r = e % 128, l = r % 32, part = r / 32;
  uint8_t *ql = b->ql + 64 * h, *qh = b->qh + 32 * h;
  int li = l + (part & 1) * 32, shift = (part >> 1) * 4;
  ql[li] |= (uint8_t)((q & 15) << shift);
  qh[l] |= (uint8_t)((q >> 4) << (2 * part));
}

/* A plain Q6_K: per 16 elements a scale amax/31 quantized to int8 against
** the block's largest, q in -32..31. */
static void q_q6_K(const float *x, kp_bq6_K *b) {
  float s[16], smax = 0;
  memset(b, 0, sizeof *b);
  for (int g = 0; g < 16; g++) {
    float a = 0;
    for (int l = 0; l < 16; l++) a = fmaxf(a, fabsf(x[16 * g + l]));
    s[g] = a / 31;
    smax = fmaxf(smax, s[g]);
  }
  b->d = kl_f32_to_f16(smax / 127);
  float d = kl_f16_to_f32(b->d);
  for (int g = 0; g < 16; g++) b->scales[g] = (int8_t)(d ? clampi((int)lrintf(s[g] / d), -128, 127) : 0);
  for (int e = 0; e < 256; e++) {
    float ds = d * (float)b->scales[e / 16];
    put_q6(b, e, (ds ? clampi((int)lrintf(x[e] / ds), -32, 31) : 0) + 32);
  }
}

/* A rows x cols tensor of type with random weights (data ku_malloc'ed). */
static kl_tensor make_tensor(uint32_t type, uint64_t rows, uint64_t cols) {
  kl_tensor t;
  memset(&t, 0, sizeof t);
  t.type = type;
  t.ndim = 2;
  t.ne[0] = cols;
  t.ne[1] = rows;
  uint64_t rb = cols / kl_type_block(type) * kl_type_size(type);
  uint8_t *d = ku_malloc(rb * rows + 1);
  float *x = ku_malloc(cols * sizeof(float));
  for (uint64_t r = 0; r < rows; r++) {
    uint8_t *row = d + r * rb;
    for (uint64_t c = 0; c < cols; c++) x[c] = frnd();
    for (uint64_t c = 0; c < cols; c++) {
      if (type == KL_T_F32) memcpy(row + 4 * c, &x[c], 4);
      else if (type == KL_T_F16) { uint16_t h = kl_f32_to_f16(x[c]); memcpy(row + 2 * c, &h, 2); }
    }
    for (uint64_t b = 0; b < cols / kl_type_block(type) && kl_type_block(type) > 1; b++) {
      void *blk = row + b * kl_type_size(type);
      const float *xb = x + b * kl_type_block(type);
      if (type == KL_T_Q4_0) q_q4_0(xb, blk);
      else if (type == KL_T_Q8_0) q_q8_0(xb, blk);
      else if (type == KL_T_Q4_K) q_q4_K(xb, blk);
      else q_q6_K(xb, blk);
    }
  }
  ku_free(x);
  t.data = d;
  t.nbytes = rb * rows;
  return t;
}

static float *rnd_vec(uint64_t n) {
  float *x = ku_malloc(n * sizeof(float));
  for (uint64_t i = 0; i < n; i++) x[i] = frnd();
  return x;
}

/* ---- types and rows ----------------------------------------------------- */

static void test_types(void) {
  CHECK_INT(kl_type_block(KL_T_F32), 1);
  CHECK_INT(kl_type_size(KL_T_F32), 4);
  CHECK_INT(kl_type_size(KL_T_F16), 2);
  CHECK_INT(kl_type_block(KL_T_Q4_0), 32);
  CHECK_INT(kl_type_size(KL_T_Q4_0), 18);
  CHECK_INT(kl_type_size(KL_T_Q8_0), 34);
  CHECK_INT(kl_type_block(KL_T_Q4_K), 256);
  CHECK_INT(kl_type_size(KL_T_Q4_K), 144);
  CHECK_INT(kl_type_size(KL_T_Q6_K), 210);
  CHECK_STR(kl_type_name(KL_T_Q4_K), "Q4_K");
  CHECK_STR(kl_type_name(KL_T_Q6_K), "Q6_K");
  CHECK_STR(kl_type_name(KL_T_F16), "F16");
  CHECK_INT(kl_type_block(3), 0);            /* Q4_1: not read */
  CHECK_INT(kl_type_size(99), 0);
  CHECK_STR(kl_type_name(13), "unknown");
}

/* Every half round-trips; halfway cases round to even; specials. */
static void test_f16(void) {
  for (uint32_t h = 0; h < 65536; h++) {
    if ((h & 0x7c00) == 0x7c00 && (h & 0x3ff)) continue;   /* NaN */
    CHECK_INT(kl_f32_to_f16(kl_f16_to_f32((uint16_t)h)), h);
  }
  CHECK(kl_f16_to_f32(0x3c00) == 1.0f);
  CHECK(kl_f16_to_f32(0xc000) == -2.0f);
  CHECK(kl_f16_to_f32(0x0001) == 0x1p-24f);
  CHECK(isinf(kl_f16_to_f32(0x7c00)));
  CHECK(isnan(kl_f16_to_f32(0x7e00)));
  CHECK_INT(kl_f32_to_f16(1.0f + 0x1p-11f), 0x3c00);           /* tie: even */
  CHECK_INT(kl_f32_to_f16(1.0f + 3 * 0x1p-11f), 0x3c02);       /* tie: even */
  CHECK_INT(kl_f32_to_f16(1.0f + 0x1p-11f + 0x1p-20f), 0x3c01);
  CHECK_INT(kl_f32_to_f16(65520.0f), 0x7c00);                  /* overflow */
  CHECK_INT(kl_f32_to_f16(0x1p-25f), 0x0000);                  /* tie to 0 */
  CHECK_INT(kl_f32_to_f16(0x1p-25f + 0x1p-30f), 0x0001);
  CHECK_INT(kl_f32_to_f16(-0.0f), 0x8000);
}

/* A 2-row tensor over data, reading row 1 (row 0 is garbage). */
static kl_tensor two_rows(uint32_t type, uint64_t cols, uint8_t *data) {
  kl_tensor t;
  memset(&t, 0, sizeof t);
  t.type = type;
  t.ndim = 2;
  t.ne[0] = cols;
  t.ne[1] = 2;
  t.data = data;
  return t;
}

static void test_get_row_float(void) {
  float f[6] = { 9, 9, 9, 1.5f, -2, 0.25f }, out[3];
  kl_tensor t = two_rows(KL_T_F32, 3, (uint8_t *)f);
  kl_get_row(&t, 1, out);
  CHECK(out[0] == 1.5f && out[1] == -2 && out[2] == 0.25f);
  uint16_t h[4] = { 0xffff, 0xffff, 0x3e00, 0xb400 };      /* 1.5, -0.25 */
  t = two_rows(KL_T_F16, 2, (uint8_t *)h);
  kl_get_row(&t, 1, out);
  CHECK(out[0] == 1.5f && out[1] == -0.25f);
}

static void test_get_row_q4_0_q8_0(void) {
  kp_bq4_0 b4[2];
  memset(b4, 0xaa, sizeof b4);
  memset(&b4[1], 0, sizeof b4[1]);
  b4[1].d = 0x3800;                      /* 0.5 */
  b4[1].qs[0] = 0x1f;                    /* e0: 15-8, e16: 1-8 */
  b4[1].qs[15] = 0x80;                   /* e15: 0-8, e31: 8-8 */
  float out[32];
  kl_tensor t = two_rows(KL_T_Q4_0, 32, (uint8_t *)b4);
  kl_get_row(&t, 1, out);
  CHECK(out[0] == 3.5f && out[16] == -3.5f && out[15] == -4.0f && out[31] == 0.0f);
  CHECK(out[1] == -4.0f);
  kp_bq8_0 b8[2];
  memset(b8, 0x55, sizeof b8);
  memset(&b8[1], 0, sizeof b8[1]);
  b8[1].d = 0xc000;                      /* -2 */
  b8[1].qs[0] = -128;
  b8[1].qs[31] = 127;
  t = two_rows(KL_T_Q8_0, 32, (uint8_t *)b8);
  kl_get_row(&t, 1, out);
  CHECK(out[0] == 256.0f && out[31] == -254.0f && out[5] == 0.0f);
}

/* Q4_K: d 1, dmin 0.5; sub-block 0 scale 2 min 4, sub-block 4 scale 37
** min 19 (bits split over bytes 0, 4 and 8). */
static void test_get_row_q4_K(void) {
  kp_bq4_K b[2];
  memset(b, 0xcc, sizeof b);
  memset(&b[1], 0, sizeof b[1]);
  b[1].d = 0x3c00;
  b[1].dmin = 0x3800;
  b[1].scales[0] = 0x82;                 /* sc0 2, sc4 >> 4 = 2 */
  b[1].scales[4] = 0x44;                 /* m0 4, m4 >> 4 = 1 */
  b[1].scales[8] = 0x35;                 /* sc4 & 15 = 5, m4 & 15 = 3 */
  b[1].qs[0] = 0x93;                     /* e0: 3, e32: 9 */
  b[1].qs[64] = 0x0a;                    /* e128: 10 */
  float out[256];
  kl_tensor t = two_rows(KL_T_Q4_K, 256, (uint8_t *)b);
  kl_get_row(&t, 1, out);
  CHECK(out[0] == 1 * 2 * 3 - 0.5f * 4);
  CHECK(out[1] == -2.0f);
  CHECK(out[32] == 0.0f);                /* sub-block 1: scale 0, min 0 */
  CHECK(out[128] == 37 * 10 - 0.5f * 19);
  CHECK(out[129] == -9.5f);
}

/* Q6_K: d 0.25; elements 0, 32, 64 of the first half, 128 of the second. */
static void test_get_row_q6_K(void) {
  kp_bq6_K b[2];
  memset(b, 0x77, sizeof b);
  memset(&b[1], 0, sizeof b[1]);
  b[1].d = 0x3400;
  b[1].scales[0] = 3;
  b[1].scales[2] = -2;
  b[1].scales[4] = 1;
  b[1].scales[8] = -1;
  b[1].ql[0] = 0xa5;                     /* e0 low 5, e64 low 10 */
  b[1].qh[0] = 0x09;                     /* e0 high 1, e32 high 2, e64 0 */
  b[1].ql[32] = 0x07;                    /* e32 low 7 */
  b[1].ql[64] = 0x0f;                    /* e128 low 15 */
  b[1].qh[32] = 0x03;                    /* e128 high 3 */
  float out[256];
  kl_tensor t = two_rows(KL_T_Q6_K, 256, (uint8_t *)b);
  kl_get_row(&t, 1, out);
  CHECK(out[0] == 0.25f * 3 * (21 - 32));
  CHECK(out[32] == 0.25f * -2 * (39 - 32));
  CHECK(out[64] == 0.25f * 1 * (10 - 32));
  CHECK(out[128] == 0.25f * -1 * 31);
  CHECK(out[1] == 0.25f * 3 * -32);
  CHECK(out[16] == 0.0f);                /* scales[1] is 0 */
}

/* The test quantizers against kl_get_row: the dequantized row is close to
** what was quantized (round trip within half a step), for every type. */
static void test_get_row_roundtrip(void) {
  for (size_t ti = 2; ti < KU_COUNT(all_types); ti++) {
    uint32_t type = all_types[ti];
    float x[256], y[256];
    for (int i = 0; i < 256; i++) x[i] = frnd();
    uint8_t blk[8 * 256];
    for (int b = 0; b < 256 / (int)kl_type_block(type); b++) {
      void *p = blk + b * kl_type_size(type);
      const float *xb = x + b * kl_type_block(type);
      if (type == KL_T_Q4_0) q_q4_0(xb, p);
      else if (type == KL_T_Q8_0) q_q8_0(xb, p);
      else if (type == KL_T_Q4_K) q_q4_K(xb, p);
      else q_q6_K(xb, p);
    }
    kl_tensor t = two_rows(type, 256, blk);
    t.ne[1] = 1;
    kl_get_row(&t, 0, y);
    float step = type == KL_T_Q8_0 ? 1.0f / 127 : type == KL_T_Q6_K ? 1.0f / 31 : 2.0f / 15;
    for (int i = 0; i < 256; i++) CHECK(fabsf(x[i] - y[i]) <= step * 0.75f + 0.02f);
  }
}

/* ---- matvec against F32 over dequantized rows --------------------------- */

/* The activation as the kernels see it: x quantized and dequantized the way
** the weight type's dot uses it (Q8_0 or Q8_K; unchanged for floats), and
** per element the largest error that rounding may add (Q8_0: half a step
** of amax/127, plus 127 steps of the half-precision rounding of d, 2^-11
** relative; Q8_K: half a step of amax/127). */
static void act_deq(uint32_t type, const float *x, uint64_t n, float *xd,
                    float *bound) {
  const kp_kern *k = kl_kern();
  if (type == KL_T_F32 || type == KL_T_F16) {
    for (uint64_t i = 0; i < n; i++) { xd[i] = x[i]; bound[i] = 0; }
  } else if (type == KL_T_Q4_0 || type == KL_T_Q8_0) {
    kp_bq8_0 q;
    for (uint64_t b = 0; b < n / 32; b++) {
      k->quant_q8_0(x + 32 * b, &q, 1);
      float amax = 0;
      for (int j = 0; j < 32; j++) amax = fmaxf(amax, fabsf(x[32 * b + j]));
      for (int j = 0; j < 32; j++) {
        xd[32 * b + j] = (float)q.qs[j] * kl_f16_to_f32(q.d);
        bound[32 * b + j] = amax / 127 * (0.5f + 127.0f / 2048) * 1.001f;
      }
    }
  } else {
    kp_bq8_K q;
    for (uint64_t b = 0; b < n / 256; b++) {
      k->quant_q8_K(x + 256 * b, &q, 1);
      float amax = 0;
      for (int j = 0; j < 256; j++) amax = fmaxf(amax, fabsf(x[256 * b + j]));
      for (int j = 0; j < 256; j++) {
        xd[256 * b + j] = (float)q.qs[j] * q.d;
        bound[256 * b + j] = amax / 127 * 0.5f * 1.001f;
      }
    }
  }
}

/* y against two references, row by row: (1) the dot in double of the
** dequantized row with the dequantized activation, which only float
** accumulation order separates from the kernel (1e-5 of the sum of
** |terms|); (2) the dot with x itself, which may differ by at most the sum
** of |w_j| * the activation's rounding bound. */
static int check_rows(const kl_tensor *w, const float *x, const float *y) {
  uint64_t n = w->ne[0];
  float *row = ku_malloc(n * sizeof(float)), *xd = ku_malloc(n * sizeof(float));
  float *bound = ku_malloc(n * sizeof(float));
  act_deq(w->type, x, n, xd, bound);
  int bad = 0;
  for (uint64_t r = 0; r < w->ne[1] && !bad; r++) {
    kl_get_row(w, r, row);
    double exact = 0, mag = 0, ideal = 0, err = 0;
    for (uint64_t j = 0; j < n; j++) {
      exact += (double)row[j] * xd[j];
      mag += fabs((double)row[j] * xd[j]);
      ideal += (double)row[j] * x[j];
      err += fabs((double)row[j]) * bound[j];
    }
    if (fabs(y[r] - exact) > 1e-5 * mag + 1e-6 || fabs(y[r] - ideal) > err + 1e-5 * mag + 1e-6) {
      printf("  %s %llux%llu row %llu: got %.7g, dequantized %.7g, f32 %.7g (bound %.3g)\n",
             kl_type_name(w->type), (unsigned long long)w->ne[1], (unsigned long long)n,
             (unsigned long long)r, y[r], exact, ideal, err);
      bad = 1;
    }
  }
  ku_free(row);
  ku_free(xd);
  ku_free(bound);
  return !bad;
}

/* Odd row counts, every type, pools of 1..4 and none. */
static void test_matvec_types(void) {
  static const uint64_t rows[] = { 1, 3, 7, 33, 257 };
  for (int nth = 0; nth <= 4; nth++) {
    kl_pool *p = nth ? kl_pool_new(nth) : NULL;
    CHECK(p || !nth);
    for (size_t ti = 0; ti < KU_COUNT(all_types); ti++) {
      for (size_t ri = 0; ri < KU_COUNT(rows); ri++) {
        uint64_t cols = kl_type_block(all_types[ti]) == 256 ? 512 : 96;
        kl_tensor w = make_tensor(all_types[ti], rows[ri], cols);
        float *x = rnd_vec(cols), *y = ku_malloc(rows[ri] * sizeof(float));
        kl_matvec(p, &w, x, y);
        int ok = check_rows(&w, x, y);
        ku_free((void *)w.data);
        ku_free(x);
        ku_free(y);
        CHECK(ok);
      }
    }
    kl_pool_free(p);
  }
}

/* Rows wider than one quantization pass (8192 columns) for every type. */
static void test_matvec_wide(void) {
  kl_pool *p = kl_pool_new(2);
  CHECK(p);
  for (size_t ti = 0; ti < KU_COUNT(all_types); ti++) {
    uint64_t cols = 8192 + 512;
    kl_tensor w = make_tensor(all_types[ti], 5, cols);
    float *x = rnd_vec(cols), y[5];
    kl_matvec(p, &w, x, y);
    int ok = check_rows(&w, x, y);
    ku_free((void *)w.data);
    ku_free(x);
    CHECK(ok);
  }
  kl_pool_free(p);
}

/* kl_matmul gives each vector what kl_matvec gives it, bit for bit, with
** and without memory for the quantized batch. */
static void test_matmul(void) {
  kl_pool *p = kl_pool_new(3);
  CHECK(p);
  for (size_t ti = 0; ti < KU_COUNT(all_types); ti++) {
    for (int fail = 0; fail < 2; fail++) {
      uint64_t cols = 1024, rows = 37;
      uint32_t nx = 5;
      kl_tensor w = make_tensor(all_types[ti], rows, cols);
      float *x = rnd_vec(cols * nx), *y = ku_malloc(rows * nx * sizeof(float));
      float *y1 = ku_malloc(rows * sizeof(float));
      if (fail) ku_fail_alloc_after(0);
      kl_matmul(p, &w, x, nx, y);
      ku_fail_alloc_after(-1);
      int same = 1, ok = 1;
      for (uint32_t v = 0; v < nx; v++) {
        kl_matvec(p, &w, x + v * cols, y1);
        same &= memcmp(y1, y + v * rows, rows * sizeof(float)) == 0;
        ok &= check_rows(&w, x + v * cols, y + v * rows);
      }
      ku_free((void *)w.data);
      ku_free(x);
      ku_free(y);
      ku_free(y1);
      CHECK(same);
      CHECK(ok);
    }
  }
  kl_pool_free(p);
}

/* ---- SIMD against the reference ----------------------------------------- */

/* Random bytes for a block's quants, with the block's scales set to finite
** halves; extremes included (bytes are any value). */
static void rnd_blocks(uint32_t type, uint8_t *p, size_t nb) {
  size_t sz = kl_type_size(type);
  for (size_t i = 0; i < nb * sz; i++) p[i] = (uint8_t)rnd();
  for (size_t b = 0; b < nb; b++, p += sz) {
    uint16_t d = kl_f32_to_f16(frnd() * 0.1f), d2 = kl_f32_to_f16(frnd() * 0.1f);
    if (type == KL_T_Q6_K) memcpy(p + 208, &d, 2);
    else memcpy(p, &d, 2);
    if (type == KL_T_Q4_K) memcpy(p + 2, &d2, 2);
  }
}

/* Each level's dots against the reference on random (and extreme) data
** (1e-5 of the sum of |terms|: only the order of float additions differs),
** and its quantizers byte for byte. */
static void check_level(const kp_kern *k) {
  const kp_kern *r = &kl_kern_ref;
  enum { NB = 16 };
  static uint8_t w[NB * 256 * 4], xq[NB * sizeof(kp_bq8_K)], xr[NB * sizeof(kp_bq8_K)];
  float x[NB * 256];
  for (int rep = 0; rep < 50; rep++) {
    size_t nb = 1 + rnd() % NB;
    for (size_t i = 0; i < nb * 256; i++) x[i] = frnd() * (rep % 3 ? 1.0f : 100.0f);
    if (rep == 7) x[5] = 0, memset(x, 0, 256 * sizeof(float));   /* zero block */
    k->quant_q8_0(x, xq, nb * 8);
    r->quant_q8_0(x, xr, nb * 8);
    CHECK(memcmp(xq, xr, nb * 8 * sizeof(kp_bq8_0)) == 0);
    for (int t = 0; t < 2; t++) {
      uint32_t type = t ? KL_T_Q8_0 : KL_T_Q4_0;
      rnd_blocks(type, w, nb * 8);
      float a = t ? k->dot_q8_0(w, xq, nb * 8) : k->dot_q4_0(w, xq, nb * 8);
      float b = t ? r->dot_q8_0(w, xq, nb * 8) : r->dot_q4_0(w, xq, nb * 8);
      CHECK(fabsf(a - b) <= 1e-5f * (fabsf(b) + 1) * 100);
    }
    k->quant_q8_K(x, xq, nb);
    r->quant_q8_K(x, xr, nb);
    CHECK(memcmp(xq, xr, nb * sizeof(kp_bq8_K)) == 0);
    for (int t = 0; t < 2; t++) {
      uint32_t type = t ? KL_T_Q6_K : KL_T_Q4_K;
      rnd_blocks(type, w, nb);
      float a = t ? k->dot_q6_K(w, xq, nb) : k->dot_q4_K(w, xq, nb);
      float b = t ? r->dot_q6_K(w, xq, nb) : r->dot_q4_K(w, xq, nb);
      CHECK(fabsf(a - b) <= 1e-5f * (fabsf(b) + 1) * 100);
    }
    size_t n = 1 + rnd() % (nb * 256);
    float a = k->dot_f32((const float *)x, x, n), b = r->dot_f32(x, x, n);
    if (!(fabsf(a - b) <= 1e-5f * b + 1e-6f)) printf("  f32 n=%zu got %.9g want %.9g\n", n, a, b);
    CHECK(fabsf(a - b) <= 1e-5f * b + 1e-6f);
    uint16_t h[NB * 256];
    for (size_t i = 0; i < n; i++) h[i] = kl_f32_to_f16(frnd());
    a = k->dot_f16(h, x, n);
    b = r->dot_f16(h, x, n);
    float mag = 0;
    for (size_t i = 0; i < n; i++) mag += fabsf(kl_f16_to_f32(h[i]) * x[i]);
    CHECK(fabsf(a - b) <= 1e-5f * mag + 1e-6f);
  }
}

/* The row loops of a level against the reference's over 3 rows. */
static void check_rows_fns(const kp_kern *k) {
  const kp_kern *r = &kl_kern_ref;
  static uint8_t w[3 * 2048 * 4];
  float x[2048], ya[3], yb[3];
  _Alignas(64) static uint8_t xq[8 * sizeof(kp_bq8_K) * 8];
  for (int i = 0; i < 2048; i++) x[i] = frnd();
  for (size_t ti = 0; ti < KU_COUNT(all_types); ti++) {
    uint32_t type = all_types[ti];
    kp_rows_fn *fk[] = { k->rows_f32, k->rows_f16, k->rows_q4_0, k->rows_q8_0, k->rows_q4_K, k->rows_q6_K };
    kp_rows_fn *fr[] = { r->rows_f32, r->rows_f16, r->rows_q4_0, r->rows_q8_0, r->rows_q4_K, r->rows_q6_K };
    size_t n = 2048, rb = n / kl_type_block(type) * kl_type_size(type);
    if (type == KL_T_F32) for (size_t i = 0; i < 3 * n; i++) ((float *)(void *)w)[i] = frnd();
    else if (type == KL_T_F16) for (size_t i = 0; i < 3 * n; i++) ((uint16_t *)(void *)w)[i] = kl_f32_to_f16(frnd());
    else rnd_blocks(type, w, 3 * n / kl_type_block(type));
    const void *xa = x;
    if (kl_type_block(type) == 32) { r->quant_q8_0(x, xq, n / 32); xa = xq; }
    if (kl_type_block(type) == 256) { r->quant_q8_K(x, xq, n / 256); xa = xq; }
    fk[ti](w, rb, 3, xa, n, ya);
    fr[ti](w, rb, 3, xa, n, yb);
    for (int i = 0; i < 3; i++) CHECK(fabsf(ya[i] - yb[i]) <= 1e-4f * (fabsf(yb[i]) + 1));
  }
}

static void test_simd_levels(void) {
  int tested = 0;
  for (int l = KP_KERN_AVX2; l <= KP_KERN_AVX512; l++) {
    const kp_kern *k = kp_kern_level(l);
    if (!k) continue;
    printf("  checking %s\n", k->name);
    check_level(k);
    if (t_failed_now) return;
    check_rows_fns(k);
    if (t_failed_now) return;
    tested++;
  }
  printf("  %d SIMD level(s) on this CPU; in use: %s\n", tested, kl_kern()->name);
}

/* kl_matvec through every level gives what the reference does. */
static void test_simd_matvec(void) {
  kl_pool *p = kl_pool_new(2);
  CHECK(p);
  for (size_t ti = 0; ti < KU_COUNT(all_types); ti++) {
    kl_tensor w = make_tensor(all_types[ti], 19, 2048);
    float *x = rnd_vec(2048), yr[19], y[19];
    kl_kern_use(&kl_kern_ref);
    kl_matvec(p, &w, x, yr);
    int ok = 1;
    for (int l = KP_KERN_AVX2; l <= KP_KERN_AVX512; l++) {
      if (!kp_kern_level(l)) continue;
      kl_kern_use(kp_kern_level(l));
      kl_matvec(p, &w, x, y);
      for (int r = 0; r < 19; r++) ok &= fabsf(y[r] - yr[r]) <= 1e-4f * (fabsf(yr[r]) + 1);
      ok &= check_rows(&w, x, y);
    }
    kl_kern_use(NULL);
    ku_free((void *)w.data);
    ku_free(x);
    CHECK(ok);
  }
  kl_pool_free(p);
}

/* ---- the pool ----------------------------------------------------------- */

typedef struct pool_job {
  _Atomic int calls[8];
  _Atomic int bad;
} pool_job;

static _Atomic(void *) job_owner;

/* Counts its call; checks the n it is given and that no other job runs. */
static void pool_fn(void *arg, int i, int n) {
  pool_job *j = arg;
  atomic_fetch_add(&j->calls[i], 1);
  if (n < 1 || n > 8 || i < 0 || i >= n) atomic_store(&j->bad, 1);
  void *prev = atomic_exchange(&job_owner, arg);
  if (prev && prev != arg) atomic_store(&j->bad, 1);
  for (volatile int k = 0; k < 200; k++) {}
  void *expect = arg;
  atomic_compare_exchange_strong(&job_owner, &expect, NULL);
  if (expect != arg && expect) atomic_store(&j->bad, 1);
}

/* Each share runs exactly once per job, with pauses longer than the spin
** between some jobs (the sleep path). */
static void test_pool_sizes(void) {
  for (int n = -1; n <= 4; n++) {
    kl_pool *p = kl_pool_new(n);
    CHECK(p);
    int sz = kl_pool_size(p);
    CHECK_INT(sz, n < 1 ? 1 : n);
    pool_job j;
    memset(&j, 0, sizeof j);
    for (int r = 0; r < 3000; r++) {
      kl_pool_run(p, pool_fn, &j);
      if (r % 500 == 0) usleep(2000);
    }
    kl_pool_free(p);
    CHECK(!atomic_load(&j.bad));
    for (int i = 0; i < sz; i++) CHECK_INT(atomic_load(&j.calls[i]), 3000);
  }
}

typedef struct caller {
  kl_pool *p;
  pool_job j;
} caller;

static void *caller_main(void *arg) {
  caller *c = arg;
  for (int r = 0; r < 2000; r++) {
    kl_pool_run(c->p, pool_fn, &c->j);
    if (r % 700 == 0) usleep(1000);
  }
  return NULL;
}

/* Four threads share one pool: jobs never overlap, none is lost. */
static void test_pool_concurrent(void) {
  kl_pool *p = kl_pool_new(3);
  CHECK(p);
  caller c[4];
  pthread_t t[4];
  memset(c, 0, sizeof c);
  for (int i = 0; i < 4; i++) {
    c[i].p = p;
    CHECK(pthread_create(&t[i], NULL, caller_main, &c[i]) == 0);
  }
  for (int i = 0; i < 4; i++) pthread_join(t[i], NULL);
  kl_pool_free(p);
  for (int i = 0; i < 4; i++) {
    CHECK(!atomic_load(&c[i].j.bad));
    for (int k = 0; k < 3; k++) CHECK_INT(atomic_load(&c[i].j.calls[k]), 2000);
  }
}

/* Every allocation of kl_pool_new failing in turn: NULL, nothing leaked
** (the ASan tier), and a later pool works. */
static void test_pool_faults(void) {
  int nulls = 0;
  for (long k = 0; k < 10; k++) {
    ku_fail_alloc_after(k);
    kl_pool *p = kl_pool_new(4);
    ku_fail_alloc_after(-1);
    if (!p) { nulls++; continue; }
    pool_job j;
    memset(&j, 0, sizeof j);
    kl_pool_run(p, pool_fn, &j);
    kl_pool_free(p);
    for (int i = 0; i < 4; i++) CHECK_INT(atomic_load(&j.calls[i]), 1);
  }
  CHECK_INT(nulls, 3);     /* the pool, its threads, its workers */
}

int main(void) {
  RUN(test_types);
  RUN(test_f16);
  RUN(test_get_row_float);
  RUN(test_get_row_q4_0_q8_0);
  RUN(test_get_row_q4_K);
  RUN(test_get_row_q6_K);
  RUN(test_get_row_roundtrip);
  RUN(test_matvec_types);
  RUN(test_matvec_wide);
  RUN(test_matmul);
  RUN(test_simd_levels);
  RUN(test_simd_matvec);
  RUN(test_pool_sizes);
  RUN(test_pool_concurrent);
  RUN(test_pool_faults);
  return t_summary();
}
