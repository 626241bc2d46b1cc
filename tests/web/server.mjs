// tests/web/server.mjs -- a static file server for build/web (the tests,
// the benchmark, and anyone trying krait.js locally): GET/HEAD only, paths
// confined to the root, exact content types (application/wasm for
// streaming compilation), and the COOP/COEP headers that make the page
// cross-origin isolated (SharedArrayBuffer, so input() works) unless
// --no-isolation. Prints "listening on http://HOST:PORT/" once ready.
// Usage: node tests/web/server.mjs ROOT [--port N] [--no-isolation]
import http from "node:http";
import fs from "node:fs";
import path from "node:path";

const args = process.argv.slice(2);
const root = path.resolve(args.find((a) => !a.startsWith("--")) || "build/web");
const portAt = args.indexOf("--port");
const port = portAt >= 0 ? Number(args[portAt + 1]) : 0;
const isolate = !args.includes("--no-isolation");
const TYPES = {
  ".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8", ".wasm": "application/wasm", ".zip": "application/zip",
  ".json": "application/json", ".css": "text/css; charset=utf-8", ".py": "text/x-python; charset=utf-8",
  ".krait": "application/octet-stream", ".png": "image/png", ".svg": "image/svg+xml",
};

const server = http.createServer((req, res) => {
  const headers = { "Cache-Control": "no-cache" };
  if (isolate) {
    headers["Cross-Origin-Opener-Policy"] = "same-origin";
    headers["Cross-Origin-Embedder-Policy"] = "require-corp";
    headers["Cross-Origin-Resource-Policy"] = "same-origin";
  }
  if (req.method !== "GET" && req.method !== "HEAD") {
    res.writeHead(405, { ...headers, Allow: "GET, HEAD" }).end();
    return;
  }
  let rel;
  try { rel = decodeURIComponent(new URL(req.url, "http://x").pathname); } catch { rel = null; }
  let file = rel === null ? null : path.join(root, rel);
  if (!file || (file !== root && !file.startsWith(root + path.sep))) {
    res.writeHead(400, headers).end("bad path\n");
    return;
  }
  if (fs.existsSync(file) && fs.statSync(file).isDirectory()) file = path.join(file, "index.html");
  fs.readFile(file, (err, data) => {
    if (err) { res.writeHead(404, headers).end("not found\n"); return; }
    const type = TYPES[path.extname(file)] || "application/octet-stream";
    res.writeHead(200, { ...headers, "Content-Type": type, "Content-Length": data.length });
    res.end(req.method === "HEAD" ? undefined : data);
  });
});
server.listen(port, "127.0.0.1", () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}/`);
});
