"""The identity custodian: the only back-office role that can open a reporter's identity.

Every opening is an explicit POST (never a page that merely loads) and is audited: reading the
identity (e.g. to contact the reporter as they asked) and disclosing it to the agency handling
the case with the reporter's consent or a recorded legal reason (Luật Tố cáo 2018, Art. 47).
The custodian does not need the report's content and is not shown it.
"""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from portal.extensions import db
from portal.formutil import choices
from portal.protection import disclosure
from portal.protection.envelope import keyring
from portal.reports import handling
from portal.reports.models import Report, ReporterIdentity
from portal.staff.access import role_required
from portal.staff.forms import ConfirmForm, DisclosureForm

bp = Blueprint("custodian", __name__, url_prefix="/staff/custodian")

LIST_LIMIT = 200


@bp.get("/")
@role_required("custodian")
def cases():
    """Named reports, newest first: status, agency, the reporter's consent and contact choice."""
    only_with_agency = request.args.get("with_agency") == "1"
    query = (select(Report).join(ReporterIdentity, ReporterIdentity.report_id == Report.id)
             .order_by(Report.created_at.desc(), Report.id.desc()))
    if only_with_agency:
        query = query.where(Report.current_agency_id.is_not(None))
    reports = db.session.scalars(query.limit(LIST_LIMIT)).all()
    return render_template("staff/custodian_cases.html", reports=reports,
                           only_with_agency=only_with_agency, limit=LIST_LIMIT)


def load_named_case(report_id: int) -> Report:
    report = db.session.get(Report, report_id)
    if report is None or report.identity is None:
        abort(404)
    return report


def disclosure_form() -> DisclosureForm:
    form = DisclosureForm()
    form.basis.choices = choices([("", "—"), *disclosure.BASIS_LABELS.items()])
    return form


def render_case(report: Report, *, identity=None, form=None, status_code=200):
    return render_template(
        "staff/custodian_case.html", report=report, identity=identity,
        form=form or disclosure_form(), confirm_form=ConfirmForm(),
        key_on_server=keyring().can_open_identity,
    ), status_code


@bp.get("/cases/<int:report_id>")
@role_required("custodian")
def case(report_id: int):
    """The case's disclosure state and actions (no identity until the custodian asks)."""
    report = load_named_case(report_id)
    handling.log_view(current_user, report)
    return render_case(report)


@bp.post("/cases/<int:report_id>/identity")
@role_required("custodian")
def show_identity(report_id: int):
    """Open the identity for the custodian (audited). Shown in this response only: never kept
    in the session or a flash message."""
    report = load_named_case(report_id)
    if not ConfirmForm().validate_on_submit():
        flash(_("Biểu mẫu đã hết hạn, vui lòng thử lại."), "error")
        return redirect(url_for("custodian.case", report_id=report_id))
    try:
        identity = disclosure.view_identity(current_user, report)
    except disclosure.DisclosureError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return redirect(url_for("custodian.case", report_id=report_id))
    return render_case(report, identity=identity)


@bp.post("/cases/<int:report_id>/disclose")
@role_required("custodian")
def disclose(report_id: int):
    """Give the identity to the agency handling the case (consent or a legal reason)."""
    report = load_named_case(report_id)
    form = disclosure_form()
    if not form.validate_on_submit():
        flash(_("Vui lòng điền đủ thông tin."), "error")
        return redirect(url_for("custodian.case", report_id=report_id))
    try:
        disclosure.disclose(current_user, report, basis=form.basis.data or "",
                            reason=form.reason.data)
    except disclosure.DisclosureError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return redirect(url_for("custodian.case", report_id=report_id))
    flash(_("Đã cung cấp danh tính cho %(agency)s; người gửi được thông báo.",
            agency=report.current_agency.name), "success")
    return redirect(url_for("custodian.case", report_id=report_id))
