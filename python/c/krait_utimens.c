/*
** python/c/krait_utimens.c -- linked into python.wasm with
** -Wl,--wrap=utimensat,--wrap=futimens. Owns one wasi-libc fix: Debian
** 12's wasi-libc reads times[] without checking for NULL (POSIX: "both
** now", what os.utime(path) passes) and encodes UTIME_NOW as fstflags that
** WASI hosts must reject (EINVAL). Here "now" becomes the current
** CLOCK_REALTIME time before wasi-libc sees it. Does not own anything else.
*/
#include <sys/stat.h>
#include <time.h>

int __real_utimensat(int dirfd, const char *path,
                     const struct timespec times[2], int flags);
int __real_futimens(int fd, const struct timespec times[2]);

/* Fills out[] from times[] (NULL: both now), with every UTIME_NOW
** replaced by the current time. */
static const struct timespec *krait_times(const struct timespec *times,
                                          struct timespec out[2])
{
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  for (int i = 0; i < 2; i++)
    out[i] = !times || times[i].tv_nsec == UTIME_NOW ? now : times[i];
  return out;
}

/* utimensat with NULL times and UTIME_NOW handled as POSIX says. */
int __wrap_utimensat(int dirfd, const char *path,
                     const struct timespec times[2], int flags)
{
  struct timespec ts[2];
  return __real_utimensat(dirfd, path, krait_times(times, ts), flags);
}

/* futimens with NULL times and UTIME_NOW handled as POSIX says. */
int __wrap_futimens(int fd, const struct timespec times[2])
{
  struct timespec ts[2];
  return __real_futimens(fd, krait_times(times, ts));
}
