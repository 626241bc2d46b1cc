/*
** compile.c -- `krait compile [--bounds MODE] FILE.wasm`: compiles a module
** into the AOT tier's cache (or finds it there) and says where it is.
** Owns the command line only; the compiling is src/aot/'s.
*/
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "krait_host.h"
#include "cli/cli.h"
#include "util/file.h"
#include "platform/platform.h"
#include "util/util.h"

const char kc_compile_usage[] =
  "Usage: krait compile [--bounds guard|explicit] FILE.wasm\n"
  "\n"
  "Translates FILE.wasm to C, compiles it with the system C compiler\n"
  "($KRAIT_CC, default gcc; units in parallel on all cores) into a shared\n"
  "object in $KRAIT_CACHE/aot (default ~/.cache/krait/aot), keyed by the\n"
  "module's SHA-256, the translator, the compiler, its flags, the bounds\n"
  "mode and the runtime ABI. Later runs with --tier aot or --tier auto\n"
  "use it. A cached object that does not verify is rebuilt.\n";

/* Parses the options, then makes the module with the aot tier. */
int kc_compile_main(int argc, char **argv)
{
  krait_config cfg;
  const char *path = NULL;
  krait_config_default(&cfg);
  cfg.tier = KRAIT_TIER_AOT;
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
    fprintf(stderr, "krait compile: %s ready (module %.16s..., %s bounds, %.2f s)\n", path, sha,
            cfg.bounds == KRAIT_BOUNDS_EXPLICIT ? "explicit" : "guard",
            (double)(kp_monotonic_ns() - t0) / 1e9);
  }
  krait_module_free(m);
  krait_engine_free(e);
  return rc;
}
