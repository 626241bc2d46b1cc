/*
** simd.h -- the GGML block layouts the tensor kernels read, and the table of
** CPU-specific dot-product kernels (simd_x86.c) chosen once by CPU detection.
** Not the portable reference kernels or the matrix loops (src/llm/quant*.c).
*/
#ifndef KP_SIMD_H
#define KP_SIMD_H

#include <stddef.h>
#include <stdint.h>

/* Elements per block: 32 for Q4_0/Q8_0, 256 (QK_K) for the k-quants. */
#define KP_QK32 32
#define KP_QK_K 256

/* The blocks exactly as ggml-common.h lays them out (little-endian; d and
** dmin are IEEE binary16 bits). */
typedef struct kp_bq4_0 {       /* 18 bytes: x = d * (nibble - 8) */
  uint16_t d;
  uint8_t qs[KP_QK32 / 2];      /* element j low nibble, j + 16 high */
} kp_bq4_0;

typedef struct kp_bq8_0 {       /* 34 bytes: x = d * q */
  uint16_t d;
  int8_t qs[KP_QK32];
} kp_bq8_0;

typedef struct kp_bq4_K {       /* 144 bytes: 8 sub-blocks of 32 */
  uint16_t d;                   /* scale of the 6-bit scales */
  uint16_t dmin;                /* scale of the 6-bit mins */
  uint8_t scales[12];           /* 8 scales + 8 mins, 6 bits each */
  uint8_t qs[KP_QK_K / 2];
} kp_bq4_K;

typedef struct kp_bq6_K {       /* 210 bytes: 16 sub-blocks of 16 */
  uint8_t ql[KP_QK_K / 2];      /* low 4 bits */
  uint8_t qh[KP_QK_K / 4];      /* high 2 bits */
  int8_t scales[KP_QK_K / 16];
  uint16_t d;
} kp_bq6_K;

typedef struct kp_bq8_K {       /* 292 bytes: activations only */
  float d;
  int8_t qs[KP_QK_K];
  int16_t bsums[KP_QK_K / 16];  /* sums of qs in groups of 16 */
} kp_bq8_K;

/* A set of kernels. nb counts blocks; w points at a row's blocks, xq at
** the activation quantized to the matching kind (Q8_0 blocks for Q4_0 and
** Q8_0 rows, Q8_K for Q4_K and Q6_K). The dots return the row's dot product
** (float, accumulated in whatever order the kernel likes); the quantizers
** write nb blocks from nb * block floats, rounding half to even as ggml's
** x86 build does. F16 rows are dotted against f32 x (no quantization). */
/* y[r] = the dot of row r with x for r < nr (rows rb bytes apart, n
** elements each): the row loop inside the kernel set, one call per chunk. */
typedef void kp_rows_fn(const void *w, size_t rb, size_t nr, const void *x,
                        size_t n, float *y);

typedef struct kp_kern {
  const char *name;
  float (*dot_f32)(const float *w, const float *x, size_t n);
  float (*dot_f16)(const uint16_t *w, const float *x, size_t n);
  float (*dot_q4_0)(const void *w, const void *xq, size_t nb);
  float (*dot_q8_0)(const void *w, const void *xq, size_t nb);
  float (*dot_q4_K)(const void *w, const void *xq, size_t nb);
  float (*dot_q6_K)(const void *w, const void *xq, size_t nb);
  void (*quant_q8_0)(const float *x, void *out, size_t nb);
  void (*quant_q8_K)(const float *x, void *out, size_t nb);
  kp_rows_fn *rows_f32, *rows_f16, *rows_q4_0, *rows_q8_0, *rows_q4_K,
      *rows_q6_K;
} kp_kern;

/* Kernel levels, fastest last. */
enum { KP_KERN_AVX2 = 1, KP_KERN_AVX512 = 2 };

/* The kernels of one level when this CPU (and build) has them, else NULL. */
const kp_kern *kp_kern_level(int level);
/* The fastest level this CPU has (probed once), or NULL: use the
** portable reference kernels. KRAIT_SIMD=off in the environment forces
** NULL, KRAIT_SIMD=avx2 caps the level (for comparisons). */
const kp_kern *kp_kern_best(void);

/* A pause for spin-wait loops. */
void kp_cpu_relax(void);

#endif
