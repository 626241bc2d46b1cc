/*
** tests/fuzz/fuzz_aot.c -- libFuzzer target: bytes -> decode -> validate
** -> AOT translation (src/aot/) of every defined function into C, with the
** file layout around it (prelude, declarations, descriptors). Compiling
** the C is not fuzzed here (a compiler run per input is too slow; the
** fuzz-aot-sample tier, tests/fuzz/aot_sample.sh, compiles a sample); a
** translation that fails on a validated module, crashes or leaks is a
** finding. Does not own: the translator or the seeds (tests/fuzz/aot-seeds).
*/
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "aot/aot_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static krait_engine *engine;
  if (!engine && !(engine = krait_engine_new(NULL, NULL))) abort();
  krait_module *m = krait_module_new(engine, data, size, NULL);
  if (!m) return 0;
  char *text = NULL, msg[256];
  size_t len = 0;
  FILE *o = open_memstream(&text, &len);
  if (!o) abort();
  for (int explicit_bounds = 0; explicit_bounds < 2; explicit_bounds++) {
    /* guard mode with the countdown in a register, explicit with it in memory */
    kaot_emit_prelude(o, explicit_bounds, explicit_bounds == 0);
    kaot_emit_decls(o, m, "m0_");
    for (uint32_t i = m->nfunc_imports; i < m->nfuncs; i++)
      if (kaot_emit_func(o, m, "m0_", i, explicit_bounds, msg, sizeof msg) != 0) {
        fprintf(stderr, "translation of a valid module failed: %s\n", msg);
        abort();
      }
    kaot_emit_desc(o, m, "m0_", "0");
  }
  fclose(o);
  free(text);
  krait_module_free(m);
  return 0;
}
