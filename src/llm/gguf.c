/*
** gguf.c -- the GGUF reader: header, metadata, tensor infos and extents of a
** GGUF v2/v3 file, checked through the bounded cursor, and its lookups.
** Does not own: what the keys mean (model.c, vocab.c) or tensor math.
*/
#include "llm/llm_internal.h"
#include "platform/platform.h"
#include "util/cursor.h"
#include "krait.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define GGUF_MAGIC 0x46554747u        /* "GGUF" read little-endian */
#define GGUF_ALIGN_DEFAULT 32
#define GGUF_MAX_NAME 64              /* ggml's GGML_MAX_NAME, NUL included */
#define GGUF_TYPE_COUNT 13            /* value types 0..12 */

/* A name -> index table (open addressing, slots hold index + 1). */
typedef struct gg_index {
  uint32_t *slot;
  size_t mask;
} gg_index;

struct kl_gguf {
  const uint8_t *buf;
  size_t len;
  const uint8_t *map;       /* the mapping kl_gguf_open made, or NULL */
  size_t map_len;
  uint32_t version;
  kl_kv *kv;
  size_t nkv;
  kl_tensor *t;
  size_t nt;
  kl_str **strs;            /* the string arrays built (one per kv) */
  size_t nstrs;             /* strs' length */
  uint64_t *off;            /* tensor offsets while reading */
  gg_index kidx, tidx;
};

/* The reader's state: the cursor, its failure and the context name. */
typedef struct gg_reader {
  ku_cursor c;
  ku_fail fail;
  kl_gguf *g;
  char what[160];
} gg_reader;

/* GGML's names of every tensor type, for messages about the ones krait does
** not read (the supported ones are also kl_type_name's). */
static const char *const ggml_names[] = {
  "F32", "F16", "Q4_0", "Q4_1", "Q4_2", "Q4_3", "Q5_0", "Q5_1", "Q8_0",
  "Q8_1", "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K", "Q8_K", "IQ2_XXS",
  "IQ2_XS", "IQ3_XXS", "IQ1_S", "IQ4_NL", "IQ3_S", "IQ2_S", "IQ4_XS", "I8",
  "I16", "I32", "I64", "F64", "IQ1_M", "BF16", "Q4_0_4_4", "Q4_0_4_8",
  "Q4_0_8_8", "TQ1_0", "TQ2_0", "IQ4_NL_4_4", "IQ4_NL_4_8", "IQ4_NL_8_8",
  "MXFP4",
};

/* Bytes of one scalar of value type t (0 for strings and arrays). */
static size_t scalar_size(uint32_t t) {
  static const uint8_t sz[GGUF_TYPE_COUNT] = { 1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8 };
  return t < GGUF_TYPE_COUNT ? sz[t] : 0;
}

/* A table with room for n names; false when out of memory. */
static bool index_init(gg_index *x, size_t n) {
  size_t cap = 8;
  while (cap < 2 * n) cap *= 2;
  x->slot = ku_calloc(cap, sizeof *x->slot);
  x->mask = cap - 1;
  return x->slot != NULL;
}

/* The slot where name [s, s+n) is or would go; names(i) gives entry i. */
static uint32_t *index_slot(const gg_index *x, const char *s, size_t n,
                            const kl_str *(*name)(const kl_gguf *, size_t),
                            const kl_gguf *g) {
  for (size_t i = kl_hash(s, n) & x->mask;; i = (i + 1) & x->mask) {
    uint32_t *sl = &x->slot[i];
    if (!*sl) return sl;
    const kl_str *k = name(g, *sl - 1);
    if (k->n == n && memcmp(k->s, s, n) == 0) return sl;
  }
}

static const kl_str *kv_name(const kl_gguf *g, size_t i) { return &g->kv[i].key; }
static const kl_str *t_name(const kl_gguf *g, size_t i) { return &g->t[i].name; }

/* ---- reading ---------------------------------------------------------- */

/* Sets the context the next failure names. */
static void set_what(gg_reader *r, const char *fmt, const char *s, size_t n) {
  ku_fmt(r->what, sizeof r->what, fmt, (int)(n > 80 ? 80 : n), s);
  r->c.what = r->what;
}

/* A length-prefixed string; its length is checked against the bytes left. */
static kl_str read_str(gg_reader *r, const char *of) {
  uint64_t n = ku_fixed64(&r->c);
  if (n > ku_left(&r->c))
    ku_cfail(&r->c, KRAIT_ERR_MALFORMED,
             "%s length %llu is past the end of the file (%zu bytes left)", of,
             (unsigned long long)n, ku_left(&r->c));
  kl_str s = { (const char *)ku_bytes(&r->c, (size_t)n), n };
  return s;
}

/* A count read from the file, checked against the bytes left when each
** item takes at least min bytes. */
static uint64_t read_count(gg_reader *r, const char *of, size_t min) {
  uint64_t n = ku_fixed64(&r->c);
  if (n > ku_left(&r->c) / min)
    ku_cfail(&r->c, KRAIT_ERR_MALFORMED,
             "%s %llu cannot fit in the %zu bytes left", of,
             (unsigned long long)n, ku_left(&r->c));
  return n;
}

/* The scalar of type t at the cursor, widened into kv->v. */
static void read_scalar(gg_reader *r, uint32_t t, kl_kv *kv) {
  const uint8_t *p = ku_bytes(&r->c, scalar_size(t));
  switch (t) {
  case KL_G_U8: case KL_G_BOOL: kv->v.u = p[0]; break;
  case KL_G_I8: kv->v.i = (int8_t)p[0]; break;
  case KL_G_U16: kv->v.u = (uint16_t)(p[0] | p[1] << 8); break;
  case KL_G_I16: kv->v.i = (int16_t)(p[0] | p[1] << 8); break;
  default: {
    uint64_t u = 0;
    for (size_t i = scalar_size(t); i-- > 0;) u = u << 8 | p[i];
    if (t == KL_G_U32 || t == KL_G_U64) kv->v.u = u;
    else if (t == KL_G_I32) kv->v.i = (int32_t)(uint32_t)u;
    else if (t == KL_G_I64) kv->v.i = (int64_t)u;
    else if (t == KL_G_F32) { float f; uint32_t w = (uint32_t)u; memcpy(&f, &w, 4); kv->v.f = f; }
    else { double d; memcpy(&d, &u, 8); kv->v.f = d; }
  }
  }
}

/* An array value: numbers stay in the file, strings get a kl_str table. */
static void read_array(gg_reader *r, kl_kv *kv, size_t i) {
  kv->elem = ku_fixed32(&r->c);
  if (kv->elem == KL_G_ARR)
    ku_cfail(&r->c, KRAIT_ERR_MALFORMED, "an array of arrays, which GGUF readers do not take");
  if (kv->elem >= GGUF_TYPE_COUNT)
    ku_cfail(&r->c, KRAIT_ERR_MALFORMED, "array element type %u is not a GGUF value type", kv->elem);
  size_t sz = kv->elem == KL_G_STR ? 8 : scalar_size(kv->elem);
  kv->n = read_count(r, "array length", sz);
  if (kv->elem != KL_G_STR) {
    kv->arr = ku_bytes(&r->c, (size_t)kv->n * sz);
    return;
  }
  kl_str *s = ku_malloc((size_t)(kv->n ? kv->n : 1) * sizeof *s);
  if (!s) ku_cfail(&r->c, KRAIT_ERR_NOMEM, "out of memory for %llu strings", (unsigned long long)kv->n);
  r->g->strs[i] = s;
  for (uint64_t j = 0; j < kv->n; j++) s[j] = read_str(r, "string");
  kv->arr = s;
}

/* Metadata entry i: key, type and value; duplicate keys are refused. */
static void read_kv(gg_reader *r, size_t i) {
  kl_kv *kv = &r->g->kv[i];
  r->c.what = "metadata";
  kv->key = read_str(r, "key");
  set_what(r, "metadata key '%.*s'", kv->key.s, (size_t)kv->key.n);
  uint32_t *sl = index_slot(&r->g->kidx, kv->key.s, (size_t)kv->key.n, kv_name, r->g);
  if (*sl) ku_cfail(&r->c, KRAIT_ERR_MALFORMED, "duplicate key");
  kv->type = ku_fixed32(&r->c);
  if (kv->type == KL_G_STR) kv->str = read_str(r, "string");
  else if (kv->type == KL_G_ARR) read_array(r, kv, i);
  else if (kv->type < GGUF_TYPE_COUNT) read_scalar(r, kv->type, kv);
  else ku_cfail(&r->c, KRAIT_ERR_MALFORMED, "value type %u is not a GGUF value type", kv->type);
  *sl = (uint32_t)i + 1;
}

/* The message for a tensor type krait does not read. */
static _Noreturn void bad_type(gg_reader *r, const kl_tensor *t) {
  const char *n = t->type < KU_COUNT(ggml_names) ? ggml_names[t->type] : "unknown";
  ku_cfail(&r->c, KRAIT_ERR_UNSUPPORTED,
           "tensor '%.*s' has type %u (%s), which krait does not read; "
           "supported: F32, F16, Q4_0, Q8_0, Q4_K, Q6_K",
           (int)t->name.n, t->name.s, t->type, n);
}

/* Tensor info i: name, shape, type and offset (relative to the data). */
static uint64_t read_tensor(gg_reader *r, size_t i) {
  kl_tensor *t = &r->g->t[i];
  r->c.what = "tensor info";
  t->name = read_str(r, "tensor name");
  set_what(r, "tensor '%.*s'", t->name.s, (size_t)t->name.n);
  if (t->name.n >= GGUF_MAX_NAME)
    ku_cfail(&r->c, KRAIT_ERR_MALFORMED, "name is %llu bytes (at most %d)",
             (unsigned long long)t->name.n, GGUF_MAX_NAME - 1);
  uint32_t *sl = index_slot(&r->g->tidx, t->name.s, (size_t)t->name.n, t_name, r->g);
  if (*sl) ku_cfail(&r->c, KRAIT_ERR_MALFORMED, "duplicate tensor name");
  t->ndim = ku_fixed32(&r->c);
  if (t->ndim < 1 || t->ndim > KL_MAX_DIMS)
    ku_cfail(&r->c, KRAIT_ERR_MALFORMED, "%u dimensions (1 to %d)", t->ndim, KL_MAX_DIMS);
  for (uint32_t d = 0; d < KL_MAX_DIMS; d++) {
    t->ne[d] = d < t->ndim ? ku_fixed64(&r->c) : 1;
    if (t->ne[d] == 0 || t->ne[d] > INT64_MAX)
      ku_cfail(&r->c, KRAIT_ERR_MALFORMED, "dimension %u is %llu", d, (unsigned long long)t->ne[d]);
  }
  t->type = ku_fixed32(&r->c);
  uint64_t off = ku_fixed64(&r->c);
  if (kl_type_block(t->type) == 0) bad_type(r, t);
  *sl = (uint32_t)i + 1;
  return off;
}

/* The byte size of t from its shape and type, checked for overflow and a
** row length that is a whole number of blocks. */
static void tensor_size(gg_reader *r, kl_tensor *t) {
  uint64_t n = 1, blk = kl_type_block(t->type);
  for (uint32_t d = 0; d < KL_MAX_DIMS; d++)
    if (__builtin_mul_overflow(n, t->ne[d], &n) || n > INT64_MAX)
      ku_cfail(&r->c, KRAIT_ERR_MALFORMED, "element count overflows");
  if (t->ne[0] % blk)
    ku_cfail(&r->c, KRAIT_ERR_MALFORMED, "row length %llu is not a multiple of %s's block of %llu",
             (unsigned long long)t->ne[0], kl_type_name(t->type), (unsigned long long)blk);
  if (__builtin_mul_overflow(n / blk, (uint64_t)kl_type_size(t->type), &t->nbytes))
    ku_cfail(&r->c, KRAIT_ERR_MALFORMED, "byte size overflows");
}

/* The data section's alignment (general.alignment, a power of two). */
static uint64_t alignment(gg_reader *r) {
  const kl_kv *kv = kl_gguf_kv(r->g, "general.alignment");
  if (!kv) return GGUF_ALIGN_DEFAULT;
  r->c.what = "metadata key 'general.alignment'";
  if (kv->type != KL_G_U32)
    ku_cfail(&r->c, KRAIT_ERR_MALFORMED, "type %u, not u32", kv->type);
  if (kv->v.u == 0 || (kv->v.u & (kv->v.u - 1)))
    ku_cfail(&r->c, KRAIT_ERR_MALFORMED, "%llu is not a power of two", (unsigned long long)kv->v.u);
  return kv->v.u;
}

/* Magic and version: v2 and v3 little-endian only. */
static void read_header(gg_reader *r) {
  r->c.what = "GGUF header";
  if (ku_left(&r->c) < 4 || ku_fixed32(&r->c) != GGUF_MAGIC) {
    r->c.p = r->c.base;
    ku_cfail(&r->c, KRAIT_ERR_MALFORMED, "not a GGUF file (no \"GGUF\" magic)");
  }
  uint32_t v = ku_fixed32(&r->c);
  if (v == 1)
    ku_cfail(&r->c, KRAIT_ERR_UNSUPPORTED, "GGUF version 1 is not supported (only 2 and 3); convert the file again");
  if ((v & 0xffff) == 0 && __builtin_bswap32(v) <= 3)
    ku_cfail(&r->c, KRAIT_ERR_UNSUPPORTED, "a big-endian GGUF file; krait reads little-endian ones only");
  if (v != 2 && v != 3)
    ku_cfail(&r->c, KRAIT_ERR_UNSUPPORTED, "GGUF version %u is not supported (only 2 and 3)", v);
  r->g->version = v;
}

/* The alignment a tensor's data needs to be read as its type's fields
** (F32: 4; F16 and the quantized blocks' 16-bit scales: 2): the largest
** power of two dividing the block's size, at most 4. */
static uint32_t type_align(uint32_t type) {
  uint32_t size = kl_type_size(type), a = 1;
  while (a < 4 && size % (2 * a) == 0) a *= 2;
  return a;
}

/* Every tensor's extent in the data section that starts at the aligned
** offset after the tensor infos. */
static void place_tensors(gg_reader *r, const uint64_t *off) {
  uint64_t align = alignment(r), start = ku_offset(&r->c);
  start = (start + align - 1) / align * align;
  uint64_t room = start > r->g->len ? 0 : r->g->len - start;
  for (size_t i = 0; i < r->g->nt; i++) {
    kl_tensor *t = &r->g->t[i];
    set_what(r, "tensor '%.*s'", t->name.s, (size_t)t->name.n);
    tensor_size(r, t);
    if (off[i] % align)
      ku_cfail(&r->c, KRAIT_ERR_MALFORMED, "data offset 0x%llx is not a multiple of the alignment %llu",
               (unsigned long long)off[i], (unsigned long long)align);
    if (off[i] > room || t->nbytes > room - off[i])
      ku_cfail(&r->c, KRAIT_ERR_MALFORMED, "data [0x%llx, +%llu) runs past the end of the file (%llu data bytes)",
               (unsigned long long)off[i], (unsigned long long)t->nbytes, (unsigned long long)room);
    t->data = r->g->buf + start + off[i];
    uint32_t need = type_align(t->type);
    if ((uintptr_t)t->data % need)
      ku_cfail(&r->c, KRAIT_ERR_MALFORMED, "data at file offset 0x%llx is not aligned to the %u bytes "
               "%s needs (general.alignment %llu)", (unsigned long long)(start + off[i]), need,
               kl_type_name(t->type), (unsigned long long)align);
  }
}

/* Reads the whole file into r->g (the one catch point is the caller's). */
static void read_file(gg_reader *r) {
  kl_gguf *g = r->g;
  read_header(r);
  uint64_t nt = read_count(r, "tensor count", 24);
  uint64_t nkv = read_count(r, "metadata count", 13);
  if (nkv > KL_GGUF_MAX_KV)
    ku_cfail(&r->c, KRAIT_ERR_UNSUPPORTED, "%llu metadata keys (krait reads at most %u)",
             (unsigned long long)nkv, (unsigned)KL_GGUF_MAX_KV);
  if (nt > KL_GGUF_MAX_TENSORS)
    ku_cfail(&r->c, KRAIT_ERR_UNSUPPORTED, "%llu tensors (krait reads at most %u)",
             (unsigned long long)nt, (unsigned)KL_GGUF_MAX_TENSORS);
  g->kv = ku_calloc((size_t)(nkv ? nkv : 1), sizeof *g->kv);
  g->strs = ku_calloc((size_t)(nkv ? nkv : 1), sizeof *g->strs);
  g->nstrs = g->strs ? (size_t)nkv : 0;
  g->t = ku_calloc((size_t)(nt ? nt : 1), sizeof *g->t);
  g->off = ku_calloc((size_t)(nt ? nt : 1), sizeof *g->off);
  if (!g->kv || !g->strs || !g->t || !g->off || !index_init(&g->kidx, (size_t)nkv) ||
      !index_init(&g->tidx, (size_t)nt))
    ku_cfail(&r->c, KRAIT_ERR_NOMEM, "out of memory");
  for (; g->nkv < nkv; g->nkv++) read_kv(r, g->nkv);
  for (; g->nt < nt; g->nt++) g->off[g->nt] = read_tensor(r, g->nt);
  place_tensors(r, g->off);
  ku_free(g->off);
  g->off = NULL;
}

kl_gguf *kl_gguf_parse(const uint8_t *buf, size_t len, char *err, size_t cap) {
  gg_reader r;
  memset(&r, 0, sizeof r);
  kl_gguf *g = ku_calloc(1, sizeof *g);
  if (!g) { ku_fmt(err, cap, "GGUF: out of memory"); return NULL; }
  g->buf = buf;
  g->len = len;
  r.g = g;
  r.fail.msg = err;
  r.fail.cap = cap;
  r.c = (ku_cursor){ buf, buf + len, buf, "GGUF header", &r.fail };
  if (setjmp(r.fail.jb)) {
    kl_gguf_free(g);
    return NULL;
  }
  read_file(&r);
  return g;
}

kl_gguf *kl_gguf_open(const char *path, char *err, size_t cap) {
  char why[KL_ERR_SIZE];
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) != 0) {
    ku_fmt(err, cap, "%s: %s", path, strerror(errno));
    if (fd >= 0) close(fd);
    return NULL;
  }
  if (!S_ISREG(st.st_mode)) {
    ku_fmt(err, cap, "%s: not a regular file", path);
    close(fd);
    return NULL;
  }
  size_t n = (size_t)st.st_size;
  const uint8_t *map = n ? kp_view_image(n, fd) : NULL;
  int e = errno;
  close(fd);
  if (n && !map) { ku_fmt(err, cap, "%s: cannot map: %s", path, strerror(e)); return NULL; }
  kl_gguf *g = kl_gguf_parse(map ? map : (const uint8_t *)"", n, why, sizeof why);
  if (!g) {
    ku_fmt(err, cap, "%s: %s", path, why);
    kp_release((void *)map, n);
    return NULL;
  }
  g->map = map;
  g->map_len = n;
  return g;
}

void kl_gguf_free(kl_gguf *g) {
  if (!g) return;
  for (size_t i = 0; i < g->nstrs; i++) ku_free(g->strs[i]);
  ku_free(g->strs);
  ku_free(g->off);
  ku_free(g->kv);
  ku_free(g->t);
  ku_free(g->kidx.slot);
  ku_free(g->tidx.slot);
  if (g->map) kp_release((void *)g->map, g->map_len);
  ku_free(g);
}

/* ---- lookups ---------------------------------------------------------- */

const kl_kv *kl_gguf_kv(const kl_gguf *g, const char *key) {
  if (!g->kidx.slot) return NULL;
  uint32_t *sl = index_slot(&g->kidx, key, strlen(key), kv_name, g);
  return *sl ? &g->kv[*sl - 1] : NULL;
}

bool kl_gguf_u32(const kl_gguf *g, const char *key, uint32_t *out) {
  const kl_kv *kv = kl_gguf_kv(g, key);
  if (!kv) return false;
  switch (kv->type) {
  case KL_G_U8: case KL_G_U16: case KL_G_U32: case KL_G_U64:
    if (kv->v.u > UINT32_MAX) return false;
    *out = (uint32_t)kv->v.u;
    return true;
  case KL_G_I8: case KL_G_I16: case KL_G_I32: case KL_G_I64:
    if (kv->v.i < 0 || kv->v.i > (int64_t)UINT32_MAX) return false;
    *out = (uint32_t)kv->v.i;
    return true;
  default: return false;
  }
}

bool kl_gguf_f32(const kl_gguf *g, const char *key, float *out) {
  const kl_kv *kv = kl_gguf_kv(g, key);
  if (!kv) return false;
  switch (kv->type) {
  case KL_G_F32: case KL_G_F64: *out = (float)kv->v.f; return true;
  case KL_G_U8: case KL_G_U16: case KL_G_U32: case KL_G_U64: *out = (float)kv->v.u; return true;
  case KL_G_I8: case KL_G_I16: case KL_G_I32: case KL_G_I64: *out = (float)kv->v.i; return true;
  default: return false;
  }
}

bool kl_gguf_bool(const kl_gguf *g, const char *key, bool *out) {
  const kl_kv *kv = kl_gguf_kv(g, key);
  if (!kv || kv->type != KL_G_BOOL) return false;
  *out = kv->v.u != 0;
  return true;
}

bool kl_gguf_str(const kl_gguf *g, const char *key, kl_str *out) {
  const kl_kv *kv = kl_gguf_kv(g, key);
  if (!kv || kv->type != KL_G_STR) return false;
  *out = kv->str;
  return true;
}

const kl_tensor *kl_gguf_tensor(const kl_gguf *g, const char *name) {
  if (!g->tidx.slot) return NULL;
  uint32_t *sl = index_slot(&g->tidx, name, strlen(name), t_name, g);
  return *sl ? &g->t[*sl - 1] : NULL;
}

size_t kl_gguf_ntensors(const kl_gguf *g) { return g->nt; }

const kl_tensor *kl_gguf_tensor_at(const kl_gguf *g, size_t i) {
  return i < g->nt ? &g->t[i] : NULL;
}
