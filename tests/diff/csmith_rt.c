/*
** tests/diff/csmith_rt.c -- the small runtime linked into every csmith
** program of the diff tier: printf for csmith's few formats and a
** main(void) that calls the program's main (built as csmith_main).
** Does not own: the programs, their build or their comparison (csmith.sh).
**
** Why: with wasi-libc's printf (its printf_core, stdio, and malloc for
** argv) a csmith module is two thirds libc, the same precompiled code in
** every program. Under the AOT tier that libc is what the C compiler
** spends most of its time on, once per program and level; without it a
** program compiles about 5x faster, so many more random programs fit the
** same time. The interpreter, AOT and Node all run the very same module.
*/
#include <stdarg.h>
#include <stdint.h>
#include <unistd.h>

#undef main /* csmith.sh builds with -Dmain=csmith_main */

int csmith_main(int argc, char *argv[]);

/* Formats an unsigned value v in base 10 or 16 (upper case unless lower)
** into out, which has room for 20 digits; returns the digit count. */
static int digits(uint64_t v, unsigned base, int lower, char *out) {
  const char *dig = lower ? "0123456789abcdef" : "0123456789ABCDEF";
  char t[24];
  int k = 0, n = 0;
  do { t[k++] = dig[v % base]; v /= base; } while (v);
  while (k) out[n++] = t[--k];
  return n;
}

/* printf for what csmith prints: %d %u %x %X with l or ll, %s and %%; any
** other conversion is copied as it stands (the same in every runner). The
** line is written with one write(1) call. */
int printf(const char *fmt, ...) {
  char buf[1024];
  size_t n = 0;
  va_list ap;
  va_start(ap, fmt);
  for (const char *p = fmt; *p && n < sizeof buf - 24; p++) {
    if (*p != '%') { buf[n++] = *p; continue; }
    const char *start = p;
    int l = 0;
    while (*++p == 'l') l++;
    if (*p == '%') {
      buf[n++] = '%';
    } else if (*p == 's') {
      for (const char *s = va_arg(ap, const char *); *s && n < sizeof buf - 24; s++) buf[n++] = *s;
    } else if (*p == 'd') {
      int64_t s = l >= 2 ? va_arg(ap, long long) : l ? va_arg(ap, long) : va_arg(ap, int);
      if (s < 0) buf[n++] = '-';
      n += digits(s < 0 ? -(uint64_t)s : (uint64_t)s, 10, 0, buf + n);
    } else if (*p == 'u' || *p == 'x' || *p == 'X') {
      uint64_t v = l >= 2 ? va_arg(ap, unsigned long long) : l ? va_arg(ap, unsigned long) : va_arg(ap, unsigned);
      n += digits(v, *p == 'u' ? 10 : 16, *p == 'x', buf + n);
    } else {
      if (!*p) p--;
      while (start <= p && n < sizeof buf - 24) buf[n++] = *start++;
    }
  }
  va_end(ap);
  return (int)write(1, buf, n);
}

/* The program's entry: a main without arguments, so wasi-libc links no
** argv set-up (and with it no malloc); csmith reads argv only to turn on
** printing every hashed variable, which the tier does not use. */
int main(void) {
  static char *argv[] = {"prog", 0};
  return csmith_main(1, argv);
}
