/*
** tests/guest/compat/wasm_compat.c -- linked into every wasm32-wasi guest
** and bench program. Owns: the two stack-protector symbols that Debian 12's
** libclang_rt.builtins-wasm32.a (built with -fstack-protector) references
** from its __int128 helpers (__umodti3, __divti3, ...) but wasi-libc does
** not define. Does not own: anything for native builds.
*/
#include <stdint.h>
#include <stdlib.h>

uintptr_t __stack_chk_guard = 0x5a17c0de;

/* Called by protected builtins when their canary is overwritten. */
void __stack_chk_fail(void) { abort(); }
