/*
** tests/fuzz/fuzz_bundle.c -- libFuzzer target: bytes -> an artifact's
** bundle unpacked (ka_bundle_extract). The input is the archive before
** deflate; the target deflates it so the fuzzer reaches the entry parser.
** Checks: nothing is written outside the directory unpacked into.
*/
#include <dirent.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "app/app.h"

static char scratch[256];

/* nftw step: removes one entry. */
static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *f) { return remove(p); }

/* Entries in the scratch dir; only "x" may exist after an unpack. */
static void check_scratch(void) {
  DIR *d = opendir(scratch);
  struct dirent *e;
  if (!d) abort();
  while ((e = readdir(d)))
    if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") && strcmp(e->d_name, "x")) abort();
  closedir(d);
}

/* libFuzzer: one input. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!scratch[0]) {
    snprintf(scratch, sizeof scratch, "/tmp/fuzz-bundle.%ld", (long)getpid());
    mkdir(scratch, 0755);
  }
  uLongf zn = compressBound((uLong)size);
  uint8_t *z = malloc(zn + 8);
  uint64_t raw = size;
  if (!z || compress2(z + 8, &zn, data, (uLong)size, 1) != Z_OK) abort();
  memcpy(z, &raw, 8);
  char dir[300], err[512] = "";
  snprintf(dir, sizeof dir, "%s/x", scratch);
  int rc = ka_bundle_extract(z, zn + 8, dir, err, sizeof err);
  if (rc != 0 && !err[0]) abort();   /* every failure says why */
  /* damage after deflate: truncated streams must fail cleanly too */
  nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
  if (zn > 4 && ka_bundle_extract(z, zn + 8 - 3, dir, err, sizeof err) == 0) abort();
  check_scratch();
  nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
  free(z);
  return 0;
}
