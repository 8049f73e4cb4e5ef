"""Admins who post as the group share one identity, the group's: Telegram sends all of
them, in every group, as GroupAnonymousBot."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text as sql

from testsupport.fakes.telegram_server import ANONYMOUS_ADMIN, FakeTelegram, user

from .conftest import GROUP, OTHER_GROUP, Receipts, last_edit, press, receipt, say

ALICE = user(1001, "en", first_name="Alice")
BOB = user(1002, "en", first_name="Bob")


async def post_as_group(
    tg: FakeTelegram, data: bytes, chat_id: int, caption: str = "/receipt"
) -> Any:
    before = len(tg.sent(chat_id))
    tg.send_photo(data, ALICE, caption=caption, chat_id=chat_id, as_chat=True)
    [answer] = await tg.wait_sent(chat_id, after=before, timeout=15)
    return answer


async def test_anonymous_receipts_belong_to_the_group_and_its_admins_decide(
    tg: FakeTelegram, receipts: Receipts, start_bot: Any
) -> None:
    await start_bot()
    tg.set_admin(GROUP, ALICE["id"])
    summary = await post_as_group(tg, receipts.photo(101, receipt("42.00", merchant="Cafe")), GROUP)
    assert "Paid by Test group" in summary.text
    # A press comes from the admin's own account: admins may decide, members may not.
    refused = await press(tg, summary, "Confirm", BOB)
    assert refused.params["show_alert"]
    await press(tg, summary, "Confirm", ALICE)
    assert "Saved as <b>#1</b>" in last_edit(tg).text
    ledger = await say(tg, "/receipts month 2026-10", BOB, GROUP)
    assert "Cafe" in ledger.text and "Test group" in ledger.text


async def test_forgetme_from_the_stand_in_is_refused_and_deletes_nothing(
    tg: FakeTelegram, receipts: Receipts, start_bot: Any
) -> None:
    bot = await start_bot()
    tg.set_admin(GROUP, ALICE["id"])
    tg.set_admin(OTHER_GROUP, BOB["id"])
    here = await post_as_group(tg, receipts.photo(111, receipt("10.00", merchant="Here")), GROUP)
    await press(tg, here, "Confirm", ALICE)
    there = await post_as_group(
        tg, receipts.photo(112, receipt("20.00", merchant="There")), OTHER_GROUP
    )
    await press(tg, there, "Confirm", BOB)

    before = len(tg.sent(GROUP))
    tg.send_text("/forgetme", ALICE, chat_id=GROUP, as_chat=True)
    [refusal] = await tg.wait_sent(GROUP, after=before)
    assert "anonymously" in refusal.text and not refusal.buttons
    # Alice's own /forgetme counts only what it would delete: she posted nothing herself.
    own = await say(tg, "/forgetme", ALICE, None)
    assert "0 receipts" in own.text
    async with bot.app.bot_data["services"].store.engine.connect() as db:
        confirmed = "SELECT count(*) FROM receipts WHERE status = 'confirmed'"
        assert await db.scalar(sql(confirmed)) == 2
    assert "There" in (await say(tg, "/receipts month 2026-10", BOB, OTHER_GROUP)).text


async def test_each_groups_anonymous_admins_have_their_own_lane_and_limit(
    tg: FakeTelegram, receipts: Receipts, start_bot: Any
) -> None:
    """With one job a minute, the anonymous admins of two groups are two identities."""
    await start_bot(user_jobs_per_minute=1)
    first = await post_as_group(tg, receipts.photo(121, receipt("1.00", merchant="One")), GROUP)
    assert "One" in first.text
    second = await post_as_group(
        tg, receipts.photo(122, receipt("2.00", merchant="Two")), OTHER_GROUP
    )
    assert "Two" in second.text and "too fast" not in second.text
    again = await post_as_group(tg, receipts.photo(123, receipt("3.00")), GROUP)
    assert "too fast" in again.text
    assert ANONYMOUS_ADMIN["id"] not in (GROUP, OTHER_GROUP)
