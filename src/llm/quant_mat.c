/*
** quant_mat.c -- kl_matvec and kl_matmul: the activation quantized once,
** rows split in chunks across the pool, each chunk of weights reused for
** every vector. Not the per-row kernels (quant_ref.c, src/platform/simd*).
*/
#include "llm/quant.h"
#include "util/util.h"

#include <stdatomic.h>

/* Columns of one vector quantized per pass on the stack (a multiple of
** KP_QK_K): a matvec never allocates; wider rows take several passes. */
#define XQ_COLS 8192
#define XQ_BYTES (XQ_COLS / KP_QK_K * sizeof(kp_bq8_K))
/* The weights one chunk of a matmul keeps hot while every vector passes. */
#define CHUNK_BYTES (128 * 1024)

static _Atomic(const kp_kern *) kern_in_use;

const kp_kern *kl_kern(void) {
  const kp_kern *k = atomic_load_explicit(&kern_in_use, memory_order_acquire);
  if (!k) {
    k = kp_kern_best();
    if (!k) k = &kl_kern_ref;
    atomic_store_explicit(&kern_in_use, k, memory_order_release);
  }
  return k;
}

void kl_kern_use(const kp_kern *k) {
  atomic_store_explicit(&kern_in_use, k, memory_order_release);
}

/* How the activation of a weight type is quantized: elements and bytes per
** block (1 and 4 for the float types: x is used as it is). */
typedef struct act_kind {
  uint32_t block, size;
  void (*quant)(const float *x, void *out, size_t nb);
} act_kind;

static act_kind act_of(const kp_kern *k, uint32_t type) {
  act_kind a = { 1, sizeof(float), NULL };
  if (type == KL_T_Q4_0 || type == KL_T_Q8_0)
    a = (act_kind){ KP_QK32, sizeof(kp_bq8_0), k->quant_q8_0 };
  else if (type == KL_T_Q4_K || type == KL_T_Q6_K)
    a = (act_kind){ KP_QK_K, sizeof(kp_bq8_K), k->quant_q8_K };
  return a;
}

/* One job: rows [0, rows) of w (from column block cb0, ncols columns)
** against nx activation vectors. */
typedef struct mv_job {
  const kp_kern *k;
  uint32_t type;
  const uint8_t *w;         /* row 0's first block of the column range */
  uint64_t rb;              /* bytes between rows */
  uint64_t rows, ncols;
  const uint8_t *x;         /* vector 0 (quantized or f32) */
  uint64_t xs;              /* bytes between vectors */
  float *y;
  uint64_t ys;              /* floats between output vectors */
  uint32_t nx;
  bool acc;                 /* add to y instead of storing */
  uint64_t chunk;
  _Atomic uint64_t next;    /* the next unclaimed row */
} mv_job;

/* The row loop of the job's weight type. */
static kp_rows_fn *rows_fn(const kp_kern *k, uint32_t type) {
  switch (type) {
  case KL_T_F32: return k->rows_f32;
  case KL_T_F16: return k->rows_f16;
  case KL_T_Q4_0: return k->rows_q4_0;
  case KL_T_Q8_0: return k->rows_q8_0;
  case KL_T_Q4_K: return k->rows_q4_K;
  default: return k->rows_q6_K;
  }
}

/* Rows [r0, r1) for vector v: stored, or (a later pass over columns)
** added, through a small buffer. */
static void mv_rows(const mv_job *j, kp_rows_fn *fn, uint64_t r0, uint64_t r1,
                    uint32_t v) {
  const uint8_t *x = j->x + v * j->xs;
  float *y = j->y + v * j->ys;
  if (!j->acc) {
    fn(j->w + r0 * j->rb, j->rb, r1 - r0, x, j->ncols, y + r0);
    return;
  }
  float part[64];
  for (uint64_t r = r0; r < r1; r += 64) {
    uint64_t nr = r1 - r < 64 ? r1 - r : 64;
    fn(j->w + r * j->rb, j->rb, nr, x, j->ncols, part);
    for (uint64_t i = 0; i < nr; i++) y[r + i] += part[i];
  }
}

/* A pool task: claims chunks of rows until none are left; within a chunk
** every vector passes over the same (cached) rows. */
static void mv_task(void *arg, int i, int n) {
  mv_job *j = arg;
  kp_rows_fn *fn = rows_fn(j->k, j->type);
  for (;;) {
    uint64_t r0 = atomic_fetch_add_explicit(&j->next, j->chunk, memory_order_relaxed);
    if (r0 >= j->rows) return;
    uint64_t r1 = r0 + j->chunk < j->rows ? r0 + j->chunk : j->rows;
    for (uint32_t v = 0; v < j->nx; v++) mv_rows(j, fn, r0, r1, v);
  }
}

/* Rows per claim: enough chunks to balance the threads (a slow or
** descheduled one leaves its share to the others), few enough rows that a
** chunk's weights stay in cache while nx vectors pass. */
static uint64_t chunk_rows(uint64_t rows, uint64_t rb, uint32_t nx, int nth) {
  uint64_t c = rows / ((uint64_t)nth * 8);
  if (nx > 1 && rb && c * rb > CHUNK_BYTES) c = CHUNK_BYTES / rb;
  return c ? c : 1;
}

/* Runs job j on the pool (or here when there is none). */
static void mv_run(kl_pool *p, mv_job *j) {
  int nth = p ? kl_pool_size(p) : 1;
  j->chunk = chunk_rows(j->rows, j->rb, j->nx, nth);
  atomic_store_explicit(&j->next, 0, memory_order_relaxed);
  if (p && nth > 1 && j->rows > 1) kl_pool_run(p, mv_task, j);
  else mv_task(j, 0, 1);
}

/* A job over all rows of w for nx vectors at x (stride xs bytes). */
static void job_init(mv_job *j, const kp_kern *k, const kl_tensor *w,
                     const void *x, uint64_t xs, float *y, uint32_t nx) {
  j->k = k;
  j->type = w->type;
  j->w = w->data;
  j->rb = kl_row_bytes(w);
  j->rows = w->ne[1];
  j->ncols = w->ne[0];
  j->x = x;
  j->xs = xs;
  j->y = y;
  j->ys = w->ne[1];
  j->nx = nx;
  j->acc = false;
}

/* One vector, quantized XQ_COLS columns at a time into a stack buffer;
** each pass after the first adds to y. */
static void matvec_quant(kl_pool *p, const kp_kern *k, const kl_tensor *w,
                         const float *x, float *y, act_kind a) {
  _Alignas(64) uint8_t xq[XQ_BYTES];
  uint64_t n = w->ne[0], wblock = kl_type_block(w->type);
  uint64_t wsize = kl_type_size(w->type);
  for (uint64_t c = 0; c < n; c += XQ_COLS) {
    uint64_t cols = n - c < XQ_COLS ? n - c : XQ_COLS;
    mv_job j;
    a.quant(x + c, xq, cols / a.block);
    job_init(&j, k, w, xq, 0, y, 1);
    j.w = w->data + c / wblock * wsize;
    j.ncols = cols;
    j.acc = c > 0;
    mv_run(p, &j);
  }
}

void kl_matvec(kl_pool *p, const kl_tensor *w, const float *x, float *y) {
  const kp_kern *k = kl_kern();
  act_kind a = act_of(k, w->type);
  if (a.quant) {
    matvec_quant(p, k, w, x, y, a);
  } else {
    mv_job j;
    job_init(&j, k, w, x, 0, y, 1);
    mv_run(p, &j);
  }
}

/* All nx vectors quantized into one buffer, then one job: each chunk of
** rows is read once for all of them. Without memory for the buffer, one
** matvec per vector (slower, same result). */
void kl_matmul(kl_pool *p, const kl_tensor *w, const float *x, uint32_t nx,
               float *y) {
  const kp_kern *k = kl_kern();
  act_kind a = act_of(k, w->type);
  uint64_t n = w->ne[0];
  mv_job j;
  if (!a.quant) {
    job_init(&j, k, w, x, n * sizeof(float), y, nx);
    mv_run(p, &j);
    return;
  }
  uint64_t qb = n / a.block * a.size;
  uint8_t *xq = nx > 1 ? ku_malloc(qb * nx) : NULL;
  if (!xq) {
    for (uint32_t v = 0; v < nx; v++)
      matvec_quant(p, k, w, x + (uint64_t)v * n, y + (uint64_t)v * w->ne[1], a);
    return;
  }
  for (uint32_t v = 0; v < nx; v++)
    a.quant(x + (uint64_t)v * n, xq + v * qb, n / a.block);
  job_init(&j, k, w, xq, qb, y, nx);
  mv_run(p, &j);
  ku_free(xq);
}
