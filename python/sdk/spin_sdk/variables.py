# python/sdk/spin_sdk/variables.py -- the Spin v3 variables API over
# `_krait.variable`. Does not own where variables come from (the manifest,
# read by the host).
"""Application variables compatible with spin_sdk.variables."""
import _krait


def get(key: str) -> str:
    """The value of app variable `key` ([app.variables] in krait.toml, its
    {{ name }} templates resolved when krait serve started); KeyError if
    the manifest has none, RuntimeError when asked while the app boots
    (at import time) for one that is resolved at serve time."""
    try:
        value = _krait.variable(key)
    except _krait.KvError as exc:   # the host refused: not while booting
        raise RuntimeError(str(exc)) from None
    if value is None:
        raise KeyError(f"app variable {key!r} is not defined in the manifest "
                       f"([app.variables])")
    return value
