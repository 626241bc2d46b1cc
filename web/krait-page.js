// web/krait-page.js -- Python in a page, in PyScript's spirit: load this
// module and every <script type="text/python"> runs in order in one
// interpreter (web/krait.js), inline code or src=. Each block gets an
// output element right after it: print() and display() write there, a
// traceback shows there in red. A <script type="text/python-config">
// holding JSON {"files": {"name": "url"}, "packages": ["url" or "name"]}
// fetches files into /home first, and pure-Python packages -- wheels
// (.whl) or zips with the package at the top, given by URL -- onto
// sys.path; a bare name (no "/", not ending in .whl or .zip), such as
// "markupsafe", asks for the package set of those names that `make web`
// published (C extensions included): its python.wasm then runs instead.
// document.body gets data-krait="ready" when every block ran (or
// "error"; a set this build lacks shows why at the config block and in
// the console). Does not own the interpreter (krait.js).
import { load } from "./krait.js";

/** Removes the common indentation of a code block (inline scripts are
 * usually indented with the page). */
function dedent(text) {
  const lines = text.replace(/^\s*\n/, "").replace(/\s+$/, "").split("\n");
  const indents = lines.filter((l) => l.trim()).map((l) => /^[ \t]*/.exec(l)[0].length);
  const cut = indents.length ? Math.min(...indents) : 0;
  return lines.map((l) => l.slice(cut)).join("\n") + "\n";
}

/** The text of url, or an Error naming it. */
async function fetchText(url) {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`krait: cannot fetch ${url}: HTTP ${r.status}`);
  return r.text();
}

/** The bytes of url, or an Error naming it. */
async function fetchBytes(url) {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`krait: cannot fetch ${url}: HTTP ${r.status}`);
  return new Uint8Array(await r.arrayBuffer());
}

/** Whether a "packages" entry is a package's name (of a package set)
 * rather than the URL of a pure-Python wheel or zip: a bare name only
 * (a relative URL such as "x.whl#sha256=..." or "lib.zip?v=2" stays a URL). */
const isSetName = (p) => /^[a-z0-9_-]+$/i.test(p);

/** What the python-config blocks ask for, fetched: { files, paths, sets }
 * with each package given by URL in files as .krait/packages/NAME and its
 * path in paths, and the names of set packages in sets. */
async function config() {
  const files = {}, paths = [], sets = [];
  for (const el of document.querySelectorAll('script[type="text/python-config"]')) {
    const cfg = JSON.parse(el.textContent || "{}");
    for (const [name, url] of Object.entries(cfg.files || {})) files[name] = await fetchBytes(url);
    for (const url of cfg.packages || []) {
      if (isSetName(String(url))) { sets.push(String(url)); continue; }
      const name = new URL(url, location.href).pathname.split("/").pop();
      files[`.krait/packages/${name}`] = await fetchBytes(url);
      paths.push(`/home/.krait/packages/${name}`);
    }
  }
  return { files, paths, sets };
}

/** Shows why the page's Python cannot start (say, a package set this
 * build lacks): in red after the first config block (or at the top of
 * the body) and in the console; the body gets data-krait="error". */
function startFailed(err) {
  const out = document.createElement("div");
  out.className = "krait-out krait-failed krait-stderr";
  out.id = "krait-start-error";
  out.style.whiteSpace = "pre-wrap";
  out.textContent = String(err.message || err) + "\n";
  const at = document.querySelector('script[type="text/python-config"]');
  if (at) at.after(out); else document.body.prepend(out);
  console.error(err.message || err);
  document.body.dataset.krait = "error";
}

/** Runs every Python block of the page, in document order. */
async function main() {
  let current = document.body;
  const write = (cls) => (text) => {
    const span = document.createElement("span");
    span.className = cls;
    span.textContent = text;
    current.append(span);
  };
  let cfg, py;
  try {
    cfg = await config();
    py = await load({ files: cfg.files, packages: cfg.sets, snapshot: true, onStdout: write("krait-stdout"),
                      onStderr: write("krait-stderr") });
  } catch (e) {
    startFailed(e);
    throw e;
  }
  if (cfg.paths.length) await py.run(`import sys\nsys.path[:0] = ${JSON.stringify(cfg.paths)}\n`);
  let n = 0, failed = false;
  for (const el of document.querySelectorAll('script[type="text/python"]')) {
    const out = document.createElement("div");
    out.className = "krait-out";
    out.id = el.id ? `${el.id}-out` : `krait-out-${++n}`;
    out.style.whiteSpace = "pre-wrap";
    el.after(out);
    current = out;
    try {
      const code = el.src ? await fetchText(el.src) : dedent(el.textContent);
      await py.run(code, el.src || `<script ${n}>`, { target: out.id });
    } catch (e) {
      failed = true;
      out.classList.add("krait-failed");
      if (e.name !== "PythonError") write("krait-stderr")(String(e.message) + "\n");
    }
  }
  document.body.dataset.krait = failed ? "error" : "ready";
  return py;
}

const style = document.createElement("style");
style.textContent = ".krait-stderr { color: #b00020; font-family: ui-monospace, monospace; }";
document.head.append(style);

/** The interpreter the page's blocks ran in (for further py.run calls). */
export const python = (document.readyState === "loading"
  ? new Promise((r) => document.addEventListener("DOMContentLoaded", r, { once: true }))
  : Promise.resolve()).then(main);
