/*
** decode.c -- the binary format reader: sections, types, imports, exports,
** segments and code entries into krait_module. Bodies are checked by valid/.
*/
#include "decode/module.h"
#include "util/cursor.h"
#include "decode/instr.h"
#include <stdio.h>

#define MALFORMED(c, ...) ku_cfail(c, KRAIT_ERR_MALFORMED, __VA_ARGS__)

typedef struct kd_reader {
  krait_module *m;
  ku_fail fail;
  uint32_t nfunc_decls;    /* count in the function section */
  bool seen_code;
} kd_reader;

/* Allocates from the module arena or fails the decode with NOMEM. */
static void *alloc(ku_cursor *c, krait_module *m, size_t n) {
  void *p = ku_arena_alloc(&m->arena, n ? n : 1);
  if (!p) ku_cfail(c, KRAIT_ERR_NOMEM, "out of memory");
  return p;
}

/* Reads a vector length, rejecting counts that cannot fit in the section
** (each item is at least min_item bytes), so huge counts fail fast. */
static uint32_t read_count(ku_cursor *c, size_t min_item) {
  uint32_t n = ku_u32(c);
  if (min_item && (uint64_t)n * min_item > (uint64_t)(c->end - c->p))
    MALFORMED(c, "length out of bounds (count %u)", n);
  return n;
}

/* Reads a UTF-8 name into the arena as a NUL-terminated string; its length
** goes to *len when asked (names may contain NUL). */
static const char *read_name_len(ku_cursor *c, krait_module *m, uint32_t *len) {
  uint32_t n = ku_u32(c);
  if (len) *len = n;
  const uint8_t *p = ku_bytes(c, n);
  if (!ku_utf8_valid(p, n)) MALFORMED(c, "malformed UTF-8 encoding");
  char *s = ku_arena_strndup(&m->arena, (const char *)p, n);
  if (!s) ku_cfail(c, KRAIT_ERR_NOMEM, "out of memory");
  return s;
}

static const char *read_name(ku_cursor *c, krait_module *m) {
  return read_name_len(c, m, NULL);
}

/* Reads a value type byte. SIMD's v128 is reported as unsupported. */
uint8_t kd_read_valtype(ku_cursor *c) {
  uint8_t b = ku_u8(c);
  switch (b) {
  case 0x7F: return KD_I32;
  case 0x7E: return KD_I64;
  case 0x7D: return KD_F32;
  case 0x7C: return KD_F64;
  case 0x70: return KD_FUNCREF;
  case 0x6F: return KD_EXTERNREF;
  case 0x7B: ku_cfail(c, KRAIT_ERR_UNSUPPORTED, "SIMD not supported yet (v128)");
  default: c->p--; MALFORMED(c, "malformed value type 0x%02x", b);
  }
}

uint8_t kd_read_reftype(ku_cursor *c) {
  uint8_t b = ku_u8(c);
  if (b == 0x70) return KD_FUNCREF;
  if (b == 0x6F) return KD_EXTERNREF;
  c->p--;
  MALFORMED(c, "malformed reference type 0x%02x", b);
}

/* Reads table or memory limits: a flag byte (0 or 1), min, optional max. */
static kd_limits read_limits(ku_cursor *c, bool is_table) {
  kd_limits l = {0, 0, false};
  uint8_t flag = ku_u8(c);
  if (flag > 1) {
    c->p--;
    MALFORMED(c, "%s limits flag 0x%02x (integer too large)",
              is_table ? "table" : "memory", flag);
  }
  l.min = ku_u32(c);
  if (flag) { l.has_max = true; l.max = ku_u32(c); }
  return l;
}

static kd_globaltype read_globaltype(ku_cursor *c) {
  kd_globaltype g;
  g.type = kd_read_valtype(c);
  uint8_t mut = ku_u8(c);
  if (mut > 1) { c->p--; MALFORMED(c, "malformed mutability 0x%02x", mut); }
  g.mut = mut;
  return g;
}

/* Builds the signature string of a function type ("ii:I"). */
static const char *make_sig(ku_cursor *c, krait_module *m, kd_functype *t) {
  char *s = alloc(c, m, t->nparams + t->nresults + 2);
  size_t k = 0;
  for (uint32_t i = 0; i < t->nparams; i++) s[k++] = kd_valtype_letter(t->params[i]);
  s[k++] = ':';
  for (uint32_t i = 0; i < t->nresults; i++) s[k++] = kd_valtype_letter(t->results[i]);
  s[k] = 0;
  return s;
}

/* Reads the function types and builds each one's signature string. */
static void read_type_section(ku_cursor *c, kd_reader *r) {
  krait_module *m = r->m;
  m->ntypes = read_count(c, 3);
  m->types = alloc(c, m, m->ntypes * sizeof *m->types);
  for (uint32_t i = 0; i < m->ntypes; i++) {
    kd_functype *t = &m->types[i];
    uint8_t form = ku_u8(c);
    if (form != 0x60) { c->p--; MALFORMED(c, "malformed functype 0x%02x (integer representation too long)", form); }
    t->nparams = read_count(c, 1);
    t->params = alloc(c, m, t->nparams);
    for (uint32_t k = 0; k < t->nparams; k++) t->params[k] = kd_read_valtype(c);
    t->nresults = read_count(c, 1);
    t->results = alloc(c, m, t->nresults);
    for (uint32_t k = 0; k < t->nresults; k++) t->results[k] = kd_read_valtype(c);
    t->sig = make_sig(c, m, t);
  }
}

/* Grows one of the index-space arrays by one entry (imports come first, so
** these arrays are small until the defining sections allocate them). */
static void *append(ku_cursor *c, krait_module *m, void *arr, uint32_t n,
                    size_t item) {
  void *p = alloc(c, m, (n + 1) * item);
  if (n) memcpy(p, arr, n * item);
  return p;
}

/* Reads one import's kind and type, appending it to its index space. */
static void read_import_desc(ku_cursor *c, krait_module *m, kd_import *im) {
  uint8_t kind = ku_u8(c);
  switch (kind) {
  case 0x00: {
    m->funcs = append(c, m, m->funcs, m->nfuncs, sizeof *m->funcs);
    kd_func *f = &m->funcs[m->nfuncs];
    f->type_idx = ku_u32(c);
    f->imported = true;
    im->kind = KRAIT_EXTERN_FUNC; im->index = m->nfuncs++; m->nfunc_imports++;
    break;
  }
  case 0x01:
    m->tables = append(c, m, m->tables, m->ntables, sizeof *m->tables);
    m->tables[m->ntables].elem = kd_read_reftype(c);
    m->tables[m->ntables].lim = read_limits(c, true);
    im->kind = KRAIT_EXTERN_TABLE; im->index = m->ntables++; m->ntable_imports++;
    break;
  case 0x02:
    m->mems = append(c, m, m->mems, m->nmems, sizeof *m->mems);
    m->mems[m->nmems] = read_limits(c, false);
    im->kind = KRAIT_EXTERN_MEMORY; im->index = m->nmems++; m->nmem_imports++;
    break;
  case 0x03:
    m->globals = append(c, m, m->globals, m->nglobals, sizeof *m->globals);
    m->globals[m->nglobals] = read_globaltype(c);
    im->kind = KRAIT_EXTERN_GLOBAL; im->index = m->nglobals++; m->nglobal_imports++;
    break;
  default:
    c->p--;
    MALFORMED(c, "malformed import kind 0x%02x", kind);
  }
}

/* Reads every import: module name, field name, description. */
static void read_import_section(ku_cursor *c, kd_reader *r) {
  krait_module *m = r->m;
  m->nimports = read_count(c, 4);
  m->imports = alloc(c, m, m->nimports * sizeof *m->imports);
  for (uint32_t i = 0; i < m->nimports; i++) {
    kd_import *im = &m->imports[i];
    im->module = read_name(c, m);
    im->name = read_name(c, m);
    read_import_desc(c, m, im);
  }
}

/* Reads the type index of each defined function (bodies come later). */
static void read_function_section(ku_cursor *c, kd_reader *r) {
  krait_module *m = r->m;
  uint32_t n = read_count(c, 1);
  kd_func *fs = alloc(c, m, ((size_t)m->nfuncs + n) * sizeof *fs);
  if (m->nfuncs) memcpy(fs, m->funcs, m->nfuncs * sizeof *fs);
  for (uint32_t i = 0; i < n; i++) fs[m->nfuncs + i].type_idx = ku_u32(c);
  m->funcs = fs;
  m->nfuncs += n;
  r->nfunc_decls = n;
}

/* Reads defined tables after the imported ones. */
static void read_table_section(ku_cursor *c, kd_reader *r) {
  krait_module *m = r->m;
  uint32_t n = read_count(c, 3);
  kd_tabletype *ts = alloc(c, m, ((size_t)m->ntables + n) * sizeof *ts);
  if (m->ntables) memcpy(ts, m->tables, m->ntables * sizeof *ts);
  for (uint32_t i = 0; i < n; i++) {
    ts[m->ntables + i].elem = kd_read_reftype(c);
    ts[m->ntables + i].lim = read_limits(c, true);
  }
  m->tables = ts;
  m->ntables += n;
}

/* Reads defined memories after the imported ones. */
static void read_memory_section(ku_cursor *c, kd_reader *r) {
  krait_module *m = r->m;
  uint32_t n = read_count(c, 2);
  kd_limits *ms = alloc(c, m, ((size_t)m->nmems + n) * sizeof *ms);
  if (m->nmems) memcpy(ms, m->mems, m->nmems * sizeof *ms);
  for (uint32_t i = 0; i < n; i++) ms[m->nmems + i] = read_limits(c, false);
  m->mems = ms;
  m->nmems += n;
}

/* Reads a Wasm 2.0 constant expression: one instruction, then `end`. */
static kd_constexpr read_constexpr(ku_cursor *c) {
  kd_constexpr e = {KD_OP_END, 0, KD_VOID, ku_offset(c)};
  uint8_t b = ku_u8(c);
  switch (b) {
  case 0x41: e.op = KD_OP_I32_CONST; e.value = (uint32_t)ku_s32(c); e.type = KD_I32; break;
  case 0x42: e.op = KD_OP_I64_CONST; e.value = (uint64_t)ku_s64(c); e.type = KD_I64; break;
  case 0x43: e.op = KD_OP_F32_CONST; e.value = ku_fixed32(c); e.type = KD_F32; break;
  case 0x44: e.op = KD_OP_F64_CONST; e.value = ku_fixed64(c); e.type = KD_F64; break;
  case 0xD0: e.op = KD_OP_REF_NULL; e.type = kd_read_reftype(c); break;
  case 0xD2: e.op = KD_OP_REF_FUNC; e.value = ku_u32(c); e.type = KD_FUNCREF; break;
  case 0x23: e.op = KD_OP_GLOBAL_GET; e.value = ku_u32(c); e.type = KD_UNKNOWN; break;
  case 0x0B: return e;  /* empty: a type mismatch, found by the validator */
  case 0xFD: ku_cfail(c, KRAIT_ERR_UNSUPPORTED, "SIMD not supported yet");
  default:
    c->p--;
    if (kd_op_from_code(b) < 0) MALFORMED(c, "illegal opcode 0x%02x", b);
    ku_cfail(c, KRAIT_ERR_INVALID, "constant expression required");
  }
  uint8_t end = ku_u8(c);
  if (end != 0x0B) {
    c->p--;
    if (kd_op_from_code(end) < 0 && end != 0xFC && end != 0xFD)
      MALFORMED(c, "illegal opcode 0x%02x", end);
    ku_cfail(c, KRAIT_ERR_INVALID,
             "constant expression required (type mismatch)");
  }
  return e;
}

/* Reads defined globals: type, mutability and constant initializer. */
static void read_global_section(ku_cursor *c, kd_reader *r) {
  krait_module *m = r->m;
  uint32_t n = read_count(c, 4);
  kd_globaltype *gs = alloc(c, m, ((size_t)m->nglobals + n) * sizeof *gs);
  if (m->nglobals) memcpy(gs, m->globals, m->nglobals * sizeof *gs);
  m->global_inits = alloc(c, m, ((size_t)m->nglobals + n) * sizeof *m->global_inits);
  for (uint32_t i = 0; i < n; i++) {
    gs[m->nglobals + i] = read_globaltype(c);
    m->global_inits[m->nglobals + i] = read_constexpr(c);
  }
  m->globals = gs;
  m->nglobals += n;
}

/* Reads exports; index and uniqueness checks are the validator's. */
static void read_export_section(ku_cursor *c, kd_reader *r) {
  krait_module *m = r->m;
  m->nexports = read_count(c, 3);
  m->exports = alloc(c, m, m->nexports * sizeof *m->exports);
  for (uint32_t i = 0; i < m->nexports; i++) {
    kd_export *e = &m->exports[i];
    e->name = read_name_len(c, m, &e->name_len);
    uint8_t kind = ku_u8(c);
    if (kind > 3) { c->p--; MALFORMED(c, "malformed export kind 0x%02x", kind); }
    e->kind = (krait_externkind)kind;
    e->index = ku_u32(c);
  }
}

static void read_start_section(ku_cursor *c, kd_reader *r) {
  r->m->has_start = true;
  r->m->start = ku_u32(c);
}

/* Reads an element segment's items: function indices or expressions. */
static void read_elem_items(ku_cursor *c, krait_module *m, kd_elem *e,
                            bool exprs) {
  e->count = read_count(c, 1);
  e->items = alloc(c, m, e->count * sizeof *e->items);
  for (uint32_t i = 0; i < e->count; i++) {
    if (exprs) {
      e->items[i] = read_constexpr(c);
    } else {
      e->items[i].op = KD_OP_REF_FUNC;
      e->items[i].offset = ku_offset(c);
      e->items[i].value = ku_u32(c);
      e->items[i].type = KD_FUNCREF;
    }
  }
}

/* Reads one element segment in any of the eight encodings (flags 0-7). */
static void read_elem(ku_cursor *c, krait_module *m, kd_elem *e) {
  uint32_t flags = ku_u32(c);
  if (flags > 7) MALFORMED(c, "malformed elements segment kind %u", flags);
  bool exprs = flags & 4;
  e->mode = (flags & 1) ? ((flags & 2) ? KD_SEG_DECLARATIVE : KD_SEG_PASSIVE)
                        : KD_SEG_ACTIVE;
  e->type = KD_FUNCREF;
  if (e->mode == KD_SEG_ACTIVE) {
    if (flags & 2) e->table = ku_u32(c);
    e->offset = read_constexpr(c);
  }
  if (flags & 3) {  /* explicit elemkind or reftype */
    if (exprs) {
      e->type = kd_read_reftype(c);
    } else {
      uint8_t k = ku_u8(c);
      if (k != 0) { c->p--; MALFORMED(c, "malformed element kind 0x%02x", k); }
    }
  }
  read_elem_items(c, m, e, exprs);
}

static void read_element_section(ku_cursor *c, kd_reader *r) {
  krait_module *m = r->m;
  m->nelems = read_count(c, 2);
  m->elems = alloc(c, m, m->nelems * sizeof *m->elems);
  for (uint32_t i = 0; i < m->nelems; i++) read_elem(c, m, &m->elems[i]);
}

static void read_datacount_section(ku_cursor *c, kd_reader *r) {
  r->m->has_datacount = true;
  r->m->datacount = ku_u32(c);
}

/* Reads the locals of one code entry; the total must stay within limits. */
static void read_locals(ku_cursor *c, krait_module *m, kd_func *f) {
  const kd_functype *t = &m->types[f->type_idx];
  ku_cursor save = *c;
  uint32_t ngroups = read_count(c, 2);
  uint64_t total = t->nparams;
  for (uint32_t i = 0; i < ngroups; i++) {
    total += ku_u32(c);
    kd_read_valtype(c);
    if (total > 0xFFFFFFFFull) MALFORMED(c, "too many locals");
  }
  if (total > 50000)
    ku_cfail(c, KRAIT_ERR_UNSUPPORTED,
             "too many locals (%llu; implementation limit 50000)",
             (unsigned long long)total);
  f->nlocals = (uint32_t)total;
  f->local_types = alloc(c, m, total);
  memcpy(f->local_types, t->params, t->nparams);
  *c = save;
  ku_u32(c);
  uint32_t k = t->nparams;
  for (uint32_t i = 0; i < ngroups; i++) {
    uint32_t n = ku_u32(c);
    uint8_t ty = kd_read_valtype(c);
    memset(f->local_types + k, ty, n);
    k += n;
  }
}

/* Reads each code entry: locals, then the body bytes, kept for later
** validation and lazy lowering. */
static void read_code_section(ku_cursor *c, kd_reader *r) {
  krait_module *m = r->m;
  uint32_t n = read_count(c, 1);
  r->seen_code = true;
  if (n != r->nfunc_decls)
    MALFORMED(c, "function and code section have inconsistent lengths");
  if (m->view) {  /* native code only: bodies are found when asked (kd_find_body) */
    m->code_at = ku_offset(c);
    m->code_end = ku_offset(c) + ku_left(c);
    for (uint32_t i = 0; i < n; i++)
      if (m->funcs[m->nfunc_imports + i].type_idx >= m->ntypes)
        ku_cfail(c, KRAIT_ERR_INVALID, "unknown type %u", m->funcs[m->nfunc_imports + i].type_idx);
    c->p = c->end;
    return;
  }
  for (uint32_t i = 0; i < n; i++) {
    kd_func *f = &m->funcs[m->nfunc_imports + i];
    if (f->type_idx >= m->ntypes)
      ku_cfail(c, KRAIT_ERR_INVALID, "unknown type %u", f->type_idx);
    uint32_t size = ku_u32(c);
    ku_cursor body = ku_sub(c, size, "code");
    read_locals(&body, m, f);
    f->body = body.p;
    f->body_len = (size_t)(body.end - body.p);
    f->body_offset = ku_offset(&body);
  }
}

/* Finds the body of defined function fi of a module whose code section
** was not walked (a view): its expression bytes after the locals, by
** walking the entries' sizes. False when the bytes do not hold it (the
** file is only viewed, and a view's bodies are never validated). */
bool kd_find_body(const krait_module *m, uint32_t fi, const uint8_t **body, size_t *len) {
  char msg[64];
  ku_fail fail = {.msg = msg, .cap = sizeof msg};
  ku_cursor c = {m->bytes + m->code_at, m->bytes + m->code_end, m->bytes, "code", &fail};
  if (!m->view || fi < m->nfunc_imports || fi >= m->nfuncs || m->code_end > m->len) return false;
  if (setjmp(fail.jb)) return false;
  for (uint32_t i = m->nfunc_imports; i < fi; i++) ku_sub(&c, ku_u32(&c), "code");
  ku_cursor b = ku_sub(&c, ku_u32(&c), "code");
  for (uint32_t g = ku_u32(&b); g > 0; g--) {
    ku_u32(&b);
    kd_read_valtype(&b);
  }
  *body = b.p;
  *len = ku_left(&b);
  return true;
}

/* Reads data segments (active with a memory index and offset, or passive). */
static void read_data_section(ku_cursor *c, kd_reader *r) {
  krait_module *m = r->m;
  m->ndatas = read_count(c, 1);
  if (m->has_datacount && m->datacount != m->ndatas)
    MALFORMED(c, "data count and data section have inconsistent lengths");
  m->datas = alloc(c, m, m->ndatas * sizeof *m->datas);
  for (uint32_t i = 0; i < m->ndatas; i++) {
    kd_data *d = &m->datas[i];
    uint32_t flags = ku_u32(c);
    if (flags > 2) MALFORMED(c, "malformed data segment kind %u", flags);
    d->mode = flags == 1 ? KD_SEG_PASSIVE : KD_SEG_ACTIVE;
    if (flags == 2) d->memory = ku_u32(c);
    if (flags != 1) d->offset = read_constexpr(c);
    d->len = ku_u32(c);
    d->bytes = ku_bytes(c, d->len);
  }
}

/* Parses the "name" custom section for module and function names. Errors
** in it are ignored, as the spec asks for custom sections. */
static void read_names(krait_module *m, const uint8_t *p, size_t n) {
  ku_fail fail;
  char msg[64];
  fail.msg = msg;
  fail.cap = sizeof msg;
  ku_cursor c = {p, p + n, m->bytes, "name section", &fail};
  if (setjmp(fail.jb)) return;
  while (!ku_eof(&c)) {
    uint8_t id = ku_u8(&c);
    ku_cursor sub = ku_sub(&c, ku_u32(&c), "name subsection");
    if (id == 0) m->module_name = read_name(&sub, m);
    if (id != 1) continue;
    uint32_t cnt = ku_u32(&sub);
    for (uint32_t i = 0; i < cnt; i++) {
      uint32_t idx = ku_u32(&sub);
      const char *nm = read_name(&sub, m);
      if (idx < m->nfuncs) m->funcs[idx].name = nm;
    }
  }
}

/* Keeps a custom section's name and bytes (the name section is parsed
** after all sections). */
static void read_custom_section(ku_cursor *c, kd_reader *r) {
  krait_module *m = r->m;
  const char *name = read_name(c, m);
  kd_custom *cs = append(c, m, m->customs, m->ncustoms, sizeof *cs);
  cs[m->ncustoms].name = name;
  cs[m->ncustoms].bytes = c->p;
  cs[m->ncustoms].len = (size_t)(c->end - c->p);
  m->customs = cs;
  m->ncustoms++;
  c->p = c->end;
}

typedef void (*section_fn)(ku_cursor *, kd_reader *);

static const struct { const char *name; section_fn fn; int order; } sections[] = {
  [0] = {"custom section", read_custom_section, 0},
  [1] = {"type section", read_type_section, 1},
  [2] = {"import section", read_import_section, 2},
  [3] = {"function section", read_function_section, 3},
  [4] = {"table section", read_table_section, 4},
  [5] = {"memory section", read_memory_section, 5},
  [6] = {"global section", read_global_section, 6},
  [7] = {"export section", read_export_section, 7},
  [8] = {"start section", read_start_section, 8},
  [9] = {"element section", read_element_section, 9},
  [10] = {"code section", read_code_section, 11},
  [11] = {"data section", read_data_section, 12},
  [12] = {"data count section", read_datacount_section, 10},
};

/* Reads every section in order, checking ids, order and exact sizes. */
static void read_sections(ku_cursor *c, kd_reader *r) {
  int last = 0;
  while (!ku_eof(c)) {
    uint8_t id = ku_u8(c);
    if (id >= KU_COUNT(sections)) { c->p--; MALFORMED(c, "malformed section id %u", id); }
    uint32_t size = ku_u32(c);
    if (size > (size_t)(c->end - c->p))
      MALFORMED(c, "%s size %u: length out of bounds (unexpected end)", sections[id].name, size);
    ku_cursor s = ku_sub(c, size, sections[id].name);
    if (id != 0) {
      if (sections[id].order <= last)
        MALFORMED(&s, "unexpected content after last section (%s out of order or repeated)", sections[id].name);
      last = sections[id].order;
    }
    sections[id].fn(&s, r);
    if (!ku_eof(&s)) MALFORMED(&s, "section size mismatch");
  }
  if (r->m->has_datacount && r->m->datacount != r->m->ndatas)
    MALFORMED(c, "data count and data section have inconsistent lengths");
  if (r->nfunc_decls && !r->seen_code)
    MALFORMED(c, "function and code section have inconsistent lengths");
}

/* Decodes a whole binary into m; the one catch point for decode errors. */
int kd_decode(krait_module *m, const uint8_t *bytes, size_t len,
              krait_error *err) {
  kd_reader r;
  memset(&r, 0, sizeof r);
  r.m = m;
  r.fail.msg = err->message;
  r.fail.cap = sizeof err->message;
  ku_cursor c = {bytes, bytes + len, bytes, "header", &r.fail};
  if (setjmp(r.fail.jb)) {
    err->kind = (krait_errkind)r.fail.kind;
    return -1;
  }
  if (len < 4 || memcmp(bytes, "\0asm", 4) != 0)
    MALFORMED(&c, "magic header not detected");
  c.p += 4;
  if (len < 8) MALFORMED(&c, "unexpected end (no version)");
  if (ku_fixed32(&c) != 1) { c.p -= 4; MALFORMED(&c, "unknown binary version"); }
  c.what = "module";
  read_sections(&c, &r);
  for (uint32_t i = 0; i < m->ncustoms; i++)
    if (strcmp(m->customs[i].name, "name") == 0)
      read_names(m, m->customs[i].bytes, m->customs[i].len);
  return 0;
}

/* Text of a value type for messages. */
const char *kd_valtype_name(uint8_t t) {
  switch (t) {
  case KD_I32: return "i32";
  case KD_I64: return "i64";
  case KD_F32: return "f32";
  case KD_F64: return "f64";
  case KD_FUNCREF: return "funcref";
  case KD_EXTERNREF: return "externref";
  case KD_UNKNOWN: return "unknown";
  default: return "void";
  }
}

char kd_valtype_letter(uint8_t t) { return "iIfFrx"[t < 6 ? t : 0]; }

static const char *const op_names[] = {
#define X(name, code, text, kind, a, r, sem) text,
#include "decode/opcodes.def"
#undef X
};

static const uint32_t op_codes[] = {
#define X(name, code, text, kind, a, r, sem) code,
#include "decode/opcodes.def"
#undef X
};

const char *kd_op_name(kd_op op) {
  return (unsigned)op < KD_OP_COUNT ? op_names[op] : "?";
}

/* Maps a byte (or 0xFC00|sub) to its kd_op through a table built once. */
int kd_op_from_code(uint32_t code) {
  static int16_t single[256], prefixed[32];
  static _Atomic int ready;
  if (!ready) {
    for (int i = 0; i < 256; i++) single[i] = -1;
    for (int i = 0; i < 32; i++) prefixed[i] = -1;
    for (int i = 0; i < KD_OP_COUNT; i++) {
      if (op_codes[i] >= 0xFC00) prefixed[op_codes[i] & 0xFF] = (int16_t)i;
      else single[op_codes[i]] = (int16_t)i;
    }
    single[0x1C] = KD_OP_SELECT_T;
    ready = 1;
  }
  if (code < 256) return single[code];
  if (code >= 0xFC00 && code < 0xFC20) return prefixed[code & 0xFF];
  return -1;
}

#define KD_T_I32 KD_I32
#define KD_T_I64 KD_I64
#define KD_T_F32 KD_F32
#define KD_T_F64 KD_F64
#define INFO_SPECIAL(a, r) {KD_K_SPECIAL, 0, 0, 0}
#define INFO_UN(a, r) {KD_K_UN, KD_T_##a, KD_T_##r, 0}
#define INFO_BIN(a, r) {KD_K_BIN, KD_T_##a, KD_T_##r, 0}
#define INFO_CMP(a, r) {KD_K_CMP, KD_T_##a, KD_T_##r, 0}
#define INFO_LOAD(a, r) {KD_K_LOAD, 0, KD_T_##r, sizeof(a)}
#define INFO_STORE(a, r) {KD_K_STORE, 0, KD_T_##r, sizeof(a)}
const kd_opinfo kd_opinfo_table[KD_OP_COUNT] = {
#define X(name, code, text, kind, a, r, sem) INFO_##kind(a, r),
#include "decode/opcodes.def"
#undef X
};
