/*
** tests/guest/printf.c -- guest program: printf/snprintf format variety.
** Owns: integer, string, char and float conversions with flags, widths,
** precisions, length modifiers, %n, %%, and snprintf truncation.
** Does not own: comparing outputs (tests/guest/run.sh does that).
** Avoids what legitimately differs between libcs (%p, long double, long).
*/
#include <inttypes.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

int main(void) {
  int ints[] = {0, 1, -1, 42, -42, 2147483647, -2147483647 - 1, 65535, 1000000};
  for (unsigned i = 0; i < sizeof ints / sizeof ints[0]; i++) {
    int v = ints[i];
    printf("[%d][%i][%5d][%-5d][%05d][%+d][% d][%.3d][%8.4d]", v, v, v, v, v, v, v, v, v);
    printf("[%u][%x][%X][%#x][%o][%#o][%08x][%hd][%hhd][%hu][%hhu]\n", (unsigned)v,
           (unsigned)v, (unsigned)v, (unsigned)v, (unsigned)v, (unsigned)v,
           (unsigned)v, (short)v, (signed char)v, (unsigned short)v, (unsigned char)v);
  }
  long long ll = -1234567890123456789ll;
  unsigned long long ull = 18446744073709551615ull;
  printf("[%lld][%llu][%llx][%25lld][%-25lld|]\n", ll, ull, ull, ll, ll);
  printf("[%" PRId64 "][%" PRIu64 "][%" PRIx64 "][%" PRIo64 "]\n", (int64_t)ll, (uint64_t)ull,
         (uint64_t)0xDEADBEEFCAFEBABEull, (uint64_t)01777);
  printf("[%" PRId32 "][%" PRIu8 "][%" PRIx16 "][%jd][%zu][%td]\n", INT32_MIN, (uint8_t)200,
         (uint16_t)0xBEEF, (intmax_t)-77, (size_t)12345, (ptrdiff_t)-3);

  const char *s = "hello, world";
  printf("[%s][%15s][%-15s][%.5s][%15.5s][%-15.5s][%*s][%-*s][%.*s]\n", s, s, s, s, s, s, 8,
         "ab", 8, "ab", 3, s);
  printf("[%c][%5c][%-5c][%c%c%c]\n", 'A', 'b', 'c', 'x', 'y', 'z');
  printf("[%%][100%%][%5s]\n", "%");

  double ds[] = {0.0, -0.0, 1.0, -1.5, 3.14159265358979, 1e-5, 123456.789, 1e21, 5e-324 * 1e10};
  for (unsigned i = 0; i < sizeof ds / sizeof ds[0]; i++) {
    double d = ds[i];
    printf("[%f][%.0f][%.2f][%10.3f][%-10.1f|][%+.1e][%E][%g][%G][%#g][%.0e][%#.0f][%12.6g]\n",
           d, d, d, d, d, d, d, d, d, d, d, d, d);
  }
  printf("[%a][%A][%.3a][%a]\n", 1.0, 255.5, 3.14159, -0.125);

  int n1 = 0, n2 = 0;
  printf("abc%nxyz%n\n", &n1, &n2);
  printf("n1=%d n2=%d\n", n1, n2);

  char buf[16];
  int r = snprintf(buf, sizeof buf, "%s-%d-%s", "truncate", 123456789, "me please");
  printf("snprintf ret=%d buf=[%s] len=%u\n", r, buf, (unsigned)strlen(buf));
  r = snprintf(NULL, 0, "%08.3f|%x", -3.25, 0xabcu);
  printf("snprintf size=%d\n", r);
  char big[256];
  sprintf(big, "%3$s %1$s %2$s", "a", "b", "c");
  printf("positional: %s\n", big);
  for (int w = 0; w < 12; w += 3) printf("%*d|%-*d|\n", w, w * 111, w, -w);
  fputs("fputs line\n", stdout);
  puts("puts line");
  putchar('!');
  putchar('\n');
  fprintf(stdout, "fprintf %s %d\n", "stdout", 7);
  fprintf(stderr, "this goes to stderr\n");
  return 0;
}
