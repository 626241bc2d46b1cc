/*
** wasi_link.c -- where a symlink the guest leaves on the host may point:
** inside the preopen it lives in, wherever the guest puts it. Owns the
** target rule, a directory's depth within its preopen and the check of
** moved links and directories; not path resolution (wasi_path.c).
*/
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wasi/wasi_internal.h"

/* Directory levels kw_depth climbs at most, and what a moved directory's
** scan looks at before giving up with EXDEV (the caller copies instead,
** as across devices; copies make links through path_symlink). */
#define KW_MAX_DEPTH 4096
#define KW_SCAN_ENTRIES 100000
#define KW_SCAN_DEPTH 64

/* How many levels above its own directory a symlink target climbs: the
** count of its leading ".." components ("." and empty ones are skipped).
** -1 when it can never be known to stay inside: absolute, or a ".." after
** a named component ("a/../.." climbs one level only if "a" is a real
** directory, and "a" may be or become a symlink). */
int kw_link_reach(const char *target) {
  int ups = 0, named = 0;
  const char *p = target;
  if (target[0] == '/')
    return -1;
  while (*p) {
    size_t n = strcspn(p, "/");
    if (n == 2 && p[0] == '.' && p[1] == '.') {
      if (named)
        return -1;
      ups++;
    } else if (n > 0 && !(n == 1 && p[0] == '.')) {
      named = 1;
    }
    p += n + (p[n] == '/');
  }
  return ups;
}

/* The depth of directory dir below the preopen root comes from (0: dir
** is that preopen), found by climbing "..". -1 when the preopen is not
** above dir (or the climb fails). */
static int kw_depth(int dir, const kw_fd *root) {
  struct stat sb, up;
  int cur = dir, depth = -1;
  for (int d = 0; d <= KW_MAX_DEPTH && fstat(cur, &sb) == 0; d++) {
    int next;
    if ((uint64_t)sb.st_dev == root->root_dev &&
        (uint64_t)sb.st_ino == root->root_ino) {
      depth = d;
      break;
    }
    next = openat(cur, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (next < 0)
      break;
    if (cur != dir)
      close(cur);
    cur = next;
    if (fstat(cur, &up) != 0 ||
        (up.st_dev == sb.st_dev && up.st_ino == sb.st_ino))
      break;  /* "/": its ".." is itself */
  }
  if (cur != dir)
    close(cur);
  return depth;
}

/* Whether a symlink to target may sit in directory dir, the preopen of
** root or beneath it: 0, or KW_ENOTCAPABLE when target would point
** above that preopen. A directory the preopen is not found above counts
** as the preopen itself (no ".." allowed). */
int kw_link_fits(int dir, const kw_fd *root, const char *target) {
  int reach = kw_link_reach(target), depth;
  if (reach < 0)
    return KW_ENOTCAPABLE;
  if (reach == 0)
    return 0;
  depth = root ? kw_depth(dir, root) : -1;
  return reach <= (depth < 0 ? 0 : depth) ? 0 : KW_ENOTCAPABLE;
}

/* Whether the symlink name in dir may sit in a directory depth levels
** below its preopen: 0 or KW_ENOTCAPABLE. */
static int kw_link_at(int dir, const char *name, int depth) {
  char target[4096];
  ssize_t n = readlinkat(dir, name, target, sizeof target - 1);
  int reach;
  if (n < 0)
    return kw_errno(errno);
  target[n] = '\0';
  reach = kw_link_reach(target);
  return reach >= 0 && reach <= depth ? 0 : KW_ENOTCAPABLE;
}

/* Checks every symlink in directory fd dir (depth levels below its new
** preopen) and beneath it, counting entries in *budget. 0, KW_ENOTCAPABLE
** for a link that would point out, KW_EXDEV when the tree is too big or
** deep to check. Takes ownership of dir. */
static int kw_scan(int dir, int depth, int level, long *budget) {
  DIR *d = fdopendir(dir);
  struct dirent *de;
  int e = 0;
  if (!d) {
    close(dir);
    return kw_errno(errno);
  }
  while (e == 0 && (de = readdir(d))) {
    struct stat sb;
    if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
      continue;
    if (--*budget < 0)
      e = KW_EXDEV;
    else if (fstatat(dirfd(d), de->d_name, &sb, AT_SYMLINK_NOFOLLOW) != 0)
      e = kw_errno(errno);
    else if (S_ISLNK(sb.st_mode))
      e = kw_link_at(dirfd(d), de->d_name, depth);
    else if (S_ISDIR(sb.st_mode) && level >= KW_SCAN_DEPTH)
      e = KW_EXDEV;
    else if (S_ISDIR(sb.st_mode)) {
      int sub = openat(dirfd(d), de->d_name,
                       O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      e = sub < 0 ? kw_errno(errno) : kw_scan(sub, depth + 1, level + 1,
                                               budget);
    }
  }
  closedir(d);
  return e;
}

/* Before oname in odir (through guest fd ofd) is renamed or hard-linked
** into directory ndir (through nfd): a symlink must still point inside
** nfd's preopen from ndir; with whole_dirs, a directory moved higher up
** (or into another preopen) must hold no symlink that would then point
** out. 0, KW_ENOTCAPABLE, or KW_EXDEV for a tree too big to check. */
int kw_link_check_move(int odir, const char *oname, const kw_fd *ofd,
                       int ndir, const kw_fd *nfd, int whole_dirs) {
  struct stat sb;
  int from, to, sub;
  long budget = KW_SCAN_ENTRIES;
  if (!ofd || !nfd || strcmp(oname, ".") == 0 ||
      fstatat(odir, oname, &sb, AT_SYMLINK_NOFOLLOW) != 0)
    return 0;  /* the call itself reports a missing source or "." */
  if (!S_ISLNK(sb.st_mode) && !(whole_dirs && S_ISDIR(sb.st_mode)))
    return 0;
  to = kw_depth(ndir, nfd);
  to = to < 0 ? 0 : to;
  if (S_ISLNK(sb.st_mode))
    return kw_link_at(odir, oname, to);
  from = kw_depth(odir, ofd);
  if (from >= 0 && to >= from && ofd->root_dev == nfd->root_dev &&
      ofd->root_ino == nfd->root_ino)
    return 0;  /* as deep as before or deeper: its links still fit */
  sub = openat(odir, oname, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (sub < 0)
    return kw_errno(errno);
  return kw_scan(sub, to + 1, 0, &budget);
}
