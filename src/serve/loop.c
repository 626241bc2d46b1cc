/*
** loop.c -- the event loop (epoll + a timer heap + an eventfd for cross-thread posts).
** Owns: the fd table, timer ids and their min-heap, the post queue and the stop flag.
** Does not own: sockets or protocol state (conn.c), threads (server.c).
*/
#include "serve/loop.h"
#include "platform/platform.h"
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

typedef struct fd_entry {
  int mask;            /* 0: not watched */
  ks_file_fn fn;
  void *data;
} fd_entry;

/* A timer slot: ids are (generation << 32 | slot), so cancelling a
** reused slot with an old id finds a different generation. */
typedef struct timer_slot {
  uint32_t gen;
  uint32_t pos;        /* index in the heap, or NO_POS when free */
  uint64_t when;       /* deadline, ms */
  ks_timer_fn fn;
  void *data;
} timer_slot;

#define NO_POS UINT32_MAX

struct ks_loop {
  int ep, evfd;
  fd_entry *fds;
  size_t nfds;
  timer_slot *slots;
  size_t nslots;
  uint32_t *heap;      /* slot indexes ordered by `when` */
  size_t nheap;
  uint32_t *free_slots;
  size_t nfree;
  pthread_mutex_t post_mu;
  ks_task *post_head, *post_tail;
  atomic_bool woken;   /* an eventfd write is pending */
  atomic_bool stop;
};

uint64_t ks_now_ns(void) { return kp_monotonic_ns(); }

uint64_t ks_now_ms(void) { return ks_now_ns() / 1000000u; }

/* Runs every posted task, taken as one batch so tasks posted meanwhile
** wait for the next wakeup. */
void ks_loop_run_posted(ks_loop *l) {
  pthread_mutex_lock(&l->post_mu);
  ks_task *t = l->post_head;
  l->post_head = l->post_tail = NULL;
  pthread_mutex_unlock(&l->post_mu);
  while (t) {
    ks_task *next = t->next;
    t->fn(l, t);
    t = next;
  }
}

/* The eventfd's callback: clears the wakeup, then runs the posts. */
static void run_posts(ks_loop *l, int fd, int mask, void *data) {
  KU_UNUSED(mask); KU_UNUSED(data);
  uint64_t v;
  while (read(fd, &v, sizeof v) < 0 && errno == EINTR) {}
  atomic_store(&l->woken, false);
  ks_loop_run_posted(l);
}

ks_loop *ks_loop_new(void) {
  ks_loop *l = ku_calloc(1, sizeof *l);
  if (!l) return NULL;
  l->ep = epoll_create1(EPOLL_CLOEXEC);
  l->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  pthread_mutex_init(&l->post_mu, NULL);
  if (l->ep < 0 || l->evfd < 0 || ks_loop_watch(l, l->evfd, KS_READABLE, run_posts, NULL) < 0) {
    ks_loop_free(l);
    return NULL;
  }
  return l;
}

void ks_loop_free(ks_loop *l) {
  if (!l) return;
  if (l->ep >= 0) close(l->ep);
  if (l->evfd >= 0) close(l->evfd);
  pthread_mutex_destroy(&l->post_mu);
  ku_free(l->fds);
  ku_free(l->slots);
  ku_free(l->heap);
  ku_free(l->free_slots);
  ku_free(l);
}

/* Grows the fd table so fd indexes it. */
static bool fd_room(ks_loop *l, int fd) {
  if ((size_t)fd < l->nfds) return true;
  size_t n = l->nfds ? l->nfds : 64;
  while (n <= (size_t)fd) n *= 2;
  fd_entry *f = ku_realloc(l->fds, n * sizeof *f);
  if (!f) return false;
  memset(f + l->nfds, 0, (n - l->nfds) * sizeof *f);
  l->fds = f;
  l->nfds = n;
  return true;
}

/* epoll bits for an interest mask. */
static uint32_t ep_bits(int mask) {
  return (mask & KS_READABLE ? EPOLLIN : 0) | (mask & KS_WRITABLE ? EPOLLOUT : 0);
}

int ks_loop_watch(ks_loop *l, int fd, int mask, ks_file_fn fn, void *data) {
  assert(fd >= 0 && fn && mask);
  if (!fd_room(l, fd)) { errno = ENOMEM; return -1; }
  fd_entry *e = &l->fds[fd];
  if (e->mask != mask || !e->fn) {
    struct epoll_event ev = { .events = ep_bits(mask), .data.fd = fd };
    if (epoll_ctl(l->ep, e->fn ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, &ev) < 0) return -1;
  }
  e->mask = mask;
  e->fn = fn;
  e->data = data;
  return 0;
}

void ks_loop_unwatch(ks_loop *l, int fd) {
  if (fd < 0 || (size_t)fd >= l->nfds || !l->fds[fd].fn) return;
  epoll_ctl(l->ep, EPOLL_CTL_DEL, fd, NULL);
  memset(&l->fds[fd], 0, sizeof l->fds[fd]);
}

/* ---- timers: a binary min-heap of slot indexes ------------------------ */

static bool earlier(ks_loop *l, size_t a, size_t b) {
  return l->slots[l->heap[a]].when < l->slots[l->heap[b]].when;
}

static void heap_swap(ks_loop *l, size_t a, size_t b) {
  uint32_t t = l->heap[a];
  l->heap[a] = l->heap[b];
  l->heap[b] = t;
  l->slots[l->heap[a]].pos = (uint32_t)a;
  l->slots[l->heap[b]].pos = (uint32_t)b;
}

/* Restores heap order around index i after its deadline changed place. */
static void heap_fix(ks_loop *l, size_t i) {
  while (i > 0 && earlier(l, i, (i - 1) / 2)) {
    heap_swap(l, i, (i - 1) / 2);
    i = (i - 1) / 2;
  }
  for (;;) {
    size_t c = 2 * i + 1, m = i;
    if (c < l->nheap && earlier(l, c, m)) m = c;
    if (c + 1 < l->nheap && earlier(l, c + 1, m)) m = c + 1;
    if (m == i) return;
    heap_swap(l, i, m);
    i = m;
  }
}

/* Removes heap entry i and frees its slot (the generation moves on). */
static void heap_remove(ks_loop *l, size_t i) {
  uint32_t s = l->heap[i];
  heap_swap(l, i, l->nheap - 1);
  l->nheap--;
  if (i < l->nheap) heap_fix(l, i);
  l->slots[s].pos = NO_POS;
  l->slots[s].gen++;
  l->free_slots[l->nfree++] = s;
}

/* A free slot index, growing the slot, heap and free arrays together. */
static bool take_slot(ks_loop *l, uint32_t *out) {
  if (l->nfree == 0) {
    size_t n = l->nslots ? l->nslots * 2 : 64;
    timer_slot *s = ku_realloc(l->slots, n * sizeof *s);
    if (s) l->slots = s;
    uint32_t *h = s ? ku_realloc(l->heap, n * sizeof *h) : NULL;
    if (h) l->heap = h;
    uint32_t *f = h ? ku_realloc(l->free_slots, n * sizeof *f) : NULL;
    if (!f) return false;
    l->free_slots = f;
    for (size_t i = n; i > l->nslots; i--) {
      l->slots[i - 1] = (timer_slot){ .gen = 1, .pos = NO_POS };
      l->free_slots[l->nfree++] = (uint32_t)(i - 1);
    }
    l->nslots = n;
  }
  *out = l->free_slots[--l->nfree];
  return true;
}

uint64_t ks_timer_add(ks_loop *l, uint64_t ms, ks_timer_fn fn, void *data) {
  assert(fn);
  uint32_t s;
  if (!take_slot(l, &s)) return 0;
  timer_slot *t = &l->slots[s];
  t->when = ks_now_ms() + ms;
  t->fn = fn;
  t->data = data;
  t->pos = (uint32_t)l->nheap;
  l->heap[l->nheap++] = s;
  heap_fix(l, t->pos);
  return (uint64_t)t->gen << 32 | s;
}

bool ks_timer_cancel(ks_loop *l, uint64_t id) {
  uint32_t s = (uint32_t)id, gen = (uint32_t)(id >> 32);
  if (id == 0 || s >= l->nslots) return false;
  timer_slot *t = &l->slots[s];
  if (t->gen != gen || t->pos == NO_POS) return false;
  heap_remove(l, t->pos);
  return true;
}

/* Runs every timer whose deadline has passed, earliest first. */
static void run_timers(ks_loop *l) {
  uint64_t now = ks_now_ms();
  while (l->nheap && l->slots[l->heap[0]].when <= now && !atomic_load(&l->stop)) {
    uint32_t s = l->heap[0];
    ks_timer_fn fn = l->slots[s].fn;
    void *data = l->slots[s].data;
    uint64_t id = (uint64_t)l->slots[s].gen << 32 | s;
    heap_remove(l, 0);
    fn(l, id, data);
  }
}

/* Milliseconds epoll may sleep: until the first deadline, or forever. */
static int wait_ms(ks_loop *l) {
  if (!l->nheap) return -1;
  uint64_t now = ks_now_ms(), when = l->slots[l->heap[0]].when;
  if (when <= now) return 0;
  return when - now > 60000 ? 60000 : (int)(when - now);
}

/* Wakes the loop thread unless a wakeup is already pending. */
static void wake(ks_loop *l) {
  if (atomic_exchange(&l->woken, true)) return;
  uint64_t one = 1;
  while (write(l->evfd, &one, sizeof one) < 0 && errno == EINTR) {}
}

void ks_loop_post(ks_loop *l, ks_task *t) {
  assert(t && t->fn);
  t->next = NULL;
  pthread_mutex_lock(&l->post_mu);
  if (l->post_tail) l->post_tail->next = t;
  else l->post_head = t;
  l->post_tail = t;
  pthread_mutex_unlock(&l->post_mu);
  wake(l);
}

void ks_loop_stop(ks_loop *l) {
  atomic_store(&l->stop, true);
  uint64_t one = 1;
  while (write(l->evfd, &one, sizeof one) < 0 && errno == EINTR) {}
}

/* One batch of ready descriptors; an entry unwatched by an earlier
** callback in the same batch is skipped. */
static void run_events(ks_loop *l, struct epoll_event *ev, int n) {
  for (int i = 0; i < n && !atomic_load(&l->stop); i++) {
    int fd = ev[i].data.fd;
    if ((size_t)fd >= l->nfds || !l->fds[fd].fn) continue;
    fd_entry *e = &l->fds[fd];
    int m = 0;
    if (ev[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) m |= KS_READABLE;
    if (ev[i].events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) m |= KS_WRITABLE;
    m &= e->mask;
    if (m) e->fn(l, fd, m, e->data);
  }
}

void ks_loop_run(ks_loop *l) {
  struct epoll_event ev[256];
  while (!atomic_load(&l->stop)) {
    int n = epoll_wait(l->ep, ev, (int)KU_COUNT(ev), wait_ms(l));
    if (n < 0 && errno != EINTR) break;
    if (n > 0) run_events(l, ev, n);
    run_timers(l);
  }
}
