/*
** wasi_fd.c -- the fd_* calls other than data transfer, on stdio fds.
** Owns seek/tell, close/renumber, stat, sync, advise and prestat answers;
** not reads and writes (wasi_io.c) nor the path/socket stubs (wasi_stub.c).
*/
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "wasi/wasi_internal.h"

/* fd_seek(fd, offset, whence, newoffset_ptr) -> errno. A real lseek on the
** host fd, so a redirected regular file seeks and a pipe or tty is ESPIPE. */
int kw_fd_seek(krait_caller *caller, void *env, krait_slot *ar)
{
  static const int whences[] = { SEEK_SET, SEEK_CUR, SEEK_END };
  kw_mem m = kw_mem_of(caller);
  kw_fd *f = kw_fd_get(env, (uint32_t)ar[0].i32);
  uint32_t whence = (uint32_t)ar[2].i32, out = (uint32_t)ar[3].i32;
  off_t pos;
  if (!f)
    return kw_ret(ar, KW_EBADF);
  if (whence > KW_WHENCE_END)
    return kw_ret(ar, KW_EINVAL);
  if (!kw_span(&m, out, 8))
    return kw_ret(ar, KW_EFAULT);
  pos = lseek(f->host, (off_t)ar[1].i64, whences[whence]);
  if (pos < 0)
    return kw_ret(ar, kw_errno(errno));
  return kw_ret(ar, kw_put_u64_at(&m, out, (uint64_t)pos));
}

/* fd_tell(fd, offset_ptr) -> errno */
int kw_fd_tell(krait_caller *caller, void *env, krait_slot *ar)
{
  kw_mem m = kw_mem_of(caller);
  kw_fd *f = kw_fd_get(env, (uint32_t)ar[0].i32);
  uint32_t out = (uint32_t)ar[1].i32;
  off_t pos;
  if (!f)
    return kw_ret(ar, KW_EBADF);
  if (!kw_span(&m, out, 8))
    return kw_ret(ar, KW_EFAULT);
  pos = lseek(f->host, 0, SEEK_CUR);
  if (pos < 0)
    return kw_ret(ar, kw_errno(errno));
  return kw_ret(ar, kw_put_u64_at(&m, out, (uint64_t)pos));
}

/* fd_close(fd) -> errno. The guest fd goes away; the borrowed host fd
** stays open (it belongs to the embedder). */
int kw_fd_close(krait_caller *caller, void *env, krait_slot *ar)
{
  kw_fd *f = kw_fd_get(env, (uint32_t)ar[0].i32);
  if (!f)
    return kw_ret(ar, KW_EBADF);
  f->open = 0;
  return kw_ret(ar, 0);
}

/* fd_renumber(fd, to) -> errno. Both must be open; "to" then refers to
** what "fd" did and "fd" is closed. */
int kw_fd_renumber(krait_caller *caller, void *env, krait_slot *ar)
{
  kw_fd *from = kw_fd_get(env, (uint32_t)ar[0].i32);
  kw_fd *to = kw_fd_get(env, (uint32_t)ar[1].i32);
  if (!from || !to)
    return kw_ret(ar, KW_EBADF);
  if (from != to) {
    *to = *from;
    from->open = 0;
  }
  return kw_ret(ar, 0);
}

/* The WASI fdflags of a host fd, from its open-file status flags. */
static uint16_t kw_fdflags(int host)
{
  int fl = fcntl(host, F_GETFL);
  uint16_t out = 0;
  if (fl < 0)
    return 0;
  if (fl & O_APPEND)
    out |= KW_FDFLAG_APPEND;
  if (fl & O_NONBLOCK)
    out |= KW_FDFLAG_NONBLOCK;
  if ((fl & O_SYNC) == O_SYNC)
    out |= KW_FDFLAG_SYNC;
  else if (fl & O_DSYNC)
    out |= KW_FDFLAG_DSYNC;
  return out;
}

/* fd_fdstat_get(fd, fdstat_ptr) -> errno. Rights are all rights, except
** that a tty lacks fd_seek and fd_tell: that is how wasi-libc's isatty()
** recognizes a terminal (and so line-buffers stdout). */
int kw_fd_fdstat_get(krait_caller *caller, void *env, krait_slot *ar)
{
  kw_mem m = kw_mem_of(caller);
  kw_fd *f = kw_fd_get(env, (uint32_t)ar[0].i32);
  uint8_t *p = kw_span(&m, (uint32_t)ar[1].i32, KW_FDSTAT_SIZE);
  uint64_t rights = KW_RIGHTS_ALL;
  if (!f)
    return kw_ret(ar, KW_EBADF);
  if (!p)
    return kw_ret(ar, KW_EFAULT);
  if (isatty(f->host))
    rights &= ~(KW_RIGHT_FD_SEEK | KW_RIGHT_FD_TELL);
  for (int i = 0; i < KW_FDSTAT_SIZE; i++)
    p[i] = 0;
  p[0] = (uint8_t)kw_filetype(f->host);
  kw_put_u16(p + 2, kw_fdflags(f->host));
  kw_put_u64(p + 8, rights);
  kw_put_u64(p + 16, rights);
  return kw_ret(ar, 0);
}

/* A host timespec as WASI nanoseconds (0 for times before the epoch). */
static uint64_t kw_ns(struct timespec ts)
{
  if (ts.tv_sec < 0)
    return 0;
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* fd_filestat_get(fd, filestat_ptr) -> errno, from fstat of the host fd. */
int kw_fd_filestat_get(krait_caller *caller, void *env, krait_slot *ar)
{
  kw_mem m = kw_mem_of(caller);
  kw_fd *f = kw_fd_get(env, (uint32_t)ar[0].i32);
  uint8_t *p = kw_span(&m, (uint32_t)ar[1].i32, KW_FILESTAT_SIZE);
  struct stat sb;
  if (!f)
    return kw_ret(ar, KW_EBADF);
  if (!p)
    return kw_ret(ar, KW_EFAULT);
  if (fstat(f->host, &sb) != 0)
    return kw_ret(ar, kw_errno(errno));
  for (int i = 0; i < KW_FILESTAT_SIZE; i++)
    p[i] = 0;
  kw_put_u64(p + 0, (uint64_t)sb.st_dev);
  kw_put_u64(p + 8, (uint64_t)sb.st_ino);
  p[16] = (uint8_t)kw_filetype(f->host);
  kw_put_u64(p + 24, (uint64_t)sb.st_nlink);
  kw_put_u64(p + 32, (uint64_t)sb.st_size);
  kw_put_u64(p + 40, kw_ns(sb.st_atim));
  kw_put_u64(p + 48, kw_ns(sb.st_mtim));
  kw_put_u64(p + 56, kw_ns(sb.st_ctim));
  return kw_ret(ar, 0);
}

/* fd_sync(fd) -> errno; a pipe or tty answers EINVAL, as on the host. */
int kw_fd_sync(krait_caller *caller, void *env, krait_slot *ar)
{
  kw_fd *f = kw_fd_get(env, (uint32_t)ar[0].i32);
  if (!f)
    return kw_ret(ar, KW_EBADF);
  return kw_ret(ar, fsync(f->host) == 0 ? 0 : kw_errno(errno));
}

/* fd_datasync(fd) -> errno */
int kw_fd_datasync(krait_caller *caller, void *env, krait_slot *ar)
{
  kw_fd *f = kw_fd_get(env, (uint32_t)ar[0].i32);
  if (!f)
    return kw_ret(ar, KW_EBADF);
  return kw_ret(ar, fdatasync(f->host) == 0 ? 0 : kw_errno(errno));
}

/* fd_advise(fd, offset, len, advice) -> errno. WASI numbers the advice
** values differently from Linux (sequential/random are swapped). */
int kw_fd_advise(krait_caller *caller, void *env, krait_slot *ar)
{
  static const int advice[] = {
    POSIX_FADV_NORMAL, POSIX_FADV_SEQUENTIAL, POSIX_FADV_RANDOM,
    POSIX_FADV_WILLNEED, POSIX_FADV_DONTNEED, POSIX_FADV_NOREUSE
  };
  kw_fd *f = kw_fd_get(env, (uint32_t)ar[0].i32);
  uint32_t a = (uint32_t)ar[3].i32;
  int r;
  if (!f)
    return kw_ret(ar, KW_EBADF);
  if (a > KW_ADVICE_NOREUSE || ar[1].i64 < 0 || ar[2].i64 < 0)
    return kw_ret(ar, KW_EINVAL);
  r = posix_fadvise(f->host, (off_t)ar[1].i64, (off_t)ar[2].i64, advice[a]);
  return kw_ret(ar, r == 0 ? 0 : kw_errno(r));
}

/* fd_fdstat_set_flags(fd, flags) -> errno. Changing the flags of a stdio
** host fd would change them for the embedder too, so only a request that
** changes nothing succeeds; anything else is ENOSYS in this subset. */
int kw_fd_fdstat_set_flags(krait_caller *caller, void *env, krait_slot *ar)
{
  kw_fd *f = kw_fd_get(env, (uint32_t)ar[0].i32);
  if (!f)
    return kw_ret(ar, KW_EBADF);
  if ((uint32_t)ar[1].i32 == kw_fdflags(f->host))
    return kw_ret(ar, 0);
  return kw_ret(ar, KW_ENOSYS);
}

/* fd_fdstat_set_rights(fd, base, inheriting) -> errno. Rights are not
** enforced on stdio, so they cannot be dropped either: ENOTSUP, the answer
** wasmtime gives. */
int kw_fd_fdstat_set_rights(krait_caller *caller, void *env, krait_slot *ar)
{
  if (!kw_fd_get(env, (uint32_t)ar[0].i32))
    return kw_ret(ar, KW_EBADF);
  return kw_ret(ar, KW_ENOTSUP);
}

/* fd_prestat_get(fd, prestat_ptr) -> errno. No directory is preopened in
** this subset, so every fd answers EBADF; that also ends wasi-libc's scan
** for preopens at fd 3. */
int kw_fd_prestat_get(krait_caller *caller, void *env, krait_slot *ar)
{
  return kw_ret(ar, KW_EBADF);
}

/* fd_prestat_dir_name(fd, path, path_len) -> errno; EBADF as above. */
int kw_fd_prestat_dir_name(krait_caller *caller, void *env, krait_slot *ar)
{
  return kw_ret(ar, KW_EBADF);
}
