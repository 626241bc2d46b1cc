/*
** valid.h -- module validation (Wasm 2.0 minus SIMD). Separate from code
** generation: the interpreter only lowers modules that passed here.
*/
#ifndef KV_VALID_H
#define KV_VALID_H

#include "decode/module.h"

/* Validates a decoded module: its module-level parts (kv_validate_module),
** then every function body. Returns 0, or -1 with err filled (INVALID, or
** MALFORMED for body encoding errors found while walking code). */
int kv_validate(krait_module *m, krait_error *err);

/* Validates only the module-level parts: index spaces, limits, constant
** expressions, segments, exports, start. The bodies stay unchecked
** (m->bodies_pending) until kv_validate_bodies or kv_check_body checks
** them: only a module whose native code, compiled from these very bytes
** after they were validated, is attached may run with bodies unchecked
** (runtime/api.c), and whatever reads a body first checks it. */
int kv_validate_module(krait_module *m, krait_error *err);

/* Validates every body not checked yet (none left: 0 at once). Safe while
** other threads use m. 0, or -1 with err as kv_validate's. */
int kv_validate_bodies(const krait_module *m, krait_error *err);

/* Validates the body of function fi unless checked already (or
** imported). Safe while other threads use m. 0, or -1 with err. */
int kv_check_body(const krait_module *m, uint32_t fi, krait_error *err);

#endif
