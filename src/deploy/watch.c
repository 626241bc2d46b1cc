/*
** watch.c -- `krait serve --watch`: the apps' folders watched with inotify
** (no polling); after a change to a file an app's bundle would hold has
** settled, that app is rebuilt from its sources and swapped in. Does not
** own booting (boot.c) or the swap itself (route.c).
*/
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <dirent.h>
#include <time.h>
#include <unistd.h>

#include "deploy/deploy_internal.h"
#include "platform/platform.h"
#include "util/util.h"

#define KX_SETTLE_MS 200      /* quiet time after the last change */
#define KX_MAX_WATCHES 4096   /* directories watched, all apps together */
#define KX_MASK (IN_CLOSE_WRITE | IN_MODIFY | IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | \
                 IN_ATTRIB | IN_DELETE_SELF)

/* One watched directory: its watch descriptor and (real) path. */
typedef struct kx_wdir {
  int wd;
  char *path;
} kx_wdir;

struct kx_watch {
  const km_manifest *m;
  const kx_env *env;
  kx_app_route *routes;
  int ifd, stop_fd;            /* inotify; eventfd that ends the thread */
  bool started;                /* the thread runs */
  kx_wdir *dirs;
  int ndirs, full_said;
  bool *dirty;                 /* per app: changed since its last build */
  char **roots;                /* per app: its folder's real path */
  char last[4200];             /* the last changed path, for the log */
  pthread_t thread;
};

/* The ms on the monotonic clock. */
static int64_t kx_now_ms(void) { return (int64_t)(kp_monotonic_ns() / 1000000u); }

/* The watched directory of wd, or NULL. */
static kx_wdir *kx_wdir_of(kx_watch *w, int wd) {
  for (int i = 0; i < w->ndirs; i++)
    if (w->dirs[i].wd == wd) return &w->dirs[i];
  return NULL;
}

/* Watches dir and the directories below it that a bundle would walk
** into; a directory it cannot watch is reported and left out. */
static void kx_watch_tree(kx_watch *w, const char *dir, int depth) {
  if (depth > 32) return;
  if (w->ndirs == KX_MAX_WATCHES) {
    if (!w->full_said++)
      fprintf(stderr, "krait serve: --watch: over %d folders; %s and more are not watched\n", KX_MAX_WATCHES, dir);
    return;
  }
  int wd = inotify_add_watch(w->ifd, dir, KX_MASK | IN_ONLYDIR);
  if (wd >= 0 && kx_wdir_of(w, wd)) return;   /* nested app folders: watched already */
  char *copy = wd >= 0 ? ku_strdup(dir) : NULL;
  if (!copy) {
    fprintf(stderr, "krait serve: --watch: cannot watch %s: %s\n", dir, wd < 0 ? strerror(errno) : "out of memory");
    return;
  }
  w->dirs[w->ndirs++] = (kx_wdir){ wd, copy };
  DIR *d = opendir(dir);
  struct dirent *e;
  while (d && (e = readdir(d))) {
    char path[4200];
    struct stat sb;
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") || ka_bundle_skips(e->d_name)) continue;
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    if (lstat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) kx_watch_tree(w, path, depth + 1);
  }
  if (d) closedir(d);
}

/* The part of path inside app i's folder, or NULL when it is not in it. */
static const char *kx_inside(const kx_watch *w, int i, const char *path) {
  size_t n = strlen(w->roots[i]);
  return !strncmp(path, w->roots[i], n) && path[n] == '/' ? path + n + 1 : NULL;
}

/* Whether the file at path (inside app i's folder) would be in its bundle. */
static bool kx_counts(kx_watch *w, int i, const char *path) {
  kx_app_cfg c;
  bool config = kx_app_config(w->m, &w->m->apps[i], w->env, &c) == 0;
  c.cfg.app_dir = w->roots[i];   /* the real path the watched paths start with */
  bool holds = !config || ka_bundle_holds(&c.cfg, path);   /* out of memory: rebuild, which says so */
  kx_app_config_release(&c);
  return holds;
}

/* Takes one inotify event: marks dirty every app whose folder holds the
** file (folders may nest) and whose bundle would hold it (and says so),
** and watches a directory that appeared. */
static bool kx_event(kx_watch *w, const struct inotify_event *ev) {
  kx_wdir *d = kx_wdir_of(w, ev->wd);
  if (!d || !ev->len || ka_bundle_skips(ev->name)) return false;
  char path[4200];
  snprintf(path, sizeof path, "%s/%s", d->path, ev->name);
  bool counted = false;
  for (int i = 0; i < w->m->napps; i++) {
    const char *rel = kx_inside(w, i, path);
    if (!rel || !kx_counts(w, i, path)) continue;
    if (!counted && (ev->mask & (IN_CREATE | IN_MOVED_TO)) && (ev->mask & IN_ISDIR)) kx_watch_tree(w, path, 1);
    snprintf(w->last, sizeof w->last, "%s", rel);   /* the last change, named inside the folder */
    w->dirty[i] = counted = true;
  }
  return counted;
}

/* Reads the events waiting on the inotify fd: 1 when one of them counts,
** 0 when none does, -1 when reading failed. A queue overflow marks every
** app dirty. */
static int kx_read_events(kx_watch *w) {
  char buf[16384] __attribute__((aligned(__alignof__(struct inotify_event))));
  ssize_t n = read(w->ifd, buf, sizeof buf);
  if (n < 0) return errno == EAGAIN || errno == EINTR ? 0 : -1;
  int counted = 0;
  for (char *p = buf; p < buf + n;) {
    const struct inotify_event *ev = (const struct inotify_event *)p;
    if (ev->mask & IN_Q_OVERFLOW) {
      for (int i = 0; i < w->m->napps; i++) w->dirty[i] = true;
      counted = 1;
    } else if (kx_event(w, ev)) {
      counted = 1;
    }
    p += sizeof *ev + ev->len;
  }
  return counted;
}

/* Rebuilds app i from its sources with stores of its own, and swaps it in;
** a failure is logged and the last good build keeps serving. */
static void kx_rebuild(kx_watch *w, int i) {
  const char *name = w->m->apps[i].name;
  fprintf(stderr, "krait serve: %s changed: rebuilding app \"%s\"\n", w->last[0] ? w->last : "a file", name);
  kx_env env = *w->env;
  env.use_built = false;                     /* from the sources; no artifact */
  env.stores = kx_open_stores(w->m);
  ka_app *app = env.stores ? kx_boot(w->m, i, &env) : NULL;
  kx_build *b = app ? kx_build_new(app, env.stores, true) : NULL;
  if (!b) {
    if (app) fprintf(stderr, "Error: app %s: out of memory\n", name);
    ka_app_free(app);
    for (int k = 0; env.stores && k < w->m->nstores; k++) kk_close(env.stores[k]);
    ku_free(env.stores);
    fprintf(stderr, "krait serve: app \"%s\": the rebuild failed (above); still serving its last good build\n", name);
    return;
  }
  kx_route_swap(&w->routes[i], b);
  fprintf(stderr, "krait serve: app \"%s\": serving the new build (requests under way finish on the old one)\n", name);
}

/* The thread: waits for events, lets them settle, rebuilds what changed. */
static void *kx_watch_main(void *arg) {
  kx_watch *w = arg;
  int64_t last = -1;             /* when the last counted change came */
  for (;;) {
    bool any = false;
    for (int i = 0; i < w->m->napps; i++) any |= w->dirty[i];
    int wait = !any ? -1 : (int)(KX_SETTLE_MS - (kx_now_ms() - last));
    if (any && wait <= 0) {
      for (int i = 0; i < w->m->napps; i++)
        if (w->dirty[i]) { w->dirty[i] = false; kx_rebuild(w, i); }
      w->last[0] = '\0';
      continue;
    }
    struct pollfd p[2] = { { w->ifd, POLLIN, 0 }, { w->stop_fd, POLLIN, 0 } };
    if (poll(p, 2, wait) < 0 && errno != EINTR) break;
    if (p[1].revents) break;
    int counted = p[0].revents ? kx_read_events(w) : 0;
    if (counted < 0) {
      fprintf(stderr, "krait serve: --watch: cannot read inotify events: %s; no longer watching\n", strerror(errno));
      break;
    }
    if (counted) last = kx_now_ms();   /* each counted change restarts the wait */
  }
  return NULL;
}

kx_watch *kx_watch_start(const km_manifest *m, const kx_env *env, kx_app_route *routes) {
  kx_watch *w = ku_calloc(1, sizeof *w);
  if (w) {
    *w = (kx_watch){ .m = m, .env = env, .routes = routes, .ifd = -1, .stop_fd = -1 };
    w->dirs = ku_calloc(KX_MAX_WATCHES, sizeof *w->dirs);
    w->dirty = ku_calloc((size_t)m->napps + 1, sizeof *w->dirty);
    w->roots = ku_calloc((size_t)m->napps + 1, sizeof *w->roots);
    w->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    w->stop_fd = eventfd(0, EFD_CLOEXEC);
  }
  const char *why = !w || !w->dirs || !w->dirty || !w->roots ? "out of memory"
                  : w->ifd < 0 || w->stop_fd < 0 ? strerror(errno) : NULL;
  for (int i = 0; !why && i < m->napps; i++)
    if (!(w->roots[i] = ku_realpath(m->apps[i].dir))) why = "cannot resolve an app's folder";
  for (int i = 0; !why && i < m->napps; i++) kx_watch_tree(w, w->roots[i], 0);
  sigset_t all, old;              /* the thread takes no signal: SIGTERM is the server's (signalfd) */
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  if (!why && (errno = pthread_create(&w->thread, NULL, kx_watch_main, w)) != 0) why = strerror(errno);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (why) {
    fprintf(stderr, "Error: krait serve --watch: %s\n", why);
    kx_watch_stop(w);
    return NULL;
  }
  fprintf(stderr, "krait serve: watching %d folder%s of %d app%s for changes\n", w->ndirs, w->ndirs == 1 ? "" : "s",
          m->napps, m->napps == 1 ? "" : "s");
  w->started = true;
  return w;
}

void kx_watch_stop(kx_watch *w) {
  if (!w) return;
  if (w->started) {
    uint64_t one = 1;
    if (write(w->stop_fd, &one, sizeof one) != sizeof one) fprintf(stderr, "krait serve: --watch: %s\n", strerror(errno));
    pthread_join(w->thread, NULL);
  }
  for (int i = 0; w->dirs && i < w->ndirs; i++) ku_free(w->dirs[i].path);
  if (w->ifd >= 0) close(w->ifd);
  if (w->stop_fd >= 0) close(w->stop_fd);
  for (int i = 0; w->roots && i < w->m->napps; i++) ku_free(w->roots[i]);
  ku_free(w->roots);
  ku_free(w->dirs);
  ku_free(w->dirty);
  ku_free(w);
}
