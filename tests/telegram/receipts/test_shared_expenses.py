"""End to end: a trip's shared expenses, through the fake Telegram and model servers.

Four people: Alice (a group admin), Ben and Carol join; Dave, who has no username, is
named with a text mention. A museum ticket for two (`/spent`), a hot pot receipt split by
items (beef shared, tofu and beer claimed, noodles unclaimed, a service charge), a taxi for
everyone, corrected afterwards, and a payment back; then balances and the proposed
transfers, checked to the cent, and what nobody else may do.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal
from typing import Any

import pytest
from openpyxl import load_workbook

from testsupport.fakes.telegram_server import FakeTelegram, user

from .conftest import (
    GROUP,
    OTHER_GROUP,
    Receipts,
    button,
    last_edit,
    post,
    press,
    receipt,
    say,
    services_of,
)

ALICE = user(1001, "en", first_name="Alice", username="alice")
BEN = user(1002, "en", first_name="Ben", username="benny")
CAROL = user(1003, "en", first_name="Carol", username="carol")
DAVE = user(1004, "en", first_name="Dave")  # no username: only a text mention names him

HOT_POT = [
    {"name": "Beef", "amount": "60.00"},
    {"name": "Tofu", "amount": "20.00"},
    {"name": "Beer", "amount": "40.00"},
    {"name": "Noodles", "amount": "30.00"},
    {"name": "Service charge 10%", "amount": "15.00"},
]


async def replayed(tg: FakeTelegram, data: str, presser: dict[str, Any]) -> Any:
    """Press `data` under a message of another chat: the answer (an alert), nothing else."""
    elsewhere = await say(tg, "/receipts members", presser, OTHER_GROUP)
    before = len(tg.calls_of("answerCallbackQuery"))
    edits = len(tg.calls_of("editMessageText"))
    tg.press(tg.message_of(elsewhere), data, presser)
    [answer] = await tg.wait_for(lambda f: f.calls_of("answerCallbackQuery")[before:])
    assert len(tg.calls_of("editMessageText")) == edits
    return answer


@pytest.mark.usefixtures("busy_groups")
async def test_a_trip_with_four_people(
    tg: FakeTelegram, receipts: Receipts, start_bot: Any
) -> None:
    await start_bot()
    tg.set_admin(GROUP, ALICE["id"])
    for person in (ALICE, BEN, CAROL):
        await say(tg, "/receipts join", person)
    assert "Only group admins" in (await say(tg, "/receipts currency CNY", BEN)).text
    assert "now <b>CNY</b>" in (await say(tg, "/receipts currency CNY", ALICE)).text

    # A manual expense for two: Carol and Dave (named by a text mention: no username).
    unknown = await say(tg, "/spent 10 @nobody_here", CAROL)
    assert "don't know @nobody_here" in unknown.text and not unknown.buttons
    museum = await say(tg, "/spent 36 museum Dave", CAROL, text_mentions={"Dave": DAVE})
    assert "museum" in museum.text and "36.00 CNY" in museum.text
    assert "Carol 18.00 · Dave 18.00" in museum.text
    await press(tg, museum, "Confirm", CAROL)
    assert "Saved as <b>#1</b>" in last_edit(tg).text
    members = await say(tg, "/receipts members", BEN)
    assert "<b>Members</b>: 4" in members.text and "• Dave\n" in members.text

    # The hot pot: shared by all four by default; only the payer (or an admin) chooses.
    card = await post(tg, receipts.photo(201, receipt("165.00", items=HOT_POT)), ALICE)
    assert [label for label, _ in card.buttons][2:] == [
        "✅ Alice",
        "✅ Ben",
        "✅ Carol",
        "✅ Dave",
    ]
    refused = await press(tg, card, "Carol", BEN)
    assert refused.params["show_alert"] and "Only Alice (who paid)" in refused.params["text"]
    await press(tg, card, "Carol", ALICE)
    assert "▫️ Carol" in [label for label, _ in last_edit(tg).buttons]
    assert "Alice 55.00 · Ben 55.00 · Dave 55.00" in last_edit(tg).text
    await press(tg, last_edit(tg), "Carol", ALICE)
    await press(tg, last_edit(tg), "Confirm", ALICE)
    saved = last_edit(tg)
    assert "Saved as <b>#2</b>" in saved.text and "Carol 41.25 · Dave 41.25" in saved.text

    # Split by items: the payer opens it; everyone taps what they had.
    assert (await press(tg, saved, "Split by items", BEN)).params["show_alert"]
    split_by_items = button(saved, "Split by items")
    await press(tg, saved, "Split by items", ALICE)
    for who, item in ((ALICE, "Beef"), (BEN, "Beef"), (CAROL, "Tofu"), (DAVE, "Beer")):
        await press(tg, last_edit(tg), item, who)
    await press(tg, last_edit(tg), "Beer", CAROL)  # a wrong tap, and undone
    assert "• Beer — 40.00: Carol, Dave" in last_edit(tg).text
    await press(tg, last_edit(tg), "Beer", CAROL)
    claiming = last_edit(tg)
    assert "• Beef — 60.00: Alice, Ben" in claiming.text
    assert "• Noodles — 30.00: everyone" in claiming.text
    assert "Tax, service, tips, discounts: 15.00 CNY" in claiming.text
    assert "Alice 41.25 · Ben 41.25 · Carol 30.25 · Dave 52.25" in claiming.text
    item = button(claiming, "Tofu")
    assert (await replayed(tg, item, CAROL)).params["show_alert"]  # another chat: nothing
    assert (await press(tg, claiming, "Close claiming", BEN)).params["show_alert"]
    await press(tg, claiming, "Close claiming", ALICE)
    closed = last_edit(tg)
    assert "Claiming closed for #2" in closed.text and "By items" in closed.text
    late = await press(tg, claiming, "Tofu", CAROL)
    assert late.params["show_alert"] and "closed" in late.params["text"]
    assert (await replayed(tg, split_by_items, ALICE)).params["show_alert"]

    # A taxi for everyone, its total corrected afterwards by the payer.
    taxi = await say(tg, "/spent 80 taxi", BEN)
    await press(tg, taxi, "Confirm", BEN)
    forbidden = await say(tg, "/receipts edit 3 total 88", CAROL)
    assert "Only Ben (who paid) or an admin can change #3" in forbidden.text
    ask = await say(tg, "/receipts edit 3 total 88", BEN)
    assert "total <b>80.00 CNY</b> → <b>88.00 CNY</b>" in ask.text
    assert (await press(tg, ask, "Apply", CAROL)).params["show_alert"]
    await press(tg, ask, "Apply", BEN)
    assert "Changed #3" in last_edit(tg).text and "88.00 CNY" in last_edit(tg).text
    again = await press(tg, ask, "Apply", BEN)  # applied once
    assert again.params["show_alert"]
    shown = await say(tg, "/receipts show 3", CAROL)
    assert "Ben: total 80.00 → 88.00" in shown.text
    assert "Alice 22.00 · Ben 22.00 · Carol 22.00 · Dave 22.00" in shown.text

    # Dave pays Alice back 30: only Alice confirms.
    paid = await say(tg, "/receipts paid @alice 30", DAVE)
    assert "Dave paid Alice <b>30.00 CNY</b>" in paid.text
    received = button(paid, "Received")
    for someone in (DAVE, BEN):
        alert = await press(tg, paid, "Received", someone)
        assert alert.params["show_alert"] and "Only Alice" in alert.params["text"]
    assert (await replayed(tg, received, ALICE)).params["show_alert"]
    await press(tg, paid, "Received", ALICE)
    assert "Saved as <b>#4</b>: Alice confirmed" in last_edit(tg).text

    # Balances over all time, payments back included; the fewest transfers settle them.
    balance = (await say(tg, "/receipts balance", CAROL)).text.splitlines()
    assert balance[balance.index("<b>CNY</b>") + 1 :][:4] == [
        "• Alice: <b>+71.75 CNY</b> (is owed)",
        "• Ben: <b>+24.75 CNY</b> (is owed)",
        "• Carol: <b>−34.25 CNY</b> (owes)",
        "• Dave: <b>−62.25 CNY</b> (owes)",
    ]
    split = (await say(tg, "/receipts split", DAVE)).text.splitlines()
    assert [line for line in split if "→" in line] == [
        "• Dave → Alice: <b>62.25 CNY</b>",
        "• Carol → Ben: <b>24.75 CNY</b>",
        "• Carol → Alice: <b>9.50 CNY</b>",
    ]

    # This month shows the correction and the payment back; the exports carry the shares.
    today = dt.date.today().isoformat()
    month = await say(tg, "/receipts", BEN)
    assert f"#3 · {today} · taxi · 88.00 CNY · Ben · 👥4 · ✏️" in month.text
    assert f"#4 · {today} · Dave → Alice · 30.00 CNY" in month.text
    october = await say(tg, "/receipts month 2026-10", BEN)
    assert "#2 · 2026-10-05 · Corner Shop · 165.00 CNY · Alice · 👥4" in october.text
    tg.send_text("/receipts export", BEN, chat_id=GROUP)
    [doc] = await tg.wait_for(lambda f: f.calls_of("sendDocument", GROUP))
    assert doc.document is not None
    rows = list(csv.DictReader(io.StringIO(doc.document[1].decode("utf-8-sig"))))
    assert [(r["number"], r["kind"]) for r in rows] == [
        ("1", "manual"),
        ("2", "receipt"),
        ("3", "manual"),
        ("4", "transfer"),
    ]
    assert rows[1]["shares"] == "Alice: 41.25; Ben: 41.25; Carol: 30.25; Dave: 52.25"
    assert rows[3]["poster_name"] == "Dave" and rows[3]["participants"] == "Alice"
    tg.send_text("/receipts export xlsx", BEN, chat_id=GROUP)
    [_, workbook] = await tg.wait_for(
        lambda f: f.calls_of("sendDocument", GROUP)[1:] and f.calls_of("sendDocument", GROUP)
    )
    assert workbook.document is not None and workbook.document[0].endswith(".xlsx")
    sheets = load_workbook(io.BytesIO(workbook.document[1])).sheetnames
    assert sheets == sorted({"2026-10", today[:7]})  # a sheet per month


@pytest.mark.usefixtures("busy_groups")
async def test_shares_rates_time_zones_and_the_groups_own_account(
    tg: FakeTelegram, receipts: Receipts, start_bot: Any
) -> None:
    await start_bot()
    tg.set_admin(GROUP, ALICE["id"])
    for person in (ALICE, BEN):
        await say(tg, "/receipts join", person)

    # Settings are for admins; bad values get a usage line.
    assert "IANA" in (await say(tg, "/receipts tz Mars/Olympus", ALICE)).text
    assert "Only group admins" in (await say(tg, "/receipts tz Asia/Shanghai", BEN)).text
    assert "<b>Asia/Shanghai</b>" in (await say(tg, "/receipts tz Asia/Shanghai", ALICE)).text
    assert "currency first" in (await say(tg, "/receipts rate USD 7.10", ALICE)).text
    await say(tg, "/receipts currency cny", ALICE)
    assert "Usage" in (await say(tg, "/receipts rate USD seven", ALICE)).text
    assert "1 USD = 7.10 CNY" in (await say(tg, "/receipts rate usd 7.10", ALICE)).text
    assert "1 USD = 7.10 CNY" in (await say(tg, "/receipts rate", BEN)).text

    # Ben pays 20 USD for both; Alice 71 CNY for both. With the rate, one currency settles.
    card = await post(tg, receipts.photo(301, receipt("20.00", "USD", "Diner")), BEN)
    await press(tg, card, "Confirm", BEN)
    dinner = await say(tg, "/spent 71 CNY dinner", ALICE)
    await press(tg, dinner, "Confirm", ALICE)
    split = await say(tg, "/receipts split", BEN)
    assert "• Alice → Ben: <b>35.50 CNY</b>" in split.text and "USD</b>" not in split.text
    assert "Converted at the ledger's rates: 1 USD = 7.10 CNY" in split.text
    balance = await say(tg, "/receipts balance", BEN)
    assert "• Ben: <b>+10.00 USD</b> (is owed)" in balance.text  # balances stay per currency

    # Weights and exact amounts, each applied by the payer's button.
    weights = await say(tg, "/receipts share 1 @alice 1 me 3", BEN)
    assert "By weight (USD): Alice 5.00 · Ben 15.00" in weights.text
    await press(tg, weights, "Apply", BEN)
    mismatch = await say(tg, "/receipts share 2 exact @benny 30 @alice 40", ALICE)
    assert "add up to 70.00 CNY, but the total is 71.00 CNY" in mismatch.text
    exact = await say(tg, "/receipts share 2 exact @benny 30 me 41", ALICE)
    assert "Exact amounts (CNY): Alice 41.00 · Ben 30.00" in exact.text
    refused = await press(tg, exact, "Apply", BEN)
    assert refused.params["show_alert"] and "Only Alice" in refused.params["text"]
    await press(tg, exact, "Apply", ALICE)
    shown = await say(tg, "/receipts show 2", BEN)
    assert "Alice: shares set to Ben 30, Alice 41" in shown.text
    split = await say(tg, "/receipts split", BEN)
    # USD: Ben is owed Alice's 5 (35.50 CNY); CNY: Ben owes Alice 30. Alice owes 5.50 CNY.
    assert "• Alice → Ben: <b>5.50 CNY</b>" in split.text

    # The group's own account (its anonymous admins) receives a payment; an admin confirms.
    before = len(tg.sent(GROUP))
    note = tg.send_text("we paid the deposit", ALICE, chat_id=GROUP, as_chat=True)
    paid = await say(tg, "/receipts paid 12.50", BEN, reply_to=note["message_id"])
    assert "Ben paid Test group <b>12.50 CNY</b>" in paid.text
    assert len(tg.sent(GROUP)) == before + 1  # the group's message itself got no answer
    assert (await press(tg, paid, "Received", BEN)).params["show_alert"]
    await press(tg, paid, "Received", ALICE)
    assert "Test group confirmed" in last_edit(tg).text
    balance = await say(tg, "/receipts balance", BEN)
    assert "• Test group: <b>−12.50 CNY</b> (owes)" in balance.text

    # Leaving: no longer shared by default; the balance stays.
    assert "left this ledger" in (await say(tg, "/receipts leave", BEN)).text
    assert "not a member" in (await say(tg, "/receipts leave", BEN)).text
    lunch = await say(tg, "/spent 9 lunch", ALICE)  # the group's account was named: a member
    assert [label for label, _ in lunch.buttons][2:] == ["✅ Alice", "✅ Test group"]
    assert "+" in (await say(tg, "/receipts balance", BEN)).text


async def test_a_personal_ledger_in_chinese(tg: FakeTelegram, start_bot: Any) -> None:
    await start_bot()
    li = user(1005, "zh-hans", first_name="李")
    assert "哪种货币" in (await say(tg, "/spent 30 午饭", li, None)).text  # nothing to go by yet
    card = await say(tg, "/spent 30 元 午饭", li, None)
    assert "30.00 CNY" in card.text and "午饭" in card.text
    assert [label for label, _ in card.buttons] == ["✅ 确认", "🗑 丢弃"]  # nobody to share with
    await press(tg, card, "确认", li)
    assert "#1" in last_edit(tg).text and not last_edit(tg).buttons
    assert "两清" in (await say(tg, "/receipts balance", li, None)).text
    assert "无法使用" in (await say(tg, "/receipts edit 1 currency XYZ", li, None)).text
    ask = await say(tg, "/receipts edit 1 merchant 食堂", li, None)
    assert "商家 <b>午饭</b> → <b>食堂</b>" in ask.text
    await press(tg, ask, "确认修改", li)
    assert "已修改 #1" in last_edit(tg).text and "食堂" in last_edit(tg).text
    shown = await say(tg, "/receipts show 1", li, None)
    assert "商家 午饭 → 食堂" in shown.text
    helptext = await say(tg, "/receipts help", li, None)
    assert "Telegram 不向机器人提供群成员列表" in helptext.text and "/spent" in helptext.text


async def test_a_card_sent_before_the_upgrade_still_confirms(
    tg: FakeTelegram, receipts: Receipts, start_bot: Any
) -> None:
    """Cards sent before buttons carried tokens carry the receipt's id; they still work in
    their own chat, for the payer."""
    bot = await start_bot()
    card = await post(tg, receipts.photo(401, receipt("12.00")), ALICE)
    ledger = services_of(bot).ledger
    assert await ledger.entries(GROUP) == []  # pending
    old = f"rc:{await ledger.last_id(GROUP)}:ok"
    assert (await replayed(tg, old, ALICE)).params["show_alert"]  # another chat: nothing
    before = len(tg.calls_of("answerCallbackQuery"))
    tg.press(tg.message_of(card), old, BEN)
    [refused] = await tg.wait_for(lambda f: f.calls_of("answerCallbackQuery")[before:])
    assert refused.params["show_alert"]
    tg.press(tg.message_of(card), old, ALICE)
    await tg.wait_for(lambda f: f.calls_of("editMessageText"))
    assert "Saved as <b>#1</b>" in last_edit(tg).text
    assert [e.total for e in await ledger.entries(GROUP)] == [Decimal("12.00")]
