/*
** pool.c -- the fixed thread pool of the matrix kernels (kl_pool): n - 1
** workers that spin briefly on a job counter, then sleep on a condition
** variable, so back-to-back jobs start fast. Not the jobs (quant_mat.c).
*/
#include "llm/llm_internal.h"
#include "platform/platform.h"
#include "platform/simd.h"
#include "util/util.h"

#include <pthread.h>
#include <stdatomic.h>

/* How long an idle thread polls before sleeping: a token's matvecs follow
** each other within microseconds, a request's end leaves it asleep. */
#define SPIN_NS 200000
#define POOL_MAX 256

typedef struct worker {
  kl_pool *p;
  int index;
} worker;

struct kl_pool {
  int n;
  int started;                    /* workers running */
  pthread_t *threads;
  worker *workers;
  pthread_mutex_t run;            /* one job at a time */
  pthread_mutex_t mu;             /* guards the sleeps below */
  pthread_cond_t wake;            /* workers: a new job or stop */
  pthread_cond_t done;            /* the caller: the last worker finished */
  void (*fn)(void *arg, int i, int n);
  void *arg;
  _Atomic uint32_t gen;           /* bumped once per job */
  _Atomic int pending;            /* workers still in the current job */
  _Atomic int sleepers;           /* workers waiting on wake */
  _Atomic int caller_sleeps;      /* the caller waits on done */
  _Atomic int stop;
};

/* Polls until *gen differs from seen (or stop) for SPIN_NS, then sleeps on
** wake. The sleepers count is raised before the last check under mu, so a
** publisher that bumps gen and then reads sleepers == 0 is one the check
** below sees (both sequentially consistent). */
static uint32_t wait_job(kl_pool *p, uint32_t seen) {
  uint64_t t0 = kp_monotonic_ns();
  for (int i = 0;; i++) {
    uint32_t g = atomic_load(&p->gen);
    if (g != seen || atomic_load(&p->stop)) return g;
    if ((i & 63) == 63 && kp_monotonic_ns() - t0 > SPIN_NS) break;
    kp_cpu_relax();
  }
  pthread_mutex_lock(&p->mu);
  atomic_fetch_add(&p->sleepers, 1);
  while (atomic_load(&p->gen) == seen && !atomic_load(&p->stop))
    pthread_cond_wait(&p->wake, &p->mu);
  atomic_fetch_sub(&p->sleepers, 1);
  pthread_mutex_unlock(&p->mu);
  return atomic_load(&p->gen);
}

/* A worker: runs its share of each job, the last one out wakes the caller
** if it went to sleep. */
static void *worker_main(void *arg) {
  worker *w = arg;
  kl_pool *p = w->p;
  uint32_t seen = 0;
  for (;;) {
    seen = wait_job(p, seen);
    if (atomic_load(&p->stop)) return NULL;
    p->fn(p->arg, w->index, p->n);
    if (atomic_fetch_sub(&p->pending, 1) == 1 && atomic_load(&p->caller_sleeps)) {
      pthread_mutex_lock(&p->mu);
      pthread_cond_broadcast(&p->done);
      pthread_mutex_unlock(&p->mu);
    }
  }
}

/* The caller's wait for pending == 0: the same spin, then sleep. */
static void wait_done(kl_pool *p) {
  uint64_t t0 = kp_monotonic_ns();
  for (int i = 0;; i++) {
    if (atomic_load(&p->pending) == 0) return;
    if ((i & 63) == 63 && kp_monotonic_ns() - t0 > SPIN_NS) break;
    kp_cpu_relax();
  }
  pthread_mutex_lock(&p->mu);
  atomic_store(&p->caller_sleeps, 1);
  while (atomic_load(&p->pending) != 0) pthread_cond_wait(&p->done, &p->mu);
  atomic_store(&p->caller_sleeps, 0);
  pthread_mutex_unlock(&p->mu);
}

/* Stops and joins the started workers. */
static void stop_workers(kl_pool *p) {
  pthread_mutex_lock(&p->mu);
  atomic_store(&p->stop, 1);
  pthread_cond_broadcast(&p->wake);
  pthread_mutex_unlock(&p->mu);
  for (int i = 0; i < p->started; i++) pthread_join(p->threads[i], NULL);
  p->started = 0;
}

/* Allocates and starts; NULL when memory or a thread cannot be had. */
kl_pool *kl_pool_new(int n) {
  if (n < 1) n = 1;
  if (n > POOL_MAX) n = POOL_MAX;
  kl_pool *p = ku_calloc(1, sizeof *p);
  if (!p) return NULL;
  p->n = n;
  pthread_mutex_init(&p->run, NULL);
  pthread_mutex_init(&p->mu, NULL);
  pthread_cond_init(&p->wake, NULL);
  pthread_cond_init(&p->done, NULL);
  if (n > 1) {
    p->threads = ku_calloc((size_t)n - 1, sizeof *p->threads);
    p->workers = ku_calloc((size_t)n - 1, sizeof *p->workers);
    if (!p->threads || !p->workers) { kl_pool_free(p); return NULL; }
  }
  for (int i = 0; i < n - 1; i++) {
    p->workers[i] = (worker){ p, i + 1 };
    if (pthread_create(&p->threads[i], NULL, worker_main, &p->workers[i]) != 0) {
      kl_pool_free(p);
      return NULL;
    }
    p->started++;
  }
  return p;
}

void kl_pool_free(kl_pool *p) {
  if (!p) return;
  stop_workers(p);
  pthread_cond_destroy(&p->done);
  pthread_cond_destroy(&p->wake);
  pthread_mutex_destroy(&p->mu);
  pthread_mutex_destroy(&p->run);
  ku_free(p->threads);
  ku_free(p->workers);
  ku_free(p);
}

int kl_pool_size(const kl_pool *p) {
  return p->n;
}

/* Publishes the job (fn and arg before the gen bump), runs share 0 here,
** waits for the others. */
void kl_pool_run(kl_pool *p, void (*fn)(void *arg, int i, int n), void *arg) {
  pthread_mutex_lock(&p->run);
  if (p->n == 1) {
    fn(arg, 0, 1);
    pthread_mutex_unlock(&p->run);
    return;
  }
  p->fn = fn;
  p->arg = arg;
  atomic_store(&p->pending, p->n - 1);
  atomic_fetch_add(&p->gen, 1);
  if (atomic_load(&p->sleepers) > 0) {
    pthread_mutex_lock(&p->mu);
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);
  }
  fn(arg, 0, p->n);
  wait_done(p);
  pthread_mutex_unlock(&p->run);
}
