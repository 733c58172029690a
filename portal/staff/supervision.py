"""Supervisors: read-only figures across all agencies (deepened by the supervision issue)."""

from flask import Blueprint, render_template
from sqlalchemy import func, select

from portal.agencies.models import Agency
from portal.extensions import db
from portal.reports.models import Report
from portal.staff.access import role_required

bp = Blueprint("supervision", __name__, url_prefix="/staff/supervision")


def _counts(column):
    rows = db.session.execute(select(column, func.count()).group_by(column)).all()
    return sorted(((key, n) for key, n in rows), key=lambda item: -item[1])


@bp.get("/")
@role_required("supervisor", "admin")
def overview():
    """Counts by status, type and sector, and the cases each agency holds."""
    by_agency = db.session.execute(
        select(Agency.name, Report.status, func.count())
        .join(Report, Report.current_agency_id == Agency.id)
        .group_by(Agency.name, Report.status)
        .order_by(Agency.name)
    ).all()
    return render_template(
        "staff/supervision.html",
        total=db.session.scalar(select(func.count(Report.id))),
        by_status=_counts(Report.status),
        by_type=_counts(Report.report_type),
        by_sector=_counts(Report.sector),
        by_agency=by_agency,
    )
