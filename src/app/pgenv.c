/*
** pgenv.c -- what libpq is given for a guest's connection: every setting
** with an environment or file default pinned, and the process environment
** libpq would read scrubbed. Not parsing addresses (pgaddr.c) or the
** operations (pgdb.c).
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/app.h"
#include "app/pg.h"

/* A path that never names a file: stat() fails (ENOTDIR) for a password
** file, client certificate and key, root certificate and CRLs. */
#define KA_PG_NO_FILE "/dev/null/krait-no-file"
/* The system's root certificates: sslmode=require verifies the server
** against them and its name, as Spin's TLS connector does. */
#define KA_PG_SYSTEM_ROOTS "/etc/ssl/certs/ca-certificates.crt"
/* How often (ms) the server checks, while a statement runs, that krait is
** still connected: a connection closed at the deadline ends its query. */
#define KA_PG_CHECK_INTERVAL_MS 500

const char *const ka_pg_environ[] = {
  "PGSERVICE", "PGSERVICEFILE", "PGSYSCONFDIR", "PGUSER", "PGPASSWORD", "PGPASSFILE",
  "PGCHANNELBINDING", "PGCONNECT_TIMEOUT", "PGDATABASE", "PGHOST", "PGHOSTADDR", "PGPORT",
  "PGCLIENTENCODING", "PGOPTIONS", "PGAPPNAME", "PGSSLMODE", "PGREQUIRESSL", "PGSSLCOMPRESSION",
  "PGSSLCERT", "PGSSLKEY", "PGSSLROOTCERT", "PGSSLCRL", "PGSSLCRLDIR", "PGSSLSNI",
  "PGREQUIREPEER", "PGSSLMINPROTOCOLVERSION", "PGSSLMAXPROTOCOLVERSION", "PGGSSENCMODE",
  "PGKRBSRVNAME", "PGGSSLIB", "PGTARGETSESSIONATTRS", "PGDATESTYLE", "PGGEQO", "PGTZ",
  NULL,
};

void ka_pg_environ_scrub(void) {
  for (int i = 0; ka_pg_environ[i]; i++) unsetenv(ka_pg_environ[i]);
  /* GSSAPI authentication, when a server asks for it, finds no ticket, no
  ** client keytab and no Kerberos configuration (libpq 15 cannot turn GSS
  ** authentication off: a server the guest chose could otherwise get an
  ** AP-REQ as the host's principal from a default client keytab) */
  setenv("KRB5CCNAME", "FILE:" KA_PG_NO_FILE, 1);
  setenv("KRB5_CLIENT_KTNAME", "FILE:" KA_PG_NO_FILE, 1);
  setenv("KRB5_KTNAME", "FILE:" KA_PG_NO_FILE, 1);
  setenv("KRB5_CONFIG", KA_PG_NO_FILE, 1);
}

const char *ka_pg_environ_set(void) {
  for (int i = 0; ka_pg_environ[i]; i++)
    if (getenv(ka_pg_environ[i])) return ka_pg_environ[i];
  return NULL;
}
/* Settings as they are built: parallel key and value arrays, the text in
** out. */
typedef struct ka_pgset {
  const char **keys, **vals;
  int n;
  char *out;
  size_t used;
  bool full;                   /* something did not fit: refuse */
} ka_pgset;

/* Adds key = v (copied into the text). */
static void ka_pg_add(ka_pgset *S, const char *key, const char *v) {
  size_t n = strlen(v) + 1;
  if (S->n >= KA_PG_MAX_SETTINGS || S->used + n > KA_PG_SETTINGS_SIZE) { S->full = true; return; }
  memcpy(S->out + S->used, v, n);
  S->keys[S->n] = key;
  S->vals[S->n++] = S->out + S->used;
  S->used += n;
}

/* Adds key = the guest's value of k, or dflt when not given. */
static void ka_pg_take(ka_pgset *S, const ka_pgaddr *a, ka_pgkey k, const char *key, const char *dflt) {
  const char *v = a->val[k] && a->val[k][0] ? a->val[k] : dflt;
  if (v) ka_pg_add(S, key, v);
}

/* host and hostaddr: the name once per checked address, and the
** addresses (libpq tries them in turn). */
static void ka_pg_hosts(ka_pgset *S, const ka_pgaddr *a, const ko_dest *d) {
  char hosts[KO_ADDRS_MAX * (KO_HOST_MAX + 1) + 1], addrs[KO_ADDRS_MAX * KO_ADDR_TEXT + 1];
  char text[KO_ADDR_TEXT], port[8];
  size_t hn = 0, an = 0;
  for (size_t i = 0; i < d->n && i < KO_ADDRS_MAX && hn < sizeof hosts && an < sizeof addrs; i++) {
    hn += (size_t)snprintf(hosts + hn, sizeof hosts - hn, "%s%s", i ? "," : "", a->val[KA_PGK_HOST]);
    an += (size_t)snprintf(addrs + an, sizeof addrs - an, "%s%s", i ? "," : "", ko_addr_text(&d->addr[i], text));
  }
  snprintf(port, sizeof port, "%u", (unsigned)d->port);
  ka_pg_add(S, "host", hosts);
  ka_pg_add(S, "hostaddr", addrs);
  ka_pg_add(S, "port", port);
}

int ka_pg_settings(const ka_pgaddr *a, const ko_dest *d, uint64_t deadline_ms,
                   const char **keys, const char **vals, char *out) {
  ka_pgset S = { keys, vals, 0, out, 0, false };
  char opts[KA_PG_MAX_ADDRESS + 128];
  bool require = a->val[KA_PGK_SSLMODE] && !strcmp(a->val[KA_PGK_SSLMODE], "require");
  static const char *const pinned[][2] = {
    { "client_encoding", "UTF8" }, { "passfile", KA_PG_NO_FILE }, { "sslcert", KA_PG_NO_FILE },
    { "sslkey", KA_PG_NO_FILE }, { "sslcrl", KA_PG_NO_FILE }, { "sslcrldir", KA_PG_NO_FILE },
    { "sslcompression", "0" }, { "sslsni", "1" }, { "requirepeer", "krait-tcp-only" },
    { "ssl_min_protocol_version", "TLSv1.2" }, { "ssl_max_protocol_version", "TLSv1.3" },
    { "gssencmode", "disable" }, { "krbsrvname", "postgres" }, { "gsslib", "gssapi" },
  };
  /* first: nothing the guest gives can crowd them out */
  for (size_t i = 0; i < sizeof pinned / sizeof pinned[0]; i++) ka_pg_add(&S, pinned[i][0], pinned[i][1]);
  ka_pg_hosts(&S, a, d);
  ka_pg_take(&S, a, KA_PGK_USER, "user", NULL);
  ka_pg_take(&S, a, KA_PGK_PASSWORD, "password", NULL);
  ka_pg_take(&S, a, KA_PGK_DBNAME, "dbname", a->val[KA_PGK_USER]);
  /* the guest's options first: krait's statement_timeout comes last and wins */
  snprintf(opts, sizeof opts, "%s -c statement_timeout=%llu -c client_connection_check_interval=%d",
           a->val[KA_PGK_OPTIONS] ? a->val[KA_PGK_OPTIONS] : "",
           (unsigned long long)(deadline_ms ? deadline_ms : 1), KA_PG_CHECK_INTERVAL_MS);
  ka_pg_add(&S, "options", opts);
  ka_pg_take(&S, a, KA_PGK_APPNAME, "application_name", "krait");
  ka_pg_add(&S, "fallback_application_name", "krait");
  ka_pg_add(&S, "sslmode", require ? "verify-full" : a->val[KA_PGK_SSLMODE] ? a->val[KA_PGK_SSLMODE] : "prefer");
  ka_pg_add(&S, "sslrootcert", require ? KA_PG_SYSTEM_ROOTS : KA_PG_NO_FILE);
  ka_pg_take(&S, a, KA_PGK_CHANNEL_BINDING, "channel_binding", "prefer");
  ka_pg_take(&S, a, KA_PGK_CONNECT_TIMEOUT, "connect_timeout", "0");
  ka_pg_take(&S, a, KA_PGK_TARGET, "target_session_attrs", "any");
  ka_pg_take(&S, a, KA_PGK_KEEPALIVES, "keepalives", NULL);
  ka_pg_take(&S, a, KA_PGK_KEEPALIVES_IDLE, "keepalives_idle", NULL);
  ka_pg_take(&S, a, KA_PGK_KEEPALIVES_INTERVAL, "keepalives_interval", NULL);
  ka_pg_take(&S, a, KA_PGK_KEEPALIVES_RETRIES, "keepalives_count", NULL);
  ka_pg_take(&S, a, KA_PGK_TCP_USER_TIMEOUT, "tcp_user_timeout", NULL);
  keys[S.n] = vals[S.n] = NULL;
  return S.full ? -1 : 0;
}
