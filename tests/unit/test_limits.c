/*
** tests/unit/test_limits.c -- unit tests: execution limits and traps.
** Owns: fuel exhaustion and refuelling, timeouts, call stack exhaustion,
** the fixed trap messages, arithmetic traps from guest code.
** Does not own: CLI-level limit tests (tests/limits/).
*/
#include <time.h>

#include "fixture.h"

typedef struct lim {
  krait_engine *e;
  krait_store *s;
  krait_linker *l;
  krait_module *m;
  krait_instance *i;
} lim;

/* Instantiates wat/limits.wat with cfg. */
static int lim_open(lim *x, const krait_config *cfg) {
  memset(x, 0, sizeof *x);
  krait_error err;
  memset(&err, 0, sizeof err);
  x->e = krait_engine_new(cfg, &err);
  if (!x->e) return -1;
  x->m = t_load(x->e, "limits");
  x->s = krait_store_new(x->e);
  x->l = krait_linker_new(x->s);
  if (!x->m || !x->s || !x->l) return -1;
  x->i = krait_instantiate(x->l, x->m, &err);
  if (!x->i) printf("instantiate: %s\n", err.message);
  return x->i ? 0 : -1;
}

static void lim_close(lim *x) {
  if (x->l) krait_linker_free(x->l);
  if (x->s) krait_store_free(x->s);
  if (x->m) krait_module_free(x->m);
  if (x->e) krait_engine_free(x->e);
}

/* Calls export name with up to one i32 argument (nargs 0 or 1). */
static int lim_call(lim *x, const char *name, int nargs, int32_t arg, int32_t *out,
                    krait_error *err) {
  krait_val a = t_i32(arg), r;
  memset(err, 0, sizeof *err);
  krait_func *f = t_func(x->i, name);
  if (!f) return -2;
  int rc = krait_func_call(x->s, f, &a, (size_t)nargs, &r, out ? 1 : 0, err);
  if (rc == 0 && out) *out = r.of.i32;
  return rc;
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void test_fuel(void) {
  krait_config cfg;
  krait_config_default(&cfg);
  lim x;
  CHECK_INT(lim_open(&x, &cfg), 0);
  CHECK(krait_store_fuel(x.s) == UINT64_MAX);
  krait_store_set_fuel(x.s, 100000);
  CHECK_INT(krait_store_fuel(x.s), 100000);
  krait_error err;
  int32_t out = 0;
  CHECK_INT(lim_call(&x, "count", 1, 100, &out, &err), 0);
  CHECK_INT(out, 100);
  uint64_t left = krait_store_fuel(x.s);
  CHECK(left < 100000 && left > 100000 - 100 * 50);
  CHECK_INT(lim_call(&x, "spin", 0, 0, NULL, &err), -1);
  CHECK_ERR(err, KRAIT_ERR_TRAP);
  CHECK_INT(err.trap, KRAIT_TRAP_FUEL);
  CHECK_CONTAINS(err.message, "fuel exhausted");
  CHECK_INT(krait_store_fuel(x.s), 0);
  krait_store_set_fuel(x.s, 1000000);
  CHECK_INT(lim_call(&x, "count", 1, 7, &out, &err), 0);
  CHECK_INT(out, 7);
  krait_store_set_fuel(x.s, 0);  /* disabled again */
  CHECK(krait_store_fuel(x.s) == UINT64_MAX);
  CHECK_INT(lim_call(&x, "count", 1, 100000, &out, &err), 0);
  lim_close(&x);
}

static void test_fuel_from_config(void) {
  krait_config cfg;
  krait_config_default(&cfg);
  cfg.fuel = 5000;
  lim x;
  CHECK_INT(lim_open(&x, &cfg), 0);
  krait_error err;
  CHECK_INT(lim_call(&x, "spin", 0, 0, NULL, &err), -1);
  CHECK_INT(err.trap, KRAIT_TRAP_FUEL);
  lim_close(&x);
}

static void test_timeout(void) {
  krait_config cfg;
  krait_config_default(&cfg);
  lim x;
  CHECK_INT(lim_open(&x, &cfg), 0);
  krait_store_set_timeout(x.s, 200 * 1000 * 1000ull);
  krait_error err;
  double t0 = now_s();
  CHECK_INT(lim_call(&x, "spin", 0, 0, NULL, &err), -1);
  double dt = now_s() - t0;
  CHECK_ERR(err, KRAIT_ERR_TRAP);
  CHECK_INT(err.trap, KRAIT_TRAP_DEADLINE);
  CHECK_CONTAINS(err.message, "deadline exceeded");
  CHECK(dt >= 0.15 && dt < 5.0);
  /* The limit is per outermost call: a short call still works. */
  int32_t out;
  CHECK_INT(lim_call(&x, "count", 1, 1000, &out, &err), 0);
  CHECK_INT(out, 1000);
  krait_store_set_timeout(x.s, 0);
  CHECK_INT(lim_call(&x, "count", 1, 1000000, &out, &err), 0);
  lim_close(&x);
}

/* The deadline check reads the clock less often while a loop runs fast
** (ki_deadline_chunk): the deadline still stops it promptly, and fuel
** with a deadline still runs out exactly where fuel alone does. */
static void test_timeout_prompt(void) {
  krait_config cfg;
  krait_config_default(&cfg);
  lim x;
  CHECK_INT(lim_open(&x, &cfg), 0);
  krait_error err;
  krait_store_set_timeout(x.s, 30 * 1000 * 1000ull);
  double t0 = now_s();
  CHECK_INT(lim_call(&x, "spin", 0, 0, NULL, &err), -1);
  double dt = now_s() - t0;
  CHECK_INT(err.trap, KRAIT_TRAP_DEADLINE);
  CHECK(dt >= 0.03 && dt < 0.5);
  if (dt >= 0.5) printf("    a 30 ms deadline fired after %.3f s\n", dt);
  uint64_t fuel[2];  /* fuel left after the same work, without and with a deadline */
  for (int with_deadline = 0; with_deadline < 2; with_deadline++) {
    krait_store_set_timeout(x.s, with_deadline ? 60ull * 1000 * 1000 * 1000 : 0);
    krait_store_set_fuel(x.s, 1000000000);
    int32_t out = 0;
    CHECK_INT(lim_call(&x, "count", 1, 3000000, &out, &err), 0);
    CHECK_INT(out, 3000000);
    fuel[with_deadline] = krait_store_fuel(x.s);
  }
  CHECK(fuel[0] < 1000000000 - 3000000);
  CHECK(fuel[0] == fuel[1]);
  lim_close(&x);
}

static void test_stack_exhausted(void) {
  krait_config cfg;
  krait_config_default(&cfg);
  lim x;
  CHECK_INT(lim_open(&x, &cfg), 0);
  krait_error err;
  int32_t out;
  CHECK_INT(lim_call(&x, "recurse", 1, 0, &out, &err), -1);
  CHECK_ERR(err, KRAIT_ERR_TRAP);
  CHECK_INT(err.trap, KRAIT_TRAP_STACK_EXHAUSTED);
  CHECK_CONTAINS(err.message, "call stack exhausted");
  CHECK_INT(lim_call(&x, "count", 1, 10, &out, &err), 0);  /* still usable */
  CHECK_INT(out, 10);
  CHECK_INT(lim_call(&x, "recurse", 1, 0, &out, &err), -1);  /* and again */
  CHECK_INT(err.trap, KRAIT_TRAP_STACK_EXHAUSTED);
  lim_close(&x);
}

static void test_small_call_depth(void) {
  krait_config cfg;
  krait_config_default(&cfg);
  cfg.max_call_depth = 500;
  lim x;
  CHECK_INT(lim_open(&x, &cfg), 0);
  krait_error err;
  int32_t out;
  CHECK_INT(lim_call(&x, "recurse", 1, 0, &out, &err), -1);
  CHECK_INT(err.trap, KRAIT_TRAP_STACK_EXHAUSTED);
  lim_close(&x);
}

static void test_trap_messages(void) {
  CHECK_STR(krait_trap_message(KRAIT_TRAP_UNREACHABLE), "unreachable");
  CHECK_STR(krait_trap_message(KRAIT_TRAP_MEMORY_OOB), "out of bounds memory access");
  CHECK_STR(krait_trap_message(KRAIT_TRAP_TABLE_OOB), "out of bounds table access");
  CHECK_STR(krait_trap_message(KRAIT_TRAP_UNDEFINED_ELEM), "undefined element");
  CHECK_STR(krait_trap_message(KRAIT_TRAP_UNINIT_ELEM), "uninitialized element");
  CHECK_STR(krait_trap_message(KRAIT_TRAP_INDIRECT_TYPE), "indirect call type mismatch");
  CHECK_STR(krait_trap_message(KRAIT_TRAP_DIV_ZERO), "integer divide by zero");
  CHECK_STR(krait_trap_message(KRAIT_TRAP_INT_OVERFLOW), "integer overflow");
  CHECK_STR(krait_trap_message(KRAIT_TRAP_BAD_CONVERSION), "invalid conversion to integer");
  CHECK_STR(krait_trap_message(KRAIT_TRAP_STACK_EXHAUSTED), "call stack exhausted");
  CHECK_STR(krait_trap_message(KRAIT_TRAP_DEADLINE), "deadline exceeded");
  CHECK_STR(krait_trap_message(KRAIT_TRAP_FUEL), "fuel exhausted");
  CHECK_STR(krait_trap_message(KRAIT_TRAP_NOMEM), "out of memory");
}

static void test_arithmetic_traps(void) {
  fixture fx;
  CHECK_INT(fixture_open(&fx, NULL), 0);
  krait_val a[2] = {t_i32(7), t_i32(0)}, r;
  krait_error err;
  CHECK_INT(fixture_call(&fx, "div", a, 2, &r, 1, &err), -1);
  CHECK_ERR(err, KRAIT_ERR_TRAP);
  CHECK_INT(err.trap, KRAIT_TRAP_DIV_ZERO);
  CHECK_CONTAINS(err.message, "integer divide by zero");
  CHECK_CONTAINS(err.message, "div");  /* names the function */
  a[0] = t_i32(INT32_MIN); a[1] = t_i32(-1);
  CHECK_INT(fixture_call(&fx, "div", a, 2, &r, 1, &err), -1);
  CHECK_INT(err.trap, KRAIT_TRAP_INT_OVERFLOW);
  CHECK_CONTAINS(err.message, "integer overflow");
  a[0] = t_i32(-7); a[1] = t_i32(2);
  CHECK_INT(fixture_call(&fx, "div", a, 2, &r, 1, &err), 0);
  CHECK_INT(r.of.i32, -3);
  fixture_close(&fx);
}

int main(void) {
  RUN(test_fuel);
  RUN(test_fuel_from_config);
  RUN(test_timeout);
  RUN(test_timeout_prompt);
  RUN(test_stack_exhausted);
  RUN(test_small_call_depth);
  RUN(test_trap_messages);
  RUN(test_arithmetic_traps);
  return t_summary();
}
