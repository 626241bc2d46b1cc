# python/sdk/spin_sdk/wit/__init__.py -- the componentize-py package layout
# of the Spin Python SDK v3 (spin_sdk.wit.types, spin_sdk.wit.imports.*),
# for code that imports from there. Owns nothing.
"""Spin SDK v3's generated bindings, as krait provides them."""
