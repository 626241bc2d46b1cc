/*
** parse.c -- strict parsers for the numeric option values of `krait run`.
** Owns the syntax of counts, byte sizes and durations; not what the
** options mean (run.c) nor --invoke values (value.c).
*/
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

/* Parses the leading decimal digits of text into *out; *end points after
** them. Returns 0, or -1 for no digits or a value above UINT64_MAX. */
static int kc_digits(const char *text, uint64_t *out, const char **end) {
  uint64_t v = 0;
  const char *p = text;
  for (; isdigit((unsigned char)*p); p++) {
    unsigned d = (unsigned)(*p - '0');
    if (v > (UINT64_MAX - d) / 10)
      return -1;
    v = v * 10 + d;
  }
  *out = v;
  *end = p;
  return p == text ? -1 : 0;
}

/* A plain unsigned decimal integer ("1000"). */
int kc_parse_u64(const char *text, uint64_t *out) {
  const char *end;
  return kc_digits(text, out, &end) == 0 && *end == '\0' ? 0 : -1;
}

/* A byte count with an optional binary suffix: 65536, 64K, 16M, 1G (upper
** or lower case). */
int kc_parse_size(const char *text, uint64_t *out) {
  static const char units[] = "kmg";
  const char *end, *u;
  unsigned shift;
  uint64_t v;
  if (kc_digits(text, &v, &end) != 0)
    return -1;
  if (*end == '\0') {
    *out = v;
    return 0;
  }
  u = strchr(units, tolower((unsigned char)*end));
  if (!u || end[1] != '\0')
    return -1;
  shift = 10 * (unsigned)(u - units + 1);
  if (v > UINT64_MAX >> shift)
    return -1;
  *out = v << shift;
  return 0;
}

/* The nanoseconds in one of a duration's units, or 0 if unit is unknown.
** No unit means seconds. */
static double kc_unit_ns(const char *unit) {
  static const struct { const char *name; double ns; } units[] = {
    { "", 1e9 }, { "s", 1e9 }, { "ms", 1e6 }, { "us", 1e3 }, { "ns", 1 },
  };
  for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
    if (strcmp(unit, units[i].name) == 0)
      return units[i].ns;
  return 0;
}

/* A duration: a decimal number (digits, at most one '.') with an optional
** unit s, ms, us or ns; seconds without one. "0" means no limit. */
int kc_parse_duration(const char *text, uint64_t *ns) {
  const char *p = text;
  int digits = 0, dots = 0;
  double v, scale;
  for (; isdigit((unsigned char)*p) || *p == '.'; p++) {
    digits += *p != '.';
    dots += *p == '.';
  }
  scale = kc_unit_ns(p);
  if (digits == 0 || dots > 1 || scale == 0)
    return -1;
  v = strtod(text, NULL) * scale;
  if (!(v < 1.8e19))
    return -1;
  *ns = (uint64_t)(v + 0.5);
  if (*ns == 0 && v > 0)
    *ns = 1;  /* a tiny but nonzero limit must not mean "no limit" */
  return 0;
}

/* An execution tier: interp, aot or auto. */
int kc_parse_tier(const char *text, krait_tier *out)
{
  if (strcmp(text, "interp") == 0) *out = KRAIT_TIER_INTERP;
  else if (strcmp(text, "aot") == 0) *out = KRAIT_TIER_AOT;
  else if (strcmp(text, "auto") == 0) *out = KRAIT_TIER_AUTO;
  else return -1;
  return 0;
}

/* The tier a command runs on unless --tier says otherwise: $KRAIT_TIER
** when set (a bad value is named and ignored), else fallback (auto for
** the Python commands, interp for `krait run`). */
krait_tier kc_default_tier(krait_tier fallback)
{
  const char *env = getenv("KRAIT_TIER");
  krait_tier t = fallback;
  if (env && *env && kc_parse_tier(env, &t) != 0) {
    fprintf(stderr, "krait: ignoring KRAIT_TIER='%s' (interp, aot or auto)\n", env);
    t = fallback;
  }
  return t;
}
