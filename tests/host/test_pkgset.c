/*
** tests/host/test_pkgset.c -- package sets' names and homes
** (src/manifest/pkgset.c) and the manifest's packages key: canonical
** names, bad names and counts, sets found and listed in a Python home.
** Does not own: building sets or serving them (tests/serve/packages.sh).
*/
#include "test.h"
#include "manifest/manifest.h"
#include "util/util.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static char t_merr[256];

/* A manifest of one spin app with the extra line, or NULL (t_merr). */
static km_manifest *t_manifest(const char *line) {
  char text[4096];
  snprintf(text, sizeof text, "[app]\nname = \"a\"\nstyle = \"spin\"\n%s\n", line);
  km_source src = { "krait.toml", "/tmp", NULL, false };
  return km_manifest_read(text, strlen(text), &src, t_merr, sizeof t_merr);
}

static void test_names(void) {
  char out[KM_PKGSET_MAX], err[256];
  CHECK_INT(km_pkgset_name("numpy,markupsafe", out, sizeof out, err, sizeof err), 0);
  CHECK_STR(out, "markupsafe+numpy");
  CHECK_INT(km_pkgset_name("b+a,b,a", out, sizeof out, err, sizeof err), 0);
  CHECK_STR(out, "a+b");
  const char *list[] = { "pyyaml", "markupsafe", "pyyaml" };
  CHECK_INT(km_pkgset_join(list, 3, out, sizeof out, err, sizeof err), 0);
  CHECK_STR(out, "markupsafe+pyyaml");
  CHECK_INT(km_pkgset_name("Numpy", out, sizeof out, err, sizeof err), -1);
  CHECK_CONTAINS(err, "'Numpy' is not a package name");
  CHECK_INT(km_pkgset_name(",", out, sizeof out, err, sizeof err), -1);
  CHECK_CONTAINS(err, "an empty name in ','");
  CHECK_INT(km_pkgset_name("a,,b", out, sizeof out, err, sizeof err), -1);
  CHECK_CONTAINS(err, "an empty name in 'a,,b'");
  CHECK_INT(km_pkgset_name("-x", out, sizeof out, err, sizeof err), -1);
  CHECK_CONTAINS(err, "'-x' is not a package name");
  CHECK_INT(km_pkgset_join(NULL, 0, out, sizeof out, err, sizeof err), -1);
  CHECK_CONTAINS(err, "no package named");
  CHECK_INT(km_pkgset_name("a,b", out, 3, err, sizeof err), -1);
  CHECK_CONTAINS(err, "too long");
  char many[200] = "";
  for (int i = 0; i < 33; i++) snprintf(many + strlen(many), sizeof many - strlen(many), "p%d,", i);
  CHECK_INT(km_pkgset_name(many, out, sizeof out, err, sizeof err), -1);
  CHECK_CONTAINS(err, "more than 32 packages");
  CHECK(km_pkgset_name_ok("zope-interface_2"));
  CHECK(!km_pkgset_name_ok(""));
  CHECK(!km_pkgset_name_ok("a.b"));
}

static void test_manifest_key(void) {
  km_manifest *m = t_manifest("packages = [\"numpy\", \"markupsafe\"]");
  CHECK(m != NULL);
  if (!m) return;
  CHECK_INT(m->apps[0].npackages, 2);
  CHECK_STR(m->apps[0].packages[1], "markupsafe");
  char *toml = km_app_format(m, &m->apps[0]);
  CHECK_CONTAINS(toml, "packages = [\"numpy\", \"markupsafe\"]\n");
  ku_free(toml);
  km_manifest_free(m);
  CHECK((m = t_manifest("packages = []")) != NULL);
  if (m) CHECK_INT(m->apps[0].npackages, 0);
  km_manifest_free(m);
  CHECK(t_manifest("packages = \"numpy\"") == NULL);
  CHECK_STR(t_merr, "krait.toml:4: packages must be an array of strings");
  CHECK(t_manifest("packages = [\n \"numpy\",\n \"Num py\"]") == NULL);
  CHECK_CONTAINS(t_merr, "krait.toml:6: app \"a\": packages entry \"Num py\" is not a package name");
  CHECK(t_manifest("packages = [true]") == NULL);
  CHECK_STR(t_merr, "krait.toml:4: packages must be a string, not boolean");
}

/* Makes dir/sets/name with python.wasm, bin/, site-packages/ and (when
** complete) lib/python3.11/os.py. */
static void t_set(const char *dir, const char *name, bool complete) {
  char p[768];
  snprintf(p, sizeof p, "mkdir -p %s/sets/%s/lib/python3.11 %s/sets/%s/bin %s/sets/%s/site-packages && "
           "touch %s/sets/%s/python.wasm", dir, name, dir, name, dir, name, dir, name);
  CHECK_INT(system(p), 0);
  snprintf(p, sizeof p, "%s/sets/%s/lib/python3.11/os.py", dir, name);
  if (complete) fclose(fopen(p, "w"));
}

/* Writes text into dir/name. */
static void t_write(const char *dir, const char *name, const char *text) {
  char p[768];
  snprintf(p, sizeof p, "%s/%s", dir, name);
  FILE *f = fopen(p, "w");
  CHECK(f != NULL);
  if (f) {
    fputs(text, f);
    fclose(f);
  }
}

static void test_homes(void) {
  char dir[] = "/tmp/krait-pkgset-XXXXXX", built[256], cmd[600];
  CHECK(mkdtemp(dir) != NULL);
  km_pkgset_built(dir, built, sizeof built);
  CHECK_STR(built, "none");
  t_set(dir, "markupsafe", true);
  t_set(dir, "markupsafe+numpy", true);
  t_set(dir, "half", false);
  km_pkgset_built(dir, built, sizeof built);
  CHECK_STR(built, "markupsafe, markupsafe+numpy");
  char *home = km_pkgset_home(dir, "markupsafe");
  CHECK(home && strstr(home, "/sets/markupsafe"));
  ku_free(home);
  CHECK(km_pkgset_home(dir, "half") == NULL);
  CHECK(km_pkgset_home(dir, "numpy") == NULL && errno == ENOENT);
  /* linked on which base: the set's base.txt against the home's sizes.txt */
  char sets[600], why[256];
  snprintf(sets, sizeof sets, "%s/sets/markupsafe", dir);
  CHECK(km_pkgset_current(dir, sets, why, sizeof why));   /* no sizes.txt: nothing to compare */
  t_write(dir, "sizes.txt", "key                 b62ee371f3bc61c9\nbuild seconds 1\n");
  CHECK(!km_pkgset_current(dir, sets, why, sizeof why));
  CHECK_CONTAINS(why, "no base.txt");
  t_write(sets, "base.txt", "b62ee371f3bc61c9\n");
  CHECK(km_pkgset_current(dir, sets, why, sizeof why));
  t_write(sets, "base.txt", "0123456789abcdef\n");
  CHECK(!km_pkgset_current(dir, sets, why, sizeof why));
  CHECK_STR(why, "it was linked on another build of python.wasm (key 0123456789abcdef; this home's is "
            "b62ee371f3bc61c9)");
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  CHECK_INT(system(cmd), 0);
}

int main(void) {
  RUN(test_names);
  RUN(test_manifest_key);
  RUN(test_homes);
  return t_summary();
}
