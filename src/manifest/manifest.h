/*
** manifest.h -- krait.toml as a model (prefix km_): apps, their routes,
** limits, variables and key-value grants, and the stores. Owns the schema
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

/* One [sqlite_databases.NAME] table (or the implied "default"). */
typedef struct km_sqldb {
  char *name;
  char *path;                  /* the file (relative: to the data dir) */
} km_sqldb;

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
  char **sqldbs;               /* granted SQLite database names */
  int nsqldbs;
  char **var_names, **var_values;
  int nvars;
  uint64_t timeout_ms, fuel, max_memory_mb;
  uint64_t max_disk_mb;        /* bytes an instance may add to host files
                                  (MiB; 0: no limit; default 64) */
  bool debug;
} km_app;

typedef struct km_manifest {
  char *path;                  /* the krait.toml read (absolute) */
  km_app *apps;
  int napps;
  km_store *stores;
  int nstores;
  km_sqldb *sqldbs;            /* the SQLite databases (sqlite binding) */
  int nsqldbs;
} km_manifest;

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

#endif
