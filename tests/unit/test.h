/*
** tests/unit/test.h -- the unit tests' tiny assertion framework.
** Owns: CHECK macros (print `file:line: expected ...` and leave the test),
** the test runner (RUN) and the closing `N passed, N failed` line.
** Does not own: the tests (tests/unit/test_*.c files) or engine internals (tests use
** include/krait.h only).
*/
#ifndef KRAIT_TEST_H
#define KRAIT_TEST_H

#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "krait.h"

#ifndef WASM_DIR
#define WASM_DIR "build/test/unit/wasm"
#endif

static int t_failed_now;   /* the running test failed a check */
static int t_passed, t_failed;

/* How many fds the process has open (to catch a failure path that leaks
** one). */
static inline int t_open_fds(void) {
  DIR *d = opendir("/proc/self/fd");
  int n = 0;
  if (!d) return -1;
  while (readdir(d)) n++;
  closedir(d);
  return n;
}

/* Records a failed check with its location and explanation. */
static inline void t_report(const char *file, int line, const char *what) {
  printf("%s:%d: expected %s\n", file, line, what);
  fflush(stdout);
  t_failed_now = 1;
}

#define CHECK(cond)                                                      \
  do {                                                                   \
    if (!(cond)) { t_report(__FILE__, __LINE__, #cond); return; }        \
  } while (0)

#define CHECK_INT(a, b)                                                  \
  do {                                                                   \
    long long t_a = (long long)(a), t_b = (long long)(b);                \
    if (t_a != t_b) {                                                    \
      char t_m[256];                                                     \
      snprintf(t_m, sizeof t_m, "%s == %s (got %lld, want %lld)", #a, #b, \
               t_a, t_b);                                                \
      t_report(__FILE__, __LINE__, t_m);                                 \
      return;                                                            \
    }                                                                    \
  } while (0)

#define CHECK_STR(a, b)                                                  \
  do {                                                                   \
    const char *t_a = (a), *t_b = (b);                                   \
    if (!t_a || strcmp(t_a, t_b) != 0) {                                 \
      char t_m[512];                                                     \
      snprintf(t_m, sizeof t_m, "%s == \"%s\" (got \"%s\")", #a, t_b,    \
               t_a ? t_a : "(null)");                                    \
      t_report(__FILE__, __LINE__, t_m);                                 \
      return;                                                            \
    }                                                                    \
  } while (0)

/* Case-insensitive substring test. */
static inline int t_contains(const char *hay, const char *needle) {
  if (!hay) return 0;
  size_t n = strlen(needle);
  for (; *hay; hay++)
    if (strncasecmp(hay, needle, n) == 0) return 1;
  return n == 0;
}

#define CHECK_CONTAINS(hay, needle)                                      \
  do {                                                                   \
    const char *t_h = (hay);                                             \
    if (!t_contains(t_h, needle)) {                                      \
      char t_m[768];                                                     \
      snprintf(t_m, sizeof t_m, "%s to contain \"%s\" (got \"%s\")",     \
               #hay, needle, t_h ? t_h : "(null)");                      \
      t_report(__FILE__, __LINE__, t_m);                                 \
      return;                                                            \
    }                                                                    \
  } while (0)

/* Checks an error's kind, printing its message on a mismatch. */
#define CHECK_ERR(err, want_kind)                                        \
  do {                                                                   \
    if ((err).kind != (want_kind)) {                                     \
      char t_m[768];                                                     \
      snprintf(t_m, sizeof t_m, "%s.kind == %s (got %d: \"%s\")", #err,  \
               #want_kind, (int)(err).kind, (err).message);              \
      t_report(__FILE__, __LINE__, t_m);                                 \
      return;                                                            \
    }                                                                    \
  } while (0)

/* Runs one test function and prints its verdict. */
static inline void t_run(const char *name, void (*fn)(void)) {
  t_failed_now = 0;
  fn();
  if (t_failed_now) { t_failed++; printf("FAIL %s\n", name); }
  else { t_passed++; printf("ok   %s\n", name); }
  fflush(stdout);
}

#define RUN(fn) t_run(#fn, fn)

/* Prints the closing count line; returns the process exit status. */
static inline int t_summary(void) {
  printf("%d passed, %d failed\n", t_passed, t_failed);
  return t_failed ? 1 : 0;
}

/* Reads WASM_DIR/name.wasm (built from tests/unit/wat/name.wat) into a
** malloc'd buffer; returns NULL if missing. */
static inline uint8_t *t_read_wasm(const char *name, size_t *len) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s.wasm", WASM_DIR, name);
  FILE *f = fopen(path, "rb");
  if (!f) { printf("cannot open %s\n", path); return NULL; }
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t *buf = malloc(n > 0 ? (size_t)n : 1);
  if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) { free(buf); buf = NULL; }
  fclose(f);
  *len = (size_t)n;
  return buf;
}

/* An engine with the default configuration; NULL (with a message) on
** failure. */
static inline krait_engine *t_engine(void) {
  krait_config cfg;
  krait_config_default(&cfg);
  krait_error err;
  krait_engine *e = krait_engine_new(&cfg, &err);
  if (!e) printf("engine: %s\n", err.message);
  return e;
}

/* Loads a compiled test module; NULL (with a message) on failure. */
static inline krait_module *t_load(krait_engine *e, const char *name) {
  size_t len;
  uint8_t *bytes = t_read_wasm(name, &len);
  if (!bytes) return NULL;
  krait_error err;
  memset(&err, 0, sizeof err);
  krait_module *m = krait_module_new(e, bytes, len, &err);
  if (!m) printf("loading %s failed: %s\n", name, err.message);
  free(bytes);
  return m;
}

/* Looks up an exported function, or NULL. */
static inline krait_func *t_func(krait_instance *inst, const char *name) {
  krait_extern ext;
  if (krait_instance_export(inst, name, &ext) != 0) return NULL;
  return ext.kind == KRAIT_EXTERN_FUNC ? ext.of.func : NULL;
}

static inline krait_val t_i32(int32_t v) { krait_val x; x.type = KRAIT_I32; x.of.bits = 0; x.of.i32 = v; return x; }
static inline krait_val t_i64(int64_t v) { krait_val x; x.type = KRAIT_I64; x.of.i64 = v; return x; }
static inline krait_val t_f32(float v) { krait_val x; x.type = KRAIT_F32; x.of.bits = 0; x.of.f32 = v; return x; }
static inline krait_val t_f64(double v) { krait_val x; x.type = KRAIT_F64; x.of.f64 = v; return x; }

#endif
