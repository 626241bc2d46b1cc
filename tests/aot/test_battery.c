/*
** tests/aot/test_battery.c -- the AOT tier's sandbox battery, in one
** process through the C API: out-of-bounds at both edges of memory and
** near 4 GiB, call_indirect's three traps, deep recursion (big native
** frames, mutual, indirect, through the host, on a small thread stack),
** memory.grow past the maximum and past the store's cap, fuel running
** out at the interpreter's instruction and surviving traps, each in both
** bounds modes; then the cache: objects with one byte flipped (code,
** trailer, embedded key), re-signed forgeries and another module's object
** under a module's key. Each ends in a clean trap with the interpreter's
** message, or the object is rebuilt or refused; a normal call follows.
** KT_ONLY=WORD runs only the trap tests whose name holds WORD.
** Does not own: the CLI's view of the cache (tests/aot/cache.sh).
*/
#define _GNU_SOURCE
#include "test.h"
#include "krait_host.h"
#include <dirent.h>
#include <ftw.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- one instance of a module under a tier ------------------------------ */

typedef struct run {
  krait_engine *e;
  krait_module *m;
  krait_store *s;
  krait_linker *l;
  krait_instance *in;
} run;

/* The host import host.reenter(n): calls export reenter_wasm(n + 1) of
** the instance again (wasm -> host -> wasm ... until the stack runs out)
** and passes a trap on with its kind. */
static int host_reenter(krait_caller *c, void *env, krait_slot *ar) {
  run *r = env;
  krait_val arg = t_i32(ar[0].i32 + 1), res;
  krait_error err;
  if (krait_func_call(r->s, t_func(r->in, "reenter_wasm"), &arg, 1, &res, 1, &err) != 0)
    return err.kind == KRAIT_ERR_TRAP && err.trap != KRAIT_TRAP_HOST
               ? krait_caller_trap_kind(c, err.trap) : krait_caller_trap(c, "%s", err.message);
  ar[0].i32 = res.of.i32;
  return 0;
}

/* Makes an engine of tier and bounds, a module from bytes (or WASM_DIR/
** name.wasm when bytes is NULL) and an instance in a store capped at
** max_mem bytes (0: no cap). false, with a message, on failure. */
static bool run_open(run *r, krait_tier tier, krait_bounds b, const char *name,
                     const uint8_t *bytes, size_t len, uint64_t max_mem) {
  krait_config cfg;
  krait_error err;
  memset(r, 0, sizeof *r);
  krait_config_default(&cfg);
  cfg.tier = tier;
  cfg.bounds = b;
  r->e = krait_engine_new(&cfg, &err);
  if (!r->e) { printf("engine: %s\n", err.message); return false; }
  if (bytes) {
    r->m = krait_module_new(r->e, bytes, len, &err);
    if (!r->m) printf("module: %s\n", err.message);
  } else {
    r->m = t_load(r->e, name);
  }
  if (!r->m) return false;
  r->s = krait_store_new(r->e);
  if (max_mem) krait_store_set_max_memory(r->s, max_mem);
  r->l = krait_linker_new(r->s);
  krait_linker_define_func(r->l, "host", "reenter", "i:i", host_reenter, r);
  r->in = krait_instantiate(r->l, r->m, &err);
  if (!r->in) printf("instantiate: %s\n", err.message);
  return r->in != NULL;
}

static void run_close(run *r) {
  if (r->l) krait_linker_free(r->l);
  if (r->s) krait_store_free(r->s);
  if (r->m) krait_module_free(r->m);
  if (r->e) krait_engine_free(r->e);
  memset(r, 0, sizeof *r);
}

/* Calls export name with i32 arguments (n of them); the result (i32 or
** i64 widened) in *out. krait_func_call's status; err filled. */
static int call(run *r, const char *name, int n, int32_t a, int32_t b, int64_t *out, krait_error *err) {
  krait_val args[2] = {t_i32(a), t_i32(b)}, res[1];
  krait_func *f = t_func(r->in, name);
  memset(err, 0, sizeof *err);
  if (!f) { snprintf(err->message, sizeof err->message, "no export %s", name); return -2; }
  const char *sig = krait_func_signature(f);
  size_t nres = strchr(sig, ':')[1] ? 1 : 0;
  int rc = krait_func_call(r->s, f, args, (size_t)n, res, nres, err);
  if (rc == 0 && out) *out = !nres ? 0 : res[0].type == KRAIT_I64 ? res[0].of.i64 : res[0].of.i32;
  return rc;
}

/* ---- the traps, each against the interpreter's message -------------------- */

static krait_bounds bounds_now;  /* the mode the trap tests run in */

/* The interpreter and the AOT tier side by side on the same module. */
typedef struct pair { run interp, aot; } pair;

static bool pair_open(pair *p, const char *name, const uint8_t *bytes, size_t len, uint64_t max_mem) {
  memset(p, 0, sizeof *p);
  return run_open(&p->interp, KRAIT_TIER_INTERP, bounds_now, name, bytes, len, max_mem) &&
         run_open(&p->aot, KRAIT_TIER_AOT, bounds_now, name, bytes, len, max_mem);
}

static void pair_close(pair *p) {
  run_close(&p->interp);
  run_close(&p->aot);
}

/* Calls name under both tiers: both must trap with kind want, the same
** message, and the message must name fn; the AOT store then still makes
** an ordinary call. Returns false (after reporting) when not so. */
static bool traps_alike(pair *p, const char *name, int n, int32_t a, int32_t b,
                        krait_trapkind want, const char *fn) {
  krait_error ei, ea;
  char where[96];
  int ri = call(&p->interp, name, n, a, b, NULL, &ei), ra = call(&p->aot, name, n, a, b, NULL, &ea);
  int64_t sum = 0;
  krait_error e2;
  snprintf(where, sizeof where, "(in function %s", fn);
  if (ri != -1 || ra != -1 || ei.kind != KRAIT_ERR_TRAP || ea.kind != KRAIT_ERR_TRAP ||
      ei.trap != want || ea.trap != want || strcmp(ei.message, ea.message) != 0 ||
      !strstr(ea.message, where) || !strstr(ea.message, krait_trap_message(want))) {
    printf("  %s(%d, %d): interp %d \"%s\", aot %d \"%s\" (want trap \"%s\" %s)\n", name, a, b, ri,
           ei.message, ra, ea.message, krait_trap_message(want), where);
    return false;
  }
  if (call(&p->aot, "add", 2, 40, 2, &sum, &e2) != 0 || sum != 42) {
    printf("  after %s: the next call failed: %s\n", name, e2.message);
    return false;
  }
  return true;
}

/* Calls name under both tiers: both must return want. */
static bool returns_alike(pair *p, const char *name, int n, int32_t a, int32_t b, int64_t want) {
  krait_error ei, ea;
  int64_t vi = -7, va = -7;
  int ri = call(&p->interp, name, n, a, b, &vi, &ei), ra = call(&p->aot, name, n, a, b, &va, &ea);
  if (ri || ra || vi != want || va != want) {
    printf("  %s(%d, %d): interp %d %lld \"%s\", aot %d %lld \"%s\" (want %lld)\n", name, a, b, ri,
           (long long)vi, ei.message, ra, (long long)va, ea.message, (long long)want);
    return false;
  }
  return true;
}

#define OOB KRAIT_TRAP_MEMORY_OOB

/* Loads and stores at the end of the one-page memory and near 4 GiB,
** addresses and offsets at run time (nothing folds). */
static void test_oob_edges(void) {
  pair p;
  bool ok = pair_open(&p, "battery", NULL, 0, 0);
  if (ok) {
    ok = returns_alike(&p, "load8", 1, 65535, 0, 42)        /* the last byte */
      && returns_alike(&p, "load32", 1, 65532, 0, 42 << 24) /* the last word */
      && returns_alike(&p, "load64", 1, 65528, 0, (int64_t)42 << 56)
      && returns_alike(&p, "store8", 1, 65535, 0, 0)
      && returns_alike(&p, "load8", 1, 65535, 0, 7)
      && traps_alike(&p, "load8", 1, 65536, 0, OOB, "load8")  /* first byte past */
      && traps_alike(&p, "load32", 1, 65533, 0, OOB, "load32") /* straddles the end */
      && traps_alike(&p, "load64", 1, 65529, 0, OOB, "load64")
      && traps_alike(&p, "store8", 1, 65536, 0, OOB, "store8")
      && traps_alike(&p, "store64", 1, 65529, 0, OOB, "store64")
      && traps_alike(&p, "load8", 1, -1, 0, OOB, "load8")      /* 4 GiB - 1 */
      && traps_alike(&p, "load32", 1, -4, 0, OOB, "load32")
      && traps_alike(&p, "load8_off", 1, 0, 0, OOB, "load8_off") /* 0 + 4 GiB - 1 */
      && traps_alike(&p, "load8_off", 1, -1, 0, OOB, "load8_off") /* 8 GiB - 2 */
      && traps_alike(&p, "load64_off", 1, -1, 0, OOB, "load64_off")
      && traps_alike(&p, "store64", 1, -8, 0, OOB, "store64")
      && returns_alike(&p, "load8", 1, 65535, 0, 7);         /* nothing was written */
  }
  pair_close(&p);
  CHECK(ok);
}

/* call_indirect: a wrong type, an index past the table, a null entry. */
static void test_indirect(void) {
  pair p;
  bool ok = pair_open(&p, "battery", NULL, 0, 0);
  if (ok) {
    ok = returns_alike(&p, "ind", 2, 0, 21, 42)
      && traps_alike(&p, "ind", 2, 1, 0, KRAIT_TRAP_INDIRECT_TYPE, "ind")
      && traps_alike(&p, "ind", 2, 5, 0, KRAIT_TRAP_UNDEFINED_ELEM, "ind")
      && traps_alike(&p, "ind", 2, -1, 0, KRAIT_TRAP_UNDEFINED_ELEM, "ind")
      && traps_alike(&p, "ind", 2, 2, 0, KRAIT_TRAP_UNINIT_ELEM, "ind")
      && traps_alike(&p, "ind", 2, 4, 0, KRAIT_TRAP_UNINIT_ELEM, "ind")
      && returns_alike(&p, "ind", 2, 0, -3, -6);
  }
  pair_close(&p);
  CHECK(ok);
}

/* Appends the unsigned LEB128 of v to b at *n. */
static void leb(uint8_t *b, size_t *n, uint64_t v) {
  do {
    uint8_t c = v & 0x7f;
    v >>= 7;
    b[(*n)++] = c | (v ? 0x80 : 0);
  } while (v);
}

/* Appends section id with the n bytes of body. */
static void section(uint8_t *b, size_t *n, uint8_t id, const uint8_t *body, size_t len) {
  b[(*n)++] = id;
  leb(b, n, len);
  memcpy(b + *n, body, len);
  *n += len;
}

/* A module whose export "big" (i32 -> i64) recurses n levels holding
** nlocals i64 locals live across the call (loaded from memory, so they
** cannot be recomputed): a native frame of about 8 * nlocals bytes. Also
** exports "add". Returns the length written to out (malloc'ed). */
static size_t bigframe_module(uint32_t nlocals, uint8_t **out) {
  size_t cap = 64 + (size_t)nlocals * 32, n = 0, c = 0;
  uint8_t *b = malloc(cap), *code = malloc(cap), *body = malloc(cap);
  static const uint8_t types[] = {2, 0x60, 1, 0x7f, 1, 0x7e, 0x60, 2, 0x7f, 0x7f, 1, 0x7f};
  static const uint8_t funcs[] = {2, 0, 1}, mem[] = {1, 0, 1};
  static const uint8_t exps[] = {2, 3, 'b', 'i', 'g', 0, 0, 3, 'a', 'd', 'd', 0, 1};
  static const uint8_t head[] = {0x20, 0, 0x45, 0x04, 0x40, 0x42, 0, 0x0f, 0x0b};
  static const uint8_t mid[] = {0x41, 0, 0x20, 0, 0x41, 1, 0x6b, 0x10, 0, 0x37, 3, 0};
  static const uint8_t add[] = {7, 0, 0x20, 0, 0x20, 1, 0x6a, 0x0b};
  memcpy(b, "\0asm\1\0\0\0", 8);
  n = 8;
  section(b, &n, 1, types, sizeof types);
  section(b, &n, 3, funcs, sizeof funcs);
  section(b, &n, 5, mem, sizeof mem);
  section(b, &n, 7, exps, sizeof exps);
  body[c++] = 1;  /* one group of locals */
  leb(body, &c, nlocals);
  body[c++] = 0x7e;
  memcpy(body + c, head, sizeof head), c += sizeof head;
  for (uint32_t i = 1; i <= nlocals; i++) {  /* local i = load(i * 8) */
    body[c++] = 0x41, body[c++] = 0, body[c++] = 0x29, body[c++] = 3;
    leb(body, &c, (i * 8) % 60000);
    body[c++] = 0x21;
    leb(body, &c, i);
  }
  memcpy(body + c, mid, sizeof mid), c += sizeof mid;
  for (uint32_t i = 1; i <= nlocals; i++) {  /* mem[8] ^= local i */
    static const uint8_t x[] = {0x41, 8, 0x41, 8, 0x29, 3, 0, 0x20};
    memcpy(body + c, x, sizeof x), c += sizeof x;
    leb(body, &c, i);
    body[c++] = 0x85, body[c++] = 0x37, body[c++] = 3, body[c++] = 0;
  }
  body[c++] = 0x41, body[c++] = 8, body[c++] = 0x29, body[c++] = 3, body[c++] = 0, body[c++] = 0x0b;
  size_t k = 0;
  code[k++] = 2;
  leb(code, &k, c);
  memcpy(code + k, body, c), k += c;
  memcpy(code + k, add, sizeof add), k += sizeof add;
  section(b, &n, 10, code, k);
  free(code);
  free(body);
  *out = b;
  return n;
}

/* Deep recursion: direct, mutual, through call_indirect, and with frames
** of 8 KiB and more (the depth limit alone would let it run past the
** native stack), all ending in the interpreter's "call stack exhausted"
** message naming the caller's call instruction. */
static void test_recursion(void) {
  pair p, big;
  krait_error e;
  uint8_t *bytes;
  size_t len = bigframe_module(1500, &bytes);
  bool ok = pair_open(&p, "battery", NULL, 0, 0) && pair_open(&big, NULL, bytes, len, 0);
  if (ok) {
    ok = traps_alike(&p, "down", 1, 0, 0, KRAIT_TRAP_STACK_EXHAUSTED, "down")
      && traps_alike(&p, "rind", 1, 0, 0, KRAIT_TRAP_STACK_EXHAUSTED, "rind")
      && traps_alike(&big, "big", 1, 1000000, 0, KRAIT_TRAP_STACK_EXHAUSTED, "big")
      && returns_alike(&big, "big", 1, 3, 0, 0);
    /* ping and pong call each other: which one runs out depends on the
    ** depth reached, so only the message's shape is compared */
    ok = ok && call(&p.aot, "ping", 1, 0, 0, NULL, &e) == -1 && e.trap == KRAIT_TRAP_STACK_EXHAUSTED;
    if (ok && !strstr(e.message, "call stack exhausted (in function "))
      printf("  ping: \"%s\"\n", e.message), ok = false;
  }
  pair_close(&p);
  pair_close(&big);
  free(bytes);
  CHECK(ok);
}

/* Wasm -> host -> Wasm -> host ... until the native stack runs out: a
** clean trap through every nested catch point, under both tiers. */
static void test_reentry(void) {
  static const krait_tier tiers[] = {KRAIT_TIER_AOT, KRAIT_TIER_INTERP};
  for (int i = 0; i < 2; i++) {
    run r;
    krait_error e;
    int64_t v = 0;
    bool ok = run_open(&r, tiers[i], bounds_now, "battery", NULL, 0, 0);
    ok = ok && call(&r, "reenter_wasm", 1, 0, 0, NULL, &e) == -1;
    if (!ok || e.trap != KRAIT_TRAP_STACK_EXHAUSTED) printf("  reenter (tier %d): %d \"%s\"\n", tiers[i], e.trap, e.message);
    ok = ok && e.trap == KRAIT_TRAP_STACK_EXHAUSTED && call(&r, "add", 2, 1, 2, &v, &e) == 0 && v == 3;
    run_close(&r);
    CHECK(ok);
  }
}

/* The big-frame recursion on a thread with a small stack. */
static void *small_stack_body(void *arg) {
  run *r = arg;
  krait_error e;
  int64_t v = 0;
  intptr_t ok = call(r, "big", 1, 1000000, 0, NULL, &e) == -1 && e.trap == KRAIT_TRAP_STACK_EXHAUSTED &&
                call(r, "big", 1, 2, 0, &v, &e) == 0;
  if (!ok) printf("  small stack: \"%s\"\n", e.message);
  return (void *)ok;
}

static void test_small_thread_stack(void) {
  static const size_t sizes[] = {256 << 10, 512 << 10, 2 << 20};
  run r;
  uint8_t *bytes;
  size_t len = bigframe_module(1500, &bytes);
  bool ok = run_open(&r, KRAIT_TIER_AOT, bounds_now, NULL, bytes, len, 0);
  free(bytes);
  for (size_t i = 0; ok && i < sizeof sizes / sizeof sizes[0]; i++) {
    pthread_attr_t a;
    pthread_t t;
    void *res = NULL;
    pthread_attr_init(&a);
    pthread_attr_setstacksize(&a, sizes[i]);
    ok = pthread_create(&t, &a, small_stack_body, &r) == 0 && pthread_join(t, &res) == 0 && res;
    pthread_attr_destroy(&a);
    if (!ok) printf("  stack of %zu KiB\n", sizes[i] >> 10);
  }
  run_close(&r);
  CHECK(ok);
}

/* memory.grow: past the declared maximum, by huge deltas, and past the
** store's cap on a memory with no maximum: -1 and no trap. */
static void test_grow(void) {
  pair p;
  bool ok = pair_open(&p, "battery", NULL, 0, 0);
  if (ok) {
    ok = returns_alike(&p, "grow", 1, 2, 0, -1)      /* 1 + 2 > max 2 */
      && returns_alike(&p, "grow", 1, -1, 0, -1)
      && returns_alike(&p, "grow", 1, 0x10000, 0, -1)
      && returns_alike(&p, "size", 0, 0, 0, 1)
      && returns_alike(&p, "grow", 1, 1, 0, 1)       /* to the maximum */
      && returns_alike(&p, "grow", 1, 1, 0, -1)      /* one past it */
      && returns_alike(&p, "size", 0, 0, 0, 2)
      && returns_alike(&p, "load8", 1, 131071, 0, 0)
      && traps_alike(&p, "load8", 1, 131072, 0, OOB, "load8");
  }
  pair_close(&p);
  CHECK(ok);
}

/* memory.grow past the store's cap (krait_store_set_max_memory, what
** --max-memory sets) on a memory without a declared maximum. */
static void test_grow_capped(void) {
  static const uint8_t mod[] = {
    0, 'a', 's', 'm', 1, 0, 0, 0,
    1, 12, 2, 0x60, 1, 0x7f, 1, 0x7f, 0x60, 2, 0x7f, 0x7f, 1, 0x7f,
    3, 4, 3, 0, 0, 1,
    5, 3, 1, 0, 1,                                      /* memory 1, no max */
    7, 21, 3, 4, 'g', 'r', 'o', 'w', 0, 0, 4, 'p', 'e', 'e', 'k', 0, 1, 3, 'a', 'd', 'd', 0, 2,
    10, 24, 3, 6, 0, 0x20, 0, 0x40, 0, 0x0b,            /* memory.grow */
    7, 0, 0x20, 0, 0x2d, 0, 0, 0x0b,                    /* i32.load8_u */
    7, 0, 0x20, 0, 0x20, 1, 0x6a, 0x0b,                 /* i32.add */
  };
  pair p;
  bool ok = pair_open(&p, NULL, mod, sizeof mod, 3 * 65536);
  if (ok) {
    ok = returns_alike(&p, "grow", 1, 3, 0, -1)        /* 4 pages > cap */
      && returns_alike(&p, "grow", 1, 2, 0, 1)         /* 3 pages: the cap */
      && returns_alike(&p, "grow", 1, 1, 0, -1)
      && returns_alike(&p, "grow", 1, 0, 0, 3)
      && returns_alike(&p, "peek", 1, 3 * 65536 - 1, 0, 0)
      && traps_alike(&p, "peek", 1, 3 * 65536, 0, OOB, "peek");
  }
  pair_close(&p);
  CHECK(ok);
}

/* Sets the fuel of r's store to f, calls name(a); the fuel left after. */
static uint64_t fuel_run(run *r, const char *name, int32_t a, uint64_t f, int *rc, krait_error *e) {
  krait_store_set_fuel(r->s, f);
  *rc = call(r, name, 1, a, 0, NULL, e);
  return krait_store_fuel(r->s);
}

/* work(8) succeeds on exactly fuel c, leaving none, and with c - 1 traps
** "fuel exhausted"; at points between 0 and c it traps too. */
static bool exact_at(run *r, const char *tier, uint64_t c) {
  int rc;
  krait_error e;
  uint64_t left = fuel_run(r, "work", 8, c, &rc, &e);
  if (rc != 0 || left != 0) {
    printf("  %s: work(8) on fuel %llu: %d, %llu left \"%s\"\n", tier, (unsigned long long)c, rc,
           (unsigned long long)left, e.message);
    return false;
  }
  for (uint64_t f = c - 1; f > 0; f = f > c / 7 ? f - c / 7 : 0) {
    left = fuel_run(r, "work", 8, f, &rc, &e);
    if (rc != -1 || e.trap != KRAIT_TRAP_FUEL || left != 0) {
      printf("  %s: work(8) on fuel %llu: %d, %llu left \"%s\" (want fuel exhausted)\n", tier,
             (unsigned long long)f, rc, (unsigned long long)left, e.message);
      return false;
    }
  }
  return true;
}

/* Fuel runs out at the same instruction under both tiers: work(8) (calls
** direct and indirect, recursion, both loop shapes, Wasm -> host -> Wasm
** three deep) costs the same, succeeds on exactly that and traps on one
** unit less. After each kind of trap (out of bounds, unreachable, call
** stack) the fuel left is no more than before, and the store again runs
** work(8) on exactly its cost (the countdown survives the trap). */
static void test_fuel_exact(void) {
  static const char *const tier[2] = {"interp", "aot"};
  const uint64_t big = 100000000;
  pair p;
  bool ok = pair_open(&p, "fuel", NULL, 0, 0);
  run *t[2] = {&p.interp, &p.aot};
  uint64_t cost[2] = {0, 0};
  krait_error e;
  int rc;
  for (int i = 0; ok && i < 2; i++) {
    cost[i] = big - fuel_run(t[i], "work", 8, big, &rc, &e);
    if (rc) printf("  %s: work(8): \"%s\"\n", tier[i], e.message);
    ok = rc == 0;
  }
  if (ok && cost[0] != cost[1])
    printf("  work(8) costs %llu interpreted, %llu native\n", (unsigned long long)cost[0],
           (unsigned long long)cost[1]);
  ok = ok && cost[0] == cost[1] && cost[0] > 1000;
  static const krait_trapkind kinds[3] = {OOB, KRAIT_TRAP_UNREACHABLE, KRAIT_TRAP_STACK_EXHAUSTED};
  for (int i = 0; ok && i < 2; i++) {
    ok = exact_at(t[i], tier[i], cost[0]);
    for (int k = 0; ok && k < 3; k++) {
      uint64_t left = fuel_run(t[i], "trap", k, big, &rc, &e);
      if (rc != -1 || e.trap != kinds[k] || left > big)
        printf("  %s: trap(%d): %d, %llu left \"%s\"\n", tier[i], k, rc, (unsigned long long)left, e.message);
      ok = rc == -1 && e.trap == kinds[k] && left <= big && exact_at(t[i], tier[i], cost[0]);
    }
  }
  pair_close(&p);
  CHECK(ok);
}

static bool fresh_cache(const char *name);
static bool object_path(char *out, size_t cap, const char *other);

/* The countdown's memory hand-over (objects of a compiler without global
** register variables: clang, platform/dispatch.h) is as exact as the
** register one: test_fuel_exact in both bounds modes, in a child with
** KRAIT_CC=clang-16 and a cache of its own, run first (no gcc object of
** the module is loaded in this process yet, which the child would
** inherit), so the objects it runs are clang's (checked: they are in its
** cache). */
static void test_fuel_exact_clang(void) {
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    setenv("KRAIT_CC", "clang-16", 1);
    fresh_cache("fuel-clang");
    krait_bounds modes[2] = {KRAIT_BOUNDS_GUARD, KRAIT_BOUNDS_EXPLICIT};
    int failed = 0;
    for (int b = 0; b < 2; b++) {
      bounds_now = modes[b];
      t_failed_now = 0;
      test_fuel_exact();
      failed |= t_failed_now;
    }
    char so[700];
    if (!object_path(so, sizeof so, NULL)) printf("  no clang object in %s\n", getenv("KRAIT_CACHE"));
    failed |= !object_path(so, sizeof so, NULL);
    fflush(stdout);
    _exit(failed);
  }
  int st;
  CHECK(pid > 0 && waitpid(pid, &st, 0) == pid);
  CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

/* Runs the trap tests in one bounds mode. */
static void trap_battery(krait_bounds b) {
  bounds_now = b;
  const char *m = b == KRAIT_BOUNDS_GUARD ? "guard" : "explicit";
  char name[64];
#define RUN_IN(fn) (getenv("KT_ONLY") && !strstr(#fn, getenv("KT_ONLY")) ? (void)0 : (snprintf(name, sizeof name, "%s (%s)", #fn, m), t_run(name, fn)))
  RUN_IN(test_oob_edges);
  RUN_IN(test_indirect);
  RUN_IN(test_recursion);
  RUN_IN(test_reentry);
  RUN_IN(test_small_thread_stack);
  RUN_IN(test_grow);
  RUN_IN(test_grow_capped);
  RUN_IN(test_fuel_exact);
#undef RUN_IN
}

/* ---- the cache ---------------------------------------------------------- */

#define TRAILER 112  /* "KRAITAOT", key (64), SHA-256 (32), length (8) */

static char cache_root[512];
static int next_const = 1000;

/* A module exporting "f" (-> i32) returning k and "add": distinct bytes
** for every k, so no object of it is loaded in this process yet. */
static size_t const_module(uint8_t *b, int32_t k) {
  size_t n = 0, c = 0;
  uint8_t body[32];
  static const uint8_t head[] = {0, 'a', 's', 'm', 1, 0, 0, 0, 1, 11, 2, 0x60, 0, 1, 0x7f,
                                 0x60, 2, 0x7f, 0x7f, 1, 0x7f, 3, 3, 2, 0, 1,
                                 7, 11, 2, 1, 'f', 0, 0, 3, 'a', 'd', 'd', 0, 1};
  memcpy(b, head, sizeof head);
  n = sizeof head;
  body[c++] = 2;
  size_t at = c++;
  body[c++] = 0, body[c++] = 0x41;
  int64_t v = k;  /* signed LEB128 */
  for (bool more = true; more;) {
    uint8_t x = v & 0x7f;
    v >>= 7;
    more = !((v == 0 && !(x & 0x40)) || (v == -1 && (x & 0x40)));
    body[c++] = x | (more ? 0x80 : 0);
  }
  body[c++] = 0x0b;
  body[at] = (uint8_t)(c - at - 1);
  static const uint8_t add[] = {7, 0, 0x20, 0, 0x20, 1, 0x6a, 0x0b};
  memcpy(body + c, add, sizeof add), c += sizeof add;
  section(b, &n, 10, body, c);
  return n;
}

/* A fresh cache directory ($KRAIT_CACHE) for one case. */
static bool fresh_cache(const char *name) {
  char dir[600];
  snprintf(dir, sizeof dir, "%s/%s", cache_root, name);
  mkdir(dir, 0755);
  return setenv("KRAIT_CACHE", dir, 1) == 0;
}

/* Compiles module bytes into the cache in a child process, so this
** process has not loaded the object when it meets it. */
static bool compile_elsewhere(const uint8_t *b, size_t n) {
  pid_t pid = fork();
  if (pid == 0) {
    krait_config cfg;
    krait_config_default(&cfg);
    cfg.tier = KRAIT_TIER_AOT;
    krait_engine *e = krait_engine_new(&cfg, NULL);
    _exit(e && krait_module_new(e, b, n, NULL) ? 0 : 1);
  }
  int st;
  return pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

/* The path of the cache's object that is not `other` (NULL: any). */
static bool object_path(char *out, size_t cap, const char *other) {
  char dir[600];
  snprintf(dir, sizeof dir, "%s/aot", getenv("KRAIT_CACHE"));
  DIR *d = opendir(dir);
  struct dirent *de;
  bool found = false;
  while (d && !found && (de = readdir(d))) {
    size_t l = strlen(de->d_name);
    if (l < 4 || strcmp(de->d_name + l - 3, ".so") != 0) continue;
    snprintf(out, cap, "%s/%s", dir, de->d_name);
    found = !other || strcmp(out, other) != 0;
  }
  if (d) closedir(d);
  return found;
}

/* Reads or writes a whole file. */
static uint8_t *slurp(const char *path, size_t *n) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  *n = (size_t)ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t *b = malloc(*n + 1);
  if (b && fread(b, 1, *n, f) != *n) { free(b); b = NULL; }
  fclose(f);
  return b;
}

static bool spill(const char *path, const uint8_t *b, size_t n) {
  FILE *f = fopen(path, "wb");
  bool ok = f && fwrite(b, 1, n, f) == n;
  return f && fclose(f) == 0 && ok;
}

/* Rewrites the trailer of object bytes b (n bytes, trailer included) for
** key: the forgery of someone who knows the format. */
static void resign(uint8_t *b, size_t n, const char *key) {
  uint64_t len = n - TRAILER;
  unsigned hn = 0;
  memcpy(b + len, "KRAITAOT", 8);
  memcpy(b + len + 8, key, 64);
  EVP_Digest(b, len, b + len + 72, &hn, EVP_sha256(), NULL);
  memcpy(b + len + 104, &len, 8);
}

/* The file offset of the ELF section name (64-bit little-endian). */
static size_t elf_section(const uint8_t *b, size_t n, const char *name) {
  uint64_t shoff;
  uint16_t shentsize, shnum, shstrndx;
  memcpy(&shoff, b + 0x28, 8);
  memcpy(&shentsize, b + 0x3a, 2);
  memcpy(&shnum, b + 0x3c, 2);
  memcpy(&shstrndx, b + 0x3e, 2);
  if (shoff + (uint64_t)shnum * shentsize > n || shstrndx >= shnum) return 0;
  uint64_t stroff;
  memcpy(&stroff, b + shoff + (uint64_t)shstrndx * shentsize + 0x18, 8);
  for (uint16_t i = 0; i < shnum; i++) {
    const uint8_t *sh = b + shoff + (uint64_t)i * shentsize;
    uint32_t nm;
    uint64_t off;
    memcpy(&nm, sh, 4);
    memcpy(&off, sh + 0x18, 8);
    if (stroff + nm < n && strcmp((const char *)b + stroff + nm, name) == 0) return (size_t)off;
  }
  return 0;
}

/* The kinds of damage done to a module's object. */
typedef enum damage {
  D_CODE, D_MAGIC, D_TKEY, D_TSHA, D_TLEN, D_EKEY, D_EKEY_RESIGNED,
  D_SWAP, D_SWAP_RESIGNED, D_SWAP_EKEY_RESIGNED
} damage;

/* Damages the object at path (of module A) as d says; other is module
** B's object (for the swaps). false when the file could not be changed. */
static bool do_damage(const char *path, const char *other, damage d) {
  size_t n, on;
  uint8_t *b = slurp(path, &n), *o = other ? slurp(other, &on) : NULL;
  bool ok = b && n > TRAILER + 64 && (!other || o);
  char key[65];
  if (ok) { memcpy(key, b + n - TRAILER + 8, 64); key[64] = 0; }
  uint8_t *ek = ok ? memmem(b, n - TRAILER, key, 64) : NULL;  /* kaot_key */
  size_t text = ok ? elf_section(b, n, ".text") : 0;
  ok = ok && ek && text;
  if (ok && d >= D_SWAP) {
    uint8_t *okey = memmem(o, on - TRAILER, o + on - TRAILER + 8, 64);
    ok = okey != NULL;
    if (ok && d == D_SWAP_EKEY_RESIGNED) memcpy(okey, key, 64);  /* claims A's key */
    if (ok && d >= D_SWAP_RESIGNED) resign(o, on, key);
    free(b);
    b = o, n = on, o = NULL;
  }
  switch (ok ? d : D_SWAP) {
  case D_CODE: b[text + 40] ^= 0x01; break;
  case D_MAGIC: b[n - TRAILER + 3] ^= 0x20; break;
  case D_TKEY: b[n - TRAILER + 8 + 17] ^= 0x01; break;
  case D_TSHA: b[n - TRAILER + 72 + 5] ^= 0x80; break;
  case D_TLEN: b[n - 8] ^= 0x01; break;
  case D_EKEY: ek[30] ^= 0x01; break;
  case D_EKEY_RESIGNED: ek[30] = ek[30] == 'a' ? 'b' : 'a'; resign(b, n, key); break;
  default: break;
  }
  ok = ok && spill(path, b, n);
  free(b);
  free(o);
  return ok;
}

/* One cache case: module A (constant ka) compiled in a child, its object
** damaged as d says (B: constant kb, compiled likewise, for the swaps);
** then in this process tier auto must run A correctly (interpreted: the
** object refused and left alone), and tier aot must either rebuild it
** (the file then equals the pristine build) or, when rebuilt is false,
** refuse the module with an error naming it. A normal call follows. */
static bool cache_case(const char *name, damage d, bool rebuilt) {
  uint8_t a[96], bb[96];
  int32_t ka = next_const++, kb = next_const++;
  size_t na = const_module(a, ka), nb = const_module(bb, kb), pn = 0;
  char pa[1200], pb[1200];
  int64_t v = 0;
  krait_error e;
  if (!fresh_cache(name) || !compile_elsewhere(a, na) || !object_path(pa, sizeof pa, NULL)) {
    printf("  %s: no object for A\n", name);
    return false;
  }
  uint8_t *pristine = slurp(pa, &pn);
  bool ok = pristine != NULL;
  if (ok && d >= D_SWAP) ok = compile_elsewhere(bb, nb) && object_path(pb, sizeof pb, pa);
  ok = ok && do_damage(pa, d >= D_SWAP ? pb : NULL, d);
  if (!ok) { printf("  %s: could not damage %s\n", name, pa); free(pristine); return false; }
  size_t dn = 0;
  uint8_t *damaged = slurp(pa, &dn);
  run r;
  ok = run_open(&r, KRAIT_TIER_AUTO, KRAIT_BOUNDS_GUARD, NULL, a, na, 0) &&
       call(&r, "f", 0, 0, 0, &v, &e) == 0 && v == ka;
  run_close(&r);
  size_t n2 = 0;
  uint8_t *now = slurp(pa, &n2);
  if (!ok || !now || n2 != dn || memcmp(now, damaged, dn) != 0) {
    printf("  %s: tier auto: %s, f() = %lld (want %d), object %s\n", name, ok ? "ran" : "failed",
           (long long)v, ka, now && n2 == dn && !memcmp(now, damaged, dn) ? "left alone" : "changed");
    ok = false;
  }
  free(now);
  if (ok && rebuilt) {
    ok = run_open(&r, KRAIT_TIER_AOT, KRAIT_BOUNDS_GUARD, NULL, a, na, 0) &&
         call(&r, "f", 0, 0, 0, &v, &e) == 0 && v == ka && call(&r, "add", 2, 2, 3, &v, &e) == 0 && v == 5;
    run_close(&r);
    now = slurp(pa, &n2);
    if (!ok || !now || n2 != pn || memcmp(now, pristine, pn) != 0) {
      printf("  %s: tier aot: %s, object %s\n", name, ok ? "ran" : "failed",
             now && n2 == pn && !memcmp(now, pristine, pn) ? "rebuilt" : "not rebuilt");
      ok = false;
    }
    free(now);
  } else if (ok) {
    krait_config cfg;
    krait_config_default(&cfg);
    cfg.tier = KRAIT_TIER_AOT;
    krait_engine *eng = krait_engine_new(&cfg, NULL);
    krait_module *m = krait_module_new(eng, a, na, &e);
    krait_engine *ie = krait_engine_new(NULL, NULL);
    krait_module *plain = ie ? krait_module_new(ie, a, na, NULL) : NULL;
    char sha[65] = "?";
    if (plain) krait_module_sha256(plain, sha);
    ok = m == NULL && e.kind != KRAIT_OK && strstr(e.message, sha);  /* names A */
    if (plain) krait_module_free(plain);
    if (ie) krait_engine_free(ie);
    if (!ok) printf("  %s: tier aot %s: \"%s\"\n", name, m ? "accepted the module" : "failed oddly", e.message);
    if (m) krait_module_free(m);
    krait_engine_free(eng);
  }
  free(pristine);
  free(damaged);
  return ok;
}

static void test_cache_flipped_code(void) { CHECK(cache_case("code", D_CODE, true)); }
static void test_cache_flipped_magic(void) { CHECK(cache_case("magic", D_MAGIC, true)); }
static void test_cache_flipped_trailer_key(void) { CHECK(cache_case("tkey", D_TKEY, true)); }
static void test_cache_flipped_trailer_sha(void) { CHECK(cache_case("tsha", D_TSHA, true)); }
static void test_cache_flipped_trailer_length(void) { CHECK(cache_case("tlen", D_TLEN, true)); }
static void test_cache_flipped_embedded_key(void) { CHECK(cache_case("ekey", D_EKEY, true)); }
static void test_cache_embedded_key_resigned(void) { CHECK(cache_case("ekey-resigned", D_EKEY_RESIGNED, true)); }
static void test_cache_swapped(void) { CHECK(cache_case("swap", D_SWAP, true)); }
static void test_cache_swapped_resigned(void) { CHECK(cache_case("swap-resigned", D_SWAP_RESIGNED, true)); }
static void test_cache_swapped_key_forged(void) {
  CHECK(cache_case("swap-forged", D_SWAP_EKEY_RESIGNED, false));
}

/* nftw callback: removes one entry of a tree. */
static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
  (void)sb, (void)flag, (void)ftw;
  return remove(path);
}

int main(void) {
  char cwd[256];
  krait_aot_enable();
  /* the caches of this run: the test tree's, emptied first */
  snprintf(cache_root, sizeof cache_root, "%s/build/test/aot/battery-cache",
           getcwd(cwd, sizeof cwd) ? cwd : ".");
  nftw(cache_root, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
  mkdir("build/test/aot", 0755);
  if (mkdir(cache_root, 0755) != 0) { printf("cannot make %s\n", cache_root); return 1; }
  RUN(test_fuel_exact_clang);  /* first: see there */
  fresh_cache("traps");
  trap_battery(KRAIT_BOUNDS_GUARD);
  trap_battery(KRAIT_BOUNDS_EXPLICIT);
  RUN(test_cache_flipped_code);
  RUN(test_cache_flipped_magic);
  RUN(test_cache_flipped_trailer_key);
  RUN(test_cache_flipped_trailer_sha);
  RUN(test_cache_flipped_trailer_length);
  RUN(test_cache_flipped_embedded_key);
  RUN(test_cache_embedded_key_resigned);
  RUN(test_cache_swapped);
  RUN(test_cache_swapped_resigned);
  RUN(test_cache_swapped_key_forged);
  return t_summary();
}
