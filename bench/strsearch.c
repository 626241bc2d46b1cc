/*
** bench/strsearch.c -- kernel: substring search in generated text, naive
** and Boyer-Moore-Horspool, for several patterns.
** Checksum: match counts and positions from both algorithms.
*/
#include "bench.h"

#define LEN PICK(1 << 21, 1 << 18)
static char text[LEN];

static const char *const patterns[] = {"abcab", "the quick", "zzz", "bacabacab", "aaaaab", "cabbage"};

static uint32_t plen(const char *p) { uint32_t n = 0; while (p[n]) n++; return n; }

/* Counts matches of p in text by brute force; folds positions into *h. */
static uint32_t naive(const char *p, uint32_t *h) {
  uint32_t m = plen(p), count = 0;
  for (uint32_t i = 0; i + m <= LEN; i++) {
    uint32_t k = 0;
    while (k < m && text[i + k] == p[k]) k++;
    if (k == m) { count++; *h = *h * 31 + i; }
  }
  return count;
}

/* Counts matches with Boyer-Moore-Horspool; folds positions into *h. */
static uint32_t horspool(const char *p, uint32_t *h) {
  uint32_t m = plen(p), shift[256], count = 0;
  for (int c = 0; c < 256; c++) shift[c] = m;
  for (uint32_t k = 0; k + 1 < m; k++) shift[(uint8_t)p[k]] = m - 1 - k;
  for (uint32_t i = 0; i + m <= LEN;) {
    int k = (int)m - 1;
    while (k >= 0 && text[i + (uint32_t)k] == p[k]) k--;
    if (k < 0) { count++; *h = *h * 31 + i; }
    i += shift[(uint8_t)text[i + m - 1]];
  }
  return count;
}

uint32_t run(void) {
  uint32_t s = 5;
  static const char alpha[] = "abc abc abcde the quick brown fox bacab";
  for (uint32_t i = 0; i < LEN; i++) text[i] = alpha[bench_rand(&s) % (sizeof alpha - 1)];
  uint32_t h1 = 0, h2 = 0, total = 0;
  for (int r = 0; r < PICK(2, 1); r++)
    for (unsigned p = 0; p < sizeof patterns / sizeof patterns[0]; p++) {
      uint32_t a = naive(patterns[p], &h1), b = horspool(patterns[p], &h2);
      total += a + (a != b) * 1000000u;
    }
  return total ^ h1 ^ (h2 * 7);
}

BENCH_MAIN
