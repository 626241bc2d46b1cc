/*
** wast_internal.h -- shared state and helpers of the spec-test runner.
** Owns the per-file state (kt_file), the skip list and value helpers' API.
** Does not own the engine (include/krait.h) or CLI dispatch (src/cli/).
*/
#ifndef KT_WAST_INTERNAL_H
#define KT_WAST_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "krait.h"

/* Most arguments or results one action may have. */
#define KT_MAX_VALS 256

/* One `pattern  reason` line of a --skip file. The pattern is an fnmatch
** pattern over a JSON basename ("f.json") or a command ("f.json:LINE"). */
typedef struct kt_skip {
  char *pattern;
  char *reason;
} kt_skip;

/* Every entry of the --skip files given on the command line. */
typedef struct kt_skiplist {
  kt_skip *items;
  size_t count;
} kt_skiplist;

/* A module instance registered under its wast name ("$M1"). */
typedef struct kt_named {
  char *name;
  krait_instance *inst;
} kt_named;

/* Pass/fail/skip counters. */
typedef struct kt_counts {
  unsigned long passed, failed, skipped;
} kt_counts;

/* Everything the runner keeps while running one JSON file. */
typedef struct kt_file {
  const char *path;          /* the JSON file as named on the command line */
  const char *base;          /* its basename, for skip entries */
  char *dir;                 /* its directory, where the .wasm files are */
  const kt_skiplist *skips;
  int verbose;
  krait_engine *engine;
  krait_store *store;
  krait_linker *linker;
  krait_instance *current;   /* the most recent module command's instance */
  kt_named *named;
  size_t nnamed;
  krait_module **mods;       /* every module loaded; freed after the store */
  size_t nmods;
  long line;                 /* the running command's JSON "line" */
  const char *cmd;           /* the running command's "type" */
  kt_counts counts;
} kt_file;

/* Outcome of converting or running something that may be skipped. */
enum { KT_OK = 0, KT_SKIP = 1, KT_BAD = -1 };

/* Result reporting for the running command (f->line, f->cmd). */
void kt_pass(kt_file *f, const char *note);
void kt_fail(kt_file *f, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void kt_skip_cmd(kt_file *f, const char *reason);

/* Runs one command object of the JSON "commands" array. */
void kt_run_command(kt_file *f, json_t *cmd);

/* Defines the `spectest` host module in f->linker. Returns 0 or -1. */
int kt_spectest_define(kt_file *f);

/* Skip list: load (appending) from a file, look up, free. */
int kt_skips_load(kt_skiplist *list, const char *path);
const char *kt_skips_find(const kt_skiplist *list, const char *key);
void kt_skips_free(kt_skiplist *list);

/* Values: argument conversion, expectation check, text for messages. */
int kt_val_from_json(json_t *j, krait_val *out, char *why, size_t n);
int kt_val_is_v128(json_t *j);
int kt_val_matches(json_t *j, const krait_val *got, char *why, size_t n);
void kt_val_format(const krait_val *v, char *buf, size_t n);

/* aotprep.c: compiles the native code of every valid binary module the
** commands name in one compiler run (the AOT tier), so that making each
** module later finds it. Failures are left for the commands to report. */
void kt_aot_prepare(kt_file *f, json_t *commands, krait_bounds bounds);

#endif
