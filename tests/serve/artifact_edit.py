#!/usr/bin/env python3
# tests/serve/artifact_edit.py -- rewrites a `krait build` artifact the way an
# attacker would: the embedded krait.toml replaced (lengths fixed, CRC-32
# recomputed, so only a signature can tell), or one byte flipped with the CRC
# recomputed. Reads the format as src/app/artifact.c and
# src/snapfile/snapfile.c describe it. Used by tests/serve/security.sh.
#
#   artifact_edit.py IN OUT manifest OLD NEW   replace text OLD by NEW in the manifest
#   artifact_edit.py IN OUT flip OFFSET|bundle flip one byte (at OFFSET or mid-bundle)
#   artifact_edit.py IN - show                 print the manifest and the signature scheme
#   artifact_edit.py IN - contains TEXT        exit 0 if TEXT is anywhere in it: the raw
#                                              file, the manifest, the inflated bundle or
#                                              the snapshot's memory (xz), else 1
import lzma
import struct
import sys
import zlib


def locate(b):
    """Offset and length of the snapshot's extra bytes (the artifact parts)."""
    assert b[:8] == b"KRAITSNP" and struct.unpack_from("<I", b, 8)[0] == 2, "not a v2 snapshot"
    p = 8 + 4 + 32 + 4 + 8
    ng, nt, ne, nd = struct.unpack_from("<4I", b, p)
    p += 16 + ng * 8
    for _ in range(nt):
        (n,) = struct.unpack_from("<I", b, p)
        p += 4 + 4 * n
    p += 4 * ne + 4 * nd
    (xn,) = struct.unpack_from("<I", b, p)
    return p + 4, xn


def parts(x):
    """The artifact parts of extra x: version, manifest, bundle, signature block."""
    assert x[:8] == b"KRAITAPP", "not an artifact"
    (v,) = struct.unpack_from("<I", x, 8)
    (mn,) = struct.unpack_from("<I", x, 76)
    manifest = x[80:80 + mn]
    (bn,) = struct.unpack_from("<Q", x, 80 + mn)
    bundle = x[88 + mn:88 + mn + bn]
    return v, manifest, bundle, x[88 + mn + bn:]


def memory(b, end):
    """The snapshot's stored memory pages (the xz stream after the extra bytes)."""
    (nruns,) = struct.unpack_from("<I", b, end)
    p = end + 4 + 8 * nruns
    codec, dn, zn = struct.unpack_from("<IQQ", b, p)
    z = b[p + 20:p + 20 + zn]
    return lzma.decompress(z) if codec == 1 else z


def with_crc(body):
    return body + struct.pack("<I", zlib.crc32(body) & 0xFFFFFFFF)


def main():
    src, dst, op = sys.argv[1:4]
    b = open(src, "rb").read()
    off, xn = locate(b)
    x = b[off:off + xn]
    v, manifest, bundle, sig = parts(x)
    if op == "contains":
        t = sys.argv[4].encode()
        places = [b, manifest, zlib.decompress(bundle[8:]), memory(b, off + xn)]
        sys.exit(0 if any(t in x for x in places) else 1)
    if op == "show":
        scheme = struct.unpack_from("<I", sig, 8)[0] if sig else 0
        print(manifest.decode())
        print(f"# version {v}, signature scheme {scheme}")
        return
    if op == "manifest":
        old, new = sys.argv[4].encode(), sys.argv[5].encode()
        assert old in manifest, f"{old!r} is not in the manifest"
        m = manifest.replace(old, new)
        nx = x[:76] + struct.pack("<I", len(m)) + m + struct.pack("<Q", len(bundle)) + bundle + sig
        body = b[:off - 4] + struct.pack("<I", len(nx)) + nx + b[off + xn:-4]
    elif op == "flip":
        where = sys.argv[4]
        at = off + 88 + len(manifest) + len(bundle) // 2 if where == "bundle" else int(where)
        body = bytearray(b[:-4])
        body[at] ^= 0x01
        body = bytes(body)
    else:
        sys.exit(f"unknown operation {op}")
    open(dst, "wb").write(with_crc(body))


if __name__ == "__main__":
    main()
