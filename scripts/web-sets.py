#!/usr/bin/env python3
"""scripts/web-sets.py -- publishes the package sets that
scripts/build-packages.py installed (build/python/sets/NAME/) into the
browser build, for `make web` (scripts/build-web.sh): per set,
WEB/python/sets/NAME/python.wasm (stripped with llvm-strip-16, as the base
one is) and site-packages.zip (the set's Python files as the page's stdlib
zip holds them: compiled modules only, unchecked-hash .pyc, stored), and
one index of them, WEB/python/sets/index.json, the single list the loader
(web/krait.js) reads:

  {"sets": {"NAME": {"packages": {"markupsafe": "2.1.2"},
                     "imports": ["markupsafe"],
                     "wasm_sha256": "<hex of the stripped python.wasm>"}}}

imports: the set's top-level modules (site-packages' packages and
modules), which the browser boot imports (config "preload", krait_runtime),
so the set's snapshot holds them: a page's import then costs nothing and
fetches no stdlib module.

wasm_sha256 is what the set's snapshot must be bound to (its module hash,
docs/SNAPSHOT.md): krait.js refuses a snapshot taken from another
python.wasm. The paths come from krait-constants' WEB (src/app/app.h,
KA_WEB_*), read here from app.h through scripts/gen-web-constants.py.
Does not own the sets' building (build-packages.py) nor their snapshots
(krait web-snapshot --set, run by build-web.sh).

Usage: web-sets.py SETS_DIR WEB_DIR
"""
import hashlib
import importlib.util
import json
import os
import re
import py_compile
import subprocess
import sys
import tempfile
import zipfile

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))


def web_layout():
    """app.h's KA_WEB_ constants (NAME -> value), as the generator reads them."""
    spec = importlib.util.spec_from_file_location("gen", os.path.join(ROOT, "scripts", "gen-web-constants.py"))
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    return dict(gen.web_layout(os.path.join(ROOT, "src", "app", "app.h")))


def packages(set_dir):
    """{package: version} from the set's packages.txt ("NAME VERSION ..."
    lines; '#' lines are comments)."""
    out = {}
    with open(os.path.join(set_dir, "packages.txt"), encoding="utf-8") as fh:
        for line in fh:
            words = line.split()
            if words and not words[0].startswith("#"):
                out[words[0]] = words[1] if len(words) > 1 else ""
    if not out:
        sys.exit("web-sets: %s/packages.txt names no package" % set_dir)
    return out


def site_zip(site, out):
    """site-packages/ as a stored zip: each .py compiled (unchecked-hash
    .pyc, as the stdlib zip's are) in its place, other files (data,
    .dist-info) as they are, __pycache__ left out; every directory has its
    own entry (zipimport finds a namespace package only through one)."""
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as z, tempfile.TemporaryDirectory() as tmp:
        for root, dirs, files in os.walk(site):
            dirs[:] = sorted(d for d in dirs if d != "__pycache__")
            for d in dirs:
                rel = os.path.relpath(os.path.join(root, d), site).replace(os.sep, "/") + "/"
                z.writestr(zipfile.ZipInfo(rel, (1980, 1, 1, 0, 0, 0)), b"")
            for f in sorted(files):
                path = os.path.join(root, f)
                rel = os.path.relpath(path, site).replace(os.sep, "/")
                info = zipfile.ZipInfo(rel, (1980, 1, 1, 0, 0, 0))
                if f.endswith(".py"):
                    pyc = os.path.join(tmp, "m.pyc")
                    py_compile.compile(path, pyc, dfile=rel, doraise=True,
                                       invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
                    info.filename = rel[:-3] + ".pyc"
                    z.writestr(info, open(pyc, "rb").read())
                else:
                    z.writestr(info, open(path, "rb").read())


def imports(site):
    """The top-level importable names in site-packages/: packages (with an
    __init__.py) and modules, sorted."""
    out = []
    for f in sorted(os.listdir(site)):
        if os.path.isfile(os.path.join(site, f, "__init__.py")):
            out.append(f)
        elif f.endswith(".py") and os.path.isfile(os.path.join(site, f)):
            out.append(f[:-3])
    return out


def publish(set_dir, name, out, web):
    """One set into out/NAME/; its index entry."""
    dest = os.path.join(out, name)
    os.makedirs(dest)
    wasm = os.path.join(dest, "python.wasm")
    subprocess.run(["llvm-strip-16", "-o", wasm, os.path.join(set_dir, "python.wasm")], check=True)
    site_zip(os.path.join(set_dir, "site-packages"), os.path.join(dest, web["SITE_FILE"]))
    with open(wasm, "rb") as fh:
        digest = hashlib.sha256(fh.read()).hexdigest()
    return {"packages": packages(set_dir), "imports": imports(os.path.join(set_dir, "site-packages")),
            "wasm_sha256": digest}


# A set's directory name: package names ([a-z0-9_-], not starting with
# '-') joined by '+', as scripts/build-packages.py and pkgset.c name them.
SET_NAME = re.compile(r"[a-z0-9_][a-z0-9_-]*(\+[a-z0-9_][a-z0-9_-]*)*")


def base_key(home):
    """The key of the base build at HOME (its sizes.txt's first line,
    "key KEY"), or None when it has none."""
    try:
        words = open(os.path.join(home, "sizes.txt")).readline().split()
    except OSError:
        return None
    return words[1] if len(words) == 2 and words[0] == "key" else None


def main(sets_dir, web_dir):
    web = web_layout()
    out = os.path.join(web_dir, web["SETS"])
    os.makedirs(out, exist_ok=True)
    index = {}
    names = sorted(os.listdir(sets_dir)) if os.path.isdir(sets_dir) else []
    base = base_key(os.path.dirname(os.path.abspath(sets_dir)))
    for name in names:
        d = os.path.join(sets_dir, name)
        if not SET_NAME.fullmatch(name) or not os.path.isfile(os.path.join(d, "python.wasm")):
            continue   # a set being built (.NAME.new.PID), a copy, or not a set
        linked = open(os.path.join(d, "base.txt")).read().strip() if os.path.exists(os.path.join(d, "base.txt")) else None
        if base and linked != base:
            # as krait python and serve refuse it (src/manifest/pkgset.c): its
            # python.wasm would boot over another build's stdlib zip
            print("web: package set %s left out: linked on another python.wasm (key %s; this build's is %s); "
                  "make python links it again" % (name, linked, base))
            continue
        index[name] = publish(d, name, out, web)
        print("web: package set %s (%s)" % (name, ", ".join("%s %s" % kv for kv in index[name]["packages"].items())))
    with open(os.path.join(web_dir, web["SET_INDEX"]), "w", encoding="utf-8") as fh:
        json.dump({"sets": index}, fh, indent=1, sort_keys=True)
        fh.write("\n")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: web-sets.py SETS_DIR WEB_DIR")
    main(sys.argv[1], sys.argv[2])
