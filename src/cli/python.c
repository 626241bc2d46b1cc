/*
** python.c -- `krait python`: CPython (python.wasm from `make python`) in
** the WASI sandbox, with the stdlib, the working directory and the script's
** directory granted. Owns finding the Python home and turning a python
** command line into a `krait run` one; not running modules (run.c).
*/
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"

/* Where the guest sees the stdlib and which program name it gets: the
** configure prefix of python.wasm, so getpath finds lib/python3.11 there. */
#define KC_PY_PREFIX "/usr/local"
#define KC_PY_STDLIB KC_PY_PREFIX "/lib/python3.11"
#define KC_PY_PROGRAM KC_PY_PREFIX "/bin/python3.11"

const char kc_python_usage[] =
  "Usage: krait python [KRAIT-OPTIONS] [PYTHON-OPTIONS] [-c CMD | -m MOD |\n"
  "                    SCRIPT | -] [ARGS...]\n"
  "\n"
  "Runs CPython 3.11 (python.wasm, built by 'make python') in krait's WASI\n"
  "sandbox, like 'python'. With no CMD, MOD or SCRIPT it runs the\n"
  "interactive prompt on a terminal, or reads the program from stdin.\n"
  "\n"
  "What the guest sees: the stdlib, read-only, at " KC_PY_STDLIB "\n"
  "(and python.wasm as sys.executable, " KC_PY_PROGRAM ");\n"
  "the current directory and the script's directory, read-write, under\n"
  "their host paths (and the guest starts in the current directory);\n"
  "nothing else of the host unless granted with --dir. Environment: only\n"
  "--env variables, plus PWD and, with --site-packages, PYTHONPATH.\n"
  "\n"
  "krait options (before any python option):\n"
  "  --site-packages DIR  Put the host directory DIR of installed pure-\n"
  "                       Python packages (e.g. /usr/lib/python3/dist-\n"
  "                       packages) on sys.path, read-only. Repeatable.\n"
  "                       A package that needs a native extension (.so)\n"
  "                       fails to import with a message that says so.\n"
  "  --python-home DIR    Where python.wasm and lib/python3.11 are (default:\n"
  "                       $KRAIT_PYTHON_HOME, else python/ beside the krait\n"
  "                       executable, else ../lib/krait/python from it).\n"
  "  --env KEY=VALUE, --dir HOST[::GUEST[:ro]], --fuel N, --timeout TIME,\n"
  "  --max-memory BYTES, --bounds MODE\n"
  "                       As for 'krait run' (see 'krait help run').\n"
  "  --help               Show this help ('-h' is python's help).\n"
  "\n"
  "Everything from the first other argument on is python's own command\n"
  "line (-c, -m, -u, -X, -W, ...); '--' ends the krait options.\n"
  "\n"
  "Exit status: Python's (sys.exit(3) exits 3; an uncaught exception 1);\n"
  "134 when the sandbox traps (a --timeout or --fuel limit, for example);\n"
  "2 for a bad krait command line.\n";

/* The state of one `krait python` command line besides kc_run_opts. */
typedef struct kc_py {
  kc_run_opts o;
  const char *home;       /* the Python home given or found */
  char *owned[KC_OPTS_EXTRA + 4]; /* strings to free at the end */
  int nowned;
  char *pythonpath;       /* "PYTHONPATH=" + the --site-packages dirs */
  size_t pplen;
} kc_py;

/* Keeps s (malloc'ed, may be NULL) to be freed at the end; returns it. */
static char *kc_py_own(kc_py *p, char *s)
{
  if (s && p->nowned < (int)(sizeof p->owned / sizeof p->owned[0]))
    p->owned[p->nowned++] = s;
  return s;
}

/* Grants host directory host (made absolute) under its own path, or under
** guest when given. Returns 0, or -1 after a message. */
static int kc_py_grant(kc_py *p, const char *host, const char *guest, int ro)
{
  krait_wasi_preopen *d = &p->o.dirs[p->o.ndirs];
  char *real = realpath(host, NULL);
  struct stat sb;
  if (!real || stat(real, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
    fprintf(stderr, "Error: cannot grant '%s' to Python: %s\n", host,
            real ? "not a directory" : strerror(errno));
    free(real);
    return -1;
  }
  d->host_path = real;
  d->guest_path = strdup(guest ? guest : real);
  d->read_only = ro;
  p->o.ndirs++;
  return d->guest_path ? 0 : -1;
}

/* --site-packages DIR: granted read-only under its real path and appended
** to PYTHONPATH. */
static int kc_py_site_packages(kc_py *p, const char *dir)
{
  const char *path;
  size_t n;
  char *grown;
  if (kc_py_grant(p, dir, NULL, 1) != 0)
    return KC_EXIT_ERROR;
  path = p->o.dirs[p->o.ndirs - 1].guest_path;
  n = strlen(path);
  grown = realloc(p->pythonpath, p->pplen + n + 16);
  if (!grown)
    return KC_EXIT_ERROR;
  if (!p->pythonpath)
    p->pplen = (size_t)sprintf(grown, "PYTHONPATH=");
  else
    grown[p->pplen++] = ':';
  memcpy(grown + p->pplen, path, n + 1);
  p->pplen += n;
  p->pythonpath = grown;
  return -1;
}

/* The value of a "--name VALUE" or "--name=VALUE" option at argv[*i] named
** name, advancing *i; NULL (and *rc set) when arg is not name or lacks a
** value. */
static const char *kc_py_value(kc_py *p, int argc, char **argv, int *i,
                               const char *name, int *rc)
{
  const char *arg = argv[*i];
  size_t n = strlen(name);
  if (strncmp(arg, name, n) != 0 || (arg[n] != '\0' && arg[n] != '='))
    return NULL;
  if (arg[n] == '=')
    return arg + n + 1;
  if (*i + 1 >= argc) {
    *rc = kc_usage_error("python", p->o.usage, "option '%s' needs a value",
                         name);
    return NULL;
  }
  return argv[++*i];
}

/* Parses the krait options; *first is set to the index of python's first
** argument. Returns -1 to go on, or an exit status. */
static int kc_py_parse(kc_py *p, int argc, char **argv, int *first)
{
  int i = 1, rc = -1;
  const char *v;
  for (; i < argc && rc < 0 && strncmp(argv[i], "--", 2) == 0; i++) {
    if (strcmp(argv[i], "--") == 0) {
      i++;
      break;
    }
    if ((v = kc_py_value(p, argc, argv, &i, "--site-packages", &rc)))
      rc = kc_py_site_packages(p, v);
    else if ((v = kc_py_value(p, argc, argv, &i, "--python-home", &rc)))
      p->home = v;
    else if (rc >= 0)
      break;
    else if (strncmp(argv[i], "--invoke", 8) == 0)
      rc = kc_usage_error("python", p->o.usage, "--invoke is for 'krait "
                          "run'; Python runs its _start");
    else if (kc_opt_known(argv[i]))
      rc = kc_opt_one(&p->o, argc, argv, &i);
    else
      break;  /* a python option such as --version */
  }
  *first = i;
  return rc;
}

/* Whether dir/python.wasm and dir/lib/python3.11/os.py both exist. */
static int kc_py_is_home(const char *dir)
{
  char path[PATH_MAX];
  struct stat sb;
  snprintf(path, sizeof path, "%s/python.wasm", dir);
  if (stat(path, &sb) != 0)
    return 0;
  snprintf(path, sizeof path, "%s/lib/python3.11/os.py", dir);
  return stat(path, &sb) == 0;
}

/* Finds the Python home: --python-home, $KRAIT_PYTHON_HOME, python/ beside
** the executable, ../lib/krait/python from it. Sets p->home; returns 0, or
** -1 after a message naming where it looked. */
static int kc_py_find_home(kc_py *p)
{
  char exe[PATH_MAX], *slash;
  ssize_t n;
  const char *env = getenv("KRAIT_PYTHON_HOME");
  const char *given = p->home ? p->home : env;
  if (given) {
    p->home = given;
    if (kc_py_is_home(given))
      return 0;
    fprintf(stderr, "Error: '%s' (from %s) is not a Python home: it needs "
            "python.wasm and lib/python3.11/\n", given,
            p->home ? "--python-home" : "KRAIT_PYTHON_HOME");
    return -1;
  }
  n = readlink("/proc/self/exe", exe, sizeof exe - 40);
  if (n > 0) {
    exe[n] = '\0';
    if ((slash = strrchr(exe, '/')))
      *slash = '\0';
    strcat(exe, "/python");
    if (kc_py_is_home(exe) && (p->home = kc_py_own(p, strdup(exe))))
      return 0;
    strcpy(strrchr(exe, '/'), "/../lib/krait/python");
    if (kc_py_is_home(exe) && (p->home = kc_py_own(p, strdup(exe))))
      return 0;
  }
  fprintf(stderr, "Error: Python is not installed next to krait (looked "
          "for python/python.wasm beside %s); build it with 'make python', "
          "or pass --python-home DIR\n", n > 0 ? exe : "the executable");
  return -1;
}

/* The Python home as kc_py_find_home finds it from given (or NULL), as a
** malloc'ed real path; NULL after a message when there is none. */
char *kc_python_home(const char *given) {
  kc_py p;
  memset(&p, 0, sizeof p);
  p.home = given;
  char *home = kc_py_find_home(&p) == 0 ? realpath(p.home, NULL) : NULL;
  for (int i = 0; i < p.nowned; i++) free(p.owned[i]);
  return home;
}

/* Finds the script in python's arguments args[0..n): the first word that
** is not an option or an option's value. Returns its index, or -1 when
** the program comes from -c, -m or stdin ('-'). */
static int kc_py_script(char **args, int n)
{
  for (int i = 0; i < n; i++) {
    const char *a = args[i];
    if (strcmp(a, "--") == 0)
      return i + 1 < n && strcmp(args[i + 1], "-") != 0 ? i + 1 : -1;
    if (a[0] != '-')
      return i;
    if (strcmp(a, "-") == 0)
      return -1;
    if (strcmp(a, "--check-hash-based-pycs") == 0) {
      i++;
      continue;
    }
    if (a[1] == '-')
      continue;  /* --version, --help, ... */
    for (const char *c = a + 1; *c; c++) {
      if (*c == 'c' || *c == 'm')
        return -1;
      if (*c == 'W' || *c == 'X') {
        i += c[1] == '\0';  /* the value is the next word */
        break;
      }
    }
  }
  return -1;
}

/* Grants the current directory and the script's directory (when it lies
** outside the current one) and sets PWD. argv[script] becomes its real
** path when it is absolute, climbs with "..", or lies outside the current
** directory: the guest sees directories only under their real paths. */
static int kc_py_workdirs(kc_py *p, char **argv, int script)
{
  char cwd[PATH_MAX], *dir = NULL, *real = NULL, *pwd;
  size_t cl;
  int inside;
  if (!getcwd(cwd, sizeof cwd)) {
    fprintf(stderr, "Error: cannot read the current directory: %s\n",
            strerror(errno));
    return -1;
  }
  if (kc_py_grant(p, cwd, NULL, 0) != 0)
    return -1;
  pwd = kc_py_own(p, malloc(strlen(cwd) + 5));
  if (!pwd)
    return -1;
  sprintf(pwd, "PWD=%s", cwd);
  kc_env_put(&p->o, pwd);
  if (script < 0)
    return 0;
  real = kc_py_own(p, realpath(argv[script], NULL));
  if (!real)
    return 0;  /* python reports the missing script itself */
  dir = strdup(real);
  if (!dir)
    return -1;
  *strrchr(dir, '/') = '\0';
  cl = strlen(cwd);
  inside = strcmp(cwd, "/") == 0 ||
           (strncmp(dir, cwd, cl) == 0 && (dir[cl] == '/' || dir[cl] == '\0'));
  if (!inside || argv[script][0] == '/' || strstr(argv[script], ".."))
    argv[script] = real;
  if (!inside && kc_py_grant(p, dir[0] ? dir : "/", NULL, 0) != 0) {
    free(dir);
    return -1;
  }
  free(dir);
  return 0;
}

/* Builds the guest's view: stdlib, working directories, environment. */
static int kc_py_setup(kc_py *p, char **argv, int script)
{
  char stdlib[PATH_MAX], bin[PATH_MAX];
  struct stat sb;
  snprintf(stdlib, sizeof stdlib, "%s/lib/python3.11", p->home);
  snprintf(bin, sizeof bin, "%s/bin/python3.11", p->home);
  if (kc_py_grant(p, stdlib, KC_PY_STDLIB, 1) != 0)
    return -1;
  /* sys.executable exists for the guest too (platform.libc_ver reads it) */
  if (stat(bin, &sb) == 0) {
    snprintf(bin, sizeof bin, "%s/bin", p->home);
    if (kc_py_grant(p, bin, KC_PY_PREFIX "/bin", 1) != 0)
      return -1;
  }
  if (kc_py_workdirs(p, argv, script) != 0)
    return -1;
  if (p->pythonpath) {
    /* a --env PYTHONPATH goes after the --site-packages dirs */
    for (int i = 0; i < p->o.envc; i++)
      if (strncmp(p->o.envp[i], "PYTHONPATH=", 11) == 0 &&
          p->o.envp[i][11] != '\0') {
        char *both = malloc(p->pplen + strlen(p->o.envp[i]) + 2);
        if (!both)
          return -1;
        sprintf(both, "%s:%s", p->pythonpath, p->o.envp[i] + 11);
        free(p->pythonpath);
        p->pythonpath = both;
      }
    kc_env_put(&p->o, p->pythonpath);
  }
  p->o.module_path = kc_py_own(p, malloc(strlen(p->home) + 16));
  if (!p->o.module_path)
    return -1;
  sprintf((char *)p->o.module_path, "%s/python.wasm", p->home);
  return 0;
}

/* `krait python ...` (argv[0] is "python"). The guest's argv is the
** program name python.wasm was configured with, then python's arguments;
** argv[first - 1] is reused as its slot. */
int kc_python_main(int argc, char **argv)
{
  kc_py p;
  int first = 1, rc, script;
  char program[] = KC_PY_PROGRAM;
  memset(&p, 0, sizeof p);
  if (kc_opts_init(&p.o, argc, "python", kc_python_usage) != 0)
    return KC_EXIT_ERROR;
  rc = kc_py_parse(&p, argc, argv, &first);
  if (rc < 0 && kc_py_find_home(&p) != 0)
    rc = KC_EXIT_ERROR;
  if (rc < 0) {
    script = kc_py_script(argv + first, argc - first);
    if (kc_py_setup(&p, argv, script < 0 ? -1 : first + script) != 0)
      rc = KC_EXIT_ERROR;
  }
  if (rc < 0) {
    argv[first - 1] = program;
    p.o.guest_argc = argc - first + 1;
    p.o.guest_argv = argv + first - 1;
    rc = kc_run_module(&p.o);
  }
  kc_opts_free(&p.o);
  free(p.pythonpath);
  for (int i = 0; i < p.nowned; i++)
    free(p.owned[i]);
  fflush(stdout);
  return rc;
}
