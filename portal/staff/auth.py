"""Staff login and logout."""

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from portal.accounts.services import authenticate
from portal.audit import services as audit
from portal.extensions import db, limiter
from portal.staff.forms import LoginForm

bp = Blueprint("auth", __name__, url_prefix="/staff")

HOME_BY_ROLE = {
    "triage": "triage.queue",
    "agency": "agency.inbox",
    "supervisor": "supervision.overview",
    "admin": "admin.agencies",
}


@bp.get("/")
@login_required
def home():
    """Send each role to its own start page."""
    return redirect(url_for(HOME_BY_ROLE[current_user.role]))


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit("20 per 15 minutes", methods=["POST"])
def login():
    """Username and password login."""
    form = LoginForm()
    error = None
    if form.validate_on_submit():
        user = authenticate(form.username.data, form.password.data)
        if user is not None:
            # A fresh session at login (no fixation); only the language choice is kept.
            lang = session.get("lang")
            session.clear()
            if lang:
                session["lang"] = lang
            login_user(user)
            session.permanent = True
            audit.record("login", user=user)
            db.session.commit()
            return redirect(url_for("auth.home"))
        error = _("Tên đăng nhập hoặc mật khẩu không đúng.")
    elif request.method == "POST":
        error = _("Biểu mẫu đã hết hạn, vui lòng thử lại.")
    return render_template("staff/login.html", form=form, error=error), (401 if error else 200)


@bp.post("/logout")
@login_required
def logout():
    audit.record("logout", user=current_user)
    db.session.commit()
    logout_user()
    session.clear()
    flash(_("Đã đăng xuất."), "success")
    return redirect(url_for("auth.login"))
