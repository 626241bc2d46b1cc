/*
** code.c -- lazy lowering on first call, trap raising, and mapping code
** positions back to module byte offsets for trap messages.
*/
#include "interp/interp.h"
#include "valid/valid.h"
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

void ki_dump(const ki_code *c, FILE *out);

_Noreturn void ki_trap(ki_exec *ex, krait_trapkind kind) {
  ex->trap = kind;
  longjmp(*ex->catch, 1);
}

/* Validates f's body when its module was made without (native code from
** the same bytes attached: valid.h); traps naming the reason when it is
** not valid, so an unchecked body is never lowered. */
static void check_body(krait_store *s, krait_func *f) {
  krait_error e;
  if (kv_check_body(f->inst->module, f->index, &e) == 0) return;
  ku_fmt(s->ex.trap_msg, sizeof s->ex.trap_msg, "function %u cannot run interpreted: %s", f->index, e.message);
  ki_trap(&s->ex, KRAIT_TRAP_HOST);
}

/* Lowers f's body once per module; concurrent lowerers race on a CAS and
** the loser frees its copy. Traps with NOMEM when lowering cannot allocate. */
void *ki_code_for(krait_store *s, krait_func *f) {
  kd_func *def = f->def;
  ki_code *c = atomic_load(&def->code);
  if (!c) {
    check_body(s, f);
    bool explicit_bounds = s->engine->cfg.bounds == KRAIT_BOUNDS_EXPLICIT;
    c = ki_lower(f->inst->module, f->index, explicit_bounds);
    if (!c) ki_trap(&s->ex, KRAIT_TRAP_NOMEM);
    void *expected = NULL;
    if (!atomic_compare_exchange_strong(&def->code, &expected, c)) {
      ki_code_free(c);
      c = expected;
    }
  }
  f->code = c;
  /* KRAIT_DUMP is read once: this runs at every function's first call in
  ** every instance, which per-request instances make a hot path */
  static atomic_int dump = -1;
  int d = atomic_load_explicit(&dump, memory_order_relaxed);
  if (d < 0) atomic_store_explicit(&dump, d = getenv("KRAIT_DUMP") != NULL, memory_order_relaxed);
  if (d) {
    fprintf(stderr, "== %s (frame %u slots)\n", kr_func_name(f), c->frame_slots);
    ki_dump(c, stderr);
  }
  return c;
}

/* Binary search of the (code index, module offset) map for ip's op. */
size_t ki_wasm_offset(const krait_func *f, const uint32_t *ip) {
  const ki_code *c = f ? f->code : NULL;
  if (!c || ip < c->ops || ip >= c->ops + c->len) return 0;
  uint32_t at = (uint32_t)(ip - c->ops);
  size_t lo = 0, hi = c->nmap;
  while (hi - lo > 1) {  /* last entry with code index <= at */
    size_t mid = (lo + hi) / 2;
    if (c->map[2 * mid] <= at) lo = mid; else hi = mid;
  }
  return c->nmap ? c->map[2 * lo + 1] : 0;
}

static const char *const op_names[] = {
#define Y(name) #name,
  KI_FIXED_OPS(Y)
#define X(name, code, text, kind, a, r, sem) KI_GEN_##kind(name, a)
#include "decode/opcodes.def"
#undef X
#undef Y
};

/* Prints lowered code, one op per line with its operand words; op
** boundaries come from the offset map. A debugging aid (KRAIT_DUMP=1). */
void ki_dump(const ki_code *c, FILE *out) {
  const int32_t *dw = ki_dispatch_words();
  for (size_t i = 0; i < c->nmap; i++) {
    uint32_t at = c->map[2 * i];
    uint32_t end = i + 1 < c->nmap ? c->map[2 * i + 2] : (uint32_t)c->len;
    const char *name = "?";
    for (int k = 0; k < KI_OP_COUNT; k++)
      if (dw[k] == (int32_t)c->ops[at]) { name = op_names[k]; break; }
    fprintf(out, "%5u  %-22s", at, name);
    for (uint32_t w = at + 1; w < end; w++) fprintf(out, " %d", (int32_t)c->ops[w]);
    fprintf(out, "   ; 0x%x\n", c->map[2 * i + 1]);
  }
}

/* True for the internal ops generated from loads (eight per Wasm opcode)
** and stores (six), starting at ki_first_op. */
static bool is_mem_op(int op) {
  if (op == KI_I32_ADD_MEM_G || op == KI_I32_ADD_MEM_C) return true;
#define Z(t, o) if (op == KI_LM_##t##_##o##_G || op == KI_LM_##t##_##o##_C) return true;
  KI_LOADOPS(Z)
#undef Z
  for (int k = 0; k < KD_OP_COUNT; k++) {
    int kind = kd_opinfo_table[k].kind;
    int first = ki_first_op((kd_op)k);
    int n = kind == KD_K_LOAD ? 8 : kind == KD_K_STORE ? 6 : 0;
    if (n && op >= first && op < first + n) return true;
  }
  return false;
}

/* A guard-page fault leaves ip at the faulting op or just past it (the
** compiler may advance ip early): returns the memory op's own position. */
const uint32_t *ki_fault_ip(const krait_func *f, const uint32_t *ip) {
  const ki_code *c = f->code;
  const int32_t *dw = ki_dispatch_words();
  uint32_t at = (uint32_t)(ip - c->ops);
  for (size_t i = c->nmap; i > 0; i--) {
    if (c->map[2 * (i - 1)] > at) continue;
    for (size_t k = i; k > 0 && k + 2 > i; k--) {  /* this op, then the one before */
      uint32_t p = c->map[2 * (k - 1)];
      for (int op = 0; op < KI_OP_COUNT; op++)
        if (dw[op] == (int32_t)c->ops[p] && is_mem_op(op)) return c->ops + p;
    }
    break;
  }
  return ip;
}
