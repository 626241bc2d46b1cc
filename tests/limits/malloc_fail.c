/*
** tests/limits/malloc_fail.c -- allocates 1 MiB blocks (touching them)
** until malloc returns NULL, then prints how many it got and exits 0.
** Run under `krait run --max-memory 16777216`: memory.grow inside malloc
** must return -1 at the cap and malloc must fail cleanly.
** Does not own: the verdict (tests/limits/run.sh checks the count).
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void) {
  static void *keep[8192];
  size_t mib = 0;
  while (mib < 8192) {
    void *p = malloc(1 << 20);
    if (!p) break;
    memset(p, 0x5a, 1 << 20);
    keep[mib++] = p;
  }
  printf("malloc returned NULL after %u MiB\n", (unsigned)mib);
  for (size_t i = 0; i < mib; i++) free(keep[i]);
  void *small = malloc(1000);  /* the freed space is reusable */
  printf("small malloc after free: %s\n", small ? "ok" : "NULL");
  return mib < 8192 && small ? 0 : 1;
}
