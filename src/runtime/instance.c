/*
** instance.c -- the linker and instantiation: import matching with precise
** link errors, allocation of module objects, segments and the start call.
*/
#include "runtime/runtime.h"
#include <errno.h>
#include <stdio.h>

typedef struct kr_def {
  char *module, *name;
  krait_extern ext;
  uint32_t hash;               /* def_hash(module, name) */
} kr_def;

struct krait_linker {
  krait_store *store;
  ku_vec defs;   /* kr_def */
};

/* Instances without a memory point at this empty one, so the interpreter
** never tests for NULL. */
static krait_memory no_memory;

krait_linker *krait_linker_new(krait_store *s) {
  krait_linker *l = ku_calloc(1, sizeof *l);
  if (!l) return NULL;
  l->store = s;
  ku_vec_init(&l->defs, sizeof(kr_def));
  return l;
}

krait_store *krait_linker_store(krait_linker *l) { return l->store; }

void krait_linker_free(krait_linker *l) {
  if (!l) return;
  kr_def *d = l->defs.data;
  for (size_t i = 0; i < l->defs.len; i++) { ku_free(d[i].module); ku_free(d[i].name); }
  ku_vec_free(&l->defs);
  ku_free(l);
}

/* FNV-1a of "module\0name": definitions are told apart by it before any
** string compare (a linker is made per request in a server). */
static uint32_t def_hash(const char *module, const char *name) {
  uint32_t h = 2166136261u;
  for (const char *p = module; *p; p++) h = (h ^ (uint8_t)*p) * 16777619u;
  h *= 16777619u;
  for (const char *p = name; *p; p++) h = (h ^ (uint8_t)*p) * 16777619u;
  return h;
}

static kr_def *find_def(krait_linker *l, const char *module, const char *name, uint32_t h) {
  kr_def *d = l->defs.data;
  for (size_t i = l->defs.len; i > 0; i--)
    if (d[i - 1].hash == h && strcmp(d[i - 1].module, module) == 0 &&
        strcmp(d[i - 1].name, name) == 0)
      return &d[i - 1];
  return NULL;
}

/* Defines or replaces module.name in the linker. */
int krait_linker_define(krait_linker *l, const char *module, const char *name,
                        const krait_extern *ext) {
  uint32_t h = def_hash(module, name);
  kr_def *d = find_def(l, module, name, h);
  if (d) { d->ext = *ext; return 0; }
  char *m = ku_strdup(module), *n = ku_strdup(name);
  d = (m && n) ? ku_vec_push(&l->defs) : NULL;
  if (!d) { ku_free(m); ku_free(n); return -1; }
  d->module = m;
  d->name = n;
  d->hash = h;
  d->ext = *ext;
  return 0;
}

int krait_linker_define_func(krait_linker *l, const char *module, const char *name,
                             const char *sig, krait_host_fn fn, void *env) {
  krait_func *f = krait_func_new(l->store, sig, fn, env);
  if (!f) return -1;
  krait_extern e = {.kind = KRAIT_EXTERN_FUNC, .of.func = f};
  return krait_linker_define(l, module, name, &e);
}

/* Defines every export of an instance under a module name. */
int krait_linker_define_instance(krait_linker *l, const char *module, krait_instance *in) {
  const krait_module *m = in->module;
  for (uint32_t i = 0; i < m->nexports; i++) {
    krait_extern e;
    if (krait_instance_export(in, m->exports[i].name, &e) != 0) return -1;
    if (krait_linker_define(l, module, m->exports[i].name, &e) != 0) return -1;
  }
  return 0;
}

static void link_error(krait_error *err, const kd_import *im, const char *why) {
  err->kind = KRAIT_ERR_LINK;
  ku_fmt(err->message, sizeof err->message, "%s: import \"%s\" \"%s\" (%s %s)",
         why, im->module, im->name,
         (const char *[]){"func", "table", "memory", "global"}[im->kind],
         im->type_text ? im->type_text : "");
}

/* Import subtyping of limits: the provided object must be at least as big
** and its maximum (if the import has one) no larger. */
static bool limits_match(uint64_t size, uint64_t max, bool has_max, const kd_limits *want) {
  if (size < want->min) return false;
  if (!want->has_max) return true;
  return has_max && max <= want->max;
}

/* Checks one import against its definition and stores it in the instance. */
static bool bind_import(krait_instance *in, const kd_import *im, const krait_extern *e,
                        krait_error *err) {
  const krait_module *m = in->module;
  if (e->kind != im->kind) { link_error(err, im, "incompatible import type (wrong kind)"); return false; }
  switch (im->kind) {
  case KRAIT_EXTERN_FUNC:
    if (e->of.func->type_id != m->types[m->funcs[im->index].type_idx].id) {
      link_error(err, im, "incompatible import type (function signature differs)");
      return false;
    }
    in->funcs[im->index] = e->of.func;
    return true;
  case KRAIT_EXTERN_TABLE: {
    krait_table *t = e->of.table;
    const kd_tabletype *tt = &m->tables[im->index];
    if (t->type != tt->elem || !limits_match(t->size, t->max, t->max != UINT32_MAX, &tt->lim)) {
      link_error(err, im, "incompatible import type (table limits or element type)");
      return false;
    }
    in->tables[im->index] = t;
    return true;
  }
  case KRAIT_EXTERN_MEMORY: {
    krait_memory *mm = e->of.memory;
    if (!limits_match(mm->pages, mm->declared_max, mm->has_declared_max, &m->mems[im->index])) {
      link_error(err, im, "incompatible import type (memory limits)");
      return false;
    }
    in->mem0 = mm;
    return true;
  }
  default: {
    krait_global *g = e->of.global;
    const kd_globaltype *gt = &m->globals[im->index];
    if (g->type != gt->type || g->mut != gt->mut) {
      link_error(err, im, "incompatible import type (global type or mutability)");
      return false;
    }
    in->globals[im->index] = g;
    return true;
  }
  }
}

/* Binds every import through the linker, failing on the first mismatch. */
static bool resolve_imports(krait_linker *l, krait_instance *in, krait_error *err) {
  const krait_module *m = in->module;
  for (uint32_t i = 0; i < m->nimports; i++) {
    const kd_import *im = &m->imports[i];
    kr_def *d = find_def(l, im->module, im->name, def_hash(im->module, im->name));
    if (!d) { link_error(err, im, "unknown import"); return false; }
    if (!bind_import(in, im, &d->ext, err)) return false;
  }
  return true;
}

/* Allocates the instance and its index-space arrays in one block. */
static krait_instance *alloc_instance(krait_store *s, const krait_module *m) {
  size_t n = sizeof(krait_instance) +
             m->nfuncs * sizeof(krait_func *) + m->ntables * sizeof(krait_table *) +
             m->nglobals * sizeof(krait_global *) + m->nelems * (sizeof(void **) + 4) +
             m->ndatas * 4 + 64;
  krait_instance *in = ku_calloc(1, n);
  if (!in || !kr_own(s, KR_OWN_INSTANCE, in)) return NULL;
  char *p = (char *)(in + 1);
  in->funcs = (krait_func **)p;   p += m->nfuncs * sizeof(krait_func *);
  in->tables = (krait_table **)p; p += m->ntables * sizeof(krait_table *);
  in->globals = (krait_global **)p; p += m->nglobals * sizeof(krait_global *);
  in->elem_refs = (void ***)p;    p += m->nelems * sizeof(void **);
  in->elem_len = (uint32_t *)p;   p += m->nelems * 4;
  in->data_len = (uint32_t *)p;
  in->module = m;
  in->store = s;
  in->mem0 = &no_memory;
  return !kr_aot || kr_aot->instance_init(in) ? in : NULL;
}

/* Creates the function objects of the exported functions up front, so
** that looking up an export never allocates. */
static bool make_export_funcs(krait_instance *in) {
  const krait_module *m = in->module;
  for (uint32_t i = 0; i < m->nexports; i++)
    if (m->exports[i].kind == KRAIT_EXTERN_FUNC && !kr_func(in, m->exports[i].index)) return false;
  return true;
}

/* Function objects come from pools of this many, allocated as needed. */
#define KR_FUNC_POOL 128

krait_func *kr_func_make(krait_instance *in, uint32_t idx) {
  const krait_module *m = in->module;
  assert(idx >= m->nfunc_imports && idx < m->nfuncs && !in->funcs[idx]);
  if (in->pool_left == 0) {
    in->func_pool = kr_alloc(in->store, KR_FUNC_POOL * sizeof *in->func_pool);
    if (!in->func_pool) return NULL;
    in->pool_left = KR_FUNC_POOL;
  }
  krait_func *f = in->func_pool++;
  in->pool_left--;
  const kd_functype *t = kd_func_type(m, idx);
  f->sig = t->sig; f->type_id = t->id;
  f->nparams = t->nparams; f->nresults = t->nresults;
  f->params = t->params; f->results = t->results;
  f->inst = in; f->def = &m->funcs[idx]; f->index = idx;
  f->name = m->funcs[idx].name;
  if (kr_aot) kr_aot->func_bind(in, f);
  in->funcs[idx] = f;
  return f;
}

/* Evaluates a validated constant expression in the instance. */
static krait_slot eval_const(krait_instance *in, const kd_constexpr *e) {
  krait_slot v = {.bits = 0};
  switch (e->op) {
  case KD_OP_GLOBAL_GET: v = in->globals[e->value]->val; break;
  case KD_OP_REF_FUNC: v.ref = kr_func(in, e->value); break;
  case KD_OP_REF_NULL: v.ref = NULL; break;
  default: v.bits = e->value; break;
  }
  return v;
}

/* Creates defined globals from their constant initializers. */
static bool make_globals(krait_instance *in) {
  const krait_module *m = in->module;
  for (uint32_t i = m->nglobal_imports; i < m->nglobals; i++) {
    krait_global *g = kr_alloc(in->store, sizeof *g);
    if (!g) return false;
    g->type = m->globals[i].type;
    g->mut = m->globals[i].mut;
    g->val = eval_const(in, &m->global_inits[i]);
    in->globals[i] = g;
  }
  return true;
}

/* Creates defined tables and memory 0 (within the engine's caps), memory 0
** with at least mem_min pages (a snapshot's size). */
static bool make_tables_and_memory(krait_instance *in, uint32_t mem_min, const krait_snapshot *sn,
                                   krait_error *err) {
  const krait_module *m = in->module;
  for (uint32_t i = m->ntable_imports; i < m->ntables; i++) {
    const kd_tabletype *t = &m->tables[i];
    in->tables[i] = kr_table_new(in->store, t->elem, t->lim.min, t->lim.has_max ? t->lim.max : UINT32_MAX);
    if (!in->tables[i]) {   /* ERANGE: past the cap; else the host is out of memory */
      err->kind = errno == ERANGE ? KRAIT_ERR_LINK : KRAIT_ERR_NOMEM;
      ku_fmt(err->message, sizeof err->message, "cannot allocate table %u (%u elements)", i, t->lim.min);
      return false;
    }
  }
  if (m->nmems > m->nmem_imports) {
    const kd_limits *l = &m->mems[0];
    uint32_t pages = mem_min > l->min ? mem_min : l->min;
    in->mem0 = sn ? kr_memory_pooled(in->store, sn->id, pages, l->max, l->has_max) : NULL;
    if (!in->mem0) in->mem0 = kr_memory_new(in->store, pages, l->max, l->has_max);
    if (!in->mem0) {   /* ERANGE: past the limit; else the host is out of memory */
      err->kind = errno == ERANGE ? KRAIT_ERR_LINK : KRAIT_ERR_NOMEM;
      ku_fmt(err->message, sizeof err->message,
             "cannot allocate memory of %u pages (limit %llu bytes)", pages,
             (unsigned long long)(in->store->max_memory_bytes ? in->store->max_memory_bytes
                                                            : in->store->engine->cfg.max_memory_bytes));
      return false;
    }
  }
  return true;
}

/* Evaluates element segment items to references; notes data lengths. */
bool kr_eval_elem(krait_instance *in, uint32_t i) {
  const kd_elem *e = &in->module->elems[i];
  void **refs = kr_alloc(in->store, (e->count ? e->count : 1) * sizeof *refs);
  if (!refs) return false;
  for (uint32_t k = 0; k < e->count; k++) refs[k] = eval_const(in, &e->items[k]).ref;
  in->elem_refs[i] = refs;
  return true;
}

/* Sets every segment's length; evaluates element items unless lazy (a
** snapshot evaluates only the segments it kept). */
static bool eval_segments(krait_instance *in, bool lazy) {
  const krait_module *m = in->module;
  for (uint32_t i = 0; i < m->nelems; i++) {
    if (!lazy && !kr_eval_elem(in, i)) return false;
    in->elem_len[i] = m->elems[i].count;
  }
  for (uint32_t i = 0; i < m->ndatas; i++) in->data_len[i] = m->datas[i].len;
  return true;
}

/* Applies active segments in order (2.0 semantics: a trap keeps the
** effects of earlier segments), then drops active and declarative ones. */
static krait_trapkind apply_segments(krait_instance *in) {
  const krait_module *m = in->module;
  for (uint32_t i = 0; i < m->nelems; i++) {
    const kd_elem *e = &m->elems[i];
    if (e->mode == KD_SEG_ACTIVE) {
      uint32_t off = (uint32_t)eval_const(in, &e->offset).bits;
      krait_trapkind t = kr_table_init(in, e->table, i, off, 0, e->count);
      if (t) return t;
    }
    if (e->mode != KD_SEG_PASSIVE) in->elem_len[i] = 0;
  }
  for (uint32_t i = 0; i < m->ndatas; i++) {
    const kd_data *d = &m->datas[i];
    if (d->mode != KD_SEG_ACTIVE) continue;
    uint32_t off = (uint32_t)eval_const(in, &d->offset).bits;
    krait_trapkind t = kr_memory_init(in, i, off, 0, d->len);
    if (t) return t;
    in->data_len[i] = 0;
  }
  return KRAIT_TRAP_NONE;
}

/* Builds an instance up to (not including) its segments and start: the
** imports, functions, globals, tables, memory 0 (at least mem_min pages)
** and evaluated segment items. NULL with err on failure. */
krait_instance *kr_instance_build(krait_linker *l, const krait_module *m, uint32_t mem_min,
                                  const krait_snapshot *sn, krait_error *err) {
  krait_instance *in = alloc_instance(l->store, m);
  if (!in || !resolve_imports(l, in, err) || !make_globals(in) || !make_export_funcs(in) ||
      !make_tables_and_memory(in, mem_min, sn, err) || !eval_segments(in, sn != NULL)) {
    if (err->kind == KRAIT_OK) {
      err->kind = KRAIT_ERR_NOMEM;
      ku_fmt(err->message, sizeof err->message, "out of memory while instantiating");
    }
    return NULL;
  }
  if (kr_aot) kr_aot->instance_finish(in);
  return in;
}

/* Instantiates a module: imports, objects, segments, start function. */
krait_instance *krait_instantiate(krait_linker *l, const krait_module *m, krait_error *err) {
  krait_error dummy;
  if (!err) err = &dummy;
  memset(err, 0, sizeof *err);
  krait_store *s = l->store;
  krait_instance *in = kr_instance_build(l, m, 0, NULL, err);
  if (!in) return NULL;
  krait_trapkind t = apply_segments(in);
  if (t) {
    s->ex.trap = t;
    s->ex.trap_ip = NULL;
    s->ex.exited = false;
    kr_trap_to_error(s, err);
    return NULL;
  }
  if (m->has_start) {
    krait_slot none[1];
    krait_func *start = kr_func(in, m->start);
    if (!start || kr_call_raw(s, start, none, err) != 0) return NULL;
  }
  return in;
}

int krait_instance_export(krait_instance *in, const char *name, krait_extern *out) {
  return krait_instance_export_n(in, name, strlen(name), out);
}

/* Looks up an export by a name of len bytes. */
int krait_instance_export_n(krait_instance *in, const char *name, size_t len,
                            krait_extern *out) {
  const krait_module *m = in->module;
  for (uint32_t i = 0; i < m->nexports; i++) {
    const kd_export *e = &m->exports[i];
    if (e->name_len != len || memcmp(e->name, name, len) != 0) continue;
    out->kind = e->kind;
    switch (e->kind) {
    case KRAIT_EXTERN_FUNC: out->of.func = in->funcs[e->index]; break;
    case KRAIT_EXTERN_TABLE: out->of.table = in->tables[e->index]; break;
    case KRAIT_EXTERN_MEMORY: out->of.memory = in->mem0; break;
    default: out->of.global = in->globals[e->index]; break;
    }
    return 0;
  }
  return -1;
}
