/*
** tests/limits/stack_overflow.c -- runs the shadow stack (the C stack in
** linear memory, below __stack_pointer) out with deep recursion of 16 KiB
** frames; with the argument "oob" it makes an ordinary out-of-bounds store
** instead, with the stack intact. run.sh expects "guest stack overflow"
** for the first and "out of bounds memory access" for the second, built
** as wasm-ld lays memory out by default and with --stack-first.
** Does not own: the verdicts (tests/limits/run.sh).
*/
#include <stdio.h>
#include <string.h>

/* Recurses without end (n never gets back to -1); each frame holds a
** 16 KiB array on the stack. */
static int down(int n)
{
  volatile char big[16384];
  if (n == -1)
    return 0;
  big[0] = (char)n;
  big[n % (int)sizeof big] = 1;
  return down(n + 1) + big[0];
}

int main(int argc, char **argv)
{
  if (argc > 1 && strcmp(argv[1], "oob") == 0) {
    volatile int *far = (volatile int *)0xFFFFFFF0u;
    *far = 1;
    return 1;
  }
  printf("recursing\n");
  fflush(stdout);
  return down(0) == 42;
}
