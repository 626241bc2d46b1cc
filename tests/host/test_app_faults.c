/*
** tests/host/test_app_faults.c -- fault injection through src/app: every
** heap allocation of an app's boot and of one request is made to fail in
** turn (wat/app_faults.wat standing in for python.wasm); each failure must
** be a clean error, never a crash, a leaked fd or (under ASan) a leak.
*/
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test.h"
#include "app/app.h"
#include "util/util.h"

#define APP_WASM "build/test/host/wasm/app_faults.wasm"   /* mk/tests.mk: HOST_WASM */

static char root[] = "/tmp/krait-app-faults-XXXXXX";
static char home[256], sdk[256], app[256];

/* root/name as a new directory; its path in out. */
static void make_dir(char *out, size_t cap, const char *name) {
  snprintf(out, cap, "%s/%s", root, name);
  CHECK(mkdir(out, 0755) == 0);
}

/* The stand-in python home: python.wasm (a link to the built WAT), and the
** stdlib and bin directories the app's view preopens; an SDK and an app
** folder with app.py. */
static void make_tree(void) {
  char path[512], wasm[512];
  CHECK(mkdtemp(root) != NULL);
  make_dir(home, sizeof home, "home");
  make_dir(sdk, sizeof sdk, "sdk");
  make_dir(app, sizeof app, "app");
  snprintf(path, sizeof path, "%s/lib", home);
  CHECK(mkdir(path, 0755) == 0);
  snprintf(path, sizeof path, "%s/lib/python3.11", home);
  CHECK(mkdir(path, 0755) == 0);
  snprintf(path, sizeof path, "%s/bin", home);
  CHECK(mkdir(path, 0755) == 0);
  CHECK(realpath(APP_WASM, wasm) != NULL);
  snprintf(path, sizeof path, "%s/python.wasm", home);
  CHECK(symlink(wasm, path) == 0);
  snprintf(path, sizeof path, "%s/app.py", app);
  FILE *f = fopen(path, "w");
  CHECK(f != NULL);
  if (f) { fputs("# read by app_faults.wat\n", f); fclose(f); }
}

/* One boot and one request with allocation n failing (n < 0: none). 1
** when both succeeded; 0 on a clean failure: boot refused with a message,
** or a 5xx answer with a body; anything else goes to *bad. */
static int attempt(long n, FILE *log, const char **bad, int *booted) {
  ka_var v = { "greeting", "hello" };
  const char *site[] = { sdk };
  ka_app_config cfg = {
    .name = "faults", .python_home = home, .sdk_dir = sdk, .app_dir = app,
    .style = "spin", .module = "app", .site_packages = site, .nsite_packages = 1,
    .vars = &v, .nvars = 1, .log = log,
  };
  ka_header h[] = { { "host", "localhost", 4, 9 } };
  ka_request req = { "GET", "/faults", h, 1, (const uint8_t *)"body", 4, NULL, 0 };
  ka_response r;
  char err[512] = "";
  int ok = 0;
  ku_fail_alloc_after(n);
  ka_app *a = ka_app_boot(&cfg, err, sizeof err);
  if (!a && !err[0]) *bad = "boot failed without a message";
  if (a) {
    *booted += 1;
    ka_app_handle(a, &req, &r);
    if (r.status == 200 && r.outcome == KA_OK && r.body_len == 2 && memcmp(r.body, "ok", 2) == 0)
      ok = 1;
    else if (r.status < 500 || r.outcome == KA_OK)
      *bad = "the request failed without a 5xx";
    ka_response_free(&r);
  }
  ku_fail_alloc_after(-1);
  if (*bad) printf("  boot: %s; status %d\n", a ? "ok" : err, a ? r.status : 0);
  ka_app_free(a);
  return ok;
}

/* Fails allocation 0, 1, 2, ... until a boot and its request need no
** failing allocation; the app's fds are all closed after each attempt. */
static void test_app_boot_and_request_fail_cleanly(void) {
  FILE *log = fopen("/dev/null", "w");
  const char *bad = NULL;
  long n = 0;
  int fds, ok = 0, booted = 0;
  CHECK(log != NULL);
  CHECK(attempt(-1, log, &bad, &booted) == 1);   /* it works at all */
  fds = t_open_fds();   /* after the first run: the runtime keeps a few */
  booted = 0;
  for (; !ok && !bad && n < 100000; n++) {
    ok = attempt(n, log, &bad, &booted);
    if (t_open_fds() != fds) bad = "an fd was left open";
    if (bad) { printf("  allocation %ld: %s\n", n, bad); CHECK(bad == NULL); }
  }
  printf("  %ld allocation failure points exercised, %d in the request\n", n, booted - ok);
  CHECK(ok);
  CHECK(n > 100);
  CHECK(booted - ok > 10);   /* failures reached the request, not only the boot */
  fclose(log);
}

/* The config attempt() boots, with snapshot as its artifact (NULL: none). */
static ka_app_config config(FILE *log, const char *snapshot, const ka_var *v, const char *const *site) {
  ka_app_config cfg = {
    .name = "faults", .python_home = home, .sdk_dir = sdk, .app_dir = app,
    .style = "spin", .module = "app", .site_packages = site, .nsite_packages = 1,
    .vars = v, .nvars = 1, .log = log, .snapshot = snapshot,
  };
  return cfg;
}

/* Fails allocation n = 0, 1, ... of each step of an artifact's round
** trip until the step succeeds: bundling the app's files, saving the
** artifact, reading it back, and booting from it (its snapshot loaded, not
** booted again). Every failure must return its error with a message. */
static void test_artifact_round_trip_fails_cleanly(void) {
  FILE *log = fopen("/dev/null", "w");
  ka_var v = { "greeting", "hello" };
  const char *site[] = { sdk };
  char path[300], err[512];
  snprintf(path, sizeof path, "%s/app.krait", root);
  ka_app_config cfg = config(log, NULL, &v, site);
  int fds = t_open_fds();   /* the first test opened what the runtime keeps */
  ka_app *a = ka_app_boot(&cfg, err, sizeof err);
  CHECK(a != NULL);
  if (!a) return;
  long steps[4] = { 0 };
  ka_bundle_stats st;
  uint8_t *bundle = NULL;
  size_t blen = 0;
  for (long n = 0; !bundle && n < 100000; n++, steps[0]++) {
    err[0] = '\0';
    ku_fail_alloc_after(n);
    bundle = ka_bundle_make(a, &cfg, &blen, &st, err, sizeof err);
    ku_fail_alloc_after(-1);
    if (!bundle && !err[0]) { CHECK(!"ka_bundle_make failed without a message"); break; }
  }
  int rc = -1;
  for (long n = 0; bundle && rc != 0 && n < 100000; n++, steps[1]++) {
    err[0] = '\0';
    ku_fail_alloc_after(n);
    rc = ka_app_save(a, path, "[app]\nstyle = \"spin\"\n", bundle, blen, NULL, err, sizeof err);
    ku_fail_alloc_after(-1);
    if (rc != 0 && !err[0]) { CHECK(!"ka_app_save failed without a message"); break; }
  }
  ka_artifact art;
  rc = -1;
  for (long n = 0; bundle && rc != 0 && n < 100000; n++, steps[2]++) {
    err[0] = '\0';
    ku_fail_alloc_after(n);
    rc = ka_artifact_read(path, NULL, 0, &art, err, sizeof err);
    ku_fail_alloc_after(-1);
    if (rc != 0 && !err[0]) { CHECK(!"ka_artifact_read failed without a message"); break; }
  }
  if (rc == 0) {
    CHECK(art.bundle_len == blen && memcmp(art.bundle, bundle, blen) == 0);
    ka_artifact_free(&art);
  }
  ku_free(bundle);
  ka_app *b = NULL;
  ka_app_config from = config(log, path, &v, site);
  for (long n = 0; rc == 0 && !b && n < 100000; n++, steps[3]++) {
    err[0] = '\0';
    ku_fail_alloc_after(n);
    b = ka_app_boot(&from, err, sizeof err);
    ku_fail_alloc_after(-1);
    if (!b && !err[0]) { CHECK(!"booting from the artifact failed without a message"); break; }
  }
  CHECK(b != NULL);
  if (b) {
    ka_header h[] = { { "host", "localhost", 4, 9 } };
    ka_request req = { "GET", "/", h, 1, (const uint8_t *)"", 0, NULL, 0 };
    ka_response r;
    ka_app_handle(b, &req, &r);
    CHECK_INT(r.status, 200);
    ka_response_free(&r);
  }
  printf("  failure points: bundle %ld, save %ld, read %ld, boot from it %ld\n", steps[0], steps[1],
         steps[2], steps[3]);
  CHECK(steps[0] > 5 && steps[1] > 2 && steps[2] > 2 && steps[3] > 20);
  ka_app_free(b);
  ka_app_free(a);
  CHECK(t_open_fds() == fds);
  fclose(log);
}

int main(void) {
  make_tree();
  RUN(test_app_boot_and_request_fail_cleanly);
  RUN(test_artifact_round_trip_fails_cleanly);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", root);
  if (system(cmd) != 0) printf("cannot remove %s\n", root);
  return t_summary();
}
