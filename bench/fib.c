/*
** bench/fib.c -- kernel: naive doubly recursive Fibonacci (call-heavy).
** Checksum: the sum of fib(n) for a few n.
*/
#include "bench.h"

#define TOP PICK(34, 29)

static uint32_t fib(uint32_t n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }

uint32_t run(void) {
  uint32_t sum = 0;
  for (uint32_t n = TOP - 2; n <= TOP; n++) sum += fib(n);
  return sum;
}

BENCH_MAIN
