/*
** value.c -- --invoke arguments from text and results to text.
** Owns the value syntax (ints in decimal/hex, C float syntax) and the
** wasmtime-like result format; not calling the function (run.c).
*/
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

/* The wasm name of a signature letter. */
const char *kc_type_name(char type) {
  switch (type) {
  case 'i': return "i32";
  case 'I': return "i64";
  case 'f': return "f32";
  case 'F': return "f64";
  case 'r': return "funcref";
  case 'x': return "externref";
  default: return "?";
  }
}

/* An integer of the given width: optional sign, then decimal digits or 0x
** and hex digits. Both the signed and the unsigned range are accepted
** (-1 and 0xffffffff are the same i32). Returns 0 or -1. */
static int kc_parse_int(const char *text, int bits, uint64_t *out) {
  int neg = text[0] == '-', base = 10;
  const char *p = text + (neg || text[0] == '+');
  uint64_t max = bits == 32 ? UINT32_MAX : UINT64_MAX;
  uint64_t max_neg = (uint64_t)1 << (bits - 1);
  unsigned long long v;
  char *end;
  if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
    base = 16;
    p += 2;
  }
  if (base == 16 ? !isxdigit((unsigned char)*p) : !isdigit((unsigned char)*p))
    return -1;
  errno = 0;
  v = strtoull(p, &end, base);
  if (*end != '\0' || errno != 0 || v > (neg ? max_neg : max))
    return -1;
  *out = neg ? 0 - (uint64_t)v : (uint64_t)v;
  return 0;
}

/* Parses text as a value of signature letter type into *out. Floats take
** the C syntax: 1.5, -2e10, 0x1.8p3, nan, inf, infinity. Returns 0 or -1
** (also for reference types, which have no command-line form). */
int kc_parse_val(const char *text, char type, krait_val *out) {
  uint64_t bits = 0;
  char *end = NULL;
  memset(out, 0, sizeof *out);
  if (text[0] == '\0' || isspace((unsigned char)text[0]))
    return -1;
  switch (type) {
  case 'i':
    out->type = KRAIT_I32;
    if (kc_parse_int(text, 32, &bits) != 0)
      return -1;
    out->of.i32 = (int32_t)(uint32_t)bits;
    return 0;
  case 'I':
    out->type = KRAIT_I64;
    if (kc_parse_int(text, 64, &bits) != 0)
      return -1;
    out->of.i64 = (int64_t)bits;
    return 0;
  case 'f':
    out->type = KRAIT_F32;
    out->of.f32 = strtof(text, &end);
    return *end == '\0' ? 0 : -1;
  case 'F':
    out->type = KRAIT_F64;
    out->of.f64 = strtod(text, &end);
    return *end == '\0' ? 0 : -1;
  default:
    return -1;
  }
}

/* Rounds the exact digits of a value to p significant digits, halves
** rounding up as Rust does, into out; a carry out of the first digit
** (9.99 -> 10.0) bumps *exp10. */
static void kc_round_digits(const char *exact, int p, char *out, int *exp10) {
  int i = p - 1;
  memcpy(out, exact, (size_t)p);
  out[p] = '\0';
  if (exact[p] < '5')
    return;
  for (; i >= 0 && out[i] == '9'; i--)
    out[i] = '0';
  if (i >= 0) {
    out[i]++;
    return;
  }
  memmove(out + 1, out, (size_t)p);
  out[0] = '1';
  out[p] = '\0';
  (*exp10)++;
}

/* The shortest decimal digits that read back as v (v >= 0, finite), as in
** Rust's float Display: digits (no trailing zeros except "0") and the power
** of ten of the first digit. glibc prints the exact expansion of a double
** (at most 767 significant digits), which is rounded here. */
static void kc_shortest(double v, int is_f32, char *digits, int *exp10) {
  char exact[800], tmp[48];
  const char *q;
  int n = 0, e = 0;
  snprintf(exact, sizeof exact, "%.780e", v);
  for (q = exact; *q && *q != 'e'; q++)
    if (isdigit((unsigned char)*q))
      exact[n++] = *q;
  *exp10 = atoi(q + 1);
  exact[n] = '\0';
  for (int p = 1; p <= 17; p++) {
    e = *exp10;
    kc_round_digits(exact, p, digits, &e);
    snprintf(tmp, sizeof tmp, "0.%se%d", digits, e + 1);
    if (is_f32 ? strtof(tmp, NULL) == (float)v : strtod(tmp, NULL) == v)
      break;
  }
  *exp10 = e;
  for (n = (int)strlen(digits); n > 1 && digits[n - 1] == '0'; n--)
    digits[n - 1] = '\0';
}

/* Appends n copies of c to buf at *at, within size (always terminated). */
static void kc_put(char *buf, size_t size, size_t *at, char c, int n) {
  for (; n > 0 && *at + 1 < size; n--)
    buf[(*at)++] = c;
  buf[*at] = '\0';
}

/* Appends the first n bytes of s to buf at *at, within size. */
static void kc_puts(char *buf, size_t size, size_t *at, const char *s, int n) {
  for (int i = 0; i < n && s[i]; i++)
    kc_put(buf, size, at, s[i], 1);
}

/* Formats a float the way wasmtime prints --invoke results (Rust's
** Display): shortest round-trip digits, never an exponent ("1.5", "100",
** "0.001", "-0", "NaN", "inf"). */
static void kc_format_float(double v, int is_f32, char *buf, size_t size) {
  char d[24];
  int e, len;
  size_t at = 0;
  if (isnan(v) || isinf(v)) {
    snprintf(buf, size, "%s", isnan(v) ? "NaN" : v < 0 ? "-inf" : "inf");
    return;
  }
  kc_shortest(fabs(v), is_f32, d, &e);
  len = (int)strlen(d);
  kc_put(buf, size, &at, '-', signbit(v) ? 1 : 0);
  if (e < 0) {
    kc_puts(buf, size, &at, "0.", 2);
    kc_put(buf, size, &at, '0', -e - 1);
    kc_puts(buf, size, &at, d, len);
  } else if (len <= e + 1) {
    kc_puts(buf, size, &at, d, len);
    kc_put(buf, size, &at, '0', e + 1 - len);
  } else {
    kc_puts(buf, size, &at, d, e + 1);
    kc_put(buf, size, &at, '.', 1);
    kc_puts(buf, size, &at, d + e + 1, len - e - 1);
  }
}

/* Formats a result: integers in signed decimal, floats as above,
** references as wasmtime names them. */
void kc_format_val(const krait_val *v, char *buf, size_t size) {
  switch (v->type) {
  case KRAIT_I32: snprintf(buf, size, "%d", (int)v->of.i32); break;
  case KRAIT_I64: snprintf(buf, size, "%lld", (long long)v->of.i64); break;
  case KRAIT_F32: kc_format_float(v->of.f32, 1, buf, size); break;
  case KRAIT_F64: kc_format_float(v->of.f64, 0, buf, size); break;
  case KRAIT_FUNCREF:
    snprintf(buf, size, v->of.ref ? "<funcref>" : "<null funcref>");
    break;
  case KRAIT_EXTERNREF:
    snprintf(buf, size, v->of.ref ? "<externref>" : "<null externref>");
    break;
  default: snprintf(buf, size, "?"); break;
  }
}
