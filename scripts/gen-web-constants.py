#!/usr/bin/env python3
"""scripts/gen-web-constants.py -- writes krait-constants.js, the numbers
the browser shares with krait's C side, from the C headers that define
them: the snapshot format (src/snapfile/snapfile.h, KF_*), the ABI's error
codes and version (python/c/krait_abi.h, KRAIT_E_*, KRAIT_ABI_VERSION),
the "krait" import list (src/app/app.h, KA_IMPORTS) and the browser's file
layout that krait web-snapshot reproduces (app.h, KA_WEB_*). Run by
scripts/build-web.sh (`make web`) into build/web/. Does not own the
headers or the JavaScript that uses the constants (web/).

Usage: gen-web-constants.py OUT.js|- [--snapfile H] [--abi H] [--app H]

It reads only plain literals and refuses (exit 1, naming file and line)
any definition in those families it cannot read, so a constant can never
be silently left out or misread.
"""
import json
import os
import re
import sys

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
NUMBER = r"(-?(?:0[xX][0-9a-fA-F]+|[0-9]+))[uU]?"


class GenError(Exception):
    """A definition the generator cannot read: names where and why."""


def read_lines(path):
    """The file's lines, each with its 1-based number."""
    with open(path, encoding="utf-8") as f:
        return list(enumerate(f.read().split("\n"), 1))


def strip_comment(text):
    """text without a trailing /* ... */ or // comment."""
    return re.sub(r"\s*(/\*.*?\*/|//.*)$", "", text).strip()


def snapfile_constants(path):
    """Every `#define KF_NAME literal` of snapfile.h, in order: (NAME, value)."""
    out = []
    for no, line in read_lines(path):
        m = re.match(r"\s*#\s*define\s+KF_(\w+)\b(.*)$", line)
        if not m:
            continue
        name, rest = m.group(1), strip_comment(m.group(2))
        num = re.fullmatch(NUMBER, rest)
        string = re.fullmatch(r'"([ !#-~]*)"', rest)
        if num:
            out.append((name, int(num.group(1), 0)))
        elif string and "\\" not in string.group(1):
            out.append((name, string.group(1)))
        else:
            raise GenError(f"{path}:{no}: KF_{name} is not a plain literal: {rest!r}")
    if not out:
        raise GenError(f"{path}: no KF_ constants found")
    return out


def enumerators(path, block):
    """The (NAME, value) of each KRAIT_E_NAME = literal in an enum's lines
    ((number, text) pairs); comments, also ones over several lines, are
    dropped (each keeps its newlines, so errors name the right line)."""
    text = "\n".join(line for _, line in block)
    text = re.sub(r"/\*.*?\*/", lambda m: "\n" * m.group(0).count("\n") + " ", text, flags=re.S)
    text = re.sub(r"//[^\n]*", " ", text)
    out, at = [], 0
    for item in text.split(","):
        lead = item[:len(item) - len(item.lstrip())]   # the blank before it
        no = block[0][0] + text.count("\n", 0, at) + lead.count("\n")
        at += len(item) + 1
        item = " ".join(item.split())
        if not item:
            continue
        m = re.fullmatch(r"KRAIT_E_(\w+)\s*=\s*" + NUMBER, item)
        if not m:
            raise GenError(f"{path}:{no}: cannot read this enumerator: {item!r}")
        out.append((m.group(1), int(m.group(2), 0)))
    return out


def abi_constants(path):
    """KRAIT_ABI_VERSION and every KRAIT_E_NAME = literal of the ABI's enum
    (the enum that names any KRAIT_E_: all its lines must be read)."""
    version, errors, block = None, [], None
    for no, line in read_lines(path):
        m = re.match(r"\s*#\s*define\s+KRAIT_ABI_VERSION\b(.*)$", line)
        if m:
            num = re.fullmatch(NUMBER, strip_comment(m.group(1)))
            if not num:
                raise GenError(f"{path}:{no}: KRAIT_ABI_VERSION is not a plain number")
            version = int(num.group(1), 0)
        elif re.match(r"\s*enum\s*\{\s*$", line):
            block = []
        elif block is not None and re.match(r"\s*\}", line):
            if any("KRAIT_E_" in text for _, text in block):
                errors += enumerators(path, block)
            block = None
        elif block is not None:
            block.append((no, line))
        elif re.match(r"\s*KRAIT_E_", line):
            raise GenError(f"{path}:{no}: KRAIT_E_ outside an enum {{ ... }} block")
    if version is None or not errors:
        raise GenError(f"{path}: KRAIT_ABI_VERSION or the KRAIT_E_ enum not found")
    return version, errors


def imports(path):
    """The (name, signature) pairs of the KA_IMPORTS(X) macro, in order."""
    out, inside = [], False
    for no, line in read_lines(path):
        if re.match(r"\s*#\s*define\s+KA_IMPORTS\(X\)\s*\\\s*$", line):
            inside = True
            continue
        if not inside:
            continue
        text = line.strip()
        cont = text.endswith("\\")
        text = text.rstrip("\\").strip()
        if text:
            m = re.fullmatch(r'X\(\s*(\w+)\s*,\s*"([a-zA-Z]*:[a-zA-Z]*)"\s*\)', text)
            if not m:
                raise GenError(f"{path}:{no}: cannot read this KA_IMPORTS entry: {text!r}")
            out.append((m.group(1), m.group(2)))
        if not cont:
            break
    if not out:
        raise GenError(f"{path}: KA_IMPORTS(X) not found")
    return out


def web_layout(path):
    """Every `#define KA_WEB_NAME "string"` of app.h, in order: (NAME, value)."""
    out = []
    for no, line in read_lines(path):
        m = re.match(r"\s*#\s*define\s+KA_WEB_(\w+)\b(.*)$", line)
        if not m:
            continue
        string = re.fullmatch(r'"([ !#-~]*)"', strip_comment(m.group(2)))
        if not string or "\\" in string.group(1):
            raise GenError(f"{path}:{no}: KA_WEB_{m.group(1)} is not a plain string literal")
        out.append((m.group(1), string.group(1)))
    if not out:
        raise GenError(f"{path}: no KA_WEB_ constants found")
    return out


def frozen(pairs, indent="  "):
    """A JavaScript Object.freeze({...}) of (key, value) pairs, one a line."""
    body = "".join(f"{indent}{k}: {json.dumps(v)},\n" for k, v in pairs)
    return "Object.freeze({\n" + body + "})"


def render(snap, abi_version, errors, imps, web, sources):
    """The text of krait-constants.js."""
    src = ", ".join(sources)
    return (
        "// krait-constants.js -- GENERATED by scripts/gen-web-constants.py from\n"
        f"// {src}.\n"
        "// Do not edit: `make web` writes it anew. The numbers krait.js and its\n"
        "// worker share with krait's C side; docs/SNAPSHOT.md explains SNAPSHOT.\n\n"
        "/** The snapshot file format (snapfile.h's KF_ constants without KF_). */\n"
        f"export const SNAPSHOT = {frozen(snap)};\n\n"
        f"/** KRAIT_ABI_VERSION of krait_abi.h. */\n"
        f"export const ABI_VERSION = {abi_version};\n\n"
        "/** The ABI's error codes (krait_abi.h's KRAIT_E_ without KRAIT_E_). */\n"
        f"export const E = {frozen(errors)};\n\n"
        "/** The \"krait\" imports of python.wasm and their signatures (KA_IMPORTS). */\n"
        f"export const IMPORTS = {frozen(imps)};\n\n"
        "/** The browser's file layout (app.h's KA_WEB_ without KA_WEB_). */\n"
        f"export const WEB = {frozen(web)};\n"
    )


def main(argv):
    args = {"--snapfile": "src/snapfile/snapfile.h", "--abi": "python/c/krait_abi.h",
            "--app": "src/app/app.h"}
    out = None
    it = iter(argv)
    for a in it:
        if a in args:
            args[a] = next(it, None)
            if args[a] is None:
                raise GenError(f"{a} needs a path")
        elif out is None:
            out = a
        else:
            raise GenError(f"unexpected argument {a!r}")
    if out is None:
        raise GenError("usage: gen-web-constants.py OUT.js|- [--snapfile H] [--abi H] [--app H]")
    paths = {k: v if os.path.isabs(v) else os.path.join(ROOT, v) for k, v in args.items()}
    version, errors = abi_constants(paths["--abi"])
    text = render(snapfile_constants(paths["--snapfile"]), version, errors,
                  imports(paths["--app"]), web_layout(paths["--app"]), [args["--snapfile"], args["--abi"], args["--app"]])
    if out == "-":
        sys.stdout.write(text)
    else:
        with open(out + ".tmp", "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(out + ".tmp", out)


if __name__ == "__main__":
    try:
        main(sys.argv[1:])
    except (GenError, OSError) as e:
        sys.exit(f"gen-web-constants: {e}")
