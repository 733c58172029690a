"""encryption at rest, keyed search index, redaction, identity disclosures

Every free-text column (report text, people involved, result, affiliation, messages, internal
notes, attachment names, the classifier's answer) becomes an ``…_encrypted`` LargeBinary under
a per-report content data key; the reporter's identity fields become one blob under an identity
data key sealed to the custodian's public key; ``reports.search_text`` becomes the keyed token
table ``report_search_tokens``; attachment files are encrypted in place. Existing rows are
converted with the application's keys (portal/protection), so run this with the same
configuration as the portal. Downgrading decrypts again (identities need the custodian's private
key).

Revision ID: a4d100000001
Revises: a4c100000001
Create Date: 2026-11-23 10:00:00.000000

"""
import hashlib
import hmac
import json
import os
from pathlib import Path

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'a4d100000001'
down_revision = 'a4c100000001'
branch_labels = None
depends_on = None

IDENTITY_FIELDS = ("name", "phone", "email", "address", "id_number")

reports = sa.table(
    "reports", sa.column("id", sa.Integer), sa.column("text", sa.Text),
    sa.column("involved", sa.Text), sa.column("search_text", sa.Text),
    sa.column("result_text", sa.Text), sa.column("reporter_affiliation", sa.String),
    sa.column("content_key_wrapped", sa.LargeBinary), sa.column("content_key_id", sa.String),
    sa.column("text_encrypted", sa.LargeBinary), sa.column("involved_encrypted", sa.LargeBinary),
    sa.column("redaction_encrypted", sa.LargeBinary),
    sa.column("result_text_encrypted", sa.LargeBinary),
    sa.column("affiliation_encrypted", sa.LargeBinary),
)
identities = sa.table(
    "reporter_identities", sa.column("report_id", sa.Integer),
    *(sa.column(name, sa.String) for name in IDENTITY_FIELDS),
    sa.column("identity_key_sealed", sa.LargeBinary), sa.column("custodian_key_id", sa.String),
    sa.column("fields_encrypted", sa.LargeBinary), sa.column("disclosed_encrypted", sa.LargeBinary),
)
messages = sa.table(
    "messages", sa.column("id", sa.Integer), sa.column("report_id", sa.Integer),
    sa.column("from_reporter", sa.Boolean), sa.column("body", sa.Text),
    sa.column("body_encrypted", sa.LargeBinary), sa.column("masks_encrypted", sa.LargeBinary),
)
notes = sa.table(
    "internal_notes", sa.column("id", sa.Integer), sa.column("report_id", sa.Integer),
    sa.column("body", sa.Text), sa.column("body_encrypted", sa.LargeBinary),
)
attachments = sa.table(
    "attachments", sa.column("id", sa.Integer), sa.column("report_id", sa.Integer),
    sa.column("stored_name", sa.String), sa.column("original_name", sa.String),
    sa.column("original_name_encrypted", sa.LargeBinary), sa.column("sha256", sa.String),
)
classifications = sa.table(
    "classifications", sa.column("id", sa.Integer), sa.column("report_id", sa.Integer),
    sa.column("result", sa.JSON), sa.column("result_encrypted", sa.LargeBinary),
)
tokens = sa.table("report_search_tokens", sa.column("report_id", sa.Integer),
                  sa.column("token", sa.String))


def _app():
    from flask import current_app

    return current_app


def _keys():
    return _app().extensions["tinbao.keys"]


def _uploads() -> Path:
    return Path(_app().config["UPLOAD_FOLDER"])


def _replace_file(path: Path, data: bytes) -> None:
    temp = path.with_name(f".{path.name}.migrating")
    with open(temp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temp, path)


def upgrade():
    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.add_column(sa.Column('affiliation_encrypted', sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column('content_key_wrapped', sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column('content_key_id', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('text_encrypted', sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column('involved_encrypted', sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column('redaction_encrypted', sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column('result_text_encrypted', sa.LargeBinary(), nullable=True))
    with op.batch_alter_table('reporter_identities', schema=None) as batch_op:
        batch_op.add_column(sa.Column('identity_key_sealed', sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column('custodian_key_id', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('fields_encrypted', sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column('disclosed_encrypted', sa.LargeBinary(), nullable=True))
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('body_encrypted', sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column('masks_encrypted', sa.LargeBinary(), nullable=True))
    with op.batch_alter_table('internal_notes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('body_encrypted', sa.LargeBinary(), nullable=True))
    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('original_name_encrypted', sa.LargeBinary(), nullable=True))
    with op.batch_alter_table('classifications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('result_encrypted', sa.LargeBinary(), nullable=True))

    op.create_table('report_search_tokens',
    sa.Column('report_id', sa.Integer(), nullable=False),
    sa.Column('token', sa.String(length=32), nullable=False),
    sa.ForeignKeyConstraint(['report_id'], ['reports.id'], name=op.f('fk_report_search_tokens_report_id_reports')),
    sa.PrimaryKeyConstraint('report_id', 'token', name=op.f('pk_report_search_tokens'))
    )
    with op.batch_alter_table('report_search_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_report_search_tokens_token'), ['token'], unique=False)
    op.create_table('identity_disclosures',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('report_id', sa.Integer(), nullable=False),
    sa.Column('agency_id', sa.Integer(), nullable=False),
    sa.Column('custodian_user_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('basis', sa.String(length=32), nullable=False),
    sa.Column('reason_encrypted', sa.LargeBinary(), nullable=True),
    sa.Column('revoked_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'], name=op.f('fk_identity_disclosures_agency_id_agencies')),
    sa.ForeignKeyConstraint(['custodian_user_id'], ['users.id'], name=op.f('fk_identity_disclosures_custodian_user_id_users')),
    sa.ForeignKeyConstraint(['report_id'], ['reports.id'], name=op.f('fk_identity_disclosures_report_id_reports')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_identity_disclosures'))
    )
    with op.batch_alter_table('identity_disclosures', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_identity_disclosures_report_id'), ['report_id'], unique=False)

    files = _encrypt_existing_rows()

    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.alter_column('content_key_wrapped', existing_type=sa.LargeBinary(), nullable=False)
        batch_op.alter_column('content_key_id', existing_type=sa.String(length=16), nullable=False)
        batch_op.alter_column('text_encrypted', existing_type=sa.LargeBinary(), nullable=False)
        batch_op.create_index(batch_op.f('ix_reports_content_key_id'), ['content_key_id'], unique=False)
        batch_op.drop_column('text')
        batch_op.drop_column('involved')
        batch_op.drop_column('search_text')
        batch_op.drop_column('result_text')
        batch_op.drop_column('reporter_affiliation')
    with op.batch_alter_table('reporter_identities', schema=None) as batch_op:
        batch_op.alter_column('identity_key_sealed', existing_type=sa.LargeBinary(), nullable=False)
        batch_op.alter_column('custodian_key_id', existing_type=sa.String(length=16), nullable=False)
        batch_op.alter_column('fields_encrypted', existing_type=sa.LargeBinary(), nullable=False)
        batch_op.create_index(batch_op.f('ix_reporter_identities_custodian_key_id'), ['custodian_key_id'], unique=False)
        for name in IDENTITY_FIELDS:
            batch_op.drop_column(name)
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.alter_column('body_encrypted', existing_type=sa.LargeBinary(), nullable=False)
        batch_op.drop_column('body')
    with op.batch_alter_table('internal_notes', schema=None) as batch_op:
        batch_op.alter_column('body_encrypted', existing_type=sa.LargeBinary(), nullable=False)
        batch_op.drop_column('body')
    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.alter_column('original_name_encrypted', existing_type=sa.LargeBinary(), nullable=False)
        batch_op.drop_column('original_name')
    with op.batch_alter_table('classifications', schema=None) as batch_op:
        batch_op.alter_column('result_encrypted', existing_type=sa.LargeBinary(), nullable=False)
        batch_op.drop_column('result')

    # Files last: everything that can fail in the database has been done.
    for path, data in files:
        _replace_file(path, data)


def _encrypt_existing_rows() -> list:
    """Encrypt every existing row; returns the attachment files to rewrite encrypted."""
    from portal.protection import crypto, redaction
    from portal.protection.search import words

    conn = op.get_bind()
    keys = _keys()
    report_keys = {}
    identity_values = {}
    for row in conn.execute(sa.select(identities)).mappings():
        values = {name: row[name] for name in IDENTITY_FIELDS}
        identity_values[row["report_id"]] = values
        data_key = crypto.random_key()
        sealed, kid = keys.seal_identity_key(data_key)
        conn.execute(identities.update().where(identities.c.report_id == row["report_id"]).values(
            identity_key_sealed=sealed, custodian_key_id=kid,
            fields_encrypted=crypto.encrypt(
                data_key, json.dumps(values, ensure_ascii=False).encode(), "identity.fields")))

    def enc(report_id, value, purpose, as_json=False):
        if value is None:
            return None
        raw = json.dumps(value, ensure_ascii=False).encode() if as_json else value.encode()
        return crypto.encrypt(report_keys[report_id], raw, purpose)

    for row in conn.execute(sa.select(reports)).mappings():
        rid = row["id"]
        report_keys[rid] = data_key = crypto.random_key()
        wrapped, kid = keys.wrap_data_key(data_key)
        identity = identity_values.get(rid)
        masks = {"identity": {
            "text": redaction.to_pairs(redaction.identity_spans(row["text"], identity)),
            "involved": redaction.to_pairs(redaction.identity_spans(row["involved"], identity)),
        }}
        conn.execute(reports.update().where(reports.c.id == rid).values(
            content_key_wrapped=wrapped, content_key_id=kid,
            text_encrypted=enc(rid, row["text"], "report.text"),
            involved_encrypted=enc(rid, row["involved"], "report.involved"),
            result_text_encrypted=enc(rid, row["result_text"], "report.result_text"),
            affiliation_encrypted=enc(rid, row["reporter_affiliation"], "report.affiliation"),
            redaction_encrypted=enc(rid, masks, "report.redaction", as_json=True)))
        found = {keys.search_token(w) for w in words(row["text"]) + words(row["involved"])}
        if found:
            conn.execute(tokens.insert(), [{"report_id": rid, "token": t} for t in sorted(found)])

    for row in conn.execute(sa.select(messages)).mappings():
        rid = row["report_id"]
        spans = redaction.identity_spans(row["body"], identity_values.get(rid))
        conn.execute(messages.update().where(messages.c.id == row["id"]).values(
            body_encrypted=enc(rid, row["body"], "message.body"),
            masks_encrypted=enc(rid, redaction.to_pairs(spans), "message.masks", as_json=True)))
    for row in conn.execute(sa.select(notes)).mappings():
        conn.execute(notes.update().where(notes.c.id == row["id"]).values(
            body_encrypted=enc(row["report_id"], row["body"], "note.body")))
    for row in conn.execute(sa.select(classifications)).mappings():
        result = row["result"]
        if isinstance(result, str):
            result = json.loads(result)
        conn.execute(classifications.update().where(classifications.c.id == row["id"]).values(
            result_encrypted=enc(row["report_id"], result, "classification.result", True)))

    files = []
    for row in conn.execute(sa.select(attachments)).mappings():
        rid = row["report_id"]
        path = _uploads() / row["stored_name"]
        digest = row["sha256"]
        if path.exists():
            data = path.read_bytes()
            digest = hmac.new(report_keys[rid], data, hashlib.sha256).hexdigest()
            files.append((path, crypto.encrypt(report_keys[rid], data, "attachment.file")))
        conn.execute(attachments.update().where(attachments.c.id == row["id"]).values(
            original_name_encrypted=enc(rid, row["original_name"], "attachment.name"),
            sha256=digest))
    return files


def downgrade():
    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reporter_affiliation', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('text', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('involved', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('search_text', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('result_text', sa.Text(), nullable=True))
    with op.batch_alter_table('reporter_identities', schema=None) as batch_op:
        batch_op.add_column(sa.Column('name', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('phone', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('email', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('address', sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column('id_number', sa.String(length=32), nullable=True))
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('body', sa.Text(), nullable=True))
    with op.batch_alter_table('internal_notes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('body', sa.Text(), nullable=True))
    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('original_name', sa.String(length=255), nullable=True))
    with op.batch_alter_table('classifications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('result', sa.JSON(), nullable=True))

    files = _decrypt_existing_rows()

    with op.batch_alter_table('classifications', schema=None) as batch_op:
        batch_op.alter_column('result', existing_type=sa.JSON(), nullable=False)
        batch_op.drop_column('result_encrypted')
    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.alter_column('original_name', existing_type=sa.String(length=255), nullable=False)
        batch_op.drop_column('original_name_encrypted')
    with op.batch_alter_table('internal_notes', schema=None) as batch_op:
        batch_op.alter_column('body', existing_type=sa.Text(), nullable=False)
        batch_op.drop_column('body_encrypted')
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.alter_column('body', existing_type=sa.Text(), nullable=False)
        batch_op.drop_column('masks_encrypted')
        batch_op.drop_column('body_encrypted')
    with op.batch_alter_table('reporter_identities', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reporter_identities_custodian_key_id'))
        batch_op.drop_column('disclosed_encrypted')
        batch_op.drop_column('fields_encrypted')
        batch_op.drop_column('custodian_key_id')
        batch_op.drop_column('identity_key_sealed')
    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.alter_column('text', existing_type=sa.Text(), nullable=False)
        batch_op.alter_column('search_text', existing_type=sa.Text(), nullable=False)
        batch_op.drop_index(batch_op.f('ix_reports_content_key_id'))
        batch_op.drop_column('result_text_encrypted')
        batch_op.drop_column('redaction_encrypted')
        batch_op.drop_column('involved_encrypted')
        batch_op.drop_column('text_encrypted')
        batch_op.drop_column('content_key_id')
        batch_op.drop_column('content_key_wrapped')
        batch_op.drop_column('affiliation_encrypted')

    with op.batch_alter_table('identity_disclosures', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_identity_disclosures_report_id'))
    op.drop_table('identity_disclosures')
    with op.batch_alter_table('report_search_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_report_search_tokens_token'))
    op.drop_table('report_search_tokens')

    for path, data in files:
        _replace_file(path, data)


def _decrypt_existing_rows() -> list:
    """Decrypt every row into the plaintext columns; returns the files to rewrite in clear."""
    from portal.protection import crypto
    from portal.textfold import fold

    conn = op.get_bind()
    keys = _keys()
    report_keys = {}

    def dec(report_id, blob, purpose, as_json=False):
        if blob is None:
            return None
        raw = crypto.decrypt(report_keys[report_id], bytes(blob), purpose)
        return json.loads(raw) if as_json else raw.decode()

    for row in conn.execute(sa.select(reports)).mappings():
        rid = row["id"]
        report_keys[rid] = keys.unwrap_data_key(bytes(row["content_key_wrapped"]),
                                                row["content_key_id"])
        text = dec(rid, row["text_encrypted"], "report.text")
        involved = dec(rid, row["involved_encrypted"], "report.involved")
        conn.execute(reports.update().where(reports.c.id == rid).values(
            text=text, involved=involved, search_text=fold(f"{text}\n{involved or ''}"),
            result_text=dec(rid, row["result_text_encrypted"], "report.result_text"),
            reporter_affiliation=dec(rid, row["affiliation_encrypted"], "report.affiliation")))
    for row in conn.execute(sa.select(identities)).mappings():
        data_key = keys.open_identity_key(bytes(row["identity_key_sealed"]),
                                          row["custodian_key_id"])
        values = json.loads(crypto.decrypt(data_key, bytes(row["fields_encrypted"]),
                                           "identity.fields"))
        conn.execute(identities.update().where(identities.c.report_id == row["report_id"])
                     .values(**{name: values.get(name) for name in IDENTITY_FIELDS}))
    for row in conn.execute(sa.select(messages)).mappings():
        conn.execute(messages.update().where(messages.c.id == row["id"]).values(
            body=dec(row["report_id"], row["body_encrypted"], "message.body")))
    for row in conn.execute(sa.select(notes)).mappings():
        conn.execute(notes.update().where(notes.c.id == row["id"]).values(
            body=dec(row["report_id"], row["body_encrypted"], "note.body")))
    for row in conn.execute(sa.select(classifications)).mappings():
        conn.execute(classifications.update().where(classifications.c.id == row["id"]).values(
            result=dec(row["report_id"], row["result_encrypted"], "classification.result", True)))
    files = []
    for row in conn.execute(sa.select(attachments)).mappings():
        rid = row["report_id"]
        path = _uploads() / row["stored_name"]
        digest = row["sha256"]
        if path.exists():
            data = crypto.decrypt(report_keys[rid], path.read_bytes(), "attachment.file")
            digest = hashlib.sha256(data).hexdigest()
            files.append((path, data))
        conn.execute(attachments.update().where(attachments.c.id == row["id"]).values(
            original_name=dec(rid, row["original_name_encrypted"], "attachment.name"),
            sha256=digest))
    return files
