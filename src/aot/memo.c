/*
** memo.c -- what krait found out about a file (its SHA-256, an object's
** verification), remembered in the cache directory under the file's
** identity so a start does not hash the same big file again. Not the
** hashing or checks themselves (load.c, build.c).
*/
#include "aot/aot_internal.h"
#include "platform/platform.h"
#include <fcntl.h>
#include <unistd.h>

bool kaot_same_file(const struct stat *a, const struct stat *b) {
  return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
         a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
         a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

/* The record's text (identity, kind and detail: the first line) and its
** path in the cache, named by the text's hash; false when there is no
** cache directory or memory. Both malloc'ed. */
static bool record(const char *kind, const struct stat *sb, const char *detail, char **text,
                   char **path) {
  char sig[65], *dir = kaot_cache_dir();
  *path = NULL;
  *text = dir ? ku_sprintf("%s %ju %ju %jd %jd.%09ld %jd.%09ld %s\n", kind, (uintmax_t)sb->st_dev,
                           (uintmax_t)sb->st_ino, (intmax_t)sb->st_size, (intmax_t)sb->st_mtim.tv_sec,
                           sb->st_mtim.tv_nsec, (intmax_t)sb->st_ctim.tv_sec, sb->st_ctim.tv_nsec,
                           detail)
              : NULL;
  if (*text) {
    kaot_sha_hex((const uint8_t *)*text, strlen(*text), sig);
    *path = ku_sprintf("%s/memo-%.40s", dir, sig);
  }
  ku_free(dir);
  if (*path) return true;
  ku_free(*text);
  *text = NULL;
  return false;
}

bool kaot_memo_get(const char *kind, const struct stat *sb, const char *detail, char out[65]) {
  char *text, *path, buf[512];
  if (!record(kind, sb, detail, &text, &path)) return false;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
  if (fd >= 0) close(fd);
  size_t tl = strlen(text);
  bool ok = false;
  if (n > 0 && (size_t)n > tl && memcmp(buf, text, tl) == 0) {  /* the same identity, not a collision */
    buf[n] = 0;
    size_t vl = strcspn(buf + tl, "\n");
    ok = vl > 0 && vl <= 64 && buf[tl + vl] == '\n';
    if (ok) snprintf(out, 65, "%.*s", (int)vl, buf + tl);
  }
  ku_free(text);
  ku_free(path);
  return ok;
}

bool kaot_memo_settled(const struct stat *sb) {
  if (sb->st_ctim.tv_sec < 0) return false;  /* a bogus change time */
  uint64_t ctime_ns = (uint64_t)sb->st_ctim.tv_sec * 1000000000u + (uint64_t)sb->st_ctim.tv_nsec;
  return ctime_ns + KAOT_MEMO_AGE_S * 1000000000ull <= kp_realtime_ns();
}

void kaot_memo_put(const char *kind, const struct stat *sb, const char *detail, const char *value) {
  if (!kaot_memo_settled(sb)) return;  /* too fresh */
  char *text, *path;
  if (!record(kind, sb, detail, &text, &path)) return;
  char *all = ku_sprintf("%s%s\n", text, value);
  static _Atomic unsigned serial;  /* threads of one process write apart */
  char *tmp = ku_sprintf("%s.%ld.%u", path, (long)getpid(), serial++);
  int w = all && tmp ? open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644) : -1;
  bool ok = w >= 0 && write(w, all, strlen(all)) == (ssize_t)strlen(all);
  if (w >= 0 && close(w) != 0) ok = false;
  if (tmp && !(ok && rename(tmp, path) == 0)) unlink(tmp);  /* atomic: whole or none */
  ku_free(tmp);
  ku_free(all);
  ku_free(text);
  ku_free(path);
}
