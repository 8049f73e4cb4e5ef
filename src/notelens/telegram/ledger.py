"""Each chat's receipt ledger: kept by the store (`notelens.store.receipts`)."""

from __future__ import annotations

from ..store.receipts import (
    CONFIRMED,
    PENDING,
    SIMILAR_BITS,
    Duplicate,
    Entry,
    Ledger,
    message_link,
    month_of,
)

__all__ = [
    "CONFIRMED",
    "PENDING",
    "SIMILAR_BITS",
    "Duplicate",
    "Entry",
    "Ledger",
    "message_link",
    "month_of",
]
