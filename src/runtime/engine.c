/*
** engine.c -- engine configuration, the engine-wide function type registry
** and trap messages.
*/
#include "runtime/runtime.h"
#include "platform/platform.h"
#include <stdio.h>

void krait_config_default(krait_config *cfg) {
  memset(cfg, 0, sizeof *cfg);
  cfg->bounds = kp_is_64bit() ? KRAIT_BOUNDS_GUARD : KRAIT_BOUNDS_EXPLICIT;
  cfg->max_call_depth = 100000;
  cfg->value_stack_bytes = (uint64_t)64 << 20;
}

static void set_err(krait_error *err, krait_errkind kind, const char *msg) {
  if (!err) return;
  memset(err, 0, sizeof *err);
  err->kind = kind;
  ku_fmt(err->message, sizeof err->message, "%s", msg);
}

/* Checks the config, then creates the engine (and the fault handler in
** guard mode). */
krait_engine *krait_engine_new(const krait_config *cfg, krait_error *err) {
  krait_config def;
  if (!cfg) { krait_config_default(&def); cfg = &def; }
  if (cfg->bounds != KRAIT_BOUNDS_GUARD && cfg->bounds != KRAIT_BOUNDS_EXPLICIT) {
    set_err(err, KRAIT_ERR_ARG, "unknown bounds mode (use KRAIT_BOUNDS_GUARD or KRAIT_BOUNDS_EXPLICIT)");
    return NULL;
  }
  if (cfg->bounds == KRAIT_BOUNDS_GUARD && !kp_is_64bit()) {
    set_err(err, KRAIT_ERR_ARG, "guard-page bounds need a 64-bit host");
    return NULL;
  }
  if (cfg->max_call_depth == 0 || cfg->value_stack_bytes < 4096) {
    set_err(err, KRAIT_ERR_ARG, "max_call_depth must be > 0 and value_stack_bytes >= 4096");
    return NULL;
  }
  krait_engine *e = ku_calloc(1, sizeof *e);
  if (!e) { set_err(err, KRAIT_ERR_NOMEM, "out of memory"); return NULL; }
  e->cfg = *cfg;
  pthread_mutex_init(&e->lock, NULL);
  if (cfg->bounds == KRAIT_BOUNDS_GUARD && !kp_fault_install()) {
    ku_free(e);
    set_err(err, KRAIT_ERR_ARG, "cannot install the memory fault handler");
    return NULL;
  }
  if (err) set_err(err, KRAIT_OK, "");
  return e;
}

void krait_engine_free(krait_engine *e) {
  if (!e) return;
  for (uint32_t i = 0; i < e->nsigs; i++) ku_free(e->sigs[i]);
  ku_free(e->sigs);
  pthread_mutex_destroy(&e->lock);
  ku_free(e);
}

/* Finds or adds sig in the registry; ids are indices. Linear search is
** fine: programs have tens to hundreds of distinct signatures. */
uint32_t kr_type_id(krait_engine *e, const char *sig) {
  uint32_t id = UINT32_MAX;
  pthread_mutex_lock(&e->lock);
  for (uint32_t i = 0; i < e->nsigs; i++)
    if (strcmp(e->sigs[i], sig) == 0) { id = i; goto out; }
  if (e->nsigs == e->capsigs) {
    uint32_t cap = e->capsigs ? e->capsigs * 2 : 32;
    char **p = ku_realloc(e->sigs, cap * sizeof *p);
    if (!p) goto out;
    e->sigs = p;
    e->capsigs = cap;
  }
  char *copy = ku_strdup(sig);
  if (!copy) goto out;
  e->sigs[e->nsigs] = copy;
  id = e->nsigs++;
out:
  pthread_mutex_unlock(&e->lock);
  return id;
}

/* The fixed, spec-worded message of each trap kind. */
const char *krait_trap_message(krait_trapkind kind) {
  static const char *const msgs[] = {
    [KRAIT_TRAP_NONE] = "no trap",
    [KRAIT_TRAP_UNREACHABLE] = "unreachable",
    [KRAIT_TRAP_MEMORY_OOB] = "out of bounds memory access",
    [KRAIT_TRAP_TABLE_OOB] = "out of bounds table access",
    [KRAIT_TRAP_UNDEFINED_ELEM] = "undefined element",
    [KRAIT_TRAP_UNINIT_ELEM] = "uninitialized element",
    [KRAIT_TRAP_INDIRECT_TYPE] = "indirect call type mismatch",
    [KRAIT_TRAP_DIV_ZERO] = "integer divide by zero",
    [KRAIT_TRAP_INT_OVERFLOW] = "integer overflow",
    [KRAIT_TRAP_BAD_CONVERSION] = "invalid conversion to integer",
    [KRAIT_TRAP_STACK_EXHAUSTED] = "call stack exhausted",
    [KRAIT_TRAP_DEADLINE] = "deadline exceeded",
    [KRAIT_TRAP_FUEL] = "fuel exhausted",
    [KRAIT_TRAP_NOMEM] = "out of memory",
    [KRAIT_TRAP_HOST] = "host function trapped",
  };
  return (unsigned)kind < KU_COUNT(msgs) ? msgs[kind] : "unknown trap";
}
