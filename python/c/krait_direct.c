/*
** python/c/krait_direct.c -- krait_handle_direct (python/c/krait_abi.h):
** a data symbol holding the function-table index of krait_handle's body,
** exported so the host can call it without wasm-ld's command wrapper.
** Linked into every program of the build; weak, so only python.wasm
** (which has _kraitmodule.c) points it anywhere.
*/
#include <stdint.h>

extern int32_t krait_handle_body(void) __attribute__((weak));

int32_t (*krait_handle_direct)(void) = krait_handle_body;
