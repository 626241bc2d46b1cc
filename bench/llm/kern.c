/*
** bench/llm/kern.c -- micro benchmark of the LLM kernels: GB/s of weights
** streamed by kl_matvec per type and shape, 1 and 2 threads, hot (one
** matrix, cached) and cold (a ring of copies bigger than the caches, as a
** model's layers are), plus kl_matmul's rate for a prompt-sized batch.
** Not a test (make bench-llm-kern; see mk/bench-llm-kern.mk).
*/
#include "llm/quant.h"
#include "platform/platform.h"
#include "util/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COLD_BYTES (256u << 20)     /* the ring of copies: past any L3 */
#define RUN_NS 400000000ull         /* time per measurement */
#define REPS 8                      /* best of this many parts of it */

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return (uint32_t)(rng >> 32);
}

/* A rows x cols tensor of random blocks with small finite scales. */
static kl_tensor make(uint32_t type, uint64_t rows, uint64_t cols, uint8_t *data) {
  kl_tensor t;
  memset(&t, 0, sizeof t);
  t.type = type;
  t.ndim = 2;
  t.ne[0] = cols;
  t.ne[1] = rows;
  t.data = data;
  t.nbytes = kl_row_bytes(&t) * rows;
  return t;
}

static void fill(uint32_t type, uint8_t *p, uint64_t bytes) {
  for (uint64_t i = 0; i < bytes; i++) p[i] = (uint8_t)rnd();
  uint32_t sz = kl_type_size(type);
  uint16_t d = kl_f32_to_f16(0.01f);
  if (type == KL_T_F32) {
    for (uint64_t i = 0; i < bytes / 4; i++) ((float *)(void *)p)[i] = (float)(rnd() % 1000) / 1000.0f;
    return;
  }
  if (type == KL_T_F16) {
    for (uint64_t i = 0; i < bytes / 2; i++) ((uint16_t *)(void *)p)[i] = kl_f32_to_f16((float)(rnd() % 1000) / 1000.0f);
    return;
  }
  for (uint64_t o = 0; o + sz <= bytes; o += sz)
    memcpy(p + o + (type == KL_T_Q6_K ? 208 : 0), &d, 2);
}

/* GB/s of kl_matvec over ncopy copies of one shape, taken in turn: the
** best of REPS runs (the machine may be shared). */
static double rate(kl_pool *p, kl_tensor *w, int ncopy, const float *x, float *y) {
  double best = 0;
  for (int i = 0; i < ncopy; i++) kl_matvec(p, &w[i], x, y);   /* warm-up */
  for (int rep = 0; rep < REPS; rep++) {
    uint64_t t0 = kp_monotonic_ns(), n = 0;
    while (kp_monotonic_ns() - t0 < RUN_NS / REPS) {
      for (int i = 0; i < ncopy; i++) kl_matvec(p, &w[i], x, y);
      n += (uint64_t)ncopy;
    }
    double s = (double)(kp_monotonic_ns() - t0) / 1e9;
    double r = (double)w[0].nbytes * (double)n / s / 1e9;
    if (r > best) best = r;
  }
  return best;
}

/* Vectors per second through kl_matmul with nx vectors at once. */
static double mm_rate(kl_pool *p, kl_tensor *w, uint32_t nx, const float *x, float *y) {
  kl_matmul(p, w, x, nx, y);
  uint64_t t0 = kp_monotonic_ns(), n = 0;
  while (kp_monotonic_ns() - t0 < RUN_NS) {
    kl_matmul(p, w, x, nx, y);
    n += nx;
  }
  return (double)n / ((double)(kp_monotonic_ns() - t0) / 1e9);
}

int main(int argc, char **argv) {
  static const uint32_t types[] = { KL_T_F32, KL_T_F16, KL_T_Q8_0, KL_T_Q4_0, KL_T_Q4_K, KL_T_Q6_K };
  static const uint64_t shapes[][2] = { { 1024, 1024 }, { 1024, 4096 }, { 4096, 1024 } };
  const char *only = argc > 1 ? argv[1] : NULL;
  printf("kernels: %s\n", kl_kern()->name);
  printf("%-5s %-10s %3s %9s %9s %12s\n", "type", "rows x cols", "thr", "hot GB/s", "cold GB/s", "matmul64 v/s");
  float *x = ku_malloc(64 * 4096 * sizeof(float)), *y = ku_malloc(64 * 4096 * sizeof(float));
  for (int i = 0; i < 64 * 4096; i++) x[i] = (float)(rnd() % 2000) / 1000.0f - 1;
  for (size_t ti = 0; ti < sizeof types / sizeof types[0]; ti++) {
    if (only && strcmp(only, kl_type_name(types[ti])) != 0) continue;
    for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++) {
      uint64_t rows = shapes[si][0], cols = shapes[si][1];
      kl_tensor probe = make(types[ti], rows, cols, NULL);
      int ncopy = (int)(COLD_BYTES / probe.nbytes);
      uint8_t *data = ku_malloc(probe.nbytes * (uint64_t)ncopy);
      kl_tensor *w = ku_malloc(sizeof *w * (size_t)ncopy);
      fill(types[ti], data, probe.nbytes);
      for (int i = 0; i < ncopy; i++) {
        if (i) memcpy(data + probe.nbytes * (uint64_t)i, data, probe.nbytes);
        w[i] = make(types[ti], rows, cols, data + probe.nbytes * (uint64_t)i);
      }
      for (int nth = 1; nth <= 2; nth++) {
        kl_pool *p = kl_pool_new(nth);
        double hot = rate(p, w, 1, x, y), cold = rate(p, w, ncopy, x, y);
        double mm = mm_rate(p, w, 64, x, y);
        printf("%-5s %4llux%-5llu %3d %9.1f %9.1f %12.0f\n", kl_type_name(types[ti]),
               (unsigned long long)rows, (unsigned long long)cols, nth, hot, cold, mm);
        fflush(stdout);
        kl_pool_free(p);
      }
      ku_free(w);
      ku_free(data);
    }
  }
  ku_free(x);
  ku_free(y);
  return 0;
}
