/*
** wasi.c -- krait_wasi_define: the wasi_snapshot_preview1 import table.
** Owns the per-guest state (argv, environ, stdio fds, preopens, quota,
** the failed-path hook) and the args/environ calls; not the fd, path,
** clock or socket calls.
*/
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wasi/wasi.h"
#include "wasi/wasi_internal.h"
#include "util/util.h"

/* Runs path call fn and, when it fails after kw_note_path noted a path
** of a watched preopen, tells the state's hook which guest path failed. */
static int kw_watch_call(krait_host_fn fn, krait_caller *caller, void *env,
                         krait_slot *ar) {
  kw_state *st = env;
  int r = fn(caller, env, ar);
  if (st->noted && r == 0 && ar[0].i32 != 0)
    st->miss(st->miss_ctx, st->noted, ar[0].i32);
  ku_free(st->noted);
  st->noted = NULL;
  return r;
}

/* kw_w_NAME: path call NAME under kw_watch_call. */
#define KW_WATCHED(name) \
  static int kw_w_##name(krait_caller *c, void *env, krait_slot *ar) \
  { \
    return kw_watch_call(kw_##name, c, env, ar); \
  }
KW_WATCHED(path_create_directory)
KW_WATCHED(path_filestat_get)
KW_WATCHED(path_filestat_set_times)
KW_WATCHED(path_link)
KW_WATCHED(path_open)
KW_WATCHED(path_readlink)
KW_WATCHED(path_remove_directory)
KW_WATCHED(path_rename)
KW_WATCHED(path_symlink)
KW_WATCHED(path_unlink_file)

/* Every preview1 import: name and exact core-wasm signature. The 45 that
** wasi-libc imports plus proc_raise, which the witx still lists. */
static const struct {
  const char *name;
  const char *sig;
  krait_host_fn fn;
} kw_funcs[] = {
  { "args_get", "ii:i", kw_args_get },
  { "args_sizes_get", "ii:i", kw_args_sizes_get },
  { "environ_get", "ii:i", kw_environ_get },
  { "environ_sizes_get", "ii:i", kw_environ_sizes_get },
  { "clock_res_get", "ii:i", kw_clock_res_get },
  { "clock_time_get", "iIi:i", kw_clock_time_get },
  { "fd_advise", "iIIi:i", kw_fd_advise },
  { "fd_allocate", "iII:i", kw_fd_allocate },
  { "fd_close", "i:i", kw_fd_close },
  { "fd_datasync", "i:i", kw_fd_datasync },
  { "fd_fdstat_get", "ii:i", kw_fd_fdstat_get },
  { "fd_fdstat_set_flags", "ii:i", kw_fd_fdstat_set_flags },
  { "fd_fdstat_set_rights", "iII:i", kw_fd_fdstat_set_rights },
  { "fd_filestat_get", "ii:i", kw_fd_filestat_get },
  { "fd_filestat_set_size", "iI:i", kw_fd_filestat_set_size },
  { "fd_filestat_set_times", "iIIi:i", kw_fd_filestat_set_times },
  { "fd_pread", "iiiIi:i", kw_fd_pread },
  { "fd_prestat_get", "ii:i", kw_fd_prestat_get },
  { "fd_prestat_dir_name", "iii:i", kw_fd_prestat_dir_name },
  { "fd_pwrite", "iiiIi:i", kw_fd_pwrite },
  { "fd_read", "iiii:i", kw_fd_read },
  { "fd_readdir", "iiiIi:i", kw_fd_readdir },
  { "fd_renumber", "ii:i", kw_fd_renumber },
  { "fd_seek", "iIii:i", kw_fd_seek },
  { "fd_sync", "i:i", kw_fd_sync },
  { "fd_tell", "ii:i", kw_fd_tell },
  { "fd_write", "iiii:i", kw_fd_write },
  { "path_create_directory", "iii:i", kw_w_path_create_directory },
  { "path_filestat_get", "iiiii:i", kw_w_path_filestat_get },
  { "path_filestat_set_times", "iiiiIIi:i", kw_w_path_filestat_set_times },
  { "path_link", "iiiiiii:i", kw_w_path_link },
  { "path_open", "iiiiiIIii:i", kw_w_path_open },
  { "path_readlink", "iiiiii:i", kw_w_path_readlink },
  { "path_remove_directory", "iii:i", kw_w_path_remove_directory },
  { "path_rename", "iiiiii:i", kw_w_path_rename },
  { "path_symlink", "iiiii:i", kw_w_path_symlink },
  { "path_unlink_file", "iii:i", kw_w_path_unlink_file },
  { "poll_oneoff", "iiii:i", kw_poll_oneoff },
  { "proc_exit", "i:", kw_proc_exit },
  { "proc_raise", "i:i", kw_proc_raise },
  { "sched_yield", ":i", kw_sched_yield },
  { "random_get", "ii:i", kw_random_get },
  { "sock_accept", "iii:i", kw_sock_accept },
  { "sock_recv", "iiiiii:i", kw_sock_recv },
  { "sock_send", "iiiii:i", kw_sock_send },
  { "sock_shutdown", "ii:i", kw_sock_shutdown },
};

/* Copies n C strings (NULL entries count as "") into one packed buffer.
** Returns 0, or -1 when out of memory or the total exceeds 4 GiB. */
static int kw_strings_copy(kw_strings *s, int n, const char *const *v) {
  uint64_t bytes = 0;
  s->count = n > 0 && v ? (uint32_t)n : 0;
  for (uint32_t i = 0; i < s->count; i++)
    bytes += strlen(v[i] ? v[i] : "") + 1;
  if (bytes > UINT32_MAX)
    return -1;
  s->bytes = (uint32_t)bytes;
  s->off = ku_malloc(sizeof *s->off * (s->count + 1));
  s->buf = ku_malloc(bytes + 1);
  if (!s->off || !s->buf)
    return -1;
  for (uint32_t i = 0, at = 0; i < s->count; i++) {
    size_t len = strlen(v[i] ? v[i] : "") + 1;
    memcpy(s->buf + at, v[i] ? v[i] : "", len);
    s->off[i] = at;
    at += (uint32_t)len;
  }
  return 0;
}

/* Frees a state (also run as the store's finalizer), closing the host fds
** it owns. */
static void kw_state_free(void *p) {
  kw_state *st = p;
  for (uint32_t i = 0; st->fds && i < st->nfds; i++)
    kw_fd_release(&st->fds[i]);
  ku_free(st->fds);
  ku_free(st->args.off);
  ku_free(st->args.buf);
  ku_free(st->env.off);
  ku_free(st->env.buf);
  ku_free(st->noted);
  ku_free(st);
}

/* Notes the guest path of a path call through f when f is watched: the
** preopen's guest name joined with path, for kw_watch_call. */
void kw_note_path(kw_state *st, const kw_fd *f, const char *path) {
  const char *name = f->preopen;
  size_t n;
  if (!st->miss || !f->watched || !name)
    return;
  ku_free(st->noted);
  n = strlen(name);
  if (strcmp(path, ".") == 0 || path[0] == '\0')
    path = "";
  st->noted = ku_malloc(n + strlen(path) + 2);
  if (st->noted)
    sprintf(st->noted, "%s%s%s", name,
            path[0] && n && name[n - 1] != '/' ? "/" : "", path);
}

/* Opens one preopen's host directory as the next guest fd. Returns 0, or
** -1 (errno set) when it cannot be opened or memory runs out. */
static int kw_preopen_add(kw_state *st, const krait_wasi_preopen *po) {
  uint64_t r = po->read_only ? KW_RIGHTS_ALL & ~KW_RIGHTS_WRITE
                             : KW_RIGHTS_ALL;
  const char *name = po->guest_path ? po->guest_path : po->host_path;
  struct stat sb;
  uint32_t fd;
  int h;
  if (!po->host_path)
    return errno = EINVAL, -1;
  h = open(po->host_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (h < 0)
    return -1;
  if (fstat(h, &sb) != 0 || kw_fd_add(st, h, r, r, &fd) != 0) {
    close(h);
    return errno = EMFILE, -1;
  }
  st->fds[fd].root_dev = (uint64_t)sb.st_dev;
  st->fds[fd].root_ino = (uint64_t)sb.st_ino;
  st->fds[fd].preopen = ku_strdup(name);
  return st->fds[fd].preopen ? 0 : (errno = ENOMEM, -1);
}

/* Builds the state for one guest from cfg (and extra, or NULL). NULL when
** out of memory or a preopen cannot be opened. */
static kw_state *kw_state_new(const krait_wasi_config *cfg,
                              const kw_extra *extra) {
  kw_state *st = ku_calloc(1, sizeof *st);
  int host[KW_NSTDIO] = { cfg->stdin_fd, cfg->stdout_fd, cfg->stderr_fd };
  if (!st)
    return NULL;
  st->nfds = KW_MAX_FDS;
  st->fds = ku_calloc(KW_MAX_FDS, sizeof *st->fds);
  if (!st->fds || kw_strings_copy(&st->args, cfg->argc, cfg->argv) != 0 ||
      kw_strings_copy(&st->env, cfg->envc, cfg->envp) != 0) {
    kw_state_free(st);
    return NULL;
  }
  for (int i = 0; i < KW_NSTDIO; i++) {
    st->fds[i].host = host[i];
    st->fds[i].open = host[i] >= 0;
    st->fds[i].base = st->fds[i].inh = KW_RIGHTS_ALL;
  }
  st->disk_max = cfg->max_disk;
  for (int i = 0; i < cfg->npreopens; i++) {
    if (!cfg->preopens || kw_preopen_add(st, &cfg->preopens[i]) != 0) {
      kw_state_free(st);
      return NULL;
    }
    if (extra && extra->miss && extra->watch == i)
      st->fds[KW_NSTDIO + i].watched = 1;
  }
  if (extra && extra->miss) {
    st->miss = extra->miss;
    st->miss_ctx = extra->ctx;
  }
  return st;
}

/* Defines every wasi_snapshot_preview1 function in linker, sharing one
** state copied from cfg. A negative stdio fd in cfg means that guest fd is
** closed from the start. Returns 0, or -1 when out of memory. */
int krait_wasi_define(krait_linker *linker, const krait_wasi_config *cfg) {
  return kw_define(linker, cfg, NULL);
}

/* See wasi.h: krait_wasi_define with krait's own extras. */
int kw_define(krait_linker *linker, const krait_wasi_config *cfg,
              const kw_extra *extra) {
  kw_state *st;
  if (!linker || !cfg)
    return -1;
  st = kw_state_new(cfg, extra);
  if (!st)
    return -1;
  if (krait_store_on_free(krait_linker_store(linker), kw_state_free, st) != 0) {
    kw_state_free(st);
    return -1;
  }
  for (size_t i = 0; i < sizeof kw_funcs / sizeof kw_funcs[0]; i++)
    if (krait_linker_define_func(linker, "wasi_snapshot_preview1",
                                 kw_funcs[i].name, kw_funcs[i].sig,
                                 kw_funcs[i].fn, st) != 0)
      return -1;
  return 0;
}

/* Writes a string list the way args_get/environ_get define it: the u32
** pointers into vec, the packed NUL-terminated bytes into buf. */
static int kw_strings_get(krait_caller *caller, const kw_strings *s,
                          uint32_t vec, uint32_t buf) {
  kw_mem m = kw_mem_of(caller);
  uint8_t *pv = kw_span(&m, vec, (uint64_t)s->count * 4);
  uint8_t *pb = kw_span(&m, buf, s->bytes);
  if (!pv || !pb)
    return KW_EFAULT;
  memcpy(pb, s->buf, s->bytes);
  for (uint32_t i = 0; i < s->count; i++)
    kw_put_u32(pv + 4 * i, buf + s->off[i]);
  return 0;
}

/* Writes a string list's count and packed size to two guest u32s. */
static int kw_strings_sizes(krait_caller *caller, const kw_strings *s,
                            uint32_t count_ptr, uint32_t size_ptr) {
  kw_mem m = kw_mem_of(caller);
  uint8_t *pc = kw_span(&m, count_ptr, 4), *ps = kw_span(&m, size_ptr, 4);
  if (!pc || !ps)
    return KW_EFAULT;
  kw_put_u32(pc, s->count);
  kw_put_u32(ps, s->bytes);
  return 0;
}

/* args_get(argv, argv_buf) -> errno */
int kw_args_get(krait_caller *caller, void *env, krait_slot *ar) {
  kw_state *st = env;
  return kw_ret(ar, kw_strings_get(caller, &st->args, (uint32_t)ar[0].i32,
                                   (uint32_t)ar[1].i32));
}

/* args_sizes_get(argc_ptr, argv_buf_size_ptr) -> errno */
int kw_args_sizes_get(krait_caller *caller, void *env, krait_slot *ar) {
  kw_state *st = env;
  return kw_ret(ar, kw_strings_sizes(caller, &st->args, (uint32_t)ar[0].i32,
                                     (uint32_t)ar[1].i32));
}

/* environ_get(environ, environ_buf) -> errno */
int kw_environ_get(krait_caller *caller, void *env, krait_slot *ar) {
  kw_state *st = env;
  return kw_ret(ar, kw_strings_get(caller, &st->env, (uint32_t)ar[0].i32,
                                   (uint32_t)ar[1].i32));
}

/* environ_sizes_get(count_ptr, buf_size_ptr) -> errno */
int kw_environ_sizes_get(krait_caller *caller, void *env, krait_slot *ar) {
  kw_state *st = env;
  return kw_ret(ar, kw_strings_sizes(caller, &st->env, (uint32_t)ar[0].i32,
                                     (uint32_t)ar[1].i32));
}
