/*
** deploy.h -- a manifest's apps deployed (prefix kx_): their stores opened,
** each booted (from its sources, its built artifact or a deployed one),
** artifacts written and unpacked, and the apps served over src/serve.
** Does not own the command line (src/cli), HTTP (src/serve) or Python (src/app).
*/
#ifndef KX_DEPLOY_H
#define KX_DEPLOY_H

#include <stdbool.h>

#include "app/app.h"
#include "manifest/manifest.h"
#include "serve/serve.h"

/* ---- booting (boot.c) --------------------------------------------------- */

/* What every app of a serve or build run shares. */
typedef struct kx_env {
  kk_store **stores;           /* opened, in the manifest's order */
  const char *home, *sdk;      /* python home; python/sdk */
  bool artifacts;              /* the apps come from artifacts */
  char **artifact_paths;       /* then: one per app, in order */
  bool use_built;              /* serve: start from .krait/APP.krait */
  const ka_file_id *artifact_ids; /* then: each as its signature was checked
                                  (NULL: no --trust) */
  const ka_key *sign;          /* build --sign: the private key */
  krait_tier tier;             /* how python.wasm runs (ka_app_config) */
  const char *access_log;      /* serve: the access log file, if any (not
                                  bundled, as the stores and the server's
                                  stdout and stderr are not) */
  char **values;               /* serve: the value of each of the
                                  manifest's [variables] (km_vars_resolve);
                                  NULL for krait build, which bakes none in */
  struct kl_engine *llm;       /* serve: the engine local models run on
                                  (kx_llm_engine; NULL: no local model, or
                                  krait build, which opens none) */
} kx_env;

/* An app's config with the storage its arrays point into. */
typedef struct kx_app_cfg {
  ka_app_config cfg;
  ka_store_grant grants[64];
  ka_sqlite_grant sqlite[64];  /* the app's SQLite databases */
  ka_var vars[KM_APP_VARS_MAX];
  char *expanded[KM_APP_VARS_MAX]; /* vars[i].value, when its template
                                  was expanded (kx_app_config_release
                                  frees) */
  char *shapes[KM_APP_VARS_MAX];   /* vars[i].shape (km_template_shape) */
  const char *secrets[KM_APP_VARS_MAX]; /* env->values of the secret
                                  variables the app's templates use */
  const char *exclude[136];
  char sdk[4200];
  ka_llm_model *models;        /* cfg.llm's tables (models.c; freed by */
  struct kl_remote *remotes;   /* kx_app_config_release) */
  const char **granted;
  char *set_home;              /* the app's package set's Python home
                                  (cfg.python_home), or NULL: none */
  char *set_site;              /* its site-packages (cfg.pkgset_site) */
} kx_app_cfg;

/* Opens the manifest's stores (their parent directories are created)
** and creates its SQLite databases' files when missing;
** calloc'ed, or NULL after printing the error. */
kk_store **kx_open_stores(const km_manifest *m);

/* Fills out for app a of m (an artifact's app uses the SDK unpacked
** beside it; an app with packages the set's Python home under env->home,
** its aot/ added as a place of compiled objects). 0, or -1 after printing
** the error: its package set not built (naming the set, the sets built
** and the command that builds it), or "out of memory" when a variable's
** template could not be expanded (kx_app_config_release still frees
** out). */
int kx_app_config(const km_manifest *m, const km_app *a, const kx_env *env, kx_app_cfg *out);

/* models.c: the engine for m's [llm] settings when m declares a local
** model (NULL, and no error, when it declares none); *failed and the
** error printed when it cannot start. */
struct kl_engine *kx_llm_engine(const km_manifest *m, bool *failed);
/* The engine [llm] describes, whatever models the manifest has (NULL with
** *failed set and the reason on stderr when it cannot start). */
struct kl_engine *kx_llm_engine_new(const km_manifest *m, bool *failed);

/* llmapi.c: krait serve --llm-api, the admin listener's /v1 API. The
** engine for it when m declares a local model (any app's or none's; NULL,
** and no error, when it declares none); *failed and the error printed
** when it cannot start. */
struct kl_engine *kx_llm_api_engine(const km_manifest *m, bool *failed);
/* The API over every local model of m, opened on e, requiring the value
** of the [variables] entry token (NULL: no token); NULL after printing
** the error (no local model, a file that cannot be opened, the variable
** missing or empty). */
typedef struct kx_llm_api kx_llm_api;
kx_llm_api *kx_llm_api_new(const km_manifest *m, struct kl_engine *e, char **values, const char *token);
/* Its handler's data (the route kx_server_new adds), or NULL. */
const struct ks_oai *kx_llm_api_of(const kx_llm_api *a);
void kx_llm_api_free(kx_llm_api *a);

/* models.c: app a's models into out->cfg.llm: every [llm.models] entry
** (those a is granted opened: a local file through env->llm, at once; a
** server with its API key from env->values). 0, or -1 after printing the
** error (a model file that cannot be opened, naming it). */
int kx_app_models(const km_manifest *m, const km_app *a, const kx_env *env, kx_app_cfg *out);

/* Frees what kx_app_config allocated in c (its expanded templates). */
void kx_app_config_release(kx_app_cfg *c);

/* Boots app i of m: from its artifact when serving artifacts, from its
** built artifact (.krait/APP.krait) when env->use_built and there is one,
** else from python.wasm; prints how and how long. A built artifact that is
** stale (the files it bundles or the app's settings changed) is rebuilt:
** the app boots from python.wasm and the artifact is written again. NULL
** after printing the error. */
ka_app *kx_boot(const km_manifest *m, int i, const kx_env *env);

/* ---- artifacts (artifact.c) --------------------------------------------- */

/* .krait/NAME.krait beside the manifest (malloc'ed). */
char *kx_artifact_path(const km_manifest *m, const km_app *a);

/* Whether path is a file that starts like an artifact (a snapshot). */
bool kx_is_artifact(const char *path);

/* Reads the artifacts at paths (with ntrust keys, each must be signed by
** one of them; ids[i] receives the file as read), unpacks them (into the
** cache, once per content) and merges their manifests, read confined:
** store paths relative to the current directory, no absolute path or
** "..", and every dir a directory of the bundle. NULL with err naming the
** artifact and the problem. */
km_manifest *kx_artifacts_load(char **paths, int n, ka_key *const *trust, int ntrust, ka_file_id *ids,
                               char *err, size_t errlen);

/* `krait build`: writes each booted app's artifact, saying what it
** holds. 0, or -1 after printing the error. */
int kx_build_save(const km_manifest *m, ka_app **apps, const kx_env *env);

/* ---- serving (serve.c) -------------------------------------------------- */

/* What `krait serve` reads again on SIGHUP: what it was started with. */
typedef struct kx_reload_src {
  bool artifacts;              /* the artifacts at paths, else manifest */
  char **paths;                /* artifacts: as given */
  int npaths;
  const char *manifest;        /* else: the krait.toml path */
  ka_key *const *trust;        /* --trust keys: each artifact checked again */
  int ntrust;
  const char *variables;       /* --variables-file (re-read), or NULL */
  const kx_env *env;           /* the first boot's: python home, SDK, tier,
                                  access log (stores and values are the
                                  reload's own) */
} kx_reload_src;

/* How to serve: the server's config as the command line set it (host,
** port, admin, workers, limits, access log, signals; its routes and
** metrics are kx_server_new's), and the browser build. */
typedef struct kx_serve_opts {
  ks_config server;
  const char *listen;          /* the address as given, for messages */
  char *web_root;              /* --playground: the browser build (a
                                  realpath) at /web/; NULL: none */
  const kx_env *watch;         /* --watch: the apps' folders are watched
                                  (inotify) and an app is rebuilt from its
                                  sources with this env after a change to
                                  a file its bundle would hold, then swapped
                                  in (requests running finish on the old
                                  build; a failed rebuild keeps it). NULL:
                                  no watching */
  const kx_reload_src *reload; /* SIGHUP reads this again, boots every app
                                  and swaps the new version in (requests
                                  running finish on the old one; a failed
                                  reload keeps it, saying why). NULL: SIGHUP
                                  is not taken */
  const struct ks_oai *llm_api; /* --llm-api: served at /v1 on the admin
                                  listener (kx_llm_api_of); NULL: none */
  bool take_apps;              /* kx_server_new takes the apps (setting the
                                  caller's entries to NULL): each is freed
                                  once a reload or rebuild replaced it and
                                  its last request ended, or by
                                  kx_server_free. false: borrowed */
} kx_serve_opts;

typedef struct kx_server kx_server;

/* The server of the booted apps of m (apps[i] is m->apps[i], borrowed
** until kx_server_free, or taken with o->take_apps): their routes and metrics, the browser build's
** routes, the listeners bound. NULL with err naming what failed (the
** address, out of memory). */
kx_server *kx_server_new(const kx_serve_opts *o, const km_manifest *m, ka_app **apps, char *err,
                         size_t errlen);

/* Says where it listens, serves (and watches, with o->watch) until the
** server is stopped (SIGTERM, SIGINT with handle_signals), reloading on
** SIGHUP with o->reload, says so. 0, or
** -1 after an error. */
int kx_server_run(kx_server *s);

void kx_server_free(kx_server *s);

#endif
