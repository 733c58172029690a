"""Creating staff accounts and checking passwords (argon2id)."""

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select

from portal.accounts.models import ROLES, User
from portal.extensions import db

_hasher = PasswordHasher()
# Verifying against this when the user does not exist keeps the timing of a failed login the
# same whether or not the username exists.
_DUMMY_HASH = _hasher.hash("tinbao-dummy-password")


class AccountError(Exception):
    pass


def create_user(username: str, password: str, role: str, *, display_name: str | None = None,
                agency=None) -> User:
    """Add a staff account (caller commits). Agency users must name their agency."""
    username = (username or "").strip().lower()
    if not username or len(username) > 64:
        raise AccountError("Tên đăng nhập không hợp lệ.")
    if role not in ROLES:
        raise AccountError(f"Vai trò không hợp lệ: {role} (chọn {', '.join(ROLES)}).")
    if role == "agency" and agency is None:
        raise AccountError("Tài khoản cơ quan phải thuộc một cơ quan.")
    if role != "agency" and agency is not None:
        raise AccountError("Chỉ tài khoản vai trò agency mới gắn với cơ quan.")
    if len(password or "") < 10:
        raise AccountError("Mật khẩu cần ít nhất 10 ký tự.")
    if db.session.scalar(select(User).where(User.username == username)):
        raise AccountError(f"Tên đăng nhập đã tồn tại: {username}")
    user = User(
        username=username,
        display_name=display_name or username,
        password_hash=_hasher.hash(password),
        role=role,
        agency=agency,
        active=True,
    )
    db.session.add(user)
    return user


def authenticate(username: str, password: str) -> User | None:
    """The active user with these credentials, or None."""
    user = db.session.scalar(
        select(User).where(User.username == (username or "").strip().lower())
    )
    try:
        _hasher.verify(user.password_hash if user else _DUMMY_HASH, password or "")
    except (VerificationError, InvalidHashError):
        return None
    if user is None or not user.active:
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
        db.session.commit()
    return user
