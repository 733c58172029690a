"""Clusters: reports about the same matter, found without decrypting any report.

Report text is encrypted at rest, but every report already has its keyed token index
(portal/protection/search.py): one ``HMAC(index key, folded word)`` per distinct word of its
text and people involved. Two reports about the same matter — the same letter sent by several
people, or the same text typed once with diacritics and once without — share most of those
tokens, so we compare token *sets*:

* similarity is the Jaccard index |A ∩ B| / |A ∪ B| of the two sets, after removing the tokens
  of a short list of Vietnamese function words (``STOP_WORDS``, tokenised with the same key)
  that every report shares;
* two reports are linked when the similarity is at least ``min_similarity``, they are in the
  same commune (or both have no commune, within the same province or both without one), they
  were filed at most ``window_days`` apart, and their sector and subject do not contradict each
  other (each is the staff-confirmed value, else the classifier's; unknown matches anything);
* a cluster is a connected component of those links with two reports or more.

Reports with fewer than ``min_words`` tokens left (“alo”, “test 123”) are never linked: in
short texts a couple of shared words are a high Jaccard index and mean nothing. Spam is left
out; reports merged as duplicates stay in (they are the same matter, by a person's decision).

Cost: reports are only compared inside one block (same province and commune), and inside a
block PPJoin (an exact prefix and positional filter, see ``_block_components``) proposes only
pairs that share one of their rarest tokens, so unrelated reports of a busy commune are mostly
never compared. Reading the tokens is two queries, O(N·T) rows for N reports of T distinct
words (T ≈ 25–150); indexing is O(N·T log T); comparing is O(T) per candidate pair, skipped when
a union–find already put both in one cluster. The worst case — a block of n copies of the same
letter — is O(n²) candidate pairs, each skipped in near-constant time. A case page walks from
its report through its block only (O(n·k) for a cluster of k). Nothing is stored: clusters are
computed on the fly (docs/clusters.md has the measured times).
"""

import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from portal.audit import services as audit
from portal.classification.models import Classification
from portal.extensions import db
from portal.protection.envelope import keyring
from portal.protection.models import ReportSearchToken
from portal.reports import status
from portal.reports.models import Report

# Folded function words and boilerplate of Vietnamese reports (“Kính gửi…, tôi tên là…, ở xã…”):
# they are in nearly every report, so they would make unrelated reports look alike. Folding
# merges some words with content words (“đỏ” in “sổ đỏ” folds to “do”); losing those is cheaper
# than keeping the function words.
STOP_WORDS = frozenset("""
a ai anh ay ba bao bi bo boi ca cac cai can chi cho chua chung co con cu cua cung da dang day
dc de den di do du duoc em gi gui hay het ho hon k khi khong kinh ko la lai lam len luc ma
minh moi mot nam nao nay neu nen nghi ngay nguoi nhieu nhu nhung noi nua o ong phai phuong qua
ra rang rat roi sau se ta tai ten thang the thi thon tinh toi tren trong truoc tu tuoi va van
vay ve vi voi vao xa xin xom
""".split())


@dataclass(frozen=True)
class Settings:
    """Thresholds (``CLUSTER_*`` in the app config, docs/clusters.md)."""

    min_similarity: float = 0.5
    window_days: int = 30
    min_words: int = 8
    # The supervision page shows the clusters of reports filed in this many last days.
    recent_days: int = 30
    # A cluster this large is a mass complaint (đông người) and raises an alert.
    mass_size: int = 5

    @classmethod
    def from_config(cls, config) -> "Settings":
        return cls(
            min_similarity=float(config.get("CLUSTER_MIN_SIMILARITY", cls.min_similarity)),
            window_days=int(config.get("CLUSTER_WINDOW_DAYS", cls.window_days)),
            min_words=int(config.get("CLUSTER_MIN_WORDS", cls.min_words)),
            recent_days=int(config.get("CLUSTER_RECENT_DAYS", cls.recent_days)),
            mass_size=int(config.get("CLUSTER_MASS_SIZE", cls.mass_size)),
        )


@dataclass(frozen=True)
class Item:
    """What clustering knows of a report: plain data, no text."""

    id: int
    created_at: datetime
    province_code: int | None
    ward_code: int | None
    sector: str | None
    subject: str | None
    tokens: frozenset = field(default_factory=frozenset)


def jaccard(a: frozenset, b: frozenset) -> float:
    """|A ∩ B| / |A ∪ B| (0 for two empty sets)."""
    shared = len(a & b)
    union = len(a) + len(b) - shared
    return shared / union if union else 0.0


def _agree(x, y) -> bool:
    return x is None or y is None or x == y


def linked(a: Item, b: Item, settings: Settings) -> bool:
    """Whether two reports of the same block are about the same matter."""
    return (
        abs(a.created_at - b.created_at) <= timedelta(days=settings.window_days)
        and _agree(a.sector, b.sector)
        and _agree(a.subject, b.subject)
        and jaccard(a.tokens, b.tokens) >= settings.min_similarity
    )


class _UnionFind:
    def __init__(self, n: int):
        self.parent = list(range(n))

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def union(self, i: int, j: int) -> None:
        self.parent[self.find(i)] = self.find(j)


def _at_least(fraction: float, size: int) -> int:
    """⌈fraction·size⌉, robust to floating point (0.7 × 10 is 7.000000000000001)."""
    return math.ceil(fraction * size - 1e-9)


def _block_components(items: list[Item], settings: Settings) -> list[list[Item]]:
    """Connected components of one block (same place), by PPJoin (Xiao et al. 2008: AllPairs'
    prefix filter plus a positional filter), exact for the Jaccard threshold t.

    Each set's tokens are ordered rarest first. Sets are taken smallest first; a set y already
    seen and a new set x (|x| ≥ |y|) with J ≥ t share at least α = ⌈t/(1+t)·(|x|+|y|)⌉ tokens,
    so they share one among the first |x| − ⌈t·|x|⌉ + 1 tokens of x and the first
    |y| − ⌈2t/(1+t)·|y|⌉ + 1 of y (the prefix lemma): only those prefixes are looked up and
    indexed. A y smaller than t·|x| cannot reach t and drops out of the index for good; a y
    whose shared prefix tokens so far, plus the tokens left after the current positions, stay
    below α is dropped for this x (the positional filter). Only the remaining pairs are
    compared in full.
    """
    t = settings.min_similarity
    frequency = Counter(token for item in items for token in item.tokens)
    order = sorted(range(len(items)), key=lambda i: (len(items[i].tokens), items[i].id))
    sizes = [len(item.tokens) for item in items]
    index: dict[str, list[tuple[int, int]]] = defaultdict(list)  # token → (set, position)
    start: dict[str, int] = defaultdict(int)  # index entries before this one are too small
    groups = _UnionFind(len(items))
    for i in order:
        x, size = items[i], sizes[i]
        ordered = sorted(x.tokens, key=lambda token: (frequency[token], token))
        shared: dict[int, int] = {}  # candidate → prefix tokens shared so far (-1: dropped)
        for px, token in enumerate(ordered[:size - _at_least(t, size) + 1]):
            entries, first = index[token], start[token]
            while first < len(entries) and sizes[entries[first][0]] < t * size:
                first += 1
            start[token] = first
            for j, py in entries[first:]:
                count = shared.get(j, 0)
                if count < 0:
                    continue
                needed = _at_least(t / (1 + t), size + sizes[j])
                reachable = count + 1 + min(size - px - 1, sizes[j] - py - 1)
                shared[j] = count + 1 if reachable >= needed else -1
        for j, count in shared.items():
            if count > 0 and groups.find(i) != groups.find(j) and linked(x, items[j], settings):
                groups.union(i, j)
        for py, token in enumerate(ordered[:size - _at_least(2 * t / (1 + t), size) + 1]):
            index[token].append((i, py))
    components: dict[int, list[Item]] = defaultdict(list)
    for position, item in enumerate(items):
        components[groups.find(position)].append(item)
    return [members for members in components.values() if len(members) > 1]


def component_of(target_id: int, items: list[Item], settings: Settings) -> list[int]:
    """The cluster of one report among ``items`` (one block), oldest first; ``[]`` if none.

    A walk from the report rather than :func:`group`: it compares each member found with every
    other item, O(n·k) comparisons for a block of n and a cluster of k, instead of searching
    all pairs of the block.
    """
    target = next((item for item in items if item.id == target_id), None)
    if target is None:
        return []
    place = (target.province_code, target.ward_code)
    by_id = {item.id: item for item in items if len(item.tokens) >= settings.min_words
             and (item.province_code, item.ward_code) == place}
    if target_id not in by_id:
        return []
    found, frontier = {target_id}, [by_id[target_id]]
    while frontier:
        x = frontier.pop()
        for y in by_id.values():
            if y.id not in found and linked(x, y, settings):
                found.add(y.id)
                frontier.append(y)
    if len(found) < 2:
        return []
    return [item.id for item in sorted((by_id[i] for i in found),
                                       key=lambda i: (i.created_at, i.id))]


def group(items: list[Item], settings: Settings) -> list[list[int]]:
    """Clusters of ``items`` as lists of report ids (oldest first), largest cluster first."""
    blocks: dict[tuple, list[Item]] = defaultdict(list)
    for item in items:
        if len(item.tokens) >= settings.min_words:
            blocks[(item.province_code, item.ward_code)].append(item)
    clusters = [
        [item.id for item in sorted(members, key=lambda i: (i.created_at, i.id))]
        for block in blocks.values() if len(block) > 1
        for members in _block_components(block, settings)
    ]
    return sorted(clusters, key=lambda ids: (-len(ids), -ids[-1]))


# --- reading the database -------------------------------------------------------------------

def stop_tokens() -> frozenset:
    """The index tokens of ``STOP_WORDS`` under the current index key."""
    keys = keyring()
    return frozenset(keys.search_token(word) for word in STOP_WORDS)


def _same_place(province_code: int | None, ward_code: int | None) -> list:
    return [
        Report.province_code.is_(None) if province_code is None
        else Report.province_code == province_code,
        Report.ward_code.is_(None) if ward_code is None else Report.ward_code == ward_code,
    ]


def load_items(*conditions) -> list[Item]:
    """Clustering data of the reports (spam left out) matching ``conditions`` on Report.

    Two queries whatever the number of reports: the reports' metadata, then their tokens.
    """
    wanted = (Report.status != status.SPAM, *conditions)
    rows = db.session.execute(
        select(Report.id, Report.created_at, Report.province_code, Report.ward_code,
               func.coalesce(Report.sector, Classification.sector),
               func.coalesce(Report.subject, Classification.subject))
        .outerjoin(Classification, Classification.report_id == Report.id)
        .where(*wanted)
    ).all()
    tokens: dict[int, set] = defaultdict(set)
    # The function words are left out by the database: a third fewer rows to read.
    for report_id, token in db.session.execute(
        select(ReportSearchToken.report_id, ReportSearchToken.token)
        .join(Report, Report.id == ReportSearchToken.report_id)
        .where(*wanted, ReportSearchToken.token.not_in(sorted(stop_tokens())))
    ):
        tokens[report_id].add(token)
    return [Item(id=row[0], created_at=row[1], province_code=row[2], ward_code=row[3],
                 sector=row[4], subject=row[5], tokens=frozenset(tokens.get(row[0], ())))
            for row in rows]


def cluster_of(report: Report, settings: Settings) -> list[int]:
    """Ids of the reports in ``report``'s cluster, itself included, oldest first; ``[]`` when
    it has none.

    Only the reports of its commune filed within the window before or after it are read, so a
    case page costs one small block however large the database.
    """
    if report.status == status.SPAM:
        return []
    window = timedelta(days=settings.window_days)
    items = load_items(*_same_place(report.province_code, report.ward_code),
                       Report.created_at >= report.created_at - window,
                       Report.created_at <= report.created_at + window)
    return component_of(report.id, items, settings)


def recent_clusters(now: datetime, settings: Settings) -> list[list[int]]:
    """Clusters among the reports filed in the last ``recent_days`` days, largest first."""
    return group(load_items(Report.created_at >= now - timedelta(days=settings.recent_days)),
                 settings)


def reports_by_id(ids) -> dict[int, Report]:
    """The reports of ``ids`` with what a member list shows (one query)."""
    ids = list(ids)
    if not ids:
        return {}
    reports = db.session.scalars(
        select(Report).where(Report.id.in_(ids)).options(selectinload(Report.classification))
    )
    return {report.id: report for report in reports}


def members_of(ids: list[int]) -> list[Report]:
    """The reports of ``ids``, in that order (e.g. a cluster's, oldest first)."""
    found = reports_by_id(ids)
    return [found[report_id] for report_id in ids if report_id in found]


def log_view(user, report: Report | None, listing: str, ids: list[int]) -> None:
    """Record which cases a cluster page listed (``report``: the case it was opened from).

    A member list shows case numbers, dates, places and statuses, never text; we log it
    anyway, like every list of cases (portal/reports/handling.py ``log_list_view``).
    """
    if ids or report is not None:
        audit.record("view_list", user=user, report=report, list=listing, report_ids=list(ids))
        db.session.commit()
