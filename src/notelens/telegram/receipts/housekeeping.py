"""Keeping a ledger: confirming or discarding a reading (`rc:`), `/receipts delete N`,
`/receipts clear` (admins, after a button `rl:`), `/receipts auto on|off` (admins), and
`/forgetme` (after a button `fm:` only its asker may press).
"""

from __future__ import annotations

import logging

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ChatType

from ...archive import telegram_owner
from ...i18n import N_
from .. import replies
from ..common import in_order_command, say
from ..context import CustomContext
from ..i18n import plain, t
from ..intent import Intent
from .buttons import Outcome, apply, may_manage, pressed
from .entries import numbered
from .flow import decide
from .views import amount, transfer_text

log = logging.getLogger(__name__)

CLEAR_PATTERN = r"^rl:(\d{1,18}):(yes|no)$"
FORGET_PATTERN = r"^fm:(-?\d{1,18}):(yes|no)$"


async def on_decide(update: Update, context: CustomContext) -> None:
    """`rc:<token>:ok|add|no`: the payer (or an admin) confirms or discards a reading."""
    press = await pressed(update, context)
    token, action = press.groups
    s = context.services
    outcome = await decide(s, context.bot, press.chat_id, press.user_id, token, action, press.lang)
    await apply(context, press, outcome)


async def delete(context: CustomContext, intent: Intent, lang: str, args: list[str]) -> None:
    """`/receipts delete N`: by its payer (for a payment back: either side) or an admin."""
    s, chat_id, key = context.services, intent.chat.id, intent.who.key
    entry = await numbered(
        context, intent, lang, args[0] if len(args) == 1 else None, N_("delete_usage")
    )
    if entry is None or entry.receipt_id is None:
        return
    may = await may_manage(s, context.bot, entry, key) or key == entry.payee_id
    if not may:
        text = t(lang, "delete_forbidden", name=entry.poster_name, n=entry.seq)
        await say(context, chat_id, text)
        return
    await s.ledger.delete(entry.receipt_id)
    if entry.is_transfer:
        names = await s.ledger.members.known(chat_id)
        payee = names[entry.payee_id].name if entry.payee_id in names else str(entry.payee_id)
        text = t(lang, "deleted_transfer", n=entry.seq, what=transfer_text(lang, entry, payee))
    else:
        merchant = entry.receipt.merchant or t(lang, "receipt_no_merchant")
        text = t(lang, "deleted", n=entry.seq, merchant=merchant, amount=amount(*entry.money))
    await say(context, chat_id, text)


async def ask_clear(context: CustomContext, intent: Intent, lang: str) -> None:
    s, chat, key = context.services, intent.chat, intent.who.key
    if not await s.admins.is_admin(context.bot, chat.id, key):
        await say(context, chat.id, t(lang, "admins_only"))
        return
    n = await s.ledger.count(chat.id)
    last = await s.ledger.last_id(chat.id)
    if not n or last is None:
        await say(context, chat.id, t(lang, "clear_empty"))
        return
    # The button clears what was asked about: receipts added after the question stay.
    markup = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(t(lang, "btn_clear_yes"), callback_data=f"rl:{last}:yes"),
                InlineKeyboardButton(t(lang, "btn_cancel"), callback_data=f"rl:{last}:no"),
            ]
        ]
    )
    await replies.send_html(context.bot, chat.id, t(lang, "clear_ask", n=n), reply_markup=markup)


async def auto(context: CustomContext, intent: Intent, lang: str, args: list[str]) -> None:
    s, chat, key = context.services, intent.chat, intent.who.key
    if chat.type == ChatType.PRIVATE:
        await say(context, chat.id, t(lang, "auto_private"))
        return
    choice = args[0].lower() if len(args) == 1 else ""
    if choice not in ("on", "off"):
        state = t(lang, "state_on") if s.ledger.auto(chat.id) else t(lang, "state_off")
        await say(context, chat.id, t(lang, "auto_usage", state=state))
        return
    if not await s.admins.is_admin(context.bot, chat.id, key):
        await say(context, chat.id, t(lang, "admins_only"))
        return
    await s.ledger.set_auto(chat.id, choice == "on")
    text = t(lang, "auto_on") if choice == "on" else t(lang, "auto_off")
    if choice == "on" and not context.bot.can_read_all_group_messages:
        text += "\n\n" + t(lang, "auto_privacy")
    await say(context, chat.id, text)


@in_order_command
async def on_forgetme(context: CustomContext, intent: Intent, lang: str, arg: str) -> None:
    """Asks first, counting exactly what the yes would delete: the receipts this person
    posted (in every chat), their settings and their jobs."""
    chat_id = intent.chat.id
    if intent.who.anonymous:  # the group's stand-in account: we cannot tell who this is
        await say(context, chat_id, t(lang, "forget_anonymous"))
        return
    user_id = intent.who.key
    n, chats = await context.services.ledger.posted_by(user_id)
    markup = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(t(lang, "btn_forget_yes"), callback_data=f"fm:{user_id}:yes"),
                InlineKeyboardButton(t(lang, "btn_cancel"), callback_data=f"fm:{user_id}:no"),
            ]
        ]
    )
    text = t(lang, "forget_ask", n=n, where=plain(lang, "in_chats", n=chats))
    await replies.send_html(context.bot, chat_id, text, reply_markup=markup)


async def on_clear(update: Update, context: CustomContext) -> None:
    """`rl:<last id>:yes|no`: an admin clears the ledger up to what was asked about."""
    press = await pressed(update, context)
    s, user, lang, chat_id = context.services, press.query.from_user, press.lang, press.chat_id
    last, action = press.groups
    if not await s.admins.is_admin(context.bot, chat_id, user.id):
        outcome = Outcome(alert=plain(lang, "admins_only"))
    elif action != "yes":
        outcome = Outcome(text=t(lang, "cancelled"))
    else:
        n = await s.ledger.clear(chat_id, up_to=int(last))
        log.info("ledger of chat %s cleared (%s receipts)", chat_id, n)
        outcome = Outcome(text=t(lang, "cleared", n=n))
    await apply(context, press, outcome)


async def on_forget(update: Update, context: CustomContext) -> None:
    """`fm:<user>:yes|no`: only the person who asked may answer."""
    press = await pressed(update, context)
    s, user, lang = context.services, press.query.from_user, press.lang
    owner, action = press.groups
    if user.id != int(owner):
        outcome = Outcome(alert=plain(lang, "cb_only_you"))
    elif action != "yes":
        outcome = Outcome(text=t(lang, "cancelled"))
    else:
        n = await s.ledger.forget(user.id)
        await s.store.forget_user(user.id)
        await s.archive.forget(telegram_owner(user.id, user.id, private=True))
        s.admins.forget(user.id)
        log.info("user data deleted on request (%s receipts)", n)
        outcome = Outcome(text=t(lang, "forget_done", n=n))
    await apply(context, press, outcome)
