/*
** run.c -- `krait run`: load a module, link WASI, call _start or --invoke.
** Owns the run options, error reporting and exit statuses; not the value
** syntax (value.c, parse.c) nor WASI itself (src/wasi/).
*/
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "app/app.h"
#include "util/util.h"
#include "krait_host.h"

extern char **environ;

const char kc_run_usage[] =
  "Usage: krait run [options] FILE.wasm [ARGS...]\n"
  "\n"
  "Instantiates FILE.wasm with WASI (wasi_snapshot_preview1) and calls its\n"
  "'_start' export. The guest sees FILE.wasm as argv[0], then ARGS; options\n"
  "go before FILE.wasm, everything after it belongs to the guest. The guest\n"
  "gets no environment variables except those given with --env.\n"
  "\n"
  "Options:\n"
  "  --invoke NAME        Call the exported function NAME instead of _start\n"
  "                       (after '_initialize', if exported). ARGS are its\n"
  "                       parameters: integers in decimal or 0x hex, floats\n"
  "                       such as 1.5, -0x1p-3, nan, inf. Each result is\n"
  "                       printed on its own line.\n"
  "  --env KEY=VALUE      Set a guest environment variable (repeatable);\n"
  "                       --env KEY passes the host's value of KEY.\n"
  "  --dir HOST[::GUEST[:ro]]\n"
  "                       Preopen host directory HOST as GUEST (default:\n"
  "                       HOST itself) for the guest's file calls, which\n"
  "                       cannot reach outside it; ':ro' makes it\n"
  "                       read-only (writes fail with ENOTCAPABLE).\n"
  "                       Repeatable; guest fds 3, 4, ... in order.\n"
  "  --fuel N             Trap once N units of fuel are spent (one per call\n"
  "                       and per instruction of each loop iteration).\n"
  "  --timeout TIME       Trap after TIME of wall-clock time: seconds (2,\n"
  "                       0.5) or with a unit (500ms, 2s, 100us, 10ns).\n"
  "  --max-memory BYTES   Cap every linear memory at BYTES; K, M and G\n"
  "                       multiply by 1024, 1024^2 and 1024^3.\n"
  "  --max-disk BYTES     Cap the bytes the guest may add to host files\n"
  "                       (writes, allocate, truncate upwards; K, M, G as\n"
  "                       above): past it writes stop short, then fail\n"
  "                       with ENOSPC. Shrinking a file gives bytes back,\n"
  "                       deleting one does not. Default: no limit.\n"
  "  --bounds MODE        Memory bounds checks: 'guard' (guard pages, the\n"
  "                       default) or 'explicit' (checked accesses).\n"
  "  --tier TIER          How code runs: 'interp' (the default), 'aot'\n"
  "                       (compiled to native code with the system C\n"
  "                       compiler, cached; see krait compile) or 'auto'\n"
  "                       (native code when already compiled). Default:\n"
  "                       $KRAIT_TIER, else interp.\n"
  "  -h, --help           Show this help.\n"
  "\n"
  "Exit status: the guest's proc_exit code; 0 when the called function\n"
  "returns; 134 when the guest traps (128+SIGABRT, as wasmtime); 1 when\n"
  "FILE.wasm cannot be read, decoded, validated or linked; 2 for a bad\n"
  "command line (including --invoke arguments that do not fit).\n";

/* The options of `krait run`. */
enum {
  KC_OPT_INVOKE, KC_OPT_ENV, KC_OPT_DIR, KC_OPT_FUEL, KC_OPT_TIMEOUT,
  KC_OPT_MAX_MEMORY, KC_OPT_MAX_DISK, KC_OPT_BOUNDS, KC_OPT_TIER, KC_OPT_HELP
};

static const struct {
  const char *name;
  int id;
  int takes_value;
} kc_opts[] = {
  { "--invoke", KC_OPT_INVOKE, 1 },   { "--env", KC_OPT_ENV, 1 },
  { "--dir", KC_OPT_DIR, 1 },         { "--fuel", KC_OPT_FUEL, 1 },
  { "--timeout", KC_OPT_TIMEOUT, 1 }, { "--max-memory", KC_OPT_MAX_MEMORY, 1 },
  { "--max-disk", KC_OPT_MAX_DISK, 1 },
  { "--bounds", KC_OPT_BOUNDS, 1 },   { "--tier", KC_OPT_TIER, 1 },
  { "--help", KC_OPT_HELP, 0 },
  { "-h", KC_OPT_HELP, 0 },
};

/* Prints a usage error for the command o parses (`krait run` or `krait
** python`) and returns exit status 2. */
#define KC_BAD(...) kc_usage_error(o->cmd, o->usage, __VA_ARGS__)

/* Adds "KEY=VALUE" to the guest environment, replacing an earlier KEY. */
void kc_env_put(kc_run_opts *o, const char *kv) {
  size_t klen = strcspn(kv, "=");
  for (int i = 0; i < o->envc; i++)
    if (strncmp(o->envp[i], kv, klen + 1) == 0) {
      o->envp[i] = kv;
      return;
    }
  o->envp[o->envc++] = kv;
}

/* --env KEY=VALUE, or --env KEY for the host's KEY (skipped when unset). */
static int kc_opt_env(kc_run_opts *o, const char *value) {
  size_t klen = strcspn(value, "=");
  if (klen == 0)
    return KC_BAD("bad --env value '%s' (expected KEY=VALUE)", value);
  if (value[klen] == '=') {
    kc_env_put(o, value);
    return -1;
  }
  for (char **e = environ; e && *e; e++)
    if (strncmp(*e, value, klen) == 0 && (*e)[klen] == '=')
      kc_env_put(o, *e);
  return -1;
}

/* --dir HOST[::GUEST[:ro]] (wasmtime's spelling): splits the value into
** a preopen; the host directory must exist. */
static int kc_opt_dir(kc_run_opts *o, const char *value) {
  const char *sep = strstr(value, "::");
  krait_wasi_preopen *d = &o->dirs[o->ndirs];
  size_t glen;
  struct stat sb;
  if (value[0] == '\0' || sep == value || (sep && sep[2] == '\0'))
    return KC_BAD("bad --dir value '%s' (expected HOST[::GUEST[:ro]])",
                  value);
  d->host_path = sep ? ku_strndup(value, (size_t)(sep - value)) : ku_strdup(value);
  if (sep) {
    glen = strlen(sep + 2);
    d->read_only = glen > 3 && strcmp(sep + 2 + glen - 3, ":ro") == 0;
    d->guest_path = ku_strndup(sep + 2, glen - (d->read_only ? 3 : 0));
  }
  o->ndirs++;
  if (!d->host_path || (sep && !d->guest_path))
    return KC_BAD("out of memory");
  if (stat(d->host_path, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
    fprintf(stderr, "Error: cannot preopen '%s': %s\n", d->host_path,
            stat(d->host_path, &sb) != 0 ? strerror(errno)
                                         : "not a directory");
    return KC_EXIT_ERROR;
  }
  return -1;
}

/* Applies one option. Returns -1 to go on, or an exit status. */
static int kc_opt_apply(kc_run_opts *o, int id, const char *name,
                        const char *value) {
  uint64_t n = 0;
  switch (id) {
  case KC_OPT_INVOKE: o->invoke = value; return -1;
  case KC_OPT_ENV: return kc_opt_env(o, value);
  case KC_OPT_DIR: return kc_opt_dir(o, value);
  case KC_OPT_FUEL:
    if (kc_parse_u64(value, &n) != 0)
      return KC_BAD("bad %s value '%s' (expected an integer)", name, value);
    o->cfg.fuel = n;
    return -1;
  case KC_OPT_TIMEOUT:
    if (kc_parse_duration(value, &n) != 0)
      return KC_BAD("bad %s value '%s' (expected e.g. 2, 0.5, 500ms)", name,
                    value);
    o->cfg.timeout_ns = n;
    return -1;
  case KC_OPT_MAX_MEMORY:
    if (kc_parse_size(value, &n) != 0 || n == 0)
      return KC_BAD("bad %s value '%s' (expected bytes, e.g. 65536, 64K, "
                    "16M, 1G)", name, value);
    o->cfg.max_memory_bytes = n;
    return -1;
  case KC_OPT_MAX_DISK:
    if (kc_parse_size(value, &n) != 0 || n == 0)
      return KC_BAD("bad %s value '%s' (expected bytes above 0, e.g. "
                    "65536, 64K, 16M, 1G)", name, value);
    o->max_disk = n;
    return -1;
  case KC_OPT_BOUNDS:
    if (strcmp(value, "guard") == 0)
      o->cfg.bounds = KRAIT_BOUNDS_GUARD;
    else if (strcmp(value, "explicit") == 0)
      o->cfg.bounds = KRAIT_BOUNDS_EXPLICIT;
    else
      return KC_BAD("bad %s value '%s' (expected guard or explicit)", name,
                    value);
    return -1;
  case KC_OPT_TIER:
    if (kc_parse_tier(value, &o->cfg.tier) != 0)
      return KC_BAD("bad %s value '%s' (expected interp, aot or auto)", name,
                    value);
    return -1;
  default:
    fputs(o->usage, stdout);
    return KC_EXIT_OK;
  }
}

/* Whether arg ("--name" or "--name=value") is one of the options above. */
int kc_opt_known(const char *arg) {
  size_t nlen = strcspn(arg, "=");
  for (size_t k = 0; k < sizeof kc_opts / sizeof kc_opts[0]; k++)
    if (strlen(kc_opts[k].name) == nlen &&
        strncmp(arg, kc_opts[k].name, nlen) == 0)
      return 1;
  return 0;
}

/* Parses one option at argv[*i] ("--name value" or "--name=value"),
** advancing *i past its value. Returns -1 to go on, or an exit status. */
int kc_opt_one(kc_run_opts *o, int argc, char **argv, int *i) {
  const char *arg = argv[*i], *eq = strchr(arg, '=');
  size_t nlen = eq ? (size_t)(eq - arg) : strlen(arg);
  for (size_t k = 0; k < sizeof kc_opts / sizeof kc_opts[0]; k++) {
    const char *name = kc_opts[k].name;
    if (strlen(name) != nlen || strncmp(arg, name, nlen) != 0)
      continue;
    if (!kc_opts[k].takes_value)
      return eq ? KC_BAD("option '%s' takes no value", name)
                : kc_opt_apply(o, kc_opts[k].id, name, NULL);
    if (!eq && *i + 1 >= argc)
      return KC_BAD("option '%s' needs a value", name);
    return kc_opt_apply(o, kc_opts[k].id, name, eq ? eq + 1 : argv[++*i]);
  }
  return KC_BAD("unknown option '%.*s'", (int)nlen, arg);
}

/* Parses `run [options] FILE [ARGS...]` (argv[0] is "run"). Returns -1
** when o is ready to run, or an exit status. */
static int kc_run_parse(kc_run_opts *o, int argc, char **argv) {
  int i = 1, rc;
  for (; i < argc && argv[i][0] == '-' && argv[i][1] != '\0'; i++) {
    if (strcmp(argv[i], "--") == 0) {
      i++;
      break;
    }
    if ((rc = kc_opt_one(o, argc, argv, &i)) >= 0)
      return rc;
  }
  if (i >= argc)
    return KC_BAD("no module file given");
  o->module_path = argv[i];
  o->guest_argc = argc - i;
  o->guest_argv = argv + i;
  return -1;
}

/* Reports a failed load, link or call; returns the exit status for it:
** the exit code for proc_exit, 134 for a trap, else 1. */
static int kc_report(const krait_error *err, const char *what,
                     const char *file) {
  switch (err->kind) {
  case KRAIT_ERR_EXIT:
    return err->exit_code;
  case KRAIT_ERR_TRAP:
    fprintf(stderr, "Error: %s\n", err->message[0]
                                       ? err->message
                                       : krait_trap_message(err->trap));
    return KC_EXIT_TRAP;
  default:
    fprintf(stderr, "Error: failed to %s '%s': %s\n", what, file,
            err->message[0] ? err->message : "unknown error");
    return KC_EXIT_ERROR;
  }
}

/* Looks up an exported function; NULL (with a message when loud) if the
** export is missing or not a function. */
static krait_func *kc_export_func(krait_instance *inst, const char *name,
                                  const char *file, int loud) {
  static const char *kinds[] = { "function", "table", "memory", "global" };
  krait_extern ext;
  if (krait_instance_export(inst, name, &ext) != 0) {
    if (loud)
      fprintf(stderr, "Error: '%s' exports no function '%s'\n", file, name);
    return NULL;
  }
  if (ext.kind != KRAIT_EXTERN_FUNC) {
    if (loud)
      fprintf(stderr, "Error: export '%s' of '%s' is a %s, not a function\n",
              name, file, kinds[ext.kind & 3]);
    return NULL;
  }
  return ext.of.func;
}

/* Calls a () -> () function, reporting failure. Returns an exit status. */
static int kc_call_void(krait_store *store, krait_func *f, const char *name,
                        const char *file) {
  krait_error err;
  const char *sig = krait_func_signature(f);
  if (strcmp(sig, ":") != 0) {
    fprintf(stderr, "Error: '%s' in '%s' must take no parameters and "
                    "return nothing, but its type is '%s'\n", name, file, sig);
    return KC_EXIT_ERROR;
  }
  memset(&err, 0, sizeof err);
  if (krait_func_call(store, f, NULL, 0, NULL, 0, &err) != 0)
    return kc_report(&err, "run", file);
  return KC_EXIT_OK;
}

/* Runs a WASI command: its _start export. */
static int kc_start(krait_store *store, krait_instance *inst,
                    const char *file) {
  krait_func *f = kc_export_func(inst, "_start", file, 0);
  if (!f) {
    fprintf(stderr, "Error: '%s' has no '_start' function to run (it is "
                    "not a WASI command); use --invoke NAME to call one of "
                    "its exported functions\n", file);
    return KC_EXIT_ERROR;
  }
  return kc_call_void(store, f, "_start", file);
}

/* Parses the --invoke arguments by the parameter letters of sig into
** args. Returns -1 when all fit, or the usage-error exit status (after a
** one-line message; the whole usage would bury it). */
static int kc_invoke_args(const kc_run_opts *o, const char *sig,
                          krait_val *args) {
  size_t np = strcspn(sig, ":");
  int given = o->guest_argc - 1;
  if ((size_t)given != np) {
    fprintf(stderr, "krait run: '%s' takes %zu argument%s (type '%s'), "
            "%d given\n", o->invoke, np, np == 1 ? "" : "s", sig, given);
    return KC_EXIT_USAGE;
  }
  for (size_t i = 0; i < np; i++) {
    const char *text = o->guest_argv[i + 1];
    if (kc_parse_val(text, sig[i], &args[i]) != 0) {
      fprintf(stderr, "krait run: argument %zu of '%s' is %s, not '%s'\n",
              i + 1, o->invoke, kc_type_name(sig[i]), text);
      return KC_EXIT_USAGE;
    }
  }
  return -1;
}

/* --invoke NAME: calls _initialize if exported (a WASI reactor), then NAME
** with the parsed arguments, and prints each result on its own line. */
static int kc_invoke(krait_store *store, krait_instance *inst,
                     const kc_run_opts *o) {
  const char *file = o->module_path;
  krait_func *init = kc_export_func(inst, "_initialize", file, 0);
  krait_func *f = kc_export_func(inst, o->invoke, file, 1);
  const char *sig;
  size_t np, nr;
  krait_val *vals;
  krait_error err;
  int rc;
  if (!f)
    return KC_EXIT_ERROR;
  sig = krait_func_signature(f);
  np = strcspn(sig, ":");
  nr = strlen(sig) - np - (sig[np] == ':');
  vals = ku_calloc(np + nr + 1, sizeof *vals);
  if (!vals) {
    fputs("Error: out of memory\n", stderr);
    return KC_EXIT_ERROR;
  }
  if ((rc = kc_invoke_args(o, sig, vals)) >= 0)
    goto done;
  if (init && strcmp(o->invoke, "_initialize") != 0 &&
      (rc = kc_call_void(store, init, "_initialize", file)) != 0)
    goto done;
  memset(&err, 0, sizeof err);
  rc = KC_EXIT_OK;
  if (krait_func_call(store, f, vals, np, vals + np, nr, &err) != 0)
    rc = kc_report(&err, "run", file);
  for (size_t i = 0; rc == KC_EXIT_OK && i < nr; i++) {
    char buf[400];
    kc_format_val(&vals[np + i], buf, sizeof buf);
    printf("%s\n", buf);
  }
done:
  ku_free(vals);
  return rc;
}

/* Instantiates the module with WASI in a fresh store and runs it. */
static int kc_instantiate_run(krait_engine *engine, krait_module *module,
                              const kc_run_opts *o) {
  const char *file = o->module_path;
  krait_store *store = krait_store_new(engine);
  krait_linker *linker = store ? krait_linker_new(store) : NULL;
  krait_wasi_config wc = {
    o->guest_argc, (const char *const *)o->guest_argv,
    o->envc, o->envp, STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO,
    o->ndirs, o->dirs, o->max_disk
  };
  krait_instance *inst;
  krait_error err;
  int rc = KC_EXIT_ERROR;
  struct ka_ctx *net = NULL;   /* krait python: the net.* operations */
  bool python = !strcmp(o->cmd, "python");
  memset(&err, 0, sizeof err);
  bool ready = linker && kw_define(linker, &wc, &o->wasi) == 0 &&
               (python ? (net = ka_define_cli(linker, &o->net)) != NULL : ka_define_stubs(linker) == 0);
  if (net && o->llm)
    ka_cli_llm(net, o->llm);   /* --llm-model: the llm.* operations too */
  if (!ready)
    fprintf(stderr, "Error: cannot set up WASI: %s\n", strerror(errno));
  else if (!(inst = krait_instantiate(linker, module, &err)))
    rc = kc_report(&err, "instantiate", file);
  else
    rc = o->invoke ? kc_invoke(store, inst, o) : kc_start(store, inst, file);
  ka_cli_end(net);
  if (linker)
    krait_linker_free(linker);
  if (store)
    krait_store_free(store);
  return rc;
}

/* Reads, decodes and validates o->module_path, then runs it. The file is
** loaded with krait_module_load, so its hash is remembered for the next
** start (krait_host.h). */
int kc_run_module(const kc_run_opts *o) {
  const char *file = o->module_path;
  krait_engine *engine;
  krait_module *module;
  krait_error err;
  int rc;
  memset(&err, 0, sizeof err);
  engine = krait_engine_new(&o->cfg, &err);
  if (!engine)
    return kc_report(&err, "configure the engine for", file);
  module = krait_module_load(engine, file, &err);
  if (!module && err.kind == KRAIT_ERR_IO && strncmp(err.message, "cannot read '", 13) == 0) {
    fprintf(stderr, "Error: %s\n", err.message);
    rc = KC_EXIT_ERROR;
  } else if (!module)
    rc = kc_report(&err, "load", file);
  else
    rc = kc_instantiate_run(engine, module, o);
  if (module)
    krait_module_free(module);
  krait_engine_free(engine);
  return rc;
}

/* Prepares o for a command line of argc words: room for every --env and
** --dir it can hold plus KC_OPTS_EXTRA more. Returns 0, or -1 when out of
** memory (after a message). */
int kc_opts_init(kc_run_opts *o, int argc, const char *cmd, const char *usage) {
  memset(o, 0, sizeof *o);
  o->wasi.watch = -1;
  ko_allow_init(&o->net, KO_FROM_CLI);
  o->cmd = cmd;
  o->usage = usage;
  krait_config_default(&o->cfg);
  /* $KRAIT_TIER sets the default tier, so whole test tiers (python,
  ** guest, wasi-full) can run under another tier unchanged; krait python
  ** runs native code when it is compiled (auto), krait run interprets */
  o->cfg.tier = kc_default_tier(strcmp(cmd, "python") == 0 ? KRAIT_TIER_AUTO : KRAIT_TIER_INTERP);
  o->envp = ku_calloc((size_t)argc + KC_OPTS_EXTRA, sizeof *o->envp);
  o->dirs = ku_calloc((size_t)argc + KC_OPTS_EXTRA, sizeof *o->dirs);
  if (o->envp && o->dirs)
    return 0;
  fputs("Error: out of memory\n", stderr);
  kc_opts_free(o);
  return -1;
}

/* Frees what kc_opts_init and the option parsers allocated. */
void kc_opts_free(kc_run_opts *o) {
  ku_free(o->envp);
  for (int i = 0; o->dirs && i < o->ndirs; i++) {
    ku_free((char *)o->dirs[i].host_path);
    ku_free((char *)o->dirs[i].guest_path);
  }
  ku_free(o->dirs);
  ko_allow_free(&o->net);
  o->envp = NULL;
  o->dirs = NULL;
}

/* `krait run ...` (argv[0] is "run", or the module path for the
** `krait FILE.wasm` shorthand, where argv[0] is "krait"). */
int kc_run_main(int argc, char **argv) {
  kc_run_opts o;
  int rc;
  if (kc_opts_init(&o, argc, "run", kc_run_usage) != 0)
    return KC_EXIT_ERROR;
  rc = kc_run_parse(&o, argc, argv);
  if (rc < 0)
    rc = kc_run_module(&o);
  kc_opts_free(&o);
  fflush(stdout);
  return rc;
}
