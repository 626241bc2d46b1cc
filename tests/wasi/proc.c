/*
** tests/wasi/proc.c -- wasi-full guest: the calls that are not about files,
** made directly (args, environ, clocks, poll_oneoff, random, sched_yield,
** proc_raise, proc_exit), with their error cases. Run by tests/wasi/run.sh.
*/
#include <stdint.h>
#include <stdlib.h>

#include "wt.h"

/* proc_raise is in wasi_snapshot_preview1 but no longer in wasi-libc's
** header: imported by hand. 15 is SIGTERM in WASI's signal enum. */
__attribute__((import_module("wasi_snapshot_preview1"), import_name("proc_raise")))
int32_t wt_proc_raise(int32_t sig);
#define WT_SIGTERM 15

/* An address past the end of any 64 KiB-page memory this guest has. */
#define WT_BAD_PTR ((void *)0xfffffff0u)

/* args_sizes_get / args_get: argv[0] is the module path, NUL-terminated,
** the buffer exactly as large as reported; a bad pointer is EFAULT. */
static void check_args(void)
{
  __wasi_size_t argc = 0, size = 0;
  char *argv[4] = { 0 }, buf[512];
  wt_eq("args_sizes_get", __wasi_args_sizes_get(&argc, &size), 0);
  wt_eq("argc is 1", argc, 1);
  WT_TRUE("args buffer size fits", size > 1 && size < sizeof buf);
  wt_eq("args_get", __wasi_args_get((uint8_t **)argv, (uint8_t *)buf), 0);
  WT_TRUE("argv[0] ends in proc.wasm",
          strlen(argv[0]) + 1 == size &&
          strcmp(argv[0] + strlen(argv[0]) - 9, "proc.wasm") == 0);
  wt_eq("args_get bad buffer",
        __wasi_args_get((uint8_t **)argv, WT_BAD_PTR), __WASI_ERRNO_FAULT);
  wt_eq("args_sizes_get bad pointer",
        __wasi_args_sizes_get(WT_BAD_PTR, &size), __WASI_ERRNO_FAULT);
}

/* environ_sizes_get / environ_get: `krait run` passes no variables unless
** asked, so the environment is empty; bad pointers are EFAULT. */
static void check_environ(void)
{
  __wasi_size_t n = 99, size = 99;
  char *env[2] = { 0 }, buf[8];
  wt_eq("environ_sizes_get", __wasi_environ_sizes_get(&n, &size), 0);
  wt_eq("no variables", n, 0);
  wt_eq("no variable bytes", size, 0);
  wt_eq("environ_get", __wasi_environ_get((uint8_t **)env, (uint8_t *)buf), 0);
  wt_eq("environ_sizes_get bad pointer",
        __wasi_environ_sizes_get(&n, WT_BAD_PTR), __WASI_ERRNO_FAULT);
}

/* clock_res_get / clock_time_get for the four clocks; an unknown clock is
** EINVAL; monotonic never goes back; realtime is after 2020. */
static void check_clocks(void)
{
  __wasi_timestamp_t res = 0, t1 = 0, t2 = 0;
  for (__wasi_clockid_t id = 0; id < 4; id++) {
    char name[64];
    snprintf(name, sizeof name, "clock %u res", (unsigned)id);
    wt_eq(name, __wasi_clock_res_get(id, &res), 0);
    snprintf(name, sizeof name, "clock %u res in (0, 1s]", (unsigned)id);
    WT_TRUE(name, res > 0 && res <= 1000000000u);
    snprintf(name, sizeof name, "clock %u time", (unsigned)id);
    wt_eq(name, __wasi_clock_time_get(id, 1, &t1), 0);
  }
  wt_eq("clock_res_get unknown clock", __wasi_clock_res_get(4, &res),
        __WASI_ERRNO_INVAL);
  wt_eq("clock_time_get unknown clock", __wasi_clock_time_get(99, 1, &t1),
        __WASI_ERRNO_INVAL);
  wt_eq("clock_time_get bad pointer",
        __wasi_clock_time_get(__WASI_CLOCKID_MONOTONIC, 1, WT_BAD_PTR),
        __WASI_ERRNO_FAULT);
  __wasi_clock_time_get(__WASI_CLOCKID_MONOTONIC, 1, &t1);
  __wasi_clock_time_get(__WASI_CLOCKID_MONOTONIC, 1, &t2);
  WT_TRUE("monotonic does not go back", t2 >= t1);
  __wasi_clock_time_get(__WASI_CLOCKID_REALTIME, 1, &t1);
  WT_TRUE("realtime after 2020", t1 > 1577836800ull * 1000000000u);
}

/* A clock subscription: relative timeout ns, or absolute deadline. */
static __wasi_subscription_t clock_sub(__wasi_userdata_t ud,
                                       __wasi_clockid_t id,
                                       __wasi_timestamp_t t, int abs)
{
  __wasi_subscription_t s;
  memset(&s, 0, sizeof s);
  s.userdata = ud;
  s.u.tag = __WASI_EVENTTYPE_CLOCK;
  s.u.u.clock.id = id;
  s.u.u.clock.timeout = t;
  s.u.u.clock.flags = abs ? __WASI_SUBCLOCKFLAGS_SUBSCRIPTION_CLOCK_ABSTIME : 0;
  return s;
}

/* Monotonic nanoseconds now. */
static __wasi_timestamp_t now_ns(__wasi_clockid_t id)
{
  __wasi_timestamp_t t = 0;
  __wasi_clock_time_get(id, 1, &t);
  return t;
}

/* poll_oneoff with clocks: relative and absolute (monotonic and realtime)
** sleeps last as long as asked, a past deadline fires at once, the
** earliest of two fires first. */
static void check_poll_clocks(void)
{
  __wasi_subscription_t s[2];
  __wasi_event_t ev[2];
  __wasi_size_t n = 0;
  __wasi_timestamp_t t0 = now_ns(__WASI_CLOCKID_MONOTONIC), dt;
  s[0] = clock_sub(7, __WASI_CLOCKID_MONOTONIC, 20000000, 0);
  wt_eq("poll relative 20ms", __wasi_poll_oneoff(s, ev, 1, &n), 0);
  dt = now_ns(__WASI_CLOCKID_MONOTONIC) - t0;
  WT_TRUE("relative: slept 20ms..1s", dt >= 20000000 && dt < 1000000000);
  WT_TRUE("relative: one clock event with its userdata",
          n == 1 && ev[0].userdata == 7 && ev[0].error == 0 &&
          ev[0].type == __WASI_EVENTTYPE_CLOCK);
  t0 = now_ns(__WASI_CLOCKID_MONOTONIC);
  s[0] = clock_sub(8, __WASI_CLOCKID_MONOTONIC, t0 + 30000000, 1);
  wt_eq("poll absolute monotonic", __wasi_poll_oneoff(s, ev, 1, &n), 0);
  dt = now_ns(__WASI_CLOCKID_MONOTONIC) - t0;
  WT_TRUE("absolute monotonic: slept 30ms..1s", dt >= 30000000 && dt < 1000000000);
  t0 = now_ns(__WASI_CLOCKID_MONOTONIC);
  s[0] = clock_sub(9, __WASI_CLOCKID_REALTIME,
                   now_ns(__WASI_CLOCKID_REALTIME) + 20000000, 1);
  wt_eq("poll absolute realtime", __wasi_poll_oneoff(s, ev, 1, &n), 0);
  dt = now_ns(__WASI_CLOCKID_MONOTONIC) - t0;
  WT_TRUE("absolute realtime: slept 20ms..1s", dt >= 19000000 && dt < 1000000000);
  t0 = now_ns(__WASI_CLOCKID_MONOTONIC);
  s[0] = clock_sub(10, __WASI_CLOCKID_MONOTONIC, 1, 1);  /* long past */
  wt_eq("poll past deadline", __wasi_poll_oneoff(s, ev, 1, &n), 0);
  WT_TRUE("past deadline: at once",
          now_ns(__WASI_CLOCKID_MONOTONIC) - t0 < 100000000 && n == 1);
  s[0] = clock_sub(11, __WASI_CLOCKID_MONOTONIC, 5000000000ull, 0);
  s[1] = clock_sub(12, __WASI_CLOCKID_MONOTONIC, 10000000, 0);
  wt_eq("poll two clocks", __wasi_poll_oneoff(s, ev, 2, &n), 0);
  WT_TRUE("two clocks: the earlier fires", n == 1 && ev[0].userdata == 12);
}

/* poll_oneoff errors and fd subscriptions: no subscriptions is EINVAL, bad
** pointers EFAULT, an unknown clock or fd is reported in the event; a
** regular file is ready to read at once. */
static void check_poll_errors(void)
{
  __wasi_subscription_t s[2];
  __wasi_event_t ev[2];
  __wasi_size_t n = 0;
  __wasi_fd_t fd;
  wt_eq("poll no subscriptions", __wasi_poll_oneoff(s, ev, 0, &n),
        __WASI_ERRNO_INVAL);
  s[0] = clock_sub(1, __WASI_CLOCKID_MONOTONIC, 1, 0);
  wt_eq("poll bad events pointer", __wasi_poll_oneoff(s, WT_BAD_PTR, 1, &n),
        __WASI_ERRNO_FAULT);
  s[0] = clock_sub(2, 77, 1000, 0);
  wt_eq("poll unknown clock", __wasi_poll_oneoff(s, ev, 1, &n), 0);
  WT_TRUE("unknown clock: EINVAL in the event",
          n == 1 && ev[0].error == __WASI_ERRNO_INVAL);
  memset(s, 0, sizeof s);
  s[0].userdata = 3;
  s[0].u.tag = __WASI_EVENTTYPE_FD_READ;
  s[0].u.u.fd_read.file_descriptor = 999;
  wt_eq("poll bad fd", __wasi_poll_oneoff(s, ev, 1, &n), 0);
  WT_TRUE("bad fd: EBADF in the event",
          n == 1 && ev[0].userdata == 3 && ev[0].error == __WASI_ERRNO_BADF);
  if (wt_open(3, "inside.txt", 0, 0, WT_RD | __WASI_RIGHTS_POLL_FD_READWRITE,
              0, &fd) != 0) {
    wt_eq("open inside.txt for poll", 1, 0);
    return;
  }
  s[0].userdata = 4;
  s[0].u.u.fd_read.file_descriptor = fd;
  s[1] = clock_sub(5, __WASI_CLOCKID_MONOTONIC, 2000000000ull, 0);
  wt_eq("poll file + clock", __wasi_poll_oneoff(s, ev, 2, &n), 0);
  WT_TRUE("file: readable at once, with bytes available",
          n >= 1 && ev[0].userdata == 4 && ev[0].error == 0 &&
          ev[0].type == __WASI_EVENTTYPE_FD_READ && ev[0].fd_readwrite.nbytes > 0);
  __wasi_fd_close(fd);
}

/* random_get fills the buffer (two draws differ), accepts length 0, and
** refuses a buffer past memory's end. */
static void check_random(void)
{
  uint8_t a[32], b[32];
  memset(a, 0, sizeof a);
  memset(b, 0, sizeof b);
  wt_eq("random_get", __wasi_random_get(a, sizeof a), 0);
  wt_eq("random_get again", __wasi_random_get(b, sizeof b), 0);
  WT_TRUE("two draws differ", memcmp(a, b, sizeof a) != 0);
  wt_eq("random_get empty", __wasi_random_get(a, 0), 0);
  wt_eq("random_get bad buffer", __wasi_random_get(WT_BAD_PTR, 64),
        __WASI_ERRNO_FAULT);
}

int main(void)
{
  check_args();
  check_environ();
  check_clocks();
  check_poll_clocks();
  check_poll_errors();
  check_random();
  wt_eq("sched_yield", __wasi_sched_yield(), 0);
  /* krait delivers no signals to a guest: proc_raise is unsupported */
  wt_eq("proc_raise", wt_proc_raise(WT_SIGTERM), __WASI_ERRNO_NOSYS);
  printf("%d passed, %d failed\n", wt_pass, wt_fail);
  fflush(stdout);
  __wasi_proc_exit(wt_fail ? 1 : 0);  /* run.sh checks the status */
}
