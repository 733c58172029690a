"""End to end in real headless Chromium with JavaScript disabled, like Tor Browser's safest
mode: file a report, read the receipt code, open the status page."""

import logging
import re
import shutil
import tempfile
import threading
from pathlib import Path

import pytest
from flask_migrate import upgrade
from werkzeug.serving import make_server

from portal import create_app
from portal.agencies.seed import load_directory

CHROMIUM = "/usr/bin/chromium"
pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not Path(CHROMIUM).exists(),
                       reason="Debian chromium missing: run scripts/install-chromium.sh"),
]
# Flags from this machine's notes: no sandbox as root, no background network traffic.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def live_server():
    """The portal on a free loopback port with its own SQLite database; yields (url, log)."""
    workdir = Path(tempfile.mkdtemp(prefix="tinbao-e2e-"))
    app = create_app({
        "INSTANCE_PATH": str(workdir),
        "SECRET_KEY": "e2e-secret",
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{workdir / 'e2e.sqlite3'}",
        "UPLOAD_FOLDER": str(workdir / "uploads"),
    })
    with app.app_context():
        upgrade(directory=str(Path(__file__).resolve().parents[2] / "migrations"), revision="heads")
        load_directory()
    # Capture the development server's access log to prove it holds no client address.
    records: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: records.append(record.getMessage())
    werkzeug_log = logging.getLogger("werkzeug")
    werkzeug_log.addHandler(handler)
    werkzeug_log.setLevel(logging.INFO)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", records
    server.shutdown()
    werkzeug_log.removeHandler(handler)
    shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def test_file_report_read_receipt_and_open_status_without_javascript(live_server, browser):
    base, access_log = live_server
    context = browser.new_context(java_script_enabled=False, viewport={"width": 360, "height": 740})
    requested_hosts = set()
    context.on("request", lambda request: requested_hosts.add(re.sub(r"^\w+://([^/]+).*", r"\1",
                                                                       request.url)))
    page = context.new_page()
    page.goto(base + "/")
    page.get_by_role("link", name="Gửi tin mới").click()

    page.get_by_label("Tỉnh, thành phố").select_option(label="Thái Nguyên")
    page.get_by_role("button", name="Tiếp tục").click()
    page.get_by_label("Việc gì đã xảy ra?").fill(
        "Tối 12/11 có nhóm người tổ chức đánh bạc ăn tiền tại nhà ông T, xóm Làng Giáo. "
        "Mỗi tối có khoảng 20 người đến chơi, tiền cược hàng chục triệu đồng."
    )
    page.get_by_label("Xã, phường, đặc khu").select_option(label="Phường Phan Đình Phùng")
    page.get_by_label("Tố giác, tin báo về tội phạm").check()
    page.get_by_role("button", name="Gửi tin").click()

    code = page.locator("[data-receipt-code]").inner_text().strip()
    assert re.fullmatch(r"[0-9A-Z]{5}(-[0-9A-Z]{5}){3}", code)

    page.get_by_role("link", name=re.compile("đến trang tra cứu")).click()
    page.get_by_label("Mã tra cứu").fill(code.lower())
    page.get_by_role("button", name="Mở hồ sơ").click()
    assert page.locator(".status-now").inner_text() == "Đã tiếp nhận"
    assert "Đã tiếp nhận tin của bạn." in page.locator(".timeline").inner_text()

    # Nothing but our own server was contacted, and its log has no client address.
    assert requested_hosts == {base.removeprefix("http://")}
    assert access_log, "expected access log lines from the development server"
    assert not any("127.0.0.1" in line for line in access_log)
    context.close()


@pytest.mark.parametrize("path", ["/", "/gui-tin?province=19", "/tra-cuu", "/minh-bach"])
def test_public_pages_fit_a_360px_phone_screen(live_server, browser, path):
    base, _log = live_server
    # JavaScript on here only to measure the layout the reader sees.
    context = browser.new_context(viewport={"width": 360, "height": 740})
    page = context.new_page()
    page.goto(base + path)
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    # Touch targets: every button and text input is at least 44 px tall.
    heights = page.evaluate(
        "Array.from(document.querySelectorAll('button, .button, input[type=text], select, textarea'))"
        ".filter(e => e.offsetParent !== null).map(e => e.getBoundingClientRect().height)"
    )
    assert heights and min(heights) >= 44
    # Every visible form control has a label.
    unlabelled = page.evaluate(
        "Array.from(document.querySelectorAll('input:not([type=hidden]), select, textarea'))"
        ".filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label'))"
        ".map(e => e.name)"
    )
    assert unlabelled == []
    context.close()


def test_with_javascript_the_form_solves_the_proof_of_work_before_sending(live_server, browser):
    """The optional script (static/js/pow.js) fills the hidden field with a solved challenge;
    the server accepts the filing (the no-JavaScript test above files without one)."""
    from portal.antispam import services

    base, _log = live_server
    context = browser.new_context(viewport={"width": 360, "height": 740})
    page = context.new_page()
    csp_violations: list[str] = []  # Chromium reports them on the console
    page.on("console", lambda m: csp_violations.append(m.text)
            if "Content Security Policy" in m.text else None)
    page.goto(base + "/gui-tin?province=19")
    page.get_by_label("Việc gì đã xảy ra?").fill(
        "Một cơ sở sản xuất ở xóm Làng Giáo xả nước thải chưa xử lý ra suối suốt ba tháng nay."
    )
    with page.expect_request(lambda r: r.method == "POST" and "/gui-tin" in r.url) as posted:
        page.get_by_role("button", name="Gửi tin").click()
    body = posted.value.post_data or ""
    solution = re.search(r'name="pow"\r\n\r\n([^\r]*)\r\n', body).group(1)
    assert services.check_solution(solution, secret_key="e2e-secret", max_age=600,
                                   min_difficulty=16)
    assert re.search(r'name="website"\r\n\r\n\r\n', body)  # the honeypot stays empty
    page.wait_for_url(base + "/bien-nhan")
    assert re.fullmatch(r"[0-9A-Z]{5}(-[0-9A-Z]{5}){3}",
                        page.locator("[data-receipt-code]").inner_text().strip())
    assert csp_violations == []
    context.close()
