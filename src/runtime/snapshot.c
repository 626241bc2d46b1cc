/*
** snapshot.c -- pre-initialized instances: capturing an instance's state
** and starting new instances in it, memory 0 mapped copy-on-write.
*/
#include "runtime/runtime.h"
#include "platform/platform.h"
#include <assert.h>
#include <stdio.h>
#include <errno.h>
#include <unistd.h>

/* Fills err with kind and a formatted message; returns NULL. */
static void *ks_fail(krait_error *err, krait_errkind kind, const char *fmt, const char *what) {
  err->kind = kind;
  ku_fmt(err->message, sizeof err->message, fmt, what);
  return NULL;
}

/* Whether the module imports anything a snapshot would have to restore
** but cannot own: a memory, a table or a global. */
static const char *ks_unsupported(const krait_module *m) {
  if (m->nmem_imports) return "an imported memory";
  if (m->ntable_imports) return "an imported table";
  if (m->nglobal_imports) return "an imported global";
  return NULL;
}

/* Whether [p, p + n) is all zero bytes (n a multiple of 8). */
static bool ks_zero(const uint8_t *p, size_t n) {
  uint64_t acc = 0;
  for (size_t i = 0; i < n; i += 8) {
    uint64_t w;
    memcpy(&w, p + i, 8);
    acc |= w;
  }
  return acc == 0;
}

/* Writes memory 0 into a new sparse image, skipping zero 4 KiB pages (they
** read as zero from the image anyway). Returns the fd or -1 (errno). */
static int ks_write_image(const krait_memory *mem) {
  enum { PAGE = 4096 };
  int fd = kp_image_new(mem->size);
  for (uint64_t at = 0; fd >= 0 && at < mem->size; at += PAGE) {
    if (ks_zero(mem->base + at, PAGE)) continue;
    if (pwrite(fd, mem->base + at, PAGE, (off_t)at) != PAGE) {
      int e = errno;
      close(fd);
      errno = e ? e : EIO;
      return -1;
    }
  }
  return fd;
}

/* Records each defined table's elements as function indices. False (err
** set) when an element is a foreign function or an extern reference. */
static bool ks_take_tables(krait_snapshot *sn, krait_instance *in, krait_error *err) {
  const krait_module *m = in->module;
  for (uint32_t t = 0; t < sn->ntables; t++) {
    const krait_table *tab = in->tables[m->ntable_imports + t];
    uint32_t *refs = ku_malloc(((size_t)tab->size + 1) * sizeof *refs);
    if (!refs) {
      ks_fail(err, KRAIT_ERR_NOMEM, "out of memory%s", "");
      return false;
    }
    sn->table_refs[t] = refs;
    sn->table_size[t] = tab->size;
    for (uint32_t i = 0; i < tab->size; i++) {
      const krait_func *f = tab->elems[i];
      if (tab->lazy == in && KR_IS_LAZY(f)) {  /* not made yet: its index */
        refs[i] = KR_LAZY_INDEX(f);
        continue;
      }
      if (f && ((tab->lazy && KR_IS_LAZY(f)) || tab->type != KD_FUNCREF || f->inst != in)) {
        ks_fail(err, KRAIT_ERR_LINK, "cannot snapshot: a table %s holds a reference "
                "that is not one of the module's own functions",
                tab->type == KD_FUNCREF ? "element" : "(externref)");
        return false;
      }
      refs[i] = f ? f->index : KS_NULL_REF;
    }
  }
  return true;
}

/* Records global i of in: a reference as its function's index plus one (0
** for null, as files before this rule stored it), never a pointer, so it
** means the same in any instance, tier or process. False (err set) for a
** reference it cannot name that way. */
static bool ks_take_global(krait_snapshot *sn, krait_instance *in, uint32_t i, krait_error *err) {
  uint8_t t = in->module->globals[i].type;
  krait_slot v = in->globals[i]->val;
  if (t != KD_FUNCREF && t != KD_EXTERNREF) {
    sn->globals[i] = v;
    return true;
  }
  const krait_func *f = v.ref;
  sn->globals[i].bits = 0;
  if (!f) return true;
  if (t == KD_FUNCREF && f->inst == in) {
    sn->globals[i].bits = (uint64_t)f->index + 1;
    return true;
  }
  ks_fail(err, KRAIT_ERR_LINK, "cannot snapshot: a global holds a reference that is not one of "
          "the module's own functions%s", "");
  return false;
}

/* Whether the snapshot's reference globals all name a function of module
** m (its own, or one with the same bytes) or null (a snapshot file is
** checked before use). */
bool kr_snapshot_globals_ok(const krait_snapshot *sn, const krait_module *m) {
  for (uint32_t i = 0; i < sn->nglobals; i++) {
    uint8_t t = m->globals[i].type;
    uint64_t b = sn->globals[i].bits;
    if ((t == KD_FUNCREF && b > m->nfuncs) || (t == KD_EXTERNREF && b != 0))
      return false;
  }
  return true;
}

/* Allocates a snapshot for module m, its arrays zeroed, no image. */
krait_snapshot *kr_snapshot_alloc(const krait_module *m) {
  krait_snapshot *sn = ku_calloc(1, sizeof *sn);
  if (!sn) return NULL;
  sn->module = m;
  sn->image = -1;
  sn->nglobals = m->nglobals;
  sn->ntables = m->ntables;
  sn->globals = ku_calloc(sn->nglobals + 1, sizeof *sn->globals);
  sn->table_size = ku_calloc(sn->ntables + 1, sizeof *sn->table_size);
  sn->table_refs = ku_calloc(sn->ntables + 1, sizeof *sn->table_refs);
  sn->elem_len = ku_calloc(m->nelems + 1, sizeof *sn->elem_len);
  sn->data_len = ku_calloc(m->ndatas + 1, sizeof *sn->data_len);
  if (!sn->globals || !sn->table_size || !sn->table_refs || !sn->elem_len || !sn->data_len) {
    krait_snapshot_free(sn);
    return NULL;
  }
  return sn;
}

void kr_snapshot_hot_init(krait_snapshot *sn) {
  static uint64_t next_id;
  sn->id = __atomic_add_fetch(&next_id, 1, __ATOMIC_RELAXED);
  sn->nhot = (sn->size / 4096 + 63) / 64;
  sn->hot = ku_calloc(sn->nhot + 1, sizeof *sn->hot);
  sn->view = kp_view_image(sn->size, sn->image);
}

/* Captures inst: globals, tables, segment state and memory 0's image. */
krait_snapshot *krait_snapshot_take(krait_instance *in, krait_error *err) {
  krait_error dummy;
  if (!err) err = &dummy;
  memset(err, 0, sizeof *err);
  const krait_module *m = in->module;
  const char *why = ks_unsupported(m);
  if (why) return ks_fail(err, KRAIT_ERR_LINK, "cannot snapshot a module with %s", why);
  krait_snapshot *sn = kr_snapshot_alloc(m);
  if (!sn) return ks_fail(err, KRAIT_ERR_NOMEM, "out of memory%s", "");
  for (uint32_t i = 0; i < sn->nglobals; i++)
    if (!ks_take_global(sn, in, i, err)) {
      krait_snapshot_free(sn);
      return NULL;
    }
  memcpy(sn->elem_len, in->elem_len, m->nelems * sizeof *sn->elem_len);
  memcpy(sn->data_len, in->data_len, m->ndatas * sizeof *sn->data_len);
  if (!ks_take_tables(sn, in, err)) {
    krait_snapshot_free(sn);
    return NULL;
  }
  if (m->nmems) {
    sn->pages = in->mem0->pages;
    sn->size = in->mem0->size;
    sn->image = ks_write_image(in->mem0);
    if (sn->image < 0) {
      krait_snapshot_free(sn);
      return ks_fail(err, KRAIT_ERR_NOMEM, "cannot create the memory image: %s", strerror(errno));
    }
    kr_snapshot_hot_init(sn);
  }
  return sn;
}

/* Puts the snapshot's table contents back, growing tables as needed. */
static bool ks_restore_tables(krait_instance *in, const krait_snapshot *sn) {
  const krait_module *m = in->module;
  for (uint32_t t = 0; t < sn->ntables; t++) {
    krait_table *tab = in->tables[m->ntable_imports + t];
    if (sn->table_size[t] > tab->size &&
        kr_table_grow(tab, sn->table_size[t] - tab->size, NULL) < 0)
      return false;
    for (uint32_t i = 0; i < sn->table_size[t]; i++) {
      uint32_t f = sn->table_refs[t][i];
      tab->elems[i] = f == KS_NULL_REF ? NULL : KR_LAZY(f);
    }
    tab->lazy = in;
  }
  return true;
}

/* Faults in, writable, the pages instances of sn were seen to write: one
** madvise per run (runs a few pages apart are joined). */
static void ks_populate_hot(const krait_snapshot *sn, uint8_t *base) {
  size_t npages = sn->size / 4096, run = 0, start = 0, gap = 0;
  for (size_t i = 0; sn->hot && i <= npages; i++) {
    bool hot = i < npages && (__atomic_load_n(&sn->hot[i / 64], __ATOMIC_RELAXED) >> (i % 64) & 1);
    if (hot) {
      if (!run) start = i;
      run = i - start + 1;
      gap = 0;
    } else if (run && (++gap > 4 || i == npages)) {
      kp_populate_write(base + start * 4096, run * 4096);
      run = 0;
    }
  }
}

void krait_snapshot_learn(krait_snapshot *sn, const krait_instance *in) {
  const krait_memory *m = in->mem0;
  if (!sn->hot || !m || !m->image || in->module != sn->module) return;
  kp_written_pages(m->base, sn->size, sn->hot);
}

/* Resets a memory a finished instance of sn left in the parked pool:
** every page it wrote (pagemap) is copied back from the image; the rest
** still maps the image. False when the written pages cannot be read (the
** caller maps the image afresh instead). */
static bool ks_reset(const krait_snapshot *sn, krait_memory *mem) {
  size_t npages = sn->size / 4096;
  uint64_t *bits = sn->view ? ku_calloc(sn->nhot + 1, sizeof *bits) : NULL;
  bool ok = bits && kp_written_pages(mem->base, sn->size, bits);
  for (size_t w = 0; ok && w < sn->nhot; w++)
    for (uint64_t b = bits[w]; b; b &= b - 1) {
      size_t i = w * 64 + (size_t)__builtin_ctzll(b);
      if (i < npages) memcpy(mem->base + i * 4096, sn->view + i * 4096, 4096);
    }
  ku_free(bits);
  mem->reused = false;
  return ok;
}

/* Restores globals, segment state, tables and memory 0 into a freshly
** built instance. */
static bool ks_restore(krait_instance *in, const krait_snapshot *sn) {
  const krait_module *m = in->module;
  if (!kr_snapshot_globals_ok(sn, m)) return false;
  for (uint32_t i = 0; i < sn->nglobals; i++) {
    uint8_t t = m->globals[i].type;
    if (t != KD_FUNCREF && t != KD_EXTERNREF) { in->globals[i]->val = sn->globals[i]; continue; }
    uint64_t idx = sn->globals[i].bits;  /* index + 1, 0 for null */
    in->globals[i]->val.ref = idx ? kr_func(in, (uint32_t)(idx - 1)) : NULL;
    if (idx && !in->globals[i]->val.ref) return false;
  }
  memcpy(in->elem_len, sn->elem_len, m->nelems * sizeof *sn->elem_len);
  for (uint32_t i = 0; i < m->nelems; i++)
    if (in->elem_len[i] && !kr_eval_elem(in, i)) return false;
  memcpy(in->data_len, sn->data_len, m->ndatas * sizeof *sn->data_len);
  if (!ks_restore_tables(in, sn)) return false;
  if (sn->image < 0 || sn->size == 0) return true;
  krait_memory *mem = in->mem0;
  assert(mem->size == sn->size);
  if (mem->reused && ks_reset(sn, mem)) return true;
  if (!kp_map_image(mem->base, sn->size, sn->image)) return false;
  mem->image = true;
  mem->image_id = sn->id;
  mem->image_size = sn->size;
  ks_populate_hot(sn, mem->base);
  return true;
}

/* Builds an instance of m (imports through l) in the state of sn. sn may
** come from another module object with the same bytes (another engine,
** such as one of another tier): it holds indices, never pointers. */
krait_instance *krait_instantiate_snapshot(krait_linker *l, const krait_module *m,
                                           const krait_snapshot *sn, krait_error *err) {
  krait_error dummy;
  if (!err) err = &dummy;
  memset(err, 0, sizeof *err);
  if (sn->module != m && (sn->module->len != m->len || memcmp(sn->module->bytes, m->bytes, m->len) != 0))
    return ks_fail(err, KRAIT_ERR_LINK, "the snapshot was taken from another module%s", "");
  krait_instance *in = kr_instance_build(l, m, sn->pages, sn, err);
  if (!in) return NULL;
  if (in->mem0->pages != sn->pages && m->nmems)
    return ks_fail(err, KRAIT_ERR_LINK, "memory 0 cannot start at the snapshot's size%s", "");
  if (!ks_restore(in, sn))
    return ks_fail(err, KRAIT_ERR_NOMEM, "cannot restore the snapshot: %s", strerror(errno));
  return in;
}

uint64_t krait_snapshot_memory_size(const krait_snapshot *sn) { return sn->size; }

/* Frees everything the snapshot holds, the image fd included. */
void krait_snapshot_free(krait_snapshot *sn) {
  if (!sn) return;
  if (sn->id) kr_memory_unpark(sn->id);
  if (sn->image >= 0) close(sn->image);
  for (uint32_t t = 0; sn->table_refs && t < sn->ntables; t++) ku_free(sn->table_refs[t]);
  ku_free(sn->table_refs);
  ku_free(sn->table_size);
  ku_free(sn->globals);
  ku_free(sn->elem_len);
  ku_free(sn->data_len);
  ku_free(sn->hot);
  if (sn->view) kp_release((void *)sn->view, sn->size ? sn->size : 1);
  ku_free(sn);
}
