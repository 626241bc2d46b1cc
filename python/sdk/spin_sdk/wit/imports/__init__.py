# python/sdk/spin_sdk/wit/imports/__init__.py -- the Spin SDK v3 import
# interfaces krait provides (sqlite, redis, postgres and its
# rdbms_types). Owns nothing.
"""Spin SDK v3 import interfaces."""
