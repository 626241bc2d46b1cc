/*
** llmapi.c -- krait serve --llm-api: the manifest's local models ([llm.models]
** with a path) opened on the engine for the admin listener's /v1 API, and
** its bearer token from a [variables] entry. Not the API (src/serve/openai.c).
*/
#include <stdio.h>
#include <string.h>

#include "deploy/deploy.h"
#include "llm/llm.h"
#include "serve/openai.h"
#include "util/util.h"

/* The API and the storage its table points into. */
struct kx_llm_api {
  ks_oai api;
  ks_oai_model *models;
};

/* Whether m declares a local model. */
static bool kx_has_local(const km_manifest *m) {
  for (int i = 0; i < m->nmodels; i++)
    if (m->models[i].path) return true;
  return false;
}

struct kl_engine *kx_llm_api_engine(const km_manifest *m, bool *failed) {
  *failed = false;
  return kx_has_local(m) ? kx_llm_engine_new(m, failed) : NULL;
}

/* The value of the token variable name (env's values), or NULL after
** printing why there is none. */
static const char *kx_token(const km_manifest *m, char **values, const char *name) {
  int v = km_var_find(m, name, strlen(name));
  if (v < 0) {
    fprintf(stderr, "Error: --llm-api-token %s: the manifest has no such variable (declare it in "
            "[variables], e.g. %s = { required = true, secret = true })\n", name, name);
    return NULL;
  }
  if (!values || !values[v] || !values[v][0]) {
    fprintf(stderr, "Error: --llm-api-token %s: the variable has no value (set KRAIT_VARIABLE_%s or "
            "--variables-file)\n", name, name);
    return NULL;
  }
  return values[v];
}

kx_llm_api *kx_llm_api_new(const km_manifest *m, struct kl_engine *e, char **values, const char *token) {
  if (!e || !kx_has_local(m)) {
    fprintf(stderr, "Error: --llm-api: the manifest has no local model ([llm.models.NAME] with a path)\n");
    return NULL;
  }
  kx_llm_api *a = ku_calloc(1, sizeof *a);
  char err[KL_ERR_SIZE];
  if (!a || !(a->models = ku_calloc((size_t)m->nmodels + 1, sizeof *a->models))) {
    fprintf(stderr, "Error: --llm-api: out of memory\n");
    kx_llm_api_free(a);
    return NULL;
  }
  a->api = (ks_oai){ e, a->models, 0, NULL, m->llm.api_timeout_ms };
  if (token && !(a->api.token = kx_token(m, values, token))) { kx_llm_api_free(a); return NULL; }
  for (int i = 0; i < m->nmodels; i++) {
    const km_model *d = &m->models[i];
    if (!d->path) continue;
    kl_model *km = kl_engine_model(e, d->path, err, sizeof err);
    if (!km) {
      fprintf(stderr, "Error: --llm-api: model \"%s\" ([llm.models] in %s): %s\n", d->name, m->path, err);
      kx_llm_api_free(a);
      return NULL;
    }
    a->models[a->api.nmodels++] = (ks_oai_model){ d->name, km };
  }
  return a;
}

const struct ks_oai *kx_llm_api_of(const kx_llm_api *a) { return a ? &a->api : NULL; }

void kx_llm_api_free(kx_llm_api *a) {
  if (!a) return;
  ku_free(a->models);
  ku_free(a);
}
