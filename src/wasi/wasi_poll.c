/*
** wasi_poll.c -- poll_oneoff: waiting on clocks and stdio readiness.
** Owns subscription decoding, the ppoll wait and event encoding; not the
** clocks' plain reads (wasi_proc.c) nor I/O on the fds.
*/
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "wasi/wasi_internal.h"
#include "util/util.h"
#include "platform/platform.h"

/* One decoded subscription. */
typedef struct kw_sub {
  uint64_t userdata;
  uint8_t type;       /* KW_EVENT_* */
  uint16_t error;     /* nonzero: reported at once, without waiting */
  uint64_t deadline;  /* clocks: kp_monotonic_ns nanoseconds */
  struct pollfd *pfd; /* fd subscriptions: their ppoll entry */
} kw_sub;

/* a + b, saturating at UINT64_MAX. */
static uint64_t kw_add_sat(uint64_t a, uint64_t b) {
  return a + b < a ? UINT64_MAX : a + b;
}

/* Decodes a clock subscription (id @16, timeout @24, flags @40) into a
** monotonic deadline. CPU-time clocks do not advance while waiting, so
** they are ENOTSUP; other ids are EINVAL. */
static void kw_sub_clock(kw_sub *s, const uint8_t *p) {
  uint32_t id = kw_get_u32(p + 16);
  uint64_t t = kw_get_u64(p + 24), now = kp_monotonic_ns();
  int abs = (p[40] & KW_SUBCLOCK_ABSTIME) != 0;
  if (id == KW_CLOCK_PROCESS_CPUTIME || id == KW_CLOCK_THREAD_CPUTIME)
    s->error = KW_ENOTSUP;
  else if (id != KW_CLOCK_REALTIME && id != KW_CLOCK_MONOTONIC)
    s->error = KW_EINVAL;
  else if (!abs)
    s->deadline = kw_add_sat(now, t);
  else if (id == KW_CLOCK_MONOTONIC)
    s->deadline = t;
  else {
    uint64_t real = kp_realtime_ns();
    s->deadline = t > real ? kw_add_sat(now, t - real) : now;
  }
}

/* Decodes all n subscriptions at in; fd ones get pollfd entries in pfds
** (*npfd counts them). Returns 0, or KW_EINVAL for an unknown tag. */
static int kw_subs_decode(kw_state *st, const uint8_t *in, uint32_t n,
                          kw_sub *subs, struct pollfd *pfds, nfds_t *npfd) {
  for (uint32_t i = 0; i < n; i++, in += KW_SUBSCRIPTION_SIZE) {
    kw_sub *s = &subs[i];
    kw_fd *f;
    s->userdata = kw_get_u64(in);
    s->type = in[8];
    if (s->type == KW_EVENT_CLOCK) {
      kw_sub_clock(s, in);
      continue;
    }
    if (s->type != KW_EVENT_FD_READ && s->type != KW_EVENT_FD_WRITE)
      return KW_EINVAL;
    f = kw_fd_get(st, kw_get_u32(in + 16));
    if (!f) {
      s->error = KW_EBADF;
      continue;
    }
    s->pfd = &pfds[(*npfd)++];
    s->pfd->fd = f->host;
    s->pfd->events = s->type == KW_EVENT_FD_READ ? POLLIN : POLLOUT;
  }
  return 0;
}

/* How long to wait: 0 if something is ready already, else until the
** earliest deadline (the call's own deadline counts too, see krait.h);
** *forever when there is no clock to wait for. */
static struct timespec kw_wait_time(const kw_sub *subs, uint32_t n,
                                    uint64_t limit, int *forever) {
  uint64_t now = kp_monotonic_ns(), first = limit ? limit : UINT64_MAX;
  struct timespec ts = { 0, 0 };
  *forever = 1;
  for (uint32_t i = 0; i < n; i++) {
    if (subs[i].error) {
      *forever = 0;
      return ts;
    }
    if (subs[i].type == KW_EVENT_CLOCK && subs[i].deadline < first)
      first = subs[i].deadline;
  }
  if (first == UINT64_MAX)
    return ts;
  *forever = 0;
  if (first > now) {
    ts.tv_sec = (time_t)((first - now) / 1000000000u);
    ts.tv_nsec = (long)((first - now) % 1000000000u);
  }
  return ts;
}

/* Bytes available to read from a ready host fd: what is left of a regular
** file, or what a pipe/tty/socket has buffered (0 if unknown). */
static uint64_t kw_readable(int host) {
  struct stat sb;
  int avail = 0;
  if (fstat(host, &sb) == 0 && S_ISREG(sb.st_mode)) {
    off_t pos = lseek(host, 0, SEEK_CUR);
    return pos >= 0 && sb.st_size > pos ? (uint64_t)(sb.st_size - pos) : 0;
  }
  return ioctl(host, FIONREAD, &avail) == 0 && avail > 0 ? (uint64_t)avail
                                                          : 0;
}

/* Writes the event for subscription s if it has fired. Returns 1 if so. */
static int kw_event(const kw_sub *s, uint64_t now, uint8_t *out) {
  short rev = s->pfd ? s->pfd->revents : 0;
  int fired = s->error || (s->type == KW_EVENT_CLOCK && s->deadline <= now)
              || rev;
  if (!fired)
    return 0;
  for (int i = 0; i < KW_EVENT_SIZE; i++)
    out[i] = 0;
  kw_put_u64(out, s->userdata);
  kw_put_u16(out + 8, rev & POLLNVAL ? KW_EBADF : s->error);
  out[10] = s->type;
  if (s->type == KW_EVENT_FD_READ && (rev & POLLIN))
    kw_put_u64(out + 16, kw_readable(s->pfd->fd));
  if (rev & POLLHUP)
    kw_put_u16(out + 24, KW_EVENT_HANGUP);
  return 1;
}

/* Waits until at least one subscription fires, then writes their events.
** EINTR and early wake-ups just recompute the wait. Returns an errno, or
** KW_PAST_DEADLINE when the call's deadline (limit) came first. */
static int kw_poll_wait(kw_sub *subs, uint32_t n, struct pollfd *pfds,
                        nfds_t npfd, uint8_t *out, uint32_t *nevents,
                        uint64_t limit) {
  for (;;) {
    int forever;
    struct timespec ts = kw_wait_time(subs, n, limit, &forever);
    uint64_t now;
    uint32_t k = 0;
    if (ppoll(pfds, npfd, forever ? NULL : &ts, NULL) < 0) {
      if (errno == EINTR)
        continue;
      return kw_errno(errno);
    }
    now = kp_monotonic_ns();
    for (uint32_t i = 0; i < n; i++)
      k += (uint32_t)kw_event(&subs[i], now, out + k * KW_EVENT_SIZE);
    if (k > 0) {
      *nevents = k;
      return 0;
    }
    if (limit && now >= limit)
      return KW_PAST_DEADLINE;
  }
}

/* poll_oneoff(in, out, nsubscriptions, nevents_ptr) -> errno. Clock
** subscriptions (relative or absolute, realtime or monotonic) and fd
** read/write readiness of the stdio fds; a bad fd is an event with EBADF. */
int kw_poll_oneoff(krait_caller *caller, void *env, krait_slot *ar) {
  kw_mem m = kw_mem_of(caller);
  uint32_t n = (uint32_t)ar[2].i32, nevents = 0;
  uint64_t insize = (uint64_t)n * KW_SUBSCRIPTION_SIZE;
  uint8_t *in = kw_span(&m, (uint32_t)ar[0].i32, insize);
  uint8_t *out = kw_span(&m, (uint32_t)ar[1].i32, (uint64_t)n * KW_EVENT_SIZE);
  uint8_t *pn = kw_span(&m, (uint32_t)ar[3].i32, 4);
  kw_sub *subs;
  struct pollfd *pfds;
  nfds_t npfd = 0;
  int e;
  if (n == 0)
    return kw_ret(ar, KW_EINVAL);
  if (!in || !out || !pn)
    return kw_ret(ar, KW_EFAULT);
  subs = ku_calloc(n, sizeof *subs);
  pfds = ku_calloc(n, sizeof *pfds);
  e = KW_ENOMEM;
  if (subs && pfds)
    e = kw_subs_decode(env, in, n, subs, pfds, &npfd);
  if (e == 0)
    e = kw_poll_wait(subs, n, pfds, npfd, out, &nevents,
                     krait_caller_deadline(caller));
  if (e == 0)
    kw_put_u32(pn, nevents);
  ku_free(subs);
  ku_free(pfds);
  if (e == KW_PAST_DEADLINE)
    return krait_caller_trap_kind(caller, KRAIT_TRAP_DEADLINE);
  return kw_ret(ar, e);
}
