/*
** tests/wasi/wt.h -- tiny check helpers shared by the wasi-full guests.
** Owns the "ok NAME" / "FAIL NAME" lines that run.sh counts and small
** wrappers over raw WASI calls; not the cases themselves (fs.c, escape.c).
*/
#ifndef WT_H
#define WT_H

#include <stdio.h>
#include <string.h>
#include <wasi/api.h>

static int wt_pass, wt_fail;
static FILE *wt_out;  /* where check lines go (NULL: stdout) */

/* Records one check: got must equal want (both WASI errnos or numbers). */
static void wt_eq(const char *name, long long got, long long want)
{
  if (got == want) {
    wt_pass++;
    fprintf(wt_out ? wt_out : stdout, "ok   %s\n", name);
  } else {
    wt_fail++;
    fprintf(wt_out ? wt_out : stdout, "FAIL %s: got %lld, want %lld\n", name,
            got, want);
  }
}

/* Records one check that a condition holds. */
#define WT_TRUE(name, cond) wt_eq((name), !!(cond), 1)

/* Every right, and the rights a plain read/write file fd asks for. */
#define WT_ALL ((__wasi_rights_t)0x3FFFFFFF)
#define WT_RW (__WASI_RIGHTS_FD_READ | __WASI_RIGHTS_FD_WRITE | \
               __WASI_RIGHTS_FD_SEEK | __WASI_RIGHTS_FD_TELL | \
               __WASI_RIGHTS_FD_FILESTAT_GET | \
               __WASI_RIGHTS_FD_FILESTAT_SET_SIZE | \
               __WASI_RIGHTS_FD_FILESTAT_SET_TIMES | \
               __WASI_RIGHTS_FD_FDSTAT_SET_FLAGS | __WASI_RIGHTS_FD_SYNC | \
               __WASI_RIGHTS_FD_DATASYNC | __WASI_RIGHTS_FD_ADVISE | \
               __WASI_RIGHTS_FD_ALLOCATE)
#define WT_RD (__WASI_RIGHTS_FD_READ | __WASI_RIGHTS_FD_SEEK | \
               __WASI_RIGHTS_FD_TELL | __WASI_RIGHTS_FD_FILESTAT_GET)

/* path_open beneath dir with the given flags; *fd gets the new fd. */
static inline __wasi_errno_t wt_open(__wasi_fd_t dir, const char *path, int follow,
                              __wasi_oflags_t of, __wasi_rights_t rights,
                              __wasi_fdflags_t fl, __wasi_fd_t *fd)
{
  return __wasi_path_open(dir, follow ? __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW : 0,
                          path, of, rights, WT_ALL & rights, fl, fd);
}

/* Writes a string to fd; returns the errno. */
static inline __wasi_errno_t wt_write(__wasi_fd_t fd, const char *s)
{
  __wasi_ciovec_t v = { (const uint8_t *)s, strlen(s) };
  __wasi_size_t n;
  return __wasi_fd_write(fd, &v, 1, &n);
}

/* Prints the totals and gives the exit status. */
static int wt_done(void)
{
  printf("%d passed, %d failed\n", wt_pass, wt_fail);
  return wt_fail != 0;
}

#endif
