/*
** serve.c -- a deployment served: each booted app's routes and metrics,
** the browser build's routes (--playground), the access log, then the
** server run until it is stopped. Does not own the command line
** (src/cli/serve.c), HTTP (src/serve) or booting (boot.c).
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deploy/deploy_internal.h"

int kx_serve(const kx_serve_opts *o, const km_manifest *m, ka_app **apps) {
  ks_config sc = o->server;
  int rc = -1;
  sc.access_log = o->quiet ? NULL : !o->access_log ? stderr : !strcmp(o->access_log, "-") ? stdout
                : fopen(o->access_log, "a");
  sc.metrics = ks_metrics_new();
  int nroutes = 0;
  for (int i = 0; i < m->napps; i++) nroutes += m->apps[i].nroutes;
  ks_route *routes = calloc((size_t)nroutes + 2, sizeof *routes);
  kx_app_route *data = calloc((size_t)m->napps + 1, sizeof *data);
  int r = 0;
  for (int i = 0; routes && data && i < m->napps; i++) {
    char labels[256];
    snprintf(labels, sizeof labels, "app=\"%s\"", m->apps[i].name);
    data[i] = (kx_app_route){ apps[i],
      ks_metrics_histogram(sc.metrics, "krait_instance_start_seconds",
                           "Time from snapshot to a ready instance.", labels, ks_latency_buckets, 14),
      ks_metrics_counter(sc.metrics, "krait_traps_total", "Requests whose sandbox trapped.", labels),
      ks_metrics_counter(sc.metrics, "krait_timeouts_total", "Requests over their time limit.", labels) };
    for (int k = 0; k < m->apps[i].nroutes; k++)
      routes[r++] = (ks_route){ m->apps[i].routes[k], kx_handle, &data[i], m->apps[i].name };
  }
  ks_static web = { o->web_root, "/web" };
  if (o->web_root && routes) r = ks_static_routes(routes, r, &web);
  sc.routes = routes;
  sc.nroutes = (size_t)r;
  char err[512];
  ks_server *srv = routes && data ? ks_server_new(&sc, err, sizeof err) : NULL;
  if (!srv) {
    fprintf(stderr, "Error: cannot serve on %s: %s\n", o->listen ? o->listen : "127.0.0.1:8080", err);
  } else {
    fprintf(stderr, "krait serve: listening on http://%s:%d/", sc.host, ks_server_port(srv));
    if (sc.admin_host) fprintf(stderr, " (admin http://%s:%d/metrics)", sc.admin_host, ks_server_admin_port(srv));
    fputc('\n', stderr);
    if (o->web_root)
      fprintf(stderr, "krait serve: playground at http://%s:%d/web/playground/\n", sc.host, ks_server_port(srv));
    rc = ks_server_run(srv) == 0 ? 0 : -1;
    fprintf(stderr, "krait serve: stopped\n");
    ks_server_free(srv);
  }
  ks_metrics_free(sc.metrics);
  if (sc.access_log && sc.access_log != stderr && sc.access_log != stdout) fclose(sc.access_log);
  free(routes);
  free(data);
  return rc;
}
