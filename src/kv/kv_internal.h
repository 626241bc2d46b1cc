/*
** kv_internal.h -- what kv.c shares with the backends: the store object,
** the backend vtable, the list range and the error helpers. Does not own
** the public-to-krait API (kv.h) nor any backend's code.
*/
#ifndef KK_KV_INTERNAL_H
#define KK_KV_INTERNAL_H

#include <pthread.h>
#include "kv/kv.h"

/* A validated list request as backends see it: keys >= lo (lo_incl) or
** > lo, that start with prefix, in order; at most limit of them, and
** out->more set when one more exists. lo_len 0 with lo_incl means "from
** the first key". */
typedef struct kk_range {
  const uint8_t *lo;
  size_t lo_len;
  bool lo_incl;
  const uint8_t *prefix;
  size_t prefix_len;
  size_t limit;
} kk_range;

/* A backend. Arguments are validated by kv.c; each function fills err
** (through kk_fail) on anything but KK_OK / KK_NOT_FOUND. */
typedef struct kk_ops {
  kk_code (*get)(kk_store *s, const uint8_t *key, size_t key_len,
                 kk_value *out, kk_error *err);
  kk_code (*set)(kk_store *s, const uint8_t *key, size_t key_len,
                 const uint8_t *val, size_t val_len, kk_error *err);
  kk_code (*del)(kk_store *s, const uint8_t *key, size_t key_len,
                 kk_error *err);
  kk_code (*exists)(kk_store *s, const uint8_t *key, size_t key_len,
                    bool *found, kk_error *err);
  kk_code (*list)(kk_store *s, const kk_range *r, kk_page *out,
                  kk_error *err);
  void (*close)(kk_store *s);
} kk_ops;

struct kk_store {
  pthread_mutex_t lock;        /* held by each operation, begin() to end() */
  const kk_ops *ops;
  void *impl;                  /* the backend's state */
  const char *op;              /* operation in progress, for messages */
  char name[KK_NAME_MAX + 1];
  char desc[320];              /* "sqlite <path>" / "redis <host>:<port>/<db>" */
  kk_stats stats;
};

/* Fills err with code and `store "<name>" (<desc>): <op>: <fmt...>`;
** returns code. */
kk_code kk_fail(kk_store *s, kk_error *err, kk_code code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Appends a copy of a key to a list page; false when out of memory. */
bool kk_list_push(kk_page *out, const uint8_t *key, size_t len);

/* True when key starts with prefix. */
bool kk_has_prefix(const uint8_t *key, size_t len, const uint8_t *prefix,
                   size_t prefix_len);

/* Backend constructors: set s->ops, s->impl and s->desc, or fail through
** kk_fail (after setting s->desc) and leave nothing to free. */
kk_code kk_sqlite_open(kk_store *s, const kk_config *cfg, kk_error *err);
kk_code kk_redis_open(kk_store *s, const kk_config *cfg, kk_error *err);

/* A SQLite store's PRAGMA synchronous as its connection runs it (1 normal,
** 2 full), -1 for another backend; for tests. */
int kk_sqlite_synchronous(kk_store *s);

#endif
