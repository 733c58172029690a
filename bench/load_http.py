"""A small HTTP/1.1 client on asyncio streams, for bench/load_bench.py.

Why not locust, httpx or aiohttp: on a 2-core machine the load generator shares the CPU with
the server it measures, so every millisecond it spends per request is taken from the portal.
This client does only what the benchmark needs (keep-alive when the server allows it,
Content-Length and chunked bodies, one cookie jar per simulated person, multipart bodies) in
a few microseconds of Python per request, needs no package beyond the standard library, and
talks to loopback addresses only.
"""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass, field
from urllib.parse import quote


class HTTPError(Exception):
    """The connection broke or the answer was not HTTP."""


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


@dataclass
class Client:
    """One simulated person: one connection at a time (re-opened when the server closes it)
    and one cookie jar."""

    host: str
    port: int
    timeout: float = 30.0
    cookies: dict[str, str] = field(default_factory=dict)
    _reader: asyncio.StreamReader | None = None
    _writer: asyncio.StreamWriter | None = None

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            try:
                await self._writer.wait_closed()
            except (OSError, ConnectionError):
                pass
        self._reader = self._writer = None

    async def request(self, method: str, path: str, *, headers: dict | None = None,
                      body: bytes = b"") -> Response:
        """Send one request and read the whole answer (retries once on a stale keep-alive)."""
        for attempt in (1, 2):
            fresh = self._writer is None
            if fresh:
                self._reader, self._writer = await asyncio.wait_for(
                    asyncio.open_connection(self.host, self.port), self.timeout)
            try:
                return await asyncio.wait_for(self._exchange(method, path, headers, body),
                                              self.timeout)
            except (ConnectionError, asyncio.IncompleteReadError, HTTPError) as exc:
                await self.close()
                # A keep-alive connection the server closed in the meantime: try a new one,
                # but never repeat a request that a fresh connection already carried.
                if fresh or attempt == 2:
                    raise HTTPError(str(exc) or type(exc).__name__) from exc
        raise AssertionError("unreachable")

    async def _exchange(self, method, path, headers, body) -> Response:
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}",
                 "Connection: keep-alive", "User-Agent: tinbao-load-bench"]
        if self.cookies:
            lines.append("Cookie: " + "; ".join(f"{k}={v}" for k, v in self.cookies.items()))
        if body or method in ("POST", "PUT"):
            lines.append(f"Content-Length: {len(body)}")
        for name, value in (headers or {}).items():
            lines.append(f"{name}: {value}")
        self._writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
        await self._writer.drain()
        head = await self._reader.readuntil(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        parts = status_line.split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/"):
            raise HTTPError("not an HTTP answer")
        status = int(parts[1])
        answer: dict[str, str] = {}
        for line in header_lines:
            if not line:
                continue
            name, _, value = line.partition(":")
            name, value = name.strip().lower(), value.strip()
            if name == "set-cookie":
                self._store_cookie(value)
            answer[name] = value
        if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
            data = b""
        elif "content-length" in answer:
            data = await self._reader.readexactly(int(answer["content-length"]))
        elif answer.get("transfer-encoding", "").lower() == "chunked":
            data = await self._read_chunked()
        else:
            data = await self._reader.read()
            answer["connection"] = "close"
        if answer.get("connection", "").lower() == "close" or parts[0] == "HTTP/1.0":
            await self.close()
        return Response(status, answer, data)

    async def _read_chunked(self) -> bytes:
        chunks = []
        while True:
            size_line = await self._reader.readuntil(b"\r\n")
            size = int(size_line.split(b";", 1)[0], 16)
            if size == 0:
                await self._reader.readuntil(b"\r\n")
                return b"".join(chunks)
            chunks.append(await self._reader.readexactly(size))
            await self._reader.readexactly(2)

    def _store_cookie(self, value: str) -> None:
        pair = value.split(";", 1)[0]
        name, _, cookie = pair.partition("=")
        if "max-age=0" in value.lower() or not cookie:
            self.cookies.pop(name.strip(), None)
        else:
            self.cookies[name.strip()] = cookie.strip()


def form_urlencoded(fields: dict[str, str]) -> tuple[bytes, str]:
    body = "&".join(f"{quote(k)}={quote(v)}" for k, v in fields.items()).encode("ascii")
    return body, "application/x-www-form-urlencoded"


def multipart(fields: dict[str, str], files: list[tuple[str, str, str, bytes]] = ()
              ) -> tuple[bytes, str]:
    """``files``: (field name, file name, content type, data). Returns (body, content type)."""
    boundary = "tinbao" + secrets.token_hex(12)
    out = []
    for name, value in fields.items():
        out.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
                   .encode() + value.encode("utf-8") + b"\r\n")
    for name, filename, content_type, data in files:
        out.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
                   f'filename="{filename}"\r\nContent-Type: {content_type}\r\n\r\n'.encode()
                   + data + b"\r\n")
    out.append(f"--{boundary}--\r\n".encode())
    return b"".join(out), f"multipart/form-data; boundary={boundary}"
