/*
** wasi_sock.c -- sock_accept, sock_recv, sock_send, sock_shutdown.
** Owns socket I/O on guest fds whose host fd is a socket (ENOTSOCK for any
** other); not opening sockets (preview1 cannot) nor other fd calls.
*/
#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

#include "wasi/wasi_internal.h"

/* riflags, roflags, fdflags for accept */
enum { KW_RECV_PEEK = 1, KW_RECV_WAITALL = 2, KW_RECV_TRUNCATED = 1 };

/* Looks up fd, checks rights, and checks that it is a socket. */
static int kw_sock(kw_state *st, uint32_t fd, uint64_t rights, kw_fd **f) {
  int e = kw_fd_need(st, fd, rights, f), t;
  if (e != 0)
    return e;
  t = kw_filetype((*f)->host);
  if (t != KW_FILETYPE_SOCKET_STREAM && t != KW_FILETYPE_SOCKET_DGRAM)
    return KW_ENOTSOCK;
  return 0;
}

/* sock_accept(fd, flags, fd_ptr) -> errno. Waits (up to the caller's
** deadline) for a connection; the new fd gets the listener's rights. */
int kw_sock_accept(krait_caller *caller, void *env, krait_slot *ar) {
  kw_mem m = kw_mem_of(caller);
  uint32_t flags = (uint32_t)ar[1].i32, nfd;
  kw_fd *f;
  int h, e = kw_sock(env, (uint32_t)ar[0].i32, KW_R(SOCK_ACCEPT), &f);
  if (e != 0)
    return kw_ret(ar, e);
  if (flags & ~(uint32_t)KW_FDFLAG_NONBLOCK)
    return kw_ret(ar, KW_EINVAL);
  if (!kw_span(&m, (uint32_t)ar[2].i32, 4))
    return kw_ret(ar, KW_EFAULT);
  if (kw_wait_readable(f->host, krait_caller_deadline(caller)) != 0)
    return krait_caller_trap_kind(caller, KRAIT_TRAP_DEADLINE);
  h = accept4(f->host, NULL, NULL, SOCK_CLOEXEC |
              (flags & KW_FDFLAG_NONBLOCK ? SOCK_NONBLOCK : 0));
  if (h < 0)
    return kw_ret(ar, kw_errno(errno));
  if ((e = kw_fd_add(env, h, f->inh, f->inh, &nfd)) != 0) {
    close(h);
    return kw_ret(ar, e);
  }
  return kw_ret(ar, kw_put_u32_at(&m, (uint32_t)ar[2].i32, nfd));
}

/* sock_recv(fd, ri_data, ri_data_len, ri_flags, ro_datalen_ptr,
** ro_flags_ptr) -> errno. One recvmsg into the iovecs, after waiting for
** data up to the caller's deadline. */
int kw_sock_recv(krait_caller *caller, void *env, krait_slot *ar) {
  kw_mem m = kw_mem_of(caller);
  kw_iovs c = { &m, (uint32_t)ar[1].i32, (uint32_t)ar[2].i32, 0, 0 };
  uint32_t fl = (uint32_t)ar[3].i32;
  struct iovec v[64];
  struct msghdr msg = { 0 };
  ssize_t r;
  kw_fd *f;
  int e = kw_sock(env, (uint32_t)ar[0].i32, KW_R(FD_READ), &f);
  if (e == 0 && (!kw_span(&m, (uint32_t)ar[4].i32, 4) ||
                 !kw_span(&m, (uint32_t)ar[5].i32, 2)))
    e = KW_EFAULT;
  if (e == 0)
    e = kw_iovs_check(&m, c.ptr, c.n);
  if (e != 0)
    return kw_ret(ar, e);
  if (kw_wait_readable(f->host, krait_caller_deadline(caller)) != 0)
    return krait_caller_trap_kind(caller, KRAIT_TRAP_DEADLINE);
  msg.msg_iov = v;
  msg.msg_iovlen = (size_t)kw_iovs_fill(&c, v, 64, UINT32_MAX);
  do
    r = recvmsg(f->host, &msg, (fl & KW_RECV_PEEK ? MSG_PEEK : 0) |
                (fl & KW_RECV_WAITALL ? MSG_WAITALL : 0));
  while (r < 0 && errno == EINTR);
  if (r < 0)
    return kw_ret(ar, kw_errno(errno));
  kw_put_u32_at(&m, (uint32_t)ar[4].i32, (uint32_t)r);
  kw_put_u16(kw_span(&m, (uint32_t)ar[5].i32, 2),
             msg.msg_flags & MSG_TRUNC ? KW_RECV_TRUNCATED : 0);
  return kw_ret(ar, 0);
}

/* sock_send(fd, si_data, si_data_len, si_flags, so_datalen_ptr) -> errno.
** One sendmsg (MSG_NOSIGNAL: a closed peer is EPIPE, not a signal). */
int kw_sock_send(krait_caller *caller, void *env, krait_slot *ar) {
  kw_mem m = kw_mem_of(caller);
  kw_iovs c = { &m, (uint32_t)ar[1].i32, (uint32_t)ar[2].i32, 0, 0 };
  struct iovec v[64];
  struct msghdr msg = { 0 };
  ssize_t r;
  kw_fd *f;
  int e = kw_sock(env, (uint32_t)ar[0].i32, KW_R(FD_WRITE), &f);
  if (e == 0 && !kw_span(&m, (uint32_t)ar[4].i32, 4))
    e = KW_EFAULT;
  if (e == 0)
    e = kw_iovs_check(&m, c.ptr, c.n);
  if (e != 0)
    return kw_ret(ar, e);
  msg.msg_iov = v;
  msg.msg_iovlen = (size_t)kw_iovs_fill(&c, v, 64, UINT32_MAX);
  do
    r = sendmsg(f->host, &msg, MSG_NOSIGNAL);
  while (r < 0 && errno == EINTR);
  if (r < 0)
    return kw_ret(ar, kw_errno(errno));
  return kw_ret(ar, kw_put_u32_at(&m, (uint32_t)ar[4].i32, (uint32_t)r));
}

/* sock_shutdown(fd, how) -> errno; how is a nonzero set of rd/wr. */
int kw_sock_shutdown(krait_caller *caller, void *env, krait_slot *ar) {
  static const int hows[] = { 0, SHUT_RD, SHUT_WR, SHUT_RDWR };
  uint32_t how = (uint32_t)ar[1].i32;
  kw_fd *f;
  int e = kw_sock(env, (uint32_t)ar[0].i32, KW_R(SOCK_SHUTDOWN), &f);
  if (e != 0)
    return kw_ret(ar, e);
  if (how == 0 || how > 3)
    return kw_ret(ar, KW_EINVAL);
  return kw_ret(ar, shutdown(f->host, hows[how]) == 0 ? 0 : kw_errno(errno));
}
