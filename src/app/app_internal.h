/*
** app_internal.h -- what app.c and imports.c share: the app and the
** per-request context the "krait" imports work on.
*/
#ifndef KA_APP_INTERNAL_H
#define KA_APP_INTERNAL_H

#include <pthread.h>
#include <sys/stat.h>

#include "app/app.h"

/* A granted store with the lock that serialises its users (a kk_store is
** used by one thread at a time). */
typedef struct ka_grant {
  char *name;
  kk_store *store;            /* shared by the apps granted it; kk_* lock it */
} ka_grant;

struct ka_shared;

struct ka_app {
  struct ka_shared *shared;    /* python.wasm, shared by apps (app.c) */
  krait_engine *engine;        /* shared->engine */
  krait_module *module;        /* shared->module */
  uint64_t max_memory;         /* per instance (0: the engine's default) */
  uint64_t max_disk;           /* per instance disk quota (0: none) */
  krait_snapshot *snap;
  char *name;
  char *config_json;           /* what _krait.config() returns */
  ka_grant *grants;
  int ngrants;
  ka_var *vars;                /* copies */
  int nvars;
  char **secrets;              /* copies of ka_app_config.secrets */
  int nsecrets;
  uint64_t timeout_ns, fuel;
  bool debug;
  FILE *log;
  /* the WASI view, identical at boot and for every request */
  krait_wasi_preopen *dirs;
  int ndirs;
  const char **envp;
  int envc;
  int null_fd;                 /* /dev/null for stdin */
  char build_key[65];          /* SHA-256 of what the snapshot depends on */
  const char *stale;           /* why its snapshot was stale (a static
                                  string), when it booted for that */
  char *boot_info;             /* the guest's boot_info JSON, or NULL */
  uint64_t handled;            /* requests so far (atomic) */
};

/* The state of one request (or of the boot, with req NULL). */
typedef struct ka_ctx {
  ka_app *app;
  const ka_request *req;
  ka_response *resp;
  bool responded;
  bool streaming;              /* respond_start was called */
  char error[256];             /* the last failed import's message */
} ka_ctx;

/* bundle.c: the identities of files left out of bundles and build keys
** (ka_app_config.exclude, with their -wal, -shm, -journal siblings). */
typedef struct ka_excluded {
  int n;
  struct { dev_t dev; ino_t ino; } id[256];
} ka_excluded;

/* Records the identities of cfg's excluded files that exist. */
void ka_excluded_init(ka_excluded *x, const ka_app_config *cfg);
/* Whether the file sb describes is one of them. */
bool ka_excluded_has(const ka_excluded *x, const struct stat *sb);

/* artifact.c: the build key of cfg into a->build_key; loading a built
** snapshot (1 loaded, 0 none, -1 damaged with err, -2 stale with err). */
void ka_build_key(ka_app *a, const ka_app_config *cfg);
int ka_try_snapshot(ka_app *a, const ka_app_config *cfg, char *err, size_t errlen);

/* imports.c: defines module "krait" in linker for requests of app. */
int ka_define_imports(krait_linker *linker, ka_app *app);
/* imports.c: the request encoded as python/c/krait_abi.h says; malloc'ed. */
uint8_t *ka_encode_request(const ka_request *req, size_t *len);

#endif
