// tests/web/server.mjs -- a static file server for build/web (the tests,
// the benchmark, and anyone trying krait.js locally): GET/HEAD only, paths
// confined to the root, exact content types (application/wasm for
// streaming compilation), and the COOP/COEP headers that make the page
// cross-origin isolated (SharedArrayBuffer, so input() works) unless
// --no-isolation. ETags answer revalidations with 304; --brotli sends
// brotli (quality 11, compressed once per file) to clients that accept it,
// as a production server would. Prints "listening on http://HOST:PORT/".
// Usage: node tests/web/server.mjs ROOT [--port N] [--no-isolation] [--brotli]
import http from "node:http";
import fs from "node:fs";
import path from "node:path";
import zlib from "node:zlib";

const args = process.argv.slice(2);
const root = path.resolve(args.find((a) => !a.startsWith("--")) || "build/web");
const portAt = args.indexOf("--port");
const port = portAt >= 0 ? Number(args[portAt + 1]) : 0;
const isolate = !args.includes("--no-isolation");
const brotli = args.includes("--brotli");
const compressed = new Map();   // path + etag -> brotli bytes
const TYPES = {
  ".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8", ".wasm": "application/wasm", ".zip": "application/zip",
  ".json": "application/json", ".css": "text/css; charset=utf-8", ".py": "text/x-python; charset=utf-8",
  ".krait": "application/octet-stream", ".png": "image/png", ".svg": "image/svg+xml",
};

const server = http.createServer((req, res) => {
  const headers = {};
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
  fs.stat(file, (err, st) => {
    if (err || !st.isFile()) { res.writeHead(404, headers).end("not found\n"); return; }
    const etag = `"${st.size.toString(16)}-${Math.floor(st.mtimeMs).toString(16)}"`;
    headers.ETag = etag;
    headers["Cache-Control"] = "no-cache";   // revalidate: 304 when unchanged
    if (req.headers["if-none-match"] === etag) { res.writeHead(304, headers).end(); return; }
    fs.readFile(file, (err2, data) => {
      if (err2) { res.writeHead(404, headers).end("not found\n"); return; }
      const type = TYPES[path.extname(file)] || "application/octet-stream";
      if (brotli && /\bbr\b/.test(req.headers["accept-encoding"] || "")) {
        const key = file + etag;
        if (!compressed.has(key)) {
          compressed.set(key, zlib.brotliCompressSync(data, { params: {
            [zlib.constants.BROTLI_PARAM_QUALITY]: 11, [zlib.constants.BROTLI_PARAM_SIZE_HINT]: data.length } }));
        }
        data = compressed.get(key);
        headers["Content-Encoding"] = "br";
        headers.Vary = "Accept-Encoding";
      }
      res.writeHead(200, { ...headers, "Content-Type": type, "Content-Length": data.length });
      res.end(req.method === "HEAD" ? undefined : data);
    });
  });
});
server.listen(port, "127.0.0.1", () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}/`);
});
