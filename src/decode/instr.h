/*
** instr.h -- decoding of one instruction (opcode and immediates) from a
** function body; shared by the validator and the interpreter's lowering.
*/
#ifndef KD_INSTR_H
#define KD_INSTR_H

#include "decode/module.h"
#include "util/cursor.h"

/* One decoded instruction. Which fields are set depends on the opcode. */
typedef struct kd_instr {
  kd_op op;
  size_t offset;        /* byte offset of the opcode in the module */
  uint32_t a, b;        /* indices (local, global, func, type, table, label,
                           segment) or memarg align (a) and offset (b) */
  uint64_t k;           /* constant bits for *.const */
  int64_t bt;           /* block type: <0 value type code, >=0 type index */
  uint8_t t;            /* value type for select t / ref.null */
  uint32_t n;           /* br_table: number of labels before the default */
  const uint8_t *tbl;   /* br_table: the LEB128 label list */
} kd_instr;

/* Block type codes (negative s33 values). */
#define KD_BT_EMPTY (-64)

/* Decodes the instruction at c into *in, failing through the cursor on
** malformed input (illegal opcode, bad reserved byte, overlong LEB...). */
void kd_read_instr(ku_cursor *c, kd_instr *in);

/* Converts a negative block type code to a value type, or KD_VOID for
** empty; fails through c when the code is not a value type. */
uint8_t kd_blocktype_valtype(ku_cursor *c, int64_t bt);

/* Reads a reference type byte (funcref or externref). */
uint8_t kd_read_reftype(ku_cursor *c);

/* Reads a value type byte (v128 is reported as unsupported SIMD). */
uint8_t kd_read_valtype(ku_cursor *c);

#endif
