/*
** queue.c -- the engine's admission queue: slots handed to waiters in
** arrival order, each waiter on its own condition variable, a full queue
** refused and a deadline honoured. Not generation (gen.c) nor models.
*/
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <time.h>

#include "llm/llm.h"
#include "llm/queue.h"
#include "platform/platform.h"

/* One waiting request: it lives on the waiter's stack. */
typedef struct kl_waiter {
  pthread_cond_t cv;
  bool granted;                /* kl_queue_leave handed it a slot */
  struct kl_waiter *next;
} kl_waiter;

void kl_queue_init(kl_queue *q, int max_running, int max_waiting) {
  pthread_mutex_init(&q->lock, NULL);
  q->max_running = max_running < 1 ? 1 : max_running;
  q->max_waiting = max_waiting < 0 ? 0 : max_waiting;
  q->running = q->waiting = 0;
  q->head = q->tail = NULL;
}

void kl_queue_destroy(kl_queue *q) { pthread_mutex_destroy(&q->lock); }

/* Unlinks w from q's waiters (it gave up). */
static void kl_queue_unlink(kl_queue *q, kl_waiter *w) {
  kl_waiter **pp = &q->head, *prev = NULL;
  while (*pp && *pp != w) { prev = *pp; pp = &(*pp)->next; }
  if (!*pp) return;
  *pp = w->next;
  if (q->tail == w) q->tail = prev;
  q->waiting--;
}

/* The absolute CLOCK_MONOTONIC time of deadline_ns (same clock as
** kp_monotonic_ns), for pthread_cond_timedwait. */
static struct timespec kl_abstime(uint64_t deadline_ns) {
  struct timespec ts = { (time_t)(deadline_ns / 1000000000u), (long)(deadline_ns % 1000000000u) };
  return ts;
}

/* Waits on w until it is granted a slot or deadline_ns passes; called and
** returns with q->lock held. KL_OK or KL_E_TIMEOUT. */
static int kl_queue_wait(kl_queue *q, kl_waiter *w, uint64_t deadline_ns) {
  struct timespec at = kl_abstime(deadline_ns);
  while (!w->granted) {
    int rc = deadline_ns ? pthread_cond_timedwait(&w->cv, &q->lock, &at) : pthread_cond_wait(&w->cv, &q->lock);
    if (rc == ETIMEDOUT && !w->granted) {
      kl_queue_unlink(q, w);
      return KL_E_TIMEOUT;
    }
  }
  return KL_OK;
}

int kl_queue_enter(kl_queue *q, uint64_t deadline_ns, char *err, size_t cap) {
  if (deadline_ns && kp_monotonic_ns() >= deadline_ns) {
    snprintf(err, cap, "the request's deadline passed before the model could run");
    return KL_E_TIMEOUT;
  }
  pthread_mutex_lock(&q->lock);
  if (q->running < q->max_running && !q->head) {
    q->running++;
    pthread_mutex_unlock(&q->lock);
    return KL_OK;
  }
  if (q->waiting >= q->max_waiting) {
    pthread_mutex_unlock(&q->lock);
    snprintf(err, cap, "the model is busy: %d requests are running and %d waiting (the [llm] "
             "max_concurrent and max_queued limits); try again later", q->max_running, q->max_waiting);
    return KL_E_BUSY;
  }
  kl_waiter w = { .granted = false, .next = NULL };
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&w.cv, &ca);
  pthread_condattr_destroy(&ca);
  if (q->tail) q->tail->next = &w;
  else q->head = &w;
  q->tail = &w;
  q->waiting++;
  int rc = kl_queue_wait(q, &w, deadline_ns);
  pthread_mutex_unlock(&q->lock);
  pthread_cond_destroy(&w.cv);
  if (rc != KL_OK)
    snprintf(err, cap, "the request's deadline passed while it waited for the model (%d requests "
             "run at once: the [llm] max_concurrent limit)", q->max_running);
  return rc;
}

void kl_queue_leave(kl_queue *q) {
  pthread_mutex_lock(&q->lock);
  kl_waiter *w = q->head;
  if (w) {                       /* the slot passes on: running stays */
    q->head = w->next;
    if (!q->head) q->tail = NULL;
    q->waiting--;
    w->granted = true;
    pthread_cond_signal(&w->cv);
  } else {
    q->running--;
  }
  pthread_mutex_unlock(&q->lock);
}

void kl_queue_counts(kl_queue *q, int *running, int *waiting) {
  pthread_mutex_lock(&q->lock);
  *running = q->running;
  *waiting = q->waiting;
  pthread_mutex_unlock(&q->lock);
}
