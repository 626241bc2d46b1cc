/*
** serve_internal.h -- the shared insides of src/serve/: server, connection, job and response structs.
** Owns: the types and functions the files of src/serve/ call across each other.
** Does not own: the public server API (serve.h) or the event loop (loop.h).
*/
#ifndef KS_SERVE_INTERNAL_H
#define KS_SERVE_INTERNAL_H

#include "serve/serve.h"
#include "serve/loop.h"
#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>

/* ---- buf.c ---------------------------------------------------------------- */

/* A growable byte buffer, always NUL-terminated once allocated; `oom`
** sticks after a failed growth so callers may check once at the end. */
typedef struct ks_buf {
  char *p;
  size_t len, cap;
  bool oom;
} ks_buf;

bool ks_buf_reserve(ks_buf *b, size_t extra);
void ks_buf_add(ks_buf *b, const void *p, size_t n);
void ks_buf_str(ks_buf *b, const char *s);
void ks_buf_printf(ks_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void ks_buf_consume(ks_buf *b, size_t n);
void ks_buf_free(ks_buf *b);

/* ---- responses (response.c) --------------------------------------------- */

typedef struct ks_conn ks_conn;
typedef struct ks_job ks_job;
typedef struct ks_group ks_group;
typedef struct ks_client ks_client;
typedef struct ks_worker ks_worker;

struct ks_response {
  int status;
  kh_header *headers;      /* name/value views over ku_malloc'd strings */
  size_t nheaders, cap;
  ks_buf body;
  bool chunked;
  bool flushed;            /* a part (with the head) went to the loop */
  bool can_stream;         /* the peer speaks HTTP/1.1 (and not HEAD) */
  uint64_t streamed;       /* body bytes sent in parts (loop thread) */
  ks_job *job;
};

/* A streamed part: bytes of a chunked body, posted from the worker. */
typedef struct ks_part {
  ks_task task;
  ks_job *job;
  ks_buf data;
  bool first;              /* the head goes out before it */
} ks_part;

void ks_response_init(ks_response *r, ks_job *job, bool can_stream);
void ks_response_free(ks_response *r);
/* Appends the whole answer to a finished job (head, body, framing) to the
** connection's output; *keep says whether the connection stays open (a
** failed stream turns it false).
** Returns the body bytes sent (for the access log). */
uint64_t ks_emit(ks_conn *c, ks_job *job, bool *keep);
/* Appends a server-made answer (errors, 404, 503) with a text body. */
void ks_emit_text(ks_conn *c, int status, const char *text, bool keep, bool head_only);
/* The loop side of ks_response_flush. */
void ks_emit_part(ks_conn *c, ks_part *p, bool keep);

/* ---- jobs: one request between the loop and a worker -------------------- */

struct ks_job {
  ks_task task;            /* the completion, posted to the loop */
  ks_server *srv;
  ks_conn *conn;
  const ks_route *route;
  ks_request req;
  kh_header *headers;
  uint8_t *bytes;          /* head + decoded body */
  char remote[64];
  ks_response res;
  ks_outcome outcome;
  uint64_t start_ns;
  size_t charged;          /* bytes counted against max_body_memory */
  ks_group *group;         /* its route's app */
  ks_job *qnext;           /* the group's waiting list */
  bool keep_alive;         /* what the request asked for */
  bool head_method;
};

void ks_job_free(ks_job *j);

/* ---- connections (conn.c) ---------------------------------------------- */

typedef enum ks_cstate {
  KS_IDLE,      /* between requests; idle timer: silent close */
  KS_HEAD,      /* reading a head; head timer: 408 */
  KS_BODY,      /* reading a body; body timer: 408 */
  KS_BUSY,      /* a request is with a worker */
  KS_CLOSING    /* the last answer is going out, then a lingering close */
} ks_cstate;

struct ks_conn {
  ks_server *srv;
  ks_conn *prev, *next;    /* the server's list */
  ks_client *client;       /* its remote address (not admin, not rejected) */
  ks_conn *cprev, *cnext;  /* the client's list */
  uint64_t idle_since;     /* ms, when it last became idle */
  size_t charged;          /* of in.cap, counted against max_body_memory */
  int fd, mask;
  bool admin, reject;      /* the admin listener's / over max_conns */
  bool peer_eof;           /* the peer half-closed */
  bool dead;               /* closed while its job runs; freed on completion */
  bool head_sent;          /* a streamed head went out for the current job */
  bool stream_keep;        /* the keep-alive decision that streamed head made */
  bool shut;               /* our write side is shut (lingering close) */
  ks_cstate state;
  uint64_t timer;
  ks_buf in;
  size_t raw, body_end;    /* chunked: next undecoded byte, end of decoded */
  kh_parser parser;
  kh_chunked chunk;
  kh_header *hdrs;
  ks_buf out;
  size_t out_off;
  ks_job *job;
  uint64_t start_ns;
  char remote[64];
};

/* Takes ownership of an accepted socket from peer; a non-NULL `reject`
** answers 503 with that reason and closes. */
void ks_conn_open(ks_server *s, int fd, const struct sockaddr_storage *peer, bool admin,
                  const char *reject);
/* Whether c is between requests with nothing buffered either way. */
bool ks_conn_idle(const ks_conn *c);
/* Closes the socket now; the struct lives on while its job runs. */
void ks_conn_close(ks_conn *c);
/* Writes what is buffered and moves on (next request, lingering close). */
void ks_conn_flush(ks_conn *c);
/* The completion of a job or a streamed part, on the loop thread. */
void ks_conn_done(ks_loop *l, ks_task *t);
void ks_conn_part(ks_loop *l, ks_task *t);
/* Graceful shutdown: closes c when it is between requests. */
void ks_conn_drain(ks_conn *c);
/* Sends the answer a job holds (inline or from a worker) and moves on. */
void ks_conn_finish(ks_conn *c, ks_job *job);
/* Frees a closed connection's struct. */
void ks_conn_free(ks_conn *c);
/* Frees every closed connection waiting in the graveyard. */
void ks_conn_reap(ks_server *s);

/* ---- clients: connections per remote address (client.c) ------------------ */

/* The key of a peer: an IPv4 address (as ::ffff:a.b.c.d) or an IPv6 /64. */
typedef struct ks_addr_key { uint8_t b[16]; } ks_addr_key;

struct ks_client {
  ks_client *hnext;        /* hash chain */
  ks_addr_key key;
  ks_conn *conns;          /* its open connections */
  size_t n;
};

void ks_addr_key_of(const struct sockaddr_storage *ss, ks_addr_key *k);
bool ks_clients_init(ks_server *s);
void ks_clients_free(ks_server *s);
/* Open connections of the client with key k (0 when unknown). */
size_t ks_client_count(ks_server *s, const ks_addr_key *k);
/* Counts c under key k; false when out of memory (c stays uncounted). */
bool ks_client_attach(ks_server *s, ks_conn *c, const ks_addr_key *k);
void ks_client_detach(ks_conn *c);
/* At the connection cap: closes the longest-idle connection of the client
** with the most connections when a newcomer holding `mine` connections
** would still hold fewer than it; true when one was closed. */
bool ks_client_shed(ks_server *s, size_t mine);

/* ---- workers (worker.c) ----------------------------------------------------- */

/* A worker thread's slot. A thread whose request ran past KS_DEMOTE_MS was
** lowered to nice +10 (so short requests and the loop go first); it hands
** its slot to a fresh thread, made by the loop, when that request ends. */
typedef enum { KS_W_NONE, KS_W_RUNNING, KS_W_RETIRED } ks_wstate;
struct ks_worker {
  ks_task spawn;            /* posted to the loop: a thread for this slot */
  ks_server *srv;
  pthread_t th;
  ks_wstate state;          /* under qmu */
  _Atomic int tid;
  _Atomic uint64_t busy_since;   /* ks_now_ns() when its request started; 0: idle */
  atomic_bool demoted;
};

/* Queues a job with its app: NULL, or the 503 text saying why it cannot
** wait (the queue is full, or its app holds its share). */
const char *ks_enqueue(ks_server *s, ks_job *job);
/* Starts the workers and sets the apps' caps; false when none started. */
bool ks_workers_start(ks_server *s);
/* Lets the workers finish the queue and joins them; then runs the posted
** completions (they free their closed connections). */
void ks_workers_stop(ks_server *s);

/* ---- the server (server.c, admin.c) ------------------------------------ */

/* An app: the routes that share one in-flight cap and queue share. */
struct ks_group {
  const char *name;        /* the routes' app, or the route's path */
  ks_job *head, *tail;     /* waiting for a worker, in arrival order */
  size_t waiting, running;
};

/* A route with its "/..." suffix stripped. */
typedef struct ks_route_in {
  ks_route r;
  char *base;
  size_t len;
  bool prefix;
  ks_group *group;
} ks_route_in;

struct ks_server {
  ks_config cfg;
  ks_route_in *routes;
  ks_loop *loop;
  int lfd, afd, stop_fd, sig_fd;
  int port, admin_port;
  ks_metrics *metrics;
  bool own_metrics;
  ks_gauge *inflight, *open_conns, *body_bytes;
  ks_counter *shed;
  ks_histogram *latency;
  ks_counter *by_code[600];
  ks_conn *conns;
  ks_conn *graveyard;       /* closed, freed by the next reap */
  uint64_t reap_timer;
  size_t nconns, nreject, nall;   /* client, rejected, every open one */
  ks_client **ctab;         /* clients by address (client.c) */
  size_t ctab_size;
  ks_client *heavy;         /* the client with the most connections, or NULL
                               when it must be looked for again */
  size_t body_mem;          /* bytes charged to max_body_memory (loop thread) */
  uint64_t accept_timer;    /* out of descriptors: accepting resumes */
  bool draining, finished;
  uint64_t grace_timer;
  ks_worker *workers;       /* worker.c */
  int nthreads;
  int demote_nice;          /* a long request's worker's nice value */
  uint64_t watch_timer;     /* looks for long-running requests */
  pthread_mutex_t qmu;
  pthread_cond_t qcv;
  ks_group *groups;         /* under qmu: the apps' waiting jobs */
  size_t ngroups, rr;       /* rr: the group served next (round robin) */
  size_t app_cap, app_queue;   /* per app: running and waiting at most */
  size_t qlen;              /* waiting jobs, all apps */
  bool qstop;
};

/* Routes a complete job: admin inline, no route 404, else a worker (503
** when the queue is full). */
void ks_dispatch(ks_server *s, ks_job *job);
/* Counts one answer (status, latency) and writes its access-log line. */
void ks_account(ks_server *s, const ks_conn *c, const ks_job *job, int status, uint64_t bytes);
/* Called when a connection closed (the drain may be complete). */
void ks_server_conn_closed(ks_server *s);
/* Sets *charged to what a buffer of capacity cap is charged and moves
** s->body_mem with it (loop thread). */
void ks_recharge(ks_server *s, size_t *charged, size_t cap);
/* The admin listener's pages, answered on the loop thread. */
void ks_admin_handle(ks_server *s, ks_job *job);

#endif
