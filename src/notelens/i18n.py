"""Every text a person reads (bot, command line, documents), in Chinese and English.

The texts live in gettext catalogues shipped inside the package,
`notelens/locale/<lang>/LC_MESSAGES/notelens.po`, read at run time with Babel and
compiled in memory for the standard library's gettext (no `.mo` files to keep in step).
Message ids are keys (`"cleared"`), the texts are `str.format` templates with `{name}`
placeholders.

    t(lang, "cleared", n=3)      # HTML for the bot: every value is HTML-escaped
    plain(lang, "cb_stale")      # plain text (alerts, the CLI, Markdown): no escaping, no tags

A message with plural forms is chosen by the value `n` (gettext's `ngettext`), so
English says "1 receipt" and "2 receipts" while Chinese has one form.

How to add a message:
1. Use it in code: `t(lang, "my_key", name=...)`. A key built at run time
   (`f"btn_{task}"`) must also appear literally somewhere, marked `N_("btn_notes")`; write
   `t(lang, "a") if x else t(lang, "b")`, not `t(lang, "a" if x else "b")` (which
   extraction reads as one key "ab").
2. Add it to both `locale/zh/LC_MESSAGES/notelens.po` and `locale/en/.../notelens.po`:

       msgid "my_key"
       msgstr "Hello {name}"

   or, when it counts something (by the value `n`):

       msgid "my_key"
       msgid_plural "my_key"
       msgstr[0] "{n} receipt"        (zh has only msgstr[0])
       msgstr[1] "{n} receipts"

`tests/test_i18n.py` extracts every key from the source with Babel and fails on a key
missing from a catalogue, on an entry no code uses, and on placeholders that differ
between the languages.
"""

from __future__ import annotations

import gettext
import html
import io
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Literal

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

Lang = Literal["zh", "en"]
LANGS: tuple[Lang, ...] = ("zh", "en")
DOMAIN = "notelens"
TAG = re.compile(r"</?(?:b|i|u|s|code|pre|a)(?:\s[^>]*)?>")
CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3040-\u30ff\uac00-\ud7af]")
LETTER = re.compile(r"[^\W\d_]")


@dataclass(frozen=True)
class Catalogue:
    """One language: its translations, and which keys exist and which have plural forms."""

    translations: gettext.GNUTranslations
    keys: frozenset[str]
    plural_keys: frozenset[str]


def catalogue_text(lang: str) -> str:
    """The `.po` source of one language, as shipped in the package."""
    path = resources.files("notelens").joinpath("locale", lang, "LC_MESSAGES", f"{DOMAIN}.po")
    return path.read_text(encoding="utf-8")


@cache
def catalogue(lang: str) -> Catalogue:
    po = read_po(io.StringIO(catalogue_text(lang)), locale=lang, domain=DOMAIN)
    mo = io.BytesIO()
    write_mo(mo, po)
    mo.seek(0)
    keys = {m.id if isinstance(m.id, str) else m.id[0] for m in po if m.id}
    plural = {m.id[0] for m in po if m.id and not isinstance(m.id, str)}
    return Catalogue(gettext.GNUTranslations(mo), frozenset(keys), frozenset(plural))


def as_lang(lang: str) -> Lang:
    """One of ours: Chinese, or English for anything else."""
    return "zh" if lang == "zh" else "en"


def lang_from_code(language_code: str | None) -> Lang:
    """Telegram's language_code (or a locale such as zh_CN.UTF-8): zh… → Chinese, else English."""
    return "zh" if (language_code or "").lower().startswith("zh") else "en"


def detect_language(text: str, default: Lang = "en") -> Lang:
    """Chinese when at least a fifth of the letters are CJK characters, else English
    (`default` when the text has no letters at all)."""
    letters = LETTER.findall(text)
    if not letters:
        return default
    cjk = sum(1 for ch in letters if CJK.match(ch))
    return "zh" if cjk * 5 >= len(letters) else "en"


def template(lang: str, key: str, n: object = None) -> str:
    """The raw template of `key` (the plural form for the count `n` when it has them)."""
    cat = catalogue(as_lang(lang))
    if key not in cat.keys:
        raise KeyError(key)
    if key in cat.plural_keys:
        count = n if isinstance(n, int) else 2
        return cat.translations.ngettext(key, key, count)
    return cat.translations.gettext(key)


def t(lang: str, key: str, **values: object) -> str:
    """The message `key` in `lang` as HTML, with every value HTML-escaped."""
    text = template(lang, key, values.get("n"))
    escaped = {k: html.escape(str(v), quote=False) for k, v in values.items()}
    return text.format(**escaped) if escaped else text


def plain(lang: str, key: str, **values: object) -> str:
    """The message `key` as plain text: markup tags dropped, values as they are."""
    text = html.unescape(TAG.sub("", template(lang, key, values.get("n"))))
    return text.format(**values) if values else text


def megabytes(size: int) -> str:
    """Bytes in MB as Telegram states its limits (20 MB = 20 × 2²⁰ bytes): `20`, `25.3`."""
    mb = size / 2**20
    return f"{mb:.0f}" if mb == round(mb) else f"{mb:.1f}"


def N_(key: str) -> str:
    """Marks a key chosen at run time so that extraction finds it; returns it unchanged."""
    return key


# Error codes (`NoteLensError.code`) whose message is the catalogue entry of the same key.
INPUT_ERROR_KEYS = frozenset(
    {
        N_("image_empty"),
        N_("not_image"),
        N_("image_corrupt"),
        N_("image_too_large"),
        N_("image_invalid"),
        N_("pdf_invalid"),
        N_("pdf_empty"),
        N_("download_failed"),
    }
)
