/*
** wasi_stub.c -- the preview1 calls this subset answers without doing I/O.
** Owns the honest errnos for file, directory, path and socket calls while
** only stdio fds exist; not the implemented calls (wasi_fd.c, wasi_io.c).
*/
#include "wasi/wasi_internal.h"

/* The answer for a call that needs a file feature not implemented yet:
** EBADF when fd is not open, else ENOSYS. */
static int kw_unimplemented(kw_state *st, int32_t fd)
{
  return kw_fd_get(st, (uint32_t)fd) ? KW_ENOSYS : KW_EBADF;
}

/* The answer for a call that needs fd to be a directory: EBADF when it is
** not open, ENOTDIR when it is stdio that is not a directory, else ENOSYS
** (a directory redirected to stdin; path calls come with the full WASI). */
static int kw_need_dir(kw_state *st, int32_t fd)
{
  kw_fd *f = kw_fd_get(st, (uint32_t)fd);
  if (!f)
    return KW_EBADF;
  return kw_filetype(f->host) == KW_FILETYPE_DIRECTORY ? KW_ENOSYS
                                                       : KW_ENOTDIR;
}

/* The answer for a call that needs fd to be a socket: EBADF, ENOTSOCK, or
** ENOSYS for a socket (sockets come with the full WASI). */
static int kw_need_sock(kw_state *st, int32_t fd)
{
  kw_fd *f = kw_fd_get(st, (uint32_t)fd);
  int t;
  if (!f)
    return KW_EBADF;
  t = kw_filetype(f->host);
  if (t == KW_FILETYPE_SOCKET_STREAM || t == KW_FILETYPE_SOCKET_DGRAM)
    return KW_ENOSYS;
  return KW_ENOTSOCK;
}

/* The first of two errnos that is not success. */
static int kw_first(int a, int b)
{
  return a ? a : b;
}

/* fd_allocate(fd, offset, len) -> errno */
int kw_fd_allocate(krait_caller *caller, void *env, krait_slot *ar)
{
  return kw_ret(ar, kw_unimplemented(env, ar[0].i32));
}

/* fd_filestat_set_size(fd, size) -> errno */
int kw_fd_filestat_set_size(krait_caller *caller, void *env, krait_slot *ar)
{
  return kw_ret(ar, kw_unimplemented(env, ar[0].i32));
}

/* fd_filestat_set_times(fd, atim, mtim, fst_flags) -> errno */
int kw_fd_filestat_set_times(krait_caller *caller, void *env,
                             krait_slot *ar)
{
  return kw_ret(ar, kw_unimplemented(env, ar[0].i32));
}

/* fd_readdir(fd, buf, buf_len, cookie, bufused_ptr) -> errno */
int kw_fd_readdir(krait_caller *caller, void *env, krait_slot *ar)
{
  return kw_ret(ar, kw_need_dir(env, ar[0].i32));
}

/* path_create_directory(fd, path, path_len) -> errno */
int kw_path_create_directory(krait_caller *caller, void *env,
                             krait_slot *ar)
{
  return kw_ret(ar, kw_need_dir(env, ar[0].i32));
}

/* path_filestat_get(fd, flags, path, path_len, filestat_ptr) -> errno */
int kw_path_filestat_get(krait_caller *caller, void *env, krait_slot *ar)
{
  return kw_ret(ar, kw_need_dir(env, ar[0].i32));
}

/* path_filestat_set_times(fd, flags, path, path_len, atim, mtim, fst_flags)
** -> errno */
int kw_path_filestat_set_times(krait_caller *caller, void *env,
                               krait_slot *ar)
{
  return kw_ret(ar, kw_need_dir(env, ar[0].i32));
}

/* path_link(old_fd, old_flags, old_path, old_path_len, new_fd, new_path,
** new_path_len) -> errno */
int kw_path_link(krait_caller *caller, void *env, krait_slot *ar)
{
  return kw_ret(ar, kw_first(kw_need_dir(env, ar[0].i32),
                             kw_need_dir(env, ar[4].i32)));
}

/* path_open(fd, dirflags, path, path_len, oflags, rights_base,
** rights_inheriting, fdflags, fd_ptr) -> errno */
int kw_path_open(krait_caller *caller, void *env, krait_slot *ar)
{
  return kw_ret(ar, kw_need_dir(env, ar[0].i32));
}

/* path_readlink(fd, path, path_len, buf, buf_len, bufused_ptr) -> errno */
int kw_path_readlink(krait_caller *caller, void *env, krait_slot *ar)
{
  return kw_ret(ar, kw_need_dir(env, ar[0].i32));
}

/* path_remove_directory(fd, path, path_len) -> errno */
int kw_path_remove_directory(krait_caller *caller, void *env,
                             krait_slot *ar)
{
  return kw_ret(ar, kw_need_dir(env, ar[0].i32));
}

/* path_rename(fd, old_path, old_path_len, new_fd, new_path, new_path_len)
** -> errno */
int kw_path_rename(krait_caller *caller, void *env, krait_slot *ar)
{
  return kw_ret(ar, kw_first(kw_need_dir(env, ar[0].i32),
                             kw_need_dir(env, ar[3].i32)));
}

/* path_symlink(old_path, old_path_len, fd, new_path, new_path_len)
** -> errno */
int kw_path_symlink(krait_caller *caller, void *env, krait_slot *ar)
{
  return kw_ret(ar, kw_need_dir(env, ar[2].i32));
}

/* path_unlink_file(fd, path, path_len) -> errno */
int kw_path_unlink_file(krait_caller *caller, void *env, krait_slot *ar)
{
  return kw_ret(ar, kw_need_dir(env, ar[0].i32));
}

/* sock_accept(fd, flags, fd_ptr) -> errno */
int kw_sock_accept(krait_caller *caller, void *env, krait_slot *ar)
{
  return kw_ret(ar, kw_need_sock(env, ar[0].i32));
}

/* sock_recv(fd, ri_data, ri_data_len, ri_flags, ro_datalen_ptr,
** ro_flags_ptr) -> errno */
int kw_sock_recv(krait_caller *caller, void *env, krait_slot *ar)
{
  return kw_ret(ar, kw_need_sock(env, ar[0].i32));
}

/* sock_send(fd, si_data, si_data_len, si_flags, so_datalen_ptr) -> errno */
int kw_sock_send(krait_caller *caller, void *env, krait_slot *ar)
{
  return kw_ret(ar, kw_need_sock(env, ar[0].i32));
}

/* sock_shutdown(fd, how) -> errno */
int kw_sock_shutdown(krait_caller *caller, void *env, krait_slot *ar)
{
  return kw_ret(ar, kw_need_sock(env, ar[0].i32));
}
