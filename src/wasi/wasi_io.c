/*
** wasi_io.c -- fd_read, fd_write, fd_pread, fd_pwrite on any guest fd.
** Owns scatter/gather transfers between guest iovecs and host fds; not fd
** metadata (wasi_fd.c) nor pointer validation itself (wasi_mem.c).
*/
#include <errno.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

#include "wasi/wasi_internal.h"
#include "platform/platform.h"
#include <poll.h>
#include <sys/stat.h>
#include <time.h>

/* Host iovecs handed to one readv/writev call. */
#define KW_BATCH 64

/* Where a transfer happens: at the fd's position, or at an offset. */
typedef struct kw_at {
  int positioned;
  off_t offset;
} kw_at;

/* Writes every byte the iovecs name to host fd, but at most limit bytes
** in all, continuing after short writes and EINTR. An error after some
** progress ends the call as a short write (like POSIX write); with no
** progress it is the result. */
static int kw_write_all(int host, kw_iovs *c, kw_at at, uint64_t limit,
                        uint32_t *done) {
  struct iovec v[KW_BATCH];
  uint64_t total = 0;
  if (limit > UINT32_MAX)
    limit = UINT32_MAX;
  for (;;) {
    uint64_t cap = limit - total;
    int k;
    ssize_t r;
    if (at.positioned && cap > (uint64_t)(INT64_MAX - at.offset) - total)
      cap = (uint64_t)(INT64_MAX - at.offset) - total;  /* no off_t wrap */
    k = kw_iovs_fill(c, v, KW_BATCH, cap);
    if (k == 0 && cap == 0 && total == 0 && kw_iovs_fill(c, v, 1, 1) > 0)
      return KW_EFBIG;  /* data to write past the largest file offset */
    if (k == 0)
      break;
    r = at.positioned ? pwritev(host, v, k, at.offset + (off_t)total)
                      : writev(host, v, k);
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0 && total == 0)
      return kw_errno(errno);
    if (r <= 0)
      break;
    total += (uint64_t)r;
    kw_iovs_advance(c, (uint64_t)r);
  }
  *done = (uint32_t)total;
  return 0;
}

/* Reads once into the iovecs from host fd, retrying EINTR. A short read is
** a normal result (a tty returns a line, a pipe what is buffered). */
static int kw_read_once(int host, kw_iovs *c, kw_at at, uint32_t *done) {
  struct iovec v[KW_BATCH];
  int k = kw_iovs_fill(c, v, KW_BATCH, UINT32_MAX);
  ssize_t r = 0;
  while (k > 0) {
    r = at.positioned ? preadv(host, v, k, at.offset) : readv(host, v, k);
    if (r >= 0 || errno != EINTR)
      break;
  }
  if (r < 0)
    return kw_errno(errno);
  *done = (uint32_t)r;
  return 0;
}

/* How many bytes a write through f may put down under the disk quota
** (UINT64_MAX: no limit applies), with f's size before it in g. A write
** that would grow the file past the quota is cut short; one that cannot
** add a byte is KW_ENOSPC (when it has any byte to write). */
static int kw_write_room(kw_state *st, kw_fd *f, kw_iovs *c, kw_at at,
                         kw_grow *g, uint64_t *room) {
  struct iovec one;
  uint64_t pos = (uint64_t)at.offset;
  int e;
  kw_quota_begin(st, f, g);
  *room = UINT64_MAX;
  if (!g->counted)
    return 0;
  if (!at.positioned && (e = kw_quota_position(f, g, &pos)) != 0)
    return e;
  *room = kw_quota_room(st, g, pos);
  if (*room == 0 && kw_iovs_fill(c, &one, 1, 1) > 0)
    return KW_ENOSPC;
  return 0;
}

/* The shared body of the four calls: checks fd and its rights (fd_read or
** fd_write, plus fd_seek when positioned), the result pointer and
** every iovec before any I/O, runs the transfer, stores the byte count.
** A write is held to the disk quota and settled with it afterwards. */
static int kw_transfer(krait_caller *caller, kw_state *st, krait_slot *ar,
                       int writing, kw_at at, uint32_t result_ptr) {
  kw_mem m = kw_mem_of(caller);
  kw_iovs c = { &m, (uint32_t)ar[1].i32, (uint32_t)ar[2].i32, 0, 0 };
  uint64_t need = (writing ? KW_R(FD_WRITE) : KW_R(FD_READ)) |
                  (at.positioned ? KW_R(FD_SEEK) : 0);
  uint32_t done = 0;
  uint64_t room = UINT64_MAX;
  kw_grow g = { 0, 0 };
  kw_fd *f;
  int e = kw_fd_need(st, (uint32_t)ar[0].i32, need, &f);
  if (e != 0)
    return e;
  if (!kw_span(&m, result_ptr, 4))
    return KW_EFAULT;
  if ((e = kw_iovs_check(&m, c.ptr, c.n)) != 0)
    return e;
  if (at.positioned && at.offset < 0)
    return KW_EINVAL;
  if (!writing && !at.positioned &&
      kw_wait_readable(f->host, krait_caller_deadline(caller)) != 0)
    return KW_PAST_DEADLINE;
  if (writing && (e = kw_write_room(st, f, &c, at, &g, &room)) != 0)
    return e;
  e = writing ? kw_write_all(f->host, &c, at, room, &done)
              : kw_read_once(f->host, &c, at, &done);
  if (writing)
    kw_quota_end(st, f, &g);
  if (e == 0)
    kw_put_u32_at(&m, result_ptr, done);
  return e;
}

/* fd_write(fd, iovs, iovs_len, nwritten_ptr) -> errno */
int kw_fd_write(krait_caller *caller, void *env, krait_slot *ar) {
  kw_at at = { 0, 0 };
  return kw_ret(ar, kw_transfer(caller, env, ar, 1, at, (uint32_t)ar[3].i32));
}

/* fd_read(fd, iovs, iovs_len, nread_ptr) -> errno; a read still blocked
** at the call's deadline traps with "deadline exceeded". */
int kw_fd_read(krait_caller *caller, void *env, krait_slot *ar) {
  kw_at at = { 0, 0 };
  int e = kw_transfer(caller, env, ar, 0, at, (uint32_t)ar[3].i32);
  if (e == KW_PAST_DEADLINE)
    return krait_caller_trap_kind(caller, KRAIT_TRAP_DEADLINE);
  return kw_ret(ar, e);
}

/* See wasi_internal.h. Regular files never block; EINTR retries. */
int kw_wait_readable(int host, uint64_t deadline) {
  struct stat sb;
  if (!deadline || (fstat(host, &sb) == 0 && S_ISREG(sb.st_mode)))
    return 0;
  for (;;) {
    uint64_t t = kp_monotonic_ns();
    if (t >= deadline)
      return KW_PAST_DEADLINE;
    uint64_t left = deadline - t;
    struct timespec ts = { (time_t)(left / 1000000000u), (long)(left % 1000000000u) };
    struct pollfd p = { host, POLLIN, 0 };
    int r = ppoll(&p, 1, &ts, NULL);
    if (r > 0 || (r < 0 && errno != EINTR))
      return 0;  /* readable, or let the read report the error */
  }
}

/* fd_pwrite(fd, iovs, iovs_len, offset, nwritten_ptr) -> errno; ESPIPE on
** a pipe or tty comes from the host. */
int kw_fd_pwrite(krait_caller *caller, void *env, krait_slot *ar) {
  kw_at at = { 1, (off_t)ar[3].i64 };
  return kw_ret(ar, kw_transfer(caller, env, ar, 1, at, (uint32_t)ar[4].i32));
}

/* fd_pread(fd, iovs, iovs_len, offset, nread_ptr) -> errno */
int kw_fd_pread(krait_caller *caller, void *env, krait_slot *ar) {
  kw_at at = { 1, (off_t)ar[3].i64 };
  return kw_ret(ar, kw_transfer(caller, env, ar, 0, at, (uint32_t)ar[4].i32));
}
