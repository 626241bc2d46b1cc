# tests/llm/krait_llm.py -- krait's engine behind the references' JSON
# protocol (see llamacpp.mjs): each op becomes a `krait llm` command. Does
# not own the CLI (src/cli/llm.c) nor the comparisons (check_krait.py).
#
#   tokenize (add_special without parse_special only: what the CLI does)
#       -> krait llm tokenize MODEL TEXT
#   eval -> krait llm logits MODEL --tokens L --all  (fed one at a time
#       through the KV cache; "batch": true feeds them at once and gives the
#       last position only); reply "logits" and "probs"
#   generate (needs "text", the prompt the tokens came from)
#       -> krait llm generate MODEL TEXT --temperature 0 --repeat-penalty 1
#          --max-tokens N --json  (the EOS it stopped at, when it did, is
#          appended: the references list it)
#   embed (needs "text") -> krait llm embed MODEL TEXT
import json
import subprocess

import numpy as np

import ref
from gguf_reader import GGUF


class Krait:
    def __init__(self, binary, threads=2):
        self.bin, self.threads = binary, threads
        self.eos = {}

    def _run(self, args):
        p = subprocess.run([self.bin, "llm"] + args + ["--threads", str(self.threads)],
                           capture_output=True, timeout=300)
        if p.returncode != 0:
            raise RuntimeError("krait llm %s: exit %d: %s" % (
                args[0], p.returncode, p.stderr.decode("utf-8", "replace").strip()[-500:]))
        return json.loads(p.stdout)

    def _eos(self, model):
        if model not in self.eos:
            self.eos[model] = ref.Vocab(GGUF(model)).eos
        return self.eos[model]

    def op(self, model, op):
        o = op["op"]
        if o == "tokenize":
            if not op.get("add_special", True) or op.get("parse_special"):
                return {"skip": "the CLI adds the special tokens and does not parse them"}
            return {"tokens": self._run(["tokenize", model, op["text"]])["tokens"]}
        if o == "eval":
            toks = ",".join(str(t) for t in op["tokens"])
            args = ["logits", model, "--tokens", toks] + ([] if op.get("batch") else ["--all"])
            lg = np.array(self._run(args)["logits"], np.float32)
            return {"logits": lg.tolist(), "probs": ref.softmax(lg).tolist()}
        if o == "generate":
            r = self._run(["generate", model, op["text"], "--temperature", "0",
                           "--repeat-penalty", "1", "--max-tokens", str(op.get("n", 16)),
                           "--json"])
            toks = r["tokens"]
            if r.get("finish") == "stop":
                # the references list the end-of-generation token they
                # stopped at; krait's tokens leave it out
                toks = toks + [self._eos(model)]
            return {"tokens": toks, "text": r["text"]}
        if o == "embed":
            return {"embedding": self._run(["embed", model, op["text"]])["embeddings"][0]}
        return {"skip": "no CLI command for '%s'" % o}

    def run(self, req):
        out = []
        for op in req["ops"]:
            try:
                out.append(self.op(req["model"], op))
            except Exception as ex:  # reported per op, as the references do
                out.append({"error": str(ex)})
        return {"results": out}
