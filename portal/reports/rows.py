"""Writing a new report's objects with one plain INSERT each, instead of the ORM's flush.

Why: a filing builds a report, its "filed" event and maybe a deadline; flushing them through
the session's unit of work (dependency sorting, cascades, attribute history, events) was the
largest single part of a filing's CPU time, more than the INSERTs themselves
(docs/benchmarks.md, "Load (issue 6)"). The objects are still built as ORM objects, so the
encryption (portal/protection/envelope.py), the deadline rules and every reader work on them
unchanged; only the writing is done here. Afterwards the objects belong to the session as if
they had been loaded: reading them needs no query, and a later change is an ordinary UPDATE.

Session and mapper events do not see these rows (there is no flush): the caller writes what the
hooks would have written, i.e. the supervision facts
(:func:`portal.supervision.facts.follow_new_report`); the encryption's before-flush hook is
called here (:func:`~portal.protection.envelope.seal_pending`).
"""

from sqlalchemy import insert, inspect
from sqlalchemy.orm import RelationshipDirection, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from portal.extensions import db
from portal.protection.envelope import seal_pending

_INSERTS: dict = {}


def _insert(table):
    # One statement object per table, so that SQLAlchemy finds its compiled form at once.
    if table not in _INSERTS:
        _INSERTS[table] = insert(table)
    return _INSERTS[table]


def _column_values(obj) -> dict:
    """The row of ``obj``: its own values, the foreign keys of the objects it points to, and
    the Python-side column defaults (set on the object too, so that nothing is left to read
    back). Columns without a value or default are NULL, and set so on the object."""
    state = inspect(obj)
    mapper = state.mapper
    values = {}
    for rel in mapper.relationships:
        if rel.direction is not RelationshipDirection.MANYTOONE:
            continue
        target = state.dict.get(rel.key)
        if target is None:
            continue
        for local, remote in rel.local_remote_pairs:
            value = getattr(target, rel.mapper.get_property_by_column(remote).key)
            if value is None:
                raise ValueError(f"{rel}: {type(target).__name__} must be written first")
            state.dict[mapper.get_property_by_column(local).key] = value
    for prop in mapper.column_attrs:
        column = prop.columns[0]
        if prop.key in state.dict:
            values[column.key] = state.dict[prop.key]
            continue
        if column.primary_key and column.autoincrement is not False and not column.foreign_keys:
            continue  # given by the database
        if column.server_default is not None:
            raise ValueError(f"{column}: a server default would have to be read back")
        default = column.default
        value = None
        if default is not None:
            if default.is_callable:
                value = default.arg(None)  # our defaults take no context (utcnow, list)
            elif default.is_scalar:
                value = default.arg
            else:
                raise ValueError(f"{column}: a SQL default would have to be read back")
        state.dict[prop.key] = value
        values[column.key] = value
    return values


def insert_new(objects) -> None:
    """Write ``objects`` (new, not in the session; every object before those that point to it)
    with one INSERT each, then attach them to the session as persistent objects, unchanged.
    The caller's transaction commits them."""
    connection = db.session.connection()
    for obj in objects:
        seal_pending(obj)
        mapper = inspect(obj).mapper
        result = connection.execute(_insert(mapper.local_table), _column_values(obj))
        for column, value in zip(mapper.primary_key, result.inserted_primary_key, strict=True):
            inspect(obj).dict[mapper.get_property_by_column(column).key] = value
    for obj in objects:
        make_transient_to_detached(obj)  # as if loaded: no history, nothing pending
    db.session.add_all(objects)


def keep_loaded(obj, values: dict) -> None:
    """After a commit expired ``obj``: put back the column values just written (from
    :func:`loaded_columns` before the commit), so that reading them needs no SELECT."""
    for key, value in values.items():
        set_committed_value(obj, key, value)


def loaded_columns(obj) -> dict:
    state = inspect(obj)
    return {attr.key: state.dict[attr.key] for attr in state.mapper.column_attrs
            if attr.key in state.dict}
