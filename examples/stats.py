# examples/stats.py -- run by `make demo` under `krait python`: reads text
# on stdin and prints word statistics with the stdlib (collections,
# statistics, json, re), to show CPython working inside krait's sandbox.
import collections
import json
import re
import statistics
import sys

words = re.findall(r"[a-z']+", sys.stdin.read().lower())
lengths = [len(w) for w in words]
top = collections.Counter(words).most_common(5)
print(json.dumps({
    "python": sys.version.split()[0],
    "platform": sys.platform,
    "words": len(words),
    "mean length": round(statistics.mean(lengths), 2),
    "top": top,
}, indent=2))
