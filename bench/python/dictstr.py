# bench/python/dictstr.py -- dicts and strings: builds a text from a
# pseudo-random word stream, counts words in a dict, then splits, joins,
# formats and sorts. Deterministic on every runner: a fixed LCG, no hash()
# or set iteration order; the checksum is a CRC-32 of the results.
import zlib

WORDS = 200000   # words in the generated text
ROUNDS = 20      # passes of split/count/format over it

SYLLABLES = ["ka", "ro", "mi", "tel", "su", "van", "de", "lo", "pi", "qua",
             "zen", "bo", "ri", "ex", "ul", "ny"]


def words(n, seed=12345):
    out = []
    for _ in range(n):
        seed = (seed * 1103515245 + 12345) & 0x7FFFFFFF
        k = 1 + (seed >> 16) % 3
        w = ""
        s = seed
        for _ in range(k):
            w += SYLLABLES[s & 15]
            s >>= 4
        out.append(w)
    return out


def main():
    ws = words(WORDS)
    text = "\n".join(" ".join(ws[i:i + 12]) for i in range(0, len(ws), 12))
    crc = 0
    for r in range(ROUNDS):
        counts = {}
        for line in text.split("\n"):
            for w in line.split():
                counts[w] = counts.get(w, 0) + 1
        top = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:50]
        report = "\n".join(f"{i:3d} {w:<12s} {c:6d} {c / WORDS:8.5f}" for i, (w, c) in enumerate(top))
        caps = "|".join(w.upper()[::-1] for w in sorted(counts) if len(w) > 4)
        lens = {}
        for w, c in counts.items():
            lens.setdefault(len(w), []).append("%s=%d" % (w, c))
        summary = ";".join("%d:%d" % (k, len(v)) for k, v in sorted(lens.items()))
        text = text.replace("ka", "ak" if r % 2 == 0 else "ka")
        crc = zlib.crc32(report.encode(), crc)
        crc = zlib.crc32(caps.encode(), crc)
        crc = zlib.crc32(summary.encode(), crc)
    print(f"dictstr words {len(counts)} crc {crc:08x}")


main()
