/*
** wasi_pathops.c -- the path_* calls, each beneath a directory fd.
** Owns path_open's flag and rights rules and the *at() call of each path
** operation; not how paths resolve safely (wasi_path.c) nor fd calls.
*/
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wasi/wasi_internal.h"
#include "util/util.h"

#define KW_U32(i) ((uint32_t)ar[i].i32)

/* The result of a host *at() call: 0, or the WASI errno of errno. */
static int kw_host(int r) {
  return r == 0 ? 0 : kw_errno(errno);
}

/* The host open flags for path_open's oflags, fdflags and the rights
** asked for: reading and writing follow the rights (as in wasmtime), the
** last component is never followed here (kw_resolve already did). */
static int kw_open_flags(uint32_t oflags, uint32_t fdflags, uint64_t base) {
  uint64_t wr = KW_R(FD_WRITE) | KW_R(FD_ALLOCATE) | KW_R(FD_FILESTAT_SET_SIZE);
  uint64_t rd = KW_R(FD_READ) | KW_R(FD_READDIR);
  int fl = O_CLOEXEC | O_NOCTTY | O_NOFOLLOW;
  if ((base & wr) && !(oflags & KW_O_DIRECTORY))
    fl |= (base & rd) ? O_RDWR : O_WRONLY;
  fl |= (oflags & KW_O_CREAT) ? O_CREAT : 0;
  fl |= (oflags & KW_O_EXCL) ? O_EXCL : 0;
  fl |= (oflags & KW_O_TRUNC) ? O_TRUNC : 0;
  fl |= (oflags & KW_O_DIRECTORY) ? O_DIRECTORY : 0;
  fl |= (fdflags & KW_FDFLAG_APPEND) ? O_APPEND : 0;
  fl |= (fdflags & KW_FDFLAG_DSYNC) ? O_DSYNC : 0;
  fl |= (fdflags & KW_FDFLAG_NONBLOCK) ? O_NONBLOCK : 0;
  fl |= (fdflags & KW_FDFLAG_RSYNC) ? O_RSYNC : 0;
  fl |= (fdflags & KW_FDFLAG_SYNC) ? O_SYNC : 0;
  return fl;
}

/* openat that cannot hang the host call: a FIFO without a peer would
** block in open(2), past the caller's deadline, so the open is always
** non-blocking and O_NONBLOCK is cleared afterwards unless asked for.
** Returns the fd, or -1 with errno. */
static int kw_open_nonblocking(int dir, const char *name, int flags) {
  int fd = openat(dir, name, flags | O_NONBLOCK, 0666);
  if (fd >= 0 && !(flags & O_NONBLOCK))
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  return fd;
}

/* The rights the directory fd needs for one path_open: path_open itself,
** path_create_file with creat, path_filestat_set_size with trunc. */
static uint64_t kw_open_needs(uint32_t oflags) {
  uint64_t r = KW_R(PATH_OPEN);
  if (oflags & KW_O_CREAT)
    r |= KW_R(PATH_CREATE_FILE);
  if (oflags & KW_O_TRUNC)
    r |= KW_R(PATH_FILESTAT_SET_SIZE);
  return r;
}

/* The rights the new fd asks for, plus those its fdflags imply (dsync
** needs fd_datasync, rsync and sync need fd_sync). */
static uint64_t kw_open_asks(uint64_t base, uint32_t fdflags) {
  base &= KW_RIGHTS_ALL;
  if (fdflags & KW_FDFLAG_DSYNC)
    base |= KW_R(FD_DATASYNC);
  if (fdflags & (KW_FDFLAG_RSYNC | KW_FDFLAG_SYNC))
    base |= KW_R(FD_SYNC);
  return base;
}

/* The bytes an O_TRUNC open of w frees (the size of the regular file it
** names), for the disk quota; 0 without a quota, trunc or such a file. */
static uint64_t kw_trunc_frees(const kw_state *st, const kw_where *w,
                               uint32_t oflags) {
  struct stat sb;
  if (!st->disk_max || !(oflags & KW_O_TRUNC) ||
      fstatat(w->dir, w->name, &sb, AT_SYMLINK_NOFOLLOW) != 0 ||
      !S_ISREG(sb.st_mode))
    return 0;
  return (uint64_t)sb.st_size;
}

/* path_open(fd, dirflags, path, path_len, oflags, rights_base,
** rights_inheriting, fdflags, fd_ptr) -> errno. The new fd's rights must
** be within the directory's inheriting rights (else ENOTCAPABLE). */
int kw_path_open(krait_caller *caller, void *env, krait_slot *ar) {
  kw_state *st = env;
  kw_mem m = kw_mem_of(caller);
  uint32_t oflags = KW_U32(4), fdflags = KW_U32(7), nfd;
  uint64_t base = kw_open_asks((uint64_t)ar[5].i64, fdflags);
  uint64_t inh = (uint64_t)ar[6].i64 & KW_RIGHTS_ALL;
  int follow = (KW_U32(1) & KW_LOOKUP_SYMLINK_FOLLOW) &&
               (oflags & (KW_O_CREAT | KW_O_EXCL)) != (KW_O_CREAT | KW_O_EXCL);
  kw_fd *f;
  kw_where w;
  uint64_t freed;
  int e, host;
  if (!kw_span(&m, KW_U32(8), 4))
    return kw_ret(ar, KW_EFAULT);
  if ((e = kw_fd_need(st, KW_U32(0), kw_open_needs(oflags), &f)) == 0 &&
      ((base & ~f->inh) || (inh & ~f->inh)))
    e = KW_ENOTCAPABLE;
  if (e != 0) {
    kw_note_guest(caller, st, KW_U32(0), KW_U32(2), KW_U32(3));
    return kw_ret(ar, e);
  }
  e = kw_resolve_guest(caller, st, KW_U32(0), 0, KW_U32(2), KW_U32(3),
                       follow, &w);
  if (e != 0)
    return kw_ret(ar, e);
  if (w.must_dir && (oflags & KW_O_CREAT)) {  /* "name/" cannot be a file */
    kw_where_done(&w);
    return kw_ret(ar, KW_EISDIR);
  }
  oflags |= w.must_dir ? KW_O_DIRECTORY : 0;
  freed = kw_trunc_frees(st, &w, oflags);
  host = kw_open_nonblocking(w.dir, w.name,
                             kw_open_flags(oflags, fdflags, base));
  e = host < 0 ? kw_errno(errno) : 0;
  kw_where_done(&w);
  if (e == 0)
    kw_quota_credit(st, freed);
  if (e == 0 && (e = kw_fd_add(st, host, base, inh, &nfd)) != 0)
    close(host);
  if (e == 0) {
    st->fds[nfd].root_dev = f->root_dev;  /* f is still valid: fds is */
    st->fds[nfd].root_ino = f->root_ino;  /* one fixed array */
    kw_put_u32_at(&m, KW_U32(8), nfd);
  }
  return kw_ret(ar, e);
}

/* path_create_directory(fd, path, path_len) -> errno */
int kw_path_create_directory(krait_caller *caller, void *env,
                             krait_slot *ar) {
  kw_where w;
  int e = kw_resolve_guest(caller, env, KW_U32(0),
                           KW_R(PATH_CREATE_DIRECTORY), KW_U32(1),
                           KW_U32(2), 0, &w);
  if (e == 0)
    e = kw_host(mkdirat(w.dir, w.name, 0777));
  kw_where_done(&w);
  return kw_ret(ar, e);
}

/* path_remove_directory(fd, path, path_len) -> errno */
int kw_path_remove_directory(krait_caller *caller, void *env,
                             krait_slot *ar) {
  kw_where w;
  int e = kw_resolve_guest(caller, env, KW_U32(0),
                           KW_R(PATH_REMOVE_DIRECTORY), KW_U32(1),
                           KW_U32(2), 0, &w);
  if (e == 0)
    e = kw_host(unlinkat(w.dir, w.name, AT_REMOVEDIR));
  kw_where_done(&w);
  return kw_ret(ar, e);
}

/* path_unlink_file(fd, path, path_len) -> errno. A trailing slash names a
** directory, which this call never removes: ENOTDIR or EISDIR. */
int kw_path_unlink_file(krait_caller *caller, void *env, krait_slot *ar) {
  kw_where w;
  struct stat sb;
  int e = kw_resolve_guest(caller, env, KW_U32(0), KW_R(PATH_UNLINK_FILE),
                           KW_U32(1), KW_U32(2), 0, &w);
  if (e == 0 && w.must_dir)
    e = fstatat(w.dir, w.name, &sb, AT_SYMLINK_NOFOLLOW) != 0
        ? kw_errno(errno) : S_ISDIR(sb.st_mode) ? KW_EISDIR : KW_ENOTDIR;
  if (e == 0)
    e = kw_host(unlinkat(w.dir, w.name, 0));
  kw_where_done(&w);
  return kw_ret(ar, e);
}

/* path_filestat_get(fd, flags, path, path_len, filestat_ptr) -> errno */
int kw_path_filestat_get(krait_caller *caller, void *env, krait_slot *ar) {
  kw_mem m = kw_mem_of(caller);
  uint8_t *p = kw_span(&m, KW_U32(4), KW_FILESTAT_SIZE);
  struct stat sb;
  kw_where w;
  int e;
  if (!p)
    return kw_ret(ar, KW_EFAULT);
  e = kw_resolve_guest(caller, env, KW_U32(0), KW_R(PATH_FILESTAT_GET),
                       KW_U32(2), KW_U32(3),
                       KW_U32(1) & KW_LOOKUP_SYMLINK_FOLLOW, &w);
  if (e == 0)
    e = kw_host(fstatat(w.dir, w.name, &sb, AT_SYMLINK_NOFOLLOW));
  if (e == 0)
    e = kw_filestat_put(p, &sb);
  kw_where_done(&w);
  return kw_ret(ar, e);
}

/* Host timespecs for a WASI (atim, mtim, fst_flags) triple: a given time,
** now, or unchanged. KW_EINVAL when a time is both given and "now". */
int kw_times(uint64_t atim, uint64_t mtim, uint32_t fst,
             struct timespec ts[2]) {
  uint64_t t[2] = { atim, mtim };
  for (int i = 0; i < 2; i++) {
    uint32_t set = i ? KW_FST_MTIM : KW_FST_ATIM;
    uint32_t now = i ? KW_FST_MTIM_NOW : KW_FST_ATIM_NOW;
    if ((fst & set) && (fst & now))
      return KW_EINVAL;
    ts[i].tv_sec = (time_t)(t[i] / 1000000000u);
    ts[i].tv_nsec = (long)(t[i] % 1000000000u);
    if (fst & now)
      ts[i].tv_nsec = UTIME_NOW;
    else if (!(fst & set))
      ts[i].tv_nsec = UTIME_OMIT;
  }
  return fst > 15 ? KW_EINVAL : 0;
}

/* path_filestat_set_times(fd, flags, path, path_len, atim, mtim,
** fst_flags) -> errno */
int kw_path_filestat_set_times(krait_caller *caller, void *env,
                               krait_slot *ar) {
  struct timespec ts[2];
  kw_where w;
  int e = kw_times((uint64_t)ar[4].i64, (uint64_t)ar[5].i64, KW_U32(6), ts);
  if (e != 0)
    return kw_ret(ar, e);
  e = kw_resolve_guest(caller, env, KW_U32(0), KW_R(PATH_FILESTAT_SET_TIMES),
                       KW_U32(2), KW_U32(3),
                       KW_U32(1) & KW_LOOKUP_SYMLINK_FOLLOW, &w);
  if (e == 0)
    e = kw_host(utimensat(w.dir, w.name, ts, AT_SYMLINK_NOFOLLOW));
  kw_where_done(&w);
  return kw_ret(ar, e);
}

/* Whether w may be created as a new non-directory name (a link): a
** trailing slash asks for a directory, which link and symlink never make,
** so then the name is EEXIST when something is there and ENOENT when not,
** as Linux's linkat and symlinkat answer (wasmtime gives the same, but
** ENOTDIR for an existing file). Returns 0 without a trailing slash. */
static int kw_new_name(const kw_where *w) {
  struct stat sb;
  if (!w->must_dir)
    return 0;
  if (fstatat(w->dir, w->name, &sb, AT_SYMLINK_NOFOLLOW) == 0)
    return KW_EEXIST;
  return kw_errno(errno);
}

/* A link's source with a trailing slash must be a directory (which
** linkat then refuses with EPERM); anything else is ENOTDIR, as Linux's
** linkat answers (it would otherwise link the file the slash was cut
** from). Returns 0 without a trailing slash or for a directory. */
static int kw_link_source(const kw_where *w) {
  struct stat sb;
  if (!w->must_dir)
    return 0;
  if (fstatat(w->dir, w->name, &sb, AT_SYMLINK_NOFOLLOW) != 0)
    return kw_errno(errno);
  return S_ISDIR(sb.st_mode) ? 0 : KW_ENOTDIR;
}

/* path_link(old_fd, old_flags, old_path, old_path_len, new_fd, new_path,
** new_path_len) -> errno. Both ends resolve inside their own fds; a
** symlink (linked as itself) must still point inside from its new place.
** Trailing slashes follow Linux (kw_link_source, kw_new_name). */
int kw_path_link(krait_caller *caller, void *env, krait_slot *ar) {
  kw_where o, n;
  int e = kw_resolve_guest(caller, env, KW_U32(0), KW_R(PATH_LINK_SOURCE),
                           KW_U32(2), KW_U32(3),
                           KW_U32(1) & KW_LOOKUP_SYMLINK_FOLLOW, &o);
  n.dir = -1;
  if (e == 0)
    e = kw_link_source(&o);
  if (e == 0)
    e = kw_resolve_guest(caller, env, KW_U32(4), KW_R(PATH_LINK_TARGET),
                         KW_U32(5), KW_U32(6), 0, &n);
  if (e == 0)
    e = kw_new_name(&n);
  if (e == 0)
    e = kw_link_check_move(o.dir, o.name, kw_fd_get(env, KW_U32(0)), n.dir,
                           kw_fd_get(env, KW_U32(4)), 0);
  if (e == 0)
    e = kw_host(linkat(o.dir, o.name, n.dir, n.name, 0));
  kw_where_done(&o);
  kw_where_done(&n);
  return kw_ret(ar, e);
}

/* path_rename(fd, old_path, old_path_len, new_fd, new_path, new_path_len)
** -> errno. A symlink moved, or one inside a directory moved, must still
** point inside its preopen from its new place (kw_link_check_move). */
int kw_path_rename(krait_caller *caller, void *env, krait_slot *ar) {
  kw_where o, n;
  int e = kw_resolve_guest(caller, env, KW_U32(0), KW_R(PATH_RENAME_SOURCE),
                           KW_U32(1), KW_U32(2), 0, &o);
  n.dir = -1;
  if (e == 0)
    e = kw_resolve_guest(caller, env, KW_U32(3), KW_R(PATH_RENAME_TARGET),
                         KW_U32(4), KW_U32(5), 0, &n);
  if (e == 0)
    e = kw_link_check_move(o.dir, o.name, kw_fd_get(env, KW_U32(0)), n.dir,
                           kw_fd_get(env, KW_U32(3)), 1);
  if (e == 0)
    e = kw_host(renameat(o.dir, o.name, n.dir, n.name));
  kw_where_done(&o);
  kw_where_done(&n);
  return kw_ret(ar, e);
}

/* path_symlink(old_path, old_path_len, fd, new_path, new_path_len)
** -> errno. The link is left on the host's disk, where host tools follow
** it without the sandbox, so its target must stay inside the preopen
** from where the link is made (kw_link_fits): an absolute target, one
** that climbs above the preopen, or a ".." after a name (which a symlink
** in the middle could turn into a climb) is refused with ENOTCAPABLE.
** A new_path ending in '/' is EEXIST or ENOENT (kw_new_name). */
int kw_path_symlink(krait_caller *caller, void *env, krait_slot *ar) {
  kw_mem m = kw_mem_of(caller);
  char *target = NULL;
  kw_where w;
  int e = kw_path_get(&m, KW_U32(0), KW_U32(1), &target);
  w.dir = -1;
  if (e == 0 && target[0] == '/')
    e = KW_ENOTCAPABLE;
  if (e == 0)
    e = kw_resolve_guest(caller, env, KW_U32(2), KW_R(PATH_SYMLINK),
                         KW_U32(3), KW_U32(4), 0, &w);
  if (e == 0)
    e = kw_new_name(&w);
  if (e == 0)
    e = kw_link_fits(w.dir, kw_fd_get(env, KW_U32(2)), target);
  if (e == 0)
    e = kw_host(symlinkat(target, w.dir, w.name));
  kw_where_done(&w);
  ku_free(target);
  return kw_ret(ar, e);
}

/* path_readlink(fd, path, path_len, buf, buf_len, bufused_ptr) -> errno.
** A target longer than buf is truncated to buf_len bytes. */
int kw_path_readlink(krait_caller *caller, void *env, krait_slot *ar) {
  kw_mem m = kw_mem_of(caller);
  uint8_t *buf = kw_span(&m, KW_U32(3), KW_U32(4));
  char target[4096];
  ssize_t n = -1;
  kw_where w;
  int e;
  if (!buf || !kw_span(&m, KW_U32(5), 4))
    return kw_ret(ar, KW_EFAULT);
  e = kw_resolve_guest(caller, env, KW_U32(0), KW_R(PATH_READLINK),
                       KW_U32(1), KW_U32(2), 0, &w);
  if (e == 0 && (n = readlinkat(w.dir, w.name, target, sizeof target)) < 0)
    e = kw_errno(errno);
  kw_where_done(&w);
  if (e != 0)
    return kw_ret(ar, e);
  if ((uint64_t)n > KW_U32(4))
    n = (ssize_t)KW_U32(4);
  memcpy(buf, target, (size_t)n);
  return kw_ret(ar, kw_put_u32_at(&m, KW_U32(5), (uint32_t)n));
}
