/*
** main.c -- the `krait` command: subcommand dispatch, help and version.
** Owns the top-level command line; not running modules (run.c) nor the
** spec-test runner (src/wast/), whose arguments are forwarded untouched.
*/
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "krait_host.h"
#include "wast/wast.h"

static const char kc_usage[] =
  "Usage: krait <command> [options] [args...]\n"
  "\n"
  "Commands:\n"
  "  run     Run a WebAssembly module: a WASI command, or --invoke one of\n"
  "          its functions\n"
  "  python  Run Python (CPython 3.11 from 'make python') in the sandbox\n"
  "  serve   Serve the Python apps of a krait.toml over HTTP\n"
  "  build   Write the deployable artifacts of a krait.toml's apps\n"
  "  new     Create an app directory (krait.toml, app.py) from a template\n"
  "  keygen  Make an Ed25519 key pair for signing app artifacts\n"
  "  web-snapshot  Write the snapshot web/krait.js starts from (make web)\n"
  "  wast    Run spec tests (the JSON form of .wast scripts)\n"
  "  compile Compile a module to native code (the AOT tier's cache)\n"
  "  llm     Tokenize, generate and embed with a GGUF model\n"
  "  help    Show the usage of krait or of one command\n"
  "\n"
  "Options:\n"
  "  -h, --help     Show this help\n"
  "  -V, --version  Show the version\n"
  "\n"
  "'krait FILE.wasm ARGS...' is short for 'krait run FILE.wasm ARGS...'.\n"
  "Run 'krait help <command>' or 'krait <command> --help' for details.\n";

/* Prints "krait CMD: <message>", a blank line and the usage to stderr, and
** returns the usage-error exit status. */
int kc_usage_error(const char *cmd, const char *usage, const char *fmt, ...) {
  va_list ap;
  fprintf(stderr, "krait%s%s: ", cmd ? " " : "", cmd ? cmd : "");
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fprintf(stderr, "\n\n%s", usage);
  return KC_EXIT_USAGE;
}

/* Whether s names a module file rather than a command (the shorthand). */
static int kc_is_module_path(const char *s) {
  size_t n = strlen(s);
  return s[0] != '-' && n > 5 && strcmp(s + n - 5, ".wasm") == 0;
}

/* `krait help [CMD]`: prints the usage of krait or of CMD to stdout. */
static int kc_help(int argc, char **argv) {
  char help[] = "--help", wast[] = "wast";
  char *wast_argv[] = { wast, help, NULL };
  if (argc < 3) {
    fputs(kc_usage, stdout);
    return KC_EXIT_OK;
  }
  if (argc > 3)
    return kc_usage_error("help", kc_usage, "too many arguments");
  if (strcmp(argv[2], "run") == 0) {
    fputs(kc_run_usage, stdout);
    return KC_EXIT_OK;
  }
  if (strcmp(argv[2], "python") == 0) {
    fputs(kc_python_usage, stdout);
    return KC_EXIT_OK;
  }
  if (strcmp(argv[2], "serve") == 0) {
    fputs(kc_serve_usage, stdout);
    return KC_EXIT_OK;
  }
  if (strcmp(argv[2], "build") == 0) {
    fputs(kc_build_usage, stdout);
    return KC_EXIT_OK;
  }
  if (strcmp(argv[2], "keygen") == 0) {
    fputs(kc_keygen_usage, stdout);
    return KC_EXIT_OK;
  }
  if (strcmp(argv[2], "new") == 0) {
    fputs(kc_new_usage, stdout);
    return KC_EXIT_OK;
  }
  if (strcmp(argv[2], "llm") == 0) {
    fputs(kc_llm_usage, stdout);
    return KC_EXIT_OK;
  }
  if (strcmp(argv[2], "wast") == 0)
    return kt_wast_main(2, wast_argv);
  if (strcmp(argv[2], "help") == 0) {
    fputs(kc_usage, stdout);
    return KC_EXIT_OK;
  }
  return kc_usage_error("help", kc_usage, "unknown command '%s'", argv[2]);
}

/* Dispatches on argv[1]. A write to a closed pipe must be an EPIPE the
** guest sees, not a signal that kills krait, so SIGPIPE is ignored. */
int main(int argc, char **argv) {
  const char *cmd = argc > 1 ? argv[1] : NULL;
  signal(SIGPIPE, SIG_IGN);
  krait_aot_enable();
  if (!cmd)
    return kc_usage_error(NULL, kc_usage, "no command given");
  if (strcmp(cmd, "run") == 0)
    return kc_run_main(argc - 1, argv + 1);
  if (strcmp(cmd, "python") == 0)
    return kc_python_main(argc - 1, argv + 1);
  if (strcmp(cmd, "serve") == 0)
    return kc_serve_main(argc - 1, argv + 1);
  if (strcmp(cmd, "build") == 0)
    return kc_build_main(argc - 1, argv + 1);
  if (strcmp(cmd, "new") == 0)
    return kc_new_main(argc - 1, argv + 1);
  if (strcmp(cmd, "keygen") == 0)
    return kc_keygen_main(argc - 1, argv + 1);
  if (strcmp(cmd, "web-snapshot") == 0)
    return kc_websnap_main(argc - 1, argv + 1);
  if (strcmp(cmd, "wast") == 0)
    return kt_wast_main(argc - 1, argv + 1);
  if (strcmp(cmd, "compile") == 0)
    return kc_compile_main(argc - 1, argv + 1);
  if (strcmp(cmd, "llm") == 0)
    return kc_llm_main(argc - 1, argv + 1);
  if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 ||
      strcmp(cmd, "-h") == 0)
    return kc_help(strcmp(cmd, "help") == 0 ? argc : 2, argv);
  if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "-V") == 0 ||
      strcmp(cmd, "version") == 0) {
    printf("krait %s\n", KC_VERSION);
    return KC_EXIT_OK;
  }
  if (kc_is_module_path(cmd))
    return kc_run_main(argc, argv);
  if (cmd[0] == '-')
    return kc_usage_error(NULL, kc_usage, "unknown option '%s'", cmd);
  return kc_usage_error(NULL, kc_usage, "unknown command '%s'", cmd);
}
