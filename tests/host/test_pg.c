/*
** tests/host/test_pg.c -- the postgres binding's host-side checks without a
** server (src/app/pgaddr.c, pgenv.c, pgreq.c, pgdb.c): addresses parsed
** and refused, libpq's settings pinned against every environment and file
** default libpq 15 has, statement requests decoded, open refused before
** any connection. The binding against a server: tests/serve/postgres.sh.
*/
#include "test.h"
#include <postgresql/libpq-fe.h>
#include <stdlib.h>

#include "app/app_internal.h"
#include "../../python/c/krait_abi.h"
#include "util/util.h"

static char t_err[512];
static ka_pgaddr t_pa;

/* Parses a NUL-terminated address: 0, or -1 with t_err. */
static int t_parse(const char *s) {
  t_err[0] = '\0';
  return ka_pg_parse(s, strlen(s), &t_pa, t_err, sizeof t_err);
}

/* The error of an address that must be refused ("(parsed)" if not). */
static const char *t_refused(const char *s) { return t_parse(s) == 0 ? "(parsed)" : t_err; }

/* key=value addresses: quoting, escapes, spaces around '=', defaults. */
static void test_pairs(void) {
  CHECK_INT(t_parse("host=db.example.com user=app password='p@ss w\\'rd' dbname = shop  sslmode=require"), 0);
  CHECK_STR(t_pa.val[KA_PGK_HOST], "db.example.com");
  CHECK_STR(t_pa.val[KA_PGK_PASSWORD], "p@ss w'rd");
  CHECK_STR(t_pa.val[KA_PGK_DBNAME], "shop");
  CHECK_STR(t_pa.val[KA_PGK_SSLMODE], "require");
  CHECK_INT(t_pa.port, 5432);
  CHECK(t_pa.val[KA_PGK_OPTIONS] == NULL);
  CHECK_INT(t_parse("host=10.0.0.1 port=6543 user=a user=b password=x\\ y options='-c search_path=s'"), 0);
  CHECK_STR(t_pa.val[KA_PGK_USER], "b");   /* the later one wins, as in libpq */
  CHECK_STR(t_pa.val[KA_PGK_PASSWORD], "x y");
  CHECK_STR(t_pa.val[KA_PGK_OPTIONS], "-c search_path=s");
  CHECK_INT(t_pa.port, 6543);
}

/* URL addresses: userinfo and parameters percent-decoded, IPv6. */
static void test_urls(void) {
  CHECK_INT(t_parse("postgres://app:p%40ss%20w'rd@db.example.com:5433/my%20db?sslmode=disable&application_name=x"), 0);
  CHECK_STR(t_pa.val[KA_PGK_USER], "app");
  CHECK_STR(t_pa.val[KA_PGK_PASSWORD], "p@ss w'rd");
  CHECK_STR(t_pa.val[KA_PGK_HOST], "db.example.com");
  CHECK_STR(t_pa.val[KA_PGK_DBNAME], "my db");
  CHECK_STR(t_pa.val[KA_PGK_APPNAME], "x");
  CHECK_INT(t_pa.port, 5433);
  CHECK_INT(t_parse("postgresql://u@[2001:db8::1]:7000"), 0);
  CHECK_STR(t_pa.val[KA_PGK_HOST], "2001:db8::1");
  ko_url u;
  CHECK_INT(ka_pg_url(&t_pa, &u, t_err, sizeof t_err), 0);
  CHECK_STR(u.scheme, "postgres");
  CHECK(u.is_ip && u.port == 7000);
  CHECK_INT(t_parse("postgres://u@h"), 0);
  CHECK(t_pa.val[KA_PGK_DBNAME] == NULL);
}

/* Keywords outside the whitelist, Unix sockets, bad values: refused,
** naming what, never the value. */
static void test_refused(void) {
  static const char *const kws[] = { "sslkey", "sslcert", "sslrootcert", "sslcrl", "sslcrldir",
    "service", "passfile", "requirepeer", "krbsrvname", "gsslib", "gssencmode", "sslpassword",
    "replication", "client_encoding", "fallback_application_name", "sslsni", "load_balance_hosts" };
  char addr[128], want[64];
  for (size_t i = 0; i < sizeof kws / sizeof kws[0]; i++) {
    snprintf(addr, sizeof addr, "host=h user=u %s=/etc/shadow", kws[i]);
    snprintf(want, sizeof want, "keyword \"%s\" is refused", kws[i]);
    CHECK(t_contains(t_refused(addr), want));
    CHECK(!t_contains(t_err, "shadow"));
  }
  CHECK(t_contains(t_refused("postgres://u@h/d?sslkey=/etc/shadow"), "keyword \"sslkey\" is refused"));
  CHECK(t_contains(t_refused("host=h user=u hostaddr=10.0.0.1"), "\"hostaddr\" is refused"));
  CHECK(t_contains(t_refused("host=/var/run/postgresql user=u"), "Unix-domain socket"));
  CHECK(t_contains(t_refused("host=@abstract user=u"), "Unix-domain socket"));
  CHECK(t_contains(t_refused("postgres://u@/db"), "Unix-domain socket"));
  CHECK(t_contains(t_refused("postgres://u@%2Ftmp/db"), "Unix-domain socket"));
  CHECK(t_contains(t_refused("host=a,b user=u"), "several hosts"));
  CHECK(t_contains(t_refused("host=db.example.c#m user=u"), "not a letter, digit"));   /* fuzz-pg found it */
  CHECK(t_contains(t_refused("host=allowed.example/x@evil.example user=u"), "not a letter, digit"));
  CHECK(t_contains(t_refused("postgres://u@h%23x/db"), "not a letter, digit"));
  CHECK(t_contains(t_refused("postgres://u@a:1,b:2/db"), "several hosts"));
  CHECK(t_contains(t_refused("host=h user=u port=0"), "port is not a number"));
  CHECK(t_contains(t_refused("host=h user=u port=65536"), "port is not a number"));
  CHECK(t_contains(t_refused("host=h user=u port=5432,5433"), "port is not a number"));
  CHECK(t_contains(t_refused("host=h user=u sslmode=verify-full"), "sslmode must be"));
  CHECK(t_contains(t_refused("host=h user=u connect_timeout=1e9"), "whole number"));
  CHECK(t_contains(t_refused("host=h user=u password='open"), "no closing quote"));
  CHECK(t_contains(t_refused("host=h user"), "has no \"=\""));
  CHECK(t_contains(t_refused("postgres://u:%4@h"), "two hex digits"));
  CHECK(t_contains(t_refused("postgres://u:%00@h"), "NUL byte"));
  static const char nul_url[] = "postgres://u@h/d\0x?sslmode=disable";
  CHECK_INT(ka_pg_parse(nul_url, sizeof nul_url - 1, &t_pa, t_err, sizeof t_err), -1);
  CHECK(t_contains(t_err, "NUL byte"));
  CHECK(t_contains(t_refused("user=u"), "no host"));
  CHECK(t_contains(t_refused("host=h"), "no user"));
  CHECK(t_contains(t_refused("postgres://h"), "no user"));
  CHECK(t_contains(t_refused(""), "no host"));
  char *big = malloc(KA_PG_MAX_ADDRESS + 2);
  memset(big, 'a', KA_PG_MAX_ADDRESS + 1);
  big[KA_PG_MAX_ADDRESS + 1] = '\0';
  CHECK(t_contains(t_refused(big), "longer than 4096 bytes"));
  free(big);
  CHECK_INT(t_parse("host=a..b user=u"), 0);   /* the allow-list's parser refuses it */
  ko_url u;
  CHECK_INT(ka_pg_url(&t_pa, &u, t_err, sizeof t_err), -1);
  CHECK(t_contains(t_err, "not a host name or address"));
}

/* The value given for key in the NULL-ended settings, or NULL. */
static const char *t_setting(const char **keys, const char **vals, const char *key) {
  for (int i = 0; keys[i]; i++)
    if (!strcmp(keys[i], key)) return vals[i];
  return NULL;
}

/* Every libpq keyword with an environment default is given explicitly
** (but service, which no value neutralises, and password when the
** address has none: both covered by the environment scrub), every
** environment variable libpq 15 documents is in ka_pg_environ, and the
** host goes as the checked addresses. */
static void test_settings(void) {
  const char *keys[KA_PG_MAX_SETTINGS + 1], *vals[KA_PG_MAX_SETTINGS + 1];
  static char text[KA_PG_SETTINGS_SIZE];
  ko_dest d = { .n = 2, .port = 5433 };
  ko_addr_parse("10.0.0.7", 8, &d.addr[0]);
  ko_addr_parse("2001:db8::5", 11, &d.addr[1]);
  CHECK_INT(t_parse("host=db.example.com port=5433 user=app sslmode=require options='-c x=1'"), 0);
  CHECK_INT(ka_pg_settings(&t_pa, &d, 1500, keys, vals, text), 0);
  CHECK_STR(t_setting(keys, vals, "host"), "db.example.com,db.example.com");
  CHECK_STR(t_setting(keys, vals, "hostaddr"), "10.0.0.7,2001:db8::5");
  CHECK_STR(t_setting(keys, vals, "dbname"), "app");
  CHECK_STR(t_setting(keys, vals, "sslmode"), "verify-full");
  CHECK(t_contains(t_setting(keys, vals, "options"), "-c x=1 -c statement_timeout=1500"));
  CHECK_STR(t_setting(keys, vals, "gssencmode"), "disable");
  PQconninfoOption *o = PQconndefaults();
  CHECK(o != NULL);
  for (PQconninfoOption *p = o; p && p->keyword; p++) {
    const char *v = t_setting(keys, vals, p->keyword);
    bool exempt = !strcmp(p->keyword, "service") || !strcmp(p->keyword, "password");
    if (p->envvar && !exempt && !(v && v[0])) printf("  not pinned: %s (%s)\n", p->keyword, p->envvar);
    CHECK(!p->envvar || exempt || (v && v[0]));
    bool listed = !p->envvar;
    for (int i = 0; !listed && ka_pg_environ[i]; i++) listed = !strcmp(ka_pg_environ[i], p->envvar);
    CHECK(listed);
  }
  PQconninfoFree(o);
  CHECK(t_setting(keys, vals, "password") == NULL);
  CHECK_INT(t_parse("host=h user=u sslmode=disable"), 0);
  CHECK_INT(ka_pg_settings(&t_pa, &d, 10, keys, vals, text), 0);
  CHECK_STR(t_setting(keys, vals, "sslmode"), "disable");
  CHECK_STR(t_setting(keys, vals, "sslrootcert"), "/dev/null/krait-no-file");
  CHECK_STR(t_setting(keys, vals, "passfile"), "/dev/null/krait-no-file");
}

/* The environment check names a set variable; the scrub removes it. */
static void test_environ(void) {
  ka_pg_environ_scrub();
  CHECK(ka_pg_environ_set() == NULL);
  setenv("PGSERVICEFILE", "/tmp/x", 1);
  CHECK_STR(ka_pg_environ_set(), "PGSERVICEFILE");
  ka_pg_environ_scrub();
  CHECK(ka_pg_environ_set() == NULL);
  CHECK_STR(getenv("KRB5CCNAME"), "FILE:/dev/null/krait-no-file");
  CHECK_STR(getenv("KRB5_CLIENT_KTNAME"), "FILE:/dev/null/krait-no-file");
  CHECK_STR(getenv("KRB5_KTNAME"), "FILE:/dev/null/krait-no-file");
  CHECK_STR(getenv("KRB5_CONFIG"), "/dev/null/krait-no-file");
}

/* Decodes request bytes [p, p+n): the code, -100 when malformed. */
static int32_t t_request(const void *p, size_t n, ka_pgreq *r) {
  char msg[160];
  ku_fail fail = { .msg = msg, .cap = sizeof msg };
  ku_cursor c = { p, (const uint8_t *)p + n, p, "request", &fail };
  t_err[0] = '\0';
  if (setjmp(fail.jb)) { snprintf(t_err, sizeof t_err, "%s", msg); return -100; }
  return ka_pg_request(&c, r, t_err, sizeof t_err);
}

/* Statement requests: every tag to its OID and binary big-endian bytes,
** Str as text; malformed ones refused before anything is allocated. */
static void test_requests(void) {
  static const uint8_t good[] = {
    7, 0, 0, 0, 8, 0, 0, 0, 'S', 'E', 'L', 'E', 'C', 'T', ' ', '1', 10, 0, 0, 0,
    KA_PGV_NULL, KA_PGV_BOOL, 5, KA_PGV_INT8, 0x41, KA_PGV_INT16, 0x02, 0x01,
    KA_PGV_INT32, 1, 2, 3, 4, KA_PGV_INT64, 1, 0, 0, 0, 0, 0, 0, 0x80,
    KA_PGV_FLOAT32, 0, 0, 0xc0, 0x3f, KA_PGV_FLOAT64, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f,
    KA_PGV_STR, 2, 0, 0, 0, 'h', 'i', KA_PGV_BINARY, 2, 0, 0, 0, 0, 0xff };
  ka_pgreq r;
  CHECK_INT(t_request(good, sizeof good, &r), 0);
  CHECK_INT(r.handle, 7);
  CHECK_STR(r.sql, "SELECT 1");
  CHECK_INT(r.n, 10);
  CHECK(r.values[0] == NULL);
  CHECK(r.types[1] == KA_OID_BOOL && r.values[1][0] == 1 && r.formats[1] == 1);
  CHECK(r.types[2] == KA_OID_CHAR && r.values[2][0] == 0x41);
  CHECK(r.types[3] == KA_OID_INT2 && !memcmp(r.values[3], "\x01\x02", 2));
  CHECK(r.types[4] == KA_OID_INT4 && !memcmp(r.values[4], "\x04\x03\x02\x01", 4));
  CHECK(r.types[5] == KA_OID_INT8 && (uint8_t)r.values[5][0] == 0x80 && r.lengths[5] == 8);
  CHECK(r.types[6] == KA_OID_FLOAT4 && !memcmp(r.values[6], "\x3f\xc0\x00\x00", 4));
  CHECK(r.types[7] == KA_OID_FLOAT8 && !memcmp(r.values[7], "\x3f\xf0\0\0\0\0\0\0", 8));
  CHECK(r.types[8] == 0 && r.formats[8] == 0 && !strcmp(r.values[8], "hi"));
  CHECK(r.types[9] == KA_OID_BYTEA && r.lengths[9] == 2 && (uint8_t)r.values[9][1] == 0xff);
  ka_pg_request_free(&r);
  uint8_t bad[sizeof good + 1];
  memcpy(bad, good, sizeof good);
  CHECK_INT(t_request(bad, sizeof good - 1, &r), -100);                /* truncated */
  bad[sizeof good] = 0;
  CHECK_INT(t_request(bad, sizeof good + 1, &r), -100);                /* trailing bytes */
  CHECK(t_contains(t_err, "bytes after the parameters"));
  bad[20] = 13;
  CHECK_INT(t_request(bad, sizeof good, &r), -100);                    /* unknown tag */
  CHECK(t_contains(t_err, "unknown parameter tag 13"));
  memcpy(bad, good, sizeof good);
  bad[62] = 0;                                                          /* "h\0" */
  CHECK_INT(t_request(bad, sizeof good, &r), KRAIT_E_INVAL);
  CHECK(t_contains(t_err, "parameter 9 is a string holding a NUL"));
  ka_pg_request_free(&r);
  memcpy(bad, good, sizeof good);
  bad[10] = 0;                                                          /* NUL in the SQL */
  CHECK_INT(t_request(bad, sizeof good, &r), KRAIT_E_INVAL);
  ka_pg_request_free(&r);
  static const uint8_t many[] = { 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0 };  /* 65536 parameters */
  CHECK_INT(t_request(many, sizeof many, &r), KRAIT_E_INVAL);
  ka_pg_request_free(&r);
  static const uint8_t huge[] = { 1, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, KA_PGV_STR, 0xff, 0xff, 0xff, 0xff };
  CHECK_INT(t_request(huge, sizeof huge, &r), -100);                   /* a length past the end */
}

/* postgres.open refused before any connection: no allow-list, a set
** environment variable, a bad address. */
static void test_open_refused(void) {
  ka_app app = { .name = "t", .log = stderr };
  ka_ctx x = { .app = &app };
  ka_out out = { 0 };
  char msg[160];
  ku_fail fail = { .msg = msg, .cap = sizeof msg };
  ko_allow_init(&app.outbound, KO_FROM_MANIFEST);
  static const char a1[] = "host=127.0.0.1 port=9 user=u";
  ku_cursor c = { (const uint8_t *)a1, (const uint8_t *)a1 + strlen(a1), (const uint8_t *)a1, "r", &fail };
  CHECK_INT(ka_pg_open(&x, &c, &out), KRAIT_E_DENIED);
  CHECK(t_contains(x.error, "postgres: outbound connection to postgres://127.0.0.1:9 denied: the app "
                   "has no allowed_outbound_hosts"));
  setenv("PGPASSWORD", "secret", 1);
  c.p = c.base;
  CHECK_INT(ka_pg_open(&x, &c, &out), KRAIT_E_DENIED);
  CHECK(t_contains(x.error, "sets PGPASSWORD"));
  unsetenv("PGPASSWORD");
  static const char a2[] = "host=h user=u sslkey=/k";
  c = (ku_cursor){ (const uint8_t *)a2, (const uint8_t *)a2 + strlen(a2), (const uint8_t *)a2, "r", &fail };
  CHECK_INT(ka_pg_open(&x, &c, &out), KRAIT_E_INVAL);
  CHECK(t_contains(x.error, "keyword \"sslkey\" is refused"));
  static const uint8_t q[] = { 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 };
  c = (ku_cursor){ q, q + sizeof q, q, "r", &fail };
  CHECK_INT(ka_pg_query(&x, &c, &out), KRAIT_E_STATE);
  CHECK(t_contains(x.error, "connection 1 is not open"));
  CHECK(out.len == 0);
  /* every slot taken: refused before anything is allocated (a guest
  ** calling open in a loop leaked 4 KB a call) */
  for (int i = 0; i < KA_PG_MAX_CONNS; i++) x.pg[i].pg = (struct pg_conn *)&x;
  c = (ku_cursor){ (const uint8_t *)a1, (const uint8_t *)a1 + strlen(a1), (const uint8_t *)a1, "r", &fail };
  ku_fail_alloc_after(1);                  /* one more allocation, then failures */
  CHECK_INT(ka_pg_open(&x, &c, &out), KRAIT_E_TOOBIG);
  void *p = ku_malloc(16);
  CHECK(p != NULL);                        /* open made none */
  ku_fail_alloc_after(-1);
  ku_free(p);
  for (int i = 0; i < KA_PG_MAX_CONNS; i++) x.pg[i].pg = NULL;
  ka_pg_end(&x);
  ko_allow_free(&app.outbound);
}

int main(void) {
  RUN(test_pairs);
  RUN(test_urls);
  RUN(test_refused);
  RUN(test_settings);
  RUN(test_environ);
  RUN(test_requests);
  RUN(test_open_refused);
  return t_summary();
}
