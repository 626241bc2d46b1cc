/*
** websnap.c -- `krait web-snapshot WEBDIR`: the command line of the
** snapshot web/krait.js starts from. Owns only the arguments; the boot and
** the file are src/app/websnap.c's (ka_web_snapshot).
*/
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "app/app.h"

static const char kc_websnap_usage[] =
  "Usage: krait web-snapshot [--tier TIER] [--set NAME] WEBDIR\n"
  "\n"
  "Boots WEBDIR/python/python.wasm as web/krait.js's worker does and\n"
  "writes WEBDIR/python/python.snapshot, which krait.js starts from\n"
  "instead of booting CPython (`make web` runs this). --tier: how the boot\n"
  "runs here (auto, the default: native code when python.wasm is compiled;\n"
  "aot; interp; else $KRAIT_TIER); the file is the same under any.\n"
  "--set NAME: the package set NAME that `make web` published in\n"
  "WEBDIR/python/sets/NAME/: its python.wasm, with its site-packages.zip\n"
  "first on sys.path and its packages (the \"imports\" of\n"
  "WEBDIR/python/sets/index.json) imported, into its own python.snapshot.\n";

int kc_websnap_main(int argc, char **argv) {
  krait_tier tier = kc_default_tier(KRAIT_TIER_AUTO);
  const char *set = NULL;
  while (argc >= 4 && (strcmp(argv[1], "--tier") == 0 || strcmp(argv[1], "--set") == 0)) {
    if (strcmp(argv[1], "--set") == 0) set = argv[2];
    else if (kc_parse_tier(argv[2], &tier) != 0)
      return kc_usage_error("web-snapshot", kc_websnap_usage, "bad --tier '%s' (interp, aot or auto)", argv[2]);
    argc -= 2;
    argv += 2;
  }
  if (argc != 2 || argv[1][0] == '-') {
    fputs(kc_websnap_usage, argc == 2 ? stdout : stderr);
    return argc == 2 ? KC_EXIT_OK : KC_EXIT_USAGE;
  }
  kc_aot_dirs(NULL);
  char out[4200], err[1024];
  if (ka_web_snapshot(argv[1], set, tier, out, sizeof out, err, sizeof err) != 0) {
    fprintf(stderr, "Error: web-snapshot: %s\n", err);
    return KC_EXIT_ERROR;
  }
  fprintf(stderr, "krait web-snapshot: %s\n", out);
  return KC_EXIT_OK;
}
