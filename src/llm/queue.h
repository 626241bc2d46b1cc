/*
** queue.h -- the engine's admission queue (kl_queue_*): at most max_running
** requests hold a slot, at most max_waiting wait for one in arrival order,
** more are refused at once. Not what a slot runs (engine.c).
*/
#ifndef KL_QUEUE_H
#define KL_QUEUE_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

struct kl_waiter;

typedef struct kl_queue {
  pthread_mutex_t lock;
  int max_running, max_waiting;
  int running, waiting;
  struct kl_waiter *head, *tail;   /* the waiters, oldest first */
} kl_queue;

/* An empty queue with its limits (each >= 1). */
void kl_queue_init(kl_queue *q, int max_running, int max_waiting);
/* No request may hold or wait for a slot. */
void kl_queue_destroy(kl_queue *q);

/* Takes a slot: KL_OK (then kl_queue_leave once done), KL_E_BUSY when
** max_waiting already wait, KL_E_TIMEOUT when deadline_ns (kp_monotonic_ns
** time; 0: none) passes first; err says which limit. */
int kl_queue_enter(kl_queue *q, uint64_t deadline_ns, char *err, size_t cap);
/* Gives the slot to the oldest waiter, or frees it. */
void kl_queue_leave(kl_queue *q);

/* How many hold a slot and wait now (for tests and metrics). */
void kl_queue_counts(kl_queue *q, int *running, int *waiting);

#endif
