"""Signed tokens of the web page: the bot's `/web` link (valid ten minutes) and the page's
session cookie, both itsdangerous timed signatures under one secret.

The secret is WEB_SECRET, else derived from the bot token by HMAC (so `notelens bot` and
`notelens serve` with the same token agree without another setting; the token itself is
never the key and never leaves the process), else random per process (local use: a
restart signs everyone out).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
from dataclasses import dataclass

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from ...config import Settings

LINK_MAX_AGE_S = 600
SESSION_MAX_AGE_S = 7 * 24 * 3600
LINK_PATH = "/web"
LINK_SALT, SESSION_SALT = "notelens-web-link", "notelens-web-session"
_PROCESS_SECRET = secrets.token_bytes(32)


class LinkExpired(Exception):
    """A genuine link, older than ten minutes."""


class LinkInvalid(Exception):
    """Not a link we signed (tampered, truncated, or signed with another secret)."""


@dataclass(frozen=True)
class Session:
    """Who the page acts for: a Telegram user (from a /web link), the holder of an API key
    (a hash of the key, never the key), or the one local user when API_KEYS is unset."""

    owner: str  # "tg-user:123", "api:<hash of the key>", "api:local"
    user_id: int | None = None  # the Telegram user

    @property
    def telegram(self) -> bool:
        return self.user_id is not None


def web_secret(settings: Settings) -> bytes:
    if settings.web_secret is not None:
        return settings.web_secret.get_secret_value().encode()
    if settings.telegram_bot_token is not None:
        token = settings.telegram_bot_token.get_secret_value().strip().encode()
        return hmac.new(token, b"notelens web page", hashlib.sha256).digest()
    return _PROCESS_SECRET


class Signer:
    def __init__(self, secret: bytes) -> None:
        self._links = URLSafeTimedSerializer(secret, salt=LINK_SALT)
        self._sessions = URLSafeTimedSerializer(secret, salt=SESSION_SALT)

    @classmethod
    def from_settings(cls, settings: Settings) -> Signer:
        return cls(web_secret(settings))

    def link_token(self, user_id: int) -> str:
        return self._links.dumps({"u": user_id})

    def read_link(self, token: str) -> int:
        """The Telegram user id a link was made for; raises LinkExpired or LinkInvalid."""
        try:
            data = self._links.loads(token, max_age=LINK_MAX_AGE_S)
        except SignatureExpired as exc:
            raise LinkExpired from exc
        except BadSignature as exc:
            raise LinkInvalid from exc
        user_id = data.get("u") if isinstance(data, dict) else None
        if not isinstance(user_id, int) or isinstance(user_id, bool):
            raise LinkInvalid
        return user_id

    def session_value(self, session: Session) -> str:
        return self._sessions.dumps({"o": session.owner, "u": session.user_id})

    def read_session(self, value: str) -> Session | None:
        try:
            data = self._sessions.loads(value, max_age=SESSION_MAX_AGE_S)
        except BadSignature:  # SignatureExpired is one too
            return None
        if not isinstance(data, dict) or not isinstance(data.get("o"), str):
            return None
        user_id = data.get("u")
        return Session(data["o"], user_id if isinstance(user_id, int) else None)


def web_link(settings: Settings, user_id: int) -> str | None:
    """`PUBLIC_URL/web?token=…` that opens the page as `user_id`; None without PUBLIC_URL."""
    if not settings.public_url:
        return None
    token = Signer.from_settings(settings).link_token(user_id)
    return f"{settings.public_url.rstrip('/')}{LINK_PATH}?token={token}"


_TOKEN_IN_PATH = re.compile(r"([?&]token=)[^&\s]+")


class HideLinkTokens(logging.Filter):
    """Access logs name the path and its query: a /web link's token (a ten-minute sign-in)
    is written as `token=…` instead."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and any(
            isinstance(a, str) and "token=" in a for a in record.args
        ):
            record.args = tuple(
                _TOKEN_IN_PATH.sub(r"\1…", a) if isinstance(a, str) else a for a in record.args
            )
        return True


def hide_link_tokens(logger_name: str = "uvicorn.access") -> None:
    logger = logging.getLogger(logger_name)
    if not any(isinstance(f, HideLinkTokens) for f in logger.filters):
        logger.addFilter(HideLinkTokens())
