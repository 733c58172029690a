"""The rate limiter's view of a client: an HMAC of its address under a key that changes daily.

The address itself is never stored or logged. The key for a day is random, lives only in
this process's memory — or, when ``TINBAO_REDIS_URL`` is set, in Redis (so that every worker
computes the same fingerprint for the same client) with a 48-hour expiry — and is never
written to disk or the database. Once a day's key is gone, that day's fingerprints cannot be
linked back to an address even by someone who holds every counter and every log.
"""

import hashlib
import hmac
import secrets
import threading
from collections.abc import Callable
from datetime import date

from portal.timeutil import utcnow

REDIS_KEY_PREFIX = "tinbao:client-key:"
REDIS_KEY_TTL_SECONDS = 48 * 3600


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

    def current_key(self) -> bytes:
        """The key for today (UTC), created on first use; yesterday's is forgotten."""
        day = self._today()
        with self._lock:
            if day != self._day:
                self._key = self._shared_key(day) if self._redis is not None else \
                    secrets.token_bytes(32)
                self._day = day
            return self._key

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

        redis = redis_lib.Redis.from_url(app.config["REDIS_URL"])
    app.extensions["tinbao.client_keys"] = DailyKeyring(redis)
