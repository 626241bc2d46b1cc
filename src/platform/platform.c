/*
** platform.c -- POSIX/Linux implementation of platform.h: mmap-based
** memories, the SIGSEGV handler that turns guard-page faults into traps.
*/
#include "platform/platform.h"
#include <sys/mman.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/random.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <errno.h>
#include <unistd.h>
#include <stdlib.h>
#include <ucontext.h>

void *kp_reserve(size_t n) {
  void *p = mmap(NULL, n, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  return p == MAP_FAILED ? NULL : p;
}

bool kp_commit(void *p, size_t n) {
  return n == 0 || mprotect(p, n, PROT_READ | PROT_WRITE) == 0;
}

bool kp_decommit(void *p, size_t n) {
  return n == 0 || (madvise(p, n, MADV_DONTNEED) == 0 && mprotect(p, n, PROT_NONE) == 0);
}

const uint8_t *kp_view_image(size_t n, int fd) {
  void *p = mmap(NULL, n ? n : 1, PROT_READ, MAP_SHARED, fd, 0);
  return p == MAP_FAILED ? NULL : p;
}

void kp_release(void *p, size_t n) {
  if (p && n) munmap(p, n);
}

void *kp_map(size_t n) {
  void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  return p == MAP_FAILED ? NULL : p;
}

/* A memfd: anonymous, sparse (unwritten pages take no memory). */
int kp_image_new(size_t n) {
  int fd = memfd_create("krait-snapshot", MFD_CLOEXEC);
  if (fd < 0) return -1;
  if (ftruncate(fd, (off_t)n) != 0) {
    int e = errno;
    close(fd);
    errno = e;
    return -1;
  }
  return fd;
}

/* MAP_PRIVATE: every instance gets its own copy of a page it writes. */
bool kp_map_image(void *p, size_t n, int fd) {
  if (n == 0) return true;
  void *q = mmap(p, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED, fd, 0);
  return q == p;
}

/* pagemap entry bits (Documentation/admin-guide/mm/pagemap.rst). */
#define KP_PM_PRESENT (1ull << 63)
#define KP_PM_SWAPPED (1ull << 62)
#define KP_PM_FILE (1ull << 61)      /* file page or shared anonymous */

/* /proc/self/pagemap, opened once for the process (-1: unreadable). */
static int kp_pagemap_fd = -1;
static pthread_once_t kp_pagemap_once = PTHREAD_ONCE_INIT;

static void kp_pagemap_open(void) { kp_pagemap_fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC); }

bool kp_written_pages(const void *p, size_t n, uint64_t *bits) {
  pthread_once(&kp_pagemap_once, kp_pagemap_open);
  int fd = kp_pagemap_fd;
  if (fd < 0) return false;
  uint64_t e[512];
  size_t first = (uintptr_t)p / 4096, npages = n / 4096;
  bool ok = true;
  for (size_t i = 0; ok && i < npages; i += 512) {
    size_t k = npages - i < 512 ? npages - i : 512;
    ok = pread(fd, e, k * 8, (off_t)((first + i) * 8)) == (ssize_t)(k * 8);
    for (size_t j = 0; ok && j < k; j++)
      if (((e[j] & KP_PM_PRESENT) && !(e[j] & KP_PM_FILE)) || (e[j] & KP_PM_SWAPPED))
        __atomic_fetch_or(&bits[(i + j) / 64], 1ull << ((i + j) % 64), __ATOMIC_RELAXED);
  }
  return ok;
}

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23   /* Linux 5.14 */
#endif

bool kp_populate_write(void *p, size_t n) {
  return madvise(p, n, MADV_POPULATE_WRITE) == 0;
}

void *kp_remap(void *p, size_t old_n, size_t new_n) {
  void *q = mremap(p, old_n, new_n, MREMAP_MAYMOVE);
  return q == MAP_FAILED ? NULL : q;
}

/* Per-thread guarded region consulted by the signal handler. */
static _Thread_local struct {
  char *lo, *hi;
  kp_fault_fn fn;
  void *ctx;
} region;

static struct sigaction old_segv, old_bus;

/* On a fault inside the registered region, hands control to the trap
** function (which longjmps away). Anything else is re-raised with the
** previous disposition so real crashes still crash. */
/* Copies the general-purpose registers out of a signal context. */
static int fault_regs(void *ucv, uintptr_t *regs, int cap) {
  ucontext_t *uc = ucv;
  int n = 0;
#if defined(__x86_64__)
  for (int i = 0; i < NGREG && n < cap; i++) regs[n++] = (uintptr_t)uc->uc_mcontext.gregs[i];
#elif defined(__aarch64__)
  for (int i = 0; i < 31 && n < cap; i++) regs[n++] = (uintptr_t)uc->uc_mcontext.regs[i];
#else
  (void)uc; (void)regs; (void)cap;
#endif
  return n;
}

/* The faulting instruction's address in a signal context (0: unknown). */
static uintptr_t fault_pc(void *ucv) {
  ucontext_t *uc = ucv;
#if defined(__x86_64__)
  return (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
#elif defined(__aarch64__)
  return (uintptr_t)uc->uc_mcontext.pc;
#else
  (void)uc;
  return 0;
#endif
}

/* The SIGSEGV/SIGBUS handler (see fault_regs and the region above). */
static void on_fault(int sig, siginfo_t *si, void *uc) {
  char *a = si->si_addr;
  if (region.fn && a >= region.lo && a < region.hi) {
    uintptr_t regs[32];
    int n = fault_regs(uc, regs, 32);
    region.fn(region.ctx, a, regs, n, fault_pc(uc));
  }
  struct sigaction *old = sig == SIGSEGV ? &old_segv : &old_bus;
  sigaction(sig, old, NULL);
  (void)uc;
}

/* Installs the fault handler once per process, on an alternate stack. */
bool kp_fault_install(void) {
  static int installed;
  if (__atomic_exchange_n(&installed, 1, __ATOMIC_SEQ_CST)) return true;
  static char altstack[65536];
  stack_t ss = {.ss_sp = altstack, .ss_size = sizeof altstack, .ss_flags = 0};
  sigaltstack(&ss, NULL);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_fault;
  sa.sa_flags = SA_SIGINFO | SA_NODEFER | SA_ONSTACK;
  sigemptyset(&sa.sa_mask);
  return sigaction(SIGSEGV, &sa, &old_segv) == 0 &&
         sigaction(SIGBUS, &sa, &old_bus) == 0;
}

void kp_fault_region(void *lo, void *hi, kp_fault_fn fn, void *ctx) {
  region.lo = lo;
  region.hi = hi;
  region.fn = fn;
  region.ctx = ctx;
}

static uint64_t clock_ns(clockid_t id) {
  struct timespec ts;
  clock_gettime(id, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t kp_monotonic_ns(void) { return clock_ns(CLOCK_MONOTONIC); }
uint64_t kp_realtime_ns(void) { return clock_ns(CLOCK_REALTIME); }
uint64_t kp_process_cpu_ns(void) { return clock_ns(CLOCK_PROCESS_CPUTIME_ID); }
uint64_t kp_thread_cpu_ns(void) { return clock_ns(CLOCK_THREAD_CPUTIME_ID); }

/* Fills buf from getrandom(2), retrying short reads and EINTR. */
bool kp_random(void *buf, size_t n) {
  char *p = buf;
  while (n > 0) {
    ssize_t r = getrandom(p, n, 0);
    if (r < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    p += r;
    n -= (size_t)r;
  }
  return true;
}

bool kp_is_64bit(void) {
#if UINTPTR_MAX > 0xFFFFFFFFu
  return true;
#else
  return false;
#endif
}

/* Native code may use this thread's stack down to its end plus a margin
** (host functions and the fault handler run on the same stack); on a
** stack smaller than twice the margin, down to its middle. */
#define KP_STACK_MARGIN ((uintptr_t)256 << 10)

uintptr_t kp_stack_limit(void) {
  static __thread uintptr_t limit;
  if (limit) return limit;
  pthread_attr_t a;
  void *lo = NULL;
  size_t size = 0;
  if (pthread_getattr_np(pthread_self(), &a) == 0) {
    pthread_attr_getstack(&a, &lo, &size);
    pthread_attr_destroy(&a);
  }
  uintptr_t here = (uintptr_t)__builtin_frame_address(0);
  if (!lo || here < (uintptr_t)lo || here > (uintptr_t)lo + size)
    limit = here - ((uintptr_t)1 << 20);  /* unknown: assume 1 MiB below here */
  else
    limit = (uintptr_t)lo + (size < 2 * KP_STACK_MARGIN ? size / 2 : KP_STACK_MARGIN);
  return limit;
}
