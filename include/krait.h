/*
** krait.h -- the public API of the krait WebAssembly engine, libkrait.a:
** decoding, validation, the interpreter, snapshots in memory and WASI.
** Every handle is opaque; every item is documented where it is declared.
** Link: build/libkrait.a -lm -lpthread, nothing else (example:
** examples/embed/). Snapshot files are the host library's (krait_host.h).
*/
#ifndef KRAIT_H
#define KRAIT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------
** Handles
** ------------------------------------------------------------------- */

/* An engine holds configuration shared by modules and stores. */
typedef struct krait_engine krait_engine;
/* A decoded, validated module; immutable, may be instantiated many times. */
typedef struct krait_module krait_module;
/* A store owns runtime objects (instances, functions, memories, tables,
** globals) and the execution stack. One thread at a time uses a store. */
typedef struct krait_store krait_store;
/* A linker maps (module, name) pairs to externs for instantiation. */
typedef struct krait_linker krait_linker;
/* An instantiated module. Owned by its store. */
typedef struct krait_instance krait_instance;
/* A function (wasm or host). Owned by its store. */
typedef struct krait_func krait_func;
/* A linear memory. Owned by its store. */
typedef struct krait_memory krait_memory;
/* A table of references. Owned by its store. */
typedef struct krait_table krait_table;
/* A global variable. Owned by its store. */
typedef struct krait_global krait_global;
/* The context handed to a host function while the guest calls it. */
typedef struct krait_caller krait_caller;

/* ---------------------------------------------------------------------
** Values
** ------------------------------------------------------------------- */

/* Value types. The letter in parentheses is used in signature strings. */
typedef enum krait_valtype {
  KRAIT_I32 = 0,       /* (i) 32-bit integer */
  KRAIT_I64 = 1,       /* (I) 64-bit integer */
  KRAIT_F32 = 2,       /* (f) 32-bit IEEE float */
  KRAIT_F64 = 3,       /* (F) 64-bit IEEE float */
  KRAIT_FUNCREF = 4,   /* (r) reference to a function, or null */
  KRAIT_EXTERNREF = 5  /* (x) opaque host reference, or null */
} krait_valtype;

/* One 64-bit value cell. Host functions read arguments and write results
** through cells; which member is meaningful follows the signature.
** i32/f32 live in the low 32 bits. A null reference is ref == NULL. */
typedef union krait_slot {
  int32_t i32;  /* KRAIT_I32 */
  int64_t i64;  /* KRAIT_I64 */
  float f32;    /* KRAIT_F32 */
  double f64;   /* KRAIT_F64 */
  void *ref;    /* krait_func* for funcref, host pointer for externref */
  uint64_t bits;/* the raw cell, whatever its type */
} krait_slot;

/* A typed value, used by krait_func_call and globals. */
typedef struct krait_val {
  krait_valtype type;  /* which member of `of` holds the value */
  krait_slot of;       /* the value */
} krait_val;

/* The kinds of externally visible objects. */
typedef enum krait_externkind {
  KRAIT_EXTERN_FUNC = 0,   /* a function: krait_extern.of.func */
  KRAIT_EXTERN_TABLE = 1,  /* a table: krait_extern.of.table */
  KRAIT_EXTERN_MEMORY = 2, /* a linear memory: krait_extern.of.memory */
  KRAIT_EXTERN_GLOBAL = 3  /* a global: krait_extern.of.global */
} krait_externkind;

/* A reference to a function, table, memory or global. */
typedef struct krait_extern {
  krait_externkind kind;  /* which member of `of` is set */
  union {
    krait_func *func;
    krait_table *table;
    krait_memory *memory;
    krait_global *global;
  } of;
} krait_extern;

/* ---------------------------------------------------------------------
** Errors and traps
** ------------------------------------------------------------------- */

/* What went wrong. KRAIT_OK is zero. */
typedef enum krait_errkind {
  KRAIT_OK = 0,          /* no error */
  KRAIT_ERR_MALFORMED,   /* bytes are not a well-formed binary module */
  KRAIT_ERR_INVALID,     /* module fails validation */
  KRAIT_ERR_UNSUPPORTED, /* a feature krait does not implement yet (SIMD) */
  KRAIT_ERR_LINK,        /* an import is missing or has the wrong type */
  KRAIT_ERR_TRAP,        /* execution trapped; see krait_error.trap */
  KRAIT_ERR_EXIT,        /* the guest called proc_exit; see exit_code */
  KRAIT_ERR_NOMEM,       /* the host ran out of memory */
  KRAIT_ERR_ARG,         /* the embedder passed a bad argument */
  KRAIT_ERR_IO           /* a file could not be read or written (the
                            snapshot files of krait_host.h) */
} krait_errkind;

/* Trap kinds. Each has a fixed message (krait_trap_message). */
typedef enum krait_trapkind {
  KRAIT_TRAP_NONE = 0,         /* not a trap */
  KRAIT_TRAP_UNREACHABLE,      /* "unreachable" */
  KRAIT_TRAP_MEMORY_OOB,       /* "out of bounds memory access" */
  KRAIT_TRAP_TABLE_OOB,        /* "out of bounds table access" */
  KRAIT_TRAP_UNDEFINED_ELEM,   /* "undefined element" */
  KRAIT_TRAP_UNINIT_ELEM,      /* "uninitialized element" */
  KRAIT_TRAP_INDIRECT_TYPE,    /* "indirect call type mismatch" */
  KRAIT_TRAP_DIV_ZERO,         /* "integer divide by zero" */
  KRAIT_TRAP_INT_OVERFLOW,     /* "integer overflow" */
  KRAIT_TRAP_BAD_CONVERSION,   /* "invalid conversion to integer" */
  KRAIT_TRAP_STACK_EXHAUSTED,  /* "call stack exhausted" */
  KRAIT_TRAP_DEADLINE,         /* "deadline exceeded" */
  KRAIT_TRAP_FUEL,             /* "fuel exhausted" */
  KRAIT_TRAP_NOMEM,            /* "out of memory" (host allocation) */
  KRAIT_TRAP_HOST              /* a host function trapped; see message */
} krait_trapkind;

/* The size of krait_error.message, its NUL included. */
#define KRAIT_ERROR_MESSAGE_SIZE 512

/* Filled by a call that takes one when it fails. A plain value: it owns
** no memory, needs no cleanup, may live on the stack and be copied, and
** is filled even when the host is out of memory. */
typedef struct krait_error {
  krait_errkind kind;   /* what went wrong */
  krait_trapkind trap;  /* for KRAIT_ERR_TRAP */
  int exit_code;        /* for KRAIT_ERR_EXIT */
  /* What is wrong and where (section and byte offset, import name, path,
  ** or the function name and code offset of a trap), NUL-terminated
  ** UTF-8 where the names are. A message that does not fit is cut at a
  ** character boundary and ends in "...", so a cut is never silent. */
  char message[KRAIT_ERROR_MESSAGE_SIZE];
} krait_error;

/* The fixed message for a trap kind, e.g. "integer divide by zero". */
const char *krait_trap_message(krait_trapkind kind);

/* ---------------------------------------------------------------------
** Engine
** ------------------------------------------------------------------- */

/* How linear memory bounds are enforced. */
typedef enum krait_bounds {
  KRAIT_BOUNDS_GUARD = 0,   /* 8 GiB reservation + guard pages, no checks */
  KRAIT_BOUNDS_EXPLICIT = 1 /* every access is checked; small reservations */
} krait_bounds;

/* How guest code runs. The AOT tier lives in libkrait-host.a: a program
** that wants it calls krait_aot_enable() (krait_host.h) first; linked
** against libkrait.a alone, tier aot fails with KRAIT_ERR_UNSUPPORTED and
** tier auto interprets. */
typedef enum krait_tier {
  KRAIT_TIER_INTERP = 0,    /* the interpreter (default) */
  KRAIT_TIER_AOT = 1,       /* native code: modules are translated to C and
                               compiled by the system C compiler (cached in
                               $KRAIT_CACHE/aot or ~/.cache/krait/aot) when
                               made; a module that cannot be compiled fails */
  KRAIT_TIER_AUTO = 2       /* native code when already compiled (cached),
                               else the interpreter */
} krait_tier;

/* Engine configuration. Fill with krait_config_default, then adjust. */
typedef struct krait_config {
  krait_bounds bounds;       /* default KRAIT_BOUNDS_GUARD on 64-bit hosts */
  uint32_t max_call_depth;   /* wasm frames; default 100000 */
  uint64_t value_stack_bytes;/* operand + locals stack; default 64 MiB */
  uint64_t max_memory_bytes; /* cap on any linear memory; 0 = 4 GiB */
  uint64_t fuel;             /* 0 = unlimited; else units a store starts with */
  uint64_t timeout_ns;       /* 0 = none; wall-clock limit per outer call */
  krait_tier tier;           /* default KRAIT_TIER_INTERP */
} krait_config;

/* Sets *cfg to the defaults described in krait_config. */
void krait_config_default(krait_config *cfg);

/* Creates an engine. Returns NULL on a bad config or no memory, with err. */
krait_engine *krait_engine_new(const krait_config *cfg, krait_error *err);

/* Frees an engine. All its modules and stores must be freed first. */
void krait_engine_free(krait_engine *engine);

/* ---------------------------------------------------------------------
** Modules
** ------------------------------------------------------------------- */

/* Decodes and validates a binary module. The bytes are copied. Returns NULL
** with err filled (MALFORMED, INVALID or UNSUPPORTED) on failure. */
krait_module *krait_module_new(krait_engine *engine, const uint8_t *bytes,
                               size_t len, krait_error *err);

/* Frees a module. Instances made from it must be gone (their store freed). */
void krait_module_free(krait_module *module);

/* Describes one import or export of a module. Strings are owned by the
** module. type is a signature string for functions ("iI:f" = params i32,i64
** result f32), the value type letter with a "mut " prefix for mutable
** globals, and "min..max" limits text for tables and memories. */
typedef struct krait_importexport {
  const char *module;  /* import module name; NULL for exports */
  const char *name;    /* NUL-terminated; see name_len for embedded NULs */
  size_t name_len;     /* name's length in bytes */
  krait_externkind kind;  /* what is imported or exported */
  const char *type;    /* its type as text, described above */
} krait_importexport;

/* Number of imports. */
size_t krait_module_import_count(const krait_module *module);
/* Describes import i (0-based). Returns 0, or -1 if i is out of range. */
int krait_module_import(const krait_module *module, size_t i,
                        krait_importexport *out);
/* Number of exports. */
size_t krait_module_export_count(const krait_module *module);
/* Describes export i (0-based). Returns 0, or -1 if i is out of range. */
int krait_module_export(const krait_module *module, size_t i,
                        krait_importexport *out);

/* ---------------------------------------------------------------------
** Stores and execution limits
** ------------------------------------------------------------------- */

/* Creates a store using the engine's limits. NULL when out of memory. */
krait_store *krait_store_new(krait_engine *engine);

/* Frees a store and every object it owns. */
void krait_store_free(krait_store *store);

/* Sets the remaining fuel (0 disables fuel). Fuel is charged at loop
** back-edges (the loop's instruction count) and at calls (1). */
void krait_store_set_fuel(krait_store *store, uint64_t fuel);

/* Remaining fuel, or UINT64_MAX when fuel is disabled. */
uint64_t krait_store_fuel(const krait_store *store);

/* Sets a wall-clock limit applied to each outermost call (0 = none). */
void krait_store_set_timeout(krait_store *store, uint64_t timeout_ns);

/* Caps every linear memory that instances in the store create from now
** on at max_bytes (0 = only the engine's cap); the lower of the two wins.
** Lets one engine and module serve apps with different limits. */
void krait_store_set_max_memory(krait_store *store, uint64_t max_bytes);

/* Sets user data returned by krait_caller_data in host functions. */
void krait_store_set_data(krait_store *store, void *data);

/* Registers fn(data) to run when the store is freed (last registered runs
** first), so host state can live exactly as long as its store. Returns 0,
** or -1 when out of memory (fn is then not registered). */
int krait_store_on_free(krait_store *store, void (*fn)(void *), void *data);

/* ---------------------------------------------------------------------
** Host functions and objects
** ------------------------------------------------------------------- */

/* A host function. args_results holds the arguments in order on entry and
** receives the results (from index 0) on return. Return 0 on success, or
** the value of krait_caller_trap / krait_caller_exit. */
typedef int (*krait_host_fn)(krait_caller *caller, void *env,
                             krait_slot *args_results);

/* Creates a host function with signature sig (e.g. "ii:i"; letters from
** krait_valtype). NULL on a bad signature or no memory. */
krait_func *krait_func_new(krait_store *store, const char *sig,
                           krait_host_fn fn, void *env);

/* Creates a memory with limits in 64 KiB pages (max UINT32_MAX = none). */
krait_memory *krait_memory_new(krait_store *store, uint32_t min_pages,
                               uint32_t max_pages);

/* Creates a table of type KRAIT_FUNCREF or KRAIT_EXTERNREF, null-filled. */
krait_table *krait_table_new(krait_store *store, krait_valtype type,
                             uint32_t min, uint32_t max);

/* Creates a global holding init (its type is init->type). */
krait_global *krait_global_new(krait_store *store, const krait_val *init,
                               int is_mutable);

/* In a host function: the store's user data (krait_store_set_data). */
void *krait_caller_data(krait_caller *caller);

/* In a host function: the calling instance's memory 0, or NULL. */
krait_memory *krait_caller_memory(krait_caller *caller);

/* In a host function: records a trap with a formatted message (past 255
** bytes it is cut and ends in "..."); return its result from the host
** function. */
int krait_caller_trap(krait_caller *caller, const char *fmt, ...);

/* In a host function: ends the guest with an exit code (proc_exit); return
** its result from the host function. */
int krait_caller_exit(krait_caller *caller, int code);

/* In a host function: raises a trap of a given kind (e.g. a blocking call
** that reached the deadline raises KRAIT_TRAP_DEADLINE); return its result
** from the host function. */
int krait_caller_trap_kind(krait_caller *caller, krait_trapkind kind);

/* In a host function: the current call's wall-clock deadline on the
** monotonic clock in nanoseconds (CLOCK_MONOTONIC), or 0 when there is
** none. Blocking host functions must not wait past it. */
uint64_t krait_caller_deadline(krait_caller *caller);

/* ---------------------------------------------------------------------
** Linking and instantiation
** ------------------------------------------------------------------- */

/* Creates an empty linker for a store. */
krait_linker *krait_linker_new(krait_store *store);

/* The store a linker defines objects in. */
krait_store *krait_linker_store(krait_linker *linker);

/* Frees a linker (not the objects defined in it). */
void krait_linker_free(krait_linker *linker);

/* Defines module.name as ext. A later definition replaces an earlier one.
** Returns 0, or -1 when out of memory. */
int krait_linker_define(krait_linker *linker, const char *module,
                        const char *name, const krait_extern *ext);

/* Defines a host function module.name; shorthand for krait_func_new plus
** krait_linker_define. Returns 0, or -1 on a bad signature or no memory. */
int krait_linker_define_func(krait_linker *linker, const char *module,
                             const char *name, const char *sig,
                             krait_host_fn fn, void *env);

/* Defines every export of inst under the module name. Returns 0 or -1. */
int krait_linker_define_instance(krait_linker *linker, const char *module,
                                 krait_instance *inst);

/* Instantiates module with imports resolved through linker: allocates
** memories, tables and globals, applies element and data segments and runs
** the start function. Returns NULL with err (LINK, TRAP, ...) on failure. */
krait_instance *krait_instantiate(krait_linker *linker,
                                  const krait_module *module,
                                  krait_error *err);

/* ---------------------------------------------------------------------
** Snapshots: start instances in a pre-initialized state
** ------------------------------------------------------------------- */

/* The state of one instance after its initialization: memory 0's bytes,
** every defined global's value, every defined table's elements and which
** segments were dropped. Independent of the instance and its store once
** taken, and read-only: one snapshot may serve many stores and threads. */
typedef struct krait_snapshot krait_snapshot;

/* Captures inst's current state. Fails (NULL, err set) when the module
** imports a memory, table or global (the snapshot could not restore it),
** or a table holds a function that is not one of the module's own. */
krait_snapshot *krait_snapshot_take(krait_instance *inst, krait_error *err);

/* Instantiates module in the state of snap instead of running its
** segments and start function; imports resolve through linker as in
** krait_instantiate. Memory 0 maps the snapshot's image copy-on-write:
** an instance copies a page only when it writes it, and no instance sees
** another's writes. snap must come from an instance of this very module,
** or of a module made from the same bytes by another engine (of another
** tier or bounds mode, say) that still exists (else LINK error); tables
** and reference globals are held as function indices, so the state means
** the same under every tier. Returns NULL with err on failure. */
krait_instance *krait_instantiate_snapshot(krait_linker *linker,
                                           const krait_module *module,
                                           const krait_snapshot *snap,
                                           krait_error *err);

/* Bytes of memory 0 the snapshot holds (its size when taken). */
uint64_t krait_snapshot_memory_size(const krait_snapshot *snap);

/* Learns from instance in (made from snap, typically after it handled a
** request) which pages of memory 0 it wrote. Later instances of snap get
** those pages copied in as they start, with one system call per run
** (Linux: MADV_POPULATE_WRITE) instead of a write fault per page, which in
** a threaded process is also a TLB shootdown on every core. Costs one read
** of /proc/self/pagemap: call it for the first few requests. Thread-safe;
** a no-op where pages cannot be inspected. */
void krait_snapshot_learn(krait_snapshot *snap, const krait_instance *in);

/* Frees a snapshot; instances made from it stay valid. NULL is a no-op. */
void krait_snapshot_free(krait_snapshot *snap);

/* Looks up an export by name. Returns 0 and fills out, or -1 if absent. */
int krait_instance_export(krait_instance *inst, const char *name,
                          krait_extern *out);

/* Like krait_instance_export for a name of len bytes, which may contain
** NUL bytes (Wasm names are arbitrary UTF-8). */
int krait_instance_export_n(krait_instance *inst, const char *name,
                            size_t len, krait_extern *out);

/* ---------------------------------------------------------------------
** Calling, memories, globals, tables
** ------------------------------------------------------------------- */

/* The signature string of a function (owned by the engine). */
const char *krait_func_signature(const krait_func *func);

/* The debug name of a function (name section, export, or "func[N]"). */
const char *krait_func_name(const krait_func *func);

/* Calls func with args (types must match the signature); writes results.
** Returns 0, or -1 with err (TRAP, EXIT, ARG) filled. */
int krait_func_call(krait_store *store, krait_func *func,
                    const krait_val *args, size_t nargs,
                    krait_val *results, size_t nresults, krait_error *err);

/* The base address of a memory's bytes. Valid until the memory grows. */
uint8_t *krait_memory_data(krait_memory *mem);

/* The current size of a memory in bytes. */
uint64_t krait_memory_size(const krait_memory *mem);

/* Grows a memory by delta pages. Returns the old size in pages, or -1. */
int64_t krait_memory_grow(krait_memory *mem, uint32_t delta);

/* Reads a global's value. */
krait_val krait_global_get(const krait_global *g);

/* Writes a global. Returns 0, or -1 if immutable or the type differs. */
int krait_global_set(krait_global *g, const krait_val *v);

/* The number of elements in a table. */
uint32_t krait_table_size(const krait_table *t);

/* Reads element i into *out. Returns 0, or -1 if out of range. */
int krait_table_get(const krait_table *t, uint32_t i, krait_val *out);

/* Writes element i. Returns 0, or -1 if out of range or the type differs. */
int krait_table_set(krait_table *t, uint32_t i, const krait_val *v);

/* Grows by delta elements filled with init. Returns the old size, or -1. */
int64_t krait_table_grow(krait_table *t, uint32_t delta, const krait_val *init);

/* ---------------------------------------------------------------------
** WASI preview1 (wasi_snapshot_preview1 with preopens; see README)
** ------------------------------------------------------------------- */

/* WASI configuration for one guest. Arrays are borrowed until
** krait_wasi_define returns (they are copied). */
typedef struct krait_wasi_config {
  int argc;                  /* entries in argv */
  const char *const *argv;   /* the guest's arguments, argv[0] first */
  int envc;                  /* entries in envp */
  const char *const *envp;   /* "KEY=VALUE" strings */
  int stdin_fd, stdout_fd, stderr_fd;  /* host fds for guest 0,1,2; set
                                          all three (a zeroed config maps
                                          every one to host fd 0); a
                                          negative fd starts closed */
  int npreopens;             /* entries in preopens (0: none) */
  const struct krait_wasi_preopen *preopens;  /* guest fds 3, 4, ... */
  uint64_t max_disk;         /* disk quota: the bytes the guest may add to
                                host files through fds it opened (0: no
                                limit). Growth by fd_write, fd_pwrite,
                                fd_allocate and fd_filestat_set_size
                                counts, overwriting in place does not;
                                shrinking a file (set_size, O_TRUNC)
                                gives bytes back, deleting one does not.
                                A write past it is cut short, then
                                ENOSPC; allocate and set_size past it
                                are ENOSPC and change nothing. */
} krait_wasi_config;

/* One preopened host directory (krait_wasi_config.preopens). host_path is
** opened by krait_wasi_define; guest_path is the name fd_prestat_dir_name
** reports (NULL: host_path). A read_only preopen lacks every right that
** writes, creates, renames, links or deletes, for itself and everything
** opened through it (such calls answer ENOTCAPABLE). */
typedef struct krait_wasi_preopen {
  const char *host_path;   /* the directory on the host */
  const char *guest_path;  /* the guest's name for it; NULL: host_path */
  int read_only;           /* nonzero: no right that writes (above) */
} krait_wasi_preopen;

/* Defines the wasi_snapshot_preview1 functions in linker for its store.
** The WASI state is freed with the store. Returns 0, or -1 when out of
** memory or a preopen's host directory cannot be opened (errno says why). */
int krait_wasi_define(krait_linker *linker, const krait_wasi_config *cfg);

#ifdef __cplusplus
}
#endif
#endif /* KRAIT_H */
