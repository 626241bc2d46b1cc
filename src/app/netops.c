/*
** netops.c -- the net.* operations of the generic call (krait_abi.h): a
** request's outbound TCP/TLS connections, through the allow-list, within
** its limits and its deadline. Not decoding (netreq.c) nor sockets (src/net).
*/
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "app/app_internal.h"
#include "../../python/c/krait_abi.h"
#include "platform/platform.h"
#include "util/util.h"

void ka_net_begin(ka_net *n, const ko_allow *allow, bool cli, uint32_t max_opened, uint32_t max_open,
                  uint64_t max_bytes) {
  memset(n, 0, sizeof *n);
  n->allow = allow;
  n->cli = cli;
  n->max_opened = max_opened;
  n->max_open = max_open;
  n->max_bytes = max_bytes;
  n->wait_max_ms = cli ? 0 : KA_NET_WAIT_MAX_MS;
  n->wait_total_ms = cli ? 0 : KA_NET_WAIT_TOTAL_MS;
}

/* Closes c and frees its slot. */
static void ka_net_drop(ka_net *n, ka_netconn *c) {
  ko_tls_free(c->tls);
  close(c->fd);
  memset(c, 0, sizeof *c);
  n->open--;
}

void ka_net_end(ka_net *n) {
  for (uint32_t i = 0; n->conns && i < n->max_open; i++)
    if (n->conns[i].handle) ka_net_drop(n, &n->conns[i]);
  ku_free(n->conns);
  n->conns = NULL;
}

/* The timeout an operation given timeout_ms has of its own: that, or,
** in a request without a deadline, at most wait_max_ms (a fuel-only app
** of krait serve cannot hold a worker on a silent server forever). */
static uint32_t ka_net_ms(ka_ctx *x, uint32_t ms) {
  if (!x->deadline && x->net.wait_max_ms && (!ms || ms > x->net.wait_max_ms)) return x->net.wait_max_ms;
  return ms;
}

/* When an operation given timeout_ms must end: then, or the request's
** deadline when sooner, or, in a request without a deadline, when its
** wait_total_ms of net.* waits are spent (0: none of them). */
static uint64_t ka_net_deadline(ka_ctx *x, uint32_t ms) {
  uint64_t d = x->deadline, now = kp_monotonic_ns();
  ms = ka_net_ms(x, ms);
  x->net.budget_bound = false;
  if (ms) {
    uint64_t t = now + (uint64_t)ms * 1000000u;
    if (!d || t < d) d = t;
  }
  if (!x->deadline && x->net.wait_total_ms) {
    uint64_t total = (uint64_t)x->net.wait_total_ms * 1000000u;
    uint64_t t = now + (x->net.waited_ns < total ? total - x->net.waited_ns : 0);
    if (!d || t <= d) { d = t ? t : 1; x->net.budget_bound = true; }
  }
  return d;
}

uint64_t ka_wait_end(ka_ctx *x, uint64_t call_ns) {
  uint64_t now = kp_monotonic_ns(), end = now + call_ns;
  if (x->deadline) return x->deadline;
  if (x->net.wait_total_ms) {
    uint64_t total = (uint64_t)x->net.wait_total_ms * 1000000u;
    uint64_t t = now + (x->net.waited_ns < total ? total - x->net.waited_ns : 0);
    if (t < end) end = t;
  }
  return end > now ? end : 1;   /* 1: already past */
}

bool ka_wait_spent(const ka_ctx *x) {
  return !x->deadline && x->net.wait_total_ms &&
         x->net.waited_ns >= (uint64_t)x->net.wait_total_ms * 1000000u;
}

int32_t ka_wait_timed(ka_ctx *x, ku_cursor *in, ka_out *out, ka_op_fn fn) {
  uint64_t t0 = kp_monotonic_ns();
  int32_t rc = fn(x, in, out);
  x->net.waited_ns += kp_monotonic_ns() - t0;
  return rc;
}

int32_t ka_net_count_open(ka_ctx *x, const char *op) {
  if (x->net.max_opened && x->net.opened >= x->net.max_opened)
    return ka_fail_call(x, KRAIT_E_TOOBIG, "%s: this request already opened %u outbound connections, "
                        "the most " KO_KEY_CONNS " (in [app.limits]) allows", op, x->net.max_opened);
  x->net.opened++;
  return 0;
}

/* Runs net.* operation fn, its time charged to the request's waits. */
static int32_t ka_net_timed(ka_ctx *x, ku_cursor *in, ka_out *out, ka_op_fn fn) {
  return ka_wait_timed(x, in, out, fn);
}

/* E_TIMEOUT for op, saying which time ran out. */
static int32_t ka_net_timeout(ka_ctx *x, const char *op, uint32_t ms) {
  if (x->deadline && kp_monotonic_ns() >= x->deadline)
    return ka_fail_call(x, KRAIT_E_TIMEOUT, "%s: timed out: the request's deadline passed (timeout_ms in "
                        "[app.limits])", op);
  if (!x->deadline && x->net.budget_bound)
    return ka_fail_call(x, KRAIT_E_TIMEOUT, "%s: timed out: this request spent %u ms waiting on the "
                        "network, the most an app without timeout_ms (in [app.limits]) may", op,
                        x->net.wait_total_ms);
  if (ms != ka_net_ms(x, ms))
    return ka_fail_call(x, KRAIT_E_TIMEOUT, "%s: timed out after %u ms, the longest one wait may take in "
                        "an app without timeout_ms (in [app.limits])", op, ka_net_ms(x, ms));
  return ka_fail_call(x, KRAIT_E_TIMEOUT, "%s: timed out after %u ms", op, ms);
}

/* E_NET for errno e of op on peer:port: "ENAME: op addr:port: text". */
static int32_t ka_net_errno(ka_ctx *x, const char *op, int e, const ko_addr *peer, uint16_t port) {
  char addr[KO_ADDR_TEXT];
  const char *name = strerrorname_np(e);
  bool v6 = peer->family == 6;
  return ka_fail_call(x, KRAIT_E_NET, "%s: %s %s%s%s:%u: %s", name ? name : "EIO", op, v6 ? "[" : "",
                      ko_addr_text(peer, addr), v6 ? "]" : "", (unsigned)port, strerror(e));
}

/* A failed I/O step of op on c (errno e; EPROTO from TLS with why). */
static int32_t ka_net_io_fail(ka_ctx *x, const char *op, ka_netconn *c, int e, uint32_t ms, const char *why) {
  if (e == ETIME) return ka_net_timeout(x, op, ms);
  if (e == EPROTO && c->tls) return ka_fail_call(x, KRAIT_E_TLS, "%s: TLS failed: %s", op, why);
  return ka_net_errno(x, op, e, &c->peer, c->port);
}

/* The open connection of handle h, or NULL with E_INVAL recorded. */
static ka_netconn *ka_net_conn(ka_ctx *x, uint32_t h, const char *op, int32_t *rc) {
  for (uint32_t i = 0; h && x->net.conns && i < x->net.max_open; i++)
    if (x->net.conns[i].handle == h) return &x->net.conns[i];
  *rc = ka_fail_call(x, KRAIT_E_INVAL, "%s: no open connection %u (closed already, or never opened)", op, h);
  return NULL;
}

/* Refuses a new connection over the request's limits (E_TOOBIG naming
** the limit and the key), else 0. */
static int32_t ka_net_room(ka_ctx *x) {
  ka_net *n = &x->net;
  if (n->max_opened && n->opened >= n->max_opened)
    return ka_fail_call(x, KRAIT_E_TOOBIG, "net.connect: this request already opened %u outbound "
                        "connections, the most " KO_KEY_CONNS " (in [app.limits]) allows", n->max_opened);
  if (n->open >= n->max_open)
    return ka_fail_call(x, KRAIT_E_TOOBIG, "net.connect: %u outbound connections are open at once, the "
                        "most %s allows; close one first", n->open,
                        n->cli ? "krait python" : "a request of krait serve");
  if (n->next_handle == UINT32_MAX)
    return ka_fail_call(x, KRAIT_E_TOOBIG, "net.connect: no handles left in this run");
  if (!n->conns && !(n->conns = ku_calloc(n->max_open, sizeof *n->conns)))
    return ka_fail_call(x, KRAIT_E_TOOBIG, "net.connect: out of memory");
  return 0;
}

/* The URL "scheme://host:port" of r as the allow-list sees it; 0, or
** E_INVAL when host is not a name or an address. */
static int32_t ka_net_url(ka_ctx *x, const ka_net_connect *r, const char *scheme, ko_url *u) {
  char text[KO_HOST_MAX + 64], err[KO_ERR_SIZE];
  bool v6 = strchr(r->host, ':') != NULL;
  snprintf(text, sizeof text, "%s://%s%s%s:%u", scheme, v6 ? "[" : "", r->host, v6 ? "]" : "", r->port);
  if (ko_url_parse(text, strlen(text), u, err, sizeof err) != 0)
    return ka_fail_call(x, KRAIT_E_INVAL, "net.connect: host: %s", err);
  if (u->user_len || u->path_len || u->query_len || u->port != r->port)
    return ka_fail_call(x, KRAIT_E_INVAL, "net.connect: host is not a name or an address");
  return 0;
}

/* Tells the operator (the app's log) the address a name resolved to that
** the policy refused: the guest's message names only its class. */
static void ka_net_log_denial(ka_ctx *x, const ko_denial *d) {
  char addr[KO_ADDR_TEXT];
  if (x->net.cli || d->why != KO_DENIED_ADDR || d->host_is_ip || !x->app || !x->app->log) return;
  fprintf(x->app->log, "[%s] net.connect: %s resolves to %s (%s), not in " KO_MANIFEST_KEY "\n", x->app->name,
          d->host, ko_addr_text(&d->addr, addr), ko_class_name(ko_addr_class(&d->addr)));
}

/* The denial first (the first scheme's, unless another got further) as
** the failure of net.connect. */
static int32_t ka_net_refuse(ka_ctx *x, const ko_denial *first, uint32_t ms) {
  char msg[KO_ERR_SIZE];
  if (first->why == KO_TIMED_OUT) return ka_net_timeout(x, "net.connect", ms);
  ka_net_log_denial(x, first);
  ko_deny_format(x->net.allow, first, msg, sizeof msg);
  if (first->why == KO_NO_ADDRESS) return ka_fail_call(x, KRAIT_E_NET, "EAI_NONAME: %s", msg);
  return ka_fail_call(x, KRAIT_E_DENIED, "%s", msg);
}

/* The allow-list's decision on r: the schemes a TCP connection may come
** under are tried in order (an entry "tcp://", "http://", "https://" or
** "*://" grants it) on the addresses of ONE lookup (within deadline). The
** checked addresses in d; 0 or the failure. */
static int32_t ka_net_check(ka_ctx *x, const ka_net_connect *r, uint64_t deadline, ko_dest *d) {
  static const char *const schemes[] = { "tcp", "http", "https" };
  enum { NS = sizeof schemes / sizeof schemes[0] };
  ko_url u[NS];
  bool match[NS], any = false;
  ko_addr found[KO_ADDRS_MAX * 2];
  size_t n = 0, at = NS;
  ko_denial first, why;
  int32_t rc;
  for (size_t i = 0; i < NS; i++) {
    if ((rc = ka_net_url(x, r, schemes[i], &u[i])) != 0) return rc;
    match[i] = ko_allow_match(x->net.allow, &u[i]);
    if (match[i] && at == NS) at = i;
    any |= match[i];
  }
  if (!any) {                  /* no lookup at all: tcp's denial */
    ko_policy_check(x->net.allow, &u[0], NULL, 0, d, &first);
    return ka_net_refuse(x, &first, r->timeout_ms);
  }
  if (ko_addresses(&u[at], deadline, found, KO_ADDRS_MAX * 2, &n, &first) != KO_ALLOWED)
    return ka_net_refuse(x, &first, r->timeout_ms);
  first.why = KO_DENIED_HOST;
  for (size_t i = at; i < NS; i++) {
    if (!match[i]) continue;
    ko_verdict v = ko_policy_check(x->net.allow, &u[i], found, n, d, &why);
    if (v == KO_ALLOWED) return 0;
    if (first.why == KO_DENIED_HOST) first = why;
  }
  return ka_net_refuse(x, &first, r->timeout_ms);
}

/* net.connect: req string host, u32 port, u32 timeout_ms; result u32
** handle, string peer address, u32 peer port. */
static int32_t ka_net_do_connect(ka_ctx *x, ku_cursor *in, ka_out *out) {
  ka_net_connect r;
  ko_dest d;
  ko_addr peer;
  char addr[KO_ADDR_TEXT];
  int32_t rc;
  ka_net_decode_connect(in, &r);
  if (x->deadline && kp_monotonic_ns() >= x->deadline) return ka_net_timeout(x, "net.connect", r.timeout_ms);
  uint64_t end = ka_net_deadline(x, r.timeout_ms);    /* the lookup's and the connect's */
  if ((rc = ka_net_room(x)) != 0 || (rc = ka_net_check(x, &r, end, &d)) != 0) return rc;
  if (end && kp_monotonic_ns() >= end) return ka_net_timeout(x, "net.connect", r.timeout_ms);
  x->net.opened++;             /* an attempt counts, whether it answers or not */
  int fd = ko_sock_connect(&d, end, &peer);
  if (fd < 0 && errno == ETIME) return ka_net_timeout(x, "net.connect", r.timeout_ms);
  if (fd < 0) return ka_net_errno(x, "net.connect", errno, &peer, d.port);
  ka_netconn *c = x->net.conns;
  while (c->handle) c++;       /* ka_net_room: a slot is free */
  *c = (ka_netconn){ .handle = ++x->net.next_handle, .fd = fd, .peer = peer, .port = d.port };
  x->net.open++;
  uint32_t port = d.port;
  ko_addr_text(&peer, addr);
  ka_out_put(out, &c->handle, 4);
  ka_out_str(out, addr, strlen(addr));
  ka_out_put(out, &port, 4);
  return 0;
}

/* The handshake's result: version, cipher, bits, alpn, DER, commonName,
** the subjectAltNames, notBefore, notAfter. */
static void ka_net_peer_out(ka_out *out, const ko_tls_peer *p) {
  uint32_t bits = (uint32_t)p->bits, nsan = (uint32_t)p->nsan;
  ka_out_str(out, p->version, strlen(p->version));
  ka_out_str(out, p->cipher, strlen(p->cipher));
  ka_out_put(out, &bits, 4);
  ka_out_str(out, p->alpn, strlen(p->alpn));
  ka_out_str(out, p->der, p->der_len);
  ka_out_str(out, p->cn, strlen(p->cn));
  ka_out_put(out, &nsan, 4);
  for (size_t i = 0; i < p->nsan; i++) {
    ka_out_str(out, p->san[i].type, strlen(p->san[i].type));
    ka_out_str(out, p->san[i].value, strlen(p->san[i].value));
  }
  ka_out_str(out, p->not_before, strlen(p->not_before));
  ka_out_str(out, p->not_after, strlen(p->not_after));
}

/* net.tls: the client handshake on a connection, once, before any I/O. */
static int32_t ka_net_do_tls(ka_ctx *x, ku_cursor *in, ka_out *out) {
  ka_net_tls r;
  int32_t rc = 0;
  char err[KO_ERR_SIZE];
  ka_net_decode_tls(in, &r);
  ka_netconn *c = ka_net_conn(x, r.handle, "net.tls", &rc);
  if (!c) return rc;
  if (c->tls_tried)
    return ka_fail_call(x, KRAIT_E_INVAL, "net.tls: connection %u: TLS starts once, before any send or "
                        "recv", r.handle);
  c->tls_tried = true;
  c->broken = true;            /* until the handshake succeeds */
  ko_tls_rc t = ko_tls_connect(c->fd, r.name, r.flags, r.alpn, r.alpn_len, ka_net_deadline(x, r.timeout_ms),
                               &c->tls, err, sizeof err);
  if (t == KO_TLS_TIMEOUT) return ka_net_timeout(x, "net.tls", r.timeout_ms);
  if (t == KO_TLS_NET) return ka_fail_call(x, KRAIT_E_NET, "%s", err);
  if (t != KO_TLS_OK) return ka_fail_call(x, KRAIT_E_TLS, "%s", err);
  c->broken = false;
  ko_tls_peer p;
  ko_tls_peer_get(c->tls, &p);
  ka_net_peer_out(out, &p);
  ko_tls_peer_free(&p);
  return 0;
}

/* The connection of handle h ready for I/O by op, or NULL with the
** failure; bytes sent or received (io) rule out TLS after them. */
static ka_netconn *ka_net_ready(ka_ctx *x, uint32_t h, const char *op, bool io, int32_t *rc) {
  ka_netconn *c = ka_net_conn(x, h, op, rc);
  if (c && c->broken) {
    *rc = ka_fail_call(x, KRAIT_E_INVAL, "%s: connection %u: its TLS handshake failed; close it", op, h);
    return NULL;
  }
  if (c && io) c->tls_tried = true;
  return c;
}

/* net.send: req u32 handle, u32 timeout_ms, the bytes; result u32 sent. */
static int32_t ka_net_do_send(ka_ctx *x, ku_cursor *in, ka_out *out) {
  ka_net_io r;
  int32_t rc = 0;
  char err[KO_ERR_SIZE] = "";
  ka_net_decode_send(in, &r);
  ka_netconn *c = ka_net_ready(x, r.handle, "net.send", true, &rc);
  if (!c) return rc;
  uint64_t d = ka_net_deadline(x, r.timeout_ms);
  int ok = c->tls ? ko_tls_send(c->tls, r.data, r.len, d, err, sizeof err) : ko_sock_send(c->fd, r.data, r.len, d);
  if (ok != 0) return ka_net_io_fail(x, "net.send", c, errno, r.timeout_ms, err);
  uint32_t n = (uint32_t)r.len;
  ka_out_put(out, &n, 4);
  return 0;
}

/* net.recv: req u32 handle, u32 max, u32 timeout_ms; result the bytes
** (empty: the peer closed), within the request's max_outbound_mb. */
static int32_t ka_net_do_recv(ka_ctx *x, ku_cursor *in, ka_out *out) {
  ka_net_io r;
  int32_t rc = 0;
  char err[KO_ERR_SIZE] = "";
  ka_net_decode_recv(in, &r);
  ka_netconn *c = ka_net_ready(x, r.handle, "net.recv", true, &rc);
  if (!c) return rc;
  size_t cap = r.max;
  if (x->net.max_bytes && x->net.received >= x->net.max_bytes)
    return ka_fail_call(x, KRAIT_E_TOOBIG, "net.recv: this request received %llu MiB, the most "
                        KO_KEY_MB " (in [app.limits]) allows", (unsigned long long)(x->net.max_bytes >> 20));
  if (x->net.max_bytes && cap > x->net.max_bytes - x->net.received) cap = (size_t)(x->net.max_bytes - x->net.received);
  uint8_t *buf = ku_malloc(cap);
  if (!buf) return ka_fail_call(x, KRAIT_E_TOOBIG, "net.recv: out of memory");
  uint64_t d = ka_net_deadline(x, r.timeout_ms);
  long got = c->tls ? ko_tls_recv(c->tls, buf, cap, d, err, sizeof err) : ko_sock_recv(c->fd, buf, cap, d);
  int e = errno;
  if (got > 0) {
    x->net.received += (uint64_t)got;
    ka_out_put(out, buf, (size_t)got);
  }
  ku_free(buf);
  return got < 0 ? ka_net_io_fail(x, "net.recv", c, e, r.timeout_ms, err) : 0;
}

/* net.poll: req u32 handle, u32 timeout_ms (0: just look); result u32 1
** when a recv would not block, else 0. */
static int32_t ka_net_do_poll(ka_ctx *x, ku_cursor *in, ka_out *out) {
  ka_net_io r;
  int32_t rc = 0;
  char err[KO_ERR_SIZE] = "";
  ka_net_decode_poll(in, &r);
  ka_netconn *c = ka_net_ready(x, r.handle, "net.poll", false, &rc);
  if (!c) return rc;
  uint64_t d = r.timeout_ms ? ka_net_deadline(x, r.timeout_ms) : 1;   /* 1: already past */
  int ready = c->tls ? ko_tls_poll(c->tls, d) : ko_sock_wait(c->fd, POLLIN, d);
  if (ready < 0) return ka_net_io_fail(x, "net.poll", c, errno, r.timeout_ms, err);
  uint32_t v = ready > 0;
  ka_out_put(out, &v, 4);
  return 0;
}

/* net.shutdown: req u32 handle, u32 how; result empty. */
int32_t ka_net_op_shutdown(ka_ctx *x, ku_cursor *in, ka_out *out) {
  static const int how[] = { SHUT_RD, SHUT_WR, SHUT_RDWR };
  ka_net_io r;
  int32_t rc = 0;
  (void)out;
  ka_net_decode_shutdown(in, &r);
  ka_netconn *c = ka_net_conn(x, r.handle, "net.shutdown", &rc);
  if (!c) return rc;
  if (c->tls && r.how != 0) ko_tls_shutdown(c->tls);
  if (shutdown(c->fd, how[r.how]) != 0) return ka_net_errno(x, "net.shutdown", errno, &c->peer, c->port);
  return 0;
}

/* net.close: req u32 handle; result empty (an unknown handle: E_INVAL). */
int32_t ka_net_op_close(ka_ctx *x, ku_cursor *in, ka_out *out) {
  ka_net_io r;
  int32_t rc = 0;
  (void)out;
  ka_net_decode_close(in, &r);
  ka_netconn *c = ka_net_conn(x, r.handle, "net.close", &rc);
  if (!c) return rc;
  ka_net_drop(&x->net, c);
  return 0;
}

/* The operations that wait, each one's time charged to the request. */
int32_t ka_net_op_connect(ka_ctx *x, ku_cursor *in, ka_out *out) { return ka_net_timed(x, in, out, ka_net_do_connect); }
int32_t ka_net_op_tls(ka_ctx *x, ku_cursor *in, ka_out *out) { return ka_net_timed(x, in, out, ka_net_do_tls); }
int32_t ka_net_op_send(ka_ctx *x, ku_cursor *in, ka_out *out) { return ka_net_timed(x, in, out, ka_net_do_send); }
int32_t ka_net_op_recv(ka_ctx *x, ku_cursor *in, ka_out *out) { return ka_net_timed(x, in, out, ka_net_do_recv); }
int32_t ka_net_op_poll(ka_ctx *x, ku_cursor *in, ka_out *out) { return ka_net_timed(x, in, out, ka_net_do_poll); }
