/*
** format.c -- manifests written and combined: one app's krait.toml for its
** artifact (km_app_format), and the manifests of several artifacts merged
** into one server's (km_manifest_merge). Not reading TOML (manifest.c).
*/
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "manifest/manifest.h"
#include "net/net.h"
#include "util/util.h"

/* A growing text; ok turns false when memory runs out. */
typedef struct km_out { char *p; size_t len, cap; bool ok; } km_out;

/* Appends printf-style text. */
static void km_printf(km_out *o, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (!o->ok || n < 0) { o->ok = false; return; }
  if (o->len + (size_t)n + 1 > o->cap) {
    size_t cap = (o->cap + (size_t)n + 1) * 2;
    char *p = ku_realloc(o->p, cap);
    if (!p) { o->ok = false; return; }
    o->p = p;
    o->cap = cap;
  }
  va_start(ap, fmt);
  vsnprintf(o->p + o->len, o->cap - o->len, fmt, ap);
  va_end(ap);
  o->len += (size_t)n;
}

/* Appends s as a TOML basic string: quotes, backslashes and control
** characters escaped, everything else (UTF-8 included) as is. */
static void km_quote(km_out *o, const char *s) {
  km_printf(o, "\"");
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\') km_printf(o, "\\%c", c);
    else if (c < 0x20 || c == 0x7f) km_printf(o, "\\u%04x", c);
    else km_printf(o, "%c", c);
  }
  km_printf(o, "\"");
}

/* Appends key = ["a", "b"]. */
static void km_list(km_out *o, const char *key, char *const *v, int n) {
  km_printf(o, "%s = [", key);
  for (int i = 0; i < n; i++) {
    if (i) km_printf(o, ", ");
    km_quote(o, v[i]);
  }
  km_printf(o, "]\n");
}

/* The store named name in m, or NULL. */
static const km_store *km_store_named(const km_manifest *m, const char *name) {
  for (int i = 0; i < m->nstores; i++)
    if (!strcmp(m->stores[i].name, name)) return &m->stores[i];
  return NULL;
}

/* Appends a store's table; a path under the manifest's directory becomes
** relative (an artifact's stores live where it is served from). */
static void km_store_table(km_out *o, const km_manifest *m, const km_store *s) {
  km_printf(o, "\n[key_value_stores.");
  km_quote(o, s->name);
  km_printf(o, "]\nbackend = \"%s\"\n", s->redis ? "redis" : "sqlite");
  if (s->redis) { km_printf(o, "url = "); km_quote(o, s->url); km_printf(o, "\n"); return; }
  size_t dn = strrchr(m->path, '/') ? (size_t)(strrchr(m->path, '/') - m->path) : 0;
  const char *p = s->path;
  if (dn && !strncmp(p, m->path, dn) && p[dn] == '/') p += dn + 1;
  km_printf(o, "path = ");
  km_quote(o, p);
  km_printf(o, "\ndurability = \"%s\"\n", s->power ? "power" : "process");
}

/* Whether app a uses variable v: in a template or as a model's API key. */
static bool km_app_uses_var(const km_manifest *m, const km_app *a, int v) {
  for (int i = 0; i < a->nvars; i++)
    if (km_template_uses(m, a->var_values[i], v)) return true;
  for (int i = 0; i < a->nai_models; i++) {
    const km_model *d = km_model_find(m, a->ai_models[i]);
    if (d && d->api_key_variable && !strcmp(d->api_key_variable, m->vars[v].name)) return true;
  }
  return false;
}

/* The [variables] entries app a's templates refer to: their declarations
** only (a default is the manifest's text), never a value resolved from
** the environment or a --variables-file. */
static void km_vars_table(km_out *o, const km_manifest *m, const km_app *a) {
  bool head = false;
  for (int v = 0; v < m->nvars; v++) {
    if (!km_app_uses_var(m, a, v)) continue;
    if (!head) km_printf(o, "\n[variables]\n");
    head = true;
    km_printf(o, "%s = { ", m->vars[v].name);
    if (m->vars[v].dflt) { km_printf(o, "default = "); km_quote(o, m->vars[v].dflt); }
    else km_printf(o, "required = true");
    km_printf(o, ", secret = %s }\n", m->vars[v].secret ? "true" : "false");
  }
}

/* The SQLite database named name in m, or NULL. */
static const km_sqldb *km_sqldb_named(const km_manifest *m, const char *name) {
  for (int i = 0; i < m->nsqldbs; i++)
    if (!strcmp(m->sqldbs[i].name, name)) return &m->sqldbs[i];
  return NULL;
}

/* Appends a SQLite database's table, its path relative when under the
** manifest's directory (as a store's). */
static void km_sqldb_table(km_out *o, const km_manifest *m, const km_sqldb *d) {
  size_t dn = strrchr(m->path, '/') ? (size_t)(strrchr(m->path, '/') - m->path) : 0;
  const char *p = d->path;
  if (dn && !strncmp(p, m->path, dn) && p[dn] == '/') p += dn + 1;
  km_printf(o, "\n[sqlite_databases.");
  km_quote(o, d->name);
  km_printf(o, "]\npath = ");
  km_quote(o, p);
  km_printf(o, "\n");
}

/* Appends the [llm] table and the [llm.models] tables of the models app a
** is granted: a local path under the manifest's directory made relative
** (an artifact's model files stay where it is served from, unbundled). */
static void km_llm_tables(km_out *o, const km_manifest *m, const km_app *a) {
  if (!a->nai_models) return;
  km_printf(o, "\n[llm]\nthreads = %llu\nmax_concurrent = %llu\nmax_queued = %llu\ncontext = %llu\n"
            "api_timeout_ms = %llu\n",
            (unsigned long long)m->llm.threads, (unsigned long long)m->llm.max_concurrent,
            (unsigned long long)m->llm.max_queued, (unsigned long long)m->llm.context,
            (unsigned long long)m->llm.api_timeout_ms);
  size_t dn = strrchr(m->path, '/') ? (size_t)(strrchr(m->path, '/') - m->path) : 0;
  for (int i = 0; i < a->nai_models; i++) {
    const km_model *d = km_model_find(m, a->ai_models[i]);
    if (!d) continue;
    km_printf(o, "\n[llm.models.");
    km_quote(o, d->name);
    km_printf(o, "]\n");
    if (d->path) {
      const char *p = d->path;
      if (dn && !strncmp(p, m->path, dn) && p[dn] == '/') p += dn + 1;
      km_printf(o, "path = ");
      km_quote(o, p);
      km_printf(o, "\n");
      continue;
    }
    km_printf(o, "url = ");
    km_quote(o, d->url);
    km_printf(o, "\nmodel = ");
    km_quote(o, d->model);
    km_printf(o, "\n");
    if (d->api_key_variable) { km_printf(o, "api_key_variable = "); km_quote(o, d->api_key_variable); km_printf(o, "\n"); }
  }
}

char *km_app_format(const km_manifest *m, const km_app *a) {
  km_out o = { .ok = true };
  km_printf(&o, "# app \"%s\" of %s, as krait build bundled it\n[app]\nname = ", a->name, m->path);
  km_quote(&o, a->name);
  km_printf(&o, "\nstyle = ");
  km_quote(&o, a->style);
  km_printf(&o, "\nmodule = ");
  km_quote(&o, a->module);
  if (a->wsgi) { km_printf(&o, "\nwsgi = "); km_quote(&o, a->wsgi); }
  km_printf(&o, "\ndir = \"app\"\n");
  km_list(&o, "routes", a->routes, a->nroutes);
  km_printf(&o, "site_packages = [");
  for (int i = 0; i < a->nsite_packages; i++) km_printf(&o, "%s\"site-packages/%d\"", i ? ", " : "", i);
  km_printf(&o, "]\n");
  km_list(&o, "key_value_stores", a->stores, a->nstores);
  km_list(&o, KO_MANIFEST_KEY, a->outbound_hosts, a->noutbound_hosts);
  km_list(&o, "sqlite_databases", a->sqldbs, a->nsqldbs);
  km_list(&o, "ai_models", a->ai_models, a->nai_models);
  if (a->npackages) km_list(&o, "packages", a->packages, a->npackages);
  km_printf(&o, "debug = %s\n\n[app.limits]\ntimeout_ms = %llu\nfuel = %llu\nmax_disk_mb = %llu\n"
            KO_KEY_CONNS " = %llu\n" KO_KEY_MB " = %llu\nmax_memory_mb = %llu\n",
            a->debug ? "true" : "false", (unsigned long long)a->timeout_ms,
            (unsigned long long)a->fuel, (unsigned long long)a->max_disk_mb,
            (unsigned long long)a->max_outbound_conns, (unsigned long long)a->max_outbound_mb,
            (unsigned long long)a->max_memory_mb);
  if (a->nvars) km_printf(&o, "\n[app.variables]\n");
  for (int i = 0; i < a->nvars; i++) {
    km_quote(&o, a->var_names[i]);
    km_printf(&o, " = ");
    km_quote(&o, a->var_values[i]);
    km_printf(&o, "\n");
  }
  for (int i = 0; i < a->nstores; i++) {
    const km_store *s = km_store_named(m, a->stores[i]);
    if (s) km_store_table(&o, m, s);
  }
  km_vars_table(&o, m, a);
  for (int i = 0; i < a->nsqldbs; i++) {
    const km_sqldb *d = km_sqldb_named(m, a->sqldbs[i]);
    if (d) km_sqldb_table(&o, m, d);
  }
  km_llm_tables(&o, m, a);
  if (!o.ok) { ku_free(o.p); return NULL; }
  return o.p;
}

/* Whether two declarations of a store are the same store. */
static bool km_same_store(const km_store *a, const km_store *b) {
  return a->redis == b->redis && a->power == b->power &&
         !strcmp(a->redis ? a->url : a->path, b->redis ? b->url : b->path);
}

/* Whether two optional strings are equal. */
static bool km_same_str(const char *a, const char *b) { return (!a && !b) || (a && b && !strcmp(a, b)); }

/* A model both declare must be the same, and so must both [llm] tables. */
static int km_merge_llm_check(const km_manifest *into, const km_manifest *from, char *err, size_t errlen) {
  for (int i = 0; i < from->nmodels; i++) {
    const km_model *x = km_model_find(into, from->models[i].name), *y = &from->models[i];
    if (x && !(km_same_str(x->path, y->path) && km_same_str(x->url, y->url) && km_same_str(x->model, y->model) &&
               km_same_str(x->api_key_variable, y->api_key_variable))) {
      snprintf(err, errlen, "%s and %s declare model \"%s\" differently", into->path, from->path, x->name);
      return -1;
    }
  }
  const km_llm *a = &into->llm, *b = &from->llm;
  if (a->set && b->set && (a->threads != b->threads || a->max_concurrent != b->max_concurrent ||
                           a->max_queued != b->max_queued || a->context != b->context ||
                           a->api_timeout_ms != b->api_timeout_ms)) {
    snprintf(err, errlen, "%s and %s have different [llm] settings (threads, max_concurrent, max_queued, context, "
             "api_timeout_ms): "
             "the apps of one server share its engine", into->path, from->path);
    return -1;
  }
  return 0;
}

/* Moves from's models that into lacks into it (and its [llm] settings,
** when into has none); frees the rest. false when out of memory. */
static bool km_merge_llm(km_manifest *into, km_manifest *from) {
  km_model *ms = ku_realloc(into->models, (size_t)(into->nmodels + from->nmodels + 1) * sizeof *ms);
  if (!ms) return false;
  into->models = ms;
  for (int i = 0; i < from->nmodels; i++) {
    km_model *d = &from->models[i];
    if (km_model_find(into, d->name)) {
      ku_free(d->name); ku_free(d->path); ku_free(d->url); ku_free(d->model); ku_free(d->api_key_variable);
    } else {
      into->models[into->nmodels++] = *d;
    }
  }
  from->nmodels = 0;
  if (!into->llm.set) into->llm = from->llm;
  return true;
}

/* The first problem merging from into into would cause, in err; 0 if none. */
static int km_merge_check(const km_manifest *into, const km_manifest *from, char *err, size_t errlen) {
  for (int i = 0; i < from->nstores; i++) {
    const km_store *s = km_store_named(into, from->stores[i].name);
    if (s && !km_same_store(s, &from->stores[i])) {
      snprintf(err, errlen, "%s and %s declare key-value store \"%s\" differently", into->path,
               from->path, s->name);
      return -1;
    }
    for (int k = 0; k < into->nstores; k++) {  /* one file under two names */
      const km_store *x = &into->stores[k], *y = &from->stores[i];
      if (!x->redis && !y->redis && strcmp(x->name, y->name) && !strcmp(x->path, y->path)) {
        snprintf(err, errlen, "%s and %s give the one SQLite file %s to two stores, \"%s\" and \"%s\"",
                 into->path, from->path, x->path, x->name, y->name);
        return -1;
      }
    }
  }
  for (int i = 0; i < from->nvars; i++) {
    int k = km_var_find(into, from->vars[i].name, strlen(from->vars[i].name));
    const km_var *x = k >= 0 ? &into->vars[k] : NULL, *y = &from->vars[i];
    if (x && (x->required != y->required || x->secret != y->secret || !x->dflt != !y->dflt ||
              (x->dflt && strcmp(x->dflt, y->dflt)))) {
      snprintf(err, errlen, "%s and %s declare variable \"%s\" differently", into->path, from->path, x->name);
      return -1;
    }
  }
  for (int i = 0; i < from->nsqldbs; i++) {
    const km_sqldb *d = km_sqldb_named(into, from->sqldbs[i].name);
    if (d && strcmp(d->path, from->sqldbs[i].path)) {
      snprintf(err, errlen, "%s and %s declare SQLite database \"%s\" differently", into->path,
               from->path, d->name);
      return -1;
    }
  }
  if (km_merge_llm_check(into, from, err, errlen)) return -1;
  for (int a = 0; a < from->napps; a++)
    for (int b = 0; b < into->napps; b++) {
      if (!strcmp(from->apps[a].name, into->apps[b].name)) {
        snprintf(err, errlen, "two apps are named \"%s\" (%s and %s)", from->apps[a].name,
                 into->path, from->path);
        return -1;
      }
      for (int i = 0; i < from->apps[a].nroutes; i++)
        for (int j = 0; j < into->apps[b].nroutes; j++)
          if (!strcmp(from->apps[a].routes[i], into->apps[b].routes[j])) {
            snprintf(err, errlen, "route \"%s\" is claimed by apps \"%s\" and \"%s\"",
                     into->apps[b].routes[j], into->apps[b].name, from->apps[a].name);
            return -1;
          }
    }
  return 0;
}

int km_manifest_merge(km_manifest *into, km_manifest *from, char *err, size_t errlen) {
  if (km_merge_check(into, from, err, errlen)) return -1;
  km_app *apps = ku_realloc(into->apps, (size_t)(into->napps + from->napps + 1) * sizeof *apps);
  if (apps) into->apps = apps;
  km_store *st = ku_realloc(into->stores, (size_t)(into->nstores + from->nstores + 1) * sizeof *st);
  if (st) into->stores = st;
  km_var *vs = ku_realloc(into->vars, (size_t)(into->nvars + from->nvars + 1) * sizeof *vs);
  if (vs) into->vars = vs;
  km_sqldb *sq = ku_realloc(into->sqldbs, (size_t)(into->nsqldbs + from->nsqldbs + 1) * sizeof *sq);
  if (sq) into->sqldbs = sq;
  if (!apps || !st || !vs || !sq || !km_merge_llm(into, from)) { snprintf(err, errlen, "out of memory"); return -1; }
  memcpy(into->apps + into->napps, from->apps, (size_t)from->napps * sizeof *apps);
  into->napps += from->napps;
  from->napps = 0;
  for (int i = 0; i < from->nstores; i++) {
    if (km_store_named(into, from->stores[i].name)) {  /* the same store: keep one */
      ku_free(from->stores[i].name); ku_free(from->stores[i].path); ku_free(from->stores[i].url);
    } else {
      into->stores[into->nstores++] = from->stores[i];
    }
  }
  from->nstores = 0;
  for (int i = 0; i < from->nvars; i++) {
    if (km_var_find(into, from->vars[i].name, strlen(from->vars[i].name)) >= 0) {  /* the same: keep one */
      ku_free(from->vars[i].name); ku_free(from->vars[i].dflt);
    } else {
      into->vars[into->nvars++] = from->vars[i];
    }
  }
  from->nvars = 0;
  for (int i = 0; i < from->nsqldbs; i++) {
    if (km_sqldb_named(into, from->sqldbs[i].name)) {  /* the same database: keep one */
      ku_free(from->sqldbs[i].name); ku_free(from->sqldbs[i].path);
    } else {
      into->sqldbs[into->nsqldbs++] = from->sqldbs[i];
    }
  }
  from->nsqldbs = 0;
  km_manifest_free(from);
  return 0;
}
