# python/sdk/spin_sdk/wit/imports/redis.py -- the generated module path of
# Spin SDK v3's redis interface; the definitions live in spin_sdk.redis.
"""fermyon:spin/redis@2.0.0 as spin_sdk.wit.imports.redis."""
from spin_sdk.redis import (Connection, Error, Error_InvalidAddress, Error_Other,  # noqa: F401
                            Error_TooManyConnections, Error_TypeError, RedisParameter,
                            RedisParameter_Binary, RedisParameter_Int64, RedisResult,
                            RedisResult_Binary, RedisResult_Int64, RedisResult_Nil,
                            RedisResult_Status)
