/*
** tests/host/test_redis.c -- the redis binding's wire format (rediswire.c):
** requests decoded or refused, RESP replies streamed into the bounded result
** (whole, split, over the limits, not RESP); ku_unescape of credentials.
*/
#include "test.h"
#include <arpa/inet.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include "app/app_internal.h"
#include "../../python/c/krait_abi.h"
#include "util/util.h"

static char t_msg[300];

/* Decodes req[0..n) as ka_redis_decode does under bindings.c's catch
** point: 1 decoded (c filled), 0 out of memory, -1 malformed (t_msg). */
static int t_decode(const uint8_t *req, size_t n, ka_redis_cmd *c) {
  ku_fail fail = { .msg = t_msg, .cap = sizeof t_msg };
  ku_cursor cur = { req, req + n, req, "redis.command", &fail };
  t_msg[0] = '\0';
  if (setjmp(fail.jb)) return -1;
  return ka_redis_decode(&cur, c) ? 1 : 0;
}

/* Appends a u32 to a request being built. */
static size_t t_u32(uint8_t *p, size_t at, uint32_t v) {
  memcpy(p + at, &v, 4);
  return at + 4;
}

/* Well-formed commands: binary arguments, empty ones. */
static void test_decode_good(void) {
  uint8_t req[64];
  size_t n = t_u32(req, 0, 3);
  n = t_u32(req, n, 3); memcpy(req + n, "SET", 3); n += 3;
  n = t_u32(req, n, 0);
  n = t_u32(req, n, 4); memcpy(req + n, "\0\r\n\xff", 4); n += 4;
  ka_redis_cmd c = { 0 };
  CHECK_INT(t_decode(req, n, &c), 1);
  CHECK_INT(c.argc, 3);
  CHECK(c.len[0] == 3 && !memcmp(c.argv[0], "SET", 3));
  CHECK(c.len[1] == 0);
  CHECK(c.len[2] == 4 && !memcmp(c.argv[2], "\0\r\n\xff", 4));
  CHECK(ka_redis_refuse(&c) == NULL);
  ka_redis_cmd_free(&c);
  CHECK(c.argv == NULL && c.argc == 0);
}

/* Malformed requests fail before anything is allocated (ASan would see a
** leak otherwise): no arguments, too many, a length past the end, bytes
** after, a count larger than the bytes could hold. */
static void test_decode_bad(void) {
  uint8_t req[64];
  ka_redis_cmd c = { 0 };
  size_t n = t_u32(req, 0, 0);
  CHECK_INT(t_decode(req, n, &c), -1);
  CHECK_CONTAINS(t_msg, "at least its name");
  n = t_u32(req, 0, KA_REDIS_MAX_ARGS + 1);
  CHECK_INT(t_decode(req, n, &c), -1);
  CHECK_CONTAINS(t_msg, "arguments (at most 1048576)");
  n = t_u32(req, 0, 1);
  n = t_u32(req, n, 100);
  memcpy(req + n, "PING", 4);
  CHECK_INT(t_decode(req, n + 4, &c), -1);
  CHECK_CONTAINS(t_msg, "redis.command at offset");
  n = t_u32(req, 0, 1);
  n = t_u32(req, n, 4);
  memcpy(req + n, "PINGx", 5);
  CHECK_INT(t_decode(req, n + 5, &c), -1);
  CHECK_CONTAINS(t_msg, "1 bytes after the arguments");
  n = t_u32(req, 0, 1000000);
  CHECK_INT(t_decode(req, n, &c), -1);
  CHECK(c.argv == NULL && c.len == NULL);
  CHECK_INT(t_decode(req, 3, &c), -1);   /* not even the count */
}

/* The commands that would leave request/reply step are refused by name,
** in any case; others pass. */
static void test_refuse(void) {
  static const struct { const char *a0, *a1, *want; } cases[] = {
    { "subscribe", NULL, "SUBSCRIBE" }, { "PSubscribe", NULL, "PSUBSCRIBE" },
    { "MONITOR", NULL, "MONITOR" }, { "hello", "3", "HELLO" }, { "sync", NULL, "SYNC" },
    { "client", "reply", "CLIENT REPLY" }, { "CLIENT", "LIST", NULL }, { "GET", "x", NULL },
    { "SUBSCRIBEX", NULL, NULL }, { "SUBSCRIB", NULL, NULL },
  };
  for (size_t i = 0; i < KU_COUNT(cases); i++) {
    const char *argv[2] = { cases[i].a0, cases[i].a1 };
    size_t len[2] = { strlen(cases[i].a0), cases[i].a1 ? strlen(cases[i].a1) : 0 };
    ka_redis_cmd c = { cases[i].a1 ? 2 : 1, argv, len };
    const char *got = ka_redis_refuse(&c);
    if (!cases[i].want) CHECK(got == NULL);
    else CHECK_STR(got ? got : "(null)", cases[i].want);
  }
}

/* Feeds wire[0..n) to a bound reader in chunks of step bytes; the last
** ka_redis_reader_next result (1 when a reply is whole). */
static int t_feed(const char *wire, size_t n, size_t step, ka_out *out) {
  redisReader *r = redisReaderCreate();
  ka_redis_sink k = { out, 0 };
  bool done = false;
  int rc = 0;
  ka_redis_reader_bind(r, &k);
  for (size_t at = 0; at < n && !done && rc == 0; at += step) {
    redisReaderFeed(r, wire + at, at + step > n ? n - at : step);
    rc = ka_redis_reader_next(r, &k, &done);
  }
  redisReaderFree(r);
  return rc ? rc : done;
}

/* Every reply type, nested, gives the documented encoding, whole or fed a
** byte at a time. */
static void test_reply_types(void) {
  static const char wire[] = "*6\r\n+OK\r\n:-42\r\n$3\r\na\0b\r\n$-1\r\n*1\r\n-ERR no\r\n*0\r\n";
  static const uint8_t want[] = {
    KA_REDIS_ARRAY, 6, 0, 0, 0,
    KA_REDIS_STATUS, 2, 0, 0, 0, 'O', 'K',
    KA_REDIS_INT, 0xd6, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    KA_REDIS_BULK, 3, 0, 0, 0, 'a', 0, 'b',
    KA_REDIS_NIL,
    KA_REDIS_ARRAY, 1, 0, 0, 0, KA_REDIS_ERROR, 6, 0, 0, 0, 'E', 'R', 'R', ' ', 'n', 'o',
    KA_REDIS_ARRAY, 0, 0, 0, 0,
  };
  for (size_t step = 1; step <= sizeof wire; step += sizeof wire - 2) {
    ka_out out = { 0 };
    CHECK_INT(t_feed(wire, sizeof wire - 1, step, &out), 1);
    CHECK_INT((int)out.len, (int)sizeof want);
    CHECK(out.len == sizeof want && !memcmp(out.p, want, sizeof want));
    ku_free(out.p);
  }
  ka_out out = { 0 };
  CHECK_INT(t_feed("*-1\r\n", 5, 5, &out), 1);   /* a nil array is nil */
  CHECK(out.len == 1 && out.p[0] == KA_REDIS_NIL);
  ku_free(out.p);
}

/* Limits: a bulk string whose bytes pile up past KA_REDIS_MAX_PENDING
** stops before it is whole; a reply whose values exceed the result limit
** stops as they are made; an array's count alone allocates nothing. */
static void test_reply_limits(void) {
  size_t big = KA_REDIS_MAX_PENDING + (1u << 20);
  char *wire = malloc(big + 64);
  int h = snprintf(wire, 64, "$%zu\r\n", big);
  memset(wire + h, 'x', big);
  ka_out out = { 0 };
  CHECK_INT(t_feed(wire, (size_t)h + big, 1u << 16, &out), KA_REDIS_OVER);
  CHECK(out.len == 0);   /* nothing was made of it */
  ku_free(out.p);
  /* 40 bulk strings of 512 KiB: 20 MiB of values, each under the pending cap */
  size_t one = 512u << 10, n = 0;
  char *arr = malloc(40 * (one + 32) + 16);
  n += (size_t)sprintf(arr, "*40\r\n");
  for (int i = 0; i < 40; i++) {
    n += (size_t)sprintf(arr + n, "$%zu\r\n", one);
    memset(arr + n, 'y', one);
    n += one;
    memcpy(arr + n, "\r\n", 2);
    n += 2;
  }
  out = (ka_out){ 0 };
  CHECK_INT(t_feed(arr, n, 1u << 16, &out), KA_REDIS_OVER);
  CHECK(out.over && out.len <= KRAIT_CALL_MAX_RESULT);
  ku_free(out.p);
  out = (ka_out){ 0 };
  CHECK_INT(t_feed("*2147483647\r\n:1\r\n", 17, 17, &out), 0);   /* waits for more */
  CHECK(out.len == 5 + 9);
  ku_free(out.p);
  free(wire);
  free(arr);
}

/* Bytes that are not RESP, and nesting past hiredis' depth, fail as
** protocol errors. */
static void test_reply_bad(void) {
  ka_out out = { 0 };
  CHECK_INT(t_feed("?what\r\n", 7, 7, &out), KA_REDIS_PROTOCOL);
  ku_free(out.p);
  out = (ka_out){ 0 };
  static const char deep[] = "*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n:1\r\n";
  CHECK_INT(t_feed(deep, sizeof deep - 1, sizeof deep - 1, &out), KA_REDIS_PROTOCOL);
  ku_free(out.p);
}

/* ku_unescape (src/util/escape.c), which decodes the address's
** credentials: escapes anywhere, bad or cut-short ones refused. */
static void test_unescape(void) {
  static const struct { const char *in; const char *want; } cases[] = {
    { "p%40ss%3Aw%2frd", "p@ss:w/rd" }, { "%41", "A" }, { "", "" }, { "plain", "plain" },
    { "%00x", "" }, { "%4", NULL }, { "%", NULL }, { "ab%", NULL }, { "%zz", NULL }, { "%4g", NULL },
  };
  for (size_t i = 0; i < KU_COUNT(cases); i++) {
    char out[32];
    size_t n = ku_unescape(cases[i].in, strlen(cases[i].in), out);
    if (!cases[i].want) CHECK(n == SIZE_MAX);
    else CHECK(n != SIZE_MAX && !strcmp(out, cases[i].want));
  }
  char out[8];
  CHECK_INT((int)ku_unescape("%00x", 4, out), 2);   /* a NUL byte is kept, counted */
  CHECK(out[0] == 0 && out[1] == 'x');
}

/* After a large reply the reader gives its buffer back (hiredis alone keeps
** the whole reply's allocation until the next feed): at most maxbuf spare,
** and bytes of the next reply already read are kept. */
static void test_reader_trim(void) {
  size_t n = 4u << 20;
  char *wire = ku_malloc(n + 64);
  int head = snprintf(wire, 64, "$%zu\r\n", n);
  memset(wire + head, 'v', n);
  memcpy(wire + head + n, "\r\n+NE", 5);   /* and the start of the next reply */
  redisReader *r = redisReaderCreate();
  ka_out out = { 0 };
  ka_redis_sink k = { &out, 0 };
  bool done = false;
  ka_redis_reader_bind(r, &k);
  CHECK_INT(redisReaderFeed(r, wire, (size_t)head + n + 5), REDIS_OK);
  CHECK_INT(ka_redis_reader_next(r, &k, &done), 0);
  CHECK(done);
  CHECK(sdsalloc(r->buf) <= r->maxbuf);
  CHECK(r->len - r->pos == 3 && !memcmp(r->buf + r->pos, "+NE", 3));
  redisReaderFeed(r, "XT\r\n", 4);
  CHECK_INT(ka_redis_reader_next(r, &k, &done), 0);
  CHECK(done);
  CHECK(out.len > 5 && out.p[out.len - 9] == KA_REDIS_STATUS && !memcmp(out.p + out.len - 4, "NEXT", 4));
  ka_redis_reader_bind(r, NULL);
  redisReaderFree(r);
  ku_free(out.p);
  ku_free(wire);
}

/* A server that accepts one connection and closes it at once. */
static void *t_closer(void *arg) {
  int c = accept(*(int *)arg, NULL, NULL);
  if (c >= 0) close(c);
  return NULL;
}

/* A command sent to a server that has gone (it closed, then reset the
** stream) fails as E_BACKEND; SIGPIPE is left at its default, so a write
** that raised it would kill this test. */
static void test_no_sigpipe(void) {
  struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
  socklen_t sl = sizeof sa;
  int l = socket(AF_INET, SOCK_STREAM, 0);
  CHECK(l >= 0 && bind(l, (struct sockaddr *)&sa, sizeof sa) == 0 && listen(l, 4) == 0);
  getsockname(l, (struct sockaddr *)&sa, &sl);
  signal(SIGPIPE, SIG_DFL);
  char url[64], err[KO_ERR_SIZE];
  snprintf(url, sizeof url, "redis://127.0.0.1:%u", (unsigned)ntohs(sa.sin_port));
  ka_app app = { .name = "t", .log = stderr };
  ko_allow_init(&app.outbound, KO_FROM_MANIFEST);
  CHECK_INT(ko_allow_add(&app.outbound, url, strlen(url), err, sizeof err), 0);
  ka_ctx x = { .app = &app };
  ka_net_begin(&x.net, &app.outbound, false, 0, 4, 0);
  pthread_t th;
  pthread_create(&th, NULL, t_closer, &l);
  ka_out out = { 0 };
  ku_fail fail = { .msg = t_msg, .cap = sizeof t_msg };
  ku_cursor in = { (const uint8_t *)url, (const uint8_t *)url + strlen(url), (const uint8_t *)url, "redis.open", &fail };
  CHECK_INT(ka_redis_open(&x, &in, &out), 0);
  pthread_join(th, NULL);
  usleep(20000);   /* its FIN has arrived */
  uint32_t h;
  memcpy(&h, out.p, 4);
  size_t big = 8u << 20, n = 0;
  uint8_t *req = ku_malloc(big + 64);
  n = t_u32(req, n, h);
  n = t_u32(req, n, 3);
  n = t_u32(req, n, 3); memcpy(req + n, "SET", 3); n += 3;
  n = t_u32(req, n, 1); req[n++] = 'k';
  n = t_u32(req, n, (uint32_t)big); memset(req + n, 'v', big); n += big;
  ku_cursor cmd = { req, req + n, req, "redis.command", &fail };
  ka_out reply = { 0 };
  CHECK_INT(ka_redis_command(&x, &cmd, &reply), KRAIT_E_BACKEND);
  CHECK(strstr(x.error, "redis.command: ") == x.error);
  ka_redis_end(&x);
  ka_net_end(&x.net);
  ko_allow_free(&app.outbound);
  ku_free(req);
  ku_free(out.p);
  ku_free(reply.p);
  close(l);
}

int main(void) {
  RUN(test_unescape);
  RUN(test_decode_good);
  RUN(test_decode_bad);
  RUN(test_refuse);
  RUN(test_reply_types);
  RUN(test_reply_limits);
  RUN(test_reply_bad);
  RUN(test_reader_trim);
  RUN(test_no_sigpipe);
  return t_summary();
}
