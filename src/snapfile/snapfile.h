/*
** snapfile.h -- the numbers of the snapshot file format (docs/SNAPSHOT.md):
** magic, version, codec ids, the fixed header's offsets, the page sizes.
** The one source of them: snapfile.c reads and writes the format with
** them, and scripts/gen-web-constants.py turns them into the browser's
** krait-constants.js (`make web`). Does not own the reader or the writer.
**
** For the generator every value is a plain literal (a decimal or 0x
** number, optionally with a u suffix, or a string) on its own #define
** line; it refuses anything else rather than guess.
*/
#ifndef KR_SNAPFILE_H
#define KR_SNAPFILE_H

#define KF_MAGIC "KRAITSNP"      /* the file's first bytes */
#define KF_MAGIC_SIZE 8u
#define KF_VERSION 2u            /* the only version read and written */
#define KF_HASH_SIZE 32u         /* SHA-256 of the module's bytes */

/* The fixed header: byte offsets of its fields, all little-endian. */
#define KF_OFF_VERSION 8u        /* u32 version */
#define KF_OFF_HASH 12u          /* the module's SHA-256 */
#define KF_OFF_PAGES 44u         /* u32 memory 0's size in 64 KiB pages */
#define KF_OFF_SIZE 48u          /* u64 memory 0's size in bytes */
#define KF_OFF_NGLOBALS 56u      /* u32 globals */
#define KF_OFF_NTABLES 60u       /* u32 tables */
#define KF_OFF_NELEMS 64u        /* u32 element segments */
#define KF_OFF_NDATAS 68u        /* u32 data segments */
#define KF_HEADER_SIZE 72u       /* the globals' values start here */

/* How the memory section stores its XOR deltas (a u32 field). */
#define KF_CODEC_RAW 0u          /* as they are (krait_snapshot_save_portable) */
#define KF_CODEC_XZ 1u           /* one xz stream (krait_snapshot_save) */

#define KF_PAGE 4096u            /* the unit of the memory section's runs */
#define KF_WASM_PAGE 65536u      /* the unit of the pages field */
#define KF_MAX_PAGES 65536u      /* memory 0 holds at most 4 GiB */
#define KF_CRC_SIZE 4u           /* the CRC-32 that ends the file */

_Static_assert(sizeof KF_MAGIC - 1 == KF_MAGIC_SIZE, "the magic's size");
_Static_assert(KF_OFF_VERSION == KF_MAGIC_SIZE, "version follows the magic");
_Static_assert(KF_OFF_HASH == KF_OFF_VERSION + 4, "hash follows version");
_Static_assert(KF_OFF_PAGES == KF_OFF_HASH + KF_HASH_SIZE, "pages follows the hash");
_Static_assert(KF_OFF_SIZE == KF_OFF_PAGES + 4, "size follows pages");
_Static_assert(KF_OFF_NGLOBALS == KF_OFF_SIZE + 8, "nglobals follows size");
_Static_assert(KF_OFF_NTABLES == KF_OFF_NGLOBALS + 4, "ntables follows nglobals");
_Static_assert(KF_OFF_NELEMS == KF_OFF_NTABLES + 4, "nelems follows ntables");
_Static_assert(KF_OFF_NDATAS == KF_OFF_NELEMS + 4, "ndatas follows nelems");
_Static_assert(KF_HEADER_SIZE == KF_OFF_NDATAS + 4, "the header ends after ndatas");
_Static_assert(KF_WASM_PAGE % KF_PAGE == 0, "a wasm page is whole runs' pages");

#endif
