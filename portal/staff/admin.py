"""Administrators: the agency directory and staff accounts."""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from portal import geo, timeutil
from portal.accounts.models import User
from portal.accounts.services import AccountError, create_user, reset_two_factor
from portal.agencies.models import Agency
from portal.audit import services as audit
from portal.deadlines import services as deadlines
from portal.deadlines.calendar import load_calendar
from portal.deadlines.forms import (
    ADJUSTMENT_KIND_LABELS,
    WEEKDAY_LABELS,
    CalendarAdjustmentForm,
    RemoveAdjustmentForm,
    parse_vn_date,
)
from portal.extensions import db
from portal.formutil import choices
from portal.reports.handling import ActionError
from portal.staff.access import role_required
from portal.staff.forms import AgencyForm, ConfirmForm, UserForm
from portal.textfold import fold

bp = Blueprint("admin", __name__, url_prefix="/staff/admin")


@bp.get("/agencies")
@role_required("admin")
def agencies():
    """The directory, searchable by name or code."""
    query = select(Agency).order_by(Agency.ward_code.is_not(None), Agency.kind, Agency.name)
    rows = db.session.scalars(query).all()
    q = fold(request.args.get("q", "")).strip()
    if q:
        rows = [a for a in rows if q in fold(a.name) or q in a.code]
    return render_template("staff/admin_agencies.html", agencies=rows, q=request.args.get("q", ""))


def _agency_form_errors(form: AgencyForm, agency: Agency | None) -> list[str]:
    errors = []
    clash = db.session.scalar(select(Agency).where(Agency.code == form.code.data.strip()))
    if clash is not None and clash is not agency:
        errors.append(_("Mã cơ quan đã tồn tại."))
    if form.province_code.data and geo.province_name(form.province_code.data) is None:
        errors.append(_("Mã tỉnh không có trong danh mục."))
    if form.ward_code.data:
        ward_province = geo.ward_province(form.ward_code.data)
        if ward_province is None or (form.province_code.data
                                     and ward_province != form.province_code.data):
            errors.append(_("Mã xã, phường không đúng hoặc không thuộc tỉnh đã ghi."))
    return errors


@bp.route("/agencies/new", methods=["GET", "POST"], defaults={"agency_id": None})
@bp.route("/agencies/<int:agency_id>", methods=["GET", "POST"])
@role_required("admin")
def edit_agency(agency_id: int | None):
    """Create or edit an agency."""
    agency = db.session.get(Agency, agency_id) if agency_id else None
    if agency_id and agency is None:
        abort(404)
    form = AgencyForm(obj=agency)
    errors: list[str] = []
    if form.validate_on_submit():
        errors = _agency_form_errors(form, agency)
        if not errors:
            if agency is None:
                agency = Agency()
                db.session.add(agency)
            agency.code = form.code.data.strip()
            agency.kind = form.kind.data
            agency.name = form.name.data.strip()
            agency.province_code = form.province_code.data
            agency.ward_code = form.ward_code.data
            agency.sectors = form.sectors.data or []
            agency.active = form.active.data
            db.session.flush()
            audit.record("edit_agency", user=current_user, agency_id=agency.id, code=agency.code)
            db.session.commit()
            flash(_("Đã lưu cơ quan."), "success")
            return redirect(url_for("admin.agencies"))
    return render_template("staff/admin_agency_form.html", form=form, agency=agency,
                           errors=errors + [e for f in form for e in f.errors])


@bp.get("/users")
@role_required("admin")
def users():
    rows = db.session.scalars(select(User).order_by(User.role, User.username)).all()
    return render_template("staff/admin_users.html", users=rows, confirm_form=ConfirmForm(),
                           now=timeutil.utcnow())


@bp.route("/users/new", methods=["GET", "POST"])
@role_required("admin")
def new_user():
    form = UserForm()
    form.agency_id.choices = choices([(0, "—")] + [
        (a.id, a.name) for a in db.session.scalars(
            select(Agency).where(Agency.active.is_(True)).order_by(Agency.name))
    ])
    error = None
    if form.validate_on_submit():
        agency = db.session.get(Agency, form.agency_id.data) if form.agency_id.data else None
        try:
            user = create_user(form.username.data, form.password.data, form.role.data,
                               display_name=form.display_name.data, agency=agency)
            db.session.flush()
            audit.record("create_user", user=current_user, created_user_id=user.id,
                         role=user.role)
            db.session.commit()
        except AccountError as exc:
            db.session.rollback()
            error = str(exc)
        else:
            flash(_("Đã tạo tài khoản."), "success")
            return redirect(url_for("admin.users"))
    errors = ([error] if error else []) + [e for f in form for e in f.errors]
    return render_template("staff/admin_user_form.html", form=form, errors=errors)


@bp.post("/users/<int:user_id>/toggle")
@role_required("admin")
def toggle_user(user_id: int):
    """Lock or unlock an account (accounts are never deleted: the audit trail points at them)."""
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    if not ConfirmForm().validate_on_submit() or user.id == current_user.id:
        flash(_("Không thể thực hiện."), "error")
        return redirect(url_for("admin.users"))
    user.active = not user.active
    audit.record("toggle_user", user=current_user, target_user_id=user.id, active=user.active)
    db.session.commit()
    return redirect(url_for("admin.users"))


@bp.post("/users/<int:user_id>/reset-2fa")
@role_required("admin")
def reset_user_two_factor(user_id: int):
    """Remove a user's second factor (lost or changed phone): they enrol again at next login,
    and their open sessions end. Audited."""
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    if not ConfirmForm().validate_on_submit():
        flash(_("Không thể thực hiện."), "error")
        return redirect(url_for("admin.users"))
    reset_two_factor(user, by=current_user._get_current_object())
    db.session.commit()
    flash(_("Đã đặt lại xác thực hai bước của %(username)s. Người này sẽ đăng ký lại khi đăng "
            "nhập.", username=user.username), "success")
    return redirect(url_for("admin.users"))


@bp.route("/calendar", methods=["GET", "POST"])
@role_required("admin")
def calendar():
    """The working-day calendar deadlines are counted in: the public holidays of the year (from
    the `holidays` package) and the days the Government moved, which admins add and remove."""
    form = CalendarAdjustmentForm()
    errors: list[str] = []
    if form.validate_on_submit():
        try:
            deadlines.add_adjustment(current_user, parse_vn_date(form.day.data), form.kind.data,
                                     form.note.data)
        except ActionError as exc:
            db.session.rollback()
            errors.append(exc.message)
        else:
            flash(_("Đã lưu ngày điều chỉnh; các thời hạn đang chạy đã được tính lại."),
                  "success")
            return redirect(url_for("admin.calendar"))
    year = deadlines.now().astimezone(timeutil.VN_TZ).year
    requested = request.args.get("year", "")
    if requested.isdigit() and 2000 <= int(requested) <= 2100:
        year = int(requested)
    return render_template(
        "staff/admin_calendar.html", form=form, remove_form=RemoveAdjustmentForm(),
        adjustments=deadlines.adjustments(), kind_labels=ADJUSTMENT_KIND_LABELS,
        weekday_labels=WEEKDAY_LABELS, year=year,
        public_holidays=load_calendar().holidays_in(year, str(get_locale() or "vi")),
        errors=errors + [e for f in form for e in f.errors],
    )


@bp.post("/calendar/remove")
@role_required("admin")
def remove_calendar_day():
    """Remove a day the admin had added; open deadlines move back."""
    form = RemoveAdjustmentForm()
    value = (form.adjustment_id.data or "").strip() if form.validate_on_submit() else ""
    try:
        deadlines.remove_adjustment(current_user, int(value) if value.isdigit() else None)
    except ActionError as exc:
        db.session.rollback()
        flash(exc.message, "error")
    else:
        flash(_("Đã xóa ngày điều chỉnh; các thời hạn đang chạy đã được tính lại."), "success")
    return redirect(url_for("admin.calendar"))
