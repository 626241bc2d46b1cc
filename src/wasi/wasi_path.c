/*
** wasi_path.c -- sandboxed resolution of guest paths beneath a dir fd.
** Owns openat2(RESOLVE_BENEATH) use, the component-by-component fallback
** and symlink following; not the path_* calls themselves (wasi_pathops.c).
*/
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "wasi/wasi_internal.h"
#include "util/util.h"

/* Symlinks followed in one resolution before ELOOP (Linux's own limit). */
#define KW_MAX_HOPS 40
/* Longest guest path accepted, and longest path while expanding links. */
#define KW_PATH_MAX 4096
#define KW_WORK_MAX (KW_PATH_MAX * 4)

/* struct open_how and the RESOLVE_* bits of openat2(2), spelled out so
** that older kernel headers build too. */
typedef struct kw_open_how {
  uint64_t flags, mode, resolve;
} kw_open_how;
#define KW_RESOLVE_NO_MAGICLINKS 0x02
#define KW_RESOLVE_BENEATH 0x08

/* openat2 availability: 0 unknown, 1 works, -1 missing (ENOSYS) or
** disabled by KRAIT_WASI_NO_OPENAT2 (which tests use for the fallback). */
static atomic_int kw_have_openat2;

/* Copies the guest path (ptr, len) into a new C string. KW_EFAULT for a
** bad span, KW_EILSEQ for an embedded NUL, KW_ENAMETOOLONG past 4 KiB. */
int kw_path_get(const kw_mem *m, uint32_t ptr, uint32_t len, char **out) {
  const uint8_t *p = kw_span(m, ptr, len);
  if (!p)
    return KW_EFAULT;
  if (len >= KW_PATH_MAX)
    return KW_ENAMETOOLONG;
  if (memchr(p, 0, len))
    return KW_EILSEQ;
  *out = ku_malloc(len + 1u);
  if (!*out)
    return KW_ENOMEM;
  memcpy(*out, p, len);
  (*out)[len] = '\0';
  return 0;
}

/* Opens path beneath dir as an O_PATH directory with openat2. Returns the
** fd, or -1 with errno: ENOSYS when the kernel lacks openat2 or a seccomp
** filter denies it (EPERM; opening O_PATH never needs permission), after
** which the fallback walk is used for good. */
static int kw_openat2_dir(int dir, const char *path) {
  kw_open_how how = { O_PATH | O_DIRECTORY | O_CLOEXEC, 0,
                      KW_RESOLVE_BENEATH | KW_RESOLVE_NO_MAGICLINKS };
  int st = atomic_load(&kw_have_openat2);
  long fd;
  if (st == 0) {
    st = getenv("KRAIT_WASI_NO_OPENAT2") ? -1 : 1;
    atomic_store(&kw_have_openat2, st);
  }
  if (st < 0)
    return errno = ENOSYS, -1;
  do
    fd = syscall(SYS_openat2, dir, path, &how, sizeof how);
  while (fd < 0 && (errno == EAGAIN || errno == EINTR));
  if (fd < 0 && (errno == ENOSYS || errno == EPERM)) {
    atomic_store(&kw_have_openat2, -1);  /* EPERM: a seccomp filter */
    errno = ENOSYS;
  }
  return (int)fd;
}

/* The fallback walk's state: a stack of O_PATH directory fds (entry 0 is
** the borrowed base) and the path still to walk. */
typedef struct kw_walk {
  int *stack;
  int depth, cap;
  char *rest;
  int hops;
} kw_walk;

/* Pushes fd on the walk's stack. Returns 0 or KW_ENOMEM. */
static int kw_walk_push(kw_walk *k, int fd) {
  if (k->depth + 1 >= k->cap) {
    int *n = ku_realloc(k->stack, sizeof *n * (size_t)(k->cap * 2));
    if (!n) {
      close(fd);
      return KW_ENOMEM;
    }
    k->stack = n;
    k->cap *= 2;
  }
  k->stack[++k->depth] = fd;
  return 0;
}

/* Replaces the walk's remaining path by link target + "/" + rest.
** Absolute targets escape the sandbox: KW_ENOTCAPABLE. */
static int kw_walk_splice(kw_walk *k, const char *target, const char *rest) {
  size_t a = strlen(target), b = strlen(rest);
  char *n;
  if (target[0] == '/')
    return KW_ENOTCAPABLE;
  if (++k->hops > KW_MAX_HOPS)
    return KW_ELOOP;
  if (a + b + 2 > KW_WORK_MAX)
    return KW_ENAMETOOLONG;
  n = ku_malloc(a + b + 2);
  if (!n)
    return KW_ENOMEM;
  memcpy(n, target, a);
  n[a] = '/';
  memcpy(n + a + 1, rest, b + 1);
  ku_free(k->rest);
  k->rest = n;
  return 0;
}

/* Steps into directory component c of the walk (not "." or ".."): opens
** it without following, or splices its target in front of the remaining
** path when it is a symlink. */
static int kw_walk_enter(kw_walk *k, const char *c) {
  int top = k->stack[k->depth], err;
  char target[KW_PATH_MAX];
  ssize_t n;
  int fd = openat(top, c, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd >= 0)
    return kw_walk_push(k, fd);
  err = errno;
  if (err != ENOTDIR && err != ELOOP)
    return kw_errno(err);
  n = readlinkat(top, c, target, sizeof target - 1);
  if (n < 0)
    return kw_errno(err);
  target[n] = '\0';
  return kw_walk_splice(k, target, k->rest);
}

/* Takes the first component off the walk's remaining path into comp.
** Returns 0, or KW_ENAMETOOLONG for a component over 255 bytes. */
static int kw_walk_next(kw_walk *k, char comp[256]) {
  char *slash = strchr(k->rest, '/');
  size_t len = slash ? (size_t)(slash - k->rest) : strlen(k->rest);
  const char *after = slash ? slash + 1 : "";
  if (len >= 256)
    return KW_ENAMETOOLONG;
  memcpy(comp, k->rest, len);
  comp[len] = '\0';
  memmove(k->rest, after, strlen(after) + 1);
  return 0;
}

/* Walks the directory path beneath base one component at a time with
** O_PATH|O_NOFOLLOW, following symlinks by hand and tracking ".." on a
** stack so nothing resolves above base (cap-std's approach). Returns 0
** with *out an owned fd of the directory reached, or a WASI errno. */
static int kw_walk_dir(int base, const char *path, int *out) {
  kw_walk k = { ku_malloc(sizeof(int) * 16), 0, 16, ku_strdup(path), 0 };
  int e = (!k.stack || !k.rest) ? KW_ENOMEM : 0;
  char comp[256];
  if (k.stack)
    k.stack[0] = base;
  while (e == 0 && k.rest[0] && (e = kw_walk_next(&k, comp)) == 0) {
    if (strcmp(comp, "..") == 0) {
      if (k.depth == 0)
        e = KW_ENOTCAPABLE;
      else
        close(k.stack[k.depth--]);
    } else if (comp[0] && strcmp(comp, ".") != 0)
      e = kw_walk_enter(&k, comp);
  }
  if (e == 0)
    *out = k.depth == 0 ? fcntl(base, F_DUPFD_CLOEXEC, 0) : k.stack[k.depth];
  if (e == 0 && *out < 0)
    e = kw_errno(errno);
  for (int i = 1; k.stack && i <= k.depth - (e == 0 ? 1 : 0); i++)
    close(k.stack[i]);
  ku_free(k.stack);
  ku_free(k.rest);
  return e;
}

/* Opens the directory part of a guest path beneath base: openat2 when the
** kernel has it (EXDEV, an escape, becomes KW_ENOTCAPABLE), else the
** walk. Returns 0 with *out owned, or a WASI errno. */
static int kw_open_dir(int base, const char *dir, int *out) {
  int fd = kw_openat2_dir(base, dir);
  if (fd >= 0) {
    *out = fd;
    return 0;
  }
  if (errno == EXDEV)
    return KW_ENOTCAPABLE;
  if (errno != ENOSYS)
    return kw_errno(errno);
  return kw_walk_dir(base, dir, out);
}

/* Splits path into its directory part (in dir, "." when none) and last
** component (in w->name), dropping trailing slashes into w->must_dir. A
** last component of "." or ".." moves into dir and the name becomes ".",
** so no call ever acts on ".." of a resolved directory. */
static int kw_split(char *path, char *dir, kw_where *w) {
  size_t n = strlen(path);
  char *slash, *last;
  w->must_dir = 0;
  while (n > 1 && path[n - 1] == '/') {
    path[--n] = '\0';
    w->must_dir = 1;
  }
  slash = strrchr(path, '/');
  last = slash ? slash + 1 : path;
  if (strlen(last) >= sizeof w->name)
    return KW_ENAMETOOLONG;
  if (strcmp(last, ".") == 0 || strcmp(last, "..") == 0) {
    strcpy(dir, path);
    strcpy(w->name, ".");
    return 0;
  }
  strcpy(w->name, last);
  if (!slash)
    strcpy(dir, ".");
  else {
    memcpy(dir, path, (size_t)(slash - path));
    dir[slash - path] = '\0';
  }
  return 0;
}

/* Writes dir + "/" + target (n bytes) + an optional "/" to out, which the
** caller has checked is large enough. */
static void kw_join(char *out, const char *dir, const char *target, size_t n,
                    int slash) {
  size_t d = strlen(dir);
  memcpy(out, dir, d);
  out[d] = '/';
  memcpy(out + d + 1, target, n);
  strcpy(out + d + 1 + n, slash ? "/" : "");
}

/* One resolution round: splits path, opens its directory beneath base and,
** when following and the last component is a symlink, rewrites path to
** dir + "/" + target for another round (*again set). */
static int kw_round(int base, char *path, int follow, kw_where *w,
                    int *again) {
  char dir[KW_WORK_MAX], target[KW_PATH_MAX];
  ssize_t n;
  int e = kw_split(path, dir, w);
  *again = 0;
  if (e == 0)
    e = kw_open_dir(base, dir, &w->dir);
  if (e != 0 || !follow || strcmp(w->name, ".") == 0)
    return e;
  n = readlinkat(w->dir, w->name, target, sizeof target - 1);
  if (n < 0)
    return 0;  /* not a symlink (or absent): resolved */
  target[n] = '\0';
  if (target[0] == '/' || strlen(dir) + (size_t)n + 3 > KW_WORK_MAX) {
    kw_where_done(w);
    return target[0] == '/' ? KW_ENOTCAPABLE : KW_ENAMETOOLONG;
  }
  kw_join(path, dir, target, (size_t)n, w->must_dir);
  kw_where_done(w);
  *again = 1;
  return 0;
}

/* Resolves a guest path beneath the directory fd base. Absolute paths and
** anything that would leave base are KW_ENOTCAPABLE; an empty path is
** KW_ENOENT; more than 40 symlinks is KW_ELOOP. With follow, a symlink as
** the last component is followed too. On success w->dir is owned. */
int kw_resolve(int base, const char *path, int follow, kw_where *w) {
  char *work;
  int e = 0, again = 1;
  w->dir = -1;
  if (path[0] == '\0')
    return KW_ENOENT;
  if (path[0] == '/')
    return KW_ENOTCAPABLE;
  work = ku_malloc(KW_WORK_MAX);
  if (!work)
    return KW_ENOMEM;
  snprintf(work, KW_WORK_MAX, "%s", path);
  for (int hops = 0; e == 0 && again; hops++) {
    if (hops > KW_MAX_HOPS) {
      kw_where_done(w);
      e = KW_ELOOP;
      break;
    }
    e = kw_round(base, work, follow, w, &again);
  }
  ku_free(work);
  return e;
}

/* Closes a resolution's directory fd. */
void kw_where_done(kw_where *w) {
  if (w->dir >= 0)
    close(w->dir);
  w->dir = -1;
}

/* The common start of a path_* call: fd must hold rights; the guest path
** is read (and noted for a watched fd) and resolved beneath it. On success
** w->dir is owned. */
int kw_resolve_guest(krait_caller *caller, kw_state *st, uint32_t fd,
                     uint64_t rights, uint32_t ptr, uint32_t len, int follow,
                     kw_where *w) {
  kw_mem m = kw_mem_of(caller);
  kw_fd *f = NULL;
  char *path = NULL;
  int e = kw_fd_need(st, fd, rights, &f), pe = KW_EBADF;
  w->dir = -1;
  if (e != KW_EBADF && (pe = kw_path_get(&m, ptr, len, &path)) == 0)
    kw_note_path(st, kw_fd_get(st, fd), path);
  if (e == 0)
    e = pe;
  if (e == 0)
    e = kw_resolve(f->host, path, follow, w);
  ku_free(path);
  return e;
}

/* Notes the guest path (ptr, len) of a call through fd for the failed-path
** hook, for calls that fail before kw_resolve_guest runs. */
void kw_note_guest(krait_caller *caller, kw_state *st, uint32_t fd,
                   uint32_t ptr, uint32_t len) {
  kw_mem m = kw_mem_of(caller);
  kw_fd *f = kw_fd_get(st, fd);
  char *path = NULL;
  if (st->miss && f && f->watched && kw_path_get(&m, ptr, len, &path) == 0)
    kw_note_path(st, f, path);
  ku_free(path);
}
