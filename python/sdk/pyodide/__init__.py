# python/sdk/pyodide/__init__.py -- the part of Pyodide's `pyodide` package
# that Cloudflare Python Workers use: pyodide.http (pyfetch, open_url).
# Owns nothing else of Pyodide (no JavaScript runtime exists in krait).
"""Pyodide compatibility for krait (pyodide.http)."""
__version__ = "0.26.0"
