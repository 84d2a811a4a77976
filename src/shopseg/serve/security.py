"""Who may call the app, how much they may send, and what is logged: API key, body limit, access log.

* **API key.** Every route that shows data needs the key (``/health``,
  ``/static/plotly.js`` and the OpenAPI docs do not): in the ``X-API-Key`` header (API
  clients) or in a session cookie (the dashboard). Opening any page with ``?key=KEY`` once
  checks the key, sets the cookie (HttpOnly, SameSite=Strict, so other sites cannot ride on
  it) and redirects to the same URL without the key, so the key does not stay in the
  address bar or the history. The cookie holds an HMAC of the key, not the key.
  Comparisons are constant-time (:func:`hmac.compare_digest`).
* **Body limit.** A request body larger than ``max_body_bytes`` is refused with 413 before
  it is read (by ``Content-Length``) or while it streams in (chunked bodies).
* **Access log.** One line per request: method, the *route template*
  (``/customers/{customer_id}``, never the id itself), status and milliseconds. No query
  strings, bodies, customer ids or keys are logged; run uvicorn with ``access_log=False``
  so that it does not log raw paths either.
* **Headers.** Pages may load nothing from the network (Content-Security-Policy
  ``default-src 'self'``), run no script but the server's own files and the inline scripts
  that carry this response's nonce (no ``eval``), cannot be framed, and send no referrer.

All three are plain ASGI middleware: no per-request task or extra copy of the body.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

API_KEY_HEADER = "X-API-Key"
SESSION_COOKIE = "shopseg_session"
KEY_PARAMETER = "key"
#: Paths whose pages come from FastAPI (Swagger UI loads its assets from a CDN).
DOCS_PATHS = ("/docs", "/redoc", "/openapi.json")

access_log = logging.getLogger("shopseg.serve.access")

#: Scripts: only the server's own files and inline scripts that carry the response's nonce
#: (the chart calls the dashboard writes); no ``eval``. Styles may be inline (Plotly sets them).
_CSP = (
    "default-src 'self'; script-src 'self' 'nonce-{nonce}'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
)
#: Key in the ASGI scope's ``state`` (``request.state.csp_nonce``) of the response's script nonce.
NONCE_STATE = "csp_nonce"
_SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
]


@dataclass(frozen=True)
class KeyCheck:
    """The app's API key (None = no authentication, for ``--no-auth`` local use)."""

    api_key: str | None

    @property
    def required(self) -> bool:
        return self.api_key is not None

    def session_token(self) -> str:
        """What the dashboard cookie holds: an HMAC of the key, so the cookie never is the key."""
        return hmac.new((self.api_key or "").encode(), b"shopseg dashboard session", hashlib.sha256).hexdigest()

    def valid_key(self, given: str | None) -> bool:
        if not self.required:
            return True
        return given is not None and hmac.compare_digest(given.encode(), self.api_key.encode())

    def authorised(self, request: Request) -> bool:
        """True when the request carries the key (header) or the dashboard session cookie."""
        if not self.required:
            return True
        if self.valid_key(request.headers.get(API_KEY_HEADER)):
            return True
        cookie = request.cookies.get(SESSION_COOKIE)
        return cookie is not None and hmac.compare_digest(cookie.encode(), self.session_token().encode())


class NotAuthorised(HTTPException):
    """401: no valid API key; rendered as JSON for the API and as a page for a browser."""

    def __init__(self) -> None:
        super().__init__(
            status_code=401,
            detail=f"Missing or wrong API key: send it in the {API_KEY_HEADER} header "
            f"(or open the dashboard once with ?{KEY_PARAMETER}=YOUR_KEY).",
            headers={"WWW-Authenticate": API_KEY_HEADER},
        )


class KeyQueryMiddleware:
    """``GET any-page?key=KEY``: check the key, set the session cookie, redirect without the key."""

    def __init__(self, app: ASGIApp, keys: KeyCheck) -> None:
        self.app = app
        self.keys = keys

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET" or b"key=" not in scope.get("query_string", b""):
            await self.app(scope, receive, send)
            return
        pairs = parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True)
        given = next((v for k, v in pairs if k == KEY_PARAMETER), None)
        if given is None:
            await self.app(scope, receive, send)
            return
        if not self.keys.valid_key(given):
            await _send_text(send, 401, "Wrong API key.", [(b"www-authenticate", API_KEY_HEADER.encode())])
            return
        rest = urlencode([(k, v) for k, v in pairs if k != KEY_PARAMETER])
        location = same_site_path(scope.get("root_path", "") + scope["path"]) + (f"?{rest}" if rest else "")
        cookie = f"{SESSION_COOKIE}={self.keys.session_token()}; Path=/; HttpOnly; SameSite=Strict"
        if scope.get("scheme") == "https":
            cookie += "; Secure"
        headers = [(b"location", location.encode("latin-1")), (b"set-cookie", cookie.encode())]
        await _send_text(send, 303, "Signed in.", headers)


class BodyLimitMiddleware:
    """Refuse request bodies over ``max_bytes`` with 413 (declared or streamed)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await _send_json(send, 413, {"detail": self._message()})
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise HTTPException(status_code=413, detail=self._message())
            return message

        await self.app(scope, counted, send)

    def _message(self) -> str:
        return f"Request body too large: at most {self.max_bytes:,} bytes. Send fewer lines per request."


class AccessLogMiddleware:
    """One log line per request (method, route template, status, ms) and the security headers."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        is_docs = scope["path"].startswith(DOCS_PATHS)
        nonce = secrets.token_urlsafe(18)
        scope.setdefault("state", {})[NONCE_STATE] = nonce

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.extend(_SECURITY_HEADERS)
                if not is_docs:
                    headers.append((b"content-security-policy", _CSP.format(nonce=nonce).encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or ("(docs)" if is_docs else "(no route)")
            access_log.info(
                "%s %s %d %.1fms", scope["method"], template, status, 1000 * (time.perf_counter() - started)
            )


def same_site_path(path: str) -> str:
    """``path`` as a redirect target that can only stay on this server.

    A request for ``//evil.example/`` has the path ``//evil.example/``; sent back as a
    ``Location`` it is a *network-path reference* that browsers follow to another host (and
    ``/\\evil.example`` is read the same way). Leading slashes and backslashes collapse
    into one slash, so the target is always a path on this host. The path is percent-encoded
    again (the server decoded it), so no control character or non-Latin-1 letter reaches the header.
    """
    return "/" + quote(path.lstrip("/\\"), safe="/")


async def _send_json(send: Send, status: int, body: dict[str, Any]) -> None:
    data = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": data})


async def _send_text(send: Send, status: int, text: str, headers: list[tuple[bytes, bytes]]) -> None:
    data = text.encode()
    base = [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(data)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": base + headers})
    await send({"type": "http.response.body", "body": data})
