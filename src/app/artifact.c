/*
** artifact.c -- an app's built snapshot on disk: the key of what it was
** built from (config, app files, site-packages), saving, and loading it
** back only when nothing changed since (python.wasm is checked by hash).
*/
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <openssl/evp.h>

#include "app/app_internal.h"

/* Feeds "path size mtime" of every file under dir (sorted, recursive,
** skipping __pycache__ and dot entries) into the digest. */
static void ka_key_dir(EVP_MD_CTX *md, const char *dir, int depth) {
  struct dirent **names;
  int n = depth > 16 ? -1 : scandir(dir, &names, NULL, alphasort);
  for (int i = 0; i < n; i++) {
    const char *name = names[i]->d_name;
    char path[4096], line[4400];
    struct stat sb;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (name[0] != '.' && strcmp(name, "__pycache__") && stat(path, &sb) == 0) {
      if (S_ISDIR(sb.st_mode)) ka_key_dir(md, path, depth + 1);
      int len = snprintf(line, sizeof line, "%s %lld %lld.%09ld\n", path, (long long)sb.st_size,
                         (long long)sb.st_mtim.tv_sec, sb.st_mtim.tv_nsec);
      EVP_DigestUpdate(md, line, (size_t)len);
    }
    free(names[i]);
  }
  if (n >= 0) free(names);
}

/* The build key of cfg: config JSON, variables, limits, the WASI layout
** (preopens and environ), the app's and the SDK's files, site-packages. */
void ka_build_key(ka_app *a, const ka_app_config *cfg) {
  EVP_MD_CTX *md = EVP_MD_CTX_new();
  uint8_t h[32];
  unsigned hn = 32;
  char lim[128];
  EVP_DigestInit_ex(md, EVP_sha256(), NULL);
  EVP_DigestUpdate(md, a->config_json, strlen(a->config_json));
  for (int i = 0; i < cfg->nvars; i++) {
    EVP_DigestUpdate(md, cfg->vars[i].name, strlen(cfg->vars[i].name) + 1);
    EVP_DigestUpdate(md, cfg->vars[i].value, strlen(cfg->vars[i].value) + 1);
  }
  snprintf(lim, sizeof lim, "%llu", (unsigned long long)cfg->max_memory);
  EVP_DigestUpdate(md, lim, strlen(lim));
  /* the WASI state the snapshot depends on: preopens (their fds, in this
  ** order, are in wasi-libc's table inside the snapshot) and environ */
  for (int i = 0; i < a->ndirs; i++)
    EVP_DigestUpdate(md, a->dirs[i].guest_path, strlen(a->dirs[i].guest_path) + 1);
  for (int i = 0; i < a->envc; i++) EVP_DigestUpdate(md, a->envp[i], strlen(a->envp[i]) + 1);
  ka_key_dir(md, cfg->app_dir, 0);
  ka_key_dir(md, cfg->sdk_dir, 0);
  for (int i = 0; i < cfg->nsite_packages; i++) {
    EVP_DigestUpdate(md, cfg->site_packages[i], strlen(cfg->site_packages[i]));
    ka_key_dir(md, cfg->site_packages[i], 14);  /* the top level only */
  }
  EVP_DigestFinal_ex(md, h, &hn);
  EVP_MD_CTX_free(md);
  for (int i = 0; i < 32; i++) snprintf(a->build_key + 2 * i, 3, "%02x", h[i]);
}

/* The extra bytes of an artifact's snapshot file: "KRAITAPP", u32
** version, the build key (64 hex digits), u32 length and the manifest
** text, u64 length and the bundle. */
#define KA_ART_MAGIC "KRAITAPP"
#define KA_ART_VERSION 1u

typedef struct ka_art {
  const char *key;             /* 64 bytes */
  const char *manifest;
  uint32_t manifest_len;
  const uint8_t *bundle;
  uint64_t bundle_len;
} ka_art;

/* Splits extra into its parts; false when it is not an artifact's. */
static bool ka_art_parse(const uint8_t *x, size_t n, ka_art *out) {
  uint32_t v, mn;
  uint64_t bn;
  if (n < 8 + 4 + 64 + 4 || memcmp(x, KA_ART_MAGIC, 8)) return false;
  memcpy(&v, x + 8, 4);
  memcpy(&mn, x + 76, 4);
  if (v != KA_ART_VERSION || mn > n - 80 || n - 80 - mn < 8) return false;
  memcpy(&bn, x + 80 + mn, 8);
  if (bn != n - 88 - mn) return false;
  *out = (ka_art){ (const char *)x + 12, (const char *)x + 80, mn, x + 88 + mn, bn };
  return true;
}

/* Loads cfg->snapshot when it exists. Returns 1 when loaded, 0 when there
** is none (boot instead), -1 with err when it is stale or damaged. A
** deployed artifact (cfg->artifact) must load and is not compared. */
int ka_try_snapshot(ka_app *a, const ka_app_config *cfg, char *err, size_t errlen) {
  struct stat sb;
  if (!cfg->snapshot || (!cfg->artifact && stat(cfg->snapshot, &sb) != 0)) return 0;
  void *extra = NULL;
  size_t n = 0;
  krait_error e;
  ka_art art;
  a->snap = krait_snapshot_load(a->module, cfg->snapshot, &extra, &n, &e);
  if (!a->snap) {
    snprintf(err, errlen, "app %s: %s (run: krait build)", a->name, e.message);
    return -1;
  }
  bool ok = extra && ka_art_parse(extra, n, &art);
  bool fresh = ok && (cfg->artifact || memcmp(art.key, a->build_key, 64) == 0);
  free(extra);
  if (!fresh) {
    krait_snapshot_free(a->snap);
    a->snap = NULL;
    snprintf(err, errlen, ok ? "app %s: %s is stale: the app's files or settings changed since "
                               "it was built (run: krait build)"
                             : "app %s: %s is not a krait build artifact (run: krait build)",
             a->name, cfg->snapshot);
    return -1;
  }
  return 1;
}

int ka_app_save(const ka_app *a, const char *path, const char *manifest, const uint8_t *bundle,
                size_t bundle_len, char *err, size_t errlen) {
  uint32_t v = KA_ART_VERSION, mn = (uint32_t)strlen(manifest);
  uint64_t bn = bundle_len;
  size_t n = 88 + (size_t)mn + bundle_len;
  uint8_t *x = malloc(n);
  if (!x) { snprintf(err, errlen, "app %s: out of memory", a->name); return -1; }
  memcpy(x, KA_ART_MAGIC, 8);
  memcpy(x + 8, &v, 4);
  memcpy(x + 12, a->build_key, 64);
  memcpy(x + 76, &mn, 4);
  memcpy(x + 80, manifest, mn);
  memcpy(x + 80 + mn, &bn, 8);
  memcpy(x + 88 + mn, bundle, bundle_len);
  krait_error e;
  int rc = krait_snapshot_save(a->snap, path, x, n, &e);
  free(x);
  if (rc) snprintf(err, errlen, "app %s: %s", a->name, e.message);
  return rc;
}

int ka_artifact_read(const char *path, char **manifest, uint8_t **bundle, size_t *bundle_len,
                     char *err, size_t errlen) {
  void *extra;
  size_t n;
  krait_error e;
  ka_art art;
  *manifest = NULL;
  *bundle = NULL;
  if (krait_snapshot_read_extra(path, &extra, &n, &e) != 0) {
    snprintf(err, errlen, "%s", e.message);
    return -1;
  }
  if (!ka_art_parse(extra, n, &art)) {
    free(extra);
    snprintf(err, errlen, "%s is a snapshot but not an app artifact of this krait (run: krait build)",
             path);
    return -1;
  }
  *manifest = strndup(art.manifest, art.manifest_len);
  *bundle = malloc(art.bundle_len + 1);
  if (*bundle) memcpy(*bundle, art.bundle, art.bundle_len);
  *bundle_len = art.bundle_len;
  free(extra);
  if (*manifest && *bundle) return 0;
  free(*manifest);
  free(*bundle);
  snprintf(err, errlen, "out of memory");
  return -1;
}
