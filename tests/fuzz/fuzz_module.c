/*
** tests/fuzz/fuzz_module.c -- libFuzzer target: bytes -> krait module.
** Owns: decode + validate, then instantiate with every import satisfied by
** a dummy of matching type (host function returning zeros, fresh memory,
** table or global), then call every exported function with zero
** arguments under fuel and a small memory cap. Crashes, sanitizer reports
** and leaks are findings; errors and traps are normal outcomes.
** Does not own: the engine (public API only) or the corpus (tests/fuzz/run.sh).
** Env: KRAIT_FUZZ_BOUNDS=guard selects guard pages (default explicit).
** Guard mode turns SIGSEGV into traps, so libFuzzer and ASan must leave
** that signal to krait: tests/fuzz/run.sh passes -handle_segv=0 then.
*/
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "krait.h"

enum { FUZZ_FUEL = 100000, FUZZ_MAX_MEMORY = 16u << 20 };

/* The value type for a signature letter; -1 when unknown. */
static int type_of(char c) {
  switch (c) {
  case 'i': return KRAIT_I32;
  case 'I': return KRAIT_I64;
  case 'f': return KRAIT_F32;
  case 'F': return KRAIT_F64;
  case 'r': return KRAIT_FUNCREF;
  case 'x': return KRAIT_EXTERNREF;
  default: return -1;
  }
}

/* A host function that writes zeros for every result. env points at the
** number of results. */
static int dummy_host(krait_caller *caller, void *env, krait_slot *ar) {
  size_t n = (size_t)(uintptr_t)env;
  for (size_t i = 0; i < n; i++) ar[i].bits = 0;
  return 0;
}

/* Parses "min..max" (max optional, maybe after a type word) into pages or
** elements. */
static void parse_limits(const char *t, uint32_t *min, uint32_t *max) {
  const char *p = t;
  while (*p && (*p < '0' || *p > '9')) p++;
  char *end;
  unsigned long lo = strtoul(p, &end, 10);
  unsigned long hi = UINT32_MAX;
  if (strncmp(end, "..", 2) == 0 && end[2] >= '0' && end[2] <= '9')
    hi = strtoul(end + 2, NULL, 10);
  *min = lo > UINT32_MAX ? UINT32_MAX : (uint32_t)lo;
  *max = hi > UINT32_MAX ? UINT32_MAX : (uint32_t)hi;
}

/* Makes a dummy extern matching import d; returns 0 or -1. */
static int make_dummy(krait_store *s, const krait_importexport *d, krait_extern *ext) {
  ext->kind = d->kind;
  uint32_t min, max;
  switch (d->kind) {
  case KRAIT_EXTERN_FUNC: {
    const char *colon = strchr(d->type, ':');
    size_t nres = colon ? strlen(colon + 1) : 0;
    ext->of.func = krait_func_new(s, d->type, dummy_host, (void *)(uintptr_t)nres);
    return ext->of.func ? 0 : -1;
  }
  case KRAIT_EXTERN_MEMORY:
    parse_limits(d->type, &min, &max);
    ext->of.memory = krait_memory_new(s, min, max);
    return ext->of.memory ? 0 : -1;
  case KRAIT_EXTERN_TABLE:
    parse_limits(d->type, &min, &max);
    ext->of.table = krait_table_new(s, strchr(d->type, 'x') || strstr(d->type, "extern")
                                           ? KRAIT_EXTERNREF : KRAIT_FUNCREF, min, max);
    return ext->of.table ? 0 : -1;
  case KRAIT_EXTERN_GLOBAL: {
    int mut = strncmp(d->type, "mut ", 4) == 0;
    int t = type_of(d->type[mut ? 4 : 0]);
    if (t < 0) return -1;
    krait_val v;
    memset(&v, 0, sizeof v);
    v.type = (krait_valtype)t;
    ext->of.global = krait_global_new(s, &v, mut);
    return ext->of.global ? 0 : -1;
  }
  }
  return -1;
}

/* Calls f with zero arguments of its parameter types. */
static void call_with_zeros(krait_store *s, krait_func *f) {
  const char *sig = krait_func_signature(f);
  const char *colon = sig ? strchr(sig, ':') : NULL;
  if (!colon) return;
  size_t np = (size_t)(colon - sig), nr = strlen(colon + 1);
  krait_val args[64], res[64];
  if (np > 64 || nr > 64) return;
  for (size_t i = 0; i < np; i++) {
    int t = type_of(sig[i]);
    if (t < 0) return;
    memset(&args[i], 0, sizeof args[i]);
    args[i].type = (krait_valtype)t;
  }
  krait_error err;
  krait_store_set_fuel(s, FUZZ_FUEL);
  (void)krait_func_call(s, f, args, np, res, nr, &err);
}

/* Instantiates m in a fresh store and runs its exports. */
static void run_module(krait_engine *e, krait_module *m) {
  krait_store *s = krait_store_new(e);
  if (!s) return;
  krait_store_set_fuel(s, FUZZ_FUEL);
  krait_store_set_timeout(s, 2ull * 1000 * 1000 * 1000);
  krait_linker *l = krait_linker_new(s);
  krait_error err;
  krait_instance *inst = NULL;
  if (!l) goto out;
  for (size_t i = 0; i < krait_module_import_count(m); i++) {
    krait_importexport d;
    krait_extern ext;
    if (krait_module_import(m, i, &d) != 0) goto out;
    if (make_dummy(s, &d, &ext) != 0) goto out;
    if (krait_linker_define(l, d.module, d.name, &ext) != 0) goto out;
  }
  inst = krait_instantiate(l, m, &err);
  if (!inst) goto out;
  for (size_t i = 0; i < krait_module_export_count(m); i++) {
    krait_importexport d;
    krait_extern ext;
    if (krait_module_export(m, i, &d) != 0 || d.kind != KRAIT_EXTERN_FUNC) continue;
    if (krait_instance_export(inst, d.name, &ext) != 0) continue;
    call_with_zeros(s, ext.of.func);
  }
out:
  if (l) krait_linker_free(l);
  krait_store_free(s);
}

static krait_engine *engine;

/* libFuzzer: one-time setup. */
int LLVMFuzzerInitialize(int *argc, char ***argv) {
  krait_config cfg;
  krait_config_default(&cfg);
  const char *b = getenv("KRAIT_FUZZ_BOUNDS");
  cfg.bounds = b && strcmp(b, "guard") == 0 ? KRAIT_BOUNDS_GUARD : KRAIT_BOUNDS_EXPLICIT;
  cfg.max_memory_bytes = FUZZ_MAX_MEMORY;
  cfg.max_call_depth = 2000;
  cfg.value_stack_bytes = 4u << 20;
  cfg.fuel = FUZZ_FUEL;
  krait_error err;
  engine = krait_engine_new(&cfg, &err);
  return engine ? 0 : 1;
}

/* libFuzzer: one input. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  krait_error err;
  krait_module *m = krait_module_new(engine, data, size, &err);
  if (!m) return 0;
  run_module(engine, m);
  krait_module_free(m);
  return 0;
}
