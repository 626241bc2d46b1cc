/*
** tests/fuzz/fuzz_imports.c -- libFuzzer target: every "krait" host import of `krait serve`, called from a guest with adversarial arguments.
** Owns: a tiny module (made here in bytes) that wraps each import, an app with two SQLite stores, and the decoding of inputs into call sequences.
** Does not own: the imports (src/app/imports.c), the store (src/kv/) or the seeds (tests/fuzz/imports-seeds/).
*/
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app/app_internal.h"

/* The imports, their parameter counts and names (all params and results i32). */
static const struct { const char *name, *sig; } IMPORTS[] = {
#define X(name, sig) { #name, sig },
  KA_IMPORTS(X)
#undef X
};
enum { NIMP = sizeof IMPORTS / sizeof IMPORTS[0], MAX_CALLS = 48, MEM = 65536 };

/* The parameter count of import i (its signature's letters before ':'). */
static int nparams(int i) { return (int)(strchr(IMPORTS[i].sig, ':') - IMPORTS[i].sig); }

static krait_engine *engine;
static krait_module *module;
static ka_app app;

/* Aborts with a message: a finding (or a broken set-up). */
static void die(const char *what) {
  fprintf(stderr, "fuzz_imports: %s\n", what);
  abort();
}

/* ---- the module, in bytes --------------------------------------------- */

typedef struct wbuf { uint8_t b[8192]; size_t n; } wbuf;

static void byte(wbuf *w, uint8_t v) { w->b[w->n++] = v; }

/* Unsigned LEB128. */
static void uleb(wbuf *w, uint32_t v) {
  do { uint8_t b = v & 0x7f; v >>= 7; byte(w, b | (v ? 0x80 : 0)); } while (v);
}

static void name(wbuf *w, const char *s) {
  uleb(w, (uint32_t)strlen(s));
  for (; *s; s++) byte(w, (uint8_t)*s);
}

/* Appends section id with the contents of s. */
static void section(wbuf *m, uint8_t id, const wbuf *s) {
  byte(m, id);
  uleb(m, (uint32_t)s->n);
  memcpy(m->b + m->n, s->b, s->n);
  m->n += s->n;
}

/* A module with one type per import (i32^n -> i32), the imports, one
** wrapper per import that passes its parameters on ("f<i>"), and one
** exported page of memory ("memory", at most one page). */
static void make_module(wbuf *m) {
  static wbuf s;
  static const uint8_t head[] = { 0, 'a', 's', 'm', 1, 0, 0, 0 };
  memcpy(m->b, head, 8);
  m->n = 8;
  s.n = 0; uleb(&s, NIMP);
  for (int i = 0; i < NIMP; i++) {
    byte(&s, 0x60); uleb(&s, (uint32_t)nparams(i));
    for (int k = 0; k < nparams(i); k++) byte(&s, 0x7f);
    byte(&s, 1); byte(&s, 0x7f);
  }
  section(m, 1, &s);
  s.n = 0; uleb(&s, NIMP);
  for (int i = 0; i < NIMP; i++) { name(&s, "krait"); name(&s, IMPORTS[i].name); byte(&s, 0); uleb(&s, (uint32_t)i); }
  section(m, 2, &s);
  s.n = 0; uleb(&s, NIMP);
  for (int i = 0; i < NIMP; i++) uleb(&s, (uint32_t)i);
  section(m, 3, &s);
  s.n = 0; uleb(&s, 1); byte(&s, 1); uleb(&s, 1); uleb(&s, 1);
  section(m, 5, &s);
  s.n = 0; uleb(&s, NIMP + 1);
  name(&s, "memory"); byte(&s, 2); uleb(&s, 0);
  for (int i = 0; i < NIMP; i++) {
    char nm[8];
    snprintf(nm, sizeof nm, "f%d", i);
    name(&s, nm); byte(&s, 0); uleb(&s, (uint32_t)(NIMP + i));
  }
  section(m, 7, &s);
  s.n = 0; uleb(&s, NIMP);
  for (int i = 0; i < NIMP; i++) {
    int np = nparams(i);
    uleb(&s, (uint32_t)(4 + 2 * np));        /* body size: locals, gets, call, end */
    byte(&s, 0);
    for (int k = 0; k < np; k++) { byte(&s, 0x20); byte(&s, (uint8_t)k); }
    byte(&s, 0x10); byte(&s, (uint8_t)i);
    byte(&s, 0x0b);
  }
  section(m, 10, &s);
}

/* ---- the app ------------------------------------------------------------ */

/* Opens store NAME as a SQLite file in dir. */
static kk_store *open_store(const char *dir, const char *nm) {
  char path[512];
  kk_error e;
  snprintf(path, sizeof path, "%s/%s.db", dir, nm);
  kk_config c = { .backend = KK_SQLITE, .name = nm, .path = path };
  kk_store *s = kk_open(&c, &e);
  if (!s) die(e.message);
  return s;
}

/* The engine, the module and an app with two granted stores, a SQLite
** database (the sqlite binding of call), a variable and a config, once per
** process. */
static void setup(void) {
  static wbuf m;
  krait_error err;
  make_module(&m);
  engine = krait_engine_new(NULL, &err);
  if (!engine) die("no engine");
  module = krait_module_new(engine, m.b, m.n, &err);
  if (!module) die(err.message);
  static char dir[] = "/tmp/krait-fuzz-imports-XXXXXX";
  if (!mkdtemp(dir)) die("mkdtemp");
  static ka_grant grants[2];
  grants[0].name = "default";
  grants[0].store = open_store(dir, "default");
  grants[1].name = "other";
  grants[1].store = open_store(dir, "other");
  static ka_sqldb dbs[1];
  static char dbpath[600];
  snprintf(dbpath, sizeof dbpath, "%s/sql.sqlite", dir);
  dbs[0].name = "default";
  dbs[0].path = dbpath;
  app.sqldbs = dbs;
  app.nsqldbs = 1;
  static ka_var vars[] = { { "greeting", "hello" } };
  app.name = "fuzz";
  app.log = fopen("/dev/null", "w");
  app.grants = grants;
  app.ngrants = 2;
  app.vars = vars;
  app.nvars = 1;
  app.config_json = "{\"style\": \"spin\"}";
}

/* ---- inputs --------------------------------------------------------------- */

typedef struct rd { const uint8_t *p, *end; } rd;

static uint32_t take(rd *r, int nbytes) {
  uint32_t v = 0;
  for (int i = 0; i < nbytes; i++) v = v << 8 | (r->p < r->end ? *r->p++ : 0);
  return v;
}

/* One argument: mostly small numbers and addresses inside the page, at its
** edges or just past it, sometimes any 32-bit value. */
static uint32_t arg(rd *r) {
  switch (take(r, 1) % 8) {
  case 0: return take(r, 1);
  case 1: return take(r, 1) % 4;
  case 2: return MEM - take(r, 1) % 64;
  case 3: return MEM + take(r, 1) % 64;
  case 4: return 0xffffffffu - take(r, 1);
  case 5: return take(r, 4);
  default: return take(r, 2);
  }
}

/* Calls export f<i> with args; traps (host out of memory) are allowed. */
static void call(krait_store *st, krait_instance *in, int i, const uint32_t *args) {
  char nm[8];
  krait_extern ext;
  krait_val a[8], res;
  krait_error err;
  snprintf(nm, sizeof nm, "f%d", i);
  if (krait_instance_export(in, nm, &ext) != 0) die("missing export");
  for (int k = 0; k < nparams(i); k++) { a[k].type = KRAIT_I32; a[k].of.i32 = (int32_t)args[k]; }
  krait_func_call(st, ext.of.func, a, (size_t)nparams(i), &res, 1, &err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n) {
  if (!engine) setup();
  rd r = { data, data + n };
  uint32_t mode = take(&r, 1);
  static const ka_header hdrs[] = { { "host", "x", 4, 1 }, { "x-a", "b", 3, 1 } };
  ka_request req = { "POST", "/path?q=1", hdrs, 2, (const uint8_t *)"body", 4, NULL, 0 };
  ka_response resp;
  memset(&resp, 0, sizeof resp);
  ka_ctx ctx = { .app = &app, .req = (mode & 1) ? NULL : &req, .resp = &resp };   /* odd: at boot */
  krait_store *st = krait_store_new(engine);
  krait_linker *l = st ? krait_linker_new(st) : NULL;
  krait_error err;
  if (!l) die("no store");
  krait_store_set_data(st, &ctx);
  if (ka_define_imports(l, &app) != 0) die("cannot define the imports");
  krait_instance *in = krait_instantiate(l, module, &err);
  if (!in) die(err.message);
  krait_extern mem;
  if (krait_instance_export(in, "memory", &mem) != 0) die("no memory");
  /* the page holds the input itself, so pointers land on chosen bytes */
  memcpy(krait_memory_data(mem.of.memory), data, n < MEM ? n : MEM);
  for (int c = 0; c < MAX_CALLS && r.p < r.end; c++) {
    int i = (int)(take(&r, 1) % NIMP);
    uint32_t args[8];
    for (int k = 0; k < nparams(i); k++) args[k] = arg(&r);
    call(st, in, i, args);
  }
  ka_bindings_end(&ctx);
  ka_response_free(&resp);
  krait_linker_free(l);
  krait_store_free(st);
  return 0;
}
