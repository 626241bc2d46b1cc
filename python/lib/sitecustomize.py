# python/lib/sitecustomize.py -- installed into krait's stdlib (and run by
# `site` at startup unless -S). Owns clear import errors for what cannot
# exist in WebAssembly: native extension modules (.so) and WASI-less stdlib
# parts. Does not own the import system itself: the finder below runs
# last, only after every normal finder said "not found".
import sys

# Stdlib extension modules that a wasm32-wasi CPython cannot have, with the
# reason a user should read. Keyed by the module CPython tries to import.
_WASI_MISSING = {
    "_multiprocessing": "processes",
    "_posixsubprocess": "processes", "_posixshmem": "processes",
    "_ctypes": "loading native code (ctypes)", "_ssl": "TLS (OpenSSL)",
    "_hashlib": "OpenSSL (hashlib's built-in algorithms still work)",
    "_curses": "terminals (curses)",
    "_curses_panel": "terminals (curses)", "readline": "readline",
    "_tkinter": "a GUI (Tk)", "_uuid": "libuuid (uuid still works)",
    "_dbm": "dbm", "_gdbm": "gdbm", "termios": "terminal control",
    "fcntl": "fcntl", "grp": "user databases", "pwd": "user databases",
    "resource": "resource limits", "mmap": "mmap",
    "spwd": "user databases", "nis": "NIS", "syslog": "syslog",
    "ossaudiodev": "audio devices",
}
_NATIVE_SUFFIXES = (".so", ".pyd")


def _native_file(name, path):
    """The first native extension file for module NAME in the directories
    PATH, or None. Matches NAME.so, NAME.abi3.so and
    NAME.cpython-311-<platform>.so, as CPython's native loader would."""
    import os
    tail = name.rpartition(".")[2]
    for d in path or ():
        try:
            names = os.listdir(d or ".")
        except (OSError, TypeError):
            continue
        for f in names:
            if f.startswith(tail + ".") and f.endswith(_NATIVE_SUFFIXES):
                return os.path.join(d, f)
    return None


class KraitImportExplainer:
    """A meta path finder appended last: when no finder found a module, it
    turns "No module named X" into an error that says why, if X is a native
    extension or a stdlib part that WASI cannot provide."""

    @classmethod
    def find_spec(cls, name, path=None, target=None):
        native = _native_file(name, sys.path if path is None else path)
        if native:
            raise ModuleNotFoundError(
                f"cannot import {name!r}: {native} is a native extension "
                f"module (compiled machine code), which krait's WebAssembly "
                f"Python cannot load; only pure-Python packages work",
                name=name, path=native)
        why = _WASI_MISSING.get(name)
        if why:
            raise ModuleNotFoundError(
                f"No module named {name!r}: krait's Python runs in a "
                f"WebAssembly sandbox (wasm32-wasi), which has no {why}",
                name=name)
        return None


sys.meta_path.append(KraitImportExplainer)
