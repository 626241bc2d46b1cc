/*
** rhttp.c -- one HTTP/1.1 POST to a remote LLM server over src/net's
** sockets and TLS: the operator's URL resolved and connected within the
** deadline, the request sent, the reply read (reply.c). Not the JSON.
*/
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "llm/remote_internal.h"
#include "net/net.h"
#include "platform/platform.h"
#include "util/util.h"

#define RECV_SIZE (64u * 1024)

/* A connection to the server: its socket and, for https, its TLS. */
typedef struct kl_conn {
  int fd;
  ko_tls *tls;
  uint64_t deadline;
} kl_conn;

/* The URL parsed, its scheme and userinfo checked; 0, or -1 with err. */
static int parse_url(const kl_remote *r, ko_url *u, char *err, size_t cap) {
  char why[KO_ERR_SIZE];
  if (!r->url || ko_url_parse(r->url, strlen(r->url), u, why, sizeof why) != 0) {
    ku_fmt(err, cap, "the model's url: %s", r->url ? why : "none given");
    return -1;
  }
  if (strcmp(u->scheme, "http") && strcmp(u->scheme, "https")) {
    ku_fmt(err, cap, "the model's url: scheme \"%s\" is not http or https", u->scheme);
    return -1;
  }
  if (u->user_len) {
    ku_fmt(err, cap, "the model's url holds credentials (user@): give the key in api_key_variable");
    return -1;
  }
  return 0;
}

/* Where the request goes, for messages and the request line: the origin
** and the path ("http://h:p/v1/completions"); never a key or userinfo. */
static void where_of(const kl_remote *r, const ko_url *u, const char *endpoint, char *out, size_t cap) {
  char origin[KO_HOST_MAX + 64];
  size_t n = u->path_len;
  while (n && r->url[u->path_at + n - 1] == '/') n--;
  ko_url_origin(u, origin, sizeof origin);
  snprintf(out, cap, "%s%.*s%s", origin, (int)n, r->url + u->path_at, endpoint);
}

/* Whether key can go in a header value: printable ASCII only. */
static bool key_ok(const char *key) {
  for (const char *p = key; *p; p++)
    if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e) return false;
  return true;
}

/* The request's head (ku_malloc'ed); NULL when out of memory. */
static char *request_head(const kl_remote *r, const ko_url *u, const char *endpoint, size_t n) {
  char host[KO_HOST_MAX + 16];
  size_t plen = u->path_len;
  while (plen && r->url[u->path_at + plen - 1] == '/') plen--;
  bool v6 = u->is_ip && u->ip.family == 6, dflt = u->port == ko_default_port(u->scheme);
  snprintf(host, sizeof host, "%s%s%s", v6 ? "[" : "", u->host, v6 ? "]" : "");
  if (!dflt) snprintf(host + strlen(host), sizeof host - strlen(host), ":%u", u->port);
  return ku_sprintf("POST %.*s%s%s%.*s HTTP/1.1\r\nHost: %s\r\nUser-Agent: krait\r\n"
                    "Content-Type: application/json\r\nAccept: application/json\r\n"
                    "Accept-Encoding: identity\r\n%s%s%sContent-Length: %zu\r\nConnection: close\r\n\r\n",
                    (int)plen, r->url + u->path_at, endpoint, u->query_len ? "?" : "", (int)u->query_len,
                    r->url + u->query_at, host, r->api_key ? "Authorization: Bearer " : "",
                    r->api_key ? r->api_key : "", r->api_key ? "\r\n" : "", n);
}

/* Resolves u's host within the deadline (--resolve pins too; the operator
** chose the address, so no allow-list) and connects; KL_OK with c->fd. */
static int dial(const ko_url *u, kl_conn *c, char *err, size_t cap) {
  ko_addr found[KO_ADDRS_MAX], peer;
  ko_denial d;
  ko_dest dest = { .port = u->port };
  char text[KO_ADDR_TEXT];
  ko_verdict v = ko_addresses(u, c->deadline, found, KO_ADDRS_MAX, &dest.n, &d);
  if (v == KO_TIMED_OUT) { ku_fmt(err, cap, "resolving %s: the deadline passed", u->host); return KL_E_TIMEOUT; }
  if (v != KO_ALLOWED || !dest.n) { ku_fmt(err, cap, "cannot resolve %s: %s", u->host, d.detail); return KL_E_MODEL; }
  memcpy(dest.addr, found, dest.n * sizeof *found);
  c->fd = ko_sock_connect(&dest, c->deadline, &peer);
  if (c->fd >= 0) return KL_OK;
  if (errno == ETIME) { ku_fmt(err, cap, "connecting: the deadline passed"); return KL_E_TIMEOUT; }
  ku_fmt(err, cap, "cannot connect to %s port %u: %s", ko_addr_text(&peer, text), u->port, strerror(errno));
  return KL_E_MODEL;
}

/* The TLS handshake for an https URL (the name checked against the
** certificate, trusting the system store or --ca-file, and r->ca_file). */
static int handshake(const kl_remote *r, const ko_url *u, kl_conn *c, char *err, size_t cap) {
  char why[KO_ERR_SIZE];
  ko_tls_rc t = ko_tls_connect_ca(r->ca_file, c->fd, u->host, KO_TLS_VERIFY | KO_TLS_HOSTNAME, c->deadline,
                                  &c->tls, why, sizeof why);
  if (t == KO_TLS_OK) return KL_OK;
  ku_fmt(err, cap, "TLS: %s", why);
  return t == KO_TLS_TIMEOUT ? KL_E_TIMEOUT : KL_E_MODEL;
}

/* Sends n bytes; KL_OK or a KL_E_* with err set. */
static int send_all(kl_conn *c, const void *p, size_t n, char *err, size_t cap) {
  char why[KO_ERR_SIZE] = "";
  int rc = c->tls ? ko_tls_send(c->tls, p, n, c->deadline, why, sizeof why) : ko_sock_send(c->fd, p, n, c->deadline);
  if (rc == 0) return KL_OK;
  if (errno == ETIME) { ku_fmt(err, cap, "sending the request: the deadline passed"); return KL_E_TIMEOUT; }
  ku_fmt(err, cap, "sending the request: %s", why[0] ? why : strerror(errno));
  return KL_E_MODEL;
}

/* Receives into b (room for RECV_SIZE); the count, 0 at the end, or -1
** with *rc and err set. */
static long recv_some(kl_conn *c, uint8_t *b, int *rc, char *err, size_t cap) {
  char why[KO_ERR_SIZE] = "";
  long got = c->tls ? ko_tls_recv(c->tls, b, RECV_SIZE, c->deadline, why, sizeof why)
                    : ko_sock_recv(c->fd, b, RECV_SIZE, c->deadline);
  if (got >= 0) return got;
  *rc = errno == ETIME ? KL_E_TIMEOUT : KL_E_MODEL;
  if (errno == ETIME) ku_fmt(err, cap, "no complete reply within the deadline");
  else ku_fmt(err, cap, "reading the reply: %s", why[0] ? why : strerror(errno));
  return -1;
}

/* Reads the reply into a buffer of the whole; KL_OK with the status and
** the body moved to the front of *buf. */
static int read_reply(kl_conn *c, size_t max_body, int *status, uint8_t **buf, size_t *blen, char *err,
                      size_t cap) {
  kl_reply rp;
  size_t len = 0, room = 0, most = (KL_REPLY_INTERIM_MAX + 1) * KL_REPLY_HEAD_MAX + max_body + RECV_SIZE;
  uint8_t *b = NULL;
  int rc = KL_OK;
  bool eof = false;
  kl_reply_init(&rp, max_body);
  for (kl_reply_rc r = KL_REPLY_MORE; r == KL_REPLY_MORE && rc == KL_OK;) {
    if (room - len < RECV_SIZE) {
      size_t want = room * 2 < most ? room * 2 : most;
      if (want < len + RECV_SIZE) want = len + RECV_SIZE;
      uint8_t *nb = want <= most + RECV_SIZE ? ku_realloc(b, want + 1) : NULL;
      if (!nb) { rc = KL_E_MODEL; ku_fmt(err, cap, "out of memory reading the reply"); break; }
      b = nb;
      room = want;
    }
    long got = recv_some(c, b + len, &rc, err, cap);
    if (got < 0) break;
    eof = got == 0;
    r = kl_reply_feed(&rp, b, len + (size_t)got, eof, err, cap);
    len = rp.used;
    if (r == KL_REPLY_BAD) rc = KL_E_MODEL;
  }
  if (rc == KL_OK) {
    memmove(b, b + rp.body_at, rp.body_len);
    b[rp.body_len] = '\0';
    *status = rp.status;
    *blen = rp.body_len;
    *buf = b;
  } else ku_free(b);
  return rc;
}

/* The exchange over a connected c: the request sent, the reply read. */
static int exchange(const kl_remote *r, const ko_url *u, const char *endpoint, kl_conn *c, const char *json,
                    size_t n, size_t max_body, int *status, uint8_t **body, size_t *blen, char *err, size_t cap) {
  int rc = u->scheme[4] == 's' ? handshake(r, u, c, err, cap) : KL_OK;
  char *head = rc == KL_OK ? request_head(r, u, endpoint, n) : NULL;
  if (rc == KL_OK && !head) { ku_fmt(err, cap, "out of memory"); rc = KL_E_NOMEM; }
  if (rc == KL_OK) rc = send_all(c, head, strlen(head), err, cap);
  if (head) explicit_bzero(head, strlen(head));   /* it holds the key */
  ku_free(head);
  if (rc == KL_OK) rc = send_all(c, json, n, err, cap);
  if (rc == KL_OK) rc = read_reply(c, max_body, status, body, blen, err, cap);
  return rc;
}

int kl_rhttp_post(const kl_remote *r, const char *endpoint, const char *json, size_t n, size_t max_body,
                  uint64_t deadline_ns, int *status, uint8_t **body, size_t *body_len, char *err, size_t cap, char *where, size_t wcap) {
  ko_url u;
  char why[KL_ERR_SIZE] = "";
  kl_conn c = { .fd = -1 };
  *body = NULL;
  snprintf(where, wcap, "the remote model");
  if (parse_url(r, &u, err, cap) != 0) return KL_E_MODEL;
  where_of(r, &u, endpoint, where, wcap);
  if (r->api_key && !key_ok(r->api_key)) {
    ku_fmt(err, cap, "%s: the API key holds a byte that cannot go in a header (not printable ASCII)", where);
    return KL_E_MODEL;
  }
  c.deadline = deadline_ns ? deadline_ns : kp_monotonic_ns() + KL_REMOTE_WAIT_MAX_MS * 1000000ull;
  int rc = dial(&u, &c, why, sizeof why);
  if (rc == KL_OK) rc = exchange(r, &u, endpoint, &c, json, n, max_body, status, body, body_len, why, sizeof why);
  if (c.tls) ko_tls_shutdown(c.tls);
  ko_tls_free(c.tls);
  if (c.fd >= 0) close(c.fd);
  if (rc != KL_OK) ku_fmt(err, cap, "%s: %s", where, why);
  return rc;
}
