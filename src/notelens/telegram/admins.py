"""Who counts as an admin of a chat: its Telegram administrators, or a bot admin.

Asking Telegram (`getChatMember`) for every button press would be slow and
flood-limited, so answers are cached briefly; a demoted admin loses their rights
within `ttl` seconds.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Collection

from telegram import Bot
from telegram.constants import ChatID, ChatMemberStatus
from telegram.error import TelegramError

log = logging.getLogger(__name__)

ADMIN_STATUSES = {ChatMemberStatus.OWNER, ChatMemberStatus.ADMINISTRATOR}


class AdminCache:
    def __init__(
        self,
        bot_admins: Collection[int] = (),
        ttl: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        max_entries: int = 10_000,
    ) -> None:
        self.bot_admins = set(bot_admins)
        self.ttl = ttl
        self.max_entries = max_entries
        self._clock = clock
        self._cache: dict[tuple[int, int], tuple[float, bool]] = {}

    def __len__(self) -> int:
        return len(self._cache)

    async def is_admin(self, bot: Bot, chat_id: int, user_id: int) -> bool:
        """True for bot admins, the owner of a private chat, and the chat's administrators,
        including those who post anonymously, as the group."""
        if user_id in self.bot_admins or chat_id == user_id:
            return True
        if chat_id > 0:  # another private chat: nobody else administers it
            return False
        if user_id == ChatID.ANONYMOUS_ADMIN:  # Telegram's stand-in, used only for admins
            return True
        key = (chat_id, user_id)
        now = self._clock()
        cached = self._cache.get(key)
        if cached is not None and cached[0] > now:
            return cached[1]
        try:
            member = await bot.get_chat_member(chat_id, user_id)
        except TelegramError as exc:  # no answer: not an admin (and not cached)
            log.warning("getChatMember failed in chat %s: %s", chat_id, type(exc).__name__)
            return False
        answer = member.status in ADMIN_STATUSES
        if len(self._cache) >= self.max_entries:
            self._prune(now)
        self._cache[key] = (now + self.ttl, answer)
        return answer

    def _prune(self, now: float) -> None:
        """Expired answers go first; then the oldest (dicts keep insertion order)."""
        for key in [k for k, (until, _) in self._cache.items() if until <= now]:
            del self._cache[key]
        while len(self._cache) >= self.max_entries:
            del self._cache[next(iter(self._cache))]

    def forget(self, user_id: int) -> None:
        for key in [k for k in self._cache if k[1] == user_id]:
            del self._cache[key]
