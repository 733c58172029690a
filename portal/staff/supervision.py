"""Supervisors and admins: the dashboard, its drill-down lists and the periodic reports
(docs/supervision.md).

Thin views: read the query string (unknown values are ignored, never trusted), ask
portal/supervision/stats.py for the figures, render them or hand them to the exports. Every
page that lists cases is written to the audit trail, as the queues are; so is every report
downloaded.
"""

from datetime import date

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from portal import geo, labels
from portal.agencies.models import Agency
from portal.audit import services as audit
from portal.deadlines import services as deadlines
from portal.deadlines.calendar import local_date
from portal.extensions import db
from portal.reports import handling
from portal.reports.models import REPORT_TYPES, SECTORS, Report
from portal.staff.access import role_required
from portal.supervision import cli, clusters, exports, hotspots, periods, present, stats
from portal.supervision.periods import PeriodError

bp = Blueprint("supervision", __name__, url_prefix="/staff/supervision")
# `flask --app portal supervision refresh | rebuild-facts | check` (portal/supervision/cli.py).
for _command in cli.COMMANDS:
    bp.cli.add_command(_command)

READERS = ("supervisor", "admin")
PAGE_SIZE = 50


def _int_arg(args, name: str) -> int | None:
    value = (args.get(name) or "").strip()
    return int(value) if value.isdigit() else None


def stats_filter(args, default: periods.Period) -> tuple[stats.StatsFilter, list[str]]:
    """The figures' filter from a query string: ``from``/``to`` (dd/mm/yyyy; default
    ``default``), ``agency_id``, ``sector``, ``report_type``, ``province_code``,
    ``ward_code``. Returns the filter and the messages about what was refused."""
    errors = []
    try:
        date_from = periods.parse_date(args.get("from")) or default.date_from
        date_to = periods.parse_date(args.get("to")) or default.date_to
        periods.custom(date_from, date_to)
    except PeriodError as exc:
        errors.append(exc.message)
        date_from, date_to = default.date_from, default.date_to
    agency_id = _int_arg(args, "agency_id")
    if agency_id is not None and db.session.get(Agency, agency_id) is None:
        agency_id = None
    ward_code = _int_arg(args, "ward_code")
    province_code = _int_arg(args, "province_code")
    if ward_code is not None and geo.ward_province(ward_code) is None:
        ward_code = None
    if province_code is not None and geo.province_name(province_code) is None:
        province_code = None
    if ward_code is not None:
        # A commune belongs to one province: the commune decides.
        province_code = geo.ward_province(ward_code)
    sector, report_type = args.get("sector"), args.get("report_type")
    return stats.StatsFilter(
        date_from=date_from, date_to=date_to, agency_id=agency_id,
        sector=sector if sector in SECTORS else None,
        report_type=report_type if report_type in REPORT_TYPES else None,
        province_code=province_code, ward_code=ward_code,
    ), errors


def _today() -> date:
    return local_date(deadlines.now())


def _quarter_to_date() -> periods.Period:
    today = _today()
    quarter = periods.quarter_of(today)
    return periods.Period("custom", quarter.date_from, today)


def _form_choices(f: stats.StatsFilter) -> dict:
    agencies = db.session.execute(
        select(Agency.id, Agency.name, Agency.kind).where(Agency.active.is_(True))
        .order_by(Agency.kind, Agency.ward_code.is_not(None), Agency.name)).all()
    return {
        "agencies": agencies,
        "provinces": geo.provinces(),
        "wards": geo.wards_of(f.province_code or 0),
        "sector_labels": labels.SECTOR_LABELS,
        "type_labels": labels.REPORT_TYPE_LABELS,
    }


@bp.get("/")
@role_required(*READERS)
def overview():
    """The dashboard: the period's figures, whole and by agency, type, sector, place, month and
    outcome, with charts beside the tables and links to the cases behind each number; then the
    deadlines overdue or due soon."""
    f, errors = stats_filter(request.args, _quarter_to_date())
    alerts, alerts_at = _stored_alerts()  # first: it may commit
    statistics = stats.compute(f)
    watch = deadlines.overdue_and_soon()
    page = render_template(
        "staff/supervision.html", statistics=statistics, tables=present.tables(statistics),
        charts=present.dashboard_charts(statistics), filter=f, filter_args=f.query_args(),
        scope=stats.describe_filter(f), errors=errors, deadline_watch=watch,
        cluster_alerts=alerts, alerts_computed_at=alerts_at,
        alerts_stale=(deadlines.now() - alerts_at).total_seconds()
        > 60 * int(current_app.config.get("SUPERVISION_ALERTS_MAX_AGE_MINUTES", 60)),
        **_form_choices(f),
    )
    # The page names the cases with an overdue or due-soon deadline: a list view, logged as
    # the queues are (after rendering: the commit expires what the page reads).
    handling.log_list_view(current_user, "supervision.overview",
                           [row["report"] for row in watch["rows"]])
    return page


def _stored_alerts():
    """The hot-spot alerts as the periodic ``flask supervision refresh`` last stored them,
    and when (they take seconds to compute at a million reports: not on every view). Never
    computed yet (a new installation): computed once here and stored."""
    stored = hotspots.stored_alerts()
    if stored is None:
        now = hotspots.current_time()
        alerts = hotspots.store_alerts(now, hotspots.Settings.from_config(current_app.config),
                                       clusters.Settings.from_config(current_app.config))
        try:
            db.session.commit()
        except IntegrityError:  # another view stored them at the same moment
            db.session.rollback()
            return hotspots.stored_alerts()
        return alerts, now
    return stored


@bp.get("/cases")
@role_required(*READERS)
def cases():
    """The cases behind one figure of the dashboard (same filter, measure, breakdown and key):
    case number, dates, status, classification, place and holder — no text, no identity."""
    f, _errors = stats_filter(request.args, _quarter_to_date())
    measure = request.args.get("measure")
    dim = request.args.get("dim") or None
    if measure is None:  # no figure chosen: the figures to choose from
        return redirect(url_for("supervision.overview", **f.query_args()))
    if measure not in present.DRILLABLE or (dim is not None and dim not in stats.DIMENSIONS):
        abort(404)
    try:
        key = stats.parse_key(dim, request.args.get("key")) if dim else None
        ids = stats.case_ids(f, measure, dim, key)
    except (KeyError, ValueError):
        abort(404)
    query = select(Report).where(Report.id.in_(ids)).order_by(Report.created_at, Report.id)
    total = db.session.scalar(select(func.count()).select_from(ids.subquery()))
    page = max(_int_arg(request.args, "page") or 1, 1)
    reports = db.session.scalars(query.limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)).all()
    shown = render_template(
        "staff/supervision_cases.html", reports=reports, total=total, page=page,
        pages=max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1),
        page_args={k: v for k, v in request.args.items() if k != "page"},
        measure_label=stats.measure_labels()[measure],
        key_label=stats.key_label(dim, key, f) if dim else None,
        dim_label=stats.dimension_labels()[dim] if dim else None,
        filter=f, filter_args=f.query_args(), scope=stats.describe_filter(f),
        deadline_rows=deadlines.row_deadlines([r.id for r in reports]),
    )
    handling.log_list_view(current_user, "supervision.cases", reports)
    return shown


def _report_form(errors: list[str], status: int = 200):
    today = _today()
    f, _ignored = stats_filter(request.args, _quarter_to_date())
    return render_template(
        "staff/supervision_report.html", errors=errors, args=request.args,
        this_year=today.year, this_quarter=periods.quarter_of(today).number,
        years=list(range(today.year, today.year - 6, -1)), formats=exports.FORMATS,
        filter=f, **_form_choices(f),
    ), status


@bp.get("/report")
@role_required(*READERS)
def report():
    """The periodic report for a quarter, six months, a year or a custom range, as DOCX
    (Decree 30/2020 layout), XLSX or CSV: ``?period=quarter&year=2026&quarter=3&format=docx``.
    Without a format (or with a bad period), the form to choose them."""
    fmt = request.args.get("format")
    if "period" not in request.args and fmt is None:
        return _report_form([])
    try:
        period = periods.from_args(request.args)
    except PeriodError as exc:
        return _report_form([exc.message], 400)
    if fmt not in exports.FORMATS:
        return _report_form([_("Vui lòng chọn định dạng: DOCX, XLSX hoặc CSV.")], 400)
    args = {**request.args.to_dict(), "from": periods.format_date(period.date_from),
            "to": periods.format_date(period.date_to)}
    if fmt == "docx":
        # An administrative document is in Vietnamese whatever the page's language.
        with force_locale("vi"):
            f, _errors = stats_filter(args, period)
            statistics = stats.compute(f)
            letterhead = exports.Letterhead.from_config(current_app.config)
            body = exports.docx_bytes(statistics, period, letterhead, stats.describe_filter(f))
        mimetype = exports.DOCX_TYPE
    else:
        f, _errors = stats_filter(args, period)
        statistics = stats.compute(f)
        scope = stats.describe_filter(f)
        if fmt == "xlsx":
            body, mimetype = exports.xlsx_bytes(statistics, period, scope), exports.XLSX_TYPE
        else:
            body, mimetype = exports.csv_bytes(statistics), exports.CSV_TYPE
    audit.record("export_supervision_report", user=current_user, format=fmt,
                 period=period.kind, date_from=f.date_from.isoformat(),
                 date_to=f.date_to.isoformat(), agency_id=f.agency_id, sector=f.sector,
                 report_type=f.report_type, province_code=f.province_code,
                 ward_code=f.ward_code)
    db.session.commit()
    return Response(body, mimetype=mimetype, headers={
        "Content-Disposition": f'attachment; filename="{exports.file_name(period, fmt)}"'})
