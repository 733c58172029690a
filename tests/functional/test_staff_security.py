"""Hardened staff access: TOTP two-factor, lockout after failed logins, session timeouts and
password strength — all driven through the back office's pages, CSRF on, with a clock the tests
move instead of sleeping."""

import json
import re
from datetime import UTC, datetime, timedelta

import pyotp
import pytest
from sqlalchemy import select, text

from portal import timeutil
from portal.accounts import services as accounts
from portal.accounts import twofactor
from portal.accounts.models import ROLES, TOTP_REQUIRED_ROLES, User
from portal.accounts.passwords import common_passwords, password_problems
from portal.audit.models import AuditEntry
from portal.extensions import db
from tests.helpers import PASSWORD, TOTP_SECRETS, csrf_token, login, post_form

LOGIN_FAILED = "Tên đăng nhập hoặc mật khẩu không đúng, hoặc tài khoản đang tạm khóa"
EXPIRED = "Phiên làm việc đã hết hạn. Vui lòng đăng nhập lại."
# Roles that must use two-factor and that this version of the portal has.
MANDATORY = [role for role in TOTP_REQUIRED_ROLES if role in ROLES]
OPTIONAL = [role for role in ROLES if role not in TOTP_REQUIRED_ROLES]


class Clock:
    """Stands in for ``portal.timeutil.utcnow``: time moves only when a test says so."""

    def __init__(self, start: datetime):
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock(monkeypatch):
    # Ten seconds into a 30-second TOTP step, so a test's codes all fall in the same step.
    start = datetime.now(UTC).replace(microsecond=0)
    start -= timedelta(seconds=start.second % 30 - 10)
    frozen = Clock(start)
    monkeypatch.setattr(timeutil, "utcnow", frozen)
    return frozen


def main_text(response) -> str:
    page = response.get_data(as_text=True)
    return page[page.index("<main"):page.index("</main>")]


def password_step(client, username: str, password: str = PASSWORD):
    return client.post("/staff/login", data={"csrf_token": csrf_token(client, "/staff/login"),
                                             "username": username, "password": password})


def submit_code(client, url: str, code: str):
    return post_form(client, url, {"code": code}, token_from=url)


def user_row(app, username: str) -> User:
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == username))
        db.session.expunge(user)
        return user


def audit_entries(app, action: str) -> list[AuditEntry]:
    with app.app_context():
        rows = db.session.scalars(select(AuditEntry).where(AuditEntry.action == action)).all()
        for row in rows:
            db.session.expunge(row)
        return rows


def new_user_without_two_factor(app, username: str, role: str) -> str:
    """A user as ``users create`` makes one: no second factor yet."""
    with app.app_context():
        accounts.create_user(username, PASSWORD, role)
        db.session.commit()
    return username


def enrol_through_the_page(client, username: str, clock=None) -> str:
    """Read the secret off the enrolment page, as a person types it into an app, and confirm."""
    page = client.get("/staff/two-factor")
    assert page.status_code == 200
    secret = re.search(r"data-totp-secret>([A-Z2-7 ]+)<", page.get_data(as_text=True)).group(1)
    secret = secret.replace(" ", "")
    now = timeutil.utcnow()
    response = submit_code(client, "/staff/two-factor", pyotp.TOTP(secret).at(now))
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    TOTP_SECRETS[username] = secret
    return secret


# --- two-factor ----------------------------------------------------------------------------

def test_any_user_can_turn_on_two_factor_and_then_login_asks_for_a_code(app, client, make_user,
                                                                       clock):
    make_user("nguyen.tiepnhan", "triage")
    assert login(client, "nguyen.tiepnhan").headers["Location"] == "/staff/"  # optional: off

    page = client.get("/staff/two-factor").get_data(as_text=True)
    secret = re.search(r"data-totp-secret>([A-Z2-7 ]+)<", page).group(1).replace(" ", "")
    assert len(secret) == 32  # 160 bits
    # Shown as text, as an otpauth:// address and as an inline QR image (no JavaScript).
    assert (f"otpauth://totp/Tin%20b%C3%A1o:nguyen.tiepnhan?secret={secret}"
            "&amp;issuer=Tin%20b%C3%A1o") in page
    assert 'src="data:image/svg+xml' in page
    assert "<script" not in page
    # A reload shows the same secret: what was scanned stays valid until confirmed.
    assert secret in client.get("/staff/two-factor").get_data(as_text=True).replace(" ", "")

    wrong = submit_code(client, "/staff/two-factor", "000000")
    assert wrong.status_code == 400 and "Mã không đúng" in wrong.get_data(as_text=True)
    assert not user_row(app, "nguyen.tiepnhan").two_factor_enabled
    ok = submit_code(client, "/staff/two-factor", pyotp.TOTP(secret).at(clock()))
    assert ok.status_code == 302
    assert "Đã bật xác thực hai bước" in client.get(ok.headers["Location"]).get_data(as_text=True)
    assert len(audit_entries(app, "totp_enabled")) == 1
    post_form(client, "/staff/logout", token_from="/staff/account")

    # From now on the password alone logs nobody in.
    first = password_step(client, "nguyen.tiepnhan")
    assert first.status_code == 302 and first.headers["Location"] == "/staff/login/code"
    blocked = client.get("/staff/triage/")
    assert blocked.status_code == 302 and blocked.headers["Location"] == "/staff/login/code"
    assert submit_code(client, "/staff/login/code", "123456").status_code == 401
    clock.advance(seconds=30)
    done = submit_code(client, "/staff/login/code", pyotp.TOTP(secret).at(clock()))
    assert done.status_code == 302 and done.headers["Location"] == "/staff/"
    assert client.get("/staff/triage/").status_code == 200


def test_a_code_works_only_once(app, make_user, clock):
    make_user("tran.giamsat", "supervisor")
    secret = TOTP_SECRETS["tran.giamsat"]
    code = pyotp.TOTP(secret).at(clock())
    first = app.test_client()
    password_step(first, "tran.giamsat")
    assert submit_code(first, "/staff/login/code", code).status_code == 302

    # Someone who saw the code over a shoulder, within the same 30 seconds: refused.
    second = app.test_client()
    password_step(second, "tran.giamsat")
    replay = submit_code(second, "/staff/login/code", code)
    assert replay.status_code == 401 and "đã được dùng" in replay.get_data(as_text=True)
    assert second.get("/staff/supervision/").headers["Location"] == "/staff/login/code"
    # An older code (previous step, still inside the drift window) is refused as well.
    older = pyotp.TOTP(secret).at(clock() - timedelta(seconds=30))
    assert submit_code(second, "/staff/login/code", older).status_code == 401
    # The next step's code is new, so it works.
    clock.advance(seconds=30)
    fresh = submit_code(second, "/staff/login/code", pyotp.TOTP(secret).at(clock()))
    assert fresh.status_code == 302
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == "tran.giamsat"))
        assert user.totp_last_timestep == twofactor.timestep(clock())


@pytest.mark.parametrize("role", MANDATORY)
def test_mandatory_roles_must_enrol_before_anything_else(app, client, role, clock):
    username = new_user_without_two_factor(app, f"moi.{role}", role)
    first = password_step(client, username)
    assert first.status_code == 302 and first.headers["Location"] == "/staff/two-factor"
    page = client.get("/staff/two-factor").get_data(as_text=True)
    assert "Vai trò của bạn bắt buộc dùng xác thực hai bước" in page

    # Not logged in: every other back-office page sends them back to enrolment.
    blocked = 0
    for rule in app.url_map.iter_rules():
        endpoint = rule.endpoint
        if not rule.rule.startswith("/staff") or endpoint in (
                "auth.login", "auth.login_code", "auth.two_factor"):
            continue
        path = re.sub(r"<(?:[^:<>]+:)?[^<>]+>", "1", rule.rule)
        response = client.get(path) if "GET" in rule.methods else client.post(
            path, data={"csrf_token": csrf_token(client, "/staff/two-factor")})
        assert response.status_code == 302, (endpoint, response.status_code)
        assert response.headers["Location"] == "/staff/two-factor", endpoint
        blocked += 1
    assert blocked >= 20
    assert audit_entries(app, "login") == []

    enrol_through_the_page(client, username)
    assert client.get("/staff/").status_code == 302
    assert client.get("/staff/account").status_code == 200
    [entry] = audit_entries(app, "login")
    assert entry.detail["two_factor"] is True


@pytest.mark.parametrize("role", OPTIONAL)
def test_other_roles_log_in_without_two_factor(app, client, role):
    username = f"khong.{role}"
    with app.app_context():
        from portal.agencies.models import Agency

        agency = (db.session.scalar(select(Agency).where(Agency.code == "tn-police"))
                  if role == "agency" else None)
        accounts.create_user(username, PASSWORD, role, agency=agency)
        db.session.commit()
    response = password_step(client, username)
    assert response.status_code == 302 and response.headers["Location"] == "/staff/"


def test_totp_secrets_are_encrypted_in_the_database(app, make_user):
    make_user("le.quantri", "admin")
    secret = TOTP_SECRETS["le.quantri"]
    with app.app_context():
        with db.engine.connect() as conn:
            row = conn.execute(text("SELECT * FROM users WHERE username = 'le.quantri'")).one()
        dumped = json.dumps([str(value) for value in row])
        assert secret not in dumped and secret.lower() not in dumped
        user = db.session.scalar(select(User).where(User.username == "le.quantri"))
        sealed = user.totp_secret_encrypted
        assert sealed.startswith("v1:")
        key = app.config["SECRET_KEY"]
        assert twofactor.open_secret(sealed, user_id=user.id, secret_key=key) == secret
        # Another server key, or the same ciphertext pasted onto another user's row: unreadable.
        with pytest.raises(twofactor.SecretUnreadable):
            twofactor.open_secret(sealed, user_id=user.id, secret_key="another-key")
        with pytest.raises(twofactor.SecretUnreadable):
            twofactor.open_secret(sealed, user_id=user.id + 1, secret_key=key)


def test_admin_resets_a_lost_second_factor_and_it_is_audited(app, staff, make_user, clock):
    admin = staff("admin", username="pham.quantri")
    make_user("vu.giamsat", "supervisor")
    supervisor = app.test_client()
    assert login(supervisor, "vu.giamsat").status_code == 302
    assert supervisor.get("/staff/supervision/").status_code == 200
    users_page = admin.get("/staff/admin/users").get_data(as_text=True)
    target = user_row(app, "vu.giamsat")
    assert f"/staff/admin/users/{target.id}/reset-2fa" in users_page

    clock.advance(seconds=1)
    reset = post_form(admin, f"/staff/admin/users/{target.id}/reset-2fa",
                      token_from="/staff/admin/users")
    assert reset.status_code == 302
    assert not user_row(app, "vu.giamsat").two_factor_enabled
    [entry] = audit_entries(app, "totp_reset")
    assert entry.user_id == user_row(app, "pham.quantri").id
    assert entry.detail == {"target_user_id": target.id}
    # The supervisor's open session ends; at the next login they enrol again.
    assert supervisor.get("/staff/supervision/").headers["Location"] == "/staff/login"
    TOTP_SECRETS.pop("vu.giamsat")
    assert login(supervisor, "vu.giamsat").headers["Location"] == "/staff/two-factor"
    # Only an admin may reset.
    assert post_form(supervisor, f"/staff/admin/users/{target.id}/reset-2fa",
                     token_from="/staff/two-factor").status_code == 302  # back to enrolment
    assert len(audit_entries(app, "totp_reset")) == 1


def test_reset_2fa_command_for_operators(app, runner, make_user):
    make_user("do.quantri", "admin")
    result = runner.invoke(args=["users", "reset-2fa", "do.quantri"])
    assert result.exit_code == 0, result.output
    assert not user_row(app, "do.quantri").two_factor_enabled
    [entry] = audit_entries(app, "totp_reset")
    assert entry.user_id is None and entry.detail == {"target_user_id": user_row(
        app, "do.quantri").id}
    assert runner.invoke(args=["users", "reset-2fa", "khong.co"]).exit_code != 0


# --- failed logins -------------------------------------------------------------------------

def test_five_wrong_passwords_lock_the_account_without_telling_who_exists(app, client,
                                                                          make_user, clock):
    make_user("hoang.tiepnhan", "triage")
    for _attempt in range(5):
        wrong = password_step(client, "hoang.tiepnhan", "not the password at all")
        assert wrong.status_code == 401 and LOGIN_FAILED in wrong.get_data(as_text=True)
    locked = password_step(client, "hoang.tiepnhan")  # the right password, but locked
    unknown = password_step(client, "khong.ton.tai", PASSWORD)
    wrong_again = password_step(client, "hoang.tiepnhan", "still wrong password")
    assert locked.status_code == unknown.status_code == wrong_again.status_code == 401
    # Same page for a locked account, an unknown username and a wrong password.
    strip = re.compile(r'value="[^"]*"')
    assert strip.sub("", main_text(locked)) == strip.sub("", main_text(unknown)) \
        == strip.sub("", main_text(wrong_again))
    assert client.get("/staff/triage/").headers["Location"].startswith("/staff/login")

    [entry] = audit_entries(app, "account_locked")
    assert entry.user_id is None
    assert entry.detail == {"target_user_id": user_row(app, "hoang.tiepnhan").id,
                            "failures": 5, "minutes": 15}
    assert "127.0.0.1" not in json.dumps(entry.detail)

    clock.advance(minutes=14, seconds=59)
    assert password_step(client, "hoang.tiepnhan").status_code == 401
    clock.advance(seconds=2)
    assert password_step(client, "hoang.tiepnhan").headers["Location"] == "/staff/"
    assert user_row(app, "hoang.tiepnhan").failed_logins == 0


def test_after_a_lockout_each_new_failure_locks_again_until_a_success(app, make_user, clock):
    make_user("bui.tiepnhan", "triage")
    client = app.test_client()
    for _attempt in range(5):
        password_step(client, "bui.tiepnhan", "wrong password here")
    clock.advance(minutes=16)
    password_step(client, "bui.tiepnhan", "one more wrong guess")
    assert password_step(client, "bui.tiepnhan").status_code == 401  # locked again at once
    assert len(audit_entries(app, "account_locked")) == 2
    clock.advance(minutes=16)
    assert password_step(client, "bui.tiepnhan").status_code == 302


def test_unknown_and_locked_users_still_pay_for_a_password_hash(app, client, make_user,
                                                                monkeypatch, clock):
    """The constant-time path: the hash is checked whether or not the account exists or is
    locked, so response times do not tell them apart."""
    make_user("ngo.tiepnhan", "triage")
    calls = []
    real = accounts._hasher

    class CountingHasher:
        def verify(self, hash_, password):
            calls.append(hash_ == accounts._DUMMY_HASH)
            return real.verify(hash_, password)

        def __getattr__(self, name):
            return getattr(real, name)

    monkeypatch.setattr(accounts, "_hasher", CountingHasher())
    password_step(client, "ai.do.khong.co")
    assert calls == [True]
    for _attempt in range(5):
        password_step(client, "ngo.tiepnhan", "wrong password here")
    calls.clear()
    password_step(client, "ngo.tiepnhan")
    assert calls == [False]


def test_wrong_codes_count_towards_the_lockout(app, client, make_user, clock):
    make_user("dang.giamsat", "supervisor")
    password_step(client, "dang.giamsat")
    for attempt in range(5):
        response = submit_code(client, "/staff/login/code", "000000")
        if attempt < 4:
            assert response.status_code == 401
    # The fifth wrong code locks the account and sends the browser back to the password.
    assert response.status_code == 302 and response.headers["Location"] == "/staff/login"
    assert LOGIN_FAILED in client.get("/staff/login").get_data(as_text=True)
    assert len(audit_entries(app, "account_locked")) == 1
    # Even the right password and code do nothing now.
    assert password_step(client, "dang.giamsat").status_code == 401


def test_lockout_limits_are_settings(app, client, make_user, monkeypatch, clock):
    monkeypatch.setitem(app.config, "LOGIN_MAX_FAILURES", 2)
    monkeypatch.setitem(app.config, "LOGIN_LOCKOUT_MINUTES", 60)
    make_user("ly.tiepnhan", "triage")
    password_step(client, "ly.tiepnhan", "wrong password here")
    password_step(client, "ly.tiepnhan", "wrong password here")
    refused = password_step(client, "ly.tiepnhan")
    assert refused.status_code == 401 and "60 phút" in refused.get_data(as_text=True)
    clock.advance(minutes=59)
    assert password_step(client, "ly.tiepnhan").status_code == 401
    clock.advance(minutes=2)
    assert password_step(client, "ly.tiepnhan").status_code == 302


# --- session timeouts ----------------------------------------------------------------------

def test_idle_staff_sessions_end_after_30_minutes(app, staff, clock):
    client = staff("triage")
    clock.advance(minutes=29)
    assert client.get("/staff/triage/").status_code == 200
    clock.advance(minutes=29)  # 58 minutes since login, but never 30 idle
    assert client.get("/staff/triage/").status_code == 200
    clock.advance(minutes=30, seconds=1)
    expired = client.get("/staff/triage/")
    assert expired.status_code == 302 and expired.headers["Location"] == "/staff/login"
    assert EXPIRED in client.get("/staff/login").get_data(as_text=True)
    # Logged out for good: coming back does not revive the session.
    clock.advance(seconds=1)
    assert client.get("/staff/triage/").headers["Location"].startswith("/staff/login")


def test_staff_sessions_end_ten_hours_after_login_however_active(app, staff, clock):
    client = staff("agency", "tn-police")
    for _quarter in range(39):  # every 15 minutes for 9¾ hours
        clock.advance(minutes=15)
        assert client.get("/staff/agency/").status_code == 200
    clock.advance(minutes=15, seconds=1)
    response = client.get("/staff/agency/")
    assert response.status_code == 302 and response.headers["Location"] == "/staff/login"


def test_idle_limit_is_a_setting(app, staff, monkeypatch, clock):
    monkeypatch.setitem(app.config, "STAFF_IDLE_MINUTES", 5)
    client = staff("triage")
    clock.advance(minutes=4)
    assert client.get("/staff/triage/").status_code == 200
    cookie = client.get_cookie("session_staff")
    # The browser is also told to drop the cookie after the idle limit.
    assert cookie.expires is not None
    assert cookie.expires - datetime.now(UTC) <= timedelta(minutes=5, seconds=5)
    clock.advance(minutes=5, seconds=1)
    assert client.get("/staff/triage/").headers["Location"] == "/staff/login"


def test_public_pages_are_not_affected_by_the_staff_clock(app, client, clock):
    assert client.get("/").status_code == 200
    clock.advance(hours=11)
    assert client.get("/").status_code == 200


# --- password strength ---------------------------------------------------------------------

@pytest.mark.parametrize("password, reason", [
    ("ngan-qua", "ít nhất 12 ký tự"),
    ("password1234", "quá phổ biến"),
    ("Password2024!", "quá phổ biến"),
    ("123456789012", "quá phổ biến"),
    ("qwertyuiop123", "quá phổ biến"),
    ("matkhau123456", "quá phổ biến"),
    ("Mậtkhẩu@2025", "quá phổ biến"),
    ("anhyeuem12345", "quá phổ biến"),
    ("aaaaaaaaaaaaaa", "quá ít ký tự khác nhau"),
    ("121212121212", "quá ít ký tự khác nhau"),
    ("le.hoa-mua-xuan-2025", "chứa tên đăng nhập"),
])
def test_weak_passwords_are_refused_with_the_reason(ctx, password, reason):
    problems = password_problems(password, "le.hoa")
    assert any(reason in problem for problem in problems), problems


def test_a_long_uncommon_passphrase_is_fine(ctx):
    assert password_problems("chim sẻ đậu cành tre già", "le.hoa") == []
    assert password_problems(PASSWORD, "le.hoa") == []


def test_the_common_password_list_ships_about_a_thousand_entries():
    words = common_passwords()
    assert len(words) >= 1000
    assert {"123456", "password", "qwerty", "iloveyou", "matkhau", "anhyeuem"} <= words


def test_create_user_command_refuses_weak_passwords(app, runner):
    common = runner.invoke(args=["users", "create", "thu", "--role", "triage",
                                 "--password", "qwerty123456"])
    assert common.exit_code != 0 and "quá phổ biến" in common.output
    named = runner.invoke(args=["users", "create", "thu", "--role", "triage",
                                "--password", "thu-la-can-bo-tiep-nhan"])
    assert named.exit_code != 0 and "tên đăng nhập" in named.output
    with app.app_context():
        assert db.session.scalar(select(User).where(User.username == "thu")) is None


def test_admin_form_refuses_weak_passwords(app, staff):
    admin = staff("admin")
    response = post_form(admin, "/staff/admin/users/new", {
        "username": "moi.canbo", "display_name": "Cán bộ mới", "role": "triage",
        "agency_id": "0", "password": "password12345"}, token_from="/staff/admin/users/new")
    assert response.status_code == 200
    assert "quá phổ biến" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(User).where(User.username == "moi.canbo")) is None


def test_change_password_page(app, staff, clock):
    client = staff("triage", username="mai.tiepnhan")
    other = app.test_client()
    assert login(other, "mai.tiepnhan").status_code == 302
    page = "/staff/password"
    assert client.get(page).status_code == 200
    new = "mùa thu hà nội lá vàng rơi"

    def change(current, new_password, confirm=None):
        return post_form(client, page, {"current_password": current, "new_password": new_password,
                                        "confirm_password": confirm or new_password},
                         token_from=page)

    wrong = change("not my password", new)
    assert wrong.status_code == 400 and "Mật khẩu hiện tại không đúng" in wrong.get_data(
        as_text=True)
    weak = change(PASSWORD, "iloveyou2025")
    assert weak.status_code == 400 and "quá phổ biến" in weak.get_data(as_text=True)
    mismatch = change(PASSWORD, new, "something else entirely")
    assert mismatch.status_code == 400 and "không khớp" in mismatch.get_data(as_text=True)
    clock.advance(seconds=1)
    ok = change(PASSWORD, new)
    assert ok.status_code == 302
    assert "Đã đổi mật khẩu" in client.get(ok.headers["Location"]).get_data(as_text=True)
    [entry] = audit_entries(app, "change_password")
    assert entry.user_id == user_row(app, "mai.tiepnhan").id
    # This session carries on; the other one ends.
    assert client.get("/staff/triage/").status_code == 200
    assert other.get("/staff/triage/").headers["Location"] == "/staff/login"
    # The old password no longer works, the new one does; the wrong current password counted.
    fresh = app.test_client()
    assert password_step(fresh, "mai.tiepnhan").status_code == 401
    assert password_step(fresh, "mai.tiepnhan", new).status_code == 302


def test_wrong_current_passwords_on_the_change_page_lock_and_log_out(app, staff, clock):
    client = staff("triage", username="cao.tiepnhan")
    for _attempt in range(5):
        response = post_form(client, "/staff/password", {
            "current_password": "a wrong guess here", "new_password": "mùa thu hà nội lá vàng",
            "confirm_password": "mùa thu hà nội lá vàng"}, token_from="/staff/password")
    assert response.status_code == 302 and response.headers["Location"] == "/staff/login"
    assert client.get("/staff/triage/").headers["Location"].startswith("/staff/login")
    assert password_step(app.test_client(), "cao.tiepnhan").status_code == 401


def test_new_security_pages_need_a_login(app):
    anonymous = app.test_client()
    for path in ("/staff/account", "/staff/password"):
        response = anonymous.get(path)
        assert response.status_code == 302 and response.headers["Location"].startswith(
            "/staff/login"), path
    for path in ("/staff/two-factor", "/staff/login/code"):
        response = anonymous.get(path)
        assert response.status_code == 302 and response.headers["Location"] == "/staff/login"
