/*
** tests/guest/math64.c -- guest program: 64-bit and 128-bit integer math.
** Owns: i64 mul/div/rem/shift/rotate, overflow wraparound, bit counting,
** unsigned/signed division edge cases, and __int128 arithmetic.
** Does not own: comparing outputs (tests/guest/run.sh does that).
*/
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>

static volatile uint64_t vu[] = {0, 1, 2, 3, 7, 0xFF, 0xFFFFFFFFull, 0x100000000ull,
                                 0x7FFFFFFFFFFFFFFFull, 0x8000000000000000ull,
                                 0xFFFFFFFFFFFFFFFFull, 0x0123456789ABCDEFull,
                                 0xFEDCBA9876543210ull, 1000000007ull};
enum { NV = sizeof vu / sizeof vu[0] };

static uint64_t rotl(uint64_t x, unsigned r) { return (x << (r & 63)) | (x >> ((64 - r) & 63)); }

static void ops(void) {
  uint64_t acc = 0;
  for (int i = 0; i < NV; i++)
    for (int j = 0; j < NV; j++) {
      uint64_t a = vu[i], b = vu[j];
      int64_t sa = (int64_t)a, sb = (int64_t)b;
      uint64_t line = a * b + (a ^ b) - (a | b) + (a & ~b);
      if (b) line += a / b + a % b;
      if (sb && !(sa == INT64_MIN && sb == -1)) line += (uint64_t)(sa / sb) + (uint64_t)(sa % sb);
      line += a << (b & 63);
      line += a >> (b & 63);
      line += (uint64_t)(sa >> (b & 63));
      line += rotl(a, (unsigned)b);
      line += (uint64_t)(sa < sb) + 2 * (uint64_t)(a < b);
      acc = acc * 31 + line;
      if (i == j || j == NV - 1)
        printf("a=%016" PRIx64 " b=%016" PRIx64 " -> %016" PRIx64 "\n", a, b, line);
    }
  printf("ops acc=%" PRIu64 "\n", acc);
}

static void wrap(void) {
  uint64_t u = UINT64_MAX; u += 1;
  int32_t i32 = INT32_MAX; i32 = (int32_t)((uint32_t)i32 + 1);
  uint32_t u32 = 0; u32 -= 1;
  uint64_t fact = 1;
  for (uint64_t k = 1; k <= 30; k++) fact *= k;  /* wraps */
  printf("wrap: %" PRIu64 " %" PRId32 " %" PRIu32 " 30!mod2^64=%" PRIu64 "\n", u, i32, u32, fact);
  int64_t m = INT64_MIN;
  printf("neg: %" PRId64 " %" PRId64 " %" PRId64 "\n", -(m + 1), m / 2, m % 1000);
  printf("div: %" PRId64 " %" PRId64 " %" PRId64 " %" PRId64 "\n", (int64_t)-7 / 2,
         (int64_t)-7 % 2, (int64_t)7 / -2, (int64_t)7 % -2);
}

static void bits(void) {
  for (int i = 0; i < NV; i++) {
    uint64_t a = vu[i];
    printf("bits %016" PRIx64 ": pop=%d clz=%d ctz=%d bswap=%016" PRIx64 " lo32=%08" PRIx32 "\n",
           a, __builtin_popcountll(a), a ? __builtin_clzll(a) : 64,
           a ? __builtin_ctzll(a) : 64, __builtin_bswap64(a), (uint32_t)a);
  }
}

#ifdef __SIZEOF_INT128__
static void print_u128(unsigned __int128 v) {
  char buf[64]; int n = 0;
  do { buf[n++] = (char)('0' + (int)(v % 10)); v /= 10; } while (v);
  while (n) putchar(buf[--n]);
}

static void int128(void) {
  unsigned __int128 f = 1;
  for (int k = 1; k <= 34; k++) f *= (unsigned)k;
  printf("34! = "); print_u128(f); printf("\n");
  unsigned __int128 a = ((unsigned __int128)0x0123456789ABCDEFull << 64) | 0xFEDCBA9876543210ull;
  unsigned __int128 b = 0xFFFFFFFFFFFFFFC5ull;
  printf("a/b="); print_u128(a / b); printf(" a%%b="); print_u128(a % b); printf("\n");
  __int128 s = -(__int128)a;
  printf("s>>70=%" PRId64 " (s*3)>>64=%" PRId64 "\n", (int64_t)(s >> 70), (int64_t)((s * 3) >> 64));
  uint64_t x = 0xDEADBEEFDEADBEEFull, y = 0xC0FFEEC0FFEEC0FFull;
  unsigned __int128 p = (unsigned __int128)x * y;
  printf("mulhi=%016" PRIx64 " mullo=%016" PRIx64 "\n", (uint64_t)(p >> 64), (uint64_t)p);
}
#else
static void int128(void) { printf("no __int128\n"); }
#endif

int main(void) {
  ops();
  wrap();
  bits();
  int128();
  return 0;
}
