# tests/llm/make_models.py -- writes the small GGUF models krait's engine is
# checked against: deterministic random weights (seeded numpy), llama (GQA,
# RoPE, SwiGLU, a SentencePiece vocabulary with byte fallback) and bert
# (WordPiece, mean pooling), in F32, F16, Q8_0, Q4_0, Q4_K and Q6_K, each
# quantized model with its F32 twin (the dequantized weights written as F32);
# and, with --params, the bench-size llama model. Does not own the writer.
#
#   /usr/bin/python3 tests/llm/make_models.py --out DIR
#       every test model into DIR, and DIR/models.json listing them
#   /usr/bin/python3 tests/llm/make_models.py --out DIR --params 150M --type q4_k
#       one llama model of about that many parameters (vocab 32000, n_embd
#       768), tensors streamed to disk one at a time
import argparse
import json
import os
import sys
import zlib

import numpy as np

import gguf_writer as gw

SEED = 14

# The text the vocabularies are learned from: English with some accented
# words, digits and punctuation. Characters outside it (CJK, emoji) have no
# piece and go through the byte tokens.
CORPUS = """
The quick brown fox jumps over the lazy dog. Hello world, hello there!
Once upon a time there was a little robot who wanted to learn how to write
code. It wrote an array in Java, then in C++, then in JavaScript and Rust.
The server answered every request in time, and the handler returned text.
A model reads tokens and predicts the next one; then it reads that one too.
Numbers like 1, 2, 3, 10, 42, 100 and 2024 appear in the text as well.
Le café est très bon. Voilà un garçon naïf qui lit son résumé à l'école.
Where is the function? What does it return? Why is the test failing?
def main(): print("hello") -- int x = 0; return x + 1; { } [ ] ( )
Spin runs WebAssembly handlers; krait runs Python handlers on the server.
"""

# Pieces added to the WordPiece vocabulary (lower case: the bert tokenizer
# lowercases and strips accents before matching).
BERT_WORDS = """the quick brown fox jumps over lazy dog hello world there once
upon a time was little robot who wanted to learn how write code it wrote an
array in java then c and rust server answered every request handler returned
text model reads tokens predicts next one that too numbers like appear as well
le cafe est tres bon voila un garcon naif qui lit son resume l ecole where is
function what does return why test failing def main print int x spin runs
webassembly handlers krait python on""".split()
BERT_SUFFIXES = ["s", "ed", "ing", "er", "ly", "est", "tion", "able"]

LLAMA2_TEMPLATE = (
    "{% for message in messages %}{% if message['role'] == 'user' %}"
    "{{ bos_token + '[INST] ' + message['content'] + ' [/INST]' }}"
    "{% elif message['role'] == 'system' %}"
    "{{ '<<SYS>>\\n' + message['content'] + '\\n<</SYS>>\\n\\n' }}"
    "{% elif message['role'] == 'assistant' %}"
    "{{ ' ' + message['content'] + ' ' + eos_token }}{% endif %}{% endfor %}")


# ---- vocabularies ----------------------------------------------------------

def spm_vocab(n_pieces, n_vocab=None):
    """A SentencePiece-style (BPE) vocabulary: <unk>, <s>, </s>, the 256
    byte tokens, then the corpus' characters and n_pieces merges learned
    from it (enough for n_vocab tokens in all, when given), scored -rank;
    returns (tokens, scores, types)."""
    words = {}
    for w in CORPUS.split():
        w = "\u2581" + w
        words[w] = words.get(w, 0) + 1
    seqs = {w: list(w) for w in words}
    chars = sorted({c for w in words for c in w})
    if n_vocab:
        n_pieces = n_vocab - 259 - len(chars)
    merges = []
    known = set(chars)
    while len(merges) < n_pieces:
        pairs = {}
        for w, s in seqs.items():
            for a, b in zip(s, s[1:]):
                pairs[(a, b)] = pairs.get((a, b), 0) + words[w]
        cand = [(-c, a + b, a, b) for (a, b), c in pairs.items()
                if a + b not in known]
        if not cand:
            break
        _, ab, a, b = min(cand)
        merges.append(ab)
        known.add(ab)
        for w, s in seqs.items():
            out, i = [], 0
            while i < len(s):
                if i + 1 < len(s) and s[i] == a and s[i + 1] == b:
                    out.append(ab)
                    i += 2
                else:
                    out.append(s[i])
                    i += 1
            seqs[w] = out
    # filler pieces for a large vocabulary (the bench model): unique
    # pseudo-words, reachable or not, so the sizes are real ones
    rng = np.random.default_rng(SEED)
    letters = "abcdefghijklmnopqrstuvwxyz"
    while len(merges) < n_pieces:
        n = int(rng.integers(2, 9))
        w = "\u2581" + "".join(letters[i] for i in rng.integers(0, 26, n))
        if w not in known:
            known.add(w)
            merges.append(w)
    tokens = ["<unk>", "<s>", "</s>"] + ["<0x%02X>" % i for i in range(256)]
    types = [2, 3, 3] + [6] * 256
    scores = [0.0] * len(tokens)
    for i, m in enumerate(merges):
        tokens.append(m)
        scores.append(-float(i))
        types.append(1)
    for i, c in enumerate(chars):
        if c in tokens:
            continue
        tokens.append(c)
        scores.append(-float(len(merges) + i))
        types.append(1)
    return tokens, scores, types


def wpm_vocab():
    """A WordPiece vocabulary in llama.cpp's convention (a word-initial
    piece carries U+2581, a continuation piece is bare): the specials, then
    characters, words and suffixes; returns (tokens, types)."""
    tokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    types = [3, 2, 3, 3, 3]
    chars = "abcdefghijklmnopqrstuvwxyz0123456789.,!?;:'\"()[]{}-+=*/_<>#"
    pieces = []
    for c in chars:
        pieces += ["\u2581" + c, c]
    pieces += ["\u2581" + w for w in BERT_WORDS]
    pieces += BERT_SUFFIXES + ["th", "he", "in", "er", "an", "on", "re"]
    for p in pieces:
        if p not in tokens:
            tokens.append(p)
            types.append(1)
    return tokens, types


# ---- weights ---------------------------------------------------------------

def _rng(name):
    return np.random.default_rng([SEED, zlib.crc32(name.encode())])


def weight(name, rows, cols, std):
    return (_rng(name).standard_normal((rows, cols), dtype=np.float32)
            * np.float32(std))


def norm_weight(name, n, mean=1.0):
    return (np.float32(mean) + _rng(name).standard_normal(n, dtype=np.float32)
            * np.float32(0.1))


class Model:
    """A model being described: metadata into a GGUFWriter, tensors as
    producers. The weights of a 2-D tensor are stored as `wtype`, or, for
    a twin, quantized to `wtype` and written back as F32."""

    def __init__(self, path, wtype, twin):
        self.w = gw.GGUFWriter(path)
        self.wtype, self.twin = wtype, twin

    def tensor2(self, name, rows, cols, std, wtype=None):
        t = self.wtype if wtype is None else wtype

        def produce():
            # quantized in slices of rows, so a large tensor's temporaries
            # stay small next to the tensor itself
            x = weight(name, rows, cols, std)
            step = max(1, (1 << 22) // cols)
            parts = []
            for r in range(0, rows, step):
                xs = x[r:r + step]
                parts.append(gw.roundtrip(xs, t).tobytes() if self.twin
                             else gw.quantize(xs, t))
            return b"".join(parts)
        self.w.add_tensor(name, [cols, rows], gw.T_F32 if self.twin else t, produce)

    def tensor1(self, name, n, mean=1.0):
        self.w.add_tensor(name, [n], gw.T_F32,
                          lambda: norm_weight(name, n, mean).tobytes())

    def tensor2_f32(self, name, rows, cols, std):
        """A 2-D tensor kept F32 in every variant."""
        self.w.add_tensor(name, [cols, rows], gw.T_F32,
                          lambda: weight(name, rows, cols, std).tobytes())


def test_keys(w):
    """Metadata of every GGUF value type (llama.cpp ignores these keys)."""
    w.add("krait.test.u8", gw.U8, 200)
    w.add("krait.test.i8", gw.I8, -100)
    w.add("krait.test.u16", gw.U16, 60000)
    w.add("krait.test.i16", gw.I16, -30000)
    w.add("krait.test.u32", gw.U32, 4000000000)
    w.add("krait.test.i32", gw.I32, -2000000000)
    w.add("krait.test.f32", gw.F32, 0.25)
    w.add("krait.test.bool", gw.BOOL, True)
    w.add("krait.test.str", gw.STR, "caf\u00e9 \u2581")
    w.add("krait.test.u64", gw.U64, 2 ** 63 + 5)
    w.add("krait.test.i64", gw.I64, -2 ** 62)
    w.add("krait.test.f64", gw.F64, 1e-300)
    w.add_array("krait.test.arr_i16", gw.I16, np.array([1, -2, 3], np.int16))
    w.add_array("krait.test.arr_str", gw.STR, ["a", "", "\u2581b"])
    w.add_array("krait.test.arr_f64", gw.F64, np.array([0.5, -1.5]))


def llama(path, wtype, twin=False, n_embd=128, n_layer=2, n_head=4,
          n_head_kv=2, n_ff=None, n_pieces=350, n_ctx=256, tied=False,
          out_type=None, name="krait-test-llama", n_vocab=None):
    """A llama-architecture model (see the module comment)."""
    n_ff = n_ff or 2 * n_embd + (n_embd // 2)
    n_ff = (n_ff + 255) // 256 * 256 if n_embd % 256 == 0 else n_ff
    head = n_embd // n_head
    tokens, scores, types = spm_vocab(n_pieces, n_vocab)
    n_vocab = len(tokens)
    m = Model(path, wtype, twin)
    w = m.w
    w.add_str("general.architecture", "llama")
    w.add_str("general.name", name)
    w.add_u32("general.alignment", gw.ALIGNMENT)
    w.add_u32("llama.context_length", n_ctx)
    w.add_u32("llama.embedding_length", n_embd)
    w.add_u32("llama.block_count", n_layer)
    w.add_u32("llama.feed_forward_length", n_ff)
    w.add_u32("llama.attention.head_count", n_head)
    w.add_u32("llama.attention.head_count_kv", n_head_kv)
    w.add_u32("llama.rope.dimension_count", head)
    w.add_f32("llama.rope.freq_base", 50000.0)
    w.add_f32("llama.attention.layer_norm_rms_epsilon", 1e-5)
    w.add_u32("llama.vocab_size", n_vocab)
    w.add_str("tokenizer.ggml.model", "llama")
    w.add_array("tokenizer.ggml.tokens", gw.STR, tokens)
    w.add_array("tokenizer.ggml.scores", gw.F32, np.array(scores, np.float32))
    w.add_array("tokenizer.ggml.token_type", gw.I32, np.array(types, np.int32))
    w.add_u32("tokenizer.ggml.bos_token_id", 1)
    w.add_u32("tokenizer.ggml.eos_token_id", 2)
    w.add_u32("tokenizer.ggml.unknown_token_id", 0)
    w.add_bool("tokenizer.ggml.add_bos_token", True)
    w.add_bool("tokenizer.ggml.add_eos_token", False)
    w.add_str("tokenizer.chat_template", LLAMA2_TEMPLATE)
    test_keys(w)
    # tied: the embedding is the output matrix too, scaled as one
    m.tensor2("token_embd.weight", n_vocab, n_embd,
              3.0 / np.sqrt(n_embd) if tied else 1.0)
    m.tensor1("output_norm.weight", n_embd)
    if not tied:
        m.tensor2("output.weight", n_vocab, n_embd, 3.0 / np.sqrt(n_embd), out_type)
    for i in range(n_layer):
        p = "blk.%d." % i
        s = 1.0 / np.sqrt(n_embd)
        m.tensor1(p + "attn_norm.weight", n_embd)
        m.tensor2(p + "attn_q.weight", n_embd, n_embd, s)
        m.tensor2(p + "attn_k.weight", head * n_head_kv, n_embd, s)
        m.tensor2(p + "attn_v.weight", head * n_head_kv, n_embd, s)
        m.tensor2(p + "attn_output.weight", n_embd, n_embd, s)
        m.tensor1(p + "ffn_norm.weight", n_embd)
        m.tensor2(p + "ffn_gate.weight", n_ff, n_embd, s)
        m.tensor2(p + "ffn_up.weight", n_ff, n_embd, s)
        m.tensor2(p + "ffn_down.weight", n_embd, n_ff, 1.0 / np.sqrt(n_ff))
    w.write()
    return dict(arch="llama", n_embd=n_embd, n_layer=n_layer, n_vocab=n_vocab)


def bert(path, wtype, twin=False, n_embd=128, n_layer=2, n_head=4,
         n_ff=None, n_ctx=128):
    """A bert-architecture embedding model (see the module comment)."""
    n_ff = n_ff or 2 * n_embd
    tokens, types = wpm_vocab()
    n_vocab = len(tokens)
    m = Model(path, wtype, twin)
    w = m.w
    w.add_str("general.architecture", "bert")
    w.add_str("general.name", "krait-test-bert")
    w.add_u32("bert.context_length", n_ctx)
    w.add_u32("bert.embedding_length", n_embd)
    w.add_u32("bert.block_count", n_layer)
    w.add_u32("bert.feed_forward_length", n_ff)
    w.add_u32("bert.attention.head_count", n_head)
    w.add_f32("bert.attention.layer_norm_epsilon", 1e-12)
    w.add_bool("bert.attention.causal", False)
    w.add_u32("bert.pooling_type", 1)
    w.add_str("tokenizer.ggml.model", "bert")
    w.add_array("tokenizer.ggml.tokens", gw.STR, tokens)
    w.add_array("tokenizer.ggml.token_type", gw.I32, np.array(types, np.int32))
    w.add_u32("tokenizer.ggml.token_type_count", 2)
    w.add_u32("tokenizer.ggml.bos_token_id", tokens.index("[CLS]"))
    w.add_u32("tokenizer.ggml.cls_token_id", tokens.index("[CLS]"))
    w.add_u32("tokenizer.ggml.seperator_token_id", tokens.index("[SEP]"))
    w.add_u32("tokenizer.ggml.unknown_token_id", tokens.index("[UNK]"))
    w.add_u32("tokenizer.ggml.padding_token_id", tokens.index("[PAD]"))
    w.add_u32("tokenizer.ggml.mask_token_id", tokens.index("[MASK]"))
    s = 1.0 / np.sqrt(n_embd)
    m.tensor2("token_embd.weight", n_vocab, n_embd, 1.0)
    # position and token-type embeddings stay F32 (as converters keep them)
    m.tensor2_f32("token_types.weight", 2, n_embd, 0.5)
    m.tensor2_f32("position_embd.weight", n_ctx, n_embd, 0.5)
    m.tensor1("token_embd_norm.weight", n_embd)
    m.tensor1("token_embd_norm.bias", n_embd, mean=0.0)
    for i in range(n_layer):
        p = "blk.%d." % i
        for t in ("attn_q", "attn_k", "attn_v", "attn_output"):
            m.tensor2(p + t + ".weight", n_embd, n_embd, s)
            m.tensor1(p + t + ".bias", n_embd, mean=0.0)
        m.tensor1(p + "attn_output_norm.weight", n_embd)
        m.tensor1(p + "attn_output_norm.bias", n_embd, mean=0.0)
        m.tensor2(p + "ffn_up.weight", n_ff, n_embd, s)
        m.tensor1(p + "ffn_up.bias", n_ff, mean=0.0)
        m.tensor2(p + "ffn_down.weight", n_embd, n_ff, 1.0 / np.sqrt(n_ff))
        m.tensor1(p + "ffn_down.bias", n_embd, mean=0.0)
        m.tensor1(p + "layer_output_norm.weight", n_embd)
        m.tensor1(p + "layer_output_norm.bias", n_embd, mean=0.0)
    w.write()
    return dict(arch="bert", n_embd=n_embd, n_layer=n_layer, n_vocab=n_vocab)


# ---- the sets written --------------------------------------------------------

TYPES = ["f32", "f16", "q8_0", "q4_0", "q4_k", "q6_k"]
K_TYPES = {"q4_k", "q6_k"}


def test_models(out):
    """Every test model into out; returns the list models.json holds
    (each model's file named relative to the directory)."""
    listing = []
    for arch in ("llama", "bert"):
        for tname in TYPES:
            t = gw.TYPE_BY_NAME[tname.upper()]
            wide = tname in K_TYPES
            kw = dict(n_embd=256) if wide else {}
            if arch == "llama":
                # F16 ties the output to the token embedding; Q4_K keeps
                # the output in Q6_K, as a Q4_K_M file does
                kw["tied"] = tname == "f16"
                kw["out_type"] = gw.T_Q6_K if tname == "q4_k" else None
            fn = llama if arch == "llama" else bert
            for twin in ([False, True] if tname != "f32" else [False]):
                name = "%s-%s%s" % (arch, tname, "-twin" if twin else "")
                path = os.path.join(out, name + ".gguf")
                info = fn(path, t, twin=twin, **kw)
                info.update(name=name, file=name + ".gguf", type=tname, twin=twin,
                            twin_of=("%s-%s" % (arch, tname)) if twin else None)
                listing.append(info)
    with open(os.path.join(out, "models.json"), "w") as f:
        json.dump(listing, f, indent=1)
    return listing


def bench_model(out, params, tname):
    """A llama model of about `params` parameters (n_embd 768, 12 heads,
    4 KV heads, n_ff 2048, vocab 32000): the layer count is chosen to fit."""
    n_embd, n_ff, n_head, n_head_kv, n_vocab = 768, 2048, 12, 4, 32000
    head = n_embd // n_head
    per_layer = (2 * n_embd * n_embd + 2 * n_embd * head * n_head_kv
                 + 3 * n_embd * n_ff + 2 * n_embd)
    fixed = 2 * n_vocab * n_embd + n_embd
    n_layer = max(1, round((params - fixed) / per_layer))
    t = gw.TYPE_BY_NAME[tname.upper()]
    path = os.path.join(out, "llama-%dm-%s.gguf" % (round(params / 1e6), tname))
    info = llama(path, t, n_embd=n_embd, n_layer=n_layer, n_head=n_head,
                 n_head_kv=n_head_kv, n_ff=n_ff, n_vocab=n_vocab,
                 n_ctx=2048, out_type=gw.T_Q6_K if t == gw.T_Q4_K else None,
                 name="krait-bench-llama")
    total = fixed + n_layer * per_layer
    print(json.dumps(dict(path=path, n_layer=n_layer, params=total,
                          n_vocab=info["n_vocab"], type=tname)))


def parse_params(s):
    mult = {"K": 1e3, "M": 1e6, "G": 1e9, "B": 1e9}
    s = s.strip().upper()
    if s and s[-1] in mult:
        return float(s[:-1]) * mult[s[-1]]
    return float(s)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", required=True)
    ap.add_argument("--params", help="bench model size, e.g. 150M")
    ap.add_argument("--type", default="q8_0", choices=TYPES)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    if a.params:
        p = parse_params(a.params)
        if not 1e6 <= p <= 2e9:
            sys.exit("make_models: --params %s is out of range (1M..2G)" % a.params)
        bench_model(a.out, p, a.type)
    else:
        for m in test_models(a.out):
            print(os.path.join(a.out, m["file"]))


if __name__ == "__main__":
    main()
