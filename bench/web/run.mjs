// bench/web/run.mjs -- krait in the browser against Pyodide, in one
// Chromium run: time from navigation to the first Python output, cold (a
// fresh profile: empty HTTP and code caches) and warm (the same profile
// again, as a returning visitor: 304 revalidations, V8's code cache), and
// the bytes transferred, served by `krait serve --playground` (KRAIT_WEB=ROOT,
// the pages at /web/; its precompressed brotli, ETags) -- or, with
// SERVER=node, by tests/web/server.mjs --brotli (brotli 11 on the fly);
// NET_MBPS (and NET_RTT, ms) throttle the link as DevTools does.
// Prints a markdown table (also to build/bench/web.md).
// Usage: node bench/web/run.mjs ROOT [RUNS]   (ROOT holds krait/, pyodide/,
// playground/ and the pages)
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { createRequire } from "node:module";

const require = createRequire(new URL("../../web/package.json", import.meta.url));
const { chromium } = require("playwright-core");
const ROOT = process.argv[2];
const RUNS = Number(process.argv[3] || 5);

const SERVER = process.env.SERVER || "krait";
const NET_MBPS = Number(process.env.NET_MBPS || 0);   // 0: loopback as it is
const NET_RTT = Number(process.env.NET_RTT || 20);    // ms, with NET_MBPS
const KRAIT = process.env.KRAIT_BIN || "build/krait";

/** The test server (brotli on the fly); resolves [process, base URL]. */
function nodeServer() {
  const p = spawn(process.execPath, ["tests/web/server.mjs", ROOT, "--brotli"], { stdio: ["ignore", "pipe", "inherit"] });
  return new Promise((r) => p.stdout.on("data", (d) => r([p, /listening on (\S+)/.exec(String(d))[1]])));
}

/** krait serve --playground over ROOT on a free port (retried when another
 * process takes it first); resolves [process, base URL of /web/]. */
async function kraitServer() {
  for (let tries = 1; ; tries++) {
    const port = 20000 + Math.floor(Math.random() * 20000);
    const p = spawn(KRAIT, ["serve", "--playground", "--listen", `127.0.0.1:${port}`, "--quiet"],
                    { env: { ...process.env, KRAIT_WEB: path.resolve(ROOT) }, stdio: ["ignore", "ignore", "pipe"] });
    let err = "";
    const up = await new Promise((r) => {
      p.stderr.on("data", (d) => { err += d; if (/playground at /.test(err)) r(true); });
      p.on("exit", () => r(false));
    });
    if (up) return [p, `http://127.0.0.1:${port}/web/`];
    if (tries >= 5 || !/Address already in use/.test(err)) throw new Error(`${KRAIT} serve did not start: ${err}`);
  }
}

const [server, base] = SERVER === "node" ? await nodeServer() : await kraitServer();

/** One page load: { ms to first output, bytes over the wire, requests }. */
async function once(context, page) {
  const p = await context.newPage();
  if (NET_MBPS > 0) {   // a slower link than loopback, as DevTools throttles it
    const cdp = await context.newCDPSession(p);
    await cdp.send("Network.enable");
    await cdp.send("Network.emulateNetworkConditions", { offline: false, latency: NET_RTT,
      downloadThroughput: NET_MBPS * 1e6 / 8, uploadThroughput: NET_MBPS * 1e6 / 8 });
  }
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

// load everything once before timing (the test server caches its brotli output)
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

const kb = (b) => (b >= 1e5 ? `${(b / 1e6).toFixed(2)} MB` : `${(b / 1e3).toFixed(1)} kB`);
const by = (SERVER === "node" ? "tests/web/server.mjs --brotli" : `${KRAIT} serve --playground`) +
  (NET_MBPS > 0 ? `, link throttled to ${NET_MBPS} Mbit/s and ${NET_RTT} ms RTT` : ", loopback");
let md = `## krait.js vs Pyodide: navigation to first Python output (Chromium, ${RUNS} runs, median; served by ${by})\n\n`;
md += "| runtime | cold ms | warm ms | transferred cold | transferred warm | requests |\n|---|---:|---:|---:|---:|---:|\n";
for (const r of rows) md += `| ${r.name} | ${Math.round(r.cold)} | ${Math.round(r.warm)} | ${kb(r.bytes)} | ${kb(r.warmBytes)} | ${r.requests} |\n`;
const p = rows[rows.length - 1];
for (const k of rows.slice(0, -1))
  md += `\n${k.name} / Pyodide: cold ${(k.cold / p.cold).toFixed(2)}x, warm ${(k.warm / p.warm).toFixed(2)}x, bytes ${(k.bytes / p.bytes).toFixed(2)}x`;
md += "\n";
fs.mkdirSync("build/bench", { recursive: true });
fs.writeFileSync("build/bench/web.md", md);
console.log(md);
