/*
** tests/host/test_llm_engine.c -- the LLM engine's admission queue
** (src/llm/queue.c): concurrency limit, refusal when full, deadlines,
** arrival order. Not generation (tests/llm, tests/serve/llm.sh).
*/
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#include "test.h"
#include "llm/llm.h"
#include "llm/queue.h"
#include "platform/platform.h"

static kl_queue q;

/* Waits (up to 5 s) until the queue has running and waiting requests. */
static int wait_counts(int running, int waiting) {
  for (int i = 0; i < 5000; i++) {
    int r, w;
    kl_queue_counts(&q, &r, &w);
    if (r == running && w == waiting) return 1;
    usleep(1000);
  }
  return 0;
}

static int order[8], norder;
static pthread_mutex_t order_lock = PTHREAD_MUTEX_INITIALIZER;

/* A waiter: takes a slot (no deadline), records its id, gives it back. */
static void *waiter(void *arg) {
  char err[KL_ERR_SIZE];
  if (kl_queue_enter(&q, 0, err, sizeof err) != KL_OK) return NULL;
  pthread_mutex_lock(&order_lock);
  order[norder++] = (int)(intptr_t)arg;
  pthread_mutex_unlock(&order_lock);
  kl_queue_leave(&q);
  return NULL;
}

/* Two slots taken, three wait in order, the sixth is refused at once with
** a message naming the limits; the slots pass to the waiters oldest first. */
static void queue_busy_and_order(void) {
  char err[KL_ERR_SIZE];
  kl_queue_init(&q, 2, 3);
  norder = 0;
  CHECK_INT(kl_queue_enter(&q, 0, err, sizeof err), KL_OK);
  CHECK_INT(kl_queue_enter(&q, 0, err, sizeof err), KL_OK);
  pthread_t t[3];
  for (int i = 0; i < 3; i++) {
    pthread_create(&t[i], NULL, waiter, (void *)(intptr_t)i);
    CHECK(wait_counts(2, i + 1));
  }
  uint64_t t0 = kp_monotonic_ns();
  CHECK_INT(kl_queue_enter(&q, kp_monotonic_ns() + 5000000000ull, err, sizeof err), KL_E_BUSY);
  CHECK(kp_monotonic_ns() - t0 < 1000000000ull);   /* refused at once, not at the deadline */
  CHECK_CONTAINS(err, "max_concurrent");
  CHECK_CONTAINS(err, "max_queued");
  kl_queue_leave(&q);            /* one slot: the waiters take it in turn */
  for (int i = 0; i < 3; i++) pthread_join(t[i], NULL);
  CHECK(wait_counts(1, 0));
  kl_queue_leave(&q);
  CHECK(wait_counts(0, 0));
  CHECK_INT(norder, 3);
  CHECK_INT(order[0], 0);
  CHECK_INT(order[1], 1);
  CHECK_INT(order[2], 2);
  kl_queue_destroy(&q);
}

/* A waiter whose deadline passes gives up with KL_E_TIMEOUT near it and
** leaves the queue; a deadline already past is refused before waiting. */
static void queue_deadline(void) {
  char err[KL_ERR_SIZE];
  kl_queue_init(&q, 1, 4);
  CHECK_INT(kl_queue_enter(&q, 0, err, sizeof err), KL_OK);
  uint64_t t0 = kp_monotonic_ns();
  CHECK_INT(kl_queue_enter(&q, t0 + 100000000ull, err, sizeof err), KL_E_TIMEOUT);
  uint64_t waited = kp_monotonic_ns() - t0;
  CHECK(waited >= 100000000ull && waited < 2000000000ull);
  CHECK_CONTAINS(err, "deadline");
  CHECK(wait_counts(1, 0));
  CHECK_INT(kl_queue_enter(&q, kp_monotonic_ns() - 1, err, sizeof err), KL_E_TIMEOUT);
  kl_queue_leave(&q);
  CHECK(wait_counts(0, 0));
  CHECK_INT(kl_queue_enter(&q, kp_monotonic_ns() + 1000000000ull, err, sizeof err), KL_OK);
  kl_queue_leave(&q);
  kl_queue_destroy(&q);
}

static atomic_int inside, most;

/* Many rounds of enter, hold briefly, leave; counts who is inside. */
static void *stress(void *arg) {
  char err[KL_ERR_SIZE];
  (void)arg;
  for (int i = 0; i < 200; i++) {
    if (kl_queue_enter(&q, kp_monotonic_ns() + 10000000000ull, err, sizeof err) != KL_OK) continue;
    int now = atomic_fetch_add(&inside, 1) + 1;
    int seen = atomic_load(&most);
    while (now > seen && !atomic_compare_exchange_weak(&most, &seen, now)) {}
    usleep(50);
    atomic_fetch_sub(&inside, 1);
    kl_queue_leave(&q);
  }
  return NULL;
}

/* Under contention at most max_running are ever inside, and the queue
** ends empty. */
static void queue_concurrency(void) {
  kl_queue_init(&q, 3, 16);
  atomic_store(&inside, 0);
  atomic_store(&most, 0);
  pthread_t t[8];
  for (int i = 0; i < 8; i++) pthread_create(&t[i], NULL, stress, NULL);
  for (int i = 0; i < 8; i++) pthread_join(t[i], NULL);
  CHECK(atomic_load(&most) <= 3);
  CHECK(atomic_load(&most) >= 2);
  CHECK(wait_counts(0, 0));
  kl_queue_destroy(&q);
}

int main(void) {
  RUN(queue_busy_and_order);
  RUN(queue_deadline);
  RUN(queue_concurrency);
  return t_summary();
}
