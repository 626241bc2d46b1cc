# bench/llm/models.py -- the models `make bench-llm` measures, written with
# tests/llm/make_models.py's generator: the ~150M-parameter llama model in
# Q8_0 and Q4_K (its --params mode) and a bert encoder the size of
# all-MiniLM-L6 (6 layers, 384 wide, 12 heads, FFN 1536) in F16. Prints
# one JSON line per model. Does not own the writer or the timing (llm.sh).
#
#   /usr/bin/python3 bench/llm/models.py OUT_DIR
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "tests", "llm"))
import gguf_writer as gw  # noqa: E402
import make_models as mm  # noqa: E402


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for t in ("q8_0", "q4_k"):
        mm.bench_model(out, 150e6, t)
    path = os.path.join(out, "bert-minilm-f16.gguf")
    info = mm.bert(path, gw.T_F16, n_embd=384, n_layer=6, n_head=12,
                   n_ff=1536, n_ctx=512)
    info.update(path=path, type="f16")
    print(json.dumps(info))


if __name__ == "__main__":
    main()
