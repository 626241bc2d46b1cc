# tests/llm/check_refs.py -- the proof the two references agree: on every
# model make_models.py wrote, the numpy reference (ref.py) against llama.cpp
# (llamacpp.mjs): tokenization of a set of texts, detokenized text, greedy
# tokens, next-token probabilities within a stated tolerance, bert embeddings
# by cosine; and each quantized model against its dequantized F32 twin.
# Prints "ok"/"FAIL" lines, the measured figures, and "N passed, N failed".
# Does not own the references themselves.
#
#   /usr/bin/python3 tests/llm/check_refs.py MODEL_DIR
import json
import os
import subprocess
import sys

import numpy as np

import ref

HERE = os.path.dirname(os.path.abspath(__file__))

TEXTS = [
    "Hello world",
    "The quick brown fox jumps over the lazy dog.",
    "  leading and   multiple spaces  ",
    "caf\u00e9 na\u00efve r\u00e9sum\u00e9 \u00e0 l'\u00e9cole",
    "\u65e5\u672c\u8a9e\u306e\u30c6\u30ad\u30b9\u30c8 and emoji \U0001f980",
    "line1\nline2\ttab",
    "",
    "<s> not special </s> [CLS]",
    "Numbers 2024, 42 and 3.14!",
    "UPPER lower MiXeD handlers",
    "don't it's we're ' quoted '",
    "x",
]
# Texts holding the special tokens' texts, tokenized with parse_special
# (as chat prompts are): each occurrence becomes its token.
SPECIAL_TEXTS = [
    "<s>[INST] hello [/INST] world</s>",
    "<s> not special </s> [CLS]",
    "a<unk>b</s></s>c",
    "[CLS] the [SEP][MASK] fox [PAD]",
    "<s>",
    "x [UNK]y",
]
PROMPTS = ["Once upon a time", "The server answered", "hello \u65e5\u672c"]
GEN_STEPS = 16
LONG_PROMPT = (TEXTS[1] + " " + TEXTS[3] + " " + TEXTS[8] + " ") * 8
LONG_TOKENS = 200             # of the llama models' 256 positions

# Tolerances, measured (see README's "llm-ref" figures) with margin: the
# largest absolute difference of any next-token probability.
TOL_PROB_F32 = 1e-5        # F32 weights, F32 KV cache: float rounding only
TOL_PROB_EMULATED = 1e-2   # quantized types, reference emulating llama.cpp's
                           # activation quantization (measured: <= 2e-6 but
                           # for Q6_K's BOS at position 0, 5.2e-3)
TOL_PROB_LONG = 0.05       # quantized types over the 200-token prompt: an
                           # activation whose Q8_0/Q8_K rounding flips on a
                           # last-bit difference changes a cached K/V entry,
                           # which every later position reads (measured
                           # 0.022 Q4_K from position 43 on, 0.018 Q6_K)
TOL_PROB_TWIN = 0.05       # llama.cpp on a quantized model vs its F32 twin
                           # (the twin's activations are not quantized)
TOL_PROB_KV_F16 = 1e-4     # F32 weights, llama.cpp's F16 KV cache emulated
MIN_COSINE = 0.999


def run_node(req):
    p = subprocess.run(["node", os.path.join(HERE, "llamacpp.mjs")],
                       input=json.dumps(req).encode(), capture_output=True,
                       timeout=300)
    if p.returncode != 0:
        raise RuntimeError("llamacpp.mjs failed: %s" % p.stderr.decode()[-2000:])
    return json.loads(p.stdout)["results"]


def requests_for(info, vocab):
    """The ops every engine is asked on this model."""
    ops = []
    for t in TEXTS:
        for special in (True, False):
            ops.append({"op": "tokenize", "text": t, "add_special": special})
    for t in SPECIAL_TEXTS:
        ops.append({"op": "tokenize", "text": t, "add_special": True, "parse_special": True})
    prompts = [vocab.tokenize(p, True) for p in PROMPTS]
    for toks in prompts:
        ops.append({"op": "detokenize", "tokens": toks})
    # "text": what the tokens came from, for engines that take text
    if info["arch"] == "llama":
        for p, toks in zip(PROMPTS, prompts):
            ops.append({"op": "eval", "tokens": toks})
            ops.append({"op": "generate", "tokens": toks, "n": GEN_STEPS, "text": p})
        # a long prompt: RoPE and the KV cache far from position 0
        ops.append({"op": "eval", "tokens": vocab.tokenize(LONG_PROMPT, True)[:LONG_TOKENS],
                    "long": True})
    else:
        for t in TEXTS[:6] + PROMPTS:
            if t:
                ops.append({"op": "embed", "tokens": vocab.tokenize(t, True), "text": t})
    return ops


class Tally:
    def __init__(self):
        self.passed = self.failed = 0
        self.figures = {}

    def check(self, name, ok, detail=""):
        if ok:
            self.passed += 1
            print("ok %s %s" % (name, detail))
        else:
            self.failed += 1
            print("FAIL %s %s" % (name, detail))

    def figure(self, key, v, worst=max):
        self.figures[key] = worst(self.figures.get(key, v), v)


def prob_diff(a, b, key="probs"):
    """The largest absolute difference of a[key] and b[key] (positions by
    positions; only the last when one side has only the last)."""
    x, y = np.array(a[key]), np.array(b[key])
    if x.shape != y.shape:
        x, y = x[-1], y[-1]
    return float(np.abs(x - y).max())


def cosine(a, b):
    a, b = np.array(a), np.array(b)
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def compare(t, name, ops, mine, theirs, tol, label, kind, logit_tol=None):
    """Checks engine `mine` against `theirs` op by op: probabilities within
    tol, logits (when both give them) within logit_tol."""
    for op, a, b in zip(ops, mine, theirs):
        if "skip" in a or "skip" in b:
            continue
        what = "%s %s %s%s" % (name, op["op"], json.dumps(op.get("text", op.get("tokens", "")))[:60],
                               " batch" if op.get("batch") else "")
        if "error" in a or "error" in b:
            t.check(label + " " + what, False, "error: %s / %s" % (a.get("error"), b.get("error")))
            continue
        o = op["op"]
        if o == "tokenize":
            t.check("%s tokens %s special=%s%s" % (label, what, op["add_special"],
                                                   " parse_special" if op.get("parse_special") else ""),
                    a["tokens"] == b["tokens"],
                    "" if a["tokens"] == b["tokens"] else "%s != %s" % (a["tokens"], b["tokens"]))
        elif o == "detokenize":
            t.check(label + " " + what, a["text"] == b["text"], "%r / %r" % (a["text"], b["text"]))
        elif o == "eval":
            long_q = op.get("long") and tol > TOL_PROB_F32
            ptol = max(tol, TOL_PROB_LONG) if long_q else tol
            d = prob_diff(a, b)
            t.figure(kind + (" long prompt" if op.get("long") else "") + " prob max abs diff", d)
            t.check(label + " " + what, d <= ptol, "(max |dp| %.3g <= %.3g)" % (d, ptol))
            if logit_tol is not None and "logits" in a and "logits" in b:
                d = prob_diff(a, b, "logits")
                t.figure(kind + (" long prompt" if op.get("long") else "") + " logit max abs diff", d)
                t.check(label + " logits " + what, d <= logit_tol,
                        "(max |dlogit| %.3g <= %.3g)" % (d, logit_tol))
        elif o == "generate":
            t.check(label + " greedy " + what, a["tokens"] == b["tokens"],
                    "%s / %s" % (a["tokens"], b["tokens"]))
        elif o == "embed":
            c = cosine(a["embedding"], b["embedding"])
            t.figure(kind + " embedding cosine", c, min)
            t.check(label + " " + what, c >= MIN_COSINE, "(cosine %.7f >= %.3f)" % (c, MIN_COSINE))


def kv_f16(t, models):
    """llama.cpp's default KV cache (F16) against the reference rounding
    Q, K, V and the attention weights to F16 as ggml's F16 cache makes it."""
    for info in models:
        vocab = ref.Model(info["path"]).vocab
        ops = [{"op": "eval", "tokens": vocab.tokenize(p, True)} for p in PROMPTS]
        req = {"model": info["path"], "ops": ops, "ctx": 256, "kv": "F16"}
        cpp = run_node(req)
        mine = ref.run(dict(req, emulate=True))["results"]
        compare(t, info["name"] + " kv=F16", ops, mine, cpp, TOL_PROB_KV_F16,
                "ref-vs-llama.cpp", "%s %s kv F16" % (info["arch"], info["type"]))


def main():
    mdir = sys.argv[1]
    listing = json.load(open(os.path.join(mdir, "models.json")))
    t = Tally()
    cache = {}
    for info in listing:
        info["path"] = os.path.join(mdir, info["file"])
    for info in listing:
        name = info["name"]
        model = ref.Model(info["path"])
        ops = requests_for(info, model.vocab)
        quant = info["type"] not in ("f32",) and not info["twin"]
        req = {"model": info["path"], "ops": ops, "ctx": 256, "kv": "F32"}
        cpp = run_node(req)
        mine = ref.run(dict(req, emulate=quant))["results"]
        kind = "%s %s%s" % (info["arch"], info["type"], " twin" if info["twin"] else "")
        tol = TOL_PROB_EMULATED if quant else TOL_PROB_F32
        compare(t, name, ops, mine, cpp, tol, "ref-vs-llama.cpp", kind)
        cache[name] = (ops, mine, cpp)
        if quant:
            # the plain reference (no emulation) on the quantized file is the
            # F32 twin's math exactly: their results must be identical
            cache[name + "/plain"] = ref.run(dict(req, emulate=False))["results"]
    kv_f16(t, [i for i in listing if i["arch"] == "llama" and i["type"] == "f32"])
    for info in listing:
        if not info["twin"]:
            continue
        q = info["twin_of"]
        ops, _, cpp_q = cache[q]
        _, ref_twin, cpp_twin = cache[info["name"]]
        plain = cache[q + "/plain"]
        for op, a, b in zip(ops, plain, ref_twin):
            if op["op"] in ("eval", "embed"):
                key = "probs" if op["op"] == "eval" else "embedding"
                same = np.array_equal(np.array(a[key]), np.array(b[key]))
                t.check("twin-exact %s %s" % (q, op["op"]), same,
                        "(ref on the quantized file == ref on its F32 twin)")
        for op, a, b in zip(ops, cpp_q, cpp_twin):
            if op["op"] == "eval":
                d = prob_diff(a, b)
                t.figure("llama.cpp quantized vs F32 twin prob max abs diff", d)
                t.check("twin llama.cpp %s eval" % q, d <= TOL_PROB_TWIN,
                        "(max |dp| %.3g <= %.3g)" % (d, TOL_PROB_TWIN))
            elif op["op"] == "embed":
                c = cosine(a["embedding"], b["embedding"])
                t.figure("llama.cpp quantized vs F32 twin embedding cosine", c, min)
                t.check("twin llama.cpp %s embed" % q, c >= MIN_COSINE, "(cosine %.6f)" % c)
    for k, v in sorted(t.figures.items()):
        print("figure %s: %.6g" % (k, v))
    print("%d passed, %d failed" % (t.passed, t.failed))
    return 1 if t.failed else 0


if __name__ == "__main__":
    sys.exit(main())
