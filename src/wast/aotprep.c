/*
** aotprep.c -- the spec runner under the AOT tier: before a file's
** commands run, the native code of all its valid binary modules is built
** in one compiler run (a compiler run per module would not fit CI).
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "wast/wast_internal.h"
#include "aot/aot.h"
#include "util/file.h"

/* Decodes and validates each binary module file the commands name, in
** an interpreter engine of its own, then prepares them all at once. */
void kt_aot_prepare(kt_file *f, json_t *commands, krait_bounds bounds) {
  krait_config cfg;
  krait_config_default(&cfg);
  cfg.bounds = bounds;
  krait_engine *e = krait_engine_new(&cfg, NULL);
  size_t n = json_array_size(commands), k = 0;
  krait_module **ms = calloc(n ? n : 1, sizeof *ms);
  for (size_t i = 0; e && ms && i < n; i++) {
    json_t *c = json_array_get(commands, i);
    const char *name = json_string_value(json_object_get(c, "filename"));
    const char *type = json_string_value(json_object_get(c, "module_type"));
    if (!name || (type && strcmp(type, "binary") != 0)) continue;
    char path[4096], why[128];
    size_t len;
    snprintf(path, sizeof path, "%s/%s", f->dir, name);
    uint8_t *bytes = ku_read_file(path, &len, why, sizeof why);
    if (!bytes) continue;
    krait_module *m = krait_module_new(e, bytes, len, NULL);
    ku_free(bytes);
    if (m) ms[k++] = m;
  }
  krait_error err;
  if (k && kaot_prepare((const krait_module *const *)ms, k, bounds, &err) != 0)
    printf("  note %s: %s (modules compile one by one)\n", f->path, err.message);
  for (size_t i = 0; i < k; i++) krait_module_free(ms[i]);
  free(ms);
  krait_engine_free(e);
}
