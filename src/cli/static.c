/*
** static.c -- `krait serve --playground`: the browser build (build/web,
** `make web`) served read-only under /web/, with the COOP/COEP headers that
** make its pages cross-origin isolated (input() needs SharedArrayBuffer).
** Owns path checking and content types; not the server (src/serve).
*/
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/serve_internal.h"

#define KC_STATIC_MAX (256u << 20)   /* largest file served */

/* The content type of a file name by its extension. */
static const char *kc_mime(const char *name) {
  static const char *const types[][2] = {
    { ".html", "text/html; charset=utf-8" }, { ".js", "text/javascript; charset=utf-8" },
    { ".mjs", "text/javascript; charset=utf-8" }, { ".wasm", "application/wasm" },
    { ".zip", "application/zip" }, { ".json", "application/json" },
    { ".css", "text/css; charset=utf-8" }, { ".py", "text/x-python; charset=utf-8" },
    { ".svg", "image/svg+xml" }, { ".png", "image/png" }, { ".txt", "text/plain; charset=utf-8" },
  };
  const char *dot = strrchr(name, '.');
  for (size_t i = 0; dot && i < sizeof types / sizeof types[0]; i++)
    if (!strcmp(dot, types[i][0])) return types[i][1];
  return "application/octet-stream";
}

/* Percent-decodes the n bytes at p into out (cap bytes); false when the
** result is not a safe relative path: a NUL, a backslash, a bad escape,
** or a ".." component. */
static bool kc_static_path(const char *p, size_t n, char *out, size_t cap) {
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    int c = (unsigned char)p[i];
    if (c == '%') {
      char hex[3] = { i + 2 < n ? p[i + 1] : 0, i + 2 < n ? p[i + 2] : 0, 0 };
      char *end;
      c = (int)strtol(hex, &end, 16);
      if (end != hex + 2) return false;
      i += 2;
    }
    if (c == 0 || c == '\\' || k + 1 >= cap) return false;
    out[k++] = (char)c;
  }
  out[k] = '\0';
  for (char *s = out; *s; ) {
    char *e = strchr(s, '/');
    size_t len = e ? (size_t)(e - s) : strlen(s);
    if (len == 2 && s[0] == '.' && s[1] == '.') return false;
    s += len + (e ? 1 : 0);
  }
  return true;
}

/* Reads the regular file at path (its real location inside root); NULL
** with the status to answer in *status. */
static char *kc_static_read(const char *root, const char *path, size_t *n, int *status) {
  char real[PATH_MAX];
  struct stat sb;
  size_t rn = strlen(root);
  *status = 404;
  if (!realpath(path, real) || strncmp(real, root, rn) || (real[rn] && real[rn] != '/')) return NULL;
  int fd = open(real, O_RDONLY | O_CLOEXEC);
  if (fd < 0 || fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_size > KC_STATIC_MAX) {
    if (fd >= 0) close(fd);
    return NULL;
  }
  char *buf = malloc((size_t)sb.st_size + 1);
  ssize_t got = buf ? read(fd, buf, (size_t)sb.st_size) : -1;
  close(fd);
  if (got != sb.st_size) { free(buf); *status = 500; return NULL; }
  *n = (size_t)got;
  return buf;
}

char *kc_web_root(void) {
  const char *env = getenv("KRAIT_WEB");
  char exe[PATH_MAX], dir[PATH_MAX + 16], probe[PATH_MAX + 64];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (env && *env) snprintf(dir, sizeof dir, "%s", env);
  else if (n > 0) {
    exe[n] = '\0';
    *strrchr(exe, '/') = '\0';
    snprintf(dir, sizeof dir, "%s/web", exe);
  } else return NULL;
  snprintf(probe, sizeof probe, "%s/playground/index.html", dir);
  return access(probe, R_OK) == 0 ? realpath(dir, NULL) : NULL;
}

ks_outcome kc_static_handle(const ks_request *rq, ks_response *res, void *data) {
  const kc_static *st = data;
  char rel[4096], path[PATH_MAX + 4096];
  size_t plen = strlen(st->prefix), n = 0;
  int status = 400;
  ks_response_header(res, "Cross-Origin-Opener-Policy", "same-origin");
  ks_response_header(res, "Cross-Origin-Embedder-Policy", "require-corp");
  ks_response_header(res, "Cross-Origin-Resource-Policy", "same-origin");
  ks_response_header(res, "Cache-Control", "no-cache");
  char *body = NULL;
  if (rq->path.len >= plen &&
      kc_static_path(rq->path.p + plen, rq->path.len - plen, rel, sizeof rel)) {
    size_t rl = strlen(rel);
    snprintf(path, sizeof path, "%s/%s%s", st->root, rel, !rl || rel[rl - 1] == '/' ? "index.html" : "");
    body = kc_static_read(st->root, path, &n, &status);
  }
  if (!body) {
    const char *msg = status == 404 ? "Not Found\n" : status == 400 ? "Bad Request: bad path\n"
                                                                   : "Internal Server Error\n";
    ks_response_status(res, status);
    ks_response_header(res, "Content-Type", "text/plain; charset=utf-8");
    ks_response_write(res, msg, strlen(msg));
    return KS_OK;
  }
  ks_response_header(res, "Content-Type", kc_mime(path));
  ks_response_write(res, body, n);
  free(body);
  return KS_OK;
}
