/*
** file.c -- whole files and scratch trees: reading a file with a clear
** reason for failure, and removing a directory tree. Not decoding (the
** engine) nor what is done with the bytes (the callers).
*/
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/file.h"
#include "util/util.h"

/* Reads everything from fd into a buffer of the file's size (one read for
** a regular file; plus a byte to see its end), grown for pipes and files
** that grow meanwhile. NULL with errno set on failure. */
uint8_t *ku_read_fd(int fd, size_t *len) {
  struct stat sb;
  size_t cap = 1 << 16, n = 0;
  if (fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_size >= 0 && (uint64_t)sb.st_size < SIZE_MAX / 2)
    cap = (size_t)sb.st_size + 1;
  uint8_t *buf = ku_malloc(cap), *bigger;
  while (buf) {
    ssize_t r;
    if (n == cap) {
      bigger = cap * 2 > cap ? ku_realloc(buf, cap * 2) : NULL;
      if (!bigger)
        break;
      buf = bigger;
      cap *= 2;
    }
    r = read(fd, buf + n, cap - n);
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0)
      break;
    if (r == 0) {
      *len = n;
      return buf;
    }
    n += (size_t)r;
  }
  if (!buf || n == cap)
    errno = ENOMEM;
  ku_free(buf);
  return NULL;
}

/* Reads the file at path. On failure returns NULL and writes the reason
** ("No such file or directory", "is a directory", ...) to why[n]. */
uint8_t *ku_read_file(const char *path, size_t *len, char *why, size_t n) {
  struct stat sb;
  uint8_t *bytes;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    snprintf(why, n, "%s", strerror(errno));
    return NULL;
  }
  if (fstat(fd, &sb) == 0 && S_ISDIR(sb.st_mode)) {
    snprintf(why, n, "it is a directory");
    close(fd);
    return NULL;
  }
  bytes = ku_read_fd(fd, len);
  if (!bytes)
    snprintf(why, n, "%s", strerror(errno));
  close(fd);
  return bytes;
}

/* nftw's step of ku_remove_tree. */
static int ku_remove_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
  return remove(path);
}

/* Removes a directory tree (a half-unpacked bundle, a scratch dir),
** without following symlinks; best effort. */
void ku_remove_tree(const char *dir) {
  nftw(dir, ku_remove_one, 16, FTW_DEPTH | FTW_PHYS);
}
