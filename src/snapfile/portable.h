/*
** portable.h -- the browser's form of a snapshot file (codec raw), written
** for krait.js by `krait web-snapshot`. Internal: not in the public
** headers. Does not own the format's numbers (snapfile.h) or the reader.
*/
#ifndef KF_PORTABLE_H
#define KF_PORTABLE_H

#include "krait.h"

/* Writes snap to path in a form an embedder that can only write linear
** memory (a JavaScript page, web/krait-snapfile.js) can restore:
** instantiate the module, grow memory 0 to the snapshot's size, XOR each
** listed page with the stored delta. Refused (err names why, LINK) unless
** every global holds its initial value, every table is as instantiation
** leaves it and no data segment is passive. The deltas are stored
** uncompressed (serve them with HTTP compression); krait_snapshot_load
** (krait_host.h) reads the file too. Returns 0, or -1 with err. */
int krait_snapshot_save_portable(const krait_snapshot *snap, const char *path, krait_error *err);

#endif
