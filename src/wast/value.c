/*
** value.c -- wast2json values: arguments, expected results, NaN patterns.
** Owns the externref mapping (wast value N <-> host pointer N+1).
** Does not own command handling (command.c) or running the engine.
*/
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "wast/wast_internal.h"

/* The value types wast2json writes, by name. */
static const struct {
  const char *name;
  krait_valtype type;
} kt_types[] = {
  {"i32", KRAIT_I32}, {"i64", KRAIT_I64}, {"f32", KRAIT_F32},
  {"f64", KRAIT_F64}, {"funcref", KRAIT_FUNCREF},
  {"externref", KRAIT_EXTERNREF},
};

/* Looks up the "type" member of a value object. Returns 0 or -1. */
static int type_of(json_t *j, krait_valtype *out) {
  const char *name = json_string_value(json_object_get(j, "type"));
  size_t i;

  if (!name)
    return -1;
  for (i = 0; i < sizeof kt_types / sizeof kt_types[0]; i++) {
    if (strcmp(name, kt_types[i].name) == 0) {
      *out = kt_types[i].type;
      return 0;
    }
  }
  return -1;
}

/* The name of a value type, for messages. */
static const char *type_name(krait_valtype t) {
  size_t i;

  for (i = 0; i < sizeof kt_types / sizeof kt_types[0]; i++)
    if (kt_types[i].type == t)
      return kt_types[i].name;
  return "?";
}

/* Parses a decimal number string (wast2json writes bit patterns as
** unsigned decimals; a leading '-' is accepted and wrapped) that must fit
** in `bits` bits. Returns 0, or -1 if s is not such a number. */
static int parse_bits(const char *s, int bits, uint64_t *out) {
  uint64_t max = bits == 64 ? UINT64_MAX : (UINT64_C(1) << bits) - 1;
  char *end;
  uint64_t v;

  if (!s || !*s)
    return -1;
  errno = 0;
  if (s[0] == '-')
    v = (uint64_t)strtoll(s, &end, 10) & max;
  else
    v = strtoull(s, &end, 10);
  if (errno || *end || v > max)
    return -1;
  *out = v;
  return 0;
}

/* True when a value object is a v128 (SIMD), which the runner skips. */
int kt_val_is_v128(json_t *j) {
  const char *name = json_string_value(json_object_get(j, "type"));

  return name && strcmp(name, "v128") == 0;
}

/* Stores a numeric bit pattern into a value of type t. */
static void set_bits(krait_val *out, krait_valtype t, uint64_t bits) {
  out->type = t;
  out->of.bits = 0;
  if (t == KRAIT_I32 || t == KRAIT_F32)
    out->of.i32 = (int32_t)(uint32_t)bits;
  else
    out->of.bits = bits;
}

/* Converts a reference argument: "null", or externref N as pointer N+1. */
static int ref_from_json(const char *s, krait_val *out, char *why,
                         size_t n) {
  uint64_t v;

  out->of.bits = 0;
  out->of.ref = NULL;
  if (strcmp(s, "null") == 0)
    return KT_OK;
  if (out->type == KRAIT_EXTERNREF && parse_bits(s, 63, &v) == 0) {
    out->of.ref = (void *)(uintptr_t)(v + 1);
    return KT_OK;
  }
  snprintf(why, n, "unsupported %s argument \"%s\"", type_name(out->type), s);
  return KT_BAD;
}

/* Converts one argument object of an action into *out. Returns KT_OK,
** KT_SKIP for v128 (why says so) or KT_BAD with why describing it. */
int kt_val_from_json(json_t *j, krait_val *out, char *why, size_t n) {
  const char *s = json_string_value(json_object_get(j, "value"));
  krait_valtype t;
  uint64_t bits;
  int width;

  if (kt_val_is_v128(j)) {
    snprintf(why, n, "v128 value (SIMD not supported)");
    return KT_SKIP;
  }
  if (!json_is_object(j) || type_of(j, &t) != 0 || !s) {
    snprintf(why, n, "malformed argument value in JSON");
    return KT_BAD;
  }
  out->type = t;
  if (t == KRAIT_FUNCREF || t == KRAIT_EXTERNREF)
    return ref_from_json(s, out, why, n);
  width = (t == KRAIT_I32 || t == KRAIT_F32) ? 32 : 64;
  if (parse_bits(s, width, &bits) != 0) {
    snprintf(why, n, "bad %s argument \"%s\"", type_name(t), s);
    return KT_BAD;
  }
  set_bits(out, t, bits);
  return KT_OK;
}

/* The raw bits of a numeric value (i32/f32 zero-extended). */
static uint64_t bits_of(const krait_val *v) {
  if (v->type == KRAIT_I32 || v->type == KRAIT_F32)
    return (uint32_t)v->of.i32;
  return v->of.bits;
}

/* Checks a float result against "nan:canonical" or "nan:arithmetic":
** canonical is exactly the quiet bit set (either sign); arithmetic is any
** NaN with the quiet bit set. */
static int nan_matches(const krait_val *got, const char *pattern) {
  uint64_t b = bits_of(got);
  uint64_t exp_q, sign;

  if (got->type == KRAIT_F32) {
    exp_q = UINT64_C(0x7fc00000);
    sign = UINT64_C(0x80000000);
  } else {
    exp_q = UINT64_C(0x7ff8000000000000);
    sign = UINT64_C(1) << 63;
  }
  if (strcmp(pattern, "nan:canonical") == 0)
    return (b & ~sign) == exp_q;
  return (b & exp_q) == exp_q;
}

/* Checks a reference result: "null", externref N (pointer N+1), or any
** other funcref text meaning "some non-null function". */
static int ref_matches(const krait_val *got, const char *s) {
  uint64_t v;

  if (strcmp(s, "null") == 0)
    return got->of.ref == NULL;
  if (got->type == KRAIT_FUNCREF)
    return got->of.ref != NULL;
  if (parse_bits(s, 63, &v) != 0)
    return -1;
  return got->of.ref == (void *)(uintptr_t)(v + 1);
}

/* Compares a result with an expected value object. Returns 1 on a match,
** 0 on a mismatch and KT_BAD on malformed JSON; why explains 0 and KT_BAD. */
int kt_val_matches(json_t *j, const krait_val *got, char *why, size_t n) {
  const char *s = json_string_value(json_object_get(j, "value"));
  char have[96];
  krait_valtype t;
  uint64_t bits;
  int ok;

  if (!json_is_object(j) || type_of(j, &t) != 0 || !s) {
    snprintf(why, n, "malformed expected value in JSON");
    return KT_BAD;
  }
  kt_val_format(got, have, sizeof have);
  if (got->type != t)
    ok = 0;
  else if (t == KRAIT_FUNCREF || t == KRAIT_EXTERNREF)
    ok = ref_matches(got, s);
  else if (strncmp(s, "nan:", 4) == 0 && (t == KRAIT_F32 || t == KRAIT_F64))
    ok = nan_matches(got, s);
  else if (parse_bits(s, (t == KRAIT_I32 || t == KRAIT_F32) ? 32 : 64,
                      &bits) == 0)
    ok = bits_of(got) == bits;
  else
    ok = -1;
  if (ok < 0) {
    snprintf(why, n, "bad expected %s value \"%s\"", type_name(t), s);
    return KT_BAD;
  }
  if (!ok)
    snprintf(why, n, "expected %s:%s, got %s", type_name(t), s, have);
  return ok;
}

/* Writes a value as text in wast2json's notation (bit patterns in
** decimal), with a readable float in parentheses. */
void kt_val_format(const krait_val *v, char *buf, size_t n) {
  switch (v->type) {
  case KRAIT_I32:
  case KRAIT_I64:
    snprintf(buf, n, "%s:%" PRIu64, type_name(v->type), bits_of(v));
    break;
  case KRAIT_F32:
    snprintf(buf, n, "f32:%" PRIu64 " (%.9g)", bits_of(v), (double)v->of.f32);
    break;
  case KRAIT_F64:
    snprintf(buf, n, "f64:%" PRIu64 " (%.17g)", bits_of(v), v->of.f64);
    break;
  case KRAIT_EXTERNREF:
    if (v->of.ref)
      snprintf(buf, n, "externref:%" PRIuPTR, (uintptr_t)v->of.ref - 1);
    else
      snprintf(buf, n, "externref:null");
    break;
  case KRAIT_FUNCREF:
    if (v->of.ref)
      snprintf(buf, n, "funcref:%p", v->of.ref);
    else
      snprintf(buf, n, "funcref:null");
    break;
  default:
    snprintf(buf, n, "type%d:%" PRIu64, (int)v->type, v->of.bits);
    break;
  }
}
