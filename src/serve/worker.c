/*
** worker.c -- the worker threads of `krait serve`: the apps' queues, their caps, and long requests demoted.
** Owns: ks_enqueue, the threads' slots, round-robin turns between apps, the per-app in-flight cap, a lower priority for requests past KS_DEMOTE_MS.
** Does not own: what a job is or where its answer goes (conn.c), routing (server.c), the handlers.
*/
#include "serve/serve_internal.h"
#include <errno.h>
#include <sys/resource.h>
#include <unistd.h>

#define KS_DEMOTE_MS 50   /* a request running longer yields to the others */
#define WATCH_MS 20       /* how often the loop looks for such requests */
#define KS_DEMOTE_NICE 10 /* its worker's nice value then: this much more than the server's */

static void *worker_main(void *arg);

/* The next job a worker may run (under qmu): apps take turns (round
** robin), and an app with app_cap requests running waits, so a stuck app
** cannot hold every worker. NULL when nothing may run now. */
static ks_job *take_job(ks_server *s) {
  for (size_t k = 0; k < s->ngroups; k++) {
    ks_group *g = &s->groups[(s->rr + k) % s->ngroups];
    if (!g->head || g->running >= s->app_cap) continue;
    s->rr = (s->rr + k + 1) % s->ngroups;
    ks_job *j = g->head;
    g->head = j->qnext;
    if (!g->head) g->tail = NULL;
    g->waiting--;
    g->running++;
    s->qlen--;
    return j;
  }
  return NULL;
}

/* A job's app has a running slot free again: a waiting job of it may run
** (after the stop, every worker looks whether it is done). */
static void release_job(ks_server *s, ks_job *job) {
  pthread_mutex_lock(&s->qmu);
  job->group->running--;
  if (s->qstop) pthread_cond_broadcast(&s->qcv);
  else if (job->group->waiting) pthread_cond_signal(&s->qcv);
  pthread_mutex_unlock(&s->qmu);
}

/* The loop's side of a retired worker: a new thread for its slot, at the
** loop's (normal) priority; none once the workers are stopping. */
static void on_spawn(ks_loop *l, ks_task *t) {
  KU_UNUSED(l);
  ks_worker *w = (ks_worker *)t;
  ks_server *s = w->srv;
  pthread_mutex_lock(&s->qmu);
  atomic_store(&w->demoted, false);
  if (!s->qstop && w->state == KS_W_RETIRED && pthread_create(&w->th, NULL, worker_main, w) == 0)
    w->state = KS_W_RUNNING;
  pthread_mutex_unlock(&s->qmu);
}

/* After a demoted request: the thread leaves its slot to a fresh one (a
** thread inherits its creator's nice value, and an unprivileged one cannot
** lower it again, so the loop makes it). The post happens under qmu, so
** the stop either sees the slot retired with its post queued, or comes
** first and the thread works on, demoted. True when it must exit. */
static bool retire(ks_worker *w) {
  ks_server *s = w->srv;
  pthread_mutex_lock(&s->qmu);
  bool go = !s->qstop;
  if (go) {
    w->state = KS_W_RETIRED;
    pthread_detach(pthread_self());
    w->spawn.fn = on_spawn;
    ks_loop_post(s->loop, &w->spawn);
  }
  pthread_mutex_unlock(&s->qmu);
  return go;
}

/* Takes jobs until the queue is stopped and empty; each answer is posted
** back to the loop. A handler's unknown outcome counts as a trap. */
static void *worker_main(void *arg) {
  ks_worker *w = arg;
  ks_server *s = w->srv;
  atomic_store(&w->tid, (int)gettid());
  for (;;) {
    pthread_mutex_lock(&s->qmu);
    ks_job *job;
    while (!(job = take_job(s)) && !(s->qstop && !s->qlen)) pthread_cond_wait(&s->qcv, &s->qmu);
    pthread_mutex_unlock(&s->qmu);
    if (!job) return NULL;
    atomic_store(&w->busy_since, ks_now_ns());
    ks_outcome o = job->route->fn(&job->req, &job->res, job->route->data);
    atomic_store(&w->busy_since, 0);
    job->outcome = o == KS_OK || o == KS_TIMEOUT ? o : KS_TRAP;
    release_job(s, job);
    job->task.fn = ks_conn_done;
    ks_loop_post(s->loop, &job->task);
    if (atomic_load(&w->demoted) && retire(w)) return NULL;
  }
}

/* Every WATCH_MS while requests run or wait: a worker whose request has
** run KS_DEMOTE_MS drops to nice KS_DEMOTE_NICE, so a stuck or heavy
** request gets about a tenth of a core that short requests (and the loop)
** want, and all of an idle one. Nice values weigh threads against each
** other within the process's scheduling group (its systemd service or
** container cgroup, or its session's autogroup), so other programs are
** not favoured over it in the usual deployments. */
static void on_watch(ks_loop *l, uint64_t id, void *data) {
  KU_UNUSED(id);
  ks_server *s = data;
  s->watch_timer = 0;
  uint64_t now = ks_now_ns();
  bool busy = false;
  for (int i = 0; i < s->nthreads; i++) {
    ks_worker *w = &s->workers[i];
    uint64_t since = atomic_load(&w->busy_since);
    if (!since) continue;
    busy = true;
    if (since < now && now - since >= KS_DEMOTE_MS * 1000000ull && !atomic_load(&w->demoted)) {
      setpriority(PRIO_PROCESS, (id_t)atomic_load(&w->tid), s->demote_nice);   /* Linux: one thread */
      atomic_store(&w->demoted, true);
    }
  }
  pthread_mutex_lock(&s->qmu);
  busy = busy || s->qlen;
  pthread_mutex_unlock(&s->qmu);
  if (busy) s->watch_timer = ks_timer_add(l, WATCH_MS, on_watch, s);
}

const char *ks_enqueue(ks_server *s, ks_job *job) {
  ks_group *g = job->group;
  const char *full = NULL;
  pthread_mutex_lock(&s->qmu);
  if (s->qlen >= s->cfg.queue_max) full = "Service Unavailable: too many requests waiting\n";
  else if (g->waiting >= s->app_queue) full = "Service Unavailable: too many requests waiting for this app\n";
  else {
    job->qnext = NULL;
    if (g->tail) g->tail->qnext = job; else g->head = job;
    g->tail = job;
    g->waiting++;
    s->qlen++;
    if (g->running < s->app_cap) pthread_cond_signal(&s->qcv);
  }
  pthread_mutex_unlock(&s->qmu);
  if (!full && !s->watch_timer) s->watch_timer = ks_timer_add(s->loop, WATCH_MS, on_watch, s);
  return full;
}

/* The default number of workers: four per core, at least 8. Instances
** are cheap and a request may spend most of its time waiting (sleeps, KV,
** a stuck app until its time limit), so more threads than cores keep the
** other apps served; CPU-bound throughput stays the same (see
** docs/SECURITY.md for the measurements). */
static long default_workers(void) {
  long cores = sysconf(_SC_NPROCESSORS_ONLN);
  return cores * 4 > 8 ? cores * 4 : 8;
}

/* Starts the worker threads; false when none could start. Sets each app's
** caps: with more than one app, half the workers and half the queue. */
bool ks_workers_start(ks_server *s) {
  long n = s->cfg.workers > 0 ? s->cfg.workers : default_workers();
  errno = 0;
  int base = getpriority(PRIO_PROCESS, 0);   /* this thread's: the workers' and the loop's */
  if (errno) base = 0;
  s->demote_nice = base + KS_DEMOTE_NICE < 19 ? base + KS_DEMOTE_NICE : 19;
  s->workers = ku_calloc((size_t)n, sizeof *s->workers);
  if (!s->workers) return false;
  pthread_mutex_lock(&s->qmu);
  for (long i = 0; i < n; i++) {
    ks_worker *w = &s->workers[s->nthreads];
    w->srv = s;
    if (pthread_create(&w->th, NULL, worker_main, w) != 0) break;
    w->state = KS_W_RUNNING;
    s->nthreads++;
  }
  size_t nw = (size_t)s->nthreads, several = s->ngroups > 1;
  s->app_cap = s->cfg.app_max_inflight ? s->cfg.app_max_inflight : several && nw > 1 ? nw / 2 : nw;
  s->app_queue = several && s->cfg.queue_max > 1 ? s->cfg.queue_max / 2 : s->cfg.queue_max;
  pthread_cond_broadcast(&s->qcv);
  pthread_mutex_unlock(&s->qmu);
  return s->nthreads > 0;
}

void ks_workers_stop(ks_server *s) {
  pthread_mutex_lock(&s->qmu);
  s->qstop = true;
  pthread_cond_broadcast(&s->qcv);
  pthread_mutex_unlock(&s->qmu);
  for (int i = 0; i < s->nthreads; i++) {   /* no slot changes state now */
    pthread_mutex_lock(&s->qmu);
    bool running = s->workers[i].state == KS_W_RUNNING;
    pthread_mutex_unlock(&s->qmu);
    if (running) pthread_join(s->workers[i].th, NULL);
  }
  s->finished = true;
  ks_loop_run_posted(s->loop);
}
