/*
** wasi_proc.c -- clocks, randomness, yielding and exiting for WASI guests.
** Owns clock_*_get, random_get, sched_yield, proc_exit and proc_raise; not
** sleeping through poll_oneoff (wasi_poll.c) nor fds.
*/
#include <errno.h>
#include <sched.h>
#include <time.h>

#include "wasi/wasi_internal.h"
#include "platform/platform.h"

/* The host clock behind a WASI clock id, or -1 for an unknown id. */
static int kw_host_clock(uint32_t id) {
  switch (id) {
  case KW_CLOCK_REALTIME: return CLOCK_REALTIME;
  case KW_CLOCK_MONOTONIC: return CLOCK_MONOTONIC;
  case KW_CLOCK_PROCESS_CPUTIME: return CLOCK_PROCESS_CPUTIME_ID;
  case KW_CLOCK_THREAD_CPUTIME: return CLOCK_THREAD_CPUTIME_ID;
  default: return -1;
  }
}

/* Reads a clock (get != 0) or its resolution into *ns. Returns an errno. */
static int kw_clock_read(uint32_t id, int get, uint64_t *ns) {
  struct timespec ts;
  int clk = kw_host_clock(id);
  if (clk < 0)
    return KW_EINVAL;
  if ((get ? clock_gettime(clk, &ts) : clock_getres(clk, &ts)) != 0)
    return kw_errno(errno);
  *ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
  return 0;
}

/* clock_res_get(id, resolution_ptr) -> errno */
int kw_clock_res_get(krait_caller *caller, void *env, krait_slot *ar) {
  kw_mem m = kw_mem_of(caller);
  uint32_t out = (uint32_t)ar[1].i32;
  uint64_t ns = 0;
  int e = kw_clock_read((uint32_t)ar[0].i32, 0, &ns);
  if (e == 0 && !kw_span(&m, out, 8))
    e = KW_EFAULT;
  return kw_ret(ar, e ? e : kw_put_u64_at(&m, out, ns));
}

/* clock_time_get(id, precision, time_ptr) -> errno. The precision hint is
** ignored: the host clock is read at full resolution. */
int kw_clock_time_get(krait_caller *caller, void *env, krait_slot *ar) {
  kw_mem m = kw_mem_of(caller);
  uint32_t out = (uint32_t)ar[2].i32;
  uint64_t ns = 0;
  int e = kw_clock_read((uint32_t)ar[0].i32, 1, &ns);
  if (e == 0 && !kw_span(&m, out, 8))
    e = KW_EFAULT;
  return kw_ret(ar, e ? e : kw_put_u64_at(&m, out, ns));
}

/* random_get(buf, buf_len) -> errno. Fills the buffer with OS entropy
** (kp_random: getrandom(2), short reads and EINTR retried). */
int kw_random_get(krait_caller *caller, void *env, krait_slot *ar) {
  kw_mem m = kw_mem_of(caller);
  uint32_t len = (uint32_t)ar[1].i32;
  uint8_t *p = kw_span(&m, (uint32_t)ar[0].i32, len);
  if (!p)
    return kw_ret(ar, KW_EFAULT);
  return kw_ret(ar, kp_random(p, len) ? 0 : kw_errno(errno));
}

/* sched_yield() -> errno */
int kw_sched_yield(krait_caller *caller, void *env, krait_slot *ar) {
  sched_yield();
  return kw_ret(ar, 0);
}

/* proc_exit(code): ends the guest; the embedder sees KRAIT_ERR_EXIT. */
int kw_proc_exit(krait_caller *caller, void *env, krait_slot *ar) {
  return krait_caller_exit(caller, ar[0].i32);
}

/* proc_raise(signal) -> errno. Gone from wasi-libc and from later WASI;
** signals are not delivered to guests here: ENOSYS. */
int kw_proc_raise(krait_caller *caller, void *env, krait_slot *ar) {
  return kw_ret(ar, KW_ENOSYS);
}
