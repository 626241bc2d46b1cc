/*
** tests/unit/fixture.h -- a ready instance of wat/basic.wat for unit tests.
** Owns: the host functions basic.wat imports (env.add, env.trap, env.exit,
** env.peek, env.mix, env.g) and the setup/teardown of engine, store,
** linker, module and instance. Does not own: assertions (test.h).
*/
#ifndef KRAIT_FIXTURE_H
#define KRAIT_FIXTURE_H

#include "test.h"

typedef struct fixture {
  krait_engine *engine;
  krait_store *store;
  krait_linker *linker;
  krait_module *module;
  krait_instance *inst;
  int host_calls;      /* incremented by env.add through its env pointer */
  void *seen_data;     /* krait_caller_data seen by env.add */
} fixture;

/* env.add: (i32, i32) -> i32; counts calls through env. */
static int host_add(krait_caller *caller, void *env, krait_slot *ar) {
  fixture *fx = env;
  fx->host_calls++;
  fx->seen_data = krait_caller_data(caller);
  ar[0].i32 = (int32_t)((uint32_t)ar[0].i32 + (uint32_t)ar[1].i32);  /* wraps like i32.add */
  return 0;
}

/* env.trap: () -> (); always traps with a recognisable message. */
static int host_trap(krait_caller *caller, void *env, krait_slot *ar) {
  return krait_caller_trap(caller, "host says no (%d)", 77);
}

/* env.exit: (i32) -> (); ends the guest with that code. */
static int host_exit(krait_caller *caller, void *env, krait_slot *ar) {
  return krait_caller_exit(caller, ar[0].i32);
}

/* env.peek: (i32) -> i32; reads a byte of the caller's memory 0. */
static int host_peek(krait_caller *caller, void *env, krait_slot *ar) {
  krait_memory *mem = krait_caller_memory(caller);
  if (!mem) return krait_caller_trap(caller, "no memory");
  uint32_t a = (uint32_t)ar[0].i32;
  if (a >= krait_memory_size(mem)) return krait_caller_trap(caller, "peek out of range");
  ar[0].i32 = krait_memory_data(mem)[a];
  return 0;
}

/* env.mix: (i64, f32, f64) -> f64. */
static int host_mix(krait_caller *caller, void *env, krait_slot *ar) {
  ar[0].f64 = (double)ar[0].i64 + (double)ar[1].f32 * ar[2].f64;
  return 0;
}

/* Defines basic.wat's imports in fx->linker (global env.g = 1234567890123). */
static inline int fixture_define(fixture *fx) {
  krait_val gv = t_i64(1234567890123LL);
  krait_global *g = krait_global_new(fx->store, &gv, 0);
  if (!g) return -1;
  krait_extern ext;
  ext.kind = KRAIT_EXTERN_GLOBAL;
  ext.of.global = g;
  if (krait_linker_define(fx->linker, "env", "g", &ext) != 0) return -1;
  if (krait_linker_define_func(fx->linker, "env", "add", "ii:i", host_add, fx)) return -1;
  if (krait_linker_define_func(fx->linker, "env", "trap", ":", host_trap, fx)) return -1;
  if (krait_linker_define_func(fx->linker, "env", "exit", "i:", host_exit, fx)) return -1;
  if (krait_linker_define_func(fx->linker, "env", "peek", "i:i", host_peek, fx)) return -1;
  if (krait_linker_define_func(fx->linker, "env", "mix", "IfF:F", host_mix, fx)) return -1;
  return 0;
}

/* Builds everything with cfg (NULL = defaults). Returns 0 or -1. */
static inline int fixture_open(fixture *fx, const krait_config *cfg) {
  memset(fx, 0, sizeof *fx);
  krait_config def;
  krait_config_default(&def);
  krait_error err;
  memset(&err, 0, sizeof err);
  fx->engine = krait_engine_new(cfg ? cfg : &def, &err);
  if (!fx->engine) { printf("engine: %s\n", err.message); return -1; }
  fx->store = krait_store_new(fx->engine);
  if (!fx->store) return -1;
  krait_store_set_data(fx->store, fx);
  fx->linker = krait_linker_new(fx->store);
  if (!fx->linker || fixture_define(fx) != 0) { printf("linker setup failed\n"); return -1; }
  fx->module = t_load(fx->engine, "basic");
  if (!fx->module) return -1;
  fx->inst = krait_instantiate(fx->linker, fx->module, &err);
  if (!fx->inst) { printf("instantiate: %s\n", err.message); return -1; }
  return 0;
}

/* Frees whatever fixture_open built. */
static inline void fixture_close(fixture *fx) {
  if (fx->linker) krait_linker_free(fx->linker);
  if (fx->store) krait_store_free(fx->store);
  if (fx->module) krait_module_free(fx->module);
  if (fx->engine) krait_engine_free(fx->engine);
  memset(fx, 0, sizeof *fx);
}

/* Calls export name with args; returns krait_func_call's result (-2 when
** the export is missing). */
static inline int fixture_call(fixture *fx, const char *name, const krait_val *args, size_t nargs,
                        krait_val *res, size_t nres, krait_error *err) {
  memset(err, 0, sizeof *err);
  krait_func *f = t_func(fx->inst, name);
  if (!f) { snprintf(err->message, sizeof err->message, "no export %s", name); return -2; }
  return krait_func_call(fx->store, f, args, nargs, res, nres, err);
}

#endif
