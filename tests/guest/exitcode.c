/*
** tests/guest/exitcode.c -- guest program: a nonzero exit status.
** Prints (buffered), then calls exit(42) from a nested call: the output
** must still be flushed and the status must be 42.
** Does not own: comparing outputs (tests/guest/run.sh does that).
*/
#include <stdio.h>
#include <stdlib.h>

static volatile int exit_status = 42;

/* Recurses depth levels, then exits from the innermost frame. */
static int finish(int depth) {
  if (depth == 0) {
    printf("leaving from depth 0\n");
    exit(exit_status);
  }
  return finish(depth - 1) + 1;
}

static void on_exit_handler(void) { printf("atexit handler ran\n"); }

int main(void) {
  atexit(on_exit_handler);
  for (int i = 0; i < 100; i++) printf("line %d\n", i);
  finish(10);
  printf("not reached\n");
  return 0;
}
