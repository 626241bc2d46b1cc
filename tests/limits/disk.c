/*
** tests/limits/disk.c -- the disk quota: run with `krait run --max-disk 1M
** --dir DIR::/d`, tries to add more than 1 MiB to DIR through every call
** that grows files and prints one "ok"/"FAIL" line per check, then
** "N passed, N failed". Does not own the host-side check of DIR's size
** (tests/limits/run.sh).
*/
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MIB (1 << 20)

static char buf[2 * MIB];
static int pass, fail;

/* One check: got must equal want. */
static void eq(const char *name, long long got, long long want)
{
  if (got == want) {
    pass++;
    printf("ok   %s\n", name);
  } else {
    fail++;
    printf("FAIL %s: got %lld, want %lld\n", name, got, want);
  }
}

/* The size of the file open as fd. */
static long long size_of(int fd)
{
  struct stat sb;
  return fstat(fd, &sb) == 0 ? (long long)sb.st_size : -1;
}

/* Writes n bytes, returning write's result (errno in *err). */
static long long wr(int fd, size_t n, int *err)
{
  ssize_t r;
  errno = 0;
  r = write(fd, buf, n);
  *err = errno;
  return r;
}

int main(void)
{
  int err, fd = open("/d/big", O_RDWR | O_CREAT | O_TRUNC, 0644);
  int fd2 = open("/d/other", O_WRONLY | O_CREAT | O_APPEND, 0644);
  memset(buf, 'k', sizeof buf);
  eq("open", fd >= 0 && fd2 >= 0, 1);
  /* past the quota: refused whole, nothing reserved */
  eq("fallocate 2 MiB is ENOSPC", posix_fallocate(fd, 0, 2 * MIB), ENOSPC);
  errno = 0;
  eq("ftruncate to 2 MiB fails", ftruncate(fd, 2 * MIB), -1);
  eq("with ENOSPC", errno, ENOSPC);
  eq("the file is still empty", size_of(fd), 0);
  /* within it: fine */
  eq("fallocate 256 KiB", posix_fallocate(fd, 0, 256 << 10), 0);
  eq("write 256 KiB after it", (lseek(fd, 256 << 10, SEEK_SET), wr(fd, 256 << 10, &err)), 256 << 10);
  /* a write that crosses the quota stops at it, the next one fails */
  eq("write 768 KiB is cut to 512 KiB", wr(fd, 768 << 10, &err), 512 << 10);
  eq("the file is 1 MiB", size_of(fd), MIB);
  eq("a further write fails", wr(fd, 1, &err), -1);
  eq("with ENOSPC", err, ENOSPC);
  eq("appending to another file fails too", wr(fd2, 10, &err), -1);
  eq("with ENOSPC", err, ENOSPC);
  errno = 0;
  eq("pwrite past the end fails", pwrite(fd, buf, 1, 3 * MIB), -1);
  eq("with ENOSPC", errno, ENOSPC);
  /* overwriting in place adds nothing */
  eq("overwrite 1 MiB in place", pwrite(fd, buf, MIB, 0), MIB);
  eq("ftruncate to the same size", ftruncate(fd, MIB), 0);
  /* shrinking gives bytes back */
  eq("ftruncate to 512 KiB", ftruncate(fd, 512 << 10), 0);
  eq("append 100 KiB elsewhere now fits", wr(fd2, 100 << 10, &err), 100 << 10);
  eq("ftruncate up past the rest fails", ftruncate(fd, MIB), -1);
  eq("ftruncate up to what is left", ftruncate(fd, MIB - (100 << 10)), 0);
  eq("and then nothing is left", wr(fd2, 1, &err), -1);
  close(fd);
  /* O_TRUNC frees the file's bytes */
  fd = open("/d/big", O_WRONLY | O_TRUNC);
  eq("O_TRUNC open", fd >= 0, 1);
  eq("then 900 KiB fit again", wr(fd, 900 << 10, &err), 900 << 10);
  close(fd);
  close(fd2);
  printf("%d passed, %d failed\n", pass, fail);
  return fail != 0;
}
