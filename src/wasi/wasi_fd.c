/*
** wasi_fd.c -- the fd_* calls other than data transfer and readdir.
** Owns seek/tell, close/renumber, fdstat, filestat, sync, advise, allocate
** and prestat; not reads and writes (wasi_io.c) nor fd_readdir (wasi_dir.c).
*/
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "wasi/wasi_internal.h"

#define KW_FD(rights, f) kw_fd_need(env, (uint32_t)ar[0].i32, (rights), (f))

/* The fd a seek or tell acts on: kw_fd_need, except that a directory
** (which never holds fd_seek or fd_tell) is EBADF, as in wasmtime, where
** only files seek. Linux would let lseek move a directory's readdir
** position, which fd_readdir's cookies own instead. */
static int kw_seek_fd(kw_state *st, uint32_t fd, uint64_t rights, kw_fd **f) {
  int e = kw_fd_need(st, fd, rights, f);
  if (e == KW_ENOTCAPABLE && kw_is_dir(kw_fd_get(st, fd)->host))
    return KW_EBADF;
  return e;
}

/* fd_seek(fd, offset, whence, newoffset_ptr) -> errno. A real lseek on the
** host fd, so a regular file seeks and a pipe or tty is ESPIPE, and a
** directory is EBADF (kw_seek_fd). Needs fd_seek, or only fd_tell for a
** (0, cur) query. */
int kw_fd_seek(krait_caller *caller, void *env, krait_slot *ar) {
  static const int whences[] = { SEEK_SET, SEEK_CUR, SEEK_END };
  kw_mem m = kw_mem_of(caller);
  uint32_t whence = (uint32_t)ar[2].i32, out = (uint32_t)ar[3].i32;
  int tell = ar[1].i64 == 0 && whence == KW_WHENCE_CUR;
  kw_fd *f;
  off_t pos;
  int e = kw_seek_fd(env, (uint32_t)ar[0].i32,
                     tell ? KW_R(FD_TELL) : KW_R(FD_SEEK), &f);
  if (e != 0)
    return kw_ret(ar, e);
  if (whence > KW_WHENCE_END)
    return kw_ret(ar, KW_EINVAL);
  if (!kw_span(&m, out, 8))
    return kw_ret(ar, KW_EFAULT);
  pos = lseek(f->host, (off_t)ar[1].i64, whences[whence]);
  if (pos < 0)
    return kw_ret(ar, kw_errno(errno));
  return kw_ret(ar, kw_put_u64_at(&m, out, (uint64_t)pos));
}

/* fd_tell(fd, offset_ptr) -> errno; a directory is EBADF (kw_seek_fd). */
int kw_fd_tell(krait_caller *caller, void *env, krait_slot *ar) {
  kw_mem m = kw_mem_of(caller);
  uint32_t out = (uint32_t)ar[1].i32;
  kw_fd *f;
  off_t pos;
  int e = kw_seek_fd(env, (uint32_t)ar[0].i32, KW_R(FD_TELL), &f);
  if (e != 0)
    return kw_ret(ar, e);
  if (!kw_span(&m, out, 8))
    return kw_ret(ar, KW_EFAULT);
  pos = lseek(f->host, 0, SEEK_CUR);
  if (pos < 0)
    return kw_ret(ar, kw_errno(errno));
  return kw_ret(ar, kw_put_u64_at(&m, out, (uint64_t)pos));
}

/* fd_close(fd) -> errno. The guest fd goes away; an owned host fd is
** closed, a borrowed stdio one stays open (it belongs to the embedder). */
int kw_fd_close(krait_caller *caller, void *env, krait_slot *ar) {
  kw_fd *f = kw_fd_get(env, (uint32_t)ar[0].i32);
  if (!f)
    return kw_ret(ar, KW_EBADF);
  kw_fd_release(f);
  return kw_ret(ar, 0);
}

/* fd_renumber(fd, to) -> errno. Both must be open; "to" is closed, then
** refers to what "fd" did, and "fd" is free. */
int kw_fd_renumber(krait_caller *caller, void *env, krait_slot *ar) {
  kw_fd *from = kw_fd_get(env, (uint32_t)ar[0].i32);
  kw_fd *to = kw_fd_get(env, (uint32_t)ar[1].i32);
  if (!from || !to)
    return kw_ret(ar, KW_EBADF);
  if (from != to) {
    kw_fd_release(to);
    *to = *from;
    memset(from, 0, sizeof *from);
  }
  return kw_ret(ar, 0);
}

/* The WASI fdflags of a host fd, from its open-file status flags. */
static uint16_t kw_fdflags(int host) {
  int fl = fcntl(host, F_GETFL);
  uint16_t out = 0;
  if (fl < 0)
    return 0;
  if (fl & O_APPEND)
    out |= KW_FDFLAG_APPEND;
  if (fl & O_NONBLOCK)
    out |= KW_FDFLAG_NONBLOCK;
  if ((fl & O_SYNC) == O_SYNC)
    out |= KW_FDFLAG_SYNC | ((fl & O_RSYNC) == O_RSYNC ? KW_FDFLAG_RSYNC : 0);
  else if (fl & O_DSYNC)
    out |= KW_FDFLAG_DSYNC;
  return out;
}

/* fd_fdstat_get(fd, fdstat_ptr) -> errno. The fd's rights, except that a
** tty lacks fd_seek and fd_tell: that is how wasi-libc's isatty()
** recognizes a terminal (and so line-buffers stdout). */
int kw_fd_fdstat_get(krait_caller *caller, void *env, krait_slot *ar) {
  kw_mem m = kw_mem_of(caller);
  kw_fd *f = kw_fd_get(env, (uint32_t)ar[0].i32);
  uint8_t *p = kw_span(&m, (uint32_t)ar[1].i32, KW_FDSTAT_SIZE);
  uint64_t base, inh;
  if (!f)
    return kw_ret(ar, KW_EBADF);
  if (!p)
    return kw_ret(ar, KW_EFAULT);
  base = f->base;
  inh = f->inh;
  if (isatty(f->host))
    base &= ~(KW_RIGHT_FD_SEEK | KW_RIGHT_FD_TELL);
  memset(p, 0, KW_FDSTAT_SIZE);
  p[0] = (uint8_t)kw_filetype(f->host);
  kw_put_u16(p + 2, kw_fdflags(f->host));
  kw_put_u64(p + 8, base);
  kw_put_u64(p + 16, inh);
  return kw_ret(ar, 0);
}

/* A host timespec as WASI nanoseconds (0 for times before the epoch). */
static uint64_t kw_ns(struct timespec ts) {
  if (ts.tv_sec < 0)
    return 0;
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Encodes a host struct stat as a 64-byte WASI filestat at p. Returns 0. */
int kw_filestat_put(uint8_t *p, const void *host_stat) {
  const struct stat *sb = host_stat;
  memset(p, 0, KW_FILESTAT_SIZE);
  kw_put_u64(p + 0, (uint64_t)sb->st_dev);
  kw_put_u64(p + 8, (uint64_t)sb->st_ino);
  p[16] = kw_filetype_mode(sb->st_mode);
  kw_put_u64(p + 24, (uint64_t)sb->st_nlink);
  kw_put_u64(p + 32, (uint64_t)sb->st_size);
  kw_put_u64(p + 40, kw_ns(sb->st_atim));
  kw_put_u64(p + 48, kw_ns(sb->st_mtim));
  kw_put_u64(p + 56, kw_ns(sb->st_ctim));
  return 0;
}

/* fd_filestat_get(fd, filestat_ptr) -> errno, from fstat of the host fd
** (a datagram socket keeps its own type). */
int kw_fd_filestat_get(krait_caller *caller, void *env, krait_slot *ar) {
  kw_mem m = kw_mem_of(caller);
  uint8_t *p = kw_span(&m, (uint32_t)ar[1].i32, KW_FILESTAT_SIZE);
  struct stat sb;
  kw_fd *f;
  int e = KW_FD(KW_R(FD_FILESTAT_GET), &f);
  if (e != 0)
    return kw_ret(ar, e);
  if (!p)
    return kw_ret(ar, KW_EFAULT);
  if (fstat(f->host, &sb) != 0)
    return kw_ret(ar, kw_errno(errno));
  kw_filestat_put(p, &sb);
  p[16] = (uint8_t)kw_filetype(f->host);
  return kw_ret(ar, 0);
}

/* fd_filestat_set_size(fd, size) -> errno. Growing a file past the disk
** quota is ENOSPC (and nothing changes); shrinking gives quota back. */
int kw_fd_filestat_set_size(krait_caller *caller, void *env, krait_slot *ar) {
  kw_fd *f;
  kw_grow g;
  int e = KW_FD(KW_R(FD_FILESTAT_SET_SIZE), &f);
  if (e != 0)
    return kw_ret(ar, e);
  if (ar[1].i64 < 0)
    return kw_ret(ar, KW_EINVAL);
  kw_quota_begin(env, f, &g);
  if ((uint64_t)ar[1].i64 > g.size &&
      kw_quota_room(env, &g, g.size) < (uint64_t)ar[1].i64 - g.size)
    return kw_ret(ar, KW_ENOSPC);
  e = ftruncate(f->host, (off_t)ar[1].i64) == 0 ? 0 : kw_errno(errno);
  kw_quota_end(env, f, &g);
  return kw_ret(ar, e);
}

/* fd_filestat_set_times(fd, atim, mtim, fst_flags) -> errno */
int kw_fd_filestat_set_times(krait_caller *caller, void *env,
                             krait_slot *ar) {
  struct timespec ts[2];
  kw_fd *f;
  int e = KW_FD(KW_R(FD_FILESTAT_SET_TIMES), &f);
  if (e == 0)
    e = kw_times((uint64_t)ar[1].i64, (uint64_t)ar[2].i64,
                 (uint32_t)ar[3].i32, ts);
  if (e == 0 && futimens(f->host, ts) != 0)
    e = kw_errno(errno);
  return kw_ret(ar, e);
}

/* fd_allocate(fd, offset, len) -> errno. A reservation that would grow
** the file past the disk quota is ENOSPC, and nothing is reserved. */
int kw_fd_allocate(krait_caller *caller, void *env, krait_slot *ar) {
  kw_fd *f;
  kw_grow g;
  uint64_t end;
  int e = KW_FD(KW_R(FD_ALLOCATE), &f), r;
  if (e != 0)
    return kw_ret(ar, e);
  if (ar[1].i64 < 0 || ar[2].i64 <= 0)
    return kw_ret(ar, KW_EINVAL);
  if (ar[1].i64 > INT64_MAX - ar[2].i64)
    return kw_ret(ar, KW_EFBIG);
  end = (uint64_t)ar[1].i64 + (uint64_t)ar[2].i64;
  kw_quota_begin(env, f, &g);
  if (end > g.size && kw_quota_room(env, &g, g.size) < end - g.size)
    return kw_ret(ar, KW_ENOSPC);
  r = posix_fallocate(f->host, (off_t)ar[1].i64, (off_t)ar[2].i64);
  kw_quota_end(env, f, &g);
  return kw_ret(ar, r == 0 ? 0 : kw_errno(r));
}

/* fd_sync(fd) -> errno; a pipe or tty answers EINVAL, as on the host. */
int kw_fd_sync(krait_caller *caller, void *env, krait_slot *ar) {
  kw_fd *f;
  int e = KW_FD(KW_R(FD_SYNC), &f);
  if (e != 0)
    return kw_ret(ar, e);
  return kw_ret(ar, fsync(f->host) == 0 ? 0 : kw_errno(errno));
}

/* fd_datasync(fd) -> errno */
int kw_fd_datasync(krait_caller *caller, void *env, krait_slot *ar) {
  kw_fd *f;
  int e = KW_FD(KW_R(FD_DATASYNC), &f);
  if (e != 0)
    return kw_ret(ar, e);
  return kw_ret(ar, fdatasync(f->host) == 0 ? 0 : kw_errno(errno));
}

/* fd_advise(fd, offset, len, advice) -> errno. WASI numbers the advice
** values differently from Linux (sequential/random are swapped). */
int kw_fd_advise(krait_caller *caller, void *env, krait_slot *ar) {
  static const int advice[] = {
    POSIX_FADV_NORMAL, POSIX_FADV_SEQUENTIAL, POSIX_FADV_RANDOM,
    POSIX_FADV_WILLNEED, POSIX_FADV_DONTNEED, POSIX_FADV_NOREUSE
  };
  uint32_t a = (uint32_t)ar[3].i32;
  kw_fd *f;
  int e = KW_FD(KW_R(FD_ADVISE), &f), r;
  if (e != 0)
    return kw_ret(ar, e);
  if (a > KW_ADVICE_NOREUSE || ar[1].i64 < 0 || ar[2].i64 < 0)
    return kw_ret(ar, KW_EINVAL);
  r = posix_fadvise(f->host, (off_t)ar[1].i64, (off_t)ar[2].i64, advice[a]);
  return kw_ret(ar, r == 0 ? 0 : kw_errno(r));
}

/* fd_fdstat_set_flags(fd, flags) -> errno. A stdio host fd is shared with
** the embedder, so there only a request that changes nothing succeeds
** (ENOSYS otherwise). Elsewhere append and nonblock change with F_SETFL;
** Linux cannot change the sync flags of an open file: ENOTSUP. Append
** needs fd_write (a read-only preopen may still set nonblock). */
int kw_fd_fdstat_set_flags(krait_caller *caller, void *env, krait_slot *ar) {
  uint32_t want = (uint32_t)ar[1].i32, sync = KW_FDFLAG_DSYNC |
                  KW_FDFLAG_RSYNC | KW_FDFLAG_SYNC;
  kw_fd *f;
  int e = KW_FD(KW_R(FD_FDSTAT_SET_FLAGS), &f), fl;
  if (e != 0)
    return kw_ret(ar, e);
  if ((want & KW_FDFLAG_APPEND) && !(f->base & KW_R(FD_WRITE)))
    return kw_ret(ar, KW_ENOTCAPABLE);  /* e.g. in a read-only preopen */
  if (want == kw_fdflags(f->host))
    return kw_ret(ar, 0);
  if (!f->owned)
    return kw_ret(ar, KW_ENOSYS);
  if (want > 31 || (want & sync) != (kw_fdflags(f->host) & sync))
    return kw_ret(ar, want > 31 ? KW_EINVAL : KW_ENOTSUP);
  fl = fcntl(f->host, F_GETFL) & ~(O_APPEND | O_NONBLOCK);
  fl |= (want & KW_FDFLAG_APPEND ? O_APPEND : 0) |
        (want & KW_FDFLAG_NONBLOCK ? O_NONBLOCK : 0);
  return kw_ret(ar, fcntl(f->host, F_SETFL, fl) == 0 ? 0 : kw_errno(errno));
}

/* fd_fdstat_set_rights(fd, base, inheriting) -> errno. Rights can only be
** dropped: asking for one the fd lacks is ENOTCAPABLE. */
int kw_fd_fdstat_set_rights(krait_caller *caller, void *env, krait_slot *ar) {
  kw_fd *f = kw_fd_get(env, (uint32_t)ar[0].i32);
  uint64_t base = (uint64_t)ar[1].i64, inh = (uint64_t)ar[2].i64;
  if (!f)
    return kw_ret(ar, KW_EBADF);
  if ((base & ~f->base) || (inh & ~f->inh))
    return kw_ret(ar, KW_ENOTCAPABLE);
  f->base = base;
  f->inh = inh;
  return kw_ret(ar, 0);
}

/* fd_prestat_get(fd, prestat_ptr) -> errno. A preopened directory answers
** tag 0 (dir) and its guest name's length; any other open fd is EBADF,
** which also ends wasi-libc's scan for preopens. */
int kw_fd_prestat_get(krait_caller *caller, void *env, krait_slot *ar) {
  kw_mem m = kw_mem_of(caller);
  kw_fd *f = kw_fd_get(env, (uint32_t)ar[0].i32);
  uint8_t *p = kw_span(&m, (uint32_t)ar[1].i32, 8);
  if (!f || !f->preopen)
    return kw_ret(ar, KW_EBADF);
  if (!p)
    return kw_ret(ar, KW_EFAULT);
  memset(p, 0, 8);
  kw_put_u32(p + 4, (uint32_t)strlen(f->preopen));
  return kw_ret(ar, 0);
}

/* fd_prestat_dir_name(fd, path, path_len) -> errno. The name is written
** without a NUL; a buffer shorter than it is ENAMETOOLONG. */
int kw_fd_prestat_dir_name(krait_caller *caller, void *env, krait_slot *ar) {
  kw_mem m = kw_mem_of(caller);
  kw_fd *f = kw_fd_get(env, (uint32_t)ar[0].i32);
  uint32_t len = (uint32_t)ar[2].i32;
  uint8_t *p = kw_span(&m, (uint32_t)ar[1].i32, len);
  if (!f || !f->preopen)
    return kw_ret(ar, KW_EBADF);
  if (!p)
    return kw_ret(ar, KW_EFAULT);
  if (len < strlen(f->preopen))
    return kw_ret(ar, KW_ENAMETOOLONG);
  memcpy(p, f->preopen, strlen(f->preopen));
  return kw_ret(ar, 0);
}
