/*
** command.c -- runs the commands of a wast2json JSON file, one at a time.
** Owns module loading, named/registered instances, actions and assertions.
** Does not own the file loop, reporting or totals (wast.c) or the engine.
*/
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "wast/wast_internal.h"
#include "util/util.h"

/* What load_module found. */
enum { LOAD_OK, LOAD_REJECTED, LOAD_FAILED };

/* The outcome of an action: results, or the engine's error. */
typedef struct kt_action {
  krait_val results[KT_MAX_VALS];
  size_t nresults;
  krait_error err;
  char why[600];
} kt_action;

/* The string member key of obj, or NULL when absent or not a string. */
static const char *str_member(json_t *obj, const char *key) {
  return json_string_value(json_object_get(obj, key));
}

/* True when a module command carries text rather than a binary module. */
static int is_text(json_t *c) {
  const char *mt = str_member(c, "module_type");

  return mt && strcmp(mt, "binary") != 0;
}

/* Describes an engine error as "<kind>: <message>". */
static void describe(const krait_error *err, char *buf, size_t n) {
  static const char *const names[] = {
    "success", "malformed", "invalid", "unsupported", "link error",
    "trap", "exit", "out of memory", "bad argument",
  };
  const char *kind = "unknown error";

  if ((size_t)err->kind < sizeof names / sizeof names[0])
    kind = names[err->kind];
  if (err->kind == KRAIT_OK || err->message[0] == '\0')
    snprintf(buf, n, "%s", kind);
  else
    snprintf(buf, n, "%s: %s", kind, err->message);
}

/* Reads a whole file into a malloc'd buffer. Returns 0, or -1 with errno
** set (EFBIG for a file too large to be a test module). */
static int read_all(const char *path, uint8_t **buf, size_t *len) {
  FILE *fp = fopen(path, "rb");
  long size;
  int ok;

  *buf = NULL;
  if (!fp)
    return -1;
  ok = fseek(fp, 0, SEEK_END) == 0 && (size = ftell(fp)) >= 0 &&
       fseek(fp, 0, SEEK_SET) == 0;
  if (ok && size > (1L << 30)) {
    errno = EFBIG;
    ok = 0;
  }
  if (ok)
    ok = (*buf = ku_malloc(size ? (size_t)size : 1)) != NULL &&
         fread(*buf, 1, (size_t)size, fp) == (size_t)size;
  fclose(fp);
  if (!ok) {
    ku_free(*buf);
    *buf = NULL;
    return -1;
  }
  *len = (size_t)size;
  return 0;
}

/* Keeps a loaded module for freeing after the store. Returns 0 or -1. */
static int keep_module(kt_file *f, krait_module *m) {
  krait_module **mods = ku_realloc(f->mods, (f->nmods + 1) * sizeof *mods);

  if (!mods)
    return -1;
  f->mods = mods;
  f->mods[f->nmods++] = m;
  return 0;
}

/* Reads cmd's "filename" (relative to the JSON file) and decodes it.
** LOAD_OK: *out is kept in f->mods. LOAD_REJECTED: the engine refused it,
** see *err. LOAD_FAILED: the file is missing or bad; already reported. */
static int load_module(kt_file *f, json_t *c, krait_module **out,
                       krait_error *err) {
  const char *name = str_member(c, "filename");
  char path[4096];
  uint8_t *bytes;
  size_t len;

  memset(err, 0, sizeof *err);
  if (!name) {
    kt_fail(f, "command has no \"filename\"");
    return LOAD_FAILED;
  }
  snprintf(path, sizeof path, "%s/%s", f->dir, name);
  if (read_all(path, &bytes, &len) != 0) {
    kt_fail(f, "cannot read %s: %s", path, strerror(errno));
    return LOAD_FAILED;
  }
  *out = krait_module_new(f->engine, bytes, len, err);
  ku_free(bytes);
  if (!*out)
    return LOAD_REJECTED;
  if (keep_module(f, *out) != 0) {
    krait_module_free(*out);
    kt_fail(f, "out of memory");
    return LOAD_FAILED;
  }
  return LOAD_OK;
}

/* The instance called name ("$M"), latest first; the current module when
** name is NULL. NULL when there is no such instance. */
static krait_instance *find_instance(kt_file *f, const char *name) {
  size_t i;

  if (!name)
    return f->current;
  for (i = f->nnamed; i-- > 0;)
    if (strcmp(f->named[i].name, name) == 0)
      return f->named[i].inst;
  return NULL;
}

/* Records inst under name. Returns 0, or -1 when out of memory. */
static int add_named(kt_file *f, const char *name, krait_instance *inst) {
  kt_named *named = ku_realloc(f->named, (f->nnamed + 1) * sizeof *named);

  if (!named)
    return -1;
  f->named = named;
  named[f->nnamed].name = ku_strdup(name);
  if (!named[f->nnamed].name)
    return -1;
  named[f->nnamed++].inst = inst;
  return 0;
}

/* `module`: loads and instantiates a module, which becomes the current
** one (and is recorded under its "name", if any). */
static void cmd_module(kt_file *f, json_t *c) {
  const char *name = str_member(c, "name");
  char msg[700];
  krait_module *m;
  krait_instance *inst;
  krait_error err;
  int rc;

  f->current = NULL;
  if (is_text(c)) {
    kt_skip_cmd(f, "text format");
    return;
  }
  rc = load_module(f, c, &m, &err);
  if (rc == LOAD_FAILED)
    return;
  describe(&err, msg, sizeof msg);
  if (rc == LOAD_REJECTED) {
    kt_fail(f, "module failed to load: %s", msg);
    return;
  }
  inst = krait_instantiate(f->linker, m, &err);
  describe(&err, msg, sizeof msg);
  if (!inst) {
    kt_fail(f, "instantiation failed: %s", msg);
    return;
  }
  f->current = inst;
  if (name && add_named(f, name, inst) != 0)
    kt_fail(f, "out of memory");
  else
    kt_pass(f, NULL);
}

/* `register`: makes an instance's exports importable under "as". */
static void cmd_register(kt_file *f, json_t *c) {
  const char *as = str_member(c, "as");
  const char *name = str_member(c, "name");
  krait_instance *inst = find_instance(f, name);

  if (!as)
    kt_fail(f, "register without \"as\"");
  else if (!inst)
    kt_fail(f, "no module %s to register", name ? name : "(current)");
  else if (krait_linker_define_instance(f->linker, as, inst) != 0)
    kt_fail(f, "registering as \"%s\" failed", as);
  else
    kt_pass(f, NULL);
}

/* Converts an action's "args" array. Returns KT_OK, KT_SKIP or KT_BAD
** (a->why says why). */
static int parse_args(json_t *jargs, krait_val *args, size_t *nargs,
                      kt_action *a) {
  size_t i;
  int rc;

  *nargs = json_array_size(jargs);
  if (jargs && !json_is_array(jargs)) {
    snprintf(a->why, sizeof a->why, "\"args\" is not an array");
    return KT_BAD;
  }
  if (*nargs > KT_MAX_VALS) {
    snprintf(a->why, sizeof a->why, "too many arguments (%zu)", *nargs);
    return KT_BAD;
  }
  for (i = 0; i < *nargs; i++) {
    rc = kt_val_from_json(json_array_get(jargs, i), &args[i], a->why,
                          sizeof a->why);
    if (rc != KT_OK)
      return rc;
  }
  return KT_OK;
}

/* Calls exported function field of inst with the action's arguments.
** Returns KT_OK once called (a->err says whether it trapped). */
static int run_invoke(kt_file *f, krait_instance *inst, json_t *act,
                      const char *field, size_t len, kt_action *a) {
  krait_val args[KT_MAX_VALS];
  krait_extern ext;
  const char *sig, *colon;
  size_t nargs;
  int rc;

  if (krait_instance_export_n(inst, field, len, &ext) != 0 ||
      ext.kind != KRAIT_EXTERN_FUNC) {
    snprintf(a->why, sizeof a->why, "no exported function \"%s\"", field);
    return KT_BAD;
  }
  rc = parse_args(json_object_get(act, "args"), args, &nargs, a);
  if (rc != KT_OK)
    return rc;
  sig = krait_func_signature(ext.of.func);
  colon = sig ? strchr(sig, ':') : NULL;
  a->nresults = colon ? strlen(colon + 1) : 0;
  if (a->nresults > KT_MAX_VALS) {
    snprintf(a->why, sizeof a->why, "too many results (%zu)", a->nresults);
    return KT_BAD;
  }
  memset(a->results, 0, a->nresults * sizeof a->results[0]);
  if (krait_func_call(f->store, ext.of.func, args, nargs, a->results,
                      a->nresults, &a->err) == 0)
    a->err.kind = KRAIT_OK;
  else if (a->err.kind == KRAIT_OK)
    a->err.kind = KRAIT_ERR_ARG;
  return KT_OK;
}

/* Reads exported global field of inst into a->results[0]. */
static int run_get(krait_instance *inst, const char *field, size_t len,
                   kt_action *a) {
  krait_extern ext;

  if (krait_instance_export_n(inst, field, len, &ext) != 0 ||
      ext.kind != KRAIT_EXTERN_GLOBAL) {
    snprintf(a->why, sizeof a->why, "no exported global \"%s\"", field);
    return KT_BAD;
  }
  a->results[0] = krait_global_get(ext.of.global);
  a->nresults = 1;
  return KT_OK;
}

/* The action's "field" and its length (Wasm names may hold NUL bytes), or
** NULL (a->why set, *rc KT_BAD) when it is missing. */
static const char *action_field(json_t *act, kt_action *a, int *rc,
                                size_t *len) {
  json_t *j = json_object_get(act, "field");
  const char *s = json_string_value(j);

  *rc = KT_BAD;
  if (!s) {
    snprintf(a->why, sizeof a->why, "action has no \"field\"");
    return NULL;
  }
  *len = json_string_length(j);
  return s;
}

/* Runs the command's "action" (invoke or get). Returns KT_OK when the
** action ran, trapped or not (a->err says), else KT_SKIP or KT_BAD with
** a->why. */
static int run_action(kt_file *f, json_t *c, kt_action *a) {
  json_t *act = json_object_get(c, "action");
  const char *type = str_member(act, "type");
  const char *mod = str_member(act, "module");
  const char *field;
  size_t field_len = 0;
  krait_instance *inst;
  int rc;

  memset(&a->err, 0, sizeof a->err);
  a->nresults = 0;
  if (!type) {
    snprintf(a->why, sizeof a->why, "command has no valid \"action\"");
    return KT_BAD;
  }
  if (!(field = action_field(act, a, &rc, &field_len)))
    return rc;
  if (!(inst = find_instance(f, mod))) {
    snprintf(a->why, sizeof a->why, "no module %s",
             mod ? mod : "(current module failed or missing)");
    return KT_BAD;
  }
  if (strcmp(type, "invoke") == 0)
    return run_invoke(f, inst, act, field, field_len, a);
  if (strcmp(type, "get") == 0)
    return run_get(inst, field, field_len, a);
  snprintf(a->why, sizeof a->why, "unknown action type \"%s\"", type);
  return KT_BAD;
}

/* Runs the action and reports skips and runner problems. Returns 1 when
** the caller should go on to check a->err and the results. */
static int action_ran(kt_file *f, json_t *c, kt_action *a) {
  int rc = run_action(f, c, a);

  if (rc == KT_SKIP)
    kt_skip_cmd(f, a->why);
  else if (rc == KT_BAD)
    kt_fail(f, "%s", a->why);
  return rc == KT_OK;
}

/* True when any expected value is a v128, which the runner skips. */
static int expects_v128(json_t *c) {
  json_t *exp = json_object_get(c, "expected");
  size_t i;

  for (i = 0; i < json_array_size(exp); i++)
    if (kt_val_is_v128(json_array_get(exp, i)))
      return 1;
  return 0;
}

/* Checks every result against "expected"; reports the outcome. */
static void check_results(kt_file *f, json_t *c, kt_action *a) {
  json_t *exp = json_object_get(c, "expected");
  size_t i;

  if (json_array_size(exp) != a->nresults) {
    kt_fail(f, "expected %zu results, got %zu", json_array_size(exp),
            a->nresults);
    return;
  }
  for (i = 0; i < a->nresults; i++) {
    if (kt_val_matches(json_array_get(exp, i), &a->results[i], a->why,
                       sizeof a->why) != 1) {
      kt_fail(f, "result %zu: %s", i, a->why);
      return;
    }
  }
  kt_pass(f, NULL);
}

/* `assert_return`: the action must succeed with the expected results. */
static void cmd_assert_return(kt_file *f, json_t *c) {
  kt_action a;
  char msg[700];

  if (expects_v128(c)) {
    kt_skip_cmd(f, "v128 result (SIMD not supported)");
    return;
  }
  if (!action_ran(f, c, &a))
    return;
  describe(&a.err, msg, sizeof msg);
  if (a.err.kind != KRAIT_OK)
    kt_fail(f, "expected results, got %s", msg);
  else
    check_results(f, c, &a);
}

/* `action`: the action must run without trapping. */
static void cmd_action(kt_file *f, json_t *c) {
  kt_action a;
  char msg[700];

  if (!action_ran(f, c, &a))
    return;
  describe(&a.err, msg, sizeof msg);
  if (a.err.kind != KRAIT_OK)
    kt_fail(f, "action failed: %s", msg);
  else
    kt_pass(f, NULL);
}

/* True when err is a trap that fits the expected text: our message
** contains it, or it starts with our trap kind's fixed message (the spec
** may add detail, as in "uninitialized element 2"). */
static int trap_matches(const krait_error *err, const char *text) {
  const char *fixed;

  if (err->kind != KRAIT_ERR_TRAP)
    return 0;
  if (!text || strstr(err->message, text))
    return 1;
  fixed = krait_trap_message(err->trap);
  return fixed && *fixed && strncmp(text, fixed, strlen(fixed)) == 0;
}

/* Reports whether err is the expected trap (note shown in -v mode). */
static void expect_trap(kt_file *f, const krait_error *err,
                        const char *text) {
  char msg[700];

  describe(err, msg, sizeof msg);
  if (trap_matches(err, text))
    kt_pass(f, msg);
  else
    kt_fail(f, "expected trap \"%s\", got %s", text ? text : "", msg);
}

/* `assert_uninstantiable` (and assert_trap on a module): the module loads
** but instantiating it traps with the expected text. */
static void cmd_assert_uninstantiable(kt_file *f, json_t *c) {
  krait_module *m;
  krait_error err;
  char msg[700];
  int rc;

  if (is_text(c)) {
    kt_skip_cmd(f, "text format");
    return;
  }
  rc = load_module(f, c, &m, &err);
  if (rc == LOAD_FAILED)
    return;
  describe(&err, msg, sizeof msg);
  if (rc == LOAD_REJECTED)
    kt_fail(f, "module failed to load: %s", msg);
  else if (krait_instantiate(f->linker, m, &err))
    kt_fail(f, "instantiated, expected trap \"%s\"",
            str_member(c, "text") ? str_member(c, "text") : "");
  else
    expect_trap(f, &err, str_member(c, "text"));
}

/* `assert_trap` and `assert_exhaustion`: the action traps with the
** expected text. */
static void cmd_assert_trap(kt_file *f, json_t *c) {
  kt_action a;

  if (!json_object_get(c, "action") && json_object_get(c, "filename")) {
    cmd_assert_uninstantiable(f, c);
    return;
  }
  if (!action_ran(f, c, &a))
    return;
  expect_trap(f, &a.err, str_member(c, "text"));
}

/* `assert_invalid` and `assert_malformed`: loading the binary module must
** fail (malformed, invalid or unsupported); text modules are skipped. */
static void cmd_assert_invalid(kt_file *f, json_t *c) {
  const char *text = str_member(c, "text");
  krait_module *m;
  krait_error err;
  char msg[700];
  int rc;

  if (is_text(c)) {
    kt_skip_cmd(f, "text format");
    return;
  }
  rc = load_module(f, c, &m, &err);
  if (rc == LOAD_FAILED)
    return;
  describe(&err, msg, sizeof msg);
  if (rc == LOAD_OK)
    kt_fail(f, "module loaded, expected \"%s\"", text ? text : "");
  else if (err.kind == KRAIT_ERR_MALFORMED || err.kind == KRAIT_ERR_INVALID ||
           err.kind == KRAIT_ERR_UNSUPPORTED)
    kt_pass(f, msg);
  else
    kt_fail(f, "expected \"%s\", got %s", text ? text : "", msg);
}

/* `assert_unlinkable`: the module loads but instantiating it fails with a
** link error. */
static void cmd_assert_unlinkable(kt_file *f, json_t *c) {
  const char *text = str_member(c, "text");
  krait_module *m;
  krait_error err;
  char msg[700];
  int rc;

  if (is_text(c)) {
    kt_skip_cmd(f, "text format");
    return;
  }
  rc = load_module(f, c, &m, &err);
  if (rc == LOAD_FAILED)
    return;
  describe(&err, msg, sizeof msg);
  if (rc == LOAD_REJECTED) {
    kt_fail(f, "module failed to load: %s", msg);
    return;
  }
  if (krait_instantiate(f->linker, m, &err)) {
    kt_fail(f, "instantiated, expected link error \"%s\"", text ? text : "");
    return;
  }
  describe(&err, msg, sizeof msg);
  if (err.kind == KRAIT_ERR_LINK)
    kt_pass(f, msg);
  else
    kt_fail(f, "expected link error \"%s\", got %s", text ? text : "", msg);
}

/* The handler of each command type. */
static const struct {
  const char *type;
  void (*run)(kt_file *f, json_t *c);
} kt_handlers[] = {
  {"module", cmd_module},
  {"register", cmd_register},
  {"action", cmd_action},
  {"assert_return", cmd_assert_return},
  {"assert_trap", cmd_assert_trap},
  {"assert_exhaustion", cmd_assert_trap},
  {"assert_invalid", cmd_assert_invalid},
  {"assert_malformed", cmd_assert_invalid},
  {"assert_unlinkable", cmd_assert_unlinkable},
  {"assert_uninstantiable", cmd_assert_uninstantiable},
};

/* Runs one command object: honours a "file.json:LINE" skip entry, then
** dispatches on "type". A skipped module command leaves no current
** module, so later commands cannot silently use an older one. */
void kt_run_command(kt_file *f, json_t *c) {
  char key[600];
  const char *reason;
  size_t i;

  f->cmd = str_member(c, "type");
  f->line = (long)json_integer_value(json_object_get(c, "line"));
  if (!f->cmd)
    f->cmd = "?";
  snprintf(key, sizeof key, "%s:%ld", f->base, f->line);
  if ((reason = kt_skips_find(f->skips, key))) {
    if (strcmp(f->cmd, "module") == 0)
      f->current = NULL;
    kt_skip_cmd(f, reason);
    return;
  }
  for (i = 0; i < sizeof kt_handlers / sizeof kt_handlers[0]; i++) {
    if (strcmp(f->cmd, kt_handlers[i].type) == 0) {
      kt_handlers[i].run(f, c);
      return;
    }
  }
  kt_fail(f, "unknown command type");
}
