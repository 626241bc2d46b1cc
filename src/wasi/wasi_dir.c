/*
** wasi_dir.c -- fd_readdir: directory listings with stable cookies.
** Owns the per-fd snapshot of entries and the dirent encoding; not path
** resolution (wasi_path.c) nor the fd table itself (wasi_errno.c).
*/
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wasi/wasi_internal.h"
#include "util/util.h"

/* Size of a WASI dirent header (d_next, d_ino, d_namlen, d_type). */
#define KW_DIRENT_SIZE 24

/* The WASI file type of a readdir entry (stat when the fs gives none). */
static uint8_t kw_dtype(DIR *d, const struct dirent *de) {
  struct stat sb;
  switch (de->d_type) {
  case DT_DIR: return KW_FILETYPE_DIRECTORY;
  case DT_REG: return KW_FILETYPE_REGULAR_FILE;
  case DT_LNK: return KW_FILETYPE_SYMBOLIC_LINK;
  case DT_CHR: return KW_FILETYPE_CHARACTER_DEVICE;
  case DT_BLK: return KW_FILETYPE_BLOCK_DEVICE;
  case DT_SOCK: return KW_FILETYPE_SOCKET_STREAM;
  case DT_UNKNOWN:
    if (fstatat(dirfd(d), de->d_name, &sb, AT_SYMLINK_NOFOLLOW) == 0)
      return kw_filetype_mode(sb.st_mode);
    return KW_FILETYPE_UNKNOWN;
  default: return KW_FILETYPE_UNKNOWN;
  }
}

/* Appends one entry to f's snapshot. Returns 0 or KW_ENOMEM. */
static int kw_snap_add(kw_fd *f, DIR *d, const struct dirent *de) {
  kw_dirent *n = ku_realloc(f->ents, sizeof *n * (f->nents + 1));
  if (!n)
    return KW_ENOMEM;
  f->ents = n;
  n[f->nents].ino = de->d_ino;
  n[f->nents].type = kw_dtype(d, de);
  n[f->nents].name = ku_strdup(de->d_name);
  if (!n[f->nents].name)
    return KW_ENOMEM;
  f->nents++;
  return 0;
}

/* Reads every entry of f's directory into a fresh snapshot (entry i gets
** cookie i + 1), through a new open of "." so f's own offset is untouched. */
static int kw_snap(kw_fd *f) {
  int h = openat(f->host, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC), e = 0;
  DIR *d;
  struct dirent *de;
  for (uint32_t i = 0; i < f->nents; i++)
    ku_free(f->ents[i].name);
  ku_free(f->ents);
  f->ents = NULL;
  f->nents = 0;
  if (h < 0)
    return kw_errno(errno);
  if (!(d = fdopendir(h))) {
    e = kw_errno(errno);
    close(h);
    return e;
  }
  while (e == 0 && (de = readdir(d)) != NULL)
    e = kw_snap_add(f, d, de);
  closedir(d);
  return e;
}

/* Encodes entries from cookie on into buf (the last one may be cut short,
** as the witx allows: bufused == buf_len means "maybe more"). */
static uint32_t kw_dir_fill(const kw_fd *f, uint64_t cookie, uint8_t *buf,
                            uint32_t len) {
  uint32_t used = 0;
  for (uint64_t i = cookie; i < f->nents && used < len; i++) {
    uint8_t h[KW_DIRENT_SIZE] = { 0 };
    uint32_t nl = (uint32_t)strlen(f->ents[i].name), k;
    kw_put_u64(h, i + 1);
    kw_put_u64(h + 8, f->ents[i].ino);
    kw_put_u32(h + 16, nl);
    h[20] = f->ents[i].type;
    k = len - used < KW_DIRENT_SIZE ? len - used : KW_DIRENT_SIZE;
    memcpy(buf + used, h, k);
    used += k;
    k = len - used < nl ? len - used : nl;
    memcpy(buf + used, f->ents[i].name, k);
    used += k;
  }
  return used;
}

/* fd_readdir(fd, buf, buf_len, cookie, bufused_ptr) -> errno. Cookie 0
** takes a new snapshot of the directory; later cookies read the same one,
** so they stay stable while the guest pages through it. */
int kw_fd_readdir(krait_caller *caller, void *env, krait_slot *ar) {
  kw_mem m = kw_mem_of(caller);
  uint32_t len = (uint32_t)ar[2].i32, used;
  uint64_t cookie = (uint64_t)ar[3].i64;
  uint8_t *buf = kw_span(&m, (uint32_t)ar[1].i32, len);
  kw_fd *f;
  int e = kw_fd_need(env, (uint32_t)ar[0].i32, KW_R(FD_READDIR), &f);
  if (e != 0)
    return kw_ret(ar, e);
  if (!buf || !kw_span(&m, (uint32_t)ar[4].i32, 4))
    return kw_ret(ar, KW_EFAULT);
  if (kw_filetype(f->host) != KW_FILETYPE_DIRECTORY)
    return kw_ret(ar, KW_ENOTDIR);
  if ((cookie == 0 || !f->ents) && (e = kw_snap(f)) != 0)
    return kw_ret(ar, e);
  used = kw_dir_fill(f, cookie, buf, len);
  return kw_ret(ar, kw_put_u32_at(&m, (uint32_t)ar[4].i32, used));
}
