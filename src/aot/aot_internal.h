/*
** aot_internal.h -- the parts of the AOT tier (src/aot/) and how they meet:
** emit.c and unit.c (C), build.c (compiler, cache), shape.c (identities),
** bind.c (attaching, services), load.c and memo.c (start), locate.c.
*/
#ifndef KAOT_INTERNAL_H
#define KAOT_INTERNAL_H

#include "runtime/runtime.h"
#include "aot/abi.h"
#include <stdio.h>
#include <sys/stat.h>

/* Bumped whenever the generated code changes for the same input. */
#define KAOT_TRANSLATOR_VERSION 8u

/* emit.c: the C type of a value type ("uint32_t", "void *"...). */
const char *kaot_ctype(uint8_t t);
/* emit.c: the prototype of function fi, with parameter names if names. */
void kaot_proto(FILE *o, const krait_module *m, const char *px, uint32_t fi, bool names);
/* emit.c: translates defined function fi. 0, or -1 with msg. */
int kaot_emit_func(FILE *o, const krait_module *m, const char *px, uint32_t fi,
                   bool explicit_bounds, char *msg, size_t cap);

/* unit.c: whether generated code keeps its countdown in a register
** (platform/dispatch.h's KP_AOT_BUDGET_REG) when the compiler supports
** GCC's global register variables (global_regs). */
bool kaot_budget_in_register(bool global_regs);
/* unit.c: the text every generated file starts with. */
void kaot_emit_prelude(FILE *o, bool explicit_bounds, bool global_regs);
/* unit.c: the declarations of module m (prefix px) every unit needs. */
void kaot_emit_decls(FILE *o, const krait_module *m, const char *px);
/* unit.c: wrappers and the descriptor `<px>desc` of module m. */
void kaot_emit_desc(FILE *o, const krait_module *m, const char *px, const char *sha);
/* unit.c: the object's directory of descriptors and its key. */
void kaot_emit_dir(FILE *o, const char *const *pxs, size_t n, const char *key);

/* A module's compiled code as attached to it (krait_module.aot). */
typedef struct kaot_mod {
  const kaot_desc *desc;
  void *dl;                    /* dlopen handle (kept until exit) */
  uint32_t *tid;               /* canonical id of each module type */
} kaot_mod;

/* bind.c: the runtime services table handed to generated code. */
extern const kaot_api kaot_api_table;

/* locate.c: for a stack overflow detected on entry to function callee of
** instance in: the Wasm function that called it (*fn) and the offset of
** its call instruction (*off, KR_NO_OFFSET unless exactly one can have
** made the call). false when the caller is not Wasm code (a host entry). */
bool kaot_overflow_site(krait_instance *in, uint32_t callee, krait_func **fn, uint32_t *off);

/* build.c: the cache key (64 hex digits) of module bytes under cfg. */
bool kaot_key(const krait_module *m, krait_bounds bounds, char out[65]);
/* build.c: finds (in-process registry, then the cache) or, if may_build,
** builds the shared object of m; its descriptor, or NULL with err. */
const kaot_desc *kaot_obtain(const krait_module *m, bool may_build, void **dl, krait_error *err);
/* build.c: the module's bytes' SHA-256 as hex. */
void kaot_sha_hex(const uint8_t *p, size_t n, char out[65]);
/* shape.c: the identity objects are keyed and registered by (SHA-256 of
** the bytes and of the decoded structure generated code relies on). */
void kaot_module_id(const krait_module *m, char out[65]);
/* build.c: the cache directory ($KRAIT_CACHE/aot or ~/.cache/krait/aot),
** made when missing; a malloc'ed path, or NULL. */
char *kaot_cache_dir(void);

/* memo.c: what krait found out about a file, remembered in the cache
** directory under the file's identity sb (device, inode, size, mtime,
** ctime) and a detail (a key): a word or hash of at most 64 characters.
** A changed file has another identity (every change sets its ctime,
** which users cannot set), so it is checked anew. kaot_memo_get: true
** with out filled when remembered. kaot_memo_put: remembers value, but
** only for a file whose ctime lies KAOT_MEMO_AGE_S seconds in the past
** (a change within the same timestamp tick would keep the identity). */
#define KAOT_MEMO_AGE_S 2
bool kaot_memo_get(const char *kind, const struct stat *sb, const char *detail, char out[65]);
void kaot_memo_put(const char *kind, const struct stat *sb, const char *detail, const char *value);
/* memo.c: whether the file's ctime lies KAOT_MEMO_AGE_S in the past. */
bool kaot_memo_settled(const struct stat *sb);
/* memo.c: whether two fstat results are the same file with the same
** contents by identity (device, inode, size, mtime, ctime). */
bool kaot_same_file(const struct stat *a, const struct stat *b);

#endif
