/*
** conn.c -- one client connection on the loop thread: read, parse, body, answer, keep-alive, close.
** Owns: the per-connection state machine, its buffers and timers (408, idle close, lingering close).
** Does not own: the wire format (src/http/), routing and workers (server.c), response bytes (response.c).
*/
#include "serve/serve_internal.h"
#include <errno.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <unistd.h>

#define READ_CHUNK 16384
#define BUSY_READ_CAP (KS_FREE_BYTES - 1)   /* read-ahead while a request is with a worker
                                              (never charged to the body budget) */
#define OUT_HIGH (1u << 20)         /* stop reading while this much waits to go out */
#define LINGER_MS 1000              /* discard the peer's bytes after the last answer */
#define CLOSING_MS 5000             /* the last answer must drain within this */
#define GROW_STEP (1u << 20)        /* request buffers grow by this past it */

#define BUDGET_FULL "the server's memory for request bodies is in use; try again later"

static void on_io(ks_loop *l, int fd, int mask, void *data);
static void kick(ks_conn *c);
static void fail(ks_conn *c, int status, const char *reason);

/* The most request bytes a connection buffers: a head at its limits, a
** body at its limit and one read of chunk framing or pipelined bytes. */
static size_t in_cap(const ks_server *s) {
  const kh_limits *L = &s->cfg.limits;
  return L->max_request_line + L->max_header_bytes + 4 + (size_t)L->max_body + 2 * READ_CHUNK;
}

static size_t out_pending(const ks_conn *c) { return c->out.len - c->out_off; }

/* Sets epoll interest from the state: read unless the peer half-closed,
** a busy connection has read far ahead, or output backs up; write while
** output waits. No interest at all removes the fd from epoll. */
static void update_mask(ks_conn *c) {
  if (c->fd < 0) return;
  bool ahead = c->state == KS_BUSY && c->in.len >= BUSY_READ_CAP;
  bool rd = !c->peer_eof && !ahead && out_pending(c) < OUT_HIGH;
  int m = (rd ? KS_READABLE : 0) | (out_pending(c) ? KS_WRITABLE : 0);
  if (m == c->mask) return;
  if (!m) ks_loop_unwatch(c->srv->loop, c->fd);
  else if (ks_loop_watch(c->srv->loop, c->fd, m, on_io, c) < 0) { ks_conn_close(c); return; }
  c->mask = m;
}

/* A state's timer expired: idle connections close silently, unfinished
** requests get 408, closing ones are cut. */
static void on_timer(ks_loop *l, uint64_t id, void *data) {
  KU_UNUSED(l); KU_UNUSED(id);
  ks_conn *c = data;
  c->timer = 0;
  if (c->state == KS_HEAD || c->state == KS_BODY) {
    fail(c, KH_REQUEST_TIMEOUT, "the request did not arrive in time");
    kick(c);
  } else if (c->state != KS_BUSY) {
    ks_conn_close(c);
  }
}

/* Enters state st with a fresh timer of ms (0: none). */
static void set_state(ks_conn *c, ks_cstate st, unsigned ms) {
  if (c->timer) ks_timer_cancel(c->srv->loop, c->timer);
  c->timer = ms ? ks_timer_add(c->srv->loop, ms, on_timer, c) : 0;
  c->state = st;
  if (st == KS_IDLE) c->idle_since = ks_now_ms();
}

bool ks_conn_idle(const ks_conn *c) {
  return c->fd >= 0 && c->state == KS_IDLE && !c->job && c->in.len == 0 && !out_pending(c);
}

/* What a request buffer of capacity cap costs the body budget. */
static size_t charge_of(size_t cap) { return cap > KS_FREE_BYTES ? cap - KS_FREE_BYTES : 0; }

void ks_recharge(ks_server *s, size_t *charged, size_t cap) {
  s->body_mem = s->body_mem - *charged + charge_of(cap);
  *charged = charge_of(cap);
  ks_gauge_set(s->body_bytes, (int64_t)s->body_mem);
}

/* Whether the budget has room for `extra` more charged bytes. */
static bool budget_allows(const ks_server *s, size_t extra) {
  size_t max = s->cfg.max_body_memory;
  return !max || extra == 0 || (s->body_mem <= max && extra <= max - s->body_mem);
}

/* Frees the request buffer (its charge goes back to the budget). */
static void drop_input(ks_conn *c) {
  ks_recharge(c->srv, &c->charged, 0);
  ks_buf_free(&c->in);
}

typedef enum { GROW_OK, GROW_BUDGET, GROW_OOM } grow_result;

/* Makes room for `want` more bytes in c->in: doubling up to GROW_STEP,
** then GROW_STEP at a time (so the charge overshoots the bytes by at most
** that), never past the connection's bound. The capacity beyond
** KS_FREE_BYTES is charged to the server's budget; GROW_BUDGET when it
** has no room (nothing changes). */
static grow_result grow_input(ks_conn *c, size_t want, size_t bound) {
  ks_buf *b = &c->in;
  size_t need = b->len + want + 1;
  if (need <= b->cap) return GROW_OK;
  size_t n = b->cap ? b->cap : READ_CHUNK;
  while (n < need) n = n < GROW_STEP ? n * 2 : n + GROW_STEP;
  if (n > bound + 1) n = need > bound + 1 ? need : bound + 1;
  if (!budget_allows(c->srv, charge_of(n) - c->charged)) return GROW_BUDGET;
  char *p = ku_realloc(b->p, n);
  if (!p) return GROW_OOM;
  b->p = p;
  b->cap = n;
  ks_recharge(c->srv, &c->charged, n);
  return GROW_OK;
}

/* Answers a malformed or over-limit request with its status and a short
** text naming the problem, then closes (the rest of the stream cannot be
** trusted to be framed). */
static void fail(ks_conn *c, int status, const char *reason) {
  char text[200];
  snprintf(text, sizeof text, "%s: %s\n", kh_reason(status), reason);
  ks_emit_text(c, status, text, false, false);
  ks_account(c->srv, c, NULL, status, strlen(text));
  set_state(c, KS_CLOSING, CLOSING_MS);
  drop_input(c);   /* what follows is discarded unread */
}

/* Frees the struct of a closed connection (a job, if any, is gone). */
void ks_conn_free(ks_conn *c) {
  assert(c->fd < 0);
  ks_buf_free(&c->in);
  ks_buf_free(&c->out);
  ku_free(c->hdrs);
  ku_free(c);
}

/* Frees the closed connections (deferred, so callers up the stack may
** still look at c->fd after closing). */
void ks_conn_reap(ks_server *s) {
  while (s->graveyard) {
    ks_conn *c = s->graveyard;
    s->graveyard = c->next;
    ks_conn_free(c);
  }
  if (s->reap_timer) ks_timer_cancel(s->loop, s->reap_timer);
  s->reap_timer = 0;
}

static void on_reap(ks_loop *l, uint64_t id, void *data) {
  KU_UNUSED(l); KU_UNUSED(id);
  ks_server *s = data;
  s->reap_timer = 0;
  ks_conn_reap(s);
}

void ks_conn_close(ks_conn *c) {
  if (c->fd < 0) return;
  ks_server *s = c->srv;
  ks_loop_unwatch(s->loop, c->fd);
  close(c->fd);
  c->fd = -1;
  if (c->timer) ks_timer_cancel(s->loop, c->timer);
  c->timer = 0;
  if (c->prev) c->prev->next = c->next; else s->conns = c->next;
  if (c->next) c->next->prev = c->prev;
  ks_client_detach(c);
  drop_input(c);
  if (c->reject) s->nreject--;
  else if (!c->admin) { s->nconns--; ks_gauge_add(s->open_conns, -1); }
  s->nall--;
  if (!c->job) {
    c->next = s->graveyard;
    s->graveyard = c;
    if (!s->reap_timer) s->reap_timer = ks_timer_add(s->loop, 0, on_reap, s);
  }
  ks_server_conn_closed(s);
}

/* Hands the large request buffer itself to the job (no copy of a big
** body; the connection starts a small one with the pipelined rest): the
** job keeps its charge, shrunk to the request's size. */
static bool take_input(ks_conn *c, ks_job *job, size_t total, size_t next) {
  ks_buf rest = { 0 };
  if (c->in.len > next) ks_buf_add(&rest, c->in.p + next, c->in.len - next);
  if (rest.oom) return false;
  char *p = ku_realloc(c->in.p, total + 1);
  job->bytes = (uint8_t *)(p ? p : c->in.p);
  job->srv = c->srv;
  ks_recharge(c->srv, &c->charged, 0);
  ks_recharge(c->srv, &job->charged, p ? total + 1 : c->in.cap);
  c->in = rest;
  ks_recharge(c->srv, &c->charged, rest.cap);
  return true;
}

/* Moves the complete request in[0..total) into a job (views rebased onto
** its bytes; a small request is copied, a large buffer taken), drops
** in[0..next) and hands the job to the server. */
static void complete(ks_conn *c, size_t total, size_t next) {
  const kh_request *q = &c->parser.req;
  bool take = c->in.cap > KS_FREE_BYTES;
  ks_job *job = ku_calloc(1, sizeof *job);
  if (job) job->headers = ku_malloc((q->nheaders + 1) * sizeof *job->headers);
  if (job && job->headers) {
    if (take && !take_input(c, job, total, next)) job->bytes = NULL;
    else if (!take && (job->bytes = ku_malloc(total + 1))) memcpy(job->bytes, c->in.p, total);
  }
  if (!job || !job->bytes || !job->headers) {
    ks_job_free(job);
    fail(c, 503, "out of memory");
    return;
  }
  /* The parser's pointers may be stale (the buffer grows while the body
  ** arrives); its offsets are not. */
  const char *base = (const char *)job->bytes;
#define REBASE(v) ((v).p = base + (v).off)
  job->req.method = q->method; REBASE(job->req.method);
  job->req.target = q->target; REBASE(job->req.target);
  job->req.path = q->path; REBASE(job->req.path);
  job->req.query = q->query; REBASE(job->req.query);
  for (size_t i = 0; i < q->nheaders; i++) {
    job->headers[i] = q->headers[i];
    REBASE(job->headers[i].name);
    REBASE(job->headers[i].value);
  }
#undef REBASE
  job->req.has_query = q->has_query;
  job->req.version_minor = q->version_minor;
  job->req.headers = job->headers;
  job->req.nheaders = q->nheaders;
  job->req.body = job->bytes + q->head_len;
  job->req.body_len = total - q->head_len;
  job->req.remote = job->remote;
  snprintf(job->remote, sizeof job->remote, "%s", c->remote);
  job->srv = c->srv;
  job->conn = c;
  job->start_ns = c->start_ns;
  job->req.start_ns = c->start_ns;
  job->keep_alive = q->keep_alive;
  job->head_method = kh_view_ieq(job->req.method, "HEAD");
  ks_response_init(&job->res, job, q->version_minor == 1 && !job->head_method);
  if (!take) ks_buf_consume(&c->in, next);
  kh_parser_init(&c->parser, &c->srv->cfg.limits, c->hdrs, c->srv->cfg.limits.max_headers);
  c->job = job;
  set_state(c, KS_BUSY, 0);
  ks_dispatch(c->srv, job);
}

/* Feeds the head parser; on a complete head either completes a bodiless
** request or starts reading the body (sending 100 Continue when the
** client waits for it). False when nothing more can happen now. */
static bool step_head(ks_conn *c) {
  kh_result r = kh_parse(&c->parser, (const uint8_t *)c->in.p, c->in.len);
  if (r == KH_NEED_MORE) return false;
  if (r == KH_ERROR) { fail(c, c->parser.status, c->parser.reason); return false; }
  const kh_request *q = &c->parser.req;
  if (q->body == KH_BODY_NONE || (q->body == KH_BODY_LENGTH && q->content_length == 0)) {
    complete(c, q->head_len, q->head_len);
    return true;
  }
  /* A body announced larger than the budget's room now: 503 before the
  ** client sends it (chunked bodies are charged as they arrive). */
  size_t whole = charge_of(q->head_len + (size_t)q->content_length + 1);
  if (q->body == KH_BODY_LENGTH && whole > c->charged && !budget_allows(c->srv, whole - c->charged)) {
    fail(c, 503, BUDGET_FULL);
    return false;
  }
  set_state(c, KS_BODY, c->srv->cfg.body_timeout_ms);
  if (q->body == KH_BODY_CHUNKED) {
    kh_chunked_init(&c->chunk, &c->srv->cfg.limits);
    c->raw = c->body_end = q->head_len;
  }
  if (q->expect_continue && c->in.len == q->head_len)
    ks_buf_str(&c->out, "HTTP/1.1 100 Continue\r\n\r\n");
  return true;
}

/* Moves the body forward: a Content-Length body is complete when all its
** bytes are in; a chunked one is decoded in place, its data gathered
** right after the head. False when more bytes are needed. */
static bool step_body(ks_conn *c) {
  const kh_request *q = &c->parser.req;
  if (q->body == KH_BODY_LENGTH) {
    size_t total = q->head_len + (size_t)q->content_length;
    if (c->in.len < total) return false;
    complete(c, total, total);
    return true;
  }
  size_t consumed, out;
  uint8_t *raw = (uint8_t *)c->in.p + c->raw;
  kh_result r = kh_chunked_feed(&c->chunk, raw, c->in.len - c->raw, &consumed, &out);
  memmove(c->in.p + c->body_end, raw, out);
  c->body_end += out;
  c->raw += consumed;
  /* Drop the framing just decoded, so the buffer holds only the body and
  ** undecoded bytes: one-byte chunks cost six bytes of framing each and
  ** would otherwise fill the buffer's bound before the body's. */
  memmove(c->in.p + c->body_end, c->in.p + c->raw, c->in.len - c->raw);
  c->in.len -= c->raw - c->body_end;
  c->raw = c->body_end;
  if (r == KH_ERROR) { fail(c, c->chunk.status, c->chunk.reason); return false; }
  if (r == KH_NEED_MORE) return false;
  complete(c, c->body_end, c->raw);
  return true;
}

/* Runs the state machine over the buffered bytes: requests are taken one
** at a time, in order (pipelining), while no request is with a worker. */
static void advance(ks_conn *c) {
  while (c->fd >= 0 && out_pending(c) < OUT_HIGH) {
    if (c->state == KS_IDLE) {
      if (c->in.len == 0) {
        if ((c->peer_eof || c->srv->draining) && !out_pending(c)) ks_conn_close(c);
        return;
      }
      c->start_ns = ks_now_ns();
      set_state(c, KS_HEAD, c->srv->cfg.head_timeout_ms);
    }
    if (c->state == KS_HEAD && !step_head(c)) break;
    if (c->state == KS_BODY && !step_body(c)) break;
    if (c->state == KS_BUSY || c->state == KS_CLOSING) break;
  }
  /* The peer is gone halfway through a request: nothing to answer. */
  if (c->fd >= 0 && c->peer_eof && (c->state == KS_HEAD || c->state == KS_BODY)) ks_conn_close(c);
}

/* Sends buffered output until the socket would block; progress re-arms
** an idle connection's timer (a stalled reader is cut after idle_timeout). */
static void write_out(ks_conn *c) {
  size_t before = c->out_off;
  while (c->fd >= 0 && c->out_off < c->out.len) {
    ssize_t n = send(c->fd, c->out.p + c->out_off, c->out.len - c->out_off, MSG_NOSIGNAL);
    if (n > 0) { c->out_off += (size_t)n; continue; }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    ks_conn_close(c);
    return;
  }
  if (c->out_off == c->out.len) c->out.len = c->out_off = 0;
  else if (c->out_off > 65536) { ks_buf_consume(&c->out, c->out_off); c->out_off = 0; }
  if (c->out_off != before && c->state == KS_IDLE && out_pending(c))
    set_state(c, KS_IDLE, c->srv->cfg.idle_timeout_ms);
}

/* Parses what can be parsed, writes what can be written, and for a
** closing connection shuts the write side once all is out (then the
** peer's leftovers are read and dropped for LINGER_MS, so our answer is
** not destroyed by a reset). */
static void kick(ks_conn *c) {
  for (int i = 0; i < 2 && c->fd >= 0; i++) {
    bool blocked = out_pending(c) >= OUT_HIGH;
    advance(c);
    if (c->fd >= 0) write_out(c);
    if (!blocked || out_pending(c)) break;
  }
  if (c->fd < 0) return;
  if (c->state == KS_CLOSING && !out_pending(c) && !c->shut) {
    shutdown(c->fd, SHUT_WR);
    c->shut = true;
    set_state(c, KS_CLOSING, LINGER_MS);
  }
  update_mask(c);
}

/* Reads a closing connection's bytes and drops them; EOF closes. */
static void discard(ks_conn *c) {
  char junk[4096];
  ssize_t n;
  while ((n = read(c->fd, junk, sizeof junk)) > 0) {}
  if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) ks_conn_close(c);
}

/* Reads what the socket has (a few chunks per event, for fairness), within
** the connection's buffer bound and the server's body budget: a request
** that outgrows the budget is answered 503 and closed (a connection with
** a request at a worker just waits). */
static void conn_read(ks_conn *c) {
  if (c->state == KS_CLOSING) { if (c->shut) discard(c); return; }
  size_t cap = c->state == KS_BUSY ? BUSY_READ_CAP : in_cap(c->srv);
  if (c->in.len >= cap) return;
  for (int i = 0; i < 4; i++) {
    size_t want = READ_CHUNK;
    if (c->in.len + want > cap) want = cap - c->in.len;
    if (want == 0) break;
    grow_result g = grow_input(c, want, cap);
    if (g == GROW_OOM) { ks_conn_close(c); return; }
    if (g == GROW_BUDGET) {   /* never while busy: its read-ahead is free */
      if (c->state != KS_BUSY) fail(c, 503, BUDGET_FULL);
      return;
    }
    ssize_t n = read(c->fd, c->in.p + c->in.len, want);
    if (n > 0) {
      c->in.len += (size_t)n;
      if ((size_t)n < want) break;
    } else if (n == 0) {
      c->peer_eof = true;
      break;
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      break;
    } else if (errno != EINTR) {
      ks_conn_close(c);
      return;
    }
  }
}

static void on_io(ks_loop *l, int fd, int mask, void *data) {
  KU_UNUSED(l); KU_UNUSED(fd);
  ks_conn *c = data;
  if (mask & KS_READABLE) conn_read(c);
  if (c->fd >= 0) kick(c);
}

/* The peer's address as text ("-" when unknown). */
static void peer_name(const struct sockaddr_storage *ss, char *out, size_t cap) {
  snprintf(out, cap, "-");
  if (ss->ss_family == AF_INET)
    inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, out, (socklen_t)cap);
  else if (ss->ss_family == AF_INET6)
    inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ss)->sin6_addr, out, (socklen_t)cap);
}

/* Counts a served (not admin, not rejected) connection, under its client. */
static bool count_conn(ks_server *s, ks_conn *c, const struct sockaddr_storage *peer) {
  ks_addr_key k;
  ks_addr_key_of(peer, &k);
  if (!ks_client_attach(s, c, &k)) return false;
  s->nconns++;
  ks_gauge_add(s->open_conns, 1);
  return true;
}

void ks_conn_open(ks_server *s, int fd, const struct sockaddr_storage *peer, bool admin,
                  const char *reject) {
  ks_conn *c = ku_calloc(1, sizeof *c);
  kh_header *h = c ? ku_calloc(s->cfg.limits.max_headers + 1, sizeof *h) : NULL;
  if (!h || (!admin && !reject && !count_conn(s, c, peer))) { ku_free(h); ku_free(c); close(fd); return; }
  c->srv = s;
  c->fd = fd;
  c->hdrs = h;
  c->admin = admin;
  c->reject = reject != NULL;
  peer_name(peer, c->remote, sizeof c->remote);
  kh_parser_init(&c->parser, &s->cfg.limits, h, s->cfg.limits.max_headers);
  c->next = s->conns;
  if (s->conns) s->conns->prev = c;
  s->conns = c;
  s->nall++;
  if (reject) s->nreject++;
  unsigned idle = s->cfg.idle_timeout_ms;
  set_state(c, KS_IDLE, idle ? idle : s->cfg.head_timeout_ms);
  if (reject) {
    c->start_ns = ks_now_ns();
    fail(c, 503, reject);
  }
  kick(c);
}

void ks_conn_finish(ks_conn *c, ks_job *job) {
  ks_server *s = c->srv;
  bool keep = job->keep_alive && s->cfg.idle_timeout_ms && !s->draining && !(c->peer_eof && c->in.len == 0);
  if (c->head_sent) keep = keep && c->stream_keep;
  uint64_t bytes = ks_emit(c, job, &keep);
  ks_account(s, c, job, job->res.status, bytes);
  c->job = NULL;
  c->head_sent = false;
  ks_job_free(job);
  if (keep) set_state(c, KS_IDLE, s->cfg.idle_timeout_ms);
  else set_state(c, KS_CLOSING, CLOSING_MS);
}

/* A worker finished: a closed connection is freed, a live one answered. */
void ks_conn_done(ks_loop *l, ks_task *t) {
  KU_UNUSED(l);
  ks_job *job = (ks_job *)t;
  ks_conn *c = job->conn;
  ks_gauge_add(job->srv->inflight, -1);
  if (c->fd < 0) {
    c->job = NULL;
    ks_job_free(job);
    ks_conn_free(c);
    return;
  }
  ks_conn_finish(c, job);
  kick(c);
}

/* A streamed part arrived: its bytes go out now (when the peer is still
** there). */
void ks_conn_part(ks_loop *l, ks_task *t) {
  KU_UNUSED(l);
  ks_part *p = (ks_part *)t;
  ks_conn *c = p->job->conn;
  if (c->fd >= 0) {
    if (p->first) c->stream_keep = p->job->keep_alive && !c->srv->draining;
    ks_emit_part(c, p, c->stream_keep);
    c->head_sent = true;
    write_out(c);
    if (c->fd >= 0) update_mask(c);
  }
  ks_buf_free(&p->data);
  ku_free(p);
}

void ks_conn_drain(ks_conn *c) {
  if (c->state == KS_IDLE && c->in.len == 0 && !out_pending(c)) ks_conn_close(c);
}
