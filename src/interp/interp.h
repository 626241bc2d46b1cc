/*
** interp.h -- the interpreter's interface to the runtime: lowering of
** validated bodies into dispatch code, and running a call to completion.
*/
#ifndef KI_INTERP_H
#define KI_INTERP_H

#include "runtime/runtime.h"
#include "interp/ops.h"

/* Lowered code of one function: decoded immediates, relative branch
** targets and slot-addressed operands (fp[i]). */
typedef struct ki_code {
  uint32_t *ops;
  size_t len;
  const uint32_t *start;     /* entry point (skips an empty prologue) */
  uint32_t frame_slots;      /* locals + operand temps + shadows */
  uint32_t nparams, nlocals;
  uint32_t *map;             /* pairs (code index, module byte offset) */
  size_t nmap;
} ki_code;

/* Lowers module function fi for the given bounds mode. Returns NULL when
** out of memory. The function must have passed validation. */
ki_code *ki_lower(const krait_module *m, uint32_t fi, bool explicit_bounds);

/* The first internal op generated for Wasm opcode op (-1 for ops lowered
** by hand); the variants follow it in the order of ops.h. */
int ki_first_op(kd_op op);

/* Frees lowered code. */
void ki_code_free(ki_code *c);

/* The dispatch word stored for each internal op (label offset when
** threaded, the op number in switch mode). */
const int32_t *ki_dispatch_words(void);

/* Runs f with arguments at fp (results land at fp[0..]). Must be called
** under the store's catch point; traps longjmp to it. */
void ki_run(krait_store *s, krait_func *f, krait_slot *fp);

/* Ensures f has lowered code; traps (longjmp) when out of memory. */
void *ki_code_for(krait_store *s, krait_func *f);

/* Slow path of the interrupt check: settles fuel, checks the deadline,
** returns a fresh budget or traps (also used by native code, src/aot/). */
int64_t ki_refuel(ki_exec *ex, int64_t budget);

/* Counts bytes a bulk memory or table op moved; with a deadline set, every
** KR_BULK_CHECK bytes reads the clock. True when the deadline has passed
** (the caller traps, naming its own location). */
bool ki_bulk_late(ki_exec *ex, uint64_t bytes);

/* Raises a trap of the given kind at the current position (longjmp). */
_Noreturn void ki_trap(ki_exec *ex, krait_trapkind kind);

/* The memory-access op at or just before ip, for guard-page faults. */
const uint32_t *ki_fault_ip(const krait_func *f, const uint32_t *ip);

/* The module byte offset of code position ip in f, or 0 if unknown. */
size_t ki_wasm_offset(const krait_func *f, const uint32_t *ip);

#endif
