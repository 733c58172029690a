"""Protection of the reporter: encryption at rest, the keyed search index, redaction for
agencies and the disclosure of identity (Luật Tố cáo 2018, Arts. 8(3), 9, 47–49, 56(2)).

``init_app`` loads the keys (generating them on a fresh install), registers the keyring on
``app.extensions["tinbao.keys"]``, installs the session hook that encrypts every protected
field before it is flushed, and adds the ``flask --app portal keys …`` commands.
"""

from flask_babel import lazy_gettext as _l

MASK_KIND_LABELS = {
    "identity": _l("danh tính người gửi"),
    "self_name": _l("tên người viết tự giới thiệu"),
    "name": _l("tên người"),
    "phone": _l("số điện thoại"),
    "id_number": _l("số CCCD/CMND"),
    "email": _l("thư điện tử"),
    "address": _l("địa chỉ"),
    "phrase": _l("đoạn cán bộ chọn che"),
}


def init_app(app) -> None:
    from portal.protection import cli, crypto, disclosure, envelope

    app.extensions["tinbao.keys"] = crypto.load_keyring(app.config, app.instance_path)
    envelope.install()
    app.cli.add_command(cli.keys_group)

    @app.context_processor
    def protection_labels():
        return {"mask_kind_labels": MASK_KIND_LABELS,
                "disclosure_basis_labels": disclosure.BASIS_LABELS}
