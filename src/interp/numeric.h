/*
** numeric.h -- bit-exact float helpers used by opcode semantics: bit casts,
** min/max with NaN and signed-zero rules, saturating truncations.
*/
#ifndef KN_NUMERIC_H
#define KN_NUMERIC_H

#include <stdint.h>
#include <string.h>
#include <math.h>

static inline uint32_t kn_bits_f32(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }
static inline uint64_t kn_bits_f64(double f) { uint64_t u; memcpy(&u, &f, 8); return u; }
static inline float kn_f32_bits(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }
static inline double kn_f64_bits(uint64_t u) { double f; memcpy(&f, &u, 8); return f; }

/* Wasm min/max: NaN if either is NaN (quieted), -0 < +0. */
static inline float kn_f32_min(float a, float b) {
  if (a != a || b != b) return a + b;
  if (a == b) return kn_f32_bits(kn_bits_f32(a) | kn_bits_f32(b));
  return a < b ? a : b;
}
static inline float kn_f32_max(float a, float b) {
  if (a != a || b != b) return a + b;
  if (a == b) return kn_f32_bits(kn_bits_f32(a) & kn_bits_f32(b));
  return a > b ? a : b;
}
static inline double kn_f64_min(double a, double b) {
  if (a != a || b != b) return a + b;
  if (a == b) return kn_f64_bits(kn_bits_f64(a) | kn_bits_f64(b));
  return a < b ? a : b;
}
static inline double kn_f64_max(double a, double b) {
  if (a != a || b != b) return a + b;
  if (a == b) return kn_f64_bits(kn_bits_f64(a) & kn_bits_f64(b));
  return a > b ? a : b;
}

/* Saturating truncations: NaN -> 0, out of range -> the nearest bound. */
static inline uint32_t kn_sat_i32_f32_s(float a) {
  if (a != a) return 0;
  if (a < -2147483648.0f) return 0x80000000u;
  if (a >= 2147483648.0f) return 0x7fffffffu;
  return (uint32_t)(int32_t)a;
}
static inline uint32_t kn_sat_i32_f32_u(float a) {
  if (a != a || a <= -1.0f) return 0;
  if (a >= 4294967296.0f) return 0xffffffffu;
  return (uint32_t)a;
}
static inline uint32_t kn_sat_i32_f64_s(double a) {
  if (a != a) return 0;
  if (a <= -2147483649.0) return 0x80000000u;
  if (a >= 2147483648.0) return 0x7fffffffu;
  return (uint32_t)(int32_t)a;
}
static inline uint32_t kn_sat_i32_f64_u(double a) {
  if (a != a || a <= -1.0) return 0;
  if (a >= 4294967296.0) return 0xffffffffu;
  return (uint32_t)a;
}
static inline uint64_t kn_sat_i64_f32_s(float a) {
  if (a != a) return 0;
  if (a < -9223372036854775808.0f) return 0x8000000000000000ull;
  if (a >= 9223372036854775808.0f) return 0x7fffffffffffffffull;
  return (uint64_t)(int64_t)a;
}
static inline uint64_t kn_sat_i64_f32_u(float a) {
  if (a != a || a <= -1.0f) return 0;
  if (a >= 18446744073709551616.0f) return ~0ull;
  return (uint64_t)a;
}
static inline uint64_t kn_sat_i64_f64_s(double a) {
  if (a != a) return 0;
  if (a < -9223372036854775808.0) return 0x8000000000000000ull;
  if (a >= 9223372036854775808.0) return 0x7fffffffffffffffull;
  return (uint64_t)(int64_t)a;
}
static inline uint64_t kn_sat_i64_f64_u(double a) {
  if (a != a || a <= -1.0) return 0;
  if (a >= 18446744073709551616.0) return ~0ull;
  return (uint64_t)a;
}

#endif
