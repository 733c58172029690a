"""The rate limiter keys on an HMAC of the client address whose key changes every day and is
kept only in memory, or in Redis with a 48-hour expiry."""

import shutil
import subprocess
import time
from datetime import date, timedelta
from pathlib import Path

import pytest

from portal.client_keys import REDIS_KEY_PREFIX, DailyKeyring
from portal.extensions import client_fingerprint

ADDRESS = "203.0.113.54"


class Clock:
    def __init__(self):
        self.day = date(2026, 11, 23)

    def __call__(self):
        return self.day


def test_the_same_address_gets_the_same_key_all_day_and_another_the_next_day():
    clock = Clock()
    keyring = DailyKeyring(today=clock)
    morning = keyring.fingerprint(ADDRESS)
    assert keyring.fingerprint(ADDRESS) == morning
    assert keyring.fingerprint("203.0.113.55") != morning
    assert ADDRESS not in morning and len(morning) == 32
    clock.day += timedelta(days=1)
    assert keyring.fingerprint(ADDRESS) != morning
    # Yesterday's key is gone: going back does not bring the old fingerprint back.
    clock.day -= timedelta(days=1)
    assert keyring.fingerprint(ADDRESS) != morning


def test_without_redis_each_process_has_its_own_random_key():
    assert DailyKeyring().fingerprint(ADDRESS) != DailyKeyring().fingerprint(ADDRESS)


def test_the_limiter_uses_the_applications_keyring(app):
    keyring = app.extensions["tinbao.client_keys"]
    with app.test_request_context("/tra-cuu", environ_base={"REMOTE_ADDR": ADDRESS}):
        assert client_fingerprint() == keyring.fingerprint(ADDRESS)
        assert ADDRESS not in client_fingerprint()


def test_the_key_is_never_written_to_the_instance_folder_or_the_database(app, client):
    client.environ_base["REMOTE_ADDR"] = ADDRESS
    client.get("/tra-cuu")
    key = app.extensions["tinbao.client_keys"].current_key()
    for path in Path(app.instance_path).rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert key not in data and key.hex().encode() not in data, path


@pytest.fixture
def redis_server(tmp_path):
    """A throwaway Redis on a Unix socket (skipped where redis-server is not installed)."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed")
    socket = tmp_path / "redis.sock"
    process = subprocess.Popen(  # noqa: S603 (fixed arguments)
        [binary, "--port", "0", "--unixsocket", str(socket), "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        if socket.exists():
            break
        time.sleep(0.05)
    yield f"unix://{socket}"
    process.terminate()
    process.wait(timeout=10)


def test_with_redis_every_worker_shares_the_days_key_which_expires_within_48_hours(
        redis_server):
    import redis

    connection = redis.Redis.from_url(redis_server)
    clock = Clock()
    worker_a, worker_b = DailyKeyring(connection, today=clock), DailyKeyring(
        redis.Redis.from_url(redis_server), today=clock)
    assert worker_a.fingerprint(ADDRESS) == worker_b.fingerprint(ADDRESS)
    name = f"{REDIS_KEY_PREFIX}{clock.day.isoformat()}"
    assert 47 * 3600 < connection.ttl(name) <= 48 * 3600
    assert ADDRESS.encode() not in b"".join(connection.get(k) for k in connection.keys("*"))

    yesterday = worker_a.fingerprint(ADDRESS)
    clock.day += timedelta(days=1)
    assert worker_a.fingerprint(ADDRESS) == worker_b.fingerprint(ADDRESS) != yesterday
    assert len(connection.keys(f"{REDIS_KEY_PREFIX}*")) == 2


def test_the_app_uses_redis_for_the_key_when_configured(redis_server):
    import redis
    from flask import Flask

    from portal import client_keys

    app = Flask(__name__)
    app.config["REDIS_URL"] = redis_server
    client_keys.init_app(app)
    with app.test_request_context("/", environ_base={"REMOTE_ADDR": ADDRESS}):
        fingerprint = client_fingerprint()
    assert len(redis.Redis.from_url(redis_server).keys(f"{REDIS_KEY_PREFIX}*")) == 1
    assert DailyKeyring(redis.Redis.from_url(redis_server)).fingerprint(ADDRESS) == fingerprint
