/*
** reload.c -- `krait serve` on SIGHUP: the artifacts or krait.toml it was
** started with read again, every app booted anew and swapped in. Does not
** own the signal (src/serve), booting (boot.c) or the swap (route.c).
*/
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "deploy/deploy_internal.h"
#include "platform/platform.h"
#include "util/util.h"

struct kx_reload {
  const kx_reload_src *src;
  const km_manifest *m;          /* the one served: its apps and routes */
  kx_app_route *routes;
  int ask_fd, stop_fd;           /* eventfds: reload; end the thread */
  bool started;
  pthread_t thread;
};

/* Whether m2 has m's apps, in order, with the same routes (the server's
** routing table is fixed while it runs); else why not, into why. */
static bool kx_same_routes(const km_manifest *m, const km_manifest *m2, char *why, size_t n) {
  if (m->napps != m2->napps) {
    snprintf(why, n, "it has %d app%s, the server %d", m2->napps, m2->napps == 1 ? "" : "s", m->napps);
    return false;
  }
  for (int i = 0; i < m->napps; i++) {
    const km_app *a = &m->apps[i], *b = &m2->apps[i];
    bool same = !strcmp(a->name, b->name) && a->nroutes == b->nroutes;
    for (int k = 0; same && k < a->nroutes; k++) same = !strcmp(a->routes[k], b->routes[k]);
    if (!same) {
      snprintf(why, n, "app %d is \"%s\" with other routes than the served \"%s\"", i + 1, b->name, a->name);
      return false;
    }
  }
  return true;
}

/* Frees the first n builds of bs (none was swapped in). */
static void kx_builds_drop(kx_build **bs, int n) {
  for (int i = 0; i < n; i++) {
    ka_app_free(bs[i]->app);
    for (int k = 0; bs[i]->stores && bs[i]->stores[k]; k++) kk_close(bs[i]->stores[k]);
    ku_free(bs[i]->stores);
    ku_free(bs[i]);
  }
}

/* Boots every app of m2 (each with stores of its own, as --watch does)
** into bs; how many booted (m2->napps: all of them). */
static int kx_boot_all(const km_manifest *m2, const kx_env *env0, kx_build **bs) {
  int n = 0;
  for (; n < m2->napps; n++) {
    kx_env env = *env0;
    env.stores = kx_open_stores(m2);
    ka_app *app = env.stores ? kx_boot(m2, n, &env) : NULL;
    if (!(bs[n] = app ? kx_build_new(app, env.stores, true) : NULL)) {
      if (app) fprintf(stderr, "Error: app %s: out of memory\n", m2->apps[n].name);
      ka_app_free(app);
      for (int k = 0; env.stores && k < m2->nstores; k++) kk_close(env.stores[k]);
      ku_free(env.stores);
      break;
    }
  }
  return n;
}

/* One reload: read, check, boot, swap; on any failure the served version
** stays, and the log says why. */
static void kx_reload_once(kx_reload *r) {
  const kx_reload_src *s = r->src;
  const char *what = s->artifacts ? s->paths[0] : s->manifest;
  char err[1024] = "";
  ka_file_id ids[64];
  fprintf(stderr, "krait serve: SIGHUP: reloading %s%s\n", what, s->artifacts && s->npaths > 1 ? " and the other artifacts" : "");
  uint64_t t0 = kp_monotonic_ns();
  km_manifest *m2 = s->artifacts ? kx_artifacts_load(s->paths, s->npaths, s->trust, s->ntrust, ids, err, sizeof err)
                  : km_manifest_load(s->manifest, err, sizeof err);
  char why[512];
  if (m2 && !kx_same_routes(r->m, m2, why, sizeof why)) snprintf(err, sizeof err, "%s: %s (restart krait serve to change apps or routes)", what, why);
  char **values = m2 && !err[0] ? km_vars_resolve(m2, s->variables, err, sizeof err) : NULL;
  kx_build **bs = values ? ku_calloc((size_t)m2->napps + 1, sizeof *bs) : NULL;
  if (values && !bs) snprintf(err, sizeof err, "out of memory");
  int n = 0;
  if (bs) {
    kx_env env = *s->env;
    env.values = values;
    env.artifact_ids = s->ntrust ? ids : NULL;
    n = kx_boot_all(m2, &env, bs);
  }
  if (err[0]) fprintf(stderr, "Error: %s\n", err);
  if (bs && n == m2->napps) {
    for (int i = 0; i < n; i++) kx_route_swap(&r->routes[i], bs[i]);
    fprintf(stderr, "krait serve: reloaded in %.0f ms: new requests run the new version (requests under way "
            "finish on the old one)\n", (double)(kp_monotonic_ns() - t0) / 1e6);
  } else {
    kx_builds_drop(bs, n);
    fprintf(stderr, "krait serve: the reload failed (above); still serving the previous version\n");
  }
  ku_free(bs);
  if (values) km_vars_free(values, m2->nvars);
  km_manifest_free(m2);
}

/* The thread: one reload per wake-up (SIGHUPs that come during one are
** taken together by the next). */
static void *kx_reload_main(void *arg) {
  kx_reload *r = arg;
  for (;;) {
    struct pollfd p[2] = { { r->ask_fd, POLLIN, 0 }, { r->stop_fd, POLLIN, 0 } };
    if (poll(p, 2, -1) < 0 && errno != EINTR) break;
    if (p[1].revents) break;
    uint64_t v;
    if (p[0].revents && read(r->ask_fd, &v, sizeof v) == (ssize_t)sizeof v) kx_reload_once(r);
  }
  return NULL;
}

void kx_reload_ask(void *data) {
  kx_reload *r = data;
  uint64_t one = 1;
  if (write(r->ask_fd, &one, sizeof one) != (ssize_t)sizeof one)
    fprintf(stderr, "krait serve: SIGHUP: cannot start the reload: %s\n", strerror(errno));
}

kx_reload *kx_reload_start(const kx_reload_src *src, const km_manifest *m, kx_app_route *routes) {
  kx_reload *r = ku_calloc(1, sizeof *r);
  if (!r) {
    fprintf(stderr, "Error: krait serve: out of memory\n");
    return NULL;
  }
  *r = (kx_reload){ .src = src, .m = m, .routes = routes };
  r->ask_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  r->stop_fd = eventfd(0, EFD_CLOEXEC);
  const char *why = r->ask_fd < 0 || r->stop_fd < 0 ? strerror(errno) : NULL;
  sigset_t all, old;              /* the thread takes no signal: they are the server's (signalfd) */
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  if (!why && (errno = pthread_create(&r->thread, NULL, kx_reload_main, r)) != 0) why = strerror(errno);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  r->started = !why;
  if (why) {
    fprintf(stderr, "Error: krait serve: cannot start the reload thread: %s\n", why);
    kx_reload_stop(r);
    return NULL;
  }
  return r;
}

void kx_reload_stop(kx_reload *r) {
  if (!r) return;
  if (r->started) {
    uint64_t one = 1;
    if (write(r->stop_fd, &one, sizeof one) != sizeof one) fprintf(stderr, "krait serve: reload: %s\n", strerror(errno));
    pthread_join(r->thread, NULL);
  }
  if (r->ask_fd >= 0) close(r->ask_fd);
  if (r->stop_fd >= 0) close(r->stop_fd);
  ku_free(r);
}
