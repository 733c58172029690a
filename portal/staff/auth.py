"""Staff login (password, then a TOTP code), two-factor enrolment, password change, logout,
and the checks every back-office request passes: an unfinished login, the idle and absolute
session limits, and two-factor for the roles that must use it (docs/security.md)."""

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from portal import timeutil
from portal.accounts import services as accounts
from portal.accounts import twofactor
from portal.accounts.models import User
from portal.accounts.services import AccountError, authenticate
from portal.audit import services as audit
from portal.extensions import db, limiter
from portal.staff.forms import ChangePasswordForm, CodeForm, LoginForm

bp = Blueprint("auth", __name__, url_prefix="/staff")

HOME_BY_ROLE = {
    "triage": "triage.queue",
    "agency": "agency.inbox",
    "supervisor": "supervision.overview",
    "admin": "admin.agencies",
    "custodian": "custodian.cases",
}


@bp.get("/")
@login_required
def home():
    """Send each role to its own start page."""
    return redirect(url_for(HOME_BY_ROLE.get(current_user.role, "auth.account")))


# How long a login whose password was right may wait for its second step.
PENDING_LOGIN_SECONDS = 5 * 60
# All that a browser with only the password step done may open.
PENDING_LOGIN_ENDPOINTS = frozenset({"auth.login", "auth.login_code", "auth.two_factor"})
LOGIN_LIMIT = "20 per 15 minutes"


def _now() -> float:
    return timeutil.utcnow().timestamp()


def _fresh_session() -> None:
    """A new session (no fixation); only the language choice is kept."""
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang


def _login_failed_message() -> str:
    # One message for a wrong password, an unknown username and a locked account, so that the
    # answer never tells which usernames exist or which accounts are locked.
    return _("Tên đăng nhập hoặc mật khẩu không đúng, hoặc tài khoản đang tạm khóa vì đăng "
             "nhập sai nhiều lần (khóa %(minutes)d phút).",
             minutes=current_app.config["LOGIN_LOCKOUT_MINUTES"])


def _finish_login(user: User) -> None:
    """Log ``user`` in on a fresh session once every step has passed."""
    _fresh_session()
    login_user(user)
    session.permanent = True
    session["auth_at"] = session["seen_at"] = _now()
    accounts.login_succeeded(user)
    audit.record("login", user=user, two_factor=user.two_factor_enabled)
    db.session.commit()


def _pending_user(step: str) -> User | None:
    """The user whose password was right and who still owes ``step`` ("code" or "enrol")."""
    pending = session.get("pending_login")
    if not pending or pending.get("step") != step:
        return None
    if _now() - pending.get("at", 0) > PENDING_LOGIN_SECONDS:
        session.pop("pending_login", None)
        return None
    user = db.session.get(User, pending.get("user_id"))
    return user if user is not None and user.active else None


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(LOGIN_LIMIT, methods=["POST"])
def login():
    """First step: username and password. Then a code, or enrolment, where the user needs one."""
    form = LoginForm()
    error = None
    if request.method == "GET":
        session.pop("pending_login", None)  # coming back here abandons an unfinished login
    if form.validate_on_submit():
        user = authenticate(form.username.data, form.password.data)
        if user is not None:
            if not user.two_factor_enabled and not user.two_factor_required:
                _finish_login(user)
                return redirect(url_for("auth.home"))
            # Not logged in yet: the session only remembers whose password was right.
            _fresh_session()
            step = "code" if user.two_factor_enabled else "enrol"
            session["pending_login"] = {"user_id": user.id, "step": step, "at": _now()}
            return redirect(url_for("auth.login_code" if step == "code" else "auth.two_factor"))
        error = _login_failed_message()
    elif request.method == "POST":
        error = _("Biểu mẫu đã hết hạn, vui lòng thử lại.")
    return render_template("staff/login.html", form=form, error=error), (401 if error else 200)


@bp.route("/login/code", methods=["GET", "POST"])
@limiter.limit(LOGIN_LIMIT, methods=["POST"])
def login_code():
    """Second step: the six-digit code from the user's authenticator app."""
    user = _pending_user("code")
    if user is None:
        flash(_("Vui lòng đăng nhập lại."), "error")
        return redirect(url_for("auth.login"))
    form = CodeForm()
    error = None
    if form.validate_on_submit():
        if accounts.verify_second_factor(user, form.code.data):
            _finish_login(user)
            return redirect(url_for("auth.home"))
        db.session.commit()  # the failure counts towards the lockout
        if accounts.is_locked(user):
            session.pop("pending_login", None)
            flash(_login_failed_message(), "error")
            return redirect(url_for("auth.login"))
        error = _("Mã không đúng hoặc đã được dùng. Nhập mã đang hiện trong ứng dụng xác thực.")
    elif request.method == "POST":
        error = _("Biểu mẫu đã hết hạn, vui lòng thử lại.")
    return render_template("staff/login_code.html", form=form, error=error), (401 if error else 200)


@bp.route("/two-factor", methods=["GET", "POST"])
@limiter.limit(LOGIN_LIMIT, methods=["POST"])
def two_factor():
    """Enrol an authenticator app: any logged-in user may; custodians, supervisors and admins
    must, right after their password, before anything else."""
    if current_user.is_authenticated:
        user, pending = current_user._get_current_object(), False
    else:
        user, pending = _pending_user("enrol"), True
        if user is None:
            flash(_("Vui lòng đăng nhập lại."), "error")
            return redirect(url_for("auth.login"))
    if user.two_factor_enabled:
        return render_template("staff/two_factor.html", user=user, enabled=True)
    form = CodeForm()
    error = None
    if form.validate_on_submit():
        if accounts.confirm_enrolment(user, form.code.data):
            if pending:
                _finish_login(user)
            else:
                db.session.commit()
            flash(_("Đã bật xác thực hai bước. Từ nay mỗi lần đăng nhập cần thêm mã từ ứng dụng."),
                  "success")
            return redirect(url_for("auth.home") if pending else url_for("auth.account"))
        error = _("Mã không đúng. Kiểm tra giờ trên điện thoại rồi nhập mã đang hiện.")
    elif request.method == "POST":
        error = _("Biểu mẫu đã hết hạn, vui lòng thử lại.")
    secret = accounts.enrolment_secret(user)
    db.session.commit()
    uri = twofactor.provisioning_uri(secret, user.username)
    return render_template(
        "staff/two_factor.html", user=user, enabled=False, form=form, error=error,
        required=user.two_factor_required, secret=twofactor.grouped(secret), uri=uri,
        qr=twofactor.qr_svg_data_uri(uri),
    ), (400 if error else 200)


@bp.get("/account")
@login_required
def account():
    """The user's own security settings: two-factor and password."""
    return render_template("staff/account.html")


@bp.route("/password", methods=["GET", "POST"])
@login_required
@limiter.limit(LOGIN_LIMIT, methods=["POST"])
def change_password():
    """Change one's own password; the current one is asked again."""
    form = ChangePasswordForm()
    errors = []
    if form.validate_on_submit():
        user = current_user._get_current_object()
        if form.new_password.data != form.confirm_password.data:
            errors.append(_("Hai lần nhập mật khẩu mới không khớp."))
        else:
            try:
                accounts.change_password(user, form.current_password.data,
                                         form.new_password.data)
            except AccountError as exc:
                db.session.commit()  # a wrong current password counts as a failed login
                if accounts.is_locked(user):
                    logout_user()
                    _fresh_session()
                    flash(_login_failed_message(), "error")
                    return redirect(url_for("auth.login"))
                errors.append(str(exc))
            else:
                # Sessions begun before the change end; this one carries on.
                session["auth_at"] = session["seen_at"] = _now()
                db.session.commit()
                flash(_("Đã đổi mật khẩu. Các phiên đăng nhập khác đã kết thúc."), "success")
                return redirect(url_for("auth.account"))
    elif request.method == "POST":
        errors.append(_("Biểu mẫu đã hết hạn, vui lòng thử lại."))
    return render_template("staff/change_password.html", form=form,
                           errors=errors), (400 if errors else 200)


@bp.before_app_request
def check_staff_session():
    """Runs before every back-office request.

    A browser whose login is half done reaches only the next step. A logged-in session ends
    after ``STAFF_IDLE_MINUTES`` without a request, ``STAFF_SESSION_MAX_HOURS`` after login, or
    when the password changed or two-factor was reset since; the user logs in again. The times
    live in the signed session cookie and are checked here, on the server.
    """
    if not request.path.startswith("/staff"):
        return None
    if not current_user.is_authenticated:
        pending = session.get("pending_login")
        if pending and request.endpoint not in PENDING_LOGIN_ENDPOINTS:
            step = "auth.login_code" if pending.get("step") == "code" else "auth.two_factor"
            return redirect(url_for(step))
        return None
    now, config = _now(), current_app.config
    auth_at, seen_at = session.get("auth_at"), session.get("seen_at")
    changed = current_user.credentials_changed_at
    if (auth_at is None or seen_at is None
            or now - seen_at > config["STAFF_IDLE_MINUTES"] * 60
            or now - auth_at > config["STAFF_SESSION_MAX_HOURS"] * 3600
            or (changed is not None and auth_at < changed.timestamp())):
        logout_user()
        _fresh_session()
        flash(_("Phiên làm việc đã hết hạn. Vui lòng đăng nhập lại."), "error")
        return redirect(url_for("auth.login"))
    session["seen_at"] = now
    if (current_user.two_factor_required and not current_user.two_factor_enabled
            and request.endpoint not in ("auth.two_factor", "auth.logout")):
        return redirect(url_for("auth.two_factor"))
    return None


@bp.post("/logout")
@login_required
def logout():
    audit.record("logout", user=current_user)
    db.session.commit()
    logout_user()
    session.clear()
    flash(_("Đã đăng xuất."), "success")
    return redirect(url_for("auth.login"))
