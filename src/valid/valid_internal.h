/*
** valid_internal.h -- state shared by the module and code validators:
** the cursor/catch point and the operand and control stacks.
*/
#ifndef KV_VALID_INTERNAL_H
#define KV_VALID_INTERNAL_H

#include "valid/valid.h"
#include "decode/instr.h"
#include "util/cursor.h"

#define INVALID(c, ...) ku_cfail(c, KRAIT_ERR_INVALID, __VA_ARGS__)

/* A control frame of the validation algorithm (spec appendix). */
typedef struct kv_frame {
  kd_op op;                 /* BLOCK, LOOP, IF (or BLOCK for the function) */
  const uint8_t *params, *results;
  uint32_t nparams, nresults;
  uint32_t height;          /* operand stack height at entry */
  bool unreachable;
} kv_frame;

typedef struct kv_ctx {
  krait_module *m;
  ku_fail fail;
  ku_cursor c;
  uint8_t *ops; uint32_t nops, capops;     /* operand types */
  kv_frame *ctl; uint32_t nctl, capctl;    /* control frames */
  kd_func *f;
} kv_ctx;

/* Validates the body of defined function index fi. */
void kv_check_func(kv_ctx *v, uint32_t fi);

/* Frees the stacks of a context. */
void kv_free_ctx(kv_ctx *v);

#endif
