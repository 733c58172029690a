"""Flask extensions, created here unbound and attached in :func:`portal.create_app`."""

import hashlib
import hmac
import secrets

from flask import request
from flask_babel import Babel
from flask_limiter import Limiter
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

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
# address with a key that lives only in this process's memory.
_CLIENT_KEY = secrets.token_bytes(32)


def client_fingerprint() -> str:
    """Opaque per-client key for rate limiting (HMAC of the address, key kept in memory)."""
    address = (request.remote_addr or "").encode()
    return hmac.new(_CLIENT_KEY, address, hashlib.sha256).hexdigest()[:32]


limiter = Limiter(key_func=client_fingerprint)
