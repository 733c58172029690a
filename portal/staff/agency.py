"""Agency officers: the inbox of reports transferred to their agency, and their actions.

An agency sees the redacted case: never the reporter's identity (unless the custodian disclosed
it to this agency), never the Front's notes, and the free text with personal data masked
(portal/protection/agency_copy.py).
"""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal.deadlines import services as deadlines
from portal.deadlines.forms import ExtendDeadlineForm
from portal.extensions import db
from portal.protection import agency_copy, disclosure
from portal.reports import handling, status
from portal.reports.models import Report
from portal.staff.access import role_required
from portal.staff.forms import ConfirmForm, ResolveForm, TextForm
from portal.staff.triage import require_valid

bp = Blueprint("agency", __name__, url_prefix="/staff/agency")


@bp.get("/")
@role_required("agency")
def inbox():
    """Reports currently with this agency, oldest first."""
    query = handling.queue_query(
        statuses=[status.TRANSFERRED, status.ACCEPTED, status.RESOLVED],
        agency_id=current_user.agency_id,
    )
    chosen = request.args.get("deadline")
    query = deadlines.filter_query(query, chosen)
    reports = db.session.scalars(query.limit(500)).all()
    # The list shows each case's opening words: masked, like the case page.
    excerpts = {report.id: agency_copy.excerpt(report) for report in reports}
    shown = render_template("staff/inbox.html", reports=reports, excerpts=excerpts,
                            deadline_rows=deadlines.row_deadlines([r.id for r in reports]),
                            deadline_filters=deadlines.FILTERS,
                            chosen_deadline=chosen if chosen in deadlines.FILTERS else "")
    handling.log_list_view(current_user, "agency.inbox", reports)  # after rendering, see triage
    return shown


def load_own_case(report_id: int) -> Report:
    """The case if it is with this user's agency; 404 otherwise (no hint that it exists)."""
    report = db.session.get(Report, report_id)
    if report is None or not handling.agency_may_see(current_user, report):
        abort(404)
    return report


@bp.get("/cases/<int:report_id>")
@role_required("agency")
def case(report_id: int):
    report = load_own_case(report_id)
    handling.log_view(current_user, report)
    masked_copy = agency_copy.agency_view(report, current_user.agency_id)
    disclosed = disclosure.disclosed_to_agency(current_user, report)
    return render_template(
        "staff/agency_case.html", report=report, masked_copy=masked_copy,
        message_rows=masked_copy["messages"], disclosed=disclosed, text_form=TextForm(),
        confirm_form=ConfirmForm(), resolve_form=ResolveForm(),
        can=lambda action: status.can(action, report.status),
    )


def _run(report_id: int, action, *, back_to_case=True):
    report = load_own_case(report_id)
    try:
        # Locked first, then checked again: the Front may have withdrawn the transfer since
        # the page was opened (portal/reports/handling.py, lock_report).
        handling.lock_report(report)
        if not handling.agency_may_see(current_user, report):
            raise handling.ActionError(_("Hồ sơ này không còn ở cơ quan của bạn."))
        action(report)
    except handling.ActionError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        if not handling.agency_may_see(current_user, report):
            return redirect(url_for("agency.inbox"))
        return redirect(url_for("agency.case", report_id=report_id))
    flash(_("Đã cập nhật hồ sơ."), "success")
    if back_to_case:
        return redirect(url_for("agency.case", report_id=report_id))
    return redirect(url_for("agency.inbox"))


@bp.post("/cases/<int:report_id>/accept")
@role_required("agency")
def accept(report_id: int):
    def action(report):
        require_valid(ConfirmForm())
        handling.accept(current_user, report)

    return _run(report_id, action)


@bp.post("/cases/<int:report_id>/return")
@role_required("agency")
def return_case(report_id: int):
    # After returning, the case is no longer this agency's: go back to the inbox.
    return _run(report_id, lambda r: handling.return_not_competent(
        current_user, r, require_valid(TextForm()).body.data), back_to_case=False)


@bp.post("/cases/<int:report_id>/message")
@role_required("agency")
def message(report_id: int):
    return _run(report_id, lambda r: handling.message_reporter(
        current_user, r, require_valid(TextForm()).body.data))


@bp.post("/cases/<int:report_id>/resolve")
@role_required("agency")
def resolve(report_id: int):
    def action(report):
        form = require_valid(ResolveForm())
        handling.resolve(current_user, report, result_text=form.body.data,
                         outcome_code=form.outcome_code.data)

    return _run(report_id, action)


@bp.post("/cases/<int:report_id>/extend-deadline")
@role_required("agency")
def extend_deadline(report_id: int):
    """Extend one of the case's deadlines on a lawful ground, with the reason."""
    def action(report):
        form = require_valid(ExtendDeadlineForm())
        deadlines.extend(current_user, report, form.chosen_deadline_id(), form.ground.data,
                         form.reason.data)

    return _run(report_id, action)
