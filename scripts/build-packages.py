#!/usr/bin/python3.11
# scripts/build-packages.py -- package sets: python.wasm linked again with
# C-extension packages built in, from the recipes in python/packages/.
#
#   python3 scripts/build-packages.py [--force] [--no-aot] [--installed] [SET ...]
#
# --installed adds the sets already in build/python/sets/ (make python
# runs it so, after the base build: a set linked on an older base is
# relinked on the new one, from the cache when it was built before).
# SET names packages joined by ',' or '+' ("markupsafe", "markupsafe,numpy");
# a set's name is its packages sorted and joined by '+'. Needs `make python`
# first: the base build's cache entry (build/python/CACHE_ENTRY) with its
# devkit (scripts/python-devkit.py).
#
# Owns: reading recipes (python/packages/NAME.toml, format in
# python/packages/README.md), fetching their pinned sources
# (scripts/fetch-source.sh), compiling each extension module with the
# flags CPython compiles its own modules with (its init function renamed
# after the module's full name, so two packages' `_speedups` cannot
# clash), adding them to CPython's inittab under their dotted names
# (python/lib/sitecustomize.py's finder imports them), linking the set's
# python.wasm from the devkit (checked first: the devkit alone must give
# back the base python.wasm byte for byte), the set's site-packages (the
# packages' Python files, with bytecode and a .dist-info), running each
# recipe's check in the set under krait, the AOT object (build/krait
# compile, unless --no-aot), and the cache:
#
#   ${KRAIT_CACHE:-$HOME/.cache/krait}/pyset-<name>-<key>/
#       python.wasm  site-packages/  packages.txt  sizes.txt  base.txt
#       build.log  COMPLETE
#
# base.txt holds the base build's key: krait refuses to run a set linked
# on another base python.wasm than the home's (paths.c), so a base built
# again without `make python` (which relinks the installed sets) is never
# mixed with an old set.
#
# <key> hashes the base build's key, this script, the set's recipes and
# their sources' sha256, and the versions of Cython and wasm32 libc++. A
# complete entry is installed into build/python/sets/<name>/ (python.wasm,
# bin/python3.11, lib -> the base stdlib, site-packages/, aot/) without
# building: made beside it, checked there, renamed into place. Sets that
# are not asked for are left as they are.
# Does not own: the base build (build-python.sh), choosing a set at run
# time (krait python --packages, the manifest's packages, the browser).
import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import tomllib
import py_compile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RECIPES = os.environ.get("KRAIT_RECIPES") or os.path.join(ROOT, "python", "packages")  # tests: another dir
BASE = os.path.join(ROOT, "build", "python")
CACHE = os.environ.get("KRAIT_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "krait")
CLANG, CLANGXX = "clang-16", "clang++-16"
CYTHON = "cython3"
# Debian packages whose versions go into a set's key beside the base's
# (whose key has the rest of the toolchain): Cython, libc++.
KEY_PKGS = ["cython3", "libc++-16-dev-wasm32", "libc++abi-16-dev-wasm32"]
T0 = time.time()


def say(msg):
    print("packages: [%4ds] %s" % (time.time() - T0, msg), flush=True)


def die(msg):
    print("packages: error: %s" % msg, file=sys.stderr, flush=True)
    sys.exit(1)


# ---- recipes -------------------------------------------------------------
RECIPE_KEYS = {"name": str, "version": str, "summary": str, "source": dict,
               "python": dict, "extension": list, "check": dict}
SECTION_KEYS = {
    "source": {"package": str, "file": str, "sha256": str},
    "python": {"dir": str, "packages": list},
    "extension": {"module": str, "sources": list, "language": str, "include_dirs": list,
                  "defines": list, "cflags": list},
    "check": {"code": str, "tests": str},
}
REQUIRED = {"": ("name", "version", "source"), "source": ("package", "file", "sha256"),
            "extension": ("module", "sources")}


def check_table(path, where, table, allowed):
    """Every key of TABLE is one of ALLOWED with its type, and REQUIRED's
    are there; else the build stops naming the file and the key."""
    for k, v in table.items():
        if k not in allowed:
            die("%s: %s: unknown key %r (allowed: %s)" % (path, where or "top level", k,
                                                           ", ".join(sorted(allowed))))
        if not isinstance(v, allowed[k]):
            die("%s: %s%s: expected %s" % (path, where + "." if where else "", k,
                                           allowed[k].__name__))
    for k in REQUIRED.get(where.split("[")[0], ()):
        if k not in table:
            die("%s: %s: %r is missing" % (path, where or "top level", k))


def load_recipe(name):
    """The recipe of package NAME, checked (python/packages/NAME.toml)."""
    path = os.path.join(RECIPES, name + ".toml")
    if not os.path.exists(path):
        known = sorted(f[:-5] for f in os.listdir(RECIPES) if f.endswith(".toml"))
        die("no recipe for package %r (%s); recipes: %s"
            % (name, os.path.join(os.path.relpath(RECIPES, ROOT) if RECIPES.startswith(ROOT) else RECIPES,
                                  name + ".toml"), ", ".join(known) or "none"))
    try:
        with open(path, "rb") as fh:
            r = tomllib.load(fh)
    except tomllib.TOMLDecodeError as e:
        die("%s: %s" % (os.path.relpath(path, ROOT) if path.startswith(ROOT + os.sep) else path, e))
    rel = os.path.relpath(path, ROOT) if path.startswith(ROOT + os.sep) else path
    check_table(rel, "", r, RECIPE_KEYS)
    if r["name"] != name:
        die("%s: name = %r, but the file is named for %r" % (rel, r["name"], name))
    for sec in ("source", "python", "check"):
        if sec in r:
            check_table(rel, sec, r[sec], SECTION_KEYS[sec])
    strings = [("python", "packages", r.get("python", {}).get("packages", []))]
    for i, ext in enumerate(r.get("extension", [])):
        for k in ("sources", "include_dirs", "defines", "cflags"):
            strings.append(("extension[%d]" % i, k, ext.get(k, [])))
    for where, k, v in strings:
        if not isinstance(v, list) or not all(isinstance(x, str) and x for x in v):
            die("%s: %s.%s: expected a list of non-empty strings" % (rel, where, k))
    paths = [("python", "dir", [r.get("python", {}).get("dir", ".")])] + \
        [(w, k, v) for w, k, v in strings if k in ("packages", "sources", "include_dirs")]
    for where, k, v in paths:
        for x in v:
            if x.startswith("/") or ".." in x.split("/"):
                die("%s: %s.%s: %r leaves the source tree (absolute or '..')" % (rel, where, k, x))
    if "/" in r["source"]["file"] or r["source"]["file"].startswith("."):
        die("%s: source.file: %r is not a file name" % (rel, r["source"]["file"]))
    for i, ext in enumerate(r.get("extension", [])):
        check_table(rel, "extension[%d]" % i, ext, SECTION_KEYS["extension"])
        if ext.get("language", "c") not in ("c", "c++"):
            die("%s: extension[%d]: language = %r (\"c\" or \"c++\")" % (rel, i, ext["language"]))
        if not ext["module"].startswith(tuple(p + "." for p in r.get("python", {}).get("packages", []))):
            die("%s: extension[%d]: module %r is not inside the recipe's python.packages"
                % (rel, i, ext["module"]))
    r["_path"] = path
    return r


NAME_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789_-")


def set_names(text):
    """A set's package names from 'a,b' or 'a+b' (sorted, without repeats),
    or an error message: the rule krait's C side (the manifest's packages,
    krait python --packages) applies too."""
    names = text.replace("+", ",").split(",")
    for n in names:
        if not n or not set(n) <= NAME_CHARS or n[0] == "-":
            return None, ("%r is not a package name (lowercase letters, digits, '_' and '-', "
                          "not first)" % n if n else "an empty name in %r" % text)
    return sorted(set(names)), None


def parse_set(text):
    """set_names, or the build stops with its message."""
    names, err = set_names(text)
    if err:
        die("package set %r: %s" % (text, err))
    return names


# ---- the base build and its devkit ---------------------------------------
def base_entry():
    """The base build's cache entry (which has the devkit)."""
    try:
        entry = open(os.path.join(BASE, "CACHE_ENTRY")).read().strip()
    except OSError:
        die("build/python/ is missing: run make python first")
    if not os.path.exists(os.path.join(entry, "devkit", "link.json")):
        die("the base build %s has no devkit (built before package sets existed): "
            "run make python-rebuild" % entry)
    return entry


def sysroot(work):
    """An isolated wasm32-wasi sysroot (wasi-libc only), as build-python.sh
    makes one."""
    sr = os.path.join(work, "sysroot")
    for d in ("include", "lib"):
        os.makedirs(os.path.join(sr, d), exist_ok=True)
        link = os.path.join(sr, d, "wasm32-wasi")
        if not os.path.islink(link):
            os.symlink("/usr/%s/wasm32-wasi" % d, link)
    return sr


class Build:
    """One set's build: its work dir, log, compiler and devkit."""

    def __init__(self, work, devkit):
        self.work, self.devkit = work, devkit
        self.log = open(os.path.join(work, "build.log"), "w")
        self.link = json.load(open(os.path.join(devkit, "link.json")))
        sr = sysroot(work)
        # the build's own directory (a temporary name) is mapped away, so
        # the same inputs link the same python.wasm (and its AOT object is
        # found again by its hash)
        prefix = "-ffile-prefix-map=%s=/krait-set" % work
        self.cc = [CLANG, "--target=wasm32-wasi", "--sysroot=" + sr, prefix]
        # C++ (libc++-16-dev-wasm32, no exceptions: wasm32-wasi has none).
        # clang-16's WASI driver does not add libc++'s headers itself, and
        # CPython 3.11.2's cpython/pthread_stubs.h says `restrict`, which
        # is not C++ (upstream later spelt it __restrict).
        self.cxx = [CLANGXX, "--target=wasm32-wasi", "--sysroot=" + sr, prefix, "-isystem",
                    os.path.join(sr, "include", "wasm32-wasi", "c++", "v1"), "-fno-exceptions",
                    "-Drestrict=__restrict"]
        self.inc = os.path.join(devkit, "include", "python3.11")

    def run(self, what, cmd, cwd=None):
        """Runs CMD, logged; on failure shows the log's tail and stops."""
        self.log.write("==== %s: %s\n" % (what, " ".join(cmd)))
        self.log.flush()
        p = subprocess.run(cmd, cwd=cwd, stdout=self.log, stderr=subprocess.STDOUT)
        if p.returncode != 0:
            self.log.close()
            tail = open(self.log.name).read().splitlines()[-30:]
            print("\n".join(tail), file=sys.stderr)
            die("%s failed (full log: %s)" % (what, self.log.name))

    def module_cflags(self, core=False):
        """The flags CPython compiled its own modules with (the devkit's
        config.o command), less its include dirs. For a package (CORE
        false) also less what CPython keeps to its own code (CFLAGS_NODIST:
        the C standard, its warnings, Py_BUILD_CORE), as distutils builds
        a third-party extension."""
        own = ("-I", "-std=", "-DPy_BUILD_CORE", "-W")
        return [f for f in self.link["module_cflags"]
                if not f.startswith("-I") and
                (core or not f.startswith(own) or f in ("-Wall", "-Wno-error=int-conversion"))]


def init_symbol(module):
    """The renamed init function of MODULE: its full name, dots as '__'."""
    return "PyInit_" + module.replace(".", "__")


def cythonize(b, mod, pyx, cxx):
    """PYX translated to C (C++ when CXX) by Debian's Cython, run natively
    (language level 3; `include`s resolve beside PYX); returns the output."""
    if not shutil.which(CYTHON):
        die("%s needs Cython for %s: %s not found (sh scripts/bootstrap.sh python)"
            % (mod, os.path.basename(pyx), CYTHON))
    out = os.path.join(b.work, "cython", mod, os.path.basename(pyx)[:-4] + (".cpp" if cxx else ".c"))
    os.makedirs(os.path.dirname(out), exist_ok=True)
    # run beside PYX with its bare name: the generated code names its
    # source (tracebacks), which must not carry the build's directory
    b.run("cython %s" % os.path.basename(pyx),
          [CYTHON, "-3"] + (["--cplus"] if cxx else []) + [os.path.basename(pyx), "-o", out],
          cwd=os.path.dirname(pyx))
    return out


def build_extension(b, recipe, src, ext):
    """Compiles one extension module's sources into an archive; returns
    its path."""
    mod = ext["module"]
    leaf = mod.rsplit(".", 1)[1]
    out = os.path.join(b.work, "obj", mod)
    os.makedirs(out, exist_ok=True)
    flags = b.module_cflags() + ["-I" + b.inc, "-DPyInit_%s=%s" % (leaf, init_symbol(mod))]
    flags += ["-I" + os.path.join(src, d) for d in ext.get("include_dirs", [])]
    flags += ["-D" + d for d in ext.get("defines", [])] + ext.get("cflags", [])
    cxx = ext.get("language", "c") == "c++"
    objs = []
    for s in ext["sources"]:
        path = os.path.join(src, s)
        if not os.path.isfile(path):
            die("%s: extension %s: source %s is not in %s" % (recipe["_path"], mod, s,
                                                              recipe["source"]["file"]))
        if s.endswith(".pyx"):
            path = cythonize(b, mod, path, cxx)
        o = os.path.join(out, s.replace("/", "_") + ".o")
        b.run("compile %s: %s" % (mod, s), (b.cxx if cxx else b.cc) + flags + ["-c", path, "-o", o])
        objs.append(o)
    lib = os.path.join(b.work, "lib", mod + ".a")
    os.makedirs(os.path.dirname(lib), exist_ok=True)
    if os.path.exists(lib):
        os.remove(lib)
    b.run("archive %s" % mod, ["llvm-ar-16", "rcs", lib] + objs)
    return lib


def config_c(b, modules):
    """CPython's config.c with MODULES (dotted names) added to the
    inittab; returns the compiled object's path."""
    text = open(os.path.join(b.devkit, "config.c")).read()
    m1, m2 = "/* -- ADDMODULE MARKER 1 -- */", "/* -- ADDMODULE MARKER 2 -- */"
    if text.count(m1) != 1 or text.count(m2) != 1:
        die("the devkit's config.c has no ADDMODULE markers")
    ext = "".join("extern PyObject* %s(void);\n" % init_symbol(m) for m in modules)
    tab = "".join('    {"%s", %s},\n' % (m, init_symbol(m)) for m in modules)
    text = text.replace(m1, m1 + "\n" + ext).replace(m2, m2 + "\n" + tab)
    c = os.path.join(b.work, "config.c")
    with open(c, "w") as fh:
        fh.write(text)
    o = os.path.join(b.work, "config.o")
    b.run("compile config.c", b.cc + b.module_cflags(core=True) + ["-I" + b.inc,
                                                         "-I" + os.path.join(b.inc, "internal"),
                                                         "-c", c, "-o", o])
    return o


def link(b, out, config_obj, archives, cxx=False):
    """python.wasm from the devkit's objects (CONFIG_OBJ in config.o's
    place, or the original) and ARCHIVES before its libraries (and libc++
    when CXX: a C++ extension is in ARCHIVES)."""
    objs = [os.path.join(b.devkit, "obj", o) for o in b.link["objects"]]
    if config_obj:
        objs[b.link["config_index"]] = config_obj
    libs = [l if l.startswith("-l") else os.path.join(b.devkit, l) for l in b.link["libs"]]
    b.run("link " + os.path.basename(os.path.dirname(out) or out),
          b.cc + b.link["flags"] + ["-o", out] + objs + archives +
          (["-lc++", "-lc++abi"] if cxx else []) + libs)


# ---- site-packages ---------------------------------------------------------
SKIP_SUFFIXES = (".c", ".h", ".pyx", ".pxd", ".pxi", ".so", ".o", ".cpp")


def copy_python(recipe, src, site, owners):
    """The recipe's Python packages into SITE, with bytecode (the stdlib's
    unchecked-hash pycs) and a .dist-info; returns the file count. OWNERS
    maps each file written so far to its recipe: two recipes of a set that
    ship the same file stop the build."""
    py = recipe.get("python", {})
    base = os.path.join(src, py.get("dir", "."))
    n = 0
    for pkg in py.get("packages", []):
        top = os.path.join(base, pkg)
        if not os.path.isdir(top):
            die("%s: python.packages: %s is not a directory of %s"
                % (recipe["_path"], pkg, recipe["source"]["file"]))
        for d, dirs, files in os.walk(top):
            dirs[:] = sorted(x for x in dirs if x not in ("__pycache__", "tests"))
            for f in sorted(files):
                if f.endswith(SKIP_SUFFIXES) or f.endswith(".pyc"):
                    continue
                rel = os.path.relpath(os.path.join(d, f), base)
                if owners.setdefault(rel, recipe["name"]) != recipe["name"]:
                    die("%s and %s both ship %s: they cannot be in one set"
                        % (owners[rel], recipe["name"], rel))
                dst = os.path.join(site, rel)
                os.makedirs(os.path.dirname(dst), exist_ok=True)
                shutil.copyfile(os.path.join(d, f), dst)
                if f.endswith(".py"):
                    cache = os.path.join(os.path.dirname(dst), "__pycache__",
                                         f[:-3] + ".cpython-311.pyc")
                    py_compile.compile(dst, cfile=cache, dfile=rel, doraise=True,
                                       invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
                n += 1
    info = os.path.join(site, "%s-%s.dist-info" % (recipe["name"], recipe["version"]))
    os.makedirs(info, exist_ok=True)
    with open(os.path.join(info, "METADATA"), "w") as fh:
        fh.write("Metadata-Version: 2.1\nName: %s\nVersion: %s\nSummary: %s\n"
                 % (recipe["name"], recipe["version"], recipe.get("summary", "")))
    with open(os.path.join(info, "INSTALLER"), "w") as fh:
        fh.write("krait\n")
    return n


# ---- one set ---------------------------------------------------------------
def fetch(recipe, used):
    """The recipe's source tarball (scripts/fetch-source.sh)."""
    s = recipe["source"]
    p = subprocess.run(["sh", os.path.join(ROOT, "scripts", "fetch-source.sh"), s["package"],
                        s["file"], s["sha256"], used], stdout=subprocess.PIPE, text=True,
                       env=dict(os.environ, KRAIT_CACHE=CACHE))
    if p.returncode != 0:
        die("%s: the source %s of Debian's %s could not be fetched (above)"
            % (os.path.relpath(recipe["_path"], ROOT), s["file"], s["package"]))
    return p.stdout.strip()


def unpack(tar, dst):
    """TAR into DST, its one top-level directory stripped. Debian's 3.11.2
    has no extraction filter, so what the "data" filter refuses is refused
    here: absolute names, '..', devices and fifos, hard links, symbolic
    links that leave the tree, and any member below a symbolic link (a
    chain of links checked one by one can still lead out); modes lose
    setuid, setgid and sticky bits, and files belong to whoever builds."""
    with tarfile.open(tar) as t:
        members = t.getmembers()
        tops = {m.name.split("/", 1)[0] for m in members}
        if len(tops) != 1:
            die("%s: expected one top-level directory, found %d" % (tar, len(tops)))
        keep, links = [], set()
        for m in members:
            m.name = m.name.split("/", 1)[1] if "/" in m.name else "."
            parts = m.name.split("/")
            bad = m.name.startswith("/") or ".." in parts or not (m.isfile() or m.isdir() or m.issym())
            bad = bad or any("/".join(parts[:i]) in links for i in range(1, len(parts)))
            if m.issym():
                target = os.path.normpath(os.path.join(os.path.dirname(m.name), m.linkname))
                bad = bad or m.linkname.startswith("/") or target == ".." or target.startswith("../")
                links.add(m.name)
            if bad:
                die("%s: refused member %r (absolute, '..', a device, a hard link, a link out "
                    "of the tree or a path through a link)" % (tar, m.name))
            m.mode &= 0o777
            m.uid, m.gid, m.uname, m.gname = os.getuid(), os.getgid(), "", ""
            if m.name != ".":
                keep.append(m)
        t.extractall(dst, members=keep)


def set_key(entry, recipes, tars):
    """The cache key of a set: base build, this script, recipes, sources."""
    h = hashlib.sha256()
    h.update(os.path.basename(entry).encode() + b"\n")
    for f in [os.path.abspath(__file__)] + [r["_path"] for r in recipes]:
        h.update(hashlib.sha256(open(f, "rb").read()).hexdigest().encode() + b"\n")
    for t in tars:
        h.update(hashlib.sha256(open(t, "rb").read()).hexdigest().encode() + b"\n")
    v = subprocess.run(["dpkg-query", "-W", "-f=${Package}=${Version}\\n"] + KEY_PKGS,
                       capture_output=True, text=True).stdout
    h.update(v.encode())  # a package not installed is simply absent
    return h.hexdigest()[:16]


def krait_check(home, recipes):
    """Each recipe's check code, run in the set under build/krait python
    (the interpreter: the AOT object may not exist yet)."""
    k = os.path.join(ROOT, "build", "krait")
    if not os.access(k, os.X_OK):
        say("no build/krait: the recipes' checks are skipped (make all)")
        return
    for r in recipes:
        code = r.get("check", {}).get("code")
        if not code:
            continue
        p = subprocess.run([k, "python", "--tier", "interp", "--python-home", home,
                            "--site-packages", os.path.join(home, "site-packages"), "-c", code],
                           capture_output=True, text=True)
        if p.returncode != 0:
            print(p.stdout + p.stderr, file=sys.stderr)
            die("%s: check failed in the set %s (above)" % (r["name"], home))
        say("check %s: %s" % (r["name"], p.stdout.strip().splitlines()[-1] if p.stdout.strip() else "ok"))


def build_set(names, entry, force):
    """Builds (or finds in the cache) the set NAMES; returns its entry and
    recipes. A build works in a directory of its own and publishes its
    entry by renaming it into place, so builds of the same set at once do
    not meet: the first published entry stays."""
    name = "+".join(names)
    recipes = [load_recipe(n) for n in names]
    used = os.path.join(CACHE, "src", ".used-%d" % os.getpid())
    os.makedirs(os.path.dirname(used), exist_ok=True)
    tars = [fetch(r, used) for r in recipes]
    os.remove(used) if os.path.exists(used) else None
    key = set_key(entry, recipes, tars)
    out = os.path.join(CACHE, "pyset-%s-%s" % (name, key))
    if os.path.exists(os.path.join(out, "COMPLETE")) and not force:
        say("set %s: cached %s" % (name, out))
        return out, recipes
    say("set %s: building (key %s)" % (name, key))
    os.makedirs(os.path.join(ROOT, "build", "pyset-work"), exist_ok=True)
    work = tempfile.mkdtemp(prefix=name + ".", dir=os.path.join(ROOT, "build", "pyset-work"))
    devkit = os.path.join(entry, "devkit")
    b = Build(work, devkit)
    # The devkit gives back the base python.wasm, or nothing it links can be trusted.
    same = os.path.join(work, "base-relinked.wasm")
    link(b, same, None, [])
    if open(same, "rb").read() != open(os.path.join(entry, "python.wasm"), "rb").read():
        die("the devkit of %s does not link the base python.wasm back byte for byte" % entry)
    os.remove(same)
    stage = os.path.join(work, "stage")
    site = os.path.join(stage, "site-packages")
    os.makedirs(site)
    archives, modules, lines, owners = [], [], [], {}
    for r, tar in zip(recipes, tars):
        src = os.path.join(work, "src", r["name"])
        unpack(tar, src)
        for ext in r.get("extension", []):
            say("%s: %s (%d sources)" % (r["name"], ext["module"], len(ext["sources"])))
            archives.append(build_extension(b, r, src, ext))
            modules.append(ext["module"])
        n = copy_python(r, src, site, owners)
        lines.append("%s %s %s (Debian source %s) extensions: %s; %d Python files"
                     % (r["name"], r["version"], r["source"]["file"], r["source"]["package"],
                        " ".join(e["module"] for e in r.get("extension", [])) or "none", n))
    if len(set(map(init_symbol, modules))) != len(modules):
        die("two extension modules of the set %s have the same init symbol" % name)
    cxx = any(e.get("language") == "c++" for r in recipes for e in r.get("extension", []))
    link(b, os.path.join(stage, "python.wasm"), config_c(b, modules), archives, cxx)
    with open(os.path.join(stage, "packages.txt"), "w") as fh:
        fh.write("# package set %s (key %s)\n" % (name, key))
        fh.write("".join(l + "\n" for l in lines))
    with open(os.path.join(stage, "base.txt"), "w") as fh:
        fh.write(base_key(entry) + "\n")
    size = os.path.getsize(os.path.join(stage, "python.wasm"))
    base = os.path.getsize(os.path.join(entry, "python.wasm"))
    with open(os.path.join(stage, "sizes.txt"), "w") as fh:
        fh.write("python.wasm         %d bytes (base %d, +%d)\n" % (size, base, size - base))
    b.log.close()
    shutil.copyfile(b.log.name, os.path.join(stage, "build.log"))
    krait_check(make_home(stage, os.path.join(work, "home")), recipes)
    open(os.path.join(stage, "COMPLETE"), "w").close()
    tmp = "%s.tmp.%d" % (out, os.getpid())
    shutil.copytree(stage, tmp, symlinks=True)
    old = None
    if force and os.path.exists(out):  # aside first: the good entry stays until the new one is in
        old = "%s.old.%d" % (out, os.getpid())
        os.rename(out, old)
    try:
        os.rename(tmp, out)
    except OSError:  # another build published it meanwhile: theirs stays
        shutil.rmtree(tmp, ignore_errors=True)
    if old:
        shutil.rmtree(old, ignore_errors=True)
    shutil.rmtree(work, ignore_errors=True)
    say("set %s: python.wasm %d bytes (+%d over the base)" % (name, size, size - base))
    return out, recipes


def base_key(entry):
    """The key of the base build ENTRY (its sizes.txt's first line), which a
    set records in base.txt: krait refuses a set linked on another base."""
    with open(os.path.join(entry, "sizes.txt")) as fh:
        words = fh.readline().split()
    if len(words) != 2 or words[0] != "key":
        die("%s/sizes.txt does not start with the build's key" % entry)
    return words[1]


def make_home(entry, home):
    """ENTRY as a Python home at HOME (made anew): python.wasm (and
    bin/python3.11, the same file), lib -> the base home's stdlib,
    site-packages/, packages.txt, sizes.txt, base.txt."""
    shutil.rmtree(home, ignore_errors=True)
    os.makedirs(os.path.join(home, "bin"))
    for f in ("python.wasm", "packages.txt", "sizes.txt", "base.txt"):
        shutil.copyfile(os.path.join(entry, f), os.path.join(home, f))
    os.link(os.path.join(home, "python.wasm"), os.path.join(home, "bin", "python3.11"))
    shutil.copytree(os.path.join(entry, "site-packages"), os.path.join(home, "site-packages"))
    os.symlink(os.path.relpath(os.path.join(BASE, "lib"), home), os.path.join(home, "lib"))
    with open(os.path.join(home, "CACHE_ENTRY"), "w") as fh:
        fh.write(entry + "\n")
    return home


def install(entry, name, recipes):
    """ENTRY installed as build/python/sets/NAME: made beside it, checked
    there (each recipe's check), then renamed into place, so a set that
    fails its check is never the installed one; the old home's aot/ is
    kept (objects are found by key; aot() drops the stale ones)."""
    sets = os.path.join(BASE, "sets")
    os.makedirs(sets, exist_ok=True)
    home = os.path.join(sets, name)
    new = os.path.join(sets, ".%s.new.%d" % (name, os.getpid()))
    make_home(entry, new)
    try:
        krait_check(new, recipes)
    except BaseException:   # a failed check (SystemExit) or ^C: no half-made home stays
        shutil.rmtree(new, ignore_errors=True)
        raise
    if os.path.isdir(os.path.join(home, "aot")):
        shutil.copytree(os.path.join(home, "aot"), os.path.join(new, "aot"))
    old = os.path.join(sets, ".%s.old.%d" % (name, os.getpid()))
    if os.path.lexists(home):
        os.rename(home, old)
    os.rename(new, home)
    shutil.rmtree(old, ignore_errors=True)
    return home


def aot(home):
    """The set's python.wasm compiled by the AOT tier into HOME/aot (from
    the cache when it was compiled before); other objects there go."""
    k = os.path.join(ROOT, "build", "krait")
    d = os.path.join(home, "aot")
    os.makedirs(d, exist_ok=True)
    say("native code for %s: krait compile (minutes the first time, then cached)"
        % os.path.relpath(home, ROOT))
    p = subprocess.run([k, "compile", "--into", d, os.path.join(home, "python.wasm")],
                       stdout=subprocess.PIPE, text=True)
    if p.returncode != 0:
        print(p.stdout, file=sys.stderr)
        die("krait compile of %s failed (above)" % os.path.join(home, "python.wasm"))
    keep = os.path.basename(p.stdout.strip().splitlines()[-1])
    for f in os.listdir(d):
        if f.endswith(".so") and f != keep:
            os.remove(os.path.join(d, f))


def installed_sets():
    """The sets in build/python/sets/ that can be brought up to date: each
    directory named as a set, whose recipes all exist. Any other directory
    is named and left alone; a set whose recipe is gone is removed (it
    cannot be linked on the new base, and an old one would run on it)."""
    d = os.path.join(BASE, "sets")
    found = []
    for n in sorted(os.listdir(d)) if os.path.isdir(d) else []:
        if n.startswith("."):
            continue
        names, err = set_names(n)
        if err or "+".join(names) != n:
            say("build/python/sets/%s is not a set's name: left as it is" % n)
            continue
        gone = [x for x in names if not os.path.exists(os.path.join(RECIPES, x + ".toml"))]
        if gone:
            shutil.rmtree(os.path.join(d, n))
            say("set %s: no recipe for %s any more: removed build/python/sets/%s"
                % (n, ", ".join(gone), n))
            continue
        found.append(names)
    return found


def main():
    ap = argparse.ArgumentParser(description="Build package sets of python.wasm.")
    ap.add_argument("--force", action="store_true", help="rebuild even when cached")
    ap.add_argument("--no-aot", action="store_true", help="skip the AOT object")
    ap.add_argument("--installed", action="store_true",
                    help="also the sets already in build/python/sets/")
    ap.add_argument("sets", nargs="*", metavar="SET")
    a = ap.parse_args()
    sets = [parse_set(t) for t in a.sets]
    if a.installed:
        sets += installed_sets()
    if not sets:
        if not a.installed:
            ap.error("name at least one SET")
        return
    entry = base_entry()
    done = set()
    for names in sets:
        if "+".join(names) in done:
            continue
        done.add("+".join(names))
        out, recipes = build_set(names, entry, a.force)
        home = install(out, "+".join(names), recipes)
        if not a.no_aot:
            aot(home)
        say("set %s -> %s" % ("+".join(names), os.path.relpath(home, ROOT)))


if __name__ == "__main__":
    main()
