/*
** tests/fuzz/fuzz_toml.c -- libFuzzer target: bytes -> km_toml document.
** Owns: parse, walk the whole tree through every getter and lookup, free;
** the same bytes read as an artifact's krait.toml, its apps' variable
** templates expanded and shaped, each app formatted back.
** Does not own: the parser (src/manifest/toml.c) or seeds (toml-seeds/).
*/
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "manifest/manifest.h"
#include "manifest/toml.h"
#include "util/util.h"

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

/* The bytes as an artifact's manifest: when they read, every template
** expands (each variable's value its name) and shapes, every app formats
** back into a manifest that reads again. */
static void manifest(const uint8_t *data, size_t size) {
  char err[1024];
  km_source src = { "fuzz.toml", "/srv", NULL, true };
  km_manifest *m = km_manifest_read((const char *)data, size, &src, err, sizeof err);
  if (!m) {
    if (!err[0]) abort();
    return;
  }
  char **values = ku_calloc((size_t)m->nvars + 1, sizeof *values);
  for (int i = 0; values && i < m->nvars; i++) values[i] = m->vars[i].name;
  for (int a = 0; values && a < m->napps; a++) {
    for (int i = 0; i < m->apps[a].nvars; i++) {
      const char *t = m->apps[a].var_values[i];
      ku_free(km_template_expand(m, t, values));
      ku_free(km_template_shape(m, t));
      (void)km_template_uses(m, t, -1);
    }
    char *text = km_app_format(m, &m->apps[a]);
    km_source back = { "back.toml", "/srv", NULL, false };
    km_manifest *again = text ? km_manifest_read(text, strlen(text), &back, err, sizeof err) : NULL;
    if (text && !again) abort();   /* what krait build writes must read back */
    km_manifest_free(again);
    ku_free(text);
  }
  ku_free(values);
  km_manifest_free(m);
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
  manifest(data, size);
  return 0;
}
