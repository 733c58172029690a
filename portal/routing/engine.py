"""The routing engine: facts and the agency directory in, one suggestion out.

Pure: no database, no request. The caller passes the directory as plain
:class:`DirectoryEntry` rows (``services.directory_entries()`` reads them from the database).
Rules are tried in the file's order and the first whose facts all hold wins (routing.md).
"""

from collections.abc import Iterable
from dataclasses import dataclass

from flask_babel import get_locale
from flask_babel import gettext as _

from portal import geo
from portal.labels import AGENCY_KIND_LABELS
from portal.routing.facts import Facts, value_label
from portal.routing.loader import Rule, RuleSet


@dataclass(frozen=True)
class DirectoryEntry:
    """One active agency of the directory, as the engine needs it."""

    id: int
    kind: str
    name: str
    province_code: int | None = None
    ward_code: int | None = None
    sectors: tuple[str, ...] = ()


@dataclass(frozen=True)
class Suggestion:
    """Where the rules send a report, which rule said so, on what legal basis, and why."""

    rule_id: str
    clause: int
    title: str
    agency_kind: str
    agency_id: int | None
    agency_name: str | None
    legal_basis: str
    reasoning: tuple[str, ...]
    rules_version: str
    # A second body to be told (not sent the case): rule 4's party inspection committee.
    also_inform: str | None = None
    # The rule's title and legal basis in English, for the English back office (``title`` and
    # ``legal_basis`` stay the Vietnamese texts that apply: the CLI and audit entries use them).
    title_en: str | None = None
    legal_basis_en: str | None = None

    def title_in(self, language: str | None) -> str:
        """The rule's title in ``language`` ("en" or "vi")."""
        return (self.title_en or self.title) if language == "en" else self.title

    def legal_basis_in(self, language: str | None) -> str:
        """The legal basis in ``language`` ("en" or "vi")."""
        return (self.legal_basis_en or self.legal_basis) if language == "en" \
            else self.legal_basis

    def as_dict(self) -> dict:
        """Plain data for JSON and audit entries."""
        return {"rule": self.rule_id, "rules_version": self.rules_version,
                "agency_kind": self.agency_kind, "agency_id": self.agency_id,
                "legal_basis": self.legal_basis}


def first_matching_rule(rules: RuleSet, facts: Facts) -> Rule:
    """The first rule whose conditions all hold (the loader guarantees a catch-all last)."""
    return next(rule for rule in rules.rules if rule.matches(facts.values))


def _language() -> str:
    """The language of the request (the reasoning is worded in it), Vietnamese outside one."""
    return str(get_locale() or "vi")


def suggest(facts: Facts, rules: RuleSet, directory: Iterable[DirectoryEntry]) -> Suggestion:
    """Apply the rules to ``facts`` and pick the agency from ``directory``."""
    rule = first_matching_rule(rules, facts)
    agency, where = pick_agency(rule, facts, list(directory))
    language = _language()
    reasoning = [rule.text("title", language)]
    reasoning += [str(facts.reasons[name]) for name in rule.when if name in facts.reasons]
    reasoning.append(where)
    if rule.note:
        reasoning.append(rule.text("note", language))
    return Suggestion(
        rule_id=rule.id, clause=rule.clause, title=rule.title, agency_kind=rule.agency_kind,
        agency_id=agency.id if agency else None, agency_name=agency.name if agency else None,
        legal_basis=rule.legal_basis, reasoning=tuple(reasoning), rules_version=rules.version,
        also_inform=rule.also_inform, title_en=rule.title_en, legal_basis_en=rule.legal_basis_en,
    )


def pick_agency(rule: Rule, facts: Facts, directory: list[DirectoryEntry]):
    """The concrete body of the rule's kind, and a sentence saying how it was chosen.

    Several matching rows (an admin added a second one) → the lowest id, so the answer is
    stable. None when the directory has no such body or the place is unknown.
    """
    kind_label = AGENCY_KIND_LABELS[rule.agency_kind]
    province = facts.province_code
    if province is None:
        return None, _("Chưa rõ tỉnh, thành phố nơi xảy ra: chưa chọn được %(kind)s cụ thể.",
                       kind=kind_label)
    candidates = [a for a in directory if a.kind == rule.agency_kind
                  and a.province_code == province]
    if rule.pick == "commune":
        if facts.ward_code is None:
            return None, _("Chưa rõ xã, phường nơi xảy ra: chọn %(kind)s của xã, phường đó.",
                           kind=kind_label)
        candidates = [a for a in candidates if a.ward_code == facts.ward_code]
        place = geo.ward_name(facts.ward_code) or str(facts.ward_code)
    elif rule.pick == "department":
        department = facts.department
        if department is None:
            return None, _("Không xác định được sở phụ trách (lĩnh vực %(sector)s): chọn sở "
                           "có thẩm quyền.", sector=value_label("sector", facts["sector"]))
        candidates = [a for a in candidates if a.ward_code is None
                      and set(a.sectors) & set(department.sectors)]
        place = department.name
    else:
        candidates = [a for a in candidates if a.ward_code is None]
        place = geo.province_name(province) or str(province)
    if not candidates:
        return None, _("Danh bạ chưa có %(kind)s của %(place)s.", kind=kind_label, place=place)
    agency = min(candidates, key=lambda a: a.id)
    return agency, _("Cơ quan trong danh bạ: %(name)s.", name=agency.name)
