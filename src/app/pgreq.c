/*
** pgreq.c -- the postgres binding's statement requests: u32 handle, SQL
** text and tagged parameters read through the bounded cursor into what
** PQsendQueryParams takes. Not sending them (pgdb.c) or addresses
** (pgaddr.c).
*/
#include <string.h>

#include "app/pg.h"
#include "../../python/c/krait_abi.h"
#include "util/cursor.h"

/* The PostgreSQL type each parameter tag is bound as (0: the server
** infers it, as for a literal). */
static const uint32_t ka_pg_oids[] = { 0, KA_OID_BOOL, KA_OID_CHAR, KA_OID_INT2, KA_OID_INT4,
                                       KA_OID_INT8, KA_OID_FLOAT4, KA_OID_FLOAT8, 0, KA_OID_BYTEA };

void ka_pg_request_free(ka_pgreq *r) {
  ku_free(r->sql);
  ku_free(r->types);
  ku_free(r->values);
  ku_free(r->lengths);
  ku_free(r->formats);
  ku_free(r->scratch);
  memset(r, 0, sizeof *r);
}

/* The bytes of one parameter's payload: its fixed size by tag, or its
** u32-counted string. Fails on an unknown tag. */
static const uint8_t *ka_pg_payload(ku_cursor *in, uint8_t tag, uint32_t *n) {
  static const uint8_t size[] = { 0, 1, 1, 2, 4, 8, 4, 8 };
  if (tag < sizeof size) *n = size[tag];
  else if (tag == KA_PGV_STR || tag == KA_PGV_BINARY) *n = ku_fixed32(in);
  else ku_cfail(in, 0, "unknown parameter tag %u", tag);
  return ku_bytes(in, *n);
}

/* Reads past the n parameters at in (checking each is whole and nothing
** follows); the scratch bytes they need. */
static size_t ka_pg_scan(ku_cursor in, uint32_t n) {
  size_t need = 1;
  for (uint32_t i = 0; i < n; i++) {
    uint32_t len;
    uint8_t tag = ku_u8(&in);
    ka_pg_payload(&in, tag, &len);
    need += (size_t)len + 1;
  }
  if (!ku_eof(&in)) ku_cfail(&in, 0, "bytes after the parameters");
  return need;
}

/* Copies parameter i at in into r: the fixed types big-endian (binary
** format), Str NUL-ended text (which may hold no NUL), Binary as it is. */
static int32_t ka_pg_param(ku_cursor *in, ka_pgreq *r, uint32_t i, size_t *used, char *err, size_t errlen) {
  uint32_t len;
  uint8_t tag = ku_u8(in);
  const uint8_t *v = ka_pg_payload(in, tag, &len);
  char *dst = r->scratch + *used;
  if (tag == KA_PGV_NULL) return 0;
  if (tag == KA_PGV_STR && memchr(v, 0, len)) {
    ku_fmt(err, errlen, "parameter %u is a string holding a NUL character, which PostgreSQL "
           "text cannot hold", i + 1);
    return KRAIT_E_INVAL;
  }
  for (uint32_t k = 0; k < len; k++) dst[k] = (char)(tag < KA_PGV_STR ? v[len - 1 - k] : v[k]);
  if (tag == KA_PGV_BOOL) dst[0] = dst[0] != 0;
  dst[len] = '\0';
  *used += (size_t)len + 1;
  r->types[i] = ka_pg_oids[tag];
  r->values[i] = dst;
  r->lengths[i] = (int)len;
  r->formats[i] = tag != KA_PGV_STR;
  return 0;
}

int32_t ka_pg_request(ku_cursor *in, ka_pgreq *r, char *err, size_t errlen) {
  memset(r, 0, sizeof *r);
  r->handle = ku_fixed32(in);
  uint32_t n = ku_fixed32(in);
  const uint8_t *text = ku_bytes(in, n);
  r->n = ku_fixed32(in);
  if (r->n > KA_PG_MAX_PARAMS) {
    ku_fmt(err, errlen, "%u parameters (PostgreSQL takes at most %d)", r->n, KA_PG_MAX_PARAMS);
    return KRAIT_E_INVAL;
  }
  size_t need = ka_pg_scan(*in, r->n), used = 0;   /* fails before anything is allocated */
  if (n > KA_PG_MAX_SQL) { ku_fmt(err, errlen, "the SQL is over %u MiB", KA_PG_MAX_SQL >> 20); return KRAIT_E_TOOBIG; }
  if (memchr(text, 0, n)) { ku_fmt(err, errlen, "the SQL holds a NUL character"); return KRAIT_E_INVAL; }
  r->sql = ku_strndup((const char *)text, n);
  r->types = ku_calloc(r->n + 1, sizeof *r->types);
  r->values = ku_calloc(r->n + 1, sizeof *r->values);
  r->lengths = ku_calloc(r->n + 1, sizeof *r->lengths);
  r->formats = ku_calloc(r->n + 1, sizeof *r->formats);
  r->scratch = ku_malloc(need);
  if (!r->sql || !r->types || !r->values || !r->lengths || !r->formats || !r->scratch) {
    ku_fmt(err, errlen, "out of memory");
    return KRAIT_E_TOOBIG;
  }
  for (uint32_t i = 0; i < r->n; i++) {
    int32_t rc = ka_pg_param(in, r, i, &used, err, errlen);
    if (rc) return rc;
  }
  return 0;
}
