/*
** netreq.c -- decoding the payloads of the net.* operations (krait_abi.h)
** through the bounded cursor, every field range-checked. Pure: no sockets,
** so tests/fuzz/fuzz_net.c drives it alone. Not running them (netops.c).
*/
#include <string.h>

#include "app/net_internal.h"
#include "krait.h"
#include "../../python/c/krait_abi.h"

/* A u32 length then that many bytes, at most cap: the bytes (in c's
** buffer) and *n. */
static const uint8_t *ka_str(ku_cursor *c, const char *field, size_t cap, size_t *n) {
  uint32_t len = ku_fixed32(c);
  if (len > cap) ku_cfail(c, KRAIT_ERR_MALFORMED, "%s is %u bytes; at most %zu", field, len, cap);
  *n = len;
  return ku_bytes(c, len);
}

/* Refuses bytes after the last field. */
static void ka_done(ku_cursor *c) {
  if (!ku_eof(c)) ku_cfail(c, KRAIT_ERR_MALFORMED, "%zu bytes after the last field", (size_t)(c->end - c->p));
}

/* Whether host [s, s+n) has only the bytes of a name or an address:
** letters, digits, '.', '-', '_', and ':' (IPv6). The policy parses it. */
static bool ka_host_bytes(const uint8_t *s, size_t n) {
  for (size_t i = 0; i < n; i++) {
    uint8_t b = s[i];
    bool ok = (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') || (b >= '0' && b <= '9') || b == '.' ||
              b == '-' || b == '_' || b == ':';
    if (!ok) return false;
  }
  return true;
}

/* A host name or address field into out (KO_HOST_MAX + 1 bytes); empty
** only when may_be_empty. */
static void ka_host(ku_cursor *c, const char *field, char *out, bool may_be_empty) {
  size_t n;
  const uint8_t *s = ka_str(c, field, KO_HOST_MAX, &n);
  if (!n && !may_be_empty) ku_cfail(c, KRAIT_ERR_MALFORMED, "%s is empty", field);
  if (!ka_host_bytes(s, n))
    ku_cfail(c, KRAIT_ERR_MALFORMED, "%s holds a byte that is not in a host name or address", field);
  memcpy(out, s, n);
  out[n] = '\0';
}

void ka_net_decode_connect(ku_cursor *c, ka_net_connect *r) {
  memset(r, 0, sizeof *r);
  ka_host(c, "host", r->host, false);
  uint32_t port = ku_fixed32(c);
  if (port < 1 || port > 65535) ku_cfail(c, KRAIT_ERR_MALFORMED, "port %u is not 1..65535", port);
  r->port = (uint16_t)port;
  r->timeout_ms = ku_fixed32(c);
  ka_done(c);
}

/* The comma-separated ALPN list [s, s+n) in wire format into r. */
static void ka_alpn(ku_cursor *c, ka_net_tls *r, const uint8_t *s, size_t n) {
  size_t at = 0;
  r->alpn_len = 0;
  while (n && at <= n) {
    const uint8_t *comma = memchr(s + at, ',', n - at);
    size_t len = comma ? (size_t)(comma - (s + at)) : n - at;
    if (len == 0) ku_cfail(c, KRAIT_ERR_MALFORMED, "alpn has an empty protocol name");
    if (r->alpn_len + 1 + len > sizeof r->alpn) ku_cfail(c, KRAIT_ERR_MALFORMED, "alpn is too long");
    r->alpn[r->alpn_len++] = (uint8_t)len;
    memcpy(r->alpn + r->alpn_len, s + at, len);
    r->alpn_len += len;
    at += len + 1;
  }
}

void ka_net_decode_tls(ku_cursor *c, ka_net_tls *r) {
  size_t n;
  memset(r, 0, sizeof *r);
  r->handle = ku_fixed32(c);
  ka_host(c, "server_hostname", r->name, true);
  r->flags = ku_fixed32(c);
  if (r->flags & ~KA_NET_TLS_FLAGS) ku_cfail(c, KRAIT_ERR_MALFORMED, "flags 0x%x has unknown bits", r->flags);
  if ((r->flags & KO_TLS_HOSTNAME) && !(r->flags & KO_TLS_VERIFY))
    ku_cfail(c, KRAIT_ERR_MALFORMED, "flags: checking the hostname needs verifying the chain (bit 0)");
  if ((r->flags & KO_TLS_HOSTNAME) && !r->name[0])
    ku_cfail(c, KRAIT_ERR_MALFORMED, "checking the hostname needs a server_hostname");
  const uint8_t *alpn = ka_str(c, "alpn", KO_TLS_ALPN_MAX, &n);
  ka_alpn(c, r, alpn, n);
  r->timeout_ms = ku_fixed32(c);
  ka_done(c);
}

/* The fields that may follow the handle in the payload of an operation
** on an open connection, in this order. */
enum { KA_IO_MAX = 1, KA_IO_HOW = 2, KA_IO_TIMEOUT = 4, KA_IO_DATA = 8 };

/* The payload of an operation on an open connection into r: u32 handle,
** then the fields of mask (KA_IO_*); the rest is the data (KA_IO_DATA),
** else there must be none. */
static void ka_io(ku_cursor *c, ka_net_io *r, unsigned mask) {
  memset(r, 0, sizeof *r);
  r->handle = ku_fixed32(c);
  if (mask & KA_IO_MAX) {
    r->max = ku_fixed32(c);
    if (r->max < 1 || r->max > KA_NET_RECV_MAX)
      ku_cfail(c, KRAIT_ERR_MALFORMED, "max %u is not 1..%u", r->max, KA_NET_RECV_MAX);
  }
  if (mask & KA_IO_HOW) {
    r->how = ku_fixed32(c);
    if (r->how > 2) ku_cfail(c, KRAIT_ERR_MALFORMED, "how %u is not 0 (read), 1 (write) or 2 (both)", r->how);
  }
  if (mask & KA_IO_TIMEOUT) r->timeout_ms = ku_fixed32(c);
  if (!(mask & KA_IO_DATA)) {
    ka_done(c);
    return;
  }
  r->len = (size_t)(c->end - c->p);
  r->data = ku_bytes(c, r->len);
}

/* The operations on an open connection, each by its fields (krait_abi.h). */
void ka_net_decode_send(ku_cursor *c, ka_net_io *r) { ka_io(c, r, KA_IO_TIMEOUT | KA_IO_DATA); }
void ka_net_decode_recv(ku_cursor *c, ka_net_io *r) { ka_io(c, r, KA_IO_MAX | KA_IO_TIMEOUT); }
void ka_net_decode_poll(ku_cursor *c, ka_net_io *r) { ka_io(c, r, KA_IO_TIMEOUT); }
void ka_net_decode_shutdown(ku_cursor *c, ka_net_io *r) { ka_io(c, r, KA_IO_HOW); }
void ka_net_decode_close(ku_cursor *c, ka_net_io *r) { ka_io(c, r, 0); }
