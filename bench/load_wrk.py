"""The api-file scenario driven by wrk (a C load generator) instead of this folder's asyncio
client: ``bench/load_bench.py --driver wrk``.

Why: on 2 cores the load generator takes CPU from the server it measures. The asyncio client
costs about 0.9 ms of CPU per filing; wrk about a tenth of that. wrk is closed-loop and bounded
in time only (``-d``); it sends the same mix of filings as the asyncio client (the bodies are
generated here, with the same texts, types and identities, and handed to wrk's Lua script),
keeps every receipt code it is answered with and writes them, with its latency percentiles, to
a JSON file that is read back here, so that the lost-report check is the same.

wrk is a Debian package (``apt-get install wrk``); it is needed only for this option.
"""

from __future__ import annotations

import json
import random
import resource
import shutil
import subprocess
import tempfile
from pathlib import Path

LUA = r"""
local bodies = {%(bodies)s}
local out_path = [==[%(out)s]==]
local i = 0
codes = {}
threads = {}
wrk.method = "POST"
wrk.path = "/api/v1/reports"
wrk.headers["Content-Type"] = "application/json"

function setup(thread)
  table.insert(threads, thread)
end

function request()
  i = i + 1
  return wrk.format(nil, nil, nil, bodies[(i %% #bodies) + 1])
end

function response(status, headers, body)
  if status == 201 then
    local code = body:match('"receipt_code"%%s*:%%s*"([^"]+)"')
    if code then codes[#codes + 1] = code end
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  local f = io.open(out_path, "w")
  f:write(string.format('{"requests": %%d, "duration_us": %%d, "connect": %%d, "read": %%d, '
    .. '"write": %%d, "status": %%d, "timeout": %%d, "p50_us": %%d, "p95_us": %%d, '
    .. '"p99_us": %%d, "mean_us": %%f, "codes": [',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.mean))
  local first = true
  for _, thread in ipairs(threads) do
    for _, code in ipairs(thread:get("codes")) do
      if not first then f:write(",") end
      f:write('"' .. code .. '"')
      first = false
    end
  end
  f:write("]}")
  f:close()
end
"""


def wrk_path() -> str:
    path = shutil.which("wrk")
    if path is None:
        raise SystemExit("--driver wrk needs wrk (Debian: apt-get install wrk)")
    return path


def script(bodies: list[bytes], out: Path) -> str:
    texts = [body.decode() for body in bodies]
    if any("]==]" in text for text in texts):
        raise ValueError("a body contains the Lua long-string delimiter")
    return LUA % {"bodies": ",\n".join(f"[==[{text}]==]" for text in texts), "out": out}


def run(port: int, clients: int, seconds: float, bodies: list[bytes]) -> dict:
    """Run wrk for ``seconds`` with ``clients`` connections; returns its figures, the receipt
    codes it was given and the CPU seconds wrk used."""
    workdir = Path(tempfile.mkdtemp(prefix="tinbao-wrk-"))
    try:
        out = workdir / "result.json"
        lua = workdir / "filing.lua"
        lua.write_text(script(bodies, out), encoding="utf-8")
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run([wrk_path(), "-t1", f"-c{clients}", f"-d{max(1, round(seconds))}s",  # noqa: S603
                        "--timeout", "60s", "-s", str(lua), f"http://127.0.0.1:{port}/"],
                       check=True, stdout=subprocess.DEVNULL)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        result = json.loads(out.read_text(encoding="utf-8"))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    result["cpu_seconds"] = (after.ru_utime + after.ru_stime
                             - before.ru_utime - before.ru_stime)
    return result


def bodies_like_the_api_scenario(body_of, count: int, seed: int) -> list[bytes]:
    """``count`` request bodies made by ``body_of(rng)`` (load_bench's api-file body)."""
    rng = random.Random(seed)  # noqa: S311 (test data)
    return [json.dumps(body_of(rng), ensure_ascii=False).encode() for _ in range(count)]
