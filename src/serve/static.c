/*
** static.c -- `krait serve --playground`: the browser build (build/web, `make web`) read-only under
** /web/, cross-origin isolated (COOP/COEP), its precompressed FILE.br/FILE.gz picked by Accept-Encoding,
** strong ETags and 304s, and / sent to the playground. Owns paths, types, negotiation; not the server.
*/
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "serve/serve.h"
#include "util/util.h"

#define KS_STATIC_MAX (256u << 20)    /* largest file served */
#define KS_STATIC_CHUNK (256u << 10)  /* read at a time */

/* A representation of a file: as it is on disk, or a precompressed
** sibling (FILE.gz, FILE.br) that make web wrote beside it. */
typedef enum ks_coding { KS_IDENTITY, KS_GZIP, KS_BR } ks_coding;
static const char *const ks_sibling[] = { "", ".gz", ".br" };
static const char *const ks_encoding[] = { NULL, "gzip", "br" };

/* The content type of a file name by its extension. */
static const char *ks_mime(const char *name) {
  static const char *const types[][2] = {
    { ".html", "text/html; charset=utf-8" }, { ".js", "text/javascript; charset=utf-8" },
    { ".mjs", "text/javascript; charset=utf-8" }, { ".wasm", "application/wasm" },
    { ".zip", "application/zip" }, { ".json", "application/json" },
    { ".css", "text/css; charset=utf-8" }, { ".py", "text/x-python; charset=utf-8" },
    { ".svg", "image/svg+xml" }, { ".png", "image/png" }, { ".txt", "text/plain; charset=utf-8" },
  };
  const char *dot = strrchr(name, '.');
  for (size_t i = 0; dot && i < KU_COUNT(types); i++)
    if (!strcmp(dot, types[i][0])) return types[i][1];
  return "application/octet-stream";
}

/* Percent-decodes the n bytes at p into out (cap bytes); false when the
** result is not a safe relative path: a NUL, a backslash, a bad escape,
** or a ".." component. */
static bool ks_static_path(const char *p, size_t n, char *out, size_t cap) {
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

/* Narrows [*s, *end) to drop spaces and tabs at both ends. */
static void ks_trim(const char **s, const char **end) {
  while (*s < *end && (**s == ' ' || **s == '\t')) (*s)++;
  while (*end > *s && ((*end)[-1] == ' ' || (*end)[-1] == '\t')) (*end)--;
}

/* The qvalue [s, end) in thousandths (RFC 9110 12.4.2: "0", "0.5",
** "1.000"), or -1 when it is malformed. */
static int ks_qvalue(const char *s, const char *end) {
  if (s == end || (*s != '0' && *s != '1')) return -1;
  int q = (*s++ - '0') * 1000, scale = 100;
  if (s == end) return q;
  if (*s++ != '.') return -1;
  for (int n = 0; s < end; n++, s++, scale /= 10) {
    if (n == 3 || *s < '0' || *s > '9') return -1;
    q += (*s - '0') * scale;
  }
  return q > 1000 ? -1 : q;
}

/* One Accept-Encoding element [s, end), "br;q=0.5": its coding in *name
** and its weight in thousandths (1000 without a q parameter, 0 when the
** q parameter is malformed: the coding is then taken as refused). */
static int ks_element(const char *s, const char *end, kh_view *name) {
  const char *semi = memchr(s, ';', (size_t)(end - s)), *ns = s, *ne = semi ? semi : end;
  ks_trim(&ns, &ne);
  *name = (kh_view){ ns, (size_t)(ne - ns), 0 };
  int q = 1000;
  while (semi) {
    const char *p = semi + 1;
    semi = memchr(p, ';', (size_t)(end - p));
    const char *pe = semi ? semi : end;
    ks_trim(&p, &pe);
    if (pe - p >= 2 && (p[0] == 'q' || p[0] == 'Q') && p[1] == '=') q = ks_qvalue(p + 2, pe);
    if (q < 0) return 0;
  }
  return q;
}

/* The weights (thousandths; 0: not acceptable) that the request's
** Accept-Encoding fields give gzip and br in w[KS_GZIP], w[KS_BR]: a
** coding's own element (its first), else that of "*", else 0 -- so
** without the field only identity is sent. x-gzip is gzip. */
static void ks_accept(const ks_request *rq, int w[3]) {
  int named[3] = { -1, -1, -1 }, star = -1;
  for (size_t i = 0; i < rq->nheaders; i++) {
    if (!kh_view_ieq(rq->headers[i].name, "accept-encoding")) continue;
    const char *s = rq->headers[i].value.p, *end = s + rq->headers[i].value.len;
    while (s < end) {
      const char *comma = memchr(s, ',', (size_t)(end - s)), *e = comma ? comma : end;
      kh_view name;
      int q = ks_element(s, e, &name);
      ks_coding c = kh_view_ieq(name, "br") ? KS_BR
                  : kh_view_ieq(name, "gzip") || kh_view_ieq(name, "x-gzip") ? KS_GZIP : KS_IDENTITY;
      if (c != KS_IDENTITY && named[c] < 0) named[c] = q;
      if (kh_view_ieq(name, "*") && star < 0) star = q;
      s = comma ? comma + 1 : end;
    }
  }
  w[KS_IDENTITY] = 0;
  for (int c = KS_GZIP; c <= KS_BR; c++) w[c] = named[c] >= 0 ? named[c] : star > 0 ? star : 0;
}

/* Whether an If-None-Match field of the request is "*" or lists etag
** (the weak comparison of RFC 9110 13.1.2: a W/ prefix is ignored). A
** malformed list is read up to where it goes wrong. */
static bool ks_none_match(const ks_request *rq, const char *etag) {
  size_t en = strlen(etag);
  for (size_t i = 0; i < rq->nheaders; i++) {
    if (!kh_view_ieq(rq->headers[i].name, "if-none-match")) continue;
    const char *s = rq->headers[i].value.p, *end = s + rq->headers[i].value.len;
    for (;;) {
      while (s < end && (*s == ' ' || *s == '\t' || *s == ',')) s++;
      if (s < end && *s == '*') return true;
      if (end - s >= 2 && s[0] == 'W' && s[1] == '/') s += 2;
      if (s >= end || *s != '"') break;
      const char *close = memchr(s + 1, '"', (size_t)(end - s - 1));
      if (!close) break;
      if ((size_t)(close + 1 - s) == en && !memcmp(s, etag, en)) return true;
      s = close + 1;
    }
  }
  return false;
}

/* Opens the file at path when its real location is inside root: its fd
** (*sb filled) for a regular file of at most KS_STATIC_MAX bytes, -2 for
** a directory, -1 otherwise. */
static int ks_static_open(const char *root, const char *path, struct stat *sb) {
  char real[PATH_MAX];
  size_t rn = strlen(root);
  if (!realpath(path, real) || strncmp(real, root, rn) || (real[rn] && real[rn] != '/')) return -1;
  if (stat(real, sb) == 0 && S_ISDIR(sb->st_mode)) return -2;
  int fd = open(real, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd >= 0 && fstat(fd, sb) == 0 && S_ISREG(sb->st_mode) && sb->st_size <= (off_t)KS_STATIC_MAX) return fd;
  if (fd >= 0) close(fd);
  return -1;
}

/* Whether a's modification time is not before b's. */
static bool ks_not_older(const struct stat *a, const struct stat *b) {
  return a->st_mtim.tv_sec != b->st_mtim.tv_sec ? a->st_mtim.tv_sec > b->st_mtim.tv_sec
                                                : a->st_mtim.tv_nsec >= b->st_mtim.tv_nsec;
}

/* Swaps the open file (*fd, *sb, at path) for the sibling the request
** accepts best (br before gzip at equal weight), when there is one inside
** root that is not older than the file; returns the coding sent. */
static ks_coding ks_pick(const ks_request *rq, const char *root, const char *path, int *fd, struct stat *sb) {
  int w[3];
  ks_accept(rq, w);
  ks_coding order[2] = { KS_BR, KS_GZIP };
  if (w[KS_GZIP] > w[KS_BR]) { order[0] = KS_GZIP; order[1] = KS_BR; }
  for (int i = 0; i < 2; i++) {
    ks_coding c = order[i];
    char alt[PATH_MAX + 8];
    struct stat asb;
    if (w[c] <= 0 || snprintf(alt, sizeof alt, "%s%s", path, ks_sibling[c]) >= (int)sizeof alt) continue;
    int afd = ks_static_open(root, alt, &asb);
    if (afd >= 0 && ks_not_older(&asb, sb)) {
      close(*fd);
      *fd = afd;
      *sb = asb;
      return c;
    }
    if (afd >= 0) close(afd);
  }
  return KS_IDENTITY;
}

/* Appends the n bytes of fd to res's body; false when they cannot all be
** read (the file changed under us) or memory runs out. */
static bool ks_static_body(int fd, size_t n, ks_response *res) {
  char *buf = ku_malloc(KS_STATIC_CHUNK);
  size_t done = 0;
  while (buf && done < n) {
    ssize_t got = read(fd, buf, n - done < KS_STATIC_CHUNK ? n - done : KS_STATIC_CHUNK);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0 || ks_response_write(res, buf, (size_t)got) != 0) break;
    done += (size_t)got;
  }
  ku_free(buf);
  return done == n;
}

/* A short plain-text answer with status. */
static ks_outcome ks_static_text(ks_response *res, int status, const char *msg) {
  ks_response_status(res, status);
  ks_response_header(res, "Content-Type", "text/plain; charset=utf-8");
  ks_response_write(res, msg, strlen(msg));
  return KS_OK;
}

/* A redirect (302) to location. */
static ks_outcome ks_static_redirect(ks_response *res, const char *location) {
  char msg[PATH_MAX + 64];
  snprintf(msg, sizeof msg, "Found: %s\n", location);
  ks_response_header(res, "Location", location);
  return ks_static_text(res, 302, msg);
}

/* Whether the method is GET or HEAD; else res is a 405 naming them. */
static bool ks_static_method(const ks_request *rq, ks_response *res) {
  if (kh_view_ieq(rq->method, "GET") || kh_view_ieq(rq->method, "HEAD")) return true;
  ks_response_header(res, "Allow", "GET, HEAD");
  ks_static_text(res, 405, "Method Not Allowed: the playground is read-only (GET, HEAD)\n");
  return false;
}

/* Sends the open file fd (the representation coding of path): its
** validators, then 304 when the request already has it, else the bytes. */
static ks_outcome ks_static_send(const ks_request *rq, ks_response *res, const char *path, int fd,
                                 const struct stat *sb, ks_coding coding) {
  char etag[96];
  snprintf(etag, sizeof etag, "\"%llx-%llx%s%s\"", (unsigned long long)sb->st_size,
           (unsigned long long)sb->st_mtim.tv_sec * 1000000000ull + (unsigned long long)sb->st_mtim.tv_nsec,
           coding ? "-" : "", coding ? ks_encoding[coding] : "");
  ks_response_header(res, "ETag", etag);
  ks_response_header(res, "Vary", "Accept-Encoding");
  if (ks_none_match(rq, etag)) {
    ks_response_status(res, 304);
    return KS_OK;
  }
  ks_response_header(res, "Content-Type", ks_mime(path));
  if (coding) ks_response_header(res, "Content-Encoding", ks_encoding[coding]);
  if (!ks_static_body(fd, (size_t)sb->st_size, res)) {
    ks_response_reset_body(res);
    return ks_static_text(res, 500, "Internal Server Error: the file could not be read\n");
  }
  return KS_OK;
}

/* Every answer of the playground is cross-origin isolated and revalidated
** (no-cache: the names are not content-hashed, so a cache must ask, and
** the ETag makes that a 304). */
ks_outcome ks_static_handle(const ks_request *rq, ks_response *res, void *data) {
  const ks_static *st = data;
  char rel[4096], path[PATH_MAX + 4096];
  size_t plen = strlen(st->prefix);
  ks_response_header(res, "Cross-Origin-Opener-Policy", "same-origin");
  ks_response_header(res, "Cross-Origin-Embedder-Policy", "require-corp");
  ks_response_header(res, "Cross-Origin-Resource-Policy", "same-origin");
  ks_response_header(res, "Cache-Control", "no-cache");
  if (!ks_static_method(rq, res)) return KS_OK;
  if (rq->path.len < plen || !ks_static_path(rq->path.p + plen, rq->path.len - plen, rel, sizeof rel))
    return ks_static_text(res, 400, "Bad Request: bad path\n");
  size_t rl = strlen(rel);
  bool slash = !rl || rel[rl - 1] == '/';
  snprintf(path, sizeof path, "%s/%s%s", st->root, rel, slash ? "index.html" : "");
  struct stat sb;
  int fd = ks_static_open(st->root, path, &sb);
  if (fd == -2 && !slash) {   /* a directory: its index.html is at DIR/ */
    snprintf(path, sizeof path, "%.*s/", (int)rq->path.len, rq->path.p);
    return ks_static_redirect(res, path);
  }
  if (fd < 0) return ks_static_text(res, 404, "Not Found\n");
  ks_coding coding = ks_pick(rq, st->root, path, &fd, &sb);
  ks_outcome out = ks_static_send(rq, res, path, fd, &sb, coding);
  close(fd);
  return out;
}

/* `/` when no app has it: a redirect to the playground. */
static ks_outcome ks_static_root(const ks_request *rq, ks_response *res, void *data) {
  const ks_static *st = data;
  char location[256];
  if (!ks_static_method(rq, res)) return KS_OK;
  snprintf(location, sizeof location, "%s/playground/", st->prefix);
  return ks_static_redirect(res, location);
}

int ks_static_routes(ks_route *routes, int n, ks_static *web) {
  bool root_taken = false;
  for (int i = 0; i < n; i++) root_taken |= !strcmp(routes[i].path, "/") || !strcmp(routes[i].path, "/...");
  routes[n++] = (ks_route){ "/web/...", ks_static_handle, web, NULL, false };
  if (!root_taken) routes[n++] = (ks_route){ "/", ks_static_root, web, NULL, false };
  return n;
}
