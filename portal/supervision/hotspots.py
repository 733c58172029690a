"""Hot spots: alerts when reports pile up on one commune or one sector, and mass complaints.

Surges: for each window (by default the last 7 and the last 30 days) we count the reports of
each commune and of each sector and compare with the same place's or sector's *baseline*, the
``baseline_days`` (90) before the window, scaled to the window's length. A count raises an
alert when it is at least ``min_count`` (5) and at least ``ratio`` (2) times the baseline's
expectation; with no history the expectation is 0, so ``min_count`` alone decides. Each commune
or sector raises at most one surge alert: the shortest window that fires.

Mass complaints (đông người, taxonomy.md's ``mass`` flag): the reports filed in the last
``mass_days`` days that staff flagged ``mass`` — or, while staff have not classified them, the
classifier did — make one alert, and each cluster of ``CLUSTER_MASS_SIZE`` reports or more
(portal/supervision/clusters.py) makes one.

Spam is never counted; reports merged as duplicates are (many people sending the same thing is
the signal). Every count is a GROUP BY on indexed columns; only the classifier's flags of
reports staff have not classified yet are decrypted (they are inside its encrypted answer).
"""

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from portal.classification.models import Classification
from portal.extensions import db
from portal.reports import status
from portal.reports.models import Report
from portal.supervision import clusters
from portal.supervision.models import Snapshot
from portal.timeutil import utcnow

# Alert kinds, most pressing first (the order of the list on the dashboard).
KINDS = ("large_cluster", "mass_flag", "commune_surge", "sector_surge")
# A drill-down list never shows more than this many reports.
MAX_LISTED = 500


@dataclass(frozen=True)
class Settings:
    """Thresholds (``HOTSPOT_*`` in the app config, docs/clusters.md)."""

    windows: tuple = (7, 30)
    baseline_days: int = 90
    ratio: float = 2.0
    min_count: int = 5
    mass_days: int = 30

    @classmethod
    def from_config(cls, config) -> "Settings":
        windows = config.get("HOTSPOT_WINDOWS", cls.windows)
        if isinstance(windows, str):
            windows = [part for part in windows.replace(" ", "").split(",") if part]
        return cls(
            windows=tuple(sorted(int(days) for days in windows)),
            baseline_days=int(config.get("HOTSPOT_BASELINE_DAYS", cls.baseline_days)),
            ratio=float(config.get("HOTSPOT_RATIO", cls.ratio)),
            min_count=int(config.get("HOTSPOT_MIN_COUNT", cls.min_count)),
            mass_days=int(config.get("HOTSPOT_MASS_DAYS", cls.mass_days)),
        )


@dataclass(frozen=True)
class Alert:
    """One alert, as plain data; the template words it and links to the reports."""

    kind: str
    count: int
    days: int
    # Surges: the reports the baseline predicts for the window, and the baseline's length.
    expected: float | None = None
    baseline_days: int | None = None
    province_code: int | None = None
    ward_code: int | None = None
    sector: str | None = None
    # large_cluster: one member, whose cluster page lists the others.
    report_id: int | None = None

    @property
    def filters(self) -> dict:
        """Query arguments of the drill-down list (``supervision.alert_reports``)."""
        wanted = {"days": self.days, "ward_code": self.ward_code, "sector": self.sector,
                  "mass": 1 if self.kind == "mass_flag" else None}
        return {name: value for name, value in wanted.items() if value is not None}


def current_time() -> datetime:
    """Now, or the test's fixed clock (``app.config["CLOCK"]``, as for deadlines)."""
    clock = current_app.config.get("CLOCK")
    return clock() if clock else utcnow()


def effective_sector():
    """The staff-confirmed sector, else the classifier's (as the triage queue shows it)."""
    return func.coalesce(Report.sector, Classification.sector)


def _filed(since: datetime, until: datetime) -> list:
    return [Report.status != status.SPAM, Report.created_at > since, Report.created_at <= until]


def _counts(keys: list, since: datetime, until: datetime) -> dict:
    rows = db.session.execute(
        select(*keys, func.count(Report.id)).select_from(Report)
        .outerjoin(Classification, Classification.report_id == Report.id)
        .where(*_filed(since, until), *(key.is_not(None) for key in keys))
        .group_by(*keys)
    ).all()
    return {tuple(row[:-1]): row[-1] for row in rows}


def surges(now: datetime, settings: Settings) -> list[Alert]:
    """Communes and sectors with unusually many reports in one of the windows."""
    alerts = []
    dimensions = (
        ("commune_surge", [Report.province_code, Report.ward_code]),
        ("sector_surge", [effective_sector()]),
    )
    for kind, keys in dimensions:
        fired = set()
        for days in settings.windows:
            start = now - timedelta(days=days)
            current = _counts(keys, start, now)
            baseline = _counts(keys, start - timedelta(days=settings.baseline_days), start)
            for key, count in current.items():
                expected = baseline.get(key, 0) * days / settings.baseline_days
                if (key in fired or count < settings.min_count
                        or count < settings.ratio * expected):
                    continue
                fired.add(key)
                place = {"province_code": key[0], "ward_code": key[1]} \
                    if kind == "commune_surge" else {"sector": key[0]}
                alerts.append(Alert(kind=kind, count=count, days=days,
                                    expected=round(expected, 1),
                                    baseline_days=settings.baseline_days, **place))
    return alerts


def mass_flagged(now: datetime, days: int) -> list[int]:
    """Reports filed in the last ``days`` days flagged ``mass`` (đông người), newest first:
    by staff, or by the classifier while staff have not classified the report."""
    rows = db.session.execute(
        select(Report.id, Report.sector, Report.flags)
        .where(*_filed(now - timedelta(days=days), now))
        .order_by(Report.created_at.desc(), Report.id.desc())
    ).all()
    # Staff have classified a report once it has a sector (handling.classify requires one).
    unclassified = [report_id for report_id, sector, _flags in rows if sector is None]
    by_classifier = set()
    if unclassified:
        for verdict in db.session.scalars(
            select(Classification).where(Classification.report_id.in_(unclassified))
            .options(selectinload(Classification.report))
        ):
            if "mass" in ((verdict.result or {}).get("flags") or []):
                by_classifier.add(verdict.report_id)
    return [report_id for report_id, sector, flags in rows
            if (sector is not None and "mass" in (flags or []))
            or (sector is None and report_id in by_classifier)]


def current_alerts(now: datetime, settings: Settings,
                   cluster_settings: clusters.Settings,
                   recent: list[list[int]] | None = None) -> list[Alert]:
    """Every alert in force at ``now``, most pressing kind first.

    ``recent``: the clusters of :func:`clusters.recent_clusters`, when the caller has them.
    """
    if recent is None:
        recent = clusters.recent_clusters(now, cluster_settings)
    alerts = []
    large = [ids for ids in recent if len(ids) >= cluster_settings.mass_size]
    if large:
        newest = clusters.reports_by_id(ids[-1] for ids in large)
        for ids in large:
            member = newest[ids[-1]]
            alerts.append(Alert(kind="large_cluster", count=len(ids),
                                days=cluster_settings.recent_days, report_id=member.id,
                                province_code=member.province_code,
                                ward_code=member.ward_code,
                                sector=member.sector or (member.classification.sector
                                                         if member.classification else None)))
    flagged = mass_flagged(now, settings.mass_days)
    if flagged:
        alerts.append(Alert(kind="mass_flag", count=len(flagged), days=settings.mass_days))
    alerts.extend(surges(now, settings))
    return sorted(alerts, key=lambda alert: (KINDS.index(alert.kind), -alert.count))


def alert_reports(now: datetime, *, days: int, ward_code: int | None = None,
                  sector: str | None = None, mass: bool = False) -> list[int]:
    """The reports behind an alert (its drill-down), newest first, at most ``MAX_LISTED``."""
    if mass:
        ids = mass_flagged(now, days)
        if ward_code is not None or sector is not None:
            wanted = set(alert_reports(now, days=days, ward_code=ward_code, sector=sector))
            ids = [report_id for report_id in ids if report_id in wanted]
        return ids[:MAX_LISTED]
    query = (select(Report.id).outerjoin(Classification, Classification.report_id == Report.id)
             .where(*_filed(now - timedelta(days=days), now)))
    if ward_code is not None:
        query = query.where(Report.ward_code == ward_code)
    if sector is not None:
        query = query.where(effective_sector() == sector)
    query = query.order_by(Report.created_at.desc(), Report.id.desc()).limit(MAX_LISTED)
    return list(db.session.scalars(query))


# --- the stored alerts (the dashboard shows these; `flask supervision refresh` writes them) ---

SNAPSHOT = "hotspot_alerts"


def store_alerts(now: datetime, settings: Settings,
                 cluster_settings: clusters.Settings) -> list[Alert]:
    """Compute the alerts in force at ``now`` and keep them with that time (the caller
    commits). At a million reports this takes seconds (docs/benchmarks.md): a periodic job
    does it, not every view of the dashboard."""
    alerts = current_alerts(now, settings, cluster_settings)
    row = db.session.get(Snapshot, SNAPSHOT) or Snapshot(name=SNAPSHOT)
    row.computed_at = now
    row.data = {"alerts": [asdict(alert) for alert in alerts]}
    db.session.add(row)
    return alerts


def stored_alerts() -> tuple[list[Alert], datetime] | None:
    """The alerts last stored and when they were computed; None if never."""
    row = db.session.get(Snapshot, SNAPSHOT)
    if row is None:
        return None
    return [Alert(**data) for data in row.data.get("alerts", [])], row.computed_at
