"""The audit log's hash chain: canonical serialisation, hashing and verification.

Each entry's hash is SHA-256 over a canonical JSON array of (format tag, seq, time, user_id,
action, report_id, detail, prev_hash). Changing any of these in one row breaks that row's
hash; deleting or reordering rows breaks ``seq`` or the next row's ``prev_hash``; recomputing
every hash after an edit changes the head, which an operator who keeps the head elsewhere
(``audit verify`` prints it) can compare.
"""

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime

# ``prev_hash`` of the first entry.
GENESIS = "0" * 64
FORMAT = "tinbao-audit-v1"


def canonical_time(value: datetime) -> str:
    """UTC, microseconds, no offset: what both SQLite and PostgreSQL give back exactly."""
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.isoformat(timespec="microseconds")


def canonical_detail(detail) -> dict:
    """The detail as the JSON column will give it back (tuples → lists, keys → strings)."""
    return json.loads(json.dumps(detail or {}, ensure_ascii=False))


def entry_hash(*, seq: int, created_at: datetime, user_id, action: str, report_id,
               detail, prev_hash: str) -> str:
    """SHA-256 (hex) of an entry's canonical serialisation. ``detail`` must already be in
    its canonical form (:func:`canonical_detail`), as the JSON column gives it back."""
    payload = [FORMAT, seq, canonical_time(created_at), user_id, action, report_id,
               detail or {}, prev_hash]
    data = json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(data.encode("utf-8")).hexdigest()


def hash_of(entry) -> str:
    """Recompute the hash of a stored entry from its columns."""
    return entry_hash(seq=entry.seq, created_at=entry.created_at, user_id=entry.user_id,
                      action=entry.action, report_id=entry.report_id, detail=entry.detail,
                      prev_hash=entry.prev_hash)


@dataclass
class Verdict:
    """The outcome of walking the chain: ``reason`` says what is wrong and ``bad_id`` names
    the first broken entry (None when the break is a missing tail)."""

    count: int
    head_seq: int | None = None
    head_hash: str | None = None
    bad_id: int | None = None
    reason: str | None = None

    @property
    def ok(self) -> bool:
        return self.reason is None


def verify(entries, *, anchor: tuple[int, str] | None = None) -> Verdict:
    """Walk ``entries`` (in insertion order, i.e. by primary key) and find the first break.

    ``anchor`` is a ``(seq, hash)`` pair recorded earlier outside the database: the entry
    with that seq must still have that hash (this catches a chain rewritten from scratch
    and a deleted tail).
    """
    expected_seq, expected_prev = 1, GENESIS
    count = 0
    anchor_seen = anchor is None
    last = None
    for entry in entries:
        if entry.seq != expected_seq:
            if entry.seq is not None and entry.seq > expected_seq:
                why = (f"thiếu bản ghi trước đó hoặc sai thứ tự (seq {entry.seq}, "
                       f"cần {expected_seq})")
            else:
                why = f"sai thứ tự (seq {entry.seq}, cần {expected_seq})"
            return Verdict(count, bad_id=entry.id, reason=why)
        if entry.prev_hash != expected_prev:
            return Verdict(count, bad_id=entry.id,
                           reason="không nối với bản ghi trước (prev_hash không khớp)")
        if hash_of(entry) != entry.entry_hash:
            return Verdict(count, bad_id=entry.id,
                           reason="nội dung đã bị sửa (hash không khớp)")
        if anchor is not None and entry.seq == anchor[0]:
            if entry.entry_hash != anchor[1]:
                return Verdict(count, bad_id=entry.id,
                               reason="khác với mốc đã lưu (chuỗi đã bị tính lại)")
            anchor_seen = True
        count += 1
        expected_seq, expected_prev = entry.seq + 1, entry.entry_hash
        last = entry
    if not anchor_seen:
        return Verdict(count, reason=f"không còn bản ghi seq {anchor[0]} của mốc đã lưu "
                                     "(phần cuối chuỗi đã bị xóa)")
    return Verdict(count, head_seq=last.seq if last else None,
                   head_hash=last.entry_hash if last else None)
