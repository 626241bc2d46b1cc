/*
** llmopt.c -- krait python's --llm-model NAME=PATH: the engine started and
** each GGUF file opened, granted to the script under NAME for spin_sdk.llm
** (the llm.* operations). Not the operations (src/app/llm.c).
*/
#include <stdio.h>
#include <string.h>

#include "app/app.h"
#include "cli/cli.h"
#include "llm/llm.h"
#include "manifest/manifest.h"
#include "util/util.h"

/* The models and grants behind kc_llm_grants.llm. */
typedef struct kc_llm_tables {
  ka_llm llm;
  ka_llm_model models[KC_LLM_MODELS_MAX];
  const char *granted[KC_LLM_MODELS_MAX];
} kc_llm_tables;

/* The engine and tables, made with the first model; false when it cannot
** start (the message printed). */
static bool kc_llm_grants_start(kc_llm_grants *l) {
  char err[KL_ERR_SIZE];
  kl_engine_cfg cfg = { KL_THREADS_DEFAULT, 1, KL_QUEUED_DEFAULT, 0 };
  if (l->engine) return true;
  kc_llm_tables *t = ku_calloc(1, sizeof *t);
  if (!t || !(l->engine = kl_engine_new(&cfg, err, sizeof err))) {
    fprintf(stderr, "Error: --llm-model: %s\n", t ? err : "out of memory");
    ku_free(t);
    return false;
  }
  t->llm = (ka_llm){ l->engine, t->models, 0, t->granted, 0 };
  l->llm = &t->llm;
  return true;
}

int kc_llm_model_opt(kc_llm_grants *l, const char *usage, const char *value) {
  const char *eq = strchr(value, '=');
  char err[KL_ERR_SIZE], *name = eq ? ku_strndup(value, (size_t)(eq - value)) : NULL;
  if (!eq || !name || !km_model_name_ok(name) || !eq[1]) {
    ku_free(name);
    return kc_usage_error("python", usage, "--llm-model takes NAME=PATH (a GGUF file), with NAME of 1 "
                          "to 128 letters, digits, '-', '_', '.', '@', '/' or ':', not '%s'", value);
  }
  for (int i = 0; i < l->n; i++)
    if (!strcmp(l->names[i], name)) {
      ku_free(name);
      return kc_usage_error("python", usage, "--llm-model: model '%.*s' is given twice", (int)(eq - value), value);
    }
  if (l->n >= KC_LLM_MODELS_MAX) {
    ku_free(name);
    return kc_usage_error("python", usage, "--llm-model: at most %d models", KC_LLM_MODELS_MAX);
  }
  kc_llm_tables *t;
  kl_model *m = kc_llm_grants_start(l) ? kl_engine_model(l->engine, eq + 1, err, sizeof err) : NULL;
  if (!m) {
    if (l->engine) fprintf(stderr, "Error: --llm-model %s: %s\n", name, err);
    ku_free(name);
    return KC_EXIT_ERROR;
  }
  t = (kc_llm_tables *)l->llm;
  l->names[l->n] = name;
  t->models[l->n] = (ka_llm_model){ name, m, NULL };
  t->granted[l->n] = name;
  l->n++;
  t->llm.nmodels = t->llm.ngranted = l->n;
  return -1;
}

void kc_llm_grants_free(kc_llm_grants *l) {
  for (int i = 0; i < l->n; i++) ku_free(l->names[i]);
  ku_free(l->llm);
  kl_engine_free(l->engine);
  memset(l, 0, sizeof *l);
}
