/*
** vm.c -- the dispatch loop: one function, one short case per internal op.
** Calls between wasm functions never recurse on the C stack.
*/
#include "interp/interp.h"
#include <string.h>
#include "interp/numeric.h"
#include "platform/dispatch.h"
#include "platform/platform.h"

#define CT_I32 uint32_t
#define CT_I64 uint64_t
#define CT_F32 float
#define CT_F64 double
#define RD_I32(s) ((uint32_t)(s).i32)
#define RD_I64(s) ((uint64_t)(s).i64)
#define RD_F32(s) ((s).f32)
#define RD_F64(s) ((s).f64)
#define WR_I32(s, v) ((s).bits = (uint32_t)(v))
#define WR_I64(s, v) ((s).bits = (uint64_t)(v))
#define WR_F32(s, v) ((s).f32 = (v))
#define WR_F64(s, v) ((s).f64 = (v))
#define KC_I32(k) ((uint32_t)(k))
#define KC_I64(k) ((uint64_t)(k))
#define KC_F32(k) kn_f32_bits((uint32_t)(k))
#define KC_F64(k) kn_f64_bits(k)

#define S(i) fp[ip[i]]
#define K64(i) ((uint64_t)ip[i] | (uint64_t)ip[(i) + 1] << 32)
#define NEXT() KP_NEXT(kbase, ip)
#define TRAP(k) do { ex->trap_ip = ip; ex->trap_fn = fn; ki_trap(ex, KRAIT_TRAP_##k); } while (0)
#define TRAPK(kind) do { ex->trap_ip = ip; ex->trap_fn = fn; ki_trap(ex, kind); } while (0)
#define CHECKED(expr) do { krait_trapkind tk_ = (expr); if (tk_) TRAPK(tk_); } while (0)
/* A bulk op of n bytes: its own trap first, then the deadline's clock. */
#define BULK(expr, n) do { CHECKED(expr); if (KU_UNLIKELY(ki_bulk_late(ex, (n)))) TRAP(DEADLINE); } while (0)
#define RELOAD() do { inst = fn->inst; mem = inst->mem0; M = mem->base; \
                      MS = mem->size; G = inst->globals; } while (0)
#define CHARGE(n) do { if (KP_INTERRUPT_CHECKS) { budget -= (int64_t)(n); \
    if (KU_UNLIKELY(budget < 0)) { ex->trap_ip = ip; ex->trap_fn = fn; \
                                   budget = ki_refuel(ex, budget); } } } while (0)

/* Reads the clock (trapping past the deadline) and returns the units to
** run before the next read: the chunk adapts to how long the last one
** took (KR_CHECK_NS in runtime.h), so a fast loop does not read the clock
** every few microseconds and a slow one still stops near its deadline. */
static int64_t ki_deadline_chunk(ki_exec *ex) {
  uint64_t now = kp_monotonic_ns();
  if (now >= ex->deadline) ki_trap(ex, KRAIT_TRAP_DEADLINE);
  uint64_t took = now - ex->checked_ns, left = ex->deadline - now;
  int64_t c = ex->chunk < KR_CHUNK_MIN ? KR_CHUNK_MIN : ex->chunk;
  if (took > 2 * KR_CHECK_NS) c = KR_CHUNK_MIN;
  else if (took > KR_CHECK_NS || took > left) c = c / 2 < KR_CHUNK_MIN ? KR_CHUNK_MIN : c / 2;
  else if (took < KR_CHECK_NS / 4 && took < left / 4 && c < KR_CHUNK_MAX) c *= 2;
  ex->chunk = c;
  ex->checked_ns = now;
  ex->bulk_bytes = 0;
  return c;
}

/* Slow path of the interrupt check: settles fuel, checks the deadline,
** and returns a fresh budget (or traps). Fuel runs out at the same
** instruction whatever the chunk: a refill never exceeds the fuel left. */
int64_t ki_refuel(ki_exec *ex, int64_t budget) {
  uint64_t used = (uint64_t)(ex->budget_start - budget);
  if (ex->fuel_on) {
    if (used > ex->fuel) { ex->fuel = 0; ki_trap(ex, KRAIT_TRAP_FUEL); }
    ex->fuel -= used;
  }
  int64_t chunk = ex->deadline ? ki_deadline_chunk(ex) : INT64_MAX / 2;
  if (ex->fuel_on && ex->fuel < (uint64_t)chunk) chunk = (int64_t)ex->fuel;
  ex->budget_start = chunk;
  return chunk;
}

/* A bulk op counts as one unit whatever its size, so bulk ops keep their
** own byte count and read the clock every KR_BULK_CHECK bytes: the time
** between two clock reads stays bounded even for a loop of big fills
** after the chunk has grown on cheap code. Fuel is not touched. */
bool ki_bulk_late(ki_exec *ex, uint64_t bytes) {
  if (!ex->deadline) return false;
  ex->bulk_bytes += bytes;
  if (ex->bulk_bytes < KR_BULK_CHECK) return false;
  ex->bulk_bytes = 0;
  return kp_monotonic_ns() >= ex->deadline;
}

/* Handlers generated from opcodes.def. */
#define GEN_SPECIAL(name, A, R_, sem)
#define GEN_UN(name, A, R_, sem)                                            \
  L_##name##_S: { CT_##A a = RD_##A(S(2)); CT_##R_ r; sem; WR_##R_(S(1), r); \
                  ip += 3; NEXT(); }
#define GEN_BIN(name, A, R_, sem)                                           \
  L_##name##_SS: { CT_##A a = RD_##A(S(2)), b = RD_##A(S(3)); CT_##R_ r;     \
                   sem; WR_##R_(S(1), r); ip += 4; NEXT(); }                 \
  L_##name##_SK: { CT_##A a = RD_##A(S(2)), b = KC_##A(K64(3)); CT_##R_ r;   \
                   sem; WR_##R_(S(1), r); ip += 5; NEXT(); }
#define GEN_CMP(name, A, R_, sem)                                           \
  GEN_BIN(name, A, R_, sem)                                                 \
  L_##name##_JSS: { CT_##A a = RD_##A(S(1)), b = RD_##A(S(2)); uint32_t r;  \
    sem; if (r) { CHARGE(ip[4]); ip += 3 + (int32_t)ip[3]; } else ip += 5;  \
    NEXT(); }                                                               \
  L_##name##_JSK: { CT_##A a = RD_##A(S(1)), b = KC_##A(K64(2)); uint32_t r;\
    sem; if (r) { CHARGE(ip[5]); ip += 4 + (int32_t)ip[4]; } else ip += 6;  \
    NEXT(); }                                                               \
  L_##name##_NSS: { CT_##A a = RD_##A(S(1)), b = RD_##A(S(2)); uint32_t r;  \
    sem; if (!r) { CHARGE(ip[4]); ip += 3 + (int32_t)ip[3]; } else ip += 5; \
    NEXT(); }                                                               \
  L_##name##_NSK: { CT_##A a = RD_##A(S(1)), b = KC_##A(K64(2)); uint32_t r;\
    sem; if (!r) { CHARGE(ip[5]); ip += 4 + (int32_t)ip[4]; } else ip += 6; \
    NEXT(); }                                                               \
  GEN_ADDJ_##A(name, sem)
/* Loop latch: x = src + k, then compare x with b (a slot for AJSS, an
** immediate for AJSK) and jump when true. [op x src k b target cost];
** ASJ* add a slot y instead of k: [op x src y b target cost]. */
#define GEN_ADDJ_I32(name, sem)                                             \
  L_##name##_AJSS: { uint32_t a = RD_I32(S(2)) + ip[3]; WR_I32(S(1), a);    \
    uint32_t b = RD_I32(S(4)), r; sem;                                       \
    if (r) { CHARGE(ip[6]); ip += 5 + (int32_t)ip[5]; } else ip += 7;       \
    NEXT(); }                                                               \
  L_##name##_AJSK: { uint32_t a = RD_I32(S(2)) + ip[3]; WR_I32(S(1), a);    \
    uint32_t b = ip[4], r; sem;                                              \
    if (r) { CHARGE(ip[6]); ip += 5 + (int32_t)ip[5]; } else ip += 7;       \
    NEXT(); }                                                               \
  L_##name##_ASJSS: { uint32_t a = RD_I32(S(2)) + RD_I32(S(3));              \
    WR_I32(S(1), a); uint32_t b = RD_I32(S(4)), r; sem;                      \
    if (r) { CHARGE(ip[6]); ip += 5 + (int32_t)ip[5]; } else ip += 7;       \
    NEXT(); }                                                               \
  L_##name##_ASJSK: { uint32_t a = RD_I32(S(2)) + RD_I32(S(3));              \
    WR_I32(S(1), a); uint32_t b = ip[4], r; sem;                             \
    if (r) { CHARGE(ip[6]); ip += 5 + (int32_t)ip[5]; } else ip += 7;       \
    NEXT(); }
#define GEN_ADDJ_I64(name, sem)
#define GEN_ADDJ_F32(name, sem)
#define GEN_ADDJ_F64(name, sem)
/* Loads and stores: the address expression EA is computed once, then
** accessed through the guard region (G) or after an explicit check (C). */
#define LOAD_BODY(MT, R_, EA, n) { MT v; uint64_t ea = (EA);                 \
    memcpy(&v, M + ea, sizeof v);                                            \
    WR_##R_(S(1), (CT_##R_)v); ip += n; NEXT(); }
#define LOAD_BODY_C(MT, R_, EA, n) { MT v; uint64_t ea = (EA);               \
    if (KU_UNLIKELY(ea + sizeof v > MS)) TRAP(MEMORY_OOB);                   \
    memcpy(&v, M + ea, sizeof v); WR_##R_(S(1), (CT_##R_)v); ip += n; NEXT(); }
#define STORE_BODY(MT, R_, EA, V, n) { MT v = (MT)RD_##R_(S(V));             \
    uint64_t ea = (EA);                                                      \
    memcpy(M + ea, &v, sizeof v); ip += n; NEXT(); }
#define STORE_BODY_C(MT, R_, EA, V, n) { MT v = (MT)RD_##R_(S(V));           \
    uint64_t ea = (EA);                                                      \
    if (KU_UNLIKELY(ea + sizeof v > MS)) TRAP(MEMORY_OOB);                   \
    memcpy(M + ea, &v, sizeof v); ip += n; NEXT(); }
#define EA_PLAIN ((uint64_t)RD_I32(S(2)) + ip[3])
#define EA_K ((uint64_t)(uint32_t)(RD_I32(S(2)) + ip[3]) + ip[4])
#define EA_S ((uint64_t)(uint32_t)(RD_I32(S(2)) + RD_I32(S(3))) + ip[4])
#define EA_X ((uint64_t)(uint32_t)((RD_I32(S(2)) << (ip[3] & 31)) + ip[4]) + ip[5])
#define SEA_PLAIN ((uint64_t)RD_I32(S(1)) + ip[3])
#define SEA_K ((uint64_t)(uint32_t)(RD_I32(S(1)) + ip[2]) + ip[4])
#define SEA_S ((uint64_t)(uint32_t)(RD_I32(S(1)) + RD_I32(S(2))) + ip[4])
#define GEN_LOAD(name, MT, R_, sem)                                         \
  L_##name##_G: LOAD_BODY(MT, R_, EA_PLAIN, 4)                               \
  L_##name##_C: LOAD_BODY_C(MT, R_, EA_PLAIN, 4)                             \
  L_##name##_GK: LOAD_BODY(MT, R_, EA_K, 5)                                  \
  L_##name##_CK: LOAD_BODY_C(MT, R_, EA_K, 5)                                \
  L_##name##_GS: LOAD_BODY(MT, R_, EA_S, 5)                                  \
  L_##name##_CS: LOAD_BODY_C(MT, R_, EA_S, 5)                                \
  L_##name##_GX: LOAD_BODY(MT, R_, EA_X, 6)                                  \
  L_##name##_CX: LOAD_BODY_C(MT, R_, EA_X, 6)
#define GEN_STORE(name, MT, R_, sem)                                        \
  L_##name##_G: STORE_BODY(MT, R_, SEA_PLAIN, 2, 4)                          \
  L_##name##_C: STORE_BODY_C(MT, R_, SEA_PLAIN, 2, 4)                        \
  L_##name##_GK: STORE_BODY(MT, R_, SEA_K, 3, 5)                             \
  L_##name##_CK: STORE_BODY_C(MT, R_, SEA_K, 3, 5)                           \
  L_##name##_GS: STORE_BODY(MT, R_, SEA_S, 3, 5)                             \
  L_##name##_CS: STORE_BODY_C(MT, R_, SEA_S, 3, 5)

/* Each binary op's semantics as a function, for the fused pairs. Pairs
** only use ops that cannot trap, so TRAP is never reached here. */
#define PURE_SPECIAL(n, A, R_, sem)
#define PURE_UN(n, A, R_, sem)
#define PURE_LOAD(n, A, R_, sem)
#define PURE_STORE(n, A, R_, sem)
#define PURE_CMP(n, A, R_, sem)
#define PURE_BIN(n, A, R_, sem)                                             \
  static inline CT_##R_ pure_##n(CT_##A a, CT_##A b) { CT_##R_ r; sem; return r; }
#undef TRAP
#define TRAP(k) return 0
#define X(name, code, text, kind, a, r, sem) PURE_##kind(name, a, r, sem)
#include "decode/opcodes.def"
#undef X
#undef TRAP
#define TRAP(k) do { ex->trap_ip = ip; ex->trap_fn = fn; ki_trap(ex, KRAIT_TRAP_##k); } while (0)

static int32_t dispatch_words[KI_OP_COUNT];

/* The interpreter: runs f (arguments at fp) to completion. Calls and
** returns between wasm functions stay inside this loop; traps longjmp out.
** Called once with s == NULL to publish the dispatch words. */
void ki_run(krait_store *s, krait_func *f, krait_slot *fp) {
  static const int32_t label_offsets[] = {
#define Y(name) (int32_t)((char *)&&L_##name - (char *)&&L_EXIT),
    KI_FIXED_OPS(Y)
#define X(name, code, text, kind, a, r, sem) KI_GEN_##kind(name, a)
#include "decode/opcodes.def"
#undef X
#undef Y
  };
  if (!s) {  /* initialization call: publish the dispatch words */
    for (int i = 0; i < KI_OP_COUNT; i++)
      dispatch_words[i] = KP_THREADED ? label_offsets[i] : i;
    return;
  }
  const char *kbase = (const char *)&&L_EXIT;
  static const uint32_t exit_code[1] = {0};  /* EXIT is op 0, offset 0 */
  ki_exec *ex = &s->ex;
  ki_frame *frame = ex->frame;
  int64_t budget = ex->budget;
  krait_func *fn = f, *callee = f;
  krait_instance *inst = NULL;
  krait_memory *mem = NULL;
  uint8_t *M = NULL;
  uint64_t MS = 0;
  krait_global **G = NULL;
  const uint32_t *ip = exit_code, *ret = exit_code;
  krait_slot *nfp = fp;
  goto do_call;

sw_dispatch: __attribute__((unused));
  switch ((ki_op)*ip) {
#define Y(name) case KI_##name: goto L_##name;
    KI_FIXED_OPS(Y)
#define X(name, code, text, kind, a, r, sem) KI_GEN_##kind(name, a)
#include "decode/opcodes.def"
#undef X
#undef Y
  default: TRAP(UNREACHABLE);
  }

L_EXIT:
  ex->frame = frame;
  ex->budget = budget;
  return;
L_UNREACHABLE: TRAP(UNREACHABLE);
L_COPY: S(1) = S(2); ip += 3; NEXT();
L_COPY2: S(1) = S(2); S(3) = S(4); ip += 5; NEXT();
L_CONSTS: {
  /* the table holds each constant as two little-endian words: a slot */
  _Static_assert(sizeof(krait_slot) == 8, "a slot is 64 bits");
  memcpy(&fp[ip[1]], ip + ip[3], (size_t)ip[2] * sizeof(krait_slot));
  ip += 4;
  NEXT();
}
L_I32_ADD_MEM_G: {
  uint8_t *p = M + (uint64_t)RD_I32(S(1)) + ip[3];
  uint32_t v;
  memcpy(&v, p, 4); v += ip[2]; memcpy(p, &v, 4);
  ip += 4; NEXT();
}
L_I32_ADD_MEM_C: {
  uint64_t ea = (uint64_t)RD_I32(S(1)) + ip[3];
  if (KU_UNLIKELY(ea + 4 > MS)) TRAP(MEMORY_OOB);
  uint32_t v;
  memcpy(&v, M + ea, 4); v += ip[2]; memcpy(M + ea, &v, 4);
  ip += 4; NEXT();
}
L_ADD3K: WR_I32(S(1), RD_I32(S(2)) + RD_I32(S(3)) + ip[4]); ip += 5; NEXT();
#define Z(o, i) L_P_##o##_##i: {                                           \
    uint32_t t = pure_I32_##i(RD_I32(S(3)), ip[4]);                          \
    WR_I32(S(1), pure_I32_##o(RD_I32(S(2)), t)); ip += 5; NEXT(); }
KI_PAIRS(Z)
#undef Z
#define Z(o, i) L_PS_##o##_##i: {                                          \
    uint32_t t = pure_I32_##i(RD_I32(S(3)), RD_I32(S(4)));                   \
    WR_I32(S(1), pure_I32_##o(RD_I32(S(2)), t)); ip += 5; NEXT(); }
KI_PAIRS2(Z)
#undef Z
#define Z(o, i) L_PF_##o##_##i: {                                          \
    double t = pure_F64_##i(RD_F64(S(3)), RD_F64(S(4)));                     \
    WR_F64(S(1), pure_F64_##o(RD_F64(S(2)), t)); ip += 5; NEXT(); }
KI_FPAIRS(Z)
#undef Z
#define Z(t, o)                                                             \
  L_LM_##t##_##o##_G: { CT_##t v;                                            \
    memcpy(&v, M + (uint64_t)(uint32_t)(RD_I32(S(3)) + ip[4]) + ip[5], sizeof v); \
    WR_##t(S(1), pure_##t##_##o(RD_##t(S(2)), v)); ip += 6; NEXT(); }        \
  L_LM_##t##_##o##_C: { CT_##t v;                                            \
    uint64_t ea = (uint64_t)(uint32_t)(RD_I32(S(3)) + ip[4]) + ip[5];        \
    if (KU_UNLIKELY(ea + sizeof v > MS)) TRAP(MEMORY_OOB);                   \
    memcpy(&v, M + ea, sizeof v);                                            \
    WR_##t(S(1), pure_##t##_##o(RD_##t(S(2)), v)); ip += 6; NEXT(); }
KI_LOADOPS(Z)
#undef Z
L_CONST: S(1).bits = K64(2); ip += 4; NEXT();
L_CONST2: S(1).bits = K64(2); S(4).bits = K64(5); ip += 7; NEXT();
L_BR: ip += 1 + (int32_t)ip[1]; NEXT();
L_BR_IF:
  if (RD_I32(S(1))) ip += 2 + (int32_t)ip[2]; else ip += 3;
  NEXT();
L_BR_UNLESS:
  if (!RD_I32(S(1))) ip += 2 + (int32_t)ip[2]; else ip += 3;
  NEXT();
L_BR_IF_ANDK:
  if (RD_I32(S(1)) & ip[2]) ip += 3 + (int32_t)ip[3]; else ip += 4;
  NEXT();
L_BR_UNLESS_ANDK:
  if (!(RD_I32(S(1)) & ip[2])) ip += 3 + (int32_t)ip[3]; else ip += 4;
  NEXT();
L_LOOP_BR: CHARGE(ip[2]); ip += 1 + (int32_t)ip[1]; NEXT();
L_LOOP_BR_IF:
  if (RD_I32(S(1))) { CHARGE(ip[3]); ip += 2 + (int32_t)ip[2]; } else ip += 4;
  NEXT();
L_BR_TABLE: {
  uint32_t i = RD_I32(S(1)), n = ip[2];
  if (i > n) i = n;
  ip += 3 + i + (int32_t)ip[3 + i];
  NEXT();
}
L_RET:
  ip = frame->ip; fp = frame->fp; fn = frame->fn; frame--;
  if (fn->inst != inst) RELOAD();
  else { M = mem->base; MS = mem->size; }  /* a callee may have grown it */
  NEXT();
L_RET_G:
  ip = frame->ip; fp = frame->fp; fn = frame->fn; frame--;
  if (fn->inst != inst) RELOAD();
  NEXT();
L_RET1:
  fp[0] = S(1);
  goto L_RET;
L_RET1_G:
  fp[0] = S(1);
  goto L_RET_G;
L_CALL:
  callee = inst->funcs[ip[1]];
  if (KU_UNLIKELY(!callee) && !(callee = kr_func_make(inst, ip[1]))) TRAP(NOMEM);
  nfp = fp + ip[2];
  ret = ip + 3;
  goto do_call;
L_CALL_INDIRECT: {
  krait_table *t = inst->tables[ip[2]];
  uint32_t i = RD_I32(S(4));
  if (i >= t->size) TRAP(UNDEFINED_ELEM);
  callee = t->elems[i];
  if (KU_UNLIKELY(KR_IS_LAZY(callee))) {  /* only funcref tables get here */
    bool oom = false;
    callee = kr_table_ref(t, i, &oom);
    if (oom) TRAP(NOMEM);
  }
  if (!callee) TRAP(UNINIT_ELEM);
  if (callee->type_id != ip[1]) TRAP(INDIRECT_TYPE);
  nfp = fp + ip[3];
  ret = ip + 5;
  goto do_call;
}
L_SELECT: S(1) = RD_I32(S(4)) ? S(2) : S(3); ip += 5; NEXT();
L_GLOBAL_GET: S(1) = G[ip[2]]->val; ip += 3; NEXT();
L_GLOBAL_SET: G[ip[1]]->val = S(2); ip += 3; NEXT();
L_MEMORY_SIZE: WR_I32(S(1), mem->pages); ip += 2; NEXT();
L_MEMORY_GROW:
  WR_I32(S(1), (uint32_t)kr_memory_grow(mem, RD_I32(S(2))));
  M = mem->base; MS = mem->size;
  ip += 3; NEXT();
L_MEMORY_INIT: BULK(kr_memory_init(inst, ip[1], RD_I32(S(2)), RD_I32(S(3)), RD_I32(S(4))), RD_I32(S(4))); ip += 5; NEXT();
L_DATA_DROP: inst->data_len[ip[1]] = 0; ip += 2; NEXT();
L_MEMORY_COPY: BULK(kr_memory_copy(mem, RD_I32(S(1)), RD_I32(S(2)), RD_I32(S(3))), RD_I32(S(3))); ip += 4; NEXT();
L_MEMORY_FILL: BULK(kr_memory_fill(mem, RD_I32(S(1)), RD_I32(S(2)), RD_I32(S(3))), RD_I32(S(3))); ip += 4; NEXT();
L_TABLE_GET: {
  krait_table *t = inst->tables[ip[2]];
  uint32_t i = RD_I32(S(3));
  if (i >= t->size) TRAP(TABLE_OOB);
  bool oom = false;
  S(1).ref = kr_table_ref(t, i, &oom);
  if (oom) TRAP(NOMEM);
  ip += 4; NEXT();
}
L_TABLE_SET: {
  krait_table *t = inst->tables[ip[1]];
  uint32_t i = RD_I32(S(2));
  if (i >= t->size) TRAP(TABLE_OOB);
  t->elems[i] = S(3).ref;
  ip += 4; NEXT();
}
L_TABLE_SIZE: WR_I32(S(1), inst->tables[ip[2]]->size); ip += 3; NEXT();
L_TABLE_GROW: WR_I32(S(1), (uint32_t)kr_table_grow(inst->tables[ip[2]], RD_I32(S(4)), S(3).ref)); ip += 5; NEXT();
L_TABLE_FILL: BULK(kr_table_fill(inst->tables[ip[1]], RD_I32(S(2)), S(3).ref, RD_I32(S(4))), (uint64_t)RD_I32(S(4)) * sizeof(void *)); ip += 5; NEXT();
L_TABLE_COPY: BULK(kr_table_copy(inst->tables[ip[1]], inst->tables[ip[2]], RD_I32(S(3)), RD_I32(S(4)), RD_I32(S(5))), (uint64_t)RD_I32(S(5)) * sizeof(void *)); ip += 6; NEXT();
L_TABLE_INIT: BULK(kr_table_init(inst, ip[1], ip[2], RD_I32(S(3)), RD_I32(S(4)), RD_I32(S(5))), (uint64_t)RD_I32(S(5)) * sizeof(void *)); ip += 6; NEXT();
L_ELEM_DROP: inst->elem_len[ip[1]] = 0; ip += 2; NEXT();
L_REF_IS_NULL: WR_I32(S(1), S(2).ref == NULL); ip += 3; NEXT();
L_REF_FUNC:
  if (!(S(1).ref = kr_func(inst, ip[2]))) TRAP(NOMEM);
  ip += 3;
  NEXT();

#define X(name, code, text, kind, a, r, sem) GEN_##kind(name, a, r, sem)
#include "decode/opcodes.def"
#undef X

do_call:
  if (callee->host) goto do_host;
  {
    ki_code *code = callee->code ? callee->code : ki_code_for(s, callee);
    if (KU_UNLIKELY(frame + 1 >= ex->frames_end ||
                    nfp + code->frame_slots > ex->stack_end))
      TRAP(STACK_EXHAUSTED);
    CHARGE(1);
    ++frame;
    frame->ip = ret; frame->fp = fp; frame->fn = fn;
    /* Zero the locals and the zero slot: usually a handful of slots, so a
    ** plain loop (the empty asm keeps it from becoming a memset call). */
    for (uint32_t i = code->nparams; i < code->nlocals; i++) {
      nfp[i].bits = 0;
      __asm__("" : "+r"(i));
    }
    fp = nfp;
    fn = callee;
    ip = code->start;
    if (fn->inst != inst) RELOAD();
    NEXT();
  }
do_host: {
  uint32_t room = callee->nparams > callee->nresults ? callee->nparams : callee->nresults;
  if (KU_UNLIKELY(nfp + room > ex->stack_end)) TRAP(STACK_EXHAUSTED);
  ex->frame = frame;
  ex->sp_free = nfp + room;
  ex->budget = budget;
  ex->trap_ip = ip;
  ex->trap_fn = fn;
  krait_caller cl = {s, inst, callee};
  int rc = callee->host(&cl, callee->env, nfp);
  budget = ex->budget;
  if (rc) longjmp(*ex->catch, 1);
  ip = ret;
  if (inst) RELOAD();
  NEXT();
}
}

const int32_t *ki_dispatch_words(void) {
  static _Atomic int ready;
  if (!ready) {
    ki_run(NULL, NULL, NULL);
    ready = 1;
  }
  return dispatch_words;
}
