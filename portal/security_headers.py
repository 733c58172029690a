"""HTTP security headers on every response, set by the app itself (not only by a proxy).

Flask-Talisman sets the Content-Security-Policy, HSTS, X-Frame-Options, Referrer-Policy,
X-Content-Type-Options and Permissions-Policy headers, and redirects to HTTPS when told to.
We add what it does not know about: the cross-origin isolation headers (COOP, CORP), ``no-store``
on every page that is not a static file, and the optional ``Onion-Location`` header. This is the
job warehouse's ``warehouse/csp.py`` does; ``tests/unit/test_security_headers.py`` checks it the
way warehouse's ``tests/unit/test_csp.py`` does.

The policy has no ``'unsafe-inline'``: templates carry no ``style=`` or ``<script>`` body, and
the one script (``static/js/pow.js``, optional) is a file.
"""

from flask import abort, request
from flask_talisman import Talisman

# Directive → sources. Nothing from another origin, no inline code, no plugins, no framing.
CONTENT_SECURITY_POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "object-src": "'none'",
    "base-uri": "'none'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}

# Every powerful browser feature switched off for every origin, this one included.
PERMISSIONS_POLICY = {
    feature: "()"
    for feature in (
        "accelerometer", "autoplay", "browsing-topics", "camera", "display-capture",
        "geolocation", "gyroscope", "interest-cohort", "magnetometer", "microphone",
        "payment", "usb",
    )
}

CROSS_ORIGIN_HEADERS = {
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}

def _is_static(path: str) -> bool:
    return path.startswith("/static/")


def add_headers(response):
    """COOP, CORP, ``no-store`` and ``Onion-Location``, after Talisman's headers."""
    for name, value in CROSS_ORIGIN_HEADERS.items():
        response.headers[name] = value
    if not _is_static(request.path):
        # Public pages can show a case's history and staff pages show reports: a shared
        # computer's cache or a proxy must keep none of them. Overrides send_file's "no-cache".
        response.headers["Cache-Control"] = "no-store"
    return response


def _onion_location(app):
    onion = app.config["ONION_LOCATION"].rstrip("/")

    def add_onion_location(response):
        # Tor Browser honours the header only on HTTPS pages, and only HTML pages need it.
        if request.is_secure and response.mimetype == "text/html":
            response.headers["Onion-Location"] = onion + request.full_path.rstrip("?")
        return response

    return add_onion_location


def _no_back_office():
    """On the onion instance the back office does not exist (docs/tor.md)."""
    if request.path == "/staff" or request.path.startswith("/staff/"):
        abort(404)


def init_app(app) -> None:
    """Install the headers on ``app``; the settings come from ``portal.config``."""
    config = app.config
    # One Talisman per app: it keeps its settings on the instance, not on the app.
    app.extensions["talisman"] = Talisman(
        app,
        content_security_policy=CONTENT_SECURITY_POLICY,
        permissions_policy=PERMISSIONS_POLICY,
        frame_options="DENY",
        referrer_policy="no-referrer",
        x_content_type_options=True,
        force_https=config["FORCE_HTTPS"],
        # Sent only on responses to HTTPS requests (Talisman checks), so plain-HTTP
        # development and the .onion instance never get it.
        strict_transport_security=config["HSTS_ENABLED"],
        strict_transport_security_max_age=config["HSTS_MAX_AGE"],
        strict_transport_security_include_subdomains=False,
        # Talisman would force SESSION_COOKIE_SECURE on every request; we keep our own rule
        # (always when TINBAO_COOKIE_SECURE=1, else whenever the request came over HTTPS:
        # see SplitCookieSessionInterface.get_cookie_secure).
        session_cookie_secure=config["SESSION_COOKIE_SECURE"],
        session_cookie_http_only=True,
        session_cookie_samesite=config["SESSION_COOKIE_SAMESITE"],
    )
    app.after_request(add_headers)
    if config.get("ONION_LOCATION"):
        app.after_request(_onion_location(app))
    if not config["SERVE_STAFF"]:
        app.before_request(_no_back_office)
