"""Configuration: safe defaults, overridden by ``TINBAO_*`` environment variables.

Only what an operator is expected to change is read from the environment; everything else
is a constant here so that a missing variable never weakens a default.
"""

import os
import secrets
from pathlib import Path


def _instance_secret(instance_path: Path, name: str) -> str:
    """Return a secret kept in ``instance/<name>``, creating it on first run.

    We keep generated secrets in the instance folder (git-ignored, mode 0600) so that a fresh
    checkout runs without configuration but restarts keep sessions and receipt lookups valid.
    """
    path = instance_path / name
    if path.exists():
        return path.read_text(encoding="ascii").strip()
    instance_path.mkdir(parents=True, exist_ok=True)
    value = secrets.token_hex(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(value)
    return value


def load_config(instance_path: str) -> dict:
    """Build the configuration mapping for :func:`portal.create_app`."""
    instance = Path(instance_path)
    env = os.environ.get
    database_url = env("TINBAO_DATABASE_URL") or f"sqlite:///{instance / 'tinbao.sqlite3'}"
    redis_url = env("TINBAO_REDIS_URL") or None
    return {
        "SECRET_KEY": env("TINBAO_SECRET_KEY") or _instance_secret(instance, "secret_key"),
        "SQLALCHEMY_DATABASE_URI": database_url,
        # hide_parameters: SQL errors and SQL logging never show the values (identity fields,
        # report text) that a statement carried.
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True, "hide_parameters": True},
        "UPLOAD_FOLDER": env("TINBAO_UPLOAD_FOLDER") or str(instance / "uploads"),
        # Encryption keys (portal/protection/crypto.py, docs/security.md "Encryption at rest
        # and keys"): files under KEYS_FOLDER (generated on the first run, mode 0600) unless the
        # key itself is given in the environment (base64). The custodian's private key may be
        # left out entirely (public key only): reports are then sealed here and identities can
        # be opened only where the private key is.
        "KEYS_FOLDER": env("TINBAO_KEYS_FOLDER") or str(instance / "keys"),
        "CUSTODIAN_KEY_FILE": env("TINBAO_CUSTODIAN_KEY_FILE") or None,
        "CUSTODIAN_PRIVATE_KEY": env("TINBAO_CUSTODIAN_PRIVATE_KEY") or None,
        "CUSTODIAN_PUBLIC_KEY": env("TINBAO_CUSTODIAN_PUBLIC_KEY") or None,
        "CONTENT_KEY_FILE": env("TINBAO_CONTENT_KEY_FILE") or None,
        "CONTENT_KEY": env("TINBAO_CONTENT_KEY") or None,
        "INDEX_KEY_FILE": env("TINBAO_INDEX_KEY_FILE") or None,
        "INDEX_KEY": env("TINBAO_INDEX_KEY") or None,
        # Generate missing keys (first run). Set 0 in production once the keys exist, so that a
        # keys folder that failed to mount stops the portal instead of starting with new keys.
        "KEYS_GENERATE": env("TINBAO_KEYS_GENERATE", "1") == "1",
        "REDIS_URL": redis_url,
        # Flask-Limiter keeps its counters in Redis when there is one, else in process memory.
        "RATELIMIT_STORAGE_URI": redis_url or "memory://",
        # Redis down (docs/production.md "Faults"): each process counts in its own memory with
        # the same limits, logs a warning and goes back to Redis once it answers — weaker
        # across processes, never no limit (so errors are not swallowed). Short timeouts, so
        # an unreachable Redis costs a filing a second, not a hung request.
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
        "RATELIMIT_SWALLOW_ERRORS": False,
        "RATELIMIT_STORAGE_OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        "RATELIMIT_HEADERS_ENABLED": False,
        "LOOKUP_RATE_LIMIT": env("TINBAO_LOOKUP_RATE_LIMIT") or "10 per minute; 60 per hour",
        # All clients together: caps guessing from many addresses (e.g. through Tor).
        "LOOKUP_GLOBAL_RATE_LIMIT": env("TINBAO_LOOKUP_GLOBAL_RATE_LIMIT") or "600 per minute",
        # Days after a case closes before `flask retention purge` deletes identity and files.
        "RETENTION_DAYS": int(env("TINBAO_RETENTION_DAYS") or 365),
        "FILING_RATE_LIMIT": env("TINBAO_FILING_RATE_LIMIT") or "10 per hour; 30 per day",
        "API_RATE_LIMIT": env("TINBAO_API_RATE_LIMIT") or "60 per hour",
        # Report limits: shared by the web form and the JSON API.
        "REPORT_TEXT_MIN_CHARS": 20,
        "REPORT_TEXT_MAX_CHARS": 20_000,
        "MESSAGE_MAX_CHARS": 10_000,
        "ATTACHMENT_MAX_FILES": 5,
        "ATTACHMENT_MAX_BYTES": 10 * 1024 * 1024,
        "ATTACHMENT_MAX_TOTAL_BYTES": 25 * 1024 * 1024,
        # Werkzeug refuses larger bodies before we read them (413 → clear message).
        "MAX_CONTENT_LENGTH": 26 * 1024 * 1024,
        "BABEL_DEFAULT_LOCALE": "vi",
        "BABEL_DEFAULT_TIMEZONE": "Asia/Ho_Chi_Minh",
        "LANGUAGES": ("vi", "en"),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": env("TINBAO_COOKIE_SECURE", "0") == "1",
        "PERMANENT_SESSION_LIFETIME": 30 * 60,
        # Staff access (portal/staff/auth.py, docs/security.md "Staff access"): a back-office
        # session ends after this many idle minutes or hours since login, whichever comes first;
        # LOGIN_MAX_FAILURES wrong passwords or codes in a row lock the account for
        # LOGIN_LOCKOUT_MINUTES.
        "STAFF_IDLE_MINUTES": int(env("TINBAO_STAFF_IDLE_MINUTES") or 30),
        "STAFF_SESSION_MAX_HOURS": int(env("TINBAO_STAFF_SESSION_MAX_HOURS") or 10),
        "LOGIN_MAX_FAILURES": int(env("TINBAO_LOGIN_MAX_FAILURES") or 5),
        "LOGIN_LOCKOUT_MINUTES": int(env("TINBAO_LOGIN_LOCKOUT_MINUTES") or 15),
        # Legal deadlines (docs/deadlines.md): a deadline with this many working days left or
        # fewer is "due soon" in the queues and in `flask deadlines remind`.
        "DEADLINE_DUE_SOON_DAYS": int(env("TINBAO_DEADLINE_DUE_SOON_DAYS") or 2),
        # Clusters and hot spots (portal/supervision, docs/clusters.md): reports whose keyed
        # word sets overlap this much (Jaccard), in one commune, filed at most WINDOW_DAYS
        # apart, are one matter; CLUSTER_MASS_SIZE of them make a mass-complaint alert.
        "CLUSTER_MIN_SIMILARITY": float(env("TINBAO_CLUSTER_MIN_SIMILARITY") or 0.5),
        "CLUSTER_WINDOW_DAYS": int(env("TINBAO_CLUSTER_WINDOW_DAYS") or 30),
        "CLUSTER_MIN_WORDS": 8,
        "CLUSTER_RECENT_DAYS": int(env("TINBAO_CLUSTER_RECENT_DAYS") or 30),
        "CLUSTER_MASS_SIZE": int(env("TINBAO_CLUSTER_MASS_SIZE") or 5),
        # A commune or sector with at least HOTSPOT_MIN_COUNT reports in one of the windows
        # (days), and HOTSPOT_RATIO times what its previous HOTSPOT_BASELINE_DAYS predict.
        "HOTSPOT_WINDOWS": env("TINBAO_HOTSPOT_WINDOWS") or "7,30",
        "HOTSPOT_BASELINE_DAYS": int(env("TINBAO_HOTSPOT_BASELINE_DAYS") or 90),
        "HOTSPOT_RATIO": float(env("TINBAO_HOTSPOT_RATIO") or 2.0),
        "HOTSPOT_MIN_COUNT": int(env("TINBAO_HOTSPOT_MIN_COUNT") or 5),
        "HOTSPOT_MASS_DAYS": 30,
        # Links in reminders point here (the back office's address as staff reach it).
        "BASE_URL": env("TINBAO_BASE_URL") or "http://127.0.0.1:5000",
        # Background jobs (portal/jobs, docs/jobs.md): "thread" (the embedded default: a thread
        # in the web process), "inline" (in the caller, after its commit: tests), "db" (`flask
        # jobs worker` processes poll the jobs table) or "rq" (Redis at TINBAO_REDIS_URL carries
        # job ids to `flask jobs worker` processes).
        "JOBS_MODE": env("TINBAO_JOBS_MODE") or "thread",
        "JOBS_QUEUE": env("TINBAO_JOBS_QUEUE") or "tinbao",
        # A running job whose worker gives no sign for this long is presumed dead (kill -9) and
        # run again; RQ also stops a job that runs longer. Longer than the slowest job.
        "JOBS_LEASE_SECONDS": float(env("TINBAO_JOBS_LEASE_SECONDS") or 600),
        # How often each worker sweeps (expired leases, jobs Redis never got, the daily job),
        # and how long a handed-over job may wait in the broker before it is handed over again.
        "JOBS_SWEEP_SECONDS": float(env("TINBAO_JOBS_SWEEP_SECONDS") or 30),
        "JOBS_REDELIVER_SECONDS": float(env("TINBAO_JOBS_REDELIVER_SECONDS") or 120),
        "JOBS_POLL_SECONDS": float(env("TINBAO_JOBS_POLL_SECONDS") or 2),
        # A failing job is tried this many times, waiting 30 s, 2 min, 8 min … (at most 1 h).
        "JOBS_MAX_ATTEMPTS": int(env("TINBAO_JOBS_MAX_ATTEMPTS") or 5),
        "JOBS_RETRY_BASE_SECONDS": float(env("TINBAO_JOBS_RETRY_BASE_SECONDS") or 30),
        "JOBS_KEEP_DONE_DAYS": int(env("TINBAO_JOBS_KEEP_DONE_DAYS") or 30),
        # Vietnam time at which a worker's sweeper adds the day's `deadlines remind` job (once
        # a day); empty: never (run `flask deadlines remind` from cron or a timer instead).
        "JOBS_DAILY_REMIND_AT": env("TINBAO_JOBS_DAILY_REMIND_AT", "07:00"),
        # Notification senders (portal/notify): any of file, console, smtp, comma-separated.
        "NOTIFY_SENDERS": env("TINBAO_NOTIFY_SENDERS") or "file",
        "NOTIFY_OUTBOX": env("TINBAO_NOTIFY_OUTBOX") or str(instance / "outbox"),
        "NOTIFY_FROM": env("TINBAO_NOTIFY_FROM") or "tinbao@localhost",
        "SMTP_HOST": env("TINBAO_SMTP_HOST") or None,
        "SMTP_PORT": int(env("TINBAO_SMTP_PORT") or 587),
        "SMTP_USERNAME": env("TINBAO_SMTP_USERNAME") or None,
        "SMTP_PASSWORD": env("TINBAO_SMTP_PASSWORD") or None,
        "SMTP_STARTTLS": env("TINBAO_SMTP_STARTTLS", "1") == "1",
        "WTF_CSRF_TIME_LIMIT": 2 * 3600,
        # Flask-WTF's strict mode wants a Referer on HTTPS posts, but we send
        # "Referrer-Policy: no-referrer", so browsers send none: the token and SameSite do the job.
        "WTF_CSRF_SSL_STRICT": False,
        "REMEMBER_COOKIE_SECURE": env("TINBAO_COOKIE_SECURE", "0") == "1",
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        # Web hardening (portal/security_headers.py, docs/security.md, docs/tor.md).
        "FORCE_HTTPS": env("TINBAO_FORCE_HTTPS", "0") == "1",
        # Reverse proxies in front of this instance that set X-Forwarded-For and
        # X-Forwarded-Proto (docs/deployment.md): 1 behind deploy/nginx/tinbao.conf, so that
        # per-client rate limits see each client rather than the proxy. 0 (the default) ignores
        # those headers; keep 0 wherever clients reach gunicorn directly (the onion instance),
        # or they could pick their own rate-limit key.
        "PROXY_HOPS": int(env("TINBAO_PROXY_HOPS") or 0),
        "HSTS_ENABLED": env("TINBAO_HSTS", "1") == "1",  # only ever sent over HTTPS
        "HSTS_MAX_AGE": 365 * 24 * 3600,
        "ONION_LOCATION": env("TINBAO_ONION_LOCATION") or None,
        "SERVE_STAFF": env("TINBAO_SERVE_STAFF", "1") == "1",
        # Optional proof of work for JavaScript clients (portal/antispam): a solved challenge
        # moves a filing from FILING_RATE_LIMIT to the higher POW_FILING_RATE_LIMIT.
        "POW_DIFFICULTY": int(env("TINBAO_POW_DIFFICULTY") or 16),  # leading zero bits
        "POW_MAX_AGE": 600,  # seconds a challenge stays valid
        "POW_FILING_RATE_LIMIT": env("TINBAO_POW_FILING_RATE_LIMIT") or "30 per hour; 100 per day",
        "POW_CHALLENGE_RATE_LIMIT": "30 per minute",
        # The routing rules file (docs/routing.md); empty: the packaged portal/routing/rules.yaml.
        "ROUTING_RULES_FILE": env("TINBAO_ROUTING_RULES_FILE") or None,
        # Supervision (docs/supervision.md): an open case filed more than this many days ago is
        # "long-running" (kéo dài), as is one past the legal limit of its resolution.
        "SUPERVISION_LONG_RUNNING_DAYS": int(env("TINBAO_SUPERVISION_LONG_RUNNING_DAYS") or 90),
        # The periodic report's letterhead (Decree 30/2020); lists are separated by "|".
        "REPORT_ISSUER": env("TINBAO_REPORT_ISSUER")
        or "ỦY BAN MẶT TRẬN TỔ QUỐC VIỆT NAM|TỈNH THÁI NGUYÊN",
        "REPORT_ISSUER_NAME": env("TINBAO_REPORT_ISSUER_NAME")
        or "Ủy ban Mặt trận Tổ quốc Việt Nam tỉnh Thái Nguyên",
        "REPORT_NUMBER_SUFFIX": env("TINBAO_REPORT_NUMBER_SUFFIX") or "BC-MTTQ",
        "REPORT_PLACE": env("TINBAO_REPORT_PLACE") or "Thái Nguyên",
        "REPORT_SIGNER": env("TINBAO_REPORT_SIGNER") or "TM. BAN THƯỜNG TRỰC|CHỦ TỊCH",
        "REPORT_SIGNER_NAME": env("TINBAO_REPORT_SIGNER_NAME") or "",
        "REPORT_RECIPIENTS": env("TINBAO_REPORT_RECIPIENTS")
        or "Ban Thường trực Ủy ban Trung ương MTTQ Việt Nam|Thường trực Tỉnh ủy, HĐND, UBND "
           "tỉnh|Lưu: VT",
        # The public transparency page (/minh-bach): counts below this are shown as "< 5", and
        # its figures are recomputed at most this often (it is public: no query per visit).
        "TRANSPARENCY_MIN_COUNT": 5,
        "TRANSPARENCY_CACHE_SECONDS": int(env("TINBAO_TRANSPARENCY_CACHE_SECONDS") or 600),
    }
