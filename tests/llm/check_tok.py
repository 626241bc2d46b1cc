# tests/llm/check_tok.py -- krait's tokenizers (tests/llm/tokdump.c over
# src/llm/vocab.c, spm.c, wpm.c) against llama.cpp's (llamacpp.mjs) on the
# generated models: tokens of fixed and seeded random texts with and
# without special tokens (add_special) and special-token parsing
# (parse_special), and SentencePiece detokenized text. Prints "ok"/"FAIL"
# lines and "N passed, N failed". Does not own either tokenizer.
#
#   /usr/bin/python3 tests/llm/check_tok.py MODEL_DIR TOKDUMP
import json
import os
import random
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

TEXTS = [
    "", " ", "  ", "x", "Hello world", "hello  world", " Hello", "Hello ",
    "The quick brown fox jumps over the lazy dog.",
    "  leading and   multiple spaces  ",
    "caf\u00e9 na\u00efve r\u00e9sum\u00e9 \u00e0 l'\u00e9cole",
    "CAF\u00c9 Cafe\u0301 \u00c0 \u00c5ngstr\u00f6m \u0130stanbul \u1e9e",
    "\u65e5\u672c\u8a9e\u306e\u30c6\u30ad\u30b9\u30c8 and emoji \U0001f980\U0001f600",
    "line1\nline2\ttab\r\nend\x0b\x0c", "a\u00a0b\u2003c\u3000d\u200be",
    "<s> not special </s> [CLS] [SEP] [UNK] <unk>", "<s></s><s>", "[CLS]hello[SEP]",
    "Numbers 2024, 42 and 3.14!", "UPPER lower MiXeD handlers",
    "don't it's we're ' quoted '", "(a)[b]{c}<d> $5 + 3% = #1 @home ^_^ ~`|\\",
    "\u00a9 \u20ac \u2122 \u00b1 \u00d7 \u2192 \u221e \u00bf\u00a1 \u2014 \u2026 \u201cq\u201d",
    "\u0645\u0631\u062d\u0628\u0627 \u05e9\u05dc\u05d5\u05dd \u043f\u0440\u0438\u0432\u0435\u0442 \u03b3\u03b5\u03b9\u03ac",
    "\u0915\u094d\u0937 \u0e01\u0e34 \ud55c\uad6d\uc5b4 \u4e2d\u6587\u5b57",
    "def main(): print(\"hello\") -- int x = 0; return x + 1;",
    "\u2581already escaped\u2581", "\x00nul\x01ctl\x7f",
    "hellohellohello worldworld", "a" * 300, "ab " * 200,
]

POOL = (list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
        + list("  \n\t.,;:!?'\"()[]{}<>-_=+*/\\|@#$%^&~`")
        + ["\u00e9", "\u00e0", "\u00ef", "\u00c9", "\u0301", "\u4e2d", "\u6587", "\u00a0",
           "\u2581", "\U0001f980", "\u3000", "\u0130", "\u00df", "\u20ac", "\u2014"]
        + ["hello", "world", "the", "The ", " fox", "<s>", "</s>", "[CLS]", "[SEP]",
           "<unk>", "[UNK]", "ing", "tion", "caf\u00e9", "  "])


def random_texts(n, seed):
    rng = random.Random(seed)
    return ["".join(rng.choice(POOL) for _ in range(rng.randint(1, 40))) for _ in range(n)]


def run(cmd, req):
    p = subprocess.run(cmd, input=json.dumps(req).encode(), capture_output=True, timeout=600)
    if p.returncode != 0:
        raise RuntimeError("%s failed: %s" % (cmd[-1], p.stderr.decode()[-2000:]))
    return json.loads(p.stdout)["results"]


def main():
    mdir, tokdump = sys.argv[1], sys.argv[2]
    listing = json.load(open(os.path.join(mdir, "models.json")))
    env = dict(os.environ, NODE_LLAMA_CPP_SKIP_DOWNLOAD="true")
    os.environ.update(env)
    passed = failed = 0
    seen = set()
    for info in listing:
        if info["arch"] in seen:          # one model per vocabulary kind
            continue
        seen.add(info["arch"])
        path = os.path.join(mdir, info["file"])
        texts = TEXTS + random_texts(300, 14)
        ops = []
        for t in texts:
            for add in (True, False):
                for parse in (False, True):
                    ops.append({"op": "tokenize", "text": t, "add_special": add,
                                "parse_special": parse})
        req = {"model": path, "ops": ops}
        cpp = run(["node", os.path.join(HERE, "llamacpp.mjs")], req)
        mine = run([tokdump], req)
        if info["arch"] == "llama":
            dops = [{"op": "detokenize", "tokens": r["tokens"]}
                    for op, r in zip(ops, cpp) if op["add_special"] and not op["parse_special"]
                    and "tokens" in r]
            dreq = {"model": path, "ops": dops}
            ops += dops
            cpp += run(["node", os.path.join(HERE, "llamacpp.mjs")], dreq)
            mine += run([tokdump], dreq)
        bad = 0
        for op, a, b in zip(ops, mine, cpp):
            key = "tokens" if op["op"] == "tokenize" else "text"
            if a.get(key) == b.get(key) and key in a:
                passed += 1
                continue
            failed += 1
            bad += 1
            if bad <= 20:
                print("FAIL %s %s %s: krait %s / llama.cpp %s" % (
                    info["name"], op["op"], json.dumps({k: v for k, v in op.items() if k != "op"})[:120],
                    json.dumps(a)[:300], json.dumps(b)[:300]))
        print("%s %s: %d ops, %d differ" % ("ok" if not bad else "FAIL", info["name"], len(ops), bad))
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
