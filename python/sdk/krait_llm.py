# python/sdk/krait_llm.py -- the llm binding's wire format (docs/BINDINGS.md,
# "llm.*" operations of _krait.call) and its errors, one class per failure.
# Shared by spin_sdk.llm and workers' env.AI; owns no API of either.
"""Encoding of the llm host binding's requests and results, and its errors.

Every failure is an LlmError subclass: ModelNotGranted (the app's
ai_models does not name the model; also a PermissionError), ModelNotFound
(krait.toml configures no such model; also a LookupError), InvalidInput
(also a ValueError), Busy (the engine's queue is full: krait answers 503
when the handler lets it through), DeadlineExceeded (the request's
timeout_ms passed; also a TimeoutError) and ModelError (the model or its
server failed; also a RuntimeError)."""
import math
import struct

import _krait


class LlmError(Exception):
    """A failed llm call; str() is krait's message."""


class ModelNotGranted(LlmError, PermissionError):
    pass


class ModelNotFound(LlmError, LookupError):
    pass


class InvalidInput(LlmError, ValueError):
    pass


class Busy(LlmError):
    """The engine is running and queueing all it may (the [llm]
    max_concurrent and max_queued limits): try again later (HTTP 503)."""


class DeadlineExceeded(LlmError, TimeoutError):
    pass


class ModelError(LlmError, RuntimeError):
    pass


def _classify(code):
    """The LlmError subclass for a _krait.CallError code."""
    return {_krait.E_NOTFOUND: ModelNotFound, _krait.E_INVAL: InvalidInput,
            _krait.E_STATE: Busy, _krait.E_TIMEOUT: DeadlineExceeded,
            _krait.E_TOOBIG: InvalidInput}.get(code, ModelError)


def call(op, payload):
    """_krait.call(op, payload), its failures as LlmError subclasses."""
    try:
        return _krait.call(op, payload)
    except PermissionError as e:
        raise ModelNotGranted(str(e)) from None
    except _krait.CallError as e:
        code, msg = e.args
        raise _classify(code)(msg) from None


def _str(s, what):
    """A str as its u32 length and UTF-8 bytes."""
    if not isinstance(s, str):
        raise InvalidInput(f"llm: {what} must be a str, not {type(s).__name__}")
    b = s.encode("utf-8", "surrogatepass")
    return struct.pack("<I", len(b)) + b


def _u32(v, what):
    if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v < 1 << 32:
        raise InvalidInput(f"llm: {what} must be an integer in 0..{(1 << 32) - 1}, not {v!r}")
    return v


def _f32(v, what):
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise InvalidInput(f"llm: {what} must be a finite number, not {v!r}")
    return float(v)


def params(max_tokens=100, temperature=0.8, top_p=0.9, repeat_penalty=1.1, top_k=40,
           repeat_last_n=64, seed=None):
    """The sampling parameters as bytes (Spin's defaults). temperature 0 is
    greedy; repeat_penalty 1 turns the penalty off; top_k 0 keeps all."""
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise InvalidInput(f"llm: seed must be an integer, not {seed!r}")
    return struct.pack("<IfffIIBQ", _u32(max_tokens, "max_tokens"), _f32(temperature, "temperature"),
                       _f32(top_p, "top_p"), _f32(repeat_penalty, "repeat_penalty"),
                       _u32(top_k, "top_k"), _u32(repeat_last_n, "repeat_last_n"),
                       seed is not None, (seed or 0) & ((1 << 64) - 1))


def _generation(data):
    """(text, prompt tokens, generated tokens, finish) of a result."""
    n = struct.unpack_from("<I", data, 0)[0]
    text = bytes(data[4:4 + n]).decode("utf-8", "replace")
    prompt, generated, fn = struct.unpack_from("<III", data, 4 + n)
    finish = bytes(data[16 + n:16 + n + fn]).decode("ascii", "replace")
    return text, prompt, generated, finish


def infer(model, prompt, encoded_params):
    """llm.infer: (text, prompt tokens, generated tokens, finish)."""
    return _generation(call("llm.infer", _str(model, "the model") + _str(prompt, "the prompt")
                            + encoded_params))


def chat(model, messages, encoded_params):
    """llm.chat with messages [{"role": ..., "content": ...}, ...]."""
    if not isinstance(messages, (list, tuple)) or not messages:
        raise InvalidInput("llm: messages must be a non-empty list of {\"role\", \"content\"}")
    parts = [_str(model, "the model"), struct.pack("<I", len(messages))]
    for i, m in enumerate(messages):
        if not isinstance(m, dict) or "content" not in m:
            raise InvalidInput(f"llm: message {i + 1} must be a dict with role and content, not {m!r:.80}")
        parts += [_str(m.get("role", "user"), f"message {i + 1}'s role"),
                  _str(m["content"], f"message {i + 1}'s content")]
    return _generation(call("llm.chat", b"".join(parts) + encoded_params))


def embed(model, texts):
    """llm.embed: ([[float] * dim] * len(texts), prompt tokens)."""
    if isinstance(texts, str) or not isinstance(texts, (list, tuple)):
        raise InvalidInput(f"llm: texts must be a list of str, not {type(texts).__name__}")
    data = call("llm.embed", _str(model, "the model") + struct.pack("<I", len(texts))
                + b"".join(_str(t, f"text {i + 1}") for i, t in enumerate(texts)))
    n, dim, tokens = struct.unpack_from("<III", data, 0)
    flat = struct.unpack_from(f"<{n * dim}f", data, 12)
    return [list(flat[i * dim:(i + 1) * dim]) for i in range(n)], tokens
