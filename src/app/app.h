/*
** app.h -- one Python app served by krait (prefix ka_): python.wasm booted
** once into a snapshot, then a fresh copy-on-write instance per request.
** Owns the "krait" imports (python/c/krait_abi.h); not HTTP (src/http/).
*/
#ifndef KA_APP_H
#define KA_APP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include <time.h>

#include "krait.h"
#include "kv/kv.h"

/* A key-value store granted to the app under a name. */
typedef struct ka_store_grant {
  const char *name;         /* what the app opens (spin: "default") */
  kk_store *store;          /* opened by the caller; not owned */
} ka_store_grant;

/* A SQLite database the app may open through the sqlite binding. */
typedef struct ka_sqlite_grant {
  const char *name;         /* what the app opens ("default") */
  const char *path;         /* the file (created when missing) */
} ka_sqlite_grant;

struct kl_engine;
struct kl_model;
struct kl_remote;

/* A model ([llm.models.NAME]) as the llm binding sees it. */
typedef struct ka_llm_model {
  const char *name;
  struct kl_model *local;          /* a GGUF file the engine opened (the
                                      engine owns it); NULL: remote */
  const struct kl_remote *remote;  /* an OpenAI-compatible server (with its
                                      API key, resolved on the host);
                                      NULL: local */
} ka_llm_model;

/* The models an app may call (src/app/llm.c): the engine outlives it. */
typedef struct ka_llm {
  struct kl_engine *engine;        /* runs the local models; NULL: none */
  const ka_llm_model *models;      /* every configured model, so that one
                                      not granted and one not configured
                                      get distinct errors */
  int nmodels;
  const char *const *granted;      /* the names granted (ai_models) */
  int ngranted;
} ka_llm;

/* A file as it was read: its identity, size and times, to notice it was
** replaced or written since. */
typedef struct ka_file_id {
  dev_t dev;
  ino_t ino;
  off_t size;
  struct timespec mtime, ctime;
} ka_file_id;

/* An app variable ([app.variables] key = template). */
typedef struct ka_var {
  const char *name;            /* the key the app asks for */
  const char *value;           /* resolved at serve time (NULL in krait
                                  build: then only literal templates) */
  const char *template;        /* as the manifest writes it: in the build
                                  key instead of the value */
  bool secret;                 /* refers to a secret variable: the value
                                  is redacted from the app's log lines
                                  and debug tracebacks */
  const char *shape;           /* a secret's template with each secret
                                  reference as {{!}}, each other one as
                                  {{?}}: how the SDK finds the secrets in
                                  the value (NULL: redact it whole) */
} ka_var;

/* Everything needed to boot an app. Strings are borrowed during
** ka_app_boot and copied where kept. */
typedef struct ka_app_config {
  const char *name;            /* the app's name, for logs */
  const char *python_home;     /* holds python.wasm and lib/python3.11 */
  const char *sdk_dir;         /* python/sdk: krait_runtime, spin_sdk, js */
  const char *app_dir;         /* the app's Python files */
  const char *style;           /* "spin", "cloudflare" or "wsgi" */
  const char *module;          /* spin/cloudflare: the handler's module */
  const char *wsgi;            /* wsgi: "module:attr" */
  const char *pkgset_site;     /* the package set's site-packages when
                                  python_home is a set's (HOME/sets/NAME):
                                  read-only on sys.path before
                                  site_packages; NULL: no set */
  const char *const *site_packages;  /* extra read-only sys.path dirs */
  int nsite_packages;
  const ka_store_grant *stores;
  int nstores;
  const ka_sqlite_grant *sqlite;  /* databases granted (sqlite_databases) */
  int nsqlite;
  const char *const *outbound;  /* allowed_outbound_hosts entries (checked
                                  by the manifest; src/net/allow.c) */
  int noutbound;
  uint32_t max_outbound_conns; /* outbound connections a request may open
                                  (0: the default, KO_CONNS_DEFAULT) */
  uint64_t max_outbound_bytes; /* bytes a request may receive from them
                                  (0: the default, KO_MB_DEFAULT MiB) */
  ka_llm llm;                  /* its models (ai_models; copied) */
  const ka_var *vars;
  int nvars;
  const char *const *secrets;  /* the values of the secret variables the
                                  app's templates use: replaced by
                                  "[secret]" in its log lines */
  int nsecrets;
  uint64_t timeout_ns;         /* per request wall time (0: none) */
  uint64_t fuel;               /* per request (0: none) */
  uint64_t max_memory;         /* per instance bytes (0: engine default) */
  uint64_t max_disk;           /* per instance bytes it may add to host
                                  files (krait_wasi_config.max_disk; 0:
                                  no limit) */
  bool debug;                  /* tracebacks in 500 responses */
  FILE *log;                   /* app log lines; NULL: stderr */
  const char *const *exclude;  /* files neither bundled nor in the build
                                  key, by identity (with their -wal, -shm
                                  and -journal siblings): the stores, the
                                  server's own log files */
  int nexclude;
  bool rebuild_stale;          /* a stale snapshot (other files, settings
                                  or python.wasm; not a deployed artifact)
                                  is no error: the app boots from
                                  python.wasm and ka_app_stale says why
                                  (to write a fresh one) */
  const char *snapshot;        /* a `krait build` artifact: used when it
                                  exists (refused when stale), else the
                                  app boots; NULL: always boot */
  bool artifact;               /* snapshot is a deployed artifact, already
                                  unpacked into these dirs: it must load,
                                  and is not compared with the files */
  const ka_file_id *verified;  /* the artifact file as ka_artifact_read
                                  checked its signature: it is refused if
                                  it changed since (NULL: not checked) */
  const char *const *include;  /* site-packages top-level names krait
                                  build bundles though not imported */
  int ninclude;
  krait_tier tier;             /* how python.wasm runs (0: interpreted);
                                  snapshots and artifacts do not depend on
                                  it */
} ka_app_config;

typedef struct ka_app ka_app;

/* One header, as (pointer, length) views. */
typedef struct ka_header { const char *name, *value; size_t name_len, value_len; } ka_header;

typedef struct ka_response ka_response;

/* Where a streamed response goes as the app produces it: head() once with
** the status, headers and first part (resp->body), then part() for each
** later part. Both run on the thread calling ka_app_handle. */
typedef struct ka_sink {
  void (*head)(void *data, const ka_response *resp);
  void (*part)(void *data, const uint8_t *p, size_t n);
  void *data;
} ka_sink;

/* A request, borrowed for the duration of ka_app_handle. */
typedef struct ka_request {
  const char *method, *uri;    /* NUL-terminated */
  const ka_header *headers;    /* names lower-case */
  size_t nheaders;
  const uint8_t *body;
  size_t body_len;
  const ka_sink *sink;         /* streamed responses; NULL: their parts
                                  are gathered into the response's body */
  uint64_t arrival_ns;         /* kp_monotonic_ns when the request began to
                                  arrive: timeout_ns counts from here (time
                                  waiting for a worker included). 0: from
                                  the call */
} ka_request;

/* How a request ended. */
typedef enum ka_outcome {
  KA_OK = 0,        /* the app responded */
  KA_ERROR,         /* a Python exception or no response: 500 */
  KA_TRAP,          /* the sandbox trapped (e.g. out of fuel): 500 */
  KA_TIMEOUT        /* the wall-clock limit: 504 */
} ka_outcome;

/* A response; ka_response_free releases it. */
struct ka_response {
  int status;
  ka_header *headers;
  size_t nheaders;
  uint8_t *body;
  size_t body_len;
  ka_outcome outcome;
  uint64_t start_ns;           /* instance start (snapshot to ready) */
  uint64_t total_ns;           /* instance start to response */
  uint8_t *raw;                /* owns headers' and body's bytes */
  uint8_t *gathered;           /* owns body when parts were gathered */
  bool streamed;               /* the head went to the request's sink: the
                                  rest of this struct is only the outcome */
};

/* The "krait" imports of python.wasm (python/c/krait_abi.h documents
** them): name and signature. The one list behind the server's imports and
** the command line's stubs. */
#define KA_IMPORTS(X) \
  X(request, "ii:i") \
  X(respond, "ii:i") \
  X(respond_start, "ii:i") \
  X(send, "ii:i") \
  X(kv_open, "ii:i") \
  X(kv_get, "iiiii:i") \
  X(kv_set, "iiiii:i") \
  X(kv_delete, "iii:i") \
  X(kv_exists, "iii:i") \
  X(kv_keys, "iiiiiiii:i") \
  X(log, "iii:i") \
  X(variable, "iiii:i") \
  X(config, "ii:i") \
  X(boot_info, "ii:i") \
  X(js_call, "ii:i") \
  X(js_result, "ii:i") \
  X(call, "iiii:i") \
  X(call_result, "ii:i") \
  X(error_message, "ii:i")

/* Defines every "krait" import in linker as a stub answering
** KRAIT_E_NOSYS, for running python.wasm outside krait serve. 0 or -1. */
int ka_define_stubs(krait_linker *linker);

/* krait python's "krait" imports (netcli.c): stubs as above, but call,
** call_result and error_message run the net.* operations under allow
** (--allow-net, not copied; empty: every connect is denied naming the
** flag). The context to pass to ka_cli_end once the instance is done
** (it closes the connections), or NULL. */
struct ka_ctx;
struct ko_allow;
struct ka_ctx *ka_define_cli(krait_linker *linker, const struct ko_allow *allow);
/* Lets krait python's context x call the models of llm (borrowed until
** ka_cli_end; llm.* operations then run as under krait serve, without a
** deadline). */
void ka_cli_llm(struct ka_ctx *x, const ka_llm *llm);
void ka_cli_end(struct ka_ctx *x);

/* Loads python.wasm, boots the app (krait_init) and takes its snapshot.
** NULL with a message in err (naming what failed) on failure. */
ka_app *ka_app_boot(const ka_app_config *cfg, char *err, size_t errlen);

/* Handles one request in a fresh instance from the snapshot. Thread-safe:
** many threads may handle requests of one app at once. Always fills resp
** (a 500/504 with a short text body when the app could not answer; a
** request already past its deadline gets 504 without an instance). */
void ka_app_handle(ka_app *app, const ka_request *req, ka_response *resp);

void ka_response_free(ka_response *resp);

/* What ka_bundle_make put in. */
typedef struct ka_bundle_stats {
  uint64_t files, bytes;               /* bundled, before compression */
  uint64_t site_entries, site_bundled; /* site-packages top-level entries */
  uint64_t links_left_out;             /* site-packages symlinks leading out */
  char first_left_out[512];            /* the first of them, and why */
} ka_bundle_stats;

/* Whether a directory entry named name is never bundled nor in the build
** key: dot entries, __pycache__, native extensions (.so, .pyd, which WASI
** cannot load), artifacts (.krait) and logs (.log). */
bool ka_bundle_skips(const char *name);

/* Whether the file at path, inside cfg->app_dir, is one the app's bundle
** holds (so the build key covers it): no part of it named by
** ka_bundle_skips, not one of cfg->exclude. A path that is gone counts
** when its name would. */
bool ka_bundle_holds(const ka_app_config *cfg, const char *path);

/* The files of an artifact as one deflated archive: the app's dir (as
** app/), the SDK (sdk/) and, of each site-packages dir (site-packages/N/),
** the top-level entries the app imported while booting or cfg->include
** names, with their dist-info and egg-info dirs. What ka_bundle_skips
** names and the files of cfg->exclude are left out. Nothing outside
** the three trees is read: a symlink is bundled as the file or directory
** it leads to when that lies inside its own tree (the app's folder, the
** SDK, that site-packages dir), as the guest would see it served unbuilt;
** one leading out (or nowhere) is an error naming the link and its target
** in the app and the SDK, and left out of site-packages (counted in st).
** malloc'ed, *len bytes; NULL with err. */
uint8_t *ka_bundle_make(const ka_app *app, const ka_app_config *cfg, size_t *len, ka_bundle_stats *st,
                        char *err, size_t errlen);

/* Unpacks an archive of ka_bundle_make into dir, which it creates. Every
** path is checked (relative, no "..") and every length bounded: damage is
** an error naming the entry. 0, or -1 with err. */
int ka_bundle_extract(const uint8_t *bundle, size_t len, const char *dir, char *err, size_t errlen);

/* An Ed25519 key read from a PEM file: a private one signs artifacts
** (krait build --sign), a public one is trusted (krait serve --trust). */
typedef struct ka_key ka_key;

/* Reads the key file at path: the private key when secret, else the
** public one. NULL with err naming the file and what is wrong (missing,
** not PEM, the other half, encrypted, not Ed25519). */
ka_key *ka_key_load(const char *path, bool secret, char *err, size_t errlen);

/* "PATH (ed25519:FINGERPRINT)", for messages. */
const char *ka_key_name(const ka_key *k);

void ka_key_free(ka_key *k);

/* `krait keygen NAME`: a new Ed25519 key pair, NAME.key (the private key,
** PKCS#8 PEM, mode 0600) and NAME.pub (the public key, PEM). Neither may
** exist. 0, or -1 with err. */
int ka_keygen(const char *name, char *err, size_t errlen);

/* Writes the app's artifact to path: its snapshot, with the key of what it
** was built from, manifest (the app's own krait.toml text), bundle and a
** signature block, signed with the private key sign (NULL: unsigned).
** artifact.c describes the format and what the signature covers. 0, or -1
** with a message in err. */
int ka_app_save(const ka_app *app, const char *path, const char *manifest, const uint8_t *bundle,
                size_t bundle_len, const ka_key *sign, char *err, size_t errlen);

/* An artifact as ka_artifact_read found it. */
typedef struct ka_artifact {
  char *manifest;              /* its krait.toml text */
  uint8_t *bundle;
  size_t bundle_len;
  const ka_key *signer;        /* the trusted key that signed it (NULL
                                  when no key was given to check) */
  ka_file_id id;               /* the file as read (ka_app_config.verified) */
} ka_artifact;

/* Reads the artifact at path, once, into out (manifest and bundle
** malloc'ed): with ntrusted keys, it must be signed by one of them, and
** the refusal says why ("not signed", "signed by an untrusted key",
** "signature does not match: the file was changed after signing"). 0, or
** -1 with err naming what is wrong. */
int ka_artifact_read(const char *path, ka_key *const *trusted, int ntrusted, ka_artifact *out,
                     char *err, size_t errlen);

void ka_artifact_free(ka_artifact *a);

/* Why the app booted from python.wasm instead of its stale snapshot
** (cfg->rebuild_stale): the files it bundles or its settings changed, or
** another python.wasm built it. NULL when it did not. */
const char *ka_app_stale(const ka_app *app);

/* Whether the app's python.wasm runs as native code (the AOT tier). */
bool ka_app_native(const ka_app *app);

/* The snapshot's memory bytes (for the artifact size and metrics). */
uint64_t ka_app_snapshot_bytes(const ka_app *app);

void ka_app_free(ka_app *app);

/* pgenv.c: removes the environment variables libpq reads (PGHOST,
** PGPASSWORD, PGSERVICE, ...) from the process and points Kerberos at no
** credentials, so a guest's postgres connection never uses the host's;
** krait serve calls it at start, before any thread. */
void ka_pg_environ_scrub(void);

/* The browser's file system as web/krait-worker.js lays it out and
** krait web-snapshot reproduces it (scripts/gen-web-constants.py copies
** every KA_WEB_ string into krait-constants.js as WEB): the SDK zip, and a
** package set's site-packages zip, first on sys.path; where `make web`
** publishes the sets (WEBDIR/SETS/NAME/) and their index. */
#define KA_WEB_SDK "/krait/sdk.zip"
#define KA_WEB_SITE "/krait/site-packages.zip"
#define KA_WEB_SITE_FILE "site-packages.zip"
#define KA_WEB_SETS "python/sets"
#define KA_WEB_SET_INDEX "python/sets/index.json"

/* `krait web-snapshot WEBDIR` (websnap.c): boots WEBDIR/python/python.wasm
** (on tier: the snapshot is the same file under any) as web/krait.js's
** worker does and writes the portable snapshot it
** starts from to WEBDIR/python/python.snapshot (its path into out). With
** set (a package set's name, not NULL), the set's python.wasm and
** site-packages zip in WEBDIR/KA_WEB_SETS/set/ instead, its packages
** (the "imports" of KA_WEB_SET_INDEX) imported at boot, and its snapshot
** there. 0, or -1 with err naming the file or step that failed. */
int ka_web_snapshot(const char *webdir, const char *set, krait_tier tier, char *out, size_t outlen, char *err,
                    size_t errlen);

#endif
