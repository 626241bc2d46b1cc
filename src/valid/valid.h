/*
** valid.h -- module validation (Wasm 2.0 minus SIMD). Separate from code
** generation: the interpreter only lowers modules that passed here.
*/
#ifndef KV_VALID_H
#define KV_VALID_H

#include "decode/module.h"

/* Validates a decoded module. Returns 0, or -1 with err filled (INVALID,
** or MALFORMED for body encoding errors found while walking code). */
int kv_validate(krait_module *m, krait_error *err);

#endif
