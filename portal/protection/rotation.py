"""Key rotation: re-wrap every per-report data key under a new content key or custodian key
pair, keeping the old key until nothing refers to it.

A rotation never re-encrypts the data itself — only the small per-report keys — so it is quick
and the text, files and identities are untouched. The procedure (docs/security.md):

1. ``flask --app portal keys rotate-content`` (or ``rotate-custodian``) writes the new key to
   ``<key file>.next`` (so an interrupted run resumes with the same key), re-wraps every row,
   committing in batches, then promotes: the old key is copied to ``retired/`` and the new key
   becomes ``content.key`` / ``custodian.key`` (+ ``.pub``).
2. Restart the portal's processes: until then they keep using the old key for new reports,
   which is why the old key stays (in ``retired/``, loaded automatically).
3. ``flask --app portal keys rotate-content --finish`` re-wraps what was filed in between and
   deletes retired keys no row refers to any more. Destroy old backups of the key as well.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import nacl.public
from sqlalchemy import func, select

from portal.extensions import db
from portal.protection import crypto
from portal.protection.crypto import KeyRing

BATCH = 200


@dataclass
class RotationResult:
    new_key_id: str
    rewrapped: int
    promoted: bool
    retired_deleted: list[str]
    message: str = ""


def _retire(path, kid: str, prefix: str, raw: bytes) -> None:
    target = crypto.retired_dir(path) / f"{prefix}-{kid}.key"
    if not target.exists():
        crypto.write_key_file(target, raw)


def _replace_key_file(path, raw: bytes) -> None:
    temp = path.with_name(path.name + ".tmp")
    temp.unlink(missing_ok=True)
    crypto.write_key_file(temp, raw)
    os.replace(temp, path)


# --- content key -----------------------------------------------------------------------------

def rewrap_content(keys: KeyRing, target_kid: str) -> int:
    """Re-wrap every report's content data key under content key ``target_kid``."""
    from portal.reports.models import Report

    target = keys.content_keys[target_kid]
    count = 0
    while True:
        rows = db.session.scalars(
            select(Report).where(Report.content_key_id != target_kid).order_by(Report.id)
            .limit(BATCH)
        ).all()
        if not rows:
            return count
        for report in rows:
            data_key = keys.unwrap_data_key(report.content_key_wrapped, report.content_key_id)
            report.content_key_wrapped = crypto.encrypt(target, data_key, "content-data-key")
            report.content_key_id = target_kid
        db.session.commit()
        count += len(rows)


def _content_ids_in_use() -> set[str]:
    from portal.reports.models import Report

    return set(db.session.scalars(select(Report.content_key_id).distinct()))


def _delete_unused_retired(keys: KeyRing, prefix: str, in_use: set[str], load_kid) -> list[str]:
    path = keys.content_key_file if prefix == "content" else keys.custodian_key_file
    deleted = []
    retired = crypto.retired_dir(path)
    if retired.is_dir():
        for file in sorted(retired.glob(f"{prefix}-*.key")):
            kid = load_kid(file)
            if kid not in in_use:
                file.unlink()
                deleted.append(kid)
    return deleted


def rotate_content(keys: KeyRing, *, finish: bool = False) -> RotationResult:
    """Step 1 (or, with ``finish``, step 3) of the content key rotation."""
    path = keys.content_key_file
    if finish:
        count = rewrap_content(keys, keys.content_kid)
        deleted = _delete_unused_retired(
            keys, "content", _content_ids_in_use() | {keys.content_kid},
            lambda f: crypto.content_key_id(crypto.read_key_file(f)))
        for kid in deleted:
            keys.content_keys.pop(kid, None)
        return RotationResult(keys.content_kid, count, False, deleted)

    next_file = crypto.next_path(path)
    if next_file.exists():
        new_key = crypto.read_key_file(next_file)
    else:
        new_key = crypto.random_key()
        crypto.write_key_file(next_file, new_key)
    new_kid = keys.add_content_key(new_key)
    old_kid, old_key = keys.content_kid, keys.content_key
    count = rewrap_content(keys, new_kid)
    if keys.content_source != "file":
        return RotationResult(new_kid, count, False, [], (
            f"The content key comes from TINBAO_CONTENT_KEY: set it to the content of "
            f"{next_file}, keep the old key as {crypto.retired_dir(path)}/content-{old_kid}.key "
            f"until `keys rotate-content --finish`, then delete {next_file}."))
    _retire(path, old_kid, "content", old_key)
    os.replace(next_file, path)
    keys.content_kid = new_kid
    return RotationResult(new_kid, count, True, [])


# --- custodian key pair ----------------------------------------------------------------------

def rewrap_identities(keys: KeyRing, target_public: nacl.public.PublicKey) -> int:
    """Re-seal every identity data key to the custodian public key ``target_public``."""
    from portal.reports.models import ReporterIdentity

    target_kid = crypto.custodian_key_id(target_public)
    box = nacl.public.SealedBox(target_public)
    count = 0
    while True:
        rows = db.session.scalars(
            select(ReporterIdentity).where(ReporterIdentity.custodian_key_id != target_kid)
            .order_by(ReporterIdentity.report_id).limit(BATCH)
        ).all()
        if not rows:
            return count
        for identity in rows:
            data_key = keys.open_identity_key(identity.identity_key_sealed,
                                              identity.custodian_key_id)
            identity.identity_key_sealed = bytes(box.encrypt(data_key))
            identity.custodian_key_id = target_kid
        db.session.commit()
        count += len(rows)


def _custodian_ids_in_use() -> set[str]:
    from portal.reports.models import ReporterIdentity

    return set(db.session.scalars(select(ReporterIdentity.custodian_key_id).distinct()))


def rotate_custodian(keys: KeyRing, *, finish: bool = False) -> RotationResult:
    """Step 1 (or 3) of the custodian key pair rotation. Needs the current private key here."""
    path = keys.custodian_key_file
    if finish:
        count = rewrap_identities(keys, keys.custodian_public)
        deleted = _delete_unused_retired(
            keys, "custodian", _custodian_ids_in_use() | {keys.custodian_kid},
            lambda f: crypto.custodian_key_id(
                nacl.public.PrivateKey(crypto.read_key_file(f)).public_key))
        for kid in deleted:
            keys.custodian_private_keys.pop(kid, None)
        return RotationResult(keys.custodian_kid, count, False, deleted)

    if not keys.can_open_identity:
        raise crypto.KeyUnavailable(
            "the custodian's current private key is not on this machine: run the rotation "
            "where it is")
    next_file = crypto.next_path(path)
    if next_file.exists():
        new_private = nacl.public.PrivateKey(crypto.read_key_file(next_file))
    else:
        new_private = nacl.public.PrivateKey.generate()
        crypto.write_key_file(next_file, bytes(new_private))
    new_kid = keys.add_custodian_private_key(new_private)
    old_kid = keys.custodian_kid
    old_private = keys.custodian_private_keys[old_kid]
    count = rewrap_identities(keys, new_private.public_key)
    if keys.custodian_source != "file":
        return RotationResult(new_kid, count, False, [], (
            f"The custodian key comes from TINBAO_CUSTODIAN_PRIVATE_KEY: set it to the content "
            f"of {next_file}, keep the old key as {crypto.retired_dir(path)}/custodian-"
            f"{old_kid}.key until `keys rotate-custodian --finish`, then delete {next_file}."))
    _retire(path, old_kid, "custodian", bytes(old_private))
    _replace_key_file(crypto.public_path(path), bytes(new_private.public_key))
    os.replace(next_file, path)
    keys.custodian_public = new_private.public_key
    return RotationResult(new_kid, count, True, [])


def key_usage() -> dict:
    """Rows per key id, for ``keys status``."""
    from portal.reports.models import Report, ReporterIdentity

    content = dict(db.session.execute(
        select(Report.content_key_id, func.count()).group_by(Report.content_key_id)).all())
    custodian = dict(db.session.execute(
        select(ReporterIdentity.custodian_key_id, func.count())
        .group_by(ReporterIdentity.custodian_key_id)).all())
    return {"content": content, "custodian": custodian}
