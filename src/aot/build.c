/*
** build.c -- turning modules into loaded shared objects: cache keys, the
** cache directory, C units compiled in parallel by the system compiler,
** the signed trailer, verification before dlopen, and the in-process
** registry of loaded descriptors. Not the C text itself (emit.c, unit.c).
*/
#include "krait_host.h"
#include "aot/aot.h"
#include "aot/aot_internal.h"
#include "valid/valid.h"
#include "platform/dispatch.h"
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* Flags every unit is compiled with: Wasm floats round every operation
** (no contraction into fma), and no assumptions about aliasing. They are
** part of the cache key, so the benchmark-only build without interrupt
** checks (KP_AOT_CHECKS_MARK, platform/dispatch.h) has its own objects. */
#define KAOT_CFLAGS "-O2 -fPIC -ffp-contract=off -fno-strict-aliasing -fno-math-errno -fno-optimize-sibling-calls -fsignaling-nans -w" KP_AOT_CHECKS_MARK
/* The link's flag: relative relocations packed (DT_RELR, glibc 2.36), so
** the loader applies an object's table pointers (python.wasm's: 19,771)
** from a few KB instead of 474 KB of RELA entries. In the key too. */
#define KAOT_LDFLAG "-Wl,-z,pack-relative-relocs"
/* Wasm function bodies per unit, in bytes of Wasm code. */
#define KAOT_UNIT_BYTES (96 * 1024)
#define KAOT_MAGIC "KRAITAOT"
#define KAOT_TRAILER (8 + 64 + 32 + 8)

/* The registry: every descriptor loaded in this process, by module SHA
** and bounds mode (a batch object holds many modules). */
typedef struct kaot_reg {
  char sha[65];
  bool explicit_bounds;
  const kaot_desc *desc;
  void *dl;
  const char *path;            /* the file it was loaded from (kept) */
} kaot_reg;
static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static kaot_reg *reg;
static size_t nreg, capreg;
/* Read-only directories searched after the cache (krait_aot_add_dir). */
static char **dirs;
static size_t ndirs;

/* Fills err (when given) with kind and fmt applied to one string. */
static void set_err(krait_error *err, krait_errkind kind, const char *fmt, const char *a) {
  if (!err) return;
  memset(err, 0, sizeof *err);
  err->kind = kind;
  ku_fmt(err->message, sizeof err->message, fmt, a);
}

void kaot_sha_hex(const uint8_t *p, size_t n, char out[65]) {
  uint8_t h[32];
  unsigned hn = 0;
  EVP_Digest(p, n, h, &hn, EVP_sha256(), NULL);
  for (int i = 0; i < 32; i++) snprintf(out + 2 * i, 3, "%02x", h[i]);
}

/* The compiler command: $KRAIT_CC, else gcc. */
static const char *compiler(void) {
  const char *cc = getenv("KRAIT_CC");
  return cc && *cc ? cc : "gcc";
}

/* The compiler's path: $KRAIT_CC (or gcc) as given when it names a file,
** else the first executable of that name on $PATH; NULL when none. */
static char *compiler_path(void) {
  const char *cc = compiler(), *path = getenv("PATH");
  if (strchr(cc, '/')) return ku_strdup(cc);
  for (const char *p = path ? path : ""; *p;) {
    size_t n = strcspn(p, ":");
    char *f = ku_sprintf("%.*s/%s", (int)n, n ? p : ".", cc);
    if (f && access(f, X_OK) == 0) return f;
    ku_free(f);
    p += n + (p[n] == ':');
  }
  return NULL;
}

/* Asks the compiler for its identity: the first line of --version (the
** distribution's package version included; clang has no -dumpfullversion)
** and its target. Writes "unknown" when it cannot be run. */
static void ask_compiler(char *id, size_t cap) {
  char *cmd = ku_sprintf("%s --version 2>/dev/null | head -n 1; %s -dumpmachine 2>/dev/null", compiler(), compiler());
  FILE *p = cmd ? popen(cmd, "r") : NULL;
  size_t n = p ? fread(id, 1, cap - 1, p) : 0;
  if (p) pclose(p);
  ku_free(cmd);
  id[n] = 0;
  for (char *c = id; *c; c++) if (*c == '\n') *c = ' ';
  if (!n) snprintf(id, cap, "unknown");
}

/* The compiler's identity, asked once per process and remembered in the
** cache directory under the compiler file's path, inode, size and mtime
** (running the compiler costs 10-40 ms, paid by every start that looks
** up an object otherwise). A replaced compiler is a new file, so asked
** again. */
static const char *compiler_id(void) {
  static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
  static char id[256];
  pthread_mutex_lock(&lock);
  if (!id[0]) {
    char *cp = compiler_path(), *dir = kaot_cache_dir(), *memo = NULL, sig[65];
    struct stat sb;
    if (cp && dir && stat(cp, &sb) == 0) {
      char *text = ku_sprintf("%s %ju %ju %jd %jd.%09ld", cp, (uintmax_t)sb.st_dev, (uintmax_t)sb.st_ino,
                              (intmax_t)sb.st_size, (intmax_t)sb.st_mtim.tv_sec, sb.st_mtim.tv_nsec);
      if (text) kaot_sha_hex((const uint8_t *)text, strlen(text), sig);
      memo = text ? ku_sprintf("%s/cc-%.32s", dir, sig) : NULL;
      ku_free(text);
    }
    int fd = memo ? open(memo, O_RDONLY | O_CLOEXEC) : -1;
    ssize_t n = fd >= 0 ? read(fd, id, sizeof id - 1) : -1;
    if (fd >= 0) close(fd);
    id[n > 0 ? n : 0] = 0;
    if (n <= 0 || memchr(id, '\n', (size_t)n)) {
      ask_compiler(id, sizeof id);
      char *tmp = memo ? ku_sprintf("%s.%ld", memo, (long)getpid()) : NULL;
      int w = tmp ? open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644) : -1;
      bool ok = w >= 0 && write(w, id, strlen(id)) == (ssize_t)strlen(id);
      if (w >= 0 && close(w) != 0) ok = false;
      if (tmp && !(ok && rename(tmp, memo) == 0)) unlink(tmp);
      ku_free(tmp);
    }
    ku_free(memo); ku_free(dir); ku_free(cp);
  }
  pthread_mutex_unlock(&lock);
  return id;
}

/* The identity gcc (the default compiler) had when this krait was built
** (KAOT_GCC_BUILT, from mk/aot.mk, in compiler_id's form), or NULL with
** $KRAIT_CC set or none recorded. Objects are looked up under it first,
** so a krait finds the objects made beside it without running a
** compiler, or having one (an installed Python home's aot/). */
static const char *built_id(void) {
  return strcmp(compiler(), "gcc") == 0 && KAOT_GCC_BUILT[0] ? KAOT_GCC_BUILT : NULL;
}

/* The key of a set of modules (their identities, shape.c, in order) under one bounds
** mode: translator, ABI, compiler identity (id) and flags included. */
static void key_of(const char *shas, bool explicit_bounds, const char *id, char out[65]) {
  char *text = ku_sprintf("krait-aot abi=%u translator=%u cc=%s %s flags=%s %s bounds=%s modules=%s",
                          KAOT_ABI_VERSION, KAOT_TRANSLATOR_VERSION, compiler(), id,
                          KAOT_CFLAGS, KAOT_LDFLAG, explicit_bounds ? "explicit" : "guard", shas);
  kaot_sha_hex((const uint8_t *)(text ? text : ""), text ? strlen(text) : 0, out);
  ku_free(text);
}

bool kaot_key(const krait_module *m, krait_bounds bounds, char out[65]) {
  char sha[65];
  kaot_module_id(m, sha);
  key_of(sha, bounds == KRAIT_BOUNDS_EXPLICIT, compiler_id(), out);
  return true;
}

char *kaot_cache_dir(void) {
  const char *root = getenv("KRAIT_CACHE");
  char *base = root && *root ? ku_strdup(root)
             : getenv("HOME") ? ku_sprintf("%s/.cache/krait", getenv("HOME")) : NULL;
  if (!base) return NULL;
  char *dir = ku_sprintf("%s/aot", base);
  ku_free(base);
  struct stat sb;
  if (!dir || (stat(dir, &sb) == 0 && S_ISDIR(sb.st_mode))) return dir;
  for (char *p = dir + 1; *p; p++) {  /* mkdir -p */
    if (*p != '/') continue;
    *p = 0;
    mkdir(dir, 0755);
    *p = '/';
  }
  if (mkdir(dir, 0755) != 0 && errno != EEXIST) { ku_free(dir); return NULL; }
  return dir;
}

/* Adds the descriptors of a loaded object (from file path, kept) to the
** registry. */
static void register_dir(void *dl, bool explicit_bounds, const char *path) {
  const kaot_desc *const *dir = dlsym(dl, "kaot_dir");
  pthread_mutex_lock(&reg_lock);
  for (size_t i = 0; dir && dir[i]; i++) {
    if (nreg == capreg) {
      size_t cap = capreg * 2 + 16;
      kaot_reg *r = ku_realloc(reg, cap * sizeof *r);
      if (!r) break;
      reg = r;
      capreg = cap;
    }
    kaot_reg *r = &reg[nreg++];
    snprintf(r->sha, sizeof r->sha, "%s", dir[i]->module_sha);
    r->explicit_bounds = explicit_bounds;
    r->desc = dir[i];
    r->dl = dl;
    r->path = path;
  }
  pthread_mutex_unlock(&reg_lock);
}

/* The registered descriptor of a module hash and mode, or NULL. */
static const kaot_desc *lookup(const char *sha, bool explicit_bounds, void **dl) {
  const kaot_desc *d = NULL;
  pthread_mutex_lock(&reg_lock);
  for (size_t i = nreg; i > 0 && !d; i--)
    if (reg[i - 1].explicit_bounds == explicit_bounds && strcmp(reg[i - 1].sha, sha) == 0) {
      d = reg[i - 1].desc;
      *dl = reg[i - 1].dl;
    }
  pthread_mutex_unlock(&reg_lock);
  return d;
}

/* Checks the trailer of the object open at fd: magic, the expected key,
** the length and the SHA-256 of everything before it. The hash (12 MB
** for python.wasm's object) is skipped when a memo says this very file
** (its identity sb: device, inode, size, mtime, ctime) passed already. */
static bool verify(int fd, const struct stat *sb, const char *key) {
  if (sb->st_size < KAOT_TRAILER + 64) return false;
  size_t n = (size_t)sb->st_size;
  uint8_t t[KAOT_TRAILER];
  if (pread(fd, t, sizeof t, (off_t)(n - KAOT_TRAILER)) != (ssize_t)sizeof t) return false;
  uint64_t len;
  memcpy(&len, t + 8 + 64 + 32, 8);
  if (memcmp(t, KAOT_MAGIC, 8) != 0 || memcmp(t + 8, key, 64) != 0 || len != n - KAOT_TRAILER) return false;
  char memo[65];
  if (kaot_memo_get("obj", sb, key, memo) && strcmp(memo, "verified") == 0) return true;
  const uint8_t *p = mmap(NULL, n, PROT_READ, MAP_PRIVATE, fd, 0);
  if (p == MAP_FAILED) return false;
  uint8_t h[32];
  unsigned hn = 0;
  bool ok = EVP_Digest(p, len, h, &hn, EVP_sha256(), NULL) && memcmp(h, t + 8 + 64, 32) == 0;
  munmap((void *)p, n);
  struct stat now;
  if (ok && fstat(fd, &now) == 0 && kaot_same_file(sb, &now)) kaot_memo_put("obj", sb, key, "verified");
  return ok;
}

/* Loads the object at path if its trailer carries key: verified through
** one open file, which dlopen then maps (/proc/self/fd), so the bytes
** checked are the bytes run. NULL when absent, foreign or damaged. A
** loaded object's fd stays open: the loader knows objects by name, and a
** reused fd number would name an object already loaded. */
static void *load_verified(const char *path, const char *key) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return NULL;
  void *dl = NULL;
  struct stat sb, after;
  if (fstat(fd, &sb) == 0 && verify(fd, &sb, key)) {
    char fdpath[64];
    snprintf(fdpath, sizeof fdpath, "/proc/self/fd/%d", fd);
    dl = dlopen(fdpath, RTLD_NOW | RTLD_LOCAL);
    const char *k = dl ? dlsym(dl, "kaot_key") : NULL;
    const kaot_desc *const *dir = dl ? dlsym(dl, "kaot_dir") : NULL;
    /* changed since verified (identity): what was mapped is unchecked */
    bool same = fstat(fd, &after) == 0 && kaot_same_file(&sb, &after);
    if (dl && (!same || !k || strcmp(k, key) != 0 || !dir || !dir[0] || dir[0]->abi != KAOT_ABI_VERSION)) {
      dlclose(dl);
      dl = NULL;
    }
  }
  if (!dl) close(fd);
  return dl;
}

/* Runs argv, waiting for it; true on exit status 0. */
static bool run(char *const argv[]) {
  pid_t pid;
  if (posix_spawnp(&pid, argv[0], NULL, NULL, argv, environ) != 0) return false;
  int st;
  while (waitpid(pid, &st, 0) < 0) if (errno != EINTR) return false;
  return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

/* Compiles units dir/u<i>.c to .o, up to jobs at a time (showing progress
** on a terminal), then links dir/out.so. */
static bool compile_units(const char *dir, size_t n) {
  long jobs = sysconf(_SC_NPROCESSORS_ONLN);
  if (getenv("KRAIT_AOT_JOBS")) jobs = atol(getenv("KRAIT_AOT_JOBS"));
  if (jobs < 1) jobs = 1;
  bool tty = isatty(2) && n > 1, ok = true;
  pid_t *pids = ku_calloc(n ? n : 1, sizeof *pids);
  if (!pids) return false;
  size_t next = 0, done = 0, running = 0;
  while (done < n) {
    while (ok && running < (size_t)jobs && next < n) {
      char src[4096], obj[4096];
      snprintf(src, sizeof src, "%s/u%zu.c", dir, next);
      snprintf(obj, sizeof obj, "%s/u%zu.o", dir, next);
      char *argv[24];
      int a = 0;
      char flags[] = KAOT_CFLAGS;
      argv[a++] = (char *)compiler();
      for (char *tok = strtok(flags, " "); tok && a < 16; tok = strtok(NULL, " ")) argv[a++] = tok;
      argv[a++] = "-c"; argv[a++] = src; argv[a++] = "-o"; argv[a++] = obj; argv[a] = NULL;
      if (posix_spawnp(&pids[next], argv[0], NULL, NULL, argv, environ) != 0) { ok = false; break; }
      next++; running++;
    }
    if (running == 0) break;
    int st;
    pid_t p = wait(&st);
    if (p < 0) { if (errno == EINTR) continue; ok = false; break; }
    running--; done++;
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) ok = false;
    if (tty) fprintf(stderr, "\rkrait: compiling native code: %zu/%zu units", done, n);
  }
  if (tty) fputc('\n', stderr);
  ku_free(pids);
  if (!ok) return false;
  char **argv = ku_calloc(n + 8, sizeof *argv);
  char *out = ku_sprintf("%s/out.so", dir);
  bool linked = false;
  if (argv && out) {
    size_t a = 0;
    argv[a++] = (char *)compiler(); argv[a++] = "-shared"; argv[a++] = KAOT_LDFLAG;
    argv[a++] = "-o"; argv[a++] = out;
    for (size_t i = 0; i < n; i++) argv[a++] = ku_sprintf("%s/u%zu.o", dir, i);
    argv[a++] = "-lm";
    argv[a] = NULL;
    linked = run(argv);
    for (size_t i = 5; i < 5 + n; i++) ku_free(argv[i]);
  }
  ku_free(argv);
  ku_free(out);
  return linked;
}

/* Appends the trailer (magic, key, SHA-256 of the object, its length). */
static bool append_trailer(const char *path, const char *key) {
  int fd = open(path, O_RDWR | O_CLOEXEC);
  if (fd < 0) return false;
  struct stat sb;
  bool ok = false;
  if (fstat(fd, &sb) == 0 && sb.st_size > 0) {
    uint64_t len = (uint64_t)sb.st_size;
    uint8_t *p = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p != MAP_FAILED) {
      uint8_t t[KAOT_TRAILER], h[32];
      unsigned hn = 0;
      EVP_Digest(p, len, h, &hn, EVP_sha256(), NULL);
      munmap(p, len);
      memcpy(t, KAOT_MAGIC, 8); memcpy(t + 8, key, 64); memcpy(t + 72, h, 32); memcpy(t + 104, &len, 8);
      ok = pwrite(fd, t, sizeof t, (off_t)len) == (ssize_t)sizeof t;
    }
  }
  return close(fd) == 0 && ok;
}

/* Removes the build directory and its files. */
static void remove_dir(const char *dir, size_t n) {
  const char *fixed[] = {"out.so"};
  char p[4096];
  for (size_t i = 0; i < n; i++) {
    snprintf(p, sizeof p, "%s/u%zu.c", dir, i); unlink(p);
    snprintf(p, sizeof p, "%s/u%zu.o", dir, i); unlink(p);
  }
  snprintf(p, sizeof p, "%s/%s", dir, fixed[0]); unlink(p);
  rmdir(dir);
}

/* Whether the compiler takes GCC's global register variables (clang
** refuses them; its objects keep the countdown in memory). Its identity
** is in the cache key, so objects of either kind have their own keys. */
static bool global_regs(void) { return !strstr(compiler_id(), "clang"); }

/* Opens unit i of a build directory for writing, prelude written. */
static FILE *open_unit(const char *dir, size_t i, bool explicit_bounds) {
  char p[4096];
  snprintf(p, sizeof p, "%s/u%zu.c", dir, i);
  FILE *o = fopen(p, "w");
  if (o) kaot_emit_prelude(o, explicit_bounds, global_regs());
  return o;
}

/* Writes the C of modules ms (prefixes m<i>_) into units of dir: a big
** module is split into units of about KAOT_UNIT_BYTES of Wasm code; many
** small ones share units. Returns the unit count, 0 with msg on failure. */
static size_t write_units(const char *dir, const krait_module *const *ms, size_t n,
                          const char *key, bool explicit_bounds, char *msg, size_t cap) {
  size_t u = 0, bytes = 0;
  FILE *o = open_unit(dir, u, explicit_bounds);
  char **pxs = ku_calloc(n ? n : 1, sizeof *pxs);
  bool ok = o && pxs;
  for (size_t k = 0; ok && k < n; k++) {
    const krait_module *m = ms[k];
    char sha[65];
    kaot_module_id(m, sha);
    pxs[k] = ku_sprintf("m%zu_", k);
    ok = pxs[k] != NULL;
    if (ok) kaot_emit_decls(o, m, pxs[k]);
    for (uint32_t i = m->nfunc_imports; ok && i < m->nfuncs; i++) {
      if (bytes > KAOT_UNIT_BYTES) {  /* start the next unit */
        ok = fclose(o) == 0;
        o = ok ? open_unit(dir, ++u, explicit_bounds) : NULL;
        ok = o != NULL;
        bytes = 0;
        if (ok) kaot_emit_decls(o, m, pxs[k]);
      }
      if (ok) ok = kaot_emit_func(o, m, pxs[k], i, explicit_bounds, msg, cap) == 0;
      bytes += m->funcs[i].body_len;
    }
    if (ok) kaot_emit_desc(o, m, pxs[k], sha);
  }
  if (ok) kaot_emit_dir(o, (const char *const *)pxs, n, key);
  if (o && fclose(o) != 0) ok = false;
  for (size_t k = 0; pxs && k < n; k++) ku_free(pxs[k]);
  ku_free(pxs);
  if (!ok && !msg[0]) snprintf(msg, cap, "aot: cannot write C units into %s", dir);
  return ok ? u + 1 : 0;
}

/* Builds the object of modules ms under key into path (atomically: a
** temporary directory, then rename). */
static bool build(const char *cdir, const char *path, const krait_module *const *ms, size_t n,
                  const char *key, bool explicit_bounds, krait_error *err) {
  char *tmpl = ku_sprintf("%s/build.XXXXXX", cdir);
  char msg[256] = "";
  if (!tmpl || !mkdtemp(tmpl)) {
    ku_free(tmpl);
    set_err(err, KRAIT_ERR_IO, "aot: cannot create a build directory in %s", cdir);
    return false;
  }
  /* a module made with the other bounds mode's code attached has bodies
  ** not validated yet (valid.h); the translator takes valid ones only */
  krait_error verr;
  for (size_t i = 0; i < n; i++)
    if (kv_validate_bodies(ms[i], &verr) != 0) {
      rmdir(tmpl);
      ku_free(tmpl);
      if (err) *err = verr;
      return false;
    }
  size_t units = write_units(tmpl, ms, n, key, explicit_bounds, msg, sizeof msg);
  bool ok = units > 0 && compile_units(tmpl, units);
  char *so = ku_sprintf("%s/out.so", tmpl);
  ok = ok && so && append_trailer(so, key) && rename(so, path) == 0;
  if (!ok) {
    if (msg[0]) set_err(err, KRAIT_ERR_IO, "%s", msg);
    else set_err(err, KRAIT_ERR_IO, "aot: the C compiler failed (%s); set KRAIT_CC", compiler());
  }
  if (getenv("KRAIT_AOT_KEEP")) fprintf(stderr, "krait: AOT sources kept in %s\n", tmpl);
  else remove_dir(tmpl, units ? units : 1);
  ku_free(so);
  ku_free(tmpl);
  return ok;
}

void krait_aot_add_dir(const char *dir) {
  pthread_mutex_lock(&reg_lock);
  bool known = false;
  for (size_t i = 0; i < ndirs && !known; i++) known = strcmp(dirs[i], dir) == 0;
  char **grown = known ? NULL : ku_realloc(dirs, (ndirs + 1) * sizeof *dirs);
  if (grown && (grown[ndirs] = ku_strdup(dir))) ndirs++;
  if (grown) dirs = grown;
  pthread_mutex_unlock(&reg_lock);
}

/* Loads the object of key from the cache dir, else from the first added
** directory that holds a good one; *path is set to its (malloc'ed) path.
** Damaged files are left alone here. */
static void *find(const char *cache, const char *key, char **path) {
  void *dl = NULL;
  *path = ku_sprintf("%s/%s.so", cache, key);
  if (*path) dl = load_verified(*path, key);
  pthread_mutex_lock(&reg_lock);
  for (size_t i = 0; !dl && i < ndirs; i++) {
    ku_free(*path);
    if ((*path = ku_sprintf("%s/%s.so", dirs[i], key))) dl = load_verified(*path, key);
  }
  pthread_mutex_unlock(&reg_lock);
  if (!dl) { ku_free(*path); *path = NULL; }
  return dl;
}

/* Finds the object of modules with hashes shas (cache, then the added
** directories: under the recorded compiler identity first, which runs no
** compiler, then under the compiler's own), or builds it into the cache,
** then loads it and registers its descriptors. */
static bool obtain_key(const krait_module *const *ms, size_t n, const char *shas,
                       bool explicit_bounds, bool may_build, krait_error *err) {
  char *dir = kaot_cache_dir(), key[65], *path = NULL;
  if (!dir) { set_err(err, KRAIT_ERR_IO, "aot: no cache directory (%s)", "set KRAIT_CACHE or HOME"); return false; }
  const char *built = built_id();
  void *dl = NULL;
  if (built) {
    key_of(shas, explicit_bounds, built, key);
    dl = find(dir, key, &path);
  }
  if (!dl && (!built || strcmp(built, compiler_id()) != 0)) {
    key_of(shas, explicit_bounds, compiler_id(), key);
    dl = find(dir, key, &path);
  }
  if (!dl && may_build && (path = ku_sprintf("%s/%s.so", dir, key))) {
    if (access(path, F_OK) == 0) unlink(path);  /* foreign, damaged or stale */
    if (build(dir, path, ms, n, key, explicit_bounds, err)) {
      dl = load_verified(path, key);
      if (!dl) set_err(err, KRAIT_ERR_IO, "aot: cannot load the object just built: %s", dlerror());
    }
  } else if (!dl) {
    set_err(err, KRAIT_ERR_IO, "aot: no compiled code for this module in %s (run krait compile)", dir);
  }
  if (dl) register_dir(dl, explicit_bounds, path);
  else ku_free(path);
  ku_free(dir);
  return dl != NULL;
}

const char *kaot_object_path(const krait_module *m) {
  char sha[65];
  const char *path = NULL;
  if (!m || !m->aot) return NULL;
  kaot_module_id(m, sha);
  bool ex = m->engine->cfg.bounds == KRAIT_BOUNDS_EXPLICIT;
  pthread_mutex_lock(&reg_lock);
  for (size_t i = nreg; i > 0 && !path; i--)
    if (reg[i - 1].explicit_bounds == ex && strcmp(reg[i - 1].sha, sha) == 0) path = reg[i - 1].path;
  pthread_mutex_unlock(&reg_lock);
  return path;
}

const kaot_desc *kaot_obtain(const krait_module *m, bool may_build, void **dl, krait_error *err) {
  char sha[65];
  bool ex = m->engine->cfg.bounds == KRAIT_BOUNDS_EXPLICIT;
  kaot_module_id(m, sha);
  const kaot_desc *d = lookup(sha, ex, dl);
  if (d) return d;
  if (!obtain_key(&m, 1, sha, ex, may_build, err)) return NULL;
  d = lookup(sha, ex, dl);
  if (!d) {
    krait_module_sha256(m, sha);  /* the name users know the module by */
    set_err(err, KRAIT_ERR_IO, "aot: the object lacks module %s", sha);
  }
  return d;
}

int kaot_prepare(const krait_module *const *ms, size_t n, krait_bounds bounds, krait_error *err) {
  bool ex = bounds == KRAIT_BOUNDS_EXPLICIT;
  size_t len = n * 65 + 1;
  char *shas = ku_calloc(1, len), sha[65];
  if (!shas) { set_err(err, KRAIT_ERR_NOMEM, "%s", "out of memory"); return -1; }
  const krait_module **todo = ku_calloc(n ? n : 1, sizeof *todo);
  size_t k = 0;
  for (size_t i = 0; todo && i < n; i++) {
    void *dl;
    kaot_module_id(ms[i], sha);
    if (lookup(sha, ex, &dl)) continue;
    bool dup = false;
    for (size_t j = 0; j < k && !dup; j++) {
      char o[65];
      kaot_module_id(todo[j], o);
      dup = strcmp(o, sha) == 0;
    }
    if (dup) continue;
    todo[k++] = ms[i];
    strcat(shas, sha);
    strcat(shas, " ");
  }
  int rc = 0;
  if (!todo) rc = -1;
  else if (k) {
    rc = obtain_key(todo, k, shas, ex, true, err) ? 0 : -1;
  }
  ku_free(todo);
  ku_free(shas);
  return rc;
}
