/*
** websnap.c -- the "python ready" snapshot that web/krait.js starts from
** (`krait web-snapshot WEBDIR`). Boots WEBDIR/python/python.wasm exactly
** as the page's worker does (same argv, environ, preopens and zips, the
** "browser" style) and writes WEBDIR/python/python.snapshot portable
** (krait_snapshot_save_portable); for a package set, its python.wasm with
** its site-packages zip first on sys.path and its packages imported at
** boot (the index's "imports", as the worker asks), into the set's
** directory.
** Owns that layout's native twin only.
*/
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "app/app.h"
#include "snapfile/portable.h"
#include "util/file.h"

/* The worker's environ (web/krait-worker.js), in its order; entry 1 is
** PYTHONPATH, which a package set's page begins with its site-packages. */
static const char *const ka_web_env[] = {
  "PYTHONHOME=/usr/local", "PYTHONPATH=" KA_WEB_SDK, "PYTHONDONTWRITEBYTECODE=1",
  "HOME=/home", "PWD=/home", "PYTHONUNBUFFERED=1",
};
#define KA_WEB_SET_PATH "PYTHONPATH=" KA_WEB_SITE ":" KA_WEB_SDK

/* The worker's answer to the config import (krait-worker.js); a set's
** adds "preload", the modules krait_runtime's browser boot imports. */
static const char ka_web_config[] =
  "{\"name\":\"browser\",\"style\":\"browser\",\"module\":\"\",\"wsgi\":\"\",\"kv\":[],\"debug\":true}";

/* config(buf, cap) -> len; env is the config's text */
static int ka_web_config_fn(krait_caller *c, void *env, krait_slot *ar) {
  krait_memory *m = krait_caller_memory(c);
  const char *config = env;
  uint32_t buf = (uint32_t)ar[0].i32, cap = (uint32_t)ar[1].i32, n = (uint32_t)strlen(config);
  if (!m || (uint64_t)buf + cap > krait_memory_size(m)) { ar[0].i32 = -2; return 0; }
  if (n <= cap) memcpy(krait_memory_data(m) + buf, config, n);
  ar[0].i32 = (int32_t)n;
  return 0;
}

/* The config of package set name: ka_web_config with "preload", the set's
** "imports" in webdir's KA_WEB_SET_INDEX (scripts/web-sets.py writes it;
** each a dotted module name). A malloc'ed string, or NULL with why. */
static char *ka_web_set_config(const char *webdir, const char *name, char *why, size_t whylen) {
  char path[4200];
  snprintf(path, sizeof path, "%s/%s", webdir, KA_WEB_SET_INDEX);
  json_error_t je;
  json_t *index = json_load_file(path, 0, &je), *config = json_loads(ka_web_config, 0, NULL);
  json_t *set = json_object_get(json_object_get(index, "sets"), name), *imports = json_object_get(set, "imports");
  char *text = NULL;
  if (!index) snprintf(why, whylen, "cannot read %.300s: %.120s (line %d)", path, je.text, je.line);
  else if (!set)
    snprintf(why, whylen, "%.300s has no package set '%.100s' (make web publishes those of build/python/sets/)", path, name);
  else if (!json_is_array(imports)) snprintf(why, whylen, "%.300s lists no \"imports\" of the set '%.100s'", path, name);
  else {
    size_t i;
    json_t *v;
    json_array_foreach(imports, i, v) {
      const char *s = json_string_value(v);
      if (!s || !*s || strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.") != strlen(s)) {
        snprintf(why, whylen, "%.300s: the set '%.100s' has an import %zu that is not a module name", path, name, i);
        break;
      }
    }
    if (i == json_array_size(imports) && config && json_object_set(config, "preload", imports) == 0)
      text = json_dumps(config, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (!text && !why[0]) snprintf(why, whylen, "out of memory");
  }
  json_decref(index);
  json_decref(config);
  return text;
}

/* boot_info(json, len) -> 0 */
static int ka_web_ok_fn(krait_caller *c, void *env, krait_slot *ar) {
  ar[0].i32 = 0;
  return 0;
}

/* Copies file src to dst; 0 or -1. */
static int ka_copy(const char *src, const char *dst) {
  int in = open(src, O_RDONLY | O_CLOEXEC), out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  char buf[65536];
  ssize_t n = 0;
  while (in >= 0 && out >= 0 && (n = read(in, buf, sizeof buf)) > 0)
    if (write(out, buf, (size_t)n) != n) { n = -1; break; }
  if (in >= 0) close(in);
  if (out >= 0) close(out);
  return in >= 0 && out >= 0 && n == 0 ? 0 : -1;
}

/* Makes the page's file system under tmp: lib/ (the stdlib zip and an
** empty python3.11/lib-dynload), krait/ (sdk.zip, and setdir's
** site-packages zip when setdir is not NULL), home/, tmp/. */
static int ka_web_tree(const char *web, const char *setdir, const char *tmp) {
  char a[4200], b[4200];
  const char *dirs[] = { "lib", "lib/python3.11", "lib/python3.11/lib-dynload", "krait", "home", "tmp" };
  for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
    snprintf(a, sizeof a, "%s/%s", tmp, dirs[i]);
    if (mkdir(a, 0755) != 0) return -1;
  }
  snprintf(a, sizeof a, "%s/python/python311.zip", web);
  snprintf(b, sizeof b, "%s/lib/python311.zip", tmp);
  if (ka_copy(a, b) != 0) return -1;
  if (setdir) {
    snprintf(a, sizeof a, "%s/%s", setdir, KA_WEB_SITE_FILE);
    snprintf(b, sizeof b, "%s/krait/%s", tmp, KA_WEB_SITE_FILE);
    if (ka_copy(a, b) != 0) return -1;
  }
  snprintf(a, sizeof a, "%s/python/sdk.zip", web);
  snprintf(b, sizeof b, "%s/krait/sdk.zip", tmp);
  return ka_copy(a, b);
}

/* Boots the module over the tree at tmp and saves the snapshot to out;
** 0, or -1 with why. */
static int ka_web_boot(krait_engine *e, krait_module *m, const char *config, bool set, const char *tmp,
                       const char *out, char *why, size_t whylen) {
  char paths[4][4200];
  const char *guest[] = { "/usr/local/lib", "/krait", "/home", "/tmp" }, *sub[] = { "lib", "krait", "home", "tmp" };
  krait_wasi_preopen pre[4];
  for (int i = 0; i < 4; i++) {
    snprintf(paths[i], sizeof paths[i], "%s/%s", tmp, sub[i]);
    pre[i] = (krait_wasi_preopen){ paths[i], guest[i], 0 };
  }
  const char *argv[] = { "python" }, *env[6];
  memcpy(env, ka_web_env, sizeof env);
  if (set) env[1] = KA_WEB_SET_PATH;
  int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  krait_wasi_config wc = { 1, argv, 6, env, null_fd, 2, 2, 4, pre, 0 };
  krait_store *s = krait_store_new(e);
  krait_linker *l = s ? krait_linker_new(s) : NULL;
  krait_error err = { 0 };
  krait_instance *in = NULL;
  krait_snapshot *sn = NULL;
  int rc = -1;
  if (l && krait_wasi_define(l, &wc) == 0 && ka_define_stubs(l) == 0 &&
      krait_linker_define_func(l, "krait", "config", "ii:i", ka_web_config_fn, (void *)config) == 0 &&
      krait_linker_define_func(l, "krait", "boot_info", "ii:i", ka_web_ok_fn, NULL) == 0 &&
      (in = krait_instantiate(l, m, &err))) {
    krait_extern ext;
    krait_val res;
    if (krait_instance_export(in, "krait_init", &ext) != 0)
      snprintf(err.message, sizeof err.message, "python.wasm exports no krait_init");
    else if (krait_func_call(s, ext.of.func, NULL, 0, &res, 1, &err) == 0 && res.of.i32 != 0)
      snprintf(err.message, sizeof err.message, "krait_init failed (its error is above)");
    else if (!err.message[0] && (sn = krait_snapshot_take(in, &err)))
      rc = krait_snapshot_save_portable(sn, out, &err);
  }
  if (rc != 0) snprintf(why, whylen, "%s", err.message[0] ? err.message : "out of memory");
  krait_snapshot_free(sn);
  if (l) krait_linker_free(l);
  if (s) krait_store_free(s);
  if (null_fd >= 0) close(null_fd);
  return rc;
}

/* Whether name can be a package set's (kc_pkgset_name's names joined by
** '+'): lowercase letters, digits, '_', '-' and '+', nothing else. */
static bool ka_web_set_name_ok(const char *name) {
  size_t n = strlen(name);
  if (n == 0 || n > 200) return false;
  for (const char *c = name; *c; c++)
    if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_' || *c == '-' || *c == '+')) return false;
  return true;
}

int ka_web_snapshot(const char *webdir, const char *set, krait_tier tier, char *out, size_t outlen, char *err,
                    size_t errlen) {
  char wasm[4200], dir[4000], tmp[] = "/tmp/krait-websnap-XXXXXX", why[512] = "";
  if (set && !ka_web_set_name_ok(set)) {
    snprintf(err, errlen, "'%s' is not a package set's name (lowercase letters, digits, '_', '-', '+')", set);
    return -1;
  }
  if (set) snprintf(dir, sizeof dir, "%s/%s/%s", webdir, KA_WEB_SETS, set);
  else snprintf(dir, sizeof dir, "%s/python", webdir);
  snprintf(wasm, sizeof wasm, "%s/python.wasm", dir);
  snprintf(out, outlen, "%s/python.snapshot", dir);
  char *setconfig = set ? ka_web_set_config(webdir, set, why, sizeof why) : NULL;
  if (set && !setconfig) {
    snprintf(err, errlen, "%s", why);
    return -1;
  }
  size_t n = 0;
  uint8_t *bytes = ku_read_file(wasm, &n, why, sizeof why);
  if (!bytes) {
    snprintf(err, errlen, "cannot read %s: %s", wasm, why);
    free(setconfig);
    return -1;
  }
  krait_error e;
  krait_config kc;
  krait_config_default(&kc);
  kc.tier = tier;
  krait_engine *eng = krait_engine_new(&kc, &e);
  krait_module *m = eng ? krait_module_new(eng, bytes, n, &e) : NULL;
  free(bytes);
  int rc = -1;
  if (!m) snprintf(err, errlen, "%s: %s", wasm, e.message);
  else if (!mkdtemp(tmp) || ka_web_tree(webdir, set ? dir : NULL, tmp) != 0)
    snprintf(err, errlen, "cannot lay out the page's files: %s", strerror(errno));
  else if ((rc = ka_web_boot(eng, m, set ? setconfig : ka_web_config, set != NULL, tmp, out, why, sizeof why)) != 0)
    snprintf(err, errlen, "%s", why);
  free(setconfig);
  ku_remove_tree(tmp);   /* nothing when mkdtemp failed */
  if (m) krait_module_free(m);
  if (eng) krait_engine_free(eng);
  return rc;
}
