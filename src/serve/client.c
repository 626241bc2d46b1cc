/*
** client.c -- connections per remote address: the per-client cap's counts and shedding at the global cap.
** Owns: the table of clients (an IPv4 address or an IPv6 /64 each) with their open connections, which one is heaviest, which idle connection goes.
** Does not own: accepting and refusing (server.c) or the connections themselves (conn.c).
*/
#include "serve/serve_internal.h"
#include <netinet/in.h>

/* An IPv4 peer keys as its v4-mapped IPv6 form, so a dual-stack listener
** and an IPv4 one agree; a native IPv6 peer keys by its /64, the block one
** subscriber usually holds (counting single addresses would let one host
** open a new connection from each of its 2^64). Unknown families share
** the zero key. */
void ks_addr_key_of(const struct sockaddr_storage *ss, ks_addr_key *k) {
  memset(k, 0, sizeof *k);
  if (ss->ss_family == AF_INET) {
    k->b[10] = k->b[11] = 0xff;
    memcpy(k->b + 12, &((const struct sockaddr_in *)ss)->sin_addr, 4);
  } else if (ss->ss_family == AF_INET6) {
    const uint8_t *a = ((const struct sockaddr_in6 *)ss)->sin6_addr.s6_addr;
    static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
    memcpy(k->b, a, memcmp(a, mapped, 12) == 0 ? 16 : 8);
  }
}

/* FNV-1a of the key, reduced to the table. */
static size_t slot_of(const ks_server *s, const ks_addr_key *k) {
  uint64_t h = 1469598103934665603u;
  for (size_t i = 0; i < sizeof k->b; i++) h = (h ^ k->b[i]) * 1099511628211u;
  return (size_t)(h ^ (h >> 29)) & (s->ctab_size - 1);
}

/* One bucket per expected connection (a power of two, 64 .. 65536): the
** table never grows, chains stay short up to the connection cap. */
bool ks_clients_init(ks_server *s) {
  size_t n = 64;
  while (n < s->cfg.max_conns && n < 65536) n *= 2;
  s->ctab = ku_calloc(n, sizeof *s->ctab);
  s->ctab_size = s->ctab ? n : 0;
  return s->ctab != NULL;
}

void ks_clients_free(ks_server *s) {
  for (size_t i = 0; i < s->ctab_size; i++)
    while (s->ctab[i]) {
      ks_client *c = s->ctab[i];
      s->ctab[i] = c->hnext;
      ku_free(c);
    }
  ku_free(s->ctab);
  s->ctab = NULL;
  s->ctab_size = 0;
}

static ks_client *find(ks_server *s, const ks_addr_key *k) {
  ks_client *c = s->ctab[slot_of(s, k)];
  while (c && memcmp(&c->key, k, sizeof *k) != 0) c = c->hnext;
  return c;
}

size_t ks_client_count(ks_server *s, const ks_addr_key *k) {
  ks_client *c = find(s, k);
  return c ? c->n : 0;
}

bool ks_client_attach(ks_server *s, ks_conn *c, const ks_addr_key *k) {
  ks_client *cl = find(s, k);
  if (!cl) {
    cl = ku_calloc(1, sizeof *cl);
    if (!cl) return false;
    cl->key = *k;
    size_t i = slot_of(s, k);
    cl->hnext = s->ctab[i];
    s->ctab[i] = cl;
  }
  c->client = cl;
  c->cprev = NULL;
  c->cnext = cl->conns;
  if (cl->conns) cl->conns->cprev = c;
  cl->conns = c;
  cl->n++;
  if (s->heavy && cl->n > s->heavy->n) s->heavy = cl;
  return true;
}

/* Uncounts c; a client left without connections is forgotten. */
void ks_client_detach(ks_conn *c) {
  ks_client *cl = c->client;
  if (!cl) return;
  ks_server *s = c->srv;
  if (c->cprev) c->cprev->cnext = c->cnext; else cl->conns = c->cnext;
  if (c->cnext) c->cnext->cprev = c->cprev;
  c->client = NULL;
  cl->n--;
  if (s->heavy == cl) s->heavy = NULL;   /* another may be heaviest now */
  if (cl->n) return;
  ks_client **p = &s->ctab[slot_of(s, &cl->key)];
  while (*p != cl) p = &(*p)->hnext;
  *p = cl->hnext;
  ku_free(cl);
}

/* The client with the most connections (looked for again only after the
** last one known lost a connection). */
static ks_client *heaviest(ks_server *s) {
  if (s->heavy) return s->heavy;
  for (size_t i = 0; i < s->ctab_size; i++)
    for (ks_client *c = s->ctab[i]; c; c = c->hnext)
      if (!s->heavy || c->n > s->heavy->n) s->heavy = c;
  return s->heavy;
}

bool ks_client_shed(ks_server *s, size_t mine) {
  ks_client *h = heaviest(s);
  if (!h || mine + 1 >= h->n) return false;
  ks_conn *victim = NULL;   /* the list is newest first: ties go to the oldest */
  for (ks_conn *c = h->conns; c; c = c->cnext)
    if (ks_conn_idle(c) && (!victim || c->idle_since <= victim->idle_since)) victim = c;
  if (!victim) return false;
  ks_counter_add(s->shed, 1);
  ks_conn_close(victim);
  return true;
}
