/*
** tests/unit/test_call.c -- unit tests: krait_func_call argument checking.
** Owns: wrong argument count, wrong argument types, a results array too
** small; each is KRAIT_ERR_ARG with a message and no effect.
** Does not own: successful calls (test_host.c, test_objects.c).
*/
#include "fixture.h"

static void test_arg_count_mismatch(void) {
  fixture fx;
  CHECK_INT(fixture_open(&fx, NULL), 0);
  krait_val a[2] = {t_i32(1), t_i32(2)}, r[2];
  krait_error err;
  CHECK_INT(fixture_call(&fx, "double", a, 0, r, 1, &err), -1);
  CHECK_ERR(err, KRAIT_ERR_ARG);
  CHECK(err.message[0] != '\0');
  CHECK_INT(fixture_call(&fx, "double", a, 2, r, 1, &err), -1);
  CHECK_ERR(err, KRAIT_ERR_ARG);
  fixture_close(&fx);
}

static void test_arg_type_mismatch(void) {
  fixture fx;
  CHECK_INT(fixture_open(&fx, NULL), 0);
  krait_val a = t_i64(21), r;
  krait_error err;
  CHECK_INT(fixture_call(&fx, "double", &a, 1, &r, 1, &err), -1);
  CHECK_ERR(err, KRAIT_ERR_ARG);
  CHECK(err.message[0] != '\0');
  a = t_f32(1.0f);
  CHECK_INT(fixture_call(&fx, "double", &a, 1, &r, 1, &err), -1);
  CHECK_ERR(err, KRAIT_ERR_ARG);
  krait_val m[3] = {t_i64(1), t_f64(1.0), t_f64(1.0)};  /* f32 expected second */
  CHECK_INT(fixture_call(&fx, "call_mix", m, 3, &r, 1, &err), -1);
  CHECK_ERR(err, KRAIT_ERR_ARG);
  CHECK_INT(fx.host_calls, 0);
  a = t_i32(21);
  CHECK_INT(fixture_call(&fx, "double", &a, 1, &r, 1, &err), 0);  /* the right one works */
  CHECK_INT(r.of.i32, 42);
  fixture_close(&fx);
}

static void test_result_count_mismatch(void) {
  fixture fx;
  CHECK_INT(fixture_open(&fx, NULL), 0);
  krait_val a = t_i32(21), r[2];
  krait_error err;
  CHECK_INT(fixture_call(&fx, "multi", &a, 1, r, 1, &err), -1);  /* room for 1 of 2 */
  CHECK_ERR(err, KRAIT_ERR_ARG);
  CHECK_INT(fixture_call(&fx, "double", &a, 1, r, 0, &err), -1);
  CHECK_ERR(err, KRAIT_ERR_ARG);
  /* A rejected call has no side effects. */
  CHECK_INT(fixture_call(&fx, "bump", &a, 1, r, 1, &err), -1);
  CHECK_ERR(err, KRAIT_ERR_ARG);
  CHECK_INT(fixture_call(&fx, "bump", NULL, 0, r, 1, &err), 0);
  CHECK_INT(r[0].of.i32, 6);
  fixture_close(&fx);
}

int main(void) {
  RUN(test_arg_count_mismatch);
  RUN(test_arg_type_mismatch);
  RUN(test_result_count_mismatch);
  return t_summary();
}
