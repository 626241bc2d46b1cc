/*
** net_internal.h -- what the net.* operations share (src/app/netreq.c,
** netops.c, netcli.c): the decoded requests, a request's connections and
** its limits. The payloads are python/c/krait_abi.h's; the sockets src/net's.
*/
#ifndef KA_NET_INTERNAL_H
#define KA_NET_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "net/net.h"
#include "util/cursor.h"

/* Limits of a request's payloads and connections (one source of truth;
** the manifest's defaults are in src/manifest). */
#define KA_NET_RECV_MAX (1u << 20)         /* bytes one net.recv returns */
#define KA_NET_OPEN_SERVE 16               /* open at once in krait serve */
#define KA_NET_OPEN_CLI 256                /* open at once in krait python */
#define KA_NET_WAIT_MAX_MS KO_WAIT_MAX_MS   /* one wait in a serve app without
                                              timeout_ms (fuel only) */
#define KA_NET_WAIT_TOTAL_MS 60000         /* all of a request's net.* waits in
                                              such an app */
#define KA_NET_TLS_FLAGS (KO_TLS_VERIFY | KO_TLS_HOSTNAME)

/* The decoded requests (netreq.c). */
typedef struct ka_net_connect {
  char host[KO_HOST_MAX + 1];   /* a name or an address (IPv6 unbracketed) */
  uint16_t port;
  uint32_t timeout_ms;
} ka_net_connect;

typedef struct ka_net_tls {
  uint32_t handle, flags, timeout_ms;
  char name[KO_HOST_MAX + 1];   /* may be empty when flags has no HOSTNAME */
  uint8_t alpn[KO_TLS_ALPN_MAX + 1];  /* wire format: length-prefixed */
  size_t alpn_len;
} ka_net_tls;

typedef struct ka_net_io {      /* send, recv, poll, shutdown, close */
  uint32_t handle, timeout_ms;
  uint32_t max;                 /* recv: 1..KA_NET_RECV_MAX */
  uint32_t how;                 /* shutdown: 0 read, 1 write, 2 both */
  const uint8_t *data;          /* send: the bytes (in the cursor's buffer) */
  size_t len;
} ka_net_io;

/* Each reads one operation's payload from c, refusing (ku_cfail, so a
** longjmp to c's owner) a payload that is short, has bytes left over, or
** holds a value out of range, naming the field. */
void ka_net_decode_connect(ku_cursor *c, ka_net_connect *r);
void ka_net_decode_tls(ku_cursor *c, ka_net_tls *r);
void ka_net_decode_send(ku_cursor *c, ka_net_io *r);
void ka_net_decode_recv(ku_cursor *c, ka_net_io *r);
void ka_net_decode_poll(ku_cursor *c, ka_net_io *r);
void ka_net_decode_shutdown(ku_cursor *c, ka_net_io *r);
void ka_net_decode_close(ku_cursor *c, ka_net_io *r);

/* One open connection of a request. */
typedef struct ka_netconn {
  uint32_t handle;              /* 0: a free slot */
  int fd;
  struct ko_tls *tls;           /* after net.tls */
  bool tls_tried;               /* net.tls ran (once), or I/O began */
  bool broken;                  /* its handshake failed: only close */
  ko_addr peer;
  uint16_t port;
} ka_netconn;

/* A request's network state: what it may reach and what it has used. */
typedef struct ka_net {
  const ko_allow *allow;        /* the app's or --allow-net's (not owned) */
  bool cli;                     /* krait python: --allow-net in messages */
  uint32_t max_opened;          /* connections per request (0: no limit) */
  uint32_t max_open;            /* open at once */
  uint64_t max_bytes;           /* received per request (0: no limit) */
  uint32_t wait_max_ms;         /* the longest wait when the request has no
                                   deadline (0: none, krait python) */
  uint32_t wait_total_ms;       /* and all its waits (0: none) */
  uint64_t waited_ns;           /* spent in net.* calls so far */
  bool budget_bound;            /* the last op's end was wait_total_ms's */
  uint32_t opened, open, next_handle;
  uint64_t received;
  ka_netconn *conns;            /* max_open slots, on first connect */
} ka_net;

/* netops.c: a request's network state (limits 0: none) and its end
** (every connection closed). */
void ka_net_begin(ka_net *n, const ko_allow *allow, bool cli, uint32_t max_opened, uint32_t max_open,
                  uint64_t max_bytes);
void ka_net_end(ka_net *n);


#endif
