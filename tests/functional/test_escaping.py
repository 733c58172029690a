"""Output escaping of messages that carry what the reporter sent (regression for the XSS that
wapiti found through an attachment's file name; docs/security.md, Scans)."""

import io

from flask import render_template_string
from flask_babel import lazy_gettext as _l

from tests.helpers import csrf_token

PAYLOAD = '<img src=x onerror=alert("tinbao")>'


def test_a_file_name_with_markup_is_shown_as_text(client):
    url = "/gui-tin?province=19"
    response = client.post(url, content_type="multipart/form-data", data={
        "csrf_token": csrf_token(client, url), "reporter_role": "citizen", "report_type": "",
        "province_code": "19", "identity_choice": "anonymous", "contact_preference": "none",
        "text": "Cán bộ xã thu tiền sai quy định của các hộ dân khi làm thủ tục đất đai.",
        "attachments": (io.BytesIO(b"GIF89a\x01\x00\x01\x00\x00\x00\x00;"), PAYLOAD + ".gif"),
    })
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "không thuộc loại được nhận" in page
    assert "<img src=x" not in page
    assert "&lt;img src=x onerror=alert(" in page


def test_lazy_messages_with_user_data_are_escaped_in_templates(app):
    with app.test_request_context("/"):
        message = _l("Tệp “%(name)s” không thuộc loại được nhận (%(types)s).",
                     name=PAYLOAD, types="PDF")
        html = render_template_string("<p>{{ message }}</p><p title='{{ message }}'></p>",
                                      message=message)
    assert "<img" not in html
    assert html.count("&lt;img src=x onerror=alert(&#34;tinbao&#34;)&gt;") == 2
