"""Configuration: safe defaults, overridden by ``TINBAO_*`` environment variables.

Only what an operator is expected to change is read from the environment; everything else
is a constant here so that a missing variable never weakens a default.
"""

import os
import secrets
from pathlib import Path


def _instance_secret(instance_path: Path, name: str) -> str:
    """Return a secret kept in ``instance/<name>``, creating it on first run.

    We keep generated secrets in the instance folder (git-ignored, mode 0600) so that a fresh
    checkout runs without configuration but restarts keep sessions and receipt lookups valid.
    """
    path = instance_path / name
    if path.exists():
        return path.read_text(encoding="ascii").strip()
    instance_path.mkdir(parents=True, exist_ok=True)
    value = secrets.token_hex(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(value)
    return value


def load_config(instance_path: str) -> dict:
    """Build the configuration mapping for :func:`portal.create_app`."""
    instance = Path(instance_path)
    env = os.environ.get
    database_url = env("TINBAO_DATABASE_URL") or f"sqlite:///{instance / 'tinbao.sqlite3'}"
    redis_url = env("TINBAO_REDIS_URL") or None
    return {
        "SECRET_KEY": env("TINBAO_SECRET_KEY") or _instance_secret(instance, "secret_key"),
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "UPLOAD_FOLDER": env("TINBAO_UPLOAD_FOLDER") or str(instance / "uploads"),
        "REDIS_URL": redis_url,
        # Flask-Limiter keeps its counters in Redis when there is one, else in process memory.
        "RATELIMIT_STORAGE_URI": redis_url or "memory://",
        "RATELIMIT_HEADERS_ENABLED": False,
        "LOOKUP_RATE_LIMIT": env("TINBAO_LOOKUP_RATE_LIMIT") or "10 per minute; 60 per hour",
        "FILING_RATE_LIMIT": env("TINBAO_FILING_RATE_LIMIT") or "10 per hour; 30 per day",
        "API_RATE_LIMIT": env("TINBAO_API_RATE_LIMIT") or "60 per hour",
        # Report limits: shared by the web form and the JSON API.
        "REPORT_TEXT_MIN_CHARS": 20,
        "REPORT_TEXT_MAX_CHARS": 20_000,
        "MESSAGE_MAX_CHARS": 10_000,
        "ATTACHMENT_MAX_FILES": 5,
        "ATTACHMENT_MAX_BYTES": 10 * 1024 * 1024,
        "ATTACHMENT_MAX_TOTAL_BYTES": 25 * 1024 * 1024,
        # Werkzeug refuses larger bodies before we read them (413 → clear message).
        "MAX_CONTENT_LENGTH": 26 * 1024 * 1024,
        "BABEL_DEFAULT_LOCALE": "vi",
        "BABEL_DEFAULT_TIMEZONE": "Asia/Ho_Chi_Minh",
        "LANGUAGES": ("vi", "en"),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": env("TINBAO_COOKIE_SECURE", "0") == "1",
        "PERMANENT_SESSION_LIFETIME": 30 * 60,
        "WTF_CSRF_TIME_LIMIT": 2 * 3600,
    }
