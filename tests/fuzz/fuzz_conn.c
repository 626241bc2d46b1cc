/*
** tests/fuzz/fuzz_conn.c -- libFuzzer target: byte streams through `krait serve`'s connection layer over a real socket.
** Owns: a server on a thread with one catch-all handler that records what it saw, split sends, and the check that the app saw exactly the requests the parser finds in the whole stream.
** Does not own: the server (src/serve/), the parser (src/http/) or the seeds (tests/fuzz/conn-seeds/).
*/
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdbool.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "http/http.h"
#include "serve/serve.h"

enum { MAX_HEADERS = 16, MAX_SEEN = 64, MAX_PIECES = 24 };

/* What the app saw of one request (or what the parser expects it to see):
** method, target, header lines and body, flattened. */
typedef struct seen {
  char *text;
  size_t len;
} seen;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static seen got[MAX_SEEN];
static int ngot;
static int port;
static kh_limits lim;

/* Aborts with a message: a finding. */
static void die(const char *what) {
  fprintf(stderr, "fuzz_conn: %s (errno: %s)\n", what, strerror(errno));
  abort();
}

/* Appends n bytes to a growing flat text. */
static void put(seen *s, const void *p, size_t n) {
  s->text = realloc(s->text, s->len + n + 1);
  if (!s->text) die("out of memory");
  memcpy(s->text + s->len, p, n);
  s->len += n;
}

/* Flattens a request: "M T\n" then "name: value\n" per header, "\n", body. */
static seen flatten(kh_view m, kh_view t, const kh_header *h, size_t nh, const uint8_t *body, size_t blen) {
  seen s = { NULL, 0 };
  put(&s, m.p, m.len);
  put(&s, " ", 1);
  put(&s, t.p, t.len);
  put(&s, "\n", 1);
  for (size_t i = 0; i < nh; i++) {
    put(&s, h[i].name.p, h[i].name.len);
    put(&s, ": ", 2);
    put(&s, h[i].value.p, h[i].value.len);
    put(&s, "\n", 1);
  }
  put(&s, "\n", 1);
  put(&s, body, blen);
  return s;
}

/* The catch-all handler: records the request and answers 200 "ok". */
static ks_outcome h_record(const ks_request *q, ks_response *r, void *d) {
  seen s = flatten(q->method, q->target, q->headers, q->nheaders, q->body, q->body_len);
  pthread_mutex_lock(&mu);
  if (ngot < MAX_SEEN) got[ngot++] = s;
  else free(s.text);
  pthread_mutex_unlock(&mu);
  ks_response_write(r, "ok", 2);
  return KS_OK;
}

static const ks_route ROUTES[] = { { "/...", h_record, NULL, NULL } };

static void *serve_main(void *a) {
  ks_server_run(a);
  return NULL;
}

/* Starts the server once per process: small limits so buffers grow and
** every bound is reached; short timeouts. */
static void start_server(void) {
  ks_config c;
  ks_config_default(&c);
  c.host = "127.0.0.1";
  c.port = 0;
  c.routes = ROUTES;
  c.nroutes = 1;
  kh_limits_default(&c.limits);
  c.limits.max_request_line = 512;
  c.limits.max_header_bytes = 2048;
  c.limits.max_headers = MAX_HEADERS;
  c.limits.max_body = 40000;
  c.workers = 1;
  c.head_timeout_ms = c.body_timeout_ms = 2000;
  c.idle_timeout_ms = 2000;
  c.access_log = NULL;
  lim = c.limits;
  char err[256];
  ks_server *s = ks_server_new(&c, err, sizeof err);
  if (!s) die(err);
  port = ks_server_port(s);
  pthread_t th;
  pthread_create(&th, NULL, serve_main, s);
  pthread_detach(th);
}

/* The requests the whole stream holds, in order, as the server must hand
** them to the app: complete heads with complete bodies, up to the first
** error, incomplete request or request that closes the connection. */
static int expected(const uint8_t *data, size_t n, seen *out) {
  static kh_header hdrs[MAX_HEADERS + 1];
  uint8_t *buf = malloc(n + 1);
  memcpy(buf, data, n);
  size_t pos = 0;
  int k = 0;
  while (k < MAX_SEEN && pos < n) {
    kh_parser p;
    kh_parser_init(&p, &lim, hdrs, MAX_HEADERS);
    if (kh_parse(&p, buf + pos, n - pos) != KH_DONE) break;
    const kh_request *q = &p.req;
    const uint8_t *body = buf + pos + q->head_len;
    size_t blen = 0, used = q->head_len;
    if (q->body == KH_BODY_LENGTH) {
      if (n - pos - q->head_len < q->content_length) break;
      blen = (size_t)q->content_length;
      used += blen;
    } else if (q->body == KH_BODY_CHUNKED) {
      kh_chunked ch;
      size_t consumed, outn;
      kh_chunked_init(&ch, &lim);
      /* decodes in place: the head's views stay valid (they lie before) */
      if (kh_chunked_feed(&ch, buf + pos + q->head_len, n - pos - q->head_len, &consumed, &outn) != KH_DONE) break;
      blen = outn;
      used += consumed;
    }
    out[k++] = flatten(q->method, q->target, q->headers, q->nheaders, body, blen);
    pos += used;
    if (!q->keep_alive) break;
  }
  free(buf);
  return k;
}

/* Seconds to wait for the server's answer: $KRAIT_FUZZ_CONN_WAIT, else 8
** (under libFuzzer's -timeout=10). The server's own deadlines are 2 s, so 8 s
** is a hang; long campaigns on a loaded machine raise both limits together
** (tests/fuzz/run_parser.sh passes FUZZ_TIMEOUT to libFuzzer). */
static time_t wait_s(void) {
  const char *e = getenv("KRAIT_FUZZ_CONN_WAIT");
  long s = e ? strtol(e, NULL, 10) : 0;
  return s > 0 && s < 3600 ? (time_t)s : 8;
}

/* After connect failed: true when it was only interrupted (libFuzzer's
** timer signal; the connection then completes in the background) and the
** connection is up within the wait; errno is the real failure otherwise. */
static bool connect_finish(int fd) {
  if (errno != EINTR) return false;
  struct pollfd p = { .fd = fd, .events = POLLOUT };
  int r, err = 0;
  socklen_t len = sizeof err;
  do r = poll(&p, 1, (int)wait_s() * 1000); while (r < 0 && errno == EINTR);
  if (r <= 0) { errno = r == 0 ? ETIMEDOUT : errno; return false; }
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) return false;
  errno = err;
  return err == 0;
}

/* A connection to the server from a loopback source address that changes
** every 10,000 connections: the client closes first (it half-closes, then
** reads to the end), so its ports wait in TIME_WAIT for a minute, and one
** address has ~28,000. The port is chosen at connect (IP_BIND_ADDRESS_NO_PORT),
** and an address whose ports are used up moves to the next. */
static int connect_server(void) {
  static uint32_t nconn, shift;
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  struct timeval tv = { wait_s(), 0 };
  int one = 1;
  for (int tries = 0; tries < 64; tries++) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) die("socket");
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    struct sockaddr_in src = { .sin_family = AF_INET };
    src.sin_addr.s_addr = htonl(0x7f010001u + (nconn / 10000 + shift) % 60000);
    if (bind(fd, (struct sockaddr *)&src, sizeof src) < 0) die("bind a loopback source address");
    if (connect(fd, (struct sockaddr *)&a, sizeof a) == 0 || connect_finish(fd)) {
      nconn++;
      return fd;
    }
    if (errno != EADDRNOTAVAIL && errno != EADDRINUSE) die("connect");
    close(fd);
    shift++;
  }
  die("connect: no loopback source address has a free port");
  return -1;
}

/* Sends the stream in pieces whose sizes come from the input's hash, with
** short pauses so the server sees them as separate reads; then half-closes
** and reads everything the server answers until it closes. */
static void exchange(const uint8_t *data, size_t n, uint64_t h) {
  int fd = connect_server();
  size_t off = 0;
  for (int i = 0; off < n; i++) {
    size_t piece = i >= MAX_PIECES ? n - off : 1 + (h >> (i % 48)) % (n - off);
    ssize_t w = send(fd, data + off, piece, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) break;   /* the server answered an error and closed */
    off += (size_t)w;
    if (i < MAX_PIECES) usleep(100);
  }
  shutdown(fd, SHUT_WR);
  char buf[4096], first[8] = { 0 };
  size_t total = 0;
  ssize_t r;
  /* libFuzzer's timer signal interrupts recv (a socket with SO_RCVTIMEO is
  ** never restarted: signal(7)); only the wall-clock wait counts. */
  struct timespec t0, now;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (;;) {
    r = recv(fd, buf, sizeof buf, 0);
    if (r < 0 && errno == EINTR) {
      clock_gettime(CLOCK_MONOTONIC, &now);
      if (now.tv_sec - t0.tv_sec < wait_s()) continue;
    }
    if (r <= 0) break;
    if (total < 8) memcpy(first + total, buf, (size_t)r < 8 - total ? (size_t)r : 8 - total);
    total += (size_t)r;
  }
  close(fd);
  if (r < 0) {
    fprintf(stderr, "fuzz_conn: sent %zu of %zu bytes, received %zu (\"%.8s\")\n", off, n, total, first);
    fprintf(stderr, "fuzz_conn: the server neither answered nor closed within %d s\n", (int)wait_s());
    die("no answer");
  }
  if (total && memcmp(first, "HTTP/1.", total < 7 ? total : 7) != 0) die("the answer is not HTTP");
}

/* FNV-1a of the input: the seed of its split points. */
static uint64_t hash(const uint8_t *d, size_t n) {
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < n; i++) h = (h ^ d[i]) * 1099511628211ull;
  return h | 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n) {
  static bool started;
  if (!started) { start_server(); started = true; }
  if (n == 0 || n > 60000) return 0;
  static seen want[MAX_SEEN];
  int nwant = expected(data, n, want);
  exchange(data, n, hash(data, n));
  pthread_mutex_lock(&mu);
  if (ngot != nwant) {
    fprintf(stderr, "fuzz_conn: the app saw %d requests, the stream holds %d\n", ngot, nwant);
    abort();
  }
  for (int i = 0; i < ngot; i++) {
    if (got[i].len != want[i].len || memcmp(got[i].text, want[i].text, got[i].len) != 0) {
      fprintf(stderr, "fuzz_conn: request %d differs:\n--- app saw (%zu bytes)\n%.*s\n--- stream holds (%zu bytes)\n%.*s\n",
              i, got[i].len, (int)(got[i].len > 400 ? 400 : got[i].len), got[i].text,
              want[i].len, (int)(want[i].len > 400 ? 400 : want[i].len), want[i].text);
      abort();
    }
  }
  for (int i = 0; i < ngot; i++) free(got[i].text);
  for (int i = 0; i < nwant; i++) free(want[i].text);
  ngot = 0;
  pthread_mutex_unlock(&mu);
  return 0;
}
