"""``flask --app portal keys …``: inspect and rotate the encryption keys, rebuild the index."""

import click
from flask import current_app
from flask.cli import AppGroup

from portal.protection import crypto, rotation, search


@click.group("keys", cls=AppGroup)
def keys_group() -> None:
    """Encryption keys: status, rotation, search index."""


def _keys() -> crypto.KeyRing:
    return current_app.extensions["tinbao.keys"]


@keys_group.command("status")
def status_command() -> None:
    """Which keys are loaded and how many rows each wraps."""
    keys = _keys()
    usage = rotation.key_usage()
    click.echo(f"Khóa nội dung hiện tại: {keys.content_kid} ({keys.content_source}); "
               f"đang nạp: {', '.join(sorted(keys.content_keys))}")
    for kid, n in sorted(usage["content"].items()):
        click.echo(f"  {kid}: {n} hồ sơ")
    private = "có" if keys.can_open_identity else "KHÔNG (chỉ khóa công khai)"
    click.echo(f"Khóa người giữ danh tính hiện tại: {keys.custodian_kid} "
               f"({keys.custodian_source}); khóa riêng trên máy này: {private}")
    for kid, n in sorted(usage["custodian"].items()):
        click.echo(f"  {kid}: {n} danh tính")


def _report(result: rotation.RotationResult, what: str, finish: bool) -> None:
    click.echo(f"Đã bọc lại {result.rewrapped} khóa dữ liệu bằng {what} {result.new_key_id}.")
    if result.promoted:
        click.echo("Khóa mới đã thành khóa hiện tại; khóa cũ giữ trong thư mục retired/. "
                   "Khởi động lại các tiến trình của cổng, rồi chạy lại lệnh này với --finish.")
    if result.message:
        click.echo(result.message)
    if finish:
        if result.retired_deleted:
            click.echo("Đã xóa khóa cũ không còn dùng: " + ", ".join(result.retired_deleted)
                       + ". Hãy hủy cả các bản sao lưu của chúng.")
        else:
            click.echo("Không có khóa cũ nào để xóa.")


@keys_group.command("rotate-content")
@click.option("--finish", is_flag=True,
              help="After restarting: re-wrap what was filed meanwhile, delete unused old keys.")
def rotate_content_command(finish: bool) -> None:
    """Re-wrap every report's data key under a new content key (the old one is kept until
    --finish)."""
    _report(rotation.rotate_content(_keys(), finish=finish), "khóa nội dung", finish)


@keys_group.command("rotate-custodian")
@click.option("--finish", is_flag=True,
              help="After restarting: re-seal what was filed meanwhile, delete unused old keys.")
def rotate_custodian_command(finish: bool) -> None:
    """Re-seal every identity data key to a new custodian key pair (needs the current private
    key on this machine; the old one is kept until --finish)."""
    try:
        result = rotation.rotate_custodian(_keys(), finish=finish)
    except crypto.KeyUnavailable as exc:
        raise click.ClickException(str(exc)) from exc
    _report(result, "khóa người giữ danh tính", finish)


@keys_group.command("reindex")
def reindex_command() -> None:
    """Rebuild the search index with the current index key (after changing that key)."""
    count = search.reindex_all()
    click.echo(f"Đã lập lại chỉ mục tìm kiếm cho {count} hồ sơ.")
