"""Supervisors: clusters of reports about the same matter and hot-spot alerts (docs/clusters.md).

The pages join the supervision blueprint (``/staff/supervision/…``, supervisor and admin only),
so the dashboard's module stays the dashboard's. The dashboard shows the alerts by including
``staff/_supervision_alerts.html``, which calls the ``supervision_alerts()`` template global
registered here unless the view passes ``cluster_alerts`` itself.
"""

from flask import current_app, render_template, request
from flask_login import current_user

from portal.reports.models import SECTORS
from portal.staff.access import role_required
from portal.staff.supervision import bp
from portal.supervision import clusters, hotspots

# The supervision page lists at most this many clusters (largest first).
MAX_CLUSTERS = 100


def _settings() -> tuple[hotspots.Settings, clusters.Settings]:
    return (hotspots.Settings.from_config(current_app.config),
            clusters.Settings.from_config(current_app.config))


def supervision_alerts() -> list[hotspots.Alert]:
    """The alerts in force now (template global for the dashboard's include)."""
    hot, grouping = _settings()
    return hotspots.current_alerts(hotspots.current_time(), hot, grouping)


bp.add_app_template_global(supervision_alerts, "supervision_alerts")


@bp.get("/clusters")
@role_required("supervisor", "admin")
def clusters_page():
    """Current alerts, and the clusters among the reports of the last days with their
    members (case number, date, place, sector, status: what the queue shows, without text)."""
    hot, grouping = _settings()
    now = hotspots.current_time()
    recent = clusters.recent_clusters(now, grouping)
    shown_ids = recent[:MAX_CLUSTERS]
    found = clusters.reports_by_id(report_id for ids in shown_ids for report_id in ids)
    groups = [[found[report_id] for report_id in ids if report_id in found] for ids in shown_ids]
    page = render_template(
        "staff/clusters.html", groups=groups, total=len(recent), settings=grouping,
        hot_settings=hot, cluster_alerts=hotspots.current_alerts(now, hot, grouping, recent),
    )
    clusters.log_view(current_user, None, "supervision.clusters",
                      [report_id for ids in shown_ids for report_id in ids])
    return page


def _int_arg(name: str) -> int | None:
    value = request.args.get(name, "")
    return int(value) if value.isdigit() else None


@bp.get("/clusters/reports")
@role_required("supervisor", "admin")
def alert_reports():
    """The reports behind an alert: filed in the last ``days`` days, in one commune
    (``ward_code``) or sector, or flagged as a mass complaint (``mass=1``)."""
    hot, _grouping = _settings()
    days = min(_int_arg("days") or max(hot.windows), 3650)
    sector = request.args.get("sector")
    criteria = {"days": days, "ward_code": _int_arg("ward_code"),
                "sector": sector if sector in SECTORS else None,
                "mass": request.args.get("mass") == "1"}
    members = clusters.members_of(hotspots.alert_reports(hotspots.current_time(), **criteria))
    page = render_template("staff/alert_reports.html", members=members, criteria=criteria,
                           limit=hotspots.MAX_LISTED)
    clusters.log_view(current_user, None, "supervision.alert_reports", [r.id for r in members])
    return page
