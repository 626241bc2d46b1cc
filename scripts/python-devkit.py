#!/usr/bin/python3.11
# scripts/python-devkit.py -- what linking python.wasm again takes, saved
# from a finished CPython build tree: the devkit of a build-python.sh cache
# entry, which scripts/build-packages.py links package sets with.
#
#   python3 scripts/python-devkit.py BUILDDIR SRCDIR DEVKIT
#
# Owns: reading python.wasm's own link command from CPython's Makefile
# (`make -n`, so it is the Makefile's, not a copy of it), and writing
# DEVKIT/ with
#   obj/NNNN.o        every object of that command, in its order
#   lib/libNAME.a     its archives and the -lNAME that resolve to its -L dirs
#   config.c          CPython's generated Modules/config.c (the inittab)
#   include/python3.11/   CPython's headers and the build's pyconfig.h
#   link.json         {"flags": [...], "objects": [...], "config_index": i,
#                      "libs": [...], "module_cflags": [...]}: the command's
#                      flags, its objects (obj/ names; config_index is
#                      Modules/config.o's place, which a package set fills
#                      with its own config.o), then its libraries (lib/ files
#                      and system -lNAME), in order; and the flags CPython
#                      compiled Modules/config.c with (its modules' flags)
# With the same config.c, flags, objects and libraries the link gives back
# python.wasm byte for byte (build-packages.py checks it on the empty set).
# Does not own: building CPython (build-python.sh), package sets
# (build-packages.py).
import json
import os
import shlex
import shutil
import subprocess
import sys


def link_command(bld):
    """python.wasm's link command in BLD, as a list of words: make -n with
    Programs/python.o made to look new, so only the link is printed."""
    out = subprocess.run(["make", "-C", bld, "-s", "-n", "-W", "Programs/python.o", "python.wasm"],
                         check=True, capture_output=True, text=True).stdout
    lines = [l for l in out.splitlines() if " -o python.wasm " in l]
    if len(lines) != 1:
        sys.exit("python-devkit: expected one link command for python.wasm in make -n's output, got %d"
                 % len(lines))
    return shlex.split(lines[0])


def config_cflags(bld):
    """The flags Modules/config.o was compiled with (make -n, as above),
    without the compiler, its target and sysroot, -c, -o and the source."""
    out = subprocess.run(["make", "-C", bld, "-s", "-n", "-W", "Modules/config.c", "Modules/config.o"],
                         check=True, capture_output=True, text=True).stdout
    lines = [l for l in out.splitlines() if " -o Modules/config.o " in l]
    if len(lines) != 1:
        sys.exit("python-devkit: expected one compile command for Modules/config.o, got %d" % len(lines))
    words, flags, i = shlex.split(lines[0]), [], 1
    while i < len(words):
        w = words[i]
        if w == "-o":
            i += 1
        elif not (w.startswith(("--target=", "--sysroot=")) or w in ("-c", "Modules/config.c")):
            flags.append(w)
        i += 1
    return flags


def split_command(words, bld):
    """(flags, objects, archives-and-libs) of a clang link command: words
    after the compiler's own target/sysroot, the output dropped."""
    flags, objects, libs, ldirs = [], [], [], []
    i = 1  # words[0] is the compiler
    while i < len(words):
        w = words[i]
        if w == "-o":
            i += 2
            continue
        if w.startswith("--target=") or w.startswith("--sysroot="):
            pass
        elif w.startswith("-L"):
            d = w[2:]
            if d not in ldirs:
                ldirs.append(d)
        elif w.startswith("-l"):
            libs.append(("l", w[2:]))
        elif w.endswith(".o"):
            objects.append(os.path.join(bld, w))
        elif w.endswith(".a"):
            libs.append(("a", os.path.join(bld, w)))
        elif w in ("-z",):
            flags += [w, words[i + 1]]
            i += 1
        elif w.startswith("-"):
            flags.append(w)
        else:
            sys.exit("python-devkit: a word of the link command not understood: %r" % w)
        i += 1
    return flags, objects, libs, ldirs


def main():
    bld, src, dk = sys.argv[1:4]
    words = link_command(bld)
    flags, objects, libs, ldirs = split_command(words, bld)
    if os.path.exists(dk):
        shutil.rmtree(dk)
    for d in ("obj", "lib", "include"):
        os.makedirs(os.path.join(dk, d))
    names, config_index = [], None
    for n, o in enumerate(objects):
        name = "%04d.o" % n
        if os.path.normpath(o) == os.path.normpath(os.path.join(bld, "Modules/config.o")):
            config_index = n
        shutil.copyfile(o, os.path.join(dk, "obj", name))
        names.append(name)
    if config_index is None:
        sys.exit("python-devkit: Modules/config.o is not in python.wasm's link command")
    out_libs = []
    for kind, what in libs:
        path = what if kind == "a" else next(
            (os.path.join(d, "lib%s.a" % what) for d in ldirs
             if os.path.exists(os.path.join(d, "lib%s.a" % what))), None)
        if path is None:  # a system library (wasi-libc's): named as it was
            out_libs.append("-l" + what)
            continue
        base = os.path.basename(path)
        if not os.path.exists(os.path.join(dk, "lib", base)):
            shutil.copyfile(path, os.path.join(dk, "lib", base))
        out_libs.append("lib/" + base)  # repeats kept: the order is the command's
    shutil.copyfile(os.path.join(bld, "Modules/config.c"), os.path.join(dk, "config.c"))
    inc = os.path.join(dk, "include", "python3.11")
    shutil.copytree(os.path.join(src, "Include"), inc)
    shutil.copyfile(os.path.join(bld, "pyconfig.h"), os.path.join(inc, "pyconfig.h"))
    with open(os.path.join(dk, "link.json"), "w") as fh:
        json.dump({"flags": flags, "objects": names, "config_index": config_index,
                   "libs": out_libs, "module_cflags": config_cflags(bld)}, fh, indent=1)
        fh.write("\n")
    print("devkit: %d objects, %d libraries, %d flags -> %s"
          % (len(names), len(out_libs), len(flags), dk))


if __name__ == "__main__":
    main()
