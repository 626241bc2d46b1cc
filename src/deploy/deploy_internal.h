/*
** deploy_internal.h -- what the files of src/deploy/ share: an app's route
** (the handler glue between src/serve requests and src/app).
** Does not own the public API (deploy.h).
*/
#ifndef KX_DEPLOY_INTERNAL_H
#define KX_DEPLOY_INTERNAL_H

#include "deploy/deploy.h"

/* What one app's routes need. */
typedef struct kx_app_route {
  ka_app *app;
  ks_histogram *start;         /* krait_instance_start_seconds */
  ks_counter *traps, *timeouts;
} kx_app_route;

/* route.c: the route handler (data: a kx_app_route): one request through
** the app's snapshot. */
ks_outcome kx_handle(const ks_request *rq, ks_response *res, void *data);

#endif
