"""Django's Redis cache, with one redis-py client per connection pool.

Django's client builds a new `redis.Redis` for every cache call, and redis-py fills ~170
response callbacks into each: about 60 µs, more than the call's own round trip. Every relay
run asks the cache once (aiops.sweeps), so that was 5 % of the control pool's time at 200
transitions/s. A client holds no connection of its own (its pool does), so one per pool
serves every thread of the process; redis-py's pool starts afresh in a forked child.
"""

from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient


class _Client(RedisCacheClient):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = {}

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None or client.connection_pool is not pool:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)
        return client


class RedisCache(DjangoRedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = _Client
