/*
** serve.c -- a deployment served: each app's routes and metrics, the
** browser build's (--playground), the server run until stopped (reloading
** on SIGHUP). Not the command line (src/cli), HTTP (src/serve) or booting.
*/
#include <stdio.h>
#include <string.h>

#include "deploy/deploy_internal.h"
#include "serve/openai.h"
#include "util/util.h"

struct kx_server {
  ks_server *srv;
  ks_metrics *metrics;
  ks_route *routes;
  kx_app_route *data;          /* one per app */
  int ndata;                   /* how many of them are set up */
  ks_static web;
  const char *host, *admin_host;
  bool llm_api;                /* /v1 on the admin listener */
  const km_manifest *m;
  const kx_env *watch;         /* --watch: rebuild with this */
  const kx_reload_src *reload_src; /* SIGHUP: reload from this */
  kx_reload *reload;           /* its thread, while serving */
};

/* SIGHUP (on the loop thread): wakes the reload thread. */
static void kx_server_hup(void *data) {
  kx_server *s = data;
  if (s->reload) kx_reload_ask(s->reload);
}

/* Registers app a's metrics into r (its app already set); false when
** out of memory. */
static bool kx_route_metrics(kx_app_route *r, ks_metrics *mx, const km_app *a) {
  char labels[256];
  snprintf(labels, sizeof labels, "app=\"%s\"", a->name);
  r->start = ks_metrics_histogram(mx, "krait_instance_start_seconds", "Time from snapshot to a ready instance.",
                                  labels, ks_latency_buckets, 14);
  r->traps = ks_metrics_counter(mx, "krait_traps_total", "Requests whose sandbox trapped.", labels);
  r->timeouts = ks_metrics_counter(mx, "krait_timeouts_total", "Requests over their time limit.", labels);
  return r->start && r->traps && r->timeouts;
}

/* Fills s's routes: each app's, then the browser build's; their count,
** or -1 when out of memory. */
static int kx_routes(kx_server *s, const kx_serve_opts *o, const km_manifest *m, ka_app **apps) {
  int nroutes = 0, r = 0;
  for (int i = 0; i < m->napps; i++) nroutes += m->apps[i].nroutes;
  s->routes = ku_calloc((size_t)nroutes + 3, sizeof *s->routes);
  s->data = ku_calloc((size_t)m->napps + 1, sizeof *s->data);
  if (!s->routes || !s->data) return -1;
  for (int i = 0; i < m->napps; i++) {
    if (!(s->data[i].cur = kx_build_new(apps[i], NULL, o->take_apps))) return -1;
    if (o->take_apps) apps[i] = NULL;   /* the route's build owns it now */
    pthread_mutex_init(&s->data[i].lock, NULL);
    s->ndata++;
    if (!kx_route_metrics(&s->data[i], s->metrics, &m->apps[i])) return -1;
    for (int k = 0; k < m->apps[i].nroutes; k++)
      s->routes[r++] = (ks_route){ m->apps[i].routes[k], kx_handle, &s->data[i], m->apps[i].name, false };
  }
  if (o->llm_api)   /* the admin listener's, run by a worker */
    s->routes[r++] = (ks_route){ KS_OAI_ROUTE, ks_oai_handle, (void *)o->llm_api, KS_OAI_APP, true };
  s->web = (ks_static){ o->web_root, "/web" };
  if (o->web_root) r = ks_static_routes(s->routes, r, &s->web);
  return r;
}

kx_server *kx_server_new(const kx_serve_opts *o, const km_manifest *m, ka_app **apps, char *err, size_t errlen) {
  ks_config sc = o->server;
  const char *where = o->listen ? o->listen : "127.0.0.1:8080";
  char why[512] = "out of memory";
  kx_server *s = ku_calloc(1, sizeof *s);
  int nroutes = -1;
  if (s && o->reload) sc.on_reload = kx_server_hup, sc.reload_data = s;
  if (s && (s->metrics = sc.metrics = ks_metrics_new())) nroutes = kx_routes(s, o, m, apps);
  if (nroutes >= 0) {
    sc.routes = s->routes;
    sc.nroutes = (size_t)nroutes;
    s->srv = ks_server_new(&sc, why, sizeof why);
  }
  if (!s || !s->srv) {
    snprintf(err, errlen, "cannot serve on %s: %s", where, why[0] ? why : "out of memory");
    kx_server_free(s);
    return NULL;
  }
  s->host = sc.host;
  s->admin_host = sc.admin_host;
  s->llm_api = o->llm_api != NULL;
  s->m = m;
  s->watch = o->watch;
  s->reload_src = o->reload;
  return s;
}

int kx_server_run(kx_server *s) {
  fprintf(stderr, "krait serve: listening on http://%s:%d/", s->host, ks_server_port(s->srv));
  if (s->admin_host) fprintf(stderr, " (admin http://%s:%d/metrics)", s->admin_host, ks_server_admin_port(s->srv));
  fputc('\n', stderr);
  if (s->llm_api)
    fprintf(stderr, "krait serve: OpenAI-compatible API at http://%s:%d/v1\n", s->admin_host,
            ks_server_admin_port(s->srv));
  if (s->web.root)
    fprintf(stderr, "krait serve: playground at http://%s:%d/web/playground/\n", s->host, ks_server_port(s->srv));
  kx_watch *w = s->watch ? kx_watch_start(s->m, s->watch, s->data) : NULL;
  s->reload = s->reload_src && (!s->watch || w) ? kx_reload_start(s->reload_src, s->m, s->data) : NULL;
  bool ready = (!s->watch || w) && (!s->reload_src || s->reload);
  int rc = ready ? (ks_server_run(s->srv) == 0 ? 0 : -1) : -1;
  if (rc && ready) fprintf(stderr, "Error: krait serve: the server could not start its workers\n");
  kx_reload_stop(s->reload);
  s->reload = NULL;
  kx_watch_stop(w);
  fprintf(stderr, "krait serve: stopped\n");
  return rc;
}

void kx_server_free(kx_server *s) {
  if (!s) return;
  if (s->srv) ks_server_free(s->srv);
  for (int i = 0; i < s->ndata; i++) kx_route_free(&s->data[i]);
  ks_metrics_free(s->metrics);
  ku_free(s->routes);
  ku_free(s->data);
  ku_free(s);
}
