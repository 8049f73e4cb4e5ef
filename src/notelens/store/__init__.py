"""The application's own data: users, categories, jobs buttons refer to, receipts.

SQLAlchemy (async) over SQLite or PostgreSQL, one schema (`schema.py`), upgraded by Alembic
(`migrate.py`, revisions in `migrations/versions/`).
"""

from .store import Store, UserPrefs

__all__ = ["Store", "UserPrefs"]
