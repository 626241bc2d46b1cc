/*
** tests/unit/test_snapshot.c -- krait_snapshot_take and
** krait_instantiate_snapshot: restored state, copy-on-write isolation
** between instances, growth after restore, and the refusals; and the
** snapshot files of the host library (krait_host.h).
*/
#include "test.h"
#include "krait_host.h"
#include <stdbool.h>
#include <stdlib.h>
#include <pthread.h>
#include <unistd.h>

/* One store+linker+instance made from a snapshot (or plainly). */
typedef struct snap_inst {
  krait_store *store;
  krait_linker *linker;
  krait_instance *inst;
} snap_inst;

/* Calls export name of si with up to two i32 arguments; returns the i32
** result (or -1000 when the call failed). */
static int32_t call_i32(snap_inst *si, const char *name, int nargs, int32_t a, int32_t b) {
  krait_val args[2] = { t_i32(a), t_i32(b) }, res[1];
  krait_func *f = t_func(si->inst, name);
  const char *sig = f ? krait_func_signature(f) : ":";
  size_t nres = strchr(sig, ':')[1] ? 1 : 0;
  if (!f || krait_func_call(si->store, f, args, (size_t)nargs, res, nres, NULL) != 0) return -1000;
  return nres ? res[0].of.i32 : 0;
}

/* A fresh store and linker; the instance from snap, or plainly if NULL. */
static bool open_inst(snap_inst *si, krait_engine *e, krait_module *m, krait_snapshot *snap) {
  krait_error err;
  si->store = krait_store_new(e);
  si->linker = krait_linker_new(si->store);
  si->inst = snap ? krait_instantiate_snapshot(si->linker, m, snap, &err)
                  : krait_instantiate(si->linker, m, &err);
  if (!si->inst) fprintf(stderr, "  instantiate: %s\n", err.message);
  return si->inst != NULL;
}

static void close_inst(snap_inst *si) {
  krait_linker_free(si->linker);
  krait_store_free(si->store);
}

/* The snapshotted state, checked in an instance made from the snapshot. */
static void check_initialized(snap_inst *si) {
  CHECK_INT(call_i32(si, "load", 1, 1024, 0), 0x12345678);
  CHECK_INT(call_i32(si, "load", 1, 70000, 0), 77);
  CHECK_INT(call_i32(si, "load", 1, 131072, 0), 99);
  CHECK_INT(call_i32(si, "load", 1, 16, 0), 0x64656573);  /* "seed" */
  CHECK_INT(call_i32(si, "pages", 0, 0, 0), 3);
  CHECK_INT(call_i32(si, "call", 1, 0, 0), 1);
  CHECK_INT(call_i32(si, "call", 1, 1, 0), 2);
  CHECK_INT(call_i32(si, "call", 1, 2, 0), -1000);   /* null slot traps */
  CHECK_INT(call_i32(si, "reinit", 0, 0, 0), -1000); /* the segment was dropped */
}

/* Runs init in a plain instance, snapshots it, and checks that instances
** from the snapshot start in that state and never see each other. */
static void snapshot_round(krait_bounds bounds) {
  krait_config cfg;
  krait_config_default(&cfg);
  cfg.bounds = bounds;
  krait_engine *e = krait_engine_new(&cfg, NULL);
  krait_module *m = t_load(e, "snapshot");
  snap_inst base, a, b;
  krait_error err;
  CHECK(m && open_inst(&base, e, m, NULL));
  CHECK_INT(call_i32(&base, "init", 0, 0, 0), 0);
  krait_snapshot *snap = krait_snapshot_take(base.inst, &err);
  CHECK(snap != NULL);
  CHECK_INT((int)krait_snapshot_memory_size(snap), 3 * 65536);
  close_inst(&base);                          /* the snapshot outlives it */
  CHECK(open_inst(&a, e, m, snap) && open_inst(&b, e, m, snap));
  check_initialized(&a);
  CHECK_INT(call_i32(&a, "bump", 0, 0, 0), 42);
  CHECK_INT(call_i32(&a, "bump", 0, 0, 0), 43);
  CHECK_INT(call_i32(&b, "bump", 0, 0, 0), 42); /* globals are per instance */
  CHECK_INT(call_i32(&a, "poke", 2, 1024, 5), 0);
  CHECK_INT(call_i32(&a, "poke", 2, 200000, 6), -1000);  /* past 3 pages */
  CHECK_INT(call_i32(&b, "load", 1, 1024, 0), 0x12345678);
  CHECK_INT(call_i32(&a, "load", 1, 1024, 0), 5);
  CHECK_INT(call_i32(&a, "grow", 1, 2, 0), 3);  /* growth after restore */
  CHECK_INT(call_i32(&a, "poke", 2, 200000, 6), 0);
  CHECK_INT(call_i32(&a, "load", 1, 200000, 0), 6);
  CHECK_INT(call_i32(&a, "load", 1, 70000, 0), 77);
  call_i32(&a, "poke", 2, 300000, 8);
  CHECK_INT(call_i32(&a, "load", 1, 300000, 0), 8);
  CHECK_INT(call_i32(&b, "pages", 0, 0, 0), 3);
  krait_snapshot_learn(snap, a.inst);          /* a wrote pages: pre-copied next */
  snap_inst d, e2, f;
  CHECK(open_inst(&f, e, m, snap));
  check_initialized(&f);                       /* populated pages are pristine */
  close_inst(&f);
  CHECK(open_inst(&d, e, m, snap));            /* no call_indirect: all lazy */
  CHECK_INT(call_i32(&d, "poke", 2, 1024, 9), 0);
  krait_snapshot *snap2 = krait_snapshot_take(d.inst, &err);  /* of a snapshot's instance: */
  CHECK(snap2 != NULL);                        /* its lazy table entries carry over */
  close_inst(&d);
  CHECK(open_inst(&e2, e, m, snap2));
  CHECK_INT(call_i32(&e2, "call", 1, 1, 0), 2);
  CHECK_INT(call_i32(&e2, "call", 1, 0, 0), 1);
  CHECK_INT(call_i32(&e2, "call", 1, 2, 0), -1000);
  CHECK_INT(call_i32(&e2, "load", 1, 1024, 0), 9);
  close_inst(&e2);
  krait_snapshot_free(snap2);
  close_inst(&a);
  snap_inst c;
  CHECK(open_inst(&c, e, m, snap));
  check_initialized(&c);                       /* pristine again */
  CHECK_INT(call_i32(&c, "load", 1, 200000, 0), -1000);  /* 3 pages again */
  close_inst(&c);
  close_inst(&b);
  krait_snapshot_free(snap);
  krait_module_free(m);
  krait_engine_free(e);
}

/* Memory 0's base address in si. */
static uint8_t *mem_base(snap_inst *si) {
  krait_extern x;
  if (krait_instance_export(si->inst, "memory", &x) != 0 || x.kind != KRAIT_EXTERN_MEMORY) return NULL;
  return krait_memory_data(x.of.memory);
}

typedef struct other_thread {
  krait_engine *e;
  krait_module *m;
  krait_snapshot *snap;
  uint8_t *base;               /* out: memory 0 of its instance */
} other_thread;

/* An instance from the snapshot, checked pristine (other_thread_run). */
static void other_thread_check(other_thread *o) {
  snap_inst si;
  CHECK(open_inst(&si, o->e, o->m, o->snap));
  o->base = mem_base(&si);
  check_initialized(&si);
  CHECK_INT(call_i32(&si, "load", 1, 200000, 0), -1000);  /* 3 pages again */
  close_inst(&si);
}

/* Runs other_thread_check on a thread of its own. */
static void *other_thread_run(void *arg) {
  other_thread_check(arg);
  return NULL;
}

/* A guard-mode memory an instance leaves is parked for the process: the
** next instance of the snapshot, on another thread, takes that same memory
** (last parked, first taken: still in the caches) and sees none of the
** first one's writes, grown pages included. */
static void test_snapshot_parked_other_thread(void) {
  krait_config cfg;
  krait_config_default(&cfg);
  cfg.bounds = KRAIT_BOUNDS_GUARD;
  krait_engine *e = krait_engine_new(&cfg, NULL);
  krait_module *m = t_load(e, "snapshot");
  snap_inst base, a;
  CHECK(m && open_inst(&base, e, m, NULL));
  CHECK_INT(call_i32(&base, "init", 0, 0, 0), 0);
  krait_snapshot *snap = krait_snapshot_take(base.inst, NULL);
  CHECK(snap != NULL);
  close_inst(&base);
  CHECK(open_inst(&a, e, m, snap));
  uint8_t *first = mem_base(&a);
  CHECK_INT(call_i32(&a, "poke", 2, 1024, 5), 0);
  CHECK_INT(call_i32(&a, "poke", 2, 70000, 6), 0);
  CHECK_INT(call_i32(&a, "grow", 1, 2, 0), 3);
  CHECK_INT(call_i32(&a, "poke", 2, 200000, 7), 0);
  close_inst(&a);                              /* parks its memory */
  other_thread o = { e, m, snap, NULL };
  pthread_t t;
  CHECK_INT(pthread_create(&t, NULL, other_thread_run, &o), 0);
  pthread_join(t, NULL);
  CHECK(first != NULL && o.base == first);     /* the same memory, reset */
  krait_snapshot_free(snap);                   /* unmaps what it parked */
  krait_module_free(m);
  krait_engine_free(e);
}

static void test_snapshot_guard(void) { snapshot_round(KRAIT_BOUNDS_GUARD); }
static void test_snapshot_explicit(void) { snapshot_round(KRAIT_BOUNDS_EXPLICIT); }

/* A snapshot is refused for another module (other bytes), and for
** modules that import their memory (basic.wat imports env.* functions
** only, so it is fine; limits.wat is the other module here). Another
** module object made from the same bytes takes it (as another engine's,
** of another tier, does: tests/aot/test_snapshot_tiers.c). */
static void test_snapshot_refusals(void) {
  krait_engine *e = t_engine();
  krait_module *m = t_load(e, "snapshot"), *other = t_load(e, "basic"), *same = t_load(e, "snapshot");
  snap_inst base, x, y;
  krait_error err;
  CHECK(m && other && same && open_inst(&base, e, m, NULL));
  CHECK_INT(call_i32(&base, "init", 0, 0, 0), 0);
  krait_snapshot *snap = krait_snapshot_take(base.inst, &err);
  CHECK(snap != NULL);
  x.store = krait_store_new(e);
  x.linker = krait_linker_new(x.store);
  CHECK(krait_instantiate_snapshot(x.linker, other, snap, &err) == NULL);
  CHECK_ERR(err, KRAIT_ERR_LINK);
  CHECK_CONTAINS(err.message, "another module");
  CHECK(open_inst(&y, e, same, snap));
  check_initialized(&y);
  close_inst(&y);
  close_inst(&x);
  close_inst(&base);
  krait_snapshot_free(snap);
  krait_module_free(same);
  krait_module_free(other);
  krait_module_free(m);
  krait_engine_free(e);
}

/* Saved to a file and loaded back: instances from the loaded snapshot
** start in the same state; the extra bytes come back; a damaged,
** truncated or foreign file is refused with a message saying which. */
static void test_snapshot_file(void) {
  krait_engine *e = t_engine();
  krait_module *m = t_load(e, "snapshot"), *other = t_load(e, "basic");
  snap_inst base, a;
  krait_error err;
  char path[] = "/tmp/krait-snap-XXXXXX";
  int fd = mkstemp(path);
  CHECK(fd >= 0 && m && other && open_inst(&base, e, m, NULL));
  close(fd);
  CHECK_INT(call_i32(&base, "init", 0, 0, 0), 0);
  krait_snapshot *snap = krait_snapshot_take(base.inst, &err);
  CHECK(snap && krait_snapshot_save(snap, path, "hello", 5, &err) == 0);
  krait_snapshot_free(snap);
  close_inst(&base);
  void *extra = NULL;
  size_t xlen = 0;
  krait_snapshot *back = krait_snapshot_load(m, path, &extra, &xlen, &err);
  CHECK(back != NULL);
  CHECK(extra && xlen == 5 && memcmp(extra, "hello", 5) == 0);
  free(extra);
  CHECK(back && open_inst(&a, e, m, back));
  if (back) { check_initialized(&a); close_inst(&a); }
  CHECK(krait_snapshot_load(other, path, NULL, NULL, &err) == NULL);
  CHECK_ERR(err, KRAIT_ERR_LINK);
  CHECK_CONTAINS(err.message, "another module");
  FILE *f = fopen(path, "r+b");                   /* flip one byte */
  CHECK(f && fseek(f, 100, SEEK_SET) == 0 && fputc(0x5a ^ 0xff, f) != EOF);
  if (f) fclose(f);
  CHECK(krait_snapshot_load(m, path, NULL, NULL, &err) == NULL);
  CHECK_ERR(err, KRAIT_ERR_MALFORMED);
  CHECK_CONTAINS(err.message, "damaged");
  CHECK(truncate(path, 40) == 0);
  CHECK(krait_snapshot_load(m, path, NULL, NULL, &err) == NULL);
  CHECK_ERR(err, KRAIT_ERR_MALFORMED);
  CHECK(krait_snapshot_load(m, "/nonexistent/x.snap", NULL, NULL, &err) == NULL);
  CHECK_ERR(err, KRAIT_ERR_IO);
  unlink(path);
  krait_snapshot_free(back);
  krait_module_free(other);
  krait_module_free(m);
  krait_engine_free(e);
}

int main(void) {
  RUN(test_snapshot_file);
  RUN(test_snapshot_guard);
  RUN(test_snapshot_parked_other_thread);
  RUN(test_snapshot_explicit);
  RUN(test_snapshot_refusals);
  return t_summary();
}
