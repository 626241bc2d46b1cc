/*
** sample.c -- picking the next token from logits in llama.cpp's order:
** repeat penalty, top-k, top-p, temperature, a draw from a seeded generator
** (greedy when temperature <= 0). Not the logits (llama.c) or the loop.
**
** No scratch memory. With top-k <= 256 (Spin's default is 40) the k best
** are kept in a heap on the stack in one pass, O(n log k), and top-p,
** temperature and the draw work on those, sorted as llama.cpp sorts them.
** Otherwise the logits are edited in place (a dropped token becomes -inf)
** and each cut finds its threshold by a three-pass radix select over the
** logits' bits with histograms on the stack, O(n). Ties at a cut keep the
** lowest token ids.
*/
#include "llm/llm_internal.h"
#include "util/util.h"

#include <math.h>
#include <string.h>

#define RADIX_BITS 11
#define RADIX_SIZE (1u << RADIX_BITS)
#define SMALL_K 256         /* top-k up to this takes the heap path */
#define SEEN_WORDS 4096     /* the penalty's stack bitmap: 262144 tokens */

/* The next value of the splitmix64 generator whose state is *s. */
static uint64_t splitmix64(uint64_t *s) {
  uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

/* A uniform double in [0, 1). */
static double uniform(uint64_t *s) {
  return (double)(splitmix64(s) >> 11) * (1.0 / 9007199254740992.0);
}

/* f's bits as an unsigned key that sorts as the floats do (-inf lowest). */
static uint32_t key(float f) {
  uint32_t u;
  memcpy(&u, &f, 4);
  return (u & 0x80000000u) ? ~u : u | 0x80000000u;
}

/* The repeat penalty on each distinct token among the last n of recent:
** logit / penalty when positive, logit * penalty otherwise. Distinct by a
** bitmap of the vocabulary: on the stack, or for a vocabulary past it on
** the heap (linear either way; without memory for it, no penalty). */
static void penalize(const kl_infer_params *p, float *logits, uint32_t n,
                     const int32_t *recent, size_t nrecent) {
  if (p->repeat_penalty == 1.0f || p->repeat_last_n == 0 || nrecent == 0) return;
  size_t w = nrecent < p->repeat_last_n ? nrecent : p->repeat_last_n;
  const int32_t *r = recent + nrecent - w;
  uint64_t stack[SEEN_WORDS], *seen = stack;
  size_t words = ((size_t)n + 63) / 64;
  if (words > SEEN_WORDS) seen = ku_calloc(words, sizeof *seen);
  else memset(seen, 0, words * 8);
  if (!seen) return;
  for (size_t i = 0; i < w; i++) {
    int32_t t = r[i];
    if (t < 0 || (uint32_t)t >= n) continue;
    if (seen[t / 64] >> (t % 64) & 1) continue;
    seen[t / 64] |= 1ull << (t % 64);
    logits[t] = logits[t] > 0 ? logits[t] / p->repeat_penalty : logits[t] * p->repeat_penalty;
  }
  if (seen != stack) ku_free(seen);
}

/* The first index of the highest logit. */
static int32_t argmax(const float *logits, uint32_t n) {
  uint32_t best = 0;
  for (uint32_t i = 1; i < n; i++)
    if (logits[i] > logits[best]) best = i;
  return (int32_t)best;
}

/* A token's weight in a cut: 1 (top-k), or exp(logit - max) (top-p). */
static double weight(float l, float max, bool prob) {
  if (!prob) return 1.0;
  return l == -INFINITY ? 0.0 : exp((double)l - (double)max);
}

/* Keeps the highest logits whose weights sum to at least target (at least
** one token): finds the threshold key by radix select, then drops what is
** below it and, of the tokens at it, those past the target (the highest
** ids first). Dropped logits become -inf. */
static void cut(float *logits, uint32_t n, double target, bool prob, float max) {
  uint32_t prefix = 0;             /* the key's bits from `fixed` up */
  double above = 0;                /* weight of keys above the prefix's */
  for (int fixed = 32; fixed > 0;) {
    int shift = fixed > RADIX_BITS ? fixed - RADIX_BITS : 0;
    uint32_t mask = (1u << (fixed - shift)) - 1;
    double h[RADIX_SIZE];
    memset(h, 0, sizeof h);
    for (uint32_t i = 0; i < n; i++) {
      uint32_t k = key(logits[i]);
      if (fixed < 32 && (k >> fixed) != prefix) continue;
      h[(k >> shift) & mask] += weight(logits[i], max, prob);
    }
    uint32_t b = mask + 1;         /* the top bucket that reaches target */
    while (b-- > 1 && (h[b] == 0 || above + h[b] < target)) above += h[b];
    prefix = (prefix << (fixed - shift)) | b;
    fixed = shift;
  }
  /* prefix is now the threshold key; keep every key above it, then the
  ** tokens at it in id order until the target is reached */
  double sum = above;
  for (uint32_t i = 0; i < n; i++) {
    uint32_t k = key(logits[i]);
    if (k > prefix) continue;
    if (k == prefix && (sum < target || sum == 0)) { sum += weight(logits[i], max, prob); continue; }
    logits[i] = -INFINITY;
  }
}

/* The highest logit. */
static float max_logit(const float *logits, uint32_t n) {
  float m = -INFINITY;
  for (uint32_t i = 0; i < n; i++) m = logits[i] > m ? logits[i] : m;
  return m;
}

/* A draw from softmax(logits / temperature) over the tokens kept. */
static int32_t draw(const float *logits, uint32_t n, float temp, float max, uint64_t *rng) {
  double z = 0;
  for (uint32_t i = 0; i < n; i++)
    if (logits[i] != -INFINITY) z += exp(((double)logits[i] - max) / temp);
  double r = uniform(rng) * z, acc = 0;
  int32_t last = -1;
  for (uint32_t i = 0; i < n; i++) {
    if (logits[i] == -INFINITY) continue;
    acc += exp(((double)logits[i] - max) / temp);
    last = (int32_t)i;
    if (acc > r) return last;
  }
  return last >= 0 ? last : argmax(logits, n);
}

/* A candidate of the heap path. */
typedef struct cand {
  float l;
  int32_t i;
} cand;

/* Whether a ranks below b: a lower logit, or the same and a higher id. */
static bool worse(cand a, cand b) {
  return a.l < b.l || (a.l == b.l && a.i > b.i);
}

/* Restores the min-heap h[0..m) (worst at the root) below slot i. */
static void sift(cand *h, uint32_t m, uint32_t i) {
  for (;;) {
    uint32_t c = 2 * i + 1;
    if (c >= m) return;
    if (c + 1 < m && worse(h[c + 1], h[c])) c++;
    if (!worse(h[c], h[i])) return;
    cand t = h[c];
    h[c] = h[i];
    h[i] = t;
    i = c;
  }
}

/* Top-k <= SMALL_K: the k best in a heap, then sorted best first (heap
** sort), the top-p prefix, and a draw at the temperature. */
static int32_t sample_small(const kl_infer_params *p, const float *logits, uint32_t n,
                            float max, uint64_t *rng) {
  cand h[SMALL_K];
  uint32_t k = p->top_k < n ? p->top_k : n, m = 0;
  for (uint32_t i = 0; i < n; i++) {
    cand c = { logits[i], (int32_t)i };
    if (m < k) {
      uint32_t j = m++;
      h[j] = c;
      for (; j > 0 && worse(h[j], h[(j - 1) / 2]); j = (j - 1) / 2) {
        cand t = h[j]; h[j] = h[(j - 1) / 2]; h[(j - 1) / 2] = t;
      }
    } else if (worse(h[0], c)) {
      h[0] = c;
      sift(h, m, 0);
    }
  }
  for (uint32_t e = m; e > 1; e--) {       /* heap sort: best ends first */
    cand t = h[0]; h[0] = h[e - 1]; h[e - 1] = t;
    sift(h, e - 1, 0);
  }
  double w[SMALL_K], z = 0;
  for (uint32_t i = 0; i < m; i++) z += w[i] = weight(h[i].l, max, true);
  if (p->top_p < 1.0f) {
    double cum = 0;
    uint32_t keep = m;
    for (uint32_t i = 0; i < m; i++) {
      cum += w[i];
      if (cum >= (double)p->top_p * z) { keep = i + 1; break; }
    }
    m = keep;
  }
  for (uint32_t i = 0; i < m; i++) w[i] = exp(((double)h[i].l - max) / p->temperature);
  z = 0;
  for (uint32_t i = 0; i < m; i++) z += w[i];
  double r = uniform(rng) * z, acc = 0;
  for (uint32_t i = 0; i < m; i++) {
    acc += w[i];
    if (acc > r) return h[i].i;
  }
  return h[m - 1].i;
}

int32_t kl_sample(const kl_infer_params *p, float *logits, uint32_t n,
                  const int32_t *recent, size_t nrecent, uint64_t *rng) {
  if (n == 0) return -1;
  for (uint32_t i = 0; i < n; i++)
    if (isnan(logits[i])) logits[i] = -INFINITY;
  penalize(p, logits, n, recent, nrecent);
  if (!(p->temperature > 0)) return argmax(logits, n);
  float max = max_logit(logits, n);
  if (max == -INFINITY) return argmax(logits, n);
  if (p->top_k > 0 && p->top_k <= SMALL_K) return sample_small(p, logits, n, max, rng);
  if (p->top_k > 0 && p->top_k < n) cut(logits, n, (double)p->top_k, false, max);
  if (p->top_p < 1.0f) {
    double z = 0;
    for (uint32_t i = 0; i < n; i++) z += weight(logits[i], max, true);
    cut(logits, n, (double)p->top_p * z, true, max);
  }
  return draw(logits, n, p->temperature, max, rng);
}
