/*
** redisdb.c -- the redis binding's operations (docs/BINDINGS.md): a
** request's connections to the Redis servers its allowed_outbound_hosts
** grants, each call bounded by the deadline. Not the wire format (rediswire.c).
*/
#include <errno.h>
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "app/app_internal.h"
#include "../../python/c/krait_abi.h"
#include "platform/platform.h"
#include "util/util.h"

/* Most connections one request may have open at once. */
#define KA_REDIS_MAX_CONNS 8
/* How long one call may take in an app without a request deadline. */
#define KA_REDIS_CALL_NS (30ull * 1000000000ull)

struct ka_redisconn {
  bool open;                   /* the handle is in use */
  redisContext *c;             /* NULL once dropped after a failure */
  char broken[sizeof ((ka_ctx *)0)->error];  /* then: why (x->error) */
};

/* When the current call must be done: the request's deadline, or, without
** one, KA_REDIS_CALL_NS from now within the request's wait budget. */
static uint64_t ka_redis_end_ns(ka_ctx *x) {
  return ka_wait_end(x, KA_REDIS_CALL_NS);
}

/* The milliseconds left until end (at least 1), or 0 once it has passed. */
static int ka_redis_ms_left(uint64_t end) {
  uint64_t now = kp_monotonic_ns();
  if (now >= end) return 0;
  uint64_t ms = (end - now + 999999) / 1000000;
  return ms > INT32_MAX ? INT32_MAX : (int)ms;
}

/* E_TIMEOUT for op once end has passed, saying which time ran out. */
static int32_t ka_redis_timeout(ka_ctx *x, const char *op, const char *what) {
  if (x->deadline)
    return ka_fail_call(x, KRAIT_E_TIMEOUT, "%s: the request's deadline passed while %s (the app's "
                        "timeout_ms, %llu ms)", op, what, (unsigned long long)(x->app->timeout_ns / 1000000));
  return ka_fail_call(x, KRAIT_E_TIMEOUT, "%s: timed out while %s: an app without timeout_ms (in "
                      "[app.limits]) may wait %llu s per call and %u ms in all per request", op, what,
                      KA_REDIS_CALL_NS / 1000000000ull, x->net.wait_total_ms);
}

/* Waits until fd is ready for events or end passes: 1 ready, 0 timed out,
** -1 with errno. */
static int ka_redis_wait(int fd, short events, uint64_t end) {
  for (;;) {
    struct pollfd p = { .fd = fd, .events = events };
    int ms = ka_redis_ms_left(end);
    if (!ms) return 0;
    int n = poll(&p, 1, ms);
    if (n > 0) return 1;
    if (n < 0 && errno != EINTR) return -1;
  }
}

/* Sends buf[0..n) on fd by end. send with MSG_NOSIGNAL, so a reset peer
** is an error here, never a SIGPIPE whatever the process's disposition. */
static int32_t ka_redis_send(ka_ctx *x, int fd, const char *buf, size_t n, uint64_t end, const char *op) {
  size_t off = 0;
  while (off < n) {
    ssize_t w = send(fd, buf + off, n - off, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (w > 0) { off += (size_t)w; continue; }
    if (w < 0 && errno == EINTR) continue;
    if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
      return ka_fail_call(x, KRAIT_E_BACKEND, "%s: sending to the Redis server: %s", op, strerror(errno));
    int r = ka_redis_wait(fd, POLLOUT, end);
    if (r == 0) return ka_redis_timeout(x, op, "sending to the Redis server");
    if (r < 0) return ka_fail_call(x, KRAIT_E_BACKEND, "%s: poll: %s", op, strerror(errno));
  }
  return 0;
}

/* Receives what the server has sent into c's reader by end, counted
** against the request's max_outbound_mb. */
static int32_t ka_redis_recv(ka_ctx *x, redisContext *c, uint64_t end, const char *op) {
  char buf[16384];
  for (;;) {
    ssize_t n = recv(c->fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n == 0) return ka_fail_call(x, KRAIT_E_BACKEND, "%s: the Redis server closed the connection", op);
    if (n > 0) {
      x->net.received += (uint64_t)n;
      if (x->net.max_bytes && x->net.received > x->net.max_bytes)
        return ka_fail_call(x, KRAIT_E_TOOBIG, "%s: this request received over %llu MiB, the most "
                            KO_KEY_MB " (in [app.limits]) allows", op,
                            (unsigned long long)(x->net.max_bytes >> 20));
      if (redisReaderFeed(c->reader, buf, (size_t)n) != REDIS_OK)
        return ka_fail_call(x, KRAIT_E_TOOBIG, "%s: out of memory for the reply", op);
      return 0;
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK)
      return ka_fail_call(x, KRAIT_E_BACKEND, "%s: receiving from the Redis server: %s", op, strerror(errno));
    int r = ka_redis_wait(c->fd, POLLIN, end);
    if (r == 0) return ka_redis_timeout(x, op, "waiting for the Redis server's reply");
    if (r < 0) return ka_fail_call(x, KRAIT_E_BACKEND, "%s: poll: %s", op, strerror(errno));
  }
}

/* Reads one reply into k by end (the reader bound to k). */
static int32_t ka_redis_read(ka_ctx *x, redisContext *c, ka_redis_sink *k, uint64_t end, const char *op) {
  bool whole = false;
  for (;;) {
    int rc = ka_redis_reader_next(c->reader, k, &whole);
    if (rc == KA_REDIS_OVER)
      return ka_fail_call(x, KRAIT_E_TOOBIG, "%s: the reply is over the %u-byte limit (%u MiB) of a "
                          "result", op, KRAIT_CALL_MAX_RESULT, KRAIT_CALL_MAX_RESULT >> 20);
    if (rc == KA_REDIS_PROTOCOL)
      return ka_fail_call(x, KRAIT_E_BACKEND, "%s: the server's reply is not RESP2: %s", op, c->reader->errstr);
    if (whole) return 0;
    int32_t e = ka_redis_recv(x, c, end, op);
    if (e) return e;
  }
}

/* Sends cmd on c and reads its one reply into out, each step bounded by
** end. The command is formatted and sent here (hiredis only parses), its
** buffer wiped after (AUTH's holds the password). 0, or a KRAIT_E_* with
** x->error; after a failure c's stream is out of step and the caller
** drops it. */
static int32_t ka_redis_roundtrip(ka_ctx *x, redisContext *c, const ka_redis_cmd *cmd, uint64_t end,
                                  ka_out *out, const char *op) {
  ka_redis_sink k = { out, 0 };
  char *wire = NULL;
  long long n = redisFormatCommandArgv(&wire, cmd->argc, cmd->argv, cmd->len);
  if (n < 0 || !wire) return ka_fail_call(x, KRAIT_E_TOOBIG, "%s: out of memory for the command", op);
  int32_t sent = ka_redis_send(x, c->fd, wire, (size_t)n, end, op);
  explicit_bzero(wire, (size_t)n);
  redisFreeCommand(wire);
  if (sent) return sent;
  ka_redis_reader_bind(c->reader, &k);
  int32_t rc = ka_redis_read(x, c, &k, end, op);
  ka_redis_reader_bind(c->reader, NULL);   /* k is about to go */
  return rc;
}

/* When out holds an error reply: E_BACKEND with its message (what = the
** command, for the handshake's), else 0. */
static int32_t ka_redis_error_reply(ka_ctx *x, const ka_out *out, const char *op, const char *what) {
  uint32_t n;
  if (out->len < 5 || out->p[0] != KA_REDIS_ERROR) return 0;
  memcpy(&n, out->p + 1, 4);
  return ka_fail_call(x, KRAIT_E_BACKEND, "%s: %s%.*s", op, what, (int)(n > 200 ? 200 : n),
                      (const char *)out->p + 5);
}

/* The database of u's path ("" or "/": 0, "/N"), or -1. */
static long ka_redis_db(const char *s, const ko_url *u) {
  long db = 0;
  if (u->path_len <= 1) return 0;
  if (u->path_len > 10) return -1;
  for (size_t i = 1; i < u->path_len; i++) {
    char ch = s[u->path_at + i];
    if (ch < '0' || ch > '9') return -1;
    db = db * 10 + (ch - '0');
  }
  return db;
}

/* AUTH [user] password when the address has a password, SELECT db when
** it names one, on a new connection. */
static int32_t ka_redis_handshake(ka_ctx *x, redisContext *c, const char *s, const ko_url *u, long db,
                                  uint64_t end) {
  static const char op[] = "redis.open";
  int32_t rc = 0;
  const char *colon = u->user_len ? memchr(s + u->user_at, ':', u->user_len) : NULL;
  if (colon) {
    char *buf = ku_malloc(u->user_len + 2);
    if (!buf) return ka_fail_call(x, KRAIT_E_TOOBIG, "%s: out of memory", op);
    size_t un = (size_t)(colon - (s + u->user_at));
    /* ko_url_parse checked the userinfo's escapes; checked again here */
    size_t ul = ku_unescape(s + u->user_at, un, buf);
    size_t pl = ul == SIZE_MAX ? SIZE_MAX : ku_unescape(colon + 1, u->user_len - un - 1, buf + ul + 1);
    if (pl == SIZE_MAX) {
      explicit_bzero(buf, u->user_len + 2);
      ku_free(buf);
      return ka_fail_call(x, KRAIT_E_INVAL, "redis: invalid address: a bad %%XX escape in the credentials");
    }
    const char *argv[3] = { "AUTH", buf, buf + ul + 1 };
    size_t len[3] = { 4, ul, pl };
    ka_redis_cmd auth = { ul ? 3 : 2, argv, len };
    if (!ul) { argv[1] = argv[2]; len[1] = len[2]; }
    ka_out out = { 0 };
    rc = ka_redis_roundtrip(x, c, &auth, end, &out, op);
    if (!rc) rc = ka_redis_error_reply(x, &out, op, "AUTH failed: ");
    ku_free(out.p);
    explicit_bzero(buf, u->user_len + 2);
    ku_free(buf);
  }
  if (!rc && db) {
    char num[24];
    snprintf(num, sizeof num, "%ld", db);
    const char *argv[2] = { "SELECT", num };
    size_t len[2] = { 6, strlen(num) };
    ka_redis_cmd sel = { 2, argv, len };
    ka_out out = { 0 };
    rc = ka_redis_roundtrip(x, c, &sel, end, &out, op);
    if (!rc) rc = ka_redis_error_reply(x, &out, op, "SELECT failed: ");
    ku_free(out.p);
  }
  return rc;
}

/* A TCP socket connected to a:port by end (the address itself:
** nothing is resolved), or -1 with the reason in why (and *timed_out
** when end passed). */
static int ka_redis_dial(const ko_addr *a, uint16_t port, uint64_t end, char *why, size_t cap,
                         bool *timed_out) {
  struct sockaddr_in6 s6 = { .sin6_family = AF_INET6, .sin6_port = htons(port) };
  struct sockaddr_in s4 = { .sin_family = AF_INET, .sin_port = htons(port) };
  const struct sockaddr *sa = a->family == 4 ? (const struct sockaddr *)&s4 : (const struct sockaddr *)&s6;
  socklen_t sl = a->family == 4 ? sizeof s4 : sizeof s6;
  int fd, err = 0, ms, one = 1;
  socklen_t el = sizeof err;
  memcpy(&s4.sin_addr, a->b, 4);
  memcpy(&s6.sin6_addr, a->b, 16);
  if ((fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) < 0) {
    snprintf(why, cap, "socket: %s", strerror(errno));
    return -1;
  }
  if (connect(fd, sa, sl) != 0 && errno != EINPROGRESS) err = errno;
  while (!err) {
    struct pollfd p = { .fd = fd, .events = POLLOUT };
    if (!(ms = ka_redis_ms_left(end))) { err = ETIMEDOUT; *timed_out = true; break; }
    int n = poll(&p, 1, ms);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) err = errno;
    else if (n > 0 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) == 0 && !err) break;
    else if (n > 0 && !err) err = EIO;
  }
  if (!err && fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) != 0) err = errno;
  if (err) {
    snprintf(why, cap, "%s", strerror(err));
    close(fd);
    return -1;
  }
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

/* Connects to the first of d's checked addresses that answers (never the
** name: the sockets are made here, hiredis gets the connected one), by
** end; NULL with the reason in why. */
static redisContext *ka_redis_connect(const ko_dest *d, uint64_t end, char *why, size_t cap,
                                      bool *timed_out) {
  char reason[160];
  snprintf(why, cap, "no address");
  for (size_t i = 0; i < d->n; i++) {
    char text[KO_ADDR_TEXT];
    if (*timed_out) break;
    int fd = ka_redis_dial(&d->addr[i], d->port, end, reason, sizeof reason, timed_out);
    redisContext *c = fd >= 0 ? redisConnectFd(fd) : NULL;
    if (c && !c->err) return c;
    if (c) redisFree(c);
    else if (fd >= 0) close(fd);
    snprintf(why, cap, "%s port %u: %s", ko_addr_text(&d->addr[i], text), (unsigned)d->port,
             fd < 0 ? reason : "out of memory");
  }
  return NULL;
}

/* A free connection slot of x (the table allocated on first use), or -1. */
static int ka_redis_slot(ka_ctx *x) {
  if (!x->rconns && !(x->rconns = ku_calloc(KA_REDIS_MAX_CONNS, sizeof *x->rconns))) return -1;
  for (int i = 0; i < KA_REDIS_MAX_CONNS; i++)
    if (!x->rconns[i].open) return i;
  return -1;
}

/* E_INVAL for address s[0..n), which does not parse: the reason is the
** parser's on a copy with any userinfo as "***" (a message never shows
** a password). */
static int32_t ka_redis_bad_address(ka_ctx *x, const char *s, size_t n) {
  char err[KO_ERR_SIZE];
  const char *sep = memmem(s, n, "://", 3), *from = sep ? sep + 3 : s, *at = NULL;
  for (const char *p = from; p < s + n; p++)   /* the last '@' anywhere: a password may hold / ? # */
    if (*p == '@') at = p;
  size_t head = (size_t)(from - s), tail = at ? n - (size_t)(at - s) : 0;
  char *shown = at ? ku_malloc(head + 3 + tail) : NULL;
  if (n > KO_URL_MAX)
    snprintf(err, sizeof err, "over %d bytes", KO_URL_MAX);
  else if (!at)
    ko_url_parse(s, n, &(ko_url){ 0 }, err, sizeof err);
  else if (!shown)
    snprintf(err, sizeof err, "out of memory");
  else {
    memcpy(shown, s, head);
    memcpy(shown + head, "***", 3);
    memcpy(shown + head + 3, at, tail);
    if (ko_url_parse(shown, head + 3 + tail, &(ko_url){ 0 }, err, sizeof err) == 0)
      snprintf(err, sizeof err, "the credentials before '@' are malformed (percent-encode "
               "reserved bytes)");
  }
  ku_free(shown);
  return ka_fail_call(x, KRAIT_E_INVAL, "redis: invalid address: %s", err);
}

/* Parses address s[0..n) as redis://[user:password@]host[:port][/db]
** into u and *db; 0 or E_INVAL with the reason. */
static int32_t ka_redis_address(ka_ctx *x, const char *s, size_t n, ko_url *u, long *db) {
  char err[KO_ERR_SIZE];
  if (ko_url_parse(s, n, u, err, sizeof err) != 0)
    return ka_redis_bad_address(x, s, n);
  if (strcmp(u->scheme, "redis") != 0)
    return ka_fail_call(x, KRAIT_E_INVAL, "redis: invalid address: the scheme is \"%s\"; krait "
                        "connects to redis://[user:password@]host[:port][/db] (no TLS)", u->scheme);
  if (u->query_len)
    return ka_fail_call(x, KRAIT_E_INVAL, "redis: invalid address: query parameters are not "
                        "supported (name the database as /N)");
  if ((*db = ka_redis_db(s, u)) < 0)
    return ka_fail_call(x, KRAIT_E_INVAL, "redis: invalid address: the path must be a database "
                        "number (/N)");
  return 0;
}

/* redis.open: req the address; result u32 handle. The address must be
** allowed by the app's allowed_outbound_hosts; only its checked addresses
** are connected to. */
int32_t ka_redis_open(ka_ctx *x, ku_cursor *in, ka_out *out) {
  static const char op[] = "redis.open";
  size_t n = ku_left(in);
  const char *s = (const char *)ku_bytes(in, n);
  uint64_t end = ka_redis_end_ns(x);
  ko_url u;
  ko_dest d;
  ko_denial den;
  long db;
  char why[KO_ERR_SIZE];
  int32_t rc = ka_redis_address(x, s, n, &u, &db);
  if (rc) return rc;
  ko_verdict v = ko_resolve(&x->app->outbound, &u, end, &d, &den);
  if (v == KO_TIMED_OUT)
    return ka_fail_call(x, KRAIT_E_TIMEOUT, "%s: resolving %s timed out", op, u.host);
  if (v != KO_ALLOWED) {
    if (v == KO_DENIED_ADDR && !den.host_is_ip)   /* the guest's message names only the class */
      fprintf(x->app->log, "[%s] %s: %s resolves to %s, not in " KO_MANIFEST_KEY "\n", x->app->name, op,
              u.host, ko_addr_text(&den.addr, why));
    ko_deny_format(&x->app->outbound, &den, why, sizeof why);
    return ka_fail_call(x, KRAIT_E_DENIED, "redis: %s", why);
  }
  int slot = ka_redis_slot(x);
  if (slot < 0)
    return ka_fail_call(x, KRAIT_E_TOOBIG, "redis: %d connections are open in this request (the "
                        "limit): close one first", KA_REDIS_MAX_CONNS);
  if ((rc = ka_net_count_open(x, op)) != 0) return rc;   /* max_outbound_connections */
  bool timed_out = false;
  redisContext *c = ka_redis_connect(&d, end, why, sizeof why, &timed_out);
  if (!c && timed_out) return ka_redis_timeout(x, op, "connecting");
  if (!c) return ka_fail_call(x, KRAIT_E_BACKEND, "%s: cannot connect to %s: %s", op, u.host, why);
  if ((rc = ka_redis_handshake(x, c, s, &u, db, end)) != 0) { redisFree(c); return rc; }
  x->rconns[slot] = (struct ka_redisconn){ .open = true, .c = c };
  uint32_t h = (uint32_t)slot;
  ka_out_put(out, &h, 4);
  return 0;
}

/* The connection of handle h, or NULL with the failure in x (E_STATE: not
** open, or dropped after an earlier failure). */
static struct ka_redisconn *ka_redis_conn(ka_ctx *x, uint32_t h, const char *op) {
  struct ka_redisconn *k = x->rconns && h < KA_REDIS_MAX_CONNS && x->rconns[h].open ? &x->rconns[h] : NULL;
  if (!k)
    ka_fail_call(x, KRAIT_E_STATE, "%s: connection %u is not open (closed, or never opened in "
                 "this request)", op, h);
  else if (!k->c)
    ka_fail_call(x, KRAIT_E_STATE, "%s: the connection was closed after an earlier failure (%s)",
                 op, k->broken);
  return k && k->c ? k : NULL;
}

/* redis.command: u32 handle, then the command (ka_redis_decode); result
** its reply. An error reply fails the call with its message; a failure
** that leaves the stream out of step (deadline, limits, I/O) drops the
** connection. */
int32_t ka_redis_command(ka_ctx *x, ku_cursor *in, ka_out *out) {
  static const char op[] = "redis.command";
  uint32_t h = ku_fixed32(in);
  ka_redis_cmd cmd = { 0 };
  if (!ka_redis_decode(in, &cmd)) return ka_fail_call(x, KRAIT_E_TOOBIG, "%s: out of memory", op);
  struct ka_redisconn *k = ka_redis_conn(x, h, op);
  const char *refused = k ? ka_redis_refuse(&cmd) : NULL;
  int32_t rc = !k ? KRAIT_E_STATE
             : refused ? ka_fail_call(x, KRAIT_E_DENIED, "%s: %s is refused: it would take the "
                                      "connection out of request/reply step (docs/BINDINGS.md)",
                                      op, refused)
             : ka_redis_roundtrip(x, k->c, &cmd, ka_redis_end_ns(x), out, op);
  ka_redis_cmd_free(&cmd);
  if (rc && k && !refused) {
    snprintf(k->broken, sizeof k->broken, "%s", x->error);
    redisFree(k->c);
    k->c = NULL;
  }
  return rc ? rc : ka_redis_error_reply(x, out, "redis", "");
}

/* redis.close: closes handle h (also one dropped after a failure). */
int32_t ka_redis_close(ka_ctx *x, ku_cursor *in, ka_out *out) {
  uint32_t h = ku_fixed32(in);
  (void)out;
  if (!x->rconns || h >= KA_REDIS_MAX_CONNS || !x->rconns[h].open)
    return ka_fail_call(x, KRAIT_E_STATE, "redis.close: connection %u is not open", h);
  if (x->rconns[h].c) redisFree(x->rconns[h].c);
  x->rconns[h] = (struct ka_redisconn){ 0 };
  return 0;
}

void ka_redis_end(ka_ctx *x) {
  for (int i = 0; x->rconns && i < KA_REDIS_MAX_CONNS; i++)
    if (x->rconns[i].c) redisFree(x->rconns[i].c);
  ku_free(x->rconns);
  x->rconns = NULL;
}
