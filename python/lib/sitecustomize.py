# python/lib/sitecustomize.py -- installed into krait's stdlib (and run by
# `site` at startup unless -S). Owns clear import errors for what cannot
# exist in WebAssembly (native extension modules, WASI-less stdlib parts)
# and the fix-ups that let stdlib modules work on WASI (asyncio's event
# loop, sockets over the host's connections, TLS on the host), and finding
# a package set's built-in extensions by their dotted names. Does not own
# the import system itself: the explainer runs last, after every normal
# finder said "not found"; the fixer only wraps the normal loader of the
# modules it fixes, or loads krait's file in place of one (ssl).
import sys

# Stdlib extension modules that a wasm32-wasi CPython cannot have, with the
# reason a user should read. Keyed by the module CPython tries to import.
_WASI_MISSING = {
    "_multiprocessing": "processes",
    "_posixsubprocess": "processes", "_posixshmem": "processes",
    "_ctypes": "loading native code (ctypes)",
    "_ssl": "OpenSSL (krait's `ssl` module does TLS on the host: import ssl)",
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


# Per directory: (its mtime, the module names its native extension files
# would give). A failed import is often expected (`try: import X`) and may
# run on every request (posixpath.expanduser imports pwd each time):
# listing every sys.path directory each time cost ~1 ms per failed import.
_native_dirs = {}


def _native_names(d):
    """The native extension files in directory D by module name, read again
    only when D's mtime changed; {} when D cannot be read."""
    import os
    try:
        mtime = os.stat(d or ".").st_mtime_ns
        cached = _native_dirs.get(d)
        if cached and cached[0] == mtime:
            return cached[1]
        files = {}
        for f in os.listdir(d or "."):
            if f.endswith(_NATIVE_SUFFIXES):
                files.setdefault(f.partition(".")[0], os.path.join(d, f))
    except (OSError, TypeError):
        return {}
    _native_dirs[d] = (mtime, files)
    return files


def _native_file(name, path):
    """The first native extension file for module NAME in the directories
    PATH, or None. Matches NAME.so, NAME.abi3.so and
    NAME.cpython-311-<platform>.so, as CPython's native loader would."""
    tail = name.rpartition(".")[2]
    for d in path or ():
        native = _native_names(d).get(tail)
        if native:
            return native
    return None


class KraitImportExplainer:
    """A meta path finder appended last: when no finder found a module, it
    turns "No module named X" into an error that says why, if X is a native
    extension or a stdlib part that WASI cannot provide."""

    @classmethod
    def find_spec(cls, name, path=None, target=None):
        why = _WASI_MISSING.get(name)
        if why:
            raise ModuleNotFoundError(
                f"No module named {name!r}: krait's Python runs in a "
                f"WebAssembly sandbox (wasm32-wasi), which has no {why}",
                name=name)
        native = _native_file(name, sys.path if path is None else path)
        if native:
            raise ModuleNotFoundError(
                f"cannot import {name!r}: {native} is a native extension "
                f"module (compiled machine code), which krait's WebAssembly "
                f"Python cannot load; only pure-Python packages work",
                name=name, path=native)
        return None


def _fix_selector_events(mod):
    """asyncio's selector loop makes a socketpair to be woken from other
    threads and signal handlers; WASI has neither sockets nor threads, so
    without one the loop could not even start. Here the loop does without:
    it still sleeps in select/poll (poll_oneoff) until its next timer."""
    cls = mod.BaseSelectorEventLoop
    make, close, write = (cls._make_self_pipe, cls._close_self_pipe,
                          cls._write_to_self)

    def _make_self_pipe(self):
        try:
            make(self)
        except OSError:
            self._ssock = self._csock = None

    def _close_self_pipe(self):
        if getattr(self, "_ssock", None) is not None:
            close(self)

    def _write_to_self(self):
        if getattr(self, "_csock", None) is not None:
            write(self)

    cls._make_self_pipe = _make_self_pipe
    cls._close_self_pipe = _close_self_pipe
    cls._write_to_self = _write_to_self


def _fix_socket(mod):
    """WASI's _socket cannot connect: socket.socket, getaddrinfo and
    gethostbyname become _krait_socket's, over the host's net.* calls."""
    import _krait_socket
    _krait_socket.install(mod)


def _fix_urllib3_wait(mod):
    """urllib3 polls pooled connections through select on a fileno: krait
    sockets are asked through the host instead."""
    import _krait_socket
    _krait_socket.fix_urllib3_wait(mod)


def _fix_certifi(mod):
    """certifi points at the system's CA bundle, a host file the sandbox
    does not have, and requests refuses https when it does not exist: the
    host verifies against its own store, so where() names a guest file
    that exists (krait's ssl module, never read as certificates)."""
    import ssl
    mod.where = lambda: ssl.__file__
    mod.contents = lambda: ""


class KraitStdlibFixer:
    """A meta path finder placed first that reacts only to the modules in
    FIXES and REPLACE: it finds a FIXES module the normal way and runs the
    fix right after the module's own code; a REPLACE module is loaded from
    krait's file instead. Nothing is imported early."""
    FIXES = {"asyncio.selector_events": _fix_selector_events,
             "socket": _fix_socket, "urllib3.util.wait": _fix_urllib3_wait,
             "certifi.core": _fix_certifi}
    REPLACE = {"ssl": "_krait_ssl"}

    @classmethod
    def find_spec(cls, name, path=None, target=None):
        fix = cls.FIXES.get(name)
        if fix is None:
            return cls._replacement(name)
        from importlib.machinery import PathFinder
        spec = PathFinder.find_spec(name, path, target)
        if spec is None or spec.loader is None:
            return spec
        run = spec.loader.exec_module

        def exec_module(module):
            run(module)
            fix(module)
        spec.loader.exec_module = exec_module
        return spec

    @classmethod
    def _replacement(cls, name):
        """The spec loading krait's file for NAME under NAME, or None."""
        ours = cls.REPLACE.get(name)
        if ours is None:
            return None
        from importlib.machinery import PathFinder
        from importlib.util import spec_from_file_location
        found = PathFinder.find_spec(ours)
        return found and spec_from_file_location(name, found.origin)


# The built-in modules with a dot in their names: a package set's C
# extensions, linked into its python.wasm (scripts/build-packages.py).
_DOTTED_BUILTINS = frozenset(n for n in sys.builtin_module_names if "." in n)


class KraitDottedBuiltins:
    """Finds the built-in modules in _DOTTED_BUILTINS. CPython's own
    BuiltinImporter finds only top-level ones (for a submodule it returns
    None), so this finder stands right after it, before the path: a
    package's built-in extension wins over any file of the same name.
    Installed only when python.wasm has such modules."""

    @classmethod
    def find_spec(cls, name, path=None, target=None):
        if name not in _DOTTED_BUILTINS:
            return None
        from importlib.machinery import BuiltinImporter, ModuleSpec
        return ModuleSpec(name, BuiltinImporter, origin="built-in")


if _DOTTED_BUILTINS:
    _at = next((i + 1 for i, f in enumerate(sys.meta_path)
                if getattr(f, "__name__", "") == "BuiltinImporter"), 0)
    sys.meta_path.insert(_at, KraitDottedBuiltins)
if sys.platform == "wasi":
    sys.meta_path.insert(0, KraitStdlibFixer)
sys.meta_path.append(KraitImportExplainer)
