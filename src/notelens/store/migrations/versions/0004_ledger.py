"""Shared expenses: a ledger's members, who shares each entry (weights, exact amounts,
claimed items), payments back, corrections with their history, a default currency, rates
and a time zone per chat, and random tokens for the buttons.

Existing receipts keep what they meant: each confirmed one is shared equally by the people
who posted receipts in its chat, month and currency (how NoteLens split them until now),
and those people become the ledger's members.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-10
"""

from __future__ import annotations

import secrets
from collections import defaultdict

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Time = sa.Float(precision=53).with_variant(sa.REAL(), "sqlite")


def upgrade() -> None:
    op.add_column("chats", sa.Column("currency", sa.Text))
    op.add_column("chats", sa.Column("timezone", sa.Text))
    op.add_column("receipts", sa.Column("kind", sa.Text, nullable=False, server_default="receipt"))
    op.add_column("receipts", sa.Column("token", sa.Text))
    op.add_column(
        "receipts", sa.Column("split_mode", sa.Text, nullable=False, server_default="equal")
    )
    op.add_column("receipts", sa.Column("claiming", sa.Integer, nullable=False, server_default="0"))
    op.add_column("receipts", sa.Column("payee_id", Id))
    op.create_index("receipts_token", "receipts", ["token"], unique=True)
    op.create_index("receipts_payee", "receipts", ["payee_id"])
    op.create_table(
        "ledger_members",
        sa.Column("chat_id", Id, primary_key=True, autoincrement=False),
        sa.Column("member_id", Id, primary_key=True, autoincrement=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("username", sa.Text),
        sa.Column("active", sa.Integer, nullable=False, server_default="0"),
        sa.Column("updated_at", Time, nullable=False),
    )
    op.create_index("ledger_members_username", "ledger_members", ["chat_id", "username"])
    op.create_index("ledger_members_member", "ledger_members", ["member_id"])
    op.create_table(
        "receipt_shares",
        sa.Column("receipt_id", Id, primary_key=True, autoincrement=False),
        sa.Column("member_id", Id, primary_key=True, autoincrement=False),
        sa.Column("weight", sa.Text, nullable=False, server_default="1"),
        sa.Column("amount", sa.Text),
    )
    op.create_index("receipt_shares_member", "receipt_shares", ["member_id"])
    op.create_table(
        "receipt_claims",
        sa.Column("receipt_id", Id, primary_key=True, autoincrement=False),
        sa.Column("item_index", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("member_id", Id, primary_key=True, autoincrement=False),
    )
    op.create_index("receipt_claims_member", "receipt_claims", ["member_id"])
    op.create_table(
        "receipt_history",
        sa.Column("history_id", Id, primary_key=True, autoincrement=True),
        sa.Column("receipt_id", Id, nullable=False),
        sa.Column("at", Time, nullable=False),
        sa.Column("actor_id", Id),
        sa.Column("actor_name", sa.Text),
        sa.Column("field", sa.Text, nullable=False),
        sa.Column("old", sa.Text),
        sa.Column("new", sa.Text),
    )
    op.create_index("receipt_history_receipt", "receipt_history", ["receipt_id"])
    op.create_index("receipt_history_actor", "receipt_history", ["actor_id"])
    op.create_table(
        "ledger_rates",
        sa.Column("chat_id", Id, primary_key=True, autoincrement=False),
        sa.Column("currency", sa.Text, primary_key=True),
        sa.Column("rate", sa.Text, nullable=False),
        sa.Column("updated_at", Time, nullable=False),
    )
    op.create_table(
        "ledger_changes",
        sa.Column("token", sa.Text, primary_key=True),
        sa.Column("chat_id", Id, nullable=False),
        sa.Column("receipt_id", Id, nullable=False),
        sa.Column("requester_id", Id, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("created_at", Time, nullable=False),
    )
    op.create_index("ledger_changes_receipt", "ledger_changes", ["receipt_id"])
    op.create_index("ledger_changes_created", "ledger_changes", ["created_at"])
    _keep_what_receipts_meant(op.get_bind())


def _keep_what_receipts_meant(conn: sa.Connection) -> None:
    rows = conn.execute(
        sa.text(
            "SELECT receipt_id, chat_id, status, poster_id, poster_name, month, currency,"
            " posted_at FROM receipts ORDER BY posted_at, receipt_id"
        )
    ).all()
    posters: dict[tuple[int, str, str], set[int]] = defaultdict(set)
    names: dict[tuple[int, int], str] = {}
    for r in rows:
        if r.status == "confirmed":
            posters[(r.chat_id, r.month, r.currency)].add(r.poster_id)
            names[(r.chat_id, r.poster_id)] = r.poster_name  # the latest name wins
    for (chat_id, member_id), name in names.items():
        conn.execute(
            sa.text(
                "INSERT INTO ledger_members (chat_id, member_id, name, active, updated_at)"
                " VALUES (:c, :m, :n, 1, 0)"
            ),
            {"c": chat_id, "m": member_id, "n": name},
        )
    members: dict[int, set[int]] = defaultdict(set)
    for chat_id, member_id in names:
        members[chat_id].add(member_id)
    for r in rows:
        token = secrets.token_urlsafe(9)
        conn.execute(
            sa.text("UPDATE receipts SET token = :t WHERE receipt_id = :r"),
            {"t": token, "r": r.receipt_id},
        )
        if r.status == "confirmed":
            sharing = posters[(r.chat_id, r.month, r.currency)]
        else:
            sharing = members[r.chat_id] | {r.poster_id}
        for member_id in sorted(sharing):
            conn.execute(
                sa.text(
                    "INSERT INTO receipt_shares (receipt_id, member_id, weight)"
                    " VALUES (:r, :m, '1')"
                ),
                {"r": r.receipt_id, "m": member_id},
            )


def downgrade() -> None:
    for table in (
        "ledger_changes",
        "ledger_rates",
        "receipt_history",
        "receipt_claims",
        "receipt_shares",
        "ledger_members",
    ):
        op.drop_table(table)
    op.drop_index("receipts_payee", "receipts")
    op.drop_index("receipts_token", "receipts")
    autoincrement = {"sqlite_autoincrement": True}
    with op.batch_alter_table("receipts", table_kwargs=autoincrement) as batch:
        for column in ("payee_id", "claiming", "split_mode", "token", "kind"):
            batch.drop_column(column)
    with op.batch_alter_table("chats") as batch:
        batch.drop_column("timezone")
        batch.drop_column("currency")
