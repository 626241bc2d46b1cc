/*
** manifest.h -- krait.toml as a model (prefix km_): apps, their routes,
** limits, variables, key-value and outbound network grants, package sets
** (pkgset.c), and the stores. Owns the schema
** and its errors (file:line: what); not TOML syntax (toml.h).
*/
#ifndef KM_MANIFEST_H
#define KM_MANIFEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One [key_value_stores.NAME] table. */
typedef struct km_store {
  char *name;
  bool redis;                  /* backend = "redis" (else "sqlite") */
  char *path;                  /* sqlite: the file (relative: to the manifest) */
  bool power;                  /* sqlite: durability = "power" (else "process") */
  char *url;                   /* redis: redis://host:port/db */
} km_store;

/* One entry of the top-level [variables] table: name = { default = "..." },
** { required = true }, and either with secret = true. */
typedef struct km_var {
  char *name;                  /* lower-case [a-z0-9_] (km_var_name_ok) */
  char *dflt;                  /* NULL: none (then required) */
  bool required;
  bool secret;                 /* never logged, never in an artifact */
} km_var;

/* One [sqlite_databases.NAME] table (or the implied "default"). */
typedef struct km_sqldb {
  char *name;
  char *path;                  /* the file (relative: to the data dir) */
} km_sqldb;

/* One [llm.models.NAME] table: a local GGUF file or a model of an
** OpenAI-compatible server. */
typedef struct km_model {
  char *name;                  /* what apps grant and ask for (km_model_name_ok) */
  char *path;                  /* local: the GGUF file (absolute) */
  char *url;                   /* remote: the server's base URL (.../v1) */
  char *model;                 /* remote: the server's name for the model */
  char *api_key_variable;      /* remote: the [variables] entry holding its
                                  API key (resolved on the host), or NULL */
} km_model;

/* The [llm] table: the engine's settings (src/llm/llm.h's defaults). */
typedef struct km_llm {
  uint64_t threads;            /* 0: the online CPUs */
  uint64_t max_concurrent;     /* generations at once (1..KM_LLM_CONCURRENT_MAX) */
  uint64_t max_queued;         /* waiting for one (0..KM_LLM_QUEUED_MAX) */
  uint64_t context;            /* a model's context capped (0..KM_LLM_CONTEXT_MAX;
                                  0: each model's own) */
  uint64_t api_timeout_ms;     /* krait serve --llm-api's deadline per request
                                  (1..KM_LLM_API_TIMEOUT_MAX) */
  bool set;                    /* the manifest has an [llm] table */
} km_llm;

#define KM_LLM_THREADS_MAX 256
#define KM_LLM_CONCURRENT_MAX 256
#define KM_LLM_QUEUED_MAX 65536
#define KM_LLM_CONTEXT_MAX 1048576
#define KM_LLM_API_TIMEOUT_DEFAULT 300000
#define KM_LLM_API_TIMEOUT_MAX 86400000

/* One [[app]] (or the single [app]). */
typedef struct km_app {
  char *name;
  char *style;                 /* "spin", "cloudflare" or "wsgi" */
  char *module;                /* spin/cloudflare (default "app") */
  char *wsgi;                  /* wsgi: "module:attr" */
  char *dir;                   /* the app's files (absolute) */
  char **routes;               /* "/..." (default), "/api/...", "/exact" */
  int nroutes;
  char **site_packages;        /* absolute */
  int nsite_packages;
  char **include;              /* site-packages top-level names to bundle */
  int ninclude;                /* though the boot does not import them */
  char **stores;               /* granted store names */
  int nstores;
  char **outbound_hosts;       /* allowed_outbound_hosts entries (Spin's
                                  syntax, checked by src/net) */
  int noutbound_hosts;
  char **sqldbs;               /* granted SQLite database names */
  int nsqldbs;
  char **ai_models;            /* granted [llm.models] names (Spin's key) */
  int nai_models;
  char **packages;             /* packages = [...]: the package set the app
                                  runs on (km_pkgset_join), checked names */
  int npackages;
  char **var_names, **var_values;  /* [app.variables]: key = template, */
  int nvars;                   /* literal text and {{ name }} references */
  uint64_t timeout_ms, fuel, max_memory_mb;
  uint64_t max_disk_mb;        /* bytes an instance may add to host files
                                  (MiB; 0: no limit; default 64) */
  uint64_t max_outbound_conns; /* max_outbound_connections: opened per
                                  request (1..KO_CONNS_MAX; default 50) */
  uint64_t max_outbound_mb;    /* max_outbound_mb: received per request
                                  (MiB, 1..KO_MB_MAX; default 64) */
  bool debug;
} km_app;

typedef struct km_manifest {
  char *path;                  /* the krait.toml read (absolute) */
  km_app *apps;
  int napps;
  km_store *stores;
  int nstores;
  km_var *vars;                /* [variables] */
  int nvars;
  km_sqldb *sqldbs;            /* the SQLite databases (sqlite binding) */
  int nsqldbs;
  km_llm llm;                  /* [llm] */
  km_model *models;            /* [llm.models.NAME] */
  int nmodels;
} km_manifest;

/* Whether name may name a model: 1 to 128 letters, digits and '-', '_',
** '.', '@', '/', ':' (Workers AI's "@cf/meta/llama-2-7b-chat-int8"). */
bool km_model_name_ok(const char *name);

/* The [llm.models] entry named name, or NULL. */
const km_model *km_model_find(const km_manifest *m, const char *name);

/* Reads and checks path (a krait.toml). NULL with "file:line: what is
** wrong" in err on any error: unknown keys, wrong types, a route claimed
** twice, a store granted but not declared, ... */
km_manifest *km_manifest_load(const char *path, char *err, size_t errlen);

/* Reads manifest text of n bytes as if from file path (absolute: relative
** dirs are resolved against its directory); relative store paths are
** resolved against data_dir instead when it is not NULL. */
km_manifest *km_manifest_parse(const char *text, size_t n, const char *path, const char *data_dir,
                               char *err, size_t errlen);

/* Where a manifest text comes from, for km_manifest_read. */
typedef struct km_source {
  const char *label;           /* names the text in messages ("file:line:") */
  const char *dir;             /* relative dirs are resolved against it */
  const char *data_dir;        /* relative store paths (NULL: dir) */
  bool confined;               /* an artifact's manifest: every path (dir,
                                  site_packages, store paths) must be
                                  relative, without "..", "." or empty
                                  parts (km_path_unconfined) */
} km_source;

/* km_manifest_parse with a label apart from the directory, and the
** confinement of an artifact's manifest. m->path is dir/krait.toml. */
km_manifest *km_manifest_read(const char *text, size_t n, const km_source *src, char *err,
                              size_t errlen);

/* Whether name is allowed for an app or a key-value store: 1 to 64
** letters, digits, '_', '.' or '-', starting with a letter or digit, and
** no "..". (App names become .krait/NAME.krait, store names .krait/NAME.db.) */
bool km_name_ok(const char *name);

/* Why path p is not allowed in an artifact's manifest ("is absolute",
** "has a \"..\" part", ...), or NULL when it is relative and clean. */
const char *km_path_unconfined(const char *p);

/* The manifest text of app a alone (with the stores it is granted), for an
** artifact: dir = "app", site_packages = "site-packages/0".., and store
** paths under the manifest's directory made relative to it. malloc'ed;
** NULL when out of memory. */
char *km_app_format(const km_manifest *m, const km_app *a);

/* Moves the apps and stores of from into into, then frees from. A store
** both declare must be the same; no route may be claimed twice. 0, or -1
** with err (both manifests are left to the caller then). */
int km_manifest_merge(km_manifest *into, km_manifest *from, char *err, size_t errlen);

void km_manifest_free(km_manifest *m);

/* ---- package sets (pkgset.c) ------------------------------------------ */

/* A package set is python.wasm linked again with C-extension packages
** built in (scripts/build-packages.py), installed as the Python home
** HOME/sets/NAME/ (python.wasm, lib -> the base stdlib, site-packages/,
** aot/), NAME being the packages' names sorted, without repeats, joined
** by '+'. Used by `krait python --packages` and the manifest's packages. */
#define KM_PKGSET_MAX 256        /* bytes of a set's name or list, NUL included */
#define KM_PKGSET_NAMES 32       /* packages in one set */

/* Whether name may name a package: lowercase letters, digits, '_', '-'
** (not first); the rule scripts/build-packages.py applies too. */
bool km_pkgset_name_ok(const char *name);

/* The set NAME of the count packages names (any order, repeats allowed)
** into out: 0, or -1 with err naming what is wrong (no name, more than
** KM_PKGSET_NAMES, a bad name, too long for n). */
int km_pkgset_join(const char *const *names, int count, char *out, size_t n, char *err, size_t errn);

/* km_pkgset_join of list, names joined by ',' or '+' ("numpy,markupsafe"
** -> "markupsafe+numpy"); an empty item ("a,,b") is an error. */
int km_pkgset_name(const char *list, char *out, size_t n, char *err, size_t errn);

/* The real path of set name's home under Python home home when it is
** built (python.wasm, lib/python3.11, bin/ and site-packages/ there);
** malloc'ed, else NULL with errno ENOENT (not built) or ENOMEM. */
char *km_pkgset_home(const char *home, const char *name);

/* Whether the set at set_home was linked on home's python.wasm: its
** base.txt names the key in home's sizes.txt (true when home has no
** sizes.txt to compare with). false with why saying what differs: the
** base was built again without `make python`, which relinks the sets. */
bool km_pkgset_current(const char *home, const char *set_home, char *why, size_t n);

/* The sets built under home, sorted and joined by ", " ("none" when
** none), into out. */
void km_pkgset_built(const char *home, char *out, size_t n);

/* ---- variables (variables.c) -------------------------------------------- */

/* Whether name is a variable name as Spin allows it: a lower-case ASCII
** letter, then lower-case letters, digits and '_', no "__", not ending
** in '_', at most 64 bytes. */
bool km_var_name_ok(const char *name);

/* The index of the [variables] entry named by n bytes at name, or -1. */
int km_var_find(const km_manifest *m, const char *name, size_t n);

/* The most [app.variables] entries an app may have, and the most secret
** variables its templates may use (krait serve keeps each in a fixed
** table; more are refused at load, never left out of redaction). */
#define KM_APP_VARS_MAX 64

/* Why template t is wrong given m's [variables] (an unclosed "{{", a bad
** or undeclared name), written into why; NULL when it is fine. */
const char *km_template_check(const km_manifest *m, const char *t, char *why, size_t n);

/* Whether template t refers to a variable (has a "{{ name }}"). */
bool km_template_dynamic(const char *t);

/* Whether template t (checked) refers to variable index v, or with v < 0
** to any secret one. */
bool km_template_uses(const km_manifest *m, const char *t, int v);

/* Template t (checked) with each {{ name }} replaced by values[index of
** name]. malloc'ed; NULL when out of memory. */
char *km_template_expand(const km_manifest *m, const char *t, char *const *values);

/* Template t (checked) with each reference to a secret variable written
** {{!}} and each other one {{?}}: where the secrets sit in its value.
** malloc'ed; NULL when out of memory. */
char *km_template_shape(const km_manifest *m, const char *t);

/* The value of every [variables] entry of m, in order: the environment's
** KRAIT_VARIABLE_<NAME in upper case>, else file's entry (file: a
** --variables-file, NULL: none), else the default. An array of m->nvars
** malloc'ed strings (km_vars_free), or NULL with err naming what is wrong:
** required variables without a value (all of them), a file krait refuses
** to read (not a regular file, readable or writable by group or others, not
** the user's), a bad entry or undeclared names in it. */
char **km_vars_resolve(const km_manifest *m, const char *file, char *err, size_t errlen);

/* Frees what km_vars_resolve returned (n entries). */
void km_vars_free(char **values, int n);

#endif
