/*
** ops.h -- the interpreter's internal instruction set. Numeric, load and
** store ops are generated from decode/opcodes.def; the rest are listed here.
*/
#ifndef KI_OPS_H
#define KI_OPS_H

#include "decode/module.h"

/* Hand-written internal ops: control flow, data movement, calls, and the
** helpers for tables and bulk memory. Operand words follow each op. */
#define KI_MANUAL_OPS(Y)                                                   \
  Y(EXIT)            /* leave ki_run */                                    \
  Y(UNREACHABLE)     /* trap */                                            \
  Y(COPY)            /* dst src */                                         \
  Y(COPY2)           /* dst src dst2 src2 */                               \
  Y(ADD3K)           /* dst a b k: a + b + k, i32 */                       \
  Y(CONSTS)          /* first n table: fills constant slots at entry */    \
  Y(I32_ADD_MEM_G)   /* addr k off: i32 at addr+off += k (guard mode) */   \
  Y(I32_ADD_MEM_C)   /* the same with an explicit bounds check */          \
  Y(CONST)           /* dst lo hi */                                       \
  Y(CONST2)          /* dst lo hi dst2 lo2 hi2: two CONSTs */              \
  Y(BR)              /* target */                                          \
  Y(BR_IF)           /* cond target */                                     \
  Y(BR_UNLESS)       /* cond target */                                     \
  Y(LOOP_BR)         /* target cost: back-edge with interrupt check */     \
  Y(BR_IF_ANDK)      /* x k target: jump if (x & k) != 0 (flag tests) */   \
  Y(BR_UNLESS_ANDK)  /* x k target: jump if (x & k) == 0 */                \
  Y(LOOP_BR_IF)      /* cond target cost */                                \
  Y(BR_TABLE)        /* idx n target*(n+1) */                              \
  Y(RET)             /* results already in fp[0..]; reloads memory base */ \
  Y(RET_G)           /* RET for guard mode: a memory's base never moves */ \
  Y(RET1)            /* src: fp[0] = src, then RET */                      \
  Y(RET1_G)          /* src: fp[0] = src, then RET_G */                    \
  Y(CALL)            /* funcidx base */                                    \
  Y(CALL_INDIRECT)   /* typeid table base idxslot */                       \
  Y(SELECT)          /* dst a b cond */                                    \
  Y(GLOBAL_GET)      /* dst idx */                                         \
  Y(GLOBAL_SET)      /* idx src */                                         \
  Y(MEMORY_SIZE)     /* dst */                                             \
  Y(MEMORY_GROW)     /* dst delta */                                       \
  Y(MEMORY_INIT)     /* seg d s n */                                       \
  Y(DATA_DROP)       /* seg */                                             \
  Y(MEMORY_COPY)     /* d s n */                                           \
  Y(MEMORY_FILL)     /* d v n */                                           \
  Y(TABLE_GET)       /* dst tab idx */                                     \
  Y(TABLE_SET)       /* tab idx val */                                     \
  Y(TABLE_SIZE)      /* dst tab */                                         \
  Y(TABLE_GROW)      /* dst tab init n */                                  \
  Y(TABLE_FILL)      /* tab i v n */                                       \
  Y(TABLE_COPY)      /* dtab stab d s n */                                 \
  Y(TABLE_INIT)      /* tab seg d s n */                                   \
  Y(ELEM_DROP)       /* seg */                                             \
  Y(REF_IS_NULL)     /* dst a */                                           \
  Y(REF_FUNC)        /* dst funcidx */

/* Fused i32 pairs OUTER(a, INNER(x, k)), made by the lowering when INNER's
** result is a dead temp consumed right away: P_OUTER_INNER dst a x k. The
** semantics come from opcodes.def (see vm.c). */
#define KI_PAIRS_WITH(Z, in) Z(ADD, in) Z(XOR, in) Z(OR, in) Z(AND, in)
#define KI_PAIRS(Z)                                                        \
  KI_PAIRS_WITH(Z, SHL) KI_PAIRS_WITH(Z, SHR_U) KI_PAIRS_WITH(Z, SHR_S)   \
  KI_PAIRS_WITH(Z, ROTL) KI_PAIRS_WITH(Z, ROTR) KI_PAIRS_WITH(Z, AND)     \
  KI_PAIRS_WITH(Z, ADD) KI_PAIRS_WITH(Z, XOR)
#define KI_PAIR_Y(o, i) Y(P_##o##_##i)
/* The same with a two-slot INNER: PS_OUTER_INNER dst a x y computes
** OUTER(a, INNER(x, y)). */
#define KI_PAIRS2(Z)                                                       \
  KI_PAIRS_WITH(Z, AND) KI_PAIRS_WITH(Z, XOR) KI_PAIRS_WITH(Z, OR)        \
  KI_PAIRS_WITH(Z, ADD)
#define KI_PAIR2_Y(o, i) Y(PS_##o##_##i)
/* f64 pairs OUTER(a, INNER(x, y)), each op rounded as separate ops are:
** PF_OUTER_INNER dst a x y. */
#define KI_FPAIRS(Z)                                                       \
  Z(ADD, MUL) Z(ADD, ADD) Z(ADD, SUB) Z(MUL, MUL) Z(MUL, ADD) Z(MUL, SUB)
#define KI_FPAIR_Y(o, i) Y(PF_##o##_##i)

/* Binary ops with a just-loaded operand: LM_T_OP_G dst x a k off computes
** dst = OP(x, load_T((a + k) mod 2^32 + off)); _C checks bounds. */
#define KI_LOADOPS(Z)                                                      \
  Z(I32, ADD) Z(I32, SUB) Z(I32, AND) Z(I32, OR) Z(I32, XOR) Z(I64, ADD)   \
  Z(F64, ADD) Z(F64, SUB) Z(F64, MUL) Z(F32, ADD) Z(F32, SUB) Z(F32, MUL)
#define KI_LOADOP_Y(t, o) Y(LM_##t##_##o##_G) Y(LM_##t##_##o##_C)

/* Every hand-listed op, in enum order (the generated ones follow). */
#define KI_FIXED_OPS(Y)                                                    \
  KI_MANUAL_OPS(Y) KI_PAIRS(KI_PAIR_Y) KI_PAIRS2(KI_PAIR2_Y)               \
  KI_FPAIRS(KI_FPAIR_Y) KI_LOADOPS(KI_LOADOP_Y)

/* Generated variants per opcodes.def kind:
**   BIN:   NAME_SS dst a b        NAME_SK dst a lo hi
**   CMP:   as BIN, plus compare-and-branch: NAME_JSS a b target cost,
**          NAME_JSK a lo hi target cost (jump if true), NAME_N* (if false);
**          i32 ones also NAME_AJSS x src k b target cost (x = src + k, then
**          compare x with b and jump if true: a loop latch), NAME_AJSK with
**          b an immediate word; NAME_ASJSS/ASJSK the same with x = src + y
**          (y a slot)
**   UN:    NAME_S  dst a
**   LOAD:  NAME_G  dst addr off   NAME_C (explicit bounds check)
**          NAME_GK dst a k off    address (a + k) mod 2^32, a fused i32.add
**          NAME_GS dst a b off    address (a + b) mod 2^32
**          NAME_GX dst x s k off  address ((x << s) + k) mod 2^32 (loads only)
**   STORE: NAME_G  addr val off, NAME_GK a k val off, NAME_GS a b val off,
**          and the _C forms                                             */
#define KI_GEN_SPECIAL(name, a)
#define KI_GEN_UN(name, a) Y(name##_S)
#define KI_GEN_BIN(name, a) Y(name##_SS) Y(name##_SK)
#define KI_GEN_CMP(name, a) Y(name##_SS) Y(name##_SK) Y(name##_JSS) Y(name##_JSK) \
                            Y(name##_NSS) Y(name##_NSK) KI_GEN_ADDJ_##a(name)
#define KI_GEN_ADDJ_I32(name) Y(name##_AJSS) Y(name##_AJSK) Y(name##_ASJSS) Y(name##_ASJSK)
#define KI_GEN_ADDJ_I64(name)
#define KI_GEN_ADDJ_F32(name)
#define KI_GEN_ADDJ_F64(name)
#define KI_GEN_LOAD(name, a) Y(name##_G) Y(name##_C) Y(name##_GK) Y(name##_CK) \
                             Y(name##_GS) Y(name##_CS) Y(name##_GX) Y(name##_CX)
#define KI_GEN_STORE(name, a) Y(name##_G) Y(name##_C) Y(name##_GK) Y(name##_CK) \
                              Y(name##_GS) Y(name##_CS)

typedef enum ki_op {
#define Y(name) KI_##name,
  KI_FIXED_OPS(Y)
#define X(name, code, text, kind, a, r, sem) KI_GEN_##kind(name, a)
#include "decode/opcodes.def"
#undef X
#undef Y
  KI_OP_COUNT
} ki_op;

#endif
