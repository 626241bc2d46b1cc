/*
** spectest.c -- the `spectest` host module the spec tests import from.
** Owns its print functions, globals (666 / 666.6), table and memory.
** Does not own the linker or store it defines them in (wast.c).
*/
#include <stdio.h>
#include <string.h>
#include "wast/wast_internal.h"

/* One spectest print function: its export name and signature. */
typedef struct kt_print {
  const char *name;
  const char *sig;
} kt_print;

static const kt_print kt_prints[] = {
  {"print", ":"},           {"print_i32", "i:"},
  {"print_i64", "I:"},      {"print_f32", "f:"},
  {"print_f64", "F:"},      {"print_i32_f32", "if:"},
  {"print_f64_f64", "FF:"},
};

/* Prints one argument cell according to its signature letter. */
static void print_arg(char letter, const krait_slot *s) {
  switch (letter) {
  case 'i': printf("%d : i32", s->i32); break;
  case 'I': printf("%lld : i64", (long long)s->i64); break;
  case 'f': printf("%.9g : f32", (double)s->f32); break;
  case 'F': printf("%.17g : f64", s->f64); break;
  default: printf("? : ?"); break;
  }
}

/* The host side of every spectest print function: prints its arguments
** to stdout in -v mode, otherwise does nothing. */
static int print_fn(krait_caller *caller, void *env, krait_slot *args) {
  const kt_print *p = env;
  const kt_file *f = krait_caller_data(caller);
  size_t i;

  if (!f || !f->verbose)
    return 0;
  printf("    spectest.%s(", p->name);
  for (i = 0; p->sig[i] != ':'; i++) {
    if (i > 0)
      printf(", ");
    print_arg(p->sig[i], &args[i]);
  }
  printf(")\n");
  return 0;
}

/* Defines one immutable spectest global holding v. Returns 0 or -1. */
static int define_global(kt_file *f, const char *name, krait_val v) {
  krait_extern ext;

  ext.kind = KRAIT_EXTERN_GLOBAL;
  ext.of.global = krait_global_new(f->store, &v, 0);
  if (!ext.of.global)
    return -1;
  return krait_linker_define(f->linker, "spectest", name, &ext);
}

/* Defines global_i32, global_i64 (666), global_f32, global_f64 (666.6). */
static int define_globals(kt_file *f) {
  krait_val v;

  memset(&v, 0, sizeof v);
  v.type = KRAIT_I32;
  v.of.i32 = 666;
  if (define_global(f, "global_i32", v) != 0)
    return -1;
  v.type = KRAIT_I64;
  v.of.i64 = 666;
  if (define_global(f, "global_i64", v) != 0)
    return -1;
  v.of.bits = 0;
  v.type = KRAIT_F32;
  v.of.f32 = 666.6f;
  if (define_global(f, "global_f32", v) != 0)
    return -1;
  v.type = KRAIT_F64;
  v.of.f64 = 666.6;
  return define_global(f, "global_f64", v);
}

/* Defines the table (10..20 funcref) and memory (1..2 pages). */
static int define_table_memory(kt_file *f) {
  krait_extern ext;

  ext.kind = KRAIT_EXTERN_TABLE;
  ext.of.table = krait_table_new(f->store, KRAIT_FUNCREF, 10, 20);
  if (!ext.of.table ||
      krait_linker_define(f->linker, "spectest", "table", &ext) != 0)
    return -1;
  ext.kind = KRAIT_EXTERN_MEMORY;
  ext.of.memory = krait_memory_new(f->store, 1, 2);
  if (!ext.of.memory)
    return -1;
  return krait_linker_define(f->linker, "spectest", "memory", &ext);
}

/* Defines the whole spectest module in f->linker; f->store's user data
** must be f so that the print functions see -v. Returns 0 or -1. */
int kt_spectest_define(kt_file *f) {
  size_t i;

  for (i = 0; i < sizeof kt_prints / sizeof kt_prints[0]; i++) {
    if (krait_linker_define_func(f->linker, "spectest", kt_prints[i].name,
                                 kt_prints[i].sig, print_fn,
                                 (void *)&kt_prints[i]) != 0)
      return -1;
  }
  if (define_globals(f) != 0)
    return -1;
  return define_table_memory(f);
}
