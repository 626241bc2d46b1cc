/*
** tests/fuzz/fuzz_redis.c -- libFuzzer target: the redis binding's wire format (src/app/rediswire.c).
** Owns: byte 0 is a feed size, bytes 1-2 a request length; that request is decoded as redis.command's, the rest fed as
** a server's reply; checks the result walks back as one value within its limit. Not the seeds (redis-seeds/).
*/
#include <hiredis/hiredis.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "app/app_internal.h"
#include "../../python/c/krait_abi.h"
#include "util/util.h"

/* The end of the value encoded at p[0..n) (docs/BINDINGS.md), or -1 when
** it is not exactly one well-formed value; depth is checked too. */
static long walk(const uint8_t *p, size_t n, size_t at, int depth) {
  uint32_t len;
  if (at >= n || depth > 8) return -1;
  switch (p[at++]) {
  case KA_REDIS_NIL: return (long)at;
  case KA_REDIS_INT: return at + 8 <= n ? (long)(at + 8) : -1;
  case KA_REDIS_STATUS: case KA_REDIS_BULK: case KA_REDIS_ERROR:
    if (at + 4 > n) return -1;
    memcpy(&len, p + at, 4);
    return at + 4 + len <= n ? (long)(at + 4 + len) : -1;
  case KA_REDIS_ARRAY:
    if (at + 4 > n) return -1;
    memcpy(&len, p + at, 4);
    at += 4;
    for (uint32_t i = 0; i < len; i++) {
      long next = walk(p, n, at, depth + 1);
      if (next < 0) return -1;
      at = (size_t)next;
    }
    return (long)at;
  default: return -1;
  }
}

/* The request part: decoded under a catch point; a decoded command's
** arguments must lie inside the request. */
static void request(const uint8_t *req, size_t n) {
  char msg[300];
  ku_fail fail = { .msg = msg, .cap = sizeof msg };
  uint8_t *copy = malloc(n ? n : 1);
  memcpy(copy, req, n);
  ku_cursor c = { copy, copy + n, copy, "redis.command", &fail };
  ka_redis_cmd cmd = { 0 };
  if (!setjmp(fail.jb) && ka_redis_decode(&c, &cmd)) {
    for (int i = 0; i < cmd.argc; i++)
      if ((const uint8_t *)cmd.argv[i] < copy || (const uint8_t *)cmd.argv[i] + cmd.len[i] > copy + n) abort();
    ka_redis_refuse(&cmd);
    ka_redis_cmd_free(&cmd);
  }
  free(copy);
}

/* The reply part, fed step bytes at a time. */
static void reply(const uint8_t *s, size_t n, size_t step) {
  redisReader *r = redisReaderCreate();
  ka_out out = { 0 };
  ka_redis_sink k = { &out, 0 };
  bool done = false;
  int rc = 0;
  ka_redis_reader_bind(r, &k);
  for (size_t at = 0; at < n && !done && rc == 0; at += step) {
    redisReaderFeed(r, (const char *)s + at, at + step > n ? n - at : step);
    rc = ka_redis_reader_next(r, &k, &done);
  }
  if (out.len > KRAIT_CALL_MAX_RESULT) abort();
  if (done && (rc != 0 || walk(out.p, out.len, 0, 0) != (long)out.len)) abort();
  redisReaderFree(r);
  ku_free(out.p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 3) return 0;
  size_t step = (size_t)data[0] + 1, n = (size_t)data[1] | (size_t)data[2] << 8;
  data += 3;
  size -= 3;
  if (n > size) n = size;
  request(data, n);
  reply(data + n, size - n, step);
  return 0;
}
