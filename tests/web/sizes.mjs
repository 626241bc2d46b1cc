// tests/web/sizes.mjs -- what a page built on krait-page.js transfers
// before its Python ran: each file it fetched with its encoded body size
// (brotli when the server sends it) as Chromium counts it, for the plain
// page (no package) and a page asking for a package set. Used by
// tests/web/run.mjs (the assertions) and bench/web-sizes.mjs (the
// before/after figures). The pages are served by page.route, so any
// build of build/web can be measured alike.
// Does not own the server (the caller's) or the pages' runtime (web/).

/** The two measured pages' HTML: Python that prints, with or without a
 * python-config block asking for packages. */
export function sizePage(packages) {
  const cfg = packages ? `<script type="text/python-config">{ "packages": ${JSON.stringify(packages)} }</script>\n` : "";
  const code = packages ? "import markupsafe\nprint(markupsafe.escape('<x>'))" : "print('<x>')";
  return `<!doctype html><html><head><meta charset="utf-8"><script type="module" src="../krait-page.js"></script></head>` +
    `<body>${cfg}<script type="text/python">\n${code}\n</script></body></html>`;
}

/** Loads base + "examples/NAME.html" served as html in a fresh context
 * (no cache) and waits for data-krait; resolves { state, files: [{ path,
 * bytes, encoding }], total, text, ms } with paths relative to base and
 * ms from the navigation to data-krait (every block ran). */
export async function measurePage(browser, base, name, html) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const files = [];
  const pending = [];
  await page.route(`**/examples/${name}.html`, (route) => route.fulfill({ status: 200, contentType: "text/html", body: html }));
  page.on("requestfinished", (req) => {
    pending.push((async () => {
      const sizes = await req.sizes();
      const resp = await req.response();
      const path = new URL(req.url()).pathname.replace(new URL(base).pathname, "");
      if (path === `examples/${name}.html`) return;   // the page itself is the test's
      files.push({ path, bytes: sizes.responseBodySize + sizes.responseHeadersSize,
                   encoding: (resp && (await resp.allHeaders())["content-encoding"]) || "identity" });
    })());
  });
  const t0 = Date.now();
  await page.goto(`${base}examples/${name}.html`);
  await page.waitForSelector("body[data-krait]", { timeout: 90000 });
  const ms = Date.now() - t0;
  const state = await page.getAttribute("body", "data-krait");
  const text = await page.textContent("body");
  await Promise.all(pending);
  await context.close();
  files.sort((a, b) => a.path.localeCompare(b.path));
  return { state, files, total: files.reduce((n, f) => n + f.bytes, 0), text, ms };
}

/** A table of a measurement, one file a line, then the total. */
export function sizeTable(label, m) {
  const rows = m.files.map((f) => `    ${f.path.padEnd(44)} ${String(f.bytes).padStart(9)} ${f.encoding}`);
  return [`  ${label}: ${m.files.length} files, ${m.total} bytes transferred (bodies as sent + headers), ` +
          `ready in ${m.ms} ms`, ...rows].join("\n");
}
