"""The rate limiter's view of a client: an HMAC of its address under a key that changes daily.

The address itself is never stored or logged. The key for a day is random, lives only in
this process's memory — or, when ``TINBAO_REDIS_URL`` is set, in Redis (so that every worker
computes the same fingerprint for the same client) with a 48-hour expiry — and is never
written to disk or the database. Once a day's key is gone, that day's fingerprints cannot be
linked back to an address even by someone who holds every counter and every log.
"""

import hashlib
import hmac
import logging
import secrets
import threading
import time
from collections.abc import Callable
from datetime import date

from redis.exceptions import RedisError

from portal.timeutil import utcnow

log = logging.getLogger(__name__)

REDIS_KEY_PREFIX = "tinbao:client-key:"
REDIS_KEY_TTL_SECONDS = 48 * 3600
# Redis down: this process uses a key of its own (rate limits then count per process, like the
# limiter's in-memory fallback) and asks Redis again after this many seconds.
REDIS_RETRY_SECONDS = 30


def _utc_today() -> date:
    return utcnow().date()


class DailyKeyring:
    """Today's fingerprint key: in memory, or shared through Redis when a client is given.

    ``redis`` is anything with Redis's ``set(name, value, nx=, ex=)`` and ``get(name)``.
    """

    def __init__(self, redis=None, *, today: Callable[[], date] = _utc_today):
        self._redis = redis
        self._today = today
        self._lock = threading.Lock()
        self._day: date | None = None
        self._key: bytes | None = None
        self._retry_redis_at: float | None = None  # set while Redis is unreachable

    def current_key(self) -> bytes:
        """The key for today (UTC), created on first use; yesterday's is forgotten."""
        day = self._today()
        with self._lock:
            retry = self._retry_redis_at is not None and time.monotonic() >= self._retry_redis_at
            if day != self._day or retry:
                self._key = self._new_key(day)
                self._day = day
            return self._key

    def _new_key(self, day: date) -> bytes:
        if self._redis is None:
            return secrets.token_bytes(32)
        try:
            key = self._shared_key(day)
        except RedisError as exc:
            # Filing must go on without Redis (docs/production.md "Faults"): keep this
            # process's key for the day, or make one, and try Redis again later.
            log.warning("Redis unreachable, client keys are per process for now: %s",
                        type(exc).__name__)
            self._retry_redis_at = time.monotonic() + REDIS_RETRY_SECONDS
            return self._key if self._key is not None and self._day == day else \
                secrets.token_bytes(32)
        if self._retry_redis_at is not None:
            log.warning("Redis reachable again, client keys are shared again")
            self._retry_redis_at = None
        return key

    def _shared_key(self, day: date) -> bytes:
        name = f"{REDIS_KEY_PREFIX}{day.isoformat()}"
        # The first worker to ask creates the day's key; the others read the same one.
        self._redis.set(name, secrets.token_hex(32), nx=True, ex=REDIS_KEY_TTL_SECONDS)
        value = self._redis.get(name)
        if isinstance(value, bytes):
            value = value.decode("ascii")
        return bytes.fromhex(value)

    def fingerprint(self, address: str | None) -> str:
        """Opaque per-client key for rate limiting (the same all day, different the next)."""
        digest = hmac.new(self.current_key(), (address or "").encode(), hashlib.sha256)
        return digest.hexdigest()[:32]


def init_app(app) -> None:
    """Create the application's keyring (shared through Redis when one is configured)."""
    redis = None
    if app.config.get("REDIS_URL"):
        import redis as redis_lib

        # Short timeouts: an unreachable Redis must not hang the request (see _new_key).
        redis = redis_lib.Redis.from_url(app.config["REDIS_URL"], socket_connect_timeout=1,
                                         socket_timeout=1)
    app.extensions["tinbao.client_keys"] = DailyKeyring(redis)
