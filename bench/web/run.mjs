// bench/web/run.mjs -- krait in the browser against Pyodide, in one
// Chromium run: time from navigation to the first Python output, cold (a
// fresh profile: empty HTTP and code caches) and warm (the same profile
// again, as a returning visitor: 304 revalidations, V8's code cache), and
// the bytes transferred, served with brotli (quality 11) by
// tests/web/server.mjs.
// Prints a markdown table (also to build/bench/web.md).
// Usage: node bench/web/run.mjs ROOT [RUNS]   (ROOT holds krait/, pyodide/)
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { createRequire } from "node:module";

const require = createRequire(new URL("../../web/package.json", import.meta.url));
const { chromium } = require("playwright-core");
const ROOT = process.argv[2];
const RUNS = Number(process.argv[3] || 5);

const server = spawn(process.execPath, ["tests/web/server.mjs", ROOT, "--brotli"], { stdio: ["ignore", "pipe", "inherit"] });
const base = await new Promise((r) => server.stdout.on("data", (d) => r(/listening on (\S+)/.exec(String(d))[1])));

/** One page load: { ms to first output, bytes over the wire, requests }. */
async function once(context, page) {
  const p = await context.newPage();
  let bytes = 0, requests = 0;
  p.on("requestfinished", async (req) => {
    requests++;
    const s = await req.sizes().catch(() => null);
    if (s) bytes += s.responseBodySize + s.responseHeadersSize;
  });
  await p.goto(base + page);
  await p.waitForFunction(() => window.__result, null, { timeout: 120000 });
  const r = await p.evaluate(() => window.__result);
  await p.waitForTimeout(200);
  await p.close();
  return { ms: r.first, bytes, requests };
}

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
const LAUNCH = { executablePath: process.env.CHROMIUM || "/usr/bin/chromium", args: ["--no-sandbox"] };

/** A browser with a new, empty profile on disk (its own HTTP cache). */
async function freshProfile() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "krait-bench-web-"));
  const context = await chromium.launchPersistentContext(dir, LAUNCH);
  return { context, done: async () => { await context.close(); fs.rmSync(dir, { recursive: true, force: true }); } };
}

// compress everything once before timing (the server caches brotli output)
{ const b = await freshProfile(); for (const pg of ["krait.html", "krait-snapshot.html", "pyodide.html"]) await once(b.context, pg); await b.done(); }
const rows = [];
for (const [name, page] of [["krait (snapshot)", "krait-snapshot.html"], ["krait (boot)", "krait.html"],
                            ["Pyodide", "pyodide.html"]]) {
  const cold = [], warm = [];
  for (let i = 0; i < RUNS; i++) {
    const b = await freshProfile();
    cold.push(await once(b.context, page));
    warm.push(await once(b.context, page));
    await b.done();
  }
  rows.push({ name, cold: median(cold.map((x) => x.ms)), warm: median(warm.map((x) => x.ms)),
              bytes: cold[0].bytes, warmBytes: warm[0].bytes, requests: cold[0].requests });
}
server.kill();

const kb = (b) => `${(b / 1e6).toFixed(2)} MB`;
let md = `## krait.js vs Pyodide: navigation to first Python output (Chromium ${RUNS} runs, median)\n\n`;
md += "| runtime | cold ms | warm ms | transferred cold (brotli) | transferred warm | requests |\n|---|---:|---:|---:|---:|---:|\n";
for (const r of rows) md += `| ${r.name} | ${Math.round(r.cold)} | ${Math.round(r.warm)} | ${kb(r.bytes)} | ${kb(r.warmBytes)} | ${r.requests} |\n`;
const p = rows[rows.length - 1];
for (const k of rows.slice(0, -1))
  md += `\n${k.name} / Pyodide: cold ${(k.cold / p.cold).toFixed(2)}x, warm ${(k.warm / p.warm).toFixed(2)}x, bytes ${(k.bytes / p.bytes).toFixed(2)}x`;
md += "\n";
fs.mkdirSync("build/bench", { recursive: true });
fs.writeFileSync("build/bench/web.md", md);
console.log(md);
