/*
** shape.c -- a module's identity for native code: its SHA-256 together
** with a digest of the decoded structure the generated code relies on.
*/
#include "krait_host.h"
#include "aot/aot_internal.h"
#include <openssl/evp.h>

/* Feeds n 32-bit numbers to the digest (fixed width, host order: the
** identity never leaves this machine's cache). */
static void put(EVP_MD_CTX *c, const uint32_t *v, size_t n) {
  EVP_DigestUpdate(c, v, n * sizeof *v);
}

/* A constant expression: its op and value (the translator may fold an
** immutable global's initial value into code). */
static void put_const(EVP_MD_CTX *c, const kd_constexpr *e) {
  uint32_t v[3] = {(uint32_t)e->op, (uint32_t)e->value, (uint32_t)(e->value >> 32)};
  put(c, v, 3);
}

/* Limits: min, max and whether max is set. */
static void put_limits(EVP_MD_CTX *c, const kd_limits *l) {
  uint32_t v[3] = {l->min, l->max, l->has_max};
  put(c, v, 3);
}

/* Types, and every function's type index. */
static void put_funcs(EVP_MD_CTX *c, const krait_module *m) {
  uint32_t n[2] = {m->ntypes, m->nfuncs};
  put(c, n, 2);
  for (uint32_t i = 0; i < m->ntypes; i++) {
    const kd_functype *t = &m->types[i];
    uint32_t h[2] = {t->nparams, t->nresults};
    put(c, h, 2);
    EVP_DigestUpdate(c, t->params, t->nparams);
    EVP_DigestUpdate(c, t->results, t->nresults);
  }
  for (uint32_t i = 0; i < m->nfuncs; i++) {
    uint32_t f[2] = {m->funcs[i].type_idx, m->funcs[i].imported};
    put(c, f, 2);
  }
}

/* Imports, tables, memories and globals (with defined globals' inits). */
static void put_spaces(EVP_MD_CTX *c, const krait_module *m) {
  uint32_t n[8] = {m->nimports, m->nfunc_imports, m->ntables, m->ntable_imports,
                   m->nmems, m->nmem_imports, m->nglobals, m->nglobal_imports};
  put(c, n, 8);
  for (uint32_t i = 0; i < m->nimports; i++) {
    uint32_t v[2] = {(uint32_t)m->imports[i].kind, m->imports[i].index};
    put(c, v, 2);
  }
  for (uint32_t i = 0; i < m->ntables; i++) {
    uint32_t elem = m->tables[i].elem;
    put(c, &elem, 1);
    put_limits(c, &m->tables[i].lim);
  }
  for (uint32_t i = 0; i < m->nmems; i++) put_limits(c, &m->mems[i]);
  for (uint32_t i = 0; i < m->nglobals; i++) {
    uint32_t v[2] = {m->globals[i].type, m->globals[i].mut};
    put(c, v, 2);
    if (i >= m->nglobal_imports) put_const(c, &m->global_inits[i]);
  }
}

/* Exports, start, element and data segments. */
static void put_rest(EVP_MD_CTX *c, const krait_module *m) {
  uint32_t n[6] = {m->nexports, m->has_start, m->start, m->nelems, m->ndatas,
                   m->has_datacount ? m->datacount + 1 : 0};
  put(c, n, 6);
  for (uint32_t i = 0; i < m->nexports; i++) {
    uint32_t v[2] = {(uint32_t)m->exports[i].kind, m->exports[i].index};
    put(c, v, 2);
  }
  for (uint32_t i = 0; i < m->nelems; i++) {
    const kd_elem *e = &m->elems[i];
    uint32_t v[4] = {(uint32_t)e->mode, e->type, e->table, e->count};
    put(c, v, 4);
    put_const(c, &e->offset);
  }
  for (uint32_t i = 0; i < m->ndatas; i++) {
    const kd_data *d = &m->datas[i];
    uint32_t v[3] = {(uint32_t)d->mode, d->memory, d->len};
    put(c, v, 3);
    put_const(c, &d->offset);
  }
}

/* The identity objects are keyed and registered by: SHA-256 of the
** module's SHA-256 (hex) and its decoded structure. A module whose hash
** was taken from a stale record (src/aot/memo.c) or whose file changed
** after hashing can then find native code only if that code was built
** for the same structure (counts, types, indices its context is sized
** and indexed by), so generated code never indexes past what its
** instance holds. If the digest fails (out of memory) the identity names
** this module object alone, so it matches no object but its own. */
void kaot_module_id(const krait_module *m, char out[65]) {
  char sha[65];
  krait_module_sha256(m, sha);
  EVP_MD_CTX *c = EVP_MD_CTX_new();
  unsigned char h[32];
  unsigned int hn = 0;
  bool ok = c && EVP_DigestInit_ex(c, EVP_sha256(), NULL);
  if (ok) {
    EVP_DigestUpdate(c, sha, 64);
    put_funcs(c, m);
    put_spaces(c, m);
    put_rest(c, m);
    ok = EVP_DigestFinal_ex(c, h, &hn) && hn == 32;
  }
  EVP_MD_CTX_free(c);
  if (!ok) { snprintf(out, 65, "unverified-%p", (const void *)m); return; }
  for (int i = 0; i < 32; i++) snprintf(out + 2 * i, 3, "%02x", h[i]);
}
