"""The report status machine: every legal transition, and illegal ones refused clearly."""

import pytest

from portal.reports import status
from portal.reports.models import Report

LEGAL = {
    ("start_review", "received"): "in_review",
    ("start_review", "returned"): "in_review",
    ("transfer", "received"): "transferred",
    ("transfer", "in_review"): "transferred",
    ("transfer", "returned"): "transferred",
    ("withdraw_transfer", "transferred"): "in_review",
    ("accept", "transferred"): "accepted",
    ("return", "transferred"): "returned",
    ("return", "accepted"): "returned",
    ("resolve", "accepted"): "resolved",
    ("mark_spam", "received"): "spam",
    ("mark_spam", "in_review"): "spam",
    ("mark_spam", "returned"): "spam",
    ("restore", "spam"): "in_review",
    ("merge_duplicate", "received"): "duplicate",
    ("merge_duplicate", "in_review"): "duplicate",
    ("merge_duplicate", "returned"): "duplicate",
}


@pytest.mark.parametrize("action", sorted(status.ACTIONS))
@pytest.mark.parametrize("start", status.STATUSES)
def test_every_action_from_every_status(ctx, action, start):
    report = Report(status=start, text="x", receipt_code_hash="h")
    expected = LEGAL.get((action, start))
    if expected is None:
        with pytest.raises(status.IllegalTransition) as caught:
            status.apply(report, action)
        assert report.status == start and report.events == []
        assert str(status.STATUS_LABELS[start]) in caught.value.message
        assert caught.value.message.startswith("Không thể")
    else:
        event = status.apply(report, action)
        assert report.status == expected
        assert event.kind == action and event.status_after == expected
        assert report.events == [event]
    assert status.can(action, start) is (expected is not None)


def test_resolved_and_duplicate_are_final():
    for final in (status.RESOLVED, status.DUPLICATE):
        assert not any(status.can(action, final) for action in status.ACTIONS)


def test_record_event_keeps_the_status(ctx):
    report = Report(status=status.ACCEPTED, text="x", receipt_code_hash="h")
    event = status.record_event(report, "info_requested")
    assert report.status == status.ACCEPTED and event.status_after == status.ACCEPTED
