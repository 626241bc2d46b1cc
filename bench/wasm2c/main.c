/*
** bench/wasm2c/main.c -- the host program of the wasm2c baseline: runs the
** -nostdlib kernel that `wasm2c -n k` turned into k.c/k.h and prints run()'s
** checksum, as the native build does. Does not own: building (mk/bench.mk).
*/
#include <stdio.h>
#include "k.h"

/* Instantiates the kernel, calls its `run` export, prints the result. */
int main(void) {
  Z_k_instance_t inst;
  wasm_rt_init();
  Z_k_init_module();
  Z_k_instantiate(&inst);
  printf("%u\n", (unsigned)Z_kZ_run(&inst));
  Z_k_free(&inst);
  wasm_rt_free();
  return 0;
}
