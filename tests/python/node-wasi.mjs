// tests/python/node-wasi.mjs -- runs a wasm32-wasi command under Node's
// WASI (node:wasi, preview1) with directory preopens, for the CPython
// build until `krait run --dir` exists:
//   node tests/python/node-wasi.mjs [--dir HOST[:GUEST]]... [--env K=V]...
//        FILE.wasm [ARGS...]
// GUEST defaults to HOST. The guest sees only the given environment. Exit
// status is the guest's. Run node with --max-old-space-size=4096: with
// the default heap limit, Node 20 dies with SIGSEGV once the guest's memory
// has grown past ~60 MiB (seen with lzma.compress). Avoid time.sleep in
// guests: Node's poll_oneoff can hang on absolute clock subscriptions.
// Does not own: which checks run (tests/python/run.sh).
import { readFile } from 'node:fs/promises';
import { WASI } from 'node:wasi';
import process from 'node:process';

const argv = process.argv.slice(2);
const preopens = {};
const env = {};
while (argv.length && argv[0].startsWith('--')) {
  const opt = argv.shift();
  const val = argv.shift();
  if (val === undefined) { console.error(`${opt} needs a value`); process.exit(2); }
  if (opt === '--dir') {
    const i = val.indexOf(':');
    const host = i < 0 ? val : val.slice(0, i);
    const guest = i < 0 ? val : val.slice(i + 1);
    preopens[guest] = host;
  } else if (opt === '--env') {
    const i = val.indexOf('=');
    env[val.slice(0, i)] = val.slice(i + 1);
  } else { console.error(`unknown option ${opt}`); process.exit(2); }
}
const [file, ...rest] = argv;
if (!file) {
  console.error('usage: node node-wasi.mjs [--dir HOST[:GUEST]]... [--env K=V]... FILE.wasm [ARGS...]');
  process.exit(2);
}
const wasi = new WASI({ version: 'preview1', args: [file, ...rest], env, preopens, returnOnExit: true });
const module = await WebAssembly.compile(await readFile(file));
// python.wasm also imports module "krait" (krait serve's host interface,
// python/c/krait_abi.h): here every such import answers -38, "not serving".
// Node 18 (Debian 12) has no getImportObject, only wasiImport.
const imports = wasi.getImportObject ? wasi.getImportObject() : { wasi_snapshot_preview1: wasi.wasiImport };
for (const im of WebAssembly.Module.imports(module)) {
  if (im.module !== 'krait' || im.kind !== 'function') continue;
  imports.krait ??= {};
  imports.krait[im.name] = () => -38;
}
const instance = await WebAssembly.instantiate(module, imports);
process.exitCode = wasi.start(instance);
