/*
** tests/guest/args_env.c -- guest program: command-line arguments and
** environment. Prints argc, argv[1..] and every GUEST_* variable (sorted).
** Does not own: choosing the args/env (tests/guest/run.sh passes the same
** ones natively and under krait). argv[0] is not printed: it differs.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern char **environ;

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv) {
  printf("argc=%d\n", argc);
  for (int i = 1; i < argc; i++) printf("argv[%d]=[%s] len=%u\n", i, argv[i], (unsigned)strlen(argv[i]));
  const char *vars[64];
  int n = 0;
  for (char **e = environ; e && *e && n < 64; e++)
    if (strncmp(*e, "GUEST_", 6) == 0) vars[n++] = *e;
  qsort(vars, (size_t)n, sizeof vars[0], cmp_str);
  printf("guest vars=%d\n", n);
  for (int i = 0; i < n; i++) printf("env %s\n", vars[i]);
  const char *g = getenv("GUEST_GREETING");
  printf("getenv GUEST_GREETING=%s\n", g ? g : "(null)");
  printf("getenv GUEST_MISSING=%s\n", getenv("GUEST_MISSING") ? "set" : "(null)");
  long sum = 0;
  for (int i = 1; i < argc; i++) sum += strtol(argv[i], NULL, 10);
  printf("numeric sum=%ld\n", sum);
  return argc > 1 ? 0 : 1;
}
