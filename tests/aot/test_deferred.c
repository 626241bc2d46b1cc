/*
** tests/aot/test_deferred.c -- validation when native code is attached: a
** module whose compiled object is cached skips its bodies' validation,
** so one byte changed in a body (other bytes: no object) must be validated
** and refused under every tier with the interpreter's message, and the
** cached module must still run natively. Does not own: the cache's damage
** cases (test_battery.c) or the CLI (tests/aot/cache.sh).
*/
#define _GNU_SOURCE
#include "test.h"
#include "const_module.h"
#include "krait_host.h"
#include <ftw.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <unistd.h>

/* Test hook of the AOT tier (src/aot/aot.h): the object module m runs
** from, NULL when interpreted. */
const char *kaot_object_path(const krait_module *m);

/* Makes module bytes under tier (guard bounds); NULL with err on failure. */
static krait_module *make(krait_engine **e, krait_tier tier, const uint8_t *b, size_t n,
                          krait_error *err) {
  krait_config cfg;
  krait_config_default(&cfg);
  cfg.tier = tier;
  *e = krait_engine_new(&cfg, err);
  return *e ? krait_module_new(*e, b, n, err) : NULL;
}

/* Calls f of a new instance of m; -1 on any failure. */
static int64_t call_f(krait_engine *e, krait_module *m) {
  krait_store *s = krait_store_new(e);
  krait_linker *l = s ? krait_linker_new(s) : NULL;
  krait_instance *in = l ? krait_instantiate(l, m, NULL) : NULL;
  krait_func *f = in ? t_func(in, "f") : NULL;
  krait_val res;
  int64_t r = f && krait_func_call(s, f, NULL, 0, &res, 1, NULL) == 0 ? res.of.i32 : -1;
  if (l) krait_linker_free(l);
  if (s) krait_store_free(s);
  return r;
}

/* The cached module runs natively and returns k; its bad twin is refused
** under interp, auto and aot alike, as INVALID with the same message. */
static void test_invalid_twin_refused(void) {
  uint8_t good[64], bad[64];
  size_t n = module(good, 4242, false), nb = module(bad, 4242, true);
  CHECK_INT(n, nb);
  krait_engine *e;
  krait_error err;
  krait_module *m = make(&e, KRAIT_TIER_AOT, good, n, &err);
  CHECK(m != NULL);
  krait_module_free(m);
  krait_engine_free(e);
  m = make(&e, KRAIT_TIER_AUTO, good, n, &err);
  CHECK(m != NULL);
  CHECK(kaot_object_path(m) != NULL);
  CHECK_INT(call_f(e, m), 4242);
  krait_module_free(m);
  krait_engine_free(e);
  krait_error want;
  CHECK(make(&e, KRAIT_TIER_INTERP, bad, nb, &want) == NULL);
  krait_engine_free(e);
  CHECK_INT(want.kind, KRAIT_ERR_INVALID);
  CHECK(strstr(want.message, "type mismatch") != NULL);
  krait_tier tiers[] = {KRAIT_TIER_AUTO, KRAIT_TIER_AOT};
  for (int i = 0; i < 2; i++) {
    CHECK(make(&e, tiers[i], bad, nb, &err) == NULL);
    krait_engine_free(e);
    CHECK_INT(err.kind, KRAIT_ERR_INVALID);
    CHECK(strcmp(err.message, want.message) == 0);
  }
}

/* An invalid module whose module-level parts are fine and that no cache
** holds: refused under tier aot before any compiler runs (KRAIT_CC=false
** would turn a compile attempt into an IO error). */
static void test_invalid_never_compiled(void) {
  uint8_t bad[64];
  size_t nb = module(bad, 77, true);
  setenv("KRAIT_CC", "false", 1);
  krait_engine *e;
  krait_error err;
  krait_module *m = make(&e, KRAIT_TIER_AOT, bad, nb, &err);
  unsetenv("KRAIT_CC");
  krait_engine_free(e);
  CHECK(m == NULL);
  CHECK_INT(err.kind, KRAIT_ERR_INVALID);
}

/* nftw callback: removes one entry of a tree. */
static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
  (void)sb, (void)flag, (void)ftw;
  return remove(path);
}

int main(void) {
  char cwd[256], root[512];
  krait_aot_enable();
  snprintf(root, sizeof root, "%s/build/test/aot/deferred-cache", getcwd(cwd, sizeof cwd) ? cwd : ".");
  nftw(root, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
  mkdir("build/test/aot", 0755);
  if (mkdir(root, 0755) != 0 || setenv("KRAIT_CACHE", root, 1) != 0) {
    printf("cannot make %s\n", root);
    return 1;
  }
  RUN(test_invalid_twin_refused);
  RUN(test_invalid_never_compiled);
  return t_summary();
}
