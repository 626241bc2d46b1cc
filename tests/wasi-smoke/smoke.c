/*
** tests/wasi-smoke/smoke.c -- guest program: pokes the WASI subset of
** `krait run` one call family at a time, chosen by argv[1].
** Does not own: judging the output (tests/wasi-smoke/run.sh does that).
*/
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <wasi/api.h>

/* Reads stdin to its end; prints the byte count and a checksum. */
static int do_stdin(void) {
  char buf[1000];
  unsigned long n = 0, sum = 0;
  ssize_t r;
  while ((r = read(0, buf, sizeof buf)) > 0)
    for (ssize_t i = 0; i < r; i++, n++) sum = sum * 31 + (unsigned char)buf[i];
  printf("read %lu bytes, sum %lu, last %zd\n", n, sum, r);
  return 0;
}

/* Seeks stdin: works on a redirected file, ESPIPE on a pipe. */
static int do_seek(void) {
  off_t end = lseek(0, 0, SEEK_END);
  if (end < 0) {
    printf("lseek: %s\n", strerror(errno));
    return 0;
  }
  char c = 0;
  printf("size %lld, back to %lld\n", (long long)end, (long long)lseek(0, 1, SEEK_SET));
  printf("read %zd char %c, tell %lld\n", read(0, &c, 1), c, (long long)lseek(0, 0, SEEK_CUR));
  return 0;
}

/* File types and tty-ness of the three stdio fds. */
static int do_stat(void) {
  for (int fd = 0; fd < 3; fd++) {
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
      printf("fd %d: fstat: %s\n", fd, strerror(errno));
      continue;
    }
    const char *t = S_ISREG(sb.st_mode) ? "file" : S_ISCHR(sb.st_mode) ? "chardev"
                    : S_ISFIFO(sb.st_mode) ? "fifo" : S_ISDIR(sb.st_mode) ? "dir"
                    : S_ISSOCK(sb.st_mode) ? "socket" : "unknown";
    printf("fd %d: %s size %lld isatty %d\n", fd, t, (long long)sb.st_size, isatty(fd));
  }
  return 0;
}

/* Nanoseconds of a clock. */
static long long ns(clockid_t c) {
  struct timespec ts;
  if (clock_gettime(c, &ts) != 0) return -1;
  return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Sleeps 50 ms (poll_oneoff) and checks that the clocks agree. */
static int do_sleep(void) {
  long long m0 = ns(CLOCK_MONOTONIC), r0 = ns(CLOCK_REALTIME);
  struct timespec d = {0, 50 * 1000 * 1000};
  int rc = nanosleep(&d, NULL);
  long long dm = ns(CLOCK_MONOTONIC) - m0, dr = ns(CLOCK_REALTIME) - r0;
  printf("nanosleep %d, slept >= 50ms: %d, < 1s: %d, realtime agrees: %d\n", rc,
         dm >= 50000000, dm < 1000000000, dr > 40000000 && dr < 1000000000);
  printf("realtime after 2020: %d, cputime ok: %d\n", r0 / 1000000000 > 1577836800,
         ns(CLOCK_PROCESS_CPUTIME_ID) >= 0);
  struct pollfd p = {0, POLLIN, 0};
  m0 = ns(CLOCK_MONOTONIC);
  rc = poll(&p, 1, 30);
  printf("poll stdin: %d revents %s waited <= 30ms+: %d\n", rc,
         p.revents & POLLIN ? "in" : p.revents ? "other" : "none",
         ns(CLOCK_MONOTONIC) - m0 < 500000000);
  return 0;
}

/* Random bytes: not all zero and not all the same. */
static int do_random(void) {
  unsigned char a[256] = {0};
  int rc = getentropy(a, sizeof a), same = 1;
  for (int i = 1; i < 256; i++) same &= a[i] == a[0];
  printf("getentropy %d, varied %d\n", rc, !same);
  return 0;
}

/* Closing stdout makes later writes fail with EBADF. */
static int do_close(void) {
  printf("before close\n");
  fflush(stdout);
  int rc = close(1);
  ssize_t w = write(1, "x\n", 2);
  fprintf(stderr, "close %d, write %zd (%s)\n", rc, w, strerror(errno));
  return 0;
}

/* Files are not reachable without preopens: open fails cleanly. */
static int do_open(void) {
  int fd = open("some-file.txt", O_RDONLY);
  printf("open: %d (%s)\n", fd, fd < 0 ? strerror(errno) : "?");
  FILE *f = fopen("/etc/passwd", "r");
  printf("fopen: %s (%s)\n", f ? "opened" : "NULL", f ? "?" : strerror(errno));
  return 0;
}

/* Raw calls with bad pointers must get EFAULT, not crash the host. */
static int do_fault(void) {
  __wasi_size_t n = 0;
  __wasi_ciovec_t bad = {(const uint8_t *)0xFFFFFFF0, 100};
  printf("fd_write bad iovec: %d\n", __wasi_fd_write(1, &bad, 1, &n));
  printf("random_get bad buf: %d\n", __wasi_random_get((uint8_t *)0xFFFFFF00, 1000));
  printf("fd_write 1000 iovecs: %d\n",
         __wasi_fd_write(1, (const __wasi_ciovec_t *)0xFFFFF000, 1000, &n));
  __wasi_fdstat_t st;
  printf("fd_fdstat_get fd 9: %d\n", __wasi_fd_fdstat_get(9, &st));
  printf("fd_prestat_get fd 3: %d\n", __wasi_fd_prestat_get(3, (__wasi_prestat_t *)&st));
  return 0;
}

/* Allocates (and touches) 1 MiB blocks until malloc fails. */
static int do_grow(void) {
  static char *volatile keep;
  for (int i = 0; i < 8192; i++) {
    char *p = malloc(1 << 20);
    if (!p) {
      printf("malloc failed after %d MiB\n", i);
      return 5;
    }
    memset(p, i, 1 << 20);
    keep = p;
  }
  return 0;
}

int main(int argc, char **argv) {
  const char *m = argc > 1 ? argv[1] : "";
  if (!strcmp(m, "stdin")) return do_stdin();
  if (!strcmp(m, "seek")) return do_seek();
  if (!strcmp(m, "stat")) return do_stat();
  if (!strcmp(m, "sleep")) return do_sleep();
  if (!strcmp(m, "random")) return do_random();
  if (!strcmp(m, "close")) return do_close();
  if (!strcmp(m, "open")) return do_open();
  if (!strcmp(m, "fault")) return do_fault();
  if (!strcmp(m, "argv")) return printf("argv0=%s argc=%d\n", argv[0], argc) < 0;
  if (!strcmp(m, "exit")) exit(argc > 2 ? atoi(argv[2]) : 0);
  if (!strcmp(m, "trap")) __builtin_trap();
  if (!strcmp(m, "spin")) for (volatile unsigned i = 0;; i++) {}
  if (!strcmp(m, "grow")) return do_grow();
  fprintf(stderr, "usage: smoke argv|stdin|seek|stat|sleep|random|close|open|fault|exit N|trap|spin|grow\n");
  return 2;
}
