# tests/llm/ref.py -- the numpy reference krait's engine is checked against:
# llama.cpp's tokenizers (SentencePiece with byte fallback, WordPiece) and
# forward passes (llama: RMSNorm, RoPE in NORM mode, GQA, SwiGLU; bert:
# LayerNorm, bidirectional attention, GELU, mean pooling), written from
# llama.cpp's source (llama-vocab.cpp, models/llama.cpp, models/bert.cpp,
# ggml-cpu ops). Does not own the models (make_models.py) nor llama.cpp's
# harness (llamacpp.mjs), whose JSON requests it takes:
#
#   /usr/bin/python3 tests/llm/ref.py < request.json > reply.json
#
# The request may carry "emulate": true, to round as llama.cpp's CPU backend
# does: the activations a matrix meets are converted to its vec_dot type
# first (F16 for F16 weights, Q8_0 blocks for Q8_0/Q4_0, Q8_K for
# Q4_K/Q6_K), and K/V to the KV cache's type ("kv": "F16"). Without it the
# math is exact float32 storage with float64 products.
import heapq
import json
import math
import sys
import unicodedata

import numpy as np

import gguf_writer as gw
from gguf_reader import GGUF

SPACE = "\u2581"
ATTR_UNKNOWN, ATTR_NORMAL, ATTR_CONTROL, ATTR_USER, ATTR_BYTE = 2, 1, 3, 4, 6


# ---- tokenizers -------------------------------------------------------------

class Vocab:
    """tokenizer.ggml.* as llama.cpp's llama_vocab reads them."""

    def __init__(self, g):
        self.model = g.get("tokenizer.ggml.model")
        self.tokens = list(g.get("tokenizer.ggml.tokens"))
        n = len(self.tokens)
        sc = g.get("tokenizer.ggml.scores")
        self.scores = [float(x) for x in sc] if sc is not None else [0.0] * n
        ty = g.get("tokenizer.ggml.token_type")
        self.types = [int(x) for x in ty] if ty is not None else [1] * n
        self.ids = {t: i for i, t in enumerate(self.tokens)}
        self.max_len = max(len(t.encode("utf-8", "surrogateescape")) for t in self.tokens)
        if self.model == "llama":
            self.kind = "spm"
            d = dict(bos=1, eos=2, unk=0, sep=-1)
            self.add_space_prefix, self.add_bos, self.add_eos = True, True, False
            self.clean_spaces = False
        elif self.model == "bert":
            self.kind = "wpm"
            d = dict(bos=101, eos=-1, unk=100, sep=102)
            self.add_space_prefix, self.add_bos, self.add_eos = False, True, False
            self.clean_spaces = True
        else:
            raise ValueError("tokenizer model %r is not supported" % self.model)
        for k, key in (("bos", "bos_token_id"), ("eos", "eos_token_id"),
                       ("unk", "unknown_token_id"), ("sep", "seperator_token_id")):
            v = g.get("tokenizer.ggml." + key)
            if d[k] >= n:
                d[k] = -1
            if v is not None and int(v) < n:
                d[k] = int(v)
        self.bos, self.eos, self.unk, self.sep = d["bos"], d["eos"], d["unk"], d["sep"]
        self.add_space_prefix = bool(g.get("tokenizer.ggml.add_space_prefix", self.add_space_prefix))
        self.add_bos = bool(g.get("tokenizer.ggml.add_bos_token", self.add_bos))
        self.add_eos = bool(g.get("tokenizer.ggml.add_eos_token", self.add_eos))
        self.lowercase = bool(g.get("tokenizer.ggml.normalizer.lowercase", True))
        self.strip_accents = bool(g.get("tokenizer.ggml.normalizer.strip_accents", self.lowercase))

    def tokenize(self, text, add_special, parse_special=False):
        """llama_tokenize(add_special, parse_special)."""
        frags = self._partition(text.encode("utf-8"), parse_special)
        out = []
        if self.kind == "spm":
            if add_special and self.add_bos:
                out.append(self.bos)
            prev_special = True
            for f in frags:
                if isinstance(f, int):
                    out.append(f)
                    prev_special = True
                    continue
                t = (b" " if self.add_space_prefix and prev_special else b"") + f
                out += self._spm(t.replace(b" ", SPACE.encode()))
                prev_special = False
            if add_special and self.add_eos:
                out.append(self.eos)
        else:
            if add_special:
                out.append(self.bos)
            for f in frags:
                out += [f] if isinstance(f, int) else self._wpm(f.decode("utf-8", "replace"))
            if add_special:
                out.append(self.sep)
        return out

    def _partition(self, b, parse_special):
        """tokenizer_st_partition: the text split at the special tokens'
        texts (longest first; control and unknown ones only when
        parse_special), as raw byte fragments and token ids."""
        frags = [b] if b else []
        specials = [i for i, ty in enumerate(self.types)
                    if ty == ATTR_USER or (parse_special and ty in (ATTR_CONTROL, ATTR_UNKNOWN))]
        specials.sort(key=lambda i: -len(self.tokens[i].encode("utf-8")))
        for tid in specials:
            pat = self.tokens[tid].encode("utf-8")
            out = []
            for f in frags:
                if isinstance(f, int):
                    out.append(f)
                    continue
                while True:
                    k = f.find(pat)
                    if k < 0:
                        break
                    if k:
                        out.append(f[:k])
                    out.append(tid)
                    f = f[k + len(pat):]
                if f:
                    out.append(f)
            frags = out
        return frags

    def _tok(self, bs):
        return self.ids.get(bs.decode("utf-8", "surrogateescape"))

    def _byte(self, c):
        t = self.ids.get("<0x%02X>" % c)
        return t if t is not None else self.ids[chr(c)]

    def _spm(self, text):
        """llm_tokenizer_spm_session: merge the best-scored bigram (ties:
        the leftmost) while one exists; unmatched symbols become bytes."""
        syms, i = [], 0
        while i < len(text):
            c = text[i]
            n = 1 if c < 0x80 else 2 if c >> 5 == 6 else 3 if c >> 4 == 14 else 4 if c >> 3 == 30 else 1
            n = min(n, len(text) - i)
            syms.append([i, n])
            i += n
        prev = list(range(-1, len(syms) - 1))
        nxt = list(range(1, len(syms))) + [-1]
        heap = []

        def add(l, r):
            if l == -1 or r == -1:
                return
            s = text[syms[l][0]:syms[l][0] + syms[l][1] + syms[r][1]]
            tid = self._tok(s)
            if tid is None:
                return
            heapq.heappush(heap, (-self.scores[tid], l, r, len(s)))

        for k in range(1, len(syms)):
            add(k - 1, k)
        while heap:
            _, l, r, size = heapq.heappop(heap)
            if syms[l][1] == 0 or syms[r][1] == 0 or syms[l][1] + syms[r][1] != size:
                continue
            syms[l][1] += syms[r][1]
            syms[r][1] = 0
            nxt[l] = nxt[r]
            if nxt[r] >= 0:
                prev[nxt[r]] = l
            add(prev[l], l)
            add(l, nxt[l])
        out = []
        k = 0 if syms else -1
        while k != -1:
            s = text[syms[k][0]:syms[k][0] + syms[k][1]]
            tid = self._tok(s)
            if tid is not None:
                out.append(tid)
            else:
                out += [self._byte(c) for c in s]
            k = nxt[k]
        return out

    def _wpm_words(self, text):
        """llm_tokenizer_wpm_session::preprocess."""
        words = [""]
        for ch in text:
            cp = ord(ch)
            if self.strip_accents:
                ch = unicodedata.normalize("NFD", ch)[0]
                cp = ord(ch)
            cat = unicodedata.category(ch)
            if cp in WHITESPACE:
                if words[-1]:
                    words.append("")
                continue
            if cp == 0 or cp == 0xFFFD or cat[0] == "C":
                continue
            if self.strip_accents and cat[0] == "M":
                continue
            s = ch.lower() if self.lowercase else ch
            if cat[0] == "P" or (cp < 0x7F and cat[0] == "S") or _chinese(cp):
                if words[-1]:
                    words.append("")
                words[-1] = s
                words.append("")
            else:
                words[-1] += s
        if not words[-1]:
            words.pop()
        return words

    def _wpm(self, text):
        out = []
        for word in self._wpm_words(text):
            if not word:
                continue
            w = (SPACE + word).encode("utf-8")
            start = len(out)
            i = 0
            while i < len(w):
                for j in range(min(len(w), i + self.max_len + 1), i, -1):
                    tid = self._tok(w[i:j])
                    if tid is not None:
                        out.append(tid)
                        i = j
                        break
                else:
                    del out[start:]
                    break
            if len(out) == start:
                out.append(self.unk)
        return out

    def piece(self, tid, special=False):
        """llama_token_to_piece's bytes for tid."""
        ty = self.types[tid]
        text = self.tokens[tid]
        if ty in (ATTR_UNKNOWN, ATTR_CONTROL):
            return text.encode("utf-8") if special else b""
        if ty == ATTR_USER:
            return text.encode("utf-8")
        if ty == ATTR_NORMAL:
            return text.replace(SPACE, " ").encode("utf-8", "surrogateescape")
        if ty == ATTR_BYTE:
            return bytes([int(text[3:5], 16)])
        return b""

    def detokenize(self, toks, special=False):
        """llama_detokenize(remove_special = false, unparse_special)."""
        out = b""
        strip = self.add_space_prefix
        for t in toks:
            p = self.piece(t, special)
            if strip and p.startswith(b" "):
                p = p[1:]
            strip = False
            out += p
        if self.clean_spaces:
            out = _clean_spaces(out)
        return out.decode("utf-8", "replace")


WHITESPACE = {0x9, 0xA, 0xB, 0xC, 0xD, 0x20, 0x85, 0xA0, 0x1680, 0x2028,
              0x2029, 0x202F, 0x205F, 0x3000} | set(range(0x2000, 0x200B))


def _chinese(cp):
    return any(a <= cp <= b for a, b in (
        (0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0x20000, 0x2A6DF),
        (0x2A700, 0x2B73F), (0x2B740, 0x2B81F), (0x2B920, 0x2CEAF),
        (0xF900, 0xFAFF), (0x2F800, 0x2FA1F)))


def _clean_spaces(t):
    """llama_detokenize's clean_spaces passes (WordPiece): drop the space
    before ?!., ; around a lone apostrophe; before 's 'm 're 've."""
    t = bytearray(t)
    o = bytearray(t[:1])
    for i in range(1, len(t)):
        if t[i - 1] == 0x20 and t[i] in b"?!.,":
            o.pop()
        o.append(t[i])
    t, o, i = o, bytearray(o[:1]), 1
    while i < len(t):
        x = t[i]
        if x == 0x27 and i + 1 < len(t) and t[i - 1] == 0x20 and t[i + 1] == 0x20:
            o.pop()
            o.append(x)
            i += 2
            continue
        o.append(x)
        i += 1
    t, o = o, bytearray(o[:1])
    for i in range(1, len(t)):
        x = t[i]
        if t[i - 1] == 0x20 and x == 0x27 and i + 1 < len(t):
            if t[i + 1] in b"sm" or (i + 2 < len(t) and bytes(t[i + 1:i + 3]) in (b"re", b"ve")):
                o.pop()
        o.append(x)
    return bytes(o)


# ---- numerics as ggml computes them ---------------------------------------------

def f16(x):
    return np.asarray(x, np.float32).astype(np.float16).astype(np.float32)


def act_q8_0(x):
    """quantize_row_q8_0 (x86 AVX2) and back: d = amax/127 stored as F16,
    q = round-half-even(x * 127/amax)."""
    b = x.reshape(-1, 32).astype(np.float32)
    amax = np.abs(b).max(axis=1)
    with np.errstate(divide="ignore"):
        idv = np.where(amax != 0, np.float32(127) / amax, 0).astype(np.float32)
    q = np.rint((b * idv[:, None]).astype(np.float32))
    d = f16(amax / np.float32(127))
    return (q * d[:, None]).reshape(x.shape).astype(np.float32)


def act_q8_k(x):
    """quantize_row_q8_K_ref and back: iscale = -127/max (max the signed
    value of largest magnitude), q = min(127, nearest(iscale*x)), d = 1/iscale."""
    b = x.reshape(-1, 256).astype(np.float32)
    idx = np.abs(b).argmax(axis=1)
    mx = b[np.arange(len(b)), idx]
    with np.errstate(divide="ignore", invalid="ignore"):
        isc = np.where(mx != 0, np.float32(-127) / mx, 0).astype(np.float32)
        d = np.where(mx != 0, np.float32(1) / isc, 0).astype(np.float32)
    q = np.minimum(127, np.rint((isc[:, None] * b).astype(np.float32)))
    return (q * d[:, None]).reshape(x.shape).astype(np.float32)


class Weight:
    def __init__(self, t):
        self.type = t.type
        self.w = t.f32()        # (rows, cols)

    def mm(self, x, emulate):
        """x (n, cols) times the weight's rows -> (n, rows)."""
        if emulate:
            if self.type == gw.T_F16:
                x = f16(x)
            elif self.type in (gw.T_Q8_0, gw.T_Q4_0):
                x = act_q8_0(x)
            elif self.type in (gw.T_Q4_K, gw.T_Q6_K):
                x = act_q8_k(x)
        return (x.astype(np.float64) @ self.w.T.astype(np.float64)).astype(np.float32)


def rms_norm(x, w, eps):
    ms = (x.astype(np.float64) ** 2).mean(axis=-1, keepdims=True)
    scale = (np.float32(1) / np.sqrt((ms + eps).astype(np.float32))).astype(np.float32)
    return (x * scale * w).astype(np.float32)


def layer_norm(x, w, b, eps):
    xd = x.astype(np.float64)
    mean = xd.mean(axis=-1, keepdims=True)
    var = ((xd - mean) ** 2).mean(axis=-1, keepdims=True)
    y = ((xd - mean).astype(np.float32) *
         (np.float32(1) / np.sqrt((var + eps).astype(np.float32))))
    return (y * w + b).astype(np.float32)


def softmax(s):
    s = s - s.max(axis=-1, keepdims=True)
    e = np.exp(s.astype(np.float64))
    return (e / e.sum(axis=-1, keepdims=True)).astype(np.float32)


def rope_norm(x, pos, base):
    """ggml_rope_ext in NORM mode: rotates adjacent pairs (2i, 2i+1) of
    each head by pos * base^(-2i/d), theta built by repeated float32
    multiplication as ggml_rope_cache_init does. x: (n, heads, d)."""
    n, h, d = x.shape
    theta_scale = np.float32(math.pow(base, -2.0 / d))
    th = np.empty((n, d // 2), np.float32)
    t = pos.astype(np.float32)
    for i in range(d // 2):
        th[:, i] = t
        t = (t * theta_scale).astype(np.float32)
    c = np.cos(th.astype(np.float64)).astype(np.float32)[:, None, :]
    s = np.sin(th.astype(np.float64)).astype(np.float32)[:, None, :]
    x0, x1 = x[..., 0::2], x[..., 1::2]
    out = np.empty_like(x)
    out[..., 0::2] = x0 * c - x1 * s
    out[..., 1::2] = x0 * s + x1 * c
    return out


def gelu(x):
    """ggml_gelu on the CPU: the tanh approximation looked up in a table of
    F16 inputs (GGML_GELU_FP16), F16 results; exact outside (-10, 10)."""
    xh = f16(x).astype(np.float64)
    y = 0.5 * xh * (1.0 + np.tanh(0.7978845608028654 * xh * (1.0 + 0.044715 * xh * xh)))
    y = f16(y.astype(np.float32))
    return np.where(x <= -10, 0, np.where(x >= 10, x, y)).astype(np.float32)


def silu(x):
    return (x / (1.0 + np.exp(-x.astype(np.float64)))).astype(np.float32)


# ---- models ----------------------------------------------------------------------

class Model:
    def __init__(self, path):
        g = GGUF(path)
        self.g = g
        self.arch = g.get("general.architecture")
        a = self.arch
        self.vocab = Vocab(g)
        self.n_embd = int(g.get(a + ".embedding_length"))
        self.n_layer = int(g.get(a + ".block_count"))
        self.n_head = int(g.get(a + ".attention.head_count"))
        self.n_head_kv = int(g.get(a + ".attention.head_count_kv", self.n_head))
        self.n_ctx = int(g.get(a + ".context_length"))
        self.head = self.n_embd // self.n_head
        self.W = {}
        for name, t in g.tensors.items():
            self.W[name] = Weight(t) if len(t.ne) == 2 else None
        self.vec = {name: t.f32() for name, t in g.tensors.items() if len(t.ne) == 1}
        if a == "llama":
            self.eps = float(g.get("llama.attention.layer_norm_rms_epsilon"))
            self.base = float(g.get("llama.rope.freq_base", 10000.0))
            self.out = self.W.get("output.weight") or self.W["token_embd.weight"]
        elif a == "bert":
            self.eps = float(g.get("bert.attention.layer_norm_epsilon"))
        else:
            raise ValueError("architecture %r is not supported" % a)

    def attention(self, q, k, v, causal, emulate, kv):
        """q (n, H, d), k/v (n, Hkv, d) -> (n, H*d); head h reads KV head
        h / (H / Hkv), scaled by 1/sqrt(d), softmax over keys."""
        n = q.shape[0]
        if emulate and kv == "F16":
            q, k, v = f16(q), f16(k), f16(v)
        r = self.n_head // self.n_head_kv
        out = np.empty((n, self.n_head, self.head), np.float32)
        scale = np.float32(1.0 / math.sqrt(self.head))
        mask = np.triu(np.full((n, n), -np.inf, np.float32), 1) if causal else 0
        for h in range(self.n_head):
            kh, vh = k[:, h // r, :], v[:, h // r, :]
            s = (q[:, h, :].astype(np.float64) @ kh.T.astype(np.float64)).astype(np.float32)
            p = softmax(s * scale + mask)
            if emulate and kv == "F16":
                p = f16(p)
            out[:, h, :] = (p.astype(np.float64) @ vh.astype(np.float64)).astype(np.float32)
        return out.reshape(n, -1)

    def llama_logits(self, toks, emulate=False, kv="F32"):
        """Logits (n, vocab) after each token of toks, from position 0."""
        W, V, e = self.W, self.vec, emulate
        n = len(toks)
        x = W["token_embd.weight"].w[np.array(toks)].astype(np.float32)
        pos = np.arange(n)
        for i in range(self.n_layer):
            p = "blk.%d." % i
            h = rms_norm(x, V[p + "attn_norm.weight"], self.eps)
            q = W[p + "attn_q.weight"].mm(h, e).reshape(n, self.n_head, self.head)
            k = W[p + "attn_k.weight"].mm(h, e).reshape(n, self.n_head_kv, self.head)
            v = W[p + "attn_v.weight"].mm(h, e).reshape(n, self.n_head_kv, self.head)
            q, k = rope_norm(q, pos, self.base), rope_norm(k, pos, self.base)
            a = self.attention(q, k, v, True, e, kv)
            x = (x + W[p + "attn_output.weight"].mm(a, e)).astype(np.float32)
            h = rms_norm(x, V[p + "ffn_norm.weight"], self.eps)
            g = silu(W[p + "ffn_gate.weight"].mm(h, e)) * W[p + "ffn_up.weight"].mm(h, e)
            x = (x + W[p + "ffn_down.weight"].mm(g.astype(np.float32), e)).astype(np.float32)
        x = rms_norm(x, V["output_norm.weight"], self.eps)
        return self.out.mm(x, e)

    def bert_embed(self, toks, emulate=False):
        """The mean-pooled, L2-normalized embedding of toks."""
        W, V, e = self.W, self.vec, emulate
        n = len(toks)
        g = self.g
        x = W["token_embd.weight"].w[np.array(toks)].astype(np.float32)
        if "token_types.weight" in g.tensors:
            x = (x + g.f32("token_types.weight")[0]).astype(np.float32)
        x = (g.f32("position_embd.weight")[:n] + x).astype(np.float32)
        x = layer_norm(x, V["token_embd_norm.weight"], V["token_embd_norm.bias"], self.eps)

        def lin(name, h):
            y = W[name + ".weight"].mm(h, e)
            b = V.get(name + ".bias")
            return (y + b).astype(np.float32) if b is not None else y

        for i in range(self.n_layer):
            p = "blk.%d." % i
            q = lin(p + "attn_q", x).reshape(n, self.n_head, self.head)
            k = lin(p + "attn_k", x).reshape(n, self.n_head_kv, self.head)
            v = lin(p + "attn_v", x).reshape(n, self.n_head_kv, self.head)
            a = self.attention(q, k, v, False, e, "F32")
            cur = (lin(p + "attn_output", a) + x).astype(np.float32)
            cur = layer_norm(cur, V[p + "attn_output_norm.weight"], V[p + "attn_output_norm.bias"], self.eps)
            ffn_inp = cur
            cur = lin(p + "ffn_down", gelu(lin(p + "ffn_up", cur)))
            cur = (cur + ffn_inp).astype(np.float32)
            x = layer_norm(cur, V[p + "layer_output_norm.weight"], V[p + "layer_output_norm.bias"], self.eps)
        m = x.astype(np.float64).mean(axis=0)
        return (m / (np.linalg.norm(m) or 1.0)).astype(np.float32)

    def greedy(self, toks, n, emulate=False, kv="F32"):
        """Greedy continuation: argmax (lowest id on ties) until an
        end-of-generation token (included) or n tokens."""
        toks, out = list(toks), []
        while len(out) < n:
            t = int(np.argmax(self.llama_logits(toks, emulate, kv)[-1]))
            out.append(t)
            toks.append(t)
            if t == self.vocab.eos:
                break
        return out


def run(req):
    m = Model(req["model"])
    emulate, kv = bool(req.get("emulate")), req.get("kv", "F32")
    res = []
    for op in req["ops"]:
        try:
            o = op["op"]
            if o == "tokenize":
                res.append({"tokens": m.vocab.tokenize(op["text"], op.get("add_special", True),
                                                       op.get("parse_special", False))})
            elif o == "detokenize":
                res.append({"text": m.vocab.detokenize(op["tokens"], op.get("special", False))})
            elif o == "info":
                res.append({"vocab": len(m.vocab.tokens), "bos": m.vocab.bos,
                            "eos": m.vocab.eos, "type": m.vocab.kind})
            elif o == "eval":
                lg = m.llama_logits(op["tokens"], emulate, kv)
                r = {"probs": softmax(lg).tolist()}
                if op.get("logits"):
                    r["logits"] = lg.tolist()
                res.append(r)
            elif o == "generate":
                res.append({"tokens": m.greedy(op["tokens"], op.get("n", 16), emulate, kv)})
            elif o == "embed":
                res.append({"embedding": m.bert_embed(op["tokens"], emulate).tolist()})
            else:
                res.append({"error": "unknown op '%s'" % o})
        except Exception as ex:  # reported per op, as llamacpp.mjs does
            res.append({"error": "%s: %s" % (type(ex).__name__, ex)})
    return {"results": res}


if __name__ == "__main__":
    json.dump(run(json.load(sys.stdin)), sys.stdout)
    sys.stdout.write("\n")
