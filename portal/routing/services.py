"""Routing for stored reports: the suggestion for a case, overrides, returns and re-routes.

The facts come from what staff confirmed on the report, falling back to the classifier's
answer (``Classification.result``) for what they have not confirmed yet; the directory is the
active agencies. History (transfers, returns, withdrawals) is read from the report's events,
which the status machine writes — nothing here changes a report.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from flask import current_app, has_app_context
from sqlalchemy import select

from portal.agencies.models import Agency
from portal.extensions import db
from portal.routing.engine import DirectoryEntry, Suggestion, suggest
from portal.routing.facts import Facts, derive_facts
from portal.routing.loader import RuleSet, default_rules

EXTENSION = "tinbao.routing"


def current_rules() -> RuleSet:
    """The rules the application loaded at start-up (the packaged ones outside an app)."""
    if has_app_context() and EXTENSION in current_app.extensions:
        return current_app.extensions[EXTENSION]
    return default_rules()


def directory_entries() -> list[DirectoryEntry]:
    """Every active agency, as plain rows for the engine."""
    agencies = db.session.scalars(select(Agency).where(Agency.active.is_(True)))
    return [DirectoryEntry(id=a.id, kind=a.kind, name=a.name, province_code=a.province_code,
                           ward_code=a.ward_code, sectors=tuple(a.sectors or ()))
            for a in agencies]


def report_inputs(report) -> dict:
    """The engine's inputs for a stored report (see :func:`portal.routing.facts.derive_facts`).

    Staff classifying a report always sets its sector, so a sector means staff confirmed the
    type, subject and flags too; before that the type is the reporter's choice and the flags
    are the classifier's.
    """
    confirmed = report.sector is not None
    return {
        "text": report.text,
        "involved": report.involved,
        "report_type": report.report_type,
        "subject": report.subject,
        "sector": report.sector,
        "sources": {"report_type": "staff" if confirmed else "reporter",
                    "subject": "staff", "sector": "staff"},
        "flags": list(report.flags or []) if confirmed else None,
        "crime_confirmed": report.crime_confirmed,
        "province_code": report.province_code,
        "ward_code": report.ward_code,
        "anonymous": bool(report.anonymous),
        "classifier": report.classification.result if report.classification else None,
    }


def facts_for_report(report, rules: RuleSet | None = None) -> Facts:
    return derive_facts(report_inputs(report), rules or current_rules())


def suggest_for_report(report, *, rules: RuleSet | None = None,
                       directory: list[DirectoryEntry] | None = None) -> Suggestion:
    """Where the rules send ``report`` now, with the rule, its legal basis and the reasoning."""
    rules = rules or current_rules()
    if directory is None:
        directory = directory_entries()
    return suggest(facts_for_report(report, rules), rules, directory)


def is_override(suggestion: Suggestion, agency) -> bool:
    """Whether sending the case to ``agency`` departs from the suggestion.

    When the rules name a kind but the directory has no such body for the place (e.g. the
    commune is unknown), any body of that kind follows the rule. When no rule applies (clause
    0, "the officer decides") there is nothing to depart from.
    """
    if suggestion.clause == 0:
        return False
    if suggestion.agency_id is not None:
        return agency.id != suggestion.agency_id
    return agency.kind != suggestion.agency_kind


# --- returns and re-routes ------------------------------------------------------------------

@dataclass(frozen=True)
class RoutingHistory:
    """How a case has moved between agencies so far (from its events)."""

    transfers: int
    returns: int
    withdrawals: int
    overrides: int
    # Agencies that returned the case as not competent, oldest first (ids and names).
    returned_by: tuple[tuple[int | None, str], ...] = ()

    @property
    def reroutes(self) -> int:
        """Transfers after the first one."""
        return max(self.transfers - 1, 0)


def routing_history(report) -> RoutingHistory:
    """Transfers, returns (not competent), withdrawals and overrides of one case."""
    events = report.events
    returned = tuple((e.agency_id, e.agency.name if e.agency else "")
                     for e in events if e.kind == "return")
    return RoutingHistory(
        transfers=sum(e.kind == "transfer" for e in events),
        returns=len(returned),
        withdrawals=sum(e.kind == "withdraw_transfer" for e in events),
        overrides=sum(e.kind == "transfer" and e.override_reason is not None for e in events),
        returned_by=returned,
    )


@dataclass(frozen=True)
class MisroutingRate:
    """Share of transfers that the receiving agency returned as not competent."""

    transfers: int
    returns: int
    overrides: int
    # rule id → (transfers made under it, of which returned); None: transfers made before the
    # rules existed.
    by_rule: dict = field(default_factory=dict)

    @property
    def rate(self) -> float | None:
        return self.returns / self.transfers if self.transfers else None


def misrouting_rate(since: datetime | None = None) -> MisroutingRate:
    """Returns per transfer over all reports (transfers made from ``since`` on).

    A return is charged to the transfer it undid, and so to the rule behind that transfer:
    that tells which rules send cases to the wrong place.
    """
    from portal.reports.models import ReportEvent

    query = (select(ReportEvent.report_id, ReportEvent.kind, ReportEvent.routing_rule,
                    ReportEvent.override_reason, ReportEvent.created_at)
             .where(ReportEvent.kind.in_(("transfer", "return")))
             .order_by(ReportEvent.report_id, ReportEvent.id))
    counts = defaultdict(lambda: [0, 0])
    transfers = returns = overrides = 0
    last_transfer: dict[int, tuple[str | None, bool]] = {}
    for report_id, kind, rule, override, created_at in db.session.execute(query):
        if kind == "transfer":
            counted = since is None or created_at >= since
            last_transfer[report_id] = (rule, counted)
            if counted:
                transfers += 1
                overrides += override is not None
                counts[rule][0] += 1
        elif report_id in last_transfer:
            rule, counted = last_transfer.pop(report_id)
            if counted:
                returns += 1
                counts[rule][1] += 1
    return MisroutingRate(transfers=transfers, returns=returns, overrides=overrides,
                          by_rule={rule: tuple(pair) for rule, pair in counts.items()})
