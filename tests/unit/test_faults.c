/*
** tests/unit/test_faults.c -- fault injection: every heap allocation inside
** krait is made to fail in turn while loading, linking, instantiating and
** calling; each failure must surface as a clean error, never a crash or leak.
*/
#include "fixture.h"
/* The allocator's fault injection (ku_fail_alloc_after): not public API,
** so this test alone is built with -Isrc (mk/tests.mk). */
#include "util/util.h"

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

int main(void) {
  RUN(test_every_allocation_can_fail);
  RUN(test_module_load_fails_cleanly);
  return t_summary();
}
