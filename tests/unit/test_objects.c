/*
** tests/unit/test_objects.c -- unit tests: memory, global and table API.
** Owns: sizes, host reads/writes seen by the guest and back, growth and
** limits, global mutability and types, table get/set/grow and what
** call_indirect does with the host's changes.
** Does not own: fixture setup (fixture.h).
*/
#include "fixture.h"

static void test_memory_api(void) {
  fixture fx;
  CHECK_INT(fixture_open(&fx, NULL), 0);
  krait_extern ext;
  CHECK_INT(krait_instance_export(fx.inst, "mem", &ext), 0);
  CHECK_INT(ext.kind, KRAIT_EXTERN_MEMORY);
  krait_memory *mem = ext.of.memory;
  CHECK_INT(krait_memory_size(mem), 65536);
  CHECK(memcmp(krait_memory_data(mem) + 16, "krait", 5) == 0);
  uint32_t v = 0xA1B2C3D4u;
  memcpy(krait_memory_data(mem) + 100, &v, 4);  /* wasm is little-endian, so is the host */
  krait_val a[2] = {t_i32(100), t_i32(0)}, r;
  krait_error err;
  CHECK_INT(fixture_call(&fx, "load", a, 1, &r, 1, &err), 0);
  CHECK_INT((uint32_t)r.of.i32, 0xA1B2C3D4u);
  a[0] = t_i32(65532); a[1] = t_i32(0x01020304);
  CHECK_INT(fixture_call(&fx, "store", a, 2, NULL, 0, &err), 0);
  CHECK_INT(krait_memory_data(mem)[65532], 4);
  CHECK_INT(krait_memory_data(mem)[65535], 1);
  a[0] = t_i32(65533);
  CHECK_INT(fixture_call(&fx, "store", a, 2, NULL, 0, &err), -1);
  CHECK_ERR(err, KRAIT_ERR_TRAP);
  CHECK_INT(err.trap, KRAIT_TRAP_MEMORY_OOB);
  CHECK_INT(krait_memory_grow(mem, 1), 1);
  CHECK_INT(krait_memory_size(mem), 131072);
  CHECK_INT(fixture_call(&fx, "store", a, 2, NULL, 0, &err), 0);  /* now in range */
  CHECK_INT(fixture_call(&fx, "size", NULL, 0, &r, 1, &err), 0);
  CHECK_INT(r.of.i32, 2);
  a[0] = t_i32(2);
  CHECK_INT(fixture_call(&fx, "grow", a, 1, &r, 1, &err), 0);
  CHECK_INT(r.of.i32, 2);
  CHECK_INT(krait_memory_grow(mem, 1), -1);  /* max is 4 pages */
  a[0] = t_i32(1);
  CHECK_INT(fixture_call(&fx, "grow", a, 1, &r, 1, &err), 0);
  CHECK_INT(r.of.i32, -1);
  CHECK_INT(krait_memory_size(mem), 4 * 65536);
  CHECK_INT(krait_memory_data(mem)[4 * 65536 - 1], 0);
  fixture_close(&fx);
}

static void test_memory_new_and_cap(void) {
  krait_config cfg;
  krait_config_default(&cfg);
  cfg.max_memory_bytes = 3 * 65536;
  krait_error err;
  krait_engine *e = krait_engine_new(&cfg, &err);
  CHECK(e != NULL);
  krait_store *s = krait_store_new(e);
  krait_memory *m = krait_memory_new(s, 1, UINT32_MAX);
  CHECK(m != NULL);
  CHECK_INT(krait_memory_size(m), 65536);
  CHECK_INT(krait_memory_grow(m, 2), 1);
  CHECK_INT(krait_memory_grow(m, 1), -1);  /* engine cap: 3 pages */
  CHECK_INT(krait_memory_grow(m, 0), 3);
  krait_memory *z = krait_memory_new(s, 0, 0);
  CHECK(z != NULL);
  CHECK_INT(krait_memory_size(z), 0);
  CHECK_INT(krait_memory_grow(z, 1), -1);
  krait_store_free(s);
  krait_engine_free(e);
}

static void test_global_api(void) {
  fixture fx;
  CHECK_INT(fixture_open(&fx, NULL), 0);
  krait_extern ext;
  CHECK_INT(krait_instance_export(fx.inst, "counter", &ext), 0);
  CHECK_INT(ext.kind, KRAIT_EXTERN_GLOBAL);
  krait_global *c = ext.of.global;
  krait_val v = krait_global_get(c);
  CHECK_INT(v.type, KRAIT_I32);
  CHECK_INT(v.of.i32, 5);
  krait_val nv = t_i32(100);
  CHECK_INT(krait_global_set(c, &nv), 0);
  krait_val r;
  krait_error err;
  CHECK_INT(fixture_call(&fx, "bump", NULL, 0, &r, 1, &err), 0);
  CHECK_INT(r.of.i32, 101);
  CHECK_INT(krait_global_get(c).of.i32, 101);
  krait_val wrong = t_i64(1);
  CHECK_INT(krait_global_set(c, &wrong), -1);
  CHECK_INT(krait_instance_export(fx.inst, "pi", &ext), 0);
  krait_global *pi = ext.of.global;
  CHECK_INT(krait_global_get(pi).type, KRAIT_F64);
  CHECK(krait_global_get(pi).of.f64 == 3.25);
  krait_val f = t_f64(1.0);
  CHECK_INT(krait_global_set(pi, &f), -1);  /* immutable */
  CHECK(krait_global_get(pi).of.f64 == 3.25);
  krait_val init = t_f32(2.5f);
  krait_global *g = krait_global_new(fx.store, &init, 1);
  CHECK(g != NULL);
  krait_val f2 = t_f32(-1.0f);
  CHECK_INT(krait_global_set(g, &f2), 0);
  CHECK(krait_global_get(g).of.f32 == -1.0f);
  fixture_close(&fx);
}

static void test_table_api(void) {
  fixture fx;
  CHECK_INT(fixture_open(&fx, NULL), 0);
  krait_extern ext;
  CHECK_INT(krait_instance_export(fx.inst, "tab", &ext), 0);
  CHECK_INT(ext.kind, KRAIT_EXTERN_TABLE);
  krait_table *t = ext.of.table;
  CHECK_INT(krait_table_size(t), 2);
  krait_val e0, r;
  CHECK_INT(krait_table_get(t, 0, &e0), 0);
  CHECK_INT(e0.type, KRAIT_FUNCREF);
  CHECK(e0.of.ref != NULL);
  CHECK_INT(krait_table_get(t, 2, &e0), -1);
  krait_val a[2] = {t_i32(1), t_i32(41)};
  krait_error err;
  CHECK_INT(fixture_call(&fx, "call_tab", a, 2, &r, 1, &err), 0);
  CHECK_INT(r.of.i32, 42);  /* add_one */
  /* Host puts "double" in slot 1. */
  krait_val fr;
  fr.type = KRAIT_FUNCREF;
  fr.of.ref = t_func(fx.inst, "double");
  CHECK(fr.of.ref != NULL);
  CHECK_INT(krait_table_set(t, 1, &fr), 0);
  CHECK_INT(fixture_call(&fx, "call_tab", a, 2, &r, 1, &err), 0);
  CHECK_INT(r.of.i32, 82);
  /* A function of another type in the table: indirect call type mismatch. */
  fr.of.ref = t_func(fx.inst, "call_add");
  CHECK_INT(krait_table_set(t, 1, &fr), 0);
  CHECK_INT(fixture_call(&fx, "call_tab", a, 2, &r, 1, &err), -1);
  CHECK_ERR(err, KRAIT_ERR_TRAP);
  CHECK_INT(err.trap, KRAIT_TRAP_INDIRECT_TYPE);
  /* Null slot: uninitialized element. */
  fr.of.ref = NULL;
  CHECK_INT(krait_table_set(t, 1, &fr), 0);
  CHECK_INT(fixture_call(&fx, "call_tab", a, 2, &r, 1, &err), -1);
  CHECK_INT(err.trap, KRAIT_TRAP_UNINIT_ELEM);
  /* Grow with null and call past the end. */
  CHECK_INT(krait_table_grow(t, 3, &fr), 2);
  CHECK_INT(krait_table_size(t), 5);
  a[0] = t_i32(4);
  CHECK_INT(fixture_call(&fx, "call_tab", a, 2, &r, 1, &err), -1);
  CHECK_INT(err.trap, KRAIT_TRAP_UNINIT_ELEM);
  a[0] = t_i32(5);
  CHECK_INT(fixture_call(&fx, "call_tab", a, 2, &r, 1, &err), -1);
  CHECK_INT(err.trap, KRAIT_TRAP_UNDEFINED_ELEM);
  CHECK_INT(krait_table_grow(t, 6, &fr), -1);  /* max 10 */
  krait_val xr;
  xr.type = KRAIT_EXTERNREF;
  xr.of.ref = &fx;
  CHECK_INT(krait_table_set(t, 0, &xr), -1);  /* wrong reference type */
  krait_table *xt = krait_table_new(fx.store, KRAIT_EXTERNREF, 1, 3);
  CHECK(xt != NULL);
  CHECK_INT(krait_table_set(xt, 0, &xr), 0);
  CHECK_INT(krait_table_get(xt, 0, &e0), 0);
  CHECK(e0.of.ref == &fx);
  CHECK_INT(krait_table_set(xt, 1, &xr), -1);
  fixture_close(&fx);
}

static void test_func_introspection(void) {
  fixture fx;
  CHECK_INT(fixture_open(&fx, NULL), 0);
  krait_func *d = t_func(fx.inst, "double");
  CHECK(d != NULL);
  CHECK_STR(krait_func_signature(d), "i:i");
  CHECK_CONTAINS(krait_func_name(d), "double");
  krait_func *h = krait_func_new(fx.store, "IF:f", host_mix, NULL);
  CHECK(h != NULL);
  CHECK_STR(krait_func_signature(h), "IF:f");
  CHECK(krait_func_new(fx.store, "z:", host_mix, NULL) == NULL);
  fixture_close(&fx);
}

int main(void) {
  RUN(test_memory_api);
  RUN(test_memory_new_and_cap);
  RUN(test_global_api);
  RUN(test_table_api);
  RUN(test_func_introspection);
  return t_summary();
}
