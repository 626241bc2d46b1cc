/*
** snapfile.c -- snapshots on disk: a compact file (only the pages that
** differ from the module's initial memory, as XOR deltas in one xz stream
** via liblzma; CRC32 via zlib) bound to its module by SHA-256 (libcrypto).
** Every read goes through a bounded reader; damage is an error, not a crash.
** The format is docs/SNAPSHOT.md; its numbers are in snapfile.h.
*/
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <openssl/evp.h>
#include <lzma.h>
#include <zlib.h>

#include "krait_host.h"
#include "runtime/runtime.h"
#include "snapfile/portable.h"
#include "snapfile/snapfile.h"
#include "platform/platform.h"
#include "util/cursor.h"
#include "util/util.h"

/* Fills err; returns -1 or NULL-compatible 0 for the callers' returns. */
static int kf_fail(krait_error *err, krait_errkind kind, const char *fmt, ...) {
  va_list ap;
  err->kind = kind;
  va_start(ap, fmt);
  ku_vfmt(err->message, sizeof err->message, fmt, ap);
  va_end(ap);
  return -1;
}

/* The SHA-256 of the module's bytes: the one given when it was made, else
** computed on the first ask and kept (python.wasm's 23 MB take ~10 ms);
** the lock orders the first writer before every reader. */
static void kf_sha256(const krait_module *m, uint8_t out[32]) {
  static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
  if (!atomic_load(&m->has_sha)) {
    pthread_mutex_lock(&lock);
    if (!atomic_load(&m->has_sha)) {
      krait_module *w = (krait_module *)m;  /* the kept digest only */
      unsigned n = 32;
      EVP_Digest(m->bytes, m->len, w->sha, &n, EVP_sha256(), NULL);
      atomic_store(&w->has_sha, true);
    }
    pthread_mutex_unlock(&lock);
  }
  memcpy(out, m->sha, 32);
}

void krait_module_sha256(const krait_module *m, char out[65]) {
  uint8_t h[32];
  kf_sha256(m, h);
  for (int i = 0; i < 32; i++) snprintf(out + 2 * i, 3, "%02x", h[i]);
}

/* ---- writing ------------------------------------------------------------ */

/* An output buffer that grows; ok turns false when memory runs out. */
typedef struct kf_out { uint8_t *p; size_t len, cap; bool ok; } kf_out;

static void kf_put(kf_out *o, const void *d, size_t n) {
  if (!o->ok || n == 0) return;   /* n == 0: d may be NULL */
  if (o->len + n > o->cap) {
    size_t cap = o->cap * 2 + n + 4096;
    uint8_t *p = ku_realloc(o->p, cap);
    if (!p) { o->ok = false; return; }
    o->p = p;
    o->cap = cap;
  }
  memcpy(o->p + o->len, d, n);
  o->len += n;
}

static void kf_u32(kf_out *o, uint32_t v) { kf_put(o, &v, 4); }
static void kf_u64(kf_out *o, uint64_t v) { kf_put(o, &v, 8); }

/* Whether the 4 KiB page at p is all zero. */
static bool kf_zero_page(const uint8_t *p) {
  uint64_t acc = 0, w;
  for (unsigned i = 0; i < KF_PAGE; i += 8) { memcpy(&w, p + i, 8); acc |= w; }
  return acc == 0;
}

/* The module's memory 0 as instantiation leaves it before any code runs:
** its active data segments at constant offsets, in order, clipped to n
** bytes. Writer and reader compute it alike, so a snapshot stores only the
** pages that differ from it (python.wasm's constant data does not), as
** their XOR with it. A lazily zeroed mapping of n bytes, or NULL. */
static uint8_t *kf_initial(const krait_module *m, size_t n) {
  uint8_t *p = kp_map(n ? n : 1);
  for (uint32_t i = 0; p && i < m->ndatas; i++) {
    const kd_data *d = &m->datas[i];
    uint64_t off = (uint32_t)d->offset.value;
    if (d->mode != KD_SEG_ACTIVE || d->memory != 0 || d->offset.op != KD_OP_I32_CONST || off >= n)
      continue;
    memcpy(p + off, d->bytes, d->len < n - off ? d->len : n - off);
  }
  return p;
}

/* XORs n bytes of src into dst, 8 at a time (n is a page multiple). */
static void kf_xor(uint8_t *dst, const uint8_t *src, size_t n) {
  for (size_t i = 0; i < n; i += 8) {
    uint64_t a, b;
    memcpy(&a, dst + i, 8);
    memcpy(&b, src + i, 8);
    a ^= b;
    memcpy(dst + i, &a, 8);
  }
}

/* Appends the runs of pages of mem that differ from init (u32 count, then
** first/n pairs) and gathers their XOR with init into delta (*dn bytes). */
static void kf_runs(kf_out *o, const uint8_t *mem, const uint8_t *init, uint32_t npages,
                    uint8_t *delta, size_t *dn) {
  size_t count_at = o->len;
  uint32_t nruns = 0;
  kf_u32(o, 0);
  *dn = 0;
  for (uint32_t p = 0; p < npages;) {
    if (!memcmp(mem + (size_t)p * KF_PAGE, init + (size_t)p * KF_PAGE, KF_PAGE)) { p++; continue; }
    uint32_t q = p;
    while (q < npages && memcmp(mem + (size_t)q * KF_PAGE, init + (size_t)q * KF_PAGE, KF_PAGE)) q++;
    kf_u32(o, p);
    kf_u32(o, q - p);
    size_t bytes = (size_t)(q - p) * KF_PAGE;
    memcpy(delta + *dn, mem + (size_t)p * KF_PAGE, bytes);
    kf_xor(delta + *dn, init + (size_t)p * KF_PAGE, bytes);
    *dn += bytes;
    nruns++;
    p = q;
  }
  if (o->ok) memcpy(o->p + count_at, &nruns, 4);
}

/* Appends memory 0 (the snapshot's image): the runs of pages that differ
** from the module's initial memory, then their XOR with it: u32 codec
** (KF_CODEC_XZ: one xz stream via liblzma; KF_CODEC_RAW: as they are, for
** embedders that rely on HTTP compression), u64 raw length, u64 stored
** length, the bytes. docs/SNAPSHOT.md describes the whole file. */
static void kf_memory(kf_out *o, const krait_snapshot *sn, uint32_t codec) {
  uint32_t npages = (uint32_t)(sn->size / KF_PAGE);
  size_t n = sn->size ? sn->size : 1, dn = 0, zn = 0;
  uint8_t *mem = kp_map(n), *init = kf_initial(sn->module, sn->size), *delta = kp_map(n), *z = NULL;
  if (!mem || !init || !delta ||
      (sn->size && pread(sn->image, mem, sn->size, 0) != (ssize_t)sn->size)) {
    o->ok = false;
  } else {
    kf_runs(o, mem, init, npages, delta, &dn);
    size_t cap = lzma_stream_buffer_bound(dn);
    if (codec == KF_CODEC_XZ) {
      z = ku_malloc(cap);
      if (!z || lzma_easy_buffer_encode(6, LZMA_CHECK_CRC32, NULL, delta, dn, z, &zn, cap) != LZMA_OK)
        o->ok = false;
    }
    kf_u32(o, codec);
    kf_u64(o, dn);
    kf_u64(o, codec == KF_CODEC_XZ ? zn : dn);
    if (o->ok) kf_put(o, codec == KF_CODEC_XZ ? z : delta, codec == KF_CODEC_XZ ? zn : dn);
  }
  ku_free(z);
  kp_release(mem, n);
  kp_release(init, n);
  kp_release(delta, n);
}

/* Serializes everything but the CRC. */
static void kf_encode(kf_out *o, const krait_snapshot *sn, const void *extra, size_t extra_len,
                      uint32_t codec) {
  const krait_module *m = sn->module;
  uint8_t h[KF_HASH_SIZE];
  kf_sha256(m, h);
  kf_put(o, KF_MAGIC, KF_MAGIC_SIZE);
  kf_u32(o, KF_VERSION);
  kf_put(o, h, KF_HASH_SIZE);
  kf_u32(o, sn->pages);
  kf_u64(o, sn->size);
  kf_u32(o, sn->nglobals);
  kf_u32(o, sn->ntables);
  kf_u32(o, m->nelems);
  kf_u32(o, m->ndatas);
  for (uint32_t i = 0; i < sn->nglobals; i++) kf_u64(o, sn->globals[i].bits);
  for (uint32_t t = 0; t < sn->ntables; t++) {
    kf_u32(o, sn->table_size[t]);
    kf_put(o, sn->table_refs[t], (size_t)sn->table_size[t] * 4);
  }
  kf_put(o, sn->elem_len, (size_t)m->nelems * 4);
  kf_put(o, sn->data_len, (size_t)m->ndatas * 4);
  kf_u32(o, (uint32_t)extra_len);
  kf_put(o, extra, extra_len);
  kf_memory(o, sn, codec);
}

/* Writes the file (encoded with codec) atomically: a .tmp, then rename. */
static int kf_save(const krait_snapshot *sn, const char *path, const void *extra, size_t extra_len,
                   uint32_t codec, krait_error *err) {
  kf_out o = { .ok = true };
  kf_encode(&o, sn, extra, extra_len, codec);
  uint32_t crc = o.ok ? (uint32_t)crc32(0, o.p, (uInt)o.len) : 0;
  kf_u32(&o, crc);
  if (!o.ok) {
    ku_free(o.p);
    return kf_fail(err, KRAIT_ERR_NOMEM, "out of memory writing the snapshot");
  }
  char tmp[4200];
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  FILE *f = fopen(tmp, "wb");
  bool ok = f && fwrite(o.p, 1, o.len, f) == o.len && fflush(f) == 0 && fsync(fileno(f)) == 0;
  int e = errno;
  if (f) fclose(f);
  ku_free(o.p);
  if (!ok || rename(tmp, path) != 0) {
    e = ok ? errno : e;
    unlink(tmp);
    return kf_fail(err, KRAIT_ERR_IO, "cannot write %s: %s", path, strerror(e));
  }
  return 0;
}

int krait_snapshot_save(const krait_snapshot *sn, const char *path, const void *extra,
                        size_t extra_len, krait_error *err) {
  krait_error dummy;
  if (!err) err = &dummy;
  memset(err, 0, sizeof *err);
  return kf_save(sn, path, extra, extra_len, KF_CODEC_XZ, err);
}

/* Why sn cannot be restored by writing memory alone, or NULL: a mutable
** global or a table not as instantiation leaves it, or a passive segment. */
static const char *kf_not_portable(const krait_snapshot *sn) {
  const krait_module *m = sn->module;
  for (uint32_t i = m->nglobal_imports; i < sn->nglobals; i++) {
    const kd_constexpr *c = &m->global_inits[i];
    if (c->op != KD_OP_I32_CONST && c->op != KD_OP_I64_CONST) return "a global without a constant initial value";
    uint64_t want = c->op == KD_OP_I32_CONST ? (uint32_t)c->value : c->value;
    uint64_t got = c->op == KD_OP_I32_CONST ? (uint32_t)sn->globals[i].bits : sn->globals[i].bits;
    if (got != want) return "a global that changed (call it when the stack is unwound)";
  }
  for (uint32_t i = 0; i < m->ndatas; i++)
    if (m->datas[i].mode != KD_SEG_ACTIVE) return "a passive data segment";
  for (uint32_t t = 0; t < sn->ntables; t++) {
    const kd_tabletype *tt = &m->tables[m->ntable_imports + t];
    if (sn->table_size[t] != tt->lim.min) return "a table that grew";
    for (uint32_t i = 0; i < sn->table_size[t]; i++) {
      uint32_t want = KS_NULL_REF;
      for (uint32_t e = 0; e < m->nelems; e++) {
        const kd_elem *el = &m->elems[e];
        uint32_t off = (uint32_t)el->offset.value;
        if (el->mode == KD_SEG_ACTIVE && el->table == m->ntable_imports + t && i >= off &&
            i - off < el->count && el->items[i - off].op == KD_OP_REF_FUNC)
          want = (uint32_t)el->items[i - off].value;
      }
      if (sn->table_refs[t][i] != want) return "a table entry that changed";
    }
  }
  return NULL;
}

int krait_snapshot_save_portable(const krait_snapshot *sn, const char *path, krait_error *err) {
  krait_error dummy;
  if (!err) err = &dummy;
  memset(err, 0, sizeof *err);
  const char *why = kf_not_portable(sn);
  if (why) return kf_fail(err, KRAIT_ERR_LINK, "cannot write a portable snapshot: %s", why);
  return kf_save(sn, path, NULL, 0, KF_CODEC_RAW, err);
}

/* ---- reading ------------------------------------------------------------ */

/* The file's reader: the bounded cursor (src/util/cursor.h), with a
** sticky failure in place of the cursor's longjmp (the decoder has a
** snapshot and buffers to free when a file ends early): kf_take checks
** ku_left before each ku_bytes, and bad turns true at the first overrun. */
typedef struct kf_in {
  ku_cursor c;
  bool bad;
  bool oom;      /* what failed was memory, not the file */
} kf_in;

/* A reader over the n bytes at p. */
static kf_in kf_in_of(const uint8_t *p, size_t n) {
  kf_in r = { { p, p + n, p, "snapshot", NULL }, false, false };
  return r;
}

static const uint8_t *kf_take(kf_in *r, size_t n) {
  if (r->bad || ku_left(&r->c) < n) { r->bad = true; return NULL; }
  return ku_bytes(&r->c, n);
}

static uint32_t kf_get_u32(kf_in *r) {
  uint32_t v = 0;
  const uint8_t *at = kf_take(r, 4);
  if (at) memcpy(&v, at, 4);
  return v;
}

static uint64_t kf_get_u64(kf_in *r) {
  uint64_t v = 0;
  const uint8_t *at = kf_take(r, 8);
  if (at) memcpy(&v, at, 8);
  return v;
}

/* Copies n u32s into dst. */
static void kf_get_u32s(kf_in *r, uint32_t *dst, size_t n) {
  const uint8_t *at = n ? kf_take(r, n * 4) : NULL;
  if (at) memcpy(dst, at, n * 4);
}

/* Reads the tables, checking every reference names a module function. */
static bool kf_tables(kf_in *r, krait_snapshot *sn) {
  const krait_module *m = sn->module;
  for (uint32_t t = 0; t < sn->ntables && !r->bad; t++) {
    uint32_t n = kf_get_u32(r);
    if (r->bad || n > ku_left(&r->c) / 4) return false;
    sn->table_size[t] = n;
    sn->table_refs[t] = ku_malloc(((size_t)n + 1) * 4);
    if (!sn->table_refs[t]) return !(r->oom = true);
    kf_get_u32s(r, sn->table_refs[t], n);
    for (uint32_t i = 0; i < n; i++)
      if (sn->table_refs[t][i] != KS_NULL_REF && sn->table_refs[t][i] >= m->nfuncs) return false;
  }
  return !r->bad;
}

/* Reads the runs (ascending, disjoint, inside memory); their page count
** in *total, or false. runs holds 2 u32s per run. */
static bool kf_read_runs(kf_in *r, uint32_t npages, uint32_t **runs, uint32_t *nruns,
                         uint64_t *total) {
  uint32_t n = kf_get_u32(r), end = 0;
  *total = 0;
  if (r->bad || n > npages) return false;
  if (!(*runs = ku_malloc(((size_t)n + 1) * 8))) return !(r->oom = true);
  for (uint32_t i = 0; i < n; i++) {
    uint32_t first = kf_get_u32(r), len = kf_get_u32(r);
    if (r->bad || len == 0 || first < end || first > npages || len > npages - first) return false;
    (*runs)[2 * i] = first;
    (*runs)[2 * i + 1] = len;
    end = first + len;
    *total += len;
  }
  *nruns = n;
  return true;
}

/* Writes the image: the initial memory, with the runs' pages replaced by
** their delta XOR the initial pages. */
static bool kf_write_image(krait_snapshot *sn, const uint8_t *init, uint8_t *delta,
                           const uint32_t *runs, uint32_t nruns) {
  uint32_t npages = (uint32_t)(sn->size / KF_PAGE), next = 0, k = 0;
  size_t at = 0;
  for (uint32_t p = 0; p < npages; p++) {
    const uint8_t *src = init + (size_t)p * KF_PAGE;
    if (k < nruns && p == runs[2 * k]) {
      next = p + runs[2 * k + 1];
      k++;
    }
    if (p < next) {  /* a stored page: delta XOR initial */
      kf_xor(delta + at, src, KF_PAGE);
      src = delta + at;
      at += KF_PAGE;
    }
    if (!kf_zero_page(src) && pwrite(sn->image, src, KF_PAGE, (off_t)p * KF_PAGE) != KF_PAGE)
      return false;
  }
  return true;
}

/* Decodes memory 0 into a new image of sn->size bytes (kf_memory's form):
** every length is checked, and the xz stream must inflate to exactly the
** runs' pages. */
static bool kf_image(kf_in *r, krait_snapshot *sn) {
  uint32_t npages = (uint32_t)(sn->size / KF_PAGE), nruns = 0, *runs = NULL;
  uint64_t total = 0, dn = 0, zn = 0;
  bool ok = kf_read_runs(r, npages, &runs, &nruns, &total);
  uint32_t codec = ok ? kf_get_u32(r) : KF_CODEC_XZ + 1;
  if (ok) { dn = kf_get_u64(r); zn = kf_get_u64(r); }
  const uint8_t *z = ok && !r->bad && codec <= KF_CODEC_XZ && dn == total * KF_PAGE &&
                     (codec == KF_CODEC_XZ || zn == dn) ? kf_take(r, zn) : NULL;
  size_t n = sn->size ? sn->size : 1, in = 0, out = 0;
  uint64_t memlimit = 256u << 20;
  uint8_t *delta = z ? kp_map(dn ? dn : 1) : NULL, *init = delta ? kf_initial(sn->module, sn->size) : NULL;
  if (z && !init) r->oom = true;   /* mappings for the image: memory, not the file */
  if (init && codec == KF_CODEC_RAW) { memcpy(delta, z, dn); in = zn; out = dn; }
  ok = init && (codec == KF_CODEC_RAW ||
                lzma_stream_buffer_decode(&memlimit, 0, NULL, z, &in, zn, delta, &out, dn) == LZMA_OK) &&
       in == zn && out == dn && (sn->image = kp_image_new(sn->size)) >= 0 &&
       kf_write_image(sn, init, delta, runs, nruns);
  if (delta) kp_release(delta, dn ? dn : 1);
  if (init) kp_release(init, n);
  ku_free(runs);
  return ok && !r->bad;
}

/* Decodes a whole file (CRC already checked) into a snapshot of m. */
static krait_snapshot *kf_decode(kf_in *r, const krait_module *m, void **extra, size_t *extra_len,
                                 krait_error *err, const char *path) {
  uint8_t h[KF_HASH_SIZE];
  kf_sha256(m, h);
  const uint8_t *magic = kf_take(r, KF_MAGIC_SIZE);
  uint32_t version = kf_get_u32(r);
  const uint8_t *hash = kf_take(r, KF_HASH_SIZE);
  if (!magic || memcmp(magic, KF_MAGIC, KF_MAGIC_SIZE) || version != KF_VERSION) {
    kf_fail(err, KRAIT_ERR_MALFORMED, "%s is not a krait snapshot (version %u)", path, KF_VERSION);
    return NULL;
  }
  if (!hash || memcmp(hash, h, KF_HASH_SIZE)) {
    kf_fail(err, KRAIT_ERR_LINK, "%s was taken from another module (its python.wasm changed "
            "since: rebuild the snapshot)", path);
    return NULL;
  }
  krait_snapshot *sn = kr_snapshot_alloc(m);
  if (!sn) { kf_fail(err, KRAIT_ERR_NOMEM, "out of memory"); return NULL; }
  sn->pages = kf_get_u32(r);
  sn->size = kf_get_u64(r);
  bool shape = kf_get_u32(r) == sn->nglobals && kf_get_u32(r) == sn->ntables &&
               kf_get_u32(r) == m->nelems && kf_get_u32(r) == m->ndatas &&
               sn->size == (uint64_t)sn->pages * 65536 && sn->pages <= 65536;
  for (uint32_t i = 0; shape && i < sn->nglobals; i++) sn->globals[i].bits = kf_get_u64(r);
  shape = shape && kr_snapshot_globals_ok(sn, m) && kf_tables(r, sn);
  if (shape) { kf_get_u32s(r, sn->elem_len, m->nelems); kf_get_u32s(r, sn->data_len, m->ndatas); }
  uint32_t xn = shape ? kf_get_u32(r) : 0;
  const uint8_t *x = shape ? kf_take(r, xn) : NULL;
  if (shape && x && extra) {
    *extra = ku_malloc((size_t)xn + 1);
    if (*extra) { memcpy(*extra, x, xn); ((char *)*extra)[xn] = '\0'; *extra_len = xn; }
  }
  if (shape && x && extra && !*extra) {   /* not "damaged": out of memory */
    krait_snapshot_free(sn);
    kf_fail(err, KRAIT_ERR_NOMEM, "out of memory");
    return NULL;
  }
  if (!shape || !x || !kf_image(r, sn) || !ku_eof(&r->c)) {
    krait_snapshot_free(sn);
    if (extra && *extra) { ku_free(*extra); *extra = NULL; }
    if (r->oom) kf_fail(err, KRAIT_ERR_NOMEM, "out of memory reading %s", path);
    else kf_fail(err, KRAIT_ERR_MALFORMED, "%s is damaged (its contents do not fit the module)", path);
    return NULL;
  }
  kr_snapshot_hot_init(sn);
  return sn;
}

/* Reads the whole file at path and checks its CRC; the bytes before the
** CRC (malloc'ed) in *len, or NULL with err. */
static uint8_t *kf_read(const char *path, size_t *len, krait_error *err) {
  FILE *f = fopen(path, "rb");
  long n = -1;
  uint8_t *buf = NULL;
  if (f && fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 12 && fseek(f, 0, SEEK_SET) == 0 &&
      (buf = ku_malloc((size_t)n)) && fread(buf, 1, (size_t)n, f) != (size_t)n)
    n = -1;
  int e = errno;
  if (f) fclose(f);
  if (!buf && f && n >= 12) {   /* the file is fine: memory ran out */
    kf_fail(err, KRAIT_ERR_NOMEM, "out of memory reading %s (%ld bytes)", path, n);
    return NULL;
  }
  if (!buf || n < 12) {
    ku_free(buf);
    kf_fail(err, KRAIT_ERR_IO, "cannot read %s: %s", path, f && n >= 0 ? "too short" : strerror(e));
    return NULL;
  }
  kf_in t = kf_in_of(buf, (size_t)n);
  uint32_t crc;
  kf_take(&t, (size_t)n - 4);
  crc = kf_get_u32(&t);
  if (t.bad || crc != (uint32_t)crc32(0, buf, (uInt)(n - 4))) {
    ku_free(buf);
    kf_fail(err, KRAIT_ERR_MALFORMED, "%s is damaged (checksum mismatch)", path);
    return NULL;
  }
  *len = (size_t)n - 4;
  return buf;
}

krait_snapshot *krait_snapshot_load(const krait_module *m, const char *path, void **extra,
                                    size_t *extra_len, krait_error *err) {
  krait_error dummy;
  if (!err) err = &dummy;
  memset(err, 0, sizeof *err);
  if (extra) *extra = NULL;
  size_t n;
  uint8_t *buf = kf_read(path, &n, err);
  if (!buf) return NULL;
  kf_in r = kf_in_of(buf, n);
  krait_snapshot *sn = kf_decode(&r, m, extra, extra_len, err, path);
  ku_free(buf);
  return sn;
}

/* Steps r over the header, globals, tables and segment lengths to the
** extra bytes, without a module to check them against. */
static void kf_skip_to_extra(kf_in *r) {
  kf_take(r, KF_OFF_NGLOBALS);
  uint32_t nglobals = kf_get_u32(r), ntables = kf_get_u32(r);
  uint32_t nelems = kf_get_u32(r), ndatas = kf_get_u32(r);
  kf_take(r, (size_t)nglobals * 8);
  for (uint32_t t = 0; t < ntables && !r->bad; t++) kf_take(r, (size_t)kf_get_u32(r) * 4);
  kf_take(r, (size_t)nelems * 4 + (size_t)ndatas * 4);
}

int krait_snapshot_read_extra(const char *path, void **extra, size_t *extra_len, krait_error *err) {
  krait_error dummy;
  if (!err) err = &dummy;
  memset(err, 0, sizeof *err);
  *extra = NULL;
  size_t n;
  uint8_t *buf = kf_read(path, &n, err);
  if (!buf) return -1;
  kf_in r = kf_in_of(buf, n), h = r;
  const uint8_t *magic = kf_take(&h, KF_MAGIC_SIZE);
  kf_take(&h, KF_OFF_VERSION - KF_MAGIC_SIZE);
  uint32_t version = kf_get_u32(&h);
  if (n < KF_OFF_HASH || h.bad || memcmp(magic, KF_MAGIC, KF_MAGIC_SIZE) || version != KF_VERSION) {
    ku_free(buf);
    return kf_fail(err, KRAIT_ERR_MALFORMED, "%s is not a krait snapshot (version %u)", path, KF_VERSION);
  }
  kf_skip_to_extra(&r);
  uint32_t xn = kf_get_u32(&r);
  const uint8_t *x = kf_take(&r, xn);
  if (x && (*extra = ku_malloc((size_t)xn + 1))) {
    memcpy(*extra, x, xn);
    ((char *)*extra)[xn] = '\0';
    *extra_len = xn;
  }
  ku_free(buf);
  if (!x) return kf_fail(err, KRAIT_ERR_MALFORMED, "%s is damaged (truncated)", path);
  return *extra ? 0 : kf_fail(err, KRAIT_ERR_NOMEM, "out of memory");
}
