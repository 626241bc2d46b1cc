/*
** wasi_quota.c -- the disk quota (krait_wasi_config.max_disk): how many
** bytes a guest may add to host files through its own fds. Owns the
** accounting; not the calls that grow files (wasi_io.c, wasi_fd.c).
*/
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wasi/wasi_internal.h"

/* Records f's current size in g when the quota applies to it: a limit is
** set, the guest owns the fd (the embedder's stdio is not the guest's
** disk use) and it is a regular file. */
void kw_quota_begin(const kw_state *st, const kw_fd *f, kw_grow *g) {
  struct stat sb;
  g->counted = 0;
  g->size = 0;
  if (!st->disk_max || !f->owned || fstat(f->host, &sb) != 0 ||
      !S_ISREG(sb.st_mode))
    return;
  g->counted = 1;
  g->size = (uint64_t)sb.st_size;
}

/* How many bytes may be written starting at pos without the file growing
** past what the quota has left: UINT64_MAX when it does not apply. */
uint64_t kw_quota_room(const kw_state *st, const kw_grow *g, uint64_t pos) {
  uint64_t left, end;
  if (!g->counted)
    return UINT64_MAX;
  left = st->disk_used < st->disk_max ? st->disk_max - st->disk_used : 0;
  end = g->size + left;  /* the largest size the file may reach */
  if (end < g->size)
    return UINT64_MAX;  /* cannot overflow with off_t sizes; be safe */
  return pos < end ? end - pos : 0;
}

/* Where a write through f at its own position lands: the end of the file
** for an append-mode fd, else its offset. Returns 0, or a WASI errno. */
int kw_quota_position(const kw_fd *f, const kw_grow *g, uint64_t *pos) {
  off_t at;
  int fl = fcntl(f->host, F_GETFL);
  if (fl >= 0 && (fl & O_APPEND)) {
    *pos = g->size;
    return 0;
  }
  at = lseek(f->host, 0, SEEK_CUR);
  if (at < 0)
    return KW_ESPIPE;
  *pos = (uint64_t)at;
  return 0;
}

/* Gives back bytes the guest freed by shrinking a file, never below 0:
** the quota then still bounds the host's disk use to what it was plus
** max_disk, even when the guest shrinks files it did not grow. */
void kw_quota_credit(kw_state *st, uint64_t bytes) {
  st->disk_used = bytes < st->disk_used ? st->disk_used - bytes : 0;
}

/* Settles a call that may have changed f's size since kw_quota_begin:
** growth is charged, shrinking credited. */
void kw_quota_end(kw_state *st, const kw_fd *f, const kw_grow *g) {
  struct stat sb;
  uint64_t now;
  if (!g->counted || fstat(f->host, &sb) != 0)
    return;
  now = (uint64_t)sb.st_size;
  if (now > g->size)
    st->disk_used += now - g->size;
  else
    kw_quota_credit(st, g->size - now);
}
