/*
** lower.c -- translates a validated function body into slot-addressed code:
** virtual operand stack, control flow, locals, calls, loads and stores. Does
** not own the fusions of just-emitted ops into their consumers (fuse.c).
*/
#include "interp/lower_internal.h"
#include <stdio.h>
#include <stdlib.h>

#define KI_MAP_SPECIAL(n) -1
#define KI_MAP_UN(n) KI_##n##_S
#define KI_MAP_BIN(n) KI_##n##_SS
#define KI_MAP_CMP(n) KI_##n##_SS
#define KI_MAP_LOAD(n) KI_##n##_G
#define KI_MAP_STORE(n) KI_##n##_G
/* The first internal op generated for each Wasm opcode (SK, C follow). */
static const int16_t gen_op[KD_OP_COUNT] = {
#define X(name, code, text, kind, a, r, sem) KI_MAP_##kind(name),
#include "decode/opcodes.def"
#undef X
};

int ki_first_op(kd_op op) { return gen_op[op]; }

/* Marks the current position as a jump target: nothing fuses across it. */
static void mark_label(lw *w) {
  w->last_pos = w->prev_pos = NONE;
  w->last_dst = NONE;
}

/* Writes stack entry i into its canonical temp slot if it is virtual. */
static void materialize(lw *w, uint32_t i) {
  lw_val *v = &w->vs[i];
  if (v->kind == V_LOCAL) ki_fuse_copy(w, T(w, i), v->local);
  else if (v->kind == V_CONST) ki_fuse_const(w, T(w, i), v->k);
  v->kind = V_TEMP;
}

static void materialize_range(lw *w, uint32_t from, uint32_t to) {
  for (uint32_t i = from; i < to; i++)
    if (w->vs[i].kind != V_TEMP) materialize(w, i);
}

/* The read-only slot holding constant k (one of those pick_loop_consts
** chose), or NONE. */
uint32_t ki_lw_const_slot(lw *w, uint64_t k) {
  for (uint32_t i = 0; i < w->nk; i++)
    if (w->kvals[i] == k) return w->temp0 - w->kcap + i;
  return NONE;
}

/* The slot holding entry i, for reading: a local's own slot, the zero
** slot for a zero constant, a constant slot, or its temp (other constants
** are written to the temp first). */
uint32_t ki_lw_slot_of(lw *w, uint32_t i) {
  lw_val *v = &w->vs[i];
  if (v->kind == V_LOCAL) return v->local;
  if (v->kind == V_CONST && v->k == 0) return w->f->nlocals;  /* the zero slot */
  if (v->kind == V_CONST) {
    uint32_t k = ki_lw_const_slot(w, v->k);
    if (k != NONE) return k;
    materialize(w, i);
  }
  return T(w, i);
}

/* Emits a target word: backward targets are final, forward ones join the
** label's patch chain. Words hold target - word_position. */
static void emit_target(lw *w, lw_label *l) {
  if (l->op == KD_OP_LOOP) {
    emit(w, l->loop_pos - pos(w));
    return;
  }
  uint32_t at = pos(w);
  emit(w, l->patch);
  l->patch = at;
}

/* Points every word of a forward chain at target (a label position:
** nothing fuses across it when it is the current one). */
void ki_lw_bind_chain(lw *w, uint32_t chain, uint32_t target) {
  if (chain != NONE && target == pos(w)) mark_label(w);
  while (chain != NONE) {
    uint32_t next = words(w)[chain];
    words(w)[chain] = target - chain;
    chain = next;
  }
}

/* True when the top n values are not already in the label's slots. */
static bool needs_move(lw *w, const lw_label *l, uint32_t n) {
  if (w->h - n != l->height) return true;
  for (uint32_t i = w->h - n; i < w->h; i++)
    if (w->vs[i].kind != V_TEMP) return true;
  return false;
}

/* Moves the top n values into the label's result slots. Ascending order is
** safe: destinations never lie above their sources. */
static void move_values(lw *w, const lw_label *l, uint32_t n) {
  for (uint32_t i = 0; i < n; i++) {
    uint32_t dst = T(w, l->height + i);
    lw_val *v = &w->vs[w->h - n + i];
    if (v->kind == V_CONST) ki_fuse_const(w, dst, v->k);
    else ki_fuse_copy(w, dst, v->kind == V_LOCAL ? v->local : T(w, w->h - n + i));
  }
}

/* Emits a jump to the label (after moves), with an interrupt check when
** it is a loop back-edge. */
static void emit_jump(lw *w, lw_label *l) {
  if (l->op == KD_OP_LOOP) {
    emit_op(w, KI_LOOP_BR); emit_target(w, l); emit(w, loop_cost(w, l));
  } else {
    emit_op(w, KI_BR); emit_target(w, l);
  }
}

/* Return: results to fp[0..n), then RET. */
static void do_return(lw *w) {
  uint32_t n = w->ft->nresults;
  if (n == 1) {
    lw_val *v = &w->vs[w->h - 1];
    if (v->kind == V_TEMP && w->last_dst != NONE && words(w)[w->last_dst] == T(w, w->h - 1))
      words(w)[w->last_dst] = 0;
    else if (v->kind == V_CONST) ki_fuse_const(w, 0, v->k);
    else {  /* copy the result and return in one op */
      uint32_t src = v->kind == V_LOCAL ? v->local : T(w, w->h - 1);
      if (src != 0) {
        emit_op(w, w->explicit_bounds ? KI_RET1 : KI_RET1_G);
        emit(w, src);
        return;
      }
    }
  } else if (n > 1) {
    materialize_range(w, w->h - n, w->h);
    for (uint32_t i = 0; i < n; i++) ki_fuse_copy(w, i, T(w, w->h - n + i));
  }
  emit_op(w, w->explicit_bounds ? KI_RET : KI_RET_G);
}

/* br: moves the label's values into place and jumps (the function's own
** label returns). */
void ki_lw_br(lw *w, uint32_t depth) {
  if (depth == w->labels.len - 1) { do_return(w); return; }
  lw_label *l = label(w, depth);
  move_values(w, l, label_arity(l));
  emit_jump(w, l);
}

/* True when a branch to label depth needs no value moves, judged with the
** condition (the top entry) already popped. */
bool ki_lw_branch_is_direct(lw *w, uint32_t depth) {
  lw_label *l = label(w, depth);
  w->h--;
  bool direct = depth != w->labels.len - 1 && !needs_move(w, l, label_arity(l));
  w->h++;
  return direct;
}

/* Emits a conditional branch on slot x (plus an optional immediate) to
** label depth: `taken` jumps straight there when no values move; otherwise
** `inverse` skips over the moves and an unconditional jump. */
void ki_lw_cond_branch(lw *w, uint32_t depth, bool direct, ki_op taken,
                       ki_op inverse, uint32_t x, const uint32_t *imm) {
  emit_op(w, direct ? taken : inverse);
  emit(w, x);
  if (imm) emit(w, *imm);
  if (direct) { emit_target(w, label(w, depth)); return; }
  uint32_t skip = pos(w);
  emit(w, NONE);
  ki_lw_br(w, depth);
  ki_lw_bind_chain(w, skip, pos(w));
}

/* br_if: a fused branch when the condition was just computed (fuse.c);
** otherwise the condition's slot, moving carried values only on the taken
** path. */
static void do_br_if(lw *w, uint32_t depth) {
  if (ki_fuse_br_if(w, depth)) return;
  lw_label *l = label(w, depth);
  bool fn_label = depth == w->labels.len - 1;
  uint32_t cond = pop_slot(w);
  if (l->op == KD_OP_LOOP && !fn_label && !needs_move(w, l, label_arity(l))) {
    emit_op(w, KI_LOOP_BR_IF); emit(w, cond); emit_target(w, l); emit(w, loop_cost(w, l));
    return;
  }
  w->h++;  /* branch_is_direct judges with the condition still counted */
  bool direct = ki_lw_branch_is_direct(w, depth);
  w->h--;
  ki_lw_cond_branch(w, depth, direct, KI_BR_IF, KI_BR_UNLESS, cond, NULL);
}

/* br_table: materialized operands, one target word per label; labels
** needing moves or back-edge checks get a stub after the table. */
static void do_br_table(lw *w, const kd_instr *in) {
  uint32_t idx = pop_slot(w);
  uint32_t n = label_arity(label(w, in->a));
  materialize_range(w, w->h - n, w->h);
  emit_op(w, KI_BR_TABLE); emit(w, idx); emit(w, in->n);
  ku_cursor t = {in->tbl, w->c.end, w->c.base, "code", &w->fail};
  uint32_t first = pos(w);
  if (!ku_vec_reserve(&w->scratch, in->n + 1)) oom(w);
  uint32_t *depths = w->scratch.data;
  for (uint32_t i = 0; i <= in->n; i++) {
    depths[i] = i < in->n ? ku_u32(&t) : in->a;
    emit(w, NONE);
  }
  for (uint32_t i = 0; i <= in->n; i++) {
    uint32_t d = depths[i];
    lw_label *l = label(w, d);
    bool direct = d != w->labels.len - 1 && l->op != KD_OP_LOOP && !needs_move(w, l, n);
    if (direct) {
      words(w)[first + i] = l->patch;
      l->patch = first + i;
    } else {
      words(w)[first + i] = pos(w) - (first + i);
      mark_label(w);
      ki_lw_br(w, d);
    }
  }
}

/* Resolves a block type to parameter and result counts. */
static void block_arity(lw *w, int64_t bt, uint32_t *np, uint32_t *nr) {
  *np = 0;
  *nr = bt == KD_BT_EMPTY ? 0 : 1;
  if (bt >= 0) {
    *np = w->m->types[bt].nparams;
    *nr = w->m->types[bt].nresults;
  }
}

/* Opens a block, loop or if label at the current height. */
static lw_label *push_label(lw *w, kd_op op, int64_t bt) {
  uint32_t np, nr;
  block_arity(w, bt, &np, &nr);
  lw_label *l = ku_vec_push(&w->labels);
  if (!l) oom(w);
  mark_label(w);
  *l = (lw_label){op, w->h - np, np, nr, pos(w), NONE, NONE, w->ninstr};
  if (op == KD_OP_LOOP) w->loop_depth++;
  if (w->labels.len > 1) w->pristine = false;
  return l;
}

static void do_block(lw *w, const kd_instr *in) {
  materialize_range(w, 0, w->h);
  push_label(w, in->op, in->bt);
  w->last_dst = NONE;
}

/* True when entries [from, to) are all in their temps (nothing virtual). */
static bool all_temps(lw *w, uint32_t from, uint32_t to) {
  for (uint32_t i = from; i < to; i++)
    if (w->vs[i].kind != V_TEMP) return false;
  return true;
}

/* if: branches to the else part when the condition is false, fusing a
** just-computed comparison, eqz or flag test into the branch. */
static void do_if(lw *w, const kd_instr *in) {
  uint32_t np, nr;
  block_arity(w, in->bt, &np, &nr);
  if (np == 0 && ki_fuse_cmp_ready(w) && all_temps(w, 0, w->h - 1)) {
    uint32_t at = ki_fuse_cmp_branch(w, false, 0);
    push_label(w, KD_OP_IF, in->bt)->else_patch = at;
    return;
  }
  uint32_t cond, mask = 0;
  bool negated = np == 0 && ki_fuse_take_eqz(w, &cond);
  bool masked = !negated && np == 0 && ki_fuse_take_andk(w, &cond, &mask);
  if (!negated && !masked) cond = pop_slot(w);
  materialize_range(w, 0, w->h);
  lw_label *l = push_label(w, KD_OP_IF, in->bt);
  if (masked) { emit_op(w, KI_BR_UNLESS_ANDK); emit(w, cond); emit(w, mask); }
  else { emit_op(w, negated ? KI_BR_IF : KI_BR_UNLESS); emit(w, cond); }
  l->else_patch = pos(w);
  emit(w, NONE);
}

/* else: ends the then part with a jump to the end and starts the else part.
** Only the false branch of the if reaches it, and that path never ran the
** then part, so the if's params are still in their temps. */
static void do_else(lw *w) {
  lw_label *l = label(w, 0);
  if (!w->dead) {
    materialize_range(w, 0, w->h);
    emit_op(w, KI_BR); emit_target(w, l);
  }
  ki_lw_bind_chain(w, l->else_patch, pos(w));
  l->else_patch = NONE;
  l->op = KD_OP_ELSE;
  w->h = l->height;
  for (uint32_t i = 0; i < l->nparams; i++) push_temp(w);
  w->dead = false;
  w->last_dst = NONE;
}

/* end: binds the label's forward branches here and leaves its results in
** their canonical temps (the function's end returns). */
static void do_end(lw *w) {
  lw_label *l = label(w, 0);
  if (w->labels.len == 1) {
    if (!w->dead) do_return(w);
    w->labels.len--;
    return;
  }
  if (!w->dead) materialize_range(w, 0, w->h);
  if (l->else_patch != NONE) ki_lw_bind_chain(w, l->else_patch, pos(w));
  ki_lw_bind_chain(w, l->patch, pos(w));
  if (l->op == KD_OP_LOOP) w->loop_depth--;
  w->h = l->height;
  for (uint32_t i = 0; i < l->nresults; i++) push_temp(w);
  w->labels.len--;
  w->dead = false;
  w->last_dst = NONE;
}

/* local.set/tee: folds the last producer's destination into the local
** when no other stack entry still refers to the local's old value. */
static void do_local_set(lw *w, uint32_t x, bool tee) {
  lw_val *top = &w->vs[w->h - 1];
  if (w->pristine && x >= w->ft->nparams && !w->written[x] &&
      top->kind == V_CONST && top->k == 0) {
    if (!tee) w->h--;  /* the local is still zero from the call */
    return;
  }
  w->written[x] = 1;
  if (top->kind == V_LOCAL && top->local == x) {
    if (!tee) w->h--;
    return;
  }
  bool refs = false;
  for (uint32_t i = 0; i + 1 < w->h; i++)
    if (w->vs[i].kind == V_LOCAL && w->vs[i].local == x) refs = true;
  uint32_t ld = w->last_dst;
  if (!refs && top->kind == V_TEMP && ld != NONE && words(w)[ld] == T(w, w->h - 1)) {
    words(w)[ld] = x;
  } else {
    for (uint32_t i = 0; i + 1 < w->h; i++)
      if (w->vs[i].kind == V_LOCAL && w->vs[i].local == x) materialize(w, i);
    if (top->kind == V_CONST) ki_fuse_const(w, x, top->k);
    else ki_fuse_copy(w, x, top->kind == V_LOCAL ? top->local : T(w, w->h - 1));
  }
  w->last_dst = NONE;
  if (tee) *top = (lw_val){V_LOCAL, x, 0};
  else w->h--;
}

/* call / call_indirect: arguments in their temps become the callee's
** parameter slots; results come back in the same place. */
static void do_call(lw *w, const kd_functype *t, ki_op op, const kd_instr *in) {
  uint32_t idx = op == KI_CALL_INDIRECT ? pop_slot(w) : 0;
  materialize_range(w, w->h - t->nparams, w->h);
  uint32_t base = T(w, w->h - t->nparams);
  emit_op(w, op);
  if (op == KI_CALL) {
    emit(w, in->a); emit(w, base);
  } else {
    emit(w, t->id); emit(w, in->b); emit(w, base); emit(w, idx);
  }
  w->h -= t->nparams;
  for (uint32_t i = 0; i < t->nresults; i++) push_temp(w);
}


/* Loads, with the address folded from a just-computed add or scaled index. */
static void do_load(lw *w, const kd_instr *in) {
  uint32_t x, y, z, a = 0;
  if (ki_fuse_scaled(w, w->h - 1, &x, &y, &z)) {
    w->h--;
    emit_op(w, (ki_op)(gen_op[in->op] + w->explicit_bounds + 6));
    uint32_t at = pos(w);
    emit(w, T(w, w->h)); emit(w, x); emit(w, y); emit(w, z); emit(w, in->b);
    push_temp(w);
    w->last_dst = at;
    return;
  }
  int variant = ki_fuse_address(w, w->h - 1, &x, &y);
  if (variant) w->h--; else a = pop_slot(w);
  emit_op(w, (ki_op)(gen_op[in->op] + w->explicit_bounds + variant));
  uint32_t at = pos(w);
  emit(w, T(w, w->h));
  if (variant) { emit(w, x); emit(w, y); } else emit(w, a);
  emit(w, in->b);
  push_temp(w);
  w->last_dst = at;
}

/* Stores, with read-modify-write and address folding (fuse.c). */
static void do_store(lw *w, const kd_instr *in) {
  if (ki_fuse_rmw(w, in)) return;
  uint32_t x, y, a = 0;
  int variant = ki_fuse_store_address(w, &x, &y);
  uint32_t v = pop_slot(w);
  if (variant) w->h--; else a = pop_slot(w);
  emit_op(w, (ki_op)(gen_op[in->op] + w->explicit_bounds + variant));
  if (variant) { emit(w, x); emit(w, y); } else emit(w, a);
  emit(w, v); emit(w, in->b);
}

/* Binary ops: fused forms first (fuse.c), then the constant (SK) or slot
** (SS) form. */
static void do_binary(lw *w, kd_op op) {
  if (ki_fuse_binary(w, op)) return;
  lw_val *b = &w->vs[w->h - 1];
  if (b->kind == V_CONST) {
    uint64_t k = b->k;
    w->h--;
    uint32_t a = pop_slot(w);
    emit_op(w, (ki_op)(gen_op[op] + 1));
    uint32_t at = pos(w);
    emit(w, T(w, w->h)); emit(w, a); emit_k64(w, k);
    push_temp(w);
    w->last_dst = at;
    w->cmp_pos = at - 1; w->cmp_op = op; w->cmp_k = true;
    return;
  }
  uint32_t sb = pop_slot(w), sa = pop_slot(w);
  emit_op(w, (ki_op)gen_op[op]);
  uint32_t at = pos(w);
  emit(w, T(w, w->h)); emit(w, sa); emit(w, sb);
  push_temp(w);
  w->last_dst = at;
  w->cmp_pos = at - 1; w->cmp_op = op; w->cmp_k = false;
}

static void do_unary(lw *w, kd_op op) {
  uint32_t a = pop_slot(w);
  emit_op(w, (ki_op)gen_op[op]);
  uint32_t at = pos(w);
  emit(w, T(w, w->h)); emit(w, a);
  push_temp(w);
  w->last_dst = at;
}

/* Emits op with n operand slots popped from the stack (deepest first),
** after the given immediates; pushes a result when produces is set. */
static void do_generic(lw *w, ki_op op, uint32_t nimm, const uint32_t *imm,
                       uint32_t nin, bool produces) {
  uint32_t s[5];
  for (uint32_t i = nin; i > 0; i--) s[i - 1] = pop_slot(w);
  emit_op(w, op);
  uint32_t at = pos(w);
  if (produces) emit(w, T(w, w->h));
  for (uint32_t i = 0; i < nimm; i++) emit(w, imm[i]);
  for (uint32_t i = 0; i < nin; i++) emit(w, s[i]);
  if (produces) { push_temp(w); w->last_dst = at; }
}

/* Tables, bulk memory, references, globals, memory size/grow. */
static bool lower_misc(lw *w, const kd_instr *in) {
  uint32_t imm[2] = {in->a, in->b};
  uint32_t swapped[2] = {in->b, in->a};
  switch (in->op) {
  case KD_OP_GLOBAL_GET: do_generic(w, KI_GLOBAL_GET, 1, imm, 0, true); return true;
  case KD_OP_GLOBAL_SET: do_generic(w, KI_GLOBAL_SET, 1, imm, 1, false); return true;
  case KD_OP_MEMORY_SIZE: do_generic(w, KI_MEMORY_SIZE, 0, imm, 0, true); return true;
  case KD_OP_MEMORY_GROW: do_generic(w, KI_MEMORY_GROW, 0, imm, 1, true); return true;
  case KD_OP_MEMORY_INIT: do_generic(w, KI_MEMORY_INIT, 1, imm, 3, false); return true;
  case KD_OP_DATA_DROP: do_generic(w, KI_DATA_DROP, 1, imm, 0, false); return true;
  case KD_OP_MEMORY_COPY: do_generic(w, KI_MEMORY_COPY, 0, imm, 3, false); return true;
  case KD_OP_MEMORY_FILL: do_generic(w, KI_MEMORY_FILL, 0, imm, 3, false); return true;
  case KD_OP_TABLE_GET: do_generic(w, KI_TABLE_GET, 1, imm, 1, true); return true;
  case KD_OP_TABLE_SET: do_generic(w, KI_TABLE_SET, 1, imm, 2, false); return true;
  case KD_OP_TABLE_SIZE: do_generic(w, KI_TABLE_SIZE, 1, imm, 0, true); return true;
  case KD_OP_TABLE_GROW: do_generic(w, KI_TABLE_GROW, 1, imm, 2, true); return true;
  case KD_OP_TABLE_FILL: do_generic(w, KI_TABLE_FILL, 1, imm, 3, false); return true;
  case KD_OP_TABLE_COPY: do_generic(w, KI_TABLE_COPY, 2, imm, 3, false); return true;
  case KD_OP_TABLE_INIT: do_generic(w, KI_TABLE_INIT, 2, swapped, 3, false); return true;
  case KD_OP_ELEM_DROP: do_generic(w, KI_ELEM_DROP, 1, imm, 0, false); return true;
  case KD_OP_REF_IS_NULL: do_generic(w, KI_REF_IS_NULL, 0, imm, 1, true); return true;
  case KD_OP_REF_FUNC: do_generic(w, KI_REF_FUNC, 1, imm, 0, true); return true;
  default: return false;
  }
}

/* Control flow, variables, constants, calls. */
static void lower_special(lw *w, const kd_instr *in) {
  switch (in->op) {
  case KD_OP_UNREACHABLE: emit_op(w, KI_UNREACHABLE); w->dead = true; return;
  case KD_OP_NOP: return;
  case KD_OP_BLOCK: case KD_OP_LOOP: do_block(w, in); return;
  case KD_OP_IF: do_if(w, in); return;
  case KD_OP_ELSE: do_else(w); return;
  case KD_OP_END: do_end(w); return;
  case KD_OP_BR: ki_lw_br(w, in->a); w->dead = true; return;
  case KD_OP_BR_IF: do_br_if(w, in->a); return;
  case KD_OP_BR_TABLE: do_br_table(w, in); w->dead = true; return;
  case KD_OP_RETURN: do_return(w); w->dead = true; return;
  case KD_OP_CALL: do_call(w, kd_func_type(w->m, in->a), KI_CALL, in); return;
  case KD_OP_CALL_INDIRECT: do_call(w, &w->m->types[in->a], KI_CALL_INDIRECT, in); return;
  case KD_OP_DROP: w->h--; return;
  case KD_OP_SELECT: case KD_OP_SELECT_T: do_generic(w, KI_SELECT, 0, NULL, 3, true); return;
  case KD_OP_LOCAL_GET: push(w, V_LOCAL, in->a, 0); return;
  case KD_OP_LOCAL_SET: do_local_set(w, in->a, false); return;
  case KD_OP_LOCAL_TEE: do_local_set(w, in->a, true); return;
  case KD_OP_I32_CONST: case KD_OP_I64_CONST: case KD_OP_F32_CONST:
  case KD_OP_F64_CONST: push(w, V_CONST, 0, in->k); return;
  case KD_OP_REF_NULL: push(w, V_CONST, 0, 0); return;
  default:
    if (!lower_misc(w, in)) ku_cfail(&w->c, KRAIT_ERR_INVALID, "cannot lower %s", kd_op_name(in->op));
  }
}

/* In unreachable code only nesting matters until the matching else/end. */
static bool skip_dead(lw *w, const kd_instr *in) {
  if (!w->dead) return false;
  switch (in->op) {
  case KD_OP_BLOCK: case KD_OP_LOOP: case KD_OP_IF: w->dead_depth++; return true;
  case KD_OP_ELSE: return w->dead_depth > 0;
  case KD_OP_END:
    if (w->dead_depth == 0) return false;
    w->dead_depth--;
    return true;
  default: return true;
  }
}

/* Lowers one instruction (or skips it in unreachable code). */
static void lower_instr(lw *w, const kd_instr *in) {
  w->cur_off = in->offset;
  w->ninstr++;
  if (skip_dead(w, in)) return;
  switch (kd_opinfo_table[in->op].kind) {
  case KD_K_UN: do_unary(w, in->op); return;
  case KD_K_BIN: case KD_K_CMP: do_binary(w, in->op); return;
  case KD_K_LOAD: do_load(w, in); return;
  case KD_K_STORE: do_store(w, in); return;
  default: lower_special(w, in);
  }
}

/* Picks the constant slots: the non-zero constants that occur most often
** inside loops (at most KI_CONST_SLOTS, ranked by static count among the
** first 512 distinct ones) go into w->kvals. They sit below the temps,
** where callee frames (which start at the temps) cannot overwrite them;
** the CONSTS prologue writes them once per call. Returns their number. */
static uint32_t pick_loop_consts(lw *w) {
  enum { MAXK = 512 };
  ku_cursor c = w->c;
  uint64_t seen[MAXK];
  uint32_t count[MAXK];
  uint32_t n = 0, depth = 1, loops = 0;
  uint8_t is_loop[256] = {0};   /* loop flags of the innermost 256 blocks */
  while (depth > 0) {
    kd_instr in;
    kd_read_instr(&c, &in);
    switch (in.op) {
    case KD_OP_BLOCK: case KD_OP_IF: case KD_OP_LOOP:
      is_loop[depth++ & 255] = in.op == KD_OP_LOOP;
      loops += in.op == KD_OP_LOOP;
      break;
    case KD_OP_END:
      loops -= is_loop[--depth & 255];
      is_loop[depth & 255] = 0;
      break;
    case KD_OP_I32_CONST: case KD_OP_I64_CONST: case KD_OP_F32_CONST: case KD_OP_F64_CONST: {
      if (!loops || !in.k) break;
      uint32_t i = 0;
      while (i < n && seen[i] != in.k) i++;
      if (i < n) count[i]++;
      else if (n < MAXK) { seen[n] = in.k; count[n++] = 1; }
      break;
    }
    default: break;
    }
  }
  uint32_t nk = 0;
  for (; nk < KI_CONST_SLOTS && nk < n; nk++) {  /* selection of the top */
    uint32_t best = nk;
    for (uint32_t i = nk + 1; i < n; i++)
      if (count[i] > count[best]) best = i;
    uint64_t k = seen[best]; seen[best] = seen[nk]; seen[nk] = k;
    uint32_t t = count[best]; count[best] = count[nk]; count[nk] = t;
    w->kvals[nk] = k;
  }
  return nk;
}

/* Completes the CONSTS prologue: its table of constants goes after the
** code (the op is skipped entirely when no constant needed a slot). */
static void finish_consts(lw *w) {
  if (!w->nk) return;
  uint32_t table = pos(w);
  for (uint32_t i = 0; i < w->nk; i++) emit_k64(w, w->kvals[i]);
  uint32_t *c = words(w);
  c[1] = w->temp0 - w->kcap;
  c[2] = w->nk;
  c[3] = table;
}

/* Packages the emitted code and its offset map as a ki_code. */
static ki_code *finish(lw *w) {
  finish_consts(w);
  ki_code *c = ku_calloc(1, sizeof *c);
  if (!c) oom(w);
  c->ops = w->code.data;
  c->len = w->code.len;
  c->map = w->map.data;
  c->nmap = w->map.len;
  c->nparams = w->ft->nparams;
  c->nlocals = w->f->nlocals + 1;  /* locals and the zero slot */
  c->frame_slots = w->temp0 + w->f->max_height;
  c->start = c->ops + (w->nk ? 0 : 4);  /* skip an empty CONSTS prologue */
  return c;
}

/* Lowers one validated function body; the catch point for out-of-memory. */
ki_code *ki_lower(const krait_module *m, uint32_t fi, bool explicit_bounds) {
  lw w;
  memset(&w, 0, sizeof w);
  w.m = m;
  w.f = &m->funcs[fi];
  w.ft = kd_func_type(m, fi);
  w.explicit_bounds = explicit_bounds;
  w.dw = ki_dispatch_words();
  char msg[128];
  w.fail.msg = msg;
  w.fail.cap = sizeof msg;
  w.c = (ku_cursor){w.f->body, w.f->body + w.f->body_len, m->bytes, "code", &w.fail};
  ku_vec_init(&w.code, sizeof(uint32_t));
  ku_vec_init(&w.map, 2 * sizeof(uint32_t));
  ku_vec_init(&w.labels, sizeof(lw_label));
  ku_vec_init(&w.scratch, sizeof(uint32_t));
  w.temp0 = w.f->nlocals + 1;  /* slot nlocals always holds 0 */
  w.last_dst = NONE;
  w.last_pos = w.prev_pos = NONE;
  w.vs = ku_malloc((w.f->max_height + 1) * sizeof *w.vs);
  w.written = ku_calloc(w.f->nlocals + 1, 1);
  w.pristine = true;
  if (setjmp(w.fail.jb) || !w.vs || !w.written) {
    ku_free(w.written);
    if (getenv("KRAIT_DEBUG_LOWER")) fprintf(stderr, "lower: %s\n", msg);
    ku_free(w.vs);
    ku_vec_free(&w.code);
    ku_vec_free(&w.map);
    ku_vec_free(&w.labels);
    ku_vec_free(&w.scratch);
    return NULL;
  }
  w.kcap = w.nk = pick_loop_consts(&w);
  w.temp0 += w.kcap;        /* constant slots sit between zero slot and temps */
  emit_op(&w, KI_CONSTS);   /* first slot, count, table offset: see finish */
  emit(&w, 0); emit(&w, 0); emit(&w, 0);
  push_label(&w, KD_OP_BLOCK, KD_BT_EMPTY)->nresults = w.ft->nresults;
  while (w.labels.len > 0) {
    kd_instr in;
    kd_read_instr(&w.c, &in);
    lower_instr(&w, &in);
  }
  ki_code *c = finish(&w);
  ku_free(w.vs);
  ku_free(w.written);
  ku_vec_free(&w.labels);
  ku_vec_free(&w.scratch);
  return c;
}

void ki_code_free(ki_code *c) {
  if (!c) return;
  ku_free(c->ops);
  ku_free(c->map);
  ku_free(c);
}
