"""Cache stores: where finished summaries are kept as JSON text, keyed by content.

`open_cache` turns a setting into a store: `MemoryCache` (this process), `SQLiteCache`
(the default: one file, shared by threads and processes) or `RedisCache` (services and
several machines). Every store implements `Cache`; every storage failure is a `CacheError`.
"""

from summarize.cache.base import Cache, CacheError, CacheStats
from summarize.cache.memory import MemoryCache
from summarize.cache.redis import RedisCache
from summarize.cache.sqlite import SQLiteCache, default_cache_path
from summarize.cache.url import CacheSpec, open_cache

__all__ = [
    "Cache",
    "CacheError",
    "CacheSpec",
    "CacheStats",
    "MemoryCache",
    "RedisCache",
    "SQLiteCache",
    "default_cache_path",
    "open_cache",
]
