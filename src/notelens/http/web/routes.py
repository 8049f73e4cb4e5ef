"""The web page: `/` (upload, progress, results), `/web?token=…` (the bot's link), sign-in
with an API key, the language switch, a person's categories and notes.

Handlers only translate: who is asking (`identity`), what they may see (everything is
looked up by its owner, so someone else's job or note is simply not found), and a
template. Jobs are submitted and watched by the page's script through the API
(`/api/v1/jobs`); what the API does not show (outlines, crops, the zip) is here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from markupsafe import Markup

from ...archive import Archive, NoteSummary
from ...config import Settings, split_names
from ...i18n import plain, t
from ...store import Store
from ...telegram.tasks.handlers import MAX_CATEGORIES, MAX_CATEGORY_LEN
from .api_session import let_the_page_in
from .identity import (
    api_keys,
    clear_session,
    current_session,
    key_session,
    set_session,
    telegram_session,
)
from .job_routes import job_router, recent_jobs
from .markdown import render_markdown
from .page_view import PageViews
from .texts import LANG_COOKIE, TASK_LABELS, page_lang, script_texts
from .tokens import LinkExpired, LinkInvalid, Session, Signer, hide_link_tokens

log = logging.getLogger(__name__)

HERE = Path(__file__).parent
LATEST_NOTES = 10
CSP = (
    "default-src 'self'; img-src 'self' blob: data:; script-src 'self'; style-src 'self'; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)


@dataclass
class Web:
    """What the page's handlers share."""

    settings: Settings
    store: Callable[[], Store]  # the application store, open while the app runs
    signer: Signer
    views: PageViews
    templates: Jinja2Templates = field(init=False)

    def __post_init__(self) -> None:
        self.templates = Jinja2Templates(directory=HERE / "templates")

    def archive(self) -> Archive:
        store = self.store()
        return Archive(store.engine, retention_days=self.settings.archive_retention_days)

    def lang(self, request: Request) -> str:
        return page_lang(
            request.query_params.get("lang"),
            request.cookies.get(LANG_COOKIE),
            request.headers.get("accept-language"),
        )

    def secure(self, request: Request) -> bool:
        """Cookies only over https when the page is served so (directly or behind a proxy
        that PUBLIC_URL names)."""
        public = self.settings.public_url or ""
        return request.url.scheme == "https" or public.startswith("https://")

    def session(self, request: Request) -> Session | None:
        return current_session(request, self.settings, self.signer)

    def render(self, request: Request, name: str, status: int = 200, **values: Any) -> HTMLResponse:
        lang = self.lang(request)
        context = {
            "lang": lang,
            "_": lambda key, **kw: plain(lang, key, **kw),
            "html": lambda key, **kw: Markup(t(lang, key, **kw)),
            "lang_links": _lang_links(request),
            "keys_needed": bool(api_keys(self.settings)),
            **values,
        }
        response = self.templates.TemplateResponse(request, name, context, status_code=status)
        _protect(response)
        if request.query_params.get("lang") == lang:
            response.set_cookie(
                LANG_COOKIE, lang, max_age=365 * 24 * 3600, samesite="lax", path="/"
            )
        return response


def _protect(response: Response) -> None:
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"


def _lang_links(request: Request) -> dict[str, str]:
    """The switch: this page in each language (other query values kept, the token never)."""
    query = {k: v for k, v in request.query_params.items() if k not in ("lang", "token")}
    path = "/" if request.url.path == "/web" else request.url.path
    return {code: f"{path}?{urlencode({**query, 'lang': code})}" for code in ("zh", "en")}


def _same_origin(request: Request) -> bool:
    """A form post from our own page (browsers send Origin with every POST)."""
    origin = request.headers.get("origin")
    if origin is None:
        return True
    host = request.headers.get("host", "")
    return origin.split("://", 1)[-1] == host


def mount_web(app: FastAPI, settings: Settings, store: Callable[[], Store]) -> Web:
    """Add the page's routes and static files to `app`."""
    web = Web(settings, store, Signer.from_settings(settings), PageViews(settings.max_image_pixels))
    let_the_page_in(app, settings, web.signer)
    hide_link_tokens()
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.include_router(_router(web))
    app.include_router(job_router(web))
    return web


def _router(web: Web) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    async def the_page(
        request: Request,
        session: Session,
        status: int = 200,
        typed: list[str] | None = None,
        error: str | None = None,
    ) -> Response:
        """The page: the new-job form, the owner's jobs, and a Telegram user's notes and
        categories (`typed`: categories sent back with `error`)."""
        lang = web.lang(request)
        categories = list(web.settings.default_categories)
        notes: list[NoteSummary] = []
        if session.user_id is not None:
            categories = (await web.store().user(session.user_id)).categories or categories
            notes = await web.archive().latest(session.owner, LATEST_NOTES)
        return web.render(
            request,
            "page.html",
            status,
            session=session,
            jobs=await recent_jobs(request, session.owner, lang),
            tasks=[(name, plain(lang, key)) for name, key in TASK_LABELS.items()],
            categories=typed or categories,
            notes=notes,
            saved=error is None and request.query_params.get("saved") == "1",
            error=error,
            script_texts=script_texts(lang),
        )

    def not_found(request: Request, status: int = 404) -> Response:
        return web.render(
            request, "message.html", status, title="web_not_found", body="web_not_found_help"
        )

    @router.get("/", response_class=HTMLResponse)
    async def page(request: Request) -> Response:
        session = web.session(request)
        if session is None:
            return web.render(request, "sign_in.html")
        return await the_page(request, session)

    @router.get("/web", response_class=HTMLResponse)
    async def link(request: Request, token: str = "") -> Response:
        """The bot's /web link: a session for its Telegram user, then the page."""
        try:
            user_id = web.signer.read_link(token)
        except LinkExpired:
            return web.render(
                request, "message.html", 410, title="web_link_expired", body="web_link_expired_help"
            )
        except LinkInvalid:
            return web.render(
                request, "message.html", 400, title="web_link_invalid", body="web_link_invalid_help"
            )
        response = RedirectResponse("/", status_code=303)
        set_session(response, web.signer, telegram_session(user_id), secure=web.secure(request))
        response.headers["Referrer-Policy"] = "no-referrer"
        return response

    @router.post("/web/sign-in", response_class=HTMLResponse)
    async def sign_in(request: Request, key: str = Form("")) -> Response:
        session = key_session(web.settings, key) if _same_origin(request) else None
        if session is None:
            return web.render(request, "sign_in.html", 401, wrong=True)
        response = RedirectResponse("/", status_code=303)
        set_session(response, web.signer, session, secure=web.secure(request))
        return response

    @router.post("/web/sign-out")
    async def sign_out(request: Request) -> Response:
        response = RedirectResponse("/", status_code=303)
        if _same_origin(request):
            clear_session(response, secure=web.secure(request))
        return response

    @router.post("/web/categories", response_class=HTMLResponse)
    async def categories(
        request: Request, categories: str = Form(""), action: str = Form("save")
    ) -> Response:
        """The person's categories: the same row the bot's /categories and /classify use."""
        session = web.session(request)
        if session is None or session.user_id is None or not _same_origin(request):
            return not_found(request, 403)
        store = web.store()
        names = list(dict.fromkeys(typed_names(categories)))
        error = category_error(web.lang(request), names) if action != "reset" else None
        if error is not None:
            return await the_page(request, session, 400, names, error)
        await store.set_categories(session.user_id, names if action != "reset" else None)
        return RedirectResponse("/?saved=1#categories", status_code=303)

    @router.get("/web/notes/{number}", response_class=HTMLResponse)
    async def note(request: Request, number: int) -> Response:
        session = web.session(request)
        found = await web.archive().get(session.owner, number) if session else None
        if found is None:
            return not_found(request)
        return web.render(
            request, "note.html", note=found, body=Markup(render_markdown(found.markdown))
        )

    @router.get("/web/notes/{number}/markdown")
    async def note_markdown(request: Request, number: int) -> Response:
        session = web.session(request)
        found = await web.archive().get(session.owner, number) if session else None
        if found is None:
            return not_found(request)
        return markdown_file(found.markdown, found.file_name)

    return router


def category_error(lang: str, names: list[str]) -> str | None:
    """Why these categories cannot be kept (the bot's own limits), or None."""
    if not names:
        return plain(lang, "categories_empty")
    if len(names) > MAX_CATEGORIES or any(len(n) > MAX_CATEGORY_LEN for n in names):
        return plain(lang, "categories_too_many", n=MAX_CATEGORIES, m=MAX_CATEGORY_LEN)
    return None


def typed_names(text: str) -> list[str]:
    """Categories as typed: commas (Chinese ones too) or one per line."""
    return split_names(text.replace("\n", ","))


def markdown_file(text: str, name: str) -> Response:
    ascii_name = name.encode("ascii", "replace").decode().replace("?", "_").replace('"', "_")
    disposition = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"
    return Response(
        text.encode("utf-8"),
        media_type="text/markdown; charset=utf-8",
        headers={"Content-Disposition": disposition, "X-Content-Type-Options": "nosniff"},
    )
