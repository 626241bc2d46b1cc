/*
** admin.c -- the admin listener's pages: GET /healthz and GET /metrics (Prometheus text).
** Owns: what those two paths answer; they run inline on the loop thread.
** Does not own: the metrics registry (metrics.c) or connections (conn.c).
*/
#include "serve/serve_internal.h"

/* A text answer with its content type. */
static void text(ks_response *r, int status, const char *type, const char *body, size_t n) {
  ks_response_status(r, status);
  ks_response_header(r, "Content-Type", type);
  ks_response_write(r, body, n);
}

void ks_admin_handle(ks_server *s, ks_job *job) {
  static const char plain[] = "text/plain; charset=utf-8";
  ks_response *r = &job->res;
  kh_view p = job->req.path;
  bool get = kh_view_ieq(job->req.method, "GET") || kh_view_ieq(job->req.method, "HEAD");
  bool known = kh_view_ieq(p, "/healthz") || kh_view_ieq(p, "/metrics");
  if (!known) { text(r, 404, plain, "Not Found\n", 10); return; }
  if (!get) {
    ks_response_header(r, "Allow", "GET, HEAD");
    text(r, 405, plain, "Method Not Allowed\n", 19);
    return;
  }
  if (kh_view_ieq(p, "/healthz")) { text(r, 200, plain, "ok\n", 3); return; }
  size_t n;
  char *m = ks_metrics_render(s->metrics, &n);
  if (!m) { text(r, 500, plain, "out of memory\n", 14); return; }
  text(r, 200, "text/plain; version=0.0.4; charset=utf-8", m, n);
  ku_free(m);
}
