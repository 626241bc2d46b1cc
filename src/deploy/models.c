/*
** models.c -- a deployment's LLM models: the engine started from [llm],
** and each app's [llm.models] resolved (local files opened at boot, servers
** with their API keys). Not the engine (src/llm) nor the binding (src/app).
*/
#include <stdio.h>
#include <string.h>

#include "deploy/deploy_internal.h"
#include "llm/llm.h"
#include "util/util.h"

/* Whether some app of m is granted a local model. */
static bool kx_any_local(const km_manifest *m) {
  for (int a = 0; a < m->napps; a++)
    for (int i = 0; i < m->apps[a].nai_models; i++) {
      const km_model *d = km_model_find(m, m->apps[a].ai_models[i]);
      if (d && d->path) return true;
    }
  return false;
}

struct kl_engine *kx_llm_engine(const km_manifest *m, bool *failed) {
  *failed = false;
  return kx_any_local(m) ? kx_llm_engine_new(m, failed) : NULL;
}

struct kl_engine *kx_llm_engine_new(const km_manifest *m, bool *failed) {
  *failed = false;
  kl_engine_cfg cfg = { (int)m->llm.threads, (int)m->llm.max_concurrent, (int)m->llm.max_queued,
                        (uint32_t)m->llm.context };
  char err[KL_ERR_SIZE];
  kl_engine *e = kl_engine_new(&cfg, err, sizeof err);
  if (!e) {
    fprintf(stderr, "Error: [llm]: %s\n", err);
    *failed = true;
  }
  return e;
}

/* Whether app a is granted the model named name. */
static bool kx_granted(const km_app *a, const char *name) {
  for (int i = 0; i < a->nai_models; i++)
    if (!strcmp(a->ai_models[i], name)) return true;
  return false;
}

/* Model d, granted to app a, into out (opened when local); 0 or -1 after
** printing the error. */
static int kx_model_open(const km_manifest *m, const km_app *a, const km_model *d, const kx_env *env,
                         ka_llm_model *out, kl_remote *remote) {
  char err[KL_ERR_SIZE];
  if (d->url) {
    int v = d->api_key_variable ? km_var_find(m, d->api_key_variable, strlen(d->api_key_variable)) : -1;
    *remote = (kl_remote){ .url = d->url, .model = d->model,
                           .api_key = v >= 0 && env->values && env->values[v][0] ? env->values[v] : NULL,
                           .max_concurrent = (int)m->llm.max_concurrent, .max_queued = (int)m->llm.max_queued };
    out->remote = remote;
    return 0;
  }
  if (!env->llm && !env->values) return 0;   /* krait build: nothing runs */
  if (!env->llm) {
    fprintf(stderr, "Error: app %s: model \"%s\" is a local file, and this server started without a "
            "local model: restart krait serve to start the engine\n", a->name, d->name);
    return -1;
  }
  if ((out->local = kl_engine_model(env->llm, d->path, err, sizeof err))) return 0;
  fprintf(stderr, "Error: app %s: model \"%s\" ([llm.models] in %s): %s\n", a->name, d->name, m->path, err);
  return -1;
}

int kx_app_models(const km_manifest *m, const km_app *a, const kx_env *env, kx_app_cfg *out) {
  out->models = ku_calloc((size_t)m->nmodels + 1, sizeof *out->models);
  out->remotes = ku_calloc((size_t)m->nmodels + 1, sizeof *out->remotes);
  out->granted = ku_calloc((size_t)a->nai_models + 1, sizeof *out->granted);
  if (!out->models || !out->remotes || !out->granted) {
    fprintf(stderr, "Error: app %s: out of memory\n", a->name);
    return -1;
  }
  for (int i = 0; i < m->nmodels; i++) {
    const km_model *d = &m->models[i];
    out->models[i].name = d->name;
    if (kx_granted(a, d->name) && kx_model_open(m, a, d, env, &out->models[i], &out->remotes[i]) != 0) return -1;
  }
  for (int i = 0; i < a->nai_models; i++) out->granted[i] = a->ai_models[i];
  out->cfg.llm = (ka_llm){ env->llm, out->models, m->nmodels, out->granted, a->nai_models };
  return 0;
}
