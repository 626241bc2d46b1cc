/*
** hash.c -- the keyed hash of the LLM engine's tables (GGUF keys and tensor
** names, vocabulary texts): SipHash-1-3 under a random per-process key, so a
** crafted file cannot make lookups collide. Not the tables themselves.
*/
#include "llm/llm_internal.h"
#include "platform/platform.h"

#include <pthread.h>
#include <string.h>

static uint64_t key[2];
static pthread_once_t key_once = PTHREAD_ONCE_INIT;

/* Draws the key (the clock when the system has no random source). */
static void key_init(void) {
  if (!kp_random(key, sizeof key)) {
    key[0] = kp_monotonic_ns() * 0x9e3779b97f4a7c15ull;
    key[1] = (uintptr_t)&key ^ 0x2545f4914f6cdd1dull;
  }
}

#define ROTL(x, b) (((x) << (b)) | ((x) >> (64 - (b))))

/* One SipHash round over the state v. */
static void sipround(uint64_t v[4]) {
  v[0] += v[1]; v[1] = ROTL(v[1], 13); v[1] ^= v[0]; v[0] = ROTL(v[0], 32);
  v[2] += v[3]; v[3] = ROTL(v[3], 16); v[3] ^= v[2];
  v[0] += v[3]; v[3] = ROTL(v[3], 21); v[3] ^= v[0];
  v[2] += v[1]; v[1] = ROTL(v[1], 17); v[1] ^= v[2]; v[2] = ROTL(v[2], 32);
}

/* SipHash-1-3 of [s, s+n) under the process's key. */
uint64_t kl_hash(const char *s, size_t n) {
  pthread_once(&key_once, key_init);
  uint64_t v[4] = { key[0] ^ 0x736f6d6570736575ull, key[1] ^ 0x646f72616e646f6dull,
                    key[0] ^ 0x6c7967656e657261ull, key[1] ^ 0x7465646279746573ull };
  const uint8_t *p = (const uint8_t *)s;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t m;
    memcpy(&m, p + i, 8);
    v[3] ^= m;
    sipround(v);
    v[0] ^= m;
  }
  uint64_t b = (uint64_t)n << 56;
  for (size_t j = 0; i + j < n; j++) b |= (uint64_t)p[i + j] << (8 * j);
  v[3] ^= b;
  sipround(v);
  v[0] ^= b;
  v[2] ^= 0xff;
  sipround(v);
  sipround(v);
  sipround(v);
  return v[0] ^ v[1] ^ v[2] ^ v[3];
}
