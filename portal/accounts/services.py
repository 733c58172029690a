"""Staff accounts: creation, passwords (argon2id), login lockout and two-factor (TOTP)."""

from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import or_, select, update

from portal import timeutil
from portal.accounts import twofactor
from portal.accounts.models import ROLES, User
from portal.accounts.passwords import password_problems
from portal.audit import services as audit
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
    problems = password_problems(password, username)
    if problems:
        raise AccountError(" ".join(problems))
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
    """The active, unlocked user with these credentials, or None.

    Every wrong password counts against the account (:func:`record_login_failure`); while the
    account is locked even the right password is refused. The password hash is checked on every
    path — against a dummy hash for unknown usernames — so neither the answer nor its timing
    tells whether a username exists or is locked. The failure count is cleared only when the
    whole login (second factor included) succeeds: :func:`login_succeeded`.
    """
    user = db.session.scalar(
        select(User).where(User.username == (username or "").strip().lower())
    )
    try:
        _hasher.verify(user.password_hash if user else _DUMMY_HASH, password or "")
        password_ok = True
    except (VerificationError, InvalidHashError):
        password_ok = False
    if user is None or is_locked(user):
        return None
    if not password_ok:
        record_login_failure(user)
        db.session.commit()
        return None
    if not user.active:
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
        db.session.commit()
    return user


def is_locked(user: User) -> bool:
    """Whether ``user`` is inside a lockout after too many failed logins."""
    return user.locked_until is not None and user.locked_until > timeutil.utcnow()


def record_login_failure(user: User) -> None:
    """Count a wrong password or code; lock the account once the limit is reached (caller commits).

    The counter is only reset by a successful login, so once a lockout ends each further
    failure locks the account again at once: one guess per lockout period.
    """
    # One UPDATE so that parallel attempts cannot lose a count.
    db.session.execute(
        update(User).where(User.id == user.id)
        .values(failed_logins=User.failed_logins + 1)
        .execution_options(synchronize_session=False)
    )
    db.session.refresh(user, ["failed_logins"])
    config = current_app.config
    if user.failed_logins >= config["LOGIN_MAX_FAILURES"] and not is_locked(user):
        minutes = config["LOGIN_LOCKOUT_MINUTES"]
        user.locked_until = timeutil.utcnow() + timedelta(minutes=minutes)
        # No actor: nobody is logged in. Never an address: only the account and the figures.
        audit.record("account_locked", target_user_id=user.id, failures=user.failed_logins,
                     minutes=minutes)


def login_succeeded(user: User) -> None:
    """The whole login succeeded: clear the failure count (caller commits)."""
    user.failed_logins = 0
    user.locked_until = None


def check_password(user: User, password: str) -> bool:
    """Whether ``password`` is ``user``'s (for re-confirming before a sensitive change)."""
    try:
        return _hasher.verify(user.password_hash, password or "")
    except (VerificationError, InvalidHashError):
        return False


def change_password(user: User, current_password: str, new_password: str) -> None:
    """Replace ``user``'s password after checking the current one (caller commits).

    A wrong current password counts as a failed login. Other sessions of the user end
    (``credentials_changed_at``). Raises :class:`AccountError` with the reason.
    """
    if is_locked(user):
        raise AccountError(
            _("Tài khoản đang tạm khóa do nhập sai nhiều lần. Vui lòng thử lại sau."))
    if not check_password(user, current_password):
        record_login_failure(user)
        raise AccountError(_("Mật khẩu hiện tại không đúng."))
    problems = password_problems(new_password, user.username)
    if new_password == current_password:
        problems.append(_("Mật khẩu mới phải khác mật khẩu hiện tại."))
    if problems:
        raise AccountError(" ".join(problems))
    user.password_hash = _hasher.hash(new_password)
    user.credentials_changed_at = timeutil.utcnow()
    audit.record("change_password", user=user)


def _secret_key() -> str:
    return current_app.config["SECRET_KEY"]


def enrolment_secret(user: User) -> str:
    """The TOTP secret ``user`` is enrolling with, created and stored sealed on first call.

    The same secret is returned until it is confirmed, so reloading the page does not
    invalidate what the user already scanned (caller commits).
    """
    if user.two_factor_enabled:
        raise AccountError(_("Xác thực hai bước đã được bật."))
    if user.totp_secret_encrypted:
        try:
            return twofactor.open_secret(user.totp_secret_encrypted, user_id=user.id,
                                         secret_key=_secret_key())
        except twofactor.SecretUnreadable:
            pass  # sealed under an old SECRET_KEY: start again with a new secret
    secret = twofactor.new_secret()
    user.totp_secret_encrypted = twofactor.seal_secret(secret, user_id=user.id,
                                                       secret_key=_secret_key())
    user.totp_last_timestep = None
    return secret


def confirm_enrolment(user: User, code: str) -> bool:
    """Turn two-factor on if ``code`` comes from the secret being enrolled (caller commits)."""
    if user.two_factor_enabled or not user.totp_secret_encrypted:
        return False
    if not _accept_code(user, code):
        return False
    user.totp_enabled_at = timeutil.utcnow()
    audit.record("totp_enabled", user=user)
    return True


def verify_second_factor(user: User, code: str) -> bool:
    """Whether ``code`` is ``user``'s current, unused TOTP code (caller commits).

    A wrong code counts as a failed login, towards the same lockout as wrong passwords.
    """
    if not user.two_factor_enabled or is_locked(user):
        return False
    if _accept_code(user, code):
        return True
    record_login_failure(user)
    return False


def _accept_code(user: User, code: str) -> bool:
    try:
        secret = twofactor.open_secret(user.totp_secret_encrypted or "", user_id=user.id,
                                       secret_key=_secret_key())
    except twofactor.SecretUnreadable:
        return False
    step = twofactor.matching_timestep(secret, code, now=timeutil.utcnow(),
                                       last_used=user.totp_last_timestep)
    if step is None:
        return False
    # Conditional UPDATE: of two requests racing with the same code, only one wins.
    result = db.session.execute(
        update(User)
        .where(User.id == user.id,
               or_(User.totp_last_timestep.is_(None), User.totp_last_timestep < step))
        .values(totp_last_timestep=step)
        .execution_options(synchronize_session=False)
    )
    db.session.refresh(user, ["totp_last_timestep"])
    return result.rowcount == 1


def reset_two_factor(user: User, *, by: User | None = None) -> None:
    """Remove ``user``'s second factor (lost phone); they enrol again at their next login.

    Their open sessions end. Audited with who did it (``by``; None from the command line).
    """
    user.totp_secret_encrypted = None
    user.totp_enabled_at = None
    user.totp_last_timestep = None
    user.credentials_changed_at = timeutil.utcnow()
    audit.record("totp_reset", user=by, target_user_id=user.id)
