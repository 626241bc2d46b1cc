/*
** tests/guest/recursion.c -- guest program: deep and branchy recursion.
** Owns: ackermann, fib, tak, mutual recursion, hanoi, recursive sum.
** Does not own: comparing outputs (tests/guest/run.sh does that).
*/
#include <stdint.h>
#include <stdio.h>

static uint32_t ackermann(uint32_t m, uint32_t n) {
  if (m == 0) return n + 1;
  if (n == 0) return ackermann(m - 1, 1);
  return ackermann(m - 1, ackermann(m, n - 1));
}

static uint64_t fib(int n) { return n < 2 ? (uint64_t)n : fib(n - 1) + fib(n - 2); }

static int tak(int x, int y, int z) {
  if (y >= x) return z;
  return tak(tak(x - 1, y, z), tak(y - 1, z, x), tak(z - 1, x, y));
}

static int is_odd(unsigned n);
static int is_even(unsigned n) { return n == 0 ? 1 : is_odd(n - 1); }
static int is_odd(unsigned n) { return n == 0 ? 0 : is_even(n - 1); }

static uint64_t hanoi_moves;
static void hanoi(int n, int from, int to, int via) {
  if (n == 0) return;
  hanoi(n - 1, from, via, to);
  hanoi_moves += (uint64_t)(from * 3 + to);
  hanoi(n - 1, via, to, from);
}

/* Not a tail call: keeps `depth` frames live at once. */
static uint64_t deep_sum(uint32_t depth) {
  if (depth == 0) return 0;
  volatile uint64_t here = depth;
  return here + deep_sum(depth - 1);
}

/* A recursive function with a large frame on the shadow stack. */
static uint32_t frame_heavy(int n) {
  volatile unsigned char buf[256];
  for (int i = 0; i < 256; i++) buf[i] = (unsigned char)(i * n);
  if (n == 0) return buf[17];
  return buf[n & 255] + frame_heavy(n - 1);
}

int main(void) {
  for (uint32_t m = 0; m <= 3; m++)
    for (uint32_t n = 0; n <= 6; n++)
      printf("ack(%u,%u)=%u\n", m, n, ackermann(m, n));
  printf("ack(2,500)=%u\n", ackermann(2, 500));
  for (int i = 0; i <= 30; i += 5) printf("fib(%d)=%llu\n", i, (unsigned long long)fib(i));
  printf("tak(18,12,6)=%d\n", tak(18, 12, 6));
  printf("tak(24,16,8)=%d\n", tak(24, 16, 8));
  printf("even(10001)=%d odd(9999)=%d\n", is_even(10001), is_odd(9999));
  hanoi(18, 1, 3, 2);
  printf("hanoi(18) weighted moves=%llu\n", (unsigned long long)hanoi_moves);
  printf("deep_sum(20000)=%llu\n", (unsigned long long)deep_sum(20000));
  printf("frame_heavy(200)=%u\n", frame_heavy(200));
  return 0;
}
