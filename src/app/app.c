/*
** app.c -- booting a Python app into a snapshot (krait_init) and handling
** each request in a fresh copy-on-write instance from it (krait_handle).
** Owns the guest's WASI view and limits; not the imports (imports.c).
*/
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>

#include "app/app_internal.h"
#include "aot/aot.h"
#include "platform/platform.h"
#include "util/util.h"

/* Where the guest sees things (python/c and src/cli/python.c agree). */
#define KA_PROGRAM "/usr/local/bin/python3.11"
#define KA_STDLIB "/usr/local/lib/python3.11"
#define KA_SDK "/krait/sdk"
#define KA_APP "/app"
#define KA_SITE "/krait/site-packages/"   /* then N, in the manifest's order */
#define KA_PKGSET "/krait/packages"     /* a package set's site-packages */

/* The monotonic clock (kp_monotonic_ns: the one ka_request.arrival_ns uses). */
static uint64_t ka_now(void) { return kp_monotonic_ns(); }

/* Formats a message into err; returns NULL (for the boot's failures). */
static void *ka_fail(char *err, size_t n, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err, n, fmt, ap);
  va_end(ap);
  return NULL;
}

/* Appends a read-only preopen; false when out of memory (host NULL: a
** copy that already failed). */
static bool ka_dir(ka_app *a, const char *host, const char *guest) {
  krait_wasi_preopen *d = &a->dirs[a->ndirs++];
  d->host_path = host ? ku_strdup(host) : NULL;
  d->guest_path = ku_strdup(guest);
  d->read_only = 1;
  return d->host_path && d->guest_path;
}

/* The guest's view: stdlib, python.wasm as sys.executable, the SDK, the
** app, its package set's site-packages and its own site-packages, all
** read-only; PYTHONPATH for the last four. Guest paths never depend on
** host paths, so a snapshot moves with its artifact. */
static bool ka_view(ka_app *a, const ka_app_config *cfg) {
  a->dirs = ku_calloc((size_t)cfg->nsite_packages + 5, sizeof *a->dirs);
  a->envp = ku_calloc(4, sizeof *a->envp);
  if (!a->dirs || !a->envp) return false;
  char *lib = ku_sprintf("%s/lib/python3.11", cfg->python_home);
  char *bin = ku_sprintf("%s/bin", cfg->python_home);
  bool ok = ka_dir(a, lib, KA_STDLIB) && ka_dir(a, bin, "/usr/local/bin") &&
            ka_dir(a, cfg->sdk_dir, KA_SDK) && ka_dir(a, cfg->app_dir, KA_APP);
  ku_free(lib);
  ku_free(bin);
  size_t plen = 96 + (size_t)cfg->nsite_packages * 32;
  char *pp = ok ? ku_malloc(plen) : NULL;
  if (!pp) return false;
  strcpy(pp, "PYTHONPATH=" KA_APP ":" KA_SDK);
  if (cfg->pkgset_site) {
    ok = ka_dir(a, cfg->pkgset_site, KA_PKGSET);
    strcat(pp, ":" KA_PKGSET);
  }
  for (int i = 0; i < cfg->nsite_packages; i++) {
    char guest[64];
    snprintf(guest, sizeof guest, KA_SITE "%d", i);
    if (!ka_dir(a, cfg->site_packages[i], guest)) ok = false;
    strcat(pp, ":");
    strcat(pp, guest);
  }
  a->envp[a->envc++] = pp;
  return (a->envp[a->envc++] = ku_strdup("PYTHONDONTWRITEBYTECODE=1")) && ok;
}

/* The length of the valid UTF-8 sequence of 2 to 4 bytes at c (a
** NUL-terminated string), or 0. */
static size_t ka_utf8_seq(const unsigned char *c) {
  size_t len = *c >= 0xc2 && *c <= 0xdf ? 2 : *c >= 0xe0 && *c <= 0xef ? 3 : *c >= 0xf0 && *c <= 0xf4 ? 4 : 0;
  for (size_t k = 1; k < len; k++)
    if (!c[k]) return 0;
  return len && ku_utf8_valid(c, len) ? len : 0;
}

/* s as a JSON string at o: valid UTF-8 as it is (an app variable key
** like "cl\u00e9" reaches Python unchanged), control characters, DEL,
** '"', '\\' and bytes of invalid UTF-8 as \u00XX (at most 6 bytes per
** byte of s, plus 2); the end. */
static char *ka_json_str(char *o, const char *s) {
  *o++ = '"';
  for (const unsigned char *c = (const unsigned char *)s; *c;) {
    size_t len = *c >= 0x80 ? ka_utf8_seq(c) : 0;
    if (len) {
      memcpy(o, c, len);
      o += len;
      c += len;
      continue;
    }
    o += *c < 0x20 || *c >= 0x7f || *c == '"' || *c == '\\' ? sprintf(o, "\\u%04x", *c) : sprintf(o, "%c", *c);
    c++;
  }
  *o++ = '"';
  *o = '\0';
  return o;
}

/* ", \"secrets\": [[KEY, SHAPE], ...]": the app variables whose values
** hold a secret, and where in the value (ka_var.shape, or null), for the
** SDK to redact from debug tracebacks; "" when none do. malloc'ed. */
static char *ka_secret_keys_json(const ka_app_config *cfg) {
  size_t n = 32;
  for (int i = 0; i < cfg->nvars; i++)
    if (cfg->vars[i].secret)
      n += 6 * (strlen(cfg->vars[i].name) + (cfg->vars[i].shape ? strlen(cfg->vars[i].shape) : 0)) + 16;
  char *out = ku_calloc(1, n), *o = out;
  bool any = false;
  for (int i = 0; out && i < cfg->nvars; i++) {
    if (!cfg->vars[i].secret) continue;
    o += sprintf(o, "%s[", any ? ", " : ", \"secrets\": [");
    any = true;
    o = ka_json_str(o, cfg->vars[i].name);
    o = cfg->vars[i].shape ? ka_json_str(stpcpy(o, ", "), cfg->vars[i].shape) : stpcpy(o, ", null");
    *o++ = ']';
  }
  if (out && any) strcpy(o, "]");
  return out;
}

/* The JSON _krait.config() returns (store names are plain identifiers). */
static char *ka_config_json(const ka_app_config *cfg) {
  size_t n = 256;
  for (int i = 0; i < cfg->nstores; i++) n += strlen(cfg->stores[i].name) + 4;
  for (int i = 0; i < cfg->nsqlite; i++) n += strlen(cfg->sqlite[i].name) + 4;
  for (int i = 0; i < cfg->llm.ngranted; i++) n += strlen(cfg->llm.granted[i]) + 4;
  char *kv = ku_calloc(1, n), *sql = ku_calloc(1, n), *ai = ku_calloc(1, n), *secrets = ka_secret_keys_json(cfg);
  if (!kv || !sql || !ai || !secrets) {
    ku_free(kv);
    ku_free(sql);
    ku_free(ai);
    ku_free(secrets);
    return NULL;
  }
  /* "ai": the granted models (names have no '"' or '\\'), only when there
  ** are some, so that other apps' config, and build keys, stay as they were */
  for (int i = 0; i < cfg->llm.ngranted; i++) {
    strcat(ai, i ? ",\"" : "\"");
    strcat(ai, cfg->llm.granted[i]);
    strcat(ai, "\"");
  }
  for (int i = 0; i < cfg->nstores; i++) {
    strcat(kv, i ? ",\"" : "\"");
    strcat(kv, cfg->stores[i].name);
    strcat(kv, "\"");
  }
  for (int i = 0; i < cfg->nsqlite; i++) {
    strcat(sql, i ? ",\"" : "\"");
    strcat(sql, cfg->sqlite[i].name);
    strcat(sql, "\"");
  }
  char *json = ku_sprintf("{\"name\": \"%s\", \"style\": \"%s\", \"module\": \"%s\", "
                      "\"wsgi\": \"%s\", \"kv\": [%s], \"sqlite\": [%s], \"outbound\": %s, "
                      "%s%s%s\"debug\": %s%s}",
                      cfg->name, cfg->style, cfg->module ? cfg->module : "",
                      cfg->wsgi ? cfg->wsgi : "", kv, sql, cfg->noutbound ? "true" : "false",
                      ai[0] ? "\"ai\": [" : "", ai, ai[0] ? "], " : "",
                      cfg->debug ? "true" : "false", secrets);
  ku_free(ai);
  ku_free(kv);
  ku_free(sql);
  ku_free(secrets);
  return json;
}

/* Copies grants and variables from cfg. */
static bool ka_copy_bindings(ka_app *a, const ka_app_config *cfg) {
  a->grants = ku_calloc((size_t)cfg->nstores + 1, sizeof *a->grants);
  a->vars = ku_calloc((size_t)cfg->nvars + 1, sizeof *a->vars);
  a->secrets = ku_calloc((size_t)cfg->nsecrets + 1, sizeof *a->secrets);
  if (!a->grants || !a->vars || !a->secrets) return false;
  bool ok = true;
  for (int i = 0; i < cfg->nsecrets; i++, a->nsecrets++)
    if (!(a->secrets[i] = ku_strdup(cfg->secrets[i]))) ok = false;
  for (int i = 0; i < cfg->nstores; i++, a->ngrants++) {
    if (!(a->grants[i].name = ku_strdup(cfg->stores[i].name))) ok = false;
    a->grants[i].store = cfg->stores[i].store;
  }
  if (!(a->sqldbs = ku_calloc((size_t)cfg->nsqlite + 1, sizeof *a->sqldbs))) return false;
  for (int i = 0; i < cfg->nsqlite; i++, a->nsqldbs++) {
    pthread_mutex_init(&a->sqldbs[i].lock, NULL);
    a->sqldbs[i].name = ku_strdup(cfg->sqlite[i].name);
    a->sqldbs[i].path = ku_strdup(cfg->sqlite[i].path);
    if (!a->sqldbs[i].name || !a->sqldbs[i].path) ok = false;
  }
  ko_allow_init(&a->outbound, KO_FROM_MANIFEST);
  for (int i = 0; i < cfg->noutbound && ok; i++) {  /* checked by the manifest: */
    char err[KO_ERR_SIZE];                          /* fails only out of memory */
    const char *e = cfg->outbound[i];
    if (ko_allow_add(&a->outbound, e, strlen(e), err, sizeof err) != 0) ok = false;
  }
  for (int i = 0; i < cfg->nvars; i++, a->nvars++) {
    const ka_var *v = &cfg->vars[i];
    const char *tmpl = v->template ? v->template : v->value;
    a->vars[i] = (ka_var){ ku_strdup(v->name), v->value ? ku_strdup(v->value) : NULL,
                           tmpl ? ku_strdup(tmpl) : NULL, v->secret, NULL };
    if (!a->vars[i].name || (v->value && !a->vars[i].value) || (tmpl && !a->vars[i].template)) ok = false;
  }
  return ka_llm_copy(&a->llm, &cfg->llm) && ok;
}

/* A store and linker for one instance of the app, with WASI and the
** "krait" imports; its data is ctx. */
static krait_linker *ka_linker(ka_app *a, ka_ctx *ctx, krait_store **store) {
  const char *argv[] = { KA_PROGRAM };
  int out = fileno(a->log);
  krait_wasi_config wc = { 1, argv, a->envc, a->envp, a->null_fd, out, out, a->ndirs, a->dirs,
                           a->max_disk };
  *store = krait_store_new(a->engine);
  krait_linker *l = *store ? krait_linker_new(*store) : NULL;
  if (!l) return NULL;
  krait_store_set_data(*store, ctx);
  krait_store_set_max_memory(*store, a->max_memory);
  if (krait_wasi_define(l, &wc) != 0 || ka_define_imports(l, a) != 0) {
    krait_linker_free(l);
    return NULL;
  }
  return l;
}

/* Calls export name (() -> i32) of inst; its result, or -1 with err. */
static int ka_call(krait_store *s, krait_instance *inst, const char *name, krait_error *err) {
  krait_extern ext;
  krait_val res;
  if (krait_instance_export(inst, name, &ext) != 0 || ext.kind != KRAIT_EXTERN_FUNC) {
    err->kind = KRAIT_ERR_LINK;
    ku_fmt(err->message, sizeof err->message, "python.wasm exports no %s", name);
    return -1;
  }
  if (krait_func_call(s, ext.of.func, NULL, 0, &res, 1, err) != 0) return -1;
  return res.of.i32;
}

/* krait_handle without wasm-ld's constructor wrapper (krait_abi.h:
** krait_handle_direct), or NULL when python.wasm does not offer it. */
static krait_func *ka_handle_direct(krait_instance *in) {
  krait_extern g, t, m;
  krait_val idx;
  if (krait_instance_export(in, "krait_handle_direct", &g) != 0 || g.kind != KRAIT_EXTERN_GLOBAL ||
      krait_instance_export(in, "__indirect_function_table", &t) != 0 ||
      t.kind != KRAIT_EXTERN_TABLE || krait_instance_export(in, "memory", &m) != 0 ||
      m.kind != KRAIT_EXTERN_MEMORY)
    return NULL;
  uint32_t at = (uint32_t)krait_global_get(g.of.global).of.i32, i;
  if ((uint64_t)at + 4 > krait_memory_size(m.of.memory)) return NULL;
  memcpy(&i, krait_memory_data(m.of.memory) + at, 4);
  if (krait_table_get(t.of.table, i, &idx) != 0 || !idx.of.ref) return NULL;
  krait_func *f = idx.of.ref;
  return strcmp(krait_func_signature(f), ":i") == 0 ? f : NULL;
}

/* Runs one request's krait_handle in inst: directly when it can. */
static int ka_call_handle(krait_store *s, krait_instance *in, krait_error *err) {
  krait_func *f = ka_handle_direct(in);
  krait_val res;
  if (!f) return ka_call(s, in, "krait_handle", err);
  if (krait_func_call(s, f, NULL, 0, &res, 1, err) != 0) return -1;
  return res.of.i32;
}

/* Boots the app in its own store: instantiate, krait_init, snapshot. */
static bool ka_boot_instance(ka_app *a, char *err, size_t errlen) {
  ka_ctx ctx = { .app = a };
  krait_store *s = NULL;
  krait_error e;
  krait_linker *l = ka_linker(a, &ctx, &s);
  krait_instance *in = l ? krait_instantiate(l, a->module, &e) : NULL;
  bool ok = false;
  if (!l) ka_fail(err, errlen, "app %s: cannot set up its sandbox: %s", a->name, strerror(errno));
  else if (!in) ka_fail(err, errlen, "app %s: %s", a->name, e.message);
  else if (ka_call(s, in, "krait_init", &e) != 0)
    ka_fail(err, errlen, "app %s: booting failed (%s; see the log above)", a->name,
            e.kind ? e.message : "the Python error");
  else if (!(a->snap = krait_snapshot_take(in, &e)))
    ka_fail(err, errlen, "app %s: %s", a->name, e.message);
  else
    ok = true;
  if (l) krait_linker_free(l);
  if (s) krait_store_free(s);
  return ok;
}

/* python.wasm loaded once per file for all the apps of a process: one
** engine and module (decoded functions, lowered code) shared by every app
** that uses the same file; each app's memory cap is set on its stores. */
typedef struct ka_shared {
  char *path;                  /* realpath of python.wasm */
  struct stat sb;              /* size and mtime when loaded */
  krait_tier tier;             /* the engine's tier */
  krait_engine *engine;
  krait_module *module;
  int refs;
  struct ka_shared *next;
} ka_shared;

static ka_shared *ka_shared_list;
static pthread_mutex_t ka_shared_lock = PTHREAD_MUTEX_INITIALIZER;

/* Reads and decodes path into a new shared entry whose engine runs on
** tier; NULL with err. */
static ka_shared *ka_shared_load(const char *path, const struct stat *sb, krait_tier tier, char *err,
                                 size_t errlen) {
  ka_shared *sh = ku_calloc(1, sizeof *sh);
  FILE *f = sh ? fopen(path, "rb") : NULL;
  uint8_t *bytes = f && sb->st_size > 0 ? ku_malloc((size_t)sb->st_size) : NULL;
  bool read = bytes && fread(bytes, 1, (size_t)sb->st_size, f) == (size_t)sb->st_size;
  int e0 = errno;
  if (f) fclose(f);
  krait_error e = { 0 };
  krait_config kc;
  krait_config_default(&kc);
  kc.tier = tier;
  if (read) sh->engine = krait_engine_new(&kc, &e);
  if (sh && sh->engine) sh->module = krait_module_new(sh->engine, bytes, (size_t)sb->st_size, &e);
  ku_free(bytes);
  if (sh && sh->module && (sh->path = ku_strdup(path))) {
    sh->sb = *sb;
    sh->tier = tier;
    return sh;
  }
  ka_fail(err, errlen, "cannot load %s: %s", path,
          !sh || (sh->module && !sh->path) ? "out of memory" : read ? e.message : strerror(e0));
  if (sh && sh->module) krait_module_free(sh->module);
  if (sh && sh->engine) krait_engine_free(sh->engine);
  ku_free(sh);
  return NULL;
}

/* The shared python.wasm of cfg->python_home (loaded or reused) into a. */
static bool ka_load(ka_app *a, const ka_app_config *cfg, char *err, size_t errlen) {
  char *given = ku_sprintf("%s/python.wasm", cfg->python_home), *path = given ? ku_realpath(given) : NULL;
  struct stat sb;
  if (!path || stat(path, &sb) != 0) {
    ka_fail(err, errlen, "cannot load %s: %s", given ? given : "python.wasm", strerror(errno));
    ku_free(given);
    ku_free(path);
    return false;
  }
  pthread_mutex_lock(&ka_shared_lock);
  ka_shared *sh = ka_shared_list;
  while (sh && (strcmp(sh->path, path) || sh->tier != cfg->tier || sh->sb.st_size != sb.st_size ||
                sh->sb.st_mtim.tv_sec != sb.st_mtim.tv_sec || sh->sb.st_mtim.tv_nsec != sb.st_mtim.tv_nsec))
    sh = sh->next;
  if (!sh && (sh = ka_shared_load(path, &sb, cfg->tier, err, errlen))) {
    sh->next = ka_shared_list;
    ka_shared_list = sh;
  }
  if (sh) sh->refs++;
  pthread_mutex_unlock(&ka_shared_lock);
  ku_free(given);
  ku_free(path);
  a->shared = sh;
  a->engine = sh ? sh->engine : NULL;
  a->module = sh ? sh->module : NULL;
  return sh != NULL;
}

/* Drops a's reference to its python.wasm; the last one frees it. */
static void ka_unload(ka_app *a) {
  ka_shared *sh = a->shared, **p;
  if (!sh) return;
  pthread_mutex_lock(&ka_shared_lock);
  if (--sh->refs == 0) {
    for (p = &ka_shared_list; *p != sh; p = &(*p)->next) {}
    *p = sh->next;
    krait_module_free(sh->module);
    krait_engine_free(sh->engine);
    ku_free(sh->path);
    ku_free(sh);
  }
  pthread_mutex_unlock(&ka_shared_lock);
}

ka_app *ka_app_boot(const ka_app_config *cfg, char *err, size_t errlen) {
  ka_app *a = ku_calloc(1, sizeof *a);
  if (!a) return ka_fail(err, errlen, "out of memory");
  if (!(a->name = ku_strdup(cfg->name))) {
    ku_free(a);
    return ka_fail(err, errlen, "app %s: out of memory", cfg->name);
  }
  a->log = cfg->log ? cfg->log : stderr;
  a->timeout_ns = cfg->timeout_ns;
  a->max_out_conns = cfg->max_outbound_conns ? cfg->max_outbound_conns : KO_CONNS_DEFAULT;
  a->max_out_bytes = cfg->max_outbound_bytes ? cfg->max_outbound_bytes : (uint64_t)KO_MB_DEFAULT << 20;
  a->fuel = cfg->fuel;
  a->debug = cfg->debug;
  a->null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  a->config_json = ka_config_json(cfg);
  a->max_memory = cfg->max_memory;
  a->max_disk = cfg->max_disk;
  bool ready = a->null_fd >= 0 && a->config_json && ka_view(a, cfg) &&
               ka_copy_bindings(a, cfg) && ka_load(a, cfg, err, errlen);
  if (ready) {
    ka_build_key(a, cfg);  /* needs the view: it covers the WASI layout */
    int built = ka_try_snapshot(a, cfg, err, errlen);
    if (built == -2 && cfg->rebuild_stale) {   /* booted afresh instead */
      built = 0;
      err[0] = '\0';
    } else {
      a->stale = NULL;
    }
    ready = built > 0 || (built == 0 && ka_boot_instance(a, err, errlen));
  }
  if (!ready) {
    if (!err[0]) ka_fail(err, errlen, "app %s: cannot boot: %s", cfg->name, strerror(errno));
    ka_app_free(a);
    return NULL;
  }
  return a;
}

/* Fills resp with a plain-text error answer. */
static void ka_error_response(ka_response *r, int status, ka_outcome why, const char *text) {
  ku_free(r->gathered);
  r->gathered = NULL;
  ku_free(r->raw);
  ku_free(r->headers);
  r->raw = (uint8_t *)ku_strdup(text);
  r->headers = ku_calloc(1, sizeof *r->headers);
  r->status = status;
  r->outcome = why;
  r->nheaders = 0;
  r->body = r->raw;
  r->body_len = r->raw ? strlen(text) : 0;
}

/* Maps a failed krait_handle call to the answer the client gets. */
static void ka_failed(ka_app *a, const krait_error *e, ka_response *r) {
  if (e->kind == KRAIT_ERR_TRAP && e->trap == KRAIT_TRAP_DEADLINE) {
    fprintf(a->log, "[%s] request timed out: %s\n", a->name, e->message);
    ka_error_response(r, 504, KA_TIMEOUT, "504 Gateway Timeout: the app took too long\n");
  } else if (e->kind == KRAIT_ERR_TRAP) {
    fprintf(a->log, "[%s] the sandbox trapped: %s\n", a->name, e->message);
    ka_error_response(r, 500, KA_TRAP, "500 Internal Server Error\n");
  } else {
    ka_error_response(r, 500, KA_ERROR, "500 Internal Server Error\n");
  }
}

/* The request is past its deadline before its app ran: 504, logged with
** how long it waited. */
static void ka_late(ka_app *a, ka_response *r, uint64_t waited_ns) {
  fprintf(a->log, "[%s] request timed out before it ran (%.0f ms after it arrived)\n", a->name,
          (double)waited_ns / 1e6);
  ka_error_response(r, 504, KA_TIMEOUT, "504 Gateway Timeout: the request waited too long for the app\n");
}

/* Runs krait_handle in a started instance with what is left of the
** request's time (deadline 0: none) and maps how it ended. */
static void ka_run(ka_app *a, krait_store *s, krait_instance *in, ka_ctx *ctx, uint64_t from,
                   uint64_t deadline) {
  ka_response *resp = ctx->resp;
  krait_error e;
  uint64_t now = ka_now();
  if (deadline && now >= deadline) { ka_late(a, resp, now - from); return; }
  if (a->fuel) krait_store_set_fuel(s, a->fuel);
  if (deadline) krait_store_set_timeout(s, deadline - now);
  int rc = ka_call_handle(s, in, &e);
  uint64_t n = __atomic_fetch_add(&a->handled, 1, __ATOMIC_RELAXED);
  if (n < 16 || n % 1024 == 0) krait_snapshot_learn(a->snap, in);  /* pages requests write */
  if (rc < 0) ka_failed(a, &e, resp);
  else if (!ctx->responded || (rc == 1 && ctx->streaming))  /* 1: a stream broke */
    ka_error_response(resp, 500, KA_ERROR, "500 Internal Server Error\n");
}

void ka_app_handle(ka_app *a, const ka_request *req, ka_response *resp) {
  uint64_t t0 = ka_now();
  uint64_t from = req->arrival_ns && req->arrival_ns <= t0 ? req->arrival_ns : t0;
  uint64_t deadline = a->timeout_ns ? from + a->timeout_ns : 0;
  ka_ctx ctx = { .app = a, .req = req, .resp = resp, .deadline = deadline, .llm = &a->llm };
  krait_store *s = NULL;
  krait_error e;
  memset(resp, 0, sizeof *resp);
  ka_net_begin(&ctx.net, &a->outbound, false, a->max_out_conns, KA_NET_OPEN_SERVE, a->max_out_bytes);
  if (deadline && t0 >= deadline) {   /* waited it out: no instance at all */
    ka_late(a, resp, t0 - from);
    resp->total_ns = ka_now() - t0;
    return;
  }
  krait_linker *l = ka_linker(a, &ctx, &s);
  krait_instance *in = l ? krait_instantiate_snapshot(l, a->module, a->snap, &e) : NULL;
  resp->start_ns = ka_now() - t0;
  if (!in) {
    fprintf(a->log, "[%s] cannot start an instance: %s\n", a->name, l ? e.message : "out of memory");
    ka_error_response(resp, 500, KA_TRAP, "500 Internal Server Error\n");
  } else {
    ka_run(a, s, in, &ctx, from, deadline);
  }
  ka_bindings_end(&ctx);
  if (l) krait_linker_free(l);
  if (s) krait_store_free(s);
  resp->total_ns = ka_now() - t0;
}

void ka_response_free(ka_response *r) {
  ku_free(r->gathered);
  ku_free(r->headers);
  ku_free(r->raw);
  memset(r, 0, sizeof *r);
}

const char *ka_app_stale(const ka_app *a) { return a->stale; }

bool ka_app_native(const ka_app *a) { return kaot_object_path(a->module) != NULL; }

uint64_t ka_app_snapshot_bytes(const ka_app *a) { return krait_snapshot_memory_size(a->snap); }

void ka_app_free(ka_app *a) {
  if (!a) return;
  krait_snapshot_free(a->snap);
  ka_unload(a);
  for (int i = 0; a->dirs && i < a->ndirs; i++) {
    ku_free((char *)a->dirs[i].host_path);
    ku_free((char *)a->dirs[i].guest_path);
  }
  for (int i = 0; a->envp && i < a->envc; i++) ku_free((char *)a->envp[i]);
  for (int i = 0; i < a->ngrants; i++) {
    ku_free(a->grants[i].name);
  }
  for (int i = 0; i < a->nsqldbs; i++) {
    ka_sql_pool_free(&a->sqldbs[i]);
    ku_free(a->sqldbs[i].name);
    ku_free(a->sqldbs[i].path);
  }
  ku_free(a->sqldbs);
  ko_allow_free(&a->outbound);
  ka_llm_free(&a->llm);
  for (int i = 0; i < a->nvars; i++) {
    ku_free((char *)a->vars[i].name);
    ku_free((char *)a->vars[i].value);
    ku_free((char *)a->vars[i].template);
  }
  for (int i = 0; i < a->nsecrets; i++) ku_free(a->secrets[i]);
  ku_free(a->secrets);
  if (a->null_fd >= 0) close(a->null_fd);
  ku_free(a->dirs);
  ku_free(a->envp);
  ku_free(a->grants);
  ku_free(a->vars);
  ku_free(a->config_json);
  ku_free(a->boot_info);
  ku_free(a->name);
  ku_free(a);
}
