/*
** lower_internal.h -- what lower.c and fuse.c share: the lowering state,
** small emit and virtual-stack helpers, each file's entry points. Does not
** own the lowering (lower.c) or the fusions (fuse.c) themselves.
*/
#ifndef KI_LOWER_INTERNAL_H
#define KI_LOWER_INTERNAL_H

#include "interp/interp.h"
#include "decode/instr.h"
#include "util/cursor.h"

#define NONE UINT32_MAX
/* Constants read as operands inside loops get read-only slots, filled by a
** CONSTS op at function entry, instead of a CONST op on every iteration. */
#define KI_CONST_SLOTS 32

enum { V_TEMP, V_LOCAL, V_CONST };

/* A virtual operand: in its canonical temp slot, in a local, or a constant
** not yet written anywhere. */
typedef struct lw_val {
  uint8_t kind;
  uint32_t local;
  uint64_t k;
} lw_val;

typedef struct lw_label {
  kd_op op;            /* BLOCK, LOOP, IF or ELSE */
  uint32_t height;     /* operand height below the label's params */
  uint32_t nparams, nresults;
  uint32_t loop_pos;   /* code index of a loop's first instruction */
  uint32_t patch;      /* chain of forward target words to patch */
  uint32_t else_patch; /* an if's BR_UNLESS target word */
  uint32_t ninstr;     /* instruction count at loop start, for fuel */
} lw_label;

typedef struct lw {
  const krait_module *m;
  const kd_func *f;
  const kd_functype *ft;
  bool explicit_bounds;
  const int32_t *dw;
  ku_fail fail;
  ku_cursor c;
  ku_vec code, map;      /* uint32_t words; uint32_t pairs */
  lw_val *vs;            /* virtual stack, max_height entries */
  uint32_t h;
  ku_vec labels;         /* lw_label */
  ku_vec scratch;        /* uint32_t, br_table depths */
  uint32_t temp0;        /* first temp slot; the zero slot is nlocals */
  uint64_t kvals[KI_CONST_SLOTS];           /* constants given slots */
  bool pristine;         /* no block entered yet: unwritten locals are 0 */
  uint8_t *written;      /* per local: assigned since entry (while pristine) */
  uint32_t nk, kcap, loop_depth;            /* slots in use, reserved */
  uint32_t last_dst;     /* dst word of the last value producer, or NONE */
  uint32_t last_pos;     /* op word of the last op, NONE after a label */
  ki_op last_ki;
  uint32_t prev_pos;     /* op word of the op before it, or NONE */
  ki_op prev_ki;
  uint32_t cmp_pos;      /* op word of the last comparison, if last_dst */
  kd_op cmp_op;
  bool cmp_k;            /* the comparison had a constant operand */
  bool dead;
  uint32_t dead_depth, ninstr;
  size_t cur_off;
} lw;

/* ---- small helpers (both files) ---------------------------------------- */

static inline _Noreturn void oom(lw *w) {
  ku_cfail(&w->c, KRAIT_ERR_NOMEM, "out of memory while lowering");
}

static inline uint32_t *words(lw *w) { return w->code.data; }
static inline uint32_t pos(lw *w) { return (uint32_t)w->code.len; }

static inline void emit(lw *w, uint32_t word) {
  uint32_t *p = ku_vec_push(&w->code);
  if (!p) oom(w);
  *p = word;
}

/* Starts an internal op: records its source offset and dispatch word. */
static inline void emit_op(lw *w, ki_op op) {
  uint32_t *p = ku_vec_push(&w->map);
  if (!p) oom(w);
  p[0] = pos(w);
  p[1] = (uint32_t)w->cur_off;
  w->prev_pos = w->last_pos;
  w->prev_ki = w->last_ki;
  w->last_pos = pos(w);
  w->last_ki = op;
  emit(w, (uint32_t)w->dw[op]);
  w->last_dst = NONE;
}

static inline void emit_k64(lw *w, uint64_t k) {
  emit(w, (uint32_t)k);
  emit(w, (uint32_t)(k >> 32));
}

/* The canonical temp slot of stack height `height`. */
static inline uint32_t T(lw *w, uint32_t height) { return w->temp0 + height; }

static inline void push(lw *w, uint8_t kind, uint32_t local, uint64_t k) {
  assert(w->h < w->f->max_height);
  w->vs[w->h++] = (lw_val){kind, local, k};
}

static inline void push_temp(lw *w) { push(w, V_TEMP, 0, 0); }

static inline lw_label *label(lw *w, uint32_t depth) {
  return (lw_label *)w->labels.data + (w->labels.len - 1 - depth);
}

static inline uint32_t label_arity(const lw_label *l) {
  return l->op == KD_OP_LOOP ? l->nparams : l->nresults;
}

/* The fuel a loop back-edge charges: the loop body's instruction count. */
static inline uint32_t loop_cost(lw *w, const lw_label *l) {
  uint32_t c = w->ninstr - l->ninstr;
  return c ? c : 1;
}

/* ---- lower.c: plain lowering that the fusions build on ----------------- */

/* The read-only slot holding constant k, or NONE. */
uint32_t ki_lw_const_slot(lw *w, uint64_t k);

/* The slot holding stack entry i for reading (writes a constant without a
** slot of its own to the entry's temp first). */
uint32_t ki_lw_slot_of(lw *w, uint32_t i);

/* Pops the top entry and returns its slot. */
static inline uint32_t pop_slot(lw *w) {
  uint32_t s = ki_lw_slot_of(w, w->h - 1);
  w->h--;
  return s;
}

/* Patches a chain of forward target words to point at target. */
void ki_lw_bind_chain(lw *w, uint32_t chain, uint32_t target);

/* An unconditional branch to label depth, with its value moves. */
void ki_lw_br(lw *w, uint32_t depth);

/* Whether a branch to label depth needs no value moves (the condition,
** the top entry, not counted). */
bool ki_lw_branch_is_direct(lw *w, uint32_t depth);

/* A conditional branch on slot x (and an optional immediate) to label
** depth: `taken` when direct, else `inverse` over moves and a jump. */
void ki_lw_cond_branch(lw *w, uint32_t depth, bool direct, ki_op taken,
                       ki_op inverse, uint32_t x, const uint32_t *imm);

/* ---- fuse.c: fusions of ops just emitted into the next one ------------- */

/* Emits dst = src (merging with a copy just before into COPY2). */
void ki_fuse_copy(lw *w, uint32_t dst, uint32_t src);

/* Writes constant k to slot dst (merging with a CONST before into CONST2). */
void ki_fuse_const(lw *w, uint32_t dst, uint64_t k);

/* True when the top of stack is a comparison a branch can absorb. */
bool ki_fuse_cmp_ready(lw *w);

/* Replaces that comparison by a compare-and-branch jumping when the result
** equals `when`; returns the position of its (unset) target word. */
uint32_t ki_fuse_cmp_branch(lw *w, bool when, uint32_t cost);

/* Removes a fresh i32.eqz condition; *x is its operand. */
bool ki_fuse_take_eqz(lw *w, uint32_t *x);

/* Removes a fresh i32.and-with-constant condition; *x and *k its operands. */
bool ki_fuse_take_andk(lw *w, uint32_t *x, uint32_t *k);

/* br_if with a fresh eqz, flag test or comparison as its condition: emits
** the fused branch and returns true, or emits nothing and returns false. */
bool ki_fuse_br_if(lw *w, uint32_t depth);

/* A scaled index (x << s) + k producing entry i, removed; true if found. */
bool ki_fuse_scaled(lw *w, uint32_t i, uint32_t *x, uint32_t *s, uint32_t *k);

/* A constant or just-added address for entry i: the variant offset (2: a
** + k, 4: a + b) with its parts in *x, *y, or 0. */
int ki_fuse_address(lw *w, uint32_t i, uint32_t *x, uint32_t *y);

/* The same for a store's address (below the value), unless folding would
** let the stored constant overwrite the add's operands. */
int ki_fuse_store_address(lw *w, uint32_t *x, uint32_t *y);

/* An i32 read-modify-write store folded into one op; true if emitted. */
bool ki_fuse_rmw(lw *w, const kd_instr *in);

/* A binary op fused with the op that produced its operand (pairs, add
** chains, load-ops); true if emitted. */
bool ki_fuse_binary(lw *w, kd_op op);

#endif
