/*
** bundle.c -- the files of an app artifact: the app, the SDK and what the
** app imported from its site-packages, packed into one deflated archive
** by krait build and unpacked (every path checked) by krait serve.
*/
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <jansson.h>
#include <zlib.h>

#include "app/app_internal.h"

#define KB_MAX_FILE (256u << 20)      /* one file */
#define KB_MAX_TOTAL (1024u << 20)    /* the archive, unpacked */
#define KB_MAX_PATH 4096u
#define KB_MAX_DEPTH 32

/* ---- packing ----------------------------------------------------------- */

/* The archive being built: entries of (u16 path length, path, u32 mode,
** u32 size, bytes); err is set at the first failure. */
typedef struct kb_out {
  uint8_t *p;
  size_t len, cap;
  const char *const *exclude;
  int nexclude;
  ka_bundle_stats *st;
  char *err;
  size_t errlen;
  bool failed;
} kb_out;

static bool kb_fail(kb_out *o, const char *what, const char *path) {
  if (!o->failed) snprintf(o->err, o->errlen, "%s: %s", path, what);
  o->failed = true;
  return false;
}

/* Makes room for n more bytes. */
static bool kb_reserve(kb_out *o, size_t n) {
  if (o->failed) return false;
  if (o->len + n > KB_MAX_TOTAL) return kb_fail(o, "the bundle would be over 1 GiB", "bundle");
  if (o->len + n > o->cap) {
    size_t cap = (o->cap + n) * 2 + 65536;
    uint8_t *p = realloc(o->p, cap);
    if (!p) return kb_fail(o, "out of memory", "bundle");
    o->p = p;
    o->cap = cap;
  }
  return true;
}

static bool kb_put(kb_out *o, const void *d, size_t n) {
  if (!kb_reserve(o, n)) return false;
  memcpy(o->p + o->len, d, n);
  o->len += n;
  return true;
}

/* Whether host path is one of the excluded files (a store, or its WAL). */
static bool kb_excluded(const kb_out *o, const char *path) {
  for (int i = 0; i < o->nexclude; i++) {
    size_t n = strlen(o->exclude[i]);
    if (!strncmp(path, o->exclude[i], n) &&
        (!path[n] || !strcmp(path + n, "-wal") || !strcmp(path + n, "-shm") ||
         !strcmp(path + n, "-journal")))
      return true;
  }
  return false;
}

/* Whether a directory entry is never bundled: dot entries, bytecode
** caches, native extensions (which WASI cannot load) and artifacts. */
static bool kb_skipped(const char *name) {
  size_t n = strlen(name);
  return name[0] == '.' || !strcmp(name, "__pycache__") ||
         (n > 3 && !strcmp(name + n - 3, ".so")) || (n > 4 && !strcmp(name + n - 4, ".pyd")) ||
         (n > 6 && !strcmp(name + n - 6, ".krait"));
}

/* Adds the regular file host as archive path arch. */
static bool kb_file(kb_out *o, const char *host, const char *arch, const struct stat *sb) {
  if (sb->st_size > KB_MAX_FILE) return kb_fail(o, "over 256 MiB, too large to bundle", host);
  uint16_t pn = (uint16_t)strlen(arch);
  uint32_t mode = (sb->st_mode & 0111) ? 0755 : 0644, size = (uint32_t)sb->st_size;
  if (!kb_put(o, &pn, 2) || !kb_put(o, arch, pn) || !kb_put(o, &mode, 4) || !kb_put(o, &size, 4) ||
      !kb_reserve(o, size))
    return false;
  int fd = open(host, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return kb_fail(o, strerror(errno), host);
  size_t got = 0;
  ssize_t r = 1;
  while (got < size && (r = read(fd, o->p + o->len + got, size - got)) > 0) got += (size_t)r;
  close(fd);
  if (got != size) return kb_fail(o, r < 0 ? strerror(errno) : "changed while being bundled", host);
  o->len += size;
  o->st->files++;
  o->st->bytes += size;
  return true;
}

/* Which entries of a directory kb_dir adds (NULL: all but kb_skipped). */
typedef struct kb_filter {
  bool (*want)(const char *name, const struct kb_filter *f);
  const json_t *tops;            /* kb_site: what the app imported */
  const ka_app_config *cfg;      /* kb_site: its include list */
} kb_filter;

static bool kb_add(kb_out *o, const char *host, const char *arch, int depth);

/* Adds the entries of directory host as arch/NAME, recursively; at this
** level only those filter wants (and counts them in the site stats). */
static bool kb_dir(kb_out *o, const char *host, const char *arch, int depth, const kb_filter *filter) {
  struct dirent **names;
  int n = scandir(host, &names, NULL, alphasort);
  if (n < 0) return kb_fail(o, strerror(errno), host);
  bool ok = true;
  for (int i = 0; i < n; i++) {
    const char *name = names[i]->d_name;
    if (filter && !kb_skipped(name)) o->st->site_entries++;
    if (ok && !kb_skipped(name) && (!filter || filter->want(name, filter))) {
      size_t hn = strlen(host) + strlen(name) + 2, an = strlen(arch) + strlen(name) + 2;
      char *h = malloc(hn), *a = malloc(an);
      if (h && a) {
        snprintf(h, hn, "%s/%s", host, name);
        snprintf(a, an, "%s/%s", arch, name);
        if (filter) o->st->site_bundled++;
        ok = kb_add(o, h, a, depth + 1);
      } else {
        ok = kb_fail(o, "out of memory", host);
      }
      free(h);
      free(a);
    }
    free(names[i]);
  }
  free(names);
  return ok;
}

/* Adds host (a file or a directory, recursively) as archive path arch. */
static bool kb_add(kb_out *o, const char *host, const char *arch, int depth) {
  struct stat sb;
  if (stat(host, &sb) != 0) return kb_fail(o, strerror(errno), host);
  if (strlen(arch) >= KB_MAX_PATH) return kb_fail(o, "path too long to bundle", host);
  if (S_ISREG(sb.st_mode)) return kb_excluded(o, host) || kb_file(o, host, arch, &sb);
  if (!S_ISDIR(sb.st_mode)) return true;   /* sockets, fifos: not app files */
  if (depth > KB_MAX_DEPTH) return kb_fail(o, "directories nested too deep (a symlink loop?)", host);
  return kb_dir(o, host, arch, depth, NULL);
}

/* The distribution name of a metadata dir ("Flask-2.2.2.egg-info" ->
** "flask"), lower-cased with '-' as '_', into out. */
static void kb_dist_name(const char *entry, char *out, size_t cap) {
  size_t i = 0;
  for (; entry[i] && entry[i] != '-' && i + 1 < cap; i++)
    out[i] = entry[i] == '.' ? '\0' : (char)(entry[i] >= 'A' && entry[i] <= 'Z' ? entry[i] + 32 : entry[i]);
  out[i] = '\0';
}

/* Whether name is in the JSON array of strings (NULL: no). */
static bool kb_listed(const json_t *arr, const char *name) {
  size_t i;
  json_t *v;
  json_array_foreach(arr, i, v)
    if (json_is_string(v) && !strcmp(json_string_value(v), name)) return true;
  return false;
}

/* Whether a top-level entry of a site-packages dir goes into the bundle:
** the app imported it, the manifest includes it, or it is the metadata
** (dist-info, egg-info) of such a package. */
static bool kb_wanted(const char *entry, const kb_filter *f) {
  const json_t *tops = f->tops;
  const ka_app_config *cfg = f->cfg;
  char base[256];
  snprintf(base, sizeof base, "%s", entry);
  char *dot = strrchr(base, '.');
  if (dot && !strcmp(dot, ".py")) *dot = '\0';
  for (int i = 0; i < cfg->ninclude; i++)
    if (!strcmp(cfg->include[i], base)) return true;
  if (kb_listed(tops, entry)) return true;
  size_t n = strlen(entry);
  bool meta = (n > 10 && !strcmp(entry + n - 10, ".dist-info")) ||
              (n > 9 && !strcmp(entry + n - 9, ".egg-info"));
  if (!meta) return false;
  kb_dist_name(entry, base, sizeof base);
  size_t i;
  json_t *v;
  json_array_foreach(tops, i, v) {
    char top[256];
    kb_dist_name(json_string_value(v) ? json_string_value(v) : "", top, sizeof top);
    if (!strcmp(top, base)) return true;
  }
  for (int k = 0; k < cfg->ninclude; k++)
    if (!strcasecmp(cfg->include[k], base)) return true;
  return false;
}

/* Adds site-packages dir number idx: only its wanted top-level entries. */
static bool kb_site(kb_out *o, const ka_app_config *cfg, int idx, const json_t *tops) {
  char arch[64];
  kb_filter f = { kb_wanted, tops, cfg };
  snprintf(arch, sizeof arch, "site-packages/%d", idx);
  return kb_dir(o, cfg->site_packages[idx], arch, 0, &f);
}

/* Deflates the archive: u64 unpacked length, then the zlib stream. */
static uint8_t *kb_deflate(kb_out *o, size_t *len) {
  uLongf zn = compressBound((uLong)o->len);
  uint8_t *z = malloc(zn + 8);
  uint64_t raw = o->len;
  if (!z || compress2(z + 8, &zn, o->p, (uLong)o->len, 9) != Z_OK) {
    free(z);
    kb_fail(o, "out of memory compressing", "bundle");
    return NULL;
  }
  memcpy(z, &raw, 8);
  *len = zn + 8;
  return z;
}

uint8_t *ka_bundle_make(const ka_app *app, const ka_app_config *cfg, const char *const *exclude,
                        int nexclude, size_t *len, ka_bundle_stats *st, char *err, size_t errlen) {
  kb_out o = { .exclude = exclude, .nexclude = nexclude, .st = st, .err = err, .errlen = errlen };
  memset(st, 0, sizeof *st);
  json_t *info = app->boot_info ? json_loads(app->boot_info, 0, NULL) : NULL;
  json_t *sites = json_object_get(info, "site_packages"), *none = json_array();
  uint32_t count = 0;
  kb_put(&o, &count, 4);
  bool ok = kb_add(&o, cfg->app_dir, "app", 0) && kb_add(&o, cfg->sdk_dir, "sdk", 0);
  for (int i = 0; ok && i < cfg->nsite_packages; i++) {
    json_t *tops = json_array_get(sites, (size_t)i);
    ok = kb_site(&o, cfg, i, json_is_array(tops) ? tops : none);
  }
  json_decref(info);
  json_decref(none);
  uint8_t *z = NULL;
  if (ok) {
    count = (uint32_t)st->files;
    memcpy(o.p, &count, 4);
    z = kb_deflate(&o, len);
  }
  free(o.p);
  return z;
}

/* ---- unpacking --------------------------------------------------------- */

/* Whether an archive path is safe: relative, no empty, "." or ".."
** component, no NUL, not too long. */
static bool kb_safe_path(const char *p, size_t n) {
  if (n == 0 || n >= KB_MAX_PATH || p[0] == '/' || memchr(p, '\0', n)) return false;
  for (size_t i = 0; i < n;) {
    size_t j = i;
    while (j < n && p[j] != '/') j++;
    size_t c = j - i;
    if (c == 0 || (c == 1 && p[i] == '.') || (c == 2 && p[i] == '.' && p[i + 1] == '.')) return false;
    i = j + 1;
    if (j + 1 == n) return false;  /* a trailing slash */
  }
  return true;
}

/* Creates the directories of path (relative to dirfd) up to its last '/'. */
static bool kb_mkdirs(int dirfd, char *path) {
  for (char *s = strchr(path, '/'); s; s = strchr(s + 1, '/')) {
    *s = '\0';
    int rc = mkdirat(dirfd, path, 0755);
    *s = '/';
    if (rc != 0 && errno != EEXIST) return false;
  }
  return true;
}

/* Writes one entry below dirfd; false with err. */
static bool kb_write(int dirfd, char *path, uint32_t mode, const uint8_t *d, uint32_t n,
                     char *err, size_t errlen) {
  if (!kb_mkdirs(dirfd, path)) {
    snprintf(err, errlen, "cannot create the directories of %s: %s", path, strerror(errno));
    return false;
  }
  int fd = openat(dirfd, path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                  mode == 0755 ? 0755 : 0644);
  bool ok = fd >= 0 && write(fd, d, n) == (ssize_t)n;
  int e = errno;
  if (fd >= 0) close(fd);
  if (!ok) snprintf(err, errlen, "cannot write %s: %s", path, strerror(e));
  return ok;
}

/* Inflates a bundle; the archive (malloc'ed) and its length, or NULL. */
static uint8_t *kb_inflate(const uint8_t *b, size_t len, size_t *raw_len, char *err, size_t errlen) {
  uint64_t raw = 0;
  if (len >= 8) memcpy(&raw, b, 8);
  if (len < 8 || raw < 4 || raw > KB_MAX_TOTAL) {
    snprintf(err, errlen, "its bundle is damaged (bad size)");
    return NULL;
  }
  uint8_t *p = malloc(raw);
  uLongf out = (uLongf)raw;
  if (!p || uncompress(p, &out, b + 8, (uLong)(len - 8)) != Z_OK || out != raw) {
    free(p);
    snprintf(err, errlen, "its bundle is damaged (does not inflate)");
    return NULL;
  }
  *raw_len = raw;
  return p;
}

int ka_bundle_extract(const uint8_t *b, size_t len, const char *dir, char *err, size_t errlen) {
  size_t n;
  uint8_t *raw = kb_inflate(b, len, &n, err, errlen);
  if (!raw) return -1;
  int dirfd = mkdir(dir, 0755) == 0 ? open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
  if (dirfd < 0) snprintf(err, errlen, "cannot create %s: %s", dir, strerror(errno));
  const uint8_t *p = raw + 4, *end = raw + n;
  uint32_t count;
  memcpy(&count, raw, 4);
  bool ok = dirfd >= 0;
  for (uint32_t i = 0; ok && i < count; i++) {
    uint16_t pn;
    uint32_t mode, size;
    char path[KB_MAX_PATH];
    ok = end - p >= 2 && (memcpy(&pn, p, 2), end - p - 2 >= (ptrdiff_t)pn + 8) &&
         kb_safe_path((const char *)p + 2, pn);
    if (!ok) { snprintf(err, errlen, "its bundle is damaged (entry %u has a bad path)", i); break; }
    memcpy(path, p + 2, pn);
    path[pn] = '\0';
    memcpy(&mode, p + 2 + pn, 4);
    memcpy(&size, p + 6 + pn, 4);
    p += 10 + pn;
    ok = (size_t)(end - p) >= size;
    if (!ok) { snprintf(err, errlen, "its bundle is damaged (%s is truncated)", path); break; }
    ok = kb_write(dirfd, path, mode, p, size, err, errlen);
    p += size;
  }
  if (ok && p != end) { ok = false; snprintf(err, errlen, "its bundle is damaged (trailing bytes)"); }
  if (dirfd >= 0) close(dirfd);
  free(raw);
  return ok ? 0 : -1;
}
