/*
** wasi.h -- krait's own extension of krait_wasi_define for its command
** line: a hook told which guest paths failed under one watched preopen.
** Owns that internal interface; not the public WASI API (krait.h).
*/
#ifndef KW_WASI_H
#define KW_WASI_H

#include "krait.h"

/* Called after a path_* call through the watched preopen (the preopen
** itself, not fds opened through it) failed: guest_path is the preopen's
** guest name joined with the path the guest passed, wasi_errno the
** result. Runs on the guest's thread, inside the host call. */
typedef void (*kw_miss_fn)(void *ctx, const char *guest_path, int wasi_errno);

typedef struct kw_extra {
  int watch;        /* index in cfg->preopens of the watched one (-1: none) */
  kw_miss_fn miss;  /* NULL: no hook */
  void *ctx;
} kw_extra;

/* krait_wasi_define, plus extra (NULL: none). Same results. */
int kw_define(krait_linker *linker, const krait_wasi_config *cfg,
              const kw_extra *extra);

#endif /* KW_WASI_H */
