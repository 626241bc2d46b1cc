/*
** stubs.c -- the "krait" imports of python.wasm (python/c/krait_abi.h) for
** the command line, where nothing is being served: each answers
** KRAIT_E_NOSYS, which _krait turns into "not running under krait serve".
*/
#include "cli/cli.h"

/* KRAIT_E_NOSYS in python/c/krait_abi.h. */
#define KC_E_NOSYS (-38)

/* Every import of module "krait": name and signature. */
static const struct { const char *name, *sig; } kc_stubs[] = {
  { "request", "ii:i" },         { "respond", "ii:i" },
  { "kv_open", "ii:i" },         { "kv_get", "iiiii:i" },
  { "kv_set", "iiiii:i" },       { "kv_delete", "iii:i" },
  { "kv_exists", "iii:i" },      { "kv_keys", "iiiiiiii:i" },
  { "log", "iii:i" },            { "variable", "iiii:i" },
  { "config", "ii:i" },          { "error_message", "ii:i" },
};

/* The one stub body: no effect, KC_E_NOSYS. */
static int kc_stub(krait_caller *caller, void *env, krait_slot *ar) {
  ar[0].i32 = KC_E_NOSYS;
  return 0;
}

/* Defines every "krait" import as a stub in linker. Returns 0 or -1. */
int kc_define_krait_stubs(krait_linker *linker) {
  for (size_t i = 0; i < sizeof kc_stubs / sizeof kc_stubs[0]; i++)
    if (krait_linker_define_func(linker, "krait", kc_stubs[i].name, kc_stubs[i].sig,
                                 kc_stub, NULL) != 0)
      return -1;
  return 0;
}
