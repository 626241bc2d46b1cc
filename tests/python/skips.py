# tests/python/skips.py -- summarizes why tests were skipped, from the JUnit
# files tests/python/cpython.sh keeps (build/test/out/cpython-*-junit/):
#   python3 tests/python/skips.py build/test/out/cpython-full-krait-junit \
#           [build/test/out/cpython-full-native-junit]
# Prints skip reasons by count, and with a second directory the per-module
# skip counts side by side. Owns nothing else.
import collections
import os
import sys
import xml.etree.ElementTree as ET


def load(d):
    """{module: [skip reason, ...]} for the JUnit files in directory d."""
    out = {}
    for f in sorted(os.listdir(d)):
        reasons = []
        for tc in ET.parse(os.path.join(d, f)).getroot().iter("testcase"):
            for c in tc:
                if c.tag == "skipped":
                    reasons.append((c.get("message") or c.text or "").strip())
        out[f[:-4]] = reasons
    return out


a = load(sys.argv[1])
print("skip reasons:")
for why, n in collections.Counter(r for rs in a.values() for r in rs).most_common(40):
    print(f"{n:5d}  {why[:110]}")
if len(sys.argv) > 2:
    b = load(sys.argv[2])
    print("\n| module | skipped here | skipped there |\n|---|---|---|")
    for m in sorted(a):
        print(f"| {m} | {len(a[m])} | {len(b.get(m, []))} |")
