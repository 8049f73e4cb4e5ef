"""The shared-expenses ledger of a chat: receipts read from photos (or `/spent` without one),
confirmed by the payer, shared by the members who were there (equally, by weight, by exact
amounts, or by the items each had), paid back, balanced and settled, corrected with a
history, and exported."""

from __future__ import annotations

from . import flow as flow  # registers how the receipt task answers
from .handlers import register

__all__ = ["register"]
