/*
** serve.c -- `krait serve` and `krait build`: their command lines turned
** into calls of src/deploy (stores, boots, artifacts, the server). Owns
** options and usage texts; not finding the SDK or browser (paths.c).
*/
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "deploy/deploy.h"
#include "llm/llm.h"
#include "util/util.h"

static int kc_serve_common(int argc, char **argv, bool build);

const char kc_serve_usage[] =
  "Usage: krait serve [DIR | krait.toml | APP.krait...] [options]\n"
  "\n"
  "Serves the Python apps of a manifest (default: ./krait.toml) or of app\n"
  "artifacts made by `krait build` over HTTP/1.1. Each app is booted once\n"
  "into a pre-initialized snapshot (or starts from its built one); every\n"
  "request then runs in a brand-new sandbox started from it\n"
  "(copy-on-write), so nothing one request does is seen by the next.\n"
  "A manifest's app starts from .krait/APP.krait when `krait build` wrote\n"
  "one; when the files it bundles, the app's settings or python.wasm\n"
  "changed since, it is rebuilt from the sources, written again, and\n"
  "served (the log says so). Files a bundle leaves out never make it\n"
  "stale: dot entries, __pycache__, *.so, *.pyd, *.krait, *.log, the\n"
  "stores and the files the server writes its output and access log to.\n"
  "Artifacts are unpacked once into ~/.cache/krait/apps ($KRAIT_CACHE);\n"
  "their SQLite stores' relative paths are relative to the current\n"
  "directory. An artifact's manifest may name no path outside that\n"
  "directory and its unpacked files (no absolute path, no \"..\"); a\n"
  "krait.toml's paths are the operator's and used as written.\n"
  "\n"
  "Options:\n"
  "  --listen HOST:PORT   Where to serve (default 127.0.0.1:8080)\n"
  "  --admin HOST:PORT    Also serve /healthz and /metrics (Prometheus) here\n"
  "  --llm-api            Also serve the manifest's local models ([llm.models]\n"
  "                       with a path) on the admin listener as an OpenAI-\n"
  "                       compatible API: GET /v1/models, POST\n"
  "                       /v1/completions, /v1/chat/completions and\n"
  "                       /v1/embeddings (needs --admin)\n"
  "  --llm-api-token VARIABLE\n"
  "                       /v1 requests must carry \"Authorization: Bearer\n"
  "                       <value>\" with the value of this [variables] entry\n"
  "                       (else 401); /healthz and /metrics stay open\n"
  "  --workers N          Worker threads (default: 4 per core, at least 8)\n"
  "  --max-inflight-per-app N\n"
  "                       Requests of one app running at once; the rest wait\n"
  "                       for a worker (default: all workers with one app,\n"
  "                       else half of them, so a stuck app cannot take all)\n"
  "  --max-conns N        Open client connections (default 1024); past it an\n"
  "                       idle one of the client holding the most is closed\n"
  "                       for a lighter client, else the new one gets 503\n"
  "  --max-conns-per-client N\n"
  "                       Per remote IPv4 address or IPv6 /64 (default 256;\n"
  "                       0: no limit); past it 503\n"
  "  --keepalive-timeout TIME\n"
  "                       Idle keep-alive connections are closed after TIME\n"
  "                       between requests (default 5s; 0: no keep-alive)\n"
  "  --max-body-memory BYTES\n"
  "                       Request bytes buffered server-wide beyond 64 KiB\n"
  "                       per connection (K, M, G; default 256M; 0: no\n"
  "                       limit); past it 503 and the connection is closed\n"
  "  --python-home DIR    python.wasm and its stdlib (as for krait python)\n"
  "  --tier TIER          How Python runs: 'auto' (the default: native code\n"
  "                       when python.wasm is compiled, else interpreted),\n"
  "                       'aot' (compiled first when it is not) or 'interp'.\n"
  "                       Default: $KRAIT_TIER, else auto\n"
  "  --access-log FILE    One line per request to FILE ('-': stdout; default\n"
  "                       stderr)\n"
  "  --quiet              No access log\n"
  "  --watch              Rebuild an app when a file of its folder that its\n"
  "                       bundle would hold changes (inotify; after 200 ms\n"
  "                       without further changes) and serve the new build;\n"
  "                       requests under way finish on the old one, and a\n"
  "                       failed rebuild (its error logged) keeps the last\n"
  "                       good build serving. Not for artifacts; krait.toml\n"
  "                       itself is read once (restart after editing it)\n"
  "  --playground         Also serve the browser build (`make web`: krait.js\n"
  "                       and the playground) at /web/, cross-origin isolated\n"
  "                       (COOP/COEP); without a manifest, serve only that\n"
  "  --variables-file FILE\n"
  "                       Values of the manifest's [variables], as TOML lines\n"
  "                       name = \"value\"; read only when FILE is a regular\n"
  "                       file of the user's with no group or other\n"
  "                       permissions (chmod 600). KRAIT_VARIABLE_<NAME> in\n"
  "                       the environment wins over it, it over a default.\n"
  "                       A required variable without a value stops serve\n"
  KC_NET_OPTS_USAGE
  "  --trust KEY.pub      Serve only artifacts signed (krait build --sign) by\n"
  "                       the Ed25519 public key in the PEM file KEY.pub\n"
  "                       (repeatable: any of them); unsigned, otherwise\n"
  "                       signed or changed ones are refused, saying which.\n"
  "                       Without it, artifacts are served unchecked.\n"
  "  -h, --help           Show this help\n"
  "\n"
  "An app's timeout_ms counts from the request's first byte, time waiting\n"
  "for a worker included: a request that waited past it gets 504 unrun.\n"
  "Stops gracefully on SIGTERM or SIGINT: in-flight requests finish.\n"
  "Reloads on SIGHUP: reads the artifacts or krait.toml (and\n"
  "--variables-file) it was started with again, boots every app, and\n"
  "serves the new version to new requests while requests under way finish\n"
  "on the old one. The apps and their routes must stay the same; a reload\n"
  "that fails (its error logged) keeps the old version serving.\n";

/* The parsed command line. */
typedef struct kc_serve_opts {
  const char *manifest, *listen, *admin, *home, *access;
  char *inputs[64];            /* the positional arguments */
  int ninputs;
  int workers;
  ks_config limits;            /* the limit options over ks_config_default */
  bool quiet;
  bool playground;             /* --playground: build/web at /web/ */
  bool watch;                  /* --watch: rebuild apps as they change */
  bool build;                  /* `krait build`: boot, save, stop */
  const char *trust[16];       /* serve --trust: public key files */
  int ntrust;
  const char *sign;            /* build --sign: a private key file */
  const char *variables;       /* serve --variables-file */
  bool llm_api;                /* serve --llm-api: /v1 on the admin listener */
  const char *llm_token;       /* serve --llm-api-token: its variable */
  krait_tier tier;             /* --tier, else kc_default_tier */
} kc_serve_opts;

/* Splits "HOST:PORT" (IPv6 as [::1]:PORT) into host (static) and *port. */
static const char *kc_hostport(const char *s, int *port) {
  static char host[2][256];
  static int which;
  const char *colon = strrchr(s, ':');
  char *h = host[which++ & 1];
  if (!colon || colon == s || strlen(s) >= sizeof host[0]) return NULL;
  snprintf(h, sizeof host[0], "%.*s", (int)(colon - s), s);
  char *end;
  long p = strtol(colon + 1, &end, 10);
  if (*end || p < 0 || p > 65535) return NULL;
  *port = (int)p;
  return h;
}

/* One of the limit options (k: its index past the first five): into
** o->limits; -1, or a usage error's exit status. */
static int kc_serve_limit(kc_serve_opts *o, int k, const char *name, const char *val) {
  uint64_t v;
  ks_config *c = &o->limits;
  bool ok = k == 7 ? kc_parse_duration(val, &v) == 0 && v / 1000000 <= 86400000
          : k == 8 ? kc_parse_size(val, &v) == 0 && v <= SIZE_MAX / 2
          : kc_parse_u64(val, &v) == 0 && v <= 1000000 && (v > 0 || k == 6);
  if (!ok)
    return kc_usage_error("serve", kc_serve_usage, "option '%s': bad value '%s' (expected %s)", name, val,
                          k == 7 ? "a duration such as 5s or 500ms" : k == 8 ? "a byte count such as 256M"
                          : k == 6 ? "a count, 0 for no limit" : "a count of at least 1");
  if (k == 5) c->max_conns = (size_t)v;
  else if (k == 6) c->max_conns_per_client = (size_t)v;
  else if (k == 7) c->idle_timeout_ms = (unsigned)((v + 999999) / 1000000);
  else if (k == 8) c->max_body_memory = (size_t)v;
  else c->app_max_inflight = (size_t)v;
  return -1;
}

/* --trust KEY.pub (serve, repeatable) or --sign KEY (build) at argv[*i]:
** -1 to go on, else a usage error's exit status. */
static int kc_serve_key_opt(kc_serve_opts *o, int argc, char **argv, int *i) {
  const char *a = argv[*i], *cmd = o->build ? "build" : "serve", *usage = o->build ? kc_build_usage : kc_serve_usage;
  bool trust = !strcmp(a, "--trust");
  if (trust == o->build)
    return kc_usage_error(cmd, usage, "%s is an option of krait %s", a, trust ? "serve" : "build");
  if (*i + 1 >= argc) return kc_usage_error(cmd, usage, "option '%s' needs a value", a);
  if (trust && o->ntrust == 16) return kc_usage_error(cmd, usage, "more than 16 --trust keys");
  if (trust) o->trust[o->ntrust++] = argv[++*i];
  else o->sign = argv[++*i];
  return -1;
}

/* Parses the command line; -1 to go on, else an exit status. */
static int kc_serve_parse(kc_serve_opts *o, int argc, char **argv) {
  static const char *const valued[] = { "--listen", "--admin", "--workers", "--python-home", "--access-log",
                                        "--max-conns", "--max-conns-per-client", "--keepalive-timeout",
                                        "--max-body-memory", "--max-inflight-per-app" };
  const char *cmd = o->build ? "build" : "serve", *usage = o->build ? kc_build_usage : kc_serve_usage;
  ks_config_default(&o->limits);
  o->tier = kc_default_tier(KRAIT_TIER_AUTO);
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *val = NULL;
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) { fputs(kc_serve_usage, stdout); return KC_EXIT_OK; }
    if (!strcmp(a, "--tier")) {
      if (i + 1 >= argc) return kc_usage_error(cmd, usage, "option '--tier' needs a value");
      if (kc_parse_tier(argv[i + 1], &o->tier) != 0)
        return kc_usage_error(cmd, usage, "option '--tier': bad value '%s' (expected interp, aot or auto)", argv[i + 1]);
      i++;
      continue;
    }
    if (!strcmp(a, "--quiet")) { o->quiet = true; continue; }
    if (!strcmp(a, "--playground")) { o->playground = true; continue; }
    if (!strcmp(a, "--watch") && !o->build) { o->watch = true; continue; }
    if (!strcmp(a, "--llm-api") && !o->build) { o->llm_api = true; continue; }
    if (!strcmp(a, "--llm-api-token") && !o->build) {
      if (i + 1 >= argc) return kc_usage_error(cmd, usage, "option '--llm-api-token' needs a value");
      o->llm_token = argv[++i];
      continue;
    }
    if (!strcmp(a, "--variables-file") && o->build)
      return kc_usage_error(cmd, usage, "krait build resolves no variables: values are read when krait serve "
                            "starts (give --variables-file to serve), so no artifact holds them");
    if (!strcmp(a, "--variables-file")) {
      if (i + 1 >= argc) return kc_usage_error(cmd, usage, "option '--variables-file' needs a value");
      o->variables = argv[++i];
      continue;
    }
    if (!strcmp(a, "--trust") || !strcmp(a, "--sign")) {
      int rc = kc_serve_key_opt(o, argc, argv, &i);
      if (rc >= 0) return rc;
      continue;
    }
    if (!strcmp(a, "--ca-file") || !strcmp(a, "--resolve")) {
      if (i + 1 >= argc) return kc_usage_error(cmd, usage, "option '%s' needs a value", a);
      int rc = kc_net_opt(cmd, usage, a, argv[++i]);
      if (rc >= 0) return rc;
      continue;
    }
    if (a[0] != '-') {
      if (o->ninputs == 64) return kc_usage_error("serve", kc_serve_usage, "more than 64 artifacts");
      o->inputs[o->ninputs++] = argv[i];
      continue;
    }
    int k = 0;
    for (; k < 10 && strcmp(a, valued[k]); k++) {}
    if (k == 10) return kc_usage_error("serve", kc_serve_usage, "unknown option '%s'", a);
    if (i + 1 >= argc) return kc_usage_error("serve", kc_serve_usage, "option '%s' needs a value", a);
    val = argv[++i];
    if (k == 0) o->listen = val;
    else if (k == 1) o->admin = val;
    else if (k == 2) o->workers = atoi(val);
    else if (k == 3) o->home = val;
    else if (k == 4) o->access = val;
    else if ((k = kc_serve_limit(o, k, a, val)) >= 0) return k;
  }
  return -1;
}

/* The manifest path for DIR, FILE or nothing (./krait.toml). */
static char *kc_manifest_path(const char *arg) {
  struct stat sb;
  const char *p = arg ? arg : ".";
  char *out = ku_malloc(strlen(p) + 16);
  if (!out) return NULL;
  if (stat(p, &sb) == 0 && S_ISDIR(sb.st_mode)) sprintf(out, "%s/krait.toml", p);
  else strcpy(out, p);
  return out;
}

/* The serve options of o into so: the addresses, the browser build, the
** access log opened (appending; '-' is stdout). -1 to go on, else an exit
** status after the error; so->server.access_log is closed by the caller
** when not stdout or stderr, so->web_root freed. */
static int kc_serve_prepare(const kc_serve_opts *o, kx_serve_opts *so) {
  ks_config *sc = &so->server;
  *so = (kx_serve_opts){ .server = o->limits, .listen = o->listen };   /* the limit options */
  sc->host = kc_hostport(o->listen ? o->listen : "127.0.0.1:8080", &sc->port);
  if (o->admin) sc->admin_host = kc_hostport(o->admin, &sc->admin_port);
  if (!sc->host || (o->admin && !sc->admin_host))
    return kc_usage_error("serve", kc_serve_usage, "bad address (expected HOST:PORT)");
  if ((o->llm_api || o->llm_token) && !o->admin)
    return kc_usage_error("serve", kc_serve_usage, "--llm-api serves /v1 on the admin listener: give --admin HOST:PORT");
  if (o->llm_token && !o->llm_api)
    return kc_usage_error("serve", kc_serve_usage, "--llm-api-token is the token of --llm-api's /v1: give --llm-api");
  sc->workers = o->workers;
  sc->handle_signals = true;
  if (o->playground && !(so->web_root = kc_web_root())) {
    fprintf(stderr, "Error: --playground: no browser build beside krait (run: make web)\n");
    return KC_EXIT_ERROR;
  }
  sc->access_log = o->quiet ? NULL : !o->access ? stderr : !strcmp(o->access, "-") ? stdout : fopen(o->access, "a");
  if (!o->quiet && o->access && !sc->access_log) {
    fprintf(stderr, "Error: --access-log %s: cannot open it for appending: %s\n", o->access, strerror(errno));
    ku_free(so->web_root);
    return KC_EXIT_ERROR;
  }
  return -1;
}

/* Releases what kc_serve_prepare made. */
static void kc_serve_release(kx_serve_opts *so) {
  FILE *log = so->server.access_log;
  if (log && log != stderr && log != stdout) fclose(log);
  ku_free(so->web_root);
}

/* Holds SIGHUP back from the start (the serving thread then takes it
** from its signalfd): one sent while the apps boot reloads once they
** serve, instead of killing the server. */
static void kc_hold_hup(void) {
  sigset_t hup;
  sigemptyset(&hup);
  sigaddset(&hup, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &hup, NULL);
}

/* Serves the booted apps until the server is stopped; an exit status. */
static int kc_serve_run(const kx_serve_opts *so, const km_manifest *m, ka_app **apps) {
  char err[1024];
  kx_server *srv = kx_server_new(so, m, apps, err, sizeof err);
  if (!srv) {
    fprintf(stderr, "Error: %s\n", err);
    return KC_EXIT_ERROR;
  }
  int rc = kx_server_run(srv) == 0 ? KC_EXIT_OK : KC_EXIT_ERROR;
  kx_server_free(srv);
  return rc;
}

const char kc_build_usage[] =
  "Usage: krait build [DIR | krait.toml] [--python-home DIR] [--tier TIER]\n"
  "                   [--sign KEY]\n"
  "\n"
  "Boots every app of the manifest (default: ./krait.toml) -- imports it and\n"
  "finds its handler -- and writes its deployable artifact .krait/APP.krait\n"
  "beside the manifest: the pre-initialized snapshot (zero pages elided, the\n"
  "rest compressed), the app's own manifest, and a bundle of its files, the\n"
  "SDK and what it imports from its site-packages (add lazily imported\n"
  "packages with include = [...]). python.wasm is referenced by SHA-256, not\n"
  "embedded (for an app with packages = [...], its package set's, which a\n"
  "serving host must have built). `krait serve DIR` starts from it while\n"
  "it is fresh, rebuilds and rewrites it once the files it bundles, the\n"
  "app's settings or python.wasm have changed, and refuses it when damaged;\n"
  "`krait serve APP.krait` runs it anywhere with the same python.wasm.\n"
  "\n"
  "Only files inside the app's folder, the SDK and the site-packages dirs\n"
  "are bundled, never dot entries, __pycache__, *.so, *.pyd, *.krait,\n"
  "*.log, the stores or the files krait's output goes to. A symlink is\n"
  "bundled as what it leads to when that is inside its own folder; one\n"
  "leading out of the app's folder is an error (naming the link and its\n"
  "target), one leading out of site-packages is left out (the app cannot\n"
  "read either served unbuilt).\n"
  "\n"
  "Options:\n"
  "  --python-home DIR    python.wasm and its stdlib (as for krait python)\n"
  "  --tier TIER          How Python boots: auto (default), aot or interp, as\n"
  "                       for krait serve; the artifact does not depend on\n"
  "                       it (an app built under one tier serves under any)\n"
  "  --sign KEY           Sign each artifact with the Ed25519 private key in\n"
  "                       the PEM file KEY (`krait keygen NAME` makes NAME.key\n"
  "                       and NAME.pub); `krait serve --trust NAME.pub` then\n"
  "                       accepts it. The signature covers every byte of the\n"
  "                       artifact (snapshot, manifest, files).\n"
  "  -h, --help           Show this help\n";

/* The keys of --sign and --trust, read. */
typedef struct kc_keys {
  ka_key *sign;
  ka_key *trust[16];
  int ntrust;
} kc_keys;

static void kc_keys_free(kc_keys *k) {
  ka_key_free(k->sign);
  for (int i = 0; i < k->ntrust; i++) ka_key_free(k->trust[i]);
}

/* Reads the key files of o into k; 0, or -1 after an error message. */
static int kc_keys_load(const kc_serve_opts *o, kc_keys *k) {
  char err[1024];
  memset(k, 0, sizeof *k);
  if (o->sign && !(k->sign = ka_key_load(o->sign, true, err, sizeof err))) {
    fprintf(stderr, "Error: --sign: %s\n", err);
    return -1;
  }
  for (; k->ntrust < o->ntrust; k->ntrust++)
    if (!(k->trust[k->ntrust] = ka_key_load(o->trust[k->ntrust], false, err, sizeof err))) {
      fprintf(stderr, "Error: --trust: %s\n", err);
      kc_keys_free(k);
      return -1;
    }
  return 0;
}

int kc_build_main(int argc, char **argv) {
  for (int i = 1; i < argc; i++)
    if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) { fputs(kc_build_usage, stdout); return KC_EXIT_OK; }
  return kc_serve_common(argc, argv, true);
}

int kc_serve_main(int argc, char **argv) { return kc_serve_common(argc, argv, false); }

/* serve and build: the manifest, its stores and apps, then the action. */
static int kc_serve_common(int argc, char **argv, bool build) {
  kc_serve_opts o = { 0 };
  o.build = build;
  ka_pg_environ_scrub();   /* before any thread: apps' postgres connections never use PG* */
  int rc = kc_serve_parse(&o, argc, argv);
  if (rc >= 0) return rc;
  if (!build) kc_hold_hup();
  kx_env env = { .use_built = !build, .tier = o.tier };
  env.artifacts = o.ninputs > 0 && kx_is_artifact(o.inputs[0]);
  if (build && env.artifacts) return kc_usage_error("build", kc_build_usage, "%s is already built", o.inputs[0]);
  if (o.watch && env.artifacts)
    return kc_usage_error("serve", kc_serve_usage, "--watch rebuilds a manifest's apps from their sources; "
                          "artifacts (APP.krait) are not watched");
  if (o.ntrust && !env.artifacts)
    return kc_usage_error("serve", kc_serve_usage, "--trust checks artifacts (APP.krait); a manifest's "
                          "apps are served from their sources, unsigned");
  kc_keys keys;
  if (kc_keys_load(&o, &keys) != 0) return KC_EXIT_ERROR;
  ka_file_id ids[64];
  env.artifact_ids = keys.ntrust ? ids : NULL;
  env.sign = keys.sign;
  if (!env.artifacts && o.ninputs > 1)
    return kc_usage_error(build ? "build" : "serve", build ? kc_build_usage : kc_serve_usage,
                          "more than one manifest (only artifacts can be served together)");
  char err[1024], *path = env.artifacts ? NULL : kc_manifest_path(o.ninputs ? o.inputs[0] : NULL);
  km_manifest *m = env.artifacts ? kx_artifacts_load(o.inputs, o.ninputs, keys.trust, keys.ntrust, ids, err, sizeof err)
                 : path ? km_manifest_load(path, err, sizeof err) : NULL;
  if (!m && path && o.playground && !o.ninputs && access(path, F_OK) != 0 &&
      (m = ku_calloc(1, sizeof *m)))   /* the playground alone: no apps */
    m->path = ku_strdup(path);
  if (!m) {
    fprintf(stderr, "Error: %s\n", env.artifacts || path ? err : "out of memory");
    ku_free(path);
    kc_keys_free(&keys);
    return KC_EXIT_ERROR;
  }
  env.values = build ? NULL : km_vars_resolve(m, o.variables, err, sizeof err);
  if (!build && !env.values) {
    fprintf(stderr, "Error: %s\n", err);
    ku_free(path);
    km_manifest_free(m);
    kc_keys_free(&keys);
    return KC_EXIT_ERROR;
  }
  kx_serve_opts so = { 0 };
  if (!build && (rc = kc_serve_prepare(&o, &so)) >= 0) {
    km_vars_free(env.values, m->nvars);
    ku_free(path);
    km_manifest_free(m);
    kc_keys_free(&keys);
    return rc;
  }
  rc = KC_EXIT_ERROR;
  env.artifact_paths = o.inputs;
  env.access_log = !build && o.access && strcmp(o.access, "-") ? o.access : NULL;
  char *home = kc_python_home(o.home), *sdk = home && !env.artifacts ? kc_sdk_dir(home) : NULL;
  kc_aot_dirs(home);
  env.home = home;
  env.sdk = env.artifacts ? "" : sdk;
  bool llm_failed = false;
  env.llm = build ? NULL : kx_llm_engine(m, &llm_failed);   /* local models open at each app's boot */
  if (!build && o.llm_api && !env.llm && !llm_failed) env.llm = kx_llm_api_engine(m, &llm_failed);
  env.stores = home && env.sdk && !llm_failed ? kx_open_stores(m) : NULL;
  if (home && !env.sdk) fprintf(stderr, "Error: cannot find the guest SDK (python/sdk beside build/, or share/krait/sdk of an install; or set KRAIT_SDK)\n");
  ka_app **apps = ku_calloc((size_t)m->napps + 1, sizeof *apps);
  if (!apps) fprintf(stderr, "Error: out of memory\n");
  bool ok = env.stores && apps;
  for (int i = 0; ok && i < m->napps; i++) ok = (apps[i] = kx_boot(m, i, &env)) != NULL;
  if (ok && build) rc = kx_build_save(m, apps, &env) == 0 ? KC_EXIT_OK : KC_EXIT_ERROR;
  kx_llm_api *api = ok && !build && o.llm_api ? kx_llm_api_new(m, env.llm, env.values, o.llm_token) : NULL;
  ok = ok && (build || !o.llm_api || api);
  so.llm_api = kx_llm_api_of(api);
  so.watch = o.watch ? &env : NULL;
  kx_reload_src reload = { env.artifacts, o.inputs, o.ninputs, path, keys.trust, keys.ntrust, o.variables, &env };
  so.reload = m->napps ? &reload : NULL;
  so.take_apps = true;                  /* a replaced version is freed */
  if (ok && !build) rc = kc_serve_run(&so, m, apps);
  if (!build) kc_serve_release(&so);
  for (int i = 0; apps && i < m->napps; i++) ka_app_free(apps[i]);
  for (int i = 0; env.stores && i < m->nstores; i++) kk_close(env.stores[i]);
  kx_llm_api_free(api);
  kl_engine_free(env.llm);              /* after the apps: they use its models */
  ku_free(apps);
  ku_free(env.stores);
  ku_free(home);
  ku_free(sdk);
  ku_free(path);
  km_vars_free(env.values, m->nvars);
  km_manifest_free(m);
  kc_keys_free(&keys);
  return rc;
}
