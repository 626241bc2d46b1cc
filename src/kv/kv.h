/*
** kv.h -- the key-value binding's internal API (prefix kk_): stores, their
** config, limits, result codes, counters. Does not own the backends
** (sqlite.c, redis.c) nor how guests reach it (the Python binding/server).
*/
#ifndef KK_KV_H
#define KK_KV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/util.h"

/*
** One semantics, two backends:
**   KK_SQLITE  one SQLite file per store (default): WAL, synchronous
**              NORMAL or FULL (kk_durability), a busy timeout, table
**              kv(key BLOB PRIMARY KEY, value BLOB) WITHOUT ROWID,
**              prepared statements kept per store.
**   KK_REDIS   a Redis server shared by several hosts, through hiredis'
**              synchronous API. Data key: "krait:kv:<name>:k:" + key;
**              index (sorted set of every key, all scores 0):
**              "krait:kv:<name>:index". Stores with different names never
**              see each other's keys, on the same server and db.
**
** Keys and values are byte strings (any bytes, NUL included; UTF-8 not
** required). Keys compare as unsigned bytes (memcmp), a shorter key first
** when one is a prefix of the other -- SQLite's BLOB order and Redis'
** ZRANGEBYLEX order alike, so list pages are identical on both backends.
**
** Threads: a kk_store may be used by several threads at once; each
** operation holds the store's lock, so they run one at a time on one
** handle (krait serve gives one handle to every app granted the store).
** Several stores -- in one thread or
** many, in one process or many -- may open the same SQLite file or the
** same Redis store name at once: SQLite's WAL and the busy timeout
** serialize writers, Redis serializes commands.
*/

/* Limits, checked by kv.c before any backend is touched. */
#define KK_KEY_MAX       256                /* key: 1..256 bytes */
#define KK_VALUE_MAX     (1024 * 1024)      /* value: 0..1 MiB */
#define KK_LIST_MAX      1000               /* keys per list page */
#define KK_NAME_MAX      64                 /* store name: 1..64 of [A-Za-z0-9_.-] */
#define KK_TIMEOUT_MS    5000               /* default busy/connect/command timeout */

/* Result codes. Every kk_ call returns one and fills a kk_error with it. */
typedef enum kk_code {
  KK_OK = 0,
  KK_NOT_FOUND,     /* kk_get: no such key (a normal outcome, not an error) */
  KK_BAD_KEY,       /* key (or list prefix/cursor) empty or over KK_KEY_MAX */
  KK_TOO_LARGE,     /* value over KK_VALUE_MAX, list limit over KK_LIST_MAX */
  KK_BAD_ARG,       /* other misuse: NULL value with a length, ... */
  KK_BAD_CONFIG,    /* bad store name, Redis URL, missing parent directory */
  KK_UNAVAILABLE,   /* backend unreachable or busy: connection refused or
                       lost (after one reconnect), timeout, database locked */
  KK_IO,            /* the backend's storage failed: disk I/O, disk full,
                       read-only or corrupt file, cannot open the file */
  KK_NOMEM,         /* out of memory (here or in the backend) */
  KK_BACKEND        /* the backend refused for another reason (a Redis
                       error reply such as NOAUTH or OOM, a SQLite error) */
} kk_code;

/* Short stable name of a code ("ok", "not found", "bad key", ...). */
const char *kk_code_name(kk_code code);

/* An error: its code (named `kind` like krait_error) and a message naming
** the store, the operation and the cause, e.g.
**   store "default" (sqlite data/default.db): set: database is locked
** Redis passwords never appear in messages. */
typedef struct kk_error {
  kk_code kind;
  char message[512];   /* for the operator: names the backend (file path, host) */
  char brief[448];     /* for the guest: the same without the backend */
} kk_error;

typedef enum kk_backend { KK_SQLITE = 0, KK_REDIS } kk_backend;

/* What a SQLite store's acknowledged writes survive (krait.toml's
** durability = "process" | "power"). Both use WAL.
**   KK_DURABLE_PROCESS  synchronous=NORMAL (the default): a commit is in
**       the WAL file (the OS page cache) before kk_set returns, so it
**       survives the krait process dying (kill -9, a crash); the WAL is
**       fsync'd at checkpoints only, so an OS crash or power loss can
**       lose the last commits (never corrupt the file). No fsync per
**       write: a one-write request costs ~1/3 of FULL's (README).
**   KK_DURABLE_POWER    synchronous=FULL: the WAL is fsync'd at every
**       commit, so a write survives power loss too. */
typedef enum kk_durability {
  KK_DURABLE_PROCESS = 0, KK_DURABLE_POWER
} kk_durability;

/* How to open a store. Strings are copied by kk_open. */
typedef struct kk_config {
  kk_backend backend;
  const char *name;     /* store name: messages; Redis key prefix */
  const char *path;     /* KK_SQLITE: the file; created when missing, its
                           parent directory must exist */
  const char *url;      /* KK_REDIS: redis://[[user]:password@]host[:port][/db]
                           (port 6379, db 0 when left out; host may be
                           [ipv6]; %XX escapes in user/password decoded) */
  int timeout_ms;       /* 0: KK_TIMEOUT_MS. SQLite busy timeout; Redis
                           connect and per-command timeout */
  kk_durability durability;  /* KK_SQLITE only (Redis: the server's
                           appendfsync decides) */
} kk_config;

typedef struct kk_store kk_store;

/* Opens (and for SQLite creates) a store; NULL with err filled on failure.
** A Redis store connects (AUTH, SELECT, PING) right away, so an
** unreachable server is reported here as KK_UNAVAILABLE. */
kk_store *kk_open(const kk_config *cfg, kk_error *err);

/* Closes a store (NULL is fine): finalizes statements, drops the
** connection. */
void kk_close(kk_store *s);

/* The store's name and its description for messages, e.g.
** `sqlite data/default.db` or `redis 127.0.0.1:6379/0`. */
const char *kk_store_name(const kk_store *s);
const char *kk_store_desc(const kk_store *s);

/* A value read by kk_get. data comes from ku_malloc, holds len bytes plus
** a NUL after them (for convenience; values may contain NULs). Free it
** with kk_value_free. */
typedef struct kk_value {
  uint8_t *data;
  size_t len;
} kk_value;

void kk_value_free(kk_value *v);

/* Reads key. KK_OK with *out filled, or KK_NOT_FOUND (out->data NULL),
** or an error. */
kk_code kk_get(kk_store *s, const void *key, size_t key_len, kk_value *out,
               kk_error *err);

/* Writes key = value (0..KK_VALUE_MAX bytes, val may be NULL when
** val_len is 0), replacing any old value. Durable on KK_OK for SQLite as
** the store's kk_durability says (past the process's death, or past power
** loss too); for Redis, as durable as the server's config. */
kk_code kk_set(kk_store *s, const void *key, size_t key_len, const void *val,
               size_t val_len, kk_error *err);

/* Removes key; KK_OK whether or not it existed. */
kk_code kk_delete(kk_store *s, const void *key, size_t key_len, kk_error *err);

/* Sets *found to whether key exists; KK_OK unless something failed. */
kk_code kk_exists(kk_store *s, const void *key, size_t key_len, bool *found,
                  kk_error *err);

/* One page request of kk_list. Keys come in sorted order (see above).
** prefix: only keys starting with it (NULL/0: all keys; at most
** KK_KEY_MAX bytes). cursor: NULL on the first page, then the last key of
** the previous page -- the page starts strictly after it (cursors survive
** writes: a key added before the cursor is not seen, one added after is).
** limit: 1..KK_LIST_MAX keys, 0 means KK_LIST_MAX. */
typedef struct kk_list_req {
  const void *prefix;
  size_t prefix_len;
  const void *cursor;
  size_t cursor_len;
  size_t limit;
} kk_list_req;

typedef struct kk_key {
  const uint8_t *data;
  size_t len;
} kk_key;

/* One page: count keys (owned by the page), and whether more keys follow
** (then pass keys[count - 1] as the next cursor). Free with kk_page_free. */
typedef struct kk_page {
  kk_key *keys;
  size_t count;
  bool more;
  ku_arena arena;      /* holds keys and their bytes */
} kk_page;

kk_code kk_list(kk_store *s, const kk_list_req *req, kk_page *out,
                kk_error *err);
void kk_page_free(kk_page *l);

/* Counters for metrics, per store since kk_open. ops counts every call by
** kind (validation failures included); errors counts the calls that
** returned anything but KK_OK or KK_NOT_FOUND; reconnects counts Redis
** reconnections (0 for SQLite). */
typedef enum kk_op {
  KK_OP_GET = 0, KK_OP_SET, KK_OP_DELETE, KK_OP_EXISTS, KK_OP_LIST,
  KK_OP_COUNT
} kk_op;

typedef struct kk_stats {
  uint64_t ops[KK_OP_COUNT];
  uint64_t errors[KK_OP_COUNT];
  uint64_t reconnects;
} kk_stats;

/* Copies the store's counters into *out. */
void kk_stats_read(const kk_store *s, kk_stats *out);

/* Name of an op kind ("get", "set", "delete", "exists", "list"). */
const char *kk_op_name(kk_op op);

#endif
