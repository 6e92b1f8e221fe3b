"""The cache backend (aiops.cache): Django's Redis cache, one redis-py client per pool."""

from django.core.cache import cache


def test_cache_calls_share_one_redis_client():
    # Django's own backend builds a client per call (this fails with it).
    assert cache._cache.get_client(write=True) is cache._cache.get_client(write=True)


def test_the_shared_client_still_reads_and_writes():
    cache.delete("aiops-cache-test")
    assert cache.add("aiops-cache-test", 1, timeout=5)
    assert not cache.add("aiops-cache-test", 2, timeout=5)
    assert cache.get("aiops-cache-test") == 1
    cache.delete("aiops-cache-test")
