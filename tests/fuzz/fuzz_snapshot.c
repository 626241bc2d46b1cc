/*
** tests/fuzz/fuzz_snapshot.c -- libFuzzer target: bytes -> a snapshot file
** of a small module (krait_snapshot_load, then an instance from it, and
** krait_snapshot_read_extra). The input is the file after its module hash;
** the target adds magic, version, hash and CRC so the fuzzer reaches the
** decoder. With KRAIT_FUZZ_SEED=FILE it writes a valid input there (and
** FILE.raw, an uncompressed portable one).
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "krait_host.h"
#include "snapfile/portable.h"

/* (module (memory 1) (table 4 funcref) (global (mut i32) 7) (func f ...)
**   (elem 0: f f) (data 16: "seed data") (export "f")) */
static const unsigned char fz_wasm[] = {
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x05, 0x01, 0x60,
  0x00, 0x01, 0x7f, 0x03, 0x02, 0x01, 0x00, 0x04, 0x04, 0x01, 0x70, 0x00,
  0x04, 0x05, 0x03, 0x01, 0x00, 0x01, 0x06, 0x06, 0x01, 0x7f, 0x01, 0x41,
  0x07, 0x0b, 0x07, 0x05, 0x01, 0x01, 0x66, 0x00, 0x00, 0x09, 0x08, 0x01,
  0x00, 0x41, 0x00, 0x0b, 0x02, 0x00, 0x00, 0x0a, 0x06, 0x01, 0x04, 0x00,
  0x23, 0x00, 0x0b, 0x0b, 0x0f, 0x01, 0x00, 0x41, 0x10, 0x0b, 0x09, 0x73,
  0x65, 0x65, 0x64, 0x20, 0x64, 0x61, 0x74, 0x61
};

static krait_engine *engine;
static krait_module *module;
static char path[64];
static uint8_t head[44];   /* magic, version, module hash */

/* Saves a real snapshot once: its first 44 bytes are every input's head;
** with KRAIT_FUZZ_SEED, the rest (minus the CRC) becomes a seed. */
static void setup(void) {
  engine = krait_engine_new(NULL, NULL);
  module = krait_module_new(engine, fz_wasm, sizeof fz_wasm, NULL);
  krait_store *s = krait_store_new(engine);
  krait_linker *l = krait_linker_new(s);
  krait_instance *in = krait_instantiate(l, module, NULL);
  krait_snapshot *sn = in ? krait_snapshot_take(in, NULL) : NULL;
  snprintf(path, sizeof path, "/tmp/fuzz-snapshot.%ld", (long)getpid());
  if (!sn || krait_snapshot_save(sn, path, "extra", 5, NULL) != 0) abort();
  FILE *f = fopen(path, "rb");
  uint8_t buf[1 << 16];
  size_t n = f ? fread(buf, 1, sizeof buf, f) : 0;
  if (f) fclose(f);
  if (n < 48) abort();
  memcpy(head, buf, 44);
  const char *seed = getenv("KRAIT_FUZZ_SEED");
  FILE *o = seed ? fopen(seed, "wb") : NULL;
  if (o) { fwrite(buf + 44, 1, n - 48, o); fclose(o); }
  if (seed && krait_snapshot_save_portable(sn, path, NULL) == 0 && (f = fopen(path, "rb"))) {
    char raw[4200];   /* the uncompressed form too: SEED.raw */
    n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    snprintf(raw, sizeof raw, "%s.raw", seed);
    if (n >= 48 && (o = fopen(raw, "wb"))) { fwrite(buf + 44, 1, n - 48, o); fclose(o); }
  }
  krait_snapshot_free(sn);
  krait_linker_free(l);
  krait_store_free(s);
}

/* libFuzzer: one input. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!engine) setup();
  FILE *f = fopen(path, "wb");
  if (!f) abort();
  uint32_t crc = (uint32_t)crc32(crc32(0, head, 44), data, (uInt)size);
  fwrite(head, 1, 44, f);
  fwrite(data, 1, size, f);
  fwrite(&crc, 1, 4, f);
  fclose(f);
  krait_error err;
  void *extra = NULL;
  size_t xn = 0;
  krait_snapshot *sn = krait_snapshot_load(module, path, &extra, &xn, &err);
  if (!sn && !err.message[0]) abort();   /* every refusal says why */
  free(extra);
  if (krait_snapshot_read_extra(path, &extra, &xn, &err) == 0) free(extra);
  if (sn) {   /* what loads must instantiate and run, or fail cleanly */
    krait_store *s = krait_store_new(engine);
    krait_linker *l = krait_linker_new(s);
    krait_instance *in = krait_instantiate_snapshot(l, module, sn, &err);
    krait_extern e;
    krait_val r;
    if (in && krait_instance_export(in, "f", &e) == 0)
      (void)krait_func_call(s, e.of.func, NULL, 0, &r, 1, &err);
    krait_linker_free(l);
    krait_store_free(s);
    krait_snapshot_free(sn);
  }
  return 0;
}
