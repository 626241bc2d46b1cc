/*
** tests/wasi/escape.c -- wasi-full guest: the sandbox-escape battery.
** Every attempt to reach outside /sandbox (fd 3) or to write to /ro (fd 4)
** must fail with the right errno; run.sh checks the host side.
*/
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "wt.h"

#define SB 3
#define RO 4
#define CAP __WASI_ERRNO_NOTCAPABLE

/* Opening each of these for reading must fail with want. */
static void t_open_escapes(void)
{
  static const struct { const char *path; int follow, want; } c[] = {
    { "..", 0, CAP }, { "../outside/secret.txt", 0, CAP },
    { "sub/../../outside/secret.txt", 0, CAP }, { "sub/../..", 1, CAP },
    { "./../outside", 1, CAP }, { "/etc/passwd", 1, CAP },
    { "/", 1, CAP }, { "abs/secret.txt", 1, CAP }, { "abs", 1, CAP },
    { "abs/secret.txt", 0, CAP }, { "rel/secret.txt", 0, CAP },
    { "rel", 1, CAP }, { "sub/up/secret.txt", 0, CAP },
    { "chain1/secret.txt", 1, CAP }, { "chain1", 1, CAP },
    { "dotdot/outside/secret.txt", 1, CAP },
    { "loop1", 1, __WASI_ERRNO_LOOP }, { "loop1/x", 0, __WASI_ERRNO_LOOP },
    { "self", 1, __WASI_ERRNO_LOOP }, { "abs", 0, __WASI_ERRNO_LOOP },
  };
  char name[96];
  __wasi_fd_t fd;
  for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
    snprintf(name, sizeof name, "open %s%s", c[i].path,
             c[i].follow ? " (follow)" : "");
    wt_eq(name, wt_open(SB, c[i].path, c[i].follow, 0, WT_RD, 0, &fd),
          c[i].want);
  }
  wt_eq("legit .. inside", wt_open(SB, "sub/../inside.txt", 1, 0, WT_RD, 0, &fd), 0);
  __wasi_fd_close(fd);
  wt_eq("legit relative symlink inside", wt_open(SB, "inlink", 1, 0, WT_RD, 0, &fd), 0);
  __wasi_fd_close(fd);
  wt_eq("legit symlink with .. inside", wt_open(SB, "sub/back/inside.txt", 1, 0, WT_RD, 0, &fd), 0);
  __wasi_fd_close(fd);
  errno = 0;
  WT_TRUE("libc open /etc/passwd fails", open("/etc/passwd", O_RDONLY) < 0);
  WT_TRUE("libc open /sandbox/../outside fails", open("/sandbox/../outside/secret.txt", O_RDONLY) < 0);
}

/* Creating, writing or deleting outside through every path call. */
static void t_write_escapes(void)
{
  __wasi_fd_t fd;
  __wasi_filestat_t fs;
  char buf[8];
  __wasi_size_t used;
  wt_eq("creat via ..", wt_open(SB, "../outside/new.txt", 0, __WASI_OFLAGS_CREAT, WT_RW, 0, &fd), CAP);
  wt_eq("creat via abs symlink", wt_open(SB, "abs/new.txt", 1, __WASI_OFLAGS_CREAT, WT_RW, 0, &fd), CAP);
  wt_eq("creat via rel symlink", wt_open(SB, "rel/new.txt", 0, __WASI_OFLAGS_CREAT, WT_RW, 0, &fd), CAP);
  wt_eq("trunc via symlink", wt_open(SB, "rel/secret.txt", 1, __WASI_OFLAGS_TRUNC, WT_RW, 0, &fd), CAP);
  wt_eq("creat dangling symlink out", wt_open(SB, "dangle", 1, __WASI_OFLAGS_CREAT, WT_RW, 0, &fd), CAP);
  wt_eq("write through symlink to outside file", wt_open(SB, "filelink", 1, 0, WT_RW, 0, &fd), CAP);
  wt_eq("mkdir ..", __wasi_path_create_directory(SB, "../outside/nd"), CAP);
  wt_eq("mkdir via symlink", __wasi_path_create_directory(SB, "rel/nd"), CAP);
  wt_eq("rmdir ..", __wasi_path_remove_directory(SB, ".."), CAP);
  wt_eq("rmdir outside", __wasi_path_remove_directory(SB, "../outside/keepdir"), CAP);
  wt_eq("unlink outside", __wasi_path_unlink_file(SB, "../outside/secret.txt"), CAP);
  wt_eq("unlink via symlink", __wasi_path_unlink_file(SB, "abs/secret.txt"), CAP);
  wt_eq("link out (source outside)", __wasi_path_link(SB, 0, "rel/secret.txt", SB, "stolen"), CAP);
  wt_eq("link out (follow source symlink)", __wasi_path_link(SB, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, "filelink", SB, "stolen"), CAP);
  wt_eq("link out (target outside)", __wasi_path_link(SB, 0, "inside.txt", SB, "../outside/linked"), CAP);
  wt_eq("rename out", __wasi_path_rename(SB, "inside.txt", SB, "../outside/moved"), CAP);
  wt_eq("rename out via symlink", __wasi_path_rename(SB, "inside.txt", SB, "rel/moved"), CAP);
  wt_eq("rename in from outside", __wasi_path_rename(SB, "abs/secret.txt", SB, "got"), CAP);
  wt_eq("rename ..", __wasi_path_rename(SB, "sub/..", SB, "x"), __WASI_ERRNO_BUSY);
  wt_eq("symlink absolute target", __wasi_path_symlink("/etc/passwd", SB, "evil"), CAP);
  wt_eq("symlink outside name", __wasi_path_symlink("x", SB, "../outside/evil"), CAP);
  wt_eq("symlink relative out is refused", __wasi_path_symlink("../outside/secret.txt", SB, "evil2"), CAP);
  wt_eq("and nothing was made", wt_open(SB, "evil2", 0, 0, WT_RD, 0, &fd), __WASI_ERRNO_NOENT);
  wt_eq("filestat outside", __wasi_path_filestat_get(SB, 0, "../outside/secret.txt", &fs), CAP);
  wt_eq("filestat follow abs", __wasi_path_filestat_get(SB, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, "abs", &fs), CAP);
  wt_eq("filestat nofollow abs is the link", __wasi_path_filestat_get(SB, 0, "abs", &fs), 0);
  wt_eq("set_times outside", __wasi_path_filestat_set_times(SB, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, "filelink", 0, 0, __WASI_FSTFLAGS_MTIM_NOW), CAP);
  wt_eq("set_times via ..", __wasi_path_filestat_set_times(SB, 0, "../outside/secret.txt", 0, 0, __WASI_FSTFLAGS_MTIM_NOW), CAP);
  wt_eq("readlink outside", __wasi_path_readlink(SB, "rel/x", (uint8_t *)buf, sizeof buf, &used), CAP);
  wt_eq("path of 5000 bytes", wt_open(SB, "", 0, 0, WT_RD, 0, &fd) == __WASI_ERRNO_NOENT, 1);
  {
    static char longp[5000];
    memset(longp, 'a', sizeof longp - 1);
    wt_eq("very long path", wt_open(SB, longp, 0, 0, WT_RD, 0, &fd), __WASI_ERRNO_NAMETOOLONG);
  }
}

/* Symlink planting: a link the guest makes stays on the host's disk,
** where host tools follow it without the sandbox, so its target must
** resolve inside the preopen from the link's own directory, and moving
** the link (or a directory holding it) higher up must not change that.
** run.sh checks on the host that no such link exists afterwards. */
static void t_symlinks(void)
{
  __wasi_fd_t fd;
  char buf[64];
  __wasi_size_t used = 0;
  wt_eq("plant ../../../../etc", __wasi_path_symlink("../../../../etc", SB, "x"), CAP);
  wt_eq("plant .. from the top", __wasi_path_symlink("..", SB, "up1"), CAP);
  wt_eq("plant ../.. from sub", __wasi_path_symlink("../../outside", SB, "sub/up2"), CAP);
  wt_eq("plant name/../.. from sub", __wasi_path_symlink("a/../../outside", SB, "sub/mixed"), CAP);
  wt_eq("plant ./../x", __wasi_path_symlink("./../outside", SB, "dotup"), CAP);
  wt_eq("plant via a .. in the link path", __wasi_path_symlink("../outside", SB, "sub/../viadot"), CAP);
  wt_eq("../ from sub staying inside", __wasi_path_symlink("../inside.txt", SB, "sub/okup"), 0);
  wt_eq("and it is followed", wt_open(SB, "sub/okup", 1, 0, WT_RD, 0, &fd), 0);
  __wasi_fd_close(fd);
  wt_eq("readlink gives it back", __wasi_path_readlink(SB, "sub/okup", (uint8_t *)buf, sizeof buf, &used), 0);
  wt_eq("readlink length", used, 13);
  wt_eq(".. from sub (the top)", __wasi_path_symlink("..", SB, "sub/oktop"), 0);
  wt_eq("plain name inside", __wasi_path_symlink("sub/./okup", SB, "okdown"), 0);
  /* moved higher up, a link that fitted no longer does */
  wt_eq("mkdir sub/d1", __wasi_path_create_directory(SB, "sub/d1"), 0);
  wt_eq("../../ from sub/d1", __wasi_path_symlink("../../inside.txt", SB, "sub/d1/l"), 0);
  wt_eq("rename the link up", __wasi_path_rename(SB, "sub/d1/l", SB, "l2"), CAP);
  wt_eq("hard-link the link up", __wasi_path_link(SB, 0, "sub/d1/l", SB, "l3"), CAP);
  wt_eq("rename its directory up", __wasi_path_rename(SB, "sub/d1", SB, "d1top"), CAP);
  wt_eq("rename its directory across", __wasi_path_rename(SB, "sub/d1", SB, "sub/d1b"), 0);
  wt_eq("rename the link deeper", __wasi_path_rename(SB, "sub/d1b/l", SB, "sub/d1b/l4"), 0);
  wt_eq("mkdir sub/d1b/deeper", __wasi_path_create_directory(SB, "sub/d1b/deeper"), 0);
  wt_eq("rename the link down", __wasi_path_rename(SB, "sub/d1b/l4", SB, "sub/d1b/deeper/l5"), 0);
  wt_eq("rename a tree up whose link then fits", __wasi_path_rename(SB, "sub/d1b/deeper", SB, "sub/deep2"), 0);
  wt_eq("rename it to the top, where it does not", __wasi_path_rename(SB, "sub/deep2", SB, "deep3"), CAP);
  wt_eq("symlink through a fd opened on sub", wt_open(SB, "sub", 0, __WASI_OFLAGS_DIRECTORY, WT_ALL, 0, &fd), 0);
  wt_eq("../ from that fd stays inside the preopen", __wasi_path_symlink("../inside.txt", fd, "viafd"), 0);
  wt_eq("../../ from that fd is refused", __wasi_path_symlink("../../outside", fd, "viafd2"), CAP);
  __wasi_fd_close(fd);
  WT_TRUE("libc symlink() of ../../../../etc fails", symlink("../../../../etc", "/sandbox/x2") < 0 && errno == ENOTCAPABLE);
}

/* Opening until the table is full gives EMFILE, never a crash; after
** closing, opens work again. */
static void t_exhaust(void)
{
  static __wasi_fd_t fds[2000];
  int n = 0;
  __wasi_errno_t e = 0;
  while (n < 2000 && (e = wt_open(SB, "inside.txt", 0, 0, WT_RD, 0, &fds[n])) == 0)
    n++;
  wt_eq("fd exhaustion is EMFILE", e, __WASI_ERRNO_MFILE);
  WT_TRUE("about 1024 fds were given", n > 1000 && n < 1024);
  for (int i = 0; i < n; i++)
    __wasi_fd_close(fds[i]);
  wt_eq("open after closing", wt_open(SB, "inside.txt", 0, 0, WT_RD, 0, &fds[0]), 0);
  __wasi_fd_close(fds[0]);
  wt_eq("renumber to a huge fd", __wasi_fd_renumber(SB, 0x7FFFFFFF), __WASI_ERRNO_BADF);
  wt_eq("close a huge fd", __wasi_fd_close(0xFFFFFFFFu), __WASI_ERRNO_BADF);
}

/* Writes to the read-only preopen, which also holds a symlink back into
** the writable one: following it must not regain write rights. */
static void t_ro(void)
{
  __wasi_fd_t fd;
  wt_eq("ro creat", wt_open(RO, "x", 0, __WASI_OFLAGS_CREAT, WT_RD, 0, &fd), CAP);
  wt_eq("ro write open", wt_open(RO, "file.txt", 0, 0, WT_RW, 0, &fd), CAP);
  wt_eq("ro unlink", __wasi_path_unlink_file(RO, "file.txt"), CAP);
  wt_eq("ro rename out", __wasi_path_rename(RO, "file.txt", SB, "taken"), CAP);
  wt_eq("ro link out", __wasi_path_link(RO, 0, "file.txt", SB, "taken"), CAP);
  wt_eq("ro escape ..", wt_open(RO, "../outside/secret.txt", 0, 0, WT_RD, 0, &fd), CAP);
  wt_eq("ro fdstat_set_flags append", __wasi_fd_fdstat_set_flags(RO, __WASI_FDFLAGS_APPEND), CAP);
  wt_eq("ro fdstat_set_flags nonblock", __wasi_fd_fdstat_set_flags(RO, __WASI_FDFLAGS_NONBLOCK), 0);
}

/* Prints each preopen's guest name (for run.sh's --dir form checks). */
static int names(void)
{
  for (__wasi_fd_t fd = 3;; fd++) {
    __wasi_prestat_t ps;
    char name[256] = { 0 };
    if (__wasi_fd_prestat_get(fd, &ps) != 0 || ps.u.dir.pr_name_len >= sizeof name)
      return 0;
    __wasi_fd_prestat_dir_name(fd, (uint8_t *)name, ps.u.dir.pr_name_len);
    printf("preopen %d: %s\n", fd, name);
  }
}

/* While run.sh flips the symlink "race" between a directory inside and
** ../outside, creates and renames through it many times: every call must
** either stay inside or be refused (run.sh checks the outside after). */
static int race(void)
{
  int inside = 0, refused = 0, other = 0;
  __wasi_fd_t fd;
  for (int i = 0; i < 3000; i++) {
    __wasi_errno_t e = wt_open(SB, "race/f.txt", 1, __WASI_OFLAGS_CREAT,
                               WT_RW, 0, &fd);
    if (e == 0)
      __wasi_fd_close(fd);
    if (__wasi_path_create_directory(SB, "race/d") == 0)
      __wasi_path_remove_directory(SB, "race/d");
    if (__wasi_path_rename(SB, "inside.txt", SB, "race/in.txt") == 0)
      __wasi_path_rename(SB, "race/in.txt", SB, "inside.txt");
    inside += e == 0;
    refused += e == CAP;
    other += e != 0 && e != CAP;
  }
  printf("race: %d inside, %d refused, %d other\n", inside, refused, other);
  wt_eq("race: opens all stayed inside or were refused", inside + refused + other, 3000);
  return wt_done();
}

int main(int argc, char **argv)
{
  if (argc > 1 && strcmp(argv[1], "names") == 0)
    return names();
  if (argc > 1 && strcmp(argv[1], "race") == 0)
    return race();
  t_open_escapes();
  t_write_escapes();
  t_symlinks();
  t_exhaust();
  t_ro();
  return wt_done();
}
