# python/sdk/krait_ai.py -- Workers AI's env.AI for the cloudflare style:
# run(model, inputs) for text generation ({"prompt"}, under the model's chat
# template unless "raw": true, or {"messages"}) and
# embeddings ({"text"}) over krait_llm. Not the wire format nor the models.
"""env.AI compatible with Cloudflare Workers AI's binding."""
import krait_llm
from workers import JsObject

# Workers AI's defaults for text generation (max_tokens 256, temperature
# 0.6); top_p, top_k as Spin's; repetition_penalty 1 (off).
_GEN_KEYS = {"prompt", "messages", "max_tokens", "temperature", "top_p", "top_k", "seed",
             "repetition_penalty", "stream", "raw"}
_DEFAULTS = {"max_tokens": 256, "temperature": 0.6, "top_p": 0.9, "top_k": 40,
             "repetition_penalty": 1.0}


class Ai:
    """env.AI: the models the app is granted (ai_models in krait.toml)."""

    def __init__(self, models):
        self.models = list(models)

    async def run(self, model, inputs, options=None):
        """{"prompt": str} or {"messages": [{"role", "content"}]} ->
        {"response": text, "usage": {...}}; {"text": str or [str]} ->
        {"shape": [n, dim], "data": [[float] * dim] * n}. Raises the
        krait_llm errors (ModelNotGranted, ModelNotFound, InvalidInput, Busy,
        DeadlineExceeded, ModelError) with krait's message."""
        if hasattr(inputs, "to_py"):
            inputs = inputs.to_py()
        if not isinstance(inputs, dict):
            raise krait_llm.InvalidInput(f"AI.run: inputs must be an object, not {type(inputs).__name__}")
        if "text" in inputs:
            return _embed(model, inputs)
        return _generate(model, inputs)


def _embed(model, inputs):
    """The embeddings response for {"text": ...}."""
    extra = sorted(set(inputs) - {"text"})
    if extra:
        raise krait_llm.InvalidInput(f"AI.run: an embeddings request takes only \"text\", not {extra}")
    text = inputs["text"]
    texts = [text] if isinstance(text, str) else text
    if not isinstance(texts, (list, tuple)) or not all(isinstance(t, str) for t in texts):
        raise krait_llm.InvalidInput("AI.run: text must be a string or a list of strings")
    vectors, tokens = krait_llm.embed(model, list(texts))
    return JsObject(shape=[len(vectors), len(vectors[0]) if vectors else 0], data=vectors)


def _generate(model, inputs):
    """The text generation response for {"prompt"} or {"messages"}."""
    extra = sorted(set(inputs) - _GEN_KEYS)
    if extra:
        raise krait_llm.InvalidInput(f"AI.run: unknown input {extra}; a text generation request "
                                     f"takes {sorted(_GEN_KEYS - {'stream', 'raw'})}")
    if inputs.get("stream"):
        raise krait_llm.InvalidInput("AI.run: stream = true is not supported by krait")
    if ("prompt" in inputs) == ("messages" in inputs):
        raise krait_llm.InvalidInput("AI.run: inputs need exactly one of \"prompt\" and \"messages\" "
                                     "(or \"text\" for embeddings)")
    o = {k: inputs.get(k, d) for k, d in _DEFAULTS.items()}
    p = krait_llm.params(o["max_tokens"], o["temperature"], o["top_p"], o["repetition_penalty"],
                         o["top_k"], 64, inputs.get("seed"))
    if "prompt" in inputs and inputs.get("raw"):
        text, prompt_tokens, generated, _ = krait_llm.infer(model, inputs["prompt"], p)
    elif "prompt" in inputs:
        # As Workers AI: a prompt is the user's turn under the model's chat
        # template unless raw is set.
        text, prompt_tokens, generated, _ = krait_llm.chat(
            model, [{"role": "user", "content": inputs["prompt"]}], p)
    else:
        text, prompt_tokens, generated, _ = krait_llm.chat(model, inputs["messages"], p)
    return JsObject(response=text, usage=JsObject(prompt_tokens=prompt_tokens, completion_tokens=generated,
                                                  total_tokens=prompt_tokens + generated))
