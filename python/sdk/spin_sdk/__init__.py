# python/sdk/spin_sdk/__init__.py -- krait's stand-in for the Spin Python SDK
# (v3, synchronous form). Owns nothing itself; the submodules http,
# key_value, variables, sqlite and redis do. Does not own running the handler
# (krait_runtime does that).
"""Spin Python SDK v3 compatible API, served by krait's `_krait` host module."""
