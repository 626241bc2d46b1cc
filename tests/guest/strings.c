/*
** tests/guest/strings.c -- guest program: string.h, ctype, strtol/strtod,
** sscanf and memory functions over large buffers (memcpy/memmove/memset
** become bulk-memory or loops in wasm).
** Does not own: comparing outputs (tests/guest/run.sh does that).
*/
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void) {
  static char buf[1 << 16];
  for (size_t i = 0; i < sizeof buf; i++) buf[i] = (char)('a' + i % 23);
  memmove(buf + 10, buf, 30000);
  memmove(buf + 40000, buf + 40100, 20000);
  memcpy(buf + 1000, "NEEDLE", 6);
  memset(buf + 60000, '#', 5000);
  uint32_t h = 0;
  for (size_t i = 0; i < sizeof buf; i++) h = h * 131 + (unsigned char)buf[i];
  printf("buf hash=%u needle at %ld\n", h, (long)(strstr(buf, "NEEDLE") - buf));
  printf("memcmp=%d strncmp=%d\n", memcmp(buf, buf + 23, 100) == 0, strncmp("abcd", "abce", 3));
  char s[] = "  Hello, WebAssembly World! 123  ";
  int up = 0, dig = 0, sp = 0;
  for (char *p = s; *p; p++) { up += isupper((unsigned char)*p) != 0; dig += isdigit((unsigned char)*p) != 0; sp += isspace((unsigned char)*p) != 0; }
  printf("upper=%d digit=%d space=%d\n", up, dig, sp);
  char *tok, *save, copy[64];
  strcpy(copy, "a,bb,,ccc,dddd");
  for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) printf("tok[%s] ", tok);
  printf("\n");
  printf("strchr=%s strrchr=%s strspn=%u strcspn=%u\n", strchr("hello", 'l'), strrchr("hello", 'l'),
         (unsigned)strspn("aaabbc", "ab"), (unsigned)strcspn("hello world", " "));
  const char *nums[] = {"12345", "-0x1F", "0777", "  +42abc", "9223372036854775807", "zzz"};
  for (int i = 0; i < 6; i++) {
    char *end;
    long long v = strtoll(nums[i], &end, 0);
    printf("strtoll(%s)=%lld rest=[%s]\n", nums[i], v, end);
  }
  const char *dbl[] = {"3.14159", "-1e-10", "0x1.8p3", "inf", "1e400", "2.2250738585072014e-308"};
  for (int i = 0; i < 6; i++) printf("strtod(%s)=%.17g\n", dbl[i], strtod(dbl[i], NULL));
  int a, b; char word[16]; double d;
  int n = sscanf("17 -4 banana 2.5", "%d %d %15s %lf", &a, &b, word, &d);
  printf("sscanf n=%d a=%d b=%d word=%s d=%g\n", n, a, b, word, d);
  char rev[32]; const char *src = "krait runtime";
  size_t L = strlen(src);
  for (size_t i = 0; i < L; i++) rev[i] = (char)toupper((unsigned char)src[L - 1 - i]);
  rev[L] = 0;
  printf("rev=%s\n", rev);
  return 0;
}
