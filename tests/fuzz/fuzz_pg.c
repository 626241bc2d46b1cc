/*
** tests/fuzz/fuzz_pg.c -- libFuzzer target: the postgres binding's guest
** input (src/app/pgaddr.c, pgenv.c, pgreq.c). Owns: byte 0 even, the rest
** is an address: parsed, its allow-list URL built, libpq's settings built
** from it (invariants: no value outside the whitelist, host/hostaddr
** paired); odd, a statement request decoded and freed. Does not own the
** binding or the seeds (pg-seeds/).
*/
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "app/pg.h"

/* An exact-size copy of [s, s+n) (ASan catches any read past n). */
static uint8_t *copy(const uint8_t *s, size_t n) {
  uint8_t *c = malloc(n ? n : 1);
  if (c && n) memcpy(c, s, n);
  return c;
}

/* Parses an address and builds its settings; checks what they promise. */
static void address(const uint8_t *s, size_t n) {
  static ka_pgaddr a;
  static char text[KA_PG_SETTINGS_SIZE];
  char err[512];
  const char *keys[KA_PG_MAX_SETTINGS + 1], *vals[KA_PG_MAX_SETTINGS + 1];
  ko_url u;
  ko_dest d = { .n = 1, .port = 5432 };
  err[0] = '\0';
  if (ka_pg_parse((const char *)s, n, &a, err, sizeof err) != 0) {
    if (!err[0]) abort();
    return;
  }
  if (!a.val[KA_PGK_HOST] || !a.val[KA_PGK_USER] || a.val[KA_PGK_HOST][0] == '/' || strchr(a.val[KA_PGK_HOST], ','))
    abort();
  if (a.used > sizeof a.buf) abort();
  if (ka_pg_url(&a, &u, err, sizeof err) == 0) {   /* the allow-list checks what libpq is given */
    size_t hn = strlen(a.val[KA_PGK_HOST]);
    if (strcmp(u.scheme, "postgres") || u.port != a.port) abort();
    if (!u.is_ip && (strncasecmp(u.host, a.val[KA_PGK_HOST], strlen(u.host)) ||
                     hn - strlen(u.host) > 1)) abort();
  }
  ko_addr_parse("10.0.0.1", 8, &d.addr[0]);
  if (ka_pg_settings(&a, &d, 1000, keys, vals, text) != 0) abort();   /* sized to always fit */
  for (int i = 0; keys[i]; i++) {
    if (!vals[i] || (vals[i] < text || vals[i] >= text + sizeof text)) abort();
    if (!strcmp(keys[i], "hostaddr") && strcmp(vals[i], "10.0.0.1")) abort();
    if (!strcmp(keys[i], "service")) abort();   /* never given: it reads a service file */
    if ((!strcmp(keys[i], "sslkey") || !strcmp(keys[i], "passfile")) && strcmp(vals[i], "/dev/null/krait-no-file"))
      abort();
  }
}

/* Decodes a statement request; a malformed one leaves nothing allocated. */
static void request(const uint8_t *s, size_t n) {
  char msg[160], err[256];
  ku_fail fail = { .msg = msg, .cap = sizeof msg };
  ku_cursor c = { s, s + n, s, "request", &fail };
  ka_pgreq r;
  if (setjmp(fail.jb)) return;
  int32_t rc = ka_pg_request(&c, &r, err, sizeof err);
  if (rc == 0) {
    if (!r.sql || r.n > KA_PG_MAX_PARAMS) abort();
    for (uint32_t i = 0; i < r.n; i++)
      if (r.values[i] && r.formats[i] == 0 && strlen(r.values[i]) != (size_t)r.lengths[i]) abort();
  }
  ka_pg_request_free(&r);
}

/* libFuzzer: one input. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0) return 0;
  uint8_t *rest = copy(data + 1, size - 1);
  if (!rest) return 0;
  if (data[0] & 1) request(rest, size - 1);
  else address(rest, size - 1);
  free(rest);
  return 0;
}
