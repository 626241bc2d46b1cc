/*
** api.c -- the rest of the public API: modules (load, describe), host
** functions, typed calls, and access to memories, globals and tables.
*/
#include "runtime/runtime.h"
#include "valid/valid.h"
#include "interp/interp.h"
#include "platform/platform.h"
#include <stdio.h>

/* Writes "min..max" (or "min..") limits text into the module arena. */
static char *limits_text(krait_module *m, const kd_limits *l, uint8_t elem) {
  char buf[64];
  if (l->has_max) snprintf(buf, sizeof buf, "%s%s%u..%u", elem ? kd_valtype_name(elem) : "", elem ? " " : "", l->min, l->max);
  else snprintf(buf, sizeof buf, "%s%s%u..", elem ? kd_valtype_name(elem) : "", elem ? " " : "", l->min);
  return ku_arena_strndup(&m->arena, buf, strlen(buf));
}

/* The type text of an extern of the module (see krait_importexport). */
static char *type_text(krait_module *m, krait_externkind kind, uint32_t idx) {
  char buf[32];
  switch (kind) {
  case KRAIT_EXTERN_FUNC: return (char *)kd_func_type(m, idx)->sig;
  case KRAIT_EXTERN_TABLE: return limits_text(m, &m->tables[idx].lim, m->tables[idx].elem);
  case KRAIT_EXTERN_MEMORY: return limits_text(m, &m->mems[idx], 0);
  default:
    snprintf(buf, sizeof buf, "%s%c", m->globals[idx].mut ? "mut " : "",
             kd_valtype_letter(m->globals[idx].type));
    return ku_arena_strndup(&m->arena, buf, strlen(buf));
  }
}

/* After validation: interns function types and fills descriptor texts. */
static bool finish_module(krait_module *m) {
  for (uint32_t i = 0; i < m->ntypes; i++) {
    m->types[i].id = kr_type_id(m->engine, m->types[i].sig);
    if (m->types[i].id == UINT32_MAX) return false;
  }
  for (uint32_t i = 0; i < m->nimports; i++)
    if (!(m->imports[i].type_text = type_text(m, m->imports[i].kind, m->imports[i].index))) return false;
  for (uint32_t i = 0; i < m->nexports; i++)
    if (!(m->exports[i].type_text = type_text(m, m->exports[i].kind, m->exports[i].index))) return false;
  return true;
}

const kr_aot_ops *kr_aot;

void kr_aot_install(const kr_aot_ops *ops) { kr_aot = ops; }

/* Attaches native code when the engine's tier asks for it and the AOT tier
** is linked in: with may_build false only code already compiled (found in
** the process or a cache), else as the tier says (aot: compiled now). Tier
** aot without the AOT tier is an error naming the remedy. */
static int aot_attach(krait_module *m, bool may_build, krait_error *err) {
  if (kr_aot) return kr_aot->attach(m, may_build, err);
  if (m->engine->cfg.tier != KRAIT_TIER_AOT || !may_build) return 0;
  err->kind = KRAIT_ERR_UNSUPPORTED;
  ku_fmt(err->message, sizeof err->message,
         "the AOT tier is not in this program: link libkrait-host.a and call krait_aot_enable() (krait_host.h)");
  return -1;
}

/* Fails a module being made: frees it, returns NULL (err is filled, or
** filled here with "out of memory" when nomem). */
static krait_module *fail_module(krait_module *m, bool nomem, krait_error *err) {
  krait_module_free(m);
  if (nomem) {
    err->kind = KRAIT_ERR_NOMEM;
    ku_fmt(err->message, sizeof err->message, "out of memory");
  }
  return NULL;
}

/* Decodes and validates m's bytes, then attaches native code. Function
** bodies are validated unless native code compiled from exactly these
** bytes (same SHA-256; compiling validates them first) is attached: the
** bodies then never run interpreted, and anything that reads one later
** (lowering, a compile for the other bounds mode) validates it first
** (valid.h). With no such code every body is validated here, before tier
** aot compiles the module. */
static krait_module *make_module(krait_module *m, bool *no_native, krait_error *err) {
  if (kd_decode(m, m->bytes, m->len, err) != 0 || kv_validate_module(m, err) != 0)
    return fail_module(m, false, err);
  if (!finish_module(m)) return fail_module(m, true, err);
  if (aot_attach(m, false, err) != 0) return fail_module(m, false, err);
  if (m->aot) return m;
  if (no_native) {  /* a view: native code or nothing */
    *no_native = true;
    return fail_module(m, false, err);
  }
  if (kv_validate_bodies(m, err) != 0 || aot_attach(m, true, err) != 0)
    return fail_module(m, false, err);
  return m;
}

krait_module *kr_module_adopt(krait_engine *e, uint8_t *bytes, size_t len, const uint8_t *sha,
                              krait_error *err) {
  krait_error dummy;
  if (!err) err = &dummy;
  memset(err, 0, sizeof *err);
  krait_module *m = ku_calloc(1, sizeof *m);
  if (!m) {
    ku_free(bytes);
    return fail_module(NULL, true, err);
  }
  m->engine = e;
  m->bytes = bytes;
  m->len = len;
  if (sha) {
    memcpy(m->sha, sha, sizeof m->sha);
    atomic_store(&m->has_sha, true);
  }
  return make_module(m, NULL, err);
}

krait_module *kr_module_view(krait_engine *e, const uint8_t *view, size_t len, const uint8_t sha[32],
                             bool *no_native, krait_error *err) {
  krait_error dummy;
  if (!err) err = &dummy;
  memset(err, 0, sizeof *err);
  *no_native = false;
  krait_module *m = ku_calloc(1, sizeof *m);
  if (!m) {
    kp_release((void *)view, len);
    return fail_module(NULL, true, err);
  }
  m->engine = e;
  m->bytes = (uint8_t *)view;  /* never written: decoding only reads */
  m->len = len;
  m->view = true;
  memcpy(m->sha, sha, sizeof m->sha);
  atomic_store(&m->has_sha, true);
  return make_module(m, no_native, err);
}

/* Copies the caller's bytes, then makes the module of the copy. */
krait_module *krait_module_new(krait_engine *e, const uint8_t *bytes, size_t len,
                               krait_error *err) {
  krait_error dummy;
  if (!err) err = &dummy;
  memset(err, 0, sizeof *err);
  uint8_t *copy = ku_malloc(len ? len : 1);
  if (!copy) return fail_module(NULL, true, err);
  if (len) memcpy(copy, bytes, len);
  return kr_module_adopt(e, copy, len, NULL, err);
}

void krait_module_free(krait_module *m) {
  if (!m) return;
  if (kr_aot) kr_aot->detach(m);
  for (uint32_t i = 0; i < m->nfuncs; i++) ki_code_free(m->funcs[i].code);
  ku_arena_free(&m->arena);
  if (m->view) kp_release(m->bytes, m->len);
  else ku_free(m->bytes);
  ku_free(m);
}

size_t krait_module_import_count(const krait_module *m) { return m->nimports; }
size_t krait_module_export_count(const krait_module *m) { return m->nexports; }

int krait_module_import(const krait_module *m, size_t i, krait_importexport *out) {
  if (i >= m->nimports) return -1;
  const kd_import *im = &m->imports[i];
  *out = (krait_importexport){im->module, im->name, strlen(im->name), im->kind, im->type_text};
  return 0;
}

int krait_module_export(const krait_module *m, size_t i, krait_importexport *out) {
  if (i >= m->nexports) return -1;
  const kd_export *e = &m->exports[i];
  *out = (krait_importexport){NULL, e->name, e->name_len, e->kind, e->type_text};
  return 0;
}

static int letter_type(char c) {
  const char *p = strchr("iIfFrx", c);
  return (c && p) ? (int)(p - "iIfFrx") : -1;
}

/* Parses "params:results" into type arrays; false on a bad letter. */
static bool parse_sig(const char *sig, uint8_t *types, uint32_t *np, uint32_t *nr) {
  const char *colon = strchr(sig, ':');
  if (!colon || strchr(colon + 1, ':')) return false;
  *np = (uint32_t)(colon - sig);
  *nr = (uint32_t)strlen(colon + 1);
  for (uint32_t i = 0; i < *np + *nr; i++) {
    int t = letter_type(i < *np ? sig[i] : colon[1 + i - *np]);
    if (t < 0) return false;
    types[i] = (uint8_t)t;
  }
  return true;
}

/* Creates a host function: parses and interns its signature string. */
krait_func *krait_func_new(krait_store *s, const char *sig, krait_host_fn fn, void *env) {
  size_t n = strlen(sig);
  if (!fn || n > 1000) return NULL;
  krait_func *f = kr_alloc(s, sizeof *f + n + 1 + n);
  if (!f) return NULL;
  char *copy = (char *)(f + 1);
  uint8_t *types = (uint8_t *)copy + n + 1;
  memcpy(copy, sig, n + 1);
  if (!parse_sig(copy, types, &f->nparams, &f->nresults)) return NULL;
  f->sig = copy;
  f->type_id = kr_type_id(s->engine, copy);
  if (f->type_id == UINT32_MAX) return NULL;
  f->params = types;
  f->results = types + f->nparams;
  f->host = fn;
  f->env = env;
  f->name = "host function";
  return f;
}

const char *krait_func_signature(const krait_func *f) { return f->sig; }

/* Name for messages: name section, then an export name, then func[N]. */
const char *kr_func_name(const krait_func *f) {
  if (f->name) return f->name;
  const krait_module *m = f->inst->module;
  for (uint32_t i = 0; i < m->nexports; i++)
    if (m->exports[i].kind == KRAIT_EXTERN_FUNC && m->exports[i].index == f->index)
      return m->exports[i].name;
  char buf[32];
  snprintf(buf, sizeof buf, "func[%u]", f->index);
  char *s = ku_arena_strndup(&f->inst->store->arena, buf, strlen(buf));
  return s ? s : "func[?]";
}

const char *krait_func_name(const krait_func *f) { return kr_func_name(f); }

static void arg_error(krait_error *err, const char *msg, const krait_func *f) {
  if (!err) return;
  memset(err, 0, sizeof *err);
  err->kind = KRAIT_ERR_ARG;
  ku_fmt(err->message, sizeof err->message, "%s (function %s has signature %s)",
         msg, kr_func_name(f), f->sig);
}

/* Typed call: checks argument count and types, then kr_call_raw. */
int krait_func_call(krait_store *s, krait_func *f, const krait_val *args, size_t nargs,
                    krait_val *results, size_t nresults, krait_error *err) {
  if (nargs != f->nparams) { arg_error(err, "wrong number of arguments", f); return -1; }
  if ((nargs && !args) || (f->nresults && !results)) { arg_error(err, "NULL argument or result array", f); return -1; }
  if (nresults < f->nresults) { arg_error(err, "results array too small", f); return -1; }
  uint32_t n = f->nparams > f->nresults ? f->nparams : f->nresults;
  krait_slot slots[n ? n : 1];
  for (size_t i = 0; i < nargs; i++) {
    if (args[i].type != f->params[i]) { arg_error(err, "argument type mismatch", f); return -1; }
    slots[i].bits = 0;
    slots[i] = args[i].of;
    if (args[i].type == KRAIT_I32 || args[i].type == KRAIT_F32) slots[i].bits &= 0xFFFFFFFFu;
  }
  if (kr_call_raw(s, f, slots, err) != 0) return -1;
  for (uint32_t i = 0; i < f->nresults; i++) {
    results[i].type = (krait_valtype)f->results[i];
    results[i].of = slots[i];
  }
  return 0;
}

krait_memory *krait_memory_new(krait_store *s, uint32_t min, uint32_t max) {
  return kr_memory_new(s, min, max, max != UINT32_MAX);
}

uint8_t *krait_memory_data(krait_memory *m) { return m->base; }
uint64_t krait_memory_size(const krait_memory *m) { return m->size; }
int64_t krait_memory_grow(krait_memory *m, uint32_t delta) { return kr_memory_grow(m, delta); }

krait_table *krait_table_new(krait_store *s, krait_valtype type, uint32_t min, uint32_t max) {
  if (type != KRAIT_FUNCREF && type != KRAIT_EXTERNREF) return NULL;
  if (max < min) return NULL;
  return kr_table_new(s, (uint8_t)type, min, max);
}

/* Creates a global owned by the store. */
krait_global *krait_global_new(krait_store *s, const krait_val *init, int is_mutable) {
  if ((unsigned)init->type > KRAIT_EXTERNREF) return NULL;
  krait_global *g = kr_alloc(s, sizeof *g);
  if (!g) return NULL;
  g->type = (uint8_t)init->type;
  g->mut = is_mutable != 0;
  g->val = init->of;
  return g;
}

krait_val krait_global_get(const krait_global *g) {
  krait_val v = {(krait_valtype)g->type, g->val};
  return v;
}

int krait_global_set(krait_global *g, const krait_val *v) {
  if (!g->mut || v->type != g->type) return -1;
  g->val = v->of;
  return 0;
}

uint32_t krait_table_size(const krait_table *t) { return t->size; }

int krait_table_get(const krait_table *t, uint32_t i, krait_val *out) {
  if (i >= t->size) return -1;
  bool oom = false;
  out->type = (krait_valtype)t->type;
  out->of.ref = kr_table_ref((krait_table *)t, i, &oom);  /* makes a lazy entry real */
  return oom ? -1 : 0;
}

int krait_table_set(krait_table *t, uint32_t i, const krait_val *v) {
  if (i >= t->size || v->type != t->type) return -1;
  t->elems[i] = v->of.ref;
  return 0;
}

int64_t krait_table_grow(krait_table *t, uint32_t delta, const krait_val *init) {
  if (init && init->type != t->type) return -1;
  return kr_table_grow(t, delta, init ? init->of.ref : NULL);
}
