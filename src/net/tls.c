/*
** tls.c -- the TLS client of the outbound bindings (OpenSSL): one context
** per process (TLS 1.2+, the system CA store or --ca-file; one more per
** operator's CA bundle), handshakes, records and the peer's certificate,
** every wait bounded by a deadline.
*/
#include <errno.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "net/net.h"
#include "platform/platform.h"
#include "util/util.h"

struct ko_tls {
  SSL *ssl;
  int fd;
};

/* Turns of a record loop allowed once its deadline has passed (each one
** a look that does not wait): "just look" polls take this many, and a
** peer sending records with no data (TLS 1.3 KeyUpdate, session tickets)
** holds a call at most this many turns past its deadline. */
#define KO_TLS_LATE_TURNS 4

static SSL_CTX *ko_ctx;          /* built by ko_tls_setup, or on first use */
static pthread_once_t ko_once = PTHREAD_ONCE_INIT;

/* OpenSSL's first queued error as text (and the queue cleared). */
static const char *ko_ssl_why(char *buf, size_t cap) {
  unsigned long e = ERR_get_error();
  if (!e) snprintf(buf, cap, "unknown error");
  else ERR_error_string_n(e, buf, cap);
  ERR_clear_error();
  return buf;
}

/* The socket BIO with writes that raise no SIGPIPE (OpenSSL's own uses
** write(2)): krait is a library too, and must not rely on the process
** ignoring the signal. Built once; NULL when OpenSSL cannot. */
static BIO_METHOD *ko_bio;
static pthread_once_t ko_bio_once = PTHREAD_ONCE_INIT;

/* BIO write: send(MSG_NOSIGNAL) on the BIO's socket, retry flags as
** OpenSSL's socket BIO sets them. */
static int ko_bio_write(BIO *b, const char *p, int n) {
  int fd = -1;
  BIO_get_fd(b, &fd);
  errno = 0;
  ssize_t w = send(fd, p, (size_t)(n < 0 ? 0 : n), MSG_NOSIGNAL);
  BIO_clear_retry_flags(b);
  if (w <= 0 && BIO_sock_should_retry((int)w)) BIO_set_retry_write(b);
  return (int)w;
}

/* Builds ko_bio: BIO_s_socket's methods but its write. */
static void ko_bio_build(void) {
  const BIO_METHOD *s = BIO_s_socket();
  BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK | BIO_TYPE_DESCRIPTOR,
                               "krait socket");
  if (!m) return;
  if (BIO_meth_set_write(m, ko_bio_write) != 1 || BIO_meth_set_read(m, BIO_meth_get_read(s)) != 1 ||
      BIO_meth_set_puts(m, BIO_meth_get_puts(s)) != 1 || BIO_meth_set_ctrl(m, BIO_meth_get_ctrl(s)) != 1 ||
      BIO_meth_set_create(m, BIO_meth_get_create(s)) != 1 ||
      BIO_meth_set_destroy(m, BIO_meth_get_destroy(s)) != 1) {
    BIO_meth_free(m);
    return;
  }
  ko_bio = m;
}

/* Gives t's SSL a ko_bio on fd; 0 or -1. */
static int ko_tls_bio(ko_tls *t, int fd) {
  pthread_once(&ko_bio_once, ko_bio_build);
  BIO *b = ko_bio ? BIO_new(ko_bio) : NULL;
  if (!b) return -1;
  BIO_set_fd(b, fd, BIO_NOCLOSE);
  SSL_set_bio(t->ssl, b, b);
  return 0;
}

/* A new context verifying against ca_file (NULL: the system store). */
static SSL_CTX *ko_ctx_new(const char *ca_file, char *err, size_t errlen) {
  SSL_CTX *c = SSL_CTX_new(TLS_client_method());
  char why[256];
  if (!c) { snprintf(err, errlen, "TLS: cannot create a context: %s", ko_ssl_why(why, sizeof why)); return NULL; }
  SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION);
  SSL_CTX_set_options(c, SSL_OP_IGNORE_UNEXPECTED_EOF | SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
  SSL_CTX_set_mode(c, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  SSL_CTX_clear_mode(c, SSL_MODE_AUTO_RETRY);   /* back to our loop after each non-data record */
  int ok = ca_file ? SSL_CTX_load_verify_locations(c, ca_file, NULL) : SSL_CTX_set_default_verify_paths(c);
  if (ok != 1) {
    snprintf(err, errlen, "--ca-file %s: not a readable PEM bundle of CA certificates (%s)",
             ca_file ? ca_file : "(system store)", ko_ssl_why(why, sizeof why));
    SSL_CTX_free(c);
    return NULL;
  }
  return c;
}

/* The context with the system store, when ko_tls_setup was not called. */
static void ko_ctx_default(void) {
  char err[KO_ERR_SIZE];
  if (!ko_ctx) ko_ctx = ko_ctx_new(NULL, err, sizeof err);
}

int ko_tls_setup(const char *ca_file, char *err, size_t errlen) {
  if (ca_file) {
    FILE *f = fopen(ca_file, "rb");
    if (!f) { snprintf(err, errlen, "--ca-file %s: %s", ca_file, strerror(errno)); return -1; }
    fclose(f);
  }
  SSL_CTX *c = ko_ctx_new(ca_file, err, errlen);
  if (!c) return -1;
  if (ko_ctx) SSL_CTX_free(ko_ctx);
  ko_ctx = c;
  return 0;
}

/* Waits as OpenSSL asks after result r of an operation: 1 go on, 0 the
** deadline passed, -1 failed (the SSL error in *code). *late counts the
** turns taken after the deadline: past KO_TLS_LATE_TURNS the loop ends
** even when the socket is ready (a peer must not hold it with records
** that carry no data). */
static int ko_tls_again(ko_tls *t, int r, uint64_t deadline, int *code, unsigned *late) {
  *code = SSL_get_error(t->ssl, r);
  short ev = *code == SSL_ERROR_WANT_READ ? POLLIN : *code == SSL_ERROR_WANT_WRITE ? POLLOUT : 0;
  if (!ev) return -1;
  if (deadline && kp_monotonic_ns() >= deadline && ++*late > KO_TLS_LATE_TURNS) return 0;
  int w = ko_sock_wait(t->fd, ev, deadline);
  if (w < 0) *code = SSL_ERROR_SYSCALL;
  return w;
}

/* Why a failed handshake failed, into err; its outcome. */
static ko_tls_rc ko_tls_failed(ko_tls *t, int code, unsigned flags, const char *name, char *err,
                                size_t errlen) {
  long v = (flags & KO_TLS_VERIFY) ? SSL_get_verify_result(t->ssl) : X509_V_OK;
  char why[256];
  if (v == X509_V_ERR_HOSTNAME_MISMATCH) {
    snprintf(err, errlen, "certificate verify failed: Hostname mismatch, certificate is not valid for '%s'", name);
    ERR_clear_error();
    return KO_TLS_VERIFY_FAILED;
  }
  if (v == X509_V_ERR_IP_ADDRESS_MISMATCH) {
    snprintf(err, errlen, "certificate verify failed: IP address mismatch, certificate is not valid for '%s'", name);
    ERR_clear_error();
    return KO_TLS_VERIFY_FAILED;
  }
  if (v != X509_V_OK) {
    snprintf(err, errlen, "certificate verify failed: %s", X509_verify_cert_error_string(v));
    ERR_clear_error();
    return KO_TLS_VERIFY_FAILED;
  }
  if (code == SSL_ERROR_SYSCALL && ERR_peek_error() == 0) {
    int e = errno ? errno : ECONNRESET;
    snprintf(err, errlen, "%s: the handshake failed: %s", strerrorname_np(e) ? strerrorname_np(e) : "EIO",
             errno ? strerror(e) : "the peer closed the connection");
    return KO_TLS_NET;
  }
  snprintf(err, errlen, "the handshake failed: %s", ko_ssl_why(why, sizeof why));
  return KO_TLS_FAILED;
}

/* Sets what t verifies and announces for name under flags; 0 or -1. */
static int ko_tls_names(ko_tls *t, const char *name, unsigned flags, const uint8_t *alpn, size_t alpn_len) {
  ko_addr ip;
  bool is_ip = ko_addr_parse(name, strlen(name), &ip);
  X509_VERIFY_PARAM *vp = SSL_get0_param(t->ssl);
  SSL_set_verify(t->ssl, (flags & KO_TLS_VERIFY) ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, NULL);
  if (name[0] && !is_ip && SSL_set_tlsext_host_name(t->ssl, name) != 1) return -1;
  if (flags & KO_TLS_HOSTNAME) {
    X509_VERIFY_PARAM_set_hostflags(vp, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    if ((is_ip ? X509_VERIFY_PARAM_set1_ip_asc(vp, name) : X509_VERIFY_PARAM_set1_host(vp, name, 0)) != 1)
      return -1;
  }
  if (alpn_len && SSL_set_alpn_protos(t->ssl, alpn, (unsigned)alpn_len) != 0) return -1;
  return 0;
}

/* The handshake of ko_tls_connect under context ctx (NULL: none could be
** built). */
static ko_tls_rc ko_tls_start(SSL_CTX *ctx, int fd, const char *name, unsigned flags, const uint8_t *alpn,
                              size_t alpn_len, uint64_t deadline, ko_tls **out, char *err, size_t errlen) {
  char why[256];
  ko_tls *t = ku_calloc(1, sizeof *t);
  *out = NULL;
  if (!ctx || !t || !(t->ssl = SSL_new(ctx))) {
    snprintf(err, errlen, "TLS: cannot start a session: %s", ko_ssl_why(why, sizeof why));
    ku_free(t);
    return KO_TLS_FAILED;
  }
  t->fd = fd;
  ERR_clear_error();
  if (ko_tls_bio(t, fd) != 0 || ko_tls_names(t, name, flags, alpn, alpn_len) != 0) {
    snprintf(err, errlen, "TLS: cannot set up the session for '%s': %s", name, ko_ssl_why(why, sizeof why));
    ko_tls_free(t);
    return KO_TLS_FAILED;
  }
  unsigned late = 0;
  for (;;) {
    errno = 0;
    int r = SSL_connect(t->ssl), code = 0;
    if (r == 1) { *out = t; return KO_TLS_OK; }
    int w = ko_tls_again(t, r, deadline, &code, &late);
    if (w > 0) continue;
    ko_tls_rc rc = w == 0 ? KO_TLS_TIMEOUT : ko_tls_failed(t, code, flags, name, err, errlen);
    if (w == 0) snprintf(err, errlen, "the TLS handshake timed out");
    ko_tls_free(t);
    return rc;
  }
}

ko_tls_rc ko_tls_connect(int fd, const char *name, unsigned flags, const uint8_t *alpn, size_t alpn_len,
                         uint64_t deadline, ko_tls **out, char *err, size_t errlen) {
  pthread_once(&ko_once, ko_ctx_default);
  return ko_tls_start(ko_ctx, fd, name, flags, alpn, alpn_len, deadline, out, err, errlen);
}

/* The contexts of ko_tls_connect_ca, one per bundle, kept for the process. */
typedef struct ko_ca_ctx {
  char *path;
  SSL_CTX *ctx;
  struct ko_ca_ctx *next;
} ko_ca_ctx;
static ko_ca_ctx *ko_ca_list;
static pthread_mutex_t ko_ca_mu = PTHREAD_MUTEX_INITIALIZER;

/* A new context trusting the system store and ca_file; NULL with err
** naming the file. */
static SSL_CTX *ko_ca_ctx_new(const char *ca_file, char *err, size_t errlen) {
  char why[256];
  SSL_CTX *c = ko_ctx_new(NULL, err, errlen);
  if (!c || SSL_CTX_load_verify_locations(c, ca_file, NULL) == 1) return c;
  snprintf(err, errlen, "CA file %s: not a readable PEM bundle of CA certificates (%s)", ca_file,
           ko_ssl_why(why, sizeof why));
  SSL_CTX_free(c);
  return NULL;
}

/* The context of ca_file, built on first use and kept; NULL with err set. */
static SSL_CTX *ko_ca_ctx_get(const char *ca_file, char *err, size_t errlen) {
  pthread_mutex_lock(&ko_ca_mu);
  ko_ca_ctx *k = ko_ca_list;
  while (k && strcmp(k->path, ca_file)) k = k->next;
  if (!k && (k = ku_calloc(1, sizeof *k))) {
    k->path = ku_strdup(ca_file);
    k->ctx = k->path ? ko_ca_ctx_new(ca_file, err, errlen) : NULL;
    if (k->ctx) {
      k->next = ko_ca_list;
      ko_ca_list = k;
    } else {
      if (!k->path) snprintf(err, errlen, "out of memory");
      ku_free(k->path);
      ku_free(k);
      k = NULL;
    }
  } else if (!k) {
    snprintf(err, errlen, "out of memory");
  }
  SSL_CTX *c = k ? k->ctx : NULL;
  pthread_mutex_unlock(&ko_ca_mu);
  return c;
}

ko_tls_rc ko_tls_connect_ca(const char *ca_file, int fd, const char *name, unsigned flags, uint64_t deadline,
                            ko_tls **out, char *err, size_t errlen) {
  if (!ca_file) return ko_tls_connect(fd, name, flags, NULL, 0, deadline, out, err, errlen);
  SSL_CTX *c = ko_ca_ctx_get(ca_file, err, errlen);
  *out = NULL;
  if (!c) return KO_TLS_FAILED;
  return ko_tls_start(c, fd, name, flags, NULL, 0, deadline, out, err, errlen);
}

/* Maps a failed record operation (SSL error code) to errno, why in err. */
static int ko_tls_errno(int code, char *err, size_t errlen) {
  char why[256];
  if (code == SSL_ERROR_SYSCALL && ERR_peek_error() == 0) return errno ? errno : ECONNRESET;
  snprintf(err, errlen, "%s", ko_ssl_why(why, sizeof why));
  return EPROTO;
}

int ko_tls_send(ko_tls *t, const void *p, size_t n, uint64_t deadline, char *err, size_t errlen) {
  const uint8_t *b = p;
  unsigned late = 0;
  while (n) {
    size_t done = 0;
    int code = 0;
    errno = 0;
    ERR_clear_error();
    int r = SSL_write_ex(t->ssl, b, n, &done);
    if (r == 1) { b += done; n -= done; continue; }
    int w = ko_tls_again(t, r, deadline, &code, &late);
    if (w > 0) continue;
    errno = w == 0 ? ETIME : ko_tls_errno(code, err, errlen);
    return -1;
  }
  return 0;
}

long ko_tls_recv(ko_tls *t, void *p, size_t cap, uint64_t deadline, char *err, size_t errlen) {
  unsigned late = 0;
  for (;;) {
    size_t got = 0;
    int code = 0;
    errno = 0;
    ERR_clear_error();
    int r = SSL_read_ex(t->ssl, p, cap, &got);
    if (r == 1) return (long)got;
    if (SSL_get_error(t->ssl, r) == SSL_ERROR_ZERO_RETURN) return 0;
    int w = ko_tls_again(t, r, deadline, &code, &late);
    if (w > 0) continue;
    errno = w == 0 ? ETIME : ko_tls_errno(code, err, errlen);
    return -1;
  }
}

int ko_tls_poll(ko_tls *t, uint64_t deadline) {
  unsigned late = 0;
  for (;;) {
    char c;
    size_t got = 0;
    int code = 0;
    if (SSL_pending(t->ssl) > 0) return 1;
    ERR_clear_error();
    int r = SSL_peek_ex(t->ssl, &c, 1, &got);
    if (r == 1) return 1;
    code = SSL_get_error(t->ssl, r);
    if (code != SSL_ERROR_WANT_READ && code != SSL_ERROR_WANT_WRITE) { ERR_clear_error(); return 1; }
    int w = ko_tls_again(t, r, deadline, &code, &late);
    if (w <= 0) return w;
  }
}

void ko_tls_shutdown(ko_tls *t) {
  SSL_shutdown(t->ssl);
  ERR_clear_error();
}

void ko_tls_free(ko_tls *t) {
  if (!t) return;
  SSL_free(t->ssl);
  ku_free(t);
}

/* An ASN1 time as ssl.getpeercert() prints it ("Jun  1 00:00:00 2026 GMT"). */
static void ko_asn1_time(const ASN1_TIME *tm, char *out, size_t cap) {
  struct tm t;
  static const char *const mon[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
  out[0] = '\0';
  if (!tm || ASN1_TIME_to_tm(tm, &t) != 1 || t.tm_mon < 0 || t.tm_mon > 11) return;
  snprintf(out, cap, "%s %2d %02d:%02d:%02d %d GMT", mon[t.tm_mon], t.tm_mday, t.tm_hour, t.tm_min,
           t.tm_sec, t.tm_year + 1900);
}

/* The subjectAltName entries of x (DNS names and addresses) into p. */
static void ko_peer_sans(X509 *x, ko_tls_peer *p) {
  GENERAL_NAMES *g = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
  for (int i = 0; g && i < sk_GENERAL_NAME_num(g) && p->nsan < KO_TLS_SAN_MAX; i++) {
    GENERAL_NAME *n = sk_GENERAL_NAME_value(g, i);
    ko_addr a;
    if (n->type == GEN_DNS) {
      const unsigned char *s = ASN1_STRING_get0_data(n->d.dNSName);
      int len = ASN1_STRING_length(n->d.dNSName);
      if (len < 0 || len > KO_HOST_MAX || memchr(s, 0, (size_t)len)) continue;
      p->san[p->nsan].type = "DNS";
      memcpy(p->san[p->nsan].value, s, (size_t)len);
      p->san[p->nsan++].value[len] = '\0';
    } else if (n->type == GEN_IPADD && (n->d.iPAddress->length == 4 || n->d.iPAddress->length == 16)) {
      a.family = n->d.iPAddress->length == 4 ? 4 : 6;
      memcpy(a.b, n->d.iPAddress->data, (size_t)n->d.iPAddress->length);
      char text[KO_ADDR_TEXT];
      p->san[p->nsan].type = "IP Address";
      snprintf(p->san[p->nsan++].value, KO_HOST_MAX + 1, "%s", ko_addr_text(&a, text));
    }
  }
  GENERAL_NAMES_free(g);
}

void ko_tls_peer_get(ko_tls *t, ko_tls_peer *p) {
  const unsigned char *alpn = NULL;
  unsigned alpn_len = 0;
  memset(p, 0, sizeof *p);
  snprintf(p->version, sizeof p->version, "%s", SSL_get_version(t->ssl));
  const SSL_CIPHER *c = SSL_get_current_cipher(t->ssl);
  snprintf(p->cipher, sizeof p->cipher, "%s", c ? SSL_CIPHER_get_name(c) : "");
  p->bits = c ? SSL_CIPHER_get_bits(c, NULL) : 0;
  SSL_get0_alpn_selected(t->ssl, &alpn, &alpn_len);
  if (alpn && alpn_len < sizeof p->alpn) { memcpy(p->alpn, alpn, alpn_len); p->alpn[alpn_len] = '\0'; }
  X509 *x = SSL_get1_peer_certificate(t->ssl);
  if (!x) return;
  unsigned char *der = NULL;
  int n = i2d_X509(x, &der);
  if (n > 0 && (p->der = ku_malloc((size_t)n))) { memcpy(p->der, der, (size_t)n); p->der_len = (size_t)n; }
  OPENSSL_free(der);
  X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, p->cn, sizeof p->cn);
  ko_peer_sans(x, p);
  ko_asn1_time(X509_get0_notBefore(x), p->not_before, sizeof p->not_before);
  ko_asn1_time(X509_get0_notAfter(x), p->not_after, sizeof p->not_after);
  X509_free(x);
}

void ko_tls_peer_free(ko_tls_peer *p) {
  ku_free(p->der);
  p->der = NULL;
}
