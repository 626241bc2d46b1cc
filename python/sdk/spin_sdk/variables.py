# python/sdk/spin_sdk/variables.py -- the Spin v3 variables API over
# `_krait.variable`. Does not own where variables come from (the manifest,
# read by the host).
"""Application variables compatible with spin_sdk.variables."""
import _krait


def get(key: str) -> str:
    """The value of app variable `key`; KeyError if the manifest has none."""
    value = _krait.variable(key)
    if value is None:
        raise KeyError(f"app variable {key!r} is not defined in the manifest")
    return value
