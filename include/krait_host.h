/*
** krait_host.h -- the public API of the host library, libkrait-host.a:
** snapshot files on disk. Builds on krait.h (include it first or let this
** header do it). Does not own the engine's API (krait.h).
**
** Link: build/libkrait-host.a build/libkrait.a -ljansson -lsqlite3
** -lhiredis -lz -llzma -lssl -lcrypto -lm -lpthread (the library also holds the
** server, which needs the first three; the snapshot files need zlib,
** liblzma and libcrypto). The file format is docs/SNAPSHOT.md.
*/
#ifndef KRAIT_HOST_H
#define KRAIT_HOST_H

#include "krait.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Writes snap to the file path, atomically (a path.tmp renamed over path).
** Memory 0 is stored as its difference from the module's initial memory
** (its active data segments): the 4 KiB pages that differ, as runs, each
** byte XORed with the initial byte, compressed as one xz stream (liblzma,
** preset 6). The globals, table entries and dropped segments are stored
** as they are; the module is recorded by the SHA-256 of its bytes, the
** whole file by a CRC-32 (zlib's). extra (extra_len bytes, may be 0) is
** stored too and given back by krait_snapshot_load: the embedder's own
** data, such as what the snapshot was built from. Returns 0, or -1 with
** err (NOMEM, or IO with the path and the reason). */
int krait_snapshot_save(const krait_snapshot *snap, const char *path,
                        const void *extra, size_t extra_len, krait_error *err);

/* Reads a snapshot file for module (one krait_snapshot_save wrote, or the
** uncompressed form `krait web-snapshot` writes). Refuses, with err
** naming which: a file of another module (LINK), of another format
** version, damaged or truncated (MALFORMED), unreadable (IO); NOMEM when
** out of memory. When extra is not NULL, *extra receives a malloc'ed copy
** of the saved extra bytes and *extra_len their length. Free the result
** with krait_snapshot_free. */
krait_snapshot *krait_snapshot_load(const krait_module *module,
                                    const char *path, void **extra,
                                    size_t *extra_len, krait_error *err);

/* Reads only the extra bytes of a snapshot file (checksum checked), with
** no module at hand: *extra is malloc'ed (NUL-terminated after its
** *extra_len bytes). 0, or -1 with err (IO, MALFORMED or NOMEM). */
int krait_snapshot_read_extra(const char *path, void **extra, size_t *extra_len,
                              krait_error *err);

/* Makes a module of the file at path, as krait_module_new makes one of
** its bytes. On tiers aot and auto the file's SHA-256 (the key of its
** native code, see krait_aot_enable) is remembered in $KRAIT_CACHE/aot
** under the file's identity -- device, inode, size, modification and
** change times -- so a later load of the same file does not hash it
** again; a change written to the file gives it another identity (the
** change time, which no user can set back), and it is hashed anew. The
** identity is a hint, not proof (a write through a shared mapping to a
** still-dirty page, or a network file system, can keep it): native code
** is also matched by the module's decoded structure, so a stale hash
** finds only code built for the same structure, which stays memory-safe
** over it, or none (the bodies are then validated). A file changed
** less than 2 s ago is not remembered (a change within one timestamp
** tick keeps the times). When native code compiled from the file is
** found and the file has not changed for 2 s, the module reads the file
** through a read-only mapping instead of a copy (its functions then only
** run natively); such a file must not be truncated while the module
** lives (reading past its new end faults, SIGBUS). Otherwise the file is
** read once into memory of the module's own. Returns NULL with err: IO
** naming the path and the reason it cannot be read, NOMEM, or what
** krait_module_new reports. */
krait_module *krait_module_load(krait_engine *engine, const char *path, krait_error *err);

/* The SHA-256 of the module's bytes (as given to krait_module_new) as 64
** lowercase hex digits and a NUL: what a snapshot file binds itself to. */
void krait_module_sha256(const krait_module *module, char out[65]);

/* Makes the AOT tier (krait_config.tier KRAIT_TIER_AOT or AUTO) available
** in this process: modules are translated to C, compiled with the system C
** compiler ($KRAIT_CC, else gcc) into shared objects cached in
** $KRAIT_CACHE/aot (else ~/.cache/krait/aot), and run natively (see
** docs/AOT.md). Call once, before making engines. Without it, tier auto
** runs the interpreter and tier aot fails with KRAIT_ERR_UNSUPPORTED. */
void krait_aot_enable(void);

/* Also looks for compiled objects in dir, read-only, after the cache: a
** directory of objects made elsewhere (`make install` puts python.wasm's
** into its Python home's aot/). Objects are found by their key; keys name
** the compiler, and are tried first under the identity gcc had when this
** krait was built, which needs no compiler on this machine, then under
** the identity of $KRAIT_CC (else gcc) as it answers now. Damaged files
** there are ignored, never deleted. Process-wide; thread-safe. */
void krait_aot_add_dir(const char *dir);

#ifdef __cplusplus
}
#endif
#endif /* KRAIT_HOST_H */
