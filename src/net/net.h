/*
** net.h -- outbound network access (prefix ko_): the policy (the URLs a
** guest passes, the allow-list, which resolved addresses a call may reach)
** and the sockets and TLS under it. Not the bindings' payloads (src/app).
*/
#ifndef KO_NET_H
#define KO_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KO_URL_MAX 8192        /* bytes of a URL a guest may pass */
#define KO_HOST_MAX 253        /* a DNS name's text (RFC 1035 2.3.4) */
#define KO_SCHEME_MAX 31
#define KO_ADDR_TEXT 46        /* INET6_ADDRSTRLEN */
#define KO_ADDRS_MAX 16        /* addresses a destination keeps */
#define KO_ERR_SIZE 512        /* a message's buffer */

/* The manifest key and the CLI flag that grant outbound access (messages
** name them). */
#define KO_MANIFEST_KEY "allowed_outbound_hosts"
#define KO_CLI_FLAG "--allow-net"
/* The per-request limits of krait serve's outbound connections: their
** [app.limits] keys, defaults and most (src/manifest checks them). */
#define KO_KEY_CONNS "max_outbound_connections"
#define KO_KEY_MB "max_outbound_mb"
#define KO_CONNS_DEFAULT 50
#define KO_CONNS_MAX 100000
#define KO_MB_DEFAULT 64
#define KO_MB_MAX 1048576

/* An IPv4 (family 4, b[0..3]) or IPv6 (family 6) address. */
typedef struct ko_addr {
  uint8_t family;
  uint8_t b[16];
} ko_addr;

/* What an address is, for the address policy: everything but KO_PUBLIC is
** reached only when the allow-list names the address itself. */
typedef enum ko_class {
  KO_PUBLIC, KO_LOOPBACK, KO_PRIVATE, KO_SHARED, KO_LINK_LOCAL, KO_UNSPECIFIED,
  KO_MULTICAST, KO_BROADCAST, KO_RESERVED
} ko_class;

/* addr.c */
/* Parses [s, s+n) as a dotted-quad IPv4 address (four decimal parts, no
** leading zeros) or an IPv6 address (no brackets, no zone). */
bool ko_addr_parse(const char *s, size_t n, ko_addr *out);
/* The address's text (inet_ntop) into out (KO_ADDR_TEXT bytes). */
const char *ko_addr_text(const ko_addr *a, char *out);
/* An IPv4-mapped IPv6 address (::ffff:a.b.c.d) becomes a.b.c.d: the same
** destination; others are left as they are. */
void ko_addr_unmap(ko_addr *a);
/* The class of a (a mapped, NAT64 or 6to4 IPv6 address is classified by
** the IPv4 address it carries). */
ko_class ko_addr_class(const ko_addr *a);
const char *ko_class_name(ko_class c);   /* "loopback", "private", ... */
/* Whether a (unmapped) is inside net/bits (unmapped, same family). */
bool ko_addr_in(const ko_addr *a, const ko_addr *net, unsigned bits);

/* url.c: a URL a guest passes, scheme://[userinfo@]host[:port][/path][?query][#fragment]. */
typedef struct ko_url {
  char scheme[KO_SCHEME_MAX + 1];  /* lower case */
  char host[KO_HOST_MAX + 1];      /* lower case, no trailing dot; an IPv6
                                      address without brackets, canonical */
  bool is_ip;                      /* host is an address literal: ip */
  ko_addr ip;
  uint16_t port;                   /* given, or the scheme's default */
  bool port_given;
  size_t user_at, user_len;        /* views into the text parsed (len 0: */
  size_t path_at, path_len;        /* none; no path means "/") */
  size_t query_at, query_len;      /* after '?' */
} ko_url;

/* Parses text [s, s+n) (never read past n); 0, or -1 with a message that
** names what is wrong and at which byte. */
int ko_url_parse(const char *s, size_t n, ko_url *u, char *err, size_t errlen);
/* The scheme's default port (http 80, https 443, postgres 5432, redis
** 6379, mysql 3306, mqtt 1883, as Spin), or 0. */
uint16_t ko_default_port(const char *scheme);
/* Why host name [s, s+n) (no trailing dot) is not one, or NULL: letters,
** digits, '-', '_', '.', labels of 1 to 63 bytes, at most 253; a name
** whose last label is numeric must be a dotted-quad IPv4 address, which
** then sets *is_ip and *ip. */
const char *ko_name_check(const char *s, size_t n, ko_addr *ip, bool *is_ip);
/* "scheme://host:port" (IPv6 in brackets) into out. */
const char *ko_url_origin(const ko_url *u, char *out, size_t cap);
/* s[0..n) for a message: at most 80 bytes, quoted, bytes outside printable
** ASCII and quotes as \xNN escapes, into out (KO_SHOW_SIZE bytes). */
#define KO_SHOW_SIZE 340
const char *ko_show(const char *s, size_t n, char *out);

/* allow.c: the allow-list, in Spin's allowed_outbound_hosts syntax. */
typedef enum ko_hostkind {
  KO_HOST_ANY,      /* "*" */
  KO_HOST_SUFFIX,   /* "*.example.org": any subdomain (not the domain) */
  KO_HOST_NAME,     /* "api.example.com": that name */
  KO_HOST_NET       /* "10.1.2.3", "[::1]", "10.0.0.0/8": those addresses */
} ko_hostkind;

typedef struct ko_entry {
  char *text;                      /* as written (trimmed), for messages */
  char scheme[KO_SCHEME_MAX + 1];  /* "" for "*" */
  ko_hostkind kind;
  char host[KO_HOST_MAX + 2];      /* NAME: the name; SUFFIX: ".example.org" */
  ko_addr net;                     /* NET: the address (unmapped) */
  unsigned bits;                   /*      and its prefix length */
  bool any_port;
  uint16_t lo, hi;                 /* else ports lo..hi, both included */
} ko_entry;

/* Who granted the list: messages name the key or the flag that grants. */
typedef enum ko_source { KO_FROM_MANIFEST, KO_FROM_CLI } ko_source;

typedef struct ko_allow {
  ko_entry *v;
  size_t n, cap;
  ko_source source;
} ko_allow;

void ko_allow_init(ko_allow *a, ko_source source);
void ko_allow_free(ko_allow *a);
/* Adds one Spin-syntax entry, scheme://host[:port] ("https://api.example.com",
** "postgres://10.0.0.0/8:5432", "http://[::1]:8080"; "*" for any scheme,
** host or port, a leading "*." for any subdomain); 0, or -1 with
** "entry "X": <what is wrong>" in err. */
int ko_allow_add(ko_allow *a, const char *s, size_t n, char *err, size_t errlen);
/* Adds one --allow-net value: HOST[:PORT] is "*://HOST:PORT" (any scheme),
** HOST alone any port; a value with "://" is a Spin entry. */
int ko_allow_flag(ko_allow *a, const char *value, char *err, size_t errlen);
/* Whether e allows u's scheme and port (whatever its host). */
bool ko_entry_reaches(const ko_entry *e, const ko_url *u);
/* The first entry that allows (scheme, host, port) of u, or NULL. */
const ko_entry *ko_allow_match(const ko_allow *a, const ko_url *u);

/* policy.c: which addresses a call may connect to. */
typedef enum ko_verdict {
  KO_ALLOWED,
  KO_DENIED_EMPTY,    /* no allow-list at all: no network */
  KO_DENIED_HOST,     /* no entry allows (scheme, host, port) */
  KO_DENIED_ADDR,     /* allowed, but every address is refused */
  KO_NO_ADDRESS,      /* the name did not resolve */
  KO_TIMED_OUT        /* the deadline passed before the name resolved */
} ko_verdict;

/* Where the caller connects: these addresses (checked; never resolve the
** name again) at port. */
typedef struct ko_dest {
  ko_addr addr[KO_ADDRS_MAX];
  size_t n;
  uint16_t port;
} ko_dest;

/* Why a call is not allowed, for ko_deny_format. */
typedef struct ko_denial {
  ko_verdict why;
  char scheme[KO_SCHEME_MAX + 1], host[KO_HOST_MAX + 1];
  uint16_t port;
  bool host_is_ip;
  ko_addr addr;                    /* DENIED_ADDR: the first refused */
  char detail[128];                /* NO_ADDRESS: the resolver's reason */
} ko_denial;

/* The policy on addresses found for u (a name's resolved addresses, or
** u's own literal): each one not public is kept only when an entry whose
** scheme and port allow u names it literally (an address or a network),
** or, for loopback addresses of the name "localhost", names "localhost".
** Fills out (at most KO_ADDRS_MAX, duplicates dropped) and d. */
ko_verdict ko_policy_check(const ko_allow *a, const ko_url *u, const ko_addr *found, size_t n,
                           ko_dest *out, ko_denial *d);
/* The addresses u names, at most cap into found and their number in *n:
** its literal, the --resolve pins of its name, or the system resolver's
** answer within deadline (ko_lookup). KO_ALLOWED (no policy applied yet),
** KO_NO_ADDRESS or KO_TIMED_OUT, with d filled for the latter two. */
ko_verdict ko_addresses(const ko_url *u, uint64_t deadline, ko_addr *found, size_t cap, size_t *n,
                        ko_denial *d);
/* The whole check: u must match an entry (else no lookup is made), its
** name is resolved here (ko_addresses, within deadline: a kp_monotonic_ns
** time, 0 none but KO_WAIT_MAX_MS) and the addresses go through
** ko_policy_check. */
ko_verdict ko_resolve(const ko_allow *a, const ko_url *u, uint64_t deadline, ko_dest *out, ko_denial *d);

/* lookup.c: the system resolver within a deadline. */
#define KO_WAIT_MAX_MS 30000     /* the longest lookup (and, in krait serve,
                                    the longest wait of an app without
                                    timeout_ms) */
#define KO_LOOKUPS_LATE_MAX 64   /* lookups past their deadline still running */
#define KO_LOOKUP_TIMEOUT (-2)
/* The addresses of name (at most cap) into found, asking the resolver for
** it as a fully qualified name (no search domains; not "localhost"), then,
** only when no such name exists, as given (/etc/hosts names): their
** number; -1 with the resolver's reason in why; KO_LOOKUP_TIMEOUT once
** deadline (0: none) or KO_WAIT_MAX_MS passed (the lookup is cancelled). */
int ko_lookup(const char *name, uint64_t deadline, ko_addr *found, size_t cap, char *why, size_t whylen);
/* The name asked for: name with a trailing dot, but "localhost"; in out. */
const char *ko_lookup_name(const char *name, char *out, size_t cap);

/* pin.c: --resolve NAME:ADDR (repeatable): ko_resolve answers NAME with
** the ADDRs given instead of asking the system resolver (the addresses
** still go through ko_policy_check). Added at startup, before any thread
** resolves; 0, or -1 with a message naming the value. */
#define KO_PINS_MAX 64
int ko_pin_add(const char *value, char *err, size_t errlen);
/* The addresses pinned for name (lower case), at most cap; their number. */
size_t ko_pin_find(const char *name, ko_addr *out, size_t cap);
void ko_pin_clear(void);   /* tests */

/* sock.c: nonblocking TCP whose every wait ends at a deadline (a
** kp_monotonic_ns time; 0: none). Failures return -1 with errno; ETIME
** means the deadline passed. */
/* Connects to d's addresses in order, the first that answers; the socket
** (nonblocking, close-on-exec) and the address reached in *peer. On
** failure errno is the last address's error and *peer that address. */
int ko_sock_connect(const ko_dest *d, uint64_t deadline, ko_addr *peer);
/* Waits until fd is ready for events (POLLIN/POLLOUT): 1, 0 when the
** deadline passed, -1 with errno. A deadline already past just looks. */
int ko_sock_wait(int fd, short events, uint64_t deadline);
/* Sends all n bytes; 0, or -1 with errno. */
int ko_sock_send(int fd, const void *p, size_t n, uint64_t deadline);
/* Receives 1..cap bytes (0: the peer closed); -1 with errno. */
long ko_sock_recv(int fd, void *p, size_t cap, uint64_t deadline);

/* tls.c: the TLS client (OpenSSL), one context per process: TLS 1.2 and
** later, the system CA store or the --ca-file bundle instead. */
typedef struct ko_tls ko_tls;
/* Sets the CA bundle every later handshake verifies against (NULL: the
** system store) and builds the context now: 0, or -1 with a message
** naming the file and what is wrong with it. Call before threads start. */
int ko_tls_setup(const char *ca_file, char *err, size_t errlen);
#define KO_TLS_VERIFY 1u       /* verify the chain */
#define KO_TLS_HOSTNAME 2u     /* check the name (needs KO_TLS_VERIFY) */
#define KO_TLS_ALPN_MAX 255    /* bytes of the ALPN list, comma-separated */
/* The outcome of a handshake. */
typedef enum ko_tls_rc { KO_TLS_OK, KO_TLS_TIMEOUT, KO_TLS_VERIFY_FAILED, KO_TLS_FAILED,
                         KO_TLS_NET } ko_tls_rc;
/* Runs the client handshake on fd for name (SNI unless an address; the
** name or address checked with KO_TLS_HOSTNAME) offering alpn (wire
** format, may be empty); *out on success, else why in err (VERIFY_FAILED:
** "certificate verify failed: ..."; NET: errno's name first). */
ko_tls_rc ko_tls_connect(int fd, const char *name, unsigned flags, const uint8_t *alpn, size_t alpn_len,
                         uint64_t deadline, ko_tls **out, char *err, size_t errlen);
/* The same handshake (no ALPN) trusting the system store and the PEM
** bundle ca_file too (its context built on first use and kept for the
** process; NULL ca_file: ko_tls_connect's context). For servers the
** operator configures (krait's remote LLM backend). */
ko_tls_rc ko_tls_connect_ca(const char *ca_file, int fd, const char *name, unsigned flags, uint64_t deadline,
                            ko_tls **out, char *err, size_t errlen);
/* Sends all n bytes / receives 1..cap bytes (0: closed) on t; -1 with
** errno (ETIME: the deadline; EPROTO: TLS failed, why in err). */
int ko_tls_send(ko_tls *t, const void *p, size_t n, uint64_t deadline, char *err, size_t errlen);
long ko_tls_recv(ko_tls *t, void *p, size_t cap, uint64_t deadline, char *err, size_t errlen);
/* Whether a recv would not block before the deadline (data or EOF): 1,
** 0, -1 with errno. */
int ko_tls_poll(ko_tls *t, uint64_t deadline);
/* Sends close_notify without waiting. */
void ko_tls_shutdown(ko_tls *t);
void ko_tls_free(ko_tls *t);   /* not the socket */
/* The peer as ssl.getpeercert() shows it; ko_tls_peer_free releases. */
#define KO_TLS_SAN_MAX 64
typedef struct ko_tls_peer {
  char version[16], cipher[96], alpn[256], cn[256];
  int bits;
  uint8_t *der;                /* the certificate, DER (NULL: none) */
  size_t der_len;
  size_t nsan;
  struct { const char *type; char value[KO_HOST_MAX + 1]; } san[KO_TLS_SAN_MAX];
  char not_before[32], not_after[32];
} ko_tls_peer;
void ko_tls_peer_get(ko_tls *t, ko_tls_peer *p);
void ko_tls_peer_free(ko_tls_peer *p);

/* deny.c: the message of a denial, naming what was denied and the key
** (allowed_outbound_hosts) or flag (--allow-net) that would allow it. */
void ko_deny_format(const ko_allow *a, const ko_denial *d, char *buf, size_t cap);

#endif
