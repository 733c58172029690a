"""tinbao portal: the Flask application factory."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

from flask import Flask, g, has_request_context, request, session
from flask.sessions import SecureCookieSessionInterface
from flask_babel import get_locale

from portal import client_keys, privacy_logging, security_headers
from portal.config import load_config
from portal.extensions import babel, csrf, db, limiter, login_manager, migrate

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class SplitCookieSessionInterface(SecureCookieSessionInterface):
    """Separate session cookies for the public site and the back office.

    A reporter's browser never carries a staff session and the other way round, like
    SecureDrop's separate source and journalist apps.
    """

    def get_cookie_name(self, app):
        name = super().get_cookie_name(app)
        return f"{name}_staff" if request.path.startswith("/staff") else name

    def get_expiration_time(self, app, session):
        # The staff cookie lives as long as the back office's idle timeout (the server also
        # checks idle and absolute limits itself, portal/staff/auth.py).
        expires = super().get_expiration_time(app, session)
        if expires is not None and request.path.startswith("/staff"):
            expires = datetime.now(UTC) + timedelta(minutes=app.config["STAFF_IDLE_MINUTES"])
        return expires

    def get_cookie_secure(self, app):
        # Secure whenever the request came over HTTPS, and always with TINBAO_COOKIE_SECURE=1
        # (behind a TLS-terminating proxy the app sees plain HTTP).
        return super().get_cookie_secure(app) or request.is_secure

    def save_session(self, app, session, response):
        # The JSON API uses no cookies (that is why it is exempt from CSRF): never set one.
        if request.path.startswith("/api/"):
            return
        super().save_session(app, session, response)


def select_locale() -> str:
    """Vietnamese unless the visitor picked English (kept in their session)."""
    if not has_request_context():  # CLI commands and jobs speak Vietnamese
        return "vi"
    wanted = request.args.get("lang")
    if request.path.startswith("/api/"):
        # The API uses no cookies: the language comes with each request.
        if wanted in ("vi", "en"):
            return wanted
        return request.accept_languages.best_match(["vi", "en"], default="vi")
    if wanted in ("vi", "en"):
        session["lang"] = wanted
        return wanted
    if session.get("lang") in ("vi", "en"):
        return session["lang"]
    return "vi"


def create_app(test_config: dict | None = None) -> Flask:
    """Create the portal. ``test_config`` overrides the environment-derived settings."""
    app = Flask(
        __name__,
        instance_path=str(PROJECT_ROOT / "instance"),
        static_folder=str(PROJECT_ROOT / "static"),
    )
    if test_config and "INSTANCE_PATH" in test_config:
        app.instance_path = test_config["INSTANCE_PATH"]
    app.config.from_mapping(load_config(app.instance_path))
    if test_config:
        app.config.from_mapping(test_config)
    app.session_interface = SplitCookieSessionInterface()
    if app.config.get("PROXY_HOPS"):
        # The client's address and scheme as the trusted proxy saw them (docs/deployment.md).
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = app.config["PROXY_HOPS"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)

    db.init_app(app)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"))
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale,
                   default_translation_directories=str(Path(__file__).parent / "translations"))
    limiter.init_app(app)
    client_keys.init_app(app)
    login_manager.init_app(app)
    privacy_logging.install(app)

    from portal import models  # noqa: F401  (register every table with the metadata)
    from portal import jobs
    from portal.classification import jobs as classification_jobs
    from portal import protection, routing
    from portal.antispam.views import bp as antispam_bp
    from portal.api.views import bp as api_bp
    from portal.cli import register_commands
    from portal.errors import register_error_handlers
    from portal.public.views import bp as public_bp
    from portal import staff
    from portal.templating import register_template_helpers

    app.register_blueprint(public_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(antispam_bp)
    staff.register(app)
    csrf.exempt(api_bp)
    register_error_handlers(app)
    register_template_helpers(app)
    register_commands(app)
    jobs.init_app(app)
    classification_jobs.init_app(app)
    protection.init_app(app)
    routing.init_app(app)

    security_headers.init_app(app)

    @app.before_request
    def remember_locale():
        # Through Flask-Babel, which keeps its answer for the request: select_locale runs once.
        g.lang = str(get_locale())

    return app
