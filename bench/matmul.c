/*
** bench/matmul.c -- kernel: dense double matrix multiply (i-k-j order).
** Checksum: a hash of the product's entries scaled to integers.
*/
#include "bench.h"

#define N PICK(400, 180)
static double a[N][N], b[N][N], c[N][N];

uint32_t run(void) {
  uint32_t s = 1;
  for (int i = 0; i < N; i++)
    for (int j = 0; j < N; j++) {
      a[i][j] = (double)(bench_rand(&s) % 1000) / 100.0 - 5.0;
      b[i][j] = (double)(bench_rand(&s) % 1000) / 100.0 - 5.0;
      c[i][j] = 0.0;
    }
  for (int i = 0; i < N; i++)
    for (int k = 0; k < N; k++) {
      double aik = a[i][k];
      for (int j = 0; j < N; j++) c[i][j] += aik * b[k][j];
    }
  uint32_t h = 0;
  for (int i = 0; i < N; i++)
    for (int j = 0; j < N; j++) h = h * 31 + (uint32_t)(int64_t)(c[i][j] * 1000.0);
  return h;
}

BENCH_MAIN
