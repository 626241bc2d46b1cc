/*
** wast.c -- `krait wast`: options, the loop over JSON files, reporting.
** Owns per-file engine/store/linker setup and teardown and the totals.
** Does not own individual commands (command.c) or spectest (spectest.c).
*/
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "wast/wast.h"
#include "wast/wast_internal.h"
#include "util/util.h"

/* Command-line options. */
typedef struct kt_opts {
  krait_bounds bounds;
  krait_tier tier;
  int verbose;
  kt_skiplist skips;
} kt_opts;

static const char kt_usage[] =
    "usage: krait wast [--bounds guard|explicit] [--tier interp|aot] "
    "[--skip FILE] [-v] "
    "FILE.json...\n";

/* Counts the running command as passed; -v prints it with note. */
void kt_pass(kt_file *f, const char *note) {
  f->counts.passed++;
  if (f->verbose)
    printf("  ok   %s:%ld %s%s%s\n", f->path, f->line, f->cmd,
           note ? " -- " : "", note ? note : "");
}

/* Counts the running command (or the file, before any command) as failed
** and prints why, always. */
void kt_fail(kt_file *f, const char *fmt, ...) {
  va_list ap;

  f->counts.failed++;
  if (f->cmd)
    printf("  FAIL %s:%ld %s: ", f->path, f->line, f->cmd);
  else
    printf("  FAIL %s: ", f->path);
  va_start(ap, fmt);
  vprintf(fmt, ap);
  va_end(ap);
  printf("\n");
}

/* Counts the running command as skipped; -v prints the reason. */
void kt_skip_cmd(kt_file *f, const char *reason) {
  f->counts.skipped++;
  if (f->verbose)
    printf("  skip %s:%ld %s: %s\n", f->path, f->line, f->cmd, reason);
}

/* Parses a --bounds value. Returns 0, or -1 if it is neither mode. */
static int parse_bounds(const char *s, krait_bounds *out) {
  if (strcmp(s, "guard") == 0)
    *out = KRAIT_BOUNDS_GUARD;
  else if (strcmp(s, "explicit") == 0)
    *out = KRAIT_BOUNDS_EXPLICIT;
  else
    return -1;
  return 0;
}

/* Handles an option that takes a value (--bounds, --skip), given either
** as "--opt=value" or "--opt value". Returns 0 or -1 after an error. */
static int value_opt(int argc, char **argv, int *i, kt_opts *o) {
  const char *arg = argv[*i];
  int is_skip = strncmp(arg, "--skip", 6) == 0;
  int is_tier = strncmp(arg, "--tier", 6) == 0;
  const char *val = strchr(arg, '=');

  if (val)
    val++;
  else if (*i + 1 < argc)
    val = argv[++*i];
  else {
    fprintf(stderr, "krait wast: %s needs a value\n%s", arg, kt_usage);
    return -1;
  }
  if (is_skip)
    return kt_skips_load(&o->skips, val);
  if (is_tier) {
    if (strcmp(val, "interp") == 0 || strcmp(val, "aot") == 0) {
      o->tier = val[0] == 'a' ? KRAIT_TIER_AOT : KRAIT_TIER_INTERP;
      return 0;
    }
    fprintf(stderr, "krait wast: bad --tier \"%s\" (interp or aot)\n", val);
    return -1;
  }
  if (parse_bounds(val, &o->bounds) == 0)
    return 0;
  fprintf(stderr, "krait wast: bad --bounds \"%s\" (guard or explicit)\n",
          val);
  return -1;
}

/* True when arg is option name, alone or as "name=value". */
static int is_opt(const char *arg, const char *name) {
  size_t n = strlen(name);

  return strncmp(arg, name, n) == 0 && (arg[n] == '\0' || arg[n] == '=');
}

/* Parses options. Returns the index of the first file, 0 for --help, or
** -1 after printing an error. */
static int parse_opts(int argc, char **argv, kt_opts *o) {
  int i;

  for (i = 1; i < argc && argv[i][0] == '-'; i++) {
    if (strcmp(argv[i], "--") == 0)
      return i + 1;
    if (strcmp(argv[i], "-v") == 0 || strcmp(argv[i], "--verbose") == 0)
      o->verbose = 1;
    else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
      return 0;
    else if (is_opt(argv[i], "--bounds") || is_opt(argv[i], "--skip") ||
             is_opt(argv[i], "--tier")) {
      if (value_opt(argc, argv, &i, o) != 0)
        return -1;
    } else {
      fprintf(stderr, "krait wast: unknown option %s\n%s", argv[i], kt_usage);
      return -1;
    }
  }
  return i;
}

/* Loads the JSON file and its "commands" array. Returns the root (to be
** json_decref'd), or NULL after reporting a failure naming the file. */
static json_t *load_json(kt_file *f, json_t **commands) {
  json_error_t jerr;
  json_t *root = json_load_file(f->path, JSON_ALLOW_NUL, &jerr);

  if (!root) {
    if (jerr.line > 0)
      kt_fail(f, "bad JSON at line %d: %s", jerr.line, jerr.text);
    else
      kt_fail(f, "cannot load JSON: %s", jerr.text);
    return NULL;
  }
  *commands = json_object_get(root, "commands");
  if (!json_is_array(*commands)) {
    kt_fail(f, "no \"commands\" array (not a wast2json file?)");
    json_decref(root);
    return NULL;
  }
  return root;
}

/* Creates the file's engine, store and linker and defines spectest.
** Returns 0, or -1 after reporting a failure. */
static int setup(kt_file *f, const kt_opts *o) {
  krait_config cfg;
  krait_error err;

  krait_config_default(&cfg);
  cfg.bounds = o->bounds;
  cfg.tier = o->tier;
  memset(&err, 0, sizeof err);
  f->engine = krait_engine_new(&cfg, &err);
  if (!f->engine) {
    kt_fail(f, "cannot create engine: %s", err.message);
    return -1;
  }
  f->store = krait_store_new(f->engine);
  if (f->store) {
    krait_store_set_data(f->store, f);
    f->linker = krait_linker_new(f->store);
  }
  if (!f->linker || kt_spectest_define(f) != 0) {
    kt_fail(f, "cannot set up store, linker and spectest module");
    return -1;
  }
  return 0;
}

/* Frees everything a file created: linker and store before the modules
** their instances use, then the engine. */
static void teardown(kt_file *f) {
  size_t i;

  if (f->linker)
    krait_linker_free(f->linker);
  if (f->store)
    krait_store_free(f->store);
  for (i = 0; i < f->nmods; i++)
    krait_module_free(f->mods[i]);
  if (f->engine)
    krait_engine_free(f->engine);
  for (i = 0; i < f->nnamed; i++)
    ku_free(f->named[i].name);
  ku_free(f->named);
  ku_free(f->mods);
  ku_free(f->dir);
}

/* The directory part of path ("." when there is none), malloc'd. */
static char *dir_of(const char *path) {
  const char *slash = strrchr(path, '/');

  if (!slash)
    return ku_strdup(".");
  if (slash == path)
    return ku_strdup("/");
  return ku_strndup(path, (size_t)(slash - path));
}

/* Counts a whole file listed in the skip file as skipped: all of its
** commands when it can be read, else one. */
static void skip_file(kt_file *f, const char *reason) {
  json_t *root = json_load_file(f->path, JSON_ALLOW_NUL, NULL);
  size_t n = json_array_size(json_object_get(root, "commands"));

  f->counts.skipped += n ? n : 1;
  printf("  skip %s: %s\n", f->path, reason);
  json_decref(root);
}

/* Runs every command of a loaded JSON file in a fresh engine and store. */
static void run_json(kt_file *f, const kt_opts *o) {
  json_t *commands = NULL;
  json_t *root = load_json(f, &commands);
  size_t i;

  if (!root)
    return;
  if (o->tier == KRAIT_TIER_AOT)
    kt_aot_prepare(f, commands, o->bounds);
  if (setup(f, o) == 0) {
    for (i = 0; i < json_array_size(commands); i++)
      kt_run_command(f, json_array_get(commands, i));
  }
  json_decref(root);
}

/* Runs one JSON file, prints its summary line and adds to *tot. */
static void run_file(const char *path, const kt_opts *o, kt_counts *tot) {
  const char *slash = strrchr(path, '/');
  const char *reason;
  kt_file f;

  memset(&f, 0, sizeof f);
  f.path = path;
  f.base = slash ? slash + 1 : path;
  f.skips = &o->skips;
  f.verbose = o->verbose;
  f.dir = dir_of(path);
  if ((reason = kt_skips_find(&o->skips, f.base)))
    skip_file(&f, reason);
  else if (!f.dir)
    kt_fail(&f, "out of memory");
  else
    run_json(&f, o);
  teardown(&f);
  printf("%s: %lu passed, %lu failed, %lu skipped\n", path, f.counts.passed,
         f.counts.failed, f.counts.skipped);
  tot->passed += f.counts.passed;
  tot->failed += f.counts.failed;
  tot->skipped += f.counts.skipped;
}

/* Entry point of `krait wast` (see wast.h). */
int kt_wast_main(int argc, char **argv) {
  kt_opts o;
  kt_counts tot;
  int first, i;

  memset(&o, 0, sizeof o);
  memset(&tot, 0, sizeof tot);
  o.bounds = KRAIT_BOUNDS_GUARD;
  setvbuf(stdout, NULL, _IOLBF, 0);
  first = parse_opts(argc, argv, &o);
  if (first > 0 && first >= argc) {
    fprintf(stderr, "krait wast: no JSON files given\n%s", kt_usage);
    first = -1;
  }
  if (first == 0)
    printf("%s", kt_usage);
  for (i = first; first > 0 && i < argc; i++)
    run_file(argv[i], &o, &tot);
  if (first > 0)
    printf("%lu passed, %lu failed, %lu skipped\n", tot.passed, tot.failed,
           tot.skipped);
  kt_skips_free(&o.skips);
  if (first <= 0)
    return first == 0 ? 0 : 2;
  return tot.failed ? 1 : 0;
}
