/*
** types_stub.c -- a stand-in for quant.c's type table (kl_type_block/size/
** name) on the `tok` branch only, so gguf.c links before `kern` merges.
** Delete this file when quant.c (branch kern) is merged: it defines these.
*/
#include "llm/llm_internal.h"

/* One supported tensor type: elements and bytes per block, its name. */
static const struct { uint32_t type, block, size; const char *name; } types[] = {
  { KL_T_F32, 1, 4, "F32" },      { KL_T_F16, 1, 2, "F16" },
  { KL_T_Q4_0, 32, 18, "Q4_0" },  { KL_T_Q8_0, 32, 34, "Q8_0" },
  { KL_T_Q4_K, 256, 144, "Q4_K" }, { KL_T_Q6_K, 256, 210, "Q6_K" },
};

/* The table's row for type, or -1. */
static int find(uint32_t type) {
  for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
    if (types[i].type == type) return (int)i;
  return -1;
}

uint32_t kl_type_block(uint32_t type) {
  int i = find(type);
  return i < 0 ? 0 : types[i].block;
}

uint32_t kl_type_size(uint32_t type) {
  int i = find(type);
  return i < 0 ? 0 : types[i].size;
}

const char *kl_type_name(uint32_t type) {
  int i = find(type);
  return i < 0 ? NULL : types[i].name;
}
