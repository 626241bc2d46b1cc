// web/krait.js -- krait in the browser, an ES module with no build step:
// `const py = await load({ files, onStdout, onStderr, onInput }); await
// py.run("print(1)")`. Python (the same python.wasm krait serve runs) lives
// in a Web Worker (web/krait-worker.js), so the page never freezes; stop()
// ends a runaway run by replacing the worker, keeping the page. Files:
// writeFile/readFile under /home (the interpreter's current directory).
// load({ packages: ["markupsafe"] }) runs a package set's python.wasm (C
// extensions built in; `make web` publishes them in python/sets/) with
// its site-packages first on sys.path.
// Does not own WASI or the "krait" imports (the worker).

const here = new URL(".", import.meta.url);

/** Where the runtime files are, relative to this module: python.wasm, the
 * stdlib zip and the SDK zip (`make web` puts them in python/). */
export const defaults = {
  wasm: new URL("python/python.wasm", here).href,
  stdlib: new URL("python/python311.zip", here).href,
  sdk: new URL("python/sdk.zip", here).href,
  snapshot: new URL("python/python.snapshot", here).href,
};

const compiled = new Map();    // python.wasm's url -> its WebAssembly.Module (a promise)
const snapshots = new Map();   // url -> its bytes (a promise)
let sdkBytes = null;           // the SDK zip (a promise), fetched once
const sites = new Map();       // a set's site-packages zip url -> its bytes (a promise)

/** The bytes at url, or an Error naming it. */
async function get(url) {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`krait: cannot fetch ${url}: HTTP ${r.status}`);
  return new Uint8Array(await r.arrayBuffer());
}

let stdlibBytes = null; // the stdlib zip (a promise), fetched once

/** Fetches and compiles the runtime once per page (streaming compile;
 * each python.wasm once: the base one, or a package set's), with the
 * snapshot at snapshotUrl when there is one and a set's site-packages
 * zip (urls.site) when there is one. Started from a snapshot, CPython has
 * imported what it needs at boot: the stdlib zip is then not awaited
 * (stdlib: null) and the worker reads it when Python first opens it. */
async function runtime(urls, snapshotUrl) {
  if (!compiled.has(urls.wasm)) compiled.set(urls.wasm, WebAssembly.compileStreaming(fetch(urls.wasm)));
  if (!sdkBytes) sdkBytes = get(urls.sdk);
  if (urls.site && !sites.has(urls.site)) sites.set(urls.site, get(urls.site));
  if (snapshotUrl && !snapshots.has(snapshotUrl)) snapshots.set(snapshotUrl, get(snapshotUrl));
  if (!snapshotUrl && !stdlibBytes) stdlibBytes = get(urls.stdlib);
  const [module, sdk, site, snapshot, stdlib] = await Promise.all([
    compiled.get(urls.wasm), sdkBytes, urls.site ? sites.get(urls.site) : null,
    snapshotUrl ? snapshots.get(snapshotUrl) : null, snapshotUrl ? null : stdlibBytes]);
  return { module, sdk, site, snapshot, stdlib, stdlibUrl: urls.stdlib };
}

/** What load() rejects with when the packages asked for are not a
 * package set of this build: .message names the set and lists those
 * available (python/sets/index.json), .available their names. */
export class PackageError extends Error {
  constructor(message, available = []) { super(message); this.name = "PackageError"; this.available = available; }
}

let setIndex = null;   // python/sets/index.json (a promise), read once

/** The package set for names (a list of package names): the urls of its
 * files in python/sets/NAME/ and { name, wasmSha256 }, or a PackageError.
 * NAME is the names lowercased, sorted, without repeats, joined by "+",
 * as `krait python --packages` and scripts/build-packages.py name it.
 * Only a page asking for packages reads the index. */
async function packageSet(names, urls) {
  const { WEB } = await import("./krait-constants.js");
  const bad = names.filter((n) => typeof n !== "string" || !/^[a-z0-9_-]+$/i.test(n));
  if (bad.length) throw new PackageError(`krait: ${JSON.stringify(bad[0])} is not a package name (letters, digits, '_' and '-')`);
  const name = [...new Set(names.map((n) => n.toLowerCase()))].sort().join("+");
  const indexUrl = new URL(WEB.SET_INDEX, here).href;
  if (!setIndex) {
    setIndex = fetch(indexUrl).then((r) => (r.ok ? r.json() : { sets: {}, status: `HTTP ${r.status}` }))
      .catch((e) => ({ sets: {}, status: String(e.message || e) }));
  }
  const index = await setIndex;
  if (index.status) setIndex = null;   /* a failed fetch is tried again by the next load */
  const sets = index.sets || {};
  const entry = Object.hasOwn(sets, name) ? sets[name] : null;
  if (!entry) {
    const available = Object.keys(sets).sort();
    const list = available.map((n) => `${n} (${Object.entries(sets[n].packages || {}).map((p) => p.join(" ")).join(", ")})`);
    throw new PackageError(`krait: the package set "${name}" is not in this build (${indexUrl}` +
      `${index.status ? `: ${index.status}` : ""}); available: ${list.length ? list.join(", ") : "none"}. ` +
      `Build it with: make python PACKAGES=${name.replace(/\+/g, ",")}, then make web`, available);
  }
  const dir = new URL(`${WEB.SETS}/${name}/`, here);
  return {
    urls: { ...urls, wasm: new URL("python.wasm", dir).href, snapshot: new URL("python.snapshot", dir).href,
            site: new URL(WEB.SITE_FILE, dir).href },
    set: { name, wasmSha256: entry.wasm_sha256, imports: entry.imports || [] },
  };
}

/** Whether input() can work: it needs SharedArrayBuffer, which browsers
 * give only to cross-origin isolated pages (COOP/COEP headers). */
export const canInput = typeof SharedArrayBuffer !== "undefined" && globalThis.crossOriginIsolated === true;

/** What run() rejects with when the code raised: .message is the
 * exception's last traceback line, .traceback the whole traceback. */
export class PythonError extends Error {
  constructor(traceback) {
    const lines = traceback.trim().split("\n");
    super(lines[lines.length - 1] || "Python raised an exception");
    this.name = "PythonError";
    this.traceback = traceback;
  }
}

/** What load() rejects with when the snapshot cannot be used (the
 * worker's krait-snapfile.js checked it): .message names the file and
 * what is wrong with it, e.g. its CRC-32 does not match, it is truncated,
 * of another format version (docs/SNAPSHOT.md). Defined here rather than
 * imported so that the page loads no further module before load(). */
export class SnapshotError extends Error {
  constructor(message) { super(message); this.name = "SnapshotError"; }
}

/** The Error for a worker's "error" message: a SnapshotError for the
 * snapshot reader's, else an Error; the worker's stack in .workerStack. */
function workerError(m) {
  const e = m.name === "SnapshotError" ? new SnapshotError(m.message) : new Error(m.message);
  if (m.fatal) e.name = m.name;   // PythonCrash: the worker was replaced
  if (m.stack) e.workerStack = m.stack;
  return e;
}

/** The page side of Python's `js` module: a table of the JavaScript
 * objects Python holds (ref 0 is globalThis) and the operations on them
 * (krait_browser.py sends them as JSON). Functions got from an object
 * keep it as `this` for their calls. */
class JsBridge {
  constructor(callPython) {
    this.refs = new Map([[0, { v: globalThis, self: undefined }]]);
    this.nextRef = 1;
    this.pyFns = new Map();
    this.callPython = callPython;
  }

  /** A JavaScript value in the wire form (objects by reference). */
  encode(v, self) {
    if (v === undefined) return { $undefined: 1 };
    if (v === null || typeof v === "boolean" || typeof v === "string") return v;
    if (typeof v === "number") return Number.isFinite(v) ? v : null;
    if (typeof v === "bigint") return Number(v);
    const id = this.nextRef++;
    this.refs.set(id, { v, self });
    return { $ref: id, type: typeof v, cls: v?.constructor?.name || "" };
  }

  /** The wire form as a JavaScript value ($py: a function calling Python). */
  decode(w) {
    if (Array.isArray(w)) return w.map((x) => this.decode(x));
    if (w === null || typeof w !== "object") return w;
    if ("$ref" in w) {
      const e = this.refs.get(w.$ref);
      if (!e) throw new ReferenceError(`krait: JavaScript object #${w.$ref} was freed`);
      return e.v;
    }
    if ("$py" in w) {
      if (!this.pyFns.has(w.$py)) {
        const id = w.$py;
        this.pyFns.set(id, (...args) => { this.callPython(id, args.map((a) => this.encode(a))); });
      }
      return this.pyFns.get(w.$py);
    }
    if ("$obj" in w) {
      const o = {};
      for (const [k, x] of Object.entries(w.$obj)) o[k] = this.decode(x);
      return o;
    }
    return w;
  }

  /** Runs one operation (JSON text); its JSON result text. */
  run(text) {
    try {
      const op = JSON.parse(text);
      for (const r of op.free || []) if (r) this.refs.delete(r);
      const e = op.ref === undefined ? null : this.refs.get(op.ref);
      if (op.ref !== undefined && !e) throw new ReferenceError(`krait: JavaScript object #${op.ref} was freed`);
      let value;
      switch (op.op) {
        case "get": value = this.encode(e.v[op.name], e.v); break;
        case "set": e.v[op.name] = this.decode(op.value); value = null; break;
        case "delete": delete e.v[op.name]; value = null; break;
        case "call": value = this.encode(Reflect.apply(e.v, e.self, this.decode(op.args || []))); break;
        case "new": value = this.encode(Reflect.construct(e.v, this.decode(op.args || []))); break;
        case "string": value = String(e.v); break;
        case "value": value = this.encode(this.decode(op.value)); break;
        default: throw new TypeError(`krait: unknown js operation ${op.op}`);
      }
      return JSON.stringify({ value });
    } catch (err) {
      return JSON.stringify({ error: { name: err?.name || "Error", message: String(err?.message ?? err),
                                       stack: String(err?.stack || "") } });
    }
  }
}

/** A Python interpreter in a worker. Make it with load(). */
export class Python {
  constructor(opts) {
    this.opts = opts;
    this.onStdout = opts.onStdout || ((t) => console.log(t));
    this.onStderr = opts.onStderr || ((t) => console.error(t));
    this.onInput = opts.onInput || (async () => (typeof prompt === "function" ? prompt() : null));
    this.pending = new Map();
    this.nextId = 1;
    this.errText = "";
    this.bootMs = 0;
  }

  /** Starts a worker and boots the interpreter in it. */
  async start() {
    // the worker loads its script while the runtime downloads and compiles
    this.worker = new Worker(new URL("krait-worker.js", here), { type: "module" });
    const snapshotUrl = this.opts.snapshot ? this.opts.urls.snapshot : null;
    const rt = await runtime(this.opts.urls, snapshotUrl);
    this.stdin = canInput ? new SharedArrayBuffer(8 + 65536) : null;
    this.ffi = canInput ? new SharedArrayBuffer(8 + (1 << 20)) : null;
    this.bridge = new JsBridge((id, args) =>
      this.worker.postMessage({ type: "pycall", body: JSON.stringify({ id, args }) }));
    const ready = new Promise((resolve, reject) => { this.booting = { resolve, reject }; });
    this.worker.onmessage = (e) => this.message(e.data);
    this.worker.onerror = (e) => this.fail(new Error(`krait worker: ${e.message}`));
    const set = this.opts.set ? { ...this.opts.set, site: rt.site } : null;
    this.worker.postMessage({ type: "init", module: rt.module, stdlib: rt.stdlib, stdlibUrl: rt.stdlibUrl, sdk: rt.sdk,
                              files: this.opts.files || {}, stdin: this.stdin, ffi: this.ffi,
                              snapshot: rt.snapshot, snapshotName: snapshotUrl, set });
    try {
      await ready;
    } catch (e) {
      this.worker.terminate();   // no interpreter in it: nothing to keep
      throw e;
    }
    return this;
  }

  /** Dispatches one worker message. */
  message(m) {
    if (m.type === "stdout") this.onStdout(m.text);
    else if (m.type === "stderr") { this.errText += m.text; this.onStderr(m.text); }
    else if (m.type === "stdin") this.answerInput();
    else if (m.type === "js") this.answerJs(m.op);
    else if (m.type === "ready") {
      this.bootMs = m.ms;
      this.fromSnapshot = m.snapshot;
      this.booting.resolve();
      this.booting = null;
    }
    else if (m.type === "error" && !m.id) this.fail(workerError(m));
    else {
      const p = this.pending.get(m.id);
      this.pending.delete(m.id);
      if (m.fatal) this.replace();
      if (!p) return;
      if (m.type === "error") p.reject(workerError(m));
      else p.resolve(m);
    }
  }

  /** After a crash (a trap, or the browser's native stack running out):
   * a fresh interpreter in a new worker, as stop() does; calls made
   * meanwhile wait for it. */
  replace() {
    this.worker.terminate();
    this.fail(new Error("krait: the interpreter crashed and was restarted"));
    this.starting = this.start().finally(() => { this.starting = null; });
    this.starting.catch(() => {});
  }

  /** Rejects whatever waits on this worker. */
  fail(err) {
    if (this.booting) { this.booting.reject(err); this.booting = null; }
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }

  /** Asks onInput for a line and hands it to the waiting worker. */
  async answerInput() {
    let line = null;
    try { line = await this.onInput(); } catch (e) { line = null; }
    const ctl = new Int32Array(this.stdin, 0, 2);
    if (line === null || line === undefined) {
      Atomics.store(ctl, 1, -1);
    } else {
      const bytes = new TextEncoder().encode(String(line).endsWith("\n") ? line : line + "\n");
      const n = Math.min(bytes.length, 65536);
      new Uint8Array(this.stdin, 8, n).set(bytes.subarray(0, n));
      Atomics.store(ctl, 1, n);
    }
    Atomics.store(ctl, 0, 1);
    Atomics.notify(ctl, 0);
  }

  /** Runs a js-module operation for the worker and wakes it. */
  answerJs(op) {
    let bytes = new TextEncoder().encode(this.bridge.run(op));
    if (bytes.length > (1 << 20)) {
      bytes = new TextEncoder().encode(JSON.stringify({ error: { name: "RangeError",
        message: `krait: a js result of ${bytes.length} bytes is over the 1 MiB limit` } }));
    }
    const ctl = new Int32Array(this.ffi, 0, 2);
    new Uint8Array(this.ffi, 8, bytes.length).set(bytes);
    Atomics.store(ctl, 1, bytes.length);
    Atomics.store(ctl, 0, 1);
    Atomics.notify(ctl, 0);
  }

  /** Sends a request to the worker (once a replacement is ready);
   * resolves with its answer. */
  async call(msg, transfer = []) {
    if (this.starting) await this.starting;
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ ...msg, id }, transfer);
    });
  }

  /** Runs code in the interpreter's __main__ (state persists between
   * runs). Resolves { ok: true, status, ms }. When the code raises, the
   * traceback goes to onStderr and run() rejects with a PythonError;
   * when stop() interrupted it, with Error("interrupted"); when python.wasm
   * crashed (a trap, or C recursion past the worker's native stack after
   * sys.setrecursionlimit raised the limit), with a PythonCrash Error and
   * the interpreter is replaced by a fresh one (its state lost). opts.target:
   * the element id display() writes into. */
  async run(code, filename = "<exec>", opts = {}) {
    this.errText = "";
    const r = await this.call({ type: "run", code, filename, target: opts.target });
    if (!r.ok) throw new PythonError(this.errText);
    return r;
  }

  /** Writes a file under /home (string or bytes). */
  async writeFile(path, data) { await this.call({ type: "writeFile", path, data }); }

  /** Reads a file under /home as bytes. */
  async readFile(path) { return (await this.call({ type: "readFile", path })).data; }

  /** Interrupts a running (or runaway) run: the worker is replaced by a
   * fresh interpreter, so the page goes on. Resolves once it is ready. */
  async stop() {
    this.worker.terminate();
    this.fail(new Error("interrupted"));
    await this.start();
  }
}

/** Loads the runtime and starts an interpreter. opts: files ({ name:
 * text or bytes } in /home), onStdout, onStderr, onInput (async () ->
 * line or null), snapshot (true: start from python/python.snapshot, made
 * by `make web` from this very build, instead of booting CPython; a URL:
 * that file), urls (override `defaults`), packages (package names, e.g.
 * ["markupsafe"]: the package set of exactly those, published by `make
 * web` in python/sets/NAME/, runs instead of the base python.wasm, with
 * its own snapshot). Rejects with a SnapshotError when the snapshot is not
 * one this krait.js can use (for a set: also one not taken from the set's
 * python.wasm), with a PackageError when the set is not in this build. */
export async function load(opts = {}) {
  let urls = { ...defaults, ...(opts.urls || {}) }, set = null;
  if (opts.packages && opts.packages.length) ({ urls, set } = await packageSet(opts.packages, urls));
  if (typeof opts.snapshot === "string") urls.snapshot = opts.snapshot;
  const py = new Python({ ...opts, urls, set });
  return py.start();
}
