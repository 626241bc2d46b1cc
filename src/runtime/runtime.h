/*
** runtime.h -- runtime objects behind the public handles: engine, store,
** instances, functions, memories, tables, globals, and the exec state.
*/
#ifndef KR_RUNTIME_H
#define KR_RUNTIME_H

#include "krait.h"
#include "decode/module.h"
#include <setjmp.h>
#include <pthread.h>

#define KR_PAGE 65536u
/* Guard mode reserves the 4 GiB index space plus 4 GiB of offsets. */
#define KR_GUARD_RESERVE ((size_t)8 << 30)

/* Deadline checks (ki_refuel): the clock is read every chunk units. The
** chunk starts at KR_CHUNK_MIN and doubles while a chunk takes under a
** quarter of KR_CHECK_NS and of the time left (up to KR_CHUNK_MAX); one
** that took longer than either halves it, one that took twice KR_CHECK_NS
** drops it back to KR_CHUNK_MIN. So a fast loop reads the clock about
** every KR_CHECK_NS / 4 .. KR_CHECK_NS instead of every 10,000 units, and
** a deadline fires about that late while the code's speed per unit holds
** (units are instructions: a bulk memory or table op is one unit whatever
** its size, so those also read the clock after every KR_BULK_CHECK bytes
** they move, ki_bulk_late: a loop of them cannot outrun a grown chunk). */
#define KR_CHUNK_MIN 10000
#define KR_CHUNK_MAX ((int64_t)1 << 22)
#define KR_CHECK_NS 100000ull
#define KR_BULK_CHECK ((uint64_t)1 << 20)

struct krait_engine {
  krait_config cfg;
  pthread_mutex_t lock;        /* guards the type registry */
  char **sigs;                 /* canonical signature strings, by id */
  uint32_t nsigs, capsigs;
};

struct krait_func {
  void *aot_native;            /* native entry (AOT tier), else NULL; these */
  void *aot_ctx;               /* three lead: generated code reads them   */
  uint32_t type_id;            /* (src/aot/abi.h, kaot_fn) */
  const char *sig;             /* canonical signature string */
  uint32_t nparams, nresults;
  const uint8_t *params, *results;
  krait_instance *inst;        /* NULL for host functions */
  kd_func *def;                /* wasm definition, NULL for host */
  uint32_t index;              /* function index in its module */
  void *code;                  /* lowered code (ki_code*), cached */
  krait_host_fn host;
  void *env;
  const char *name;
};

struct krait_memory {
  uint8_t *base;
  uint64_t size;               /* bytes accessible */
  uint32_t pages, max_pages;   /* max_pages: declared max capped by config */
  uint32_t declared_max;       /* the type's max, for import matching */
  bool has_declared_max;
  size_t mapped;               /* bytes reserved or mapped */
  bool guard;                  /* guard-page (true) or explicit mode */
  bool image;                  /* starts with a snapshot image mapping */
  uint64_t image_id;           /* that snapshot's id (0: none) */
  uint64_t image_size;         /* the bytes it maps */
  bool reused;                 /* taken from the parked pool: its pages
                                  hold the last instance's writes until
                                  the snapshot resets them */
};

struct krait_table {
  void **elems;                /* refs, or KR_LAZY(index) of a function of
                                  `lazy` not made yet (from a snapshot) */
  uint32_t size, max;          /* max UINT32_MAX = none */
  uint8_t type;                /* KD_FUNCREF or KD_EXTERNREF */
  krait_instance *lazy;        /* whose functions lazy entries name */
};

/* A table entry standing for function idx of the table's `lazy` instance:
** instantiating a snapshot would otherwise make a function object for
** every element of a big table (thousands in python.wasm) per instance. */
#define KR_LAZY(idx) ((void *)(((uintptr_t)(idx) << 1) | 1))
#define KR_IS_LAZY(p) (((uintptr_t)(p) & 1) != 0)
#define KR_LAZY_INDEX(p) ((uint32_t)((uintptr_t)(p) >> 1))

struct krait_global {
  krait_slot val;              /* first: the interpreter reads it directly */
  uint8_t type;
  bool mut;
};

struct krait_instance {
  const krait_module *module;
  krait_store *store;
  krait_func **funcs;
  krait_table **tables;
  krait_memory *mem0;          /* memory 0 or NULL */
  krait_global **globals;
  void ***elem_refs;           /* per element segment: refs, NULL if dropped */
  uint32_t *elem_len;          /* per element segment: length (0 if dropped) */
  uint32_t *data_len;          /* per data segment: length (0 if dropped) */
  krait_func *func_pool;       /* kr_func's next free object, pool_left */
  uint32_t pool_left;
  void *aot_ctx;               /* the AOT tier's context (kaot_ctx), or NULL */
};

/* A call frame of the interpreter's control stack. */
typedef struct ki_frame {
  const uint32_t *ip;          /* return address in the caller's code */
  krait_slot *fp;              /* caller's frame base */
  krait_func *fn;              /* caller */
} ki_frame;

/* Per-store execution state: stacks, limits and the catch point. */
typedef struct ki_exec {
  krait_slot *stack, *stack_end;
  ki_frame *frames, *frames_end;
  ki_frame *frame;             /* top frame in use (below it: callers) */
  krait_slot *sp_free;         /* first free slot when re-entering */
  jmp_buf *catch;              /* innermost catch point, NULL outside */
  int depth;                   /* nested host->wasm entries */
  /* limits */
  int64_t budget;              /* units left before the slow check */
  uintptr_t aot_stack_limit;   /* native code's stack floor (right after
                                  budget: src/aot/abi.h's kaot_ex) */
  int64_t budget_start;
  bool fuel_on;
  uint64_t fuel;               /* remaining when fuel_on */
  uint64_t deadline;           /* monotonic ns; 0 = none */
  uint64_t timeout_ns;
  int64_t chunk;               /* units between deadline checks (adaptive) */
  uint64_t checked_ns;         /* when the deadline was last checked */
  uint64_t bulk_bytes;         /* bytes bulk ops moved since that check */
  /* trap report */
  krait_trapkind trap;
  bool exited;
  int exit_code;
  char trap_msg[256];
  krait_func *trap_fn;
  const uint32_t *trap_ip;
  krait_func *aot_trap_fn;     /* native code's trap location, when trap_ip */
  uint32_t aot_trap_off;       /* is NULL: function and byte offset (or
                                  KR_NO_OFFSET when only the function is
                                  known) */
  uintptr_t aot_fault_pc;      /* a guard fault outside the interpreter:
                                  the faulting instruction (0: none) */
} ki_exec;

/* An unknown code offset in a trap location (the message then names
** only the function). */
#define KR_NO_OFFSET UINT32_MAX

/* One owned allocation of a store, freed with it. */
typedef struct kr_owned {
  int kind;                    /* KR_OWN_* */
  void *ptr;
} kr_owned;

enum { KR_OWN_PLAIN, KR_OWN_MEMORY, KR_OWN_TABLE, KR_OWN_INSTANCE, KR_OWN_FINALIZER };

/* A finalizer registered with krait_store_on_free. */
typedef struct kr_finalizer { void (*fn)(void *); void *data; } kr_finalizer;

struct krait_store {
  krait_engine *engine;
  void *data;
  ku_arena arena;              /* small immutable things (signatures) */
  ku_vec owned;                /* kr_owned entries */
  uint64_t max_memory_bytes;   /* the store's own cap (0: none) */
  ki_exec ex;
};

struct krait_caller {
  krait_store *store;
  krait_instance *inst;        /* calling instance, NULL from the host */
  krait_func *fn;
};

/* Interns a signature string; returns its id, or UINT32_MAX on no memory. */
uint32_t kr_type_id(krait_engine *e, const char *sig);

/* Registers ptr as owned by the store; frees ptr (by kind) on failure. */
bool kr_own(krait_store *s, int kind, void *ptr);
/* A function reference in a table, by index in the module; or none. */
#define KS_NULL_REF UINT32_MAX

/* snapshot.c: an instance's state (krait_snapshot_take). */
struct krait_snapshot {
  const krait_module *module;
  uint32_t pages;              /* memory 0 size in pages */
  uint64_t size;               /* memory 0 size in bytes */
  int image;                   /* memfd holding memory 0, or -1 */
  uint32_t nglobals;           /* defined globals, module order */
  krait_slot *globals;
  uint32_t ntables;            /* defined tables, module order */
  uint32_t *table_size;
  uint32_t **table_refs;       /* per table: function indices */
  uint32_t *elem_len, *data_len;  /* segment lengths (0: dropped) */
  uint64_t *hot;               /* 4 KiB pages instances write (learned) */
  size_t nhot;                 /* words in hot */
  uint64_t id;                 /* unique in the process, never reused */
  const uint8_t *view;         /* the image mapped read-only (resets) */
};

krait_snapshot *kr_snapshot_alloc(const krait_module *m);
/* Whether every reference global of sn is null or names one of module
** m's functions (snapshots store indices, never pointers). */
bool kr_snapshot_globals_ok(const krait_snapshot *sn, const krait_module *m);
/* Gives a sized snapshot its (empty) set of hot pages; without one, none
** are learned. */
void kr_snapshot_hot_init(krait_snapshot *sn);

/* instance.c: the function object of defined function idx, created on
** first use (a module's functions mostly go uncalled in a short-lived
** instance); NULL when out of memory. Imports are always set. */
krait_func *kr_func_make(krait_instance *in, uint32_t idx);
static inline krait_func *kr_func(krait_instance *in, uint32_t idx) {
  krait_func *f = in->funcs[idx];
  return f ? f : kr_func_make(in, idx);
}

/* instance.c: an instance without segments applied or start run (for
** krait_instantiate and snapshots). For snapshot sn (else NULL), element
** segments' items are left unevaluated -- the snapshot evaluates the ones
** it kept (kr_eval_elem), as instantiating one must not make thousands of
** function objects for a dropped segment -- and memory 0 may come from
** the parked pool (kr_memory_pooled). */
krait_instance *kr_instance_build(krait_linker *l, const krait_module *m, uint32_t mem_min,
                                  const krait_snapshot *sn, krait_error *err);
bool kr_eval_elem(krait_instance *in, uint32_t i);

/* memory.c: a guard-mode memory parked when an instance of snapshot
** image_id ended (kr_memory_free parks such a memory, at its snapshot
** size; the last parked is taken first, by any thread), owned by s and
** marked reused; NULL when there is none that fits. */
krait_memory *kr_memory_pooled(krait_store *s, uint64_t image_id, uint32_t pages, uint32_t max,
                               bool has_max);

/* memory.c: unmaps the parked memories of snapshot image_id (it is being
** freed: they could never be taken again). */
void kr_memory_unpark(uint64_t image_id);

/* memory.c: element i of t (i < size) as a real reference, making the
** function object of a lazy entry (and storing it back); NULL for a null
** ref or when out of memory (then *oom). */
void *kr_table_ref(krait_table *t, uint32_t i, bool *oom);

/* Allocates zeroed memory owned by the store. */
void *kr_alloc(krait_store *s, size_t n);

/* Memory objects: creation with limits (checks config caps), growth. */
krait_memory *kr_memory_new(krait_store *s, uint32_t min, uint32_t max, bool has_max);
int64_t kr_memory_grow(krait_memory *m, uint32_t delta);
void kr_memory_free(krait_memory *m);

/* Table objects. */
krait_table *kr_table_new(krait_store *s, uint8_t type, uint32_t min, uint32_t max);
int64_t kr_table_grow(krait_table *t, uint32_t delta, void *init);
void kr_table_free(krait_table *t);

/* Calls func with raw slots (args in, results out) under the store's
** catch point. Returns 0, or -1 with err filled. */
int kr_call_raw(krait_store *s, krait_func *f, krait_slot *slots, krait_error *err);

/* Fills err from the exec state after a trap or exit. */
void kr_trap_to_error(krait_store *s, krait_error *err);

/* Bulk operations used by the interpreter and instantiation. Each returns
** KRAIT_TRAP_NONE or the trap to raise. */
krait_trapkind kr_memory_init(krait_instance *in, uint32_t seg, uint32_t d, uint32_t s, uint32_t n);
krait_trapkind kr_memory_copy(krait_memory *m, uint32_t d, uint32_t s, uint32_t n);
krait_trapkind kr_memory_fill(krait_memory *m, uint32_t d, uint32_t v, uint32_t n);
krait_trapkind kr_table_init(krait_instance *in, uint32_t tab, uint32_t seg, uint32_t d, uint32_t s, uint32_t n);
krait_trapkind kr_table_copy(krait_table *dt, krait_table *st, uint32_t d, uint32_t s, uint32_t n);
krait_trapkind kr_table_fill(krait_table *t, uint32_t i, void *v, uint32_t n);

/* Name of a function for messages: name section, export, or func[N]. */
const char *kr_func_name(const krait_func *f);

/* krait_module_new without the copy: makes a module of bytes, a ku_malloc'ed
** buffer of len bytes it takes over (freed with the module, or here on
** failure). The buffer must be private memory: validated bytes must never
** change under the module. sha, when not NULL, is the SHA-256 of exactly
** these bytes (a caller that knows it spares computing it again). */
krait_module *kr_module_adopt(krait_engine *e, uint8_t *bytes, size_t len, const uint8_t *sha,
                              krait_error *err);

/* kr_module_adopt for a read-only view of a module file (kp_view_image,
** released with the module, or here on failure) whose SHA-256 is sha:
** kept only when native code compiled from exactly these bytes attaches;
** else NULL with *no_native set (the caller reads the file instead).
** The file can change under a view, so the bodies of such a module are
** never validated, lowered or translated (kv_check_body refuses them):
** it runs natively only. The caller checks that the file kept its
** identity until this returns (what was decoded is what was hashed). */
krait_module *kr_module_view(krait_engine *e, const uint8_t *view, size_t len, const uint8_t sha[32],
                             bool *no_native, krait_error *err);


/* The AOT tier's entry points (src/aot, in libkrait-host.a), installed by
** krait_aot_enable() (krait_host.h); NULL in a program that links only the
** engine, which then runs every module on the interpreter (tier auto) or
** refuses tier aot. */
typedef struct kr_aot_ops {
  /* attaches native code (see aot.h's kaot_attach) */
  int (*attach)(krait_module *m, bool may_build, krait_error *err);
  void (*detach)(krait_module *m);
  bool (*instance_init)(krait_instance *in);
  void (*instance_finish)(krait_instance *in);
  void (*func_bind)(krait_instance *in, krait_func *f);
  /* the function of store s whose native code holds pc, or NULL, and
  ** the access's offset or KR_NO_OFFSET (after a guard fault, for the
  ** trap message) */
  krait_func *(*locate)(krait_store *s, uintptr_t pc, uint32_t *off);
} kr_aot_ops;
extern const kr_aot_ops *kr_aot;

/* Installs the AOT tier's entry points (once per process, before engines
** are made). */
void kr_aot_install(const kr_aot_ops *ops);

#endif
