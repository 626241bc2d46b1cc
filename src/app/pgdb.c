/*
** pgdb.c -- the postgres binding's operations (docs/BINDINGS.md "##
** postgres"): a request's libpq connections to addresses its app's
** allowed_outbound_hosts grants, driven asynchronously within the request's
** deadline and the result limit. Not address parsing (pgaddr.c) or
** libpq's settings (pgenv.c).
*/
#include <errno.h>
#include <poll.h>
#include <postgresql/libpq-fe.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/app_internal.h"
#include "../../python/c/krait_abi.h"
#include "platform/platform.h"
#include "util/util.h"

/* How long one call may wait in an app without a request deadline. */
#define KA_PG_MAX_WAIT_NS (30ull * 1000000000ull)
/* Column types, as Spin's DbDataType numbers them. */
enum { KA_PGT_BOOLEAN = 0, KA_PGT_INT16 = 2, KA_PGT_INT32 = 3, KA_PGT_INT64 = 4,
       KA_PGT_FLOATING32 = 9, KA_PGT_FLOATING64 = 10, KA_PGT_STR = 11, KA_PGT_BINARY = 12,
       KA_PGT_OTHER = 13 };

/* The monotonic time this call may wait until. */
static uint64_t ka_pg_until(ka_ctx *x) {
  return ka_wait_end(x, KA_PG_MAX_WAIT_NS);   /* within the request's wait budget */
}

/* Closes slot s mid-statement; when the deadline ended it (`cancel`),
** first asks the server to cancel the statement (pgcancel.c): the guest
** may have SET statement_timeout and client_connection_check_interval to
** 0, so the cancel is what ends it.
** Other broken runs (COPY, a malformed value, the size limits) only close
** the socket, so a hostile server cannot take cancel slots with them. */
static void ka_pg_abandon(struct ka_pgslot *s, bool cancel) {
  if (cancel) ka_pg_cancel(s->pg);
  PQfinish(s->pg);
  s->pg = NULL;
}

/* libpq's last message on pg, one line (no trailing newline). */
static const char *ka_pg_msg(PGconn *pg, char *buf, size_t cap) {
  snprintf(buf, cap, "%s", pg ? PQerrorMessage(pg) : "out of memory");
  for (size_t n = strlen(buf); n && (buf[n - 1] == '\n' || buf[n - 1] == ' '); n--) buf[n - 1] = '\0';
  for (char *p = buf; *p; p++)
    if (*p == '\n') *p = ' ';
  return buf;
}

/* The notice processor: the server's notices (RAISE NOTICE, warnings)
** are dropped, never written to krait's stderr. */
static void ka_pg_notice(void *arg, const char *message) {
  (void)arg;
  (void)message;
}

/* Connects to the checked addresses of d for address a, polling within
** until. 0 with *out, or a failure. */
static int32_t ka_pg_connect(ka_ctx *x, const ka_pgaddr *a, const ko_dest *d, uint64_t until,
                             PGconn **out) {
  const char *keys[KA_PG_MAX_SETTINGS + 1], *vals[KA_PG_MAX_SETTINGS + 1];
  char *text = ku_malloc(KA_PG_SETTINGS_SIZE), msg[200];
  if (!text) return ka_fail_call(x, KRAIT_E_TOOBIG, "postgres.open: out of memory");
  uint64_t now = kp_monotonic_ns();
  if (ka_pg_settings(a, d, until > now ? (until - now) / 1000000 + 1 : 1, keys, vals, text) != 0) {
    ku_free(text);
    return ka_fail_call(x, KRAIT_E_INVAL, "postgres.open: the address's settings are too long");
  }
  PGconn *pg = PQconnectStartParams(keys, vals, 0);   /* 0: dbname is never a connection string */
  ku_free(text);
  if (!pg) return ka_fail_call(x, KRAIT_E_TOOBIG, "postgres.open: out of memory");
  PQsetNoticeProcessor(pg, ka_pg_notice, NULL);
  int32_t rc = ka_pg_dial(pg, until, out, msg, sizeof msg);   /* pg is *out or closed */
  for (char *p = msg; *p; p++)
    if (*p == '\n') *p = ' ';
  if (rc == KRAIT_E_TIMEOUT)
    return ka_fail_call(x, KRAIT_E_TIMEOUT, "postgres.open: connecting to %s:%u did not finish "
                        "before the request's deadline", a->val[KA_PGK_HOST], (unsigned)d->port);
  return rc ? ka_fail_call(x, rc, "postgres.open: %s", msg) : 0;
}

/* A free slot of x (over the limit: the failure), or NULL. */
static struct ka_pgslot *ka_pg_slot(ka_ctx *x) {
  for (int i = 0; i < KA_PG_MAX_CONNS; i++)
    if (!x->pg[i].pg) return &x->pg[i];
  ka_fail_call(x, KRAIT_E_TOOBIG, "postgres.open: %d connections are open in this request (the "
               "limit): close one first (a `with postgres.open(...) as db:` block closes it)",
               KA_PG_MAX_CONNS);
  return NULL;
}

/* Checks address [s, s+n) against the app's allow-list and resolves its
** host: 0 with d filled, or a failure naming what was denied. */
static int32_t ka_pg_grant(ka_ctx *x, const ka_pgaddr *a, ko_dest *d) {
  char err[KO_ERR_SIZE];
  ko_url u;
  ko_denial den;
  if (ka_pg_url(a, &u, err, sizeof err) != 0) return ka_fail_call(x, KRAIT_E_INVAL, "%s", err);
  ko_verdict v = ko_resolve(&x->app->outbound, &u, ka_pg_until(x), d, &den);
  if (v == KO_ALLOWED) return 0;
  if (v == KO_TIMED_OUT)
    return ka_fail_call(x, KRAIT_E_TIMEOUT, "postgres.open: resolving %s timed out", u.host);
  if (v == KO_DENIED_ADDR && !den.host_is_ip)   /* the guest's message names only the class */
    fprintf(x->app->log, "[%s] postgres.open: %s resolves to %s, not in " KO_MANIFEST_KEY "\n",
            x->app->name, u.host, ko_addr_text(&den.addr, err));
  ko_deny_format(&x->app->outbound, &den, err, sizeof err);
  return ka_fail_call(x, v == KO_NO_ADDRESS ? KRAIT_E_BACKEND : KRAIT_E_DENIED, "postgres: %s", err);
}

/* postgres.open: req the address (a connection string or URL); result u32
** handle. */
int32_t ka_pg_open(ka_ctx *x, ku_cursor *in, ka_out *out) {
  size_t n = ku_left(in);
  const char *s = (const char *)ku_bytes(in, n), *env = ka_pg_environ_set();
  char err[512];
  ko_dest d;
  PGconn *pg = NULL;
  int32_t rc = 0;
  struct ka_pgslot *slot = ka_pg_slot(x);
  if (!slot) return KRAIT_E_TOOBIG;   /* before anything is allocated */
  ka_pgaddr *a = ku_malloc(sizeof *a);
  if (!a) return ka_fail_call(x, KRAIT_E_TOOBIG, "postgres.open: out of memory");
  if (env)
    rc = ka_fail_call(x, KRAIT_E_DENIED, "postgres.open: the host's environment sets %s, which "
                      "libpq would use for the app's connection: unset it (krait serve removes "
                      "libpq's variables when it starts)", env);
  else if (ka_pg_parse(s, n, a, err, sizeof err) != 0) rc = ka_fail_call(x, KRAIT_E_INVAL, "%s", err);
  if (!rc) rc = ka_pg_grant(x, a, &d);
  if (!rc && x->deadline && kp_monotonic_ns() >= x->deadline)
    rc = ka_fail_call(x, KRAIT_E_TIMEOUT, "postgres.open: the request's deadline has passed");
  if (!rc) rc = ka_net_count_open(x, "postgres.open");   /* max_outbound_connections */
  if (!rc) rc = ka_pg_connect(x, a, &d, ka_pg_until(x), &pg);
  ku_free(a);
  if (rc) return rc;
  slot->pg = pg;
  slot->id = ++x->pgnext;
  ka_out_put(out, &slot->id, 4);
  return 0;
}

/* The open connection of handle h, or NULL with the failure in x. */
static struct ka_pgslot *ka_pg_conn(ka_ctx *x, uint32_t h, const char *op) {
  for (int i = 0; i < KA_PG_MAX_CONNS; i++)
    if (x->pg[i].pg && x->pg[i].id == h) return &x->pg[i];
  ka_fail_call(x, KRAIT_E_STATE, "%s: connection %u is not open (closed, or never opened in this "
               "request)", op, h);
  return NULL;
}

/* postgres.close: req u32 handle; closes it. */
int32_t ka_pg_close(ka_ctx *x, ku_cursor *in, ka_out *out) {
  (void)out;
  struct ka_pgslot *s = ka_pg_conn(x, ku_fixed32(in), "postgres.close");
  if (!s) return KRAIT_E_STATE;
  PQfinish(s->pg);
  s->pg = NULL;
  return 0;
}

void ka_pg_end(ka_ctx *x) {
  for (int i = 0; i < KA_PG_MAX_CONNS; i++) {
    if (x->pg[i].pg) PQfinish(x->pg[i].pg);
    x->pg[i].pg = NULL;
  }
}

/* Appends a value's tag and, when given, its payload. */
static void ka_pg_put(ka_out *o, uint8_t tag, const void *v, size_t n) {
  ka_out_put(o, &tag, 1);
  if (v) ka_out_put(o, v, n);
}

/* Appends column j of row 0 of r as a tagged value (binary format): 0, or
** -1 when the server sent a value of the wrong size or text that is not
** UTF-8. */
static int ka_pg_value(ka_out *o, const PGresult *r, int j) {
  const uint8_t *v = (const uint8_t *)PQgetvalue(r, 0, j);
  size_t n = (size_t)PQgetlength(r, 0, j);
  uint8_t le[8];
  static const struct { Oid oid; uint8_t tag, size; } fixed[] = {
    { KA_OID_BOOL, KA_PGV_BOOL, 1 }, { KA_OID_INT2, KA_PGV_INT16, 2 }, { KA_OID_INT4, KA_PGV_INT32, 4 },
    { KA_OID_INT8, KA_PGV_INT64, 8 }, { KA_OID_FLOAT4, KA_PGV_FLOAT32, 4 },
    { KA_OID_FLOAT8, KA_PGV_FLOAT64, 8 },
  };
  Oid t = PQftype(r, j);
  if (PQgetisnull(r, 0, j)) { ka_pg_put(o, KA_PGV_NULL, NULL, 0); return 0; }
  for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
    if (fixed[i].oid != t) continue;
    if (n != fixed[i].size) return -1;
    for (size_t k = 0; k < n; k++) le[k] = v[n - 1 - k];
    ka_pg_put(o, fixed[i].tag, le, n);
    return 0;
  }
  if (t == KA_OID_TEXT || t == KA_OID_VARCHAR || t == KA_OID_BPCHAR) {
    if (!ku_utf8_valid(v, n)) return -1;
    ka_pg_put(o, KA_PGV_STR, NULL, 0);
    ka_out_str(o, v, n);
  } else if (t == KA_OID_BYTEA) {
    ka_pg_put(o, KA_PGV_BINARY, NULL, 0);
    ka_out_str(o, v, n);
  } else {
    ka_pg_put(o, KA_PGV_UNSUPPORTED, NULL, 0);
  }
  return 0;
}

/* The DbDataType of type oid t. */
static uint8_t ka_pg_type(Oid t) {
  switch (t) {
  case KA_OID_BOOL: return KA_PGT_BOOLEAN;
  case KA_OID_INT2: return KA_PGT_INT16;
  case KA_OID_INT4: return KA_PGT_INT32;
  case KA_OID_INT8: return KA_PGT_INT64;
  case KA_OID_FLOAT4: return KA_PGT_FLOATING32;
  case KA_OID_FLOAT8: return KA_PGT_FLOATING64;
  case KA_OID_TEXT: case KA_OID_VARCHAR: case KA_OID_BPCHAR: return KA_PGT_STR;
  case KA_OID_BYTEA: return KA_PGT_BINARY;
  default: return KA_PGT_OTHER;
  }
}

/* A statement's run: what it sends back and how it went. */
typedef struct ka_pgrun {
  ka_out *out;                 /* NULL: rows are dropped (execute) */
  size_t nrows_at;             /* where the row count goes */
  bool header;                 /* columns written */
  uint32_t nrows;
  uint64_t count;              /* rows affected (PQcmdTuples) */
  char error[200];             /* the server's first error */
  bool broken;                 /* the connection must be closed */
  bool flood;                  /* the server sent over the byte budget */
  uint64_t budget;             /* the socket's received-byte count allowed */
  int32_t code;                /* a failure's code (0: none) */
} ka_pgrun;

/* Reads what arrived on pg, unless the server has sent more than R's byte
** budget (libpq keeps what it reads: distinct ParameterStatus names,
** repeated errors, a message's announced size); notifications (LISTEN) are
** dropped as they come, so they cannot pile up. false when the connection
** failed or is over the budget. */
static bool ka_pg_consume(PGconn *pg, ka_pgrun *R) {
  if (ka_pg_received(pg) > R->budget) {
    R->flood = true;
    return false;
  }
  if (!PQconsumeInput(pg)) return false;
  for (PGnotify *n; (n = PQnotifies(pg));) PQfreemem(n);
  return true;
}

/* Writes r's columns (names and DbDataType) and the row count's place. */
static void ka_pg_header(ka_pgrun *R, const PGresult *r) {
  uint32_t ncol = (uint32_t)PQnfields(r), zero = 0;
  R->header = true;
  if (!R->out) return;
  ka_out_put(R->out, &ncol, 4);
  for (uint32_t j = 0; j < ncol; j++) {
    const char *name = PQfname(r, (int)j);
    uint8_t t = ka_pg_type(PQftype(r, (int)j));
    ka_out_str(R->out, name ? name : "", name ? strlen(name) : 0);
    ka_out_put(R->out, &t, 1);
  }
  R->nrows_at = R->out->len;
  ka_out_put(R->out, &zero, 4);
}

/* The server's error of r as one line: severity, message, SQLSTATE and
** detail. */
static void ka_pg_error(ka_pgrun *R, const PGresult *r) {
  const char *sev = PQresultErrorField(r, PG_DIAG_SEVERITY), *msg = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
  const char *code = PQresultErrorField(r, PG_DIAG_SQLSTATE), *detail = PQresultErrorField(r, PG_DIAG_MESSAGE_DETAIL);
  if (R->error[0]) return;
  if (!msg) { snprintf(R->error, sizeof R->error, "%s", PQresultErrorMessage(r)); return; }
  snprintf(R->error, sizeof R->error, "%s: %s (SQLSTATE %s)%s%s", sev ? sev : "ERROR", msg,
           code ? code : "?", detail ? ": " : "", detail ? detail : "");
}

/* Takes one result of the statement into R. */
static void ka_pg_result(ka_pgrun *R, PGresult *r) {
  switch (PQresultStatus(r)) {
  case PGRES_SINGLE_TUPLE:
    if (!R->header) ka_pg_header(R, r);
    for (int j = 0; R->out && j < PQnfields(r); j++)
      if (ka_pg_value(R->out, r, j) != 0) {
        snprintf(R->error, sizeof R->error, "the server sent a malformed value in column %d", j + 1);
        R->broken = true;
        R->code = KRAIT_E_BACKEND;
        return;
      }
    R->nrows++;
    if (R->out && (R->out->over || R->out->nomem)) { R->broken = true; R->code = KRAIT_E_TOOBIG; }
    return;
  case PGRES_TUPLES_OK: case PGRES_COMMAND_OK: {
    const char *c = PQcmdTuples(r);
    if (!R->header && PQresultStatus(r) == PGRES_TUPLES_OK) ka_pg_header(R, r);
    R->count = c && *c ? strtoull(c, NULL, 10) : 0;
    return;
  }
  case PGRES_EMPTY_QUERY:
    return;
  case PGRES_COPY_IN: case PGRES_COPY_OUT: case PGRES_COPY_BOTH:
    snprintf(R->error, sizeof R->error, "COPY is not supported by the postgres binding");
    R->broken = true;
    return;
  default:
    ka_pg_error(R, r);
    return;
  }
}

/* Sends the statement and reads its results within until; the outcome in
** R. 0 when the connection is still usable. */
static void ka_pg_exchange(PGconn *pg, const ka_pgreq *q, uint64_t until, ka_pgrun *R) {
  int f;
  uint64_t got = ka_pg_received(pg);
  R->budget = got + KRAIT_CALL_MAX_RESULT + KA_PG_CALL_SLACK_BYTES;
  if (R->budget > KA_PG_MAX_CONN_BYTES) R->budget = KA_PG_MAX_CONN_BYTES;
  if (!PQsendQueryParams(pg, q->sql, (int)q->n, q->types, q->values, q->lengths, q->formats, 1)) {
    ka_pg_msg(pg, R->error, sizeof R->error);
    R->broken = true;
    return;
  }
  PQsetSingleRowMode(pg);
  while ((f = PQflush(pg)) == 1) {
    int w = ka_pg_wait(pg, POLLIN | POLLOUT, until);
    if (w == 0) { R->code = KRAIT_E_TIMEOUT; R->broken = true; return; }
    if (w < 0 || ((w & POLLIN) && !ka_pg_consume(pg, R))) { f = -1; break; }
  }
  for (PGresult *r; f == 0 && !R->broken;) {
    while (PQisBusy(pg)) {
      int w = ka_pg_wait(pg, POLLIN, until);
      if (w == 0) { R->code = KRAIT_E_TIMEOUT; R->broken = true; return; }
      if (w < 0 || !ka_pg_consume(pg, R)) { f = -1; break; }
    }
    if (f != 0 || !(r = PQgetResult(pg))) break;
    ka_pg_result(R, r);
    PQclear(r);
  }
  if (f != 0 && R->flood) {
    R->code = KRAIT_E_TOOBIG;
    R->broken = true;
  } else if (f != 0) {
    ka_pg_msg(pg, R->error, sizeof R->error);
    R->broken = true;
  }
}

/* The failure of run R of op: E_TIMEOUT, E_TOOBIG, or E_BACKEND with the
** server's message; a broken connection is closed first. */
static int32_t ka_pg_fail(ka_ctx *x, struct ka_pgslot *s, ka_pgrun *R, const char *op) {
  const char *closed = R->broken ? " (the connection was closed)" : "";
  if (R->broken) ka_pg_abandon(s, R->code == KRAIT_E_TIMEOUT);
  if (R->flood)
    return ka_fail_call(x, KRAIT_E_TOOBIG, "%s: the server sent over %u MiB in this call or %u MiB "
                        "over the connection's life (the limits)%s", op,
                        (KRAIT_CALL_MAX_RESULT + KA_PG_CALL_SLACK_BYTES) >> 20,
                        (unsigned)(KA_PG_MAX_CONN_BYTES >> 20), closed);
  if (R->code == KRAIT_E_TIMEOUT)
    return ka_fail_call(x, KRAIT_E_TIMEOUT, "%s: the statement was cancelled at the request's "
                        "deadline%s", op, closed);
  if (R->code == KRAIT_E_TOOBIG)
    return ka_fail_call(x, KRAIT_E_TOOBIG, "%s: the result is over the %u MiB limit after %u rows%s: "
                        "select fewer rows or columns, or page with LIMIT/OFFSET", op,
                        KRAIT_CALL_MAX_RESULT >> 20, R->nrows, closed);
  return ka_fail_call(x, KRAIT_E_BACKEND, "%s: %s%s", op, R->error, closed);
}

/* postgres.query and postgres.execute: req u32 handle, string sql, u32
** nparams, nparams x value; rows are sent (query) or dropped (execute). */
static int32_t ka_pg_statement(ka_ctx *x, ku_cursor *in, ka_out *out, bool rows, const char *op) {
  char err[200];
  ka_pgreq q;
  ka_pgrun R = { .out = rows ? out : NULL };
  uint64_t until = ka_pg_until(x);
  int32_t rc = ka_pg_request(in, &q, err, sizeof err);
  struct ka_pgslot *s = rc ? NULL : ka_pg_conn(x, q.handle, op);
  if (rc) rc = ka_fail_call(x, rc, "%s: %s", op, err);
  else if (!s) rc = KRAIT_E_STATE;
  else if (x->deadline && kp_monotonic_ns() >= x->deadline) R.code = KRAIT_E_TIMEOUT;
  else ka_pg_exchange(s->pg, &q, until, &R);
  ka_pg_request_free(&q);
  if (rc) return rc;
  if (R.code || R.broken || R.error[0]) return ka_pg_fail(x, s, &R, op);
  if (!rows) ka_out_put(out, &R.count, 8);
  else if (!R.header) { uint32_t zero[2] = { 0, 0 }; ka_out_put(out, zero, 8); }
  else if (!out->over && !out->nomem) memcpy(out->p + R.nrows_at, &R.nrows, 4);
  return 0;
}

int32_t ka_pg_query(ka_ctx *x, ku_cursor *in, ka_out *out) {
  return ka_pg_statement(x, in, out, true, "postgres.query");
}

int32_t ka_pg_execute(ka_ctx *x, ku_cursor *in, ka_out *out) {
  return ka_pg_statement(x, in, out, false, "postgres.execute");
}
