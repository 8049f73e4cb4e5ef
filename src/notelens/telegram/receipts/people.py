"""People in a ledger: who a command names, and `/receipts join`, `leave`, `members`.

Telegram gives a bot the user behind a name only for a text mention (a name picked from
the member list when typing, for people without a username) and for the author of a message
replied to. A plain `@username` is only text: it is matched to a member the ledger has
already seen with that username (everyone who posts a receipt, joins or presses a ledger
button is seen).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from telegram import Message, MessageEntity
from telegram.constants import ChatID

from ..common import say
from ..context import CustomContext, Services
from ..i18n import t
from ..intent import Intent, Who, display_name, who_sent

ME = frozenset({"me", "myself", "我", "自己"})
USERNAME = re.compile(r"^@[A-Za-z0-9_]{1,32}$")


@dataclass(frozen=True)
class Person:
    key: int  # a user id, or a group's for its anonymous admins
    name: str
    username: str | None = None


@dataclass(frozen=True)
class Mention:
    """A person named in a command: `@anna` (matched later) or a text mention (known)."""

    text: str
    person: Person | None = None


Token = str | Mention


def person_of(who: Who) -> Person:
    return Person(who.key, who.name, None if who.anonymous else who.user.username)


def tokens(message: Message, bot_username: str | None) -> list[Token]:
    """The words of a message, with each mention as one `Mention` (a text mention may be
    several words long); mentions of this bot are left out."""
    text = message.text or message.caption or ""
    entities = message.entities or message.caption_entities or ()
    encoded = text.encode("utf-16-le")

    def piece(start: int, end: int) -> str:  # entity offsets count UTF-16 code units
        return encoded[2 * start : 2 * end].decode("utf-16-le")

    out: list[Token] = []

    def words(text: str) -> list[Token]:  # an @name Telegram did not mark is one too
        return [Mention(w) if USERNAME.match(w) else w for w in text.split()]

    at = 0
    for e in sorted(entities, key=lambda e: e.offset):
        if e.type not in (MessageEntity.MENTION, MessageEntity.TEXT_MENTION) or e.offset < at:
            continue
        out += words(piece(at, e.offset))
        written = piece(e.offset, e.offset + e.length)
        at = e.offset + e.length
        if e.type == MessageEntity.TEXT_MENTION and e.user is not None:
            user = e.user
            out.append(Mention(written, Person(user.id, display_name(user), user.username)))
        else:
            out.append(Mention(written))
    out += words(piece(at, len(encoded) // 2))
    return [w for w in out if not (isinstance(w, Mention) and _is_bot(w.text, bot_username))]


def _is_bot(text: str, bot_username: str | None) -> bool:
    return text.lstrip("@").lower() == (bot_username or "").lower()


def replied_person(message: Message, bot_id: int) -> Person | None:
    """The author of the message replied to (a group for its anonymous admins), unless it
    is a bot or there is none."""
    reply = message.reply_to_message
    if reply is None or reply.from_user is None:
        return None
    author = reply.from_user
    if author.id == bot_id or (author.is_bot and author.id != ChatID.ANONYMOUS_ADMIN):
        return None
    who = who_sent(reply, author)
    if who.key == ChatID.ANONYMOUS_ADMIN:  # a post on behalf of another chat: nobody we know
        return None
    return person_of(who)


async def resolve(s: Services, chat_id: int, mention: Mention) -> Person | None:
    """Who a mention names: known for a text mention, else the member seen with that
    @username (None: the ledger has not seen them yet)."""
    if mention.person is not None:
        return mention.person
    member = await s.ledger.members.by_username(chat_id, mention.text)
    if member is None:
        return None
    return Person(member.member_id, member.name, member.username)


async def remember(s: Services, chat_id: int, person: Person, *, member: bool | None) -> None:
    """Note a person's name; `member` True makes them a member of the chat's ledger."""
    await s.ledger.members.seen(chat_id, person.key, person.name, person.username, active=member)


# --- /receipts join, leave, members ---------------------------------------------------------


async def join(context: CustomContext, intent: Intent, lang: str) -> None:
    s, chat_id = context.services, intent.chat.id
    await remember(s, chat_id, person_of(intent.who), member=True)
    n = len(await s.ledger.members.active(chat_id))
    await say(context, chat_id, t(lang, "joined", name=intent.who.name, n=n))


async def leave(context: CustomContext, intent: Intent, lang: str) -> None:
    s, chat_id = context.services, intent.chat.id
    await remember(s, chat_id, person_of(intent.who), member=None)
    if await s.ledger.members.leave(chat_id, intent.who.key):
        await say(context, chat_id, t(lang, "left", name=intent.who.name))
    else:
        await say(context, chat_id, t(lang, "not_a_member", name=intent.who.name))


async def members(context: CustomContext, intent: Intent, lang: str) -> None:
    s, chat_id = context.services, intent.chat.id
    active = await s.ledger.members.active(chat_id)
    lines = [t(lang, "members_head", n=len(active))]
    lines += [
        t(lang, "members_line", name=m.name, username=f" @{m.username}" if m.username else "")
        for m in active
    ]
    lines += ["", t(lang, "members_foot")]
    await say(context, chat_id, "\n".join(lines))
