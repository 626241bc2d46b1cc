/*
** locate.c -- where native code is, for trap messages: the function whose
** code holds a program counter (read from the loaded object's ELF symbol
** table, .cold and other clones included), and the call instruction that
** led to a stack overflow. Runs only once a trap is raised, never before.
*/
#include "aot/aot.h"
#include "aot/aot_internal.h"
#include "decode/instr.h"
#include "util/cursor.h"
#include <dlfcn.h>
#include <execinfo.h>
#include <fcntl.h>
#include <link.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* ELF64 layout (<elf.h>): offsets of the fields read below. */
enum {
  EH_SHOFF = 0x28, EH_SHENTSIZE = 0x3a, EH_SHNUM = 0x3c, EH_SIZE = 0x40,
  SH_TYPE = 4, SH_OFFSET = 0x18, SH_SIZE = 0x20, SH_LINK = 0x28, SH_ENTSIZE = 0x38,
  SH_SIZEOF = 0x40, SYM_SIZEOF = 24, SHT_SYMTAB_ = 2, STT_FUNC_ = 2,
};

/* A cursor over bytes [off, off + n) of the whole file w, or a failure. */
static ku_cursor span(ku_cursor *w, uint64_t off, uint64_t n, const char *what) {
  uint64_t size = (uint64_t)(w->end - w->base);
  if (off > size || n > size - off) ku_cfail(w, KRAIT_ERR_MALFORMED, "%s out of the file", what);
  ku_cursor c = {w->base + off, w->base + off + n, w->base, what, w->fail};
  return c;
}

/* A little-endian field of width bytes at offset off of the file. */
static uint64_t field(ku_cursor *w, uint64_t off, unsigned width) {
  ku_cursor c = span(w, off, width, "ELF field");
  const uint8_t *p = ku_bytes(&c, width);
  uint64_t v = 0;
  for (unsigned i = width; i > 0; i--) v = v << 8 | p[i - 1];
  return v;
}

/* Parses an AOT symbol name: "m<k>_f<i>" (a body) or "m<k>_w<i>" (its
** slot wrapper), then the end or a '.' (gcc's clones: .cold, .part.0...). */
static bool parse_name(const char *s, const char *end, uint32_t *k, uint32_t *fi, bool *body) {
  uint64_t a = 0, b = 0;
  if (s >= end || *s++ != 'm' || s >= end || *s < '0' || *s > '9') return false;
  while (s < end && *s >= '0' && *s <= '9' && a < UINT32_MAX) a = a * 10 + (uint64_t)(*s++ - '0');
  if (end - s < 3 || s[0] != '_' || (s[1] != 'f' && s[1] != 'w') || s[2] < '0' || s[2] > '9') return false;
  *body = s[1] == 'f';
  for (s += 2; s < end && *s >= '0' && *s <= '9' && b < UINT32_MAX; s++) b = b * 10 + (uint64_t)(*s - '0');
  if ((s < end && *s != '.' && *s != 0) || a >= UINT32_MAX || b >= UINT32_MAX) return false;
  *k = (uint32_t)a;
  *fi = (uint32_t)b;
  return true;
}

/* Searches the symbol table of the ELF file w for the function symbol
** holding address addr (relative to the load bias); its parsed name. */
static bool find_symbol(ku_cursor *w, uint64_t addr, uint32_t *k, uint32_t *fi, bool *body) {
  uint64_t shoff = field(w, EH_SHOFF, 8), shentsize = field(w, EH_SHENTSIZE, 2), shnum = field(w, EH_SHNUM, 2);
  if (shentsize < SH_SIZEOF) return false;
  for (uint64_t i = 0; i < shnum; i++) {
    uint64_t sh = shoff + i * shentsize;
    if (field(w, sh + SH_TYPE, 4) != SHT_SYMTAB_ || field(w, sh + SH_ENTSIZE, 8) < SYM_SIZEOF) continue;
    uint64_t off = field(w, sh + SH_OFFSET, 8), size = field(w, sh + SH_SIZE, 8), ent = field(w, sh + SH_ENTSIZE, 8);
    uint64_t str = shoff + field(w, sh + SH_LINK, 4) * shentsize;
    ku_cursor names = span(w, field(w, str + SH_OFFSET, 8), field(w, str + SH_SIZE, 8), "ELF string table");
    span(w, off, size, "ELF symbol table");
    for (uint64_t s = off; s + SYM_SIZEOF <= off + size; s += ent) {
      uint64_t value = field(w, s + 8, 8), len = field(w, s + 16, 8);
      if ((field(w, s + 4, 1) & 0xf) != STT_FUNC_ || addr < value || addr - value >= len) continue;
      uint64_t at = field(w, s, 4);
      if (at >= (uint64_t)(names.end - names.p)) return false;
      const char *n = (const char *)names.p + at, *e = memchr(n, 0, (size_t)(names.end - names.p - at));
      return e && parse_name(n, e, k, fi, body);
    }
  }
  return false;
}

/* The AOT function whose code holds pc: its descriptor and index, and
** whether pc is in its body (else in its slot wrapper). false when pc is
** in no AOT object, or the object's symbols do not say. */
static bool function_at(uintptr_t pc, const kaot_desc **desc, uint32_t *fi, bool *body) {
  Dl_info info;
  if (!dladdr((void *)pc, &info) || !info.dli_fname) return false;
  void *h = dlopen(info.dli_fname, RTLD_NOLOAD | RTLD_LAZY);
  if (!h) return false;
  const kaot_desc *const *dir = dlsym(h, "kaot_dir");
  struct link_map *lm = NULL;
  bool known = dir && dlinfo(h, RTLD_DI_LINKMAP, &lm) == 0 && lm;
  uintptr_t bias = known ? lm->l_addr : 0;
  dlclose(h);  /* the registry keeps the object loaded */
  int fd = known ? open(info.dli_fname, O_RDONLY | O_CLOEXEC) : -1;
  struct stat sb;
  if (fd < 0 || fstat(fd, &sb) != 0 || sb.st_size < EH_SIZE) { if (fd >= 0) close(fd); return false; }
  const uint8_t *p = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
  close(fd);
  if (p == MAP_FAILED) return false;
  char msg[128];
  ku_fail fail = {.msg = msg, .cap = sizeof msg};
  ku_cursor w = {p, p + sb.st_size, p, "ELF object", &fail};
  uint32_t k = 0, n = 0;
  bool found = false;
  if (setjmp(fail.jb) == 0 && memcmp(p, "\x7f" "ELF\x02\x01", 6) == 0)
    found = find_symbol(&w, pc - bias, &k, fi, body);
  munmap((void *)p, (size_t)sb.st_size);
  while (found && dir[n]) n++;
  if (!found || k >= n || *fi >= dir[k]->nfuncs || !dir[k]->native[*fi]) return false;
  *desc = dir[k];
  return true;
}

/* An instance of store s running the module of desc, or NULL. */
static krait_instance *instance_of(krait_store *s, const kaot_desc *desc) {
  kr_owned *o = s->owned.data;
  for (size_t i = 0; i < s->owned.len; i++) {
    krait_instance *in = o[i].kind == KR_OWN_INSTANCE ? o[i].ptr : NULL;
    const kaot_mod *am = in ? in->module->aot : NULL;
    if (am && am->desc == desc) return in;
  }
  return NULL;
}

/* Whether instruction i of function fi of in is one of those sought:
** (callee set) a call that can reach callee, directly, through an import
** or call_indirect of its type; (callee NULL) a load or store. */
static bool sought(const krait_instance *in, const kd_instr *i, const krait_func *callee) {
  const krait_module *m = in->module;
  if (!callee) {
    int k = kd_opinfo_table[i->op].kind;
    return k == KD_K_LOAD || k == KD_K_STORE;
  }
  if (i->op == KD_OP_CALL && i->a < m->nfuncs)
    return i->a < m->nfunc_imports ? in->funcs[i->a] && in->funcs[i->a]->aot_native == callee->aot_native
                                   : in == callee->inst && i->a == callee->index;
  return i->op == KD_OP_CALL_INDIRECT && i->a < m->ntypes && m->types[i->a].id == callee->type_id;
}

/* The byte offset of the one sought instruction (see sought) of function
** fi of in, or KR_NO_OFFSET when there are several or none. With callee
** NULL, also KR_NO_OFFSET when the function calls anything: gcc may have
** inlined a callee's loads into it. */
static uint32_t only_site(krait_instance *in, uint32_t fi, const krait_func *callee) {
  const krait_module *m = in->module;
  const kd_func *f = &m->funcs[fi];
  const uint8_t *body = f->body;
  size_t len = f->body_len;
  if (!body && !kd_find_body(m, fi, &body, &len)) return KR_NO_OFFSET;
  char msg[128];
  ku_fail fail = {.msg = msg, .cap = sizeof msg};
  ku_cursor c = {body, body + len, m->bytes, "code", &fail};
  volatile size_t at = 0, n = 0;
  if (setjmp(fail.jb)) return KR_NO_OFFSET;
  while (!ku_eof(&c) && n < 2) {
    kd_instr i;
    memset(&i, 0, sizeof i);
    kd_read_instr(&c, &i);
    if (!callee && (i.op == KD_OP_CALL || i.op == KD_OP_CALL_INDIRECT)) return KR_NO_OFFSET;
    if (sought(in, &i, callee)) { at = i.offset; n++; }
  }
  return n == 1 ? (uint32_t)at : KR_NO_OFFSET;
}

krait_func *kaot_locate(krait_store *s, uintptr_t pc, uint32_t *off) {
  const kaot_desc *d;
  uint32_t fi;
  bool body;
  krait_instance *in = function_at(pc, &d, &fi, &body) ? instance_of(s, d) : NULL;
  *off = in ? only_site(in, fi, NULL) : KR_NO_OFFSET;  /* a wrapper: its body inlined */
  (void)body;
  return in ? kr_func(in, fi) : NULL;
}

bool kaot_overflow_site(krait_instance *callee_in, uint32_t callee, krait_func **fn, uint32_t *off) {
  void *pcs[16];
  int n = backtrace(pcs, 16);
  const kaot_desc *own = ((const kaot_mod *)callee_in->module->aot)->desc, *d;
  bool past_callee = false, body;
  uint32_t fi;
  for (int i = 0; i < n; i++) {
    /* a return address: the call is the instruction before it */
    if (!function_at((uintptr_t)pcs[i] - 1, &d, &fi, &body)) continue;
    if (!past_callee && d == own && fi == callee) { past_callee = true; continue; }
    if (!body) return false;  /* another's wrapper: entered from the runtime */
    /* the caller (or the callee inlined into it) */
    krait_instance *in = d == own ? callee_in : instance_of(callee_in->store, d);
    krait_func *target = kr_func(callee_in, callee);
    if (!in || !target) return false;
    *fn = kr_func(in, fi);
    *off = only_site(in, fi, target);
    return *fn != NULL;
  }
  return false;
}
