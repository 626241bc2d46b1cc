/*
** manifest.c -- reading krait.toml into a km_manifest: the schema, its
** defaults and its checks, each error naming the file and line.
*/
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "manifest/manifest.h"
#include "manifest/toml.h"
#include "llm/llm.h"
#include "net/net.h"
#include "util/util.h"

/* The reading state: the document, the manifest's directory (and the one
** store paths are relative to), whether its paths must stay inside them
** (an artifact's), errors. */
typedef struct km_rd {
  const char *file;
  char dir[PATH_MAX];
  const char *data_dir;
  bool confined;
  const km_manifest *m;        /* its [variables], for the templates */
  char *err;
  size_t errlen;
  bool failed;
} km_rd;

/* Records the first error as "file:line: message". */
static void km_err(km_rd *r, const km_toml_value *at, const char *fmt, ...) {
  if (r->failed) return;
  r->failed = true;
  int n = snprintf(r->err, r->errlen, "%s:%u: ", r->file, at ? km_toml_line(at) : 1);
  va_list ap;
  va_start(ap, fmt);
  if (n >= 0 && (size_t)n < r->errlen) vsnprintf(r->err + n, r->errlen - (size_t)n, fmt, ap);
  va_end(ap);
}

/* Records "FILE: out of memory" as the error (unless one came first) when
** p is NULL; returns p. Every allocation of the reader goes through it, so
** running out of memory never leaves a field silently empty. */
static void *km_need(km_rd *r, void *p) {
  if (!p && !r->failed) {
    r->failed = true;
    snprintf(r->err, r->errlen, "%s: out of memory", r->file);
  }
  return p;
}

/* A malloc'ed copy of string value v (NULL and an error if not a string). */
static char *km_str(km_rd *r, const km_toml_value *v, const char *what) {
  const char *s;
  size_t n;
  if (!km_toml_string(v, &s, &n)) {
    km_err(r, v, "%s must be a string, not %s", what, km_toml_type_name(km_toml_type_of(v)));
    return NULL;
  }
  char *c = km_need(r, ku_strndup(s, n));
  if (c && strlen(c) != n) {
    km_err(r, v, "%s contains a NUL byte", what);
    ku_free(c);
    return NULL;
  }
  return c;
}

/* s for a message: at most 80 bytes, quotes, backslashes and bytes outside
** printable ASCII as escapes, into out (at least 330 bytes). */
static const char *km_show(const char *s, char *out) {
  size_t o = 0;
  for (size_t i = 0; s[i] && o < 320; i++) {
    unsigned char c = (unsigned char)s[i];
    if (i == 80) { strcpy(out + o, "..."); o += 3; break; }
    if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') o += (size_t)sprintf(out + o, "\\x%02x", c);
    else out[o++] = (char)c;
  }
  out[o] = '\0';
  return out;
}

/* Whether name is a safe name for an app or a store: 1 to 64 letters,
** digits, '_', '.' or '-', starting with a letter or digit, without "..".
** An app's name becomes the file .krait/NAME.krait, a store's the file
** .krait/NAME.db, and both appear in logs and metrics labels. */
bool km_name_ok(const char *name) {
  size_t n = strlen(name);
  if (n == 0 || n > 64 || strstr(name, "..")) return false;
  for (size_t i = 0; i < n; i++) {
    char c = name[i];
    bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!alnum && (i == 0 || (c != '_' && c != '.' && c != '-'))) return false;
  }
  return true;
}

/* Refuses an unsafe name (what: "app name", "key-value store name"). */
static void km_check_name(km_rd *r, const km_toml_value *at, const char *what, const char *name) {
  char shown[330];
  if (name && !km_name_ok(name))
    km_err(r, at, "%s \"%s\" is not allowed: use 1 to 64 letters, digits, '_', '.' or '-', "
           "starting with a letter or digit, without \"..\"", what, km_show(name, shown));
}

/* Why path p may not be in an artifact's manifest, or NULL: it must be
** relative, with no empty, "." or ".." part, so that it names something
** inside the artifact's unpacked files or the directory it is served
** from, never elsewhere on the host. */
const char *km_path_unconfined(const char *p) {
  if (!p[0]) return "is empty";
  if (p[0] == '/') return "is absolute";
  for (const char *s = p; *s;) {
    size_t c = strcspn(s, "/");
    if (c == 0) return "has an empty part (\"//\" or a trailing \"/\")";
    if (c == 2 && s[0] == '.' && s[1] == '.') return "has a \"..\" part";
    if (c == 1 && s[0] == '.') return "has a \".\" part";
    s += c;
    if (*s == '/' && !*++s) return "has an empty part (\"//\" or a trailing \"/\")";
  }
  return NULL;
}

/* In an artifact's manifest, refuses a path that could leave it (what
** names the key: "dir", "site_packages", "key_value_stores.X path"). */
static void km_check_confined(km_rd *r, const km_toml_value *at, const char *what, const char *p) {
  char shown[330];
  const char *why = r->confined && p ? km_path_unconfined(p) : NULL;
  if (why)
    km_err(r, at, "%s \"%s\" %s: an artifact's paths must stay inside it and the directory it is "
           "served from (relative, without \"..\")", what, km_show(p, shown), why);
}

/* A path made absolute against directory dir. */
static char *km_path_in(const char *dir, const char *p) {
  if (p[0] == '/') return ku_strdup(p);
  char *out = ku_malloc(strlen(dir) + strlen(p) + 2);
  if (out) sprintf(out, "%s/%s", dir, p);
  return out;
}

/* A path made absolute against the manifest's directory. */
static char *km_path(km_rd *r, const char *p) { return km_need(r, km_path_in(r->dir, p)); }

/* An array of strings into out and n; absent is fine (empty). */
static void km_strs(km_rd *r, const km_toml_value *t, const char *key, char ***out, int *n) {
  const km_toml_value *a = km_toml_get(t, key);
  *out = NULL;
  *n = 0;
  if (!a) return;
  if (km_toml_type_of(a) != KM_TOML_ARRAY) {
    km_err(r, a, "%s must be an array of strings", key);
    return;
  }
  *out = km_need(r, ku_calloc(km_toml_array_len(a) + 1, sizeof **out));
  for (size_t i = 0; *out && i < km_toml_array_len(a) && !r->failed; i++)
    (*out)[(*n)++] = km_str(r, km_toml_array_at(a, i), key);
}

/* A non-negative integer key (absent: dflt). */
static uint64_t km_uint(km_rd *r, const km_toml_value *t, const char *key, uint64_t dflt) {
  const km_toml_value *v = km_toml_get(t, key);
  int64_t x;
  if (!v) return dflt;
  if (!km_toml_int(v, &x) || x < 0) {
    km_err(r, v, "%s must be a non-negative integer", key);
    return dflt;
  }
  return (uint64_t)x;
}

/* Rejects keys of table t not in the NULL-terminated list allowed. */
static void km_known(km_rd *r, const km_toml_value *t, const char *where, const char *const *allowed) {
  for (size_t i = 0; i < km_toml_table_len(t) && !r->failed; i++) {
    const char *k;
    size_t kn;
    const km_toml_value *v = km_toml_table_at(t, i, &k, &kn);
    bool ok = false;
    for (const char *const *a = allowed; *a; a++) ok |= strlen(*a) == kn && memcmp(*a, k, kn) == 0;
    if (!ok) km_err(r, v, "unknown key \"%.*s\" in %s", (int)kn, k, where);
  }
}

static const char *const km_app_keys[] = {
  "name", "style", "module", "wsgi", "dir", "route", "routes", "site_packages",
  "key_value_stores", "sqlite_databases", "variables", "limits", "debug", "include", KO_MANIFEST_KEY,
  "ai_models", "packages", NULL
};
static const char *const km_limit_keys[] = { "timeout_ms", "fuel", "max_memory_mb", "max_disk_mb",
                                             KO_KEY_CONNS, KO_KEY_MB, NULL };

/* A limit key of lim in lo..hi (absent: dflt), refused at its line. */
static uint64_t km_uint_in(km_rd *r, const km_toml_value *lim, const char *key, uint64_t dflt, uint64_t lo,
                           uint64_t hi) {
  uint64_t v = km_uint(r, lim, key, dflt);
  if (!r->failed && (v < lo || v > hi))
    km_err(r, km_toml_get(lim, key), "%s = %llu is out of range: %llu..%llu", key, (unsigned long long)v,
           (unsigned long long)lo, (unsigned long long)hi);
  return v;
}

/* Refuses app a's [app.variables] table t when it has more than
** KM_APP_VARS_MAX entries or its templates use more secret variables. */
static void km_app_vars_limit(km_rd *r, const km_toml_value *t, const km_app *a) {
  int secrets = 0;
  for (int v = 0; !r->failed && v < r->m->nvars; v++) {
    bool used = false;
    for (int i = 0; r->m->vars[v].secret && i < a->nvars && !used; i++)
      used = km_template_uses(r->m, a->var_values[i], v);
    secrets += used;
  }
  if (!r->failed && a->nvars > KM_APP_VARS_MAX)
    km_err(r, t, "app \"%s\" has %d [app.variables] entries; at most %d", a->name, a->nvars, KM_APP_VARS_MAX);
  else if (!r->failed && secrets > KM_APP_VARS_MAX)
    km_err(r, t, "app \"%s\" uses %d secret variables in its [app.variables]; at most %d (each must be "
           "redacted from its logs)", a->name, secrets, KM_APP_VARS_MAX);
}

/* The [app.limits] and [app.variables] tables of app t. */
static void km_app_extras(km_rd *r, const km_toml_value *t, km_app *a) {
  const km_toml_value *lim = km_toml_get(t, "limits"), *vars = km_toml_get(t, "variables");
  a->timeout_ms = 30000;
  a->max_memory_mb = 256;
  a->max_disk_mb = 64;
  a->max_outbound_conns = KO_CONNS_DEFAULT;
  a->max_outbound_mb = KO_MB_DEFAULT;
  if (lim) {
    km_known(r, lim, "[app.limits]", km_limit_keys);
    a->timeout_ms = km_uint(r, lim, "timeout_ms", 30000);
    a->fuel = km_uint(r, lim, "fuel", 0);
    a->max_memory_mb = km_uint(r, lim, "max_memory_mb", 256);
    a->max_disk_mb = km_uint(r, lim, "max_disk_mb", 64);
    if (a->max_disk_mb > (UINT64_MAX >> 20)) km_err(r, km_toml_get(lim, "max_disk_mb"), "max_disk_mb is too large");
    a->max_outbound_conns = km_uint_in(r, lim, KO_KEY_CONNS, KO_CONNS_DEFAULT, 1, KO_CONNS_MAX);
    a->max_outbound_mb = km_uint_in(r, lim, KO_KEY_MB, KO_MB_DEFAULT, 1, KO_MB_MAX);
  }
  if (!vars) return;
  size_t n = km_toml_table_len(vars);
  a->var_names = km_need(r, ku_calloc(n + 1, sizeof *a->var_names));
  a->var_values = km_need(r, ku_calloc(n + 1, sizeof *a->var_values));
  for (size_t i = 0; a->var_names && a->var_values && i < n && !r->failed; i++, a->nvars++) {
    const char *k;
    size_t kn;
    const km_toml_value *v = km_toml_table_at(vars, i, &k, &kn);
    a->var_names[i] = km_need(r, ku_strndup(k, kn));
    a->var_values[i] = km_str(r, v, "a variable");
    char why[400], shown[330], tshown[330];
    if (a->var_values[i] && km_template_check(r->m, a->var_values[i], why, sizeof why))
      km_err(r, v, "app \"%s\" variable \"%s\": \"%s\" %s", a->name, km_show(a->var_names[i], shown),
             km_show(a->var_values[i], tshown), why);
  }
  km_app_vars_limit(r, vars, a);
}

/* One [variables] entry: { default = "..." } or { required = true }, and
** secret = true or false. */
static void km_read_var(km_rd *r, const km_toml_value *t, km_var *var) {
  static const char *const keys[] = { "default", "required", "secret", NULL };
  const km_toml_value *v;
  char shown[330];
  if (!km_var_name_ok(var->name))
    km_err(r, t, "variable name \"%s\" is not allowed: use lower-case letters, digits and '_', starting "
           "with a letter, without \"__\" or a trailing '_' (at most 64)", km_show(var->name, shown));
  if (km_toml_type_of(t) != KM_TOML_TABLE) {
    km_err(r, t, "variable \"%s\" must be a table: { default = \"...\" } or { required = true } "
           "(and secret = true)", var->name);
    return;
  }
  km_known(r, t, "a [variables] entry (default, required, secret)", keys);
  if ((v = km_toml_get(t, "default"))) var->dflt = km_str(r, v, "default");
  if ((v = km_toml_get(t, "required")) && !km_toml_bool(v, &var->required))
    km_err(r, v, "required must be true or false");
  if ((v = km_toml_get(t, "secret")) && !km_toml_bool(v, &var->secret))
    km_err(r, v, "secret must be true or false");
  if (!r->failed && var->secret && var->dflt)
    km_err(r, t, "variable \"%s\" is secret and has a default: a default is kept in the manifest and "
           "in every artifact built from it; make it required = true and set its value in the "
           "environment (KRAIT_VARIABLE_...) or the --variables-file", var->name);
  else if (!r->failed && var->required == (var->dflt != NULL))
    km_err(r, t, "variable \"%s\" needs %s", var->name, var->required
           ? "either required = true or a default, not both" : "a default = \"...\" or required = true");
}

/* The top-level [variables] table. */
static void km_read_vars(km_rd *r, const km_toml_value *root, km_manifest *m) {
  const km_toml_value *t = km_toml_get(root, "variables");
  if (!t) return;
  if (km_toml_type_of(t) != KM_TOML_TABLE) {
    km_err(r, t, "variables must be a table");
    return;
  }
  size_t n = km_toml_table_len(t);
  m->vars = km_need(r, ku_calloc(n + 1, sizeof *m->vars));
  for (size_t i = 0; m->vars && i < n && !r->failed; i++, m->nvars++) {
    const char *k;
    size_t kn;
    const km_toml_value *v = km_toml_table_at(t, i, &k, &kn);
    m->vars[i].name = km_need(r, ku_strndup(k, kn));
    if (m->vars[i].name && strlen(m->vars[i].name) != kn) km_err(r, v, "a variable name contains a NUL byte");
    else if (m->vars[i].name) km_read_var(r, v, &m->vars[i]);
  }
}

/* The app's allowed_outbound_hosts: each entry checked (src/net/allow.c)
** and refused at its own line. */
static void km_read_outbound(km_rd *r, const km_toml_value *t, km_app *a) {
  const km_toml_value *list = km_toml_get(t, KO_MANIFEST_KEY);
  char why[KO_ERR_SIZE];
  ko_allow allow;
  km_strs(r, t, KO_MANIFEST_KEY, &a->outbound_hosts, &a->noutbound_hosts);
  ko_allow_init(&allow, KO_FROM_MANIFEST);
  for (int i = 0; i < a->noutbound_hosts && !r->failed; i++) {
    const char *e = a->outbound_hosts[i];
    if (e && ko_allow_add(&allow, e, strlen(e), why, sizeof why) != 0)
      km_err(r, km_toml_array_at(list, (size_t)i), KO_MANIFEST_KEY " %s", why);
  }
  ko_allow_free(&allow);
}

/* The app's packages: strings naming packages (km_pkgset_name_ok), at
** most KM_PKGSET_NAMES, each refused at its own line; their set's name
** must fit KM_PKGSET_MAX. An empty list is no set (the base python.wasm). */
static void km_read_packages(km_rd *r, const km_toml_value *t, km_app *a) {
  const km_toml_value *list = km_toml_get(t, "packages");
  char shown[330], name[KM_PKGSET_MAX], why[200];
  km_strs(r, t, "packages", &a->packages, &a->npackages);
  for (int i = 0; i < a->npackages && !r->failed; i++)
    if (a->packages[i] && !km_pkgset_name_ok(a->packages[i]))
      km_err(r, km_toml_array_at(list, (size_t)i), "app \"%s\": packages entry \"%s\" is not a package name: "
             "use lowercase letters, digits, '_' and '-' (a recipe of python/packages/)", a->name,
             km_show(a->packages[i], shown));
  if (!r->failed && a->npackages > KM_PKGSET_NAMES)
    km_err(r, list, "app \"%s\": packages names %d packages; at most %d", a->name, a->npackages, KM_PKGSET_NAMES);
  else if (!r->failed && a->npackages && km_pkgset_join((const char *const *)a->packages, a->npackages, name, sizeof name,
                                                why, sizeof why) != 0)
    km_err(r, list, "app \"%s\": packages: %s", a->name, why);
}

/* One app table. */
static void km_read_app(km_rd *r, const km_toml_value *t, km_app *a, int index) {
  const km_toml_value *v;
  km_known(r, t, "[app]", km_app_keys);
  a->name = (v = km_toml_get(t, "name")) ? km_str(r, v, "name") : NULL;
  km_check_name(r, v, "app name", a->name);
  if (!a->name && !r->failed) a->name = km_need(r, ku_sprintf("app%d", index + 1));
  a->style = (v = km_toml_get(t, "style")) ? km_str(r, v, "style") : NULL;
  if (!a->style) km_err(r, t, "app \"%s\" needs style = \"spin\", \"cloudflare\" or \"wsgi\"", a->name);
  else if (strcmp(a->style, "spin") && strcmp(a->style, "cloudflare") && strcmp(a->style, "wsgi"))
    km_err(r, v, "style \"%s\" is not one of \"spin\", \"cloudflare\", \"wsgi\"", a->style);
  a->module = (v = km_toml_get(t, "module")) ? km_str(r, v, "module") : km_need(r, ku_strdup("app"));
  a->wsgi = (v = km_toml_get(t, "wsgi")) ? km_str(r, v, "wsgi") : NULL;
  if (!r->failed && !strcmp(a->style, "wsgi") && (!a->wsgi || !strchr(a->wsgi, ':')))
    km_err(r, t, "app \"%s\" (wsgi) needs wsgi = \"module:app\"", a->name);
  char *dir = (v = km_toml_get(t, "dir")) ? km_str(r, v, "dir") : km_need(r, ku_strdup("."));
  if (v) km_check_confined(r, v, "dir", dir);
  a->dir = dir ? km_path(r, dir) : NULL;
  ku_free(dir);
  km_strs(r, t, "routes", &a->routes, &a->nroutes);
  if (!a->nroutes) {
    ku_free(a->routes);
    a->routes = km_need(r, ku_calloc(2, sizeof *a->routes));
    v = km_toml_get(t, "route");
    if (a->routes) a->routes[a->nroutes++] = v ? km_str(r, v, "route") : km_need(r, ku_strdup("/..."));
  }
  km_strs(r, t, "site_packages", &a->site_packages, &a->nsite_packages);
  for (int i = 0; i < a->nsite_packages; i++) {
    km_check_confined(r, km_toml_array_at(km_toml_get(t, "site_packages"), (size_t)i), "site_packages",
                      a->site_packages[i]);
    char *abs = a->site_packages[i] ? km_path(r, a->site_packages[i]) : NULL;
    ku_free(a->site_packages[i]);
    a->site_packages[i] = abs;
  }
  km_strs(r, t, "key_value_stores", &a->stores, &a->nstores);
  km_strs(r, t, "sqlite_databases", &a->sqldbs, &a->nsqldbs);
  km_strs(r, t, "include", &a->include, &a->ninclude);
  km_strs(r, t, "ai_models", &a->ai_models, &a->nai_models);
  km_read_outbound(r, t, a);
  km_read_packages(r, t, a);
  bool debug = false;
  if ((v = km_toml_get(t, "debug")) && !km_toml_bool(v, &debug)) km_err(r, v, "debug must be true or false");
  a->debug = debug;
  km_app_extras(r, t, a);
}

/* A store's durability: "process" (the default: writes survive krait's
** death, SQLite synchronous=NORMAL) or "power" (they survive power loss,
** synchronous=FULL); anything else, or the key on a redis store (whose
** server's appendfsync decides), is refused at its line. */
static void km_read_durability(km_rd *r, const km_toml_value *s, km_store *st) {
  const km_toml_value *v = km_toml_get(s, "durability");
  char shown[330];
  if (!v || r->failed) return;
  char *d = km_str(r, v, "durability");
  if (d && st->redis)
    km_err(r, v, "durability is for sqlite stores: a redis store is as durable as the server's "
           "appendfsync makes it");
  else if (d && !strcmp(d, "power"))
    st->power = true;
  else if (d && strcmp(d, "process"))
    km_err(r, v, "durability \"%s\" is not \"process\" (writes survive krait being killed) or "
           "\"power\" (they survive power loss too, at an fsync per write)", km_show(d, shown));
  ku_free(d);
}

/* The [key_value_stores.NAME] tables. */
static void km_read_stores(km_rd *r, const km_toml_value *root, km_manifest *m) {
  static const char *const keys[] = { "backend", "path", "url", "durability", NULL };
  const km_toml_value *t = km_toml_get(root, "key_value_stores");
  if (!t) return;
  size_t n = km_toml_table_len(t);
  m->stores = km_need(r, ku_calloc(n + 1, sizeof *m->stores));
  for (size_t i = 0; m->stores && i < n && !r->failed; i++, m->nstores++) {
    const char *k;
    size_t kn;
    const km_toml_value *s = km_toml_table_at(t, i, &k, &kn), *v;
    km_store *st = &m->stores[i];
    st->name = km_need(r, ku_strndup(k, kn));
    if (st->name && strlen(st->name) != kn) km_err(r, s, "a key-value store name contains a NUL byte");
    km_check_name(r, s, "key-value store name", st->name);
    km_known(r, s, "[key_value_stores]", keys);
    char *backend = (v = km_toml_get(s, "backend")) ? km_str(r, v, "backend") : km_need(r, ku_strdup("sqlite"));
    st->redis = backend && !strcmp(backend, "redis");
    if (backend && !st->redis && strcmp(backend, "sqlite"))
      km_err(r, v, "backend \"%s\" is not \"sqlite\" or \"redis\"", backend);
    ku_free(backend);
    km_read_durability(r, s, st);
    if (st->redis) {
      st->url = (v = km_toml_get(s, "url")) ? km_str(r, v, "url") : NULL;
      if (!st->url) km_err(r, s, "store \"%s\" (redis) needs url = \"redis://host:port/db\"", st->name);
    } else {
      char *p = (v = km_toml_get(s, "path")) ? km_str(r, v, "path") : NULL, what[300];
      snprintf(what, sizeof what, "key_value_stores.%s path", st->name);
      if (v) km_check_confined(r, v, what, p);
      if (!p && !r->failed) p = km_need(r, ku_sprintf(".krait/%s.db", st->name));
      st->path = p ? km_need(r, km_path_in(r->data_dir, p)) : NULL;
      ku_free(p);
    }
  }
}

/* The [sqlite_databases.NAME] tables: path (default .krait/NAME.sqlite,
** relative to the data dir, as a key-value store's). */
static void km_read_sqldbs(km_rd *r, const km_toml_value *root, km_manifest *m) {
  static const char *const keys[] = { "path", NULL };
  const km_toml_value *t = km_toml_get(root, "sqlite_databases");
  if (!t) return;
  if (km_toml_type_of(t) != KM_TOML_TABLE) { km_err(r, t, "sqlite_databases must be tables [sqlite_databases.NAME]"); return; }
  size_t n = km_toml_table_len(t);
  m->sqldbs = km_need(r, ku_calloc(n + 1, sizeof *m->sqldbs));
  for (size_t i = 0; m->sqldbs && i < n && !r->failed; i++, m->nsqldbs++) {
    const char *k;
    size_t kn;
    const km_toml_value *s = km_toml_table_at(t, i, &k, &kn), *v;
    km_sqldb *d = &m->sqldbs[i];
    d->name = km_need(r, ku_strndup(k, kn));
    if (d->name && strlen(d->name) != kn) km_err(r, s, "a SQLite database name contains a NUL byte");
    km_check_name(r, s, "SQLite database name", d->name);
    if (!r->failed && km_toml_type_of(s) != KM_TOML_TABLE) { km_err(r, s, "[sqlite_databases.%s] must be a table", d->name); break; }
    km_known(r, s, "[sqlite_databases]", keys);
    char *p = (v = km_toml_get(s, "path")) ? km_str(r, v, "path") : NULL, what[300];
    snprintf(what, sizeof what, "sqlite_databases.%s path", d->name ? d->name : "");
    if (v) km_check_confined(r, v, what, p);
    if (!p && !r->failed) p = km_need(r, ku_sprintf(".krait/%s.sqlite", d->name));
    d->path = p ? km_need(r, km_path_in(r->data_dir, p)) : NULL;
    ku_free(p);
  }
}

bool km_model_name_ok(const char *name) {
  size_t n = strlen(name);
  if (n == 0 || n > 128) return false;
  for (size_t i = 0; i < n; i++) {
    char c = name[i];
    bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!alnum && !strchr("-_.@/:", c)) return false;
  }
  return true;
}

const km_model *km_model_find(const km_manifest *m, const char *name) {
  for (int i = 0; i < m->nmodels; i++)
    if (!strcmp(m->models[i].name, name)) return &m->models[i];
  return NULL;
}

/* The [llm] table's settings: threads, max_concurrent, max_queued, context,
** api_timeout_ms (the
** [llm.models] tables are km_read_models'). */
static void km_read_llm_cfg(km_rd *r, const km_toml_value *t, km_manifest *m) {
  static const char *const keys[] = { "threads", "max_concurrent", "max_queued", "context", "api_timeout_ms", "models", NULL };
  m->llm = (km_llm){ KL_THREADS_DEFAULT, KL_CONCURRENT_DEFAULT, KL_QUEUED_DEFAULT, KL_CONTEXT_DEFAULT,
                     KM_LLM_API_TIMEOUT_DEFAULT, t != NULL };
  if (!t) return;
  if (km_toml_type_of(t) != KM_TOML_TABLE) { km_err(r, t, "llm must be a table [llm]"); return; }
  km_known(r, t, "[llm] (threads, max_concurrent, max_queued, context, api_timeout_ms, models)", keys);
  m->llm.threads = km_uint_in(r, t, "threads", KL_THREADS_DEFAULT, 0, KM_LLM_THREADS_MAX);
  m->llm.max_concurrent = km_uint_in(r, t, "max_concurrent", KL_CONCURRENT_DEFAULT, 1, KM_LLM_CONCURRENT_MAX);
  m->llm.max_queued = km_uint_in(r, t, "max_queued", KL_QUEUED_DEFAULT, 0, KM_LLM_QUEUED_MAX);
  m->llm.context = km_uint_in(r, t, "context", KL_CONTEXT_DEFAULT, 0, KM_LLM_CONTEXT_MAX);
  m->llm.api_timeout_ms = km_uint_in(r, t, "api_timeout_ms", KM_LLM_API_TIMEOUT_DEFAULT, 1, KM_LLM_API_TIMEOUT_MAX);
}

/* A remote model's keys: url (http or https), model, api_key_variable (a
** declared [variables] entry). */
static void km_read_remote(km_rd *r, const km_toml_value *s, km_model *md) {
  const km_toml_value *v = km_toml_get(s, "url");
  char shown[330];
  md->url = km_str(r, v, "url");
  if (md->url && strncmp(md->url, "http://", 7) && strncmp(md->url, "https://", 8))
    km_err(r, v, "[llm.models.%s] url \"%s\" must start with http:// or https:// (an OpenAI-compatible "
           "server's base URL, e.g. http://127.0.0.1:8080/v1)", md->name, km_show(md->url, shown));
  if (!(v = km_toml_get(s, "model")) && !r->failed)
    km_err(r, s, "[llm.models.%s] has url but no model = \"...\" (the server's name for the model)", md->name);
  else if (v) md->model = km_str(r, v, "model");
  if ((v = km_toml_get(s, "api_key_variable")) && !r->failed) {
    md->api_key_variable = km_str(r, v, "api_key_variable");
    if (md->api_key_variable && km_var_find(r->m, md->api_key_variable, strlen(md->api_key_variable)) < 0)
      km_err(r, v, "[llm.models.%s] api_key_variable \"%s\" is not declared in [variables] (declare it "
             "with { required = true, secret = true })", md->name, km_show(md->api_key_variable, shown));
  }
}

/* A local model's path: relative to the manifest (to the serve directory
** in an artifact's, which does not hold the file). */
static void km_read_local(km_rd *r, const km_toml_value *s, km_model *md) {
  const km_toml_value *v = km_toml_get(s, "path");
  char what[300];
  char *p = km_str(r, v, "path");
  snprintf(what, sizeof what, "llm.models.%s path", md->name);
  km_check_confined(r, v, what, p);
  if (p && !r->failed) md->path = km_need(r, km_path_in(r->confined ? r->data_dir : r->dir, p));
  ku_free(p);
  if (!r->failed && (km_toml_get(s, "model") || km_toml_get(s, "api_key_variable")))
    km_err(r, km_toml_get(s, "model") ? km_toml_get(s, "model") : km_toml_get(s, "api_key_variable"),
           "[llm.models.%s] is a local file (path): model and api_key_variable are for a server (url)", md->name);
}

/* One [llm.models.NAME] table: exactly one of path and url. */
static void km_read_model(km_rd *r, const km_toml_value *s, km_model *md) {
  static const char *const keys[] = { "path", "url", "model", "api_key_variable", NULL };
  char shown[330];
  if (!km_model_name_ok(md->name))
    km_err(r, s, "model name \"%s\" is not allowed: use 1 to 128 letters, digits, '-', '_', '.', '@', "
           "'/' or ':'", km_show(md->name, shown));
  if (!r->failed && km_toml_type_of(s) != KM_TOML_TABLE) {
    km_err(r, s, "[llm.models.%s] must be a table", md->name);
    return;
  }
  km_known(r, s, "[llm.models] (path, or url, model and api_key_variable)", keys);
  bool path = km_toml_get(s, "path") != NULL, url = km_toml_get(s, "url") != NULL;
  if (!r->failed && path == url)
    km_err(r, s, "[llm.models.%s] needs %s", md->name, path ? "either path or url, not both"
           : "path = \"models/x.gguf\" (a local GGUF file) or url = \"http://host:port/v1\" (a server)");
  else if (!r->failed && path) km_read_local(r, s, md);
  else if (!r->failed) km_read_remote(r, s, md);
}

/* The [llm] table and its [llm.models.NAME] tables. */
static void km_read_llm(km_rd *r, const km_toml_value *root, km_manifest *m) {
  const km_toml_value *t = km_toml_get(root, "llm");
  km_read_llm_cfg(r, t, m);
  const km_toml_value *ms = t && !r->failed ? km_toml_get(t, "models") : NULL;
  if (!ms) return;
  if (km_toml_type_of(ms) != KM_TOML_TABLE) { km_err(r, ms, "llm.models must be tables [llm.models.NAME]"); return; }
  size_t n = km_toml_table_len(ms);
  m->models = km_need(r, ku_calloc(n + 1, sizeof *m->models));
  for (size_t i = 0; m->models && i < n && !r->failed; i++, m->nmodels++) {
    const char *k;
    size_t kn;
    const km_toml_value *s = km_toml_table_at(ms, i, &k, &kn);
    m->models[i].name = km_need(r, ku_strndup(k, kn));
    if (m->models[i].name && strlen(m->models[i].name) != kn) km_err(r, s, "a model name contains a NUL byte");
    else if (m->models[i].name) km_read_model(r, s, &m->models[i]);
  }
}

/* Every app's ai_models entry is an [llm.models] table; the error is at
** the entry's line. */
static void km_check_models(km_rd *r, km_manifest *m, const km_toml_value *root) {
  const km_toml_value *apps = km_toml_get(root, "app");
  bool many = apps && km_toml_type_of(apps) == KM_TOML_ARRAY;
  char shown[330];
  for (int a = 0; a < m->napps && !r->failed; a++) {
    const km_toml_value *at = many ? km_toml_array_at(apps, (size_t)a) : apps;
    const km_toml_value *list = at ? km_toml_get(at, "ai_models") : NULL;
    for (int i = 0; i < m->apps[a].nai_models && !r->failed; i++)
      if (!km_model_find(m, m->apps[a].ai_models[i]))
        km_err(r, list ? km_toml_array_at(list, (size_t)i) : root, "app \"%s\" is granted model \"%s\" "
               "(ai_models), which no [llm.models.\"%s\"] table declares (path = \"models/x.gguf\", or url "
               "and model)", m->apps[a].name, km_show(m->apps[a].ai_models[i], shown), shown);
  }
}

/* Every app's sqlite_databases entry is declared, except "default" (a
** file .krait/default.sqlite under the data dir); the error is at the
** entry's line. */
static void km_check_sqldbs(km_rd *r, km_manifest *m, const km_toml_value *root) {
  const km_toml_value *apps = km_toml_get(root, "app");
  bool many = apps && km_toml_type_of(apps) == KM_TOML_ARRAY;
  for (int a = 0; a < m->napps && !r->failed; a++) {
    const km_toml_value *at = many ? km_toml_array_at(apps, (size_t)a) : apps;
    const km_toml_value *list = at ? km_toml_get(at, "sqlite_databases") : NULL;
    for (int s = 0; s < m->apps[a].nsqldbs && !r->failed; s++) {
      const char *want = m->apps[a].sqldbs[s];
      bool found = false;
      for (int k = 0; k < m->nsqldbs; k++) found |= !strcmp(m->sqldbs[k].name, want);
      if (found) continue;
      if (strcmp(want, "default")) {
        km_err(r, list ? km_toml_array_at(list, (size_t)s) : root, "app \"%s\" is granted SQLite "
               "database \"%s\", which no [sqlite_databases.%s] table declares (path = \"...\")",
               m->apps[a].name, want, want);
        return;
      }
      km_sqldb *grown = km_need(r, ku_realloc(m->sqldbs, (size_t)(m->nsqldbs + 1) * sizeof *m->sqldbs));
      if (!grown) return;
      m->sqldbs = grown;
      m->sqldbs[m->nsqldbs].name = km_need(r, ku_strdup("default"));
      m->sqldbs[m->nsqldbs++].path = km_need(r, km_path_in(r->data_dir, ".krait/default.sqlite"));
    }
  }
}

/* Every granted store is declared, except "default", which gets a SQLite
** file .krait/default.db; every route has one app. */
static void km_check(km_rd *r, km_manifest *m, const km_toml_value *root) {
  for (int a = 0; a < m->napps && !r->failed; a++)
    for (int s = 0; s < m->apps[a].nstores && !r->failed; s++) {
      bool found = false;
      for (int k = 0; k < m->nstores; k++) found |= !strcmp(m->stores[k].name, m->apps[a].stores[s]);
      if (!found && !strcmp(m->apps[a].stores[s], "default")) {
        km_store *grown = km_need(r, ku_realloc(m->stores, (size_t)(m->nstores + 1) * sizeof *m->stores));
        if (!grown) return;
        m->stores = grown;
        memset(&m->stores[m->nstores], 0, sizeof *m->stores);
        m->stores[m->nstores].name = km_need(r, ku_strdup("default"));
        m->stores[m->nstores++].path = km_need(r, km_path_in(r->data_dir, ".krait/default.db"));
      } else if (!found) {
        km_err(r, root, "app \"%s\" is granted key-value store \"%s\", which no "
               "[key_value_stores.%s] table declares", m->apps[a].name, m->apps[a].stores[s],
               m->apps[a].stores[s]);
      }
    }
  for (int a = 0; a < m->napps; a++)
    for (int i = 0; i < m->apps[a].nroutes; i++)
      for (int b = 0; b <= a && !r->failed; b++)
        for (int j = 0; j < (b == a ? i : m->apps[b].nroutes); j++)
          if (!strcmp(m->apps[a].routes[i], m->apps[b].routes[j]))
            km_err(r, root, "route \"%s\" is claimed by apps \"%s\" and \"%s\"",
                   m->apps[a].routes[i], m->apps[b].name, m->apps[a].name);
}

/* Reads the apps: [app] (one) or [[app]] (several). */
static void km_read_apps(km_rd *r, const km_toml_value *root, km_manifest *m) {
  const km_toml_value *apps = km_toml_get(root, "app");
  if (!apps) {
    km_err(r, root, "no [app] table: krait.toml must declare at least one app");
    return;
  }
  bool many = km_toml_type_of(apps) == KM_TOML_ARRAY;
  size_t n = many ? km_toml_array_len(apps) : 1;
  m->apps = km_need(r, ku_calloc(n + 1, sizeof *m->apps));
  for (size_t i = 0; m->apps && i < n && !r->failed; i++, m->napps++)
    km_read_app(r, many ? km_toml_array_at(apps, i) : apps, &m->apps[i], (int)i);
}

km_manifest *km_manifest_load(const char *path, char *err, size_t errlen) {
  char real[PATH_MAX];
  FILE *f = fopen(path, "rb");
  if (!f || !realpath(path, real)) {
    snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
    if (f) fclose(f);
    return NULL;
  }
  char *buf = ku_malloc(1 << 20);
  size_t n = buf ? fread(buf, 1, 1 << 20, f) : 0;
  fclose(f);
  km_manifest *m = NULL;
  if (!buf) snprintf(err, errlen, "out of memory");
  else if (n >= (1 << 20)) snprintf(err, errlen, "%s: krait.toml is over 1 MiB", path);
  else m = km_manifest_parse(buf, n, real, NULL, err, errlen);
  ku_free(buf);
  return m;
}

km_manifest *km_manifest_read(const char *text, size_t n, const km_source *src, char *err,
                              size_t errlen) {
  km_rd r = { .file = src->label, .confined = src->confined, .err = err, .errlen = errlen };
  km_toml_error te;
  km_toml_doc *doc = km_toml_parse(text, n, src->label, &te);
  if (!doc) {
    snprintf(err, errlen, "%s", te.message);
    return NULL;
  }
  km_manifest *m = ku_calloc(1, sizeof *m);
  snprintf(r.dir, sizeof r.dir, "%s", src->dir);
  r.data_dir = src->data_dir ? src->data_dir : r.dir;
  if (m) {
    m->path = km_need(&r, ku_malloc(strlen(r.dir) + 16));
    if (m->path) sprintf(m->path, "%s/krait.toml", r.dir);
    const km_toml_value *root = km_toml_root(doc);
    static const char *const top[] = { "app", "key_value_stores", "sqlite_databases", "variables", "llm", NULL };
    km_known(&r, root, "krait.toml", top);
    r.m = m;
    km_read_vars(&r, root, m);
    km_read_apps(&r, root, m);
    km_read_stores(&r, root, m);
    if (!r.failed) km_read_sqldbs(&r, root, m);
    if (!r.failed) km_check(&r, m, root);
    if (!r.failed) km_check_sqldbs(&r, m, root);
    if (!r.failed) km_read_llm(&r, root, m);
    if (!r.failed) km_check_models(&r, m, root);
  }
  km_toml_free(doc);
  if (!m || r.failed) {
    if (!m) snprintf(err, errlen, "out of memory");
    km_manifest_free(m);
    return NULL;
  }
  return m;
}

km_manifest *km_manifest_parse(const char *text, size_t n, const char *path, const char *data_dir,
                               char *err, size_t errlen) {
  char dir[PATH_MAX];
  snprintf(dir, sizeof dir, "%s", path);
  char *slash = strrchr(dir, '/');
  if (slash) *slash = '\0';
  else strcpy(dir, ".");
  km_source src = { path, dir, data_dir, false };
  km_manifest *m = km_manifest_read(text, n, &src, err, errlen);
  if (m) {
    ku_free(m->path);
    if (!(m->path = ku_strdup(path))) {
      km_manifest_free(m);
      snprintf(err, errlen, "out of memory");
      return NULL;
    }
  }
  return m;
}

/* Frees an array of n strings. */
static void km_free_strs(char **s, int n) {
  for (int i = 0; s && i < n; i++) ku_free(s[i]);
  ku_free(s);
}

void km_manifest_free(km_manifest *m) {
  if (!m) return;
  for (int i = 0; m->apps && i < m->napps; i++) {
    km_app *a = &m->apps[i];
    ku_free(a->name); ku_free(a->style); ku_free(a->module); ku_free(a->wsgi); ku_free(a->dir);
    km_free_strs(a->routes, a->nroutes);
    km_free_strs(a->site_packages, a->nsite_packages);
    km_free_strs(a->include, a->ninclude);
    km_free_strs(a->stores, a->nstores);
    km_free_strs(a->outbound_hosts, a->noutbound_hosts);
    km_free_strs(a->sqldbs, a->nsqldbs);
    km_free_strs(a->ai_models, a->nai_models);
    km_free_strs(a->packages, a->npackages);
    km_free_strs(a->var_names, a->nvars);
    km_free_strs(a->var_values, a->nvars);
  }
  for (int i = 0; m->stores && i < m->nstores; i++) {
    ku_free(m->stores[i].name); ku_free(m->stores[i].path); ku_free(m->stores[i].url);
  }
  for (int i = 0; m->vars && i < m->nvars; i++) { ku_free(m->vars[i].name); ku_free(m->vars[i].dflt); }
  ku_free(m->vars);
  for (int i = 0; m->sqldbs && i < m->nsqldbs; i++) { ku_free(m->sqldbs[i].name); ku_free(m->sqldbs[i].path); }
  ku_free(m->sqldbs);
  for (int i = 0; m->models && i < m->nmodels; i++) {
    km_model *d = &m->models[i];
    ku_free(d->name); ku_free(d->path); ku_free(d->url); ku_free(d->model); ku_free(d->api_key_variable);
  }
  ku_free(m->models);
  ku_free(m->apps);
  ku_free(m->stores);
  ku_free(m->path);
  ku_free(m);
}
