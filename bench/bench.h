/*
** bench/bench.h -- shared by the benchmark kernels (bench/<kernel>.c).
** Owns: the workload size switch (BENCH_SMALL for the wasm-interp table),
** the deterministic PRNG, and the main() that prints run()'s checksum.
** With BENCH_NO_MAIN the kernel is built without libc (-nostdlib) and
** `run` is called directly as a wasm export (krait --invoke, wasm-interp).
** Does not own: timing (bench/run.sh).
*/
#ifndef BENCH_H
#define BENCH_H

#include <stddef.h>
#include <stdint.h>

/* PICK(full, small): the workload parameter for this build. */
#ifdef BENCH_SMALL
#define PICK(full, small) (small)
#else
#define PICK(full, small) (full)
#endif

/* xorshift32: the same numbers on every target. */
static inline uint32_t bench_rand(uint32_t *s) {
  uint32_t x = *s;
  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  return *s = x;
}

/* The kernel: fixed work, returns a checksum. */
uint32_t run(void);

#ifdef BENCH_NO_MAIN
#define BENCH_MAIN
#else
#include <stdio.h>
#define BENCH_MAIN                        \
  int main(void) {                        \
    printf("%u\n", (unsigned)run());      \
    return 0;                             \
  }
#endif

#endif
