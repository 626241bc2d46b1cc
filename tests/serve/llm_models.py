# tests/serve/llm_models.py -- the models tests/serve/llm.sh serves, written
# with tests/llm/make_models.py's writer: a small llama with a 2048-token
# context (the example asks for max_tokens=1024), a bert, and a
# wider llama slow enough to be cut by a deadline. Not the checks.
#   /usr/bin/python3 tests/serve/llm_models.py OUTDIR
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "llm"))
import gguf_writer as gw  # noqa: E402
import make_models as mm  # noqa: E402


def main(out):
    os.makedirs(out, exist_ok=True)
    mm.llama(os.path.join(out, "chat.gguf"), gw.T_Q8_0, n_ctx=2048)
    mm.bert(os.path.join(out, "embed.gguf"), gw.T_F32)
    mm.llama(os.path.join(out, "slow.gguf"), gw.T_Q8_0, n_embd=512, n_layer=8, n_head=8, n_head_kv=4,
             n_ctx=4096)


if __name__ == "__main__":
    main(sys.argv[1])
