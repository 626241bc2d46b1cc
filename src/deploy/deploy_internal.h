/*
** deploy_internal.h -- what the files of src/deploy/ share: an app's route
** (the handler glue between src/serve requests and src/app).
** Does not own the public API (deploy.h).
*/
#ifndef KX_DEPLOY_INTERNAL_H
#define KX_DEPLOY_INTERNAL_H

#include <pthread.h>

#include "deploy/deploy.h"

/* One build of an app being served: the caller's first one (not owned),
** or a rebuild (--watch) with the stores opened for it. Freed when it was
** replaced and its last request finished. */
typedef struct kx_build {
  ka_app *app;
  kk_store **stores;           /* owned (a rebuild's), NULL-terminated */
  int refs;                    /* requests running on it */
  bool owned;                  /* app and stores are freed with it */
} kx_build;

/* What one app's routes need: its current build (swapped under lock). */
typedef struct kx_app_route {
  pthread_mutex_t lock;
  kx_build *cur;
  ks_histogram *start;         /* krait_instance_start_seconds */
  ks_counter *traps, *timeouts;
} kx_app_route;

/* route.c: a build record for app (stores: owned with it, or NULL); NULL
** when out of memory (nothing is taken then). */
kx_build *kx_build_new(ka_app *app, kk_store **stores, bool owned);
/* Makes b the route's build; the old one is freed when its last request
** ends (now, if none runs). */
void kx_route_swap(kx_app_route *r, kx_build *b);
/* Frees the route's build (no request may run). */
void kx_route_free(kx_app_route *r);

/* artifact.c: writes app i's artifact (signed with sign, if not NULL)
** and prints what it holds. 0, or -1 after printing the error. */
int kx_build_one(const km_manifest *m, int i, ka_app *app, const ka_app_config *cfg, const ka_key *sign);

/* route.c: the route handler (data: a kx_app_route): one request through
** the app's snapshot. */
ks_outcome kx_handle(const ks_request *rq, ks_response *res, void *data);

/* watch.c: --watch. A thread that watches the folders of m's apps and
** rebuilds an app (env: from its sources, with stores of its own) after a
** change to a file its bundle would hold, settled for a moment, swapping
** the new build into routes[i]; NULL after printing why it cannot watch. */
typedef struct kx_watch kx_watch;
kx_watch *kx_watch_start(const km_manifest *m, const kx_env *env, kx_app_route *routes);
/* Stops the thread (a rebuild under way finishes first). NULL: nothing. */
void kx_watch_stop(kx_watch *w);

/* reload.c: SIGHUP. A thread that, asked by kx_reload_ask (on the
** server's loop thread: it only wakes the thread), reads src again, boots
** every app (each with stores of its own) and, when all booted and their
** routes are m's, swaps them into routes; NULL after printing why it
** cannot start. */
typedef struct kx_reload kx_reload;
kx_reload *kx_reload_start(const kx_reload_src *src, const km_manifest *m, kx_app_route *routes);
void kx_reload_ask(void *reload);
/* Stops the thread (a reload under way finishes first). NULL: nothing. */
void kx_reload_stop(kx_reload *r);

#endif
