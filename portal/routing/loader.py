"""Reading and checking the routing rules file (``rules.yaml``, docs/routing.md).

The file is data an admin reviews, so a mistake in it must stop the portal at start-up with a
message that says where and what, never route reports silently wrong: :func:`load_rules`
collects every problem it finds and raises one :class:`RulesError` listing them.
"""

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

from classifier.taxonomy import FLAGS, REPORT_TYPES, SECTORS, SUBJECTS
from portal.agencies.models import AGENCY_KINDS
from portal.routing.phrases import PhraseList

DEFAULT_RULES_FILE = Path(__file__).with_name("rules.yaml")

# Every fact a rule may test, with the values it can take (docs/routing.md, "Facts").
# ``bool`` facts take true/false; the others one of the listed values (None: unknown).
FACT_VALUES: dict[str, type | tuple] = {
    "report_type": (*REPORT_TYPES, None),
    "subject": (*SUBJECTS, None),
    "sector": (*SECTORS, None),
    "crime_signs": bool,
    "anonymous": bool,
    "judicial_officer": bool,
    "soldier": bool,
    "judicial_or_office_crime": bool,
    "local_minor_crime": bool,
    "party_member": bool,
    "state_law_breach": bool,
    "procedural_violation": bool,
    "specific": bool,
    "has_department": bool,
    "official_level": ("head", "department", "commune", "unknown"),
    "judicial_role": ("court", "enforcement", "procuracy", "police", "unknown"),
    "issuer": ("court", "criminal_case", "enforcement", "province", "department", "commune",
               "unknown"),
    "petition_scope": ("question", "local", "sector"),
}

# How a rule picks the concrete agency of its kind.
PICKS = ("province", "commune", "department")

# Phrase lists the facts are derived from (portal/routing/facts.py).
LEXICON_LISTS = (
    "soldier", "judicial_activity", "procedural_violation",
    "role_court", "role_enforcement", "role_procuracy", "role_police",
    "official_head", "official_department", "official_commune",
    "state_law_breach",
    "issuer_court", "issuer_criminal_case", "issuer_enforcement", "issuer_province",
    "issuer_department", "issuer_commune",
    "question_or_thanks", "local_matter", "provincial_matter",
    "minor_crime", "serious_crime",
)

RULE_KEYS = {"id", "clause", "title", "when", "agency_kind", "pick", "legal_basis", "note",
             "also_inform", "title_en", "legal_basis_en", "note_en"}
# The texts a rule may give in English too (``<name>_en``), for the English back office.
TRANSLATED = ("title", "legal_basis", "note")
RULE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,31}$")


class RulesError(ValueError):
    """The rules file is unusable; ``problems`` lists every mistake found."""

    def __init__(self, path, problems: list[str]):
        self.path = str(path)
        self.problems = problems
        listing = "\n".join(f"  - {problem}" for problem in problems)
        super().__init__(f"routing rules {self.path}: {len(problems)} problem(s):\n{listing}")


@dataclass(frozen=True)
class Department:
    """A row of routing.md's sector → department table."""

    name: str
    sectors: tuple[str, ...]
    phrases: PhraseList


@dataclass(frozen=True)
class Rule:
    """One rule: when its facts hold, suggest an agency of ``agency_kind``."""

    id: str
    clause: int
    title: str
    when: dict
    agency_kind: str
    pick: str
    legal_basis: str
    note: str | None = None
    also_inform: str | None = None
    # English versions for the English back office (None: not translated).
    title_en: str | None = None
    legal_basis_en: str | None = None
    note_en: str | None = None

    def text(self, name: str, language: str | None) -> str | None:
        """``title``, ``legal_basis`` or ``note`` in ``language`` ("en"), falling back to the
        Vietnamese, which is the text that applies."""
        if language == "en":
            return getattr(self, f"{name}_en") or getattr(self, name)
        return getattr(self, name)

    def matches(self, facts: dict) -> bool:
        """Whether every condition holds (a list of values means "one of them")."""
        for name, wanted in self.when.items():
            value = facts.get(name)
            if isinstance(wanted, list):
                if value not in wanted:
                    return False
            elif value != wanted:
                return False
        return True


@dataclass(frozen=True)
class RuleSet:
    """The whole rules file, checked and compiled."""

    version: str
    title: str
    path: str
    departments: tuple[Department, ...]
    lexicon: dict
    judicial_or_office_articles: tuple[tuple[int, int], ...]
    minor_articles: frozenset
    serious_flags: frozenset
    specific_min_words: int
    specific_min_details: int
    rules: tuple[Rule, ...]

    def rule(self, rule_id: str) -> Rule:
        return next(rule for rule in self.rules if rule.id == rule_id)

    def department_for_sector(self, sector: str | None) -> Department | None:
        return next((d for d in self.departments if sector in d.sectors), None)


def load_rules(path: str | Path | None = None) -> RuleSet:
    """Read, check and compile the rules file (default: the packaged ``rules.yaml``)."""
    path = Path(path) if path else DEFAULT_RULES_FILE
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise RulesError(path, [f"cannot read the file: {exc.strerror or exc}"]) from exc
    except yaml.YAMLError as exc:
        raise RulesError(path, [f"not valid YAML: {exc}"]) from exc
    return parse_rules(data, path)


@cache
def default_rules() -> RuleSet:
    """The packaged rules, loaded once per process."""
    return load_rules(DEFAULT_RULES_FILE)


def parse_rules(data, path: str | Path = "<rules>") -> RuleSet:
    """Check the parsed YAML ``data``; raises :class:`RulesError` listing every problem."""
    problems: list[str] = []
    if not isinstance(data, dict):
        raise RulesError(path, ["the file must be a mapping with `version` and `rules`"])
    unknown = set(data) - {"version", "title", "departments", "lexicon", "articles",
                           "serious_flags", "specific", "rules"}
    if unknown:
        problems.append(f"unknown top-level key(s): {', '.join(sorted(unknown))}")
    version = data.get("version")
    if not isinstance(version, str) or not version.strip():
        problems.append("`version` must be a non-empty string, e.g. \"2026.1\"")

    departments = _departments(data.get("departments"), problems)
    lexicon = _lexicon(data.get("lexicon"), problems)
    articles = data.get("articles") or {}
    ranges = _article_ranges(articles.get("judicial_or_office"), problems)
    minor = _article_list(articles.get("minor"), "articles.minor", problems)
    serious_flags = data.get("serious_flags") or []
    if not isinstance(serious_flags, list) or any(f not in FLAGS for f in serious_flags):
        problems.append(f"`serious_flags` must be a list of flags from: {', '.join(FLAGS)}")
        serious_flags = []
    specific = data.get("specific") or {}
    min_words, min_details = specific.get("min_words"), specific.get("min_details")
    if not (_positive_int(min_words) and _positive_int(min_details) and min_details <= 4):
        problems.append("`specific` needs `min_words` (a positive integer) and `min_details` "
                        "(1 to 4)")
    rules = _rules(data.get("rules"), problems)

    if problems:
        raise RulesError(path, problems)
    return RuleSet(
        version=version.strip(), title=str(data.get("title") or ""), path=str(path),
        departments=tuple(departments), lexicon=lexicon,
        judicial_or_office_articles=tuple(ranges), minor_articles=frozenset(minor),
        serious_flags=frozenset(serious_flags), specific_min_words=min_words,
        specific_min_details=min_details, rules=tuple(rules),
    )


def _positive_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _phrases(value, where: str, problems: list[str]) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(p, str) and p.strip() for p in value):
        problems.append(f"{where} must be a list of non-empty phrases")
        return []
    return value


def _compile(name: str, phrases, exceptions, where: str, problems: list[str]):
    try:
        return PhraseList.compile(name, phrases, exceptions)
    except ValueError as exc:
        problems.append(f"{where}: {exc}")
        return None


def _departments(value, problems: list[str]) -> list[Department]:
    if not isinstance(value, list) or not value:
        problems.append("`departments` must be a list (routing.md's sector → department table)")
        return []
    result, seen = [], {}
    for index, item in enumerate(value, 1):
        where = f"departments #{index}"
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            problems.append(f"{where}: needs a `name`, `sectors` and `phrases`")
            continue
        where = f"{where} ({item['name']})"
        sectors = item.get("sectors")
        if not isinstance(sectors, list) or not sectors:
            problems.append(f"{where}: `sectors` must be a non-empty list")
            sectors = []
        for sector in sectors:
            if sector not in SECTORS:
                problems.append(f"{where}: unknown sector {sector!r} (known: "
                                f"{', '.join(SECTORS)})")
            elif sector in seen:
                problems.append(f"{where}: sector {sector!r} already belongs to {seen[sector]}")
            else:
                seen[sector] = item["name"]
        phrases = _compile(item["name"], _phrases(item.get("phrases"), f"{where}: `phrases`",
                                                  problems), (), where, problems)
        if phrases is not None:
            result.append(Department(item["name"], tuple(sectors), phrases))
    return result


def _lexicon(value, problems: list[str]) -> dict:
    if not isinstance(value, dict):
        problems.append(f"`lexicon` must be a mapping with the lists: {', '.join(LEXICON_LISTS)}")
        return {}
    for name in sorted(set(value) - set(LEXICON_LISTS)):
        problems.append(f"lexicon: unknown list {name!r} (known: {', '.join(LEXICON_LISTS)})")
    lexicon = {}
    for name in LEXICON_LISTS:
        entry = value.get(name)
        where = f"lexicon.{name}"
        if not isinstance(entry, dict) or not entry.get("phrases"):
            problems.append(f"{where}: missing, or without `phrases`")
            continue
        extra = set(entry) - {"phrases", "except"}
        if extra:
            problems.append(f"{where}: unknown key(s) {', '.join(sorted(extra))}")
        compiled = _compile(name, _phrases(entry.get("phrases"), f"{where}.phrases", problems),
                            _phrases(entry.get("except"), f"{where}.except", problems),
                            where, problems)
        if compiled is not None:
            lexicon[name] = compiled
    return lexicon


def _article_list(value, where: str, problems: list[str]) -> list[int]:
    if not isinstance(value, list) or not all(_positive_int(v) for v in value):
        problems.append(f"`{where}` must be a list of Penal Code article numbers")
        return []
    return value


def _article_ranges(value, problems: list[str]) -> list[tuple[int, int]]:
    where = "`articles.judicial_or_office`"
    if not isinstance(value, list) or not value:
        problems.append(f"{where} must be a list of [first, last] article ranges")
        return []
    ranges = []
    for item in value:
        if (isinstance(item, list) and len(item) == 2 and all(_positive_int(v) for v in item)
                and item[0] <= item[1]):
            ranges.append((item[0], item[1]))
        else:
            problems.append(f"{where}: {item!r} is not a [first, last] range")
    return ranges


def _rules(value, problems: list[str]) -> list[Rule]:
    if not isinstance(value, list) or not value:
        problems.append("`rules` must be a non-empty list")
        return []
    rules, ids = [], set()
    for index, item in enumerate(value, 1):
        rule = _rule(item, f"rule #{index}", problems)
        if rule is None:
            continue
        if rule.id in ids:
            problems.append(f"rule #{index}: id {rule.id!r} is used twice")
        ids.add(rule.id)
        rules.append(rule)
    if rules and rules[-1].when:
        problems.append(f"the last rule ({rules[-1].id}) must have an empty `when` so that "
                        "every report gets a suggestion")
    for rule in rules[:-1]:
        if not rule.when:
            problems.append(f"rule {rule.id} has an empty `when`: the rules after it would "
                            "never fire")
            break
    return rules


def _rule(item, where: str, problems: list[str]) -> Rule | None:
    if not isinstance(item, dict):
        problems.append(f"{where}: must be a mapping")
        return None
    rule_id = item.get("id")
    if not isinstance(rule_id, str) or not RULE_ID.match(rule_id):
        problems.append(f"{where}: `id` must be 1–32 letters, digits or dashes")
        return None
    where = f"{where} ({rule_id})"
    before = len(problems)
    for key in sorted(set(item) - RULE_KEYS):
        problems.append(f"{where}: unknown key {key!r} (known: {', '.join(sorted(RULE_KEYS))})")
    clause = item.get("clause")
    if not isinstance(clause, int) or isinstance(clause, bool) or not 0 <= clause <= 8:
        problems.append(f"{where}: `clause` must be routing.md's rule number, 1–8 (0: none)")
    for key in ("title", "legal_basis"):
        if not isinstance(item.get(key), str) or not item[key].strip():
            problems.append(f"{where}: `{key}` must be non-empty text")
    if item.get("note") is not None and not isinstance(item["note"], str):
        problems.append(f"{where}: `note` must be text")
    for key in TRANSLATED:
        english = item.get(f"{key}_en")
        if english is not None and (not isinstance(english, str) or not english.strip()):
            problems.append(f"{where}: `{key}_en` must be non-empty text")
        elif english is not None and not item.get(key):
            problems.append(f"{where}: `{key}_en` translates `{key}`, which the rule lacks")
    kind = item.get("agency_kind")
    if kind not in AGENCY_KINDS:
        problems.append(f"{where}: unknown agency_kind {kind!r} (known: "
                        f"{', '.join(AGENCY_KINDS)})")
    also = item.get("also_inform")
    if also is not None and also not in AGENCY_KINDS:
        problems.append(f"{where}: unknown also_inform {also!r}")
    pick = item.get("pick")
    if pick not in PICKS:
        problems.append(f"{where}: `pick` must be one of {', '.join(PICKS)}")
    elif (pick == "department") != (kind == "department"):
        problems.append(f"{where}: `pick: department` goes with `agency_kind: department` and "
                        "only with it")
    when = item.get("when")
    if when is None:
        when = {}
    if not isinstance(when, dict):
        problems.append(f"{where}: `when` must be a mapping of fact: value")
        when = {}
    for fact, wanted in when.items():
        _check_condition(fact, wanted, where, problems)
    if len(problems) > before:
        return None
    english = {f"{key}_en": " ".join(item[f"{key}_en"].split())
               for key in TRANSLATED if item.get(f"{key}_en")}
    return Rule(id=rule_id, clause=clause, title=item["title"].strip(), when=dict(when),
                agency_kind=kind, pick=pick, legal_basis=" ".join(item["legal_basis"].split()),
                note=item.get("note"), also_inform=also, **english)


def _check_condition(fact, wanted, where: str, problems: list[str]) -> None:
    allowed = FACT_VALUES.get(fact)
    if allowed is None:
        problems.append(f"{where}: unknown fact {fact!r} in `when` (known: "
                        f"{', '.join(FACT_VALUES)})")
        return
    values = wanted if isinstance(wanted, list) else [wanted]
    if not values:
        problems.append(f"{where}: `{fact}` has an empty list of values")
    for value in values:
        if allowed is bool:
            if not isinstance(value, bool):
                problems.append(f"{where}: `{fact}` takes true or false, not {value!r}")
        elif value not in allowed:
            shown = ", ".join("null" if v is None else v for v in allowed)
            problems.append(f"{where}: `{fact}` cannot be {value!r} (one of: {shown})")
