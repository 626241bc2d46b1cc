/*
** pg.h -- what the postgres binding's files share (pgaddr.c, pgdb.c) and
** its tests see: a guest's connection address, parsed and checked, and the
** libpq connection settings built from it. Not the operations (pgdb.c).
*/
#ifndef KA_PG_H
#define KA_PG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net/net.h"
#include "util/cursor.h"

/* The longest address a guest may pass (a connection string or URL). */
#define KA_PG_MAX_ADDRESS 4096
/* Most connections one request may have open at once. */
#define KA_PG_MAX_CONNS 8
/* Most parameters one statement may bind (the protocol's 16-bit count). */
#define KA_PG_MAX_PARAMS 65535

/* The longest SQL text one statement may have (1 MiB, as sqlite's). */
#define KA_PG_MAX_SQL (1u << 20)

/* Value tags of requests and results (docs/BINDINGS.md "## postgres"). */
enum { KA_PGV_NULL, KA_PGV_BOOL, KA_PGV_INT8, KA_PGV_INT16, KA_PGV_INT32, KA_PGV_INT64,
       KA_PGV_FLOAT32, KA_PGV_FLOAT64, KA_PGV_STR, KA_PGV_BINARY, KA_PGV_UNSUPPORTED = 14 };
/* The PostgreSQL type OIDs the binding knows (PostgreSQL's pg_type.dat). */
enum { KA_OID_BOOL = 16, KA_OID_BYTEA = 17, KA_OID_CHAR = 18, KA_OID_INT8 = 20, KA_OID_INT2 = 21,
       KA_OID_INT4 = 23, KA_OID_TEXT = 25, KA_OID_FLOAT4 = 700, KA_OID_FLOAT8 = 701,
       KA_OID_BPCHAR = 1042, KA_OID_VARCHAR = 1043 };

/* pgreq.c: a statement request (u32 handle, u32-counted SQL, u32 nparams,
** tagged parameters) as PQsendQueryParams takes it. */
typedef struct ka_pgreq {
  uint32_t handle;
  char *sql;                   /* NUL-ended */
  uint32_t n;                  /* parameters */
  uint32_t *types;             /* OIDs (0: the server infers) */
  const char **values;         /* NULL: SQL NULL */
  int *lengths, *formats;      /* formats: 0 text, 1 binary */
  char *scratch;               /* the values' bytes */
} ka_pgreq;

/* Reads one request at in into r (a malformed one fails through in's
** catch point before anything is allocated). 0, or a KRAIT_E_* code with
** err; r is freed with ka_pg_request_free either way. */
int32_t ka_pg_request(ku_cursor *in, ka_pgreq *r, char *err, size_t errlen);
void ka_pg_request_free(ka_pgreq *r);

/* The keywords a guest's address may give (tokio-postgres's, as Spin
** parses them, less hostaddr); every other libpq keyword is refused. */
typedef enum ka_pgkey {
  KA_PGK_HOST, KA_PGK_PORT, KA_PGK_USER, KA_PGK_PASSWORD, KA_PGK_DBNAME, KA_PGK_OPTIONS,
  KA_PGK_APPNAME, KA_PGK_SSLMODE, KA_PGK_CONNECT_TIMEOUT, KA_PGK_TARGET, KA_PGK_CHANNEL_BINDING,
  KA_PGK_KEEPALIVES, KA_PGK_KEEPALIVES_IDLE, KA_PGK_KEEPALIVES_INTERVAL, KA_PGK_KEEPALIVES_RETRIES,
  KA_PGK_TCP_USER_TIMEOUT, KA_PGK_COUNT
} ka_pgkey;

/* A parsed address: each keyword's value (NULL: not given), decoded, as
** NUL-terminated text in buf. */
typedef struct ka_pgaddr {
  const char *val[KA_PGK_COUNT];
  uint16_t port;                          /* given, or 5432 */
  char buf[KA_PG_MAX_ADDRESS + KA_PGK_COUNT * 2];
  size_t used;
} ka_pgaddr;

/* The name of keyword k as the address spells it ("host"). */
const char *ka_pg_key_name(ka_pgkey k);

/* Parses address [s, s+n): a URL (postgres:// or postgresql://) or
** key=value pairs, as libpq and tokio-postgres read them; checks every
** keyword and value (one TCP host, no Unix sockets, known sslmode, ...).
** 0, or -1 with a message in err naming what is wrong (never a value, so
** no password is ever shown). */
int ka_pg_parse(const char *s, size_t n, ka_pgaddr *a, char *err, size_t errlen);

/* The URL the allow-list checks for a: postgres://host:port. 0, or -1
** with err. */
int ka_pg_url(const ka_pgaddr *a, ko_url *u, char *err, size_t errlen);

/* The libpq settings of a connection to a's host at the checked addresses
** of d (hostaddr, so libpq never resolves): every libpq keyword that has
** an environment or file default is given explicitly (no password file,
** client certificate or key, root certificate, service, Kerberos).
** deadline_ms bounds statement_timeout. Fills keys/vals (NULL-ended, at
** most KA_PG_MAX_SETTINGS + 1) with text kept in out (KA_PG_SETTINGS_SIZE
** bytes). 0, or -1 when they do not fit (never a connection then). */
#define KA_PG_MAX_SETTINGS 40
#define KA_PG_SETTINGS_SIZE (2 * KA_PG_MAX_ADDRESS + KO_ADDRS_MAX * (KO_HOST_MAX + KO_ADDR_TEXT + 2) + 2048)
int ka_pg_settings(const ka_pgaddr *a, const ko_dest *d, uint64_t deadline_ms,
                   const char **keys, const char **vals, char *out);

/* The environment variables libpq 15 reads (PGHOST, PGPASSWORD,
** PGSERVICE, PGSERVICEFILE, ...), NULL-ended. */
extern const char *const ka_pg_environ[];
/* (ka_pg_environ_scrub, app.h, removes them.) */
/* The first of them that is set, or NULL: a connection is refused then. */
const char *ka_pg_environ_set(void);

/* pgconn.c: libpq's login runs on a helper thread the request waits for
** until its deadline; a helper whose request stopped waiting closes the
** connection itself, and at most KA_PG_MAX_DIALERS of them run at once
** (over it, opens are refused). */
struct pg_conn;
#define KA_PG_MAX_DIALERS 32
/* The bytes a server may send during login (TCP_INFO's count). */
#define KA_PG_MAX_LOGIN_BYTES (1u << 20)
/* The bytes a server may send beyond the result limit during one call
** (the kernel's count runs ahead of what libpq has read by up to the
** socket's receive buffer, tcp_rmem: 6 MiB at most by default), and over a
** connection's life (TCP_INFO's count: libpq keeps what it reads, such as
** every distinct ParameterStatus). */
#define KA_PG_CALL_SLACK_BYTES (8u << 20)
#define KA_PG_MAX_CONN_BYTES (64ull << 20)
/* Logs pg in within until: 0 with *out, or the code with its message. */
int32_t ka_pg_dial(struct pg_conn *pg, uint64_t until, struct pg_conn **out, char *msg, size_t cap);
/* Waits for events on pg's socket until `until`: the events seen, 0 when
** the time is up, -1 on an error. */
int ka_pg_wait(struct pg_conn *pg, short events, uint64_t until);
/* pgcancel.c: asks the server to cancel pg's statement from a detached
** thread (at most 32 at once, each done within 5 s when krait builds the
** request itself); pg stays the caller's to close. */
void ka_pg_cancel(struct pg_conn *pg);
/* The bytes the kernel has received on pg's socket so far (0: unknown). */
uint64_t ka_pg_received(struct pg_conn *pg);

#endif
