// web/krait-worker.js -- the Web Worker that runs python.wasm for krait.js:
// WASI preview1 from @bjorn3/browser_wasi_shim over an in-memory file
// system (the stdlib zip, the SDK zip, a package set's site-packages zip
// first on sys.path, the user's files in /home), the
// "krait" imports of python/c/krait_abi.h, and one persistent interpreter
// booted with krait_init ("browser" style) that runs code on request, or
// started from a snapshot (krait-snapfile.js reads it).
// Messages in: init, run, writeFile, readFile. Out: ready, stdout, stderr,
// stdin (input() waits), done, file, error. Does not own the page API
// (krait.js), the snapshot format or the ABI's numbers (krait-constants.js,
// generated from the C headers by `make web`).
import {
  WASI, File, OpenFile, ConsoleStdout, PreopenDirectory, Directory, Fd, wasi as W,
} from "./vendor/browser_wasi_shim/index.js";
import { E, IMPORTS, WEB } from "./krait-constants.js";
import { readSnapshot, applySnapshot, checkModuleHash } from "./krait-snapfile.js";

const enc = new TextEncoder();
const dec = new TextDecoder();
const outDec = new TextDecoder();   // stdout and stderr each keep their
const errDec = new TextDecoder();   // own partial UTF-8 sequences

let inst = null;          // the WebAssembly.Instance
let home = null;          // the Directory mounted at /home
let request = null;       // the current request's encoded bytes
let response = null;      // { status, headers, body } once respond() ran
let stdinBuf = null;      // SharedArrayBuffer for input(), or null
let ffiBuf = null;        // SharedArrayBuffer for the js module's calls, or null
let jsResult = null;      // the last js_call's JSON result (bytes)
// the config import's answer (as src/app/websnap.c's ka_web_config); a
// package set's adds "preload", its packages, imported at boot
let config = { name: "browser", style: "browser", module: "", wsgi: "", kv: [], debug: true };

// ---- stdin: input() blocks on a SharedArrayBuffer the page answers --------

// Layout of stdinBuf: Int32 [0] state (0 waiting, 1 answered), [1] length,
// then the UTF-8 bytes of the line.
const STDIN_CAP = 65536;

/** stdin for the interpreter: each read asks the page for a line. Without
 * cross-origin isolation (no SharedArrayBuffer) it reads end-of-file and
 * says why once. */
class PageStdin extends Fd {
  constructor() { super(); this.pending = new Uint8Array(0); this.warned = false; }
  // Not a terminal (FILETYPE_UNKNOWN): input() then writes its prompt to
  // stdout, as with a pipe, instead of CPython's tty path (stderr).
  fd_fdstat_get() { return { ret: 0, fdstat: new W.Fdstat(W.FILETYPE_UNKNOWN, 0) }; }
  fd_filestat_get() { return { ret: 0, filestat: new W.Filestat(0n, W.FILETYPE_UNKNOWN, 0n) }; }
  fd_read(size) {
    if (this.pending.length === 0 && !this.ask()) return { ret: 0, data: new Uint8Array(0) };
    const data = this.pending.slice(0, size);
    this.pending = this.pending.slice(data.length);
    return { ret: 0, data };
  }
  ask() {
    if (!stdinBuf) {
      if (!this.warned) {
        postMessage({ type: "stderr", text: "krait: input() needs a cross-origin isolated page " +
          "(COOP/COEP headers, as krait serve sends): reading end of file\n" });
      }
      this.warned = true;
      return false;
    }
    const ctl = new Int32Array(stdinBuf, 0, 2);
    Atomics.store(ctl, 0, 0);
    postMessage({ type: "stdin" });
    Atomics.wait(ctl, 0, 0);
    const n = Atomics.load(ctl, 1);
    if (n < 0) return false;                      // the page sent end of file
    this.pending = new Uint8Array(stdinBuf, 8, n).slice();
    return true;
  }
}

// ---- the stdlib zip, read when first needed ----------------------------------

/** A read-only file fetched (synchronously: a worker may) the first time
 * its bytes or size are needed: the stdlib zip when starting from a
 * snapshot, whose CPython imported at boot what it needs. */
class LazyFile extends File {
  constructor(url) {
    super(new Uint8Array(0), { readonly: true });
    this.url = url;
    this.bytes = null;
  }
  get data() {
    if (!this.bytes) {
      const xhr = new XMLHttpRequest();
      xhr.open("GET", this.url, false);
      xhr.responseType = "arraybuffer";
      xhr.send();
      if (xhr.status !== 200) throw new Error(`krait: cannot fetch ${this.url}: HTTP ${xhr.status}`);
      this.bytes = new Uint8Array(xhr.response);
    }
    return this.bytes;
  }
  set data(v) { if (this.url) this.bytes = v; }   // File's constructor sets it first
}

// ---- the "krait" imports ----------------------------------------------------

function mem() { return new Uint8Array(inst.exports.memory.buffer); }
function view() { return new DataView(inst.exports.memory.buffer); }

/** Copies bytes into the guest buffer (ptr, cap) when they fit; returns
 * the full length either way (the guest retries with a larger buffer). */
function give(ptr, cap, bytes) {
  if (bytes.length <= cap) mem().set(bytes, ptr);
  return bytes.length;
}

/** The request encoding of krait_abi.h: strings are u32 length + bytes. */
function encodeRequest(method, uri, headers, body) {
  const parts = [];
  const str = (b) => { const n = new Uint8Array(4); new DataView(n.buffer).setUint32(0, b.length, true); parts.push(n, b); };
  str(enc.encode(method));
  str(enc.encode(uri));
  const nh = new Uint8Array(4); new DataView(nh.buffer).setUint32(0, headers.length, true); parts.push(nh);
  for (const [k, v] of headers) { str(enc.encode(k)); str(enc.encode(v)); }
  str(body);
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}

/** Decodes a response (status, headers, body) at (ptr, len). */
function decodeResponse(ptr, len) {
  const v = view(), m = mem();
  let at = ptr;
  const u32 = () => { const x = v.getUint32(at, true); at += 4; return x; };
  const str = () => { const n = u32(); const b = m.slice(at, at + n); at += n; return b; };
  const status = u32(), nh = u32(), headers = [];
  for (let i = 0; i < nh; i++) headers.push([dec.decode(str()), dec.decode(str())]);
  return { status, headers, body: str(), end: at === ptr + len };
}

// ---- the js module: each operation runs on the page's main thread --------

// Layout of ffiBuf: Int32 [0] state (0 waiting, 1 answered), [1] length,
// then the UTF-8 JSON result.
const FFI_CAP = 1 << 20;

/** js_call(op, len): posts the JSON operation to the page and waits for
 * its JSON result (kept for js_result). Without cross-origin isolation the
 * result is an error saying so. */
function jsCall(ptr, len) {
  if (!ffiBuf) {
    jsResult = enc.encode(JSON.stringify({ error: { name: "Error", message:
      "the js module needs a cross-origin isolated page (COOP/COEP headers, as krait serve --playground sends)" } }));
    return jsResult.length;
  }
  const ctl = new Int32Array(ffiBuf, 0, 2);
  Atomics.store(ctl, 0, 0);
  postMessage({ type: "js", op: dec.decode(mem().slice(ptr, ptr + len)) });
  Atomics.wait(ctl, 0, 0);
  jsResult = new Uint8Array(ffiBuf, 8, Atomics.load(ctl, 1)).slice();
  return jsResult.length;
}

// The imports the browser implements; every other one of IMPORTS (the
// key-value store, for one) answers E.NOSYS, as the command line's stubs do.
const implemented = {
  request: (buf, cap) => (request ? give(buf, cap, request) : E.STATE),
  respond: (ptr, len) => { response = decodeResponse(ptr, len); return 0; },
  respond_start: (ptr, len) => { response = decodeResponse(ptr, len); return 0; },
  send: (ptr, len) => 0,
  log: (level, ptr, len) => {
    postMessage({ type: "stderr", text: dec.decode(mem().slice(ptr, ptr + len)) + "\n" });
    return 0;
  },
  variable: () => E.NOTFOUND,
  config: (buf, cap) => give(buf, cap, enc.encode(JSON.stringify(config))),
  boot_info: () => 0,
  js_call: jsCall,
  js_result: (buf, cap) => give(buf, cap, jsResult || new Uint8Array(0)),
  error_message: (buf, cap) => give(buf, cap, enc.encode("not available in the browser")),
};
for (const name of Object.keys(implemented)) {
  if (!Object.hasOwn(IMPORTS, name)) throw new Error(`krait-worker: ${name} is not one of the "krait" imports (KA_IMPORTS)`);
}
const kraitImports = Object.fromEntries(Object.keys(IMPORTS).map((name) => [name, implemented[name] || (() => E.NOSYS)]));

// ---- boot and run ----------------------------------------------------------

/** krait_handle without wasm-ld's constructor wrapper (krait_abi.h). */
function handleDirect() {
  const at = inst.exports.krait_handle_direct.value;
  const index = view().getUint32(at, true);
  return inst.exports.__indirect_function_table.get(index);
}

/** Instantiates python.wasm over the file system and boots the
 * interpreter, or starts it from msg.snapshot (checked first: a file
 * krait-snapfile.js refuses rejects load() with its SnapshotError, and so
 * does, for a package set (msg.set), a snapshot not taken from the set's
 * python.wasm, msg.set.wasmSha256); posts "ready" with the boot time.
 * A set's site-packages zip (msg.set.site) goes first on sys.path
 * through PYTHONPATH, as krait web-snapshot --set boots it. */
async function init(msg) {
  const t0 = performance.now();
  const snapshot = !msg.snapshot ? null : msg.snapshot instanceof Uint8Array ? msg.snapshot : new Uint8Array(msg.snapshot);
  const snapName = msg.snapshotName || "the snapshot";
  const layout = snapshot ? readSnapshot(snapshot, snapName) : null;   // checked whole before any work
  if (snapshot && msg.set) checkModuleHash(snapshot, msg.set.wasmSha256, snapName, `the package set ${msg.set.name}'s python.wasm`);
  if (msg.set) config = { ...config, preload: msg.set.imports };
  stdinBuf = msg.stdin || null;
  ffiBuf = msg.ffi || null;
  home = new Directory(new Map());
  for (const [name, data] of Object.entries(msg.files || {})) {   // "a/b.txt" makes a/
    const parts = name.split("/").filter((p) => p && p !== "." && p !== "..");
    let dir = home;
    for (const p of parts.slice(0, -1)) {
      if (!dir.contents.has(p)) dir.contents.set(p, new Directory(new Map()));
      dir = dir.contents.get(p);
    }
    if (parts.length) dir.contents.set(parts[parts.length - 1], new File(typeof data === "string" ? enc.encode(data) : data));
  }
  const lib = new Directory(new Map([
    ["python311.zip", msg.stdlib ? new File(msg.stdlib, { readonly: true }) : new LazyFile(msg.stdlibUrl)],
    ["python3.11", new Directory(new Map([["lib-dynload", new Directory(new Map())]]))],
  ]));
  const fds = [
    new PageStdin(),
    new ConsoleStdout((b) => postMessage({ type: "stdout", text: outDec.decode(b, { stream: true }) })),
    new ConsoleStdout((b) => postMessage({ type: "stderr", text: errDec.decode(b, { stream: true }) })),
    new PreopenDirectory("/usr/local/lib", lib.contents),
    new PreopenDirectory("/krait", new Map([[WEB.SDK.split("/").pop(), new File(msg.sdk, { readonly: true })],
      ...(msg.set ? [[WEB.SITE_FILE, new File(msg.set.site, { readonly: true })]] : [])])),
    new PreopenDirectory("/home", home.contents),
    new PreopenDirectory("/tmp", new Map()),
  ];
  home = fds[5].dir;
  // as src/app/websnap.c's ka_web_env (entry 1: a set's path first)
  const env = ["PYTHONHOME=/usr/local", `PYTHONPATH=${msg.set ? `${WEB.SITE}:` : ""}${WEB.SDK}`, "PYTHONDONTWRITEBYTECODE=1",
               "HOME=/home", "PWD=/home", "PYTHONUNBUFFERED=1"];
  const wasi = new WASI(["python"], env, fds, { debug: false });
  inst = await WebAssembly.instantiate(msg.module, {
    wasi_snapshot_preview1: wasi.wasiImport, krait: kraitImports,
  });
  wasi.inst = inst;
  if (layout) {
    applySnapshot(inst.exports.memory, layout, snapshot, snapName);   // CPython is already booted in it
  } else {
    const rc = inst.exports.krait_init();
    if (rc !== 0) throw new Error("krait_init failed (see stderr)");
  }
  postMessage({ type: "ready", ms: performance.now() - t0, snapshot: !!msg.snapshot });
}

/** Runs code in the interpreter's __main__ (or, for "pycall", a Python
 * proxy that JavaScript called); posts "done". */
function run(msg) {
  const headers = msg.target ? [["target", msg.target]] : [];
  request = msg.type === "pycall" ? encodeRequest("CALL", "", [], enc.encode(msg.body))
                                  : encodeRequest("RUN", msg.filename || "<exec>", headers, enc.encode(msg.code));
  response = null;
  const t0 = performance.now();
  let rc;
  try {
    rc = handleDirect()();
  } catch (err) {
    // A trap or V8's own stack overflow unwound python.wasm mid-call: its
    // shadow stack pointer and CPython's state are left as they were deep
    // inside, so this interpreter cannot be trusted again (fatal: krait.js
    // replaces the worker).
    request = null;
    const overflow = err instanceof RangeError;
    const e = new Error(overflow
      ? "krait: the browser's native stack ran out (C code in Python recursed deeper than a worker's stack " +
        "allows; at the default sys.getrecursionlimit() of 1000 this does not happen): the interpreter was restarted"
      : `krait: python.wasm trapped (${err?.message || err}): the interpreter was restarted`);
    e.name = "PythonCrash";
    e.fatal = true;
    throw e;
  }
  request = null;
  const status = response ? response.status : 500;
  postMessage({ type: "done", id: msg.id, ok: rc === 0 && status === 200, status,
                ms: performance.now() - t0 });
}

/** The entry of path under /home (a Directory walk), or null. */
function lookup(path) {
  let dir = home;
  const parts = path.replace(/^\/home\/?/, "").split("/").filter((p) => p && p !== ".");
  for (const [i, p] of parts.entries()) {
    if (i === parts.length - 1) return { dir, name: p, entry: dir.contents.get(p) || null };
    const next = dir.contents.get(p);
    if (!(next instanceof Directory)) return null;
    dir = next;
  }
  return null;
}

onmessage = async (e) => {
  const msg = e.data;
  try {
    if (msg.type === "init") await init(msg);
    else if (msg.type === "run" || msg.type === "pycall") run(msg);
    else if (msg.type === "writeFile") {
      const at = lookup(msg.path);
      if (!at) throw new Error(`writeFile: no directory for ${msg.path} under /home`);
      const data = typeof msg.data === "string" ? enc.encode(msg.data) : new Uint8Array(msg.data);
      at.dir.contents.set(at.name, new File(data));
      postMessage({ type: "file", id: msg.id });
    } else if (msg.type === "readFile") {
      const at = lookup(msg.path);
      if (!at || !(at.entry instanceof File)) throw new Error(`readFile: no file ${msg.path} under /home`);
      postMessage({ type: "file", id: msg.id, data: at.entry.data.slice() });
    }
  } catch (err) {
    // the message alone (a SnapshotError's names the file and what is
    // wrong with it); the stack beside it for debugging
    postMessage({ type: "error", id: msg.id, name: err?.name || "Error", fatal: !!err?.fatal,
                  message: err instanceof Error ? err.message : String(err), stack: String(err?.stack || "") });
  }
};
