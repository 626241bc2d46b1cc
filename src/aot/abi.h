/*
** abi.h -- the ABI between generated AOT code and the runtime: the context
** an instance hands its native functions, the runtime calls they may make,
** and the descriptor a compiled shared object exports. This very text is
** copied into every generated C file (mk: build/gen/aot_abi.inc), so the
** runtime and generated code share one definition. Owns no behaviour.
*/
#ifndef KAOT_ABI_H
#define KAOT_ABI_H

#include <stdint.h>

/* Bumped whenever anything below, or a runtime struct prefix it mirrors,
** changes; part of every cache key and checked when an object loads. */
#define KAOT_ABI_VERSION 2u

/* One value cell: the same layout as krait_slot. */
typedef union kaot_slot {
  int32_t i32;
  int64_t i64;
  float f32;
  double f64;
  void *ref;
  uint64_t bits;
} kaot_slot;

/* The leading members of the runtime's krait_memory, krait_table,
** krait_global and krait_func (runtime/aot_bind.c asserts the offsets). */
typedef struct kaot_mem { uint8_t *base; uint64_t size; uint32_t pages; } kaot_mem;
typedef struct kaot_tab { void **elems; uint32_t size; } kaot_tab;
typedef struct kaot_ctx kaot_ctx;
typedef struct kaot_fn {
  void *native;        /* the native entry of an AOT function, else NULL */
  kaot_ctx *ctx;       /* its instance's context */
  uint32_t type_id;    /* canonical (engine-wide) type id */
} kaot_fn;

/* Per-store state generated code reads and writes: the interrupt
** countdown (ki_exec.budget) and the lowest native stack address guest
** code may reach (set at every entry from the runtime). */
typedef struct kaot_ex { int64_t budget; uintptr_t stack_limit; } kaot_ex;

/* A code location for trap messages: function index << 32 | byte offset. */
typedef uint64_t kaot_loc;

/* The runtime services generated code calls; all may trap (longjmp to the
** store's catch point), which generated code never catches. */
typedef struct kaot_api {
  uint32_t abi;
  void (*trap)(kaot_ctx *X, int kind, kaot_loc loc) __attribute__((noreturn));
  void (*refuel)(kaot_ctx *X, kaot_loc loc);
  /* calls f (a host function, an interpreted one, anything) with slots */
  void (*call)(kaot_ctx *X, kaot_fn *f, kaot_slot *slots, kaot_loc loc);
  /* table tab element i as a function of canonical type tid, or trap */
  kaot_fn *(*indirect)(kaot_ctx *X, uint32_t tab, uint32_t i, uint32_t tid, kaot_loc loc);
  uint32_t (*memory_grow)(kaot_ctx *X, uint32_t delta);
  void (*memory_init)(kaot_ctx *X, uint32_t seg, uint32_t d, uint32_t s, uint32_t n, kaot_loc loc);
  void (*data_drop)(kaot_ctx *X, uint32_t seg);
  void (*memory_copy)(kaot_ctx *X, uint32_t d, uint32_t s, uint32_t n, kaot_loc loc);
  void (*memory_fill)(kaot_ctx *X, uint32_t d, uint32_t v, uint32_t n, kaot_loc loc);
  void *(*table_get)(kaot_ctx *X, uint32_t tab, uint32_t i, kaot_loc loc);
  void (*table_set)(kaot_ctx *X, uint32_t tab, uint32_t i, void *v, kaot_loc loc);
  uint32_t (*table_size)(kaot_ctx *X, uint32_t tab);
  uint32_t (*table_grow)(kaot_ctx *X, uint32_t tab, void *init, uint32_t n);
  void (*table_fill)(kaot_ctx *X, uint32_t tab, uint32_t i, void *v, uint32_t n, kaot_loc loc);
  void (*table_copy)(kaot_ctx *X, uint32_t dt, uint32_t st, uint32_t d, uint32_t s, uint32_t n, kaot_loc loc);
  void (*table_init)(kaot_ctx *X, uint32_t tab, uint32_t seg, uint32_t d, uint32_t s, uint32_t n, kaot_loc loc);
  void (*elem_drop)(kaot_ctx *X, uint32_t seg);
  void *(*ref_func)(kaot_ctx *X, uint32_t idx, kaot_loc loc);
  uintptr_t (*stack_limit)(void);
} kaot_api;

/* An instance's context: made by the runtime, read by generated code. */
struct kaot_ctx {
  kaot_mem *mem;        /* memory 0 (an empty one when there is none) */
  kaot_slot **g;        /* globals by index (the value is their first member);
                           gp below holds the same pointers, one load closer */
  kaot_tab **t;         /* tables by index */
  kaot_fn **f;          /* function objects by index (imports always set) */
  const uint32_t *tid;  /* canonical type id of each module type */
  kaot_ex *ex;          /* the store's countdown and stack limit */
  const kaot_api *api;
  void *inst;           /* the krait_instance */
  kaot_slot *gp[];      /* globals by index (set once the instance is built) */
};

/* A slot-ABI entry (krait_host_fn's shape), made for every function. */
typedef int (*kaot_wrap)(void *caller, void *env, kaot_slot *slots);

/* One module's code in a shared object. */
typedef struct kaot_desc {
  uint32_t abi;               /* KAOT_ABI_VERSION */
  const char *module_sha;     /* the module's identity, hex (shape.c) */
  uint32_t nfuncs;            /* all functions, imports first */
  void *const *native;        /* by function index; NULL for imports */
  const kaot_wrap *wrap;      /* by function index; NULL for imports */
} kaot_desc;

/* Every shared object exports `kaot_dir` (a NULL-terminated list of
** descriptors) and `kaot_key` (the cache key it was built for). */

#endif
