/*
** bench/sieve.c -- kernel: sieve of Eratosthenes, repeated.
** Checksum: prime count plus a hash of the primes found.
*/
#include "bench.h"

#define LIMIT PICK(4000000, 1000000)
#define REPS PICK(3, 2)
static uint8_t composite[LIMIT + 1];

uint32_t run(void) {
  uint32_t h = 0, count = 0;
  for (int r = 0; r < REPS; r++) {
    for (uint32_t i = 0; i <= LIMIT; i++) composite[i] = 0;
    for (uint32_t i = 2; (uint64_t)i * i <= LIMIT; i++)
      if (!composite[i])
        for (uint32_t j = i * i; j <= LIMIT; j += i) composite[j] = 1;
    count = 0;
    for (uint32_t i = 2; i <= LIMIT; i++)
      if (!composite[i]) { count++; h = h * 3 + i; }
  }
  return h + count;
}

BENCH_MAIN
