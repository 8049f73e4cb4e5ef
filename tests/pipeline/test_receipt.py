from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

import pytest
from PIL import Image

from notelens.pipeline.errors import ModelOutputError
from notelens.pipeline.service import Pipeline
from notelens.pipeline.tasks.receipt import parse_receipt
from testsupport.fakes import openai_server as fake


def photo() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (600, 900), (250, 250, 245)).save(buf, format="JPEG")
    return buf.getvalue()


def test_amounts_are_exact_decimals() -> None:
    r = parse_receipt(
        '{"merchant": "M", "currency": "rmb", "total": 0.1, "items": '
        '[{"name": "a", "amount": "0.1"}]}'
    )
    assert r is not None
    assert r.total == Decimal("0.1") and isinstance(r.total, Decimal)
    assert r.currency == "CNY"
    assert r.items[0].amount == Decimal("0.1")


def test_prose_and_fences_around_the_json_are_ignored() -> None:
    r = parse_receipt(
        'Here it is:\n```json\n{"currency": "EUR", "total": "1,234.50", "date": "2026-01-31"}\n```'
    )
    assert r is not None and r.total == Decimal("1234.50") and r.date == date(2026, 1, 31)


def test_not_a_receipt() -> None:
    assert parse_receipt('{"is_receipt": false}') is None


@pytest.mark.parametrize(
    "bad",
    [
        "no json here",
        '{"currency": "dollars", "total": "5"}',
        '{"currency": "USD", "total": "-5"}',
        '{"currency": "USD"}',
        "[1, 2]",
    ],
)
def test_invalid_output_raises(bad: str) -> None:
    with pytest.raises(ValueError):
        parse_receipt(bad)


async def test_receipt_end_to_end(fake_model, settings_for) -> None:
    async with Pipeline(settings_for(fake_model)) as pipeline:
        result = await pipeline.receipt(photo())
    assert result.receipt is not None
    assert result.receipt.total == Decimal("23.50") and result.receipt.currency == "CNY"
    assert result.receipt.merchant == "全家 FamilyMart"
    assert not result.warnings  # the items add up to the total


async def test_invalid_output_gets_one_retry_with_the_error(fake_model, settings_for) -> None:
    fake_model.reply(
        fake.text('{"currency": "USD", "total": "twelve"}'),
        fake.text(
            '{"currency": "USD", "total": "12.00", "items": [{"name": "x", "amount": "10"}]}'
        ),
    )
    async with Pipeline(settings_for(fake_model, default_language="en")) as pipeline:
        result = await pipeline.receipt(photo())
    assert result.receipt is not None and result.receipt.total == Decimal("12.00")
    retry = fake_model.requests[1]
    assert retry.messages[-2]["role"] == "assistant"
    assert "total" in retry.messages[-1]["content"]
    assert any("retried" in w for w in result.warnings)
    assert any("add up to 10" in w for w in result.warnings)


async def test_invalid_twice_is_a_clear_error(fake_model, settings_for) -> None:
    fake_model.reply(fake.text("I think it costs a lot"), fake.text("still no JSON"))
    async with Pipeline(settings_for(fake_model)) as pipeline:
        with pytest.raises(ModelOutputError) as info:
            await pipeline.receipt(photo())
    assert info.value.code == "receipt_invalid"


async def test_a_photo_that_is_not_a_receipt(fake_model, settings_for) -> None:
    fake_model.reply(fake.text('{"is_receipt": false}'))
    async with Pipeline(settings_for(fake_model)) as pipeline:
        result = await pipeline.receipt(photo())
    assert result.receipt is None
