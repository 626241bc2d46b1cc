/*
** app_internal.h -- what app.c and imports.c share: the app and the
** per-request context the "krait" imports work on.
*/
#ifndef KA_APP_INTERNAL_H
#define KA_APP_INTERNAL_H

#include <pthread.h>
#include <sys/stat.h>

#include "app/app.h"
#include "app/net_internal.h"
#include "app/pg.h"
#include "llm/llm.h"
#include "net/net.h"
#include "util/cursor.h"

/* A granted store with the lock that serialises its users (a kk_store is
** used by one thread at a time). */
typedef struct ka_grant {
  char *name;
  kk_store *store;            /* shared by the apps granted it; kk_* lock it */
} ka_grant;

struct ka_shared;

/* A SQLite database the app may open (ka_app_config.sqlite, copied). */
typedef struct ka_sqldb {
  char *name;                 /* what the app opens ("default") */
  char *path;                 /* the file on the host */
  pthread_mutex_t lock;       /* guards idle and nidle */
  struct ka_sqlconn *idle;    /* connections kept between the app's
                                 requests (sqldb.c), NULL until one is */
  int nidle;
} ka_sqldb;

/* A request's open database connection (sqldb.c). */
struct ka_sqlconn;

struct ka_app {
  struct ka_shared *shared;    /* python.wasm, shared by apps (app.c) */
  krait_engine *engine;        /* shared->engine */
  krait_module *module;        /* shared->module */
  uint64_t max_memory;         /* per instance (0: the engine's default) */
  uint64_t max_disk;           /* per instance disk quota (0: none) */
  krait_snapshot *snap;
  char *name;
  char *config_json;           /* what _krait.config() returns */
  ka_grant *grants;
  int ngrants;
  ka_sqldb *sqldbs;            /* granted SQLite databases (copies) */
  int nsqldbs;
  ko_allow outbound;           /* allowed_outbound_hosts: what the outbound
                                  bindings (net, redis, postgres) may reach */
  uint32_t max_out_conns;      /* connections a request may open */
  uint64_t max_out_bytes;      /* bytes a request may receive */
  ka_var *vars;                /* copies */
  int nvars;
  char **secrets;              /* copies of ka_app_config.secrets */
  int nsecrets;
  uint64_t timeout_ns, fuel;
  bool debug;
  FILE *log;
  /* the WASI view, identical at boot and for every request */
  krait_wasi_preopen *dirs;
  int ndirs;
  const char **envp;
  int envc;
  int null_fd;                 /* /dev/null for stdin */
  char build_key[65];          /* SHA-256 of what the snapshot depends on */
  const char *stale;           /* why its snapshot was stale (a static
                                  string), when it booted for that */
  char *boot_info;             /* the guest's boot_info JSON, or NULL */
  ka_llm llm;                  /* a copy of ka_app_config.llm (ka_llm_copy) */
  uint64_t handled;            /* requests so far (atomic) */
};

/* The state of one request (or of the boot, with req NULL). */
typedef struct ka_ctx {
  ka_app *app;
  const ka_request *req;
  ka_response *resp;
  bool responded;
  bool streaming;              /* respond_start was called */
  char error[512];             /* the last failed import's message (the
                                  guest reads at most 511 bytes) */
  uint64_t deadline;           /* ka_now when the request's time is up
                                  (0: none) */
  uint8_t *result;             /* the last call's result (call_result) */
  size_t result_len;
  struct ka_sqlconn *conns;    /* the request's open databases (sqldb.c) */
  int nconns;
  char sqldeny[96];            /* what the sqlite authorizer last refused */
  uint64_t sqlticks;           /* progress handler calls in this sqlite call */
  bool cli;                    /* krait python: only the net.* operations
                                  (and llm.* when llm is set) */
  const ka_llm *llm;           /* the models llm.* may call (the app's) */
  ka_net net;                  /* the request's outbound connections */
  struct ka_redisconn *rconns; /* the request's redis connections
                                  (redisdb.c; KA_REDIS_MAX_CONNS slots) */
  struct ka_pgslot {           /* the request's postgres connections (pgdb.c) */
    struct pg_conn *pg;        /* libpq's PGconn; NULL: a free slot */
    uint32_t id;               /* the handle the guest holds */
  } pg[KA_PG_MAX_CONNS];
  uint32_t pgnext;             /* the last handle given */
} ka_ctx;

/* bindings.c: the largest request call takes (32 MiB: SQL text is at most
** 1 MiB and a value at most the 16 MiB result limit); larger is E_TOOBIG. */
#define KA_CALL_MAX_REQUEST (32u << 20)

/* bindings.c: a call's result as it is built, at most
** KRAIT_CALL_MAX_RESULT bytes (over is set past it, and nothing more is
** kept). */
typedef struct ka_out { uint8_t *p; size_t len, cap; bool over, nomem; } ka_out;

/* Appends n bytes to o; false when over the limit or out of memory. */
bool ka_out_put(ka_out *o, const void *data, size_t n);
/* Appends a u32 length and n bytes. */
bool ka_out_str(ka_out *o, const void *data, size_t n);

/* One operation of a binding: reads its request through in (failures
** longjmp to the caller's catch), appends its result to out; returns 0 or
** a KRAIT_E_* code with the message in x->error. */
typedef int32_t (*ka_op_fn)(ka_ctx *x, ku_cursor *in, ka_out *out);

/* netops.c: the request's wait budget, shared by every binding that waits
** on a server (net.*, redis.*, postgres.*): in an app without timeout_ms,
** all of a request's waits together take at most net.wait_total_ms
** (KA_NET_WAIT_TOTAL_MS). ka_wait_end: when a call allowed call_ns must
** end (the request's deadline; without one, call_ns from now or when the
** budget is spent, whichever is sooner; 1 once spent). ka_wait_spent:
** whether it is. ka_wait_timed: runs fn, its time charged to the budget. */
uint64_t ka_wait_end(ka_ctx *x, uint64_t call_ns);
bool ka_wait_spent(const ka_ctx *x);
int32_t ka_wait_timed(ka_ctx *x, ku_cursor *in, ka_out *out, ka_op_fn fn);
/* Counts a new outbound connection of op (any binding) against the
** request's max_outbound_connections: 0, or E_TOOBIG naming the key. */
int32_t ka_net_count_open(ka_ctx *x, const char *op);

/* Records why a call failed (for error_message) and returns code. */
int32_t ka_fail_call(ka_ctx *x, int32_t code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* sqldb.c: the operations "sqlite.open", "sqlite.execute", "sqlite.exec",
** "sqlite.close" (python/c/krait_abi.h), and the end of a request's
** connections. */
int32_t ka_sql_open(ka_ctx *x, ku_cursor *in, ka_out *out);
int32_t ka_sql_execute(ka_ctx *x, ku_cursor *in, ka_out *out);
int32_t ka_sql_exec(ka_ctx *x, ku_cursor *in, ka_out *out);
int32_t ka_sql_close(ka_ctx *x, ku_cursor *in, ka_out *out);
void ka_sql_end(ka_ctx *x);
/* Closes the connections g keeps between requests (when the app is freed). */
void ka_sql_pool_free(ka_sqldb *g);

/* netops.c: the operations "net.connect", "net.tls", "net.send",
** "net.recv", "net.poll", "net.shutdown", "net.close" (krait_abi.h). */
int32_t ka_net_op_connect(ka_ctx *x, ku_cursor *in, ka_out *out);
int32_t ka_net_op_tls(ka_ctx *x, ku_cursor *in, ka_out *out);
int32_t ka_net_op_send(ka_ctx *x, ku_cursor *in, ka_out *out);
int32_t ka_net_op_recv(ka_ctx *x, ku_cursor *in, ka_out *out);
int32_t ka_net_op_poll(ka_ctx *x, ku_cursor *in, ka_out *out);
int32_t ka_net_op_shutdown(ka_ctx *x, ku_cursor *in, ka_out *out);
int32_t ka_net_op_close(ka_ctx *x, ku_cursor *in, ka_out *out);

/* pgdb.c: the operations "postgres.open", "postgres.query",
** "postgres.execute", "postgres.close" (docs/BINDINGS.md), and the end of a
** request's connections. */
int32_t ka_pg_open(ka_ctx *x, ku_cursor *in, ka_out *out);
int32_t ka_pg_query(ka_ctx *x, ku_cursor *in, ka_out *out);
int32_t ka_pg_execute(ka_ctx *x, ku_cursor *in, ka_out *out);
int32_t ka_pg_close(ka_ctx *x, ku_cursor *in, ka_out *out);
void ka_pg_end(ka_ctx *x);

/* sqlfn.c: replaces, on db, the SQL functions a guest may not call in any
** context (also from a schema it wrote: fts3_tokenizer, fts5,
** load_extension) and SQLite's quadratic instr and replace by linear ones. */
struct sqlite3;
void ka_sql_functions(struct sqlite3 *db);

/* redisdb.c: the operations "redis.open", "redis.command", "redis.close"
** (docs/BINDINGS.md), and the end of a request's connections. */
int32_t ka_redis_open(ka_ctx *x, ku_cursor *in, ka_out *out);
int32_t ka_redis_command(ka_ctx *x, ku_cursor *in, ka_out *out);
int32_t ka_redis_close(ka_ctx *x, ku_cursor *in, ka_out *out);
void ka_redis_end(ka_ctx *x);

/* rediswire.c: the tags of a reply's values in a redis.command result. */
enum { KA_REDIS_NIL, KA_REDIS_STATUS, KA_REDIS_INT, KA_REDIS_BULK, KA_REDIS_ARRAY, KA_REDIS_ERROR };
/* Most arguments one command may have. */
#define KA_REDIS_MAX_ARGS (1u << 20)
/* Most reply bytes the reader may hold unparsed (a bulk string is parsed
** only once whole): the result limit and a read's slack. */
#define KA_REDIS_MAX_PENDING (KRAIT_CALL_MAX_RESULT + (64u << 10))
/* ka_redis_reader_next's failures: the reply is over the limits, or it
** is not RESP. */
#define KA_REDIS_OVER (-1)
#define KA_REDIS_PROTOCOL (-2)

/* A command as binary-safe arguments, pointing into the request. */
typedef struct ka_redis_cmd {
  int argc;
  const char **argv;
  size_t *len;
} ka_redis_cmd;

/* Where the reader puts a reply's values (values counts them). */
typedef struct ka_redis_sink {
  ka_out *out;
  size_t values;
} ka_redis_sink;

struct redisReader;
/* Decodes u32 argc, then argc times u32 length and bytes, nothing after,
** into c (freed by ka_redis_cmd_free); false when out of memory. A
** malformed request fails through the cursor before anything is allocated. */
bool ka_redis_decode(ku_cursor *in, ka_redis_cmd *c);
void ka_redis_cmd_free(ka_redis_cmd *c);
/* The name of what c would run that the binding refuses, or NULL. */
const char *ka_redis_refuse(const ka_redis_cmd *c);
/* Makes r put every reply's values into k (encoded as docs/BINDINGS.md
** says) instead of building hiredis objects. */
void ka_redis_reader_bind(struct redisReader *r, ka_redis_sink *k);
/* Parses what r holds: 0 with *done when a whole reply is in k, 0 when
** more bytes are needed, KA_REDIS_OVER when the result or the bytes held
** unparsed are over their limits, KA_REDIS_PROTOCOL for bytes that are
** not RESP (r->errstr). */
int ka_redis_reader_next(struct redisReader *r, ka_redis_sink *k, bool *done);

/* llmwire.c: the llm binding's requests. What one may ask for: a model
** name's, a prompt's, a message's or a text's bytes, how many messages or
** texts, and max_tokens (past it a request is refused as absurd; below it
** the model's context decides); the parameters' bytes. */
#define KA_LLM_NAME_MAX 128u
#define KA_LLM_PROMPT_MAX KL_PROMPT_MAX
#define KA_LLM_ITEMS_MAX 1024u
#define KA_LLM_TOKENS_MAX 65536u
#define KA_LLM_PARAMS_BYTES 33u
enum { KA_LLM_INFER, KA_LLM_CHAT, KA_LLM_EMBED };

/* A decoded request: the strings point into the request's bytes. */
typedef struct ka_llm_req {
  int op;                      /* KA_LLM_* */
  const char *model;
  size_t model_len;
  const char *prompt;          /* llm.infer */
  size_t prompt_len;
  kl_chat_msg *msgs;           /* llm.chat (ku_malloc'ed) */
  size_t nmsgs;
  const char **texts;          /* llm.embed (ku_malloc'ed, as lens) */
  size_t *lens;
  size_t ntexts;
  kl_infer_params params;      /* llm.infer, llm.chat */
} ka_llm_req;

/* Decodes op's request from in into r: NULL, or why it is invalid input
** (into why). A truncated request fails through the cursor before anything
** is allocated; ka_llm_req_free releases r in every other case. */
const char *ka_llm_decode(int op, ku_cursor *in, ka_llm_req *r, char *why, size_t n);
void ka_llm_req_free(ka_llm_req *r);

/* llm.c: the operations "llm.infer", "llm.chat", "llm.embed"
** (docs/BINDINGS.md); and the app's copy of its models (ka_llm_free
** releases it; false when out of memory). */
int32_t ka_llm_infer(ka_ctx *x, ku_cursor *in, ka_out *out);
int32_t ka_llm_chat(ka_ctx *x, ku_cursor *in, ka_out *out);
int32_t ka_llm_embed(ka_ctx *x, ku_cursor *in, ka_out *out);
bool ka_llm_copy(ka_llm *dst, const ka_llm *src);
void ka_llm_free(ka_llm *l);

/* bindings.c: releases what the request's calls kept (results,
** connections); run when its instance is done. */
void ka_bindings_end(ka_ctx *x);

/* bundle.c: the identities of files left out of bundles and build keys
** (ka_app_config.exclude, with their -wal, -shm, -journal siblings). */
typedef struct ka_excluded {
  int n;
  struct { dev_t dev; ino_t ino; } id[256];
} ka_excluded;

/* Records the identities of cfg's excluded files that exist. */
void ka_excluded_init(ka_excluded *x, const ka_app_config *cfg);
/* Whether the file sb describes is one of them. */
bool ka_excluded_has(const ka_excluded *x, const struct stat *sb);

/* artifact.c: the build key of cfg into a->build_key; loading a built
** snapshot (1 loaded, 0 none, -1 damaged with err, -2 stale with err). */
void ka_build_key(ka_app *a, const ka_app_config *cfg);
int ka_try_snapshot(ka_app *a, const ka_app_config *cfg, char *err, size_t errlen);

/* imports.c: defines module "krait" in linker for requests of app. */
int ka_define_imports(krait_linker *linker, ka_app *app);
/* bindings.c: the imports call(name, nlen, req, rlen) and
** call_result(buf, cap). */
int ka_imp_call(krait_caller *c, void *env, krait_slot *ar);
int ka_imp_call_result(krait_caller *c, void *env, krait_slot *ar);
/* The same on context x (krait python's, which is no store's data). */
int32_t ka_call_on(ka_ctx *x, krait_caller *c, krait_slot *ar);
int32_t ka_call_result_on(ka_ctx *x, krait_caller *c, krait_slot *ar);
/* imports.c: the request encoded as python/c/krait_abi.h says; malloc'ed. */
uint8_t *ka_encode_request(const ka_request *req, size_t *len);

#endif
