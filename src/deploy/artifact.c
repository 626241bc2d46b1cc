/*
** artifact.c -- a deployment's app artifacts: `krait build` writing
** .krait/APP.krait (snapshot, manifest, bundle; signed with --sign), and
** `krait serve ARTIFACT...` checking (--trust), unpacking them into the
** cache and reading their manifests, confined to the serve directory.
*/
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/evp.h>

#include "deploy/deploy_internal.h"
#include "util/file.h"
#include "util/util.h"

char *kx_artifact_path(const km_manifest *m, const km_app *a) {
  char *p = ku_malloc(strlen(m->path) + strlen(a->name) + 32);
  if (!p) return NULL;
  strcpy(p, m->path);
  sprintf(strrchr(p, '/'), "/.krait/%s.krait", a->name);
  return p;
}

bool kx_is_artifact(const char *path) {
  char magic[8];
  FILE *f = fopen(path, "rb");
  bool yes = f && fread(magic, 1, 8, f) == 8 && !memcmp(magic, "KRAITSNP", 8);
  if (f) fclose(f);
  return yes;
}

/* Where unpacked artifacts live: $KRAIT_CACHE, else $XDG_CACHE_HOME/krait,
** else ~/.cache/krait; then /apps (created). malloc'ed, or NULL. */
static char *kx_apps_cache(void) {
  const char *k = getenv("KRAIT_CACHE"), *x = getenv("XDG_CACHE_HOME"), *h = getenv("HOME");
  char *p = ku_malloc(4200);
  if (!p) return NULL;
  if (k && *k) snprintf(p, 4200, "%s", k);
  else if (x && *x) snprintf(p, 4200, "%s/krait", x);
  else snprintf(p, 4200, "%s/.cache/krait", h && *h ? h : "/tmp");
  for (char *s = strchr(p + 1, '/'); s; s = strchr(s + 1, '/')) { *s = '\0'; mkdir(p, 0755); *s = '/'; }
  mkdir(p, 0755);
  strcat(p, "/apps");
  mkdir(p, 0755);
  return p;
}

/* The hex SHA-256 of n bytes. */
static void kx_sha256_hex(const uint8_t *d, size_t n, char out[65]) {
  uint8_t h[32];
  unsigned hn = 32;
  EVP_Digest(d, n, h, &hn, EVP_sha256(), NULL);
  for (int i = 0; i < 32; i++) snprintf(out + 2 * i, 3, "%02x", h[i]);
}

/* Unpacks bundle into cache/SHA (once: a finished one is reused; a new
** one is unpacked beside it and renamed into place). The dir, malloc'ed. */
static char *kx_unpack(const uint8_t *bundle, size_t n, char *err, size_t errlen) {
  char hex[65], *cache = kx_apps_cache(), *dir = ku_malloc(4400), tmp[4400];
  struct stat sb;
  if (!cache || !dir) { ku_free(cache); ku_free(dir); snprintf(err, errlen, "out of memory"); return NULL; }
  kx_sha256_hex(bundle, n, hex);
  snprintf(dir, 4400, "%s/%s", cache, hex);
  snprintf(tmp, sizeof tmp, "%s/.%s.%ld", cache, hex, (long)getpid());
  ku_free(cache);
  if (stat(dir, &sb) == 0 && S_ISDIR(sb.st_mode)) return dir;
  *err = '\0';
  ku_remove_tree(tmp);   /* left by a killed run of this pid */
  if (ka_bundle_extract(bundle, n, tmp, err, errlen) != 0 ||
      (rename(tmp, dir) != 0 && (errno != ENOTEMPTY && errno != EEXIST))) {
    if (!*err) snprintf(err, errlen, "cannot unpack into %s: %s", dir, strerror(errno));
    ku_remove_tree(tmp);
    ku_free(dir);
    return NULL;
  }
  ku_remove_tree(tmp);   /* gone unless another process won the rename */
  return dir;
}

/* Checks that every dir an artifact's manifest names (already confined
** to relative paths) is a directory of its unpacked bundle (under root):
** the app's, the SDK beside it and its site-packages. false with err. */
static bool kx_artifact_dirs(const km_manifest *m, const char *root, char *err, size_t errlen) {
  size_t rn = strlen(root);
  for (int i = 0; i < m->napps; i++) {
    const km_app *a = &m->apps[i];
    char sdk[4200];
    snprintf(sdk, sizeof sdk, "%s", a->dir);
    char *slash = strrchr(sdk, '/');
    if (slash) strcpy(slash, "/sdk");
    const char *what = "dir", *bad = NULL;
    struct stat sb;
    if (stat(a->dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) bad = a->dir;
    else if (stat(sdk, &sb) != 0 || !S_ISDIR(sb.st_mode)) bad = sdk, what = "the SDK beside dir";
    for (int k = 0; !bad && k < a->nsite_packages; k++)
      if (stat(a->site_packages[k], &sb) != 0 || !S_ISDIR(sb.st_mode)) bad = a->site_packages[k], what = "site_packages";
    if (bad) {
      snprintf(err, errlen, "its krait.toml: %s \"%s\" of app \"%s\" is not a directory of its bundle "
               "(krait build writes dir = \"app\" and site_packages = [\"site-packages/0\", ...]): "
               "the manifest was changed", what, strlen(bad) > rn ? bad + rn + 1 : bad, a->name);
      return false;
    }
  }
  return true;
}

/* Reads one artifact (its signature checked against the trusted keys, if
** any, into *id as read): unpacked, its manifest parsed confined (dirs
** inside the unpacked copy, store paths relative to the current
** directory, neither absolute nor with ".."). */
static km_manifest *kx_artifact_load(const char *path, ka_key *const *trust, int ntrust, ka_file_id *id,
                                     char *err, size_t errlen) {
  char *dir = NULL, what[1024] = "", cwd[4096];
  ka_artifact art;
  km_manifest *m = NULL;
  if (ka_artifact_read(path, trust, ntrust, &art, what, sizeof what) == 0) {
    *id = art.id;
    if (art.signer) fprintf(stderr, "krait: %s: signed by trusted key %s\n", path, ka_key_name(art.signer));
    dir = kx_unpack(art.bundle, art.bundle_len, what, sizeof what);
    km_source src = { "its krait.toml", dir, NULL, true };
    if (dir && (src.data_dir = getcwd(cwd, sizeof cwd)))
      m = km_manifest_read(art.manifest, strlen(art.manifest), &src, what, sizeof what);
    if (m && !kx_artifact_dirs(m, dir, what, sizeof what)) {
      km_manifest_free(m);
      m = NULL;
    }
    ka_artifact_free(&art);
  }
  if (!m) snprintf(err, errlen, "artifact %s: %s", path, what[0] ? what : strerror(errno));
  ku_free(dir);
  return m;
}

km_manifest *kx_artifacts_load(char **paths, int n, ka_key *const *trust, int ntrust, ka_file_id *ids,
                               char *err, size_t errlen) {
  km_manifest *all = NULL;
  for (int i = 0; i < n; i++) {
    km_manifest *m = kx_artifact_load(paths[i], trust, ntrust, &ids[i], err, errlen);
    if (!m) { km_manifest_free(all); return NULL; }
    if (m->napps != 1) {
      snprintf(err, errlen, "artifact %s: holds %d apps, not 1", paths[i], m->napps);
      km_manifest_free(m);
      km_manifest_free(all);
      return NULL;
    }
    ku_free(m->path);   /* the artifact names the app in messages */
    m->path = ku_strdup(paths[i]);
    if (!all) { all = m; continue; }
    if (km_manifest_merge(all, m, err, errlen) != 0) {
      km_manifest_free(m);
      km_manifest_free(all);
      return NULL;
    }
  }
  return all;
}

int kx_build_one(const km_manifest *m, int i, ka_app *app, const ka_app_config *cfg, const ka_key *sign) {
  char err[1024] = "", *path = kx_artifact_path(m, &m->apps[i]), *toml = km_app_format(m, &m->apps[i]);
  ka_bundle_stats st;
  size_t blen = 0;
  uint8_t *bundle = path && toml ? ka_bundle_make(app, cfg, &blen, &st, err, sizeof err) : NULL;
  int rc = -1;
  if (bundle) {
    char dir[4200];
    snprintf(dir, sizeof dir, "%s", path);
    *strrchr(dir, '/') = '\0';
    mkdir(dir, 0755);
    rc = ka_app_save(app, path, toml, bundle, blen, sign, err, sizeof err) ? -1 : 0;
  }
  struct stat sb;
  if (rc == 0 && stat(path, &sb) == 0) {
    fprintf(stderr, "krait build: %s: %lld KiB (snapshot of %llu KiB memory; %llu files, %llu KiB, "
            "bundled in %zu KiB", path, (long long)sb.st_size >> 10,
            (unsigned long long)(ka_app_snapshot_bytes(app) >> 10), (unsigned long long)st.files,
            (unsigned long long)(st.bytes >> 10), blen >> 10);
    if (st.site_entries)
      fprintf(stderr, "; %llu of %llu site-packages entries, the ones it imports",
              (unsigned long long)st.site_bundled, (unsigned long long)st.site_entries);
    if (cfg->pkgset_site)   /* a set's home is HOME/sets/NAME */
      fprintf(stderr, "; the python.wasm of package set %s by SHA-256, not embedded: a host serving it "
              "needs the set built)", strrchr(cfg->python_home, '/') + 1);
    else
      fprintf(stderr, "; python.wasm by SHA-256, not embedded)");
    fprintf(stderr, "%s%s\n", sign ? "; signed with " : "", sign ? ka_key_name(sign) : "");
    if (st.links_left_out)
      fprintf(stderr, "krait build: left out %llu symlink%s of site-packages leading out of it, "
              "which the app cannot read unbuilt either; the first: %s\n",
              (unsigned long long)st.links_left_out, st.links_left_out == 1 ? "" : "s", st.first_left_out);
  } else {
    fprintf(stderr, "Error: %s\n", err[0] ? err : "out of memory");
  }
  ku_free(bundle);
  ku_free(toml);
  ku_free(path);
  return rc;
}

int kx_build_save(const km_manifest *m, ka_app **apps, const kx_env *env) {
  for (int i = 0; i < m->napps; i++) {
    kx_app_cfg c;
    int rc = kx_app_config(m, &m->apps[i], env, &c) == 0 ? kx_build_one(m, i, apps[i], &c.cfg, env->sign) : -1;
    kx_app_config_release(&c);
    if (rc != 0) return -1;
  }
  return 0;
}
