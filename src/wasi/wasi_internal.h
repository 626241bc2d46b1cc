/*
** wasi_internal.h -- shared declarations of the WASI preview1 host layer.
** Owns the WASI constant tables, guest-memory helpers and per-guest state;
** not the engine (krait.h) nor which host functions exist (wasi.c's table).
*/
#ifndef KW_WASI_INTERNAL_H
#define KW_WASI_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>
#include <time.h>

#include "krait.h"

/* ---------------------------------------------------------------------
** The WASI preview1 constants used here, with the witx values
** (wasi_snapshot_preview1 typenames.witx; same as wasi-libc's api.h).
** ------------------------------------------------------------------- */

/* errno: every value of the witx enum, in order. */
enum {
  KW_ESUCCESS = 0, KW_E2BIG = 1, KW_EACCES = 2, KW_EADDRINUSE = 3,
  KW_EADDRNOTAVAIL = 4, KW_EAFNOSUPPORT = 5, KW_EAGAIN = 6, KW_EALREADY = 7,
  KW_EBADF = 8, KW_EBADMSG = 9, KW_EBUSY = 10, KW_ECANCELED = 11,
  KW_ECHILD = 12, KW_ECONNABORTED = 13, KW_ECONNREFUSED = 14,
  KW_ECONNRESET = 15, KW_EDEADLK = 16, KW_EDESTADDRREQ = 17, KW_EDOM = 18,
  KW_EDQUOT = 19, KW_EEXIST = 20, KW_EFAULT = 21, KW_EFBIG = 22,
  KW_EHOSTUNREACH = 23, KW_EIDRM = 24, KW_EILSEQ = 25, KW_EINPROGRESS = 26,
  KW_EINTR = 27, KW_EINVAL = 28, KW_EIO = 29, KW_EISCONN = 30,
  KW_EISDIR = 31, KW_ELOOP = 32, KW_EMFILE = 33, KW_EMLINK = 34,
  KW_EMSGSIZE = 35, KW_EMULTIHOP = 36, KW_ENAMETOOLONG = 37,
  KW_ENETDOWN = 38, KW_ENETRESET = 39, KW_ENETUNREACH = 40, KW_ENFILE = 41,
  KW_ENOBUFS = 42, KW_ENODEV = 43, KW_ENOENT = 44, KW_ENOEXEC = 45,
  KW_ENOLCK = 46, KW_ENOLINK = 47, KW_ENOMEM = 48, KW_ENOMSG = 49,
  KW_ENOPROTOOPT = 50, KW_ENOSPC = 51, KW_ENOSYS = 52, KW_ENOTCONN = 53,
  KW_ENOTDIR = 54, KW_ENOTEMPTY = 55, KW_ENOTRECOVERABLE = 56,
  KW_ENOTSOCK = 57, KW_ENOTSUP = 58, KW_ENOTTY = 59, KW_ENXIO = 60,
  KW_EOVERFLOW = 61, KW_EOWNERDEAD = 62, KW_EPERM = 63, KW_EPIPE = 64,
  KW_EPROTO = 65, KW_EPROTONOSUPPORT = 66, KW_EPROTOTYPE = 67,
  KW_ERANGE = 68, KW_EROFS = 69, KW_ESPIPE = 70, KW_ESRCH = 71,
  KW_ESTALE = 72, KW_ETIMEDOUT = 73, KW_ETXTBSY = 74, KW_EXDEV = 75,
  KW_ENOTCAPABLE = 76
};

/* filetype */
enum {
  KW_FILETYPE_UNKNOWN = 0, KW_FILETYPE_BLOCK_DEVICE = 1,
  KW_FILETYPE_CHARACTER_DEVICE = 2, KW_FILETYPE_DIRECTORY = 3,
  KW_FILETYPE_REGULAR_FILE = 4, KW_FILETYPE_SOCKET_DGRAM = 5,
  KW_FILETYPE_SOCKET_STREAM = 6, KW_FILETYPE_SYMBOLIC_LINK = 7
};

/* clockid, whence, advice, fdflags, eventtype, eventrwflags, subclockflags */
enum {
  KW_CLOCK_REALTIME = 0, KW_CLOCK_MONOTONIC = 1,
  KW_CLOCK_PROCESS_CPUTIME = 2, KW_CLOCK_THREAD_CPUTIME = 3,
  KW_WHENCE_SET = 0, KW_WHENCE_CUR = 1, KW_WHENCE_END = 2,
  KW_ADVICE_NORMAL = 0, KW_ADVICE_SEQUENTIAL = 1, KW_ADVICE_RANDOM = 2,
  KW_ADVICE_WILLNEED = 3, KW_ADVICE_DONTNEED = 4, KW_ADVICE_NOREUSE = 5,
  KW_FDFLAG_APPEND = 1, KW_FDFLAG_DSYNC = 2, KW_FDFLAG_NONBLOCK = 4,
  KW_FDFLAG_RSYNC = 8, KW_FDFLAG_SYNC = 16,
  KW_EVENT_CLOCK = 0, KW_EVENT_FD_READ = 1, KW_EVENT_FD_WRITE = 2,
  KW_EVENT_HANGUP = 1, KW_SUBCLOCK_ABSTIME = 1
};

/* Not a WASI errno: a blocking call reached the caller's deadline. */
#define KW_PAST_DEADLINE (-1)

/* Waits until host fd is readable or the deadline (monotonic ns, 0 for
** none) passes. Returns 0 when readable, KW_PAST_DEADLINE otherwise. */
int kw_wait_readable(int host, uint64_t deadline);

/* rights: one bit per call family, witx order (bit 0 fd_datasync ..
** bit 29 sock_accept). Stdio fds hold all of them (and report a tty
** without fd_seek/fd_tell, which is how wasi-libc's isatty() tells). */
enum {
  KW_R_FD_DATASYNC = 0, KW_R_FD_READ, KW_R_FD_SEEK, KW_R_FD_FDSTAT_SET_FLAGS,
  KW_R_FD_SYNC, KW_R_FD_TELL, KW_R_FD_WRITE, KW_R_FD_ADVISE,
  KW_R_FD_ALLOCATE, KW_R_PATH_CREATE_DIRECTORY, KW_R_PATH_CREATE_FILE,
  KW_R_PATH_LINK_SOURCE, KW_R_PATH_LINK_TARGET, KW_R_PATH_OPEN,
  KW_R_FD_READDIR, KW_R_PATH_READLINK, KW_R_PATH_RENAME_SOURCE,
  KW_R_PATH_RENAME_TARGET, KW_R_PATH_FILESTAT_GET,
  KW_R_PATH_FILESTAT_SET_SIZE, KW_R_PATH_FILESTAT_SET_TIMES,
  KW_R_FD_FILESTAT_GET, KW_R_FD_FILESTAT_SET_SIZE,
  KW_R_FD_FILESTAT_SET_TIMES, KW_R_PATH_SYMLINK, KW_R_PATH_REMOVE_DIRECTORY,
  KW_R_PATH_UNLINK_FILE, KW_R_POLL_FD_READWRITE, KW_R_SOCK_SHUTDOWN,
  KW_R_SOCK_ACCEPT
};
#define KW_R(name)        (UINT64_C(1) << KW_R_##name)
#define KW_RIGHTS_ALL     UINT64_C(0x3FFFFFFF)
#define KW_RIGHT_FD_SEEK  KW_R(FD_SEEK)
#define KW_RIGHT_FD_TELL  KW_R(FD_TELL)
/* Every right that changes the file system or file contents: what a
** read-only preopen lacks. */
#define KW_RIGHTS_WRITE \
  (KW_R(FD_DATASYNC) | KW_R(FD_SYNC) | \
   KW_R(FD_WRITE) | KW_R(FD_ALLOCATE) | KW_R(PATH_CREATE_DIRECTORY) | \
   KW_R(PATH_CREATE_FILE) | KW_R(PATH_LINK_SOURCE) | \
   KW_R(PATH_LINK_TARGET) | KW_R(PATH_RENAME_SOURCE) | \
   KW_R(PATH_RENAME_TARGET) | KW_R(PATH_FILESTAT_SET_SIZE) | \
   KW_R(PATH_FILESTAT_SET_TIMES) | KW_R(FD_FILESTAT_SET_SIZE) | \
   KW_R(FD_FILESTAT_SET_TIMES) | KW_R(PATH_SYMLINK) | \
   KW_R(PATH_REMOVE_DIRECTORY) | KW_R(PATH_UNLINK_FILE))
/* The rights that act on a file's bytes or position, which a directory fd
** never holds (kw_fd_add drops them): as in wasmtime, a directory reports
** no fd_seek, so "." reopened with a preopen's own rights opens read-only
** rather than O_RDWR (EISDIR). fd_read stays, so reading a directory is
** EISDIR as on Linux. Its inheriting rights keep them all for files. */
#define KW_RIGHTS_FILE_ONLY \
  (KW_R(FD_SEEK) | KW_R(FD_TELL) | KW_R(FD_WRITE) | KW_R(FD_ALLOCATE) | \
   KW_R(FD_FILESTAT_SET_SIZE))

/* oflags, lookupflags, fstflags, sdflags */
enum {
  KW_O_CREAT = 1, KW_O_DIRECTORY = 2, KW_O_EXCL = 4, KW_O_TRUNC = 8,
  KW_LOOKUP_SYMLINK_FOLLOW = 1,
  KW_FST_ATIM = 1, KW_FST_ATIM_NOW = 2, KW_FST_MTIM = 4, KW_FST_MTIM_NOW = 8,
  KW_SHUT_RD = 1, KW_SHUT_WR = 2
};

/* Guest structure sizes (bytes) from the witx layout. */
enum {
  KW_IOVEC_SIZE = 8, KW_FDSTAT_SIZE = 24, KW_FILESTAT_SIZE = 64,
  KW_SUBSCRIPTION_SIZE = 48, KW_EVENT_SIZE = 32
};

/* ---------------------------------------------------------------------
** Per-guest state
** ------------------------------------------------------------------- */

/* Guest fds 0..KW_NSTDIO-1 are the configured stdio host fds: borrowed,
** never closed here. Every other fd (preopens from 3, then path_open's)
** owns its host fd. At most KW_MAX_FDS guest fds exist (then EMFILE). */
#define KW_NSTDIO 3
#define KW_MAX_FDS 1024

/* A snapshot of a directory's entries for fd_readdir: entry i has cookie
** i + 1, so cookies stay valid until the guest reads from cookie 0. */
typedef struct kw_dirent {
  uint64_t ino;
  uint8_t type;
  char *name;
} kw_dirent;

typedef struct kw_fd {
  int host;          /* host fd */
  int open;          /* 0 for a free slot */
  int owned;         /* close host when the guest fd goes away */
  uint64_t base;     /* rights of this fd */
  uint64_t inh;      /* rights of fds opened through it */
  char *preopen;     /* guest name of a preopen, else NULL */
  kw_dirent *ents;   /* fd_readdir snapshot (NULL: none yet) */
  uint32_t nents;
  uint64_t root_dev; /* the preopen this fd descends from (0, 0: none), */
  uint64_t root_ino; /* which bounds where its symlinks may point */
  int watched;       /* failed path calls through it are reported */
} kw_fd;

/* Strings are packed NUL-terminated in buf; off[i] is string i's start. */
typedef struct kw_strings {
  uint32_t count;
  uint32_t bytes;
  uint32_t *off;
  char *buf;
} kw_strings;

typedef struct kw_state {
  struct kw_state *next;  /* link in the registry (see wasi.c) */
  kw_strings args;
  kw_strings env;
  kw_fd *fds;         /* nfds slots */
  uint32_t nfds;
  uint64_t disk_max;  /* bytes the guest may add to host files (0: any) */
  uint64_t disk_used; /* bytes added so far, net of truncation */
  void (*miss)(void *ctx, const char *guest_path, int wasi_errno);
  void *miss_ctx;     /* kw_define's hook for failed watched paths */
  char *noted;        /* the guest path of the current watched call */
} kw_state;

/* ---------------------------------------------------------------------
** Guest memory (wasi_mem.c). Every guest pointer goes through kw_span.
** ------------------------------------------------------------------- */

/* The calling instance's memory 0 as a base and a size (0 if none). */
typedef struct kw_mem {
  uint8_t *base;
  uint64_t size;
} kw_mem;

kw_mem kw_mem_of(krait_caller *caller);
uint8_t *kw_span(const kw_mem *m, uint32_t ptr, uint64_t len);
uint32_t kw_get_u32(const uint8_t *p);
uint64_t kw_get_u64(const uint8_t *p);
void kw_put_u16(uint8_t *p, uint16_t v);
void kw_put_u32(uint8_t *p, uint32_t v);
void kw_put_u64(uint8_t *p, uint64_t v);
int kw_put_u32_at(const kw_mem *m, uint32_t ptr, uint32_t v);
int kw_put_u64_at(const kw_mem *m, uint32_t ptr, uint64_t v);

/* A position in a guest iovec array, already validated by kw_iovs_check. */
typedef struct kw_iovs {
  const kw_mem *m;
  uint32_t ptr, n;  /* guest address and count of the iovec array */
  uint32_t i;       /* current iovec */
  uint32_t skip;    /* bytes of iovec i already consumed */
} kw_iovs;

int kw_iovs_check(const kw_mem *m, uint32_t ptr, uint32_t n);
int kw_iovs_fill(kw_iovs *c, struct iovec *out, int max, uint64_t cap);
void kw_iovs_advance(kw_iovs *c, uint64_t n);

/* ---------------------------------------------------------------------
** Errors and fds (wasi_errno.c)
** ------------------------------------------------------------------- */

int kw_errno(int host_errno);
kw_fd *kw_fd_get(kw_state *st, uint32_t fd);
int kw_fd_need(kw_state *st, uint32_t fd, uint64_t rights, kw_fd **out);
int kw_is_dir(int host_fd);
int kw_fd_add(kw_state *st, int host, uint64_t base, uint64_t inh,
              uint32_t *out);
void kw_fd_release(kw_fd *f);
int kw_filetype(int host_fd);
uint8_t kw_filetype_mode(unsigned mode);

/* ---------------------------------------------------------------------
** Sandboxed path resolution (wasi_path.c)
** ------------------------------------------------------------------- */

/* A resolved guest path: an owned O_PATH fd of the directory that holds
** the last component, and that component ("." for the directory itself). */
typedef struct kw_where {
  int dir;
  char name[256];
  int must_dir;   /* the guest path ended in '/' */
} kw_where;

int kw_path_get(const kw_mem *m, uint32_t ptr, uint32_t len, char **out);
int kw_resolve(int base, const char *path, int follow, kw_where *w);
int kw_resolve_guest(krait_caller *caller, kw_state *st, uint32_t fd,
                     uint64_t rights, uint32_t ptr, uint32_t len, int follow,
                     kw_where *w);
void kw_where_done(kw_where *w);
int kw_filestat_put(uint8_t *p, const void *host_stat);
int kw_times(uint64_t atim, uint64_t mtim, uint32_t fst,
             struct timespec ts[2]);

void kw_note_path(kw_state *st, const kw_fd *f, const char *path);
void kw_note_guest(krait_caller *caller, kw_state *st, uint32_t fd,
                   uint32_t ptr, uint32_t len);

/* ---------------------------------------------------------------------
** Where guest-made symlinks may point (wasi_link.c)
** ------------------------------------------------------------------- */

int kw_link_reach(const char *target);
int kw_link_fits(int dir, const kw_fd *root, const char *target);
int kw_link_check_move(int odir, const char *oname, const kw_fd *ofd,
                       int ndir, const kw_fd *nfd, int whole_dirs);

/* ---------------------------------------------------------------------
** The disk quota (wasi_quota.c): bytes the guest adds to host files
** ------------------------------------------------------------------- */

/* A file's size before a call that may grow it; counted is 0 when the
** quota does not apply (no limit, a borrowed stdio fd, not a file). */
typedef struct kw_grow {
  int counted;
  uint64_t size;
} kw_grow;

void kw_quota_begin(const kw_state *st, const kw_fd *f, kw_grow *g);
uint64_t kw_quota_room(const kw_state *st, const kw_grow *g, uint64_t pos);
void kw_quota_end(kw_state *st, const kw_fd *f, const kw_grow *g);
int kw_quota_position(const kw_fd *f, const kw_grow *g, uint64_t *pos);
void kw_quota_credit(kw_state *st, uint64_t bytes);

/* Stores a WASI errno as the i32 result of a host function. */
static inline int kw_ret(krait_slot *ar, int wasi_errno) {
  ar[0].bits = 0;
  ar[0].i32 = wasi_errno;
  return 0;
}

/* ---------------------------------------------------------------------
** Host functions, in the order of the witx (wasi_*.c)
** ------------------------------------------------------------------- */

#define KW_FN(name) \
  int kw_##name(krait_caller *caller, void *env, krait_slot *ar)

KW_FN(args_get); KW_FN(args_sizes_get);
KW_FN(environ_get); KW_FN(environ_sizes_get);
KW_FN(clock_res_get); KW_FN(clock_time_get);
KW_FN(fd_advise); KW_FN(fd_allocate); KW_FN(fd_close); KW_FN(fd_datasync);
KW_FN(fd_fdstat_get); KW_FN(fd_fdstat_set_flags);
KW_FN(fd_fdstat_set_rights); KW_FN(fd_filestat_get);
KW_FN(fd_filestat_set_size); KW_FN(fd_filestat_set_times);
KW_FN(fd_pread); KW_FN(fd_prestat_get); KW_FN(fd_prestat_dir_name);
KW_FN(fd_pwrite); KW_FN(fd_read); KW_FN(fd_readdir); KW_FN(fd_renumber);
KW_FN(fd_seek); KW_FN(fd_sync); KW_FN(fd_tell); KW_FN(fd_write);
KW_FN(path_create_directory); KW_FN(path_filestat_get);
KW_FN(path_filestat_set_times); KW_FN(path_link); KW_FN(path_open);
KW_FN(path_readlink); KW_FN(path_remove_directory); KW_FN(path_rename);
KW_FN(path_symlink); KW_FN(path_unlink_file);
KW_FN(poll_oneoff); KW_FN(proc_exit); KW_FN(proc_raise);
KW_FN(sched_yield); KW_FN(random_get);
KW_FN(sock_accept); KW_FN(sock_recv); KW_FN(sock_send); KW_FN(sock_shutdown);

#endif /* KW_WASI_INTERNAL_H */
