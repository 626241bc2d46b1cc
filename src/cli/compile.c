/*
** compile.c -- `krait compile [--bounds MODE] [--into DIR] FILE.wasm`:
** compiles a module into the AOT tier's cache (or finds it there), says
** where it is, and copies it into DIR. Owns the command line only; the
** compiling is src/aot/'s.
*/
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "krait_host.h"
#include "aot/aot.h"
#include "cli/cli.h"
#include "util/file.h"
#include "platform/platform.h"
#include "util/util.h"

const char kc_compile_usage[] =
  "Usage: krait compile [--bounds guard|explicit] [--into DIR] FILE.wasm\n"
  "\n"
  "Translates FILE.wasm to C, compiles it with the system C compiler\n"
  "($KRAIT_CC, default gcc; units in parallel on all cores) into a shared\n"
  "object in $KRAIT_CACHE/aot (default ~/.cache/krait/aot), keyed by the\n"
  "module's SHA-256, the translator, the compiler, its flags, the bounds\n"
  "mode and the runtime ABI. Later runs with --tier aot or --tier auto\n"
  "use it. A cached object that does not verify is rebuilt. An object\n"
  "in the aot/ of a Python home beside krait counts as cached.\n"
  "\n"
  "--into DIR also copies the object into the directory DIR under the same\n"
  "name and prints the copy's path: a Python home's aot/ (`make python`\n"
  "does this for build/python/aot/, and `make install` copies it), where\n"
  "krait looks after its cache, so no C compiler is needed to find it.\n";

/* Puts the object src into dir under its own name and prints that path:
** a hard link when they share a file system (the cache never changes a
** file in place: it renames new ones in, deletes damaged ones), else a
** copy; both through a temporary name, then rename. 0, or -1 after a
** message. */
static int kc_compile_into(const char *src, const char *dir) {
  char why[256] = "", *dst = NULL, *tmp = NULL;
  size_t len = 0;
  uint8_t *bytes = NULL;
  const char *base = strrchr(src, '/') ? strrchr(src, '/') + 1 : src;
  int fd = -1, ok = 0;
  if ((dst = ku_sprintf("%s/%s", dir, base)) && (tmp = ku_sprintf("%s.tmp", dst))) {
    unlink(tmp);
    ok = link(src, tmp) == 0;
    if (!ok && (bytes = ku_read_file(src, &len, why, sizeof why)))
      fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
  }
  if (fd >= 0) {
    ok = write(fd, bytes, len) == (ssize_t)len;
    ok = close(fd) == 0 && ok;
  }
  if (ok && strcmp(src, dst) != 0 && rename(tmp, dst) != 0) ok = 0;
  if (tmp) unlink(tmp);
  if (ok) printf("%s\n", dst);
  else fprintf(stderr, "krait compile: cannot put %s into %s: %s\n", src, dir, why[0] ? why : strerror(errno));
  ku_free(bytes);
  ku_free(dst);
  ku_free(tmp);
  return ok ? 0 : -1;
}

/* Parses the options, then makes the module with the aot tier. */
int kc_compile_main(int argc, char **argv)
{
  krait_config cfg;
  const char *path = NULL, *into = NULL;
  krait_config_default(&cfg);
  cfg.tier = KRAIT_TIER_AOT;
  kc_aot_dirs(NULL);  /* an object there is found as one in the cache */
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
      fputs(kc_compile_usage, stdout);
      return KC_EXIT_OK;
    }
    if (strcmp(argv[i], "--bounds") == 0 && i + 1 < argc) {
      const char *v = argv[++i];
      if (strcmp(v, "guard") == 0) cfg.bounds = KRAIT_BOUNDS_GUARD;
      else if (strcmp(v, "explicit") == 0) cfg.bounds = KRAIT_BOUNDS_EXPLICIT;
      else return kc_usage_error("compile", kc_compile_usage, "bad --bounds value '%s'", v);
    } else if (strcmp(argv[i], "--into") == 0 && i + 1 < argc) {
      into = argv[++i];
    } else if (argv[i][0] == '-' || path) {
      return kc_usage_error("compile", kc_compile_usage, "unexpected argument '%s'", argv[i]);
    } else {
      path = argv[i];
    }
  }
  if (!path) return kc_usage_error("compile", kc_compile_usage, "no FILE.wasm given");
  char why[256];
  size_t len;
  uint8_t *bytes = ku_read_file(path, &len, why, sizeof why);
  if (!bytes) { fprintf(stderr, "krait compile: %s: %s\n", path, why); return 1; }
  krait_error err;
  krait_engine *e = krait_engine_new(&cfg, &err);
  uint64_t t0 = kp_monotonic_ns();
  krait_module *m = e ? krait_module_new(e, bytes, len, &err) : NULL;
  ku_free(bytes);
  int rc = 0;
  if (!m) {
    fprintf(stderr, "krait compile: %s: %s\n", path, err.message);
    rc = 1;
  } else {
    char sha[65];
    krait_module_sha256(m, sha);
    const char *obj = kaot_object_path(m);
    fprintf(stderr, "krait compile: %s ready (module %.16s..., %s bounds, %.2f s): %s\n", path, sha,
            cfg.bounds == KRAIT_BOUNDS_EXPLICIT ? "explicit" : "guard",
            (double)(kp_monotonic_ns() - t0) / 1e9, obj ? obj : "?");
    if (into && (!obj || kc_compile_into(obj, into) != 0)) rc = 1;
  }
  krait_module_free(m);
  krait_engine_free(e);
  return rc;
}
