/*
** tests/guest/floats.c -- guest program: floating point and libm.
** Owns: f32/f64 arithmetic, conversions, printf %g %.17g %a %e %f, and
** sin exp pow sqrt fmod floor ceil trunc round fabs copysign.
** Does not own: comparing outputs (tests/guest/run.sh does that).
** Results of exactly rounded operations print at full precision; results
** of libm functions whose last bit may differ between libcs (sin, exp,
** pow) print with %.14g.
*/
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static volatile double vzero = 0.0;

static uint64_t bits64(double d) { uint64_t u; memcpy(&u, &d, 8); return u; }
static uint32_t bits32(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }

static void exact_ops(void) {
  double xs[] = {0.1, 1.0 / 3, 2.5, -7.25, 1e300, 1e-300, 123456789.125, 0x1.fffffffffffffp+1023};
  for (unsigned i = 0; i < sizeof xs / sizeof xs[0]; i++) {
    double x = xs[i];
    printf("x=%.17g %a | x*x=%.17g x+1/3=%.17g sqrt|x|=%.17g\n", x, x, x * x,
           x + 1.0 / 3, sqrt(fabs(x)));
    printf("  %g %e %.3f %10.4g|%-12.5e|%+g\n", x, x, x < 1e20 ? x : 0.0, x, x, x);
  }
  printf("fmod: %.17g %.17g %.17g %.17g\n", fmod(10.5, 3.0), fmod(-10.5, 3.0),
         fmod(1e20, 7.0), fmod(5.0, 0.3));
  printf("round: %g %g %g %g %g %g %g %g\n", floor(-2.5), ceil(-2.5), trunc(-2.7),
         round(2.5), round(-3.5), nearbyint(2.5), rint(3.5), fabs(-0.0));
  printf("copysign: %g %g fmin=%g fmax=%g\n", copysign(3.0, -0.0), copysign(-2.0, 1.0),
         fmin(-1.0, 2.0), fmax(-1.0, 2.0));
  printf("special: %g %g %g %g\n", 1.0 / vzero, -1.0 / vzero, vzero / vzero == vzero / vzero ? 1.0 : 0.0, -0.0);
  printf("isnan=%d isinf=%d signbit=%d\n", isnan(vzero / vzero), isinf(1 / vzero) , signbit(-0.0) != 0);
  printf("min denorm bits=%016llx max=%a eps=%a\n",
         (unsigned long long)bits64(4.9406564584124654e-324), 1.7976931348623157e308, 2.220446049250313e-16);
}

static void f32_ops(void) {
  float a = 1.1f, b = 3.3f, acc = 0.0f;
  for (int i = 0; i < 1000; i++) acc += a * (float)i / b;
  printf("f32: acc=%.9g bits=%08x div=%.9g sqrtf=%.9g\n", acc, bits32(acc), a / b, sqrtf(b));
  printf("f32: %.9g %.9g %a\n", (float)(1.0 / 3.0), (float)16777217, (double)0.1f);
}

static void conversions(void) {
  double ds[] = {-2147483648.9, 2147483647.9, 4294967295.5, -0.99, 1e18, -9.2e18};
  for (unsigned i = 0; i < sizeof ds / sizeof ds[0]; i++) {
    double d = ds[i];
    int64_t s = (int64_t)d;
    printf("conv %.17g -> i64 %lld", d, (long long)s);
    if (d > -2147483649.0 && d < 2147483648.0) printf(" i32 %d", (int32_t)d);
    if (d > -1.0 && d < 4294967296.0) printf(" u32 %u", (uint32_t)d);
    printf(" f32 %.9g\n", (float)d);
  }
  uint64_t big = 0xFFFFFFFFFFFFF801ull;
  printf("u64->f64 %.17g i64->f32 %.9g u32->f32 %.9g\n", (double)big,
         (float)(int64_t)-9007199254740993ll, (float)4294967295u);
}

static void libm(void) {
  double s = 0, e = 0, p = 0, l = 0, t = 0;
  for (int i = -50; i <= 50; i++) {
    double x = i * 0.37;
    s += sin(x) + cos(x);
    e += exp(x / 8);
    p += pow(1.0 + fabs(x) / 10, 1.7);
    l += log(1.0 + fabs(x));
    t += fabs(atan2(x, 1.5)) + tanh(x / 10) * tanh(x / 10);
  }
  printf("libm sums: sin+cos=%.12g exp=%.12g pow=%.12g log=%.12g atan2+tanh=%.12g\n", s, e, p, l, t);
  printf("libm points: %.14g %.14g %.14g %.14g %.14g\n", sin(1.0), exp(1.0), pow(2.0, 0.5),
         log10(2.0), cbrt(27.0));
  printf("pow exact: %.17g %.17g %.17g\n", pow(2.0, 10.0), pow(10.0, 15.0), pow(-2.0, 3.0));
}

int main(void) {
  exact_ops();
  f32_ops();
  conversions();
  libm();
  return 0;
}
