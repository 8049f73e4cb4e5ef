"""Receipts: merchant, date, currency, total and items, as validated data.

Amounts are `Decimal` from the first byte to the database: the JSON is parsed
with `parse_float=Decimal` and the prompt asks for amounts as strings. Output
that does not fit the schema gets one retry with the validation error quoted
back to the model, then a clear error.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, Field, ValidationError, field_validator

from .. import prompts
from ..context import Context, ImageInput, image_message
from ..errors import ModelOutputError
from ..results import TaskResult, Usage

CURRENCY_ALIASES = {"RMB": "CNY", "元": "CNY", "人民币": "CNY", "￥": "CNY", "US$": "USD"}
RECEIPT_MAX_TOKENS = 2048


class LineItem(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    quantity: Decimal | None = None
    amount: Decimal | None = None


class Receipt(BaseModel):
    merchant: str | None = Field(default=None, max_length=200)
    date: dt.date | None = None
    currency: str
    total: Decimal = Field(ge=0, le=Decimal("1e12"))
    items: list[LineItem] = Field(default_factory=list, max_length=300)

    @field_validator("currency", mode="before")
    @classmethod
    def _iso_code(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.strip()
            value = CURRENCY_ALIASES.get(value, CURRENCY_ALIASES.get(value.upper(), value.upper()))
            if not re.fullmatch(r"[A-Z]{3}", value):
                raise ValueError("currency must be a three-letter ISO 4217 code")
        return value

    @field_validator("total", mode="before")
    @classmethod
    def _plain_number(cls, value: Any) -> Any:
        if isinstance(value, str):
            return value.replace(",", "").strip()
        return value

    @property
    def items_total(self) -> Decimal | None:
        amounts = [i.amount for i in self.items if i.amount is not None]
        return sum(amounts, Decimal(0)) if amounts else None


@dataclass
class ReceiptResult(TaskResult):
    """`receipt` is None when the photo is not a receipt."""

    receipt: Receipt | None = None


def parse_receipt(text: str) -> Receipt | None:
    """The receipt in a model answer, None for "not a receipt"; raises on bad output."""
    m = re.search(r"\{.*\}", text, re.S)
    if not m:
        raise ValueError("no JSON object in the answer")
    data = json.loads(m.group(0), parse_float=Decimal)
    if not isinstance(data, dict):
        raise ValueError("the JSON is not an object")
    if data.get("is_receipt") is False:
        return None
    data.pop("is_receipt", None)
    return Receipt.model_validate(data)


async def receipt(ctx: Context, image: ImageInput, *, language: str = "zh") -> ReceiptResult:
    client = ctx.require_vlm("Reading receipts")
    prepared = await ctx.prepare(image, "ocr")
    prompt = prompts.render(ctx.settings.prompts_dir, "receipt", language)
    messages = image_message(prepared, prompt)
    usage = Usage()
    warnings: list[str] = []
    for attempt in (1, 2):
        done = await client.complete(
            messages,
            max_tokens=RECEIPT_MAX_TOKENS,
            estimated_image_tokens=prepared.tokens,
            extra_body=client.provider_fields(high_resolution=ctx.high_resolution()),
        )
        usage = usage + done.usage
        try:
            parsed = parse_receipt(done.text)
        except (ValueError, ValidationError) as exc:
            error = _short(exc)
            if attempt == 2:
                raise ModelOutputError(
                    f"The model's reading of this receipt was not valid twice ({error}).",
                    code="receipt_invalid",
                ) from exc
            warnings.append(f"first answer was not valid ({error}); retried")
            fix = prompts.render(ctx.settings.prompts_dir, "receipt_fix", language, error=error)
            messages = [
                *messages,
                {"role": "assistant", "content": done.text[:4000]},
                {"role": "user", "content": fix},
            ]
            continue
        items_total = parsed.items_total if parsed is not None else None
        if parsed is not None and items_total is not None and items_total != parsed.total:
            warnings.append(f"the items add up to {items_total}, the total is {parsed.total}")
        text = "" if parsed is None else f"{parsed.total} {parsed.currency}"
        return ReceiptResult(text, done.text, usage, warnings, receipt=parsed)
    raise AssertionError("unreachable")


def _short(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "answer"
        return f"{where}: {first['msg']}"
    return str(exc)[:200]
