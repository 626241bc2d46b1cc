/*
** fuse.c -- the lowering's fusions: ops just emitted are taken back and
** merged into the op that consumes them. Not plain lowering (lower.c).
*/
#include "interp/lower_internal.h"

/* True when stack entry i holds the result of the last op, which was one
** of the two given ops; the op can then be folded into its consumer. */
static bool fresh(lw *w, uint32_t i, ki_op a, ki_op b) {
  return w->vs[i].kind == V_TEMP && w->last_dst != NONE && w->last_pos != NONE &&
         words(w)[w->last_dst] == T(w, i) && w->last_dst == w->last_pos + 1 &&
         (w->last_ki == a || w->last_ki == b);
}

/* Removes the last op (to fuse it into the next one). */
static void drop_last(lw *w) {
  w->code.len = w->last_pos;
  w->map.len--;
  w->last_pos = w->prev_pos = NONE;
  w->last_dst = NONE;
}

/* ---- moves ------------------------------------------------------------- */

/* Emits dst = src, merging with a copy just before it into COPY2. */
void ki_fuse_copy(lw *w, uint32_t dst, uint32_t src) {
  if (dst == src) return;
  if (w->last_pos != NONE && w->last_ki == KI_COPY && pos(w) == w->last_pos + 3) {
    words(w)[w->last_pos] = (uint32_t)w->dw[KI_COPY2];
    w->last_ki = KI_COPY2;
    emit(w, dst); emit(w, src);
    return;
  }
  emit_op(w, KI_COPY); emit(w, dst); emit(w, src);
}

/* Writes constant k to slot dst; right after another CONST, both become
** one CONST2 (straight-line code often sets several slots in a row). */
void ki_fuse_const(lw *w, uint32_t dst, uint64_t k) {
  if (w->last_pos != NONE && w->last_ki == KI_CONST && pos(w) == w->last_pos + 4) {
    words(w)[w->last_pos] = (uint32_t)w->dw[KI_CONST2];
    w->last_ki = KI_CONST2;
    emit(w, dst); emit_k64(w, k);
    return;
  }
  emit_op(w, KI_CONST); emit(w, dst); emit_k64(w, k);
}

/* ---- branches ---------------------------------------------------------- */

/* True when the top of stack is the result of a comparison emitted just
** before, which a conditional branch can absorb. */
bool ki_fuse_cmp_ready(lw *w) {
  return w->vs[w->h - 1].kind == V_TEMP && w->last_dst != NONE &&
         w->last_dst == w->cmp_pos + 1 && words(w)[w->last_dst] == T(w, w->h - 1) &&
         kd_opinfo_table[w->cmp_op].kind == KD_K_CMP;
}

/* A loop latch: when the comparison's first operand was just computed by
** an i32 add of a constant (x = src + k), both become one add-compare-and-
** branch op. Returns true after emitting it (target word is pos - 2). */
static bool fuse_latch(lw *w, uint32_t a, uint32_t b, bool k, uint32_t cost) {
  bool by_slot = w->prev_ki == KI_I32_ADD_SS;  /* x = src + y, else + k */
  uint32_t add_len = by_slot ? 4 : 5;
  if (kd_opinfo_table[w->cmp_op].a != KD_I32 || w->prev_pos == NONE ||
      (w->prev_ki != KI_I32_ADD_SK && !by_slot) ||
      w->prev_pos + add_len != w->cmp_pos || words(w)[w->prev_pos + 1] != a)
    return false;
  uint32_t src = words(w)[w->prev_pos + 2], inc = words(w)[w->prev_pos + 3];
  w->code.len = w->prev_pos;
  w->map.len -= 2;
  w->h--;
  emit_op(w, (ki_op)(ki_first_op(w->cmp_op) + 6 + (k ? 1 : 0) + (by_slot ? 2 : 0)));
  emit(w, a); emit(w, src); emit(w, inc); emit(w, b);
  emit(w, NONE);
  emit(w, cost);
  return true;
}

/* Replaces the comparison by a compare-and-branch (jump when the result
** equals `when`); returns the position of its target word. The cost word
** charges fuel on loop back-edges. */
uint32_t ki_fuse_cmp_branch(lw *w, bool when, uint32_t cost) {
  uint32_t *c = words(w) + w->cmp_pos;
  uint32_t a = c[2], b = c[3], hi = w->cmp_k ? c[4] : 0;
  bool k = w->cmp_k;
  if (when && fuse_latch(w, a, b, k, cost)) return pos(w) - 2;
  w->code.len = w->cmp_pos;
  w->map.len--;
  w->h--;
  int base = ki_first_op(w->cmp_op) + 2 + (k ? 1 : 0) + (when ? 0 : 2);
  emit_op(w, (ki_op)base);
  emit(w, a); emit(w, b);
  if (k) emit(w, hi);
  uint32_t at = pos(w);
  emit(w, NONE);
  emit(w, cost);
  return at;
}

/* When the condition is the fresh result of i32.eqz, removes the eqz and
** returns its operand (the branch then tests the operand the other way). */
bool ki_fuse_take_eqz(lw *w, uint32_t *x) {
  if (!fresh(w, w->h - 1, KI_I32_EQZ_S, KI_I32_EQZ_S)) return false;
  *x = words(w)[w->last_pos + 2];
  drop_last(w);
  w->h--;
  return true;
}

/* When the condition is the fresh result of i32.and with a constant (a
** flag test), removes the and and returns its operand and mask. */
bool ki_fuse_take_andk(lw *w, uint32_t *x, uint32_t *k) {
  if (!fresh(w, w->h - 1, KI_I32_AND_SK, KI_I32_AND_SK)) return false;
  *x = words(w)[w->last_pos + 2];
  *k = words(w)[w->last_pos + 3];
  drop_last(w);
  w->h--;
  return true;
}

/* br_if: folds eqz, flag tests and comparisons into the branch when they
** were just computed; moves carried values only on the taken path. Emits
** nothing and returns false when the condition is none of those. */
bool ki_fuse_br_if(lw *w, uint32_t depth) {
  lw_label *l = label(w, depth);
  uint32_t x, k;
  if (l->op != KD_OP_LOOP && fresh(w, w->h - 1, KI_I32_EQZ_S, KI_I32_EQZ_S)) {
    bool direct = ki_lw_branch_is_direct(w, depth);
    ki_fuse_take_eqz(w, &x);
    ki_lw_cond_branch(w, depth, direct, KI_BR_UNLESS, KI_BR_IF, x, NULL);
    return true;
  }
  if (l->op != KD_OP_LOOP && fresh(w, w->h - 1, KI_I32_AND_SK, KI_I32_AND_SK)) {
    bool direct = ki_lw_branch_is_direct(w, depth);
    ki_fuse_take_andk(w, &x, &k);
    ki_lw_cond_branch(w, depth, direct, KI_BR_IF_ANDK, KI_BR_UNLESS_ANDK, x, &k);
    return true;
  }
  if (!ki_fuse_cmp_ready(w)) return false;
  if (ki_lw_branch_is_direct(w, depth)) {
    uint32_t cost = l->op == KD_OP_LOOP ? loop_cost(w, l) : 0;
    uint32_t at = ki_fuse_cmp_branch(w, true, cost);
    if (l->op == KD_OP_LOOP) words(w)[at] = l->loop_pos - at;
    else { words(w)[at] = l->patch; l->patch = at; }
    return true;
  }
  uint32_t skip = ki_fuse_cmp_branch(w, false, 0);
  ki_lw_br(w, depth);
  ki_lw_bind_chain(w, skip, pos(w));
  return true;
}

/* ---- addresses --------------------------------------------------------- */

/* A scaled index: entry i is the fresh result of shl-by-constant, alone
** or followed by an add of a constant (x << s) + k, whose intermediate is
** a dead temp. Removes them; returns true with x, s and k set. */
bool ki_fuse_scaled(lw *w, uint32_t i, uint32_t *x, uint32_t *s, uint32_t *k) {
  uint32_t *c = words(w);
  if (fresh(w, i, KI_I32_SHL_SK, KI_I32_SHL_SK)) {
    *x = c[w->last_pos + 2]; *s = c[w->last_pos + 3]; *k = 0;
    drop_last(w);
    return true;
  }
  if (!fresh(w, i, KI_I32_ADD_SK, KI_I32_ADD_SK) || w->prev_pos == NONE ||
      w->prev_ki != KI_I32_SHL_SK || w->prev_pos + 5 != w->last_pos)
    return false;
  uint32_t t = c[w->prev_pos + 1];
  if (t < w->temp0 || t != c[w->last_pos + 2]) return false;
  *x = c[w->prev_pos + 2]; *s = c[w->prev_pos + 3]; *k = c[w->last_pos + 3];
  w->code.len = w->prev_pos;
  w->map.len -= 2;
  w->last_pos = w->prev_pos = NONE;
  w->last_dst = NONE;
  return true;
}

/* Folds a constant address or a just-emitted i32.add into a memory access:
** returns the variant offset (2: a + k, 4: a + b) or 0. */
int ki_fuse_address(lw *w, uint32_t i, uint32_t *x, uint32_t *y) {
  if (w->vs[i].kind == V_CONST) {  /* constant address: zero slot + k */
    *x = w->f->nlocals;  /* the zero slot */
    *y = (uint32_t)w->vs[i].k;
    return 2;
  }
  if (!fresh(w, i, KI_I32_ADD_SK, KI_I32_ADD_SS)) return 0;
  int variant = w->last_ki == KI_I32_ADD_SK ? 2 : 4;
  *x = words(w)[w->last_pos + 2];
  *y = words(w)[w->last_pos + 3];
  drop_last(w);
  return variant;
}

/* Whether reading entry i first writes its own temp: a nonzero constant
** without a constant slot. */
static bool writes_temp(lw *w, uint32_t i) {
  lw_val *v = &w->vs[i];
  return v->kind == V_CONST && v->k != 0 && ki_lw_const_slot(w, v->k) == NONE;
}

/* Whether the last emitted op (an i32.add about to be folded) reads slot
** s. */
static bool last_reads(lw *w, uint32_t s) {
  if (w->last_pos == NONE) return false;
  uint32_t *c = words(w) + w->last_pos;
  return c[2] == s || (w->last_ki == KI_I32_ADD_SS && c[3] == s);
}

/* A store's address (entry h - 2, below the value) folded as for a load,
** only when the value is not a temp or the address is a constant. An
** address add is not folded when writing the stored constant to its temp
** would overwrite one of the add's operands (the temp just above the add's
** result). */
int ki_fuse_store_address(lw *w, uint32_t *x, uint32_t *y) {
  bool clobbers = writes_temp(w, w->h - 1) && last_reads(w, T(w, w->h - 1));
  return !clobbers && (w->vs[w->h - 1].kind != V_TEMP ||
                       w->vs[w->h - 2].kind == V_CONST)
             ? ki_fuse_address(w, w->h - 2, x, y) : 0;
}

/* i32.store of (i32.load same address) + k: a read-modify-write such as a
** reference count update, done in one op when the loaded and added values
** are dead temps. */
bool ki_fuse_rmw(lw *w, const kd_instr *in) {
  lw_val *addr = &w->vs[w->h - 2];
  if (in->op != KD_OP_I32_STORE || addr->kind == V_CONST ||
      !fresh(w, w->h - 1, KI_I32_ADD_SK, KI_I32_ADD_SK) || w->prev_pos == NONE ||
      w->prev_ki != (w->explicit_bounds ? KI_I32_LOAD_C : KI_I32_LOAD_G) ||
      w->prev_pos + 4 != w->last_pos)
    return false;
  uint32_t *c = words(w);
  uint32_t a = addr->kind == V_LOCAL ? addr->local : T(w, w->h - 2);
  uint32_t t = c[w->prev_pos + 1];
  if (t < w->temp0 || c[w->last_pos + 2] != t || c[w->prev_pos + 2] != a ||
      c[w->prev_pos + 3] != in->b)
    return false;
  uint32_t k = c[w->last_pos + 3];
  w->code.len = w->prev_pos;
  w->map.len -= 2;
  w->last_pos = w->prev_pos = NONE;
  w->last_dst = NONE;
  w->h -= 2;
  emit_op(w, w->explicit_bounds ? KI_I32_ADD_MEM_C : KI_I32_ADD_MEM_G);
  emit(w, a); emit(w, k); emit(w, in->b);
  return true;
}

/* ---- binary ops -------------------------------------------------------- */

/* The fused pair op for OUTER(a, INNER(x, k)) or OUTER(a, INNER(x, y)),
** or -1. The inner op's operand words sit where the pair op wants them. */
static int pair_op(kd_op outer, ki_op inner) {
#define Z(o, i) if (outer == KD_OP_I32_##o && inner == KI_I32_##i##_SK) return KI_P_##o##_##i;
  KI_PAIRS(Z)
#undef Z
#define Z(o, i) if (outer == KD_OP_I32_##o && inner == KI_I32_##i##_SS) return KI_PS_##o##_##i;
  KI_PAIRS2(Z)
#undef Z
#define Z(o, i) if (outer == KD_OP_F64_##o && inner == KI_F64_##i##_SS) return KI_PF_##o##_##i;
  KI_FPAIRS(Z)
#undef Z
  return -1;
}

/* A commutative i32 op whose operand is the fresh result of a constant
** op (shift, rotate, and, add, xor): both become one P_* op. */
static bool fold_pair(lw *w, kd_op op) {
  if (w->last_pos == NONE || pair_op(op, w->last_ki) < 0) return false;
  uint32_t other;
  if (fresh(w, w->h - 1, w->last_ki, w->last_ki)) {
    if (w->vs[w->h - 2].kind == V_CONST) return false;
    other = w->h - 2;
  } else if (w->vs[w->h - 1].kind == V_LOCAL && fresh(w, w->h - 2, w->last_ki, w->last_ki)) {
    other = w->h - 1;
  } else {
    return false;
  }
  int pop = pair_op(op, w->last_ki);
  uint32_t x = words(w)[w->last_pos + 2], k = words(w)[w->last_pos + 3];
  drop_last(w);
  uint32_t y = ki_lw_slot_of(w, other);
  w->h -= 2;
  emit_op(w, (ki_op)pop);
  uint32_t at = pos(w);
  emit(w, T(w, w->h)); emit(w, y); emit(w, x); emit(w, k);
  push_temp(w);
  w->last_dst = at;
  return true;
}

/* i32.sub of a constant becomes i32.add of its negation; an add of a
** constant to a just-added constant folds into one add (mod 2^32), and to
** a just-added pair of slots into ADD3K (a + b + k). */
static bool fold_add_chain(lw *w, kd_op op) {
  lw_val *b = &w->vs[w->h - 1];
  if ((op != KD_OP_I32_ADD && op != KD_OP_I32_SUB) || b->kind != V_CONST) return false;
  uint32_t k = op == KD_OP_I32_SUB ? 0u - (uint32_t)b->k : (uint32_t)b->k;
  uint32_t x;
  if (fresh(w, w->h - 2, KI_I32_ADD_SS, KI_I32_ADD_SS)) {  /* a + b + k */
    uint32_t a = words(w)[w->last_pos + 2], bb = words(w)[w->last_pos + 3];
    drop_last(w);
    w->h -= 2;
    emit_op(w, KI_ADD3K);
    uint32_t at = pos(w);
    emit(w, T(w, w->h)); emit(w, a); emit(w, bb); emit(w, k);
    push_temp(w);
    w->last_dst = at;
    return true;
  }
  if (fresh(w, w->h - 2, KI_I32_ADD_SK, KI_I32_ADD_SK)) {
    x = words(w)[w->last_pos + 2];
    k += words(w)[w->last_pos + 3];
    drop_last(w);
    w->h -= 2;
  } else {
    w->h--;
    x = pop_slot(w);
  }
  emit_op(w, KI_I32_ADD_SK);
  uint32_t at = pos(w);
  emit(w, T(w, w->h)); emit(w, x); emit_k64(w, k);
  push_temp(w);
  w->last_dst = at;
  return true;
}

/* The load-op for binary op (guard variant; the checked one follows), the
** plain load of the same type, and whether the op commutes; -1 if none. */
static int loadop(kd_op op, ki_op *load, bool *commutes) {
#define Z(t, o)                                                             \
  if (op == KD_OP_##t##_##o) {                                              \
    *load = KI_##t##_LOAD_G;                                                \
    *commutes = KD_OP_##t##_##o != KD_OP_##t##_SUB;                           \
    return KI_LM_##t##_##o##_G;                                             \
  }
  KI_LOADOPS(Z)
#undef Z
  return -1;
}

/* Takes a fresh plain or constant-offset load producing entry i as the
** address parts (a, k, off); the load is removed. */
static bool take_load(lw *w, uint32_t i, ki_op load, uint32_t *a, uint32_t *k, uint32_t *off) {
  ki_op plain = (ki_op)(load + w->explicit_bounds), with_k = (ki_op)(load + w->explicit_bounds + 2);
  if (!fresh(w, i, plain, with_k)) return false;
  uint32_t *c = words(w) + w->last_pos;
  bool has_k = w->last_ki == with_k;
  *a = c[2];
  *k = has_k ? c[3] : 0;
  *off = has_k ? c[4] : c[3];
  drop_last(w);
  return true;
}

/* A binary op whose operand was just loaded: one LM_* op. */
static bool fold_loadop(lw *w, kd_op op) {
  ki_op load;
  bool commutes;
  int lm = loadop(op, &load, &commutes);
  uint32_t a, k, off, other;
  if (lm < 0 || w->vs[w->h - 2].kind == V_CONST) return false;
  if (take_load(w, w->h - 1, load, &a, &k, &off)) {
    other = w->h - 2;
  } else if (commutes && w->vs[w->h - 1].kind == V_LOCAL &&
             take_load(w, w->h - 2, load, &a, &k, &off)) {
    other = w->h - 1;
  } else {
    return false;
  }
  uint32_t x = ki_lw_slot_of(w, other);
  w->h -= 2;
  emit_op(w, (ki_op)(lm + w->explicit_bounds));
  uint32_t at = pos(w);
  emit(w, T(w, w->h)); emit(w, x); emit(w, a); emit(w, k); emit(w, off);
  push_temp(w);
  w->last_dst = at;
  return true;
}

/* A binary op fused with the op that produced an operand: pairs first,
** then constant-add chains, then load-ops. */
bool ki_fuse_binary(lw *w, kd_op op) {
  return fold_pair(w, op) || fold_add_chain(w, op) || fold_loadop(w, op);
}
