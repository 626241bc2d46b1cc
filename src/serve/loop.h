/*
** loop.h -- the single-threaded event loop of `krait serve` (prefix ks_), after Redis's ae.c.
** Owns: epoll file events, one-shot millisecond timers with ids, the stop flag, posts from other threads.
** Does not own: what the descriptors are (conn.c, server.c) or any thread (server.c's workers).
*/
#ifndef KS_LOOP_H
#define KS_LOOP_H

#include "util/util.h"

typedef struct ks_loop ks_loop;

/* Interest and readiness bits of a file event. */
enum { KS_READABLE = 1, KS_WRITABLE = 2 };

/* Called on the loop thread when fd is ready; `mask` holds the ready bits
** (an error or hang-up reports both, so the owner sees it on read/write). */
typedef void (*ks_file_fn)(ks_loop *l, int fd, int mask, void *data);
/* Called once on the loop thread when a timer expires. */
typedef void (*ks_timer_fn)(ks_loop *l, uint64_t id, void *data);

/* A unit of work posted to the loop from any thread. The poster embeds it
** in its own struct (no allocation); `fn` runs on the loop thread, in the
** order of posting. */
typedef struct ks_task {
  struct ks_task *next;
  void (*fn)(ks_loop *l, struct ks_task *t);
} ks_task;

/* NULL when epoll or eventfd cannot be created. */
ks_loop *ks_loop_new(void);
/* Frees the loop; tasks still posted are dropped without running. */
void ks_loop_free(ks_loop *l);

/* Sets fd's interest to `mask` with callback fn(data); the first call adds
** fd, later calls replace mask, fn and data. -1 (errno set) on failure. */
int ks_loop_watch(ks_loop *l, int fd, int mask, ks_file_fn fn, void *data);
/* Forgets fd (call before closing it); no callback for it runs after. */
void ks_loop_unwatch(ks_loop *l, int fd);

/* Arms a one-shot timer `ms` from now; returns its id (never 0), or 0 when
** out of memory. */
uint64_t ks_timer_add(ks_loop *l, uint64_t ms, ks_timer_fn fn, void *data);
/* Cancels a pending timer; false when it already ran or never existed.
** Ids are never reused, so a stale id is harmless. */
bool ks_timer_cancel(ks_loop *l, uint64_t id);

/* Thread-safe: queues t and wakes the loop (eventfd). */
void ks_loop_post(ks_loop *l, ks_task *t);
/* Thread-safe: makes ks_loop_run return after the current iteration. */
void ks_loop_stop(ks_loop *l);
/* Runs the tasks posted so far (for the owner's cleanup after the loop
** stopped). */
void ks_loop_run_posted(ks_loop *l);
/* Dispatches events, timers and posts until ks_loop_stop. */
void ks_loop_run(ks_loop *l);

/* Monotonic clock, milliseconds and nanoseconds. */
uint64_t ks_now_ms(void);
uint64_t ks_now_ns(void);

#endif
