"""The audit log is append-only and tamper-evident: `flask audit verify` finds any edited,
deleted or reordered entry, naming it."""

import json
import re
import threading
from pathlib import Path

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import select, text

from portal.audit import services as audit
from portal.audit.models import AuditEntry
from portal.extensions import db

MIGRATIONS = str(Path(__file__).resolve().parents[3] / "migrations")


def append(app, n: int, start: int = 0) -> list[int]:
    """Write ``n`` entries, each in its own transaction, as the portal does; returns their ids."""
    ids = []
    with app.app_context():
        for i in range(start, start + n):
            entry = audit.record("note", note=i, words=["ghi chú", i], flag=i % 2 == 0)
            db.session.commit()
            ids.append(entry.id)
        db.session.remove()
    return ids


def verify(runner, *extra):
    result = runner.invoke(args=["audit", "verify", *extra])
    return result.exit_code, result.output


def tamper(app, sql: str, **params) -> None:
    """Change the table behind the application's back. On PostgreSQL the append-only trigger
    has to be switched off first, as someone with the table owner's rights could."""
    with app.app_context():
        with db.engine.begin() as conn:
            postgres = conn.dialect.name == "postgresql"
            if postgres:
                conn.execute(text("ALTER TABLE audit_entries DISABLE TRIGGER "
                                  "audit_entries_append_only"))
            conn.execute(text(sql), params)
            if postgres:
                conn.execute(text("ALTER TABLE audit_entries ENABLE TRIGGER "
                                  "audit_entries_append_only"))


def test_an_untouched_chain_verifies_and_prints_its_head(app, runner):
    ids = append(app, 5)
    code, output = verify(runner)
    assert code == 0, output
    assert "OK: 5 entries" in output
    with app.app_context():
        last = db.session.get(AuditEntry, ids[-1])
        assert f"5:{last.entry_hash}" in output
        entries = db.session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
    assert [e.seq for e in entries] == [1, 2, 3, 4, 5]
    assert entries[0].prev_hash == "0" * 64
    assert all(b.prev_hash == a.entry_hash for a, b in zip(entries, entries[1:], strict=False))


def test_an_empty_log_verifies(runner):
    assert verify(runner) == (0, "OK: 0 entries\n")


def test_editing_a_rows_detail_is_found_at_that_row(app, runner):
    ids = append(app, 5)
    tamper(app, "UPDATE audit_entries SET detail = :d WHERE id = :id",
           d='{"note": 99}', id=ids[2])
    code, output = verify(runner)
    assert code != 0
    assert f"FAIL: entry {ids[2]}:" in output and "bị sửa" in output
    assert "OK:" not in output


def test_editing_and_rehashing_one_row_is_found_at_the_next(app, runner):
    from portal.audit import chain

    ids = append(app, 4)
    with app.app_context():
        row = db.session.get(AuditEntry, ids[1])
        forged = chain.entry_hash(seq=row.seq, created_at=row.created_at, user_id=row.user_id,
                                  action="login", report_id=row.report_id, detail=row.detail,
                                  prev_hash=row.prev_hash)
        db.session.remove()
    tamper(app, "UPDATE audit_entries SET action = 'login', entry_hash = :h WHERE id = :id",
           h=forged, id=ids[1])
    code, output = verify(runner)
    assert code != 0 and f"FAIL: entry {ids[2]}:" in output


def test_deleting_a_middle_row_is_found(app, runner):
    ids = append(app, 5)
    tamper(app, "DELETE FROM audit_entries WHERE id = :id", id=ids[2])
    code, output = verify(runner)
    assert code != 0
    assert f"FAIL: entry {ids[3]}:" in output and "thiếu bản ghi" in output


def test_swapping_two_rows_contents_is_found(app, runner):
    ids = append(app, 5)
    columns = ["seq", "created_at", "user_id", "action", "report_id", "detail", "prev_hash",
               "entry_hash"]
    with app.app_context():
        with db.engine.connect() as conn:
            a, b = (conn.execute(text(f"SELECT {', '.join(columns)} FROM audit_entries "  # noqa: S608
                                      "WHERE id = :id"), {"id": i}).one()._asdict()
                    for i in (ids[1], ids[3]))
    # Move both rows out of the way of the unique seq first, then write each other's contents.
    tamper(app, "UPDATE audit_entries SET seq = -seq WHERE id IN (:a, :b)", a=ids[1], b=ids[3])
    assignments = ", ".join(f"{c} = :{c}" for c in columns)
    for target, values in ((ids[1], b), (ids[3], a)):
        if not isinstance(values["detail"], str):  # PostgreSQL's driver parses JSON
            values = {**values, "detail": json.dumps(values["detail"])}
        tamper(app, f"UPDATE audit_entries SET {assignments} WHERE id = :id",  # noqa: S608
               id=target, **values)
    code, output = verify(runner)
    assert code != 0
    assert f"FAIL: entry {ids[1]}:" in output


def test_an_anchor_catches_a_deleted_tail_and_a_rewritten_chain(app, runner):
    ids = append(app, 4)
    code, output = verify(runner)
    anchor = re.search(r"(\d+:[0-9a-f]{64})", output).group(1)
    assert verify(runner, "--anchor", anchor)[0] == 0
    append(app, 2, start=10)
    assert verify(runner, "--anchor", anchor)[0] == 0  # the chain grew: still fine

    # The last entries deleted: the chain itself is consistent, the anchor is not.
    tamper(app, "DELETE FROM audit_entries WHERE seq >= 4")
    assert verify(runner)[0] == 0
    code, output = verify(runner, "--anchor", anchor)
    assert code != 0 and "FAIL" in output

    code, output = verify(runner, "--anchor", "nonsense")
    assert code != 0 and ids


def test_the_orm_refuses_to_change_or_delete_entries(app):
    (entry_id,) = append(app, 1)
    with app.app_context():
        entry = db.session.get(AuditEntry, entry_id)
        entry.action = "something_else"
        with pytest.raises(audit.AuditLogIsAppendOnly):
            db.session.commit()
        db.session.rollback()
        db.session.delete(db.session.get(AuditEntry, entry_id))
        with pytest.raises(audit.AuditLogIsAppendOnly):
            db.session.flush()
        db.session.rollback()
        assert db.session.get(AuditEntry, entry_id).action == "note"
        db.session.remove()


def test_postgresql_refuses_update_and_delete_at_the_database(app):
    (entry_id,) = append(app, 1)
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("the append-only trigger is PostgreSQL's (SQLite: ORM guard and chain)")
        for sql in ("UPDATE audit_entries SET action = 'x' WHERE id = :id",
                    "DELETE FROM audit_entries WHERE id = :id"):
            with pytest.raises(Exception, match="append-only"):
                with db.engine.begin() as conn:
                    conn.execute(text(sql), {"id": entry_id})


def test_concurrent_writers_keep_one_unbroken_chain(app, runner):
    """Eight threads, each with its own connection and transactions, append at once."""
    errors = []
    start = threading.Barrier(8)

    def writer(n):
        try:
            start.wait()
            append(app, 10, start=n * 100)
        except Exception as exc:  # noqa: BLE001 (reported below)
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    code, output = verify(runner)
    assert code == 0 and "OK: 80 entries" in output, output


def test_entries_written_before_the_chain_existed_are_chained_by_the_migration(app, runner):
    with app.app_context():
        db.session.remove()
        downgrade(directory=MIGRATIONS, revision="5c89967307e4")
        with db.engine.begin() as conn:
            for action, detail in (("login", "{}"), ("view_case", "{}"),
                                   ("transfer", '{"reason": "Điều 145", "agency_id": 3}')):
                conn.execute(text("INSERT INTO audit_entries (created_at, action, detail) "
                                  "VALUES (:at, :action, :detail)"),
                             {"at": "2026-03-14 02:10:00.123456", "action": action,
                              "detail": detail})
        upgrade(directory=MIGRATIONS, revision="heads")
    assert verify(runner)[1].startswith("OK: 3 entries")
    append(app, 1)
    code, output = verify(runner)
    assert code == 0 and "OK: 4 entries" in output
