/*
** serve.h -- the HTTP/1.1 server core of `krait serve` (prefix ks_): config, routes, handlers, metrics.
** Owns: the API a request handler (later the Python sandbox) and the CLI see.
** Does not own: the wire format (src/http/), the event loop (loop.h), sandboxes or manifests.
*/
#ifndef KS_SERVE_H
#define KS_SERVE_H

#include "http/http.h"
#include <stdio.h>

/* ---- metrics (metrics.c): thread-safe, Prometheus text format ---------- */

typedef struct ks_metrics ks_metrics;
typedef struct ks_counter ks_counter;
typedef struct ks_gauge ks_gauge;
typedef struct ks_histogram ks_histogram;

ks_metrics *ks_metrics_new(void);
void ks_metrics_free(ks_metrics *m);
/* Registers (or finds, when name and labels match an existing one) a
** series. `labels` is the inside of {...} ('op="get"') or NULL; `help` is
** taken from the first series of a name. Registration takes a lock; the
** returned handle is updated lock-free from any thread. NULL on OOM or
** when the name is registered with another type. */
ks_counter *ks_metrics_counter(ks_metrics *m, const char *name, const char *help, const char *labels);
ks_gauge *ks_metrics_gauge(ks_metrics *m, const char *name, const char *help, const char *labels);
/* `bounds` are the bucket upper bounds in increasing order (+Inf is
** implied); NULL uses ks_latency_buckets. */
ks_histogram *ks_metrics_histogram(ks_metrics *m, const char *name, const char *help,
                                   const char *labels, const double *bounds, size_t nbounds);
void ks_counter_add(ks_counter *c, uint64_t n);
uint64_t ks_counter_get(const ks_counter *c);
void ks_gauge_set(ks_gauge *g, int64_t v);
void ks_gauge_add(ks_gauge *g, int64_t d);   /* d may be negative */
int64_t ks_gauge_get(const ks_gauge *g);
void ks_histogram_observe(ks_histogram *h, double v);
/* 0.5 ms .. 10 s, in seconds (14 bounds). */
extern const double ks_latency_buckets[14];
/* The whole registry in Prometheus text exposition format 0.0.4, grouped
** by name with one HELP/TYPE each; malloc'd (ku_free), NULL on OOM. */
char *ks_metrics_render(ks_metrics *m, size_t *len);

/* ---- requests and responses ------------------------------------------- */

/* One complete request, owned by the server and valid during the handler
** call. Views point into one private copy of the head and body. */
typedef struct ks_request {
  kh_view method, target, path, query;
  bool has_query;
  int version_minor;            /* HTTP/1.<minor> */
  const kh_header *headers;     /* wire order; kh_header_value-style lookup: */
  size_t nheaders;              /*   ks_request_header() */
  const uint8_t *body;          /* decoded (de-chunked) body */
  size_t body_len;
  const char *remote;           /* peer address, "127.0.0.1" / "::1" */
  const char *route;            /* the route's path that matched */
  uint64_t start_ns;            /* ks_now_ns() at the request's first byte:
                                   time limits count from here, so the time
                                   spent waiting for a worker is included */
} ks_request;

/* The value of the first header `name` (case-insensitive), or NULL. */
const char *ks_request_header(const ks_request *r, const char *name, size_t *len);

/* What a handler builds. status starts at 200; the body grows with
** ks_response_write. With `chunked` set the body is sent with
** Transfer-Encoding: chunked (HTTP/1.0 peers get Content-Length instead),
** and ks_response_flush may stream parts before the handler returns. */
typedef struct ks_response ks_response;

void ks_response_status(ks_response *res, int status);
/* Adds a header field (copied); -1 when the name is not a token, the
** value holds CR/LF/NUL, or out of memory. Content-Length,
** Transfer-Encoding and Connection are the server's and are refused. */
int ks_response_header(ks_response *res, const char *name, const char *value);
/* Appends body bytes; -1 on OOM. */
int ks_response_write(ks_response *res, const void *data, size_t n);
/* Selects chunked framing (call before the first flush). */
void ks_response_chunked(ks_response *res);
/* Chunked only: sends the head (first time) and the bytes written so far
** as one chunk, now, from the worker thread. -1 when not chunked or OOM. */
int ks_response_flush(ks_response *res);
/* Drops the body written so far (not what was flushed). */
void ks_response_reset_body(ks_response *res);

/* What a handler returns. KS_TIMEOUT answers 504 and KS_TRAP 500; the
** body the handler wrote (if any) replaces the default text. */
typedef enum ks_outcome { KS_OK = 0, KS_TIMEOUT = 1, KS_TRAP = 2 } ks_outcome;

/* Runs on a worker thread; may block (it is the sandbox). */
typedef ks_outcome (*ks_handler_fn)(const ks_request *req, ks_response *res, void *data);

/* `path` is an exact path ("/health") or a prefix ending in "/..."
** ("/api/..." matches "/api" and everything under "/api/"; "/..." matches
** all). The longest matching route wins; exact beats prefix; none: 404. */
typedef struct ks_route {
  const char *path;
  ks_handler_fn fn;
  void *data;
  const char *app;              /* routes naming the same app share its
                                   in-flight cap and queue share; NULL: the
                                   route is an app of its own */
  bool admin;                   /* served on the admin listener only (by a
                                   worker, as every route; /healthz and
                                   /metrics stay inline), never the main one */
} ks_route;

/* ---- static files (static.c) ------------------------------------------- */

/* The browser build (`krait serve --playground`): the files under root (a
** realpath) served read-only at prefix ("/web"), cross-origin isolated
** (COOP/COEP), a precompressed FILE.br/FILE.gz sent when the request
** accepts it, with strong ETags and 304s. */
typedef struct ks_static {
  char *root;
  const char *prefix;
} ks_static;

/* The route handler of the files (data: a ks_static). */
ks_outcome ks_static_handle(const ks_request *rq, ks_response *res, void *data);

/* Appends web's routes to the n in routes (room for 2 more): /web/...
** (web->prefix is "/web"), and / (a redirect to the playground) unless a
** route has "/" or "/...". The new count. */
int ks_static_routes(ks_route *routes, int n, ks_static *web);

/* ---- the server ---------------------------------------------------------- */

typedef struct ks_config {
  const char *host;             /* IPv4 or IPv6 literal ("[::1]" too) */
  int port;                     /* 0: ephemeral, see ks_server_port */
  const char *admin_host;       /* NULL: no admin listener */
  int admin_port;
  const ks_route *routes;       /* copied by ks_server_new */
  size_t nroutes;
  kh_limits limits;
  int workers;                  /* 0: max(4 x online cores, 8) */
  size_t app_max_inflight;      /* requests of one app with a worker at once;
                                   the rest wait. 0: all the workers when one
                                   app is served, else half (at least 1) */
  size_t queue_max;             /* requests waiting for a worker; over: 503.
                                   With several apps one app may fill half */
  size_t max_conns;             /* open client connections; over: the heaviest
                                   client's longest-idle one is shed for a
                                   lighter client, else 503 + close */
  size_t max_conns_per_client;  /* per remote address (IPv4 address, IPv6
                                   /64); over: 503 + close. 0: no limit */
  size_t max_body_memory;       /* request bytes held server-wide (reading, and
                                   waiting for or at a worker) past each
                                   connection's first KS_FREE_BYTES; a request
                                   that would pass it: 503 + close. 0: none */
  unsigned head_timeout_ms;     /* whole request head, from its first byte: 408 */
  unsigned body_timeout_ms;     /* whole body, from the end of the head: 408 */
  unsigned idle_timeout_ms;     /* keep-alive wait for the next request: silent
                                   close. 0: no keep-alive (a new connection
                                   waits head_timeout_ms for its first byte) */
  unsigned grace_ms;            /* graceful shutdown: in-flight requests' deadline */
  FILE *access_log;             /* NULL: no access log */
  ks_metrics *metrics;          /* NULL: the server makes its own */
  bool handle_signals;          /* SIGTERM/SIGINT (signalfd) stop ks_server_run */
  void (*on_reload)(void *data); /* with handle_signals: SIGHUP calls it on the
                                   loop thread (it must not block; a reload
                                   runs elsewhere). NULL: SIGHUP is not taken */
  void *reload_data;
} ks_config;

void ks_config_default(ks_config *c);

/* Each connection's request buffer up to this size is not charged to
** max_body_memory, so small requests are served whatever the budget. */
#define KS_FREE_BYTES (64u * 1024)

typedef struct ks_server ks_server;

/* Binds the listeners and starts nothing else; NULL with err filled. */
ks_server *ks_server_new(const ks_config *c, char *err, size_t errcap);
/* The bound ports (useful with port 0). */
int ks_server_port(const ks_server *s);
int ks_server_admin_port(const ks_server *s);
ks_metrics *ks_server_metrics(ks_server *s);
/* Starts the workers and serves on the calling thread until stopped and
** drained; 0, or -1 when it could not start. */
int ks_server_run(ks_server *s);
/* Thread- and signal-safe: begins the graceful shutdown (stop accepting,
** finish in-flight requests within grace_ms, close idle connections). */
void ks_server_stop(ks_server *s);
/* After ks_server_run returned (or instead of it). */
void ks_server_free(ks_server *s);

#endif
