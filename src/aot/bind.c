/*
** bind.c -- native code in the runtime: attaching a module's compiled code,
** each instance's context, function objects that run native code, and the
** services generated code calls (traps, fuel, calls, tables, bulk memory).
*/
#include "aot/aot.h"
#include "aot/aot_internal.h"
#include "interp/interp.h"
#include "platform/platform.h"
#include <stddef.h>

/* The ABI mirrors these runtime layouts (abi.h). */
_Static_assert(offsetof(struct krait_memory, base) == offsetof(kaot_mem, base), "kaot_mem");
_Static_assert(offsetof(struct krait_memory, size) == offsetof(kaot_mem, size), "kaot_mem");
_Static_assert(offsetof(struct krait_memory, pages) == offsetof(kaot_mem, pages), "kaot_mem");
_Static_assert(offsetof(struct krait_table, elems) == offsetof(kaot_tab, elems), "kaot_tab");
_Static_assert(offsetof(struct krait_table, size) == offsetof(kaot_tab, size), "kaot_tab");
_Static_assert(offsetof(struct krait_global, val) == 0, "kaot_slot");
_Static_assert(offsetof(struct krait_func, aot_native) == offsetof(kaot_fn, native), "kaot_fn");
_Static_assert(offsetof(struct krait_func, aot_ctx) == offsetof(kaot_fn, ctx), "kaot_fn");
_Static_assert(offsetof(struct krait_func, type_id) == offsetof(kaot_fn, type_id), "kaot_fn");
_Static_assert(offsetof(ki_exec, aot_stack_limit) - offsetof(ki_exec, budget) ==
               offsetof(kaot_ex, stack_limit), "kaot_ex");
_Static_assert(sizeof(kaot_slot) == sizeof(krait_slot), "kaot_slot");

int kaot_attach(krait_module *m, bool may_build, krait_error *err) {
  krait_tier tier = m->engine->cfg.tier;
  /* auto: the first call (may_build false) found what there is */
  if (tier == KRAIT_TIER_INTERP || m->aot || (may_build && tier == KRAIT_TIER_AUTO)) return 0;
  krait_error e2;
  kaot_mod *am = ku_calloc(1, sizeof *am);
  uint32_t *tid = ku_calloc(m->ntypes ? m->ntypes : 1, sizeof *tid);
  void *dl = NULL;
  const kaot_desc *d = am && tid ? kaot_obtain(m, may_build && tier == KRAIT_TIER_AOT, &dl, &e2) : NULL;
  if (!d || d->nfuncs != m->nfuncs) {
    ku_free(am);
    ku_free(tid);
    if (tier == KRAIT_TIER_AUTO || (!may_build && am && tid && !d)) return 0;
    if (err) {
      *err = e2;
      if (!am || !tid) { err->kind = KRAIT_ERR_NOMEM; ku_fmt(err->message, sizeof err->message, "out of memory"); }
      else if (d) ku_fmt(err->message, sizeof err->message, "aot: compiled code does not match the module");
    }
    return -1;
  }
  for (uint32_t i = 0; i < m->ntypes; i++) tid[i] = m->types[i].id;
  am->desc = d;
  am->dl = dl;
  am->tid = tid;
  m->aot = am;
  return 0;
}

void kaot_detach(krait_module *m) {
  kaot_mod *am = m->aot;
  if (!am) return;
  ku_free(am->tid);
  ku_free(am);
  m->aot = NULL;
}

bool kaot_instance_init(krait_instance *in) {
  const kaot_mod *am = in->module->aot;
  if (!am) return true;
  kaot_ctx *X = kr_alloc(in->store, sizeof *X + in->module->nglobals * sizeof(kaot_slot *));
  if (!X) return false;
  X->g = (kaot_slot **)in->globals;
  X->t = (kaot_tab **)in->tables;
  X->f = (kaot_fn **)in->funcs;
  X->tid = am->tid;
  X->ex = (kaot_ex *)&in->store->ex.budget;
  X->api = &kaot_api_table;
  X->inst = in;
  X->mem = (kaot_mem *)in->mem0;
  in->aot_ctx = X;
  return true;
}

void kaot_instance_finish(krait_instance *in) {
  kaot_ctx *X = in->aot_ctx;
  if (!X) return;
  X->mem = (kaot_mem *)in->mem0;
  for (uint32_t i = 0; i < in->module->nglobals; i++) X->gp[i] = (kaot_slot *)in->globals[i];
}

void kaot_func_bind(krait_instance *in, krait_func *f) {
  const kaot_mod *am = in->module->aot;
  if (!am || !in->aot_ctx) return;
  f->aot_native = am->desc->native[f->index];
  f->aot_ctx = in->aot_ctx;
  f->host = (krait_host_fn)am->desc->wrap[f->index];
  f->env = in->aot_ctx;
}

/* ---- services for generated code ---------------------------------------- */

static krait_instance *inst_of(kaot_ctx *X) { return X->inst; }
static ki_exec *ex_of(kaot_ctx *X) { return &inst_of(X)->store->ex; }

/* Records where generated code is (for a trap message): function and
** byte offset of loc. */
static void note_loc(kaot_ctx *X, kaot_loc loc) {
  krait_instance *in = inst_of(X);
  ki_exec *ex = &in->store->ex;
  uint32_t fi = (uint32_t)(loc >> 32);
  ex->trap_ip = NULL;
  ex->aot_trap_fn = fi < in->module->nfuncs ? (in->funcs[fi] ? in->funcs[fi] : kr_func_make(in, fi)) : NULL;
  ex->aot_trap_off = (uint32_t)loc;
}

/* Generated code finds a stack overflow on entry to the callee (loc is
** its entry); the interpreter names the caller's call instruction, and so
** does this when the native stack shows a Wasm caller (trap path only). */
static void note_caller(kaot_ctx *X, kaot_loc loc) {
  krait_func *f;
  uint32_t off;
  ki_exec *ex = ex_of(X);
  if (kaot_overflow_site(inst_of(X), (uint32_t)(loc >> 32), &f, &off)) {
    ex->aot_trap_fn = f;
    ex->aot_trap_off = off;
  }
}

__attribute__((noreturn)) static void rt_trap(kaot_ctx *X, int kind, kaot_loc loc) {
  note_loc(X, loc);
  if (kind == KRAIT_TRAP_STACK_EXHAUSTED) note_caller(X, loc);
  ki_trap(ex_of(X), (krait_trapkind)kind);
}

/* The countdown ran out: settles fuel, checks the deadline, refills. */
static void rt_refuel(kaot_ctx *X, kaot_loc loc) {
  ki_exec *ex = ex_of(X);
  note_loc(X, loc);
  ex->budget = ki_refuel(ex, ex->budget);
}

/* Calls a function without native code: a host function (as the
** interpreter does: the caller is this instance) or an interpreted one
** (on the value stack above everything in use). */
static void rt_call(kaot_ctx *X, kaot_fn *fn, kaot_slot *slots, kaot_loc loc) {
  krait_func *f = (krait_func *)fn;
  krait_instance *in = inst_of(X);
  krait_store *s = in->store;
  ki_exec *ex = &s->ex;
  note_loc(X, loc);
  if (f->host) {
    krait_caller cl = {s, in, f};
    if (f->host(&cl, f->env, (krait_slot *)slots)) longjmp(*ex->catch, 1);
    return;
  }
  uint32_t room = f->nparams > f->nresults ? f->nparams : f->nresults;
  krait_slot *fp = ex->sp_free, *saved = ex->sp_free;
  if (fp + room > ex->stack_end) ki_trap(ex, KRAIT_TRAP_STACK_EXHAUSTED);
  memcpy(fp, slots, f->nparams * sizeof *fp);
  ki_run(s, f, fp);
  memcpy(slots, fp, f->nresults * sizeof *fp);
  ex->sp_free = saved;
}

static kaot_fn *rt_indirect(kaot_ctx *X, uint32_t tab, uint32_t i, uint32_t tid, kaot_loc loc) {
  krait_table *t = inst_of(X)->tables[tab];
  if (i >= t->size) rt_trap(X, KRAIT_TRAP_UNDEFINED_ELEM, loc);
  bool oom = false;
  krait_func *f = kr_table_ref(t, i, &oom);
  if (oom) rt_trap(X, KRAIT_TRAP_NOMEM, loc);
  if (!f) rt_trap(X, KRAIT_TRAP_UNINIT_ELEM, loc);
  if (f->type_id != tid) rt_trap(X, KRAIT_TRAP_INDIRECT_TYPE, loc);
  return (kaot_fn *)f;
}

static uint32_t rt_memory_grow(kaot_ctx *X, uint32_t delta) {
  return (uint32_t)kr_memory_grow(inst_of(X)->mem0, delta);
}

/* Raises t (when not NONE) at loc. */
static void check(kaot_ctx *X, krait_trapkind t, kaot_loc loc) {
  if (t) rt_trap(X, t, loc);
}

/* A bulk op's trap t, then the deadline's clock after its n bytes
** (ki_bulk_late), both at loc. */
static void bulk(kaot_ctx *X, krait_trapkind t, uint64_t n, kaot_loc loc) {
  check(X, t, loc);
  if (ki_bulk_late(ex_of(X), n)) rt_trap(X, KRAIT_TRAP_DEADLINE, loc);
}

static void rt_memory_init(kaot_ctx *X, uint32_t seg, uint32_t d, uint32_t s, uint32_t n, kaot_loc loc) {
  bulk(X, kr_memory_init(inst_of(X), seg, d, s, n), n, loc);
}
static void rt_data_drop(kaot_ctx *X, uint32_t seg) { inst_of(X)->data_len[seg] = 0; }
static void rt_memory_copy(kaot_ctx *X, uint32_t d, uint32_t s, uint32_t n, kaot_loc loc) {
  bulk(X, kr_memory_copy(inst_of(X)->mem0, d, s, n), n, loc);
}
static void rt_memory_fill(kaot_ctx *X, uint32_t d, uint32_t v, uint32_t n, kaot_loc loc) {
  bulk(X, kr_memory_fill(inst_of(X)->mem0, d, v, n), n, loc);
}

static void *rt_table_get(kaot_ctx *X, uint32_t tab, uint32_t i, kaot_loc loc) {
  krait_table *t = inst_of(X)->tables[tab];
  if (i >= t->size) rt_trap(X, KRAIT_TRAP_TABLE_OOB, loc);
  bool oom = false;
  void *r = kr_table_ref(t, i, &oom);
  if (oom) rt_trap(X, KRAIT_TRAP_NOMEM, loc);
  return r;
}

static void rt_table_set(kaot_ctx *X, uint32_t tab, uint32_t i, void *v, kaot_loc loc) {
  krait_table *t = inst_of(X)->tables[tab];
  if (i >= t->size) rt_trap(X, KRAIT_TRAP_TABLE_OOB, loc);
  t->elems[i] = v;
}

static uint32_t rt_table_size(kaot_ctx *X, uint32_t tab) { return inst_of(X)->tables[tab]->size; }
static uint32_t rt_table_grow(kaot_ctx *X, uint32_t tab, void *init, uint32_t n) {
  return (uint32_t)kr_table_grow(inst_of(X)->tables[tab], n, init);
}
static void rt_table_fill(kaot_ctx *X, uint32_t tab, uint32_t i, void *v, uint32_t n, kaot_loc loc) {
  bulk(X, kr_table_fill(inst_of(X)->tables[tab], i, v, n), (uint64_t)n * sizeof(void *), loc);
}
static void rt_table_copy(kaot_ctx *X, uint32_t dt, uint32_t st, uint32_t d, uint32_t s, uint32_t n,
                          kaot_loc loc) {
  krait_instance *in = inst_of(X);
  bulk(X, kr_table_copy(in->tables[dt], in->tables[st], d, s, n), (uint64_t)n * sizeof(void *), loc);
}
static void rt_table_init(kaot_ctx *X, uint32_t tab, uint32_t seg, uint32_t d, uint32_t s, uint32_t n,
                          kaot_loc loc) {
  bulk(X, kr_table_init(inst_of(X), tab, seg, d, s, n), (uint64_t)n * sizeof(void *), loc);
}
static void rt_elem_drop(kaot_ctx *X, uint32_t seg) { inst_of(X)->elem_len[seg] = 0; }

static void *rt_ref_func(kaot_ctx *X, uint32_t idx, kaot_loc loc) {
  void *f = kr_func(inst_of(X), idx);
  if (!f) rt_trap(X, KRAIT_TRAP_NOMEM, loc);
  return f;
}

static uintptr_t rt_stack_limit(void) { return kp_stack_limit(); }

const kaot_api kaot_api_table = {
  KAOT_ABI_VERSION, rt_trap, rt_refuel, rt_call, rt_indirect, rt_memory_grow,
  rt_memory_init, rt_data_drop, rt_memory_copy, rt_memory_fill, rt_table_get,
  rt_table_set, rt_table_size, rt_table_grow, rt_table_fill, rt_table_copy,
  rt_table_init, rt_elem_drop, rt_ref_func, rt_stack_limit,
};
