/*
** simd_x86.c -- the x86-64 kernels of simd.h (AVX2+FMA+F16C, AVX-512 VNNI)
** and the CPU probe that picks them; elsewhere a stub with none. Not the
** portable reference kernels or the matrix loops (src/llm/quant*.c).
*/
#include "platform/simd.h"

#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

void kp_cpu_relax(void) {
  _mm_pause();
}

/* Which levels this CPU and its OS support (compiler builtins read CPUID
** and XCR0). */
static int cpu_level(void) {
  __builtin_cpu_init();
  if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma") ||
      !__builtin_cpu_supports("f16c"))
    return 0;
  return KP_KERN_AVX2;
}

const kp_kern *kp_kern_level(int level) {
  (void)level;
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
