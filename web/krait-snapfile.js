// web/krait-snapfile.js -- the browser's reader of krait's snapshot files
// (docs/SNAPSHOT.md): readSnapshot() checks a whole file (magic, version,
// CRC-32, every length and range) and refuses what it cannot read with a
// SnapshotError naming what is wrong and where; applySnapshot() writes a
// portable one (codec raw) into a fresh instance's memory. The format's
// numbers come from krait-constants.js, generated from src/runtime/
// snapfile.h. checkModuleHash() binds a package set's snapshot to the
// set's python.wasm. Does not own the worker (krait-worker.js) or the format.
import { SNAPSHOT as S } from "./krait-constants.js";

/** A snapshot file that cannot be used; .message says why. */
export class SnapshotError extends Error {
  constructor(message) { super(message); this.name = "SnapshotError"; }
}

// ---- CRC-32 exactly as zlib's crc32(0, bytes, n) --------------------------

// zlib's CRC: reflected, polynomial 0xEDB88320, register starting at
// 0xFFFFFFFF and inverted at the end. Eight tables (slice-by-8): table k
// gives the CRC of a byte followed by k zero bytes, so eight bytes fold in
// one step.
const CRC = (() => {
  const t = new Uint32Array(8 * 256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c;
  }
  for (let n = 0; n < 256; n++) {
    for (let k = 1; k < 8; k++) t[k * 256 + n] = (t[(k - 1) * 256 + n] >>> 8) ^ t[t[(k - 1) * 256 + n] & 0xff];
  }
  return t;
})();

/** The CRC-32 of bytes (a Uint8Array) continuing from crc (0: a fresh
 * one), as zlib's crc32(crc, bytes, bytes.length) computes it. */
export function crc32(bytes, crc = 0) {
  const t = CRC, n = bytes.length, end8 = n - (n % 8);
  let c = ~crc, i = 0;
  for (; i < end8; i += 8) {
    const a = c ^ (bytes[i] | (bytes[i + 1] << 8) | (bytes[i + 2] << 16) | (bytes[i + 3] << 24));
    c = t[1792 + (a & 0xff)] ^ t[1536 + ((a >>> 8) & 0xff)] ^ t[1280 + ((a >>> 16) & 0xff)] ^
        t[1024 + (a >>> 24)] ^ t[768 + bytes[i + 4]] ^ t[512 + bytes[i + 5]] ^ t[256 + bytes[i + 6]] ^ t[bytes[i + 7]];
  }
  for (; i < n; i++) c = t[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

// ---- reading ----------------------------------------------------------------

/** An overrun while walking the file: which field, where, how many bytes
 * it needed and how many were left. Turned into a SnapshotError by
 * readSnapshot once the CRC says whether the file was cut or lies. */
class Overrun {
  constructor(what, at, need, left) { Object.assign(this, { what, at, need, left }); }
}

/** A bounded little-endian reader; an overrun throws an Overrun. */
class Cursor {
  constructor(b) {
    this.b = b;
    this.v = new DataView(b.buffer, b.byteOffset, b.byteLength);
    this.at = 0;
  }
  need(n, what) {
    const left = this.b.length - this.at;
    if (n > left) throw new Overrun(what, this.at, n, left);
  }
  u32(what) { this.need(4, what); const x = this.v.getUint32(this.at, true); this.at += 4; return x; }
  u64(what) { this.need(8, what); const x = this.v.getBigUint64(this.at, true); this.at += 8; return x; }
  skip(n, what) { this.need(n, what); this.at += Number(n); }
}

const hex = (x) => `0x${(x >>> 0).toString(16).padStart(8, "0")}`;

/** The runs of the memory section (ascending, disjoint, non-empty, inside
 * memory's npages 4 KiB pages, as snapfile.c's reader demands) and their
 * page count. */
function readRuns(c, npages, fail) {
  const at = c.at, nruns = c.u32("run count");
  if (nruns > npages) fail(`its run count ${nruns} (byte ${at}) is more than memory's ${npages} pages of ${S.PAGE} bytes`);
  c.need(nruns * 8, `${nruns} runs`);
  const runs = new Uint32Array(nruns * 2);
  let end = 0, total = 0;
  for (let i = 0; i < nruns; i++) {
    const ra = c.at, first = c.u32("run"), n = c.u32("run");
    const where = `run ${i} (pages ${first}+${n}, byte ${ra})`;
    if (n === 0) fail(`its ${where} is empty`);
    if (first < end) fail(`its ${where} overlaps or precedes the run before it (which ends at page ${end})`);
    if (first > npages || n > npages - first) fail(`its ${where} lies outside memory (${npages} pages of ${S.PAGE} bytes)`);
    runs[2 * i] = first;
    runs[2 * i + 1] = n;
    end = first + n;
    total += n;
  }
  return { runs, total };
}

/** Walks the whole file (docs/SNAPSHOT.md, version S.VERSION) checking
 * every length against what is left and every range the C reader checks;
 * the layout, or a throw (Overrun, or a SnapshotError from fail). */
function walk(b, fail) {
  const c = new Cursor(b);
  c.skip(S.OFF_PAGES, "header");
  const pages = c.u32("pages field"), size = c.u64("size field");
  if (pages > S.MAX_PAGES) fail(`its pages field ${pages} (byte ${S.OFF_PAGES}) is over the ${S.MAX_PAGES} a memory can have`);
  if (size !== BigInt(pages) * BigInt(S.WASM_PAGE)) {
    fail(`its size field ${size} (byte ${S.OFF_SIZE}) is not its ${pages} pages × ${S.WASM_PAGE}`);
  }
  const nglobals = c.u32("global count"), ntables = c.u32("table count");
  const nelems = c.u32("element segment count"), ndatas = c.u32("data segment count");
  c.skip(nglobals * 8, `${nglobals} globals`);
  for (let t = 0; t < ntables; t++) {
    const n = c.u32(`table ${t}'s size`);
    c.skip(n * 4, `table ${t}'s ${n} entries`);
  }
  c.skip(nelems * 4, `${nelems} element segment lengths`);
  c.skip(ndatas * 4, `${ndatas} data segment lengths`);
  const xn = c.u32("extra length");
  c.skip(xn, `${xn} extra bytes`);
  const npages = pages * (S.WASM_PAGE / S.PAGE);
  const { runs, total } = readRuns(c, npages, fail);
  const codecAt = c.at, codec = c.u32("codec field");
  const rawAt = c.at, raw = c.u64("raw length"), stored = c.u64("stored length");
  if (raw !== BigInt(total) * BigInt(S.PAGE)) {
    fail(`its raw length ${raw} (byte ${rawAt}) is not its runs' ${total} pages × ${S.PAGE}`);
  }
  if (codec === S.CODEC_RAW && stored !== raw) {
    fail(`its stored length ${stored} (byte ${rawAt + 8}) differs from its raw length ${raw} under codec raw`);
  }
  const storedAt = c.at;
  c.skip(stored, `${stored} bytes of memory deltas`);
  c.need(S.CRC_SIZE, "CRC-32");
  c.at += S.CRC_SIZE;
  if (c.at !== b.length) {
    fail(`it has ${b.length - c.at} bytes more than its fields describe (${c.at} bytes)`);
  }
  return { pages, size: Number(size), runs, codec, codecAt, storedAt, storedLen: Number(stored) };
}

/** Whether the file starts with the magic, or (short files) a part of it. */
function magicCheck(b) {
  const want = new TextEncoder().encode(S.MAGIC);
  const n = Math.min(b.length, want.length);
  for (let i = 0; i < n; i++) if (b[i] !== want[i]) return "wrong";
  return b.length < want.length ? "short" : "ok";
}

/** Checks the snapshot file b (a Uint8Array) whole and returns its layout
 * ({ pages, size, runs, codec, storedAt, storedLen }); throws a
 * SnapshotError naming name and what is wrong: not a snapshot (magic),
 * another format version, truncated, damaged (CRC-32 mismatch), a length
 * or range out of bounds, a codec this reader cannot decode. */
export function readSnapshot(b, name = "the snapshot") {
  const fail = (what) => { throw new SnapshotError(`krait: ${name} ${what}`); };
  if (b.length === 0) fail("is empty (0 bytes)");
  const magic = magicCheck(b);
  if (magic === "wrong") {
    const head = JSON.stringify(new TextDecoder("latin1").decode(b.subarray(0, S.MAGIC_SIZE)));
    fail(`is not a krait snapshot: it starts with ${head}, not "${S.MAGIC}"`);
  }
  if (magic === "short" || b.length < S.OFF_VERSION + 4) {
    fail(`is truncated: ${b.length} bytes, too short for the magic and the format version`);
  }
  const version = new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(S.OFF_VERSION, true);
  if (version !== S.VERSION) {
    fail(`is snapshot format version ${version}; this krait.js reads version ${S.VERSION} only ` +
         "(rebuild the snapshot with the krait that built this page: make web)");
  }
  if (b.length < S.HEADER_SIZE + S.CRC_SIZE) {
    fail(`is truncated: ${b.length} bytes, shorter than the fixed header and the CRC-32 ` +
         `(${S.HEADER_SIZE + S.CRC_SIZE} bytes)`);
  }
  let layout = null, problem = null;
  try { layout = walk(b, (what) => fail(`is malformed: ${what}`)); } catch (e) { problem = e; }
  const overrun = problem instanceof Overrun
    ? `its ${problem.what} at byte ${problem.at}: ${problem.need} bytes needed, ${problem.left} left` : "";
  const end = b.length - S.CRC_SIZE;
  const want = new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(end, true);
  const got = crc32(b.subarray(0, end));
  if (got !== want) {
    const crc = `its CRC-32 does not match (the last 4 bytes say ${hex(want)}, the ${end} bytes before them ` +
                `give ${hex(got)})`;
    if (overrun) fail(`is truncated or damaged: ${b.length} bytes, its fields run past the end (${overrun}), and ${crc}`);
    fail(`is damaged: ${crc}: it changed since krait wrote it`);
  }
  if (overrun) fail(`has a length field out of range (${overrun} of the file's ${b.length} bytes)`);
  if (problem) throw problem;
  if (layout.codec === S.CODEC_XZ) {
    fail(`stores memory with codec ${S.CODEC_XZ} (xz, krait_snapshot_save), which krait.js does not decode: ` +
         "write it with krait web-snapshot (codec raw)");
  }
  if (layout.codec !== S.CODEC_RAW) {
    fail(`stores memory with codec ${layout.codec} (byte ${layout.codecAt}), which no krait knows ` +
         `(${S.CODEC_RAW} raw, ${S.CODEC_XZ} xz)`);
  }
  return layout;
}

/** Checks that snapshot b (already accepted by readSnapshot) was taken
 * from the python.wasm whose SHA-256 is wantHex, its module hash field
 * (docs/SNAPSHOT.md): a package set's, from python/sets/index.json, since
 * the page cannot hash python.wasm itself (it compiles it as it streams
 * in). Throws a SnapshotError naming name and both hashes. */
export function checkModuleHash(b, wantHex, name = "the snapshot", wasm = "this python.wasm") {
  const got = Array.from(b.subarray(S.OFF_HASH, S.OFF_HASH + S.HASH_SIZE),
                         (x) => x.toString(16).padStart(2, "0")).join("");
  if (got !== wantHex) {
    throw new SnapshotError(`krait: ${name} was taken from another python.wasm (module hash ${got.slice(0, 16)}...), ` +
      `not from ${wasm} (${wantHex.slice(0, 16)}...): a snapshot only fits the python.wasm it was taken from ` +
      "(rebuild both with make web)");
  }
}

// ---- applying -----------------------------------------------------------------

/** Starts an instance from a checked portable snapshot: memory (a
 * WebAssembly.Memory, as instantiation left it: the module's initial
 * memory, the deltas' base) grows to the snapshot's size and each run's
 * pages are XORed with their stored deltas. Globals and tables are as
 * instantiation leaves them: krait refuses to write a raw snapshot
 * otherwise. Throws a SnapshotError when the memory does not fit. */
export function applySnapshot(memory, layout, b, name = "the snapshot") {
  const have = memory.buffer.byteLength / S.WASM_PAGE;
  if (layout.pages < have) {
    throw new SnapshotError(`krait: ${name} has ${layout.pages} pages of memory, fewer than the ${have} ` +
      "this python.wasm starts with: it was taken from another python.wasm (rebuild it: make web)");
  }
  try {
    if (layout.pages > have) memory.grow(layout.pages - have);
  } catch (e) {
    throw new SnapshotError(`krait: ${name} needs ${layout.pages} pages of memory, more than this ` +
      `python.wasm's memory can grow to (${e.message})`);
  }
  const at = b.byteOffset + layout.storedAt;
  const src = at % 4 === 0 ? new Uint32Array(b.buffer, at, layout.storedLen / 4)
                           : new Uint32Array(b.slice(layout.storedAt, layout.storedAt + layout.storedLen).buffer);
  const words = S.PAGE / 4;
  let d = 0;
  for (let i = 0; i < layout.runs.length; i += 2) {
    const dst = new Uint32Array(memory.buffer, layout.runs[i] * S.PAGE, layout.runs[i + 1] * words);
    for (let k = 0; k < dst.length; k++) dst[k] ^= src[d + k];
    d += dst.length;
  }
}
