"""End to end: the group receipt ledger, through the fake Telegram and model servers.

The fake model "reads" each test photo by its perceptual hash: a test draws a
distinct photo per receipt and registers the JSON the model should answer for it.
"""

from __future__ import annotations

import asyncio
import csv
import io
from collections import defaultdict
from decimal import Decimal
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import text as sql

from testsupport.fakes.openai_server import FakeOpenAI, text
from testsupport.fakes.telegram_server import BOT_USERNAME, FakeTelegram, user

from .conftest import (
    ALICE,
    BOB,
    CAROL,
    GROUP,
    LI,
    OTHER_GROUP,
    Receipts,
    add,
    button,
    last_edit,
    post,
    press,
    receipt,
    say,
    services_of,
)

# --- flows -----------------------------------------------------------------------------------


async def test_post_confirm_discard_and_the_monthly_ledger(
    tg: FakeTelegram, receipts: Receipts, start_bot: Any
) -> None:
    await start_bot()
    items = [
        {"name": "饭团 <onigiri>", "quantity": "2", "amount": "11.00"},
        {"name": "乌龙茶", "quantity": "1", "amount": "12.50"},
    ]
    shop = receipts.photo(1, receipt("23.50", merchant="全家 FamilyMart", items=items))
    summary = await post(tg, shop, ALICE)
    assert "全家 FamilyMart" in summary.text and "23.50 CNY" in summary.text
    assert "饭团 &lt;onigiri&gt; ×2" in summary.text
    assert "Paid by Alice Liddell" in summary.text
    assert [label for label, _ in summary.buttons] == ["✅ Confirm", "🗑 Discard"]
    assert summary.reply_to is not None

    # Only the payer (or an admin) may confirm: Bob gets an alert and nothing changes.
    alert = await press(tg, summary, "Confirm", BOB)
    assert alert.params["show_alert"] and "Only" in alert.params["text"]
    assert tg.calls_of("editMessageText") == []
    await press(tg, summary, "Confirm", ALICE)
    assert "Saved as <b>#1</b>" in last_edit(tg).text
    assert not last_edit(tg).buttons
    again = await press(tg, summary, "Confirm", ALICE)  # a double tap does not count twice
    assert again.params["show_alert"] and "already" in again.params["text"]

    # A bare mention reads a receipt too; Bob discards his.
    dinner = receipts.photo(2, receipt("88", merchant="Noodle Bar", date="2026-10-07"))
    mine = await post(tg, dinner, BOB, caption=f"@{BOT_USERNAME}")
    assert "Noodle Bar" in mine.text and "88.00 CNY" in mine.text
    await press(tg, mine, "Discard", BOB)
    assert "Discarded" in last_edit(tg).text

    # `/receipt` as a reply to a photo; `#receipt` in a caption.
    photo = tg.send_photo(
        receipts.photo(3, receipt("30.00", merchant="Taxi", date="2026-10-08")), BOB, chat_id=GROUP
    )
    replied = await say(tg, "/receipt", BOB, reply_to=photo["message_id"])
    assert "Taxi" in replied.text
    await press(tg, replied, "Confirm", BOB)
    assert await add(tg, receipts.photo(4, receipt("12.00", "USD", "Museum")), CAROL) == 3
    # Left pending: not counted.
    await post(tg, receipts.photo(5, receipt("999.00", merchant="Pending")), CAROL)
    # A caption with #receipt, in November: another month.
    nov = receipts.photo(6, receipt("5.00", date="2026-11-02"))
    await press(tg, await post(tg, nov, ALICE, caption="lunch #receipt"), "Confirm", ALICE)

    ledger = await say(tg, "/receipts month 2026-10", BOB)
    assert "Ledger · 2026-10</b>: 3 receipts" in ledger.text
    assert "23.50 CNY" in ledger.text and "30.00 CNY" in ledger.text
    assert "12.00 USD" in ledger.text and "999" not in ledger.text
    assert "<b>Total</b>: 53.50 CNY · 12.00 USD" in ledger.text
    assert "#1 · 2026-10-05 · 全家 FamilyMart" in ledger.text
    assert "date on the receipt" in ledger.text  # which date decides the month
    november = await say(tg, "/receipts 2026-11", BOB)
    assert ": 1 receipt\n" in november.text and "#4" in november.text
    bad = await say(tg, "/receipts month 11/2026", BOB)
    assert "YYYY-MM" in bad.text


async def test_alerts_are_plain_text_and_show_names_as_written(
    tg: FakeTelegram, receipts: Receipts, start_bot: Any
) -> None:
    """Telegram shows a callback answer as plain text: no HTML escapes, no tags."""
    await start_bot()
    tom = user(1005, "en", first_name="Tom & Jerry")
    summary = await post(tg, receipts.photo(41, receipt("9.90", merchant="Cheese <Shop>")), tom)
    assert "Paid by Tom &amp; Jerry" in summary.text  # HTML in the message itself
    alert = await press(tg, summary, "Confirm", BOB)
    assert alert.params["show_alert"]
    assert alert.params["text"] == "Only Tom & Jerry (who paid) or an admin can do this."


async def test_current_month_uses_the_posting_date_without_a_receipt_date(
    tg: FakeTelegram, receipts: Receipts, start_bot: Any
) -> None:
    await start_bot()
    undated = receipts.photo(7, receipt("42.00", merchant=None, date=None))
    summary = await post(tg, undated, LI, chat_id=None)  # a private, personal ledger
    assert "商家未知" in summary.text and "无日期" in summary.text
    await press(tg, summary, "确认", LI)
    ledger = await say(tg, "/receipts", LI, chat_id=None)
    assert "1 张小票" in ledger.text and "42.00 CNY" in ledger.text


@pytest.mark.usefixtures("busy_groups")
async def test_split_and_export(tg: FakeTelegram, receipts: Receipts, start_bot: Any) -> None:
    await start_bot()
    for person in (ALICE, BOB, CAROL):  # everyone in the ledger shares what is posted
        assert "joined this ledger" in (await say(tg, "/receipts join", person)).text
    await add(tg, receipts.photo(10, receipt("90.00")), ALICE)
    await add(tg, receipts.photo(11, receipt("30.00")), BOB)
    await add(tg, receipts.photo(12, receipt("45.50", date="2026-10-20")), CAROL)
    await add(tg, receipts.photo(13, receipt("14.50", date="2026-10-21")), CAROL)
    await add(tg, receipts.photo(14, receipt("1000", "JPY", "=cmd|' /C calc'!A0")), ALICE)
    await add(tg, receipts.photo(15, receipt("500", "JPY")), BOB)

    split = await say(tg, "/receipts split 2026-10", BOB)
    # CNY: 180 among three → 60 each: Bob owes Alice 30. JPY: 1500 among three → 500 each.
    assert "1002" not in split.text  # names are shown, not ids
    assert "every month" in split.text  # a month asked for: settling up is over all time
    lines = split.text.splitlines()
    assert "• Bob → Alice Liddell: <b>30.00 CNY</b>" in lines
    assert "• Carol → Alice Liddell: <b>500 JPY</b>" in lines
    assert sum("→" in line for line in lines) == 2  # at most n − 1 per currency
    everything = await say(tg, "/receipts split", BOB)
    assert "all-time balances" in everything.text and "every month" not in everything.text

    before = len(tg.calls_of("sendDocument", GROUP))
    tg.send_text("/receipts export", ALICE, chat_id=GROUP)
    [doc] = await tg.wait_for(lambda f: f.calls_of("sendDocument", GROUP)[before:])
    assert doc.document is not None
    name, data = doc.document
    assert name.startswith("receipts-all-") and name.endswith(".csv")
    assert data.startswith(b"\xef\xbb\xbf")  # BOM: Excel opens UTF-8 right
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert list(rows[0]) == [
        "number",
        "date",
        "posted_at",
        "poster_name",
        "poster_id",
        "merchant",
        "currency",
        "total",
        "items",
        "message_link",
        "kind",
        "participants",
        "shares",
    ]
    sums: dict[str, Decimal] = defaultdict(Decimal)
    for row in rows:
        sums[row["currency"]] += Decimal(row["total"])
    assert sums == {"CNY": Decimal("180.00"), "JPY": Decimal("1500")}
    assert [r["number"] for r in rows] == ["1", "2", "3", "4", "5", "6"]
    assert rows[0]["message_link"].startswith("https://t.me/c/1234567890/")
    assert rows[0]["poster_id"] == "1001" and rows[0]["date"] == "2026-10-05"
    assert rows[0]["participants"] == "Alice Liddell; Bob; Carol"
    assert rows[0]["shares"] == "Alice Liddell: 30.00; Bob: 30.00; Carol: 30.00"
    assert rows[4]["merchant"].startswith("'=")  # never a live formula
    assert "6 receipts" in doc.text


async def test_auto_mode_reads_every_photo_and_ignores_the_rest(
    tg: FakeTelegram, fake_model: FakeOpenAI, receipts: Receipts, start_bot: Any
) -> None:
    await start_bot()
    tg.set_admin(GROUP, ALICE["id"])
    refused = await say(tg, "/receipts auto on", BOB)
    assert "Only group admins" in refused.text
    on = await say(tg, "/receipts auto on", ALICE)
    assert "Auto mode is on" in on.text and "privacy mode" in on.text
    assert tg.calls_of("getChatMember")

    # Not a receipt: read, then silence (no message, no "typing…").
    sent_before = len(tg.sent(GROUP))
    tg.send_photo(receipts.photo(20), BOB, chat_id=GROUP, caption="the view from the hotel")
    await tg.wait_for(lambda f: len(fake_model.requests) == 1)
    await asyncio.sleep(0.5)
    assert len(tg.sent(GROUP)) == sent_before
    assert tg.calls_of("sendChatAction", GROUP) == []
    # A receipt, posted without a word: summary with buttons.
    summary = await post(tg, receipts.photo(21, receipt("64.00")), BOB, caption=None)
    assert "64.00 CNY" in summary.text and "Confirm" in summary.buttons[0][0]
    # A question still gets an answer, not a receipt check.
    answer = await post(tg, receipts.photo(22), BOB, caption=f"@{BOT_USERNAME} what is this?")
    assert "A fake answer." in answer.text

    off = await say(tg, "/receipts auto off", ALICE)
    assert "Auto mode is off" in off.text
    calls = len(fake_model.requests)
    tg.send_photo(receipts.photo(23, receipt("1.00")), BOB, chat_id=GROUP)
    await asyncio.sleep(0.5)
    assert len(fake_model.requests) == calls
    status = await say(tg, "/receipts auto", BOB)
    assert "<b>off</b>" in status.text


async def test_an_anonymous_admin_can_use_admin_commands(
    tg: FakeTelegram, fake_model: FakeOpenAI, start_bot: Any
) -> None:
    """Admins who post as the group arrive as GroupAnonymousBot, whom getChatMember does
    not know as an admin; a member who is not an admin is still refused."""
    await start_bot()
    refused = await say(tg, "/receipts auto on", BOB)
    assert "Only group admins" in refused.text
    before = len(tg.sent(GROUP))
    tg.send_text("/receipts auto on", ALICE, chat_id=GROUP, as_chat=True)
    [on] = await tg.wait_sent(GROUP, after=before, timeout=15)
    assert "Auto mode is on" in on.text
    status = await say(tg, "/receipts auto", BOB)
    assert "<b>on</b>" in status.text
    # any other bot is still not served
    before = len(tg.sent(GROUP))
    tg.send_text("/receipts auto off", user(5555, is_bot=True), chat_id=GROUP)
    await asyncio.sleep(0.5)
    assert len(tg.sent(GROUP)) == before
    assert "<b>on</b>" in (await say(tg, "/receipts auto", BOB)).text


async def test_auto_mode_survives_a_restart_and_reads_albums(
    tg: FakeTelegram, receipts: Receipts, start_bot: Any
) -> None:
    first = await start_bot(admin_user_ids="1001")  # a bot admin is an admin everywhere
    await say(tg, "/receipts auto on", ALICE)
    await first.stop()
    await start_bot()
    before = len(tg.sent(GROUP))
    tg.send_album(
        [receipts.photo(25, receipt("3.00")), receipts.photo(26, receipt("4.00"))],
        BOB,
        chat_id=GROUP,
    )
    two = await tg.wait_sent(GROUP, 2, after=before, timeout=15)
    assert {"3.00 CNY" in c.text or "4.00 CNY" in c.text for c in two} == {True}


async def test_duplicates_are_flagged_not_counted(
    tg: FakeTelegram, receipts: Receipts, start_bot: Any
) -> None:
    await start_bot()
    data = receipts.photo(30, receipt("58.00", merchant="Hot Pot"))
    summary = await post(tg, data, ALICE, unique_id="SAMEFILE0001")
    await press(tg, summary, "Confirm", ALICE)

    # The same file again (forwarded): flagged, with "Add anyway" instead of "Confirm".
    again = await post(tg, data, BOB, unique_id="SAMEFILE0001")
    assert "looks like receipt <b>#1</b>" in again.text and "the same photo" in again.text
    assert [label for label, _ in again.buttons][:2] == ["➕ Add anyway", "🗑 Discard"]
    assert [label for label, _ in again.buttons][2:] == ["✅ Alice Liddell", "✅ Bob"]
    await press(tg, again, "Discard", BOB)

    # A re-encoded, resized copy: near-identical photo.
    img = Image.open(io.BytesIO(data)).resize((640, 480))
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=60)
    copy = await post(tg, buf.getvalue(), CAROL)
    assert "near-identical photo" in copy.text

    # Another photo of the same bill: same shop, date and total.
    other = await post(tg, receipts.photo(31, receipt("58.00", merchant="hot pot")), BOB)
    assert "same shop, date and total" in other.text

    ledger = await say(tg, "/receipts month 2026-10", ALICE)
    assert ": 1 receipt\n" in ledger.text
    # Saying so explicitly adds it after all.
    await press(tg, other, "Add anyway", BOB)
    assert "Saved as <b>#2</b>" in last_edit(tg).text

    # Two people post the same photo before either confirms: the second is flagged, and
    # confirming it after the first was saved is caught too.
    twin = receipts.photo(32, receipt("7.00", merchant="Bakery"))
    first = await post(tg, twin, ALICE, unique_id="TWIN00000001")
    second = await post(tg, twin, BOB, unique_id="TWIN00000002")
    assert "waiting for confirmation" in second.text
    await press(tg, first, "Confirm", ALICE)
    third = await post(tg, receipts.photo(33, receipt("7.50", merchant="Bakery")), CAROL)
    assert "Confirm" in third.buttons[0][0]
    await press(tg, third, "Confirm", CAROL)
    ledger = await say(tg, "/receipts month 2026-10", ALICE)
    assert ": 4 receipts" in ledger.text


async def test_delete_permissions_and_numbers_never_reused(
    tg: FakeTelegram, receipts: Receipts, start_bot: Any
) -> None:
    await start_bot()
    tg.set_admin(GROUP, CAROL["id"], "creator")
    assert await add(tg, receipts.photo(40, receipt("10.00")), ALICE) == 1
    assert await add(tg, receipts.photo(41, receipt("20.00")), BOB) == 2
    forbidden = await say(tg, "/receipts delete 1", BOB)
    assert "Only Alice Liddell" in forbidden.text
    assert "Deleted #2" in (await say(tg, "/receipts delete 2", BOB)).text
    assert "no receipt #2" in (await say(tg, "/receipts delete 2", BOB)).text
    assert "Deleted #1" in (await say(tg, "/receipts delete #1", CAROL)).text  # an admin
    assert "Usage" in (await say(tg, "/receipts delete", CAROL)).text
    assert await add(tg, receipts.photo(42, receipt("30.00")), BOB) == 3


async def test_clear_is_for_admins_and_asks_first(
    tg: FakeTelegram, receipts: Receipts, start_bot: Any
) -> None:
    await start_bot()
    tg.set_admin(GROUP, ALICE["id"])
    await add(tg, receipts.photo(50, receipt("10.00")), ALICE)
    await add(tg, receipts.photo(51, receipt("20.00")), BOB)
    assert "Only group admins" in (await say(tg, "/receipts clear", BOB)).text
    ask = await say(tg, "/receipts clear", ALICE)
    assert "Delete all 2 receipts" in ask.text
    alert = await press(tg, ask, "Delete all", BOB)
    assert alert.params["show_alert"]
    # Added after the question: not part of what the admin agreed to delete.
    await add(tg, receipts.photo(52, receipt("30.00")), BOB)
    await press(tg, ask, "Delete all", ALICE)
    assert "Deleted 2 receipts" in last_edit(tg).text
    ledger = await say(tg, "/receipts month 2026-10", ALICE)
    assert ": 1 receipt\n" in ledger.text and "#3" in ledger.text
    cancel = await say(tg, "/receipts clear", ALICE)
    await press(tg, cancel, "Cancel", ALICE)
    assert "nothing was deleted" in last_edit(tg).text
    assert await add(tg, receipts.photo(53, receipt("1.00")), ALICE) == 4


async def test_chats_never_see_each_others_receipts(
    tg: FakeTelegram, receipts: Receipts, start_bot: Any
) -> None:
    await start_bot()
    await add(tg, receipts.photo(60, receipt("111.00", merchant="Alpha")), ALICE, GROUP)
    await add(tg, receipts.photo(61, receipt("222.00", merchant="Beta")), ALICE, OTHER_GROUP)
    await add(tg, receipts.photo(62, receipt("333.00", merchant="Gamma")), ALICE, None)

    first = await say(tg, "/receipts month 2026-10", ALICE, GROUP)
    second = await say(tg, "/receipts month 2026-10", BOB, OTHER_GROUP)
    private = await say(tg, "/receipts month 2026-10", ALICE, None)
    assert "Alpha" in first.text and "Beta" not in first.text and "Gamma" not in first.text
    assert "Beta" in second.text and "Alpha" not in second.text and "#1" in second.text
    assert "Gamma" in private.text and "Alpha" not in private.text
    assert "Nothing" not in private.text and ": 1 receipt\n" in private.text
    bob_private = await say(tg, "/receipts month 2026-10", BOB, None)
    assert "No receipts" in bob_private.text
    # Exported files hold only their chat's receipts.
    tg.send_text("/receipts export", BOB, chat_id=OTHER_GROUP)
    [doc] = await tg.wait_for(lambda f: f.calls_of("sendDocument", OTHER_GROUP))
    assert doc.document is not None
    rows = list(csv.DictReader(io.StringIO(doc.document[1].decode("utf-8-sig"))))
    assert [r["merchant"] for r in rows] == ["Beta"]
    assert rows[0]["message_link"].startswith("https://t.me/c/9876543210/")

    # A button of one chat's receipt, pressed with another chat's message, does nothing.
    pending = await post(tg, receipts.photo(63, receipt("5.00", merchant="Delta")), ALICE)
    elsewhere = tg.calls_of("sendMessage", OTHER_GROUP)[-1]
    before = len(tg.calls_of("answerCallbackQuery"))
    tg.press(tg.message_of(elsewhere), button(pending, "Confirm"), ALICE)
    [alert] = await tg.wait_for(lambda f: f.calls_of("answerCallbackQuery")[before:])
    assert alert.params.get("show_alert")
    ledger = await say(tg, "/receipts month 2026-10", ALICE, GROUP)
    assert "Delta" not in ledger.text


async def test_forgetme_deletes_the_users_data_everywhere(
    tg: FakeTelegram, receipts: Receipts, start_bot: Any
) -> None:
    bot = await start_bot()
    await say(tg, "/lang zh", ALICE, None)
    await add_zh(tg, receipts.photo(70, receipt("10.00", merchant="Mine")), ALICE, GROUP)
    await add_zh(tg, receipts.photo(71, receipt("20.00", merchant="Private")), ALICE, None)
    await add(tg, receipts.photo(72, receipt("30.00", merchant="Bobs")), BOB, GROUP)
    # Bob asks for a receipt on Alice's photo: it is hers (she paid).
    photo = tg.send_photo(
        receipts.photo(73, receipt("40.00", merchant="Hers")), ALICE, chat_id=GROUP
    )
    on_hers = await say(tg, "/receipt", BOB, reply_to=photo["message_id"])
    assert "Paid by Alice Liddell (added by Bob)" in on_hers.text
    not_his = await press(tg, on_hers, "Confirm", BOB)  # the payer decides, not the asker
    assert not_his.params["show_alert"] and "Alice Liddell" in not_his.params["text"]

    ask = await say(tg, "/forgetme", ALICE, GROUP)
    assert "3 张小票" in ask.text and "2 个聊天" in ask.text  # the pending one too
    alert = await press(tg, ask, "删除", BOB)
    assert alert.params["show_alert"]
    await press(tg, ask, "删除", ALICE)
    assert "已删除" in last_edit(tg).text

    ledger = await say(tg, "/receipts month 2026-10", BOB, GROUP)
    assert "Bobs" in ledger.text and "Mine" not in ledger.text and ": 1 receipt\n" in ledger.text
    private = await say(tg, "/receipts month 2026-10", ALICE, None)
    assert "No receipts" in private.text  # English again: her /lang zh is gone too
    async with services_of(bot).store.engine.connect() as db:
        theirs = "user_id = :u OR json_extract(meta, '$.poster_id') = :u"
        assert await db.scalar(sql(f"SELECT count(*) FROM jobs WHERE {theirs}"), {"u": 1001}) == 0
        assert await db.scalar(sql("SELECT count(*) FROM receipts")) == 1
        assert await db.scalar(sql("SELECT count(*) FROM users WHERE user_id = 1001")) == 0


async def add_zh(
    tg: FakeTelegram, data: bytes, sender: dict[str, Any], chat_id: int | None
) -> None:
    summary = await post(tg, data, sender, chat_id=chat_id)
    await press(tg, summary, "确认", sender)
    assert "已记入账本" in last_edit(tg).text


async def test_not_a_receipt_and_unreadable_answers(
    tg: FakeTelegram, fake_model: FakeOpenAI, receipts: Receipts, start_bot: Any
) -> None:
    await start_bot()
    answer = await post(tg, receipts.photo(80), ALICE)
    assert "doesn't look like a receipt" in answer.text and not answer.buttons
    fake_model.reply(text("total is about 12"), text('{"currency": "dollars", "total": "x"}'))
    failed = await post(tg, receipts.photo(81, receipt("12.00")), ALICE, caption="/receipt")
    assert "couldn't read this receipt" in failed.text
    [(label, data)] = failed.buttons
    assert "Retry" in label
    before = len(tg.sent(GROUP))
    tg.press(tg.message_of(failed), data, ALICE)
    [summary] = await tg.wait_sent(GROUP, after=before)
    assert "12.00 CNY" in summary.text and "Confirm" in summary.buttons[0][0]
    usage = await say(tg, "/receipt", ALICE)
    assert "as a reply" in usage.text
    helptext = await say(tg, "/receipts help", ALICE)
    assert "/receipts split" in helptext.text and "date on the receipt" in helptext.text


async def test_pdf_invoice_in_a_private_chat(
    tg: FakeTelegram, fake_model: FakeOpenAI, start_bot: Any
) -> None:
    from tests.pipeline.test_pdf import make_pdf

    await start_bot()
    before = len(tg.sent(ALICE["id"]))
    tg.send_document(make_pdf(2), "invoice.pdf", "application/pdf", ALICE, caption="/receipt")
    [summary] = await tg.wait_sent(ALICE["id"], after=before, timeout=15)
    assert "FamilyMart" in summary.text and "23.50 CNY" in summary.text  # FAKE_RECEIPT
    assert len(fake_model.requests) == 1  # the first page only
