/*
** metrics.c -- the metrics registry behind the admin /metrics page (Prometheus text format).
** Owns: counter, gauge and histogram series (atomic updates), families by name, rendering.
** Does not own: which metrics exist (server.c registers its own; other components theirs) or HTTP.
*/
#include "serve/serve_internal.h"
#include <pthread.h>
#include <stdatomic.h>

typedef enum mtype { M_COUNTER, M_GAUGE, M_HISTOGRAM } mtype;

struct ks_counter { _Atomic uint64_t v; };
struct ks_gauge { _Atomic int64_t v; };
struct ks_histogram {
  double *bounds;
  size_t n;
  _Atomic uint64_t *buckets;   /* n + 1 (the last is +Inf), not cumulative */
  _Atomic uint64_t count;
  _Atomic uint64_t sum_bits;   /* a double, updated by compare-and-swap */
};

typedef struct series {
  struct series *next;
  char *labels;                /* "" when none */
  union { struct ks_counter c; struct ks_gauge g; struct ks_histogram h; } u;
} series;

typedef struct family {
  struct family *next;
  char *name, *help;
  mtype type;
  series *first, *last;
} family;

struct ks_metrics {
  pthread_mutex_t mu;          /* registration and rendering only */
  family *first, *last;
};

const double ks_latency_buckets[14] = {
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10
};

ks_metrics *ks_metrics_new(void) {
  ks_metrics *m = ku_calloc(1, sizeof *m);
  if (m) pthread_mutex_init(&m->mu, NULL);
  return m;
}

void ks_metrics_free(ks_metrics *m) {
  if (!m) return;
  for (family *f = m->first, *fn; f; f = fn) {
    fn = f->next;
    for (series *s = f->first, *sn; s; s = sn) {
      sn = s->next;
      if (f->type == M_HISTOGRAM) { ku_free(s->u.h.bounds); ku_free((void *)s->u.h.buckets); }
      ku_free(s->labels);
      ku_free(s);
    }
    ku_free(f->name);
    ku_free(f->help);
    ku_free(f);
  }
  pthread_mutex_destroy(&m->mu);
  ku_free(m);
}

/* The family `name`, created when missing; NULL on OOM or a type clash. */
static family *find_family(ks_metrics *m, const char *name, const char *help, mtype t) {
  for (family *f = m->first; f; f = f->next)
    if (strcmp(f->name, name) == 0) return f->type == t ? f : NULL;
  family *f = ku_calloc(1, sizeof *f);
  if (!f) return NULL;
  f->name = ku_strdup(name);
  f->help = ku_strdup(help ? help : name);
  f->type = t;
  if (!f->name || !f->help) { ku_free(f->name); ku_free(f->help); ku_free(f); return NULL; }
  if (m->last) m->last->next = f; else m->first = f;
  m->last = f;
  return f;
}

/* Fills a new histogram series' buckets; false on OOM. */
static bool init_histogram(struct ks_histogram *h, const double *b, size_t n) {
  if (!b) { b = ks_latency_buckets; n = KU_COUNT(ks_latency_buckets); }
  h->bounds = ku_malloc(n * sizeof *b + 1);
  h->buckets = ku_calloc(n + 1, sizeof *h->buckets);
  if (!h->bounds || !h->buckets) return false;
  memcpy(h->bounds, b, n * sizeof *b);
  h->n = n;
  return true;
}

/* Finds or adds the series (name, labels) under the lock. */
static series *get_series(ks_metrics *m, const char *name, const char *help, const char *labels,
                          mtype t, const double *b, size_t nb) {
  assert(m && name);
  labels = labels ? labels : "";
  pthread_mutex_lock(&m->mu);
  series *s = NULL;
  family *f = find_family(m, name, help, t);
  for (s = f ? f->first : NULL; s; s = s->next)
    if (strcmp(s->labels, labels) == 0) break;
  if (f && !s && (s = ku_calloc(1, sizeof *s)) != NULL) {
    s->labels = ku_strdup(labels);
    if (!s->labels || (t == M_HISTOGRAM && !init_histogram(&s->u.h, b, nb))) {
      ku_free(s->labels); ku_free(s->u.h.bounds); ku_free((void *)s->u.h.buckets); ku_free(s);
      s = NULL;
    } else {
      if (f->last) f->last->next = s; else f->first = s;
      f->last = s;
    }
  }
  pthread_mutex_unlock(&m->mu);
  return s;
}

ks_counter *ks_metrics_counter(ks_metrics *m, const char *name, const char *help, const char *labels) {
  series *s = get_series(m, name, help, labels, M_COUNTER, NULL, 0);
  return s ? &s->u.c : NULL;
}

ks_gauge *ks_metrics_gauge(ks_metrics *m, const char *name, const char *help, const char *labels) {
  series *s = get_series(m, name, help, labels, M_GAUGE, NULL, 0);
  return s ? &s->u.g : NULL;
}

ks_histogram *ks_metrics_histogram(ks_metrics *m, const char *name, const char *help,
                                   const char *labels, const double *bounds, size_t nbounds) {
  series *s = get_series(m, name, help, labels, M_HISTOGRAM, bounds, nbounds);
  return s ? &s->u.h : NULL;
}

void ks_counter_add(ks_counter *c, uint64_t n) { if (c) atomic_fetch_add_explicit(&c->v, n, memory_order_relaxed); }
uint64_t ks_counter_get(const ks_counter *c) { return c ? atomic_load((_Atomic uint64_t *)&c->v) : 0; }
void ks_gauge_set(ks_gauge *g, int64_t v) { if (g) atomic_store(&g->v, v); }
void ks_gauge_add(ks_gauge *g, int64_t d) { if (g) atomic_fetch_add_explicit(&g->v, d, memory_order_relaxed); }
int64_t ks_gauge_get(const ks_gauge *g) { return g ? atomic_load((_Atomic int64_t *)&g->v) : 0; }

/* Counts v in its bucket and adds it to the sum (a CAS loop on the
** double's bits, since C11 has no atomic floating add). */
void ks_histogram_observe(ks_histogram *h, double v) {
  if (!h) return;
  size_t i = 0;
  while (i < h->n && v > h->bounds[i]) i++;
  atomic_fetch_add_explicit(&h->buckets[i], 1, memory_order_relaxed);
  atomic_fetch_add_explicit(&h->count, 1, memory_order_relaxed);
  uint64_t old = atomic_load(&h->sum_bits), nw;
  do {
    double d;
    memcpy(&d, &old, sizeof d);
    d += v;
    memcpy(&nw, &d, sizeof d);
  } while (!atomic_compare_exchange_weak(&h->sum_bits, &old, nw));
}

/* name{labels[,extra]} with the braces left out when both are empty. */
static void series_name(ks_buf *b, const char *name, const char *suffix, const char *labels,
                        const char *extra) {
  ks_buf_printf(b, "%s%s", name, suffix);
  if (!*labels && !*extra) return;
  ks_buf_printf(b, "{%s%s%s}", labels, *labels && *extra ? "," : "", extra);
}

/* The _bucket (cumulative), _sum and _count lines of one histogram. */
static void render_histogram(ks_buf *b, const char *name, const series *s) {
  const struct ks_histogram *h = &s->u.h;
  uint64_t cum = 0;
  char le[48];
  for (size_t i = 0; i <= h->n; i++) {
    cum += atomic_load((_Atomic uint64_t *)&h->buckets[i]);
    if (i < h->n) snprintf(le, sizeof le, "le=\"%g\"", h->bounds[i]);
    else snprintf(le, sizeof le, "le=\"+Inf\"");
    series_name(b, name, "_bucket", s->labels, le);
    ks_buf_printf(b, " %llu\n", (unsigned long long)cum);
  }
  uint64_t bits = atomic_load((_Atomic uint64_t *)&h->sum_bits);
  double sum;
  memcpy(&sum, &bits, sizeof sum);
  series_name(b, name, "_sum", s->labels, "");
  ks_buf_printf(b, " %.9g\n", sum);
  series_name(b, name, "_count", s->labels, "");
  ks_buf_printf(b, " %llu\n", (unsigned long long)atomic_load((_Atomic uint64_t *)&h->count));
}

/* One family: HELP, TYPE, then each series. */
static void render_family(ks_buf *b, const family *f) {
  static const char *const types[] = { "counter", "gauge", "histogram" };
  ks_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", f->name, f->help, f->name, types[f->type]);
  for (const series *s = f->first; s; s = s->next) {
    if (f->type == M_HISTOGRAM) { render_histogram(b, f->name, s); continue; }
    series_name(b, f->name, "", s->labels, "");
    if (f->type == M_COUNTER) ks_buf_printf(b, " %llu\n", (unsigned long long)ks_counter_get(&s->u.c));
    else ks_buf_printf(b, " %lld\n", (long long)ks_gauge_get(&s->u.g));
  }
}

char *ks_metrics_render(ks_metrics *m, size_t *len) {
  ks_buf b = {0};
  ks_buf_reserve(&b, 1024);
  pthread_mutex_lock(&m->mu);
  for (const family *f = m->first; f; f = f->next) render_family(&b, f);
  pthread_mutex_unlock(&m->mu);
  if (b.oom) { ks_buf_free(&b); return NULL; }
  *len = b.len;
  return b.p;
}
