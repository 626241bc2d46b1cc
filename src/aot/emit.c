/*
** emit.c -- the AOT translator: one validated function body at a time into
** C (operands and locals as C locals, flat labels and gotos). Owns the C
** text of function bodies; not the unit layout or prelude (unit.c).
*/
#include "aot/aot_internal.h"
#include "decode/instr.h"
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The operand/result types and semantics text of every op, from the one
** opcode list. LOAD/STORE: a is the C type read or written. */
typedef struct em_sem { const char *sem, *mt; } em_sem;
static const em_sem sems[KD_OP_COUNT] = {
#define X(name, code, text, kind, a, r, sem) [KD_OP_##name] = {#sem, #a},
#include "decode/opcodes.def"
#undef X
};

enum { C_BLOCK, C_LOOP, C_IF, C_FUNC };

/* One entry of the control stack. */
typedef struct em_ctl {
  uint8_t kind;
  bool has_else, end_used;
  uint32_t id;                 /* label number */
  uint32_t base;               /* operand height below the block's params */
  uint32_t np, nr;
  const uint8_t *pt, *rt;
  uint32_t ninstr;             /* instruction count at a loop's start */
} em_ctl;

typedef struct em {
  FILE *o;                     /* body text */
  FILE *d;                     /* extra declarations (if-params) */
  const krait_module *m;
  const char *px;              /* symbol prefix */
  bool explicit_bounds;
  uint32_t fi;
  const kd_functype *ft;
  uint8_t *st;                 /* operand types by height */
  uint8_t *used;               /* per height: bit per type letter used */
  uint32_t h, hcap;
  em_ctl *cs;
  uint32_t nc, ccap;
  bool dead;
  uint32_t dead_depth, ninstr, nlabels;
  size_t off;                  /* offset of the current instruction */
  bool calls;                  /* the body calls (not a leaf) */
  uint32_t *edges;             /* per label: back-edges to it, +1 if a loop */
  uint32_t ecap;
  ku_fail fail;
} em;

static const char *const TLETTER = "ilfdrr";

/* The C type of a value type. */
const char *kaot_ctype(uint8_t t) {
  switch (t) {
  case KD_I32: return "uint32_t";
  case KD_I64: return "uint64_t";
  case KD_F32: return "float";
  case KD_F64: return "double";
  default: return "void *";
  }
}

/* The letter naming operand variables of type t. */
static char tl(uint8_t t) { return t <= KD_EXTERNREF ? TLETTER[t] : 'r'; }

/* The bit of type t in em.used: i32 i64 f32 f64, then both refs. */
static unsigned tidx(uint8_t t) { return t <= KD_F64 ? t : 4; }

/* Fails translation (out of memory or an impossible body). */
static _Noreturn void em_fail(em *e, const char *why) {
  snprintf(e->fail.msg, e->fail.cap, "aot: %s in function %u", why, e->fi);
  longjmp(e->fail.jb, 1);
}

/* The operand variable at height h (type from the stack). */
static const char *var(em *e, uint32_t h, char *buf) {
  snprintf(buf, 24, "s%c%u", tl(e->st[h]), h);
  e->used[h] |= (uint8_t)(1u << tidx(e->st[h]));
  return buf;
}

/* Pushes an operand of type t; returns its height. */
static uint32_t push(em *e, uint8_t t) {
  if (e->h + 1 >= e->hcap) {
    uint32_t cap = e->hcap * 2 + 16;
    uint8_t *st = ku_realloc(e->st, cap), *u = ku_realloc(e->used, cap);
    if (st) e->st = st;
    if (u) e->used = u;
    if (!st || !u) em_fail(e, "out of memory");
    memset(e->used + e->hcap, 0, cap - e->hcap);
    e->hcap = cap;
  }
  e->st[e->h] = t;
  return e->h++;
}

/* "sX<h>" for the value at depth k from the top (0 = top). */
#define TOP(k, b) var(e, e->h - 1 - (k), b)

/* Emits the code location constant of the current instruction. */
static void loc(em *e, char *buf) {
  snprintf(buf, 40, "KLOC(%u, 0x%zxu)", e->fi, e->off);
}

/* Reads a slot-typed value as type t into text. */
static void from_slot(char *out, size_t n, uint8_t t, const char *s) {
  switch (t) {
  case KD_I32: snprintf(out, n, "(uint32_t)(%s).bits", s); break;
  case KD_I64: snprintf(out, n, "(%s).bits", s); break;
  case KD_F32: snprintf(out, n, "kn_f32_bits((uint32_t)(%s).bits)", s); break;
  case KD_F64: snprintf(out, n, "(%s).f64", s); break;
  default: snprintf(out, n, "(%s).ref", s); break;
  }
}

/* Emits slot = value of type t. */
static void to_slot(FILE *o, uint8_t t, const char *s, const char *v) {
  switch (t) {
  case KD_I32: fprintf(o, "(%s).bits = (uint32_t)(%s);", s, v); break;
  case KD_I64: fprintf(o, "(%s).bits = %s;", s, v); break;
  case KD_F32: fprintf(o, "(%s).bits = kn_bits_f32(%s);", s, v); break;
  case KD_F64: fprintf(o, "(%s).f64 = %s;", s, v); break;
  default: fprintf(o, "(%s).ref = %s;", s, v); break;
  }
}

/* Copies the top n operands into heights base..base+n-1 (forward order
** is safe: destinations lie below sources). */
static void move_top(em *e, uint32_t base, uint32_t n) {
  char a[24], b[24];
  uint32_t from = e->h - n;
  if (from == base) return;
  for (uint32_t i = 0; i < n; i++) {
    uint8_t save = e->st[base + i];
    e->st[base + i] = e->st[from + i];
    fprintf(e->o, " %s = %s;", var(e, base + i, a), var(e, from + i, b));
    e->st[base + i] = save;
  }
}

/* The fuel a back-edge to loop c charges (as the interpreter does). */
static uint32_t loop_cost(em *e, const em_ctl *c) {
  uint32_t k = e->ninstr - c->ninstr;
  return k ? k : 1;
}

/* Emits the results of the function from the top of the stack, then return. */
static void emit_return(em *e) {
  char b[24], l[40];
  uint32_t n = e->ft->nresults;
  fputs(" SYNC_OUT();", e->o);
  if (n == 0) fputs(" return;", e->o);
  else if (n == 1) fprintf(e->o, " return %s;", TOP(0, b));
  else {
    for (uint32_t i = 0; i < n; i++) {
      snprintf(l, sizeof l, "res_[%u]", i);
      fputc(' ', e->o);
      to_slot(e->o, e->ft->results[i], l, var(e, e->h - n + i, b));
    }
    fputs(" return;", e->o);
  }
}

/* Emits a branch to label depth d (moves, a back-edge charge, goto). */
static void emit_branch(em *e, uint32_t d) {
  em_ctl *c = &e->cs[e->nc - 1 - d];
  if (c->kind == C_FUNC) { emit_return(e); return; }
  if (c->kind == C_LOOP) {
    move_top(e, c->base, c->np);
    char l[40];
    loc(e, l);
    e->edges[c->id]++;
    fprintf(e->o, " LB%u(%u, %s); goto L%u;", c->id, loop_cost(e, c), l, c->id);
  } else {
    move_top(e, c->base, c->nr);
    c->end_used = true;
    fprintf(e->o, " goto E%u;", c->id);
  }
}

/* Resolves a block type into parameter and result lists. */
static void block_sig(em *e, int64_t bt, em_ctl *c) {
  static const uint8_t single[6] = {KD_I32, KD_I64, KD_F32, KD_F64, KD_FUNCREF, KD_EXTERNREF};
  c->np = c->nr = 0; c->pt = c->rt = NULL;
  if (bt >= 0) {
    const kd_functype *t = &e->m->types[bt];
    c->np = t->nparams; c->pt = t->params; c->nr = t->nresults; c->rt = t->results;
    return;
  }
  int vt = bt == -1 ? 0 : bt == -2 ? 1 : bt == -3 ? 2 : bt == -4 ? 3 : bt == -16 ? 4 : bt == -17 ? 5 : -1;
  if (vt >= 0) { c->nr = 1; c->rt = &single[vt]; }
}

/* Pushes a control entry. */
static em_ctl *push_ctl(em *e, uint8_t kind) {
  if (e->nc == e->ccap) {
    uint32_t cap = e->ccap * 2 + 16;
    em_ctl *cs = ku_realloc(e->cs, cap * sizeof *cs);
    if (!cs) em_fail(e, "out of memory");
    e->cs = cs;
    e->ccap = cap;
  }
  if (e->nlabels == e->ecap) {
    uint32_t cap = e->ecap * 2 + 16;
    uint32_t *ed = ku_realloc(e->edges, cap * sizeof *ed);
    if (!ed) em_fail(e, "out of memory");
    memset(ed + e->ecap, 0, (cap - e->ecap) * sizeof *ed);
    e->edges = ed;
    e->ecap = cap;
  }
  em_ctl *c = &e->cs[e->nc++];
  memset(c, 0, sizeof *c);
  c->kind = kind;
  c->id = e->nlabels++;
  return c;
}

/* Sets the stack to the block's results (after end or an unconditional
** branch the types are the declared ones). */
static void set_results(em *e, em_ctl *c) {
  e->h = c->base;
  for (uint32_t i = 0; i < c->nr; i++) push(e, c->rt[i]);
}

/* block / loop / if. */
static void do_block(em *e, const kd_instr *in) {
  char b[24], l[40];
  uint8_t kind = in->op == KD_OP_BLOCK ? C_BLOCK : in->op == KD_OP_LOOP ? C_LOOP : C_IF;
  char cond[24];
  if (kind == C_IF) { snprintf(cond, sizeof cond, "%s", TOP(0, b)); e->h--; }
  em_ctl *c = push_ctl(e, kind);
  block_sig(e, in->bt, c);
  c->base = e->h - c->np;
  c->ninstr = e->ninstr;
  if (kind == C_LOOP) {
    e->edges[c->id] = 1;
    fprintf(e->o, "L%u:; LH%u(KLOC(%u, 0x%zxu));\n", c->id, c->id, e->fi, e->off);
  }
  if (kind == C_IF) {  /* the else arm needs the params as they were */
    for (uint32_t i = 0; i < c->np; i++) {
      fprintf(e->d, "  %s p%u_%u;\n", kaot_ctype(c->pt[i]), c->id, i);
      fprintf(e->o, " p%u_%u = %s;", c->id, i, var(e, c->base + i, b));
    }
    fprintf(e->o, " if (!%s) goto F%u;\n", cond, c->id);
  }
  (void)l;
}

/* Restores an if's saved params onto the stack (entering its else arm). */
static void restore_params(em *e, em_ctl *c) {
  char b[24];
  e->h = c->base;
  for (uint32_t i = 0; i < c->np; i++) {
    push(e, c->pt[i]);
    fprintf(e->o, " %s = p%u_%u;", var(e, e->h - 1, b), c->id, i);
  }
  fputc('\n', e->o);
}

static void do_else(em *e) {
  em_ctl *c = &e->cs[e->nc - 1];
  if (!e->dead) { c->end_used = true; fprintf(e->o, " goto E%u;\n", c->id); }
  fprintf(e->o, "F%u:;", c->id);
  c->has_else = true;
  e->dead = false;
  restore_params(e, c);
}

/* end of a block, loop, if or the function. */
static void do_end(em *e) {
  em_ctl *c = &e->cs[e->nc - 1];
  if (c->kind == C_FUNC) {
    if (!e->dead) { emit_return(e); fputc('\n', e->o); }
    e->nc--;
    return;
  }
  if (c->kind == C_IF && !c->has_else) {
    if (!e->dead) { c->end_used = true; fprintf(e->o, " goto E%u;\n", c->id); }
    fprintf(e->o, "F%u:;", c->id);
    restore_params(e, c);
    e->dead = false;
    c->end_used = true;  /* the implicit else arm falls into the end */
  }
  if (c->end_used) { fprintf(e->o, "E%u:;\n", c->id); e->dead = false; }
  if (!e->dead) set_results(e, c);
  e->nc--;
}

/* br_table as a switch. */
static void do_br_table(em *e, const kd_instr *in) {
  char b[24];
  ku_cursor t = {in->tbl, e->m->bytes + e->m->len, e->m->bytes, "code", &e->fail};
  fprintf(e->o, " switch (%s) {\n", TOP(0, b));
  e->h--;
  for (uint32_t i = 0; i <= in->n; i++) {
    uint32_t d = i < in->n ? ku_u32(&t) : in->a;
    if (i < in->n) fprintf(e->o, "  case %uu:", i); else fputs("  default:", e->o);
    uint32_t h = e->h;
    emit_branch(e, d);
    e->h = h;
    fputc('\n', e->o);
  }
  fputs(" }\n", e->o);
  e->dead = true;
}

/* Argument list text of the top n operands, each preceded by ", ". */
static void args_text(em *e, uint32_t n, FILE *o) {
  char b[24];
  for (uint32_t i = 0; i < n; i++) fprintf(o, ", %s", var(e, e->h - n + i, b));
}

/* Emits a call: head is the callee expression up to its first argument,
** e.g. "m_f3(X"; arguments are the top operands, results replace them.
** Multi-value results come back in r_ (spliced in after X). */
static void emit_call(em *e, const kd_functype *t, const char *head, bool reload) {
  char b[24], *args = NULL;
  size_t alen = 0;
  uint32_t np = t->nparams, nr = t->nresults;
  FILE *a = open_memstream(&args, &alen);
  if (!a) em_fail(e, "out of memory");
  args_text(e, np, a);
  fclose(a);
  e->h -= np;
  fputs(" SYNC_OUT();", e->o);
  if (nr <= 1) {
    fputc(' ', e->o);
    if (nr == 1) { push(e, t->results[0]); fprintf(e->o, "%s = ", TOP(0, b)); }
    fprintf(e->o, "%s%s);", head, args);
  } else {
    const char *x = strstr(head, "(X");
    fprintf(e->o, " { kaot_slot r_[%u]; %.*s, r_%s%s);", nr, (int)(x + 2 - head), head, x + 2, args);
    for (uint32_t i = 0; i < nr; i++) {
      char v[64], s[16];
      push(e, t->results[i]);
      snprintf(s, sizeof s, "r_[%u]", i);
      from_slot(v, sizeof v, t->results[i], s);
      fprintf(e->o, " %s = %s;", TOP(0, b), v);
    }
    fputs(" }", e->o);
  }
  free(args);
  fputs(" SYNC_IN();", e->o);
  if (reload) fputs(" RELOAD();", e->o);
  fputc('\n', e->o);
}

static void do_call(em *e, uint32_t fi) {
  char head[96], l[40];
  e->calls = true;
  const kd_functype *t = kd_func_type(e->m, fi);
  loc(e, l);
  if (e->m->funcs[fi].imported)
    snprintf(head, sizeof head, "%scall_t%u(X, (kaot_fn *)X->f[%u], %s", e->px, e->m->funcs[fi].type_idx, fi, l);
  else
    snprintf(head, sizeof head, "%sf%u(X", e->px, fi);
  emit_call(e, t, head, true);
}

static void do_call_indirect(em *e, const kd_instr *in) {
  char b[24], l[40], head[96];
  e->calls = true;
  loc(e, l);
  fprintf(e->o, " { kaot_fn *F_ = IND(%u, %s, %u, %s);", in->b, TOP(0, b), in->a, l);
  e->h--;
  snprintf(head, sizeof head, "%scall_t%u(X, F_, %s", e->px, in->a, l);
  emit_call(e, &e->m->types[in->a], head, true);
  fputs(" }\n", e->o);
}

/* Unary, binary and comparison ops from their opcodes.def semantics. */
static void do_numeric(em *e, const kd_instr *in) {
  const kd_opinfo *oi = &kd_opinfo_table[in->op];
  char a[24], b[24], r[24];
  const char *sem = sems[in->op].sem;
  bool traps = strstr(sem, "TRAP(") != NULL;
  fputs(" {", e->o);
  if (traps) fprintf(e->o, " const kaot_loc o_ = KLOC(%u, 0x%zxu);", e->fi, e->off);
  if (oi->kind == KD_K_UN) {
    fprintf(e->o, " %s a = %s;", kaot_ctype(oi->a), TOP(0, a));
    e->h--;
    /* gcc folds demote(promote(x)) to x even with -fsignaling-nans, which
    ** keeps a signalling NaN unquieted: hide the operand's origin */
    if (in->op == KD_OP_F32_DEMOTE_F64 || in->op == KD_OP_F64_PROMOTE_F32)
      fprintf(e->o, " { uint%d_t t_ = kn_bits_%s(a); __asm__(\"\" : \"+r\"(t_)); a = kn_%s_bits(t_); }",
              oi->a == KD_F32 ? 32 : 64, oi->a == KD_F32 ? "f32" : "f64", oi->a == KD_F32 ? "f32" : "f64");
  } else {
    fprintf(e->o, " %s a = %s, b = %s;", kaot_ctype(oi->a), TOP(1, a), TOP(0, b));
    e->h -= 2;
  }
  push(e, oi->r);
  fprintf(e->o, " %s r; %s; %s = r; }\n", kaot_ctype(oi->r), sem, TOP(0, r));
}

/* Loads and stores: memcpy at M + ea, checked against MS when explicit. */
static void do_memory(em *e, const kd_instr *in) {
  const kd_opinfo *oi = &kd_opinfo_table[in->op];
  char a[24], v[24], l[40];
  loc(e, l);
  const char *mt = sems[in->op].mt;
  if (oi->kind == KD_K_LOAD) {
    /* Guard mode relies on the access faulting, so a load whose value is
    ** dead must still happen: its (integer) value is "used" by an empty
    ** asm, as wasm2c does; floats are loaded as their bits for that. */
    bool fl = oi->r == KD_F32 || oi->r == KD_F64;
    const char *lt = !fl ? mt : oi->r == KD_F32 ? "uint32_t" : "uint64_t";
    fprintf(e->o, " { uint64_t ea = (uint64_t)%s + %uu; %s v;", TOP(0, a), in->b, lt);
    if (e->explicit_bounds) fprintf(e->o, " BOUNDS(ea, sizeof v, %s);", l);
    e->h--;
    push(e, oi->r);
    fputs(" memcpy(&v, M + ea, sizeof v);", e->o);
    if (!e->explicit_bounds) fputs(" __asm__(\"\" :: \"r\"(v));", e->o);
    if (fl) fprintf(e->o, " %s = kn_%s_bits(v); }\n", TOP(0, a), oi->r == KD_F32 ? "f32" : "f64");
    else fprintf(e->o, " %s = (%s)v; }\n", TOP(0, a), kaot_ctype(oi->r));
  } else {
    fprintf(e->o, " { uint64_t ea = (uint64_t)%s + %uu; %s v = (%s)%s;", TOP(1, a), in->b, mt, mt, TOP(0, v));
    if (e->explicit_bounds) fprintf(e->o, " BOUNDS(ea, sizeof v, %s);", l);
    fputs(" memcpy(M + ea, &v, sizeof v); }\n", e->o);
    e->h -= 2;
  }
}

/* Variables, globals, select, constants. */
static bool do_data(em *e, const kd_instr *in) {
  char a[24], b[24], c[24], v[64], s[48];
  const krait_module *m = e->m;
  switch (in->op) {
  case KD_OP_DROP: e->h--; return true;
  case KD_OP_SELECT: case KD_OP_SELECT_T: {
    const char *cond = TOP(0, c);
    fprintf(e->o, " %s = %s ? %s : %s;\n", TOP(2, a), cond, TOP(2, b), TOP(1, v));
    e->h -= 2;
    return true;
  }
  case KD_OP_LOCAL_GET: {
    uint8_t t = m->funcs[e->fi].local_types[in->a];
    push(e, t);
    fprintf(e->o, " %s = l%u;\n", TOP(0, a), in->a);
    return true;
  }
  case KD_OP_LOCAL_SET: fprintf(e->o, " l%u = %s;\n", in->a, TOP(0, a)); e->h--; return true;
  case KD_OP_LOCAL_TEE: fprintf(e->o, " l%u = %s;\n", in->a, TOP(0, a)); return true;
  case KD_OP_GLOBAL_GET: {
    uint8_t t = m->globals[in->a].type;
    push(e, t);
    snprintf(s, sizeof s, "(*X->gp[%u])", in->a);
    from_slot(v, sizeof v, t, s);
    fprintf(e->o, " %s = %s;\n", TOP(0, a), v);
    return true;
  }
  case KD_OP_GLOBAL_SET:
    snprintf(s, sizeof s, "(*X->gp[%u])", in->a);
    fputc(' ', e->o);
    to_slot(e->o, m->globals[in->a].type, s, TOP(0, a));
    fputc('\n', e->o);
    e->h--;
    return true;
  case KD_OP_I32_CONST: push(e, KD_I32); fprintf(e->o, " %s = 0x%xu;\n", TOP(0, a), (uint32_t)in->k); return true;
  case KD_OP_I64_CONST: push(e, KD_I64); fprintf(e->o, " %s = 0x%llxull;\n", TOP(0, a), (unsigned long long)in->k); return true;
  case KD_OP_F32_CONST: push(e, KD_F32); fprintf(e->o, " %s = kn_f32_bits(0x%xu);\n", TOP(0, a), (uint32_t)in->k); return true;
  case KD_OP_F64_CONST: push(e, KD_F64); fprintf(e->o, " %s = kn_f64_bits(0x%llxull);\n", TOP(0, a), (unsigned long long)in->k); return true;
  case KD_OP_REF_NULL: push(e, in->t); fprintf(e->o, " %s = 0;\n", TOP(0, a)); return true;
  case KD_OP_REF_IS_NULL: {
    snprintf(v, sizeof v, "%s", TOP(0, a));
    e->h--;
    push(e, KD_I32);
    fprintf(e->o, " %s = %s == 0;\n", TOP(0, b), v);
    return true;
  }
  default: return false;
  }
}

/* Memory size/grow, bulk memory and table ops: runtime calls. Those
** that may trap store the countdown first (BOUT), as every trap does. */
static bool do_runtime(em *e, const kd_instr *in) {
  char a[24], b[24], c[24], d[24], l[40];
  loc(e, l);
  FILE *o = e->o;
  switch (in->op) {
  case KD_OP_MEMORY_SIZE: push(e, KD_I32); fprintf(o, " %s = X->mem->pages;\n", TOP(0, a)); return true;
  case KD_OP_MEMORY_GROW:
    fprintf(o, " %s = X->api->memory_grow(X, %s); RELOAD();\n", TOP(0, a), TOP(0, b));
    return true;
  case KD_OP_MEMORY_INIT:
    fprintf(o, " BOUT(); X->api->memory_init(X, %u, %s, %s, %s, %s);\n", in->a, TOP(2, a), TOP(1, b), TOP(0, c), l);
    e->h -= 3; return true;
  case KD_OP_DATA_DROP: fprintf(o, " X->api->data_drop(X, %u);\n", in->a); return true;
  case KD_OP_MEMORY_COPY:
    fprintf(o, " BOUT(); X->api->memory_copy(X, %s, %s, %s, %s);\n", TOP(2, a), TOP(1, b), TOP(0, c), l);
    e->h -= 3; return true;
  case KD_OP_MEMORY_FILL:
    fprintf(o, " BOUT(); X->api->memory_fill(X, %s, %s, %s, %s);\n", TOP(2, a), TOP(1, b), TOP(0, c), l);
    e->h -= 3; return true;
  case KD_OP_TABLE_GET: {
    snprintf(d, sizeof d, "%s", TOP(0, a));
    e->h--;
    push(e, e->m->tables[in->a].elem);
    fprintf(o, " BOUT(); %s = X->api->table_get(X, %u, %s, %s);\n", TOP(0, b), in->a, d, l);
    return true;
  }
  case KD_OP_TABLE_SET:
    fprintf(o, " BOUT(); X->api->table_set(X, %u, %s, %s, %s);\n", in->a, TOP(1, a), TOP(0, b), l);
    e->h -= 2; return true;
  case KD_OP_TABLE_SIZE: push(e, KD_I32); fprintf(o, " %s = X->api->table_size(X, %u);\n", TOP(0, a), in->a); return true;
  case KD_OP_TABLE_GROW: {
    snprintf(d, sizeof d, "%s", TOP(1, a));
    fprintf(o, " { uint32_t n_ = %s; void *v_ = %s;", TOP(0, b), d);
    e->h -= 2;
    push(e, KD_I32);
    fprintf(o, " %s = X->api->table_grow(X, %u, v_, n_); }\n", TOP(0, c), in->a);
    return true;
  }
  case KD_OP_TABLE_FILL:
    fprintf(o, " BOUT(); X->api->table_fill(X, %u, %s, %s, %s, %s);\n", in->a, TOP(2, a), TOP(1, b), TOP(0, c), l);
    e->h -= 3; return true;
  case KD_OP_TABLE_COPY:
    fprintf(o, " BOUT(); X->api->table_copy(X, %u, %u, %s, %s, %s, %s);\n", in->a, in->b, TOP(2, a), TOP(1, b), TOP(0, c), l);
    e->h -= 3; return true;
  case KD_OP_TABLE_INIT:
    fprintf(o, " BOUT(); X->api->table_init(X, %u, %u, %s, %s, %s, %s);\n", in->b, in->a, TOP(2, a), TOP(1, b), TOP(0, c), l);
    e->h -= 3; return true;
  case KD_OP_ELEM_DROP: fprintf(o, " X->api->elem_drop(X, %u);\n", in->a); return true;
  case KD_OP_REF_FUNC: push(e, KD_FUNCREF); fprintf(o, " BOUT(); %s = X->api->ref_func(X, %u, %s);\n", TOP(0, a), in->a, l); return true;
  default: return false;
  }
}

/* Control instructions. */
static void do_control(em *e, const kd_instr *in) {
  char a[24], l[40];
  switch (in->op) {
  case KD_OP_UNREACHABLE: loc(e, l); fprintf(e->o, " TRAPK(KT_UNREACHABLE, %s);\n", l); e->dead = true; return;
  case KD_OP_NOP: return;
  case KD_OP_BLOCK: case KD_OP_LOOP: case KD_OP_IF: do_block(e, in); return;
  case KD_OP_ELSE: do_else(e); return;
  case KD_OP_END: do_end(e); return;
  case KD_OP_BR: emit_branch(e, in->a); fputc('\n', e->o); e->dead = true; return;
  case KD_OP_BR_IF: {
    fprintf(e->o, " if (%s) {", TOP(0, a));
    e->h--;
    emit_branch(e, in->a);
    fputs(" }\n", e->o);
    return;
  }
  case KD_OP_BR_TABLE: do_br_table(e, in); return;
  case KD_OP_RETURN: emit_return(e); fputc('\n', e->o); e->dead = true; return;
  case KD_OP_CALL: do_call(e, in->a); return;
  case KD_OP_CALL_INDIRECT: do_call_indirect(e, in); return;
  default:
    if (!do_data(e, in) && !do_runtime(e, in)) em_fail(e, "unknown instruction");
  }
}

/* In unreachable code only nesting matters until the matching else/end. */
static bool skip_dead(em *e, const kd_instr *in) {
  if (!e->dead) return false;
  switch (in->op) {
  case KD_OP_BLOCK: case KD_OP_LOOP: case KD_OP_IF: e->dead_depth++; return true;
  case KD_OP_ELSE: return e->dead_depth > 0;
  case KD_OP_END:
    if (e->dead_depth == 0) return false;
    e->dead_depth--;
    return true;
  default: return true;
  }
}

/* The C prototype of function fi into o ("R px fN(kaot_ctx *X, ...)"). */
void kaot_proto(FILE *o, const krait_module *m, const char *px, uint32_t fi, bool names) {
  const kd_functype *t = kd_func_type(m, fi);
  fprintf(o, "KHID %s %sf%u(kaot_ctx *X", t->nresults == 1 ? kaot_ctype(t->results[0]) : "void", px, fi);
  if (t->nresults > 1) fputs(", kaot_slot *res_", o);
  for (uint32_t i = 0; i < t->nparams; i++) {
    fprintf(o, ", %s", kaot_ctype(t->params[i]));
    if (names) fprintf(o, " l%u", i);
  }
  fputc(')', o);
}

/* Declares the operand variables the body used. */
static void emit_decls(em *e, FILE *o) {
  static const uint8_t types[] = {KD_I32, KD_I64, KD_F32, KD_F64, KD_FUNCREF};
  for (uint32_t k = 0; k < 5; k++) {
    bool any = false;
    for (uint32_t h = 0; h < e->hcap; h++) {
      if (!(e->used[h] & (1u << k))) continue;
      bool ref = types[k] == KD_FUNCREF;
      if (!any) fprintf(o, "  %s", ref ? "void" : kaot_ctype(types[k]));
      fprintf(o, "%s %ss%c%u", any ? "," : "", ref ? "*" : "", tl(types[k]), h);
      any = true;
    }
    if (any) fputs(";\n", o);
  }
}

/* Where each loop's interrupt check goes: a loop with one back-edge
** checks on that edge (a subtract and branch); a loop with several (an
** interpreter's dispatch loop: a br_table whose every case jumps back)
** subtracts on each edge and checks once at its header, so the
** countdown costs one branch per iteration whichever edge is taken.
** Nothing runs between the edge and the header, so the state at an
** exhausted budget is the same; the location named is the loop's. */
static void loop_macros(const em *e, FILE *o, bool define) {
  for (uint32_t id = 0; id < e->nlabels; id++) {
    if (!e->edges[id]) continue;
    if (!define) fprintf(o, "#undef LH%u\n#undef LB%u\n", id, id);
    else if (e->edges[id] <= 2) fprintf(o, "#define LH%u(L)\n#define LB%u(c, L) CHARGE(c, L)\n", id, id);
    else fprintf(o, "#define LH%u(L) POLL(L)\n#define LB%u(c, L) (B -= (c))\n", id, id);
  }
}

/* Translates function fi (defined) into o. Returns 0, or -1 with msg. */
int kaot_emit_func(FILE *o, const krait_module *m, const char *px, uint32_t fi,
                   bool explicit_bounds, char *msg, size_t cap) {
  em e = {0};
  char *body = NULL, *dbuf = NULL;
  size_t blen = 0, dlen = 0;
  e.m = m; e.px = px; e.fi = fi; e.explicit_bounds = explicit_bounds;
  e.ft = kd_func_type(m, fi);
  e.fail.msg = msg; e.fail.cap = cap;
  e.o = open_memstream(&body, &blen);
  e.d = open_memstream(&dbuf, &dlen);
  volatile int rc = -1;
  if (!e.o || !e.d) { snprintf(msg, cap, "aot: out of memory"); goto out; }
  if (setjmp(e.fail.jb)) goto out;
  const kd_func *f = &m->funcs[fi];
  ku_cursor c = {f->body, f->body + f->body_len, m->bytes, "code", &e.fail};
  em_ctl *top = push_ctl(&e, C_FUNC);
  top->nr = e.ft->nresults; top->rt = e.ft->results;
  push(&e, KD_I32); e.h = 0;  /* allocate */
  while (e.nc > 0) {
    if (ku_eof(&c)) em_fail(&e, "body ends early");
    kd_instr in;
    memset(&in, 0, sizeof in);
    kd_read_instr(&c, &in);
    e.off = in.offset;
    e.ninstr++;
    if (skip_dead(&e, &in)) continue;
    switch (kd_opinfo_table[in.op].kind) {
    case KD_K_UN: case KD_K_BIN: case KD_K_CMP: do_numeric(&e, &in); break;
    case KD_K_LOAD: case KD_K_STORE: do_memory(&e, &in); break;
    default: do_control(&e, &in);
    }
  }
  fflush(e.o); fflush(e.d);
  kaot_proto(o, m, px, fi, true);
  fprintf(o, " {\n#define FI_ %u\n", fi);
  loop_macros(&e, o, true);
  for (uint32_t i = e.ft->nparams; i < f->nlocals; i++)
    fprintf(o, "  %s l%u = 0;\n", kaot_ctype(f->local_types[i]), i);
  emit_decls(&e, o);
  fwrite(dbuf, 1, dlen, o);
  /* A leaf with a small frame cannot run the stack out (the limit keeps a
  ** margin): it skips the stack check, keeping the charge of a call. */
  /* A frame of many values may be bigger than that margin: its check
  ** subtracts a generous estimate (16 bytes a value) from the stack pointer,
  ** so the whole frame fits before the stack's end. */
  uint64_t values = (uint64_t)f->nlocals + e.hcap;
  bool leaf = !e.calls && values < 1024;
  if (leaf)
    fprintf(o, "  ENTRY_LEAF(KLOC(%u, 0x%zxu));\n", fi, f->body_offset);
  else if (values < 1024)
    fprintf(o, "  ENTRY(KLOC(%u, 0x%zxu));\n", fi, f->body_offset);
  else
    fprintf(o, "  ENTRY_BIG(KLOC(%u, 0x%zxu), %" PRIu64 "u);\n", fi, f->body_offset, values * 16 + 4096);
  fwrite(body, 1, blen, o);
  fputs("#undef FI_\n", o);
  loop_macros(&e, o, false);
  fputs("}\n\n", o);
  rc = 0;
out:
  if (e.o) fclose(e.o);
  if (e.d) fclose(e.d);
  free(body); free(dbuf);
  ku_free(e.st); ku_free(e.used); ku_free(e.cs); ku_free(e.edges);
  return rc;
}
