/*
** enable.c -- krait_aot_enable: installs the AOT tier's entry points into
** the engine (src/runtime calls them through kr_aot_ops), so a program that
** links only libkrait.a carries no compiler driver, dlopen or libcrypto.
*/
#include "aot/aot.h"
#include "krait_host.h"

static const kr_aot_ops kaot_ops = {
  .attach = kaot_attach,
  .detach = kaot_detach,
  .instance_init = kaot_instance_init,
  .instance_finish = kaot_instance_finish,
  .func_bind = kaot_func_bind,
  .locate = kaot_locate,
};

/* Makes tiers aot and auto available to engines made from now on. */
void krait_aot_enable(void) { kr_aot_install(&kaot_ops); }
