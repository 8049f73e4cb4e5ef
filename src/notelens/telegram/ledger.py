"""Each chat's receipt ledger: kept by the store (`notelens.store.receipts`)."""

from __future__ import annotations

from ..store.ledger_chats import local_day, month_of
from ..store.receipts import (
    CONFIRMED,
    MANUAL,
    PENDING,
    RECEIPT,
    SIMILAR_BITS,
    TRANSFER,
    Duplicate,
    Entry,
    Ledger,
    message_link,
)

__all__ = [
    "CONFIRMED",
    "MANUAL",
    "PENDING",
    "RECEIPT",
    "SIMILAR_BITS",
    "TRANSFER",
    "Duplicate",
    "Entry",
    "Ledger",
    "local_day",
    "message_link",
    "month_of",
]
