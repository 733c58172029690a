"""deploy/ agrees with the code: the systemd units run commands that exist, the settings they
and the environment example name are ones the portal reads, the nginx configuration logs no
client address and passes `nginx -t`, and TINBAO_PROXY_HOPS gives the rate limiter each
client's address behind the proxy (docs/deployment.md)."""

import re
import shlex
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click
import pytest

from portal import create_app

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
UNITS = sorted((DEPLOY / "systemd").glob("tinbao-*"))
NGINX_CONF = DEPLOY / "nginx" / "tinbao.conf"
ENV_EXAMPLE = DEPLOY / "tinbao.env.example"
WEB_UNIT = DEPLOY / "systemd" / "tinbao-web.service"
# nginx variables that identify or describe a client, or carry the query string.
CLIENT_VARIABLES = ("$remote_addr", "$binary_remote_addr", "$remote_port", "$remote_user",
                    "$http_", "$proxy_add_x_forwarded_for", "$request ", "$request\"",
                    "$request'", "$request_uri", "$args", "$query_string", "$arg_",
                    "$realip_remote_addr", "$cookie_")


def _unit(path: Path) -> dict[str, dict[str, str]]:
    """A unit file's sections; a key given several times (Environment=) keeps every value,
    one per line, as systemd does."""
    sections: dict[str, dict[str, str]] = {}
    current = None
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
            continue
        key, _, value = line.partition("=")
        key, value = key.strip(), value.strip()
        current[key] = f"{current[key]}\n{value}" if key in current else value
    return sections


def _environment_names(unit: dict) -> set[str]:
    names = set()
    for line in unit["Service"].get("Environment", "").splitlines():
        for item in shlex.split(line):
            names.add(item.split("=", 1)[0])
    return names


def _cli_command(app, words: list[str]):
    """The click command `flask --app portal <words…>` would run, or None."""
    command = app.cli
    context = click.Context(command)
    for word in words:
        if not isinstance(command, click.Group):
            return None
        command = command.get_command(context, word)
        if command is None:
            return None
    return command


def test_there_are_units_for_the_web_the_workers_and_each_timer():
    names = {path.name for path in UNITS}
    assert {"tinbao-web.service", "tinbao-worker@.service", "tinbao-deadlines.service",
            "tinbao-deadlines.timer"} <= names
    for timer in (path for path in UNITS if path.suffix == ".timer"):
        assert timer.with_suffix(".service").name in names, timer.name


@pytest.mark.parametrize("path", [p for p in UNITS if p.suffix == ".service"],
                         ids=lambda p: p.name)
def test_each_unit_runs_an_existing_command_as_the_tinbao_user(path, app):
    unit = _unit(path)
    service = unit["Service"]
    assert service["User"] == "tinbao"
    assert service["WorkingDirectory"] == "/srv/tinbao"
    assert service["EnvironmentFile"] == "/etc/tinbao/tinbao.env"
    argv = shlex.split(service["ExecStart"])
    program = Path(argv[0]).name
    assert argv[0].startswith("/srv/tinbao/.venv/bin/"), argv
    if program == "gunicorn":
        assert argv[1:3] == ["-c", "deploy/gunicorn.conf.py"]
        assert (ROOT / argv[2]).is_file()
    else:
        assert program == "flask" and argv[1:3] == ["--app", "portal"], argv
        command = _cli_command(app, argv[3:])
        assert command is not None, f"{path.name}: no command `flask {' '.join(argv[3:])}`"
        assert not isinstance(command, click.Group), f"{path.name}: {argv[3:]} is a group"


def test_timers_name_valid_calendar_times():
    timers = [p for p in UNITS if p.suffix == ".timer"]
    analyze = shutil.which("systemd-analyze")
    for path in timers:
        when = _unit(path)["Timer"]["OnCalendar"]
        assert "Asia/Ho_Chi_Minh" in when, f"{path.name}: times are Vietnam's"
        assert _unit(path)["Timer"]["Persistent"] == "true"
        if analyze:
            checked = subprocess.run([analyze, "calendar", when], capture_output=True,  # noqa: S603
                                     text=True, check=False)
            assert checked.returncode == 0, checked.stderr


def _settings_read_by_the_code() -> set[str]:
    names = set()
    for path in [*ROOT.joinpath("portal").rglob("*.py"), DEPLOY / "gunicorn.conf.py"]:
        names |= set(re.findall(r"TINBAO_[A-Z0-9_]+", path.read_text(encoding="utf-8")))
    return names


def test_every_setting_in_the_env_example_and_the_units_is_read_by_the_code():
    known = _settings_read_by_the_code()
    example = {line.split("=", 1)[0] for line in ENV_EXAMPLE.read_text().splitlines()
               if line and not line.startswith("#")}
    in_units = set().union(*(_environment_names(_unit(p)) for p in UNITS
                             if p.suffix == ".service"))
    tinbao = {name for name in example | in_units if name.startswith("TINBAO_")}
    assert tinbao - known == set()
    assert {"TINBAO_DATABASE_URL", "TINBAO_REDIS_URL", "TINBAO_JOBS_MODE",
            "TINBAO_SECRET_KEY", "TINBAO_KEYS_FOLDER"} <= example


def test_the_env_example_holds_no_secret_and_no_proxy_trust():
    values = dict(line.split("=", 1) for line in ENV_EXAMPLE.read_text().splitlines()
                  if line and not line.startswith("#"))
    for name in ("TINBAO_SECRET_KEY", "TINBAO_SMTP_PASSWORD", "TINBAO_CONTENT_KEY",
                 "TINBAO_INDEX_KEY", "TINBAO_CUSTODIAN_PRIVATE_KEY"):
        assert values.get(name, "") == "", f"{name} must be left empty in the example"
    assert not re.search(r"[0-9a-f]{32,}|[A-Za-z0-9+/]{40,}={0,2}", ENV_EXAMPLE.read_text())
    # Shared by every unit, so also by an onion instance: trusting X-Forwarded-For there would
    # let clients pick their own rate-limit key.
    assert "TINBAO_PROXY_HOPS" not in values
    assert values["TINBAO_KEYS_GENERATE"] == "0"


def test_the_web_unit_and_nginx_agree_on_the_port_and_the_proxy():
    environment = _unit(WEB_UNIT)["Service"]["Environment"]
    settings = dict(item.split("=", 1) for line in environment.splitlines()
                    for item in shlex.split(line))
    assert settings["TINBAO_PROXY_HOPS"] == "1"
    assert settings["TINBAO_FORCE_HTTPS"] == "1" and settings["TINBAO_COOKIE_SECURE"] == "1"
    upstream = re.search(r"upstream tinbao_web \{[^}]*server ([\d.:]+);", NGINX_CONF.read_text())
    assert upstream and upstream.group(1) == settings["TINBAO_BIND"]
    # Workers get only the CPU the web processes leave: filing comes first.
    worker = _unit(DEPLOY / "systemd" / "tinbao-worker@.service")["Service"]
    assert worker["CPUWeight"] == "idle" and worker["CPUSchedulingPolicy"] == "idle"


def _nginx_statements(text: str) -> list[list[str]]:
    """Each directive as its words (comments dropped; block braces end a directive too)."""
    text = re.sub(r"#[^\n]*", "", text)
    return [s.split() for s in re.split(r"[;{}]", text) if s.strip()]


def test_nginx_logs_nothing_about_the_client():
    statements = _nginx_statements(NGINX_CONF.read_text())
    formats = [words for words in statements if words[0] == "log_format"]
    assert formats, "the access log must use a format of ours, not nginx's 'combined'"
    for words in formats:
        statement = " ".join(words) + " "
        for variable in CLIENT_VARIABLES:
            assert variable not in statement, (variable, statement)
    names = {words[1] for words in formats}
    access = [words[1:] for words in statements if words[0] == "access_log"]
    assert access
    for rest in access:
        assert rest == ["off"] or (len(rest) == 2 and rest[1] in names), rest
    errors = [words[1:] for words in statements if words[0] == "error_log"]
    assert errors
    for rest in errors:
        assert len(rest) == 2 and rest[1] in ("crit", "alert", "emerg"), rest
    for words in statements:
        if words[0] in ("limit_req_log_level", "limit_conn_log_level"):
            assert words[1] in ("info", "notice", "warn", "error"), words  # below crit


def test_nginx_passes_the_client_and_scheme_and_allows_the_portals_body_size(app):
    text = NGINX_CONF.read_text()
    assert "proxy_set_header X-Forwarded-For $remote_addr;" in text
    assert "$proxy_add_x_forwarded_for" not in text
    assert "proxy_set_header X-Forwarded-Proto $scheme;" in text
    size = re.search(r"client_max_body_size (\d+)m;", text)
    assert size and int(size.group(1)) * 1024 * 1024 == app.config["MAX_CONTENT_LENGTH"]
    # The application sets the security headers (portal/security_headers.py); a second copy
    # here would drift from the tested one.
    assert "add_header" not in re.sub(r"#[^\n]*", "", text)


def _self_signed(tmp_path: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=2))
            .sign(key, hashes.SHA256()))
    cert_path, key_path = tmp_path / "fullchain.pem", tmp_path / "privkey.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.TraditionalOpenSSL,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def test_nginx_accepts_the_configuration(tmp_path):
    nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists()
                                      else None)
    if nginx is None:
        pytest.skip("nginx is not installed here (make run-prod installs Debian's)")
    if not Path("/etc/nginx/mime.types").exists():
        pytest.skip("nginx without /etc/nginx/mime.types")
    cert, key = _self_signed(tmp_path)
    text = (NGINX_CONF.read_text()
            .replace("/etc/tinbao/tls/fullchain.pem", str(cert))
            .replace("/etc/tinbao/tls/privkey.pem", str(key))
            .replace("/var/log/nginx/", f"{tmp_path}/")
            .replace("pid /run/nginx.pid;", f"pid {tmp_path}/nginx.pid;"))
    text = re.sub(r"^http \{", "http {\n" + "".join(
        f"    {kind}_temp_path {tmp_path}/{kind};\n"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")), text, flags=re.M)
    conf = tmp_path / "nginx.conf"
    conf.write_text(text)
    checked = subprocess.run([nginx, "-t", "-c", str(conf), "-e", str(tmp_path / "error.log")],  # noqa: S603
                             capture_output=True, text=True, check=False)
    assert checked.returncode == 0, checked.stderr


def test_run_prod_and_backup_scripts_parse_and_make_has_the_target():
    for script in ("scripts/run-prod.sh", "scripts/backup.sh"):
        checked = subprocess.run(["bash", "-n", str(ROOT / script)],  # noqa: S603, S607
                                 capture_output=True, text=True, check=False)
        assert checked.returncode == 0, (script, checked.stderr)
    assert re.search(r"^run-prod:.*\n\tbash scripts/run-prod.sh$",
                     (ROOT / "Makefile").read_text(), re.M)


# --- TINBAO_PROXY_HOPS ----------------------------------------------------------------------

def _whoami_app(tmp_path, hops: int):
    app = create_app({
        "TESTING": True, "INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "deploy-test",
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "KEYS_FOLDER": str(tmp_path / "keys"), "UPLOAD_FOLDER": str(tmp_path / "uploads"),
        "RATELIMIT_STORAGE_URI": "memory://", "JOBS_MODE": "inline", "PROXY_HOPS": hops,
    })

    @app.get("/_deploy_test_whoami")
    def whoami():
        from flask import request

        from portal.extensions import client_fingerprint

        return {"fingerprint": client_fingerprint(), "secure": request.is_secure}

    return app.test_client()


def _ask(client, forwarded_for: str) -> dict:
    return client.get("/_deploy_test_whoami", environ_base={"REMOTE_ADDR": "127.0.0.1"},
                      headers={"X-Forwarded-For": forwarded_for,
                               "X-Forwarded-Proto": "https"}).get_json()


def test_behind_the_proxy_each_client_has_its_own_rate_limit_key(tmp_path):
    client = _whoami_app(tmp_path, hops=1)
    first, second = _ask(client, "203.0.113.7"), _ask(client, "198.51.100.23")
    assert first["fingerprint"] != second["fingerprint"]
    assert first["fingerprint"] == _ask(client, "203.0.113.7")["fingerprint"]
    assert first["secure"] is True
    # Only the address nginx wrote counts: a value the client put in front is ignored.
    assert _ask(client, "10.9.9.9, 203.0.113.7")["fingerprint"] == first["fingerprint"]


def test_without_a_proxy_the_forwarded_headers_are_ignored(tmp_path):
    client = _whoami_app(tmp_path, hops=0)
    first, second = _ask(client, "203.0.113.7"), _ask(client, "198.51.100.23")
    assert first["fingerprint"] == second["fingerprint"]
    assert first["secure"] is False
