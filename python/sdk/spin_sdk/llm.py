# python/sdk/spin_sdk/llm.py -- Spin's LLM API (infer, infer_with_options,
# generate_embeddings, InferencingParams, the result and Error_* types) over
# the host's llm binding (krait_llm). Not the wire format nor the models.
"""Large language model inferencing compatible with spin_sdk.llm.

Models are granted with ai_models = ["NAME"] in the app's krait.toml and
configured in [llm.models.NAME]. Failures raise spin_sdk.wit.types.Err as
Spin's SDK does, with Spin's error values, and each is also the matching
krait_llm exception, so the three cases Spin folds into one stay distinct:
- a model not granted: Err(Error_ModelNotSupported()), a
  krait_llm.ModelNotGranted (and PermissionError);
- a model krait.toml does not configure: Err(Error_ModelNotSupported()), a
  krait_llm.ModelNotFound (and LookupError);
- invalid input: Err(Error_InvalidInput(message)), a krait_llm.InvalidInput
  (and ValueError);
- anything else: Err(Error_RuntimeError(message)): krait_llm.Busy (the
  engine's queue is full; krait answers 503 if the handler lets it
  through), krait_llm.DeadlineExceeded (the request's timeout_ms) or
  krait_llm.ModelError."""
from dataclasses import dataclass
from typing import List, Optional, Sequence, Union

import krait_llm
from spin_sdk.wit.types import Err

__all__ = ["InferencingParams", "LLMInferencingParams", "InferencingUsage", "InferencingResult",
           "EmbeddingsUsage", "EmbeddingsResult", "Error", "Error_ModelNotSupported",
           "Error_RuntimeError", "Error_InvalidInput", "infer", "infer_with_options",
           "generate_embeddings", "Err"]


@dataclass
class InferencingParams:
    """Inference request parameters (Spin's defaults)."""
    max_tokens: int = 100
    repeat_penalty: float = 1.1
    repeat_penalty_last_n_token_count: int = 64
    temperature: float = 0.8
    top_k: int = 40
    top_p: float = 0.9


LLMInferencingParams = InferencingParams   # the name of Spin SDK 2


@dataclass
class InferencingUsage:
    prompt_token_count: int
    generated_token_count: int


@dataclass
class InferencingResult:
    text: str
    usage: InferencingUsage


@dataclass
class EmbeddingsUsage:
    prompt_token_count: int


@dataclass
class EmbeddingsResult:
    embeddings: List[List[float]]
    usage: EmbeddingsUsage


@dataclass
class Error_ModelNotSupported:
    pass


@dataclass
class Error_RuntimeError:
    value: str


@dataclass
class Error_InvalidInput:
    value: str


Error = Union[Error_ModelNotSupported, Error_RuntimeError, Error_InvalidInput]


class _NotGrantedErr(Err, krait_llm.ModelNotGranted):
    """Err(Error_ModelNotSupported()): the app is not granted the model."""


class _NotFoundErr(Err, krait_llm.ModelNotFound):
    """Err(Error_ModelNotSupported()): krait.toml configures no such model."""


class _InvalidErr(Err, krait_llm.InvalidInput):
    """Err(Error_InvalidInput(message))."""


class _BusyErr(Err, krait_llm.Busy):
    """Err(Error_RuntimeError(message)): the engine's queue is full."""


class _DeadlineErr(Err, krait_llm.DeadlineExceeded):
    """Err(Error_RuntimeError(message)): the request's deadline passed."""


class _RuntimeErr(Err, krait_llm.ModelError):
    """Err(Error_RuntimeError(message)): the model or its server failed."""


def _spin_error(e):
    """The Err to raise for krait_llm error e."""
    msg = str(e)
    if isinstance(e, krait_llm.ModelNotGranted):
        return _NotGrantedErr(Error_ModelNotSupported(), msg)
    if isinstance(e, krait_llm.ModelNotFound):
        return _NotFoundErr(Error_ModelNotSupported(), msg)
    if isinstance(e, krait_llm.InvalidInput):
        return _InvalidErr(Error_InvalidInput(msg), msg)
    kind = {krait_llm.Busy: _BusyErr, krait_llm.DeadlineExceeded: _DeadlineErr}.get(type(e), _RuntimeErr)
    return kind(Error_RuntimeError(msg), msg)


def infer_with_options(model: str, prompt: str,
                       options: Optional[InferencingParams]) -> InferencingResult:
    """Generate text from prompt with model; options (None: the defaults)
    as Spin's InferencingParams. Raises Err(Error_*) (see the module)."""
    o = options or InferencingParams()
    try:
        p = krait_llm.params(o.max_tokens, o.temperature, o.top_p, o.repeat_penalty, o.top_k,
                             o.repeat_penalty_last_n_token_count)
        text, prompt_tokens, generated, _ = krait_llm.infer(model, prompt, p)
    except krait_llm.LlmError as e:
        raise _spin_error(e) from None
    return InferencingResult(text, InferencingUsage(prompt_tokens, generated))


def infer(model: str, prompt: str) -> InferencingResult:
    """infer_with_options with Spin's default parameters."""
    return infer_with_options(model, prompt, None)


def generate_embeddings(model: str, text: Sequence[str]) -> EmbeddingsResult:
    """The embedding of each text (mean-pooled, L2-normalized) by model."""
    try:
        vectors, tokens = krait_llm.embed(model, list(text) if not isinstance(text, str) else text)
    except krait_llm.LlmError as e:
        raise _spin_error(e) from None
    return EmbeddingsResult(vectors, EmbeddingsUsage(tokens))
