/*
** bench/sort.c -- kernel: quicksort and merge sort of pseudo-random ints.
** Checksum: a position-weighted hash of both sorted arrays.
*/
#include "bench.h"

#define N PICK(400000, 40000)
static int32_t q[N], m[N], tmp[N];

/* Hoare-partition quicksort with median-of-three, insertion sort below 16. */
static void quicksort(int32_t *v, int lo, int hi) {
  while (hi - lo > 16) {
    int mid = lo + (hi - lo) / 2;
    int32_t x = v[lo], y = v[mid], z = v[hi];
    int32_t p = x < y ? (y < z ? y : (x < z ? z : x)) : (x < z ? x : (y < z ? z : y));
    int i = lo - 1, j = hi + 1;
    for (;;) {
      do i++; while (v[i] < p);
      do j--; while (v[j] > p);
      if (i >= j) break;
      int32_t t = v[i]; v[i] = v[j]; v[j] = t;
    }
    if (j - lo < hi - j) { quicksort(v, lo, j); lo = j + 1; }
    else { quicksort(v, j + 1, hi); hi = j; }
  }
  for (int i = lo + 1; i <= hi; i++) {
    int32_t x = v[i];
    int k = i - 1;
    while (k >= lo && v[k] > x) { v[k + 1] = v[k]; k--; }
    v[k + 1] = x;
  }
}

/* Top-down merge sort of v[lo, hi) using tmp. */
static void mergesort(int32_t *v, int lo, int hi) {
  if (hi - lo < 2) return;
  int mid = lo + (hi - lo) / 2;
  mergesort(v, lo, mid);
  mergesort(v, mid, hi);
  int i = lo, j = mid, k = lo;
  while (i < mid && j < hi) tmp[k++] = v[i] <= v[j] ? v[i++] : v[j++];
  while (i < mid) tmp[k++] = v[i++];
  while (j < hi) tmp[k++] = v[j++];
  for (k = lo; k < hi; k++) v[k] = tmp[k];
}

uint32_t run(void) {
  uint32_t s = 7;
  for (int i = 0; i < N; i++) q[i] = m[i] = (int32_t)bench_rand(&s);
  quicksort(q, 0, N - 1);
  mergesort(m, 0, N);
  uint32_t h = 0;
  for (int i = 0; i < N; i++) h = h * 17 + (uint32_t)q[i] + (uint32_t)(m[i] != q[i]) * 1000003u;
  return h;
}

BENCH_MAIN
