// tests/web/run.mjs -- the browser tests: build/web served by
// tests/web/server.mjs, driven in Debian's Chromium (/usr/bin/chromium) by
// playwright-core. Each test saves a screenshot in build/test/out/web/.
// Prints "ok NAME" / "FAIL NAME: why" and ends with "N passed, N failed".
// Usage: node tests/web/run.mjs [ROOT] (default build/web).
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";

const require = createRequire(new URL("../../web/package.json", import.meta.url));
const { chromium } = require("playwright-core");

const ROOT = process.argv[2] || "build/web";
const SHOTS = "build/test/out/web";
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
fs.mkdirSync(SHOTS, { recursive: true });

let passed = 0, failed = 0;
const servers = [];

/** Starts tests/web/server.mjs; resolves its base URL. */
function serve(...flags) {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ["tests/web/server.mjs", ROOT, ...flags], { stdio: ["ignore", "pipe", "inherit"] });
    servers.push(p);
    p.stdout.on("data", (d) => {
      const m = /listening on (\S+)/.exec(String(d));
      if (m) resolve(m[1]);
    });
    p.on("exit", (code) => reject(new Error(`server exited ${code}`)));
  });
}

/** Runs one named test with a fresh page; records ok/FAIL and a screenshot. */
async function test(browser, name, base, fn) {
  const page = await browser.newPage();
  const logs = [];
  page.on("console", (m) => logs.push(`${m.type()}: ${m.text()}`));
  page.on("pageerror", (e) => logs.push(`pageerror: ${e.message}`));
  try {
    await fn(page, base);
    passed++;
    console.log(`ok ${name}`);
  } catch (e) {
    failed++;
    console.log(`FAIL ${name}: ${String(e.message).split("\n")[0]}`);
    for (const l of logs.slice(-8)) console.log(`    ${l}`);
  }
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`) }).catch(() => {});
  await page.close();
}

/** Starts `krait serve --playground` on a free port serving ROOT (as
 * KRAIT_WEB); resolves its base URL for the build (".../web/"). */
function kraitServe() {
  return new Promise((resolve, reject) => {
    const port = 20000 + Math.floor(Math.random() * 20000);
    const p = spawn("build/krait", ["serve", "--playground", "--listen", `127.0.0.1:${port}`, "--quiet"],
                    { cwd: process.cwd(), env: { ...process.env, KRAIT_WEB: path.resolve(ROOT) },
                      stdio: ["ignore", "ignore", "pipe"] });
    servers.push(p);
    let err = "";
    p.stderr.on("data", (d) => {
      err += d;
      if (/playground at (\S+)/.test(err)) resolve(`http://127.0.0.1:${port}/web/`);
    });
    p.on("exit", (code) => reject(new Error(`krait serve exited ${code}: ${err}`)));
  });
}

/** Opens the playground and waits for the interpreter. */
async function playground(page, base, hash = "") {
  await page.goto(`${base}playground/${hash}`);
  await page.waitForSelector("body[data-ready='1']", { timeout: 60000 });
}

/** Puts code in the editor, clicks Run and waits for the end state. */
async function runCode(page, code, want = "done") {
  await page.fill("#code", code);
  await page.click("#run");
  await page.waitForSelector(`body[data-state='${want}']`, { timeout: 60000 });
  return page.textContent("#output");
}

function expect(cond, what) { if (!cond) throw new Error(what); }

const browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
try {
  const base = await serve();
  const plain = await serve("--no-isolation");

  await test(browser, "playground-sum", base, async (page) => {
    await playground(page, base);
    const out = await runCode(page, "print(sum(range(10)))");
    expect(out.trim() === "45", `output '${out}'`);
  });

  await test(browser, "input-answered", base, async (page) => {
    await playground(page, base);
    expect(await page.evaluate(() => crossOriginIsolated), "page is not cross-origin isolated");
    await page.fill("#code", 'name = input("Name? ")\nprint("Hello, " + name + "!")');
    await page.click("#run");
    await page.waitForSelector("#stdin", { timeout: 30000 });
    await page.fill("#stdin", "krait");
    await page.press("#stdin", "Enter");
    await page.waitForSelector("body[data-state='done']", { timeout: 30000 });
    const out = await page.textContent("#output");
    expect(out.includes("Name? krait") && out.includes("Hello, krait!"), `output '${out}'`);
  });

  await test(browser, "stop-interrupts-loop", base, async (page) => {
    await playground(page, base);
    await page.fill("#code", "while True: pass");
    await page.click("#run");
    await page.waitForTimeout(1500);
    expect(await page.getAttribute("body", "data-state") === "running", "the loop did not keep running");
    await page.click("#stop");
    await page.waitForSelector("body[data-state='stopped']", { timeout: 10000 });
    await page.waitForFunction(() => !document.getElementById("run").disabled, null, { timeout: 60000 });
    const out = await runCode(page, "print(6 * 7)");
    expect(out.trim() === "42", `after Stop the page ran '${out}'`);
  });

  await test(browser, "exception-traceback", base, async (page) => {
    await playground(page, base);
    const out = await runCode(page, "def f(a, b):\n    return a / b\nf(1, 0)", "raised");
    expect(out.includes("Traceback (most recent call last):") && out.includes("ZeroDivisionError: division by zero")
           && out.includes('File "<playground>", line 2, in f'), `output '${out}'`);
    const red = await page.$eval("#output .stderr", (e) => getComputedStyle(e).color);
    expect(red === "rgb(176, 0, 32)", `traceback not shown as stderr (${red})`);
  });

  await test(browser, "state-persists-between-runs", base, async (page) => {
    await playground(page, base);
    await runCode(page, "x = 20");
    const out = await runCode(page, "print(x + 1)");
    expect(out.trim() === "21", `output '${out}'`);
  });

  await test(browser, "share-link-fragment", base, async (page) => {
    const code = 'print("shared ✓")';
    const b64 = Buffer.from(code).toString("base64").replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
    await playground(page, base, `#code=${b64}`);
    expect(await page.inputValue("#code") === code, "the fragment's code is not in the editor");
    await page.click("#run");
    await page.waitForSelector("body[data-state='done']");
    expect((await page.textContent("#output")).trim() === "shared ✓", "wrong output");
  });

  await test(browser, "files-api", base, async (page) => {
    await playground(page, base);
    const got = await page.evaluate(async () => {
      const { load } = await import("../krait.js");
      let out = "";
      const py = await load({ files: { "data.txt": "from the page" }, onStdout: (t) => { out += t; } });
      await py.run('print(open("data.txt").read())\nopen("made.txt", "w").write("by python")');
      await py.writeFile("later.txt", "written later");
      await py.run('print(open("later.txt").read())');
      const made = new TextDecoder().decode(await py.readFile("made.txt"));
      return { out, made };
    });
    expect(got.out === "from the page\nwritten later\n", `stdout '${got.out}'`);
    expect(got.made === "by python", `readFile '${got.made}'`);
  });

  await test(browser, "snapshot-same-as-boot", base, async (page) => {
    await playground(page, base);
    const got = await page.evaluate(async () => {
      const { load } = await import("../krait.js");
      const code = 'import json, decimal, sys\nprint(sum(range(10)), "héllo".upper(), sorted({3, 1, 2}), ' +
        'json.dumps({"a": [1, 2]}), decimal.Decimal(1) / 7, sys.version_info[:2], 2 ** 100)\n' +
        'print(open("in.txt").read())';
      const out = {};
      for (const snapshot of [false, true]) {
        let text = "";
        const py = await load({ snapshot, files: { "in.txt": "file ok" }, onStdout: (t) => { text += t; } });
        await py.run(code);
        out[snapshot] = { text, from: py.fromSnapshot, ms: py.bootMs };
      }
      return out;
    });
    expect(got.true.from === true && got.false.from === false, `started from ${JSON.stringify(got)}`);
    expect(got.true.text === got.false.text && got.true.text.includes("45 HÉLLO [1, 2, 3]"),
           `snapshot '${got.true.text}' vs boot '${got.false.text}'`);
    console.log(`    (boot ${Math.round(got.false.ms)} ms, snapshot ${Math.round(got.true.ms)} ms in the worker)`);
  });

  await test(browser, "script-tag-dom-click", base, async (page) => {
    await page.goto(`${base}examples/todo.html`);
    await page.waitForSelector("body[data-krait='ready']", { timeout: 60000 });
    const items = () => page.$$eval("#items li", (l) => l.map((e) => e.textContent));
    expect(JSON.stringify(await items()) === '["buy milk","call the plumber"]', `list ${JSON.stringify(await items())}`);
    expect(await page.textContent("#count") === "2 items", "count not rendered by Python");
    const out = await page.textContent("#krait-out-2");
    expect(out.includes("ready: 2 items") && out.includes("display() shows values here"), `block output '${out}'`);
    await page.fill("#new", "feed the cat");
    await page.click("#add");
    await page.waitForFunction(() => document.querySelectorAll("#items li").length === 3, null, { timeout: 10000 });
    expect((await items())[2] === "feed the cat", "the click handler did not add the item");
    expect(await page.textContent("#count") === "3 items", "count not updated");
    expect(await page.inputValue("#new") === "", "the handler did not clear the field");
  });

  await test(browser, "script-tag-errors", base, async (page) => {
    await page.goto(`${base}examples/error.html`);
    await page.waitForSelector("body[data-krait='error']", { timeout: 60000 });
    const first = await page.textContent("#krait-out-1");
    expect(first.includes("caught from JavaScript: SyntaxError"), `JS exception as Python: '${first}'`);
    const second = await page.$$eval("#krait-out-2 .krait-stderr", (l) => l.map((e) => e.textContent).join(""));
    expect(second.includes("Traceback (most recent call last):") && second.includes("KeyError: 'b'"),
           `traceback in the page: '${second}'`);
  });

  await test(browser, "script-src-config-packages", base, async (page) => {
    await page.goto(`${base}examples/packages.html`);
    await page.waitForSelector("body[data-krait='ready']", { timeout: 60000 });
    const out = await page.textContent("#krait-out-1");
    expect(out.includes("HELLO FROM A FILE!") && out.includes("/home/.krait/packages/greet.zip/greet/__init__.py"),
           `output '${out}'`);
  });

  await test(browser, "python-error-is-js-error", base, async (page) => {
    await playground(page, base);
    const got = await page.evaluate(async () => {
      const { load } = await import("../krait.js");
      const py = await load({ onStderr: () => {} });
      try { await py.run("raise ValueError('from Python')"); return "no error"; }
      catch (e) { return `${e instanceof Error} ${e.name} ${e.message} ${e.traceback.includes("Traceback")}`; }
    });
    expect(got === "true PythonError ValueError: from Python true", got);
  });

  const served = await kraitServe();
  await test(browser, "krait-serve-playground", served, async (page) => {
    await playground(page, served);
    expect(await page.evaluate(() => crossOriginIsolated), "krait serve's page is not cross-origin isolated");
    const out = await runCode(page, "print(sum(range(10)))");
    expect(out.trim() === "45", `output '${out}'`);
  });

  await test(browser, "no-isolation-explained", plain, async (page) => {
    await playground(page, plain);
    const notice = await page.textContent("#notice");
    expect(notice.includes("Cross-Origin-Opener-Policy"), `notice '${notice}'`);
    const out = await runCode(page, 'try:\n    input()\nexcept EOFError:\n    print("EOF")', "done");
    expect(out.includes("cross-origin isolated") && out.includes("EOF"), `output '${out}'`);
  });
} finally {
  await browser.close();
  for (const s of servers) s.kill();
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
