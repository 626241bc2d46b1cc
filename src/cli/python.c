/*
** python.c -- `krait python`: CPython (python.wasm from `make python`) in
** the WASI sandbox, with the stdlib and the script (read-only) and nothing
** else of the host unless granted. Owns turning a python command line
** into a `krait run` one; not finding the Python home (paths.c) nor
** running modules (run.c).
*/
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "util/util.h"

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
  "(and python.wasm as sys.executable, " KC_PY_PROGRAM "), and a\n"
  "read-only copy of SCRIPT at its path. Nothing else of the host, not\n"
  "even the current directory, unless granted with --dir: 'krait python\n"
  "--dir . app.py' lets app.py read and write the current directory.\n"
  "The guest starts in the current directory's path, so relative paths\n"
  "read as natively once it is granted; when Python fails after being\n"
  "refused a path, krait names it and the --dir that would grant it.\n"
  "In krait python, --dir HOST without ::GUEST keeps HOST's real path.\n"
  "Environment: only --env variables, plus PWD and, with --site-packages,\n"
  "PYTHONPATH.\n"
  "\n"
  "krait options (before any python option):\n"
  "  --site-packages DIR  Put the host directory DIR of installed pure-\n"
  "                       Python packages (e.g. /usr/lib/python3/dist-\n"
  "                       packages) on sys.path, read-only. Repeatable.\n"
  "                       A package that needs a native extension (.so)\n"
  "                       fails to import with a message that says so.\n"
  "  --packages LIST      Run the python.wasm of the package set LIST (names\n"
  "                       joined by ',': --packages numpy,markupsafe): C-\n"
  "                       extension packages built in, their Python files on\n"
  "                       sys.path first. 'make python PACKAGES=LIST' builds\n"
  "                       a set (recipes: python/packages/).\n"
  "  --python-home DIR    Where python.wasm and lib/python3.11 are (default:\n"
  "                       $KRAIT_PYTHON_HOME, else python/ beside the krait\n"
  "                       executable, else ../lib/krait/python from it).\n"
  "  --tier TIER          'auto' (the default: native code when python.wasm\n"
  "                       is compiled -- 'make python' does it, into the\n"
  "                       AOT cache and the Python home's aot/ -- else the\n"
  "                       interpreter), 'aot' (compiles it first when it is\n"
  "                       not) or 'interp'. Default: $KRAIT_TIER, else auto.\n"
  "  --allow-net HOST[:PORT]  Grant outbound network access to HOST (a\n"
  "                       name, an address, [IPv6], *.domain or *) on PORT\n"
  "                       (default: any), any scheme; or a Spin entry such\n"
  "                       as https://*.example.org. Repeatable. Without it\n"
  "                       there is no network. Private, loopback and link-\n"
  "                       local addresses need a grant naming the address.\n"
  "                       Python's sockets reach the network only through\n"
  "                       the host (TCP; TLS is the host's OpenSSL)\n"
  KC_NET_OPTS_USAGE
  "  --llm-model NAME=PATH  Open the GGUF model file PATH and grant it to\n"
  "                       the script as NAME, for spin_sdk.llm (infer,\n"
  "                       generate_embeddings). Repeatable. Threads: the\n"
  "                       online CPUs; no deadline but --timeout's.\n"
  "  --env KEY=VALUE, --dir HOST[::GUEST[:ro]], --fuel N, --timeout TIME,\n"
  "  --max-memory BYTES, --max-disk BYTES, --bounds MODE\n"
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
  const char *packages;   /* --packages LIST, or NULL */
  const char *exe_home;   /* where python.wasm is: home, or the set's */
  char *owned[KC_OPTS_EXTRA + 4]; /* strings to free at the end */
  int nowned;
  char *pythonpath;       /* "PYTHONPATH=" + the --site-packages dirs */
  size_t pplen;
  char *view;             /* the guest's private "/" (kc_py_view) */
  char *script_real;      /* the script's real path (NULL: none) */
  char *script_guest;     /* where the guest sees it */
  char missed[PATH_MAX];  /* the last path refused there (kc_py_miss) */
  kc_llm_grants llm;             /* --llm-model */
} kc_py;

/* Keeps s (malloc'ed, may be NULL) to be freed at the end; returns it. */
static char *kc_py_own(kc_py *p, char *s) {
  if (s && p->nowned < (int)(sizeof p->owned / sizeof p->owned[0]))
    p->owned[p->nowned++] = s;
  return s;
}

/* Grants host directory host (made absolute) under its own path, or under
** guest when given. Returns 0, or -1 after a message. */
static int kc_py_grant(kc_py *p, const char *host, const char *guest, int ro) {
  krait_wasi_preopen *d = &p->o.dirs[p->o.ndirs];
  char *real = ku_realpath(host);
  struct stat sb;
  if (!real || stat(real, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
    fprintf(stderr, "Error: cannot grant '%s' to Python: %s\n", host,
            real ? "not a directory" : strerror(errno));
    ku_free(real);
    return -1;
  }
  d->host_path = real;
  d->guest_path = ku_strdup(guest ? guest : real);
  d->read_only = ro;
  p->o.ndirs++;
  return d->guest_path ? 0 : -1;
}

/* --site-packages DIR: granted read-only under its real path and added to
** PYTHONPATH: last, or first when first is set (a package set's). */
static int kc_py_site_packages(kc_py *p, const char *dir, int first) {
  const char *path;
  size_t n;
  char *grown;
  if (kc_py_grant(p, dir, NULL, 1) != 0)
    return KC_EXIT_ERROR;
  path = p->o.dirs[p->o.ndirs - 1].guest_path;
  n = strlen(path);
  grown = ku_realloc(p->pythonpath, p->pplen + n + 16);
  if (!grown)
    return KC_EXIT_ERROR;
  if (!p->pythonpath) {
    p->pplen = (size_t)sprintf(grown, "PYTHONPATH=%s", path);
  } else if (first) {
    memmove(grown + 11 + n + 1, grown + 11, p->pplen - 11 + 1);
    memcpy(grown + 11, path, n);
    grown[11 + n] = ':';
    p->pplen += n + 1;
  } else {
    grown[p->pplen++] = ':';
    memcpy(grown + p->pplen, path, n + 1);
    p->pplen += n;
  }
  p->pythonpath = grown;
  return -1;
}

/* --packages: the set's home (kc_python_set) runs python.wasm, and its
** site-packages come first on sys.path. -1 to go on, or an exit status. */
static int kc_py_packages(kc_py *p) {
  char dir[PATH_MAX];
  char *set = kc_py_own(p, kc_python_set(p->home, p->packages));
  if (!set)
    return KC_EXIT_ERROR;
  p->exe_home = set;
  snprintf(dir, sizeof dir, "%s/site-packages", set);
  return kc_py_site_packages(p, dir, 1);
}

/* --llm-model: the guest SDK (spin_sdk.llm, krait_llm) on sys.path, as a
** --site-packages dir. -1 to go on, or an exit status. */
static int kc_py_sdk(kc_py *p) {
  char *sdk = kc_py_own(p, kc_sdk_dir(p->home));
  if (sdk)
    return kc_py_site_packages(p, sdk, 0);
  fprintf(stderr, "Error: --llm-model: cannot find the guest SDK (python/sdk beside build/, or "
          "share/krait/sdk of an install; or set KRAIT_SDK)\n");
  return KC_EXIT_ERROR;
}

/* The value of a "--name VALUE" or "--name=VALUE" option at argv[*i] named
** name, advancing *i; NULL (and *rc set) when arg is not name or lacks a
** value. */
static const char *kc_py_value(kc_py *p, int argc, char **argv, int *i,
                               const char *name, int *rc) {
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

/* --allow-net VALUE: one more grant in p->o.net (src/net/allow.c);
** a value it refuses is a usage error naming it and why. */
static int kc_py_allow_net(kc_py *p, const char *value) {
  char err[KO_ERR_SIZE];
  if (ko_allow_flag(&p->o.net, value, err, sizeof err) == 0)
    return -1;
  return kc_usage_error("python", p->o.usage, "%s", err);
}

/* Parses the krait options; *first is set to the index of python's first
** argument. Returns -1 to go on, or an exit status. */
static int kc_py_parse(kc_py *p, int argc, char **argv, int *first) {
  int i = 1, rc = -1;
  const char *v;
  for (; i < argc && rc < 0 && strncmp(argv[i], "--", 2) == 0; i++) {
    if (strcmp(argv[i], "--") == 0) {
      i++;
      break;
    }
    if ((v = kc_py_value(p, argc, argv, &i, "--site-packages", &rc)))
      rc = kc_py_site_packages(p, v, 0);
    else if ((v = kc_py_value(p, argc, argv, &i, "--python-home", &rc)))
      p->home = v;
    else if ((v = kc_py_value(p, argc, argv, &i, "--packages", &rc)))
      p->packages = v;
    else if ((v = kc_py_value(p, argc, argv, &i, KO_CLI_FLAG, &rc)))
      rc = kc_py_allow_net(p, v);
    else if (rc < 0 && (v = kc_py_value(p, argc, argv, &i, "--ca-file", &rc)))
      rc = kc_net_opt("python", p->o.usage, "--ca-file", v);
    else if (rc < 0 && (v = kc_py_value(p, argc, argv, &i, "--resolve", &rc)))
      rc = kc_net_opt("python", p->o.usage, "--resolve", v);
    else if (rc < 0 && (v = kc_py_value(p, argc, argv, &i, "--llm-model", &rc)))
      rc = kc_llm_model_opt(&p->llm, p->o.usage, v);
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

/* Finds the Python home (kc_python_home in paths.c: --python-home,
** $KRAIT_PYTHON_HOME, then beside the binary in a build tree or an
** install). Sets p->home; returns 0, or -1 after the message. */
static int kc_py_find_home(kc_py *p) {
  char *home = kc_python_home(p->home);
  if (!home || !kc_py_own(p, home)) {
    ku_free(home);
    return -1;
  }
  p->home = p->exe_home = home;
  kc_aot_dirs(home);
  return 0;
}

/* Finds the script in python's arguments args[0..n): the first word that
** is not an option or an option's value. Returns its index, or -1 when
** the program comes from -c, -m or stdin ('-'). */
static int kc_py_script(char **args, int n) {
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

/* Creates every missing directory of path (absolute). Returns 0, or -1
** with errno. */
static int kc_py_mkdirs(char *path) {
  for (char *p = path + 1;; p++) {
    if (*p != '/' && *p != '\0')
      continue;
    char c = *p;
    *p = '\0';
    int r = mkdir(path, 0755);
    *p = c;
    if (r != 0 && errno != EEXIST)
      return -1;
    if (c == '\0')
      return 0;
  }
}

/* Copies the regular file src to dst (created read-only). Returns 0, or
** -1 with errno. */
static int kc_py_copy(const char *src, const char *dst) {
  char buf[65536];
  ssize_t n = 0;
  int in = open(src, O_RDONLY | O_CLOEXEC), out;
  if (in < 0)
    return -1;
  out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444);
  while (out >= 0 && (n = read(in, buf, sizeof buf)) > 0)
    if (write(out, buf, (size_t)n) != n)
      n = -1;
  close(in);
  if (out >= 0)
    close(out);
  return out < 0 || n < 0 ? -1 : 0;
}

/* The guest path of the script argv[script] in the view (malloc'ed): its
** place under cwd when it is a plain relative path (so the guest runs it
** by that path, as natively), else its real path, which then replaces
** argv[script]. NULL (and no copy) when it is not a readable file:
** python reports that itself. */
static char *kc_py_script_path(kc_py *p, char **argv, int script,
                               const char *cwd, char **real) {
  const char *a = argv[script];
  char *out;
  struct stat sb;
  *real = kc_py_own(p, ku_realpath(a));
  if (!*real || stat(*real, &sb) != 0 || !S_ISREG(sb.st_mode))
    return NULL;
  if (a[0] == '/' || !cwd || strstr(a, "..")) {
    argv[script] = *real;
    return ku_strdup(*real);
  }
  while (a[0] == '.' && a[1] == '/')
    a += 2;
  out = ku_malloc(strlen(cwd) + strlen(a) + 2);
  if (out)
    sprintf(out, "%s%s%s", cwd, strcmp(cwd, "/") ? "/" : "", a);
  return out;
}

/* Puts the script into the view at its guest path vpath: a read-only
** copy, in directories made as needed. Returns 0 or -1 after a message. */
static int kc_py_view_script(kc_py *p, const char *real, const char *vpath) {
  size_t vl = strlen(p->view);
  char *dst = ku_malloc(vl + strlen(vpath) + 1);
  int r = -1;
  if (dst) {
    sprintf(dst, "%s%s", p->view, vpath);
    *strrchr(dst, '/') = '\0';
    r = kc_py_mkdirs(dst);
    dst[strlen(dst)] = '/';
    if (r == 0)
      r = kc_py_copy(real, dst);
  }
  if (r != 0)
    fprintf(stderr, "Error: cannot give the script '%s' to Python: %s\n",
            real, strerror(errno));
  ku_free(dst);
  return r;
}

/* Makes the guest path of every directory granted so far in the view, so
** the directories above them exist for the guest (Python's startup
** checks "/usr" on its way to the stdlib) and "/" lists them. Best
** effort: a missing one only reads as absent. */
static void kc_py_view_dirs(kc_py *p) {
  for (int i = 0; i < p->o.ndirs; i++) {
    const char *g = p->o.dirs[i].guest_path;
    char *dir;
    if (!g || g[0] != '/' || strstr(g, ".."))
      continue;
    dir = ku_malloc(strlen(p->view) + strlen(g) + 1);
    if (dir) {
      sprintf(dir, "%s%s", p->view, g);
      kc_py_mkdirs(dir);
    }
    ku_free(dir);
  }
}

/* Whether the user's --dir options already map the guest's "/". */
static int kc_py_root_granted(const kc_py *p) {
  for (int i = 0; i < p->o.ndirs; i++)
    if (p->o.dirs[i].guest_path && strcmp(p->o.dirs[i].guest_path, "/") == 0)
      return 1;
  return 0;
}

/* The failed-path hook (kw_extra): remembers the last path the guest was
** refused in the view that the host would have given: one the view lacks
** (ENOENT) but the host has, or a write (ENOTCAPABLE). Other errors (a
** probe of the script as a directory: ENOTDIR) are the same natively. */
static void kc_py_miss(void *ctx, const char *guest_path, int wasi_errno) {
  kc_py *p = ctx;
  struct stat sb;
  if (wasi_errno == 76 ||  /* ENOTCAPABLE: a write into the view */
      (wasi_errno == 44 && lstat(guest_path, &sb) == 0))  /* ENOENT */
    snprintf(p->missed, sizeof p->missed, "%s", guest_path);
}

/* The guest's own view of the host (least privilege: nothing the user did
** not grant): a private, read-only, otherwise empty directory as "/" that
** holds only the current directory's path (so the guest starts there and
** relative paths read as natively) and a copy of the script. Failed file
** calls in it are watched, for kc_py_hint. When the user maps "/"
** themselves, only the script's directory of the view is granted. */
static int kc_py_view(kc_py *p, char **argv, int script) {
  const char *tmp = getenv("TMPDIR");
  char cwd[PATH_MAX], *vpath = NULL, *real = NULL, *dir, *pwd;
  int have_cwd = getcwd(cwd, sizeof cwd) != NULL, r = 0;
  p->view = ku_malloc(strlen(tmp && tmp[0] ? tmp : "/tmp") + 24);
  if (!p->view)
    return -1;
  sprintf(p->view, "%s/krait-python-XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
  if (!mkdtemp(p->view)) {
    fprintf(stderr, "Error: cannot make the guest's view in '%s': %s\n",
            p->view, strerror(errno));
    ku_free(p->view);
    p->view = NULL;
    return -1;
  }
  if (have_cwd && (pwd = kc_py_own(p, ku_malloc(strlen(cwd) + 5)))) {
    sprintf(pwd, "PWD=%s", cwd);
    kc_env_put(&p->o, pwd);
    dir = ku_malloc(strlen(p->view) + strlen(cwd) + 1);
    if (dir)
      sprintf(dir, "%s%s", p->view, cwd);
    if (!dir || kc_py_mkdirs(dir) != 0)
      have_cwd = 0;  /* the guest starts in "/" then */
    ku_free(dir);
  }
  kc_py_view_dirs(p);
  if (script >= 0)
    vpath = kc_py_script_path(p, argv, script, have_cwd ? cwd : NULL, &real);
  if (vpath) {
    r = kc_py_view_script(p, real, vpath);
    p->script_real = real;
    p->script_guest = kc_py_own(p, ku_strdup(vpath));
  }
  if (r == 0 && !kc_py_root_granted(p)) {
    p->o.wasi = (kw_extra){ p->o.ndirs, kc_py_miss, p };
    r = kc_py_grant(p, p->view, "/", 1);
  } else if (r == 0 && vpath) {
    dir = ku_malloc(strlen(p->view) + strlen(vpath) + 1);
    if (dir) {
      sprintf(dir, "%s%s", p->view, vpath);
      *strrchr(dir, '/') = '\0';
      *strrchr(vpath, '/') = '\0';
    }
    r = dir ? kc_py_grant(p, dir, vpath[0] ? vpath : "/", 1) : -1;
    ku_free(dir);
  }
  ku_free(vpath);
  return r;
}

/* Gives each --dir without a GUEST name its host directory's real path as
** the guest's name, as the directories krait python grants itself have:
** `--dir .` then covers the guest's working directory. */
static int kc_py_dir_names(kc_py *p) {
  for (int i = 0; i < p->o.ndirs; i++) {
    krait_wasi_preopen *d = &p->o.dirs[i];
    if (d->guest_path)
      continue;
    d->guest_path = ku_realpath(d->host_path);
    if (!d->guest_path) {
      fprintf(stderr, "Error: cannot grant '%s' to Python: %s\n",
              d->host_path, strerror(errno));
      return -1;
    }
  }
  return 0;
}

/* The --dir that grants host directory dir: "." for the current
** directory or one beneath it, else dir itself; into out. */
static void kc_py_dir_arg(const char *dir, char *out, size_t n) {
  char cwd[PATH_MAX];
  size_t cl;
  snprintf(out, n, "%s", dir[0] ? dir : "/");
  if (getcwd(cwd, sizeof cwd) && (cl = strlen(cwd)) > 0 &&
      strncmp(dir, cwd, cl) == 0 &&
      (dir[cl] == '\0' || dir[cl] == '/' || cl == 1))
    snprintf(out, n, ".");
}

/* Whether a preopen other than the view grants the guest path path. */
static int kc_py_granted(const kc_py *p, const char *path) {
  for (int i = 0; i < p->o.ndirs; i++) {
    const char *g = p->o.dirs[i].guest_path;
    size_t n = g ? strlen(g) : 0;
    if (g && i != p->o.wasi.watch && strncmp(path, g, n) == 0 &&
        (path[n] == '/' || path[n] == '\0' || (n && g[n - 1] == '/')))
      return 1;
  }
  return 0;
}

/* Whether the Python source text src imports module mod: "import mod"
** or "from mod" with mod a whole word (also "import a, mod"). */
static int kc_py_imports(const char *src, const char *mod) {
  size_t n = strlen(mod);
  for (const char *p = strstr(src, mod); p; p = strstr(p + 1, mod)) {
    const char *q = p;
    int word = (p == src || !(isalnum((unsigned char)p[-1]) || p[-1] == '_' ||
                              p[-1] == '.')) &&
               !(isalnum((unsigned char)p[n]) || p[n] == '_');
    while (q > src && (q[-1] == ' ' || q[-1] == '\t' || q[-1] == ','))
      q--;
    if (word && ((q - src >= 6 && strncmp(q - 6, "import", 6) == 0) ||
                 (q - src >= 4 && strncmp(q - 4, "from", 4) == 0)))
      return 1;
  }
  return 0;
}

/* Finds a module beside the script (NAME.py or a directory NAME) that the
** script imports, into name. Returns 1 when there is one. */
static int kc_py_sibling_import(const char *real, char *name, size_t n) {
  size_t len = 0;
  uint8_t *bytes = ku_read_file(real, &len, name, n);
  char *src = bytes ? ku_malloc(len + 1) : NULL, *dir;
  DIR *d = NULL;
  struct dirent *de;
  int found = 0;
  if (src) {
    memcpy(src, bytes, len);
    for (size_t i = 0; i < len; i++)
      src[i] = src[i] ? src[i] : ' ';  /* one C string */
    src[len] = '\0';
  }
  ku_free(bytes);
  if (!src)
    return 0;
  dir = ku_strdup(real);
  if (dir) {
    *strrchr(dir, '/') = '\0';
    d = opendir(dir[0] ? dir : "/");
  }
  while (d && !found && (de = readdir(d))) {
    char mod[256];
    size_t l = strlen(de->d_name);
    snprintf(mod, sizeof mod, "%s", de->d_name);
    if (l > 3 && strcmp(mod + l - 3, ".py") == 0)
      mod[l - 3] = '\0';
    else if (de->d_type != DT_DIR || strchr(mod, '.'))
      continue;
    if (strcmp(de->d_name, strrchr(real, '/') + 1) != 0 &&
        kc_py_imports(src, mod)) {
      snprintf(name, n, "%s", de->d_name);
      found = 1;
    }
  }
  if (d)
    closedir(d);
  ku_free(dir);
  ku_free(src);
  return found;
}

/* After the run, when Python failed: names the last path the guest was
** refused that the host has, and the --dir that grants it; else, when
** the script's directory was not granted and holds a module the script
** imports, names that (an import does not fail on a path: Python only
** lists the directory, where the guest sees the script alone). */
static void kc_py_hint(const kc_py *p, int rc) {
  char dir[PATH_MAX], arg[PATH_MAX], name[256];
  struct stat sb;
  if (rc == 0)
    return;
  if (p->missed[0]) {
    snprintf(dir, sizeof dir, "%s", p->missed);
    if ((stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) && strrchr(dir, '/'))
      *strrchr(dir, '/') = '\0';
    kc_py_dir_arg(dir, arg, sizeof arg);
    fprintf(stderr, "krait: the guest has no access to '%s': krait python "
            "grants no host directory unless asked; grant one with --dir "
            "HOST (here: --dir %s; HOST::GUEST:ro for read-only)\n",
            p->missed, arg);
  } else if (p->script_real && p->o.wasi.miss &&
             !kc_py_granted(p, p->script_guest) &&
             kc_py_sibling_import(p->script_real, name, sizeof name)) {
    snprintf(dir, sizeof dir, "%s", p->script_real);
    *strrchr(dir, '/') = '\0';
    kc_py_dir_arg(dir, arg, sizeof arg);
    fprintf(stderr, "krait: the guest has no access to '%s/%s', which the "
            "script imports: krait python grants the script alone; grant "
            "its directory with --dir %s\n", dir, name, arg);
  }
}

/* Builds the guest's view: stdlib, working directories, environment. */
static int kc_py_setup(kc_py *p, char **argv, int script) {
  char stdlib[PATH_MAX], bin[PATH_MAX];
  struct stat sb;
  snprintf(stdlib, sizeof stdlib, "%s/lib/python3.11", p->home);
  snprintf(bin, sizeof bin, "%s/bin/python3.11", p->exe_home);
  if (kc_py_grant(p, stdlib, KC_PY_STDLIB, 1) != 0)
    return -1;
  /* sys.executable exists for the guest too (platform.libc_ver reads it) */
  if (stat(bin, &sb) == 0) {
    snprintf(bin, sizeof bin, "%s/bin", p->exe_home);
    if (kc_py_grant(p, bin, KC_PY_PREFIX "/bin", 1) != 0)
      return -1;
  }
  if (kc_py_dir_names(p) != 0 || kc_py_view(p, argv, script) != 0)
    return -1;
  if (p->pythonpath) {
    /* a --env PYTHONPATH goes after the --site-packages dirs */
    for (int i = 0; i < p->o.envc; i++)
      if (strncmp(p->o.envp[i], "PYTHONPATH=", 11) == 0 &&
          p->o.envp[i][11] != '\0') {
        char *both = ku_malloc(p->pplen + strlen(p->o.envp[i]) + 2);
        if (!both)
          return -1;
        sprintf(both, "%s:%s", p->pythonpath, p->o.envp[i] + 11);
        ku_free(p->pythonpath);
        p->pythonpath = both;
      }
    kc_env_put(&p->o, p->pythonpath);
  }
  p->o.module_path = kc_py_own(p, ku_malloc(strlen(p->exe_home) + 16));
  if (!p->o.module_path)
    return -1;
  sprintf((char *)p->o.module_path, "%s/python.wasm", p->exe_home);
  return 0;
}

/* `krait python ...` (argv[0] is "python"). The guest's argv is the
** program name python.wasm was configured with, then python's arguments;
** argv[first - 1] is reused as its slot. */
int kc_python_main(int argc, char **argv) {
  kc_py p;
  int first = 1, rc, script;
  char program[] = KC_PY_PROGRAM;
  memset(&p, 0, sizeof p);
  if (kc_opts_init(&p.o, argc, "python", kc_python_usage) != 0)
    return KC_EXIT_ERROR;
  rc = kc_py_parse(&p, argc, argv, &first);
  if (rc < 0 && kc_py_find_home(&p) != 0)
    rc = KC_EXIT_ERROR;
  if (rc < 0 && p.packages)
    rc = kc_py_packages(&p);
  if (rc < 0 && p.llm.n)
    rc = kc_py_sdk(&p);
  if (rc < 0) {
    script = kc_py_script(argv + first, argc - first);
    if (kc_py_setup(&p, argv, script < 0 ? -1 : first + script) != 0)
      rc = KC_EXIT_ERROR;
  }
  if (rc < 0) {
    argv[first - 1] = program;
    p.o.guest_argc = argc - first + 1;
    p.o.guest_argv = argv + first - 1;
    p.o.llm = p.llm.llm;
    rc = kc_run_module(&p.o);
    kc_py_hint(&p, rc);
  }
  if (p.view) {
    ku_remove_tree(p.view);
    ku_free(p.view);
  }
  kc_opts_free(&p.o);
  kc_llm_grants_free(&p.llm);
  ku_free(p.pythonpath);
  for (int i = 0; i < p.nowned; i++)
    ku_free(p.owned[i]);
  fflush(stdout);
  return rc;
}
