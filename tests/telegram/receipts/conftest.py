"""Receipt ledger fixtures: a fake model that reads registered photos as receipts, and
helpers that post, press and read in the chat."""

from __future__ import annotations

import io
import json
from typing import Any

import numpy as np
import pytest
from PIL import Image

from notelens.pipeline.images import hash_distance, open_image, perceptual_hash
from notelens.store import Store
from notelens.telegram import app as telegram_app
from notelens.telegram.flood import SharedRateLimiter
from testsupport.fakes.openai_server import FakeOpenAI, Recorded, Reply, default_responder, text
from testsupport.fakes.telegram_server import GROUP_ID, Call, FakeTelegram, user

GROUP = GROUP_ID
OTHER_GROUP = -1009876543210
ALICE = user(1001, "en", first_name="Alice", last_name="Liddell")
BOB = user(1002, "en", first_name="Bob")
CAROL = user(1003, "en", first_name="Carol")
LI = user(1004, "zh-hans")


def receipt(
    total: str,
    currency: str = "CNY",
    merchant: str | None = "Corner Shop",
    date: str | None = "2026-10-05",
    items: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    return {
        "is_receipt": True,
        "merchant": merchant,
        "date": date,
        "currency": currency,
        "total": total,
        "items": items if items is not None else [{"name": "lunch", "amount": total}],
    }


def draw(seed: int, size: tuple[int, int] = (800, 600), quality: int = 85) -> bytes:
    """A photo unlike any other seed's (random low-frequency blocks: distinct pHashes)."""
    rng = np.random.default_rng(seed)
    blocks = rng.integers(0, 256, (6, 8, 3), dtype=np.uint8)
    img = Image.fromarray(blocks).resize(size, Image.Resampling.BICUBIC)
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=quality)
    return buf.getvalue()


def _phash(img: Image.Image) -> str:
    return perceptual_hash(img.convert("RGB"))


class Receipts:
    """What the fake model reads on each registered photo; other photos are not receipts."""

    def __init__(self, model: FakeOpenAI) -> None:
        self.known: list[tuple[str, dict[str, Any]]] = []
        model.responder = self.respond

    def photo(self, seed: int, answer: dict[str, Any] | None = None) -> bytes:
        data = draw(seed)
        if answer is not None:
            img = open_image(data, max_pixels=10**8)
            self.known.append((_phash(img), answer))
        return data

    def respond(self, req: Recorded) -> Reply:
        if "RECEIPT" not in req.texts or not req.image_urls:
            return default_responder(req)
        seen = _phash(req.images[0])
        for known, answer in self.known:
            if hash_distance(seen, known) <= 8:
                return text(json.dumps(answer, ensure_ascii=False))
        return text('{"is_receipt": false}')


@pytest.fixture
def receipts(fake_model: FakeOpenAI) -> Receipts:
    return Receipts(fake_model)


@pytest.fixture
def busy_groups(monkeypatch: pytest.MonkeyPatch) -> None:
    """Telegram lets a bot send about 20 messages a minute to one group, and the bot's rate
    limiter waits for that (a message every 3 s after the first 20); a test that plays a
    whole trip in a few seconds needs more."""

    def limiter(store: Store, **kw: Any) -> SharedRateLimiter:
        return SharedRateLimiter(store, group_max_rate=10_000, **kw)

    monkeypatch.setattr(telegram_app, "SharedRateLimiter", limiter)


# --- driving the chat ----------------------------------------------------------------------


async def post(
    tg: FakeTelegram,
    data: bytes,
    sender: dict[str, Any],
    caption: str | None = "/receipt",
    chat_id: int | None = GROUP,
    **kw: Any,
) -> Call:
    """Post a photo and return the bot's answer in that chat."""
    chat = chat_id if chat_id is not None else sender["id"]
    before = len(tg.sent(chat))
    tg.send_photo(data, sender, caption=caption, chat_id=chat_id, **kw)
    [answer] = await tg.wait_sent(chat, after=before, timeout=15)
    return answer


async def say(
    tg: FakeTelegram, text_: str, sender: dict[str, Any], chat_id: int | None = GROUP, **kw: Any
) -> Call:
    chat = chat_id if chat_id is not None else sender["id"]
    before = len(tg.sent(chat))
    tg.send_text(text_, sender, chat_id=chat_id, **kw)
    [answer] = await tg.wait_sent(chat, after=before, timeout=15)
    return answer


def button(call: Call, label: str) -> str:
    return next(data for text_, data in call.buttons if label in text_)


async def press(tg: FakeTelegram, call: Call, label: str, sender: dict[str, Any]) -> Call:
    """Press a button; return the answerCallbackQuery, after any edit it caused."""
    answers = len(tg.calls_of("answerCallbackQuery"))
    edits = len(tg.calls_of("editMessageText"))
    tg.press(tg.message_of(call), button(call, label), sender)
    [answer] = await tg.wait_for(lambda f: f.calls_of("answerCallbackQuery")[answers:])
    if not answer.params.get("show_alert"):
        await tg.wait_for(lambda f: len(f.calls_of("editMessageText")) > edits)
    return answer


def last_edit(tg: FakeTelegram) -> Call:
    return tg.calls_of("editMessageText")[-1]


async def add(
    tg: FakeTelegram, data: bytes, sender: dict[str, Any], chat_id: int | None = GROUP
) -> int:
    """Post a receipt and confirm it; return its ledger number."""
    summary = await post(tg, data, sender, chat_id=chat_id)
    await press(tg, summary, "Confirm", sender)
    edited = last_edit(tg).text
    assert "Saved as" in edited, edited
    return int(edited.split("#", 1)[1].split("<", 1)[0])


def services_of(bot: Any) -> Any:
    return bot.app.bot_data["services"]
