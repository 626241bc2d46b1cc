# tests/llm/check_krait.py -- krait's engine (`krait llm`, through
# krait_llm.py) against both references on every generated model and type:
# the numpy reference (ref.py; for quantized types emulating llama.cpp's
# activation rounding, as krait's kernels round too) and llama.cpp
# (llamacpp.mjs): tokens, greedy tokens, next-token probabilities and
# logits, bert embeddings; and each quantized model against its F32 twin.
# Prints "ok"/"FAIL" lines, the measured figures, "N passed, N failed".
# Does not own the engines.
#
#   /usr/bin/python3 tests/llm/check_krait.py MODEL_DIR build/krait
import json
import os
import sys

import numpy as np

import check_refs as cr
import ref
from krait_llm import Krait

# Tolerances (largest absolute difference of a next-token probability; of
# a logit against the numpy reference), measured with margin: see README.
TOL = {
    "f32": dict(ref=1e-5, cpp=1e-5, logit=1e-3),
    "quant": dict(ref=1e-2, cpp=1e-2, logit=0.1),
}


def main():
    mdir, binary = sys.argv[1], sys.argv[2]
    listing = json.load(open(os.path.join(mdir, "models.json")))
    krait = Krait(os.path.abspath(binary))
    t = cr.Tally()
    got = {}
    for info in listing:
        info["path"] = os.path.join(mdir, info["file"])
        name = info["name"]
        model = ref.Model(info["path"])
        ops = cr.requests_for(info, model.vocab)
        # the prompts once more, fed at once (krait gives the last position)
        ops += [dict(o, batch=True) for o in ops if o["op"] == "eval"]
        for o in ops:
            if o["op"] == "eval":
                o["logits"] = True
        quant = info["type"] != "f32" and not info["twin"]
        tol = TOL["quant" if quant else "f32"]
        req = {"model": info["path"], "ops": ops, "ctx": 256, "kv": "F32"}
        mine = krait.run(req)["results"]
        numpy_ref = ref.run(dict(req, emulate=quant))["results"]
        cpp = cr.run_node(req)
        kind = "%s %s%s" % (info["arch"], info["type"], " twin" if info["twin"] else "")
        cr.compare(t, name, ops, mine, numpy_ref, tol["ref"], "krait-vs-ref", kind + " vs ref",
                   tol["logit"])
        cr.compare(t, name, ops, mine, cpp, tol["cpp"], "krait-vs-llama.cpp", kind + " vs llama.cpp")
        got[name] = (ops, mine)
    for info in listing:
        if not info["twin"]:
            continue
        ops, q = got[info["twin_of"]]
        _, tw = got[info["name"]]
        for op, a, b in zip(ops, q, tw):
            if "error" in a or "error" in b:
                continue
            if op["op"] == "eval":
                d = cr.prob_diff(a, b)
                t.figure("krait quantized vs F32 twin prob max abs diff", d)
                t.check("twin krait %s eval" % info["twin_of"], d <= cr.TOL_PROB_TWIN,
                        "(max |dp| %.3g <= %.3g)" % (d, cr.TOL_PROB_TWIN))
            elif op["op"] == "embed":
                c = cr.cosine(a["embedding"], b["embedding"])
                t.figure("krait quantized vs F32 twin embedding cosine", c, min)
                t.check("twin krait %s embed" % info["twin_of"], c >= cr.MIN_COSINE,
                        "(cosine %.6f)" % c)
    for k, v in sorted(t.figures.items()):
        print("figure %s: %.6g" % (k, v))
    print("%d passed, %d failed" % (t.passed, t.failed))
    return 1 if t.failed else 0


if __name__ == "__main__":
    sys.exit(main())
