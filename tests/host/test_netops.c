/*
** tests/host/test_netops.c -- the net.* operations (src/app/netreq.c,
** netops.c) and the sockets and names under them (src/net/sock.c, pin.c):
** payload decoding, limits, denials with no connection made, deadlines,
** TLS failures, all on real loopback sockets. No python.wasm.
*/
#include "test.h"
#include "app/app_internal.h"
#include "../../python/c/krait_abi.h"
#include "platform/platform.h"
#include <arpa/inet.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

/* A payload being built. */
typedef struct t_buf { uint8_t b[4096]; size_t n; } t_buf;
static void t_u32(t_buf *p, uint32_t v) { memcpy(p->b + p->n, &v, 4); p->n += 4; }
static void t_raw(t_buf *p, const void *s, size_t n) { memcpy(p->b + p->n, s, n); p->n += n; }
static void t_str(t_buf *p, const char *s) { t_u32(p, (uint32_t)strlen(s)); t_raw(p, s, strlen(s)); }

/* A listening loopback socket; its port in *port. */
static int t_listen(uint16_t *port) {
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
  socklen_t len = sizeof a;
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 64) != 0) return -1;
  getsockname(fd, (struct sockaddr *)&a, &len);
  *port = ntohs(a.sin_port);
  return fd;
}

/* Whether a connection waits on listener fd (none is accepted). */
static bool t_pending(int fd) {
  struct pollfd p = { .fd = fd, .events = POLLIN };
  return poll(&p, 1, 50) > 0;
}

/* A port nobody listens on (bound, then closed). */
static uint16_t t_closed_port(void) {
  uint16_t port;
  close(t_listen(&port));
  return port;
}

/* Runs op on payload p as bindings.c does (malformed: E_INVAL with the
** cursor's message); the result in out. */
static int32_t t_op(ka_ctx *x, ka_op_fn op, const t_buf *p, ka_out *out) {
  char msg[160];
  ku_fail fail = { .msg = msg, .cap = sizeof msg };
  ku_cursor c = { p->b, p->b + p->n, p->b, "t", &fail };
  memset(out, 0, sizeof *out);
  if (setjmp(fail.jb)) { snprintf(x->error, sizeof x->error, "malformed: %s", msg); return KRAIT_E_INVAL; }
  return op(x, &c, out);
}

/* A request context with allow-list entries es (NULL-terminated). */
static ko_allow t_allow;
static ka_ctx t_x;
static void t_ctx(const char *const *es, uint32_t opened, uint32_t open, uint64_t bytes) {
  char err[KO_ERR_SIZE];
  ka_net_end(&t_x.net);        /* the previous test's, if any */
  ko_allow_free(&t_allow);
  ko_allow_init(&t_allow, KO_FROM_MANIFEST);
  for (; es && *es; es++) ko_allow_add(&t_allow, *es, strlen(*es), err, sizeof err);
  memset(&t_x, 0, sizeof t_x);
  ka_net_begin(&t_x.net, &t_allow, false, opened, open, bytes);
}

/* A listening loopback socket (its port in *port) and a request context
** (t_ctx's limits) granted "tcp://127.0.0.1:PORT" and also (NULL: none). */
static int t_granted(uint16_t *port, const char *also, uint32_t opened, uint32_t open, uint64_t bytes) {
  char entry[64];
  int l = t_listen(port);
  snprintf(entry, sizeof entry, "tcp://127.0.0.1:%u", (unsigned)*port);
  const char *es[] = { entry, also, NULL };
  t_ctx(es, opened, open, bytes);
  return l;
}

/* The payload of net.tls on handle h. */
static t_buf t_tls_req(uint32_t h, const char *name, uint32_t flags, const char *alpn, uint32_t timeout_ms) {
  t_buf p = { .n = 0 };
  t_u32(&p, h);
  t_str(&p, name);
  t_u32(&p, flags);
  t_str(&p, alpn);
  t_u32(&p, timeout_ms);
  return p;
}

/* The payload of net.send on handle h: the bytes of text. */
static t_buf t_send_req(uint32_t h, const char *text) {
  t_buf p = { .n = 0 };
  t_u32(&p, h);
  t_u32(&p, 2000);
  t_raw(&p, text, strlen(text));
  return p;
}

/* net.connect to host:port: its handle (0 on failure, the code in *rc). */
static uint32_t t_connect(const char *host, uint16_t port, int32_t *rc) {
  t_buf p = { .n = 0 };
  ka_out out;
  uint32_t h = 0;
  t_str(&p, host);
  t_u32(&p, port);
  t_u32(&p, 2000);
  *rc = t_op(&t_x, ka_net_op_connect, &p, &out);
  if (*rc == 0 && out.len >= 4) memcpy(&h, out.p, 4);
  ku_free(out.p);
  return h;
}

/* net.<op> on handle h with the u32s vs (n of them). */
static int32_t t_hop(ka_op_fn op, uint32_t h, const uint32_t *vs, int n, ka_out *out) {
  t_buf p = { .n = 0 };
  t_u32(&p, h);
  for (int i = 0; i < n; i++) t_u32(&p, vs[i]);
  return t_op(&t_x, op, &p, out);
}

/* Decodes p as operation kind ('c'onnect, 't'ls, 's'end, 'r'ecv,
** s'h'utdown) into out: whether it was accepted (else why in t_msg). */
static char t_msg[160];
static bool t_decode(char kind, const t_buf *p, void *out) {
  ku_fail fail = { .msg = t_msg, .cap = sizeof t_msg };
  ku_cursor c = { p->b, p->b + p->n, p->b, "t", &fail };
  if (setjmp(fail.jb)) return false;
  switch (kind) {
  case 'c': ka_net_decode_connect(&c, out); break;
  case 't': ka_net_decode_tls(&c, out); break;
  case 's': ka_net_decode_send(&c, out); break;
  case 'r': ka_net_decode_recv(&c, out); break;
  default: ka_net_decode_shutdown(&c, out); break;
  }
  return true;
}

/* The decoders: fields, ranges, ALPN wire format, leftovers. */
static void test_decode(void) {
  const char *msg = t_msg;
  ka_net_connect c;
  ka_net_tls t;
  ka_net_io io;
  static const struct { const char *host; uint32_t port; int extra; bool ok; } conn[] = {
    { "api.example.com", 443, 0, true }, { "::1", 80, 0, true }, { "127.0.0.1", 65535, 0, true },
    { "evil.com@127.0.0.1", 80, 0, false }, { "a/b", 80, 0, false }, { "", 80, 0, false },
    { "h", 0, 0, false }, { "h", 65536, 0, false }, { "h", 80, 1, false }, { "a\nb", 80, 0, false },
  };
  for (size_t i = 0; i < KU_COUNT(conn); i++) {
    t_buf p = { .n = 0 };
    t_str(&p, conn[i].host);
    t_u32(&p, conn[i].port);
    t_u32(&p, 5);
    if (conn[i].extra) t_raw(&p, "x", 1);
    bool ok = t_decode('c', &p, &c);
    if (ok != conn[i].ok) printf("  connect %s: %s\n", conn[i].host, ok ? "accepted" : msg);
    CHECK(ok == conn[i].ok);
    if (ok) { CHECK_STR(c.host, conn[i].host); CHECK_INT(c.port, conn[i].port); CHECK_INT(c.timeout_ms, 5); }
  }
  t_buf over = { .n = 0 };           /* a length past the payload's end */
  t_u32(&over, 200);
  t_raw(&over, "abc", 3);
  CHECK(!t_decode('c', &over, &c));
  static const struct { const char *alpn; uint32_t flags; const char *name; bool ok; size_t wire; } tls[] = {
    { "h2,http/1.1", 3, "x.example", true, 12 }, { "", 0, "", true, 0 }, { "", 1, "", true, 0 },
    { ",", 3, "x", false, 0 }, { "h2,", 3, "x", false, 0 }, { "", 2, "x", false, 0 },
    { "", 3, "", false, 0 }, { "", 4, "x", false, 0 },
  };
  for (size_t i = 0; i < KU_COUNT(tls); i++) {
    t_buf p = { .n = 0 };
    t_u32(&p, 1);
    t_str(&p, tls[i].name);
    t_u32(&p, tls[i].flags);
    t_str(&p, tls[i].alpn);
    t_u32(&p, 0);
    bool ok = t_decode('t', &p, &t);
    if (ok != tls[i].ok) printf("  tls %s/%u: %s\n", tls[i].alpn, tls[i].flags, ok ? "accepted" : msg);
    CHECK(ok == tls[i].ok);
    if (ok) CHECK_INT(t.alpn_len, tls[i].wire);
  }
  CHECK(!memcmp(t.alpn, "", 0));
  char longalpn[300];
  memset(longalpn, 'a', sizeof longalpn - 1);
  longalpn[299] = '\0';
  t_buf lp = { .n = 0 };
  t_u32(&lp, 1);
  t_str(&lp, "x");
  t_u32(&lp, 0);
  t_str(&lp, longalpn);
  t_u32(&lp, 0);
  CHECK(!t_decode('t', &lp, &t));
  CHECK_CONTAINS(msg, "alpn is 299 bytes; at most 255");
  static const uint32_t recv_max[][2] = { { 1, 1 }, { KA_NET_RECV_MAX, 1 }, { 0, 0 }, { KA_NET_RECV_MAX + 1, 0 } };
  for (size_t i = 0; i < KU_COUNT(recv_max); i++) {
    t_buf p = { .n = 0 };
    t_u32(&p, 1);
    t_u32(&p, recv_max[i][0]);
    t_u32(&p, 0);
    CHECK_INT(t_decode('r', &p, &io), recv_max[i][1]);
  }
  t_buf sp = { .n = 0 };
  t_u32(&sp, 7);
  t_u32(&sp, 9);
  t_raw(&sp, "payload", 7);
  CHECK(t_decode('s', &sp, &io));
  CHECK_INT(io.handle, 7);
  CHECK_INT(io.timeout_ms, 9);
  CHECK_INT(io.len, 7);
  CHECK(!memcmp(io.data, "payload", 7));
  for (uint32_t how = 0; how < 4; how++) {
    t_buf p = { .n = 0 };
    t_u32(&p, 1);
    t_u32(&p, how);
    CHECK_INT(t_decode('h', &p, &io), how <= 2);
  }
}

/* Sockets: connect in order to the first address that answers, a round
** trip, a refused port's errno, a receive ended by its deadline. */
static void test_sock(void) {
  uint16_t port;
  int l = t_listen(&port);
  CHECK(l >= 0);
  ko_dest d = { .n = 2, .port = port };
  ko_addr_parse("127.0.0.2", 9, &d.addr[0]);   /* loopback too, but nobody listens there */
  ko_addr_parse("127.0.0.1", 9, &d.addr[1]);
  ko_addr peer;
  int fd = ko_sock_connect(&d, kp_monotonic_ns() + 2000000000ull, &peer);
  CHECK(fd >= 0);
  char text[KO_ADDR_TEXT];
  CHECK_STR(ko_addr_text(&peer, text), "127.0.0.1");
  int s = accept(l, NULL, NULL);
  CHECK(s >= 0);
  CHECK_INT(ko_sock_send(fd, "ping", 4, 0), 0);
  char buf[16];
  CHECK_INT(recv(s, buf, sizeof buf, 0), 4);
  CHECK_INT(send(s, "pong!", 5, 0), 5);
  CHECK_INT(ko_sock_recv(fd, buf, sizeof buf, kp_monotonic_ns() + 2000000000ull), 5);
  CHECK(!memcmp(buf, "pong!", 5));
  uint64_t t0 = kp_monotonic_ns();
  errno = 0;
  CHECK_INT(ko_sock_recv(fd, buf, sizeof buf, t0 + 150000000ull), -1);
  CHECK_INT(errno, ETIME);
  uint64_t ms = (kp_monotonic_ns() - t0) / 1000000;
  CHECK(ms >= 140 && ms < 1000);
  CHECK_INT(ko_sock_wait(fd, POLLIN, 1), 0);   /* a past deadline: just looks */
  close(s);
  CHECK_INT(ko_sock_recv(fd, buf, sizeof buf, 0), 0);   /* the peer closed */
  close(fd);
  close(l);
  ko_dest r = { .n = 1, .port = t_closed_port() };
  ko_addr_parse("127.0.0.1", 9, &r.addr[0]);
  errno = 0;
  CHECK_INT(ko_sock_connect(&r, 0, &peer), -1);
  CHECK_INT(errno, ECONNREFUSED);
}

/* --resolve: values checked; pinned names go through the address policy. */
static void test_pin(void) {
  char err[KO_ERR_SIZE];
  ko_pin_clear();
  ko_addr got[4];
  CHECK_INT(ko_pin_add("API.Test.Example:127.0.0.1", err, sizeof err), 0);
  CHECK_INT(ko_pin_add("api.test.example:::1", err, sizeof err), 0);
  CHECK_INT(ko_pin_add("meta.test:169.254.169.254", err, sizeof err), 0);
  CHECK_INT(ko_pin_add("pub.test:93.184.216.34", err, sizeof err), 0);
  CHECK_INT(ko_pin_add("dot.test.:10.0.0.9", err, sizeof err), 0);   /* as the URL's host */
  CHECK_INT(ko_pin_find("dot.test", got, 4), 1);
  CHECK_INT(ko_pin_add("nocolon", err, sizeof err), -1);
  CHECK_CONTAINS(err, "expected NAME:ADDR");
  CHECK_INT(ko_pin_add("a b:1.2.3.4", err, sizeof err), -1);
  CHECK_INT(ko_pin_add("x.test:[::1]", err, sizeof err), -1);
  CHECK_CONTAINS(err, "not an IPv4 or IPv6 address");
  CHECK_INT(ko_pin_find("api.test.example", got, 4), 2);
  CHECK_INT(got[1].family, 6);
  ko_allow a;
  ko_allow_init(&a, KO_FROM_CLI);
  CHECK_INT(ko_allow_flag(&a, "*", err, sizeof err), 0);
  ko_url u;
  ko_dest d;
  ko_denial why;
  const char *tries[] = { "tcp://api.test.example:80", "tcp://meta.test:80", "tcp://pub.test:80" };
  ko_verdict want[] = { KO_DENIED_ADDR, KO_DENIED_ADDR, KO_ALLOWED };
  for (int i = 0; i < 3; i++) {
    CHECK_INT(ko_url_parse(tries[i], strlen(tries[i]), &u, err, sizeof err), 0);
    CHECK_INT(ko_resolve(&a, &u, 0, &d, &why), want[i]);
  }
  CHECK_STR(ko_addr_text(&d.addr[0], err), "93.184.216.34");
  CHECK_INT(ko_allow_flag(&a, "127.0.0.1", err, sizeof err), 0);
  CHECK_INT(ko_url_parse(tries[0], strlen(tries[0]), &u, err, sizeof err), 0);
  CHECK_INT(ko_resolve(&a, &u, 0, &d, &why), KO_ALLOWED);   /* ::1 is still refused */
  CHECK_INT(d.n, 1);
  ko_allow_free(&a);
  ko_pin_clear();
  CHECK_INT(ko_pin_find("api.test.example", got, 4), 0);
}

/* A denied destination: E_DENIED with the policy's message and no
** connection attempt at all; an empty list; an unlisted scheme. */
static void test_denied(void) {
  uint16_t port;
  int l = t_listen(&port);
  char entry[64];
  snprintf(entry, sizeof entry, "tcp://127.0.0.1:%u", (unsigned)(port + 1));
  const char *es[] = { entry, "postgres://127.0.0.1", NULL };
  t_ctx(es, 0, 4, 0);
  int32_t rc;
  CHECK_INT(t_connect("127.0.0.1", port, &rc), 0);
  CHECK_INT(rc, KRAIT_E_DENIED);
  CHECK_CONTAINS(t_x.error, "no entry of allowed_outbound_hosts allows it");
  CHECK_INT(t_connect("127.0.0.1", 5432, &rc), 0);   /* a postgres entry does not grant TCP */
  CHECK_INT(rc, KRAIT_E_DENIED);
  CHECK(!t_pending(l));
  CHECK_INT(t_x.net.opened, 0);
  t_ctx(NULL, 0, 4, 0);
  CHECK_INT(t_connect("127.0.0.1", port, &rc), 0);
  CHECK_INT(rc, KRAIT_E_DENIED);
  CHECK_CONTAINS(t_x.error, "the app has no allowed_outbound_hosts");
  t_x.net.cli = true;
  ko_allow cli;
  ko_allow_init(&cli, KO_FROM_CLI);
  t_x.net.allow = &cli;
  CHECK_INT(t_connect("127.0.0.1", port, &rc), 0);
  CHECK_CONTAINS(t_x.error, "granted with --allow-net");
  CHECK(!t_pending(l));
  ko_allow_free(&cli);
  /* a long denial arrives whole (the guest reads up to 511 bytes) */
  static const char name[] = "a-rather-long-service-name.with-several-labels.internal-zone.test.example";
  char entry2[200], pin[200];
  snprintf(entry2, sizeof entry2, "https://%s:%u", name, (unsigned)port);
  snprintf(pin, sizeof pin, "%s:127.0.0.1", name);
  const char *es2[] = { entry2, NULL };
  t_ctx(es2, 0, 4, 0);
  ko_pin_clear();
  CHECK_INT(ko_pin_add(pin, t_x.error, sizeof t_x.error), 0);
  CHECK_INT(t_connect(name, port, &rc), 0);
  ko_pin_clear();
  CHECK_INT(rc, KRAIT_E_DENIED);
  size_t n = strlen(t_x.error);
  CHECK(n > 255 && n < 511);
  CHECK_CONTAINS(t_x.error, "resolves to a loopback address");
  CHECK(!strstr(t_x.error, "127.0.0.1"));   /* the app's log has it, not the guest */
  CHECK(!strcmp(t_x.error + n - 25, " (the app's log names it)"));
  CHECK(!t_pending(l));
  close(l);
  ka_net_end(&t_x.net);
}

/* The limits: opened per request, open at once, bytes received; every
** connection closed at the end (the peer sees EOF). */
static void test_limits(void) {
  uint16_t port;
  int l = t_granted(&port, NULL, 3, 2, 10);
  int32_t rc;
  ka_out out;
  uint32_t h1 = t_connect("127.0.0.1", port, &rc), h2 = t_connect("127.0.0.1", port, &rc);
  CHECK(h1 && h2 && h1 != h2);
  CHECK_INT(t_connect("127.0.0.1", port, &rc), 0);
  CHECK_INT(rc, KRAIT_E_TOOBIG);
  CHECK_CONTAINS(t_x.error, "2 outbound connections are open at once");
  CHECK_INT(t_hop(ka_net_op_close, h1, NULL, 0, &out), 0);
  CHECK_INT(t_hop(ka_net_op_close, h1, NULL, 0, &out), KRAIT_E_INVAL);   /* twice */
  CHECK_CONTAINS(t_x.error, "no open connection");
  uint32_t next = t_x.net.next_handle;
  t_x.net.next_handle = UINT32_MAX;                                  /* no wrap to handle 0 */
  CHECK_INT(t_connect("127.0.0.1", port, &rc), 0);
  CHECK_INT(rc, KRAIT_E_TOOBIG);
  CHECK_CONTAINS(t_x.error, "no handles left");
  t_x.net.next_handle = next;
  uint32_t h3 = t_connect("127.0.0.1", port, &rc);
  CHECK(h3 && h3 != h1);                                             /* handles are not reused */
  CHECK_INT(t_hop(ka_net_op_close, h3, NULL, 0, &out), 0);
  CHECK_INT(t_connect("127.0.0.1", port, &rc), 0);
  CHECK_INT(rc, KRAIT_E_TOOBIG);
  CHECK_CONTAINS(t_x.error, "already opened 3 outbound connections, the most max_outbound_connections");
  int a1 = accept(l, NULL, NULL), a2 = accept(l, NULL, NULL), a3 = accept(l, NULL, NULL);
  CHECK(a1 >= 0 && a2 >= 0 && a3 >= 0);
  CHECK_INT(send(a2, "0123456789abcdefghij", 20, 0), 20);
  uint32_t rq[] = { 100, 2000 };
  CHECK_INT(t_hop(ka_net_op_recv, h2, rq, 2, &out), 0);
  CHECK_INT(out.len, 10);                                            /* capped at the budget */
  ku_free(out.p);
  CHECK_INT(t_hop(ka_net_op_recv, h2, rq, 2, &out), KRAIT_E_TOOBIG);
  CHECK_CONTAINS(t_x.error, "max_outbound_mb");
  ka_net_end(&t_x.net);                                              /* h2 still open */
  char c;
  struct timeval tv = { .tv_sec = 2 };
  setsockopt(a2, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  errno = 0;
  long r = recv(a2, &c, 1, 0);   /* EOF, or a reset: h2 closed with bytes unread */
  CHECK(r == 0 || (r < 0 && errno == ECONNRESET));
  CHECK_INT(t_x.net.open, 0);
  close(a1);
  close(a2);
  close(a3);
  close(l);
}

/* Deadlines: the request's ends an operation with no timeout of its own;
** an op's own timeout; a refused connect is E_NET with errno's name. */
static void test_deadline(void) {
  uint16_t port, closed = t_closed_port();
  char entry2[64];
  snprintf(entry2, sizeof entry2, "tcp://127.0.0.1:%u", (unsigned)closed);
  int l = t_granted(&port, entry2, 0, 4, 0);
  int32_t rc;
  ka_out out;
  uint32_t h = t_connect("127.0.0.1", port, &rc);
  CHECK(h);
  uint64_t t0 = kp_monotonic_ns();
  t_x.deadline = t0 + 200000000ull;
  uint32_t rq[] = { 10, 0 };
  CHECK_INT(t_hop(ka_net_op_recv, h, rq, 2, &out), KRAIT_E_TIMEOUT);
  CHECK_CONTAINS(t_x.error, "the request's deadline passed");
  uint64_t ms = (kp_monotonic_ns() - t0) / 1000000;
  CHECK(ms >= 190 && ms < 1500);
  uint32_t before = t_x.net.opened;                  /* past the deadline: no attempt */
  CHECK_INT(t_connect("127.0.0.1", port, &rc), 0);
  CHECK_INT(rc, KRAIT_E_TIMEOUT);
  CHECK_INT(t_x.net.opened, before);
  t_x.deadline = 0;
  uint32_t rq2[] = { 10, 100 };
  CHECK_INT(t_hop(ka_net_op_recv, h, rq2, 2, &out), KRAIT_E_TIMEOUT);
  CHECK_CONTAINS(t_x.error, "timed out after 100 ms");
  t_x.net.wait_max_ms = 120;   /* no deadline, no timeout of its own: capped */
  t0 = kp_monotonic_ns();
  CHECK_INT(t_hop(ka_net_op_recv, h, rq, 2, &out), KRAIT_E_TIMEOUT);
  CHECK_CONTAINS(t_x.error, "timed out after 120 ms, the longest one wait may take in an app without timeout_ms");
  ms = (kp_monotonic_ns() - t0) / 1000000;
  CHECK(ms >= 110 && ms < 1500);
  CHECK_INT(KA_NET_WAIT_MAX_MS, 30000);
  ka_net_end(&t_x.net);
  ka_net_begin(&t_x.net, &t_allow, false, 0, 4, 0);
  CHECK_INT(t_x.net.wait_max_ms, KA_NET_WAIT_MAX_MS);
  ka_net_begin(&t_x.net, &t_allow, true, 0, 4, 0);
  CHECK_INT(t_x.net.wait_max_ms, 0);                 /* krait python: as the guest sets */
  t_x.net.cli = false;
  t_x.net.wait_max_ms = 120;
  h = t_connect("127.0.0.1", port, &rc);
  CHECK(h);
  uint32_t pq[] = { 0 };
  CHECK_INT(t_hop(ka_net_op_poll, h, pq, 1, &out), 0);
  CHECK_INT(out.len, 4);
  CHECK_INT(out.p[0], 0);
  ku_free(out.p);
  CHECK_INT(t_connect("127.0.0.1", closed, &rc), 0);
  CHECK_INT(rc, KRAIT_E_NET);
  char want[96];
  snprintf(want, sizeof want, "ECONNREFUSED: net.connect 127.0.0.1:%u: Connection refused", (unsigned)closed);
  if (strcmp(t_x.error, want) != 0) printf("  got: %s\n", t_x.error);
  CHECK(strcmp(t_x.error, want) == 0);
  ka_net_end(&t_x.net);
  close(l);
}

/* Name resolution is bounded by the deadline: a lookup already past it
** is not made (KO_TIMED_OUT at once); net.connect with its time spent
** times out before any lookup or connection attempt, also for an address
** literal; names are asked for fully qualified (no search domains). */
static void test_lookup_deadline(void) {
  ko_allow a;
  ko_url u;
  ko_dest d;
  ko_denial why;
  char err[KO_ERR_SIZE], msg[KO_ERR_SIZE], name[KO_HOST_MAX + 2];
  ko_allow_init(&a, KO_FROM_MANIFEST);
  CHECK_INT(ko_allow_add(&a, "tcp://*:*", 9, err, sizeof err), 0);
  static const char url[] = "tcp://needs-dns.krait-test.example:80";
  CHECK_INT(ko_url_parse(url, strlen(url), &u, err, sizeof err), 0);
  uint64_t t0 = kp_monotonic_ns();
  CHECK_INT(ko_resolve(&a, &u, 1, &d, &why), KO_TIMED_OUT);
  CHECK((kp_monotonic_ns() - t0) / 1000000 < 50);
  CHECK_INT(d.n, 0);
  ko_deny_format(&a, &why, msg, sizeof msg);
  CHECK_CONTAINS(msg, "resolving needs-dns.krait-test.example timed out");
  ko_addr found[4];                          /* however the resolver answers: in time */
  t0 = kp_monotonic_ns();
  int n = ko_lookup("krait-test.invalid", t0 + 100000000ull, found, 4, err, sizeof err);
  CHECK(n == -1 || n == KO_LOOKUP_TIMEOUT);
  CHECK((kp_monotonic_ns() - t0) / 1000000 < 1000);
  CHECK_STR(ko_lookup_name("api.example.com", name, sizeof name), "api.example.com.");
  CHECK_STR(ko_lookup_name("localhost", name, sizeof name), "localhost");
  /* a name only /etc/hosts knows (glibc does not match it with a trailing
  ** dot) still resolves: asked again as given when the full name does not
  ** exist. Debian's /etc/hosts names ip6-localhost; most machines' name
  ** their own host name. */
  char host[256] = "ip6-localhost";
  struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res = NULL;
  bool known = getaddrinfo(host, NULL, &hints, &res) == 0;
  if (!known && gethostname(host, sizeof host - 1) == 0 && !strchr(host, '.'))
    known = getaddrinfo(host, NULL, &hints, &res) == 0;
  if (known) {
    freeaddrinfo(res);
    n = ko_lookup(host, 0, found, 4, err, sizeof err);
    CHECK(n >= 1);
  } else
    printf("  (neither ip6-localhost nor the host name resolves: the /etc/hosts check is skipped)\n");
  ko_allow_free(&a);
  uint16_t port;
  int l = t_granted(&port, "tcp://*.krait-test.example:*", 0, 4, 0);
  t_x.net.waited_ns = (uint64_t)t_x.net.wait_total_ms * 1000000u;   /* all spent */
  int32_t rc;
  CHECK_INT(t_connect("needs-dns.krait-test.example", 80, &rc), 0);
  CHECK_INT(rc, KRAIT_E_TIMEOUT);
  CHECK_INT(t_connect("127.0.0.1", port, &rc), 0);    /* checked again before connect() */
  CHECK_INT(rc, KRAIT_E_TIMEOUT);
  CHECK_INT(t_x.net.opened, 0);
  CHECK(!t_pending(l));
  close(l);
  ka_net_end(&t_x.net);
}

/* An app without timeout_ms: its request's net.* waits are KA_NET_WAIT_TOTAL_MS
** in all (here 300 ms), each at most wait_max_ms (here 200 ms). */
static void test_budget(void) {
  uint16_t port;
  int l = t_granted(&port, NULL, 0, 4, 0);
  CHECK_INT(t_x.net.wait_total_ms, KA_NET_WAIT_TOTAL_MS);
  CHECK_INT(KA_NET_WAIT_TOTAL_MS, 60000);
  t_x.net.wait_total_ms = 300;
  t_x.net.wait_max_ms = 200;
  int32_t rc;
  ka_out out;
  uint32_t h = t_connect("127.0.0.1", port, &rc);
  CHECK(h);
  uint32_t rq[] = { 10, 0 };
  uint64_t t0 = kp_monotonic_ns();
  CHECK_INT(t_hop(ka_net_op_recv, h, rq, 2, &out), KRAIT_E_TIMEOUT);
  CHECK_CONTAINS(t_x.error, "timed out after 200 ms");
  CHECK_INT(t_hop(ka_net_op_recv, h, rq, 2, &out), KRAIT_E_TIMEOUT);
  CHECK_CONTAINS(t_x.error, "this request spent 300 ms waiting on the network");
  uint64_t ms = (kp_monotonic_ns() - t0) / 1000000;
  CHECK(ms >= 290 && ms < 1000);
  t0 = kp_monotonic_ns();
  uint32_t pq[] = { 5000 };
  CHECK_INT(t_hop(ka_net_op_poll, h, pq, 1, &out), 0);   /* spent: no more waiting */
  ku_free(out.p);
  CHECK((kp_monotonic_ns() - t0) / 1000000 < 50);
  ka_net_end(&t_x.net);
  close(l);
}

/* The wait budget the redis and postgres bindings share with net.*: a call
** ends by the request's deadline when there is one, else by call_ns or the
** budget's rest, whichever is sooner; a spent budget ends it at once. Each
** binding's connections count against max_outbound_connections. */
static void test_shared_budget(void) {
  ka_ctx x;
  memset(&x, 0, sizeof x);
  ka_net_begin(&x.net, &t_allow, false, 2, 4, 0);
  uint64_t total = (uint64_t)KA_NET_WAIT_TOTAL_MS * 1000000u, call = 30ull * 1000000000u;
  uint64_t now = kp_monotonic_ns(), end = ka_wait_end(&x, call);
  CHECK(end >= now + call && end < now + call + 1000000000u);
  x.net.waited_ns = total - 100000000u;   /* 100 ms left */
  now = kp_monotonic_ns();
  end = ka_wait_end(&x, call);
  CHECK(end >= now + 90000000u && end <= now + 110000000u);
  CHECK(!ka_wait_spent(&x));
  x.net.waited_ns = total;
  CHECK(ka_wait_end(&x, call) <= kp_monotonic_ns());
  CHECK(ka_wait_spent(&x));
  x.deadline = kp_monotonic_ns() + 5000000000u;   /* a deadline rules */
  CHECK(ka_wait_end(&x, call) == x.deadline);
  CHECK(!ka_wait_spent(&x));
  CHECK_INT(ka_net_count_open(&x, "redis.open"), 0);
  CHECK_INT(ka_net_count_open(&x, "postgres.open"), 0);
  CHECK_INT(ka_net_count_open(&x, "redis.open"), KRAIT_E_TOOBIG);
  CHECK_CONTAINS(x.error, "redis.open: this request already opened 2 outbound connections, the most "
                 "max_outbound_connections");
  ka_net_end(&x.net);
}

/* TLS against servers that do not speak it: a garbage answer fails the
** handshake (E_TLS, not "certificate verify failed"), a silent one times
** out; a failed connection takes no I/O, and TLS starts once. */
static void test_tls_failures(void) {
  uint16_t port;
  int l = t_granted(&port, NULL, 0, 4, 0);
  int32_t rc;
  ka_out out;
  uint32_t h = t_connect("127.0.0.1", port, &rc);
  int s = accept(l, NULL, NULL);
  CHECK(h && s >= 0);
  const char junk[] = "HTTP/1.0 400 Bad Request\r\n\r\nnot tls at all, not tls at all";
  CHECK_INT(send(s, junk, sizeof junk - 1, 0), (long)(sizeof junk - 1));
  t_buf p = t_tls_req(h, "x.example", 3, "", 2000);
  rc = t_op(&t_x, ka_net_op_tls, &p, &out);
  CHECK(rc == KRAIT_E_TLS || rc == KRAIT_E_NET);
  CHECK(strncmp(t_x.error, "certificate verify failed", 25) != 0);
  CHECK_INT(t_op(&t_x, ka_net_op_tls, &p, &out), KRAIT_E_INVAL);
  CHECK_CONTAINS(t_x.error, "TLS starts once");
  uint32_t rq[] = { 10, 10 };
  CHECK_INT(t_hop(ka_net_op_recv, h, rq, 2, &out), KRAIT_E_INVAL);
  CHECK_CONTAINS(t_x.error, "its TLS handshake failed");
  uint32_t h2 = t_connect("127.0.0.1", port, &rc);   /* a silent server */
  CHECK(h2);
  uint32_t pq[] = { 0 };
  CHECK_INT(t_hop(ka_net_op_poll, h2, pq, 1, &out), 0);   /* a poll does not rule out TLS */
  ku_free(out.p);
  t_buf q = t_tls_req(h2, "x.example", 3, "h2,http/1.1", 150);
  CHECK_INT(t_op(&t_x, ka_net_op_tls, &q, &out), KRAIT_E_TIMEOUT);
  CHECK_CONTAINS(t_x.error, "net.tls: timed out after 150 ms");
  ka_net_end(&t_x.net);
  close(s);
  close(l);
}

/* A self-signed certificate for "tls.test" and 127.0.0.1 (its own CA),
** its key, and the PEM file of the certificate at path. */
static X509 *t_cert;
static EVP_PKEY *t_key;
static bool t_make_cert(const char *path) {
  t_key = EVP_EC_gen("P-256");
  t_cert = X509_new();
  if (!t_key || !t_cert) return false;
  X509_set_version(t_cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(t_cert), 7);
  X509_gmtime_adj(X509_getm_notBefore(t_cert), -3600);
  X509_gmtime_adj(X509_getm_notAfter(t_cert), 86400);
  X509_set_pubkey(t_cert, t_key);
  X509_NAME *n = X509_get_subject_name(t_cert);
  X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"tls.test", -1, -1, 0);
  X509_set_issuer_name(t_cert, n);
  X509V3_CTX v;
  X509V3_set_ctx(&v, t_cert, t_cert, NULL, NULL, 0);
  const char *ext[][2] = { { "subjectAltName", "DNS:tls.test,IP:127.0.0.1" },
                           { "basicConstraints", "critical,CA:TRUE" } };
  for (int i = 0; i < 2; i++) {
    X509_EXTENSION *e = X509V3_EXT_conf(NULL, &v, ext[i][0], ext[i][1]);
    if (!e) return false;
    X509_add_ext(t_cert, e, -1);
    X509_EXTENSION_free(e);
  }
  if (!X509_sign(t_cert, t_key, EVP_sha256())) return false;
  FILE *f = fopen(path, "w");
  if (!f) return false;
  PEM_write_X509(f, t_cert);
  fclose(f);
  return true;
}

/* The TLS server: answers each of its connections' line with "pong\n". */
static int t_tls_listen;
static void *t_tls_server(void *arg) {
  SSL_CTX *c = SSL_CTX_new(TLS_server_method());
  SSL_CTX_use_certificate(c, t_cert);
  SSL_CTX_use_PrivateKey(c, t_key);
  for (intptr_t i = 0; i < (intptr_t)arg; i++) {
    int fd = accept(t_tls_listen, NULL, NULL);
    if (fd < 0) break;
    SSL *s = SSL_new(c);
    SSL_set_fd(s, fd);
    char buf[64];
    if (SSL_accept(s) == 1 && SSL_read(s, buf, sizeof buf) > 0) {
      SSL_write(s, "pong\n", 5);
      SSL_shutdown(s);
    }
    SSL_free(s);
    close(fd);
  }
  SSL_CTX_free(c);
  return NULL;
}

static int32_t t_tls(uint16_t port, const char *name, uint32_t flags, const char *alpn, uint32_t *h, ka_out *out);

/* A TLS 1.3 server that, once its handshake is done, sends KeyUpdate
** records (no data) for up to 4 s, or until its client goes away. */
static void *t_tls_flood(void *arg) {
  SSL_CTX *c = SSL_CTX_new(TLS_server_method());
  SSL_CTX_use_certificate(c, t_cert);
  SSL_CTX_use_PrivateKey(c, t_key);
  (void)arg;
  int fd = accept(t_tls_listen, NULL, NULL);
  SSL *s = SSL_new(c);
  SSL_set_fd(s, fd);
  uint64_t end = kp_monotonic_ns() + 4000000000ull;
  if (fd >= 0 && SSL_accept(s) == 1)
    while (kp_monotonic_ns() < end && SSL_key_update(s, SSL_KEY_UPDATE_NOT_REQUESTED) == 1 &&
           SSL_do_handshake(s) == 1) {}
  SSL_free(s);
  close(fd);
  SSL_CTX_free(c);
  return NULL;
}

/* A peer flooding records without data cannot hold net.recv or net.poll
** past their deadline: recv (300 ms) and a "just look" poll end in time. */
static void test_tls_flood(void) {
  uint16_t port;
  t_tls_listen = t_granted(&port, NULL, 0, 4, 0);
  pthread_t th;
  pthread_create(&th, NULL, t_tls_flood, NULL);
  uint32_t h;
  ka_out out;
  CHECK_INT(t_tls(port, "tls.test", 0, "", &h, &out), 0);
  ku_free(out.p);
  usleep(100000);              /* the flood under way */
  uint64_t t0 = kp_monotonic_ns();
  uint32_t pq[] = { 0 };
  for (int i = 0; i < 20; i++) {
    CHECK_INT(t_hop(ka_net_op_poll, h, pq, 1, &out), 0);
    ku_free(out.p);
  }
  uint64_t ms = (kp_monotonic_ns() - t0) / 1000000;
  if (ms >= 500) printf("  20 polls took %llu ms\n", (unsigned long long)ms);
  CHECK(ms < 500);
  uint32_t rq[] = { 100, 300 };
  t0 = kp_monotonic_ns();
  CHECK_INT(t_hop(ka_net_op_recv, h, rq, 2, &out), KRAIT_E_TIMEOUT);
  ms = (kp_monotonic_ns() - t0) / 1000000;
  if (ms >= 1000) printf("  recv (300 ms) took %llu ms\n", (unsigned long long)ms);
  CHECK(ms >= 290 && ms < 1000);
  ka_net_end(&t_x.net);
  pthread_join(th, NULL);
  close(t_tls_listen);
}

/* net.tls on a new connection to the test server: its code. */
static int32_t t_tls(uint16_t port, const char *name, uint32_t flags, const char *alpn, uint32_t *h, ka_out *out) {
  int32_t rc;
  *h = t_connect("127.0.0.1", port, &rc);
  if (!*h) return rc;
  t_buf p = t_tls_req(*h, name, flags, alpn, 3000);
  return t_op(&t_x, ka_net_op_tls, &p, out);
}

/* A real handshake (no ALPN selected), the certificate's fields, a round
** trip and EOF; a wrong name; the CA bundle replaced by the system store. */
static void test_tls(void) {
  char path[] = "/tmp/krait-test-tls-XXXXXX";
  int tmp = mkstemp(path);
  CHECK(tmp >= 0);
  close(tmp);
  CHECK(t_make_cert(path));
  char err[KO_ERR_SIZE];
  CHECK_INT(ko_tls_setup(path, err, sizeof err), 0);
  uint16_t port;
  t_tls_listen = t_granted(&port, NULL, 0, 4, 0);
  pthread_t th;
  pthread_create(&th, NULL, t_tls_server, (void *)(intptr_t)4);
  uint32_t h;
  ka_out out;
  CHECK_INT(t_tls(port, "tls.test", 3, "", &h, &out), 0);
  const uint8_t *r = out.p;
  uint32_t n;
  memcpy(&n, r, 4);
  CHECK(n == 7 && !memcmp(r + 4, "TLSv1.3", 7));
  size_t at = 11;
  memcpy(&n, r + at, 4);          /* cipher */
  at += 4 + n + 4;                /* and its bits */
  memcpy(&n, r + at, 4);
  CHECK_INT(n, 0);                /* no ALPN offered: none selected */
  at += 4;
  memcpy(&n, r + at, 4);          /* DER */
  CHECK(n > 100);
  at += 4 + n;
  memcpy(&n, r + at, 4);
  CHECK(n == 8 && !memcmp(r + at + 4, "tls.test", 8));
  at += 12;
  memcpy(&n, r + at, 4);
  CHECK_INT(n, 2);                /* DNS:tls.test, IP Address:127.0.0.1 */
  ku_free(out.p);
  t_buf p = t_send_req(h, "ping\n");
  CHECK_INT(t_op(&t_x, ka_net_op_send, &p, &out), 0);
  ku_free(out.p);
  uint32_t rq[] = { 100, 2000 };
  CHECK_INT(t_hop(ka_net_op_recv, h, rq, 2, &out), 0);
  CHECK(out.len == 5 && !memcmp(out.p, "pong\n", 5));
  ku_free(out.p);
  CHECK_INT(t_hop(ka_net_op_recv, h, rq, 2, &out), 0);
  CHECK_INT(out.len, 0);          /* close_notify: EOF */
  CHECK_INT(t_tls(port, "tls.test", 3, "", &h, &out), 0);
  ku_free(out.p);                 /* a peer gone before we read its close_notify: */
  int32_t src = 0;                /* sends are EPIPE (or ECONNRESET), never SIGPIPE */
  for (int i = 0; i < 8 && src == 0; i++) {
    t_buf q = t_send_req(h, "ping\n");
    src = t_op(&t_x, ka_net_op_send, &q, &out);
    ku_free(out.p);
    usleep(50000);
  }
  CHECK_INT(src, KRAIT_E_NET);
  CHECK(strstr(t_x.error, "EPIPE") || strstr(t_x.error, "ECONNRESET"));
  CHECK_INT(t_tls(port, "other.test", 3, "h2", &h, &out), KRAIT_E_TLS);
  static const char mismatch[] = "certificate verify failed: Hostname mismatch, certificate is not valid for "
                                 "'other.test'";
  if (strcmp(t_x.error, mismatch) != 0) printf("  got: %s\n", t_x.error);
  CHECK(strcmp(t_x.error, mismatch) == 0);
  CHECK_INT(ko_tls_setup(NULL, err, sizeof err), 0);
  CHECK_INT(t_tls(port, "tls.test", 3, "", &h, &out), KRAIT_E_TLS);
  CHECK_CONTAINS(t_x.error, "certificate verify failed: ");
  pthread_join(th, NULL);
  ka_net_end(&t_x.net);
  close(t_tls_listen);
  test_tls_flood();
  unlink(path);
  X509_free(t_cert);
  EVP_PKEY_free(t_key);
  CHECK_INT(ko_tls_setup("/nonexistent/ca.pem", err, sizeof err), -1);
  CHECK(!strcmp(err, "--ca-file /nonexistent/ca.pem: No such file or directory"));
}

int main(void) {
  RUN(test_decode);
  RUN(test_sock);
  RUN(test_pin);
  RUN(test_denied);
  RUN(test_limits);
  RUN(test_deadline);
  RUN(test_lookup_deadline);
  RUN(test_budget);
  RUN(test_shared_budget);
  RUN(test_tls_failures);
  RUN(test_tls);
  ka_net_end(&t_x.net);
  ko_allow_free(&t_allow);
  return t_summary();
}
