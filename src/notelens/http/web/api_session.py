"""The page's script calls the API (`/api/v1/jobs`, its events, the document) as the
signed-in person: `PageGate` is the API's gate, with one more way in, the page's session
cookie, for requests that carry no `Authorization` header.

The cookie is SameSite=Strict, so a browser never sends it from another site; on top of
that it is taken only from our own page's requests: those with the page's header (which
another origin cannot add without a CORS preflight we never grant) or that the browser
marks `Sec-Fetch-Site: same-origin` (a download link, the event stream). Everything else
about the gate (rate limit per owner, upload limit) is the API's own.

The API installs `ApiGate` itself; `let_the_page_in(app)` puts this one in its place before
the app starts (the same arguments, plus how to read a session).
"""

from __future__ import annotations

from http.cookies import CookieError, SimpleCookie
from typing import Any, cast

from fastapi import FastAPI
from starlette.datastructures import Headers
from starlette.middleware import Middleware
from starlette.types import ASGIApp

from ...config import Settings
from ..api.gate import ApiGate
from .identity import SESSION_COOKIE, session_from_cookie
from .tokens import Signer

PAGE_HEADER = "x-notelens-page"


def from_our_page(headers: Headers) -> bool:
    return PAGE_HEADER in headers or headers.get("sec-fetch-site") == "same-origin"


def cookie_value(headers: Headers, name: str) -> str | None:
    cookies: SimpleCookie = SimpleCookie()
    try:
        cookies.load(headers.get("cookie", ""))
    except CookieError:
        return None
    morsel = cookies.get(name)
    return morsel.value if morsel is not None else None


class PageGate(ApiGate):
    def __init__(self, app: ASGIApp, /, *, settings: Settings, signer: Signer, **kw: Any) -> None:
        super().__init__(app, **kw)
        self.settings, self.signer = settings, signer

    def authenticate(self, headers: Headers) -> str | None:
        if "authorization" not in headers and from_our_page(headers):
            value = cookie_value(headers, SESSION_COOKIE)
            session = session_from_cookie(value, self.settings, self.signer)
            if session is not None:
                return session.owner
        return super().authenticate(headers)


def let_the_page_in(app: FastAPI, settings: Settings, signer: Signer) -> None:
    """Swap the API's gate for `PageGate` (before the app builds its middleware stack)."""
    for i, entry in enumerate(app.user_middleware):
        if entry.cls is cast(Any, ApiGate):
            app.user_middleware[i] = Middleware(
                PageGate, *entry.args, settings=settings, signer=signer, **entry.kwargs
            )
            return
    raise RuntimeError("the API's gate is not installed: add_api() before mount_web()")
