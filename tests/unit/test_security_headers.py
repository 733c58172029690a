"""Security headers and cookies on every kind of response, after warehouse's
tests/unit/test_csp.py: public pages, staff pages, the JSON API, error pages and static files."""

import re
import tempfile
from pathlib import Path

import pytest

from portal import create_app
from portal.security_headers import CONTENT_SECURITY_POLICY
from tests.helpers import csrf_token, file_report

TEMPLATES = Path(__file__).resolve().parents[2] / "portal" / "templates"

EXPECTED_CSP = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'", "data:"],
    "object-src": ["'none'"],
    "base-uri": ["'none'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
}

PUBLIC_PAGES = ["/", "/gui-tin", "/gui-tin?province=19", "/tra-cuu", "/bien-nhan", "/ho-so",
                "/khong-co-trang-nay"]
STAFF_PAGES = ["/staff/login", "/staff/triage/", "/staff/khong-co"]
API = ["/api/v1/openapi.json", "/api/v1/reports/status", "/pow/challenge"]
STATIC = ["/static/css/site.css", "/static/js/pow.js"]


def parse_csp(value: str) -> dict[str, list[str]]:
    policy = {}
    for part in value.split(";"):
        name, *sources = part.split()
        assert name not in policy, f"directive {name} twice"
        policy[name] = sources
    return policy


def assert_common_headers(response):
    headers = response.headers
    assert parse_csp(headers["Content-Security-Policy"]) == EXPECTED_CSP
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "no-referrer"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Cross-Origin-Opener-Policy"] == "same-origin"
    assert headers["Cross-Origin-Resource-Policy"] == "same-origin"
    permissions = dict(item.strip().split("=") for item in headers["Permissions-Policy"].split(","))
    for feature in ("camera", "microphone", "geolocation", "payment", "usb", "browsing-topics"):
        assert permissions[feature] == "()", feature
    # Plain HTTP: no HSTS (it would be ignored, and development must keep working).
    assert "Strict-Transport-Security" not in headers


def test_policy_has_no_inline_code_and_no_other_origin():
    csp = {name: value.split() for name, value in CONTENT_SECURITY_POLICY.items()}
    assert csp == EXPECTED_CSP
    for sources in csp.values():
        assert not {"'unsafe-inline'", "'unsafe-eval'", "*", "http:", "https:"} & set(sources)


@pytest.mark.parametrize("path", PUBLIC_PAGES)
def test_public_pages_carry_every_header_and_are_never_cached(client, path):
    response = client.get(path)
    assert response.status_code in (200, 302, 404)
    assert_common_headers(response)
    assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("path", STAFF_PAGES)
def test_staff_pages_carry_every_header_and_are_never_cached(staff, path):
    response = staff("triage").get(path)
    assert response.status_code in (200, 404)
    assert_common_headers(response)
    assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("path", API)
def test_api_carries_every_header_and_sets_no_cookie(client, path):
    response = client.get(path)
    assert response.status_code in (200, 404)
    assert_common_headers(response)
    assert response.headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in response.headers


@pytest.mark.parametrize("path", STATIC)
def test_static_files_carry_the_headers_and_may_be_cached(client, path):
    response = client.get(path)
    assert response.status_code == 200
    assert_common_headers(response)
    assert "no-store" not in response.headers.get("Cache-Control", "")
    assert "Set-Cookie" not in response.headers
    response.close()


def test_api_never_sets_a_cookie_even_when_asked_for_a_language(client):
    for query in ("", "?lang=en", "?lang=vi"):
        filed = client.post(f"/api/v1/reports{query}", json={
            "text": "Cán bộ xã thu tiền sai quy định của các hộ dân khi làm thủ tục đất đai."})
        assert filed.status_code == 201
        assert "Set-Cookie" not in filed.headers
        code = filed.get_json()["receipt_code"]
        status = client.get(f"/api/v1/reports/status{query}",
                            headers={"Authorization": f"Receipt {code}"})
        assert status.status_code == 200 and "Set-Cookie" not in status.headers
    assert client.post("/api/v1/reports?lang=en", json={"text": "ngắn"}).status_code == 422
    # English was asked for on the API, but the web pages stay Vietnamese: no cookie was kept.
    assert '<html lang="vi">' in client.get("/").get_data(as_text=True)


def session_cookie_attributes(response, name: str) -> set[str] | None:
    """The attributes of cookie ``name`` set by ``response`` ({"httponly", "samesite=lax", …})."""
    for header in response.headers.getlist("Set-Cookie"):
        if header.startswith(f"{name}="):
            return {part.strip().lower() for part in header.split(";")[1:]}
    return None


def test_cookies_are_httponly_samesite_and_secure_over_https(app):
    plain = app.test_client()
    attributes = session_cookie_attributes(plain.get("/gui-tin"), "session")
    assert attributes is not None and {"httponly", "samesite=lax"} <= attributes
    assert "secure" not in attributes  # plain-HTTP development and the .onion instance

    https = app.test_client()
    https_attributes = session_cookie_attributes(
        https.get("/gui-tin", base_url="https://localhost"), "session")
    assert {"httponly", "samesite=lax", "secure"} <= https_attributes


def test_staff_cookie_is_httponly_samesite_and_secure_over_https(app, make_user):
    from tests.helpers import PASSWORD

    make_user("hang", "triage")
    client = app.test_client()
    token = csrf_token(client, "https://localhost/staff/login")
    response = client.post("/staff/login", base_url="https://localhost",
                           data={"csrf_token": token, "username": "hang", "password": PASSWORD})
    assert response.status_code == 302
    attributes = session_cookie_attributes(response, "session_staff")
    assert {"httponly", "samesite=lax", "secure"} <= attributes
    assert session_cookie_attributes(response, "session") is None  # separate cookies


def test_filing_over_https_works_without_a_referer(app):
    # We send Referrer-Policy: no-referrer, so browsers post without a Referer; the CSRF
    # check must not ask for one.
    client = app.test_client()
    client.environ_base["wsgi.url_scheme"] = "https"
    code = file_report(client)
    assert re.fullmatch(r"[0-9A-Z]{5}(-[0-9A-Z]{5}){3}", code)


def test_hsts_is_sent_over_https_only(client):
    secure = client.get("/", base_url="https://localhost")
    assert secure.headers["Strict-Transport-Security"] == "max-age=31536000"
    assert "Strict-Transport-Security" not in client.get("/").headers
    # Behind a TLS-terminating proxy that says so.
    proxied = client.get("/", headers={"X-Forwarded-Proto": "https"})
    assert proxied.headers["Strict-Transport-Security"].startswith("max-age=")


@pytest.fixture
def variant(app):
    """Another instance of the portal over the same database with some settings changed."""

    def _make(**settings):
        workdir = Path(tempfile.mkdtemp(prefix="tinbao-variant-"))
        config = {key: app.config[key] for key in (
            "TESTING", "SECRET_KEY", "SQLALCHEMY_DATABASE_URI", "RATELIMIT_STORAGE_URI",
            "LOOKUP_RATE_LIMIT", "FILING_RATE_LIMIT", "JOBS_MODE", "CLASSIFIER_FACTORY")}
        config.update(INSTANCE_PATH=str(workdir), UPLOAD_FOLDER=str(workdir / "uploads"),
                      **settings)
        return create_app(config).test_client()

    return _make


def test_hsts_can_be_switched_off(variant):
    client = variant(HSTS_ENABLED=False)
    assert "Strict-Transport-Security" not in client.get("/", base_url="https://localhost").headers


def test_secure_cookies_can_be_forced_behind_a_tls_proxy(variant):
    client = variant(SESSION_COOKIE_SECURE=True)
    assert "secure" in session_cookie_attributes(client.get("/gui-tin"), "session")


def test_https_can_be_forced(variant):
    client = variant(FORCE_HTTPS=True)
    response = client.get("/tra-cuu")
    assert response.status_code == 302
    assert response.headers["Location"] == "https://localhost/tra-cuu"
    assert client.get("/tra-cuu", base_url="https://localhost").status_code == 200


def test_onion_location_is_announced_on_https_pages(variant):
    onion = "http://tinbaoexampleexampleexampleexampleexampleexampleexampleexam.onion"
    client = variant(ONION_LOCATION=onion + "/")
    page = client.get("/tra-cuu?lang=en", base_url="https://localhost")
    assert page.headers["Onion-Location"] == onion + "/tra-cuu?lang=en"
    assert client.get("/", base_url="https://localhost").headers["Onion-Location"] == onion + "/"
    assert "Onion-Location" not in client.get("/").headers  # Tor Browser ignores it over HTTP
    assert "Onion-Location" not in client.get(
        "/static/css/site.css", base_url="https://localhost").headers


def test_public_only_instance_has_no_back_office(variant):
    client = variant(SERVE_STAFF=False)
    for path in ("/staff", "/staff/", "/staff/login", "/staff/triage/"):
        assert client.get(path).status_code == 404, path
    assert client.post("/staff/login", data={"username": "admin"}).status_code in (400, 404)
    assert client.get("/gui-tin").status_code == 200
    assert client.get("/tra-cuu").status_code == 200


INLINE_CODE = re.compile(
    r"style\s*=|<style|<script(?![^>]*\bsrc=)[^>]*>|\son[a-z]+\s*=|javascript:", re.IGNORECASE)


def test_templates_have_no_inline_script_or_style():
    offenders = []
    for template in TEMPLATES.rglob("*.html"):
        for number, line in enumerate(template.read_text(encoding="utf-8").splitlines(), 1):
            if INLINE_CODE.search(line):
                offenders.append(f"{template.relative_to(TEMPLATES)}:{number}: {line.strip()}")
    assert offenders == []


def test_rendered_filing_form_has_no_inline_code(client):
    page = client.get("/gui-tin?province=19").get_data(as_text=True)
    assert not INLINE_CODE.search(page)
    # The one script is a same-origin file, loaded without blocking the page.
    assert re.findall(r"<script[^>]*>", page) == ['<script src="/static/js/pow.js" defer>']
