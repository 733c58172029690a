"""Front staff: the triage queue, the case page and triage actions."""

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from wtforms.fields.choices import SelectChoice

from portal import geo
from portal.accounts.models import User
from portal.agencies.models import Agency
from portal.classification.services import evidence_segments
from portal.deadlines import services as deadlines
from portal.deadlines.forms import ExtendDeadlineForm
from portal.extensions import db
from portal.labels import AGENCY_KIND_LABELS
from portal.protection import agency_copy
from portal.reports import handling, status
from portal.reports.models import REPORT_TYPES, SECTORS, Report
from portal.routing import services as routing
from portal.staff.access import role_required
from portal.staff.forms import (
    ClassifyForm,
    ConfirmForm,
    MergeForm,
    ReassignForm,
    RedactionForm,
    TextForm,
    TransferForm,
)
from portal.staff.supervision import bp as supervision_bp
from portal.supervision import clusters

bp = Blueprint("triage", __name__, url_prefix="/staff/triage")

PAGE_SIZE = 50
CASE_READERS = ("triage", "supervisor", "admin")
# The queue's "Người xử lý" filter: the reports I handle, or those nobody handles yet.
CLAIM_FILTERS = ("mine", "none")


def _int_arg(name: str) -> int | None:
    value = request.args.get(name, "")
    return int(value) if value.isdigit() else None


def queue_filters() -> dict:
    """Filters from the query string; unknown values are ignored, never trusted."""
    chosen_status = request.args.get("status", "front")
    if chosen_status == "all":
        statuses = None
    elif chosen_status in status.STATUSES:
        statuses = [chosen_status]
    else:
        chosen_status, statuses = "front", list(status.WITH_FRONT)
    report_type = request.args.get("report_type")
    sector = request.args.get("sector")
    crime = request.args.get("crime")
    claim = request.args.get("claim")
    return {
        "claim": claim if claim in CLAIM_FILTERS else None,
        "crime_signs": {"yes": True, "no": False}.get(crime),
        "chosen_status": chosen_status,
        "statuses": statuses,
        "report_type": report_type if report_type in REPORT_TYPES else None,
        "sector": sector if sector in SECTORS else None,
        "province_code": _int_arg("province_code"),
        "ward_code": _int_arg("ward_code"),
        "search": (request.args.get("q") or "").strip()[:200] or None,
        "deadline": request.args.get("deadline") if request.args.get("deadline")
        in deadlines.FILTERS else None,
    }


@bp.get("/")
@role_required(*CASE_READERS)
def queue():
    """New and returned reports, oldest first, with filters and accent-insensitive search."""
    filters = queue_filters()
    query = handling.queue_query(
        crime_first=True,
        claimed_by=current_user.id if filters["claim"] == "mine" else None,
        unclaimed=filters["claim"] == "none",
        **{k: v for k, v in filters.items() if k not in ("chosen_status", "deadline", "claim")})
    query = deadlines.filter_query(query, filters["deadline"])
    page = max(_int_arg("page") or 1, 1)
    total = handling.count(query)
    reports = db.session.scalars(query.options(selectinload(Report.claimed_by))
                                 .limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)).all()
    shown = render_template(
        "staff/queue.html", reports=reports, filters=filters, total=total, page=page,
        pages=max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1), provinces=geo.provinces(),
        wards=geo.wards_of(filters["province_code"] or 0), statuses=status.STATUSES,
        page_args={k: v for k, v in request.args.items() if k != "page"},
        deadline_rows=deadlines.row_deadlines([r.id for r in reports]),
        deadline_filters=deadlines.FILTERS,
        may_act=current_user.role == "triage",
    )
    # Logged after rendering (the commit would expire the rows the page reads), before the
    # page leaves: if the log cannot be written, nothing is shown.
    handling.log_list_view(current_user, "triage.queue", reports)
    return shown


def load_case(report_id: int) -> Report:
    report = db.session.get(Report, report_id)
    if report is None:
        abort(404)
    return report


def agency_choices():
    """Active agencies grouped by kind, for the transfer form."""
    agencies = db.session.scalars(
        select(Agency).where(Agency.active.is_(True)).order_by(Agency.kind, Agency.ward_code.is_not(None),
                                                               Agency.name)
    )
    return [
        SelectChoice(agency.id, agency.name, optgroup=str(AGENCY_KIND_LABELS[agency.kind]))
        for agency in agencies
    ]


@bp.get("/cases/<int:report_id>")
@role_required(*CASE_READERS)
def case(report_id: int):
    """The whole case for the Front: report, identity choices (not the identity itself), files,
    history, notes, messages, and the masked copy the agency will read."""
    report = load_case(report_id)
    handling.log_view(current_user, report)
    predicted = report.classification.result if report.classification else None
    classify_form = prefilled_classify_form(report, predicted)
    # The routing rules' suggestion, shown beside the transfer form and preselected in it.
    suggestion = (routing.suggest_for_report(report)
                  if status.can("transfer", report.status) else None)
    follow = suggestion is not None and suggestion.clause != 0  # clause 0: no rule applies
    transfer_form = TransferForm(
        agency_id=suggestion.agency_id if follow else None,
        body=f"{suggestion.rule_id}: {suggestion.legal_basis}" if follow else None)
    transfer_form.agency_id.choices = agency_choices()
    with_front = report.status in status.WITH_FRONT
    claimed_by_other = report.claimed_by_user_id not in (None, current_user.id)
    supervising = current_user.role in handling.SUPERVISING_ROLES
    reassign_form = None
    if supervising and with_front:
        reassign_form = ReassignForm(officer_id=report.claimed_by_user_id)
        reassign_form.officer_id.choices = triage_officer_choices()
    return render_template(
        "staff/case.html", report=report, classify_form=classify_form, predicted=predicted,
        text_segments=evidence_segments(report.text, predicted),
        message_rows=[(m, [(m.body, False)]) for m in report.messages],
        review_items=agency_copy.review_items(report),
        reviewed_at=agency_copy.reviewed_at(report),
        agency_preview=agency_copy.agency_view(report, None),
        redaction_form=RedactionForm(phrases="\n".join(agency_copy.phrases(report))),
        transfer_form=transfer_form, text_form=TextForm(), merge_form=MergeForm(),
        suggestion=suggestion, routing_history=routing.routing_history(report),
        can=lambda action: status.can(action, report.status),
        may_act=current_user.role == "triage",
        # Deciding (classify, mask, transfer, close) is for the officer who claimed the report,
        # or anyone while nobody has; notes and messages stay open to every officer.
        may_decide=current_user.role == "triage" and not claimed_by_other,
        may_claim=current_user.role == "triage" and with_front
        and report.claimed_by_user_id is None,
        may_release=report.claimed_by_user_id is not None and (
            report.claimed_by_user_id == current_user.id or supervising),
        reassign_form=reassign_form,
        similar=[member for member in clusters.members_of(
            clusters.cluster_of(report, cluster_settings())) if member.id != report.id],
    )


def triage_officer_choices():
    """Active triage officers, for a supervisor's reassignment."""
    officers = db.session.scalars(
        select(User).where(User.role == "triage", User.active.is_(True))
        .order_by(User.display_name, User.id))
    return [(officer.id, officer.display_name) for officer in officers]


def cluster_settings() -> clusters.Settings:
    """The clustering thresholds of the app config (docs/clusters.md)."""
    return clusters.Settings.from_config(current_app.config)


@bp.get("/cases/<int:report_id>/similar")
@role_required(*CASE_READERS)
def cluster(report_id: int):
    """The reports about the same matter as this case (docs/clusters.md): case number, date,
    place, sector and status — no text, no identity — and, for triage staff, the existing
    merge action to close this case as a duplicate of one of them."""
    report = load_case(report_id)
    ids = clusters.cluster_of(report, cluster_settings())
    shown = render_template(
        "staff/cluster.html", report=report, members=clusters.members_of(ids),
        settings=cluster_settings(),
        may_merge=current_user.role == "triage" and status.can("merge_duplicate", report.status),
    )
    # Logged after rendering, as the queue is (the commit would expire what the page reads).
    clusters.log_view(current_user, report, "triage.cluster", ids)
    return shown


def prefilled_classify_form(report, predicted: dict | None) -> ClassifyForm:
    """Staff's own values, else the classifier's suggestion (they confirm, not retype)."""
    guess = predicted or {}

    def suggested(field):
        return (guess.get(field) or {}).get("code", "")

    crime = report.crime_confirmed
    if crime is None and guess:
        crime = guess["crime_signs"]["flag"]
    return ClassifyForm(
        report_type=report.report_type or suggested("report_type"),
        sector=report.sector or suggested("sector"),
        subject=report.subject or suggested("subject"),
        flags=report.flags or guess.get("flags", []),
        crime={True: "yes", False: "no"}.get(crime, ""),
    )


def _run(report_id: int, action, *, done=None):
    """Run a triage action on a case and come back to it with the outcome.

    The report is locked first (portal/reports/handling.py, lock_report), so that what the
    action checks is what the report is now, not what it was when the page was opened."""
    report = load_case(report_id)
    try:
        handling.lock_report(report)
        action(report)
    except handling.ActionError as exc:
        db.session.rollback()
        flash(exc.message, "error")
    else:
        flash(done or _("Đã cập nhật hồ sơ."), "success")
    return redirect(url_for("triage.case", report_id=report_id))


def require_valid(form):
    if not form.validate_on_submit():
        raise handling.ActionError(_("Vui lòng điền đủ thông tin."))
    return form


@bp.post("/cases/<int:report_id>/classify")
@role_required("triage")
def classify(report_id: int):
    def action(report):
        form = ClassifyForm()
        if not form.validate_on_submit():
            raise handling.ActionError(_("Biểu mẫu không hợp lệ."))
        handling.classify(current_user, report, report_type=form.report_type.data,
                          sector=form.sector.data, subject=form.subject.data,
                          flags=form.flags.data or [],
                          crime={"yes": True, "no": False}.get(form.crime.data))

    return _run(report_id, action)


@bp.post("/cases/<int:report_id>/note")
@role_required("triage")
def note(report_id: int):
    return _run(report_id, lambda r: handling.add_note(
        current_user, r, require_valid(TextForm()).body.data))


@bp.post("/cases/<int:report_id>/message")
@role_required("triage")
def message(report_id: int):
    return _run(report_id, lambda r: handling.message_reporter(
        current_user, r, require_valid(TextForm()).body.data))


@bp.post("/cases/<int:report_id>/redaction")
@role_required("triage")
def redaction(report_id: int):
    """Save which proposed masks stay (checked) and the extra phrases to mask."""
    def action(report):
        form = require_valid(RedactionForm())
        handling.check_claim(current_user, report)
        agency_copy.save_review(current_user, report, request.form.getlist("mask"),
                                form.phrases.data)
        db.session.commit()

    return _run(report_id, action)


@bp.post("/cases/<int:report_id>/transfer")
@role_required("triage")
def transfer(report_id: int):
    def action(report):
        form = TransferForm()
        form.agency_id.choices = []
        require_valid(form)
        agency_id = form.agency_id.data
        agency = db.session.get(Agency, agency_id) if agency_id else None
        handling.transfer(current_user, report, agency, form.body.data,
                          override_reason=form.override_reason.data)

    return _run(report_id, action)


@bp.post("/cases/<int:report_id>/withdraw")
@role_required("triage")
def withdraw(report_id: int):
    return _run(report_id, lambda r: handling.withdraw_transfer(
        current_user, r, require_valid(TextForm()).body.data))


@bp.post("/cases/<int:report_id>/spam")
@role_required("triage")
def spam(report_id: int):
    return _run(report_id, lambda r: handling.mark_spam(
        current_user, r, require_valid(TextForm()).body.data))


@bp.post("/cases/<int:report_id>/restore")
@role_required("triage")
def restore(report_id: int):
    def action(report):
        require_valid(ConfirmForm())
        handling.restore(current_user, report)

    return _run(report_id, action)


@bp.post("/cases/<int:report_id>/merge")
@role_required("triage")
def merge(report_id: int):
    return _run(report_id, lambda r: handling.merge_duplicate(
        current_user, r, require_valid(MergeForm()).target_id.data))


@bp.post("/cases/<int:report_id>/claim")
@role_required("triage")
def claim(report_id: int):
    """Nhận xử lý: this officer handles the report from now on."""
    report = load_case(report_id)
    try:
        require_valid(ConfirmForm())
        taken = handling.claim(current_user, report)
    except handling.ActionError as exc:
        db.session.rollback()
        flash(exc.message, "error")
    else:
        flash(_("Bạn đã nhận xử lý hồ sơ này.") if taken
              else _("Bạn đang xử lý hồ sơ này."), "success")
    return redirect(url_for("triage.case", report_id=report_id))


@bp.post("/next")
@role_required("triage")
def take_next():
    """Nhận hồ sơ tiếp theo: claim the first report nobody handles (crime signs first, then
    the oldest) and open it."""
    try:
        require_valid(ConfirmForm())
    except handling.ActionError as exc:
        flash(exc.message, "error")
        return redirect(url_for("triage.queue"))
    report = handling.take_next(current_user)
    if report is None:
        flash(_("Không còn hồ sơ nào chưa có người nhận."), "success")
        return redirect(url_for("triage.queue"))
    flash(_("Bạn đã nhận xử lý hồ sơ %(number)s.", number=report.case_number), "success")
    return redirect(url_for("triage.case", report_id=report.id))


@bp.post("/cases/<int:report_id>/release")
@role_required("triage")
def release(report_id: int):
    """Trả về hàng chờ: the officer gives the report they claimed back to the queue."""
    return _release(report_id)


def _release(report_id: int):
    def action(report):
        require_valid(ConfirmForm())
        handling.release(current_user, report)

    return _run(report_id, action, done=_("Hồ sơ đã được trả về hàng chờ."))


# Supervisors read the Front's cases but do not triage them; what they may do about claims
# (release anyone's, give a report to another officer) lives in their own area, next to the
# dashboard, like the clusters pages (portal/staff/clusters.py).

@supervision_bp.post("/cases/<int:report_id>/release")
@role_required(*handling.SUPERVISING_ROLES)
def supervisor_release(report_id: int):
    """A supervisor ends an officer's claim (e.g. one who is away): back to the queue."""
    return _release(report_id)


@supervision_bp.post("/cases/<int:report_id>/reassign")
@role_required(*handling.SUPERVISING_ROLES)
def reassign(report_id: int):
    """A supervisor gives a report at the Front to another triage officer."""
    def action(report):
        form = ReassignForm()
        form.officer_id.choices = []
        require_valid(form)
        officer = db.session.get(User, form.officer_id.data) if form.officer_id.data else None
        handling.reassign(current_user, report, officer)

    return _run(report_id, action, done=_("Đã giao hồ sơ cho cán bộ được chọn."))


@bp.post("/cases/<int:report_id>/extend-deadline")
@role_required("triage")
def extend_deadline(report_id: int):
    """Extend one of the case's deadlines on a lawful ground, with the reason."""
    def action(report):
        form = require_valid(ExtendDeadlineForm())
        deadlines.extend(current_user, report, form.chosen_deadline_id(), form.ground.data,
                         form.reason.data)

    return _run(report_id, action)
