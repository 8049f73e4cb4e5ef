"""Who shares each ledger entry, and how: participants with weights, exact amounts, or the
items each person claimed. One row per person (and per person and item), so two people
tapping at once never undo each other's tap.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from .engine import upsert, writing
from .receipt_history import Actor, record
from .schema import receipt_claims, receipt_shares, receipts
from .store import Store

EQUAL, EXACT, ITEMS = "equal", "exact", "items"


@dataclass
class Split:
    mode: str = EQUAL
    claiming: bool = False
    weights: dict[int, Decimal] = field(default_factory=dict)  # the participants
    amounts: dict[int, Decimal] = field(default_factory=dict)  # mode exact
    claims: dict[int, list[int]] = field(default_factory=dict)  # item index → who had it


def _add(split: Split, member_id: int, weight: str, amount: str | None) -> None:
    split.weights[member_id] = Decimal(weight)
    if amount is not None:
        split.amounts[member_id] = Decimal(amount)


class Splits:
    def __init__(self, store: Store) -> None:
        self.store = store

    @property
    def engine(self) -> AsyncEngine:
        return self.store.engine

    async def get(self, receipt_id: int) -> Split:
        async with self.engine.connect() as conn:
            return (await _load(conn, receipts.c.receipt_id == receipt_id)).get(receipt_id, Split())

    async def of_chat(self, chat_id: int) -> dict[int, Split]:
        """Every entry's split in the chat (for balances), by receipt id."""
        async with self.engine.connect() as conn:
            return await _load(conn, receipts.c.chat_id == chat_id)

    async def set_participants(
        self, conn: AsyncConnection, receipt_id: int, people: Mapping[int, Decimal]
    ) -> None:
        """Who shares a new entry (in the caller's transaction)."""
        for member_id, weight in people.items():
            await conn.execute(
                receipt_shares.insert().values(
                    receipt_id=receipt_id, member_id=member_id, weight=str(weight)
                )
            )

    async def toggle(
        self, receipt_id: int, member_id: int, name: str, actor: Actor | None
    ) -> bool | None:
        """Add or remove a participant: True added, False removed, None when they are the
        last one (someone has to share it). Exact amounts give way to equal shares."""
        async with writing(self.engine) as conn:
            mode = await conn.scalar(
                sa.select(receipts.c.split_mode).where(receipts.c.receipt_id == receipt_id)
            )
            mine = (receipt_shares.c.receipt_id == receipt_id,)
            people = (await conn.execute(sa.select(receipt_shares.c.member_id).where(*mine))).all()
            present = member_id in {p[0] for p in people}
            if present and len(people) == 1:
                return None
            if mode == EXACT:
                await conn.execute(receipt_shares.update().where(*mine).values(amount=None))
                await conn.execute(
                    receipts.update()
                    .where(receipts.c.receipt_id == receipt_id)
                    .values(split_mode=EQUAL)
                )
                await record(conn, receipt_id, actor, "shares", EXACT, EQUAL)
            if present:
                await conn.execute(
                    receipt_shares.delete().where(*mine, receipt_shares.c.member_id == member_id)
                )
                await conn.execute(
                    receipt_claims.delete().where(
                        receipt_claims.c.receipt_id == receipt_id,
                        receipt_claims.c.member_id == member_id,
                    )
                )
            else:
                values = {"receipt_id": receipt_id, "member_id": member_id, "weight": "1"}
                await conn.execute(
                    upsert(conn, receipt_shares, values, ["receipt_id", "member_id"])
                )
            field_ = "left" if present else "joined"
            await record(conn, receipt_id, actor, field_, str(member_id), name)
        return not present

    async def replace(
        self,
        receipt_id: int,
        mode: str,
        weights: Mapping[int, Decimal],
        amounts: Mapping[int, Decimal],
        actor: Actor | None,
        described: str,
    ) -> None:
        """New shares for an entry (`/receipts share`): weights, or exact amounts."""
        async with writing(self.engine) as conn:
            await conn.execute(
                receipt_shares.delete().where(receipt_shares.c.receipt_id == receipt_id)
            )
            await conn.execute(
                receipt_claims.delete().where(receipt_claims.c.receipt_id == receipt_id)
            )
            for member_id, weight in weights.items():
                amount = amounts.get(member_id)
                await conn.execute(
                    receipt_shares.insert().values(
                        receipt_id=receipt_id,
                        member_id=member_id,
                        weight=str(weight),
                        amount=None if amount is None else str(amount),
                    )
                )
            await conn.execute(
                receipts.update()
                .where(receipts.c.receipt_id == receipt_id)
                .values(split_mode=mode, claiming=0)
            )
            await record(conn, receipt_id, actor, "shares", None, described)

    async def set_claiming(self, receipt_id: int, on: bool, actor: Actor | None) -> bool:
        """Open (split by items) or close claiming; False when it already was so."""
        async with writing(self.engine) as conn:
            done = await conn.execute(
                receipts.update()
                .where(receipts.c.receipt_id == receipt_id, receipts.c.claiming == int(not on))
                .values(claiming=int(on), split_mode=ITEMS)
            )
            if done.rowcount:
                await record(conn, receipt_id, actor, "claiming_open" if on else "claiming_closed")
        return done.rowcount > 0

    async def toggle_claim(self, receipt_id: int, index: int, member_id: int) -> bool | None:
        """A person taps an item: claimed (True) or unclaimed (False); None when claiming
        is closed. Whoever claims something shares the entry."""
        async with writing(self.engine) as conn:
            open_ = await conn.scalar(
                sa.select(receipts.c.claiming).where(receipts.c.receipt_id == receipt_id)
            )
            if not open_:
                return None
            mine = (
                receipt_claims.c.receipt_id == receipt_id,
                receipt_claims.c.item_index == index,
                receipt_claims.c.member_id == member_id,
            )
            gone = await conn.execute(receipt_claims.delete().where(*mine))
            if gone.rowcount:
                return False
            await conn.execute(
                receipt_claims.insert().values(
                    receipt_id=receipt_id, item_index=index, member_id=member_id
                )
            )
            values = {"receipt_id": receipt_id, "member_id": member_id, "weight": "1"}
            await conn.execute(upsert(conn, receipt_shares, values, ["receipt_id", "member_id"]))
        return True


async def _load(conn: AsyncConnection, where: sa.ColumnElement[bool]) -> dict[int, Split]:
    splits: dict[int, Split] = {}
    for receipt_id, mode, claiming in await conn.execute(
        sa.select(receipts.c.receipt_id, receipts.c.split_mode, receipts.c.claiming).where(where)
    ):
        splits[receipt_id] = Split(mode=mode, claiming=bool(claiming))
    ids = sa.select(receipts.c.receipt_id).where(where)
    shares = await conn.execute(
        sa.select(
            receipt_shares.c.receipt_id,
            receipt_shares.c.member_id,
            receipt_shares.c.weight,
            receipt_shares.c.amount,
        )
        .where(receipt_shares.c.receipt_id.in_(ids))
        .order_by(receipt_shares.c.receipt_id, receipt_shares.c.member_id)
    )
    for receipt_id, member_id, weight, amount in shares:
        if receipt_id in splits:
            _add(splits[receipt_id], member_id, weight, amount)
    claims: dict[int, dict[int, list[int]]] = defaultdict(lambda: defaultdict(list))
    for receipt_id, index, member_id in await conn.execute(
        sa.select(
            receipt_claims.c.receipt_id, receipt_claims.c.item_index, receipt_claims.c.member_id
        )
        .where(receipt_claims.c.receipt_id.in_(ids))
        .order_by(receipt_claims.c.member_id)
    ):
        claims[receipt_id][index].append(member_id)
    for receipt_id, by_item in claims.items():
        if receipt_id in splits:
            splits[receipt_id].claims = dict(by_item)
    return splits
