/*
** aot.h -- the AOT tier as the rest of krait sees it: attaching compiled
** code to a module, binding it into instances, and batch preparation (the
** spec runner compiles a script's modules in one compiler run).
*/
#ifndef KAOT_AOT_H
#define KAOT_AOT_H

#include "runtime/runtime.h"

/* For an engine whose tier is not interp: finds m's native code (in the
** process or a cache) or, with may_build on tier aot, builds it, and
** attaches it. 0 (m->aot set or not: not found, or tier auto falls back
** to the interpreter), or -1 with err (tier aot only: a build failed, or
** code found does not match; out of memory). krait_module_new calls it
** with may_build false before the bodies are validated and, when nothing
** was attached, with true after. */
int kaot_attach(krait_module *m, bool may_build, krait_error *err);

/* Releases what kaot_attach attached (the object stays loaded). */
void kaot_detach(krait_module *m);

/* instance.c: gives a new instance of an AOT module its context (false
** when out of memory); kaot_instance_finish fills it once memory 0 and
** the tables exist. */
bool kaot_instance_init(krait_instance *in);
void kaot_instance_finish(krait_instance *in);

/* instance.c: makes a new function object of an AOT instance run its
** native code (through the slot ABI for the runtime and interpreter). */
void kaot_func_bind(krait_instance *in, krait_func *f);

/* locate.c: the function of store s whose native code holds pc (a
** faulting instruction), or NULL when pc is in no AOT code of s; *off is
** the Wasm offset of the access when the function has only one load or
** store and calls nothing, else KR_NO_OFFSET. */
krait_func *kaot_locate(krait_store *s, uintptr_t pc, uint32_t *off);

/* Compiles (or finds cached) the native code of modules ms for a bounds
** mode in one compiler run, registering it in the process so modules
** with the same bytes made later attach it at once. 0, or -1 with err. */
int kaot_prepare(const krait_module *const *ms, size_t n, krait_bounds bounds, krait_error *err);

/* The file the native code attached to module m was loaded from, or
** NULL when m runs interpreted. */
const char *kaot_object_path(const krait_module *m);

#endif
