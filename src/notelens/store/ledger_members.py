"""Who is in a chat's ledger. Telegram does not give bots a group's member list, so the
ledger learns its members: people who post a receipt, are named in a command, or send
`/receipts join` (active members: everyone shares an expense by default). People seen using
the ledger are remembered too (not active), only so that `@username` can be matched to
someone: Telegram tells bots a user id for an @username only when it has seen that person.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from .engine import upsert, writing
from .schema import ledger_members
from .store import Store


@dataclass(frozen=True)
class Member:
    member_id: int
    name: str
    username: str | None = None
    active: bool = True


def _member(row: Any) -> Member:
    return Member(row[0], row[1], row[2], bool(row[3]))


_COLUMNS = (
    ledger_members.c.member_id,
    ledger_members.c.name,
    ledger_members.c.username,
    ledger_members.c.active,
)


class Members:
    def __init__(self, store: Store) -> None:
        self.store = store

    @property
    def engine(self) -> AsyncEngine:
        return self.store.engine

    async def seen(
        self,
        chat_id: int,
        member_id: int,
        name: str,
        username: str | None = None,
        *,
        active: bool | None = None,
    ) -> None:
        """Remember this person's name (and @username); `active` True makes them a member,
        False takes them out, None leaves that as it was (a new person is not a member)."""
        values = {
            "chat_id": chat_id,
            "member_id": member_id,
            "name": name,
            "username": username.lower() if username else None,
            "active": int(bool(active)),
            "updated_at": time.time(),
        }
        update = ["name", "username", "updated_at"] + ([] if active is None else ["active"])
        async with writing(self.engine) as conn:
            if username:  # an @username belongs to one account at a time
                await conn.execute(
                    ledger_members.update()
                    .where(
                        ledger_members.c.chat_id == chat_id,
                        ledger_members.c.username == username.lower(),
                        ledger_members.c.member_id != member_id,
                    )
                    .values(username=None)
                )
            await conn.execute(
                upsert(conn, ledger_members, values, ["chat_id", "member_id"], update)
            )

    async def leave(self, chat_id: int, member_id: int) -> bool:
        """No longer a member (their past stays); False when they were not one."""
        async with writing(self.engine) as conn:
            done = await conn.execute(
                ledger_members.update()
                .where(
                    ledger_members.c.chat_id == chat_id,
                    ledger_members.c.member_id == member_id,
                    ledger_members.c.active == 1,
                )
                .values(active=0, updated_at=time.time())
            )
        return done.rowcount > 0

    async def active(self, chat_id: int) -> list[Member]:
        """The members, by name."""
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                sa.select(*_COLUMNS).where(
                    ledger_members.c.chat_id == chat_id, ledger_members.c.active == 1
                )
            )
            found = [_member(r) for r in rows]
        return sorted(found, key=lambda m: (m.name.casefold(), m.member_id))

    async def known(self, chat_id: int) -> dict[int, Member]:
        """Everyone the ledger knows in this chat (members or not), by id."""
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                sa.select(*_COLUMNS).where(ledger_members.c.chat_id == chat_id)
            )
            return {r[0]: _member(r) for r in rows}

    async def by_username(self, chat_id: int, username: str) -> Member | None:
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(
                    sa.select(*_COLUMNS).where(
                        ledger_members.c.chat_id == chat_id,
                        ledger_members.c.username == username.lstrip("@").lower(),
                    )
                )
            ).first()
        return _member(row) if row else None

    async def forget(self, member_id: int) -> int:
        async with writing(self.engine) as conn:
            done = await conn.execute(
                ledger_members.delete().where(ledger_members.c.member_id == member_id)
            )
        return max(done.rowcount, 0)
