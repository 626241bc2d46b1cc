/*
** load.c -- krait_module_load: a module made from a file, its SHA-256 (the
** AOT cache's key, what snapshots bind to) remembered by the file's
** identity (memo.c) instead of hashed at every start. Not decoding or
** validation (the engine's krait_module_new path).
*/
#include "krait_host.h"
#include "aot/aot_internal.h"
#include "platform/platform.h"
#include "util/file.h"
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <unistd.h>

/* Fills err with an error of kind kind naming the file and the reason. */
static krait_module *fail(krait_error *err, krait_errkind kind, const char *path, const char *why) {
  err->kind = kind;
  ku_fmt(err->message, sizeof err->message, "cannot read '%s': %s", path, why);
  return NULL;
}

/* Parses 64 hex digits into 32 bytes; false on anything else. */
static bool unhex(const char *hex, uint8_t out[32]) {
  for (int i = 0; i < 64; i++) {
    const char *d = strchr("0123456789abcdef", hex[i]);
    if (!hex[i] || !d) return false;
    uint8_t v = (uint8_t)(d - "0123456789abcdef");
    out[i / 2] = (uint8_t)(i % 2 ? (out[i / 2] << 4) | v : v);
  }
  return hex[64] == 0;
}

/* The SHA-256 of bytes read (or viewed) from a file whose identity was sb
** before and after the read (same): remembered, else computed (and
** remembered when the file did not change while read). */
static void file_sha(const uint8_t *bytes, size_t len, const struct stat *sb, bool same, uint8_t sha[32]) {
  char hex[65];
  if (same && kaot_memo_get("sha256", sb, "module", hex) && unhex(hex, sha)) return;
  unsigned n = 32;
  EVP_Digest(bytes, len, sha, &n, EVP_sha256(), NULL);
  for (int i = 0; i < 32; i++) snprintf(hex + 2 * i, 3, "%02x", sha[i]);
  if (same) kaot_memo_put("sha256", sb, "module", hex);
}

/* The module of a file with native code compiled, made from a read-only
** view of the file (no copy: python.wasm is 23 MB): only for a file that
** has not changed for KAOT_MEMO_AGE_S (a change within one timestamp tick
** keeps its identity) and keeps its identity until the module is made,
** so the bytes decoded are the bytes hashed. NULL with *fallback set when
** the file is to be read instead (no native code, a change, no view). */
static krait_module *load_view(krait_engine *e, int fd, const struct stat *before, bool *fallback,
                               krait_error *err) {
  *fallback = true;
  if (e->cfg.tier == KRAIT_TIER_INTERP || !S_ISREG(before->st_mode) || before->st_size <= 0 ||
      !kaot_memo_settled(before))
    return NULL;
  size_t len = (size_t)before->st_size;
  const uint8_t *view = kp_view_image(len, fd);
  if (!view) return NULL;
  uint8_t sha[32];
  file_sha(view, len, before, true, sha);
  bool no_native;
  krait_module *m = kr_module_view(e, view, len, sha, &no_native, err);
  struct stat after;
  if (m && !(fstat(fd, &after) == 0 && kaot_same_file(before, &after))) {
    krait_module_free(m);  /* changed meanwhile: read it as it is now */
    return NULL;
  }
  *fallback = !m && no_native;
  return m;
}

krait_module *krait_module_load(krait_engine *e, const char *path, krait_error *err) {
  krait_error dummy;
  if (!err) err = &dummy;
  memset(err, 0, sizeof *err);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fail(err, KRAIT_ERR_IO, path, strerror(errno));
  struct stat before, after;
  if (fstat(fd, &before) != 0) {
    int why = errno;
    close(fd);
    return fail(err, KRAIT_ERR_IO, path, strerror(why));
  }
  if (S_ISDIR(before.st_mode)) {
    close(fd);
    return fail(err, KRAIT_ERR_IO, path, "it is a directory");
  }
  bool fallback;
  krait_module *m = load_view(e, fd, &before, &fallback, err);
  if (m || !fallback) {
    close(fd);
    return m;
  }
  memset(err, 0, sizeof *err);
  size_t len = 0;
  uint8_t *bytes = ku_read_fd(fd, &len);
  int why = errno;
  bool same = bytes && S_ISREG(before.st_mode) && fstat(fd, &after) == 0 &&
              kaot_same_file(&before, &after) && (uint64_t)after.st_size == len;
  close(fd);
  if (!bytes) return fail(err, why == ENOMEM ? KRAIT_ERR_NOMEM : KRAIT_ERR_IO, path, strerror(why));
  if (e->cfg.tier == KRAIT_TIER_INTERP) return kr_module_adopt(e, bytes, len, NULL, err);
  uint8_t sha[32];
  file_sha(bytes, len, &before, same, sha);
  return kr_module_adopt(e, bytes, len, sha, err);
}
