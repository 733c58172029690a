"""Dynamic scans for ``make security``: sqlmap and wapiti against a throwaway local tinbao.

The instance runs in this process on 127.0.0.1 (a free port) with its own temporary SQLite
database, the seeded agency directory, one demo staff account and one filed report. Every scan
targets that loopback address only, and every run and loop is bounded in count and time.
Rate limits are off in this instance so that the scanners are never throttled into seeing
nothing; everything else is the production code and configuration.

Reports go to ``--out`` (instance/security/); a summary is printed and written as
summary.json. Exit status: 0 clean, 1 an injection or XSS finding (or a stored-XSS sweep hit),
2 a scan that could not run or finish.

Usage: .venv/bin/python scripts/security_scan.py [--out DIR] [--quick]
"""

import argparse
import html.parser
import json
import logging
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

USER_AGENT = "tinbao-security-scan"
HOST = "127.0.0.1"
STAFF_USER = "scan-triage"
REPORT_TEXT = ("Cán bộ địa chính xã La Hiên nhận 50 triệu đồng của một hộ dân để cấp sổ đỏ sai "
               "quy định cho thửa đất đang có tranh chấp.")
# Wapiti's categories that count as findings (its JSON report names them so).
WAPITI_FINDINGS = ("SQL Injection", "Blind SQL Injection", "Cross Site Scripting",
                   "Command execution", "Path Traversal", "CRLF Injection")
WAPITI_MODULES = "xss,permanentxss,sql,blindsql,exec,file,crlf"
# We start Debian 12's wapiti 3.0.4 through this launcher, which changes only what keeps it
# from scanning this site from here:
# - its exclusion regexes end in "\\Z(?ms)", which Python 3.11 refuses, so any -x crashed it;
# - it sent every field of a multipart form as a file part, so no form with a file input (our
#   filing form) ever got past CSRF: plain fields now go as plain form fields, as browsers send
#   them;
# - it builds every module, and the "wapp" module downloads a database from the web when it
#   is built: only the modules named with -m are built;
# - and, whatever a module does, a request to any host but the loopback address is refused.
WAPITI_LAUNCHER = r"""
import re, sys
from importlib.metadata import distribution
from urllib.parse import urlsplit
import requests.adapters, requests.models
import wapitiCore.attack.attack as attack
import wapitiCore.net.crawler as crawler

crawler.wildcard_translate = lambda pattern: re.compile(
    "(?ms)" + "".join(".*" if c == "*" else re.escape(c) for c in pattern) + r"\Z")

encode_files = requests.models.RequestEncodingMixin._encode_files
def plain_fields_as_fields(files, data):
    items = files.items() if isinstance(files, dict) else (files or [])
    return encode_files([(k, (None, v) if isinstance(v, (str, bytes)) else v) for k, v in items],
                        data)
requests.models.RequestEncodingMixin._encode_files = staticmethod(plain_fields_as_fields)

send = requests.adapters.HTTPAdapter.send
def loopback_only(self, request, *args, **kwargs):
    if urlsplit(request.url).hostname not in ("127.0.0.1", "localhost", "::1"):
        raise requests.exceptions.ConnectionError("tinbao scan: loopback only")
    return send(self, request, *args, **kwargs)
requests.adapters.HTTPAdapter.send = loopback_only

chosen = sys.argv[sys.argv.index("-m") + 1].split(",")
attack.modules = [m for m in attack.modules if m[4:] in chosen]
entry = next(e for e in distribution("wapiti3").entry_points
             if e.group == "console_scripts" and e.name == "wapiti")
sys.argv[0] = "wapiti"
sys.exit(entry.load()())
"""


# --- the instance ----------------------------------------------------------------------------


def start_instance(workdir: Path, log_path: Path):
    """Create, populate and serve the throwaway portal; returns (base_url, server, info)."""
    from flask_migrate import upgrade
    from werkzeug.serving import make_server

    from portal import create_app
    from portal.accounts.services import create_user
    from portal.agencies.seed import load_directory
    from portal.extensions import db

    app = create_app({
        "INSTANCE_PATH": str(workdir),
        "SECRET_KEY": secrets.token_hex(32),
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{workdir / 'scan.sqlite3'}",
        "UPLOAD_FOLDER": str(workdir / "uploads"),
        "RATELIMIT_ENABLED": False,
        "RATELIMIT_STORAGE_URI": "memory://",
        "CLASSIFIER_ENABLED": False,  # the model is not what is scanned; keep the instance light
        "STAFF_IDLE_MINUTES": 600,
        "STAFF_SESSION_MAX_HOURS": 24,
    })
    password = secrets.token_urlsafe(18)
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"), revision="heads")
        load_directory()
        create_user(STAFF_USER, password, "triage")
        db.session.commit()
        db.session.remove()

    handler = logging.FileHandler(log_path, encoding="utf-8")
    handler.setLevel(logging.INFO)
    for name in ("werkzeug", "portal", app.logger.name):
        # To the file only: the console is for the scan's own progress.
        logger = logging.getLogger(name)
        logger.handlers = [handler]
        logger.propagate = False
        logger.setLevel(logging.INFO)
    server = make_server(HOST, 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://{HOST}:{server.server_port}"

    client = Client(base)
    for _ in range(50):  # bounded wait for the server
        try:
            client.get("/")
            break
        except OSError:
            time.sleep(0.2)
    # One report filed through the public form, with an identity, like a person would.
    code = client.file_report()
    report_id = 1
    return base, server, {"password": password, "receipt_code": code, "report_id": report_id}


class Client:
    """A minimal browser for the loopback instance: cookies, CSRF tokens, never a proxy."""

    CSRF_RE = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')

    def __init__(self, base: str):
        self.base = base
        self.jar = CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({}), urllib.request.HTTPCookieProcessor(self.jar))
        self.opener.addheaders = [("User-Agent", USER_AGENT)]

    def request(self, path: str, data: dict | None = None, headers: dict | None = None,
                raw: bytes | None = None):
        url = path if path.startswith("http") else self.base + path
        body = urllib.parse.urlencode(data).encode() if data is not None else raw
        # Only ever http://127.0.0.1:<port> of the instance started above.
        req = urllib.request.Request(url, data=body, headers=headers or {})  # noqa: S310
        try:
            with self.opener.open(req, timeout=30) as response:
                return response.status, response.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode("utf-8", "replace")

    def get(self, path: str):
        return self.request(path)

    def csrf(self, path: str) -> str:
        status, page = self.get(path)
        match = self.CSRF_RE.search(page)
        if not match:
            raise RuntimeError(f"no CSRF token on {path} (HTTP {status})")
        return match.group(1)

    def file_report(self) -> str:
        form = "/gui-tin?province=19"
        data = filing_fields(self.csrf(form))
        status, page = self.request(form, data)
        match = re.search(r"data-receipt-code>([^<]+)<", page)
        if not match:
            raise RuntimeError(f"filing the demo report failed (HTTP {status})")
        return match.group(1)

    def login(self, username: str, password: str, report_id: int = 1) -> str:
        """Log in; returns the staff session cookie, which already holds a CSRF secret (so a
        scanner that ignores Set-Cookie can still post the case forms)."""
        token = self.csrf("/staff/login")
        self.request("/staff/login", {"csrf_token": token, "username": username,
                                      "password": password})
        self.csrf(f"/staff/triage/cases/{report_id}")
        status, page = self.get("/staff/triage/")
        cookie = self.cookie("session_staff")
        if status != 200 or "/staff/logout" not in page or cookie is None:
            raise RuntimeError(f"staff login failed (HTTP {status})")
        return cookie

    def cookie(self, name: str) -> str | None:
        return next((c.value for c in self.jar if c.name == name), None)


def filing_fields(token: str) -> dict:
    return {
        "csrf_token": token, "reporter_role": "journalist", "affiliation": "Báo Thái Nguyên",
        "report_type": "denunciation", "province_code": "19", "ward_code": "",
        "occurred_on": "2025-09-15", "involved": "Ông N.V.B., cán bộ địa chính",
        "text": REPORT_TEXT, "identity_choice": "named", "name": "Nguyễn Văn An",
        "phone": "0912345678", "email": "an@example.org", "address": "Thôn Đồng Bẩm",
        "id_number": "012345678901", "contact_preference": "email", "disclosure_consent": "y",
        "website": "", "pow": "",
    }


# --- sqlmap ----------------------------------------------------------------------------------


def form_session(base: str, page: str, cookie_name: str = "session",
                 client: "Client | None" = None) -> tuple[str, str]:
    """A session cookie and a CSRF token valid with it (Flask-WTF tokens last two hours and
    may be reused within the session), so sqlmap can post many times from one session."""
    client = client or Client(base)
    token = client.csrf(page)
    return client.cookie(cookie_name), token


def sqlmap_targets(base: str, info: dict) -> list[dict]:
    """What sqlmap attacks: every public form, the JSON API, and staff pages and forms. Each
    form target posts from one fixed session (cookie plus its CSRF token, Set-Cookie ignored),
    which keeps the token valid and lets sqlmap use several threads."""
    code, rid = info["receipt_code"], info["report_id"]
    filing_url = f"{base}/gui-tin?province=19"
    cookie, token = form_session(base, filing_url)
    filing = [f"--data={urllib.parse.urlencode(filing_fields(token))}",
              f"--cookie=session={cookie}", "--drop-set-cookie", "--skip=csrf_token,pow"]
    cookie, token = form_session(base, f"{base}/tra-cuu")
    lookup = [f"--data=csrf_token={token}&code={urllib.parse.quote(code)}",
              f"--cookie=session={cookie}", "--drop-set-cookie", "--skip=csrf_token"]
    api_report = {"text": REPORT_TEXT, "report_type": "crime_report", "reporter_role": "citizen",
                  "province_code": 19, "occurred_on": "2025-09-15", "involved": "Ông N.V.B.",
                  "identity": {"name": "Nguyễn Văn An", "phone": "0912345678",
                               "email": "an@example.org", "address": "Thôn Đồng Bẩm",
                               "id_number": "012345678901", "contact_preference": "email",
                               "disclosure_consent": True}}
    staff_client = Client(base)
    staff_client.login(STAFF_USER, info["password"], rid)
    case = f"{base}/staff/triage/cases/{rid}"
    staff_cookie, staff_token = form_session(base, case, "session_staff", staff_client)
    staff = [f"--cookie=session_staff={staff_cookie}", "--drop-set-cookie"]
    return [
        {"name": "public-filing-form", "args": ["-u", filing_url, *filing]},
        {"name": "public-lookup-form", "args": ["-u", f"{base}/tra-cuu", *lookup]},
        {"name": "api-create-report", "args": [
            "-u", f"{base}/api/v1/reports", "--data=" + json.dumps(api_report, ensure_ascii=False),
            "--headers=Content-Type: application/json"]},
        {"name": "api-status-receipt-header", "args": [
            "-u", f"{base}/api/v1/reports/status", f"--headers=Authorization: Receipt {code}*"]},
        {"name": "api-add-message", "args": [
            "-u", f"{base}/api/v1/reports/messages",
            "--data=" + json.dumps({"text": "Tôi bổ sung: có người chứng kiến."},
                                   ensure_ascii=False),
            f"--headers=Authorization: Receipt {code}\nContent-Type: application/json"]},
        {"name": "staff-queue-search", "args": [
            "-u", f"{base}/staff/triage/?q=hoi+lo&status=all&report_type=denunciation&sector=land"
                  "&province_code=19&ward_code=5740&crime=yes&page=1",
            "-p", "q,status,report_type,sector,province_code,ward_code,crime,page", *staff]},
        {"name": "staff-case-note", "args": [
            "-u", f"{case}/note", f"--data=csrf_token={staff_token}&text=Ghi+ch%C3%BA",
            "-p", "text", *staff]},
        {"name": "staff-case-message", "args": [
            "-u", f"{case}/message", f"--data=csrf_token={staff_token}&text=Xin+b%E1%BB%95+sung",
            "-p", "text", *staff]},
    ]


def request_count(log: Path) -> int:
    """Requests the instance has answered so far (one access-log line each)."""
    with log.open(encoding="utf-8", errors="replace") as lines:
        return sum(1 for line in lines if " HTTP/1.1" in line)


def run_sqlmap(target: dict, out: Path, level: int, risk: int, budget: int) -> dict:
    outdir = out / "sqlmap" / target["name"]
    outdir.mkdir(parents=True, exist_ok=True)
    command = ["sqlmap", "--batch", f"--level={level}", f"--risk={risk}", "--disable-coloring",
               "--flush-session", "--ignore-proxy", f"--user-agent={USER_AGENT}",
               "--timeout=15", "--retries=1", "--threads=4", f"--output-dir={outdir}",
               # Process JSON bodies and '*' marks, and keep testing after a hit.
               "--answers=process it=Y,keep testing=Y",
               *target["args"]]
    started = time.monotonic()
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=budget,  # noqa: S603
                              env=scan_env(), check=False)
        output, timed_out = done.stdout + done.stderr, False
    except subprocess.TimeoutExpired as stopped:
        output = (stopped.stdout or b"").decode("utf-8", "replace") if isinstance(
            stopped.stdout, bytes) else (stopped.stdout or "")
        timed_out = True
    (outdir / "output.txt").write_text(output, encoding="utf-8")
    injected = "identified the following injection point" in output
    clean = "do not appear to be injectable" in output
    tested = sorted(set(re.findall(r"testing if (?:\(custom\) )?\w+ parameter '([^']+)' is dynamic",
                                   output) + re.findall(r"parameter '([^']+)' does not seem to be "
                                                        r"injectable", output)))
    return {
        "target": target["name"],
        "injection": injected,
        "completed": (injected or clean) and not timed_out,
        "timed_out": timed_out,
        "parameters_reported_not_injectable": tested,
        "seconds": round(time.monotonic() - started),
    }


# --- wapiti ----------------------------------------------------------------------------------


def run_wapiti(name: str, start_url: str, out: Path, workdir: Path, budget: int,
               cookie: str | None = None, exclude: tuple[str, ...] = ()) -> dict:
    report = out / f"wapiti-{name}.json"
    command = ["/usr/bin/python3", "-c", WAPITI_LAUNCHER, "-u", start_url, "--scope", "folder",
               "-m", WAPITI_MODULES,
               "--flush-session", "--store-session", str(workdir / f"wapiti-{name}"),
               "--store-config", str(workdir / f"wapiti-config-{name}"),
               "-f", "json", "-o", str(report), "--max-scan-time", str(budget),
               # Wapiti 3.0.4 checks --max-scan-time only between steps; a budget per module
               # keeps the whole run near the total.
               "--max-attack-time", str(max(budget // len(WAPITI_MODULES.split(",")), 30)),
               "--no-bugreport",
               "-A", USER_AGENT, "-d", "6", "--max-links-per-page", "200", "-t", "20", "-v", "1"]
    for url in exclude:
        command += ["-x", url]
    if cookie is not None:
        cookie_file = workdir / f"wapiti-cookie-{name}.json"
        cookie_file.write_text(json.dumps({HOST: {"/": {"session_staff": {
            "value": cookie, "version": 0, "expires": None, "secure": False, "port": None}}}}))
        command += ["-c", str(cookie_file)]
    started = time.monotonic()
    try:
        done = subprocess.run(command, capture_output=True, text=True,  # noqa: S603
                              timeout=2 * budget + 300,
                              env=scan_env(), check=False)
        output, timed_out = done.stdout + done.stderr, False
    except subprocess.TimeoutExpired:
        output, timed_out = "", True
    (out / f"wapiti-{name}.txt").write_text(output, encoding="utf-8")
    result = {"target": name, "timed_out": timed_out, "completed": False, "findings": {},
              "anomalies": {}, "seconds": round(time.monotonic() - started)}
    if report.exists():
        data = json.loads(report.read_text(encoding="utf-8"))
        result["completed"] = not timed_out
        result["findings"] = {k: len(v) for k, v in data.get("vulnerabilities", {}).items()
                              if k in WAPITI_FINDINGS}
        result["other_vulnerabilities"] = {k: len(v) for k, v in
                                           data.get("vulnerabilities", {}).items()
                                           if v and k not in WAPITI_FINDINGS}
        result["anomalies"] = {k: len(v) for k, v in data.get("anomalies", {}).items() if v}
    result["crawled_urls"] = len(set(re.findall(r"^\[\+\] (\S+)", output, re.M))) or None
    return result


# --- stored XSS sweep ------------------------------------------------------------------------

ACTIVE_TAGS = {"script", "iframe", "frame", "frameset", "object", "embed", "applet", "svg",
               "math", "base", "link", "meta", "style"}
OWN_SCRIPT = "/static/js/pow.js"


class ActiveContent(html.parser.HTMLParser):
    """Finds markup that can run code: what escaping must have turned into text."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.hits: list[str] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "script" and attributes.get("src") == OWN_SCRIPT:
            return
        if tag in ("link", "meta"):  # our head: the stylesheet, charset, viewport, referrer
            if tag == "link" and attributes.get("href", "").startswith("/static/"):
                return
            if tag == "meta" and "http-equiv" not in attributes:
                return
        if tag in ACTIVE_TAGS:
            self.hits.append(f"<{tag}>")
        for name, value in attrs:
            if name.startswith("on") or name in ("style", "srcdoc", "formaction"):
                self.hits.append(f"<{tag} {name}=…>")
            if value and re.match(r"\s*(javascript|vbscript|data:text/html)", value, re.I):
                self.hits.append(f"<{tag} {name}={value[:40]}>")


XSS_PAYLOADS = (
    "<script>alert('tinbao-xss-1')</script>",
    "\"><img src=x onerror=alert('tinbao-xss-2')>",
    "'><svg/onload=alert('tinbao-xss-3')>",
    "</textarea><script>alert('tinbao-xss-4')</script>",
    "<a href=\"javascript:alert('tinbao-xss-5')\">xem</a>",
    "<iframe srcdoc=\"<script>alert('tinbao-xss-6')</script>\"></iframe>",
)


def plant_xss_payloads(base: str, password: str, report_id: int) -> list[str]:
    """File reports whose every free-text field carries an XSS payload (web form, API, a
    reporter's reply, staff notes and messages); returns their receipt codes."""
    codes = []
    for number, payload in enumerate(XSS_PAYLOADS):
        padded = f"{payload} — {REPORT_TEXT}"
        reporter = Client(base)
        form = "/gui-tin?province=19"
        fields = filing_fields(reporter.csrf(form))
        fields.update(text=padded, involved=payload, affiliation=payload, name=payload,
                      address=payload, email="an@example.org", occurred_on="")
        status, page = reporter.request(form, fields)
        code = re.search(r"data-receipt-code>([^<]+)<", page)
        if code is None:
            raise RuntimeError(f"filing payload {number} failed (HTTP {status})")
        codes.append(code.group(1))
        token = reporter.csrf("/tra-cuu")
        reporter.request("/tra-cuu", {"csrf_token": token, "code": codes[-1]})
        token = reporter.csrf("/ho-so")
        reporter.request("/ho-so", {"csrf_token": token, "text": padded})
        api = Client(base)
        status, body = api.request("/api/v1/reports", headers={"Content-Type": "application/json"},
                                   raw=json.dumps({"text": padded, "involved": payload,
                                                   "identity": {"name": payload,
                                                                "address": payload}}).encode())
        if status != 201:
            raise RuntimeError(f"API filing payload {number} failed (HTTP {status})")
        codes.append(json.loads(body)["receipt_code"])
    staff = Client(base)
    staff.login(STAFF_USER, password, report_id)
    case = f"/staff/triage/cases/{report_id}"
    for payload in XSS_PAYLOADS:
        for action in ("note", "message"):
            staff.request(f"{case}/{action}", {"csrf_token": staff.csrf(case), "text": payload})
    return codes


def stored_xss_sweep(base: str, password: str, codes: list[str], max_cases: int = 1000) -> dict:
    """Open every staff page that shows reporter input, and the reporter's own case pages, and
    look for markup that escaping should have turned into text."""
    staff = Client(base)
    staff.login(STAFF_USER, password)
    pages = ["/staff/triage/?status=all"]
    status, queue = staff.get(pages[0])
    ids = {int(i) for i in re.findall(r"/staff/triage/cases/(\d+)", queue)}
    total_pages = max([1] + [int(n) for n in re.findall(r"[?&]page=(\d+)", queue)])
    # The queue is oldest first: read its last pages, where the planted reports are (bounded:
    # 40 pages of 50 at most).
    for number in range(max(total_pages - 39, 2), total_pages + 1):
        page_url = f"/staff/triage/?status=all&page={number}"
        pages.append(page_url)
        ids |= {int(i) for i in re.findall(r"/staff/triage/cases/(\d+)", staff.get(page_url)[1])}
    # Newest first: the planted payloads are the latest reports (case 1 holds the staff ones).
    checked = sorted(ids, reverse=True)[:max_cases] + [1]
    pages += [f"/staff/triage/cases/{i}" for i in sorted(set(checked))]
    hits: dict[str, list[str]] = {}
    showing_payloads = 0  # pages where a payload is present (as text): the sweep saw them
    for path in pages:
        status, page = staff.get(path)
        showing_payloads += "tinbao-xss-" in page
        parser = ActiveContent()
        parser.feed(page)
        if parser.hits:
            hits[path] = sorted(set(parser.hits))
    for code in codes:
        reporter = Client(base)
        token = reporter.csrf("/tra-cuu")
        reporter.request("/tra-cuu", {"csrf_token": token, "code": code})
        status, page = reporter.get("/ho-so")
        showing_payloads += "tinbao-xss-" in page
        parser = ActiveContent()
        parser.feed(page)
        if parser.hits:
            hits[f"/ho-so ({code})"] = sorted(set(parser.hits))
    return {"pages_checked": len(pages) + len(codes), "cases_checked": len(set(checked)),
            "payloads_planted": len(XSS_PAYLOADS), "pages_showing_payloads": showing_payloads,
            "hits": hits}


# --- main ------------------------------------------------------------------------------------


def scan_env() -> dict:
    """The scanners' environment: no proxy, so nothing can leave the loopback interface."""
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    return env


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "instance" / "security")
    parser.add_argument("--quick", action="store_true",
                        help="lighter sqlmap (level 1, risk 1) and shorter wapiti runs")
    parser.add_argument("--deep", action="store_true",
                        help="sqlmap level 3 (also User-Agent and Referer), longer budgets")
    parser.add_argument("--skip-sqlmap", action="store_true", help="no sqlmap (for debugging)")
    parser.add_argument("--skip-wapiti", action="store_true", help="no wapiti (for debugging)")
    parser.add_argument("--sqlmap-only", help="comma-separated sqlmap target names")
    args = parser.parse_args()
    for tool in ("sqlmap", "wapiti"):
        if shutil.which(tool) is None:
            print(f"{tool} is missing (apt-get install {tool})", file=sys.stderr)
            return 2
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    # Moderate by default: level 2 (every form field, query parameter and the cookie) and
    # risk 2 (adds heavy time-based tests); --deep adds the User-Agent and Referer headers.
    level, risk = (1, 1) if args.quick else (3, 2) if args.deep else (2, 2)
    sqlmap_budget = 300 if args.quick else 3600 if args.deep else 1500
    wapiti_budget = 240 if args.quick else 900

    workdir = Path(tempfile.mkdtemp(prefix="tinbao-security-"))
    summary: dict = {"instance": None, "sqlmap": [], "wapiti": [], "stored_xss": None,
                     "server_errors": 0, "settings": {"sqlmap_level": level, "sqlmap_risk": risk,
                                                      "wapiti_modules": WAPITI_MODULES}}
    server = None
    try:
        base, server, info = start_instance(workdir, out / "server.log")
        summary["instance"] = base
        print(f"tinbao instance: {base} (database {workdir / 'scan.sqlite3'})", flush=True)
        targets = [] if args.skip_sqlmap else sqlmap_targets(base, info)
        if args.sqlmap_only:
            targets = [t for t in targets if t["name"] in args.sqlmap_only.split(",")]
        for target in targets:
            print(f"sqlmap: {target['name']} …", flush=True)
            before = request_count(out / "server.log")
            result = run_sqlmap(target, out, level, risk, sqlmap_budget)
            result["requests"] = request_count(out / "server.log") - before
            print(f"  {json.dumps(result, ensure_ascii=False)}", flush=True)
            summary["sqlmap"].append(result)
        if not args.skip_wapiti:
            print("wapiti: public site …", flush=True)
            before = request_count(out / "server.log")
            summary["wapiti"].append(run_wapiti(
                "public", base + "/", out, workdir, wapiti_budget,
                exclude=(f"{base}/staff*",)))
            summary["wapiti"][-1]["requests"] = request_count(out / "server.log") - before
            print(f"  {json.dumps(summary['wapiti'][-1], ensure_ascii=False)}", flush=True)
            print("wapiti: back office …", flush=True)
            staff_cookie = Client(base).login(STAFF_USER, info["password"])
            before = request_count(out / "server.log")
            summary["wapiti"].append(run_wapiti(
                "staff", base + "/staff/", out, workdir, wapiti_budget, cookie=staff_cookie,
                # Keep the scanner's session alive: no logout, no new login, no password or
                # two-factor change.
                exclude=(f"{base}/staff/logout", f"{base}/staff/login*",
                         f"{base}/staff/password", f"{base}/staff/two-factor")))
            summary["wapiti"][-1]["requests"] = request_count(out / "server.log") - before
            print(f"  {json.dumps(summary['wapiti'][-1], ensure_ascii=False)}", flush=True)
        print("stored XSS: filing payloads, then sweeping the pages that show them …", flush=True)
        planted = plant_xss_payloads(base, info["password"], info["report_id"])
        summary["stored_xss"] = stored_xss_sweep(base, info["password"], planted)
    finally:
        if server is not None:
            server.shutdown()
        shutil.rmtree(workdir, ignore_errors=True)
    log = (out / "server.log").read_text(encoding="utf-8", errors="replace")
    summary["server_errors"] = len(re.findall(r'" 500 ', log)) + log.count("Traceback")

    injections = [r["target"] for r in summary["sqlmap"] if r["injection"]]
    wapiti_hits = {r["target"]: r["findings"] for r in summary["wapiti"]
                   if any(r["findings"].values())}
    stored = summary["stored_xss"]["hits"]
    incomplete = ([r["target"] for r in summary["sqlmap"] if not r["completed"]]
                  + [r["target"] for r in summary["wapiti"] if not r["completed"]])
    summary["verdict"] = {"sqlmap_injections": injections, "wapiti_findings": wapiti_hits,
                          "stored_xss_pages": sorted(stored), "incomplete": incomplete}
    (out / "summary.json").write_text(json.dumps(summary, ensure_ascii=False, indent=2),
                                      encoding="utf-8")
    print_summary(summary)
    if injections or wapiti_hits or stored:
        return 1
    return 2 if incomplete else 0


def print_summary(summary: dict) -> None:
    print("\n== dynamic scans ==")
    for r in summary["sqlmap"]:
        state = ("INJECTION FOUND" if r["injection"] else
                 "not injectable" if r["completed"] else "INCOMPLETE")
        print(f"sqlmap  {r['target']:<28} {state:<16} {r['seconds']:>5} s "
              f"{r.get('requests', '?'):>6} requests")
    for r in summary["wapiti"]:
        found = sum(r["findings"].values())
        state = f"{found} findings" if r["completed"] else "INCOMPLETE"
        print(f"wapiti  {r['target']:<28} {state:<16} {r['seconds']:>5} s "
              f"{r.get('requests', '?'):>6} requests, anomalies={r['anomalies'] or 0}")
    sweep = summary["stored_xss"]
    print(f"stored-XSS sweep: {sweep['payloads_planted']} payloads in every text field; "
          f"{sweep['pages_checked']} pages ({sweep['cases_checked']} staff case pages), "
          f"{sweep['pages_showing_payloads']} showing a payload, "
          f"{len(sweep['hits'])} with active markup")
    print(f"server errors (HTTP 500 / tracebacks) in the instance log: {summary['server_errors']}")


if __name__ == "__main__":
    sys.exit(main())
