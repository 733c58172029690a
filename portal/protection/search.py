"""Accent-insensitive search without plaintext: a keyed token index.

Each report's text and "people involved" are folded (lower case, no diacritics, đ → d) and
split into words; the index stores ``HMAC-SHA256(index key, word)`` truncated to 128 bits, one
row per distinct word and report. A search folds the query the same way and asks for reports
that have *every* query token. Matching is on whole words ("hoi lo" finds "hối lộ", "hoi"
does not find "hoilo").

What a database dump shows: which reports share a word and how many distinct words a report
has, not the words. The index key lives beside the content key (``instance/keys/index.key`` or
``TINBAO_INDEX_KEY``); it is as sensitive as the content key because Vietnamese has few
distinct syllables and anyone holding it could test every one of them.
"""

import re

from sqlalchemy import delete, select, text
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from portal import jobs
from portal.extensions import db
from portal.protection.envelope import keyring
from portal.protection.models import ReportSearchToken
from portal.textfold import fold

WORD_RE = re.compile(r"\w+")
# Longer "words" are not words people search for (hashes, URLs, base64); skip them.
MAX_WORD = 40
MAX_QUERY_WORDS = 8


def words(text: str | None) -> list[str]:
    """Distinct folded words of ``text``, in order of first appearance."""
    seen: dict[str, None] = {}
    for word in WORD_RE.findall(fold(text or "")):
        if len(word) <= MAX_WORD:
            seen.setdefault(word, None)
    return list(seen)


def tokens_for(*texts: str | None) -> set[str]:
    keys = keyring()
    return {keys.search_token(word) for text in texts for word in words(text)}


def queue_indexing(report):
    """Add the indexing of ``report``, being filed, to the current transaction: the
    ``search.index_report`` job (docs/jobs.md) writes its tokens right after the commit.

    Not in the filing itself: a report's tens to hundreds of token rows, with two B-tree
    entries each, were about a fifth of a filing's CPU, in the web process and in PostgreSQL
    (docs/benchmarks.md, "Load (issue 6)"). Until the job has run, a search does not find the
    report; the triage queue lists it as soon as it is filed.
    """
    if report.id is None:
        db.session.flush()
    return jobs.enqueue("search.index_report", report_id=report.id)


def index_report(report) -> None:
    """Write the tokens of ``report``'s text and people involved, in one multi-row INSERT
    (the caller commits). Idempotent: tokens already there are kept, so a job that runs twice
    changes nothing.

    Rows only: the report's ``search_tokens`` collection loads them from the database when
    read. (One ORM object per token once made the index the largest part of a filing.)
    """
    tokens = sorted(tokens_for(report.text, report.involved))
    if not tokens:
        return
    if db.session.get_bind().dialect.name == "postgresql":
        # One statement with one array parameter: executemany would send (and PostgreSQL
        # would execute) one INSERT per token.
        db.session.execute(_INSERT_TOKENS_PG, {"report_id": report.id, "tokens": tokens})
    else:
        db.session.execute(
            sqlite_insert(ReportSearchToken.__table__).on_conflict_do_nothing(),
            [{"report_id": report.id, "token": token} for token in tokens])


_INSERT_TOKENS_PG = text(
    "INSERT INTO report_search_tokens (report_id, token) "
    "SELECT :report_id, unnest(CAST(:tokens AS varchar[])) ON CONFLICT DO NOTHING"
)


def query_tokens(query: str) -> list[str]:
    """The tokens a search must all find (the first eight words of the query)."""
    keys = keyring()
    return [keys.search_token(word) for word in words(query)[:MAX_QUERY_WORDS]]


def matching(query_select, report_id_column, query: str):
    """Restrict ``query_select`` to reports whose index holds every word of ``query``."""
    for token in query_tokens(query):
        query_select = query_select.where(report_id_column.in_(
            select(ReportSearchToken.report_id).where(ReportSearchToken.token == token)
        ))
    return query_select


def reindex_all(batch: int = 200) -> int:
    """Rebuild every report's tokens with the current index key (after changing that key).

    One transaction: a search during the rebuild sees the old index or the new one.
    """
    from portal.reports.models import Report

    db.session.execute(delete(ReportSearchToken))
    count = 0
    ids = list(db.session.scalars(select(Report.id).order_by(Report.id)))
    for start in range(0, len(ids), batch):
        chunk = ids[start:start + batch]
        for report in db.session.scalars(select(Report).where(Report.id.in_(chunk))):
            db.session.add_all(
                ReportSearchToken(report_id=report.id, token=token)
                for token in sorted(tokens_for(report.text, report.involved))
            )
            count += 1
        db.session.flush()
    db.session.commit()
    return count
