/*
** server.c -- the server of `krait serve`: listeners, accept, routing, worker threads, shutdown.
** Owns: ks_server_new/run/stop, the job queue and workers, request metrics and the access log.
** Does not own: connections' state machine (conn.c), response bytes (response.c), /metrics (admin.c).
*/
#include "serve/serve_internal.h"
#include <errno.h>
#include <malloc.h>
#include <netdb.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

void ks_config_default(ks_config *c) {
  memset(c, 0, sizeof *c);
  c->host = "127.0.0.1";
  c->port = 8080;
  kh_limits_default(&c->limits);
  c->queue_max = 1024;
  c->max_conns = 1024;
  c->max_conns_per_client = 256;
  c->max_body_memory = 256u << 20;
  c->head_timeout_ms = 10000;
  c->body_timeout_ms = 30000;
  c->idle_timeout_ms = 5000;
  c->grace_ms = 10000;
}

/* A nonblocking listening socket on an IPv4/IPv6 literal ("[::1]" too);
** -1 with err filled on failure. *bound gets the real port. */
static int listen_on(const char *host, int port, int *bound, char *err, size_t cap) {
  char h[64], ps[16];
  size_t n = strlen(host);
  if (n >= 2 && host[0] == '[' && host[n - 1] == ']') snprintf(h, sizeof h, "%.*s", (int)(n - 2), host + 1);
  else snprintf(h, sizeof h, "%s", host);
  snprintf(ps, sizeof ps, "%d", port);
  struct addrinfo hints = { .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE,
                            .ai_socktype = SOCK_STREAM }, *ai;
  int rc = getaddrinfo(h, ps, &hints, &ai);
  if (rc) { ku_fmt(err, cap, "listen address '%s': %s", host, gai_strerror(rc)); return -1; }
  int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1;
  if (fd >= 0) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (fd < 0 || bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 511) < 0) {
    ku_fmt(err, cap, "listen on %s port %d: %s", host, port, strerror(errno));
    if (fd >= 0) close(fd);
    freeaddrinfo(ai);
    return -1;
  }
  freeaddrinfo(ai);
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  getsockname(fd, (struct sockaddr *)&ss, &len);
  *bound = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                          : ((struct sockaddr_in *)&ss)->sin_port);
  return fd;
}

/* The group of route r: the first earlier route of the same app owns it,
** else a new one (a route without an app is an app of its own). */
static ks_group *group_of(ks_server *s, size_t r) {
  const char *app = s->cfg.routes[r].app;
  for (size_t i = 0; app && i < r; i++)
    if (s->cfg.routes[i].app && strcmp(s->cfg.routes[i].app, app) == 0) return s->routes[i].group;
  ks_group *g = &s->groups[s->ngroups++];
  g->name = app ? app : s->cfg.routes[r].path;
  return g;
}

/* Copies the routes, splitting "/api/..." into the prefix "/api", and
** groups them by app. */
static bool copy_routes(ks_server *s, char *err, size_t cap) {
  s->routes = ku_calloc(s->cfg.nroutes + 1, sizeof *s->routes);
  s->groups = ku_calloc(s->cfg.nroutes + 1, sizeof *s->groups);
  if (!s->routes || !s->groups) return false;
  for (size_t i = 0; i < s->cfg.nroutes; i++) {
    ks_route_in *r = &s->routes[i];
    r->r = s->cfg.routes[i];
    size_t n = strlen(r->r.path);
    if (r->r.path[0] != '/' || !r->r.fn) { ku_fmt(err, cap, "route '%s': needs a handler and a path starting with '/'", r->r.path); return false; }
    r->prefix = n >= 4 && strcmp(r->r.path + n - 4, "/...") == 0;
    r->len = r->prefix ? n - 4 : n;
    r->base = ku_malloc(r->len + 1);
    if (!r->base) return false;
    memcpy(r->base, r->r.path, r->len);
    r->base[r->len] = 0;
    r->group = group_of(s, i);
  }
  return true;
}

/* The longest matching route of the listener (admin or main; exact
** beats a prefix of the same length); a prefix "/api" matches "/api" and
** "/api/...", never "/apix". */
static const ks_route_in *match(const ks_server *s, kh_view path, bool admin) {
  const ks_route_in *best = NULL;
  size_t score = 0;
  for (size_t i = 0; i < s->cfg.nroutes; i++) {
    const ks_route_in *r = &s->routes[i];
    if (r->r.admin != admin) continue;
    bool ok = r->prefix ? path.len >= r->len && memcmp(path.p, r->base, r->len) == 0 &&
                          (path.len == r->len || path.p[r->len] == '/' || r->len == 0)
                        : path.len == r->len && memcmp(path.p, r->base, r->len) == 0;
    size_t sc = r->len * 2 + (r->prefix ? 1 : 2);
    if (ok && sc > score) { best = r; score = sc; }
  }
  return best;
}

/* Registers the server's own series. */
static bool own_metrics(ks_server *s) {
  s->inflight = ks_metrics_gauge(s->metrics, "krait_http_requests_in_flight", "Requests being handled now.", NULL);
  s->open_conns = ks_metrics_gauge(s->metrics, "krait_http_connections", "Open client connections.", NULL);
  s->body_bytes = ks_metrics_gauge(s->metrics, "krait_http_request_buffer_bytes",
                                   "Request bytes charged to the body memory budget.", NULL);
  s->shed = ks_metrics_counter(s->metrics, "krait_http_connections_shed_total",
                               "Idle connections of the heaviest client closed for another client.", NULL);
  s->latency = ks_metrics_histogram(s->metrics, "krait_http_request_duration_seconds",
                                    "Time from the first byte of a request to its answer.", NULL, NULL, 0);
  return s->inflight && s->open_conns && s->body_bytes && s->shed && s->latency;
}

/* Raises the soft limit on open files towards what max_conns needs (each
** served and each refused connection holds one, plus listeners, the apps'
** files and the workers'), within the hard limit; out of descriptors the
** server sheds and pauses accepting rather than failing. */
static void raise_fd_limit(const ks_server *s) {
  struct rlimit rl;
  rlim_t want = (rlim_t)s->cfg.max_conns * 2 + 1024;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= want) return;
  rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > want ? want : rl.rlim_max;
  setrlimit(RLIMIT_NOFILE, &rl);
}

ks_server *ks_server_new(const ks_config *c, char *err, size_t cap) {
  ks_server *s = ku_calloc(1, sizeof *s);
  if (!s) { ku_fmt(err, cap, "out of memory"); return NULL; }
  s->cfg = *c;
  s->lfd = s->afd = s->stop_fd = s->sig_fd = -1;
  pthread_mutex_init(&s->qmu, NULL);
  pthread_cond_init(&s->qcv, NULL);
  ku_fmt(err, cap, "out of memory");
  s->metrics = c->metrics;
  if (!s->metrics) { s->metrics = ks_metrics_new(); s->own_metrics = true; }
  if (!s->cfg.max_conns) s->cfg.max_conns = 1;
  s->loop = ks_loop_new();
  s->stop_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  raise_fd_limit(s);
  /* Request buffers past 128 KiB are mmapped, so those freed go back to
  ** the system: glibc would otherwise raise this threshold to the largest
  ** buffer freed, and serve the next ones from its heap, which keeps the
  ** pages (RSS stayed at the body budget's peak after a flood). */
  mallopt(M_MMAP_THRESHOLD, 128 * 1024);
  if (!s->metrics || !ks_clients_init(s) || !s->loop || s->stop_fd < 0 || !own_metrics(s) || !copy_routes(s, err, cap) ||
      (s->lfd = listen_on(c->host, c->port, &s->port, err, cap)) < 0 ||
      (c->admin_host && (s->afd = listen_on(c->admin_host, c->admin_port, &s->admin_port, err, cap)) < 0)) {
    ks_server_free(s);
    return NULL;
  }
  return s;
}

int ks_server_port(const ks_server *s) { return s->port; }
int ks_server_admin_port(const ks_server *s) { return s->admin_port; }
ks_metrics *ks_server_metrics(ks_server *s) { return s->metrics; }

/* A server-made answer to a job, on the loop thread. */
static void answer_inline(ks_job *job, int status, const char *text) {
  ks_response_status(&job->res, status);
  ks_response_header(&job->res, "Content-Type", "text/plain; charset=utf-8");
  ks_response_write(&job->res, text, strlen(text));
  ks_conn_finish(job->conn, job);
}

void ks_dispatch(ks_server *s, ks_job *job) {
  const ks_route_in *r = match(s, job->req.path, job->conn->admin);
  if (job->conn->admin && !r) {
    ks_admin_handle(s, job);
    ks_conn_finish(job->conn, job);
    return;
  }
  if (!r) { answer_inline(job, 404, "Not Found: no route for this path\n"); return; }
  job->route = &r->r;
  job->group = r->group;
  job->req.route = r->r.path;
  ks_gauge_add(s->inflight, 1);
  const char *full = ks_enqueue(s, job);
  if (full) {
    ks_gauge_add(s->inflight, -1);
    answer_inline(job, 503, full);
  }
}

/* ---- accounting ---------------------------------------------------------- */

void ks_account(ks_server *s, const ks_conn *c, const ks_job *job, int status, uint64_t bytes) {
  if (c->admin) return;
  double secs = (double)(ks_now_ns() - c->start_ns) / 1e9;
  if (status >= 100 && status < 600) {
    if (!s->by_code[status]) {
      char lab[32];
      snprintf(lab, sizeof lab, "code=\"%d\"", status);
      s->by_code[status] = ks_metrics_counter(s->metrics, "krait_http_requests_total",
                                              "HTTP requests answered, by status code.", lab);
    }
    ks_counter_add(s->by_code[status], 1);
  }
  ks_histogram_observe(s->latency, secs);
  FILE *f = s->cfg.access_log;
  if (!f) return;
  if (job)
    fprintf(f, "%s - \"%.*s %.*s HTTP/1.%d\" %d %llu %.3fms\n", c->remote, (int)job->req.method.len,
            job->req.method.p, (int)job->req.target.len, job->req.target.p, job->req.version_minor,
            status, (unsigned long long)bytes, secs * 1e3);
  else
    fprintf(f, "%s - \"-\" %d %llu %.3fms\n", c->remote, status, (unsigned long long)bytes, secs * 1e3);
  fflush(f);
}

/* ---- accept and shutdown -------------------------------------------------- */

static void on_accept(ks_loop *l, int fd, int mask, void *data);

/* Accepting resumes after a pause for descriptors. */
static void on_accept_timer(ks_loop *l, uint64_t id, void *data) {
  KU_UNUSED(id);
  ks_server *s = data;
  s->accept_timer = 0;
  if (s->lfd >= 0) ks_loop_watch(l, s->lfd, KS_READABLE, on_accept, s);
  if (s->afd >= 0) ks_loop_watch(l, s->afd, KS_READABLE, on_accept, s);
}

/* Out of descriptors (EMFILE/ENFILE): the heaviest client's longest-idle
** connection is shed for the one waiting; when none can be, accepting
** pauses for 100 ms instead of spinning on a listener that stays ready. */
static bool out_of_fds(ks_server *s) {
  if (ks_client_shed(s, 0)) return true;
  if (s->accept_timer) return false;
  if (s->lfd >= 0) ks_loop_unwatch(s->loop, s->lfd);
  if (s->afd >= 0) ks_loop_unwatch(s->loop, s->afd);
  s->accept_timer = ks_timer_add(s->loop, 100, on_accept_timer, s);
  return false;
}

/* Why a new client connection from peer is refused, or NULL: its address
** holds max_conns_per_client, or the server holds max_conns and no
** heavier client has an idle connection to shed. */
static const char *refusal(ks_server *s, const struct sockaddr_storage *peer) {
  ks_addr_key k;
  ks_addr_key_of(peer, &k);
  size_t mine = ks_client_count(s, &k);
  if (s->cfg.max_conns_per_client && mine >= s->cfg.max_conns_per_client)
    return "too many connections from your address";
  if (s->nconns >= s->cfg.max_conns && !ks_client_shed(s, mine)) return "too many connections";
  return NULL;
}

/* Accepts what is pending (bounded per event); refused clients get a 503
** connection, and past max_conns of those are closed at once. */
static void on_accept(ks_loop *l, int fd, int mask, void *data) {
  KU_UNUSED(l); KU_UNUSED(mask);
  ks_server *s = data;
  for (int i = 0; i < 64 && !s->draining; i++) {
    struct sockaddr_storage peer;
    socklen_t plen = sizeof peer;
    int cfd = accept4(fd, (struct sockaddr *)&peer, &plen, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (cfd < 0 && (errno == EMFILE || errno == ENFILE) && out_of_fds(s)) continue;
    if (cfd < 0) return;   /* EAGAIN and friends: try on the next event */
    int one = 1;
    setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    bool admin = fd == s->afd;
    const char *reject = admin ? NULL : refusal(s, &peer);
    if (reject && s->nreject >= s->cfg.max_conns) { close(cfd); continue; }
    ks_conn_open(s, cfd, &peer, admin, reject);
  }
}

/* Closes a listener (new connections are refused from now on). */
static void close_listener(ks_server *s, int *fd) {
  if (*fd < 0) return;
  ks_loop_unwatch(s->loop, *fd);
  close(*fd);
  *fd = -1;
}

/* The grace period ended: every connection is cut. */
static void force_close(ks_server *s) {
  while (s->conns) ks_conn_close(s->conns);
  ks_loop_stop(s->loop);
}

static void on_grace(ks_loop *l, uint64_t id, void *data) {
  KU_UNUSED(l); KU_UNUSED(id);
  ks_server *s = data;
  s->grace_timer = 0;
  force_close(s);
}

/* Starts the graceful shutdown: no more accepts, idle connections
** closed, the others finish their request (answered with close). */
static void begin_drain(ks_server *s) {
  if (s->draining) return;
  s->draining = true;
  close_listener(s, &s->lfd);
  close_listener(s, &s->afd);
  for (ks_conn *c = s->conns, *n; c; c = n) {
    n = c->next;
    ks_conn_drain(c);
  }
  s->grace_timer = ks_timer_add(s->loop, s->cfg.grace_ms, on_grace, s);
  ks_server_conn_closed(s);
}

void ks_server_conn_closed(ks_server *s) {
  if (s->draining && s->nall == 0) ks_loop_stop(s->loop);
}

static void on_stop(ks_loop *l, int fd, int mask, void *data) {
  KU_UNUSED(l); KU_UNUSED(mask);
  uint64_t v;
  if (read(fd, &v, sizeof v) < 0) return;
  begin_drain(data);
}

/* SIGTERM/SIGINT via signalfd: the first drains, a second one cuts.
** SIGHUP (taken only with on_reload) asks for a reload, unless draining. */
static void on_signal(ks_loop *l, int fd, int mask, void *data) {
  KU_UNUSED(l); KU_UNUSED(mask);
  ks_server *s = data;
  struct signalfd_siginfo si;
  while (read(fd, &si, sizeof si) == (ssize_t)sizeof si) {
    if (si.ssi_signo == SIGHUP) {
      if (!s->draining) s->cfg.on_reload(s->cfg.reload_data);
      continue;
    }
    if (s->draining) force_close(s);
    else begin_drain(s);
  }
}

void ks_server_stop(ks_server *s) {
  uint64_t one = 1;
  ssize_t n = write(s->stop_fd, &one, sizeof one);
  KU_UNUSED(n);
}

/* Blocks SIGTERM/SIGINT (and SIGHUP with on_reload) on this thread
** (workers inherit it) and routes them to a signalfd; *old keeps the
** previous mask. */
static bool watch_signals(ks_server *s, sigset_t *old) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  if (s->cfg.on_reload) sigaddset(&set, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set, old);
  s->sig_fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
  return s->sig_fd >= 0 && ks_loop_watch(s->loop, s->sig_fd, KS_READABLE, on_signal, s) == 0;
}

int ks_server_run(ks_server *s) {
  sigset_t old;
  bool sig = s->cfg.handle_signals;
  if (sig && !watch_signals(s, &old)) { if (sig) pthread_sigmask(SIG_SETMASK, &old, NULL); return -1; }
  int rc = -1;
  if (ks_loop_watch(s->loop, s->lfd, KS_READABLE, on_accept, s) == 0 &&
      (s->afd < 0 || ks_loop_watch(s->loop, s->afd, KS_READABLE, on_accept, s) == 0) &&
      ks_loop_watch(s->loop, s->stop_fd, KS_READABLE, on_stop, s) == 0 && ks_workers_start(s)) {
    ks_loop_run(s->loop);
    rc = 0;
  }
  ks_workers_stop(s);
  if (sig) pthread_sigmask(SIG_SETMASK, &old, NULL);
  return rc;
}

void ks_server_free(ks_server *s) {
  if (!s) return;
  if (s->conns) { while (s->conns) ks_conn_close(s->conns); ks_loop_run_posted(s->loop); }
  ks_conn_reap(s);
  ks_clients_free(s);
  if (s->lfd >= 0) close(s->lfd);
  if (s->afd >= 0) close(s->afd);
  if (s->stop_fd >= 0) close(s->stop_fd);
  if (s->sig_fd >= 0) close(s->sig_fd);
  for (size_t i = 0; s->routes && i < s->cfg.nroutes; i++) ku_free(s->routes[i].base);
  ku_free(s->routes);
  ku_free(s->groups);
  ku_free(s->workers);
  if (s->own_metrics) ks_metrics_free(s->metrics);
  ks_loop_free(s->loop);
  pthread_mutex_destroy(&s->qmu);
  pthread_cond_destroy(&s->qcv);
  ku_free(s);
}
