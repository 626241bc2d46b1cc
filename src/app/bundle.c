/*
** bundle.c -- the files of an app artifact: the app, the SDK and what the
** app imported from its site-packages, packed into one deflated archive
** by krait build (never reading outside those trees: symlinks out are
** refused or left out) and unpacked (every path checked) by krait serve.
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
#include "util/cursor.h"
#include "util/util.h"

#define KB_MAX_FILE (256u << 20)      /* one file */
#define KB_MAX_TOTAL (1024u << 20)    /* the archive, unpacked */
#define KB_MAX_PATH 4096u
#define KB_MAX_DEPTH 32

/* ---- packing ----------------------------------------------------------- */

/* The archive being built: entries of (u16 path length, path, u32 mode,
** u32 size, bytes); err is set at the first failure. The tree being
** walked is root (a realpath, open as rootfd): symlinks are followed only
** to what lies inside it; one leading out is an error when strict (the
** app, the SDK), else left out and noted in the stats (site-packages). */
typedef struct kb_out {
  uint8_t *p;
  size_t len, cap;
  ka_excluded skip;            /* the stores, the server's logs */
  ka_bundle_stats *st;
  const char *root;
  int rootfd;
  bool strict;
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
    uint8_t *p = ku_realloc(o->p, cap);
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

void ka_excluded_init(ka_excluded *x, const ka_app_config *cfg) {
  static const char *const tails[] = { "", "-wal", "-shm", "-journal" };
  x->n = 0;
  for (int i = 0; i < cfg->nexclude; i++)
    for (int t = 0; t < 4 && x->n < 256; t++) {
      char path[KB_MAX_PATH + 16];
      struct stat sb;
      snprintf(path, sizeof path, "%s%s", cfg->exclude[i], tails[t]);
      if (stat(path, &sb) == 0) {
        x->id[x->n].dev = sb.st_dev;
        x->id[x->n++].ino = sb.st_ino;
      }
    }
}

bool ka_excluded_has(const ka_excluded *x, const struct stat *sb) {
  for (int i = 0; i < x->n; i++)
    if (x->id[i].dev == sb->st_dev && x->id[i].ino == sb->st_ino) return true;
  return false;
}

bool ka_bundle_skips(const char *name) {
  size_t n = strlen(name);
  return name[0] == '.' || !strcmp(name, "__pycache__") ||
         (n > 3 && !strcmp(name + n - 3, ".so")) || (n > 4 && !strcmp(name + n - 4, ".pyd")) ||
         (n > 6 && !strcmp(name + n - 6, ".krait")) || (n > 4 && !strcmp(name + n - 4, ".log"));
}

bool ka_bundle_holds(const ka_app_config *cfg, const char *path) {
  size_t n = strlen(cfg->app_dir);
  const char *rel = !strncmp(path, cfg->app_dir, n) && path[n] == '/' ? path + n + 1 : path;
  char part[256];
  for (const char *p = rel; *p;) {
    size_t c = strcspn(p, "/");
    snprintf(part, sizeof part, "%.*s", (int)c, p);
    if (ka_bundle_skips(part)) return false;
    p += c + (p[c] == '/');
  }
  struct stat sb;
  if (stat(path, &sb) != 0) return true;
  ka_excluded x;
  ka_excluded_init(&x, cfg);
  return (S_ISREG(sb.st_mode) || S_ISDIR(sb.st_mode)) && !ka_excluded_has(&x, &sb);
}

/* Adds the open regular file fd (host, for messages) as archive path
** arch, and closes fd. */
static bool kb_file(kb_out *o, int fd, const char *host, const char *arch) {
  struct stat sb;
  bool ok = fstat(fd, &sb) == 0 ? true : kb_fail(o, strerror(errno), host);
  if (ok && (!S_ISREG(sb.st_mode) || ka_excluded_has(&o->skip, &sb))) { close(fd); return true; }
  if (ok && sb.st_size > KB_MAX_FILE) ok = kb_fail(o, "over 256 MiB, too large to bundle", host);
  uint16_t pn = (uint16_t)strlen(arch);
  uint32_t mode = (sb.st_mode & 0111) ? 0755 : 0644, size = ok ? (uint32_t)sb.st_size : 0;
  ok = ok && kb_put(o, &pn, 2) && kb_put(o, arch, pn) && kb_put(o, &mode, 4) && kb_put(o, &size, 4) &&
       kb_reserve(o, size);
  size_t got = 0;
  ssize_t r = 1;
  while (ok && got < size && (r = read(fd, o->p + o->len + got, size - got)) > 0) got += (size_t)r;
  close(fd);
  if (ok && got != size) return kb_fail(o, r < 0 ? strerror(errno) : "changed while being bundled", host);
  if (!ok) return false;
  o->len += size;
  o->st->files++;
  o->st->bytes += size;
  return true;
}

/* Which entries of a directory kb_dir adds (NULL: all but ka_bundle_skips). */
typedef struct kb_filter {
  bool (*want)(const char *name, const struct kb_filter *f);
  const json_t *tops;            /* kb_site: what the app imported */
  const ka_app_config *cfg;      /* kb_site: its include list */
} kb_filter;

static bool kb_entry(kb_out *o, int dirfd, const char *name, const char *host, const char *arch,
                     int depth);

static int kb_strcmp(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names in the open directory fd (sorted, without "." and ".."),
** malloc'ed with *n; fd stays open. NULL on failure (errno set). */
static char **kb_names(int fd, size_t *n) {
  int dup_fd = dup(fd);
  DIR *d = dup_fd >= 0 ? fdopendir(dup_fd) : NULL;
  if (!d) {
    if (dup_fd >= 0) close(dup_fd);
    return NULL;
  }
  size_t cap = 16;
  char **v = ku_malloc(cap * sizeof *v);
  struct dirent *e;
  *n = 0;
  while (v && (errno = 0, e = readdir(d))) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
    if (*n == cap) {
      char **g = ku_realloc(v, (cap *= 2) * sizeof *v);
      if (!g) break;
      v = g;
    }
    if (!(v[*n] = ku_strdup(e->d_name))) break;
    (*n)++;
  }
  int err = errno;
  closedir(d);
  if (v && (err || e)) {  /* a read error or out of memory */
    for (size_t i = 0; i < *n; i++) ku_free(v[i]);
    ku_free(v);
    errno = err ? err : ENOMEM;
    return NULL;
  }
  if (v) qsort(v, *n, sizeof *v, kb_strcmp);
  return v;
}

/* Adds the entries of the open directory fd (host, arch: its paths) as
** arch/NAME, recursively; at this level only those filter wants (and
** counts them in the site stats). Closes fd. */
static bool kb_dir(kb_out *o, int fd, const char *host, const char *arch, int depth,
                   const kb_filter *filter) {
  if (depth > KB_MAX_DEPTH) {
    close(fd);
    return kb_fail(o, "directories nested too deep (a symlink loop?)", host);
  }
  size_t n;
  char **names = kb_names(fd, &n);
  if (!names) {
    close(fd);
    return kb_fail(o, strerror(errno), host);
  }
  bool ok = true;
  for (size_t i = 0; i < n; i++) {
    const char *name = names[i];
    if (filter && !ka_bundle_skips(name)) o->st->site_entries++;
    if (ok && !ka_bundle_skips(name) && (!filter || filter->want(name, filter))) {
      size_t hn = strlen(host) + strlen(name) + 2, an = strlen(arch) + strlen(name) + 2;
      char *h = ku_malloc(hn), *a = ku_malloc(an);
      if (h && a) {
        snprintf(h, hn, "%s/%s", host, name);
        snprintf(a, an, "%s/%s", arch, name);
        if (filter) o->st->site_bundled++;
        ok = kb_entry(o, fd, name, h, a, depth + 1);
      } else {
        ok = kb_fail(o, "out of memory", host);
      }
      ku_free(h);
      ku_free(a);
    }
    ku_free(names[i]);
  }
  ku_free(names);
  close(fd);
  return ok;
}

/* Opens rel (a clean relative path, as realpath left it) beneath the
** walk's root without following any symlink: what realpath resolved must
** still be there. The fd (O_RDONLY), or -1 with errno (ELOOP when a part
** became a symlink since). */
static int kb_open_beneath(const kb_out *o, const char *rel) {
  char part[KB_MAX_PATH];
  int fd = dup(o->rootfd);
  while (fd >= 0 && *rel) {
    size_t c = strcspn(rel, "/");
    if (c == 0 || c >= sizeof part) { close(fd); errno = EINVAL; return -1; }
    memcpy(part, rel, c);
    part[c] = '\0';
    rel += c + (rel[c] == '/');
    int next = openat(fd, part, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC |
                                (*rel ? O_DIRECTORY : 0));
    close(fd);
    fd = next;
  }
  return fd;
}

/* Adds the open fd (a file or a directory; host, arch: its paths). */
static bool kb_fd(kb_out *o, int fd, const char *host, const char *arch, int depth) {
  struct stat sb;
  if (fd < 0) return kb_fail(o, errno == ELOOP ? "changed while being bundled" : strerror(errno), host);
  if (fstat(fd, &sb) != 0) { close(fd); return kb_fail(o, strerror(errno), host); }
  if (S_ISDIR(sb.st_mode)) return kb_dir(o, fd, host, arch, depth, NULL);
  if (S_ISREG(sb.st_mode)) return kb_file(o, fd, host, arch);
  close(fd);
  return true;   /* sockets, fifos: not app files */
}

/* Whether path lies inside the walk's root (or is it). */
static bool kb_inside(const kb_out *o, const char *path) {
  size_t n = strlen(o->root);
  return !strncmp(path, o->root, n) && (path[n] == '/' || !path[n] || !strcmp(o->root, "/"));
}

/* A symlink entry: what it leads to when that lies inside the root (as
** the guest sees it served unbuilt); one leading out, or nowhere, is an
** error in a strict walk, else left out and noted. */
static bool kb_link(kb_out *o, int dirfd, const char *name, const char *host, const char *arch,
                    int depth) {
  char target[KB_MAX_PATH], why[KB_MAX_PATH + 256];
  ssize_t tn = readlinkat(dirfd, name, target, sizeof target - 1);
  target[tn > 0 ? tn : 0] = '\0';
  char *real = ku_realpath(host);
  if (real && kb_inside(o, real)) {
    size_t n = strlen(o->root);
    const char *rel = real[n] == '/' ? real + n + 1 : real + n;
    if (!strcmp(o->root, "/")) rel = real + 1;
    bool ok = kb_fd(o, kb_open_beneath(o, rel), host, arch, depth);
    ku_free(real);
    return ok;
  }
  if (real)
    snprintf(why, sizeof why, "a symlink to %s, which is outside %s: krait build does not follow "
             "links out of the folder it bundles (krait serve does not either); copy the file in",
             target, o->root);
  else
    snprintf(why, sizeof why, "a symlink to %s, which does not exist", target);
  ku_free(real);
  if (o->strict) return kb_fail(o, why, host);
  if (!o->st->links_left_out++)
    snprintf(o->st->first_left_out, sizeof o->st->first_left_out, "%.200s: %.300s", host, why);
  return true;
}

/* Adds entry name of the open directory dirfd (host, arch: its paths):
** a file, a directory (recursively) or a symlink (kb_link). Nothing is
** opened through a symlink but by kb_link. */
static bool kb_entry(kb_out *o, int dirfd, const char *name, const char *host, const char *arch,
                     int depth) {
  struct stat sb;
  if (strlen(arch) >= KB_MAX_PATH) return kb_fail(o, "path too long to bundle", host);
  if (fstatat(dirfd, name, &sb, AT_SYMLINK_NOFOLLOW) != 0) return kb_fail(o, strerror(errno), host);
  if (S_ISLNK(sb.st_mode)) return kb_link(o, dirfd, name, host, arch, depth);
  if (!S_ISREG(sb.st_mode) && !S_ISDIR(sb.st_mode)) return true;
  return kb_fd(o, openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC), host, arch, depth);
}

/* Adds the tree at host (following the configured path itself, then no
** symlink out of it) as archive path arch; filter picks its top-level
** entries. strict: a symlink out is an error. */
static bool kb_tree(kb_out *o, const char *host, const char *arch, bool strict, const kb_filter *filter) {
  if (o->failed) return false;
  char *root = ku_realpath(host);
  int fd = root ? open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
  if (fd < 0) {
    ku_free(root);
    return kb_fail(o, strerror(errno), host);
  }
  o->root = root;
  o->rootfd = fd;
  o->strict = strict;
  bool ok = kb_dir(o, dup(fd), root, arch, 0, filter);
  close(fd);
  ku_free(root);
  o->root = NULL;
  return ok;
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

/* Adds site-packages dir number idx: only its wanted top-level entries;
** symlinks out of it are left out (the guest cannot follow them either). */
static bool kb_site(kb_out *o, const ka_app_config *cfg, int idx, const json_t *tops) {
  char arch[64];
  kb_filter f = { kb_wanted, tops, cfg };
  snprintf(arch, sizeof arch, "site-packages/%d", idx);
  return kb_tree(o, cfg->site_packages[idx], arch, false, &f);
}

/* Deflates the archive: u64 unpacked length, then the zlib stream. */
static uint8_t *kb_deflate(kb_out *o, size_t *len) {
  uLongf zn = compressBound((uLong)o->len);
  uint8_t *z = ku_malloc(zn + 8);
  uint64_t raw = o->len;
  if (!z || compress2(z + 8, &zn, o->p, (uLong)o->len, 9) != Z_OK) {
    ku_free(z);
    kb_fail(o, "out of memory compressing", "bundle");
    return NULL;
  }
  memcpy(z, &raw, 8);
  *len = zn + 8;
  return z;
}

uint8_t *ka_bundle_make(const ka_app *app, const ka_app_config *cfg, size_t *len, ka_bundle_stats *st,
                        char *err, size_t errlen) {
  kb_out o = { .st = st, .err = err, .errlen = errlen };
  memset(st, 0, sizeof *st);
  ka_excluded_init(&o.skip, cfg);
  json_t *info = app->boot_info ? json_loads(app->boot_info, 0, NULL) : NULL;
  json_t *sites = json_object_get(info, "site_packages"), *none = json_array();
  uint32_t count = 0;
  kb_put(&o, &count, 4);
  bool ok = kb_tree(&o, cfg->app_dir, "app", true, NULL) && kb_tree(&o, cfg->sdk_dir, "sdk", true, NULL);
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
  ku_free(o.p);
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
  ku_fail fail = { .msg = err, .cap = errlen };
  ku_cursor c = { b, b + len, b, "its bundle is damaged (bad size)", &fail };
  uint64_t raw;
  if (setjmp(fail.jb)) return NULL;
  memcpy(&raw, ku_bytes(&c, 8), 8);
  if (raw < 4 || raw > KB_MAX_TOTAL) {
    snprintf(err, errlen, "its bundle is damaged (bad size)");
    return NULL;
  }
  uint8_t *p = ku_malloc(raw);
  uLongf out = (uLongf)raw;
  if (!p) {
    snprintf(err, errlen, "out of memory inflating its bundle (%llu bytes)", (unsigned long long)raw);
    return NULL;
  }
  if (uncompress(p, &out, c.p, (uLong)(c.end - c.p)) != Z_OK || out != raw) {
    ku_free(p);
    snprintf(err, errlen, "its bundle is damaged (does not inflate)");
    return NULL;
  }
  *raw_len = raw;
  return p;
}

/* Reads entry i (u16 path length, path, u32 mode, u32 size, bytes) at the
** cursor and writes it beneath dirfd; false with err. A read past the
** archive's end leaves through the cursor's catch point, naming the entry. */
static bool kb_unpack_entry(ku_cursor *c, int dirfd, uint32_t i, char *err, size_t errlen) {
  char what[KB_MAX_PATH + 64], path[KB_MAX_PATH];
  uint16_t pn;
  uint32_t mode, size;
  snprintf(what, sizeof what, "its bundle is damaged (entry %u)", i);
  c->what = what;
  memcpy(&pn, ku_bytes(c, 2), 2);
  const char *p = (const char *)ku_bytes(c, pn);
  if (!kb_safe_path(p, pn)) {
    snprintf(err, errlen, "its bundle is damaged (entry %u has a bad path)", i);
    return false;
  }
  memcpy(path, p, pn);
  path[pn] = '\0';
  memcpy(&mode, ku_bytes(c, 4), 4);
  memcpy(&size, ku_bytes(c, 4), 4);
  snprintf(what, sizeof what, "its bundle is damaged (%s is truncated)", path);
  const uint8_t *d = ku_bytes(c, size);
  c->what = "its bundle is damaged";
  return kb_write(dirfd, path, mode, d, size, err, errlen);
}

/* Writes the entries of an inflated archive (u32 count, then the entries)
** beneath dirfd, reading it through the bounded cursor; false with err. */
static bool kb_unpack(int dirfd, const uint8_t *raw, size_t n, char *err, size_t errlen) {
  ku_fail fail = { .msg = err, .cap = errlen };
  ku_cursor c = { raw, raw + n, raw, "its bundle is damaged", &fail };
  uint32_t count;
  if (setjmp(fail.jb)) return false;
  memcpy(&count, ku_bytes(&c, 4), 4);
  for (uint32_t i = 0; i < count; i++)
    if (!kb_unpack_entry(&c, dirfd, i, err, errlen)) return false;
  if (!ku_eof(&c)) {
    snprintf(err, errlen, "its bundle is damaged (trailing bytes)");
    return false;
  }
  return true;
}

int ka_bundle_extract(const uint8_t *b, size_t len, const char *dir, char *err, size_t errlen) {
  size_t n;
  uint8_t *raw = kb_inflate(b, len, &n, err, errlen);
  if (!raw) return -1;
  int dirfd = mkdir(dir, 0755) == 0 ? open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
  if (dirfd < 0) snprintf(err, errlen, "cannot create %s: %s", dir, strerror(errno));
  bool ok = dirfd >= 0 && kb_unpack(dirfd, raw, n, err, errlen);
  if (dirfd >= 0) close(dirfd);
  ku_free(raw);
  return ok ? 0 : -1;
}
