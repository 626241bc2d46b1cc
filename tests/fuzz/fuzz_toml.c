/*
** tests/fuzz/fuzz_toml.c -- libFuzzer target: bytes -> km_toml document.
** Owns: parse, walk the whole tree through every getter and lookup, free.
** Does not own: the parser (src/manifest/toml.c) or seeds (toml-seeds/).
*/
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "manifest/toml.h"

/* Calls every getter on v and recurses into containers; checks that what
** the iteration shows, lookups find again. */
static void walk(const km_toml_value *v, int depth) {
  const char *s;
  size_t n;
  int64_t i;
  double f;
  bool b;
  km_toml_dtkind k;
  if (depth > KM_TOML_MAX_DEPTH) abort();
  (void)km_toml_line(v);
  (void)km_toml_type_name(km_toml_type_of(v));
  (void)km_toml_string(v, &s, &n);
  (void)km_toml_int(v, &i);
  (void)km_toml_float(v, &f);
  (void)km_toml_bool(v, &b);
  (void)km_toml_datetime(v, &s, &n, &k);
  for (size_t j = 0; j < km_toml_array_len(v); j++)
    walk(km_toml_array_at(v, j), depth + 1);
  for (size_t j = 0; j < km_toml_table_len(v); j++) {
    const km_toml_value *c = km_toml_table_at(v, j, &s, &n);
    if (!c || km_toml_getn(v, s, n) != c || s[n] != 0) abort();
    if (strlen(s) == n && km_toml_get(v, s) != c) abort();
    walk(c, depth + 1);
  }
}

/* libFuzzer: one input. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  km_toml_error err;
  km_toml_doc *doc = km_toml_parse(data, size, "fuzz.toml", &err);
  if (!doc) {
    if (!err.message[0]) abort();
    return 0;
  }
  const km_toml_value *root = km_toml_root(doc);
  walk(root, 0);
  (void)km_toml_path(root, "app.limits.timeout");
  (void)km_toml_path(root, "route.0.path");
  km_toml_free(doc);
  return 0;
}
