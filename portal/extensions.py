"""Flask extensions, created here unbound and attached in :func:`portal.create_app`."""

from flask import current_app, request
from flask_babel import Babel
from flask_limiter import Limiter
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

from portal.client_keys import DailyKeyring

# Deterministic constraint names so Alembic migrations work the same on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
csrf = CSRFProtect()
babel = Babel()
login_manager = LoginManager()

# The limiter must never see or store a client address in clear: it keys on an HMAC of the
# address with a key that changes every day and lives only in memory or Redis
# (portal/client_keys.py).
_FALLBACK_KEYRING = DailyKeyring()


def client_fingerprint() -> str:
    """Opaque per-client key for rate limiting (HMAC of the address, daily key)."""
    keyring = current_app.extensions.get("tinbao.client_keys", _FALLBACK_KEYRING)
    return keyring.fingerprint(request.remote_addr)


def all_clients() -> str:
    """One key for everybody: the limit applies to all clients together."""
    return "all-clients"


def lookup_global_limit(methods: list[str] | None = None):
    """Receipt-code lookups by all clients together (TINBAO_LOOKUP_GLOBAL_RATE_LIMIT), on top
    of the per-client limit: guessing from many addresses at once gains nothing."""
    return limiter.shared_limit(
        lambda: current_app.config["LOOKUP_GLOBAL_RATE_LIMIT"], scope="receipt-lookup",
        key_func=all_clients, methods=methods,
    )


limiter = Limiter(key_func=client_fingerprint)
