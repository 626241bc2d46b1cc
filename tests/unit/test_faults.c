/*
** tests/unit/test_faults.c -- fault injection: every heap allocation inside
** krait is made to fail in turn while loading, linking, instantiating and
** calling, and through WASI calls; each failure must surface as a clean
** error, never a crash, a leaked fd or (under ASan) a leak.
*/
#include "fixture.h"
#include "krait_host.h"
/* The allocator's fault injection (ku_fail_alloc_after): not public API,
** so this test alone is built with -Isrc (mk/tests.mk). */
#include "util/util.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

/* One attempt with the Nth allocation failing: builds the fixture and calls
** an export. Returns 1 when everything succeeded, 0 on a clean failure,
** and reports (via *bad) any failure that was not clean. */
static int attempt(long n, const char **bad) {
  fixture fx;
  krait_error err;
  krait_val args[2] = {t_i32(40), t_i32(2)}, res[1];
  int ok = 0;
  ku_fail_alloc_after(n);
  if (fixture_open(&fx, NULL) == 0) {
    int rc = fixture_call(&fx, "call_add", args, 2, res, 1, &err);
    if (rc == 0 && res[0].of.i32 == 42) ok = 1;
    else if (rc == 0) *bad = "call returned a wrong result under fault injection";
    else if (!(err.kind == KRAIT_ERR_TRAP && err.trap == KRAIT_TRAP_NOMEM) &&
             err.kind != KRAIT_ERR_NOMEM)
      { *bad = "call failed with something other than out of memory"; printf("  error kind %d trap %d: %s\n", err.kind, err.trap, err.message); }
  }
  ku_fail_alloc_after(-1);
  fixture_close(&fx);
  return ok;
}

/* Fails allocation 0, 1, 2, ... until a run needs no failing allocation. */
static void test_every_allocation_can_fail(void) {
  const char *bad = NULL;
  long n = 0;
  while (!attempt(n, &bad) && n < 100000) {
    if (bad) { printf("  allocation %ld: %s\n", n, bad); CHECK(bad == NULL); }
    n++;
  }
  printf("  %ld allocation failure points exercised\n", n);
  CHECK(n > 10);
  CHECK(n < 100000);
}

/* A module load failing under memory pressure reports KRAIT_ERR_NOMEM
** (never a bogus malformed/invalid verdict), and eventually succeeds. */
static void test_module_load_fails_cleanly(void) {
  krait_error err;
  memset(&err, 0, sizeof err);
  krait_engine *e = t_engine();
  CHECK(e != NULL);
  size_t len;
  uint8_t *bytes = t_read_wasm("basic", &len);
  CHECK(bytes != NULL);
  long n = 0;
  krait_module *m = NULL;
  for (; n < 1000 && !m; n++) {
    ku_fail_alloc_after(n);
    m = krait_module_new(e, bytes, len, &err);
    ku_fail_alloc_after(-1);
    if (!m && err.kind != KRAIT_ERR_NOMEM) {
      printf("  allocation %ld: %s\n", n, err.message);
      break;
    }
  }
  free(bytes);
  int loaded = m != NULL;
  krait_module_free(m);
  krait_engine_free(e);
  CHECK(loaded);
  CHECK(n > 3);
}

/* One run of wasi_faults.wat's run() in a fresh store with the Nth
** allocation failing, dir preopened as fd 3. 1 when it all succeeded, 0 on
** a clean failure: krait_wasi_define or instantiation out of memory, a trap
** for want of memory, or run() reporting a call that failed with ENOMEM
** (48); anything else goes to *bad. */
static int wasi_attempt(krait_engine *e, krait_module *m, const char *dir, long n,
                        const char **bad, int *step) {
  const char *argv[] = { "faults", "arg" }, *envp[] = { "A=1", "B=two" };
  krait_wasi_preopen po = { dir, "/", 0 };
  krait_wasi_config wc = { 2, argv, 2, envp, -1, -1, -1, 1, &po, 0 };
  krait_error err;
  krait_val res;
  int ok = 0;
  memset(&err, 0, sizeof err);
  ku_fail_alloc_after(n);
  krait_store *s = krait_store_new(e);
  krait_linker *l = s ? krait_linker_new(s) : NULL;
  krait_instance *in = NULL;
  int defined = l ? krait_wasi_define(l, &wc) : -1;
  if (l && defined != 0 && errno != ENOMEM) *bad = "krait_wasi_define failed without ENOMEM";
  if (defined == 0) {
    in = krait_instantiate(l, m, &err);
    if (!in && err.kind != KRAIT_ERR_NOMEM) {
      *bad = "instantiation failed with something other than out of memory";
      printf("  error kind %d: %s\n", err.kind, err.message);
    }
  }
  krait_func *run = in ? t_func(in, "run") : NULL;
  if (run) {
    if (krait_func_call(s, run, NULL, 0, &res, 1, &err) == 0) {
      *step = res.of.i32 >> 8;
      if (res.of.i32 == 0) ok = 1;
      else if ((res.of.i32 & 0xff) != 48) *bad = "a WASI call failed with an errno other than ENOMEM";
    } else if (!(err.kind == KRAIT_ERR_TRAP && err.trap == KRAIT_TRAP_NOMEM) && err.kind != KRAIT_ERR_NOMEM) {
      *bad = "run failed with something other than out of memory";
    }
    if (*bad) printf("  run() = 0x%x, error kind %d: %s\n", (unsigned)res.of.i32, err.kind, err.message);
  }
  ku_fail_alloc_after(-1);
  if (l) krait_linker_free(l);
  if (s) krait_store_free(s);
  return ok;
}

/* Fails allocation 0, 1, 2, ... across WASI setup and wasi_faults.wat's
** calls (through the component-by-component path walk, which allocates
** more than openat2) until a run needs no failing allocation; each attempt
** gets a fresh empty directory, and no attempt may leave an fd open. */
static void test_wasi_calls_fail_cleanly(void) {
  char root[] = "/tmp/krait-faults-XXXXXX", dir[64], cmd[128];
  setenv("KRAIT_WASI_NO_OPENAT2", "1", 1);
  CHECK(mkdtemp(root) != NULL);
  krait_engine *e = t_engine();
  krait_module *m = e ? t_load(e, "wasi_faults") : NULL;
  CHECK(m != NULL);
  const char *bad = NULL;
  long n = 0;
  int fds = t_open_fds(), steps = 0, step = 0, ok = 0;
  for (; m && n < 100000 && !ok; n++) {
    snprintf(dir, sizeof dir, "%s/%ld", root, n);
    CHECK(mkdir(dir, 0700) == 0);
    step = 0;
    ok = wasi_attempt(e, m, dir, n, &bad, &step);
    if (step > steps) steps = step;
    if (t_open_fds() != fds) bad = "an fd was left open";
    if (bad) { printf("  allocation %ld: %s\n", n, bad); CHECK(bad == NULL); break; }
  }
  printf("  %ld allocation failure points exercised, WASI calls up to step %d failed\n", n, steps);
  CHECK(ok);
  CHECK(steps >= 20);   /* the failures reached well into run()'s calls */
  krait_module_free(m);
  krait_engine_free(e);
  snprintf(cmd, sizeof cmd, "rm -rf %s", root);
  CHECK(system(cmd) == 0);
  unsetenv("KRAIT_WASI_NO_OPENAT2");
}

/* krait_snapshot_load of a saved snapshot (of the snapshot.wat instance
** after init: memory runs, tables, extra bytes) with allocation 0, 1, ...
** failing: each failure must be KRAIT_ERR_NOMEM, never a verdict on the
** file, until it loads with its extra bytes. */
static void test_snapshot_load_fails_cleanly(void) {
  char path[] = "/tmp/krait-faults-snap-XXXXXX";
  int fd = mkstemp(path);
  krait_engine *e = t_engine();
  krait_module *m = e ? t_load(e, "snapshot") : NULL;
  krait_store *s = m ? krait_store_new(e) : NULL;
  krait_linker *l = s ? krait_linker_new(s) : NULL;
  krait_error err;
  krait_val res;
  memset(&err, 0, sizeof err);
  krait_instance *in = l ? krait_instantiate(l, m, &err) : NULL;
  krait_func *init = in ? t_func(in, "init") : NULL;
  krait_snapshot *snap = init && krait_func_call(s, init, NULL, 0, &res, 1, &err) == 0
                             ? krait_snapshot_take(in, &err) : NULL;
  CHECK(fd >= 0 && snap != NULL);
  if (fd >= 0) close(fd);
  CHECK(snap && krait_snapshot_save(snap, path, "extra", 5, &err) == 0);
  long n = 0;
  krait_snapshot *loaded = NULL;
  void *extra = NULL;
  size_t xn = 0;
  for (; snap && n < 100000 && !loaded; n++) {
    ku_fail_alloc_after(n);
    loaded = krait_snapshot_load(m, path, &extra, &xn, &err);
    ku_fail_alloc_after(-1);
    if (!loaded && err.kind != KRAIT_ERR_NOMEM) {
      printf("  allocation %ld: kind %d: %s\n", n, err.kind, err.message);
      CHECK(!"a failure other than out of memory");
      break;
    }
  }
  printf("  %ld allocation failure points exercised\n", n);
  CHECK(loaded != NULL);
  CHECK(n > 3);
  CHECK(extra && xn == 5 && memcmp(extra, "extra", 5) == 0);
  free(extra);
  krait_snapshot_free(loaded);
  krait_snapshot_free(snap);
  if (l) krait_linker_free(l);
  if (s) krait_store_free(s);
  krait_module_free(m);
  krait_engine_free(e);
  unlink(path);
}

int main(void) {
  RUN(test_every_allocation_can_fail);
  RUN(test_module_load_fails_cleanly);
  RUN(test_wasi_calls_fail_cleanly);
  RUN(test_snapshot_load_fails_cleanly);
  return t_summary();
}
