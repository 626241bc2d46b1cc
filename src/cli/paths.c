/*
** paths.c -- where the krait command finds its own files: the Python home
** (python.wasm and its stdlib), the guest SDK and the browser build, in a
** build tree or an installed prefix. Not what they hold nor who uses them.
*/
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "krait_host.h"
#include "manifest/manifest.h"
#include "util/util.h"

/*
** Each file is looked for relative to the krait binary itself
** (/proc/self/exe), never relative to the current directory or the
** source tree, in two layouts:
**
**   build tree (make)          BIN = TREE/build (build/krait)
**     Python home   BIN/python               (make python)
**     SDK           BIN/../python/sdk        (the sources)
**     browser       BIN/web                  (make web)
**   installed (make install)   BIN = PREFIX/bin (PREFIX/bin/krait)
**     Python home   BIN/../lib/krait/python
**     SDK           BIN/../share/krait/sdk
**     browser       BIN/../share/krait/web
**
** A candidate counts only when its marker file is there, so an installed
** krait never falls into a build tree's paths by accident. The variables
** KRAIT_PYTHON_HOME, KRAIT_SDK and KRAIT_WEB (and --python-home) come
** first.
**
** A Python home may hold aot/<key>.so, python.wasm compiled by the AOT
** tier (`make python`, copied by `make install`): the tier looks there
** after its cache (kc_aot_dirs), so an installed krait runs Python as
** native code without a C compiler.
*/

/* The directory of the running binary into out; 0, or -1 when unknown. */
static int kc_bin_dir(char *out, size_t n) {
  ssize_t len = readlink("/proc/self/exe", out, n - 1);
  char *slash;
  if (len <= 0) return -1;
  out[len] = '\0';
  if (!(slash = strrchr(out, '/'))) return -1;
  *slash = '\0';
  return 0;
}

/* base/rel as a new real path when base/rel/marker is readable (and
** marker2, when given, too); else NULL. */
static char *kc_probe(const char *base, const char *rel, const char *marker,
                      const char *marker2) {
  char dir[PATH_MAX], probe[PATH_MAX + 64];
  if ((size_t)snprintf(dir, sizeof dir, "%s/%s", base, rel) >= sizeof dir) return NULL;
  snprintf(probe, sizeof probe, "%s/%s", dir, marker);
  if (access(probe, R_OK) != 0) return NULL;
  snprintf(probe, sizeof probe, "%s/%s", dir, marker2 ? marker2 : marker);
  return access(probe, R_OK) == 0 ? ku_realpath(dir) : NULL;
}

/* The first of the NULL-terminated rels under the binary's directory
** that holds marker (and marker2), as a real path; NULL when none. */
static char *kc_beside_bin(const char *const *rels, const char *marker,
                           const char *marker2) {
  char bin[PATH_MAX];
  char *found = NULL;
  if (kc_bin_dir(bin, sizeof bin) != 0) return NULL;
  for (; *rels && !found; rels++) found = kc_probe(bin, *rels, marker, marker2);
  return found;
}

#define KC_HOME_MARKS "python.wasm", "lib/python3.11/os.py"

/* Where a Python home is beside the binary: build tree, then install. */
static const char *const kc_home_rels[] = { "python", "../lib/krait/python", NULL };

/* The Python home: given (--python-home), else $KRAIT_PYTHON_HOME, which
** must then be one; else beside the binary (build tree, then install).
** A malloc'ed real path, or NULL after a message naming where it looked. */
char *kc_python_home(const char *given) {
  const char *env = getenv("KRAIT_PYTHON_HOME");
  const char *dir = given ? given : env && *env ? env : NULL;
  char bin[PATH_MAX] = "the executable";
  char *home;
  if (dir) {
    if ((home = kc_probe(dir, ".", KC_HOME_MARKS))) return home;
    fprintf(stderr, "Error: '%s' (from %s) is not a Python home: it needs "
            "python.wasm and lib/python3.11/\n", dir,
            given ? "--python-home" : "KRAIT_PYTHON_HOME");
    return NULL;
  }
  if ((home = kc_beside_bin(kc_home_rels, KC_HOME_MARKS))) return home;
  kc_bin_dir(bin, sizeof bin);
  fprintf(stderr, "Error: Python is not installed next to krait (looked "
          "for python/python.wasm and ../lib/krait/python/python.wasm beside "
          "%s); build it with 'make python' (or 'make install' it), or pass "
          "--python-home DIR\n", bin);
  return NULL;
}

/* The guest SDK (python/sdk's files): $KRAIT_SDK, else beside the binary
** (build tree, then install), else the one that goes with the Python home
** home (build/python -> python/sdk; PREFIX/lib/krait/python ->
** PREFIX/share/krait/sdk), for a krait run from elsewhere with
** --python-home. A malloc'ed real path, or NULL. */
char *kc_sdk_dir(const char *home) {
  static const char *const rels[] = { "../python/sdk", "../share/krait/sdk", NULL };
  static const char *const from_home[] = { "../../python/sdk", "../../../share/krait/sdk", NULL };
  const char *env = getenv("KRAIT_SDK");
  char *sdk;
  if (env && *env) return ku_realpath(env);
  if ((sdk = kc_beside_bin(rels, "krait_runtime.py", NULL))) return sdk;
  for (const char *const *r = from_home; home && *r && !sdk; r++)
    sdk = kc_probe(home, *r, "krait_runtime.py", NULL);
  return sdk;
}

/* The browser build: $KRAIT_WEB, else beside the binary (build/web, then
** PREFIX/share/krait/web); a malloc'ed real path, or NULL when there is
** none with a playground. */
char *kc_web_root(void) {
  static const char *const rels[] = { "web", "../share/krait/web", NULL };
  const char *env = getenv("KRAIT_WEB");
  if (env && *env) return kc_probe(env, ".", "playground/index.html", NULL);
  return kc_beside_bin(rels, "playground/index.html", NULL);
}

/* Adds home/aot as a place of compiled objects (when it is a directory). */
static void kc_aot_dir(const char *home) {
  char dir[PATH_MAX];
  if (home && (size_t)snprintf(dir, sizeof dir, "%s/aot", home) < sizeof dir && access(dir, X_OK) == 0)
    krait_aot_add_dir(dir);
}

void kc_aot_dirs(const char *home) {
  char bin[PATH_MAX];
  kc_aot_dir(home);
  for (const char *const *r = kc_home_rels; kc_bin_dir(bin, sizeof bin) == 0 && *r; r++) {
    char *found = kc_probe(bin, *r, KC_HOME_MARKS);
    kc_aot_dir(found);
    ku_free(found);
  }
}

/* The Python home of the package set list names (km_pkgset_name:
** "numpy,markupsafe") under home/sets/ (scripts/build-packages.py makes
** them), with its aot/ added as a place of compiled objects: a malloc'ed
** real path, or NULL after a message naming the set, the sets that are
** built and how to build it. */
char *kc_python_set(const char *home, const char *list) {
  char name[KM_PKGSET_MAX], err[256], built[1024];
  char *set;
  if (km_pkgset_name(list, name, sizeof name, err, sizeof err) != 0) {
    fprintf(stderr, "Error: --packages '%s': %s\n", list, err);
    return NULL;
  }
  if ((set = km_pkgset_home(home, name))) {
    if (!km_pkgset_current(home, set, err, sizeof err)) {
      fprintf(stderr, "Error: the package set '%s' (%s) is out of date: %s; run 'make python' in "
              "krait's source tree to link it again\n", name, set, err);
      ku_free(set);
      return NULL;
    }
    kc_aot_dir(set);
    return set;
  }
  if (errno == ENOMEM) {
    fprintf(stderr, "Error: --packages: out of memory\n");
    return NULL;
  }
  km_pkgset_built(home, built, sizeof built);
  fprintf(stderr, "Error: the package set '%s' is not built (no %s/sets/%s/python.wasm); built "
          "sets: %s. Build it in krait's source tree with 'make python PACKAGES=%s' "
          "(recipes: python/packages/)\n", name, home, name, built, name);
  return NULL;
}
