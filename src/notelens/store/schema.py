"""The tables of the application's own data, as SQLAlchemy Core: one schema for SQLite and
PostgreSQL. Alembic compares against `metadata`; each change here needs a revision in
`migrations/versions/`.

Telegram ids need 64 bits on PostgreSQL (`BIGINT`); on SQLite an `INTEGER PRIMARY KEY` is
the row id, so ids are `INTEGER` there. Times are Unix seconds (double precision).
Amounts are exact decimal strings, never floats.
"""

from __future__ import annotations

import sqlalchemy as sa

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Time = sa.Float(precision=53).with_variant(sa.REAL(), "sqlite")
# Opaque job ids: random tokens (old integer ids, converted to text, still resolve).
JOB_ID_LENGTH = 32

metadata = sa.MetaData()

users = sa.Table(
    "users",
    metadata,
    sa.Column("user_id", Id, primary_key=True, autoincrement=False),
    sa.Column("lang", sa.Text),
    sa.Column("mode", sa.Text, nullable=False, server_default="notes"),
    sa.Column("categories", sa.Text),  # JSON list; NULL: the configured defaults
    sa.Column("updated_at", Time, nullable=False),
)

# What an inline button or a Retry runs again.
jobs = sa.Table(
    "jobs",
    metadata,
    sa.Column("job_id", sa.String(JOB_ID_LENGTH), primary_key=True),
    sa.Column("user_id", Id, nullable=False),
    sa.Column("chat_id", Id, nullable=False),
    sa.Column("task", sa.Text, nullable=False),
    sa.Column("media", sa.Text, nullable=False),  # JSON list of MediaRef
    sa.Column("question", sa.Text),
    sa.Column("categories", sa.Text),
    sa.Column("created_at", Time, nullable=False),
    sa.Column("meta", sa.Text),  # JSON
    # Whose photo it is when someone else ran the job on it (receipts): /forgetme finds it.
    sa.Column("poster_id", Id),
    sa.Index("jobs_created", "created_at"),
    sa.Index("jobs_poster", "poster_id"),
)

# The bot's own messages → the job they answered (so replies to them find the photo).
bot_messages = sa.Table(
    "bot_messages",
    metadata,
    sa.Column("chat_id", Id, primary_key=True, autoincrement=False),
    sa.Column("message_id", Id, primary_key=True, autoincrement=False),
    sa.Column("job_id", sa.String(JOB_ID_LENGTH), nullable=False),
    sa.Index("bot_messages_job", "job_id"),
)

chats = sa.Table(
    "chats",
    metadata,
    sa.Column("chat_id", Id, primary_key=True, autoincrement=False),
    sa.Column("receipts_auto", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_seq", sa.Integer, nullable=False, server_default="1"),
    sa.Column("updated_at", Time, nullable=False),
    sa.Column("currency", sa.Text),  # the ledger's default currency (settling up, /spent)
    sa.Column("timezone", sa.Text),  # an IANA name deciding months; NULL: the server's
)

# Each chat's receipt ledger. `seq` (the number people type in `/receipts delete N`) is
# given on confirmation from chats.next_seq, never reused; AUTOINCREMENT keeps receipt ids
# from being reused on SQLite too (a clear deletes "up to" an id).
receipts = sa.Table(
    "receipts",
    metadata,
    sa.Column("receipt_id", Id, primary_key=True, autoincrement=True),
    sa.Column("chat_id", Id, nullable=False),
    sa.Column("seq", sa.Integer),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("poster_id", Id, nullable=False),
    sa.Column("poster_name", sa.Text, nullable=False),
    sa.Column("requester_id", Id, nullable=False),
    sa.Column("message_id", Id),
    sa.Column("link", sa.Text),
    sa.Column("posted_at", Time, nullable=False),
    sa.Column("receipt_date", sa.Text),
    sa.Column("month", sa.Text, nullable=False),
    sa.Column("merchant", sa.Text),
    sa.Column("currency", sa.Text, nullable=False),
    sa.Column("total", sa.Text, nullable=False),
    sa.Column("items", sa.Text, nullable=False),  # JSON
    sa.Column("file_unique_id", sa.Text),
    sa.Column("phash", sa.Text),
    sa.Column("forced", sa.Integer, nullable=False, server_default="0"),
    sa.Column("bot_message_id", Id),
    sa.Column("created_at", Time, nullable=False),
    sa.Column("confirmed_at", Time),
    # receipt (a photo) | manual (/spent) | transfer (a payment back from poster to payee)
    sa.Column("kind", sa.Text, nullable=False, server_default="receipt"),
    # What buttons carry instead of the id: random, so a button cannot be made up.
    sa.Column("token", sa.Text),
    sa.Column("split_mode", sa.Text, nullable=False, server_default="equal"),
    sa.Column("claiming", sa.Integer, nullable=False, server_default="0"),
    sa.Column("payee_id", Id),
    sa.UniqueConstraint("chat_id", "seq"),
    sa.Index("receipts_chat_month", "chat_id", "status", "month"),
    sa.Index("receipts_poster", "poster_id"),
    sa.Index("receipts_requester", "requester_id"),
    sa.Index("receipts_token", "token", unique=True),
    sa.Index("receipts_payee", "payee_id"),
    sqlite_autoincrement=True,
)

# A ledger's members: who posted, was named, or joined (`active`); also people seen using
# the ledger (not active), so that an @username can be matched to an id.
ledger_members = sa.Table(
    "ledger_members",
    metadata,
    sa.Column("chat_id", Id, primary_key=True, autoincrement=False),
    sa.Column("member_id", Id, primary_key=True, autoincrement=False),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("username", sa.Text),  # lower case, without @
    sa.Column("active", sa.Integer, nullable=False, server_default="0"),
    sa.Column("updated_at", Time, nullable=False),
    sa.Index("ledger_members_username", "chat_id", "username"),
    sa.Index("ledger_members_member", "member_id"),
)

# Who shares an entry: by weight, or by an exact amount (split_mode "exact").
receipt_shares = sa.Table(
    "receipt_shares",
    metadata,
    sa.Column("receipt_id", Id, primary_key=True, autoincrement=False),
    sa.Column("member_id", Id, primary_key=True, autoincrement=False),
    sa.Column("weight", sa.Text, nullable=False, server_default="1"),
    sa.Column("amount", sa.Text),
    sa.Index("receipt_shares_member", "member_id"),
)

# Items people said they had (split_mode "items"): one row per person and item.
receipt_claims = sa.Table(
    "receipt_claims",
    metadata,
    sa.Column("receipt_id", Id, primary_key=True, autoincrement=False),
    sa.Column("item_index", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("member_id", Id, primary_key=True, autoincrement=False),
    sa.Index("receipt_claims_member", "member_id"),
)

# Every change to a confirmed entry, as a line of its history.
receipt_history = sa.Table(
    "receipt_history",
    metadata,
    sa.Column("history_id", Id, primary_key=True, autoincrement=True),
    sa.Column("receipt_id", Id, nullable=False),
    sa.Column("at", Time, nullable=False),
    sa.Column("actor_id", Id),
    sa.Column("actor_name", sa.Text),
    sa.Column("field", sa.Text, nullable=False),
    sa.Column("old", sa.Text),
    sa.Column("new", sa.Text),
    sa.Index("receipt_history_receipt", "receipt_id"),
    sa.Index("receipt_history_actor", "actor_id"),
)

# Exchange rates a chat set: 1 `currency` = `rate` of the chat's default currency.
ledger_rates = sa.Table(
    "ledger_rates",
    metadata,
    sa.Column("chat_id", Id, primary_key=True, autoincrement=False),
    sa.Column("currency", sa.Text, primary_key=True),
    sa.Column("rate", sa.Text, nullable=False),
    sa.Column("updated_at", Time, nullable=False),
)

# A change someone asked for (an edit, new shares), waiting for its button.
ledger_changes = sa.Table(
    "ledger_changes",
    metadata,
    sa.Column("token", sa.Text, primary_key=True),
    sa.Column("chat_id", Id, nullable=False),
    sa.Column("receipt_id", Id, nullable=False),
    sa.Column("requester_id", Id, nullable=False),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("payload", sa.Text, nullable=False),  # JSON
    sa.Column("created_at", Time, nullable=False),
    sa.Index("ledger_changes_receipt", "receipt_id"),
    sa.Index("ledger_changes_created", "created_at"),
)

# Per-person rate limits shared by every process: the times of the last `limit` hits of
# each kind ("jobs", "hints") and key (a person, or a group), a JSON list.
rate_hits = sa.Table(
    "rate_hits",
    metadata,
    sa.Column("kind", sa.String(16), primary_key=True),
    sa.Column("key", Id, primary_key=True, autoincrement=False),
    sa.Column("hits", sa.Text, nullable=False),
    sa.Column("updated_at", Time, nullable=False),
    sa.Index("rate_hits_updated", "updated_at"),
)

# Pauses every process honours: Telegram's flood wait (a 429's retry_after), by scope.
shared_pauses = sa.Table(
    "shared_pauses",
    metadata,
    sa.Column("scope", sa.String(32), primary_key=True),
    sa.Column("until", Time, nullable=False),
)

# The archive's and the HTTP API's tables join this metadata (Alembic compares them too).
from . import api_schema as _api_schema  # noqa: E402, F401
from . import archive_schema as _archive_schema  # noqa: E402, F401
