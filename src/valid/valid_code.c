/*
** valid_code.c -- validation of function bodies with the spec's operand
** and control stack algorithm. Owns type rules of every instruction.
*/
#include "valid/valid_internal.h"

static uint8_t single_types[16][1] = {
  {KD_I32}, {KD_I64}, {KD_F32}, {KD_F64}, {KD_FUNCREF}, {KD_EXTERNREF}};

/* Pushes an operand type, tracking the function's maximum height. */
static void push(kv_ctx *v, uint8_t t) {
  if (v->nops == v->capops) {
    uint32_t cap = v->capops ? v->capops * 2 : 64;
    uint8_t *p = ku_realloc(v->ops, cap);
    if (!p) ku_cfail(&v->c, KRAIT_ERR_NOMEM, "out of memory");
    v->ops = p;
    v->capops = cap;
  }
  v->ops[v->nops++] = t;
  if (v->nops > v->f->max_height) v->f->max_height = v->nops;
}

/* Pops one operand, KD_UNKNOWN in unreachable code below the frame base. */
static uint8_t pop_any(kv_ctx *v) {
  kv_frame *fr = &v->ctl[v->nctl - 1];
  if (v->nops == fr->height) {
    if (fr->unreachable) return KD_UNKNOWN;
    INVALID(&v->c, "type mismatch: operand stack underflow");
  }
  return v->ops[--v->nops];
}

static uint8_t pop(kv_ctx *v, uint8_t want) {
  uint8_t t = pop_any(v);
  if (t != want && t != KD_UNKNOWN && want != KD_UNKNOWN)
    INVALID(&v->c, "type mismatch: expected %s, got %s", kd_valtype_name(want),
            kd_valtype_name(t));
  return t == KD_UNKNOWN ? want : t;
}

static void pop_n(kv_ctx *v, const uint8_t *ts, uint32_t n) {
  for (uint32_t i = n; i > 0; i--) pop(v, ts[i - 1]);
}

static void push_n(kv_ctx *v, const uint8_t *ts, uint32_t n) {
  for (uint32_t i = 0; i < n; i++) push(v, ts[i]);
}

/* Opens a control frame and pushes its parameters. */
static void push_ctl(kv_ctx *v, kd_op op, const uint8_t *in, uint32_t nin,
                     const uint8_t *out, uint32_t nout) {
  if (v->nctl == v->capctl) {
    uint32_t cap = v->capctl ? v->capctl * 2 : 16;
    kv_frame *p = ku_realloc(v->ctl, cap * sizeof *p);
    if (!p) ku_cfail(&v->c, KRAIT_ERR_NOMEM, "out of memory");
    v->ctl = p;
    v->capctl = cap;
  }
  v->ctl[v->nctl++] = (kv_frame){op, in, out, nin, nout, v->nops, false};
  push_n(v, in, nin);
}

static kv_frame pop_ctl(kv_ctx *v) {
  kv_frame fr = v->ctl[v->nctl - 1];
  pop_n(v, fr.results, fr.nresults);
  if (v->nops != fr.height) INVALID(&v->c, "type mismatch: values remain on the stack at end of block");
  v->nctl--;
  return fr;
}

static void set_unreachable(kv_ctx *v) {
  kv_frame *fr = &v->ctl[v->nctl - 1];
  v->nops = fr->height;
  fr->unreachable = true;
}

/* The label types of frame depth n: params for loops, results otherwise. */
static const uint8_t *label_types(kv_ctx *v, uint32_t depth, uint32_t *n) {
  if (depth >= v->nctl) INVALID(&v->c, "unknown label %u", depth);
  kv_frame *fr = &v->ctl[v->nctl - 1 - depth];
  *n = fr->op == KD_OP_LOOP ? fr->nparams : fr->nresults;
  return fr->op == KD_OP_LOOP ? fr->params : fr->results;
}

/* Resolves a block type into parameter and result type lists. */
static void block_sig(kv_ctx *v, int64_t bt, const uint8_t **in, uint32_t *nin,
                      const uint8_t **out, uint32_t *nout) {
  *in = NULL; *nin = 0; *out = NULL; *nout = 0;
  if (bt >= 0) {
    if (bt >= v->m->ntypes) INVALID(&v->c, "unknown type %lld", (long long)bt);
    const kd_functype *t = &v->m->types[bt];
    *in = t->params; *nin = t->nparams; *out = t->results; *nout = t->nresults;
    return;
  }
  uint8_t vt = kd_blocktype_valtype(&v->c, bt);
  if (vt != KD_VOID) { *out = single_types[vt]; *nout = 1; }
}

static void check_memory(kv_ctx *v) {
  if (v->m->nmems == 0) INVALID(&v->c, "unknown memory 0");
}

static void check_table(kv_ctx *v, uint32_t t) {
  if (t >= v->m->ntables) INVALID(&v->c, "unknown table %u", t);
}

static void check_data(kv_ctx *v, uint32_t d) {
  if (!v->m->has_datacount) ku_cfail(&v->c, KRAIT_ERR_MALFORMED, "data count section required");
  if (d >= v->m->datacount) INVALID(&v->c, "unknown data segment %u", d);
}

static void check_elem(kv_ctx *v, uint32_t e) {
  if (e >= v->m->nelems) INVALID(&v->c, "unknown elem segment %u", e);
}

static uint8_t local_type(kv_ctx *v, uint32_t i) {
  if (i >= v->f->nlocals) INVALID(&v->c, "unknown local %u", i);
  return v->f->local_types[i];
}

static uint8_t global_type(kv_ctx *v, uint32_t i) {
  if (i >= v->m->nglobals) INVALID(&v->c, "unknown global %u", i);
  return v->m->globals[i].type;
}

static void check_memarg(kv_ctx *v, const kd_instr *in) {
  check_memory(v);
  uint32_t natural = (uint32_t)__builtin_ctz(kd_opinfo_table[in->op].size);
  if (in->a > natural) INVALID(&v->c, "alignment must not be larger than natural");
}

/* Control instructions: block, loop, if, else, end, branches, return. */
static bool check_control(kv_ctx *v, const kd_instr *in) {
  const uint8_t *pin, *pout, *lt;
  uint32_t nin, nout, n;
  switch (in->op) {
  case KD_OP_BLOCK: case KD_OP_LOOP: case KD_OP_IF:
    block_sig(v, in->bt, &pin, &nin, &pout, &nout);
    if (in->op == KD_OP_IF) pop(v, KD_I32);
    pop_n(v, pin, nin);
    push_ctl(v, in->op, pin, nin, pout, nout);
    return true;
  case KD_OP_ELSE: {
    kv_frame fr = v->ctl[v->nctl - 1];
    if (fr.op != KD_OP_IF) INVALID(&v->c, "else without matching if");
    pop_ctl(v);
    push_ctl(v, KD_OP_ELSE, fr.params, fr.nparams, fr.results, fr.nresults);
    return true;
  }
  case KD_OP_END: {
    kv_frame fr = pop_ctl(v);
    if (fr.op == KD_OP_IF && (fr.nparams != fr.nresults ||
        (fr.nparams && memcmp(fr.params, fr.results, fr.nparams) != 0)))
      INVALID(&v->c, "type mismatch: if without else must have matching param and result types");
    push_n(v, fr.results, fr.nresults);
    return true;
  }
  case KD_OP_BR:
    lt = label_types(v, in->a, &n);
    pop_n(v, lt, n);
    set_unreachable(v);
    return true;
  case KD_OP_BR_IF:
    pop(v, KD_I32);
    lt = label_types(v, in->a, &n);
    pop_n(v, lt, n);
    push_n(v, lt, n);
    return true;
  case KD_OP_RETURN:
    pop_n(v, v->ctl[0].results, v->ctl[0].nresults);
    set_unreachable(v);
    return true;
  default:
    return false;
  }
}

/* Checks that the top n operands match ts without popping them; operands
** below the frame base are unknown in unreachable code. */
static void check_top(kv_ctx *v, const uint8_t *ts, uint32_t n) {
  kv_frame *fr = &v->ctl[v->nctl - 1];
  for (uint32_t k = 0; k < n; k++) {
    int64_t idx = (int64_t)v->nops - n + k;
    if (idx < (int64_t)fr->height) {
      if (!fr->unreachable) INVALID(&v->c, "type mismatch: operand stack underflow");
      continue;
    }
    uint8_t t = v->ops[idx];
    if (t != ts[k] && t != KD_UNKNOWN)
      INVALID(&v->c, "type mismatch: expected %s, got %s", kd_valtype_name(ts[k]), kd_valtype_name(t));
  }
}

/* br_table: every label must accept the same number of operands, and the
** operands must match each label's types. */
static void check_br_table(kv_ctx *v, const kd_instr *in) {
  pop(v, KD_I32);
  uint32_t arity;
  label_types(v, in->a, &arity);
  ku_cursor t = {in->tbl, v->c.end, v->c.base, v->c.what, v->c.fail};
  for (uint32_t i = 0; i <= in->n; i++) {
    uint32_t depth = i < in->n ? ku_u32(&t) : in->a, n;
    const uint8_t *lt = label_types(v, depth, &n);
    if (n != arity) INVALID(&v->c, "type mismatch: br_table labels have different arity");
    check_top(v, lt, n);
  }
  set_unreachable(v);
}

static void check_call(kv_ctx *v, const kd_functype *t) {
  pop_n(v, t->params, t->nparams);
  push_n(v, t->results, t->nresults);
}

static void check_call_indirect(kv_ctx *v, const kd_instr *in) {
  check_table(v, in->b);
  if (v->m->tables[in->b].elem != KD_FUNCREF)
    INVALID(&v->c, "type mismatch: call_indirect table %u is not funcref", in->b);
  if (in->a >= v->m->ntypes) INVALID(&v->c, "unknown type %u", in->a);
  pop(v, KD_I32);
  check_call(v, &v->m->types[in->a]);
}

static bool is_num(uint8_t t) { return t <= KD_F64 || t == KD_UNKNOWN; }

/* select: typed form, or the untyped form on numeric operands only. */
static void check_select(kv_ctx *v, const kd_instr *in) {
  pop(v, KD_I32);
  if (in->op == KD_OP_SELECT_T) {
    pop(v, in->t);
    pop(v, in->t);
    push(v, in->t);
    return;
  }
  uint8_t t1 = pop_any(v), t2 = pop_any(v);
  if (!is_num(t1) || !is_num(t2))
    INVALID(&v->c, "type mismatch: select without type needs numeric operands");
  if (t1 != t2 && t1 != KD_UNKNOWN && t2 != KD_UNKNOWN)
    INVALID(&v->c, "type mismatch: select operands %s and %s", kd_valtype_name(t1), kd_valtype_name(t2));
  push(v, t1 == KD_UNKNOWN ? t2 : t1);
}

/* Variables, references and calls. */
static bool check_variable(kv_ctx *v, const kd_instr *in) {
  krait_module *m = v->m;
  uint8_t t;
  switch (in->op) {
  case KD_OP_LOCAL_GET: push(v, local_type(v, in->a)); return true;
  case KD_OP_LOCAL_SET: pop(v, local_type(v, in->a)); return true;
  case KD_OP_LOCAL_TEE: t = local_type(v, in->a); pop(v, t); push(v, t); return true;
  case KD_OP_GLOBAL_GET: push(v, global_type(v, in->a)); return true;
  case KD_OP_GLOBAL_SET:
    t = global_type(v, in->a);
    if (!m->globals[in->a].mut) INVALID(&v->c, "global is immutable (global %u)", in->a);
    pop(v, t);
    return true;
  case KD_OP_CALL:
    if (in->a >= m->nfuncs) INVALID(&v->c, "unknown function %u", in->a);
    check_call(v, kd_func_type(m, in->a));
    return true;
  case KD_OP_CALL_INDIRECT: check_call_indirect(v, in); return true;
  case KD_OP_REF_NULL: push(v, in->t); return true;
  case KD_OP_REF_IS_NULL:
    t = pop_any(v);
    if (t != KD_FUNCREF && t != KD_EXTERNREF && t != KD_UNKNOWN)
      INVALID(&v->c, "type mismatch: ref.is_null needs a reference, got %s", kd_valtype_name(t));
    push(v, KD_I32);
    return true;
  case KD_OP_REF_FUNC:
    if (in->a >= m->nfuncs) INVALID(&v->c, "unknown function %u", in->a);
    if (!m->func_declared[in->a]) INVALID(&v->c, "undeclared function reference %u", in->a);
    push(v, KD_FUNCREF);
    return true;
  default: return false;
  }
}

/* Tables: get/set/size/grow/fill/copy/init and elem.drop. */
static bool check_table_op(kv_ctx *v, const kd_instr *in) {
  krait_module *m = v->m;
  uint8_t et;
  switch (in->op) {
  case KD_OP_TABLE_GET: check_table(v, in->a); pop(v, KD_I32); push(v, m->tables[in->a].elem); return true;
  case KD_OP_TABLE_SET: check_table(v, in->a); pop(v, m->tables[in->a].elem); pop(v, KD_I32); return true;
  case KD_OP_TABLE_SIZE: check_table(v, in->a); push(v, KD_I32); return true;
  case KD_OP_TABLE_GROW:
    check_table(v, in->a); pop(v, KD_I32); pop(v, m->tables[in->a].elem); push(v, KD_I32); return true;
  case KD_OP_TABLE_FILL:
    check_table(v, in->a); pop(v, KD_I32); pop(v, m->tables[in->a].elem); pop(v, KD_I32); return true;
  case KD_OP_TABLE_COPY:
    check_table(v, in->a); check_table(v, in->b);
    if (m->tables[in->a].elem != m->tables[in->b].elem) INVALID(&v->c, "type mismatch: table.copy between %s and %s tables", kd_valtype_name(m->tables[in->a].elem), kd_valtype_name(m->tables[in->b].elem));
    pop(v, KD_I32); pop(v, KD_I32); pop(v, KD_I32); return true;
  case KD_OP_TABLE_INIT:   /* a = elem segment, b = table */
    check_elem(v, in->a); check_table(v, in->b);
    et = m->elems[in->a].type;
    if (et != m->tables[in->b].elem) INVALID(&v->c, "type mismatch: table.init of %s segment into %s table", kd_valtype_name(et), kd_valtype_name(m->tables[in->b].elem));
    pop(v, KD_I32); pop(v, KD_I32); pop(v, KD_I32); return true;
  case KD_OP_ELEM_DROP: check_elem(v, in->a); return true;
  default: return false;
  }
}

/* Memory size/grow and the bulk memory operations. */
static bool check_memory_op(kv_ctx *v, const kd_instr *in) {
  switch (in->op) {
  case KD_OP_MEMORY_SIZE: check_memory(v); push(v, KD_I32); return true;
  case KD_OP_MEMORY_GROW: check_memory(v); pop(v, KD_I32); push(v, KD_I32); return true;
  case KD_OP_MEMORY_INIT:
    check_memory(v); check_data(v, in->a);
    pop(v, KD_I32); pop(v, KD_I32); pop(v, KD_I32); return true;
  case KD_OP_DATA_DROP: check_data(v, in->a); return true;
  case KD_OP_MEMORY_COPY: case KD_OP_MEMORY_FILL:
    check_memory(v); pop(v, KD_I32); pop(v, KD_I32); pop(v, KD_I32); return true;
  default: return false;
  }
}

/* Applies the typing rule of one instruction. */
static void check_instr(kv_ctx *v, const kd_instr *in) {
  const kd_opinfo *oi = &kd_opinfo_table[in->op];
  switch (oi->kind) {
  case KD_K_UN: pop(v, oi->a); push(v, oi->r); return;
  case KD_K_BIN: case KD_K_CMP: pop(v, oi->a); pop(v, oi->a); push(v, oi->r); return;
  case KD_K_LOAD: check_memarg(v, in); pop(v, KD_I32); push(v, oi->r); return;
  case KD_K_STORE: check_memarg(v, in); pop(v, oi->r); pop(v, KD_I32); return;
  default: break;
  }
  switch (in->op) {
  case KD_OP_UNREACHABLE: set_unreachable(v); return;
  case KD_OP_NOP: return;
  case KD_OP_DROP: pop_any(v); return;
  case KD_OP_SELECT: case KD_OP_SELECT_T: check_select(v, in); return;
  case KD_OP_BR_TABLE: check_br_table(v, in); return;
  case KD_OP_I32_CONST: push(v, KD_I32); return;
  case KD_OP_I64_CONST: push(v, KD_I64); return;
  case KD_OP_F32_CONST: push(v, KD_F32); return;
  case KD_OP_F64_CONST: push(v, KD_F64); return;
  default: break;
  }
  if (check_control(v, in) || check_variable(v, in) || check_table_op(v, in) ||
      check_memory_op(v, in))
    return;
  INVALID(&v->c, "unhandled opcode %s", kd_op_name(in->op));
}

/* Validates one function body until its final end. */
void kv_check_func(kv_ctx *v, uint32_t fi) {
  krait_module *m = v->m;
  kd_func *f = &m->funcs[fi];
  const kd_functype *t = kd_func_type(m, fi);
  v->f = f;
  v->nops = v->nctl = 0;
  v->c = (ku_cursor){f->body, f->body + f->body_len, m->bytes, "code", &v->fail};
  push_ctl(v, KD_OP_BLOCK, NULL, 0, t->results, t->nresults);
  while (v->nctl > 0) {
    if (ku_eof(&v->c))
      ku_cfail(&v->c, KRAIT_ERR_MALFORMED, "unexpected end of section or function (function %u)", fi);
    kd_instr in;
    kd_read_instr(&v->c, &in);
    check_instr(v, &in);
  }
  if (!ku_eof(&v->c))
    ku_cfail(&v->c, KRAIT_ERR_MALFORMED, "section size mismatch: code after the end of function %u", fi);
}

void kv_free_ctx(kv_ctx *v) {
  ku_free(v->ops);
  ku_free(v->ctl);
  v->ops = NULL;
  v->ctl = NULL;
  v->capops = v->capctl = 0;
}
