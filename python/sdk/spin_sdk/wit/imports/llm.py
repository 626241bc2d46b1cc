# python/sdk/spin_sdk/wit/imports/llm.py -- the generated module path of
# Spin SDK v3's llm interface; the definitions live in spin_sdk.llm.
"""fermyon:spin/llm@2.0.0 as spin_sdk.wit.imports.llm."""
from spin_sdk.llm import (EmbeddingsResult, EmbeddingsUsage, Error,  # noqa: F401
                          Error_InvalidInput, Error_ModelNotSupported, Error_RuntimeError,
                          InferencingParams, InferencingResult, InferencingUsage)


def infer(model, prompt, params=None):
    """Spin's generated infer(model, prompt, params)."""
    from spin_sdk.llm import infer_with_options
    return infer_with_options(model, prompt, params)


def generate_embeddings(model, text):
    from spin_sdk.llm import generate_embeddings as embed
    return embed(model, text)
