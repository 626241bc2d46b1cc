# bench/python/jsondoc.py -- json: dumps and loads of a nested structure
# (records with strings, ints, floats, bools, None, lists and dicts),
# both compact and indented with sorted keys, through the _json
# accelerator on every runner. The checksum is a CRC-32 of the output.
import json
import zlib

RECORDS = 800    # records in the document
ROUNDS = 22      # dumps/loads round trips


def document(n):
    seed = 42
    recs = []
    for i in range(n):
        seed = (seed * 1103515245 + 12345) & 0x7FFFFFFF
        recs.append({
            "id": i,
            "name": f"user-{seed % 10007:05d}",
            "score": (seed % 100000) / 64.0,
            "active": bool(seed & 1),
            "tags": [f"t{(seed >> k) & 31}" for k in range(0, 20, 4)],
            "note": None if i % 7 == 0 else "caf\u00e9 \"quoted\"\n" * (i % 3),
            "geo": {"lat": (seed % 18000) / 100.0 - 90.0, "lon": (seed % 36000) / 100.0 - 180.0,
                    "path": [[j, j * 0.5, -j] for j in range(i % 6)]},
        })
    return {"version": 3, "records": recs, "meta": {"count": n, "ok": True}}


def main():
    doc = document(RECORDS)
    crc = 0
    for r in range(ROUNDS):
        s = json.dumps(doc, separators=(",", ":"))
        doc = json.loads(s)
        t = json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=(r % 2 == 0))
        doc = json.loads(t)
        doc["meta"]["round"] = r
        crc = zlib.crc32(t.encode(), zlib.crc32(s.encode(), crc))
    print(f"json bytes {len(s)} {len(t)} crc {crc:08x}")


main()
