/*
** instr.c -- the single decoder of instruction immediates. The validator
** and the lowering both walk bodies through kd_read_instr.
*/
#include "decode/instr.h"

#define MALFORMED(c, ...) ku_cfail(c, KRAIT_ERR_MALFORMED, __VA_ARGS__)

/* Reads the opcode, including the 0xFC prefix; rejects unknown ones. */
static kd_op read_opcode(ku_cursor *c) {
  uint8_t b = ku_u8(c);
  uint32_t code = b;
  if (b == 0xFD) { c->p--; ku_cfail(c, KRAIT_ERR_UNSUPPORTED, "SIMD not supported yet (opcode 0xFD)"); }
  if (b == 0xFC) {
    uint32_t sub = ku_u32(c);
    if (sub > 0xFF) MALFORMED(c, "illegal opcode 0xFC %u", sub);
    code = 0xFC00 | sub;
  }
  int op = kd_op_from_code(code);
  if (op < 0) {
    c->p--;
    MALFORMED(c, "illegal opcode 0x%x", code);
  }
  return (kd_op)op;
}

static void zero_byte(ku_cursor *c) {
  if (ku_u8(c) != 0) { c->p--; MALFORMED(c, "zero byte expected"); }
}

/* Maps a negative block type code to its single result type. */
uint8_t kd_blocktype_valtype(ku_cursor *c, int64_t bt) {
  switch (bt) {
  case KD_BT_EMPTY: return KD_VOID;
  case -1: return KD_I32;
  case -2: return KD_I64;
  case -3: return KD_F32;
  case -4: return KD_F64;
  case -16: return KD_FUNCREF;
  case -17: return KD_EXTERNREF;
  case -5: ku_cfail(c, KRAIT_ERR_UNSUPPORTED, "SIMD not supported yet (v128 block)");
  default: MALFORMED(c, "malformed block type %lld", (long long)bt);
  }
}

/* Reads br_table's label vector, remembering where it starts. */
static void read_br_table(ku_cursor *c, kd_instr *in) {
  in->n = ku_u32(c);
  if (in->n > (size_t)(c->end - c->p)) MALFORMED(c, "length out of bounds");
  in->tbl = c->p;
  for (uint32_t i = 0; i < in->n; i++) ku_u32(c);
  in->a = ku_u32(c);  /* default label */
}

/* Reads the immediates of the hand-decoded (SPECIAL) opcodes. */
static void read_special(ku_cursor *c, kd_instr *in) {
  switch (in->op) {
  case KD_OP_BLOCK: case KD_OP_LOOP: case KD_OP_IF:
    in->bt = ku_s33(c);
    if (in->bt < 0) kd_blocktype_valtype(c, in->bt);
    break;
  case KD_OP_BR: case KD_OP_BR_IF: case KD_OP_CALL:
  case KD_OP_LOCAL_GET: case KD_OP_LOCAL_SET: case KD_OP_LOCAL_TEE:
  case KD_OP_GLOBAL_GET: case KD_OP_GLOBAL_SET: case KD_OP_TABLE_GET:
  case KD_OP_TABLE_SET: case KD_OP_REF_FUNC: case KD_OP_DATA_DROP:
  case KD_OP_ELEM_DROP: case KD_OP_TABLE_GROW: case KD_OP_TABLE_SIZE:
  case KD_OP_TABLE_FILL:
    in->a = ku_u32(c);
    break;
  case KD_OP_BR_TABLE: read_br_table(c, in); break;
  case KD_OP_CALL_INDIRECT: in->a = ku_u32(c); in->b = ku_u32(c); break;
  case KD_OP_SELECT_T:
    in->n = ku_u32(c);
    if (in->n != 1) ku_cfail(c, KRAIT_ERR_INVALID, "invalid result arity");
    in->t = kd_read_valtype(c);
    break;
  case KD_OP_MEMORY_SIZE: case KD_OP_MEMORY_GROW: zero_byte(c); break;
  case KD_OP_I32_CONST: in->k = (uint32_t)ku_s32(c); break;
  case KD_OP_I64_CONST: in->k = (uint64_t)ku_s64(c); break;
  case KD_OP_F32_CONST: in->k = ku_fixed32(c); break;
  case KD_OP_F64_CONST: in->k = ku_fixed64(c); break;
  case KD_OP_REF_NULL: in->t = kd_read_reftype(c); break;
  case KD_OP_MEMORY_INIT: in->a = ku_u32(c); zero_byte(c); break;
  case KD_OP_MEMORY_COPY: zero_byte(c); zero_byte(c); break;
  case KD_OP_MEMORY_FILL: zero_byte(c); break;
  case KD_OP_TABLE_INIT: in->a = ku_u32(c); in->b = ku_u32(c); break;
  case KD_OP_TABLE_COPY: in->a = ku_u32(c); in->b = ku_u32(c); break;
  default: break;
  }
}

/* Decodes one instruction: opcode, then memarg or the special immediates. */
void kd_read_instr(ku_cursor *c, kd_instr *in) {
  in->offset = ku_offset(c);
  in->op = read_opcode(c);
  uint8_t kind = kd_opinfo_table[in->op].kind;
  if (kind == KD_K_LOAD || kind == KD_K_STORE) {
    in->a = ku_u32(c);  /* alignment exponent */
    in->b = ku_u32(c);  /* offset */
  } else if (kind == KD_K_SPECIAL) {
    read_special(c, in);
  }
}
