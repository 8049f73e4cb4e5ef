"""Who is looking at the page: the session cookie read back and checked against today's
settings (a person no longer allowed, or a key no longer listed, is signed out).

Owners are the API's: `api:<hash of the key>` for a typed key, `api:local` with API_KEYS
unset (the server then listens on loopback only and the page works directly), and
`tg-user:<id>` for a /web link (the archive's name for a person's notes). The cookie is
HttpOnly and SameSite=Strict: another site's page cannot send it, so its forms and scripts
cannot act as the signed-in person.
"""

from __future__ import annotations

import hmac

from fastapi import Request, Response

from ...archive import telegram_owner
from ...config import Settings
from ..api.gate import LOCAL_OWNER, owner_of
from .tokens import SESSION_MAX_AGE_S, Session, Signer

SESSION_COOKIE = "notelens_session"
LOCAL = Session(LOCAL_OWNER)


def allowed_user(settings: Settings, user_id: int) -> bool:
    """ALLOWED_USER_IDS as the bot reads it: empty means everyone; admins always."""
    allowed = settings.allowed_user_ids
    return not allowed or user_id in allowed or user_id in settings.admin_user_ids


def api_keys(settings: Settings) -> list[str]:
    return settings.api_key_values


def telegram_session(user_id: int) -> Session:
    return Session(telegram_owner(user_id, user_id, private=True), user_id=user_id)


def key_session(settings: Settings, typed: str) -> Session | None:
    """The session of a typed API key when it is one of API_KEYS (compared in constant
    time, every key compared)."""
    typed_bytes = typed.strip().encode()
    match = None
    for key in api_keys(settings):
        if hmac.compare_digest(typed_bytes, key.encode()):
            match = key
    return Session(owner_of(match)) if match is not None else None


def current_session(request: Request, settings: Settings, signer: Signer) -> Session | None:
    """The signed-in session, the local user when no keys are configured, else None."""
    return session_from_cookie(request.cookies.get(SESSION_COOKIE), settings, signer) or (
        None if api_keys(settings) else LOCAL
    )


def session_from_cookie(value: str | None, settings: Settings, signer: Signer) -> Session | None:
    session = signer.read_session(value) if value else None
    return session if session is not None and still_valid(settings, session) else None


def still_valid(settings: Settings, session: Session) -> bool:
    if session.user_id is not None:
        return allowed_user(settings, session.user_id)
    if session.owner == LOCAL_OWNER:
        return not api_keys(settings)  # a local session means nothing once keys are set
    return any(owner_of(k) == session.owner for k in api_keys(settings))


def set_session(response: Response, signer: Signer, session: Session, *, secure: bool) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        signer.session_value(session),
        max_age=SESSION_MAX_AGE_S,
        httponly=True,
        samesite="strict",
        secure=secure,
        path="/",
    )


def clear_session(response: Response, *, secure: bool) -> None:
    response.delete_cookie(
        SESSION_COOKIE, httponly=True, samesite="strict", secure=secure, path="/"
    )
