/*
** tests/host/test_llm_gguf.c -- the GGUF reader's tests: well-formed files
** built here, then truncated, lying, overflowing and unsupported ones, each
** with the message it must give. Does not own: the reader (src/llm/gguf.c).
*/
#include "test.h"
#include "llm/llm_internal.h"
#include "util/util.h"

#include <stdlib.h>
#include <time.h>
#include <unistd.h>

/* A file being built. */
typedef struct gb {
  uint8_t b[8192];
  size_t n;
} gb;

static void put(gb *g, const void *p, size_t n) {
  memcpy(g->b + g->n, p, n);
  g->n += n;
}
static void p32(gb *g, uint32_t v) { put(g, &v, 4); }
static void p64(gb *g, uint64_t v) { put(g, &v, 8); }
static void pstr(gb *g, const char *s) { p64(g, strlen(s)); put(g, s, strlen(s)); }

static void hdr(gb *g, uint32_t version, uint64_t nt, uint64_t nkv) {
  g->n = 0;
  put(g, "GGUF", 4);
  p32(g, version);
  p64(g, nt);
  p64(g, nkv);
}
static void kv_u32(gb *g, const char *k, uint32_t v) { pstr(g, k); p32(g, KL_G_U32); p32(g, v); }
static void kv_str(gb *g, const char *k, const char *v) { pstr(g, k); p32(g, KL_G_STR); pstr(g, v); }
/* A tensor info with ne[0..ndim). */
static void tinfo(gb *g, const char *name, uint32_t ndim, const uint64_t *ne,
                  uint32_t type, uint64_t off) {
  pstr(g, name);
  p32(g, ndim);
  for (uint32_t i = 0; i < ndim; i++) p64(g, ne[i]);
  p32(g, type);
  p64(g, off);
}
static void pad(gb *g, size_t align) {
  while (g->n % align) g->b[g->n++] = 0;
}

static char t_msg[KL_ERR_SIZE];

/* Parses g: the message when it fails, "(parsed)" when it does not. */
static const char *fails(const gb *g) {
  kl_gguf *f = kl_gguf_parse(g->b, g->n, t_msg, sizeof t_msg);
  if (f) { kl_gguf_free(f); return "(parsed)"; }
  return t_msg;
}

/* A well-formed v3 file: metadata of several kinds and two tensors. */
static void good_file(gb *g) {
  hdr(g, 3, 2, 6);
  kv_str(g, "general.architecture", "llama");
  kv_u32(g, "llama.context_length", 128);
  pstr(g, "f"); p32(g, KL_G_F32); float f = 1.5f; put(g, &f, 4);
  pstr(g, "b"); p32(g, KL_G_BOOL); g->b[g->n++] = 1;
  pstr(g, "toks"); p32(g, KL_G_ARR); p32(g, KL_G_STR); p64(g, 3);
  pstr(g, "a"); pstr(g, ""); pstr(g, "\xe2\x96\x81hi");
  pstr(g, "ids"); p32(g, KL_G_ARR); p32(g, KL_G_I32); p64(g, 2); p32(g, 7); p32(g, (uint32_t)-1);
  uint64_t ne1[2] = { 4, 2 }, ne2[1] = { 32 };
  tinfo(g, "w", 2, ne1, KL_T_F32, 0);
  tinfo(g, "q", 1, ne2, KL_T_Q8_0, 32);
  pad(g, 32);
  for (int i = 0; i < 8; i++) { float x = (float)i; put(g, &x, 4); }
  for (int i = 0; i < 34; i++) g->b[g->n++] = (uint8_t)i;
}

static void test_good(void) {
  gb g;
  good_file(&g);
  kl_gguf *f = kl_gguf_parse(g.b, g.n, t_msg, sizeof t_msg);
  if (!f) printf("%s\n", t_msg);
  CHECK(f);
  kl_str s;
  uint32_t u = 0;
  float fl = 0;
  bool b = false;
  CHECK(kl_gguf_str(f, "general.architecture", &s) && s.n == 5 && !memcmp(s.s, "llama", 5));
  CHECK(kl_gguf_u32(f, "llama.context_length", &u) && u == 128);
  CHECK(kl_gguf_f32(f, "llama.context_length", &fl) && fl == 128.0f);
  CHECK(kl_gguf_f32(f, "f", &fl) && fl == 1.5f);
  CHECK(!kl_gguf_u32(f, "f", &u));
  CHECK(kl_gguf_bool(f, "b", &b) && b);
  CHECK(!kl_gguf_str(f, "missing", &s));
  const kl_kv *kv = kl_gguf_kv(f, "toks");
  CHECK(kv && kv->type == KL_G_ARR && kv->elem == KL_G_STR && kv->n == 3);
  const kl_str *ts = kv->arr;
  CHECK(ts[0].n == 1 && ts[1].n == 0 && ts[2].n == 5 && !memcmp(ts[2].s, "\xe2\x96\x81hi", 5));
  kv = kl_gguf_kv(f, "ids");
  CHECK(kv && kv->elem == KL_G_I32 && kv->n == 2);
  int32_t ids[2];
  memcpy(ids, kv->arr, 8);
  CHECK(ids[0] == 7 && ids[1] == -1);
  CHECK_INT(kl_gguf_ntensors(f), 2);
  const kl_tensor *w = kl_gguf_tensor(f, "w"), *q = kl_gguf_tensor(f, "q");
  CHECK(w && q && kl_gguf_tensor_at(f, 1) == q && !kl_gguf_tensor_at(f, 2));
  CHECK(w->ne[0] == 4 && w->ne[1] == 2 && w->ne[2] == 1 && w->nbytes == 32);
  CHECK(q->nbytes == 34 && q->data == w->data + 32);
  CHECK((size_t)(w->data - g.b) % 32 == 0);
  float x;
  memcpy(&x, w->data + 4 * 5, 4);
  CHECK(x == 5.0f);
  CHECK(!kl_gguf_tensor(f, "nope"));
  kl_gguf_free(f);
}

/* general.alignment moves the data section; v2 reads like v3. */
static void test_alignment(void) {
  gb g;
  hdr(&g, 2, 1, 1);
  kv_u32(&g, "general.alignment", 64);
  uint64_t ne[1] = { 2 };
  tinfo(&g, "t", 1, ne, KL_T_F16, 0);
  pad(&g, 64);
  p32(&g, 0x3c003c00);
  kl_gguf *f = kl_gguf_parse(g.b, g.n, t_msg, sizeof t_msg);
  CHECK(f);
  CHECK((kl_gguf_tensor(f, "t")->data - g.b) % 64 == 0);
  kl_gguf_free(f);
  hdr(&g, 3, 0, 1);
  kv_u32(&g, "general.alignment", 48);
  CHECK_CONTAINS(fails(&g), "metadata key 'general.alignment' at offset");
  CHECK_CONTAINS(fails(&g), "48 is not a power of two");
  hdr(&g, 3, 0, 1);
  kv_u32(&g, "general.alignment", 0);
  CHECK_CONTAINS(fails(&g), "0 is not a power of two");
  /* general.alignment 1 is GGUF-legal, but F32 data at an odd address is
  ** refused (read as float) and accepted at a multiple of 4 */
  for (int odd = 1; odd >= 0; odd--) {
    hdr(&g, 3, 1, 1);
    kv_u32(&g, "general.alignment", 1);
    size_t at = g.n + 8 + 1 + 4 + 8 + 4 + 8;   /* where the data section starts */
    uint64_t off = odd ? (at % 2 ? 0 : 1) : (4 - at % 4) % 4;
    tinfo(&g, "t", 1, ne, KL_T_F32, off);
    CHECK_INT(g.n, at);
    for (uint64_t i = 0; i < off + 8; i++) g.b[g.n++] = 0;
    uint8_t *al = malloc(g.n);                  /* malloc: 16-byte aligned */
    memcpy(al, g.b, g.n);
    f = kl_gguf_parse(al, g.n, t_msg, sizeof t_msg);
    if (odd) {
      CHECK(!f);
      CHECK_CONTAINS(t_msg, "is not aligned to the 4 bytes F32 needs (general.alignment 1)");
    } else {
      CHECK(f);
    }
    kl_gguf_free(f);
    free(al);
  }
}

/* Every prefix of a good file fails cleanly with a message. */
static void test_truncated(void) {
  gb g;
  good_file(&g);
  for (size_t n = 0; n < g.n; n++) {
    kl_gguf *f = kl_gguf_parse(g.b, n, t_msg, sizeof t_msg);
    CHECK(!f);
    CHECK(strstr(t_msg, " at offset 0x"));
  }
  gb h = g;
  h.n = 10;
  CHECK_CONTAINS(fails(&h), "GGUF header at offset 0x8: unexpected end");
  h.n = g.n - 1;
  CHECK_CONTAINS(fails(&h), "tensor 'q'");
  CHECK_CONTAINS(fails(&h), "runs past the end of the file");
}

static void test_header(void) {
  gb g;
  hdr(&g, 1, 0, 0);
  CHECK_CONTAINS(fails(&g), "GGUF version 1 is not supported");
  hdr(&g, 4, 0, 0);
  CHECK_CONTAINS(fails(&g), "GGUF version 4 is not supported");
  hdr(&g, __builtin_bswap32(3), 0, 0);
  CHECK_CONTAINS(fails(&g), "big-endian");
  hdr(&g, 3, 0, 0);
  memcpy(g.b, "GGML", 4);
  CHECK_STR(fails(&g), "GGUF header at offset 0x0: not a GGUF file (no \"GGUF\" magic)");
  hdr(&g, 3, 0, 0);
  CHECK_STR(fails(&g), "(parsed)");
}

/* Counts and lengths that claim more than the file holds. */
static void test_lying(void) {
  gb g;
  hdr(&g, 3, 0, 1000000);
  CHECK_CONTAINS(fails(&g), "metadata count 1000000 cannot fit in the 0 bytes left");
  hdr(&g, 3, (uint64_t)1 << 62, 0);
  CHECK_CONTAINS(fails(&g), "tensor count 4611686018427387904 cannot fit");
  hdr(&g, 3, 0, 1);
  p64(&g, 1000); put(&g, "abcdefgh", 8);
  CHECK_CONTAINS(fails(&g), "key length 1000 is past the end of the file (8 bytes left)");
  hdr(&g, 3, 0, 1);
  pstr(&g, "k"); p32(&g, KL_G_STR); p64(&g, UINT64_MAX);
  CHECK_CONTAINS(fails(&g), "metadata key 'k' at offset 0x2d: string length 18446744073709551615 is past the end");
  hdr(&g, 3, 0, 1);
  pstr(&g, "arr"); p32(&g, KL_G_ARR); p32(&g, KL_G_U64); p64(&g, (uint64_t)1 << 61);
  CHECK_CONTAINS(fails(&g), "metadata key 'arr'");
  CHECK_CONTAINS(fails(&g), "array length 2305843009213693952 cannot fit");
  hdr(&g, 3, 0, 1);
  pstr(&g, "arr"); p32(&g, KL_G_ARR); p32(&g, KL_G_STR); p64(&g, 5); pstr(&g, "x");
  CHECK_CONTAINS(fails(&g), "array length 5 cannot fit");
  hdr(&g, 3, 0, 1);
  pstr(&g, "nest"); p32(&g, KL_G_ARR); p32(&g, KL_G_ARR); p64(&g, 0);
  CHECK_CONTAINS(fails(&g), "metadata key 'nest'");
  CHECK_CONTAINS(fails(&g), "an array of arrays");
  hdr(&g, 3, 0, 1);
  pstr(&g, "t"); p32(&g, 13); p32(&g, 0);
  CHECK_CONTAINS(fails(&g), "value type 13 is not a GGUF value type");
  hdr(&g, 3, 0, 2);
  kv_u32(&g, "dup", 1);
  kv_u32(&g, "dup", 2);
  CHECK_CONTAINS(fails(&g), "metadata key 'dup'");
  CHECK_CONTAINS(fails(&g), "duplicate key");
}

/* Tensor infos whose shapes, types or extents are wrong. */
static void test_tensors(void) {
  gb g;
  uint64_t ne[5] = { 32, 1, 1, 1, 1 };
  hdr(&g, 3, 1, 0);
  tinfo(&g, "blk.0.attn_q.weight", 2, ne, 3, 0);
  pad(&g, 32);
  CHECK_CONTAINS(fails(&g), "tensor 'blk.0.attn_q.weight' has type 3 (Q4_1), which krait does not read; supported: F32, F16, Q4_0, Q8_0, Q4_K, Q6_K");
  hdr(&g, 3, 1, 0);
  tinfo(&g, "x", 1, ne, 1000, 0);
  CHECK_CONTAINS(fails(&g), "has type 1000 (unknown)");
  hdr(&g, 3, 1, 0);
  tinfo(&g, "x", 5, ne, KL_T_F32, 0);
  CHECK_CONTAINS(fails(&g), "tensor 'x' at offset 0x25: 5 dimensions (1 to 4)");
  uint64_t zero[2] = { 4, 0 };
  hdr(&g, 3, 1, 0);
  tinfo(&g, "x", 2, zero, KL_T_F32, 0);
  CHECK_CONTAINS(fails(&g), "dimension 1 is 0");
  uint64_t big[4] = { 1ull << 32, 1ull << 32, 4, 1 };
  hdr(&g, 3, 1, 0);
  tinfo(&g, "x", 4, big, KL_T_F32, 0);
  CHECK_CONTAINS(fails(&g), "element count overflows");
  uint64_t big2[2] = { 1ull << 31, 1ull << 31 };
  hdr(&g, 3, 1, 0);
  tinfo(&g, "x", 2, big2, KL_T_F32, 0);
  CHECK_CONTAINS(fails(&g), "byte size overflows");
  uint64_t odd[1] = { 40 };
  hdr(&g, 3, 1, 0);
  tinfo(&g, "x", 1, odd, KL_T_Q4_K, 0);
  CHECK_CONTAINS(fails(&g), "row length 40 is not a multiple of Q4_K's block of 256");
  uint64_t four[1] = { 4 };
  hdr(&g, 3, 1, 0);
  tinfo(&g, "x", 1, four, KL_T_F32, 8);
  pad(&g, 32);
  for (int i = 0; i < 64; i++) g.b[g.n++] = 0;
  CHECK_CONTAINS(fails(&g), "data offset 0x8 is not a multiple of the alignment 32");
  hdr(&g, 3, 1, 0);
  tinfo(&g, "x", 1, four, KL_T_F32, 64);
  pad(&g, 32);
  for (int i = 0; i < 64; i++) g.b[g.n++] = 0;
  CHECK_CONTAINS(fails(&g), "data [0x40, +16) runs past the end of the file (64 data bytes)");
  hdr(&g, 3, 1, 0);
  tinfo(&g, "x", 1, four, KL_T_F32, UINT64_MAX - 31);
  CHECK_CONTAINS(fails(&g), "runs past the end");
  hdr(&g, 3, 2, 0);
  tinfo(&g, "x", 1, four, KL_T_F32, 0);
  tinfo(&g, "x", 1, four, KL_T_F32, 32);
  pad(&g, 32);
  for (int i = 0; i < 64; i++) g.b[g.n++] = 0;
  CHECK_CONTAINS(fails(&g), "tensor 'x'");
  CHECK_CONTAINS(fails(&g), "duplicate tensor name");
  char longname[80];
  memset(longname, 'n', 64);
  longname[64] = 0;
  hdr(&g, 3, 1, 0);
  tinfo(&g, longname, 1, four, KL_T_F32, 0);
  CHECK_CONTAINS(fails(&g), "name is 64 bytes (at most 63)");
}

/* kl_gguf_open maps a file; a missing or empty file is named. */
static void test_open(void) {
  gb g;
  good_file(&g);
  char path[] = "/tmp/krait-gguf-XXXXXX";
  int fd = mkstemp(path);
  CHECK(fd >= 0);
  CHECK(write(fd, g.b, g.n) == (ssize_t)g.n);
  kl_gguf *f = kl_gguf_open(path, t_msg, sizeof t_msg);
  CHECK(f);
  CHECK(kl_gguf_tensor(f, "q")->nbytes == 34);
  kl_gguf_free(f);
  CHECK(ftruncate(fd, 0) == 0);
  close(fd);
  CHECK(!kl_gguf_open(path, t_msg, sizeof t_msg));
  CHECK_CONTAINS(t_msg, path);
  CHECK_CONTAINS(t_msg, "not a GGUF file");
  unlink(path);
  CHECK(!kl_gguf_open("/tmp", t_msg, sizeof t_msg));
  CHECK_CONTAINS(t_msg, "/tmp: not a regular file");
  CHECK(!kl_gguf_open("/nonexistent/m.gguf", t_msg, sizeof t_msg));
  CHECK_CONTAINS(t_msg, "/nonexistent/m.gguf: No such file or directory");
}

/* Running out of memory at each allocation is an error, never a leak. */
static void test_faults(void) {
  gb g;
  good_file(&g);
  for (long n = 0; n < 12; n++) {
    ku_fail_alloc_after(n);
    kl_gguf *f = kl_gguf_parse(g.b, g.n, t_msg, sizeof t_msg);
    ku_fail_alloc_after(-1);
    if (f) { kl_gguf_free(f); continue; }
    CHECK_CONTAINS(t_msg, "out of memory");
  }
}

/* ---- hash flooding ---------------------------------------------------- */

#define COLL_BITS 24              /* FNV-1a's low bits depend on no others */
#define COLL_MASK ((1u << COLL_BITS) - 1)
#define COLL_BLOCK 6
#define COLL_PAIRS 16             /* 2^16 keys, all colliding */

static uint32_t fnv_block(uint32_t h, const char *b) {
  for (int i = 0; i < COLL_BLOCK; i++) h = (uint32_t)(((uint64_t)(h ^ (uint8_t)b[i]) * 0x100000001b3ull) & COLL_MASK);
  return h;
}

/* Block i of the xorshift stream r (6 letters or digits). */
static void coll_block(uint64_t r, char *b) {
  static const char al[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  for (int i = 0; i < COLL_BLOCK; i++) b[i] = al[(r >> (8 * i)) % 62];
}

/* pair[k][0..1]: two blocks taking FNV-1a's low 24 bits from the state
** after blocks 0..k-1 to the same state (a birthday search per pair). */
static void coll_pairs(char pair[COLL_PAIRS][2][COLL_BLOCK]) {
  uint32_t s = (uint32_t)(0xcbf29ce484222325ull & COLL_MASK);
  uint64_t rs = 88172645463325252ull;
  enum { SLOTS = 1 << 16 };
  uint32_t *hs = malloc(SLOTS * sizeof *hs);
  uint64_t *rv = malloc(SLOTS * sizeof *rv);
  for (int k = 0; k < COLL_PAIRS; k++) {
    memset(rv, 0, SLOTS * sizeof *rv);
    for (;;) {
      rs ^= rs << 13; rs ^= rs >> 7; rs ^= rs << 17;
      char b[COLL_BLOCK], o[COLL_BLOCK];
      coll_block(rs, b);
      uint32_t h = fnv_block(s, b), i = h & (SLOTS - 1);
      for (; rv[i] && hs[i] != h; i = (i + 1) & (SLOTS - 1)) {}
      if (!rv[i]) { rv[i] = rs; hs[i] = h; continue; }
      coll_block(rv[i], o);
      if (!memcmp(o, b, COLL_BLOCK)) continue;
      memcpy(pair[k][0], o, COLL_BLOCK);
      memcpy(pair[k][1], b, COLL_BLOCK);
      s = h;
      break;
    }
  }
  free(hs);
  free(rv);
}

/* 65,536 metadata keys whose unkeyed FNV-1a hashes share their low 24
** bits (what a crafted file does to an unkeyed table: every insert probes
** every earlier key, ~10 s) load in milliseconds under the keyed hash
** (bound 500 ms: 10x below the flood, ~20x above the measured time). */
static void test_hash_flood(void) {
  static char pair[COLL_PAIRS][2][COLL_BLOCK];
  coll_pairs(pair);
  size_t nk = (size_t)1 << COLL_PAIRS, klen = COLL_PAIRS * COLL_BLOCK;
  size_t cap = 24 + nk * (8 + klen + 5), n = 0;
  uint8_t *b = malloc(cap);
  uint32_t ver = 3;
  uint64_t nt = 0, nkv = nk, kl = klen;
  memcpy(b, "GGUF", 4); memcpy(b + 4, &ver, 4); memcpy(b + 8, &nt, 8); memcpy(b + 16, &nkv, 8);
  n = 24;
  for (size_t i = 0; i < nk; i++) {
    memcpy(b + n, &kl, 8);
    n += 8;
    for (int k = 0; k < COLL_PAIRS; k++, n += COLL_BLOCK) memcpy(b + n, pair[k][i >> k & 1], COLL_BLOCK);
    uint32_t ty = KL_G_U8;
    memcpy(b + n, &ty, 4);
    b[n + 4] = (uint8_t)i;
    n += 5;
  }
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  kl_gguf *f = kl_gguf_parse(b, n, t_msg, sizeof t_msg);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
  printf("  %zu colliding keys parsed in %.1f ms\n", nk, ms);
  CHECK(f);
  CHECK(ms < 500);
  char key[COLL_PAIRS * COLL_BLOCK + 1] = { 0 };
  for (int k = 0; k < COLL_PAIRS; k++) memcpy(key + k * COLL_BLOCK, pair[k][1], COLL_BLOCK);
  const kl_kv *kv = f ? kl_gguf_kv(f, key) : NULL;
  CHECK(kv && kv->v.u == (uint8_t)(nk - 1));
  kl_gguf_free(f);
  /* one key more than the cap is refused by name */
  nkv = nk + 1;
  memcpy(b + 16, &nkv, 8);
  CHECK(!kl_gguf_parse(b, n, t_msg, sizeof t_msg));
  CHECK_CONTAINS(t_msg, "65537 metadata keys (krait reads at most 65536)");
  nkv = 0; nt = KL_GGUF_MAX_TENSORS + 1;
  memcpy(b + 16, &nkv, 8); memcpy(b + 8, &nt, 8);
  uint8_t *big = calloc(1, 24 + nt * 24 + 64);
  memcpy(big, b, 24);
  CHECK(!kl_gguf_parse(big, 24 + nt * 24 + 64, t_msg, sizeof t_msg));
  CHECK_CONTAINS(t_msg, "1000001 tensors (krait reads at most 1000000)");
  free(big);
  free(b);
}

int main(void) {
  RUN(test_hash_flood);
  RUN(test_good);
  RUN(test_alignment);
  RUN(test_truncated);
  RUN(test_header);
  RUN(test_lying);
  RUN(test_tensors);
  RUN(test_open);
  RUN(test_faults);
  return t_summary();
}
