/*
** tests/aot/test_memo.c -- the memos that spare a start hashing big files
** (krait_module_load's module SHA-256, an object's verification): once a
** file is remembered, changing it in place (same inode, same size) must
** be noticed. A module file rewritten with other bytes runs those bytes
** (an invalid body is refused); an object with a flipped byte is refused.
** Does not own: the damage battery on fresh objects (test_battery.c).
*/
#define _GNU_SOURCE
#include "test.h"
#include "const_module.h"
#include "krait_host.h"
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* Test hook of the AOT tier (src/aot/aot.h): the object module m runs
** from, NULL when interpreted. */
const char *kaot_object_path(const krait_module *m);

/* Test hook (src/aot/memo.c): remembers value for a file's identity. */
void kaot_memo_put(const char *kind, const struct stat *sb, const char *detail, const char *value);

static char root[512], wasm[600];

/* Writes n bytes at offset 0 of path in place: same inode and size when
** the file exists (what an editor saving in place does). */
static bool write_in_place(const char *path, const uint8_t *b, size_t n, size_t off) {
  int fd = open(path, O_WRONLY | O_CREAT, 0644);
  bool ok = fd >= 0 && pwrite(fd, b, n, (off_t)off) == (ssize_t)n;
  return fd >= 0 && close(fd) == 0 && ok;
}

/* Loads the module file under tier, calls f: its result (-1 when the
** call fails), or -2 when the module is refused (err filled); *native
** tells whether it ran from an object. */
static int64_t load_path(const char *path, krait_tier tier, bool *native, krait_error *err) {
  krait_config cfg;
  krait_config_default(&cfg);
  cfg.tier = tier;
  krait_engine *e = krait_engine_new(&cfg, err);
  krait_module *m = e ? krait_module_load(e, path, err) : NULL;
  int64_t r = -2;
  if (m) {
    *native = kaot_object_path(m) != NULL;
    krait_store *s = krait_store_new(e);
    krait_linker *l = s ? krait_linker_new(s) : NULL;
    krait_instance *in = l ? krait_instantiate(l, m, NULL) : NULL;
    krait_func *f = in ? t_func(in, "f") : NULL;
    krait_val res;
    r = f && krait_func_call(s, f, NULL, 0, &res, 1, NULL) == 0 ? res.of.i32 : -1;
    if (l) krait_linker_free(l);
    if (s) krait_store_free(s);
    krait_module_free(m);
  }
  krait_engine_free(e);
  return r;
}

static int64_t load_call(krait_tier tier, bool *native, krait_error *err) {
  return load_path(wasm, tier, native, err);
}

/* How many memo records of kind ("sha256", "obj") the cache holds. */
static int memos(const char *kind) {
  char dir[700], path[1000], head[16];
  snprintf(dir, sizeof dir, "%s/aot", root);
  DIR *d = opendir(dir);
  int n = 0;
  for (struct dirent *de; d && (de = readdir(d));) {
    if (strncmp(de->d_name, "memo-", 5) != 0) continue;
    snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
    FILE *f = fopen(path, "r");
    size_t got = f ? fread(head, 1, sizeof head - 1, f) : 0;
    if (f) fclose(f);
    head[got] = 0;
    n += strncmp(head, kind, strlen(kind)) == 0 && head[strlen(kind)] == ' ';
  }
  if (d) closedir(d);
  return n;
}

/* The module file is compiled, left to age past the memo's 2 s, loaded
** (remembered), then rewritten in place: other bytes with no object run
** interpreted with their own result; the invalid twin is refused. */
static void test_module_file_changed(void) {
  uint8_t b[64];
  bool native = false;
  krait_error err;
  size_t n = module(b, 1111, false);
  CHECK(write_in_place(wasm, b, n, 0));
  CHECK_INT(load_call(KRAIT_TIER_AOT, &native, &err), 1111);
  sleep(3);
  CHECK_INT(memos("sha256"), 0);  /* too fresh to be remembered */
  CHECK_INT(load_call(KRAIT_TIER_AUTO, &native, &err), 1111);
  CHECK(native);
  CHECK_INT(memos("sha256"), 1);
  CHECK_INT(load_call(KRAIT_TIER_AUTO, &native, &err), 1111);
  CHECK(native);
  CHECK_INT(module(b, 2222, false), n);
  CHECK(write_in_place(wasm, b, n, 0));
  CHECK_INT(load_call(KRAIT_TIER_AUTO, &native, &err), 2222);
  CHECK(!native);
  CHECK_INT(module(b, 1111, true), n);
  CHECK(write_in_place(wasm, b, n, 0));
  CHECK_INT(load_call(KRAIT_TIER_AUTO, &native, &err), -2);
  CHECK_INT(err.kind, KRAIT_ERR_INVALID);
  CHECK_INT(load_call(KRAIT_TIER_AOT, &native, &err), -2);
  CHECK_INT(err.kind, KRAIT_ERR_INVALID);
}

/* Files unchanged for 2 s with native code are viewed, not read: one
** with no object (other bytes) falls back to being read and runs
** interpreted; its invalid twin is refused, under aot before any
** compiler runs; the cached one runs natively. */
static void test_settled_files(void) {
  uint8_t b[64];
  char other[700], bad[700];
  bool native = false;
  krait_error err;
  size_t n = module(b, 5555, false);
  CHECK(write_in_place(wasm, b, n, 0));
  CHECK_INT(load_call(KRAIT_TIER_AOT, &native, &err), 5555);
  snprintf(other, sizeof other, "%s/other.wasm", root);
  snprintf(bad, sizeof bad, "%s/bad.wasm", root);
  CHECK(write_in_place(other, b, module(b, 6666, false), 0));
  CHECK(write_in_place(bad, b, module(b, 5555, true), 0));
  sleep(3);
  CHECK_INT(load_call(KRAIT_TIER_AUTO, &native, &err), 5555);
  CHECK(native);
  CHECK_INT(load_path(other, KRAIT_TIER_AUTO, &native, &err), 6666);
  CHECK(!native);
  CHECK_INT(load_path(bad, KRAIT_TIER_AUTO, &native, &err), -2);
  CHECK_INT(err.kind, KRAIT_ERR_INVALID);
  setenv("KRAIT_CC", "false", 1);
  int64_t r = load_path(bad, KRAIT_TIER_AOT, &native, &err);
  unsetenv("KRAIT_CC");
  CHECK_INT(r, -2);
  CHECK_INT(err.kind, KRAIT_ERR_INVALID);
}

/* A module file whose record is stale (its hash taken from other bytes:
** a change that kept the file's identity, or a forged record) finds no
** native code compiled for another structure (src/aot/shape.c): it is
** validated and runs its own bytes. Here the record names the hash of a
** cached module of type () -> i32; the file holds one of type () -> i64. */
static void test_stale_record(void) {
  uint8_t b[64];
  char other[700], sha[65];
  bool native = false;
  krait_error err;
  size_t n = module(b, 4444, false);
  CHECK(write_in_place(wasm, b, n, 0));
  CHECK_INT(load_call(KRAIT_TIER_AOT, &native, &err), 4444);
  CHECK(native);
  krait_engine *e = krait_engine_new(NULL, &err);
  krait_module *m = e ? krait_module_new(e, b, n, &err) : NULL;
  CHECK(m != NULL);
  if (m) krait_module_sha256(m, sha);
  krait_module_free(m);
  krait_engine_free(e);
  CHECK_INT(module(b, 7777, false), n);
  b[14] = 0x7e;      /* the type's result: i64 */
  b[31] = 0x42;      /* i64.const (the 5-byte LEB128 of 7777 is positive) */
  snprintf(other, sizeof other, "%s/other.wasm", root);
  CHECK(write_in_place(other, b, n, 0));
  sleep(3);          /* settled, so the record is written and believed */
  struct stat sb;
  CHECK(stat(other, &sb) == 0);
  kaot_memo_put("sha256", &sb, "module", sha);
  CHECK_INT(memos("sha256"), 1);
  CHECK_INT(load_path(other, KRAIT_TIER_AUTO, &native, &err), 7777);
  CHECK(!native);
  b[31] = 0x41;      /* an invalid twin: i32.const where i64 is due */
  CHECK(write_in_place(other, b, n, 0));
  CHECK_INT(load_path(other, KRAIT_TIER_AUTO, &native, &err), -2);
  CHECK_INT(err.kind, KRAIT_ERR_INVALID);
}

/* Test hook (src/decode/module.h): the body of function fi of a module
** made from a view of its file (false for any other module). */
bool kd_find_body(const krait_module *m, uint32_t fi, const uint8_t **body, size_t *len);

/* (memory 1) (func (result i32) i32.const 7)
** (func (export "g") (param i32) (result i32) (local i64) local.get 0 i32.load) */
static const uint8_t loader[] = {
  0, 'a', 's', 'm', 1, 0, 0, 0, 1, 10, 2, 0x60, 0, 1, 0x7f, 0x60, 1, 0x7f, 1, 0x7f,
  3, 3, 2, 0, 1, 5, 3, 1, 0, 1, 7, 5, 1, 1, 'g', 0, 1,
  10, 16, 2, 4, 0, 0x41, 7, 0x0b, 9, 1, 1, 0x7e, 0x20, 0, 0x28, 2, 0, 0x0b};

/* Calls g(65534) of the module made from path (or, with path NULL, from
** loader's bytes) under tier: copies its trap's message into msg; *view
** tells whether the module was made from a view of its file. */
static void g_trap(const char *path, krait_tier tier, char *msg, size_t cap, bool *view) {
  krait_config cfg;
  krait_config_default(&cfg);
  cfg.tier = tier;
  krait_error err;
  krait_engine *e = krait_engine_new(&cfg, &err);
  krait_module *m = !e ? NULL : path ? krait_module_load(e, path, &err) : krait_module_new(e, loader, sizeof loader, &err);
  const uint8_t *body;
  size_t len = 0;
  *view = m && kd_find_body(m, 1, &body, &len) && len == 6 && body[0] == 0x20;
  krait_store *s = m ? krait_store_new(e) : NULL;
  krait_linker *l = s ? krait_linker_new(s) : NULL;
  krait_instance *in = l ? krait_instantiate(l, m, NULL) : NULL;
  krait_func *f = in ? t_func(in, "g") : NULL;
  krait_val arg = {.type = KRAIT_I32, .of.i32 = 65534}, res;
  snprintf(msg, cap, "no trap: %s", err.message);
  if (f && krait_func_call(s, f, &arg, 1, &res, 1, &err) != 0) snprintf(msg, cap, "%s", err.message);
  if (l) krait_linker_free(l);
  if (s) krait_store_free(s);
  krait_module_free(m);
  krait_engine_free(e);
}

/* A settled file with native code is decoded without walking its code
** section (the bodies of a view are never validated or run): a guard
** fault still names the function and the load's offset, found by walking
** the entries then, exactly as the interpreter reports it. */
static void test_view_trap_offset(void) {
  char interp[160], aot[160];
  bool view;
  CHECK(write_in_place(wasm, loader, sizeof loader, 0));
  g_trap(wasm, KRAIT_TIER_AOT, aot, sizeof aot, &view);
  CHECK(!view);  /* just written: read, not viewed */
  sleep(3);
  g_trap(NULL, KRAIT_TIER_INTERP, interp, sizeof interp, &view);
  CHECK(!view);
  g_trap(wasm, KRAIT_TIER_AUTO, aot, sizeof aot, &view);
  CHECK(view);
  CHECK_STR(aot, interp);
  CHECK(strstr(interp, "out of bounds") && strstr(interp, "at offset 0x33"));
}

/* The path of the cache's one object. */
static bool object_path(char *out, size_t cap) {
  char dir[700];
  snprintf(dir, sizeof dir, "%s/aot", root);
  DIR *d = opendir(dir);
  bool found = false;
  for (struct dirent *de; d && !found && (de = readdir(d));) {
    size_t l = strlen(de->d_name);
    if (l > 3 && strcmp(de->d_name + l - 3, ".so") == 0) {
      snprintf(out, cap, "%s/%s", dir, de->d_name);
      found = true;
    }
  }
  if (d) closedir(d);
  return found;
}

/* In a child (so this process never holds the object loaded: a loaded
** object is not checked again): loads the module file under tier; exits
** 0 when it ran natively, 1 when interpreted, 2 on a wrong result or
** failure. */
static int child_native(krait_tier tier) {
  pid_t pid = fork();
  if (pid == 0) {
    bool native = false;
    krait_error err;
    int64_t r = load_call(tier, &native, &err);
    _exit(r != 3333 ? 2 : native ? 0 : 1);
  }
  int st;
  return pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) ? WEXITSTATUS(st) : 3;
}

/* An object remembered as verified, then one byte flipped in place in the
** middle (same inode, same size): refused in a new process, which runs
** the module interpreted. */
static void test_object_changed(void) {
  uint8_t b[64];
  char so[1200];
  size_t n = module(b, 3333, false);
  CHECK(write_in_place(wasm, b, n, 0));
  CHECK_INT(child_native(KRAIT_TIER_AUTO), 1);  /* no object yet */
  CHECK_INT(child_native(KRAIT_TIER_AOT), 0);
  CHECK(object_path(so, sizeof so));
  sleep(3);
  CHECK_INT(memos("obj"), 0);  /* too fresh to be remembered */
  CHECK_INT(child_native(KRAIT_TIER_AUTO), 0);
  CHECK_INT(memos("obj"), 1);
  CHECK_INT(child_native(KRAIT_TIER_AUTO), 0);
  struct stat sb;
  CHECK(stat(so, &sb) == 0);
  int fd = open(so, O_RDWR);
  uint8_t x;
  CHECK(fd >= 0 && pread(fd, &x, 1, sb.st_size / 2) == 1);
  x ^= 0x01;
  CHECK(pwrite(fd, &x, 1, sb.st_size / 2) == 1 && close(fd) == 0);
  CHECK_INT(child_native(KRAIT_TIER_AUTO), 1);
}

/* nftw callback: removes one entry of a tree. */
static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
  (void)sb, (void)flag, (void)ftw;
  return remove(path);
}

/* Starts a case with an empty cache and no module file. */
static bool fresh(const char *name) {
  char cwd[256];
  snprintf(root, sizeof root, "%s/build/test/aot/memo-%s", getcwd(cwd, sizeof cwd) ? cwd : ".", name);
  nftw(root, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
  snprintf(wasm, sizeof wasm, "%s/m.wasm", root);
  return mkdir(root, 0755) == 0 && setenv("KRAIT_CACHE", root, 1) == 0;
}

int main(void) {
  krait_aot_enable();
  mkdir("build/test/aot", 0755);
  if (!fresh("module")) { printf("cannot make %s\n", root); return 1; }
  RUN(test_module_file_changed);
  if (!fresh("settled")) { printf("cannot make %s\n", root); return 1; }
  RUN(test_settled_files);
  if (!fresh("stale")) { printf("cannot make %s\n", root); return 1; }
  RUN(test_stale_record);
  if (!fresh("object")) { printf("cannot make %s\n", root); return 1; }
  RUN(test_object_changed);
  if (!fresh("view")) { printf("cannot make %s\n", root); return 1; }
  RUN(test_view_trap_offset);
  return t_summary();
}
