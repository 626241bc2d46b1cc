/*
** boot.c -- a deployment's apps coming up: the manifest's key-value stores
** opened and SQLite files created, each app's ka_app_config made from the
** manifest, and each app booted (from its sources, its built artifact or a
** deployed one).
** Does not own serving (serve.c) or artifact files (artifact.c).
*/
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <time.h>

#include "deploy/deploy_internal.h"
#include "krait_host.h"
#include "platform/platform.h"
#include "util/util.h"

kk_store **kx_open_stores(const km_manifest *m) {
  kk_store **st = ku_calloc((size_t)m->nstores + 1, sizeof *st);
  if (!st) fprintf(stderr, "Error: out of memory opening the stores\n");
  for (int i = 0; st && i < m->nstores; i++) {
    const km_store *s = &m->stores[i];
    kk_config kc = { s->redis ? KK_REDIS : KK_SQLITE, s->name, s->path, s->url, 0,
                     s->power ? KK_DURABLE_POWER : KK_DURABLE_PROCESS };
    kk_error e;
    if (s->path) {
      char dir[4096];
      snprintf(dir, sizeof dir, "%s", s->path);
      char *slash = strrchr(dir, '/');
      if (slash) { *slash = '\0'; mkdir(dir, 0755); }
    }
    if (!(st[i] = kk_open(&kc, &e))) {
      fprintf(stderr, "Error: %s\n", e.message);
      for (int k = 0; k < i; k++) kk_close(st[k]);
      ku_free(st);
      return NULL;
    }
  }
  for (int i = 0; st && i < m->nsqldbs; i++) {  /* so the bundle's exclusion knows them */
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", m->sqldbs[i].path);
    char *slash = strrchr(dir, '/');
    if (slash) { *slash = '\0'; mkdir(dir, 0755); }
    int fd = open(m->sqldbs[i].path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd >= 0) close(fd);
  }
  return st;
}

/* App a's variables into out->vars: each template, and its value when
** serving (a literal template is its own value; one with references is
** expanded from env->values, else NULL: krait build resolves none).
** false when memory ran out (what was made is freed by
** kx_app_config_release). */
static bool kx_app_vars(const km_manifest *m, const km_app *a, const kx_env *env, kx_app_cfg *out) {
  bool ok = true;
  for (int i = 0; i < a->nvars && i < KM_APP_VARS_MAX; i++) {
    const char *t = a->var_values[i];
    bool dynamic = km_template_dynamic(t);
    out->expanded[i] = dynamic && env->values ? km_template_expand(m, t, env->values) : NULL;
    bool secret = km_template_uses(m, t, -1);
    out->shapes[i] = secret ? km_template_shape(m, t) : NULL;
    if ((dynamic && env->values && !out->expanded[i]) || (secret && !out->shapes[i])) ok = false;
    out->vars[i] = (ka_var){ a->var_names[i], dynamic ? out->expanded[i] : t, t, secret, out->shapes[i] };
  }
  return ok;
}

/* The values of the secret variables app a's templates use, into
** out->secrets (none for krait build); how many (the manifest refuses an
** app using more than KM_APP_VARS_MAX). */
static int kx_app_secrets(const km_manifest *m, const km_app *a, const kx_env *env, kx_app_cfg *out) {
  int n = 0;
  for (int v = 0; env->values && v < m->nvars && n < KM_APP_VARS_MAX; v++) {
    bool used = false;
    for (int i = 0; i < a->nvars && !used; i++) used = km_template_uses(m, a->var_values[i], v);
    if (used && m->vars[v].secret && env->values[v][0]) out->secrets[n++] = env->values[v];
  }
  return n;
}

void kx_app_config_release(kx_app_cfg *c) {
  for (int i = 0; i < c->cfg.nvars; i++) {
    ku_free(c->expanded[i]);
    ku_free(c->shapes[i]);
  }
  ku_free(c->models);
  ku_free(c->remotes);
  ku_free(c->granted);
  ku_free(c->set_home);
  ku_free(c->set_site);
  c->set_home = c->set_site = NULL;
  c->models = NULL;
  c->remotes = NULL;
  c->granted = NULL;
}

/* App a's package set (a->packages) into out: its Python home under
** env->home and its site-packages, its aot/ added as a place of compiled
** objects (the AOT tier runs the set's python.wasm natively as it does the
** base's). 0 (also for an app without packages), or -1 after printing
** the error naming the app, the set, the sets built and how to build it. */
static int kx_app_pkgset(const km_app *a, const kx_env *env, kx_app_cfg *out) {
  char name[KM_PKGSET_MAX], why[256], built[1024];
  if (!a->npackages) return 0;
  if (km_pkgset_join((const char *const *)a->packages, a->npackages, name, sizeof name, why, sizeof why) != 0) {
    fprintf(stderr, "Error: app \"%s\": packages: %s\n", a->name, why);
    return -1;
  }
  if (!(out->set_home = km_pkgset_home(env->home, name)) && errno == ENOMEM) {
    fprintf(stderr, "Error: app \"%s\": out of memory\n", a->name);
    return -1;
  }
  if (out->set_home && !km_pkgset_current(env->home, out->set_home, why, sizeof why)) {
    fprintf(stderr, "Error: app \"%s\" needs the package set '%s' (%s), which is out of date: %s; run "
            "'make python' in krait's source tree to link it again\n", a->name, name, out->set_home, why);
    return -1;
  }
  if (!out->set_home) {
    km_pkgset_built(env->home, built, sizeof built);
    fprintf(stderr, "Error: app \"%s\" needs the package set '%s' (packages = [...]), which is not built "
            "(no %s/sets/%s/python.wasm); built sets: %s. Build it in krait's source tree with "
            "'make python PACKAGES=%s' (recipes: python/packages/)\n", a->name, name, env->home, name,
            built, name);
    return -1;
  }
  char *aot = ku_sprintf("%s/aot", out->set_home);
  out->set_site = ku_sprintf("%s/site-packages", out->set_home);
  if (aot && access(aot, X_OK) == 0) krait_aot_add_dir(aot);
  bool ok = aot && out->set_site;
  ku_free(aot);
  if (ok) return 0;
  fprintf(stderr, "Error: app \"%s\": out of memory\n", a->name);
  return -1;
}

int kx_app_config(const km_manifest *m, const km_app *a, const kx_env *env, kx_app_cfg *out) {
  out->models = NULL;
  out->remotes = NULL;
  out->granted = NULL;
  out->set_home = out->set_site = NULL;
  int set_rc = kx_app_pkgset(a, env, out);   /* checked once cfg is filled (release reads it) */
  int ng = 0;
  for (int s = 0; s < a->nstores && ng < 64; s++)
    for (int k = 0; k < m->nstores; k++)
      if (!strcmp(m->stores[k].name, a->stores[s])) out->grants[ng++] = (ka_store_grant){ a->stores[s], env->stores[k] };
  int nq = 0;
  for (int s = 0; s < a->nsqldbs && nq < 64; s++)
    for (int k = 0; k < m->nsqldbs; k++)
      if (!strcmp(m->sqldbs[k].name, a->sqldbs[s]))
        out->sqlite[nq++] = (ka_sqlite_grant){ m->sqldbs[k].name, m->sqldbs[k].path };
  bool vars_ok = kx_app_vars(m, a, env, out);
  snprintf(out->sdk, sizeof out->sdk, "%s", env->sdk);
  if (env->artifacts) {  /* unpacked as DIR/app beside DIR/sdk */
    snprintf(out->sdk, sizeof out->sdk, "%s", a->dir);
    char *slash = strrchr(out->sdk, '/');
    if (slash) strcpy(slash, "/sdk");
  }
  int nx = 0;
  for (int k = 0; k < m->nstores && nx < 64; k++)
    if (m->stores[k].path) out->exclude[nx++] = m->stores[k].path;
  for (int k = 0; k < m->nsqldbs && nx < 128; k++)  /* with their -wal, -shm siblings */
    out->exclude[nx++] = m->sqldbs[k].path;
  out->exclude[nx++] = "/proc/self/fd/1";   /* where the server's output goes */
  out->exclude[nx++] = "/proc/self/fd/2";
  if (env->access_log) out->exclude[nx++] = env->access_log;
  out->cfg = (ka_app_config){
    .name = a->name, .python_home = out->set_home ? out->set_home : env->home,
    .pkgset_site = out->set_site, .sdk_dir = out->sdk, .app_dir = a->dir,
    .style = a->style, .module = a->module, .wsgi = a->wsgi,
    .site_packages = (const char *const *)a->site_packages, .nsite_packages = a->nsite_packages,
    .stores = out->grants, .nstores = ng, .sqlite = out->sqlite, .nsqlite = nq,
    .outbound = (const char *const *)a->outbound_hosts, .noutbound = a->noutbound_hosts,
    .max_outbound_conns = (uint32_t)a->max_outbound_conns, .max_outbound_bytes = a->max_outbound_mb << 20,
    .vars = out->vars, .nvars = a->nvars < KM_APP_VARS_MAX ? a->nvars : KM_APP_VARS_MAX,
    .secrets = out->secrets, .nsecrets = kx_app_secrets(m, a, env, out),
    .timeout_ns = a->timeout_ms * 1000000u, .fuel = a->fuel,
    .max_memory = a->max_memory_mb << 20, .max_disk = a->max_disk_mb << 20, .debug = a->debug,
    .include = (const char *const *)a->include, .ninclude = a->ninclude,
    .exclude = out->exclude, .nexclude = nx, .rebuild_stale = env->use_built,
    .tier = env->tier,
  };
  if (set_rc != 0 || kx_app_models(m, a, env, out) != 0) return -1;
  if (vars_ok) return 0;
  fprintf(stderr, "Error: app %s: out of memory expanding its [app.variables]\n", a->name);
  return -1;
}

/* The ms since t0 (kp_monotonic_ns). */
static double kx_ms_since(uint64_t t0) { return (double)(kp_monotonic_ns() - t0) / 1e6; }

/* An app that booted because its built artifact was stale: says so and
** writes the artifact again (a failure to write is reported, and the app
** is served all the same). */
static void kx_rebuilt(const km_manifest *m, int i, ka_app *app, const kx_app_cfg *c, const kx_env *env) {
  uint64_t t0 = kp_monotonic_ns();
  fprintf(stderr, "krait: app \"%s\": %s was stale (%s): rebuilt it from the sources\n", m->apps[i].name,
          c->cfg.snapshot, ka_app_stale(app));
  if (kx_build_one(m, i, app, &c->cfg, env->sign) != 0)
    fprintf(stderr, "krait: app \"%s\": serving the rebuilt app without an artifact on disk\n", m->apps[i].name);
  else
    fprintf(stderr, "krait: app \"%s\": wrote %s in %.0f ms\n", m->apps[i].name, c->cfg.snapshot,
            kx_ms_since(t0));
}

ka_app *kx_boot(const km_manifest *m, int i, const kx_env *env) {
  const km_app *a = &m->apps[i];
  kx_app_cfg c;
  if (kx_app_config(m, a, env, &c) != 0) {
    kx_app_config_release(&c);
    return NULL;
  }
  char err[1024] = "", *built = env->artifacts ? ku_strdup(env->artifact_paths[i])
                              : env->use_built ? kx_artifact_path(m, a) : NULL;
  if ((env->artifacts || env->use_built) && !built) {
    fprintf(stderr, "Error: app %s: out of memory\n", a->name);
    kx_app_config_release(&c);
    return NULL;
  }
  struct stat sb;
  bool from_file = built && stat(built, &sb) == 0;
  c.cfg.snapshot = built;
  c.cfg.artifact = env->artifacts;
  c.cfg.verified = env->artifact_ids ? &env->artifact_ids[i] : NULL;
  uint64_t t0 = kp_monotonic_ns();
  ka_app *app = ka_app_boot(&c.cfg, err, sizeof err);
  double ms = kx_ms_since(t0);
  bool stale = app && ka_app_stale(app) != NULL;
  if (!app) fprintf(stderr, "Error: %s\n", err);
  else fprintf(stderr, "krait: app \"%s\" (%s) %s in %.0f ms, snapshot memory %llu KiB, %s\n",
               a->name, a->style, !from_file || stale ? "booted" : env->artifacts ? "loaded from its artifact"
                                                                                : "loaded its built snapshot",
               ms, (unsigned long long)(ka_app_snapshot_bytes(app) >> 10),
               ka_app_native(app) ? "native code" : "interpreted");
  if (stale) kx_rebuilt(m, i, app, &c, env);
  kx_app_config_release(&c);
  ku_free(built);
  return app;
}
