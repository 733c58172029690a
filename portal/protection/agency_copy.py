"""The redacted copy of a case that the receiving agency reads, and the Front's review of it.

``report.redaction`` (encrypted JSON) holds::

    {"identity": {"text": [[start, end, "identity"], …], "involved": […]},
     "review": {"masked": {"text": [[start, end, kind], …], "involved": […]},
                "unmasked": {…}, "phrases": ["…"], "user_id": 7, "at": "2026-…"}}

``identity`` is found when the report is filed (the identity is in memory then) and is always
masked. Until the Front saves a review, every proposed mask counts as checked: an unreviewed
case goes out masked too much rather than too little. Messages, which nobody reviews, are
masked with the reporter's identity spans stored on each message, the proposals that point at
the writer (a name given as one's own, phone, ID number, e-mail, home address) and the Front's
extra phrases; other people's names stay (a witness's name may be just what the agency asked
for). The agency's own messages are shown as written.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from portal.audit import services as audit
from portal.protection import redaction
from portal.protection.crypto import KeyUnavailable
from portal.protection.envelope import keyring, open_identity
from portal.protection.redaction import Span
from portal.timeutil import utcnow


def _field_text(report, field: str) -> str | None:
    return report.text if field == "text" else report.involved


def record_identity_masks(report, identity: dict | None) -> None:
    """At filing: remember where the reporter's own identity appears in text and involved."""
    data = dict(report.redaction or {})
    data["identity"] = {
        field: redaction.to_pairs(redaction.identity_spans(_field_text(report, field), identity))
        for field in redaction.FIELDS
    }
    report.redaction = data


def reporter_identity_for_masking(report) -> dict | None:
    """The identity fields, for the automatic masking only (never shown); None when the report
    is anonymous or the custodian's key is not on this server."""
    if report.identity is None or not keyring().can_open_identity:
        return None
    try:
        return open_identity(report.identity)
    except KeyUnavailable:
        return None


def mask_message(report, message) -> None:
    """Store where the reporter's identity appears in a new message (always masked)."""
    spans = redaction.identity_spans(message.body, reporter_identity_for_masking(report))
    message.identity_masks = redaction.to_pairs(spans)


def identity_masks(report, field: str) -> list[Span]:
    return redaction.from_pairs(((report.redaction or {}).get("identity") or {}).get(field))


def review(report) -> dict | None:
    return (report.redaction or {}).get("review")


def reviewed_at(report) -> datetime | None:
    saved = review(report)
    return datetime.fromisoformat(saved["at"]) if saved else None


def phrases(report) -> list[str]:
    return list((review(report) or {}).get("phrases") or [])


@dataclass
class ReviewItem:
    """One piece of the review form: plain text, a locked mask or a proposed mask."""

    text: str
    kind: str | None = None  # None = plain, "identity" = always masked, else a proposal
    key: str | None = None  # "field:start:end" for proposals
    checked: bool = False


def proposals(report, field: str) -> list[Span]:
    text = _field_text(report, field)
    return redaction.proposed_spans(text, exclude=identity_masks(report, field))


def review_items(report) -> dict[str, list[ReviewItem]]:
    """The redaction review form's content for each field with text."""
    saved = review(report)
    items: dict[str, list[ReviewItem]] = {}
    for field in redaction.FIELDS:
        text = _field_text(report, field)
        if not text:
            continue
        locked = identity_masks(report, field)
        proposed = proposals(report, field)
        if saved is None:
            checked = {span.key for span in proposed}
        else:
            checked = {span.key for span in redaction.from_pairs(saved["masked"].get(field))}
        spans = locked + proposed
        field_items = []
        for piece, span in redaction.segments(text, spans):
            if span is None:
                field_items.append(ReviewItem(piece))
            elif span.kind == "identity" or any(span.overlaps(s) for s in locked):
                field_items.append(ReviewItem(piece, "identity"))
            else:
                field_items.append(ReviewItem(piece, span.kind, f"{field}:{span.key}",
                                              span.key in checked))
        items[field] = field_items
    return items


def save_review(user, report, checked_keys, raw_phrases: str | None) -> dict:
    """Store the Front's confirmed masks; returns counts for the flash message."""
    chosen = set(checked_keys or ())
    masked, unmasked = {}, {}
    for field in redaction.FIELDS:
        spans = proposals(report, field)
        masked[field] = redaction.to_pairs(s for s in spans if f"{field}:{s.key}" in chosen)
        unmasked[field] = redaction.to_pairs(s for s in spans if f"{field}:{s.key}" not in chosen)
    kept_phrases = redaction.clean_phrases(raw_phrases)
    data = dict(report.redaction or {})
    data["review"] = {"masked": masked, "unmasked": unmasked, "phrases": kept_phrases,
                      "user_id": user.id, "at": utcnow().isoformat()}
    report.redaction = data
    counts = {"masked": sum(len(v) for v in masked.values()),
              "unmasked": sum(len(v) for v in unmasked.values()),
              "phrases": len(kept_phrases)}
    # Counts only: the audit trail must not copy what was masked.
    audit.record("review_redaction", user=user, report=report, **counts)
    return counts


def agency_masks(report, field: str) -> list[Span]:
    """Every span masked in the agency's copy of ``field``."""
    text = _field_text(report, field)
    if not text:
        return []
    spans = identity_masks(report, field)
    saved = review(report)
    if saved is None:
        spans += proposals(report, field)
    else:
        spans += redaction.from_pairs(saved["masked"].get(field))
    spans += redaction.phrase_spans(text, phrases(report))
    return redaction.merge(spans)


def message_masks(report, message) -> list[Span]:
    body = message.body or ""
    spans = redaction.from_pairs(message.identity_masks)
    spans += [s for s in redaction.proposed_spans(body) if s.kind in redaction.MESSAGE_KINDS]
    spans += redaction.phrase_spans(body, phrases(report))
    return redaction.merge(spans)


def masked_segments(text: str | None, spans) -> list[tuple[str, bool]]:
    """``(piece, masked)`` pairs for a template that prints "[đã che]" for masked pieces."""
    return [(piece, span is not None) for piece, span in redaction.segments(text, spans)]


def agency_view(report, agency_id: int | None) -> dict:
    """What the agency's case page shows of the free text: masked text, involved, messages."""
    messages = []
    for message in report.messages:
        own = (not message.from_reporter and message.sender_agency_id is not None
               and message.sender_agency_id == agency_id)
        spans = [] if own else message_masks(report, message)
        messages.append((message, masked_segments(message.body, spans)))
    return {
        "text": masked_segments(report.text, agency_masks(report, "text")),
        "involved": masked_segments(report.involved, agency_masks(report, "involved")),
        "messages": messages,
    }


# The inbox shows 140 characters: masking the first 400 is enough and keeps a long inbox fast.
EXCERPT_SOURCE_CHARS = 400


def excerpt(report) -> str:
    """The start of the masked text (the agency inbox's excerpt column)."""
    text = (report.text or "")[:EXCERPT_SOURCE_CHARS]
    spans = [s for s in identity_masks(report, "text") if s.start < len(text)]
    saved = review(report)
    if saved is None:
        spans += redaction.proposed_spans(text, exclude=spans)
    else:
        spans += redaction.from_pairs(saved["masked"].get("text"))
    spans += redaction.phrase_spans(text, phrases(report))
    spans = [redaction.Span(s.start, min(s.end, len(text)), s.kind)
             for s in spans if s.start < len(text)]
    return redaction.redact(text, spans)
