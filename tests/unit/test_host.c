/*
** tests/unit/test_host.c -- unit tests: calls between host and guest.
** Owns: host function roundtrips (i32, i64/f32/f64 mixes, multi-value),
** caller data and memory, host traps, host exits, WASI stdout + proc_exit,
** WASI preopens.
** Does not own: the host functions themselves (fixture.h).
*/
#include <errno.h>
#include <unistd.h>

#include "fixture.h"

static void test_host_roundtrip(void) {
  fixture fx;
  CHECK_INT(fixture_open(&fx, NULL), 0);
  krait_val args[2] = {t_i32(40), t_i32(2)}, res[1];
  krait_error err;
  CHECK_INT(fixture_call(&fx, "call_add", args, 2, res, 1, &err), 0);
  CHECK_INT(res[0].type, KRAIT_I32);
  CHECK_INT(res[0].of.i32, 42);
  args[0] = t_i32(-5); args[1] = t_i32(INT32_MIN);
  CHECK_INT(fixture_call(&fx, "call_add", args, 2, res, 1, &err), 0);
  CHECK_INT(res[0].of.i32, (int32_t)((uint32_t)INT32_MIN - 5u));
  CHECK_INT(fx.host_calls, 2);
  CHECK(fx.seen_data == &fx);
  fixture_close(&fx);
}

static void test_host_mixed_types(void) {
  fixture fx;
  CHECK_INT(fixture_open(&fx, NULL), 0);
  krait_val args[3] = {t_i64(1LL << 40), t_f32(1.5f), t_f64(-4.0)}, res[1];
  krait_error err;
  CHECK_INT(fixture_call(&fx, "call_mix", args, 3, res, 1, &err), 0);
  CHECK_INT(res[0].type, KRAIT_F64);
  CHECK(res[0].of.f64 == (double)(1LL << 40) - 6.0);
  CHECK_INT(fixture_call(&fx, "get_g", NULL, 0, res, 1, &err), 0);
  CHECK_INT(res[0].type, KRAIT_I64);
  CHECK_INT(res[0].of.i64, 1234567890123LL);
  krait_val one = t_i32(-9), two[2];
  CHECK_INT(fixture_call(&fx, "multi", &one, 1, two, 2, &err), 0);
  CHECK_INT(two[0].type, KRAIT_I32);
  CHECK_INT(two[0].of.i32, -9);
  CHECK_INT(two[1].type, KRAIT_I64);
  CHECK_INT(two[1].of.i64, -9);
  fixture_close(&fx);
}

static void test_caller_memory(void) {
  fixture fx;
  CHECK_INT(fixture_open(&fx, NULL), 0);
  krait_val a = t_i32(16 + 2), r;  /* data segment "krait" at 16 */
  krait_error err;
  CHECK_INT(fixture_call(&fx, "call_peek", &a, 1, &r, 1, &err), 0);
  CHECK_INT(r.of.i32, 'a');
  a = t_i32(1 << 20);
  CHECK_INT(fixture_call(&fx, "call_peek", &a, 1, &r, 1, &err), -1);
  CHECK_ERR(err, KRAIT_ERR_TRAP);
  CHECK_CONTAINS(err.message, "peek out of range");
  fixture_close(&fx);
}

static void test_host_trap(void) {
  fixture fx;
  CHECK_INT(fixture_open(&fx, NULL), 0);
  krait_error err;
  CHECK_INT(fixture_call(&fx, "call_trap", NULL, 0, NULL, 0, &err), -1);
  CHECK_ERR(err, KRAIT_ERR_TRAP);
  CHECK_INT(err.trap, KRAIT_TRAP_HOST);
  CHECK_CONTAINS(err.message, "host says no (77)");
  /* The store stays usable after a trap. */
  krait_val args[2] = {t_i32(1), t_i32(2)}, res;
  CHECK_INT(fixture_call(&fx, "call_add", args, 2, &res, 1, &err), 0);
  CHECK_INT(res.of.i32, 3);
  fixture_close(&fx);
}

static void test_host_exit(void) {
  fixture fx;
  CHECK_INT(fixture_open(&fx, NULL), 0);
  krait_val a = t_i32(17);
  krait_error err;
  CHECK_INT(fixture_call(&fx, "call_exit", &a, 1, NULL, 0, &err), -1);
  CHECK_ERR(err, KRAIT_ERR_EXIT);
  CHECK_INT(err.exit_code, 17);
  fixture_close(&fx);
}

static void test_wasi_stdout_and_exit(void) {
  int fds[2];
  CHECK_INT(pipe(fds), 0);
  krait_error err;
  memset(&err, 0, sizeof err);
  krait_engine *e = t_engine();
  CHECK(e != NULL);
  krait_module *m = t_load(e, "wasi_hello");
  CHECK(m != NULL);
  krait_store *s = krait_store_new(e);
  krait_linker *l = krait_linker_new(s);
  const char *argv[] = {"hello", "x"};
  krait_wasi_config wc = {2, argv, 0, NULL, 0, fds[1], 2};
  CHECK_INT(krait_wasi_define(l, &wc), 0);
  krait_instance *inst = krait_instantiate(l, m, &err);
  CHECK(inst != NULL);
  krait_func *start = t_func(inst, "_start");
  CHECK(start != NULL);
  CHECK_INT(krait_func_call(s, start, NULL, 0, NULL, 0, &err), -1);
  CHECK_ERR(err, KRAIT_ERR_EXIT);
  CHECK_INT(err.exit_code, 3);
  close(fds[1]);
  char buf[64] = {0};
  ssize_t n = read(fds[0], buf, sizeof buf - 1);
  close(fds[0]);
  CHECK_INT(n, 11);
  CHECK_STR(buf, "hello wasi\n");
  krait_linker_free(l);
  krait_store_free(s);
  krait_module_free(m);
  krait_engine_free(e);
}

/* krait_wasi_define opens every preopen, and fails (errno set) when a
** host directory is missing. */
static void test_wasi_preopens(void) {
  krait_config cfg;
  krait_config_default(&cfg);
  krait_engine *e = krait_engine_new(&cfg, NULL);
  CHECK(e != NULL);
  krait_store *s = krait_store_new(e);
  krait_linker *l = krait_linker_new(s);
  krait_wasi_preopen ok[2] = {{".", "/work", 0}, {"/", NULL, 1}};
  krait_wasi_preopen bad[1] = {{"/no/such/krait/dir", "/x", 0}};
  krait_wasi_config wc = {0, NULL, 0, NULL, 0, 1, 2, 2, ok};
  CHECK_INT(krait_wasi_define(l, &wc), 0);
  krait_linker_free(l);
  l = krait_linker_new(s);
  wc.npreopens = 1;
  wc.preopens = bad;
  errno = 0;
  CHECK_INT(krait_wasi_define(l, &wc), -1);
  CHECK_INT(errno, ENOENT);
  krait_linker_free(l);
  krait_store_free(s);
  krait_engine_free(e);
}

static void test_instance_linking(void) {
  /* Exports of one instance satisfy the imports of another. */
  fixture fx;
  CHECK_INT(fixture_open(&fx, NULL), 0);
  CHECK_INT(krait_linker_define_instance(fx.linker, "first", fx.inst), 0);
  krait_extern ext;
  CHECK_INT(krait_instance_export(fx.inst, "double", &ext), 0);
  CHECK_INT(ext.kind, KRAIT_EXTERN_FUNC);
  /* Re-define env.add as the first instance's "double"-compatible adder. */
  krait_extern add;
  CHECK_INT(krait_instance_export(fx.inst, "call_add", &add), 0);
  CHECK_INT(krait_linker_define(fx.linker, "env", "add", &add), 0);
  krait_error err;
  memset(&err, 0, sizeof err);
  krait_instance *second = krait_instantiate(fx.linker, fx.module, &err);
  CHECK(second != NULL);
  krait_func *f = t_func(second, "call_add");
  CHECK(f != NULL);
  krait_val args[2] = {t_i32(20), t_i32(22)}, res;
  CHECK_INT(krait_func_call(fx.store, f, args, 2, &res, 1, &err), 0);
  CHECK_INT(res.of.i32, 42);
  CHECK_INT(fx.host_calls, 1);  /* second -> first.call_add -> host */
  CHECK_INT(krait_instance_export(second, "no_such_export", &ext), -1);
  fixture_close(&fx);
}

int main(void) {
  RUN(test_host_roundtrip);
  RUN(test_host_mixed_types);
  RUN(test_caller_memory);
  RUN(test_host_trap);
  RUN(test_host_exit);
  RUN(test_wasi_stdout_and_exit);
  RUN(test_wasi_preopens);
  RUN(test_instance_linking);
  return t_summary();
}
