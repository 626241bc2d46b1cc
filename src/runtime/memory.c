/*
** memory.c -- linear memories (guard-page or explicit mode), tables and
** the bounds-checked bulk operations on both.
*/
#include "runtime/runtime.h"
#include "platform/platform.h"
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "util/util.h"

#define KR_TABLE_CAP 10000000u  /* implementation limit on table elements */

/* The page cap for a memory: declared max, the engine's and the store's
** byte caps, 65536. */
static uint32_t page_cap(krait_store *s, uint32_t max, bool has_max) {
  uint64_t cap = has_max ? max : 65536;
  uint64_t bytes = s->engine->cfg.max_memory_bytes, own = s->max_memory_bytes;
  if (bytes && bytes / KR_PAGE < cap) cap = bytes / KR_PAGE;
  if (own && own / KR_PAGE < cap) cap = own / KR_PAGE;
  return (uint32_t)cap;
}

/* Creates a memory: a guard reservation with the first pages committed,
** or an exact mapping in explicit mode. */
krait_memory *kr_memory_new(krait_store *s, uint32_t min, uint32_t max, bool has_max) {
  uint32_t cap = page_cap(s, max, has_max);
  if (min > cap) return errno = ERANGE, NULL;   /* past a limit, not out of memory */
  krait_memory *m = ku_calloc(1, sizeof *m);
  if (!m) return NULL;
  m->guard = s->engine->cfg.bounds == KRAIT_BOUNDS_GUARD;
  m->max_pages = cap;
  m->declared_max = max;
  m->has_declared_max = has_max;
  size_t bytes = (size_t)min * KR_PAGE;
  if (m->guard) {
    m->mapped = KR_GUARD_RESERVE + KR_PAGE;
    m->base = kp_reserve(m->mapped);
    if (m->base && !kp_commit(m->base, bytes)) { kp_release(m->base, m->mapped); m->base = NULL; }
  } else {
    m->mapped = bytes ? bytes : KR_PAGE;
    m->base = kp_map(m->mapped);
  }
  if (!m->base) { ku_free(m); return NULL; }
  m->pages = min;
  m->size = bytes;
  if (!kr_own(s, KR_OWN_MEMORY, m)) return NULL;
  return m;
}

/* An explicit-mode memory that maps a snapshot image cannot be mremap'ed
** (the file mapping would extend past the image's end): its pages move to
** a new anonymous mapping instead. Returns it, or NULL. */
static uint8_t *grow_copy(krait_memory *m, size_t nbytes) {
  uint8_t *p = kp_map(nbytes);
  if (!p) return NULL;
  memcpy(p, m->base, m->size);
  kp_release(m->base, m->mapped);
  return p;
}

/* Grows by delta pages; returns the old page count or -1 (no change). */
int64_t kr_memory_grow(krait_memory *m, uint32_t delta) {
  uint64_t old = m->pages, want = old + delta;
  if (want > m->max_pages) return -1;
  if (delta == 0) return (int64_t)old;
  size_t nbytes = (size_t)want * KR_PAGE;
  if (m->guard) {
    if (!kp_commit(m->base + m->size, nbytes - m->size)) return -1;
  } else if (nbytes > m->mapped) {
    uint8_t *p = m->image ? grow_copy(m, nbytes) : kp_remap(m->base, m->mapped, nbytes);
    if (!p) return -1;
    m->base = p;
    m->mapped = nbytes;
    m->image = false;
  }
  m->pages = (uint32_t)want;
  m->size = nbytes;
  return (int64_t)old;
}

/* The process's parked memories: guard-mode, each mapping a snapshot
** image, kept after their instance ended so that the next instance of
** that snapshot, on any thread, resets one in place -- copying back the
** pages the last one wrote -- instead of mapping a new one, faulting its
** pages in and unmapping it (every unmap of written pages is a TLB
** shootdown on every core of a threaded process). One stack, last parked
** first taken: the memory a request just left is still in the CPU's
** caches, so a server with many worker threads but few cores keeps
** reusing a few warm memories (per-thread pools cycled through one per
** thread, cold: the copy-back ran from DRAM). KR_PARK_SLOTS bounds it
** (servers of several apps share it); past it the oldest is unmapped.
** Freeing a snapshot unmaps its parked memories (kr_memory_unpark). */
#define KR_PARK_SLOTS 64

static struct {
  pthread_mutex_t lock;
  int n;                        /* slot[0..n): oldest first */
  krait_memory *slot[KR_PARK_SLOTS];
} kr_park = { PTHREAD_MUTEX_INITIALIZER, 0, { NULL } };

static void kr_unmap(krait_memory *m) {
  kp_release(m->base, m->mapped);
  ku_free(m);
}

/* Parks m on top of the stack if it can be reused, back at its snapshot
** size (grown pages dropped and made inaccessible). */
static bool kr_memory_park(krait_memory *m) {
  if (!m->guard || !m->image || !m->image_id || m->size < m->image_size) return false;
  if (m->size > m->image_size && !kp_decommit(m->base + m->image_size, m->size - m->image_size))
    return false;
  m->size = m->image_size;
  m->pages = (uint32_t)(m->image_size / KR_PAGE);
  krait_memory *old = NULL;
  pthread_mutex_lock(&kr_park.lock);
  if (kr_park.n == KR_PARK_SLOTS) {
    old = kr_park.slot[0];
    memmove(kr_park.slot, kr_park.slot + 1, (KR_PARK_SLOTS - 1) * sizeof *kr_park.slot);
    kr_park.n--;
  }
  kr_park.slot[kr_park.n++] = m;
  pthread_mutex_unlock(&kr_park.lock);
  if (old) kr_unmap(old);
  return true;
}

/* Whether parked memory m fits a memory of image_id with this type. */
static bool kr_park_fits(krait_store *s, const krait_memory *m, uint64_t image_id, uint32_t pages,
                         uint32_t max, bool has_max) {
  return m->image_id == image_id && m->pages == pages && m->max_pages == page_cap(s, max, has_max) &&
         m->declared_max == max && m->has_declared_max == has_max;
}

krait_memory *kr_memory_pooled(krait_store *s, uint64_t image_id, uint32_t pages, uint32_t max,
                               bool has_max) {
  if (s->engine->cfg.bounds != KRAIT_BOUNDS_GUARD) return NULL;
  krait_memory *m = NULL;
  pthread_mutex_lock(&kr_park.lock);
  for (int i = kr_park.n - 1; i >= 0 && !m; i--)
    if (kr_park_fits(s, kr_park.slot[i], image_id, pages, max, has_max)) {
      m = kr_park.slot[i];
      memmove(kr_park.slot + i, kr_park.slot + i + 1, (size_t)(kr_park.n - 1 - i) * sizeof *kr_park.slot);
      kr_park.n--;
    }
  pthread_mutex_unlock(&kr_park.lock);
  if (!m) return NULL;
  m->reused = true;
  return kr_own(s, KR_OWN_MEMORY, m) ? m : NULL;
}

void kr_memory_unpark(uint64_t image_id) {
  krait_memory *gone[KR_PARK_SLOTS];
  int ngone = 0, kept = 0;
  pthread_mutex_lock(&kr_park.lock);
  for (int i = 0; i < kr_park.n; i++) {
    if (kr_park.slot[i]->image_id == image_id) gone[ngone++] = kr_park.slot[i];
    else kr_park.slot[kept++] = kr_park.slot[i];
  }
  kr_park.n = kept;
  pthread_mutex_unlock(&kr_park.lock);
  while (ngone) kr_unmap(gone[--ngone]);
}

void kr_memory_free(krait_memory *m) {
  if (m && !kr_memory_park(m)) kr_unmap(m);
}

/* Creates a null-filled table. */
krait_table *kr_table_new(krait_store *s, uint8_t type, uint32_t min, uint32_t max) {
  if (min > KR_TABLE_CAP) return errno = ERANGE, NULL;
  krait_table *t = ku_calloc(1, sizeof *t);
  if (!t) return NULL;
  t->elems = ku_calloc(min ? min : 1, sizeof *t->elems);
  if (!t->elems) { ku_free(t); return NULL; }
  t->size = min;
  t->max = max;
  t->type = type;
  if (!kr_own(s, KR_OWN_TABLE, t)) return NULL;
  return t;
}

/* Grows a table by delta elements set to init; -1 past its maximum. */
int64_t kr_table_grow(krait_table *t, uint32_t delta, void *init) {
  uint64_t old = t->size, want = old + delta;
  if (want > t->max || want > KR_TABLE_CAP) return -1;
  if (delta == 0) return (int64_t)old;
  void **p = ku_realloc(t->elems, want * sizeof *p);
  if (!p) return -1;
  for (uint64_t i = old; i < want; i++) p[i] = init;
  t->elems = p;
  t->size = (uint32_t)want;
  return (int64_t)old;
}

void kr_table_free(krait_table *t) {
  if (!t) return;
  ku_free(t->elems);
  ku_free(t);
}

static bool in_range(uint64_t at, uint64_t n, uint64_t size) {
  return at + n <= size;
}

krait_trapkind kr_memory_init(krait_instance *in, uint32_t seg, uint32_t d, uint32_t s, uint32_t n) {
  krait_memory *m = in->mem0;
  const kd_data *ds = &in->module->datas[seg];
  if (!in_range(s, n, in->data_len[seg]) || !in_range(d, n, m->size))
    return KRAIT_TRAP_MEMORY_OOB;
  if (n) memcpy(m->base + d, ds->bytes + s, n);
  return KRAIT_TRAP_NONE;
}

krait_trapkind kr_memory_copy(krait_memory *m, uint32_t d, uint32_t s, uint32_t n) {
  if (!in_range(s, n, m->size) || !in_range(d, n, m->size)) return KRAIT_TRAP_MEMORY_OOB;
  if (n) memmove(m->base + d, m->base + s, n);
  return KRAIT_TRAP_NONE;
}

krait_trapkind kr_memory_fill(krait_memory *m, uint32_t d, uint32_t v, uint32_t n) {
  if (!in_range(d, n, m->size)) return KRAIT_TRAP_MEMORY_OOB;
  if (n) memset(m->base + d, (int)(uint8_t)v, n);
  return KRAIT_TRAP_NONE;
}

krait_trapkind kr_table_init(krait_instance *in, uint32_t tab, uint32_t seg, uint32_t d, uint32_t s, uint32_t n) {
  krait_table *t = in->tables[tab];
  if (!in_range(s, n, in->elem_len[seg]) || !in_range(d, n, t->size))
    return KRAIT_TRAP_TABLE_OOB;
  if (n) memcpy(t->elems + d, in->elem_refs[seg] + s, n * sizeof *t->elems);
  return KRAIT_TRAP_NONE;
}

void *kr_table_ref(krait_table *t, uint32_t i, bool *oom) {
  void *e = t->elems[i];
  if (!t->lazy || !KR_IS_LAZY(e)) return e;  /* externrefs may be odd */
  krait_func *f = kr_func(t->lazy, KR_LAZY_INDEX(e));
  if (!f) *oom = true;
  else t->elems[i] = f;
  return f;
}

/* Lazy entries name functions of their own table's instance: moving them
** to another table makes them real first. */
krait_trapkind kr_table_copy(krait_table *dt, krait_table *st, uint32_t d, uint32_t s, uint32_t n) {
  if (!in_range(s, n, st->size) || !in_range(d, n, dt->size)) return KRAIT_TRAP_TABLE_OOB;
  bool oom = false;
  for (uint32_t k = 0; dt != st && st->lazy && k < n; k++) kr_table_ref(st, s + k, &oom);
  if (oom) return KRAIT_TRAP_NOMEM;
  if (n) memmove(dt->elems + d, st->elems + s, n * sizeof *dt->elems);
  return KRAIT_TRAP_NONE;
}

krait_trapkind kr_table_fill(krait_table *t, uint32_t i, void *v, uint32_t n) {
  if (!in_range(i, n, t->size)) return KRAIT_TRAP_TABLE_OOB;
  for (uint32_t k = 0; k < n; k++) t->elems[i + k] = v;
  return KRAIT_TRAP_NONE;
}
