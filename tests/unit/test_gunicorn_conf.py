"""deploy/gunicorn.conf.py: gunicorn's access and error logs carry no client address, user
agent, referrer or query string."""

import os
import re
import runpy
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CONF = ROOT / "deploy" / "gunicorn.conf.py"
CLIENT_ADDRESS = "127.0.0.94"
USER_AGENT = "TrinhDuyetRiengTu/4.2 (gunicorn test)"

pytest.importorskip("gunicorn")


def test_the_access_log_format_names_nothing_about_the_client():
    settings = runpy.run_path(str(CONF))
    atoms = set(re.findall(r"%\((.+?)\)s", settings["access_log_format"]))
    # h: address, a: user agent, f: referrer, r and q: the query string, u: user, {…}: headers
    # and environment (X-Forwarded-For, Cookie…).
    assert atoms <= {"t", "m", "U", "H", "s", "B", "b", "M", "D", "T", "L"}, atoms
    assert settings["wsgi_app"] == "portal:create_app()"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _send(port: int, raw: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10,
                                  source_address=(CLIENT_ADDRESS, 0)) as connection:
        connection.sendall(raw)
        chunks = []
        while chunk := connection.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


@pytest.mark.slow
def test_a_running_gunicorn_logs_requests_without_address_agent_or_query(tmp_path):
    port = _free_port()
    env = {**os.environ, "TINBAO_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
           "TINBAO_SECRET_KEY": "gunicorn-test", "TINBAO_UPLOAD_FOLDER": str(tmp_path / "up"),
           "TINBAO_BIND": f"127.0.0.1:{port}", "TINBAO_WORKERS": "1"}
    env.pop("TINBAO_REDIS_URL", None)
    gunicorn = shutil.which("gunicorn", path=str(Path(sys.executable).parent)) or "gunicorn"
    server = subprocess.Popen(  # noqa: S603 (fixed arguments)
        [gunicorn, "-c", str(CONF), "--log-level", "debug", "--no-control-socket"],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        for _ in range(100):
            try:
                answer = _send(port, b"GET /tra-cuu?ma=BIMATTRONGURL HTTP/1.1\r\nHost: x\r\n"
                                     b"User-Agent: " + USER_AGENT.encode() + b"\r\n"
                                     b"Referer: http://noi-gioi-thieu.example/trang\r\n"
                                     b"Connection: close\r\n\r\n")
                break
            except ConnectionRefusedError:
                time.sleep(0.1)
        assert answer.startswith(b"HTTP/1.1 200"), answer[:200]
        # A malformed request: gunicorn's error log names the peer ("Invalid request from ip=").
        _send(port, b"NOT-HTTP\r\n\r\n")
    finally:
        server.terminate()
        out, err = server.communicate(timeout=20)
    logged = (out + err).decode("utf-8", "replace")
    assert re.search(r'"GET /tra-cuu HTTP/1\.1" 200 \d+', logged), logged
    assert "Invalid request" in logged, logged
    for secret in (CLIENT_ADDRESS, USER_AGENT, "TrinhDuyetRiengTu", "BIMATTRONGURL",
                   "noi-gioi-thieu"):
        assert secret not in logged, secret
