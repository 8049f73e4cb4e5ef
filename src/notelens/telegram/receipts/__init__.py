"""The receipt ledger of a chat: photos read as receipts, confirmed by the payer, summed
per month, split and exported."""

from __future__ import annotations

from . import flow as flow  # registers how the receipt task answers
from .handlers import register

__all__ = ["register"]
