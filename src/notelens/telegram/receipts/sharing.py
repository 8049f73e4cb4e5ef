"""Who shares an entry: the participant toggles on its card (`rp:`), split by items (`ri:`:
everyone taps what they had, the payer closes claiming), and `/receipts share N` (weights
or exact amounts, applied with a button, see `changes`).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from telegram import Update

from ...i18n import N_
from ...store.ledger_changes import Change
from ...store.ledger_splits import EQUAL, EXACT, Split
from ...store.receipt_history import Actor
from ..common import say
from ..context import CustomContext, Services
from ..i18n import plain, t
from ..intent import Intent, display_name
from ..ledger import CONFIRMED, Entry
from .book import claimable
from .buttons import Outcome, Press, apply, in_chat, may_manage, pressed, seen
from .cards import card_now, claim_card, saved_card, view_of
from .entries import actor_of_user, numbered, propose
from .parsing import fits, parse_amount, parse_weight
from .people import ME, Mention, Person, Token, person_of, remember, resolve
from .views import amount, amounts_text, shares_line, weights_text

EXACT_WORDS = frozenset({"exact", "amounts", "amount", "金额", "精确"})
EQUAL_WORDS = frozenset({"equal", "equally", "均分", "平分"})
MAX_SHARES = 50


# --- the participant toggles ------------------------------------------------------------


async def on_people(update: Update, context: CustomContext) -> None:
    """`rp:<token>:<person>`: the payer (or an admin) adds or removes someone."""
    press = await pressed(update, context)
    s = context.services
    token, person = press.groups
    entry = await in_chat(s, token, press.chat_id)
    if entry is not None:
        await seen(s, press.chat_id, press)
    await apply(context, press, await _toggle(context, press, entry, int(person)))


async def _toggle(
    context: CustomContext, press: Press, entry: Entry | None, person: int
) -> Outcome:
    s, lang = context.services, press.lang
    if entry is None or entry.is_transfer or entry.receipt_id is None:
        return Outcome(alert=plain(lang, "cb_stale"))
    if not await may_manage(s, context.bot, entry, press.user_id):
        return Outcome(alert=plain(lang, "cb_not_yours", name=entry.poster_name))
    view = await view_of(s.ledger, entry)
    if person not in {c.member_id for c in view.candidates}:
        return Outcome(alert=plain(lang, "cb_stale"))
    # Changes to a confirmed entry go into its history; a pending one is still being set up.
    actor = actor_of_user(press.query.from_user) if entry.status == CONFIRMED else None
    done = await s.ledger.splits.toggle(entry.receipt_id, person, view.name(person), actor)
    if done is None:
        return Outcome(alert=plain(lang, "people_last"))
    return Outcome.of(await card_now(s.ledger, lang, entry))


# --- split by items -------------------------------------------------------------------------


async def on_items(update: Update, context: CustomContext) -> None:
    """`ri:<token>:open|close|<item>`: the payer opens and closes claiming; anyone in the
    chat taps the items they had (and so shares the entry)."""
    press = await pressed(update, context)
    s = context.services
    token, what = press.groups
    entry = await in_chat(s, token, press.chat_id)
    if entry is not None:
        await seen(s, press.chat_id, press)
    await apply(context, press, await _items(context, press, entry, what))


async def _items(context: CustomContext, press: Press, entry: Entry | None, what: str) -> Outcome:
    s, lang = context.services, press.lang
    stale = Outcome(alert=plain(lang, "cb_stale"))
    if entry is None or entry.is_transfer or entry.status != CONFIRMED:
        return stale
    assert entry.receipt_id is not None
    items = dict(claimable(entry.receipt))
    if not items:
        return stale
    if what in ("open", "close"):
        if not await may_manage(s, context.bot, entry, press.user_id):
            return Outcome(alert=plain(lang, "cb_not_yours", name=entry.poster_name))
        actor = actor_of_user(press.query.from_user)
        if not await s.ledger.splits.set_claiming(entry.receipt_id, what == "open", actor):
            return Outcome.of(await card_now(s.ledger, lang, entry))  # someone was faster
        view = await view_of(s.ledger, entry)
        if what == "open":
            return Outcome.of(claim_card(lang, view))
        return Outcome.of(saved_card(lang, view, t(lang, "claim_closed", n=entry.seq)))
    index = int(what)
    if index not in items:
        return stale
    user = press.query.from_user
    claimed = await s.ledger.splits.toggle_claim(entry.receipt_id, index, user.id)
    if claimed is None:
        return Outcome(alert=plain(lang, "claim_closed_alert"))
    if claimed:  # who had something is in the ledger
        await s.ledger.members.seen(
            press.chat_id, user.id, display_name(user), user.username, active=True
        )
    return Outcome.of(claim_card(lang, await view_of(s.ledger, entry)))


# --- /receipts share N ... -----------------------------------------------------------------


async def share(context: CustomContext, intent: Intent, lang: str, words: list[Token]) -> None:
    """`/receipts share N @anna 2 @ben 1`, `… exact @anna 30 @ben 56.50`, `… equal`:
    proposes new shares for #N, applied by the payer's (or an admin's) button."""
    s, chat_id = context.services, intent.chat.id
    first = words[0] if words and isinstance(words[0], str) else None
    entry = await numbered(context, intent, lang, first, N_("share_usage"))
    if entry is None:
        return
    if entry.is_transfer:
        await say(context, chat_id, t(lang, "transfer_fixed"))
        return
    if not await may_manage(s, context.bot, entry, intent.who.key):
        await say(context, chat_id, t(lang, "edit_forbidden", name=entry.poster_name, n=entry.seq))
        return
    assert entry.receipt_id is not None
    view = await view_of(s.ledger, entry)
    rest = words[1:]
    mode = EQUAL
    head = rest[0].lower() if rest and isinstance(rest[0], str) else ""
    if head in EXACT_WORDS:
        mode, rest = EXACT, rest[1:]
    elif head in EQUAL_WORDS and len(rest) == 1:
        weights = {p: Decimal(1) for p in view.split.weights}
        await _propose(context, intent, lang, entry, Split(EQUAL, weights=weights), view.names)
        return
    read = await _shares_of(s, intent, lang, rest, mode, entry)
    if isinstance(read, str):
        await say(context, chat_id, read)
        return
    names = dict(view.names)
    for person in read:
        names[person.key] = person.name
        await remember(s, chat_id, person, member=True)
    values = {p.key: v for p, v in read.items()}
    if mode == EXACT:
        split = Split(EXACT, weights=dict.fromkeys(values, Decimal(1)), amounts=values)
    else:
        split = Split(EQUAL, weights=values)
    await _propose(context, intent, lang, entry, split, names)


async def _shares_of(
    s: Services, intent: Intent, lang: str, words: list[Token], mode: str, entry: Entry
) -> dict[Person, Decimal] | str:
    """People and their weights (or amounts) from the words; or what is wrong, to say."""
    usage = t(lang, "share_usage")
    found: dict[Person, Decimal] = {}
    unknown: list[str] = []
    person: Person | None = None
    pending = False
    for word in [*words, None]:
        is_person = isinstance(word, Mention) or (isinstance(word, str) and word.lower() in ME)
        if word is None or is_person:
            if pending and person is not None:  # a person without a number
                if mode == EXACT:
                    return usage
                found[person] = Decimal(1)
            pending = False
            if word is None:
                break
            if isinstance(word, Mention):
                person = await resolve(s, intent.chat.id, word)
                if person is None:
                    unknown.append(word.text)
            else:
                person = person_of(intent.who)
            pending = person is not None
            continue
        assert isinstance(word, str)
        if not pending or person is None:
            if unknown:  # the number after someone we could not find
                continue
            return usage
        value = parse_amount(word) if mode == EXACT else parse_weight(word)
        if value is None or (mode == EXACT and not fits(value, entry.currency)):
            return usage
        found[person] = value
        pending = False
    if unknown:
        return t(lang, "people_unknown", names=", ".join(unknown))
    if not found or len(found) > MAX_SHARES:
        return usage
    if mode == EXACT and sum(found.values()) != entry.total:
        return t(
            lang,
            "share_sum_mismatch",
            sum=amount(sum(found.values(), Decimal(0)), entry.currency, lang),
            total=amount(entry.total, entry.currency, lang),
        )
    if mode == EXACT and not any(found.values()):
        return usage
    return found


async def _propose(
    context: CustomContext,
    intent: Intent,
    lang: str,
    entry: Entry,
    split: Split,
    names: dict[int, str],
) -> None:
    assert entry.receipt_id is not None
    payload: dict[str, Any] = {
        "mode": split.mode,
        "weights": {str(p): str(w) for p, w in split.weights.items()},
        "amounts": {str(p): str(a) for p, a in split.amounts.items()},
        "names": {str(p): names.get(p) or str(p) for p in split.weights},
    }
    text = "\n".join([t(lang, "share_ask", n=entry.seq), shares_line(lang, entry, split, names)])
    await propose(context, intent, lang, entry, "share", payload, text)


async def apply_share(s: Services, change: Change, entry: Entry, actor: Actor) -> None:
    """A press of Apply under proposed shares."""
    assert entry.receipt_id is not None
    payload = change.payload
    weights = {int(p): Decimal(w) for p, w in payload["weights"].items()}
    amounts = {int(p): Decimal(a) for p, a in payload["amounts"].items()}
    names = {int(p): n for p, n in payload["names"].items()}
    described = (
        amounts_text(amounts, names) if payload["mode"] == EXACT else weights_text(weights, names)
    )
    await s.ledger.splits.replace(
        entry.receipt_id, payload["mode"], weights, amounts, actor, described
    )
