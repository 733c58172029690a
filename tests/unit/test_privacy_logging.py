"""No client address or identity reaches the logs."""

import logging

from portal.privacy_logging import RedactClientAddress
from tests.helpers import file_report, open_case


def test_filter_removes_addresses_from_werkzeug_lines():
    record = logging.LogRecord("werkzeug", logging.INFO, __file__, 1,
                               '%s - - [22/Nov/2026 10:00:00] "GET / HTTP/1.1" 200 -',
                               ("203.0.113.7",), None)
    RedactClientAddress().filter(record)
    assert "203.0.113.7" not in record.getMessage()
    v6 = logging.LogRecord("x", logging.INFO, __file__, 1, "from 2001:db8::1 and ::1", None, None)
    RedactClientAddress().filter(v6)
    assert "2001:db8" not in v6.getMessage() and "::1" not in v6.getMessage()


def test_a_full_named_filing_logs_no_identity_or_address(client, caplog):
    caplog.set_level(logging.DEBUG)
    identity = {"name": "Trần Thị Bích Ngọc", "phone": "0987654321", "email": "ngoc@example.vn",
                "address": "Tổ 5 phường Gia Sàng", "id_number": "019301234567"}
    client.environ_base["REMOTE_ADDR"] = "198.51.100.23"
    code = file_report(client, identity_choice="named", contact_preference="phone", **identity)
    open_case(client, code)
    logged = "\n".join(r.getMessage() for r in caplog.records)
    for value in (*identity.values(), "198.51.100.23", code):
        assert value not in logged
