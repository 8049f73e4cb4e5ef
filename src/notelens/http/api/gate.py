"""`ApiGate`, an ASGI middleware in front of the API: the key, the rate limit and the upload
limit are checked before the body is read, so an unauthorised or oversized upload costs
nothing but its headers.

- The key: `Authorization: Bearer <key>`, compared with each of API_KEYS in constant time
  (401 otherwise). The owner of what a request touches is `api:<hash of the key>`; with
  no API_KEYS (loopback only) everyone is `api:local`.
- The rate limit: submissions (POST) per key per minute, counted in the database so it
  holds across processes (429 with Retry-After).
- The upload limit: a Content-Length over it is refused at once; a body without one (or
  lying) is counted as it streams in and refused the moment it passes the limit (413).
"""

from __future__ import annotations

import hashlib
import hmac
import math
from collections.abc import Awaitable, Callable

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ...i18n import N_, plain
from .errors import error_response, is_legacy, lang_of

OWNER_KEY = "api_owner"  # in scope["state"]: `request.state.api_owner`
LOCAL_OWNER = "api:local"

RateCheck = Callable[[str], Awaitable[float | None]]  # owner → None, or seconds to wait


def owner_of(key: str) -> str:
    """A key's owner name: a hash, so the key itself is never stored or logged."""
    return "api:" + hashlib.sha256(key.encode()).hexdigest()[:16]


def guarded(path: str) -> bool:
    """The API's paths (the docs, the schema, health checks and the webhook are not)."""
    return path.startswith("/api/") or path == "/ocr"


class BodyTooLarge(HTTPException):
    def __init__(self) -> None:
        super().__init__(413, "Content Too Large")


class ApiGate:
    def __init__(
        self,
        app: ASGIApp,
        *,
        keys: list[str],
        max_body: int,
        max_upload_mb: float,
        rate: RateCheck,
    ) -> None:
        self.app = app
        self.keys = [(k.encode(), owner_of(k)) for k in keys]
        self.max_body, self.max_upload_mb, self.rate = max_body, max_upload_mb, rate

    def authenticate(self, headers: Headers) -> str | None:
        """The owner for this request's key; None when it has none or a wrong one."""
        if not self.keys:
            return LOCAL_OWNER
        scheme, _, token = headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        given = token.strip().encode()
        found = None
        for key, owner in self.keys:  # every key compared, whichever matches
            if hmac.compare_digest(given, key):
                found = owner
        return found

    def limit_for(self, path: str) -> int:
        """`/ocr` carries the image as base64 in JSON: a third more than the image."""
        return self.max_body * 4 // 3 + 65536 if path == "/ocr" else self.max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not guarded(scope["path"]):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        lang = lang_of(headers)
        legacy = is_legacy(scope["path"])
        owner = self.authenticate(headers)
        if owner is None:
            answer = error_response(
                401,
                "unauthorized",
                plain(lang, N_("api_unauthorized")),
                {"WWW-Authenticate": "Bearer"},
                legacy=legacy,
            )
            await answer(scope, receive, send)
            return
        scope.setdefault("state", {})[OWNER_KEY] = owner
        limit = self.limit_for(scope["path"])
        too_large = error_response(
            413,
            "too_large",
            plain(lang, N_("api_too_large"), limit=f"{self.max_upload_mb:g}"),
            legacy=legacy,
        )
        length = headers.get("content-length", "")
        if length.isdigit() and int(length) > limit:
            await too_large(scope, receive, send)
            return
        if scope["method"] == "POST" and (wait := await self.rate(owner)) is not None:
            seconds = max(1, math.ceil(wait))
            answer = error_response(
                429,
                "rate_limited",
                plain(lang, N_("api_rate_limited"), seconds=seconds),
                {"Retry-After": str(seconds)},
                legacy=legacy,
            )
            await answer(scope, receive, send)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge  # answered as JSON by the app's handler
            return message

        await self.app(scope, counted, send)
