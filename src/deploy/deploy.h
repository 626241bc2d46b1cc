/*
** serve_internal.h -- what serve.c and build.c share: how an app of a
** manifest becomes a ka_app_config, and app artifacts (.krait files).
*/
#ifndef KC_SERVE_INTERNAL_H
#define KC_SERVE_INTERNAL_H

#include <stdbool.h>

#include "app/app.h"
#include "manifest/manifest.h"
#include "serve/serve.h"

/* What every app of a serve or build run shares. */
typedef struct kc_boot_env {
  kk_store **stores;           /* opened, in the manifest's order */
  const char *home, *sdk;      /* python home; python/sdk */
  bool artifacts;              /* the apps come from artifacts */
  char **artifact_paths;       /* then: one per app, in order */
  bool use_built;              /* serve: start from .krait/APP.krait */
  const ka_file_id *artifact_ids; /* then: each as its signature was checked
                                  (NULL: no --trust) */
  const ka_key *sign;          /* build --sign: the private key */
} kc_boot_env;

/* An app's config with the storage its arrays point into. */
typedef struct kc_app_cfg {
  ka_app_config cfg;
  ka_store_grant grants[64];
  ka_var vars[64];
  char sdk[4200];
} kc_app_cfg;

/* Fills out for app a of m (an artifact's app uses the SDK unpacked
** beside it). */
void kc_app_config(const km_manifest *m, const km_app *a, const kc_boot_env *env, kc_app_cfg *out);

/* .krait/NAME.krait beside the manifest (malloc'ed). */
char *kc_artifact_path(const km_manifest *m, const km_app *a);

/* Whether path is a file that starts like an artifact (a snapshot). */
bool kc_is_artifact(const char *path);

/* Reads the artifacts at paths (with ntrust keys, each must be signed by
** one of them; ids[i] receives the file as read), unpacks them (into the
** cache, once per content) and merges their manifests, read confined:
** store paths relative to the current directory, no absolute path or
** "..", and every dir a directory of the bundle. NULL with err naming the
** artifact and the problem. */
km_manifest *kc_artifacts_load(char **paths, int n, ka_key *const *trust, int ntrust, ka_file_id *ids,
                               char *err, size_t errlen);

/* `krait serve --playground`: files under root (a realpath) served at
** prefix ("/web") with COOP/COEP headers (static.c). */
typedef struct kc_static {
  char *root;
  const char *prefix;
} kc_static;

ks_outcome kc_static_handle(const ks_request *rq, ks_response *res, void *data);

/* Appends web's routes to the n in routes (room for 2 more): /web/...,
** and / (a redirect to the playground) unless an app has "/" or "/...".
** The new count. */
int kc_static_routes(ks_route *routes, int n, kc_static *web);

/* The browser build: $KRAIT_WEB, else web/ beside the krait binary
** (build/web); a malloc'ed realpath, or NULL when it has no playground. */
char *kc_web_root(void);

/* `krait build`: writes each booted app's artifact. An exit status. */
int kc_build_save(const km_manifest *m, ka_app **apps, const kc_boot_env *env);

#endif
