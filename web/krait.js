// web/krait.js -- krait in the browser, an ES module with no build step:
// `const py = await load({ files, onStdout, onStderr, onInput }); await
// py.run("print(1)")`. Python (the same python.wasm krait serve runs) lives
// in a Web Worker (web/krait-worker.js), so the page never freezes; stop()
// ends a runaway run by replacing the worker, keeping the page. Files:
// writeFile/readFile under /home (the interpreter's current directory).
// Does not own WASI or the "krait" imports (the worker).

const here = new URL(".", import.meta.url);

/** Where the runtime files are, relative to this module: python.wasm, the
 * stdlib zip and the SDK zip (`make web` puts them in python/). */
export const defaults = {
  wasm: new URL("python/python.wasm", here).href,
  stdlib: new URL("python/python311.zip", here).href,
  sdk: new URL("python/sdk.zip", here).href,
};

let compiled = null;   // { module, stdlib, sdk }: fetched and compiled once

/** Fetches and compiles the runtime once per page (streaming compile). */
async function runtime(urls) {
  if (!compiled) {
    compiled = (async () => {
      const get = async (u) => {
        const r = await fetch(u);
        if (!r.ok) throw new Error(`krait: cannot fetch ${u}: HTTP ${r.status}`);
        return new Uint8Array(await r.arrayBuffer());
      };
      const [module, stdlib, sdk] = await Promise.all([
        WebAssembly.compileStreaming(fetch(urls.wasm)), get(urls.stdlib), get(urls.sdk)]);
      return { module, stdlib, sdk };
    })();
  }
  return compiled;
}

/** Whether input() can work: it needs SharedArrayBuffer, which browsers
 * give only to cross-origin isolated pages (COOP/COEP headers). */
export const canInput = typeof SharedArrayBuffer !== "undefined" && globalThis.crossOriginIsolated === true;

/** A Python interpreter in a worker. Make it with load(). */
export class Python {
  constructor(opts) {
    this.opts = opts;
    this.onStdout = opts.onStdout || ((t) => console.log(t));
    this.onStderr = opts.onStderr || ((t) => console.error(t));
    this.onInput = opts.onInput || (async () => (typeof prompt === "function" ? prompt() : null));
    this.pending = new Map();
    this.nextId = 1;
    this.bootMs = 0;
  }

  /** Starts a worker and boots the interpreter in it. */
  async start() {
    const rt = await runtime(this.opts.urls);
    this.worker = new Worker(new URL("krait-worker.js", here), { type: "module" });
    this.stdin = canInput ? new SharedArrayBuffer(8 + 65536) : null;
    const ready = new Promise((resolve, reject) => { this.booting = { resolve, reject }; });
    this.worker.onmessage = (e) => this.message(e.data);
    this.worker.onerror = (e) => this.fail(new Error(`krait worker: ${e.message}`));
    this.worker.postMessage({ type: "init", module: rt.module, stdlib: rt.stdlib, sdk: rt.sdk,
                              files: this.opts.files || {}, stdin: this.stdin });
    await ready;
    return this;
  }

  /** Dispatches one worker message. */
  message(m) {
    if (m.type === "stdout") this.onStdout(m.text);
    else if (m.type === "stderr") this.onStderr(m.text);
    else if (m.type === "stdin") this.answerInput();
    else if (m.type === "ready") { this.bootMs = m.ms; this.booting.resolve(); this.booting = null; }
    else if (m.type === "error" && !m.id) this.fail(new Error(m.message));
    else {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (m.type === "error") p.reject(new Error(m.message));
      else p.resolve(m);
    }
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

  /** Sends a request to the worker; resolves with its answer. */
  call(msg, transfer = []) {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ ...msg, id }, transfer);
    });
  }

  /** Runs code in the interpreter's __main__ (state persists between
   * runs). Resolves { ok, status, ms }; ok is false when it raised (the
   * traceback went to onStderr). Rejects when stop() interrupted it. */
  run(code, filename = "<exec>") { return this.call({ type: "run", code, filename }); }

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

/** Loads the runtime and boots an interpreter. opts: files ({ name:
 * text or bytes } in /home), onStdout, onStderr, onInput (async () ->
 * line or null), urls (override `defaults`). */
export async function load(opts = {}) {
  const py = new Python({ ...opts, urls: { ...defaults, ...(opts.urls || {}) } });
  return py.start();
}
