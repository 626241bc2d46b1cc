/*
** tests/aot/test_snapshot_tiers.c -- snapshots across tiers: state taken
** under the interpreter restored under the AOT tier and the reverse, in
** memory (krait_snapshot_take / krait_instantiate_snapshot, the module
** made by another engine from the same bytes) and through snapshot files
** (krait_snapshot_save / load, the source engine gone), in both bounds
** modes: memory, globals of every type (a funcref one included), tables
** with funcref entries and dropped segments compute the same results.
** Does not own: snapshots within one tier (tests/unit/test_snapshot.c).
*/
#include "test.h"
#include "krait_host.h"
#include <stdbool.h>
#include <unistd.h>

/* An engine of one tier and bounds mode and its snapstate module. */
typedef struct side {
  krait_engine *e;
  krait_module *m;
} side;

static bool side_open(side *s, krait_tier tier, krait_bounds b) {
  krait_config cfg;
  krait_config_default(&cfg);
  cfg.tier = tier;
  cfg.bounds = b;
  s->e = krait_engine_new(&cfg, NULL);
  s->m = s->e ? t_load(s->e, "snapstate") : NULL;
  return s->m != NULL;
}

static void side_close(side *s) {
  if (s->m) krait_module_free(s->m);
  if (s->e) krait_engine_free(s->e);
  memset(s, 0, sizeof *s);
}

/* A store with one instance: plain, or from snap. */
typedef struct inst {
  krait_store *s;
  krait_linker *l;
  krait_instance *in;
} inst;

static bool inst_open(inst *i, side *sd, const krait_snapshot *snap) {
  krait_error err;
  i->s = krait_store_new(sd->e);
  i->l = krait_linker_new(i->s);
  i->in = snap ? krait_instantiate_snapshot(i->l, sd->m, snap, &err) : krait_instantiate(i->l, sd->m, &err);
  if (!i->in) printf("  instantiate: %s\n", err.message);
  return i->in != NULL;
}

static void inst_close(inst *i) {
  if (i->l) krait_linker_free(i->l);
  if (i->s) krait_store_free(i->s);
  memset(i, 0, sizeof *i);
}

/* Calls export name (no argument, or one i32 when n is 1): its result
** bits, or the trap kind + 1000 when it trapped. */
static int64_t call(inst *i, const char *name, int n, int32_t a) {
  krait_val arg = t_i32(a), res;
  krait_error err;
  krait_func *f = t_func(i->in, name);
  if (!f) return -1;
  size_t nres = strchr(krait_func_signature(f), ':')[1] ? 1 : 0;
  if (krait_func_call(i->s, f, &arg, (size_t)n, &res, nres, &err) != 0) return 1000 + err.trap;
  if (!nres) return 0;
  return res.type == KRAIT_I32 ? res.of.i32 : res.type == KRAIT_F64 ? (int64_t)(res.of.f64 * 10) : res.of.i64;
}

/* The state "init" leaves, read back from i (bump changes it last). */
static void check_state(inst *i) {
  CHECK_INT(call(i, "load", 1, 1024), 0x12345678);
  CHECK_INT(call(i, "load", 1, 70000), 77);      /* the grown page */
  CHECK_INT(call(i, "pages", 0, 0), 2);
  CHECK_INT(call(i, "tsize", 0, 0), 8);
  CHECK_INT(call(i, "call", 1, 0), 1);           /* from the element segment */
  CHECK_INT(call(i, "call", 1, 1), 2);           /* table.set */
  CHECK_INT(call(i, "call", 1, 2), 3);           /* table.set from the funcref global */
  CHECK_INT(call(i, "call", 1, 6), 2);           /* table.grow */
  CHECK_INT(call(i, "call", 1, 7), 2);
  CHECK_INT(call(i, "call", 1, 3), 1000 + KRAIT_TRAP_UNINIT_ELEM);
  CHECK_INT(call(i, "call", 1, 8), 1000 + KRAIT_TRAP_UNDEFINED_ELEM);
  CHECK_INT(call(i, "big", 0, 0), 0x123456789abcdef);
  CHECK_INT(call(i, "fl", 0, 0), 25);
  CHECK_INT(call(i, "k", 0, 0), 7);
  CHECK_INT(call(i, "viafn", 0, 0), 3);          /* the funcref global itself */
  CHECK_INT(call(i, "reinit", 0, 0), 1000 + KRAIT_TRAP_MEMORY_OOB);  /* dropped */
  CHECK_INT(call(i, "bump", 0, 0), 42);
}

static const char *tier_name(krait_tier t) { return t == KRAIT_TIER_AOT ? "aot" : "interp"; }

static krait_tier from_tier, to_tier;
static krait_bounds bounds_now;

/* In memory: taken under from_tier, restored under to_tier (the
** snapshot's module is another engine's, from the same bytes); two
** instances of it do not see each other's changes. */
static void test_in_memory(void) {
  side a = {0}, b = {0};
  inst src = {0}, x = {0}, y = {0};
  krait_error err;
  krait_snapshot *snap = NULL;
  bool ok = side_open(&a, from_tier, bounds_now) && side_open(&b, to_tier, bounds_now) &&
            inst_open(&src, &a, NULL) && call(&src, "init", 0, 0) == 0;
  if (ok) snap = krait_snapshot_take(src.in, &err);
  if (ok && !snap) printf("  take: %s\n", err.message);
  inst_close(&src);  /* the snapshot outlives its instance */
  ok = ok && snap && inst_open(&x, &b, snap) && inst_open(&y, &b, snap);
  if (ok) {
    check_state(&x);
    ok = !t_failed_now && call(&x, "bump", 0, 0) == 43;
    if (ok) check_state(&y);  /* y saw none of x's changes */
  }
  inst_close(&x);
  inst_close(&y);
  krait_snapshot_free(snap);
  side_close(&a);
  side_close(&b);
  if (t_failed_now) return;
  CHECK(ok);
}

/* Through a file: taken under from_tier and saved, everything of the
** source engine freed, then loaded and restored under to_tier. */
static void test_file(void) {
  side a = {0}, b = {0};
  inst src = {0}, x = {0};
  krait_error err;
  char path[256];
  snprintf(path, sizeof path, "build/test/aot/snap-%s-%s-%d.ksnap", tier_name(from_tier),
           tier_name(to_tier), (int)bounds_now);
  bool ok = side_open(&a, from_tier, bounds_now) && inst_open(&src, &a, NULL) &&
            call(&src, "init", 0, 0) == 0;
  krait_snapshot *snap = ok ? krait_snapshot_take(src.in, &err) : NULL;
  ok = snap && krait_snapshot_save(snap, path, "x", 1, &err) == 0;
  if (!ok) printf("  take/save: %s\n", err.message);
  krait_snapshot_free(snap);
  inst_close(&src);
  side_close(&a);  /* nothing of the source is left */
  ok = ok && side_open(&b, to_tier, bounds_now);
  snap = ok ? krait_snapshot_load(b.m, path, NULL, NULL, &err) : NULL;
  if (ok && !snap) printf("  load: %s\n", err.message);
  ok = snap && inst_open(&x, &b, snap);
  if (ok) check_state(&x);
  inst_close(&x);
  krait_snapshot_free(snap);
  side_close(&b);
  unlink(path);
  if (t_failed_now) return;
  CHECK(ok);
}

int main(void) {
  static const krait_tier pairs[][2] = {{KRAIT_TIER_INTERP, KRAIT_TIER_AOT},
                                        {KRAIT_TIER_AOT, KRAIT_TIER_INTERP},
                                        {KRAIT_TIER_AOT, KRAIT_TIER_AOT}};
  char cwd[256], cache[400], name[96];
  krait_aot_enable();
  snprintf(cache, sizeof cache, "%s/build/test/aot/battery-cache/snapshots", getcwd(cwd, sizeof cwd) ? cwd : ".");
  setenv("KRAIT_CACHE", cache, 1);
  for (int b = 0; b < 2; b++)
    for (size_t p = 0; p < sizeof pairs / sizeof pairs[0]; p++) {
      bounds_now = b ? KRAIT_BOUNDS_EXPLICIT : KRAIT_BOUNDS_GUARD;
      from_tier = pairs[p][0];
      to_tier = pairs[p][1];
      const char *m = b ? "explicit" : "guard";
      snprintf(name, sizeof name, "in_memory %s->%s (%s)", tier_name(from_tier), tier_name(to_tier), m);
      t_run(name, test_in_memory);
      snprintf(name, sizeof name, "file %s->%s (%s)", tier_name(from_tier), tier_name(to_tier), m);
      t_run(name, test_file);
    }
  return t_summary();
}
