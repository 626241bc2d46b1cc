// bench/web-sizes.mjs -- the transfer of a page built on krait-page.js,
// served by `krait serve --playground` (its brotli siblings) in Debian's
// Chromium: the plain page (Python that prints, no package) and, when the
// build has the markupsafe package set, a page with
// {"packages": ["markupsafe"]}; each file with its bytes as sent, then the
// totals. Give it two builds to compare them (e.g. a build/web made
// before a change, kept aside): the plain page's total of each and the
// ratio, and the plain page's time to its output (cold, a fresh context
// each; RUNS=N loads, default 5, median; loopback). Usage:
// node bench/web-sizes.mjs [ROOT] [OTHER_ROOT] (default build/web). Does not own the measuring (tests/web/sizes.mjs).
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";
import { measurePage, sizePage, sizeTable } from "../tests/web/sizes.mjs";

const require = createRequire(new URL("../web/package.json", import.meta.url));
const { chromium } = require("playwright-core");
const roots = process.argv.slice(2).length ? process.argv.slice(2) : ["build/web"];
const servers = [];

/** krait serve --playground over root on a free port; its build's URL. */
function kraitServe(root) {
  return new Promise((resolve, reject) => {
    const port = 20000 + Math.floor(Math.random() * 20000);
    const p = spawn("build/krait", ["serve", "--playground", "--listen", `127.0.0.1:${port}`, "--quiet"],
                    { env: { ...process.env, KRAIT_WEB: path.resolve(root) }, stdio: ["ignore", "ignore", "pipe"] });
    servers.push(p);
    let err = "";
    p.stderr.on("data", (d) => { err += d; if (/playground at /.test(err)) resolve(`http://127.0.0.1:${port}/web/`); });
    p.on("exit", (code) => reject(new Error(`krait serve exited ${code}: ${err}`)));
  });
}

const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || "/usr/bin/chromium", args: ["--no-sandbox"] });
const plainTotals = [], plainMs = [];
const RUNS = Number(process.env.RUNS || 5);
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
try {
  for (const root of roots) {
    const base = await kraitServe(root);
    console.log(`${root}:`);
    const plain = await measurePage(browser, base, "size-plain", sizePage(null));
    console.log(sizeTable(`plain page (${plain.state})`, plain));
    plainTotals.push(plain.total);
    const times = [plain.ms];
    for (let i = 1; i < RUNS; i++) times.push((await measurePage(browser, base, "size-plain", sizePage(null))).ms);
    plainMs.push(median(times));
    console.log(`  plain page ready in ${times.join(", ")} ms: median ${median(times)} ms`);
    if (fs.existsSync(path.join(root, "python/sets/markupsafe/python.wasm"))) {
      const ms = await measurePage(browser, base, "size-markupsafe", sizePage(["markupsafe"]));
      console.log(sizeTable(`markupsafe page (${ms.state})`, ms));
    }
  }
  if (plainTotals.length === 2) {
    console.log(`plain page: ${plainTotals[0]} bytes (${roots[0]}) vs ${plainTotals[1]} bytes (${roots[1]}): ` +
                `${(plainTotals[0] / plainTotals[1]).toFixed(4)}x; ready in ${plainMs[0]} vs ${plainMs[1]} ms ` +
                `(${(plainMs[0] / plainMs[1]).toFixed(3)}x)`);
  }
} finally {
  await browser.close();
  for (const s of servers) s.kill();
}
