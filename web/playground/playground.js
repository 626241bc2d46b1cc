// web/playground/playground.js -- the playground's logic: boots krait.js,
// runs the editor's code with Run (or Ctrl+Enter), interrupts it with Stop,
// shows stdout/stderr as they stream, asks for input() inline, offers
// examples and shares code in the URL fragment (#code=base64url). The
// packages field (or ?packages=markupsafe in the URL, names separated by
// commas) picks a package set `make web` published: the page reloads with
// it and Python runs the set's python.wasm (C extensions built in). Does
// not own running Python (../krait.js).
import { load, canInput } from "../krait.js";

const $ = (id) => document.getElementById(id);
const out = $("output"), code = $("code"), status = $("status");

const EXAMPLES = {
  "Hello": 'print("Hello from CPython", __import__("sys").version.split()[0], "in WebAssembly")\nprint(sum(range(10)))\n',
  "input()": 'name = input("What is your name? ")\nprint(f"Hello, {name}!")\n',
  "Runaway loop (press Stop)": "n = 0\nwhile True:\n    n += 1\n",
  "Exception": "def divide(a, b):\n    return a / b\n\nprint(divide(1, 0))\n",
  "Files": 'with open("notes.txt", "w") as f:\n    f.write("written by Python\\n")\nprint(open("notes.txt").read(), end="")\nimport os; print(os.listdir("."))\n',
  "Packages (markupsafe)": '# packages: markupsafe (the field above, or ?packages=markupsafe)\nimport markupsafe, markupsafe._speedups\n' +
    'print(markupsafe.escape("<b>Tom & Jerry</b>"))\nprint("C speedups:", markupsafe.escape is markupsafe._speedups.escape)\n',
  "Standard library": 'import json, statistics, datetime\ndata = [3, 1, 4, 1, 5, 9, 2, 6]\nprint(json.dumps({"mean": statistics.mean(data), "median": statistics.median(data)}))\nprint(datetime.date(2026, 11, 26).strftime("%A"))\n',
};

/** Appends text to the output pane with a class (stdout, stderr, note). */
function show(text, cls) {
  const span = document.createElement("span");
  span.className = cls;
  span.textContent = text;
  out.append(span);
  out.scrollTop = out.scrollHeight;
}

/** input(): an inline field in the output; resolves with its line. */
function askLine() {
  return new Promise((resolve) => {
    const line = document.createElement("span");
    line.className = "inputline";
    const field = document.createElement("input");
    field.id = "stdin";
    field.setAttribute("aria-label", "input() line");
    line.append(field);
    out.append(line);
    field.focus();
    field.addEventListener("keydown", (e) => {
      if (e.key !== "Enter") return;
      line.replaceWith(document.createTextNode(field.value + "\n"));
      resolve(field.value);
    });
  });
}

/** The code in the URL fragment (#code=base64url of UTF-8), or null. */
function sharedCode() {
  const m = /^#code=([A-Za-z0-9_-]*)$/.exec(location.hash);
  if (!m) return null;
  const bin = atob(m[1].replace(/-/g, "+").replace(/_/g, "/"));
  return new TextDecoder().decode(Uint8Array.from(bin, (c) => c.charCodeAt(0)));
}

/** The current code as a #code= fragment. */
function shareHash() {
  const bytes = new TextEncoder().encode(code.value);
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return "#code=" + btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

for (const name of Object.keys(EXAMPLES)) $("examples").append(new Option(name, name));
$("examples").onchange = () => { code.value = EXAMPLES[$("examples").value]; };
code.value = sharedCode() ?? EXAMPLES.Hello;

if (!canInput) {
  const n = $("notice");
  n.style.display = "block";
  n.textContent = "This page is not cross-origin isolated (it was served without the " +
    "Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp " +
    "headers that krait serve --playground sends), so input() reads end of file. " +
    "Everything else works.";
}

// ?packages=a,b: the package set the interpreter runs (none: the base one)
const params = new URLSearchParams(location.search);
const packages = (params.get("packages") || "").split(/[\s,+]+/).filter(Boolean);
$("packages").value = packages.join(",");
$("packages").addEventListener("change", () => {
  const u = new URL(location.href), v = $("packages").value.split(/[\s,+]+/).filter(Boolean).join(",");
  if (v) u.searchParams.set("packages", v); else u.searchParams.delete("packages");
  u.hash = shareHash();   // the code stays
  location.href = u.href;
});

const t0 = performance.now();
let py;
try {
  py = await load({ onStdout: (t) => show(t, "stdout"), onStderr: (t) => show(t, "stderr"),
                    onInput: askLine, snapshot: !params.has("boot"), packages });
} catch (e) {
  status.textContent = "failed to start: " + e.message;
  show(e.message + "\n", "stderr");
  console.error(e.message);
  document.body.dataset.ready = "error";
  throw e;
}
status.textContent = `ready in ${Math.round(performance.now() - t0)} ms` +
  (py.fromSnapshot ? " (from the snapshot)" : " (CPython booted)") +
  (packages.length ? ` with ${packages.join(", ")}` : "");
document.body.dataset.ready = "1";
$("run").disabled = false;

let running = false;
async function run() {
  if (running) return;
  running = true;
  $("run").disabled = true;
  $("stop").disabled = false;
  out.textContent = "";
  status.textContent = "running...";
  document.body.dataset.state = "running";
  const t = performance.now();
  try {
    const r = await py.run(code.value, "<playground>");
    status.textContent = `done in ${Math.round(r.ms)} ms`;
    document.body.dataset.state = "done";
  } catch (e) {
    if (e.name === "PythonError") {
      status.textContent = `raised ${e.message} after ${Math.round(performance.now() - t)} ms`;
      document.body.dataset.state = "raised";
      return;
    }
    show(`\n[${e.message}]\n`, "note");
    status.textContent = e.message === "interrupted" ? "stopped" : e.message;
    document.body.dataset.state = "stopped";
  } finally {
    running = false;
    $("run").disabled = false;
    $("stop").disabled = true;
  }
}

$("run").onclick = run;
code.addEventListener("keydown", (e) => { if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) run(); });
$("stop").onclick = async () => {
  $("stop").disabled = true;
  status.textContent = "stopping...";
  await py.stop();
  status.textContent = `stopped; a fresh interpreter is ready (${Math.round(py.bootMs)} ms)`;
};
$("share").onclick = () => {
  history.replaceState(null, "", shareHash());
  navigator.clipboard?.writeText(location.href).catch(() => {});
  status.textContent = "link with the code is in the address bar";
};
