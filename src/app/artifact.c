/*
** artifact.c -- an app's built snapshot on disk: the key of what it was
** built from (config, app files, site-packages), saving (and signing) it,
** reading an artifact back (signature checked against trusted keys), and
** loading it only when nothing changed since (python.wasm by hash).
*/
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/evp.h>
#include <zlib.h>

#include "krait_host.h"
#include "app/app_internal.h"
#include "app/sign.h"
#include "util/cursor.h"

/* Feeds "path size mtime" of every file under dir that a bundle would
** hold (sorted, recursive; not what ka_bundle_skips names nor the excluded
** files) into the digest. Directories add nothing of their own: their
** mtimes change with any entry made or removed in them, bundled or not. */
static void ka_key_dir(EVP_MD_CTX *md, const char *dir, int depth, const ka_excluded *skip) {
  struct dirent **names;
  int n = depth > 16 ? -1 : scandir(dir, &names, NULL, alphasort);
  for (int i = 0; i < n; i++) {
    const char *name = names[i]->d_name;
    char path[4096], line[4400];
    struct stat sb;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (!ka_bundle_skips(name) && stat(path, &sb) == 0 && !ka_excluded_has(skip, &sb)) {
      if (S_ISDIR(sb.st_mode)) ka_key_dir(md, path, depth + 1, skip);
      else if (S_ISREG(sb.st_mode)) {
        int len = snprintf(line, sizeof line, "%s %lld %lld.%09ld\n", path, (long long)sb.st_size,
                           (long long)sb.st_mtim.tv_sec, sb.st_mtim.tv_nsec);
        EVP_DigestUpdate(md, line, (size_t)len);
      }
    }
    free(names[i]);   /* scandir's, from libc's malloc */
  }
  if (n >= 0) free(names);
}

/* The build key of cfg: config JSON, variables, limits, the WASI layout
** (preopens and environ), the app's and the SDK's files, the package
** set's site-packages, site-packages. */
void ka_build_key(ka_app *a, const ka_app_config *cfg) {
  EVP_MD_CTX *md = EVP_MD_CTX_new();
  uint8_t h[32];
  unsigned hn = 32;
  char lim[128];
  ka_excluded skip;
  ka_excluded_init(&skip, cfg);
  EVP_DigestInit_ex(md, EVP_sha256(), NULL);
  EVP_DigestUpdate(md, a->config_json, strlen(a->config_json));
  for (int i = 0; i < cfg->nvars; i++) {   /* templates: values are resolved at serve time */
    const char *t = cfg->vars[i].template ? cfg->vars[i].template : cfg->vars[i].value;
    EVP_DigestUpdate(md, cfg->vars[i].name, strlen(cfg->vars[i].name) + 1);
    EVP_DigestUpdate(md, t, strlen(t) + 1);
  }
  snprintf(lim, sizeof lim, "%llu", (unsigned long long)cfg->max_memory);
  EVP_DigestUpdate(md, lim, strlen(lim));
  /* the WASI state the snapshot depends on: preopens (their fds, in this
  ** order, are in wasi-libc's table inside the snapshot) and environ */
  for (int i = 0; i < a->ndirs; i++)
    EVP_DigestUpdate(md, a->dirs[i].guest_path, strlen(a->dirs[i].guest_path) + 1);
  for (int i = 0; i < a->envc; i++) EVP_DigestUpdate(md, a->envp[i], strlen(a->envp[i]) + 1);
  ka_key_dir(md, cfg->app_dir, 0, &skip);
  ka_key_dir(md, cfg->sdk_dir, 0, &skip);
  if (cfg->pkgset_site) {   /* the package set's (its python.wasm is checked by hash) */
    EVP_DigestUpdate(md, cfg->pkgset_site, strlen(cfg->pkgset_site) + 1);
    ka_key_dir(md, cfg->pkgset_site, 0, &skip);
  }
  for (int i = 0; i < cfg->nsite_packages; i++) {
    EVP_DigestUpdate(md, cfg->site_packages[i], strlen(cfg->site_packages[i]));
    ka_key_dir(md, cfg->site_packages[i], 14, &skip);  /* the top level only */
  }
  EVP_DigestFinal_ex(md, h, &hn);
  EVP_MD_CTX_free(md);
  for (int i = 0; i < 32; i++) snprintf(a->build_key + 2 * i, 3, "%02x", h[i]);
}

/* ---- the format ----------------------------------------------------------
** An artifact is a snapshot file (src/snapfile/snapfile.c: magic
** "KRAITSNP", version 2, python.wasm's SHA-256, memory and table state,
** the embedder's extra bytes, memory 0's pages, then a CRC-32 of all that)
** whose extra bytes are, little-endian:
**   "KRAITAPP", u32 version (2), the build key (64 hex digits),
**   u32 length and the manifest (the app's own krait.toml),
**   u64 length and the bundle (bundle.c),
**   the signature block: "KRAITSIG", u32 scheme (0 unsigned, 1 Ed25519),
**   the signer's public key (32 bytes), the signature (64 bytes).
** Version 1 had no signature block; it is still read, as unsigned.
**
** The signature is pure Ed25519 over the 108 bytes "krait artifact
** signature v1" NUL, u64 the file's length, u64 the offset of the 64
** signature bytes in it, and the SHA-512 of the whole file but its last
** 4 bytes (the CRC-32, which follows from the rest), read with the 64
** signature bytes as zeros. It thus covers every byte the loader reads:
** the snapshot header (python.wasm's hash), globals, tables, memory, the
** build key, manifest, bundle, scheme and public key; moving the block
** changes the offset signed. */
#define KA_ART_MAGIC "KRAITAPP"
#define KA_ART_VERSION 2u
#define KA_SIG_MAGIC "KRAITSIG"
#define KA_SIG_LEN (8 + 4 + KA_KEY_PUBLIC + KA_KEY_SIGNATURE)
#define KA_SIG_DOMAIN "krait artifact signature v1"
#define KA_SIG_MESSAGE (sizeof KA_SIG_DOMAIN + 16 + 64)
#define KA_FILE_MAX ((size_t)4 << 30)
enum { KA_SIG_NONE = 0, KA_SIG_ED25519 = 1 };

typedef struct ka_art {
  const char *key;             /* 64 bytes */
  const char *manifest;
  uint32_t manifest_len;
  const uint8_t *bundle;
  uint64_t bundle_len;
  const uint8_t *sig;          /* the signature block, or NULL (version 1) */
} ka_art;

/* Splits extra into its parts; false when it is not an artifact's. */
static bool ka_art_parse(const uint8_t *x, size_t n, ka_art *out) {
  char msg[160];
  ku_fail fail = { .msg = msg, .cap = sizeof msg };
  ku_cursor c = { x, x + n, x, "artifact", &fail };
  if (setjmp(fail.jb)) return false;
  const uint8_t *magic = ku_bytes(&c, 8);
  uint32_t v = ku_fixed32(&c);
  if (memcmp(magic, KA_ART_MAGIC, 8) || (v != 1 && v != KA_ART_VERSION)) return false;
  out->key = (const char *)ku_bytes(&c, 64);
  out->manifest_len = ku_fixed32(&c);
  out->manifest = (const char *)ku_bytes(&c, out->manifest_len);
  out->bundle_len = ku_fixed64(&c);
  if (out->bundle_len > (size_t)(c.end - c.p)) return false;
  out->bundle = ku_bytes(&c, (size_t)out->bundle_len);
  out->sig = v == 1 ? NULL : ku_bytes(&c, KA_SIG_LEN);
  return ku_eof(&c) && (!out->sig || !memcmp(out->sig, KA_SIG_MAGIC, 8));
}

/* Finds the extra bytes in the n bytes of a snapshot file before its
** CRC, stepping over snapfile.c's version-2 layout: magic, version,
** module SHA-256, u32 pages, u64 size, u32 counts of globals, tables,
** element and data segments, the globals (u64 each), each table (u32
** size, u32 refs), the segments' u32 lengths, then u32 length and the
** extra bytes. Their offset and length, or false with err. */
static bool ka_find_extra(const uint8_t *b, size_t n, size_t *off, size_t *len, char *err, size_t errlen) {
  ku_fail fail = { .msg = err, .cap = errlen };
  ku_cursor c = { b, b + n, b, "snapshot", &fail };
  if (setjmp(fail.jb)) return false;
  const uint8_t *magic = ku_bytes(&c, 8);
  if (memcmp(magic, "KRAITSNP", 8) || ku_fixed32(&c) != 2)
    ku_cfail(&c, KRAIT_ERR_MALFORMED, "not a krait snapshot of version 2");
  ku_bytes(&c, 32 + 4 + 8);
  uint32_t ng = ku_fixed32(&c), nt = ku_fixed32(&c), ne = ku_fixed32(&c), nd = ku_fixed32(&c);
  ku_bytes(&c, (size_t)ng * 8);
  for (uint32_t t = 0; t < nt; t++) ku_bytes(&c, (size_t)ku_fixed32(&c) * 4);
  ku_bytes(&c, (size_t)ne * 4 + (size_t)nd * 4);
  *len = ku_fixed32(&c);
  *off = ku_offset(&c);
  ku_bytes(&c, *len);
  return true;
}

/* The message an artifact's signature signs (KA_SIG_MESSAGE bytes): b is
** the whole file (n bytes, CRC last), sig_off where the signature is. */
static void ka_sig_message(const uint8_t *b, size_t n, size_t sig_off, uint8_t *out) {
  static const uint8_t zeros[KA_KEY_SIGNATURE];
  uint64_t len = n, off = sig_off;
  unsigned hn = 64;
  EVP_MD_CTX *md = EVP_MD_CTX_new();
  memcpy(out, KA_SIG_DOMAIN, sizeof KA_SIG_DOMAIN);
  memcpy(out + sizeof KA_SIG_DOMAIN, &len, 8);
  memcpy(out + sizeof KA_SIG_DOMAIN + 8, &off, 8);
  uint8_t *h = out + sizeof KA_SIG_DOMAIN + 16;
  if (!md || !EVP_DigestInit_ex(md, EVP_sha512(), NULL) || !EVP_DigestUpdate(md, b, sig_off) ||
      !EVP_DigestUpdate(md, zeros, sizeof zeros) ||
      !EVP_DigestUpdate(md, b + sig_off + KA_KEY_SIGNATURE, n - 4 - sig_off - KA_KEY_SIGNATURE) ||
      !EVP_DigestFinal_ex(md, h, &hn))
    memset(h, 0xff, 64);   /* no digest: a message no signature matches */
  EVP_MD_CTX_free(md);
}

/* Reads the whole file at path (a regular file, at most 4 GiB) with its
** identity; malloc'ed, or NULL with err. */
static uint8_t *ka_read_all(const char *path, size_t *n, ka_file_id *id, char *err, size_t errlen) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  struct stat sb;
  uint8_t *b = NULL;
  const char *why = NULL;
  if (fd < 0 || fstat(fd, &sb) != 0) why = strerror(errno);
  else if (!S_ISREG(sb.st_mode)) why = "not a regular file";
  else if ((size_t)sb.st_size > KA_FILE_MAX) why = "over 4 GiB, too large for an artifact";
  else if (sb.st_size < 16) why = "too short";
  else if (!(b = ku_malloc((size_t)sb.st_size))) why = "out of memory";
  size_t got = 0;
  ssize_t r = 1;
  while (b && got < (size_t)sb.st_size && (r = read(fd, b + got, (size_t)sb.st_size - got)) > 0) got += (size_t)r;
  if (b && got != (size_t)sb.st_size) why = r < 0 ? strerror(errno) : "changed while being read";
  if (fd >= 0) close(fd);
  if (why) {
    snprintf(err, errlen, "cannot read %s: %s", path, why);
    ku_free(b);
    return NULL;
  }
  *n = got;
  *id = (ka_file_id){ sb.st_dev, sb.st_ino, sb.st_size, sb.st_mtim, sb.st_ctim };
  return b;
}

/* Whether path is still the file id describes (not replaced, not written). */
static bool ka_same_file(const char *path, const ka_file_id *id) {
  struct stat sb;
  return stat(path, &sb) == 0 && sb.st_dev == id->dev && sb.st_ino == id->ino &&
         sb.st_size == id->size && sb.st_mtim.tv_sec == id->mtime.tv_sec &&
         sb.st_mtim.tv_nsec == id->mtime.tv_nsec && sb.st_ctim.tv_sec == id->ctime.tv_sec &&
         sb.st_ctim.tv_nsec == id->ctime.tv_nsec;
}

/* Whether the file's CRC-32 (its last 4 bytes) matches the rest. */
static bool ka_crc_ok(const uint8_t *b, size_t n) {
  uint32_t crc;
  memcpy(&crc, b + n - 4, 4);
  return crc == (uint32_t)crc32(0, b, (uInt)(n - 4));
}

/* Checks the signature of the file b (n bytes) whose artifact parts are
** art (inside b) against the trusted keys: the key that made it, or NULL
** with err saying why not. */
static const ka_key *ka_check_signature(const uint8_t *b, size_t n, const ka_art *art,
                                        ka_key *const *trusted, int ntrusted, char *err, size_t errlen) {
  uint32_t scheme = KA_SIG_NONE;
  if (art->sig) memcpy(&scheme, art->sig + 8, 4);
  if (scheme == KA_SIG_NONE) {
    snprintf(err, errlen, "not signed (--trust accepts only artifacts built with krait build --sign KEY)");
    return NULL;
  }
  if (scheme != KA_SIG_ED25519) {
    snprintf(err, errlen, "signed with an unknown scheme (%u)", scheme);
    return NULL;
  }
  const uint8_t *pub = art->sig + 12, *sig = pub + KA_KEY_PUBLIC;
  const ka_key *k = NULL;
  for (int i = 0; i < ntrusted && !k; i++)
    if (!memcmp(ka_key_public(trusted[i]), pub, KA_KEY_PUBLIC)) k = trusted[i];
  if (!k) {
    char fp[KA_KEY_FINGERPRINT];
    ka_key_fingerprint(pub, fp);
    snprintf(err, errlen, "signed by an untrusted key (%s; --trust was given %d other key%s)", fp,
             ntrusted, ntrusted == 1 ? "" : "s");
    return NULL;
  }
  uint8_t msg[KA_SIG_MESSAGE];
  ka_sig_message(b, n, (size_t)(sig - b), msg);
  if (!ka_key_verify(k, msg, sizeof msg, sig)) {
    snprintf(err, errlen, "signature does not match: the file was changed after signing (key %s)",
             ka_key_name(k));
    return NULL;
  }
  return k;
}

/* Reads the artifact file at path into b and art: with trusted keys, its
** signature is checked first (so a changed byte is reported as such),
** then its CRC. b is malloc'ed; NULL with err. */
static uint8_t *ka_art_load(const char *path, ka_key *const *trusted, int ntrusted, size_t *n,
                            ka_art *art, const ka_key **signer, ka_file_id *id, char *err, size_t errlen) {
  char why[400];
  size_t xoff = 0, xn = 0;
  uint8_t *b = ka_read_all(path, n, id, err, errlen);
  if (!b) return NULL;
  bool crc = ka_crc_ok(b, *n);
  *signer = NULL;
  if (!crc && !ntrusted) {
    snprintf(err, errlen, "%s is damaged (checksum mismatch)", path);
  } else if (!ka_find_extra(b, *n - 4, &xoff, &xn, why, sizeof why)) {
    snprintf(err, errlen, "%s is %s (%s)", path, crc ? "not an artifact of this krait" : "damaged", why);
  } else if (!ka_art_parse(b + xoff, xn, art)) {
    snprintf(err, errlen, "%s is a snapshot but not an app artifact of this krait (run: krait build)", path);
  } else if (ntrusted && !(*signer = ka_check_signature(b, *n, art, trusted, ntrusted, err, errlen))) {
    /* err says why */
  } else if (!crc) {
    snprintf(err, errlen, "%s is damaged (checksum mismatch)", path);
  } else {
    return b;
  }
  ku_free(b);
  return NULL;
}

/* Signs the artifact file at path (written with an empty signature of
** scheme 1 and k's public key) in place: the signature, the CRC, then an
** atomic rename. 0, or -1 with err. */
static int ka_sign_file(const char *path, const ka_key *k, char *err, size_t errlen) {
  size_t n;
  ka_art art;
  ka_file_id id;
  const ka_key *none;
  uint8_t *b = ka_art_load(path, NULL, 0, &n, &art, &none, &id, err, errlen), msg[KA_SIG_MESSAGE];
  if (!b) return -1;
  size_t sig_off = art.sig ? (size_t)(art.sig + 12 + KA_KEY_PUBLIC - b) : 0;
  if (art.sig) ka_sig_message(b, n, sig_off, msg);
  if (!art.sig || !ka_key_sign(k, msg, sizeof msg, b + sig_off)) {
    snprintf(err, errlen, "cannot sign %s with %s", path, ka_key_name(k));
    ku_free(b);
    return -1;
  }
  uint32_t crc = (uint32_t)crc32(0, b, (uInt)(n - 4));
  memcpy(b + n - 4, &crc, 4);
  char tmp[4200];
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
  bool ok = fd >= 0 && write(fd, b, n) == (ssize_t)n && fsync(fd) == 0;
  int e = errno;
  if (fd >= 0) ok = close(fd) == 0 && ok;
  ku_free(b);
  if (!ok || rename(tmp, path) != 0) {
    snprintf(err, errlen, "cannot write %s: %s", ok ? path : tmp, strerror(ok ? errno : e));
    unlink(tmp);
    return -1;
  }
  return 0;
}

/* Loads cfg->snapshot when it exists. Returns 1 when loaded, 0 when there
** is none (boot instead), -2 with err (and why in a->stale) when it is
** stale: built from other files or settings, or by another python.wasm;
** -1 with err when it is damaged or changed after its signature was
** checked. A deployed artifact (cfg->artifact) must load and is not
** compared; one whose signature was checked (cfg->verified) must still be
** that file. */
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
    a->stale = "it was built by another python.wasm";
    return e.kind == KRAIT_ERR_LINK && !cfg->artifact ? -2 : -1;   /* LINK: another module */
  }
  bool ok = extra && ka_art_parse(extra, n, &art);
  bool fresh = ok && (cfg->artifact || memcmp(art.key, a->build_key, 64) == 0);
  bool same = !cfg->verified || ka_same_file(cfg->snapshot, cfg->verified);
  ku_free(extra);
  if (!fresh || !same) {
    krait_snapshot_free(a->snap);
    a->snap = NULL;
    snprintf(err, errlen, !same ? "app %s: %s changed after its signature was checked; refused"
                        : ok ? "app %s: %s is stale: the app's files or settings changed since "
                               "it was built (run: krait build)"
                             : "app %s: %s is not a krait build artifact (run: krait build)",
             a->name, cfg->snapshot);
    a->stale = "the files it bundles or the app's settings changed since it was built";
    return same && ok ? -2 : -1;
  }
  return 1;
}

int ka_app_save(const ka_app *a, const char *path, const char *manifest, const uint8_t *bundle,
                size_t bundle_len, const ka_key *sign, char *err, size_t errlen) {
  uint32_t v = KA_ART_VERSION, mn = (uint32_t)strlen(manifest), scheme = sign ? KA_SIG_ED25519 : KA_SIG_NONE;
  uint64_t bn = bundle_len;
  size_t n = 88 + (size_t)mn + bundle_len + KA_SIG_LEN;
  uint8_t *x = ku_calloc(1, n), *s;
  if (!x) { snprintf(err, errlen, "app %s: out of memory", a->name); return -1; }
  s = x + 88 + mn + bundle_len;
  memcpy(x, KA_ART_MAGIC, 8);
  memcpy(x + 8, &v, 4);
  memcpy(x + 12, a->build_key, 64);
  memcpy(x + 76, &mn, 4);
  memcpy(x + 80, manifest, mn);
  memcpy(x + 80 + mn, &bn, 8);
  memcpy(x + 88 + mn, bundle, bundle_len);
  memcpy(s, KA_SIG_MAGIC, 8);
  memcpy(s + 8, &scheme, 4);
  if (sign) memcpy(s + 12, ka_key_public(sign), KA_KEY_PUBLIC);  /* the signature: zeros for now */
  krait_error e;
  int rc = krait_snapshot_save(a->snap, path, x, n, &e);
  ku_free(x);
  if (rc) snprintf(err, errlen, "app %s: %s", a->name, e.message);
  else if (sign && (rc = ka_sign_file(path, sign, err, errlen)) != 0) unlink(path);
  return rc;
}

int ka_artifact_read(const char *path, ka_key *const *trusted, int ntrusted, ka_artifact *out,
                     char *err, size_t errlen) {
  size_t n;
  ka_art art;
  memset(out, 0, sizeof *out);
  uint8_t *b = ka_art_load(path, trusted, ntrusted, &n, &art, &out->signer, &out->id, err, errlen);
  if (!b) return -1;
  out->manifest = ku_malloc((size_t)art.manifest_len + 1);
  out->bundle = ku_malloc((size_t)art.bundle_len + 1);
  if (out->manifest) {
    memcpy(out->manifest, art.manifest, art.manifest_len);
    out->manifest[art.manifest_len] = '\0';
  }
  if (out->bundle) memcpy(out->bundle, art.bundle, (size_t)art.bundle_len);
  out->bundle_len = (size_t)art.bundle_len;
  ku_free(b);
  if (out->manifest && out->bundle && strlen(out->manifest) == art.manifest_len) return 0;
  snprintf(err, errlen, out->manifest && out->bundle ? "%s: its manifest contains a NUL byte" : "%s: out of memory", path);
  ka_artifact_free(out);
  return -1;
}

void ka_artifact_free(ka_artifact *a) {
  ku_free(a->manifest);
  ku_free(a->bundle);
  a->manifest = NULL;
  a->bundle = NULL;
}
