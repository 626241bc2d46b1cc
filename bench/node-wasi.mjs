// bench/node-wasi.mjs -- runs a wasm32-wasi command under Node's WASI
// (node:wasi, preview1): node bench/node-wasi.mjs FILE.wasm [ARGS...]
// Node 18 needs --experimental-wasi-unstable-preview1 (bench/run.sh adds
// it); Node 20 has WASI without a flag. Exit status is the guest's.
// Does not own: timing or checksum checks (bench/run.sh).
import { readFile } from 'node:fs/promises';
import { WASI } from 'node:wasi';
import process from 'node:process';

const [file, ...rest] = process.argv.slice(2);
if (!file) {
  console.error('usage: node node-wasi.mjs FILE.wasm [ARGS...]');
  process.exit(2);
}
const wasi = new WASI({ version: 'preview1', args: [file, ...rest], env: {}, returnOnExit: true });
const module = await WebAssembly.compile(await readFile(file));
// Node 18 (Debian 12) has no getImportObject, only wasiImport.
const imports = wasi.getImportObject ? wasi.getImportObject() : { wasi_snapshot_preview1: wasi.wasiImport };
const instance = await WebAssembly.instantiate(module, imports);
process.exitCode = wasi.start(instance);
