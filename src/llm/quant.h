/*
** quant.h -- what the tensor-kernel files of src/llm share: half-precision
** conversion, the portable reference kernels and the kernel set in use.
** Not the block layouts or the SIMD kernels (src/platform/simd.h).
*/
#ifndef KL_QUANT_H
#define KL_QUANT_H

#include "llm/llm_internal.h"
#include "platform/simd.h"

/* IEEE binary16 bits to float (exact) and back (round to nearest even,
** as F16C's vcvtps2ph with mode 0). */
float kl_f16_to_f32(uint16_t h);
uint16_t kl_f32_to_f16(float f);

/* The portable C kernels: the reference every SIMD set is tested against,
** and the fallback on CPUs without one. */
extern const kp_kern kl_kern_ref;

/* The kernel set kl_matvec/kl_matmul use: kp_kern_best() or the reference,
** chosen on first use. kl_kern_use replaces it (tests, benchmarks); NULL
** returns to the automatic choice. */
const kp_kern *kl_kern(void);
void kl_kern_use(const kp_kern *k);

/* Bytes of one row of t (ne[0] elements). */
uint64_t kl_row_bytes(const kl_tensor *t);

#endif
