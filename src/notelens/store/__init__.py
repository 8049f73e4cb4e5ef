"""The application's own data: users, categories, jobs buttons refer to, receipts."""

from .sqlite import Store, UserPrefs

__all__ = ["Store", "UserPrefs"]
