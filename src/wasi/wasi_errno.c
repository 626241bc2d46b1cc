/*
** wasi_errno.c -- host-to-WASI translation of errnos, fds and file types.
** Owns the one host errno table and the guest fd lookup; not the WASI
** constants themselves (wasi_internal.h) nor any I/O.
*/
#include <errno.h>
#include <sys/socket.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wasi/wasi_internal.h"
#include "util/util.h"

/* Host errno -> WASI errno, by name. A host errno not listed is KW_EIO. */
static const struct { int host, wasi; } kw_errnos[] = {
  { E2BIG, KW_E2BIG }, { EACCES, KW_EACCES }, { EADDRINUSE, KW_EADDRINUSE },
  { EADDRNOTAVAIL, KW_EADDRNOTAVAIL }, { EAFNOSUPPORT, KW_EAFNOSUPPORT },
  { EAGAIN, KW_EAGAIN }, { EALREADY, KW_EALREADY }, { EBADF, KW_EBADF },
  { EBADMSG, KW_EBADMSG }, { EBUSY, KW_EBUSY }, { ECANCELED, KW_ECANCELED },
  { ECHILD, KW_ECHILD }, { ECONNABORTED, KW_ECONNABORTED },
  { ECONNREFUSED, KW_ECONNREFUSED }, { ECONNRESET, KW_ECONNRESET },
  { EDEADLK, KW_EDEADLK }, { EDESTADDRREQ, KW_EDESTADDRREQ },
  { EDOM, KW_EDOM }, { EDQUOT, KW_EDQUOT }, { EEXIST, KW_EEXIST },
  { EFAULT, KW_EFAULT }, { EFBIG, KW_EFBIG },
  { EHOSTUNREACH, KW_EHOSTUNREACH }, { EIDRM, KW_EIDRM },
  { EILSEQ, KW_EILSEQ }, { EINPROGRESS, KW_EINPROGRESS },
  { EINTR, KW_EINTR }, { EINVAL, KW_EINVAL }, { EIO, KW_EIO },
  { EISCONN, KW_EISCONN }, { EISDIR, KW_EISDIR }, { ELOOP, KW_ELOOP },
  { EMFILE, KW_EMFILE }, { EMLINK, KW_EMLINK }, { EMSGSIZE, KW_EMSGSIZE },
  { EMULTIHOP, KW_EMULTIHOP }, { ENAMETOOLONG, KW_ENAMETOOLONG },
  { ENETDOWN, KW_ENETDOWN }, { ENETRESET, KW_ENETRESET },
  { ENETUNREACH, KW_ENETUNREACH }, { ENFILE, KW_ENFILE },
  { ENOBUFS, KW_ENOBUFS }, { ENODEV, KW_ENODEV }, { ENOENT, KW_ENOENT },
  { ENOEXEC, KW_ENOEXEC }, { ENOLCK, KW_ENOLCK }, { ENOLINK, KW_ENOLINK },
  { ENOMEM, KW_ENOMEM }, { ENOMSG, KW_ENOMSG },
  { ENOPROTOOPT, KW_ENOPROTOOPT }, { ENOSPC, KW_ENOSPC },
  { ENOSYS, KW_ENOSYS }, { ENOTCONN, KW_ENOTCONN }, { ENOTDIR, KW_ENOTDIR },
  { ENOTEMPTY, KW_ENOTEMPTY }, { ENOTRECOVERABLE, KW_ENOTRECOVERABLE },
  { ENOTSOCK, KW_ENOTSOCK }, { ENOTSUP, KW_ENOTSUP }, { ENOTTY, KW_ENOTTY },
  { ENXIO, KW_ENXIO }, { EOVERFLOW, KW_EOVERFLOW },
  { EOWNERDEAD, KW_EOWNERDEAD }, { EPERM, KW_EPERM }, { EPIPE, KW_EPIPE },
  { EPROTO, KW_EPROTO }, { EPROTONOSUPPORT, KW_EPROTONOSUPPORT },
  { EPROTOTYPE, KW_EPROTOTYPE }, { ERANGE, KW_ERANGE }, { EROFS, KW_EROFS },
  { ESPIPE, KW_ESPIPE }, { ESRCH, KW_ESRCH }, { ESTALE, KW_ESTALE },
  { ETIMEDOUT, KW_ETIMEDOUT }, { ETXTBSY, KW_ETXTBSY }, { EXDEV, KW_EXDEV },
};

/* Translates a host errno value to the WASI errno of the same meaning. */
int kw_errno(int host_errno) {
  for (size_t i = 0; i < sizeof kw_errnos / sizeof kw_errnos[0]; i++)
    if (kw_errnos[i].host == host_errno)
      return kw_errnos[i].wasi;
  return KW_EIO;
}

/* The open guest fd numbered fd, or NULL (the caller answers KW_EBADF). */
kw_fd *kw_fd_get(kw_state *st, uint32_t fd) {
  if (fd >= st->nfds || !st->fds[fd].open)
    return NULL;
  return &st->fds[fd];
}

/* Looks up fd and checks that it holds every right in rights. Returns 0
** with *out set, KW_EBADF, or KW_ENOTCAPABLE. */
int kw_fd_need(kw_state *st, uint32_t fd, uint64_t rights, kw_fd **out) {
  kw_fd *f = kw_fd_get(st, fd);
  if (!f)
    return KW_EBADF;
  if ((f->base & rights) != rights)
    return KW_ENOTCAPABLE;
  *out = f;
  return 0;
}

/* 1 when host_fd is a directory, else 0. */
int kw_is_dir(int host_fd) {
  struct stat sb;
  return fstat(host_fd, &sb) == 0 && S_ISDIR(sb.st_mode);
}

/* Gives host (now owned by the table) the lowest free guest fd from 3 on.
** A directory loses the rights that only act on file contents
** (KW_RIGHTS_FILE_ONLY: fd_seek, fd_tell, fd_write, ...). Returns 0 with
** *out set, or KW_EMFILE when the table is full (the caller still owns
** host then). */
int kw_fd_add(kw_state *st, int host, uint64_t base, uint64_t inh,
              uint32_t *out) {
  for (uint32_t i = KW_NSTDIO; i < st->nfds; i++) {
    kw_fd *f = &st->fds[i];
    if (f->open)
      continue;
    memset(f, 0, sizeof *f);
    f->host = host;
    f->open = f->owned = 1;
    f->base = base & KW_RIGHTS_ALL;
    f->inh = inh & KW_RIGHTS_ALL;
    if (kw_is_dir(host))
      f->base &= ~KW_RIGHTS_FILE_ONLY;
    *out = i;
    return 0;
  }
  return KW_EMFILE;
}

/* Forgets the readdir snapshot of f. */
static void kw_fd_forget_dir(kw_fd *f) {
  for (uint32_t i = 0; i < f->nents; i++)
    ku_free(f->ents[i].name);
  ku_free(f->ents);
  f->ents = NULL;
  f->nents = 0;
}

/* Closes f's host fd if it owns it and frees the slot. */
void kw_fd_release(kw_fd *f) {
  if (f->open && f->owned)
    close(f->host);
  kw_fd_forget_dir(f);
  ku_free(f->preopen);
  memset(f, 0, sizeof *f);
}

/* The WASI file type for a host st_mode (a FIFO is "unknown"). */
uint8_t kw_filetype_mode(unsigned mode) {
  switch (mode & S_IFMT) {
  case S_IFCHR: return KW_FILETYPE_CHARACTER_DEVICE;
  case S_IFBLK: return KW_FILETYPE_BLOCK_DEVICE;
  case S_IFDIR: return KW_FILETYPE_DIRECTORY;
  case S_IFREG: return KW_FILETYPE_REGULAR_FILE;
  case S_IFLNK: return KW_FILETYPE_SYMBOLIC_LINK;
  case S_IFSOCK: return KW_FILETYPE_SOCKET_STREAM;
  default: return KW_FILETYPE_UNKNOWN;
  }
}

/* The WASI file type of a host fd, from fstat. A FIFO has no WASI type and
** is "unknown", as the witx and wasmtime have it. */
int kw_filetype(int host_fd) {
  struct stat sb;
  int type = 0;
  socklen_t len = sizeof type;
  if (fstat(host_fd, &sb) != 0)
    return KW_FILETYPE_UNKNOWN;
  switch (sb.st_mode & S_IFMT) {
  case S_IFCHR: return KW_FILETYPE_CHARACTER_DEVICE;
  case S_IFBLK: return KW_FILETYPE_BLOCK_DEVICE;
  case S_IFDIR: return KW_FILETYPE_DIRECTORY;
  case S_IFREG: return KW_FILETYPE_REGULAR_FILE;
  case S_IFLNK: return KW_FILETYPE_SYMBOLIC_LINK;
  case S_IFSOCK:
    if (getsockopt(host_fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0 &&
        type == SOCK_DGRAM)
      return KW_FILETYPE_SOCKET_DGRAM;
    return KW_FILETYPE_SOCKET_STREAM;
  default: return KW_FILETYPE_UNKNOWN;
  }
}
