"""The receipt ledger's storage on SQLite and on PostgreSQL (its texts and flows:
tests/telegram/test_ledger.py and test_receipts.py)."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest

from notelens.pipeline.tasks.receipt import LineItem, Receipt
from notelens.store import Store
from notelens.store.receipt_history import Actor, changed, history
from notelens.store.receipts import CONFIRMED, PENDING, TRANSFER, Entry, Ledger
from notelens.store.schema import receipts

GROUP, OTHER = -1001234567890, -1009876543210


def entry(chat: int, poster: int, total: str, **kw: Any) -> Entry:
    receipt = Receipt(
        merchant=kw.pop("merchant", "Shop"),
        date=kw.pop("date", dt.date(2026, 10, 5)),
        currency="CNY",
        total=Decimal(total),
        items=[LineItem(name="咖啡", quantity=Decimal("2"), amount=Decimal(total))],
    )
    return Entry(chat, poster, f"P{poster}", 1_790_000_000.25, receipt, message_id=7, **kw)


@pytest.fixture
async def ledger(store: Store) -> AsyncIterator[Ledger]:
    ledger = Ledger(store)
    await ledger.load()
    yield ledger


async def test_entries_keep_every_field_and_exact_amounts(ledger: Ledger) -> None:
    e = await ledger.add_pending(entry(GROUP, 1, "0.10", file_unique_id="U", phash="ab" * 8))
    assert e.receipt_id is not None and e.status == PENDING
    await ledger.set_bot_message(e.receipt_id, 9_000_000_000)
    got = await ledger.get(e.receipt_id)
    assert got is not None
    assert got.receipt == e.receipt and got.link == "https://t.me/c/1234567890/7"
    assert (got.posted_at, got.bot_message_id, got.phash) == (e.posted_at, 9_000_000_000, "ab" * 8)
    assert await ledger.entries(GROUP) == []  # pending entries are not in the ledger
    done = await ledger.confirm(e.receipt_id, forced=True)
    assert done is not None and (done.seq, done.status, done.forced) == (1, CONFIRMED, True)
    assert [x.total for x in await ledger.entries(GROUP, "2026-10")] == [Decimal("0.10")]
    assert await ledger.entries(GROUP, "2026-11") == []
    assert await ledger.by_seq(GROUP, 1) == done and await ledger.by_seq(OTHER, 1) is None


async def test_numbers_per_chat_never_reused(ledger: Ledger) -> None:
    seqs = []
    for chat, total in ((GROUP, "1"), (OTHER, "2"), (GROUP, "3")):
        e = await ledger.add_pending(entry(chat, 1, total))
        assert e.receipt_id is not None
        confirmed = await ledger.confirm(e.receipt_id)
        assert confirmed is not None
        seqs.append(confirmed.seq)
    assert seqs == [1, 1, 2]
    assert await ledger.count(GROUP) == 2
    last = await ledger.last_id(GROUP)
    assert last is not None and await ledger.clear(GROUP, up_to=last) == 2
    assert await ledger.count(GROUP) == 0 and await ledger.count(OTHER) == 1
    e = await ledger.add_pending(entry(GROUP, 1, "4"))
    assert e.receipt_id is not None and e.receipt_id > last
    assert (await ledger.confirm(e.receipt_id)).seq == 3  # type: ignore[union-attr]


async def test_two_processes_confirming_number_each_receipt_once(store: Store) -> None:
    """Two ledgers on two connections pools (two processes) confirm the same receipts."""
    other_store = await Store(store.url).open()
    try:
        a, b = Ledger(store), Ledger(other_store)
        ids = [(await a.add_pending(entry(GROUP, 1, str(n)))).receipt_id for n in range(8)]
        results = await asyncio.gather(
            *(ledger.confirm(i) for i in ids for ledger in (a, b))  # type: ignore[arg-type]
        )
        numbered = [r.seq for r in results if r is not None]
        assert sorted(numbered) == list(range(1, 9))  # each once, no gaps, no repeats
    finally:
        await other_store.close()


async def test_duplicates(ledger: Ledger) -> None:
    first = await ledger.add_pending(entry(GROUP, 1, "10", file_unique_id="F", phash="0" * 16))
    assert first.receipt_id is not None
    assert await ledger.duplicate_of(first) is None  # not its own duplicate
    same_file = entry(GROUP, 2, "99", file_unique_id="F", date=dt.date(2026, 1, 1))
    dup = await ledger.duplicate_of(same_file)
    assert dup is not None and (dup.reason, dup.other.receipt_id) == (
        "same_photo",
        first.receipt_id,
    )
    similar = entry(GROUP, 2, "99", phash="0" * 15 + "3", date=dt.date(2026, 1, 1))
    assert (await ledger.duplicate_of(similar)).reason == "similar_photo"  # type: ignore[union-attr]
    same_bill = entry(GROUP, 2, "10", merchant=" shop ")
    assert (await ledger.duplicate_of(same_bill)).reason == "same_details"  # type: ignore[union-attr]
    assert await ledger.duplicate_of(same_bill, pending_too=False) is None
    assert await ledger.duplicate_of(entry(OTHER, 2, "10")) is None  # other chats: never


async def test_auto_mode_and_forgetting_a_poster(store: Store, ledger: Ledger) -> None:
    await ledger.set_auto(GROUP, True)
    await ledger.set_auto(OTHER, True)
    await ledger.set_auto(OTHER, False)
    restarted = Ledger(store)
    await restarted.load()
    assert restarted.auto(GROUP) and not restarted.auto(OTHER)

    for chat, poster, requester in ((GROUP, 1, 1), (OTHER, 1, 2), (GROUP, 2, 1), (GROUP, 3, 3)):
        await ledger.add_pending(entry(chat, poster, "5", requester_id=requester))
    assert await ledger.posted_by(1) == (2, 2)
    assert await ledger.forget(1) == 2
    assert await ledger.posted_by(1) == (0, 0)
    left = [await ledger.get(i) for i in range(1, 5)]
    assert [e.requester_id for e in left if e is not None] == [2, 3]  # unlinked from 1
    await ledger.delete(3)
    assert await ledger.get(3) is None


async def test_unconfirmed_readings_expire(store: Store, ledger: Ledger) -> None:
    stale = await ledger.add_pending(entry(GROUP, 1, "1"))
    fresh = await ledger.add_pending(entry(GROUP, 1, "2"))
    kept = await ledger.add_pending(entry(GROUP, 1, "3"))
    assert kept.receipt_id is not None and await ledger.confirm(kept.receipt_id)
    async with store.engine.begin() as conn:
        await conn.execute(
            receipts.update()
            .where(receipts.c.receipt_id.in_([stale.receipt_id, kept.receipt_id]))
            .values(created_at=time.time() - 8 * 86400)
        )
    assert await ledger.prune() == 1
    assert await ledger.get(stale.receipt_id) is None  # type: ignore[arg-type]
    assert await ledger.get(fresh.receipt_id) is not None  # type: ignore[arg-type]
    assert await ledger.get(kept.receipt_id) is not None


async def test_auto_mode_set_by_another_process(store: Store, ledger: Ledger) -> None:
    other = await Store(store.url).open()
    try:
        await Ledger(other).set_auto(GROUP, True)
        assert not ledger.auto(GROUP)  # this process's cache...
        assert await ledger.is_auto(GROUP) and ledger.auto(GROUP)  # ...until asked
        await Ledger(other).set_auto(GROUP, False)
        assert not await ledger.is_auto(GROUP) and not ledger.auto(GROUP)
    finally:
        await other.close()


# --- shared expenses ---------------------------------------------------------------------


async def test_members_their_usernames_and_leaving(ledger: Ledger) -> None:
    members = ledger.members
    await members.seen(GROUP, 1, "Alice", "Alice_W", active=True)
    await members.seen(GROUP, 2, "Ben", None)  # seen only: not a member
    await members.seen(OTHER, 3, "Carol", "carol", active=True)
    assert [m.name for m in await members.active(GROUP)] == ["Alice"]
    found = await members.by_username(GROUP, "@alice_w")
    assert found is not None and (found.member_id, found.name) == (1, "Alice")
    assert await members.by_username(GROUP, "carol") is None  # another chat's
    await members.seen(GROUP, 2, "Ben", "alice_w")  # the username moved to another account
    moved = await members.by_username(GROUP, "alice_w")
    assert moved is not None and moved.member_id == 2 and not moved.active
    await members.seen(GROUP, 1, "Alice Liddell", None)  # a rename keeps membership
    assert [m.name for m in await members.active(GROUP)] == ["Alice Liddell"]
    assert await members.leave(GROUP, 1) and not await members.leave(GROUP, 1)
    assert await members.active(GROUP) == [] and 1 in await members.known(GROUP)


async def test_participants_claims_and_history(ledger: Ledger) -> None:
    e = await ledger.add_pending(entry(GROUP, 1, "30"), {1: Decimal(1), 2: Decimal(2)})
    assert e.receipt_id is not None and e.token is not None and len(e.token) == 12
    rid = e.receipt_id
    assert await ledger.by_token(e.token) == await ledger.get(rid)
    assert (await ledger.splits.get(rid)).weights == {1: Decimal(1), 2: Decimal(2)}
    assert await ledger.splits.toggle(rid, 2, "Ben", None) is False
    assert await ledger.splits.toggle(rid, 1, "Alice", None) is None  # the last one stays
    await ledger.confirm(rid)
    actor = Actor(1, "Alice")
    assert await ledger.splits.toggle(rid, 3, "Carol", actor) is True
    assert await ledger.splits.toggle_claim(rid, 0, 3) is None  # claiming is not open
    assert await ledger.splits.set_claiming(rid, True, actor)
    assert not await ledger.splits.set_claiming(rid, True, actor)  # already open
    assert await ledger.splits.toggle_claim(rid, 0, 4) is True  # claiming makes one share it
    assert await ledger.splits.toggle_claim(rid, 0, 3) is True
    assert await ledger.splits.toggle_claim(rid, 0, 4) is False
    split = await ledger.splits.get(rid)
    assert (split.mode, split.claiming, split.claims) == ("items", True, {0: [3]})
    assert set(split.weights) == {1, 3, 4}
    assert await ledger.edit(rid, "total", "31.50", actor) == ("30", "31.50")
    assert await ledger.edit(rid, "date", "2026-11-02", actor) == ("2026-10-05", "2026-11-02")
    assert [x.receipt_id for x in await ledger.entries(GROUP, "2026-11")] == [rid]
    lines = await history(ledger.store.engine, rid)
    assert [(h.field, h.old, h.new) for h in lines] == [
        ("joined", "3", "Carol"),
        ("claiming_open", None, None),
        ("total", "30", "31.50"),
        ("date", "2026-10-05", "2026-11-02"),
    ]
    assert await changed(ledger.store.engine, GROUP) == {rid}
    await ledger.delete(rid)  # everything hanging off it goes too
    assert await history(ledger.store.engine, rid) == []
    assert (await ledger.splits.get(rid)).weights == {}


async def test_the_time_zone_decides_months_of_undated_entries(ledger: Ledger) -> None:
    # 20:00 UTC on 31 October: still October in New York, November in Shanghai.
    posted = dt.datetime(2026, 10, 31, 20, tzinfo=dt.UTC).timestamp()
    undated = entry(GROUP, 1, "5", date=None)
    undated.posted_at = posted
    dated = entry(GROUP, 1, "6")
    for e in (undated, dated):
        await ledger.add_pending(e, tz="America/New_York")
        await ledger.confirm(e.receipt_id)  # type: ignore[arg-type]
    assert len(await ledger.entries(GROUP, "2026-10")) == 2
    assert await ledger.chats.set_timezone(GROUP, "Asia/Shanghai") == 1
    assert await ledger.chats.timezone(GROUP) == "Asia/Shanghai"
    assert [e.total for e in await ledger.entries(GROUP, "2026-11")] == [Decimal(5)]
    await ledger.chats.set_currency(GROUP, "CNY")
    await ledger.chats.set_rate(GROUP, "USD", Decimal("7.10"))
    await ledger.chats.set_rate(GROUP, "JPY", Decimal("0.048"))
    await ledger.chats.set_rate(GROUP, "JPY", None)
    assert (
        await ledger.chats.currency(GROUP) == "CNY" and await ledger.chats.currency(OTHER) is None
    )
    assert await ledger.chats.rates(GROUP) == {"USD": Decimal("7.10")}


async def test_forget_takes_a_person_out_of_shared_expenses(ledger: Ledger) -> None:
    theirs = await ledger.add_pending(entry(GROUP, 2, "10"), {2: Decimal(1)})
    shared = await ledger.add_pending(entry(GROUP, 1, "30"), {1: Decimal(1), 2: Decimal(1)})
    paid = entry(GROUP, 1, "5", kind=TRANSFER, payee_id=2)
    await ledger.add_pending(paid, {2: Decimal(1)})
    for e in (theirs, shared, paid):
        await ledger.confirm(e.receipt_id)  # type: ignore[arg-type]
    rid = shared.receipt_id
    assert rid is not None
    await ledger.splits.set_claiming(rid, True, Actor(2, "Ben"))
    await ledger.splits.toggle_claim(rid, 0, 2)
    await ledger.members.seen(GROUP, 2, "Ben", "benny", active=True)
    await ledger.changes.add(GROUP, rid, 2, "edit", {"field": "total", "value": "1"})
    assert await ledger.forget(2) == 1
    assert [e.receipt_id for e in await ledger.entries(GROUP)] == [rid]  # theirs, and to them
    split = await ledger.splits.get(rid)
    assert split.weights == {1: Decimal(1)} and split.claims == {}
    [line] = await history(ledger.store.engine, rid)
    assert (line.field, line.actor_name) == ("claiming_open", None)
    assert await ledger.members.known(GROUP) == {}


async def test_a_change_is_taken_once(ledger: Ledger) -> None:
    e = await ledger.add_pending(entry(GROUP, 1, "30"))
    token = await ledger.changes.add(GROUP, e.receipt_id, 1, "edit", {"value": "完"})  # type: ignore[arg-type]
    change = await ledger.changes.get(token)
    assert change is not None and change.payload == {"value": "完"}
    assert await asyncio.gather(ledger.changes.take(token), ledger.changes.take(token)) in (
        [True, False],
        [False, True],
    )
    assert await ledger.changes.get(token) is None
