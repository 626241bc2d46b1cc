/*
** examples/embed/embed.c -- the smallest embedding of krait: loads a
** module, calls one export with numbers from the command line, prints the
** results. Uses only include/krait.h and build/libkrait.a (README
** "Embedding"); the unit tier builds and runs it (tests/unit/test_embed.sh):
**   cc -Iinclude examples/embed/embed.c build/libkrait.a -lm -lpthread
**   ./a.out fib.wasm fib 90      prints 2880067194370816120
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "krait.h"

/* The whole file in a malloc'ed buffer, or NULL. */
static uint8_t *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  uint8_t *p = NULL;
  long n = f && fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
  if (n >= 0 && fseek(f, 0, SEEK_SET) == 0 && (p = malloc(n ? n : 1)) && fread(p, 1, n, f) != (size_t)n)
    { free(p); p = NULL; }
  if (f) fclose(f);
  *len = (size_t)n;
  return p;
}

/* A value of type letter t ("i" i32, "I" i64, "f" f32, "F" f64) from text. */
static krait_val parse_val(char t, const char *text) {
  krait_val v = { .type = t == 'i' ? KRAIT_I32 : t == 'I' ? KRAIT_I64 : t == 'f' ? KRAIT_F32 : KRAIT_F64 };
  if (t == 'i') v.of.i32 = (int32_t)strtol(text, NULL, 0);
  else if (t == 'I') v.of.i64 = strtoll(text, NULL, 0);
  else if (t == 'f') v.of.f32 = strtof(text, NULL);
  else v.of.f64 = strtod(text, NULL);
  return v;
}

/* Prints one result on its own line. */
static void print_val(const krait_val *v) {
  if (v->type == KRAIT_I32) printf("%d\n", v->of.i32);
  else if (v->type == KRAIT_I64) printf("%lld\n", (long long)v->of.i64);
  else if (v->type == KRAIT_F32) printf("%.9g\n", v->of.f32);
  else if (v->type == KRAIT_F64) printf("%.17g\n", v->of.f64);
  else printf("%s\n", v->of.ref ? "ref" : "null");
}

/* Calls the export name of inst with the numbers in text; 0 when it ran. */
static int call(krait_store *store, krait_instance *inst, const char *name, int n, char **text) {
  krait_extern ext;
  krait_val args[16], results[16];
  krait_error err;
  if (krait_instance_export(inst, name, &ext) != 0 || ext.kind != KRAIT_EXTERN_FUNC)
    return fprintf(stderr, "embed: no exported function %s\n", name), 1;
  const char *sig = krait_func_signature(ext.of.func), *res = strchr(sig, ':') + 1;
  size_t nargs = (size_t)(res - 1 - sig), nres = strlen(res);
  if (nargs != (size_t)n || strspn(sig, "iIfF") < nargs || nargs > 16 || nres > 16)
    return fprintf(stderr, "embed: %s takes %zu numbers (signature %s)\n", name, nargs, sig), 1;
  for (size_t i = 0; i < nargs; i++) args[i] = parse_val(sig[i], text[i]);
  if (krait_func_call(store, ext.of.func, args, nargs, results, nres, &err) != 0)
    return fprintf(stderr, "embed: %s\n", err.message), 1;
  for (size_t i = 0; i < nres; i++) print_val(&results[i]);
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 3) { fprintf(stderr, "usage: embed FILE.wasm EXPORT [NUMBER...]\n"); return 2; }
  size_t len;
  uint8_t *bytes = read_file(argv[1], &len);
  if (!bytes) { perror(argv[1]); return 1; }
  krait_error err = { 0 };
  krait_config cfg;
  krait_config_default(&cfg);
  krait_engine *engine = krait_engine_new(&cfg, &err);
  krait_module *module = engine ? krait_module_new(engine, bytes, len, &err) : NULL;
  krait_store *store = module ? krait_store_new(engine) : NULL;
  krait_linker *linker = store ? krait_linker_new(store) : NULL;
  krait_instance *inst = linker ? krait_instantiate(linker, module, &err) : NULL;
  free(bytes);
  int rc = 1;
  if (!inst) fprintf(stderr, "embed: %s\n", err.message[0] ? err.message : "out of memory");
  else rc = call(store, inst, argv[2], argc - 3, argv + 3);
  if (linker) krait_linker_free(linker);
  if (store) krait_store_free(store);
  if (module) krait_module_free(module);
  if (engine) krait_engine_free(engine);
  return rc;
}
