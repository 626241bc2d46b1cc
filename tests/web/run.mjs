// tests/web/run.mjs -- the browser tests: build/web served by
// tests/web/server.mjs, driven in Debian's Chromium (/usr/bin/chromium) by
// playwright-core. Each test saves a screenshot in build/test/out/web/.
// A few checks need no browser (the snapshot reader's CRC-32 against
// zlib's, krait-constants.js against the C headers it is generated from,
// and tests/web/serve.sh: krait serve --playground's encodings, ETags,
// redirects and confinement with curl, whose results count here).
// Prints "ok NAME" / "FAIL NAME: why" and ends with "N passed, N failed".
// Usage: node tests/web/run.mjs [ROOT] (default build/web).
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import zlib from "node:zlib";
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";
import crypto from "node:crypto";
import { measurePage, sizePage, sizeTable } from "./sizes.mjs";

const require = createRequire(new URL("../../web/package.json", import.meta.url));
const { chromium } = require("playwright-core");

const ROOT = process.argv[2] || "build/web";
const SHOTS = "build/test/out/web";
// Python that touches the stdlib, a file and the interpreter's state: its
// output must be the same from a boot and from any snapshot.
const SNAPSHOT_PROBE = 'import json, decimal, sys\nprint(sum(range(10)), "héllo".upper(), sorted({3, 1, 2}), ' +
  'json.dumps({"a": [1, 2]}), decimal.Decimal(1) / 7, sys.version_info[:2], 2 ** 100)\n' +
  'print(open("in.txt").read())';
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

/** Runs one named check that needs no browser; records ok/FAIL. */
async function check(name, fn) {
  try {
    await fn();
    passed++;
    console.log(`ok ${name}`);
  } catch (e) {
    failed++;
    console.log(`FAIL ${name}: ${String(e.message).split("\n")[0]}`);
  }
}

/** Starts `krait serve --playground` on a free port serving ROOT (as
 * KRAIT_WEB); resolves its base URL for the build (".../web/"). A port
 * another process took meanwhile (the machine runs other tests) is
 * retried with another, up to 5 times. */
async function kraitServe() {
  for (let tries = 1; ; tries++) {
    try {
      return await kraitServeOnce();
    } catch (e) {
      if (tries >= 5 || !/Address already in use/.test(e.message)) throw e;
    }
  }
}

function kraitServeOnce() {
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

/** The reference CRC-32 (zlib's): Node's zlib.crc32 (Node 20.15+), else a
 * plain bitwise one for Debian 12's Node 18 -- either way not the
 * slice-by-8 code under test. */
const refCrc32 = zlib.crc32 ?? ((buf, crc = 0) => {
  crc = ~crc >>> 0;
  for (const byte of buf) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = (crc >>> 1) ^ (0xedb88320 & -(crc & 1));
  }
  return ~crc >>> 0;
});

// ---- doctored snapshots ----------------------------------------------------

const { SNAPSHOT: S } = await import(pathToFileURL(path.resolve(ROOT, "krait-constants.js")).href);
const SNAPSHOT = fs.readFileSync(path.join(ROOT, "python/python.snapshot"));

/** Where the codec field of snapshot b is, found by walking the fields
 * here (not with the reader under test): header, globals, tables,
 * segment lengths, extra bytes, runs. */
function codecOffset(b) {
  let at = S.OFF_NGLOBALS;
  const u32 = () => { const x = b.readUInt32LE(at); at += 4; return x; };
  const nglobals = u32(), ntables = u32(), nelems = u32(), ndatas = u32();
  const skip = (n) => { at += n; };
  skip(nglobals * 8);
  for (let t = 0; t < ntables; t++) skip(u32() * 4);
  skip((nelems + ndatas) * 4);
  skip(u32());       // the extra bytes
  skip(u32() * 8);   // the runs
  return at;
}

/** A copy of the real snapshot changed by edit(copy); with its CRC-32
 * (zlib's, node:zlib) made right again when fixCrc. */
function doctor(edit, fixCrc = true) {
  let b = Buffer.from(SNAPSHOT);
  b = edit(b) || b;
  if (fixCrc) b.writeUInt32LE(refCrc32(b.subarray(0, b.length - 4)), b.length - 4);
  return b;
}

/** Opens the playground, serves each of variants ({ key: bytes }) at
 * python/doctored-KEY.snapshot (page.route) and loads each with krait.js's
 * load({ snapshot: url }); resolves { key: { ok } or { name, message } },
 * and last (ok: a normal snapshot loads after the refusals) whether
 * load({ snapshot: true }) then still runs Python. */
async function loadDoctored(page, base, variants) {
  await page.route("**/python/doctored-*.snapshot", (route) => {
    const key = /doctored-([\w-]+)\.snapshot/.exec(route.request().url())[1];
    route.fulfill({ status: 200, contentType: "application/octet-stream", body: variants[key] });
  });
  await playground(page, base);
  return page.evaluate(async (keys) => {
    const { load, SnapshotError } = await import("../krait.js");
    const out = {};
    for (const key of keys) {
      const url = new URL(`../python/doctored-${key}.snapshot`, location.href).href;
      try {
        await load({ snapshot: url, onStderr: () => {} });
        out[key] = { ok: true };
      } catch (e) {
        out[key] = { name: e.name, message: e.message, snapshotError: typeof SnapshotError === "function" && e instanceof SnapshotError };
      }
    }
    let text = "";
    const py = await load({ snapshot: true, onStdout: (t) => { text += t; } });
    await py.run("print(6 * 7)");
    out.last = { ok: text === "42\n", text };
    return out;
  }, Object.keys(variants));
}

/** The "python ready" snapshot as `krait web-snapshot --tier TIER` makes
 * it, over build/python's python.wasm (which `make python` compiled to
 * native code; ROOT's is stripped of custom sections, so it has none, and
 * its code, data and memory are the same) and ROOT's zips: { bytes, err }.
 * A snapshot holds no trace of the tier, so krait.js must start from
 * either alike. */
function tierSnapshot(tier) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "krait-websnap-"));
  fs.mkdirSync(path.join(dir, "python"));
  for (const f of ["python311.zip", "sdk.zip"]) fs.copyFileSync(path.join(ROOT, "python", f), path.join(dir, "python", f));
  fs.copyFileSync("build/python/python.wasm", path.join(dir, "python/python.wasm"));
  const r = spawnSync("build/krait", ["web-snapshot", "--tier", tier, dir], { encoding: "utf8" });
  const file = path.join(dir, "python/python.snapshot");
  const bytes = r.status === 0 && fs.existsSync(file) ? fs.readFileSync(file) : null;
  fs.rmSync(dir, { recursive: true, force: true });
  return { bytes, err: `${r.stderr}`.slice(-300) };
}

/** Expects got[key] refused as a SnapshotError naming the file and
 * matching each of the patterns. */
function expectRefused(got, key, ...patterns) {
  const r = got[key];
  expect(r && !r.ok, `${key}: loaded (${JSON.stringify(r)})`);
  expect(r.name === "SnapshotError" && r.snapshotError, `${key}: rejected with ${r.name}, not a SnapshotError: ${r.message}`);
  expect(r.message.includes(`doctored-${key}.snapshot`), `${key}: the message does not name the file: ${r.message}`);
  for (const p of patterns) expect(p.test(r.message), `${key}: '${r.message}' does not match ${p}`);
  console.log(`    ${key}: ${r.message.replace(/^krait: \S+ /, "")}`);
}

// ---- checks without a browser ------------------------------------------------

await check("crc32-same-as-zlib", async () => {
  const { crc32 } = await import(pathToFileURL(path.resolve(ROOT, "krait-snapfile.js")).href);
  const v = new TextEncoder().encode("123456789");
  expect(crc32(v) === 0xcbf43926, `CRC-32 of "123456789" is ${crc32(v).toString(16)}, not cbf43926`);
  const rnd = Buffer.alloc(4099);
  for (let i = 0; i < rnd.length; i++) rnd[i] = (i * 2654435761) >>> 13 & 0xff;
  for (const n of [0, 1, 2, 3, 7, 8, 9, 15, 16, 17, 63, 64, 65, 4096]) {
    for (const off of [0, 1, 3]) {
      const b = new Uint8Array(rnd.buffer, rnd.byteOffset + off, n);
      expect(crc32(b) === refCrc32(b), `${n} bytes at +${off}: ${crc32(b)} vs zlib's ${refCrc32(b)}`);
      expect(crc32(b, 0x12345678) === refCrc32(b, 0x12345678), `${n} bytes at +${off} continued`);
    }
  }
  const body = SNAPSHOT.subarray(0, SNAPSHOT.length - 4);
  expect(crc32(body) === SNAPSHOT.readUInt32LE(SNAPSHOT.length - 4), "the real snapshot's CRC-32 differs from krait's");
});

await check("constants-match-c-headers", async () => {
  const gen = spawnSync("/usr/bin/python3", ["scripts/gen-web-constants.py", "-"], { encoding: "utf8" });
  expect(gen.status === 0, `the generator failed: ${gen.stderr}`);
  const built = fs.readFileSync(path.join(ROOT, "krait-constants.js"), "utf8");
  expect(gen.stdout === built, `${ROOT}/krait-constants.js is stale: the C headers changed since make web`);
  expect(SNAPSHOT.subarray(0, S.MAGIC_SIZE).toString("latin1") === S.MAGIC &&
         SNAPSHOT.readUInt32LE(S.OFF_VERSION) === S.VERSION, "krait's own snapshot has another magic or version");
});

await check("generator-refuses-what-it-cannot-read", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "krait-gen-"));
  const cases = [
    ["--snapfile", "src/snapfile/snapfile.h", /#define KF_VERSION 2u/, "#define KF_VERSION (1u + 1u)", /snapfile\.h:\d+: KF_VERSION is not a plain literal/],
    ["--abi", "python/c/krait_abi.h", /KRAIT_E_STATE = -6,/, "KRAIT_E_STATE = KRAIT_E_BACKEND - 1,", /krait_abi\.h:\d+: cannot read this enumerator/],
    ["--app", "src/app/app.h", /X\(send, "ii:i"\)/, "X(send)", /app\.h:\d+: cannot read this KA_IMPORTS entry/],
    ["--app", "src/app/app.h", /#define KA_WEB_SITE_FILE "site-packages\.zip"/, "#define KA_WEB_SITE_FILE KA_WEB_SDK",
     /app\.h:\d+: KA_WEB_SITE_FILE is not a plain string literal/],
  ];
  try {
    for (const [flag, file, from, to, want] of cases) {
      const text = fs.readFileSync(file, "utf8");
      expect(from.test(text), `${file} no longer has ${from}: update this test`);
      const bad = path.join(dir, path.basename(file));
      fs.writeFileSync(bad, text.replace(from, to));
      const r = spawnSync("/usr/bin/python3", ["scripts/gen-web-constants.py", "-", flag, bad], { encoding: "utf8" });
      expect(r.status !== 0 && want.test(r.stderr), `${flag} ${to}: status ${r.status}, stderr '${r.stderr.trim()}'`);
      fs.rmSync(bad);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

// krait serve --playground with curl (tests/web/serve.sh): each of its
// results is one of this run's.
{
  const r = spawnSync("bash", ["tests/web/serve.sh"], { encoding: "utf8", env: { ...process.env, KRAIT_WEB_BUILD: path.resolve(ROOT) },
                                                      timeout: 300000 });
  const lines = String(r.stdout || "").split("\n");
  for (const l of lines) {
    if (/^ok /.test(l)) { passed++; console.log(`ok serve: ${l.slice(3)}`); }
    else if (/^FAIL /.test(l)) { failed++; console.log(`FAIL serve: ${l.slice(5)}`); }
    else if (/^\(/.test(l)) console.log(`    ${l}`);
  }
  if (r.status !== 0 && !lines.some((l) => /^FAIL /.test(l))) {
    failed++;
    console.log(`FAIL serve: tests/web/serve.sh ended with status ${r.status}: ${String(r.stderr).trim().split("\n").pop()}`);
  }
}

// sdk.zip holds the runtime SDK alone: no _krait_fake (python/testing), no
// seed apps (python/examples), which every page would otherwise download.
{
  const r = spawnSync("/usr/bin/python3.11", ["-c", "import sys, zipfile; print('\\n'.join(zipfile.ZipFile(sys.argv[1]).namelist()))",
                                                path.join(ROOT, "python/sdk.zip")], { encoding: "utf8" });
  const names = String(r.stdout || "").split("\n").filter(Boolean);
  const extra = names.filter((n) => /(^|\/)_krait_fake\.py$/.test(n) || /^examples\//.test(n));
  if (r.status === 0 && names.includes("krait_runtime.py") && names.includes("spin_sdk/__init__.py") && !extra.length) {
    passed++; console.log(`ok sdk.zip ships the runtime SDK only (${names.length} files)`);
  } else {
    failed++; console.log(`FAIL sdk.zip ships the runtime SDK only: status ${r.status}, extra: ${extra.join(", ") || "none"}, ${names.length} files`);
  }
}

// Python as natively where users notice (tests/python/compat.sh's program,
// the same under krait python and krait serve): the recursion limit, 990
// levels counted from the top of the stack in Python and through C
// (nested repr, json), and the time zone database from the stdlib zip.
const COMPAT = `
import sys, json, zoneinfo, datetime
def depth():
    f, n = sys._getframe(), 0
    while f: f, n = f.f_back, n + 1
    return n
N = 990 - depth()
def down(n): return 0 if n == 0 else 1 + down(n - 1)
nest = []
for _ in range(N): nest = [nest]
deep_json = "[" * N + "]" * N
d = datetime.datetime(2026, 7, 1, 12, tzinfo=zoneinfo.ZoneInfo("Europe/Berlin"))
print(sys.getrecursionlimit(), down(N) == N, len(repr(nest)) == 2 * N + 2,
      len(json.dumps(json.loads(deep_json))) == 2 * N,
      d.utcoffset(), d.tzname(),
      datetime.datetime(2026, 1, 1, tzinfo=zoneinfo.ZoneInfo("America/New_York")).tzname(),
      "Asia/Kolkata" in zoneinfo.available_timezones())
`;
const COMPAT_WANT = "1000 True True True 2:00:00 CEST EST True";
await check("compat-native-reference", async () => {
  const r = spawnSync("/usr/bin/python3.11", ["-c", COMPAT], { encoding: "utf8" });
  expect(r.stdout.trim() === COMPAT_WANT, `native python3.11 printed '${r.stdout.trim()}' ${r.stderr.trim()}`);
});

// The package sets make web published (scripts/web-sets.py): the index
// names each with its packages and its python.wasm's SHA-256, which is
// that file's, and each set's snapshot is bound to it (module hash), not
// to the base python.wasm.
const SET_INDEX = path.join(ROOT, "python/sets/index.json");
await check("package-sets-published-and-bound", async () => {
  expect(fs.existsSync(SET_INDEX), `${SET_INDEX} missing (make web publishes the sets)`);
  const index = JSON.parse(fs.readFileSync(SET_INDEX, "utf8"));
  const ms = index.sets?.markupsafe;
  expect(ms && ms.packages?.markupsafe === "2.1.2" && JSON.stringify(ms.imports) === '["markupsafe"]',
         `no markupsafe set (2.1.2, imports markupsafe) in ${SET_INDEX}: ${JSON.stringify(index)}`);
  const sha = (f) => crypto.createHash("sha256").update(fs.readFileSync(f)).digest("hex");
  const dir = path.join(ROOT, "python/sets/markupsafe");
  expect(sha(path.join(dir, "python.wasm")) === ms.wasm_sha256, "the index's wasm_sha256 is not the set's python.wasm's");
  const snapHash = (f) => fs.readFileSync(f).subarray(S.OFF_HASH, S.OFF_HASH + S.HASH_SIZE).toString("hex");
  expect(snapHash(path.join(dir, "python.snapshot")) === ms.wasm_sha256, "the set's snapshot was not taken from the set's python.wasm");
  expect(snapHash(path.join(ROOT, "python/python.snapshot")) === sha(path.join(ROOT, "python/python.wasm")),
         "the base snapshot was not taken from the base python.wasm");
  expect(ms.wasm_sha256 !== sha(path.join(ROOT, "python/python.wasm")), "the set's python.wasm is the base's");
  const r = spawnSync("/usr/bin/python3.11", ["-c", "import sys, zipfile; print(' '.join(zipfile.ZipFile(sys.argv[1]).namelist()))",
                                               path.join(dir, "site-packages.zip")], { encoding: "utf8" });
  expect(/(^| )markupsafe\/__init__\.pyc( |$)/.test(r.stdout) && !/\.py( |$)|__pycache__/.test(r.stdout),
         `site-packages.zip holds ${r.stdout.trim()} ${r.stderr}`);
});

// krait web-snapshot --set: a name that cannot be a set's, and a set the
// index lacks, each refused with what is wrong (and no file written)
await check("web-snapshot-set-refusals", async () => {
  const run = (...a) => spawnSync("build/krait", ["web-snapshot", ...a], { encoding: "utf8" });
  let r = run("--set", "../markupsafe", ROOT);
  expect(r.status !== 0 && /'\.\.\/markupsafe' is not a package set's name/.test(r.stderr), `../markupsafe: ${r.status} ${r.stderr}`);
  r = run("--set", "nosuchpkg", ROOT);
  expect(r.status !== 0 && /index\.json has no package set 'nosuchpkg'/.test(r.stderr), `nosuchpkg: ${r.status} ${r.stderr}`);
  expect(!fs.existsSync(path.join(ROOT, "python/sets/nosuchpkg")), "a directory was made for nosuchpkg");
});

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
    const got = await page.evaluate(async (code) => {
      const { load } = await import("../krait.js");
      const out = {};
      for (const snapshot of [false, true]) {
        let text = "";
        const py = await load({ snapshot, files: { "in.txt": "file ok" }, onStdout: (t) => { text += t; } });
        await py.run(code);
        out[snapshot] = { text, from: py.fromSnapshot, ms: py.bootMs };
      }
      return out;
    }, SNAPSHOT_PROBE);
    expect(got.true.from === true && got.false.from === false, `started from ${JSON.stringify(got)}`);
    expect(got.true.text === got.false.text && got.true.text.includes("45 HÉLLO [1, 2, 3]"),
           `snapshot '${got.true.text}' vs boot '${got.false.text}'`);
    console.log(`    (boot ${Math.round(got.false.ms)} ms, snapshot ${Math.round(got.true.ms)} ms in the worker)`);
  });

  await test(browser, "snapshot-made-under-either-tier", base, async (page) => {
    const snaps = { aot: tierSnapshot("aot"), interp: tierSnapshot("interp") };
    for (const [tier, r] of Object.entries(snaps)) expect(r.bytes, `krait web-snapshot --tier ${tier} failed: ${r.err}`);
    await page.route("**/python/tier-*.snapshot", (route) => {
      const tier = /tier-(\w+)\.snapshot/.exec(route.request().url())[1];
      route.fulfill({ status: 200, contentType: "application/octet-stream", body: snaps[tier].bytes });
    });
    await playground(page, base);
    const got = await page.evaluate(async (code) => {
      const { load } = await import("../krait.js");
      const out = {};
      for (const how of ["boot", "aot", "interp"]) {
        let text = "";
        const snapshot = how === "boot" ? false : new URL(`../python/tier-${how}.snapshot`, location.href).href;
        const py = await load({ snapshot, files: { "in.txt": "file ok" }, onStdout: (t) => { text += t; } });
        await py.run(code);
        out[how] = { text, from: py.fromSnapshot };
        py.worker.terminate();
      }
      return out;
    }, SNAPSHOT_PROBE);
    expect(got.aot.from === true && got.interp.from === true && got.boot.from === false, `started from ${JSON.stringify(got)}`);
    expect(got.boot.text.includes("45 HÉLLO [1, 2, 3]") && got.aot.text === got.boot.text && got.interp.text === got.boot.text,
           `aot '${got.aot.text}', interp '${got.interp.text}' vs boot '${got.boot.text}'`);
  });

  await test(browser, "python-compat-recursion-zoneinfo", base, async (page) => {
    await playground(page, base);
    const got = await page.evaluate(async (code) => {
      const { load } = await import("../krait.js");
      const out = {};
      for (const snapshot of [true, false]) {
        let text = "", err = "";
        const py = await load({ snapshot, onStdout: (t) => { text += t; }, onStderr: (t) => { err += t; } });
        try { await py.run(code); } catch (e) { err += `${e.name}: ${e.message}`; }
        // the zone files and tzdata/zones, read from the stdlib zip
        try {
          await py.run('import zoneinfo, datetime\nz = zoneinfo.available_timezones()\nprint(len(z) > 400, "UTC" in z, ' +
                       'datetime.datetime(2026, 3, 1, tzinfo=zoneinfo.ZoneInfo("Asia/Tokyo")).utcoffset())');
        } catch (e) { err += `${e.name}: ${e.message}`; }
        out[snapshot ? "snapshot" : "boot"] = { text, err: err.slice(-400), from: py.fromSnapshot };
        py.worker.terminate();
      }
      return out;
    }, COMPAT);
    for (const [how, r] of Object.entries(got)) {
      expect(r.from === (how === "snapshot"), `${how}: started ${r.from ? "from the snapshot" : "by booting"}`);
      expect(r.text === `${COMPAT_WANT}\nTrue True 9:00:00\n`, `${how}: printed ${JSON.stringify(r.text)} ${JSON.stringify(r.err)}`);
    }
  });

  await test(browser, "native-stack-overflow-restarts", base, async (page) => {
    await playground(page, base);
    const got = await page.evaluate(async (code) => {
      const { load } = await import("../krait.js");
      let text = "";
      const py = await load({ snapshot: true, onStdout: (t) => { text += t; }, onStderr: () => {} });
      const attempt = async (src) => {
        try { await py.run(src); return "ok"; } catch (e) { return `${e.name}: ${e.message}`; }
      };
      const out = {};
      await py.run("x = 41");
      // at the default limit CPython's RecursionError comes first: the state stays
      out.limited = await attempt("import json\njson.loads('[' * 100000 + ']' * 100000)");
      out.kept = await attempt("print(x + 1)");
      // past it, C recursion runs out of the worker's native stack (V8's
      // RangeError unwinds python.wasm mid-call): a fresh interpreter
      out.crash = await attempt("import sys, json\nsys.setrecursionlimit(1000000)\njson.loads('[' * 200000 + ']' * 200000)");
      text = "";
      out.fresh = await attempt("import sys\nprint('x' in globals(), sys.getrecursionlimit())");
      out.freshText = text;
      text = "";
      out.compat = await attempt(code);
      out.compatText = text;
      py.worker.terminate();
      return out;
    }, COMPAT);
    expect(/^PythonError: RecursionError/.test(got.limited) && got.kept === "ok", `at the default limit: ${JSON.stringify(got)}`);
    expect(/^PythonCrash: krait: the browser's native stack ran out/.test(got.crash), `the overflow: ${got.crash}`);
    expect(got.fresh === "ok" && got.freshText === "False 1000\n", `after it: ${got.fresh} ${JSON.stringify(got.freshText)}`);
    expect(got.compat === "ok" && got.compatText.trim() === COMPAT_WANT, `then compat: ${got.compat} ${JSON.stringify(got.compatText)}`);
  });

  await test(browser, "snapshot-byte-flipped-crc", base, async (page) => {
    const codecAt = codecOffset(SNAPSHOT);
    const got = await loadDoctored(page, base, {
      // the module hash (the browser cannot check it: only the CRC can),
      // the pages field, and a byte of the memory deltas
      "flip-hash": doctor((b) => { b[S.OFF_HASH + 5] ^= 0x01; }, false),
      "flip-pages": doctor((b) => { b[S.OFF_PAGES] ^= 0x01; }, false),
      "flip-delta": doctor((b) => { b[codecAt + 20 + 1000] ^= 0x80; }, false),
    });
    for (const key of ["flip-hash", "flip-pages", "flip-delta"]) expectRefused(got, key, /is damaged: its CRC-32 does not match/);
    expect(got.last.ok, `a normal snapshot no longer loads after the refusals: '${got.last.text}'`);
  });

  await test(browser, "snapshot-truncated", base, async (page) => {
    const got = await loadDoctored(page, base, {
      "cut-half": doctor((b) => b.subarray(0, b.length >> 1), false),
      "cut-crc": doctor((b) => b.subarray(0, b.length - 1), false),
      "cut-header": doctor((b) => b.subarray(0, 50), false),
      "cut-magic": doctor((b) => b.subarray(0, 5), false),
    });
    expectRefused(got, "cut-half", /is truncated or damaged: \d+ bytes, its fields run past the end/, /CRC-32 does not match/);
    expectRefused(got, "cut-crc", /is truncated or damaged/);
    expectRefused(got, "cut-header", /is truncated: 50 bytes, shorter than the fixed header/);
    expectRefused(got, "cut-magic", /is truncated: 5 bytes/);
    expect(got.last.ok, `a normal snapshot no longer loads after the refusals: '${got.last.text}'`);
  });

  await test(browser, "snapshot-unknown-version", base, async (page) => {
    const got = await loadDoctored(page, base, {
      "next-version": doctor((b) => { b.writeUInt32LE(S.VERSION + 1, S.OFF_VERSION); }),
      "version-1": doctor((b) => { b.writeUInt32LE(1, S.OFF_VERSION); }, false),
    });
    expectRefused(got, "next-version", new RegExp(`is snapshot format version ${S.VERSION + 1}; this krait.js reads version ${S.VERSION} only`));
    expectRefused(got, "version-1", /is snapshot format version 1;/);
    expect(got.last.ok, `a normal snapshot no longer loads after the refusals: '${got.last.text}'`);
  });

  await test(browser, "snapshot-other-refusals", base, async (page) => {
    const codecAt = codecOffset(SNAPSHOT), lastRun = codecAt - 8;   // the runs end where the codec starts
    const got = await loadDoctored(page, base, {
      "html": Buffer.from("<!DOCTYPE html><title>404</title>".padEnd(200, " ")),
      "empty": Buffer.alloc(0),
      "codec-xz": doctor((b) => { b.writeUInt32LE(S.CODEC_XZ, codecAt); }),
      "codec-7": doctor((b) => { b.writeUInt32LE(7, codecAt); }),
      "pages-over": doctor((b) => { b.writeUInt32LE(S.MAX_PAGES + 1, S.OFF_PAGES); b.writeBigUInt64LE(BigInt(S.MAX_PAGES + 1) * 65536n, S.OFF_SIZE); }),
      "size-not-pages": doctor((b) => { b.writeBigUInt64LE(b.readBigUInt64LE(S.OFF_SIZE) + 1n, S.OFF_SIZE); }),
      "globals-huge": doctor((b) => { b.writeUInt32LE(0x7fffffff, S.OFF_NGLOBALS); }),
      "raw-length": doctor((b) => { b.writeBigUInt64LE(b.readBigUInt64LE(codecAt + 4) + 4096n, codecAt + 4); }),
      "trailing": doctor((b) => Buffer.concat([b, Buffer.alloc(8)])),
      "run-outside": doctor((b) => { b.writeUInt32LE(S.MAX_PAGES * 16, lastRun); }),
    });
    expectRefused(got, "html", /is not a krait snapshot: it starts with "<!DOCTYP", not "KRAITSNP"/);
    expectRefused(got, "empty", /is empty/);
    expectRefused(got, "codec-xz", /stores memory with codec 1 \(xz, krait_snapshot_save\), which krait.js does not decode/);
    expectRefused(got, "codec-7", /stores memory with codec 7 \(byte \d+\), which no krait knows/);
    expectRefused(got, "pages-over", /is malformed: its pages field 65537 \(byte 44\) is over the 65536/);
    expectRefused(got, "size-not-pages", /is malformed: its size field \d+ \(byte 48\) is not its \d+ pages/);
    expectRefused(got, "globals-huge", /has a length field out of range \(its 2147483647 globals at byte 72: 17179869176 bytes needed/);
    expectRefused(got, "raw-length", /is malformed: its raw length \d+ \(byte \d+\) is not its runs' \d+ pages/);
    expectRefused(got, "trailing", /is malformed: it has 8 bytes more than its fields describe/);
    expectRefused(got, "run-outside", /is malformed: its run \d+ \(pages 1048576\+\d+, byte \d+\) lies outside memory/);
    expect(got.last.ok, `a normal snapshot no longer loads after the refusals: '${got.last.text}'`);
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

  // ---- package sets (python/sets/, krait.js load({ packages })) -------------

  await test(browser, "packages-page-markupsafe", base, async (page) => {
    const urls = [];
    page.on("request", (r) => urls.push(new URL(r.url()).pathname));
    await page.goto(`${base}examples/markupsafe.html`);
    await page.waitForSelector("body[data-krait]", { timeout: 90000 });
    const out = await page.textContent("#krait-out-1");
    expect(await page.getAttribute("body", "data-krait") === "ready", `the page failed: '${out}'`);
    expect(out.includes("&lt;b&gt;Tom &amp; Jerry&lt;/b&gt;\nC speedups in use: True\n"), `output '${out}'`);
    expect(out.includes("markupsafe from /krait/site-packages.zip/markupsafe/__init__.pyc ; sys.path[0] = /krait/site-packages.zip"),
           `markupsafe not from the set's site-packages first on sys.path: '${out}'`);
    const set = (f) => urls.some((u) => u.endsWith(`/python/sets/markupsafe/${f}`));
    expect(set("python.wasm") && set("site-packages.zip") && set("python.snapshot") && urls.some((u) => u.endsWith("/python/sets/index.json")),
           `the set's files not fetched: ${urls.join(" ")}`);
    expect(!urls.some((u) => /\/python\/python(\.wasm|\.snapshot|311\.zip)$/.test(u)),
           `the base python.wasm or snapshot, or the stdlib zip (markupsafe is in the set's snapshot), fetched: ${urls.join(" ")}`);
  });

  await test(browser, "packages-set-boot-snapshot-and-binding", base, async (page) => {
    await playground(page, base);
    const got = await page.evaluate(async () => {
      const { load } = await import("../krait.js");
      const code = "import sys\ntry:\n    import markupsafe, markupsafe._speedups\n" +
        "    print(markupsafe.escape('a<b'), markupsafe.escape is markupsafe._speedups.escape, sys.path[0])\n" +
        "except ImportError as e:\n    print('ImportError', e.name)\n";
      const out = {};
      // the base first, then the set, then the base again, in one page
      for (const [key, opts] of [["base", {}], ["snapshot", { packages: ["markupsafe"], snapshot: true }],
                                 ["boot", { packages: ["MarkupSafe", "markupsafe"], snapshot: false }],
                                 ["base-again", { snapshot: true }]]) {
        let text = "";
        const py = await load({ ...opts, onStdout: (t) => { text += t; } });
        await py.run(code);
        out[key] = { text, from: py.fromSnapshot };
        py.worker.terminate();
      }
      // the base's snapshot with the set's python.wasm: refused
      try {
        await load({ packages: ["markupsafe"], snapshot: new URL("../python/python.snapshot", location.href).href, onStderr: () => {} });
        out.mixed = "loaded";
      } catch (e) { out.mixed = `${e.name}: ${e.message}`; }
      return out;
    });
    const want = "a&lt;b True /krait/site-packages.zip\n";
    expect(got.snapshot.text === want && got.snapshot.from === true, `from the set's snapshot: ${JSON.stringify(got.snapshot)}`);
    expect(got.boot.text === want && got.boot.from === false, `booting the set: ${JSON.stringify(got.boot)}`);
    expect(got.base.text === "ImportError markupsafe\n" && got["base-again"].text === "ImportError markupsafe\n",
           `the base python.wasm has markupsafe: ${JSON.stringify(got)}`);
    expect(/^SnapshotError: krait: \S+\/python\/python\.snapshot was taken from another python\.wasm \(module hash [0-9a-f]{16}\.\.\.\), not from the package set markupsafe's python\.wasm/.test(got.mixed),
           `the base snapshot with the set's wasm: ${got.mixed}`);
    console.log(`    ${got.mixed.replace(/^SnapshotError: krait: \S+ /, "")}`);
  });

  await test(browser, "packages-unknown-set-error", base, async (page) => {
    const logs = [];
    page.on("console", (m) => logs.push(m.text()));
    await page.route("**/examples/unknown-set.html", (route) => route.fulfill({ status: 200, contentType: "text/html",
      body: sizePage(["markupsafe", "nosuchpkg"]) }));
    await page.goto(`${base}examples/unknown-set.html`);
    await page.waitForSelector("body[data-krait='error']", { timeout: 60000 });
    const shown = await page.textContent("#krait-start-error");
    const want = /the package set "markupsafe\+nosuchpkg" is not in this build \(\S+python\/sets\/index\.json\); available: (?:.*, )?markupsafe \(markupsafe 2\.1\.2\)(?:, .*)?\. Build it with: make python PACKAGES=markupsafe,nosuchpkg, then make web/;
    expect(want.test(shown), `shown on the page: '${shown}'`);
    expect(logs.some((l) => want.test(l)), `not in the console: ${JSON.stringify(logs)}`);
    const color = await page.$eval("#krait-start-error", (e) => getComputedStyle(e).color);
    expect(color === "rgb(176, 0, 32)", `the error is not red (${color})`);
    // a name that cannot be a package's: refused before any fetch
    const bad = await page.evaluate(async () => {
      const { load } = await import("../krait.js");
      try { await load({ packages: ["../x"] }); return "loaded"; } catch (e) { return `${e.name}: ${e.message}`; }
    });
    expect(bad === `PackageError: krait: "../x" is not a package name (letters, digits, '_' and '-')`, bad);
  });

  await test(browser, "playground-packages", base, async (page) => {
    await page.goto(`${base}playground/?packages=markupsafe`);
    await page.waitForSelector("body[data-ready='1']", { timeout: 60000 });
    expect(/with markupsafe$/.test(await page.textContent("#status")), `status '${await page.textContent("#status")}'`);
    expect(await page.inputValue("#packages") === "markupsafe", "the packages field does not show the set");
    const check = "import markupsafe, markupsafe._speedups\nprint(markupsafe.escape('<i>'), markupsafe.escape is markupsafe._speedups.escape)";
    let out = await runCode(page, check);
    expect(out.trim() === "&lt;i&gt; True", `output '${out}'`);
    // the field: emptied, the page reloads on the base python.wasm
    await page.fill("#packages", "");
    await Promise.all([page.waitForNavigation(), page.press("#packages", "Enter")]);
    await page.waitForSelector("body[data-ready='1']", { timeout: 60000 });
    expect(!new URL(page.url()).searchParams.has("packages"), `url ${page.url()}`);
    out = await runCode(page, "import importlib.util\nprint(importlib.util.find_spec('markupsafe'))");
    expect(out.trim() === "None", `the base playground finds markupsafe: '${out}'`);
    // and typed in again, with the code kept
    await page.fill("#code", check);
    await page.fill("#packages", "markupsafe");
    await Promise.all([page.waitForNavigation(), page.press("#packages", "Enter")]);
    await page.waitForSelector("body[data-ready='1']", { timeout: 60000 });
    expect(new URL(page.url()).searchParams.get("packages") === "markupsafe", `url ${page.url()}`);
    expect(await page.inputValue("#code") === check, "the code was lost");
    await page.click("#run");
    await page.waitForSelector("body[data-state='done']", { timeout: 60000 });
    out = await page.textContent("#output");
    expect(out.trim() === "&lt;i&gt; True", `after the field: '${out}'`);
    // an unknown set: the playground says which and what there is
    await page.goto(`${base}playground/?packages=nosuchpkg`);
    await page.waitForSelector("body[data-ready='error']", { timeout: 60000 });
    const said = await page.textContent("#output");
    expect(/the package set "nosuchpkg" is not in this build .*available: markupsafe \(markupsafe 2\.1\.2\)/.test(said), `output '${said}'`);
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

  await test(browser, "krait-serve-playground", null, async (page) => {
    const served = await kraitServe();   // a failure to start is this test's
    const encodings = {};
    page.on("response", async (r) => {
      const name = new URL(r.url()).pathname.replace(/^\/web\//, "");
      encodings[name] = (await r.allHeaders())["content-encoding"] || "identity";
    });
    await playground(page, served);
    expect(await page.evaluate(() => crossOriginIsolated), "krait serve's page is not cross-origin isolated");
    const out = await runCode(page, "print(sum(range(10)))");
    expect(out.trim() === "45", `output '${out}'`);
    // zoneinfo needs the stdlib zip: the worker's synchronous XHR gets it br-encoded
    const compat = await runCode(page, COMPAT);
    expect(compat.trim() === COMPAT_WANT, `the compat program printed '${compat}'`);
    for (const f of ["python/python.wasm", "python/python.snapshot", "python/python311.zip", "krait.js", "krait-worker.js"])
      expect(encodings[f] === "br", `${f} came ${encodings[f] || "not at all"}, not br (${JSON.stringify(encodings)})`);
    const root = await page.goto(served.replace(/web\/$/, ""));
    expect(new URL(page.url()).pathname === "/web/playground/" && root.ok(), `/ led to ${page.url()}`);
  });

  // The plain page (no package) fetches no set file, nor the index; the
  // markupsafe page only the set's python.wasm and snapshot instead of
  // the base's, and the index and site-packages.zip besides. Sizes as
  // krait serve --playground sends them (brotli); bench/web-sizes.mjs
  // compares builds.
  await test(browser, "transfer-sizes-plain-and-markupsafe", null, async () => {
    const served = await kraitServe();
    const plainM = await measurePage(browser, served, "size-plain", sizePage(null));
    const setM = await measurePage(browser, served, "size-markupsafe", sizePage(["markupsafe"]));
    console.log(sizeTable("plain page", plainM));
    console.log(sizeTable("markupsafe page", setM));
    expect(plainM.state === "ready" && plainM.text.includes("<x>"), `the plain page: ${plainM.state} '${plainM.text}'`);
    expect(setM.state === "ready" && setM.text.includes("&lt;x&gt;"), `the markupsafe page: ${setM.state} '${setM.text}'`);
    const paths = (m) => m.files.map((f) => f.path);
    expect(!paths(plainM).some((p) => p.startsWith("python/sets/")), `the plain page fetched set files: ${paths(plainM).join(" ")}`);
    for (const f of ["python/python.wasm", "python/python.snapshot", "python/sdk.zip"])
      expect(paths(plainM).includes(f), `the plain page did not fetch ${f}: ${paths(plainM).join(" ")}`);
    for (const f of ["python/python.wasm", "python/python.snapshot"])
      expect(!paths(setM).includes(f), `the markupsafe page fetched the base's ${f}: ${paths(setM).join(" ")}`);
    const onlySet = paths(setM).filter((p) => !paths(plainM).includes(p)).sort();
    const want = ["python/sets/index.json", "python/sets/markupsafe/python.snapshot", "python/sets/markupsafe/python.wasm",
                  "python/sets/markupsafe/site-packages.zip"];
    // markupsafe is imported in the set's snapshot: the page needs no stdlib zip
    expect(JSON.stringify(onlySet) === JSON.stringify(want), `the markupsafe page's own files: ${onlySet.join(" ")}`);
    for (const f of [...plainM.files, ...setM.files])
      if (/\.(wasm|snapshot)$/.test(f.path)) expect(f.encoding === "br", `${f.path} came ${f.encoding}`);
    console.log(`    plain page ${plainM.total} bytes, markupsafe page ${setM.total} bytes (${(setM.total / plainM.total).toFixed(3)}x)`);
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
