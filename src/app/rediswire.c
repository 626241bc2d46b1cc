/*
** rediswire.c -- the redis binding's untrusted bytes: a guest's command
** request decoded to an argv, and a server's reply streamed by hiredis'
** reader straight into the call's bounded result. Not connections (redisdb.c).
*/
#include <hiredis/hiredis.h>
#include <string.h>

#include "app/app_internal.h"
#include "../../python/c/krait_abi.h"

/* The stand-in object hiredis' reader keeps for every value: the values
** themselves are already in the result, so nothing is built or freed. */
static char ka_redis_token;

/* The sink of the reader's task t, after checking it is still open. */
static ka_redis_sink *ka_redis_sink_of(const redisReadTask *t) {
  ka_redis_sink *k = t->privdata;
  return k && !k->out->over && !k->out->nomem ? k : NULL;
}

/* Appends a tag; false (the reader then fails as out of memory) when the
** result is over its limit. */
static bool ka_redis_tag(ka_redis_sink *k, uint8_t tag) {
  k->values++;
  return ka_out_put(k->out, &tag, 1);
}

/* A bulk string, status or error line: tag, u32 length, bytes. */
static void *ka_redis_string(const redisReadTask *t, char *s, size_t n) {
  ka_redis_sink *k = ka_redis_sink_of(t);
  uint8_t tag = t->type == REDIS_REPLY_STATUS ? KA_REDIS_STATUS
              : t->type == REDIS_REPLY_ERROR ? KA_REDIS_ERROR : KA_REDIS_BULK;
  if (!k || !ka_redis_tag(k, tag) || !ka_out_str(k->out, s, n)) return NULL;
  return &ka_redis_token;
}

/* An array: tag and u32 count; its elements follow as the reader makes
** them (a count is only a promise: nothing is allocated for it). */
static void *ka_redis_array(const redisReadTask *t, int n) {
  ka_redis_sink *k = ka_redis_sink_of(t);
  uint32_t count = (uint32_t)n;
  if (!k || n < 0 || !ka_redis_tag(k, KA_REDIS_ARRAY) || !ka_out_put(k->out, &count, 4)) return NULL;
  return &ka_redis_token;
}

static void *ka_redis_integer(const redisReadTask *t, long long v) {
  ka_redis_sink *k = ka_redis_sink_of(t);
  int64_t i = (int64_t)v;
  if (!k || !ka_redis_tag(k, KA_REDIS_INT) || !ka_out_put(k->out, &i, 8)) return NULL;
  return &ka_redis_token;
}

static void *ka_redis_nil(const redisReadTask *t) {
  ka_redis_sink *k = ka_redis_sink_of(t);
  if (!k || !ka_redis_tag(k, KA_REDIS_NIL)) return NULL;
  return &ka_redis_token;
}

static void ka_redis_free(void *obj) { (void)obj; }

static redisReplyObjectFunctions ka_redis_fns = {
  ka_redis_string, ka_redis_array, ka_redis_integer, ka_redis_nil, ka_redis_free,
};

void ka_redis_reader_bind(redisReader *r, ka_redis_sink *k) {
  r->fn = &ka_redis_fns;
  r->privdata = k;
}

/* Gives back the reader's buffer after a large reply: hiredis drops the
** parsed bytes without shrinking it (and frees it only when empty at the
** next feed), so a 16 MiB reply would stay allocated for the connection's
** life. Over maxbuf spare bytes, the unparsed rest moves to a fresh copy. */
static void ka_redis_reader_trim(redisReader *r) {
  size_t keep = r->maxbuf ? r->maxbuf : REDIS_READER_MAX_BUF;
  if (sdsavail(r->buf) + r->pos <= keep) return;
  sds rest = sdsnewlen(r->buf + r->pos, r->len - r->pos);
  if (!rest) return;   /* kept as it is: only memory, not correctness */
  sdsfree(r->buf);
  r->buf = rest;
  r->pos = 0;
  r->len = sdslen(rest);
}

int ka_redis_reader_next(redisReader *r, ka_redis_sink *k, bool *done) {
  void *reply = NULL;
  *done = false;
  if (redisReaderGetReply(r, &reply) != REDIS_OK)
    return k->out->over || k->out->nomem ? KA_REDIS_OVER : KA_REDIS_PROTOCOL;
  if (reply) { *done = true; ka_redis_reader_trim(r); return 0; }
  if (r->len - r->pos > KA_REDIS_MAX_PENDING) return KA_REDIS_OVER;
  return 0;
}

/* Commands that would take the connection out of request/reply step
** (push mode, a stream, no replies, another protocol, a replica's
** stream): refused. */
static const char *const ka_redis_refused[] = {
  "SUBSCRIBE", "PSUBSCRIBE", "SSUBSCRIBE", "UNSUBSCRIBE", "PUNSUBSCRIBE", "SUNSUBSCRIBE",
  "MONITOR", "HELLO", "SYNC", "PSYNC", "REPLCONF",
};

/* Whether [s, s+n) is word, ignoring ASCII case. */
static bool ka_redis_is(const uint8_t *s, size_t n, const char *word) {
  if (strlen(word) != n) return false;
  for (size_t i = 0; i < n; i++)
    if ((s[i] >= 'a' && s[i] <= 'z' ? s[i] - 32 : s[i]) != (uint8_t)word[i]) return false;
  return true;
}

const char *ka_redis_refuse(const ka_redis_cmd *c) {
  for (size_t i = 0; i < KU_COUNT(ka_redis_refused); i++)
    if (ka_redis_is((const uint8_t *)c->argv[0], c->len[0], ka_redis_refused[i])) return ka_redis_refused[i];
  if (c->argc > 1 && ka_redis_is((const uint8_t *)c->argv[0], c->len[0], "CLIENT") &&
      ka_redis_is((const uint8_t *)c->argv[1], c->len[1], "REPLY"))
    return "CLIENT REPLY";
  return NULL;
}

bool ka_redis_decode(ku_cursor *in, ka_redis_cmd *c) {
  uint32_t argc = ku_fixed32(in);
  ku_cursor scan = *in;
  if (argc == 0) ku_cfail(in, 0, "a command needs at least its name");
  if (argc > KA_REDIS_MAX_ARGS) ku_cfail(in, 0, "%u arguments (at most %u)", argc, KA_REDIS_MAX_ARGS);
  /* the whole request is checked before anything is allocated */
  for (uint32_t i = 0; i < argc; i++) ku_bytes(&scan, ku_fixed32(&scan));
  if (!ku_eof(&scan)) ku_cfail(&scan, 0, "%zu bytes after the arguments", ku_left(&scan));
  c->argv = ku_calloc(argc, sizeof *c->argv);
  c->len = ku_calloc(argc, sizeof *c->len);
  if (!c->argv || !c->len) { ka_redis_cmd_free(c); return false; }
  for (uint32_t i = 0; i < argc; i++) {
    c->len[i] = ku_fixed32(in);
    c->argv[i] = (const char *)ku_bytes(in, c->len[i]);
  }
  c->argc = (int)argc;
  return true;
}

void ka_redis_cmd_free(ka_redis_cmd *c) {
  ku_free(c->argv);
  ku_free(c->len);
  c->argv = NULL;
  c->len = NULL;
  c->argc = 0;
}
