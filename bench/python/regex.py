# bench/python/regex.py -- regular expressions: re.findall, re.finditer,
# re.sub (string and function replacements, backreferences) and re.split
# over a generated log-like text, with precompiled and module-level
# patterns. The checksum is a CRC-32 of the matches and rewritten text.
import re
import zlib

LINES = 6000     # lines of generated text
ROUNDS = 6       # passes of the pattern set over it

LEVELS = ["INFO", "WARN", "ERROR", "DEBUG"]
HOSTS = ["alpha.example.org", "beta.test", "gamma-7.example.net", "10.0.3.17"]


def text(n):
    seed = 7
    out = []
    for i in range(n):
        seed = (seed * 1103515245 + 12345) & 0x7FFFFFFF
        out.append("2023-%02d-%02d %02d:%02d:%02d [%s] %s user=u%04d took %d.%03dms "
                   "path=/api/v%d/items/%d?q=%x note=\"word%d word%d\""
                   % (1 + seed % 12, 1 + seed % 28, seed % 24, seed % 60, (seed >> 8) % 60,
                      LEVELS[seed & 3], HOSTS[(seed >> 4) & 3], (seed >> 6) % 10000,
                      (seed >> 3) % 500, seed % 1000, 1 + (seed >> 9) % 3, i, seed,
                      seed % 17, seed % 17))
    return "\n".join(out)


DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})")
KV = re.compile(r"(\w+)=(\"[^\"]*\"|\S+)")
HOST = re.compile(r"\b(?:[a-z][a-z0-9-]*\.)+[a-z]{2,}\b|\b\d{1,3}(?:\.\d{1,3}){3}\b")
DOUBLE = re.compile(r"\b(word\d+) \1\b")


def main():
    t = text(LINES)
    crc = 0
    for r in range(ROUNDS):
        dates = DATE.findall(t)
        kvs = KV.findall(t)
        hosts = HOST.findall(t)
        errors = [m.start() for m in re.finditer(r"^\S+ \S+ \[(?:ERROR|WARN)\]", t, re.M)]
        iso = DATE.sub(r"\3/\2/\1T\4\5\6", t)
        took = re.sub(r"took (\d+)\.(\d+)ms", lambda m: "took %dus" % (int(m[1]) * 1000 + int(m[2])), iso)
        dedup = DOUBLE.sub(r"\1", took)
        fields = re.split(r"[\s=?/]+", dedup[: len(dedup) // 4])
        crc = zlib.crc32(repr((dates[-1], kvs[-1], hosts[:5], errors[-3:])).encode(), crc)
        crc = zlib.crc32(dedup.encode(), crc)
        crc = zlib.crc32("|".join(fields).encode(), crc)
        t = t.replace("[DEBUG]", "[INFO]") if r % 2 == 0 else t
    print(f"regex {len(dates)} {len(kvs)} {len(hosts)} {len(errors)} crc {crc:08x}")


main()
