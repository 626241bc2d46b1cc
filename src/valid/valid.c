/*
** valid.c -- module-level validation: index spaces, limits, constant
** expressions, segments, exports and start. Bodies are in valid_code.c.
*/
#include "valid/valid_internal.h"
#include <pthread.h>

/* Checks limits against a bound k ("memory size must be at most ..."). */
static void check_limits(ku_cursor *c, const kd_limits *l, uint64_t k,
                         const char *what) {
  if (l->min > k) INVALID(c, "%s size must be at most %llu", what, (unsigned long long)k);
  if (l->has_max && l->max > k) INVALID(c, "%s size must be at most %llu", what, (unsigned long long)k);
  if (l->has_max && l->max < l->min)
    INVALID(c, "size minimum must not be greater than maximum");
}

/* Validates a constant expression of the expected type. Only imported
** globals may be read (Wasm 2.0). */
static void check_constexpr(kv_ctx *v, kd_constexpr *e, uint8_t want) {
  krait_module *m = v->m;
  ku_cursor *c = &v->c;
  c->p = m->bytes + e->offset;
  switch (e->op) {
  case KD_OP_END: INVALID(c, "type mismatch: empty constant expression");
  case KD_OP_GLOBAL_GET:
    if (e->value >= m->nglobal_imports)
      INVALID(c, "unknown global %llu (constant expressions may only read imported globals)", (unsigned long long)e->value);
    if (m->globals[e->value].mut)
      INVALID(c, "constant expression required (global %llu is mutable)", (unsigned long long)e->value);
    e->type = m->globals[e->value].type;
    break;
  case KD_OP_REF_FUNC:
    if (e->value >= m->nfuncs) INVALID(c, "unknown function %llu", (unsigned long long)e->value);
    m->func_declared[e->value] = true;
    break;
  default: break;
  }
  if (e->type != want)
    INVALID(c, "type mismatch: constant expression is %s, expected %s",
            kd_valtype_name(e->type), kd_valtype_name(want));
}

/* Type indices of functions, and table and memory limits. */
static void check_imports_and_types(kv_ctx *v) {
  krait_module *m = v->m;
  for (uint32_t i = 0; i < m->nfuncs; i++)
    if (m->funcs[i].type_idx >= m->ntypes)
      INVALID(&v->c, "unknown type %u (function %u)", m->funcs[i].type_idx, i);
  for (uint32_t i = 0; i < m->ntables; i++)
    check_limits(&v->c, &m->tables[i].lim, 0xFFFFFFFFull, "table");
  if (m->nmems > 1) INVALID(&v->c, "multiple memories");
  for (uint32_t i = 0; i < m->nmems; i++)
    check_limits(&v->c, &m->mems[i], 65536, "memory");
}

static void check_globals(kv_ctx *v) {
  krait_module *m = v->m;
  for (uint32_t i = m->nglobal_imports; i < m->nglobals; i++)
    check_constexpr(v, &m->global_inits[i], m->globals[i].type);
}

/* Export indices, unique names, and the functions they declare. */
static void check_exports(kv_ctx *v) {
  krait_module *m = v->m;
  static const char *const kinds[] = {"function", "table", "memory", "global"};
  uint32_t limits[4] = {m->nfuncs, m->ntables, m->nmems, m->nglobals};
  for (uint32_t i = 0; i < m->nexports; i++) {
    kd_export *e = &m->exports[i];
    if (e->index >= limits[e->kind])
      INVALID(&v->c, "unknown %s %u in export \"%s\"", kinds[e->kind], e->index, e->name);
    if (e->kind == KRAIT_EXTERN_FUNC) m->func_declared[e->index] = true;
    for (uint32_t k = 0; k < i; k++)
      if (m->exports[k].name_len == e->name_len &&
          memcmp(m->exports[k].name, e->name, e->name_len) == 0)
        INVALID(&v->c, "duplicate export name \"%s\"", e->name);
  }
}

/* Element segments: item types, table, offset and element type. */
static void check_elems(kv_ctx *v) {
  krait_module *m = v->m;
  for (uint32_t i = 0; i < m->nelems; i++) {
    kd_elem *e = &m->elems[i];
    for (uint32_t k = 0; k < e->count; k++)
      check_constexpr(v, &e->items[k], e->type);
    if (e->mode != KD_SEG_ACTIVE) continue;
    if (e->table >= m->ntables) INVALID(&v->c, "unknown table %u in element segment %u", e->table, i);
    check_constexpr(v, &e->offset, KD_I32);
    if (m->tables[e->table].elem != e->type)
      INVALID(&v->c, "type mismatch: element segment %u is %s, table %u is %s", i,
              kd_valtype_name(e->type), e->table, kd_valtype_name(m->tables[e->table].elem));
  }
}

/* Active data segments: memory index and offset expression. */
static void check_datas(kv_ctx *v) {
  krait_module *m = v->m;
  for (uint32_t i = 0; i < m->ndatas; i++) {
    kd_data *d = &m->datas[i];
    if (d->mode != KD_SEG_ACTIVE) continue;
    if (d->memory >= m->nmems) INVALID(&v->c, "unknown memory %u in data segment %u", d->memory, i);
    check_constexpr(v, &d->offset, KD_I32);
  }
}

static void check_start(kv_ctx *v) {
  krait_module *m = v->m;
  if (!m->has_start) return;
  if (m->start >= m->nfuncs) INVALID(&v->c, "unknown function %u (start)", m->start);
  const kd_functype *t = kd_func_type(m, m->start);
  if (t->nparams || t->nresults) INVALID(&v->c, "start function must have type [] -> []");
}

/* Opens a validation context whose failures land in err (the catch point
** is the caller's setjmp on v->fail.jb). */
static void open_ctx(kv_ctx *v, const krait_module *m, krait_error *err) {
  memset(v, 0, sizeof *v);
  v->m = (krait_module *)m;
  v->fail.msg = err->message;
  v->fail.cap = sizeof err->message;
  v->c = (ku_cursor){m->bytes, m->bytes + m->len, m->bytes, "module", &v->fail};
}

int kv_validate_module(krait_module *m, krait_error *err) {
  kv_ctx v;
  open_ctx(&v, m, err);
  if (setjmp(v.fail.jb)) {
    err->kind = (krait_errkind)v.fail.kind;
    kv_free_ctx(&v);
    return -1;
  }
  m->func_declared = ku_arena_alloc(&m->arena, m->nfuncs + 1);
  if (!m->func_declared) ku_cfail(&v.c, KRAIT_ERR_NOMEM, "out of memory");
  check_imports_and_types(&v);
  check_globals(&v);
  check_elems(&v);
  check_datas(&v);
  check_exports(&v);
  check_start(&v);
  kv_free_ctx(&v);
  atomic_store(&m->bodies_pending, m->nfuncs > m->nfunc_imports);
  return 0;
}

/* Checks the bodies of functions [from, to) not checked yet, in order,
** with one context; the caller holds body_lock. */
static int check_bodies(const krait_module *m, uint32_t from, uint32_t to, krait_error *err) {
  kv_ctx v;
  open_ctx(&v, m, err);
  volatile uint32_t i = from;
  if (setjmp(v.fail.jb)) {
    err->kind = (krait_errkind)v.fail.kind;
    kv_free_ctx(&v);
    return -1;
  }
  if (m->view)  /* its file may have changed since it was decoded */
    ku_cfail(&v.c, KRAIT_ERR_UNSUPPORTED, "a module viewed from its file runs as native code only (function %u)", i);
  for (; i < to; i++) {
    if (m->funcs[i].checked) continue;
    kv_check_func(&v, i);
    v.m->funcs[i].checked = true;
  }
  kv_free_ctx(&v);
  return 0;
}

/* Body checks fill a module's lazily kept state (checked, max_height)
** after it is made, when other threads may share it: one lock for all. */
static pthread_mutex_t body_lock = PTHREAD_MUTEX_INITIALIZER;

int kv_validate_bodies(const krait_module *m, krait_error *err) {
  if (!atomic_load(&m->bodies_pending)) return 0;
  pthread_mutex_lock(&body_lock);
  int rc = check_bodies(m, m->nfunc_imports, m->nfuncs, err);
  if (rc == 0) atomic_store(&((krait_module *)m)->bodies_pending, false);
  pthread_mutex_unlock(&body_lock);
  return rc;
}

int kv_check_body(const krait_module *m, uint32_t fi, krait_error *err) {
  if (!atomic_load(&m->bodies_pending) || fi < m->nfunc_imports) return 0;
  pthread_mutex_lock(&body_lock);
  int rc = check_bodies(m, fi, fi + 1, err);
  pthread_mutex_unlock(&body_lock);
  return rc;
}

int kv_validate(krait_module *m, krait_error *err) {
  if (kv_validate_module(m, err) != 0) return -1;
  return kv_validate_bodies(m, err);
}
