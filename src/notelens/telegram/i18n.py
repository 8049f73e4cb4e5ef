"""The bot's side of the message catalogue (`notelens.i18n`): tasks, modes, menu commands.

Texts live in `notelens/locale/`; see `notelens.i18n` for how to add one.
"""

from __future__ import annotations

from ..i18n import LANGS, N_, Lang, lang_from_code, megabytes, plain, t

__all__ = [
    "LANGS",
    "MENU_COMMANDS",
    "TASKS",
    "Lang",
    "lang_from_code",
    "mode_name",
    "plain",
    "t",
    "too_big_text",
]

TASKS = ("notes", "ocr", "classify", "captcha")
TASK_BUTTONS = (N_("btn_notes"), N_("btn_ocr"), N_("btn_classify"), N_("btn_captcha"))
MODE_NAMES = (N_("mode_notes"), N_("mode_ocr"), N_("mode_classify"), N_("mode_captcha"))
# Keys the handlers pick at run time (`key = ... ; t(lang, key)`, `f"dup_{reason}"`).
RUNTIME_KEYS = (
    N_("categories_empty"),
    N_("categories_too_many"),
    N_("need_photo"),
    N_("send_photo"),
    N_("dup_same_photo"),
    N_("dup_similar_photo"),
    N_("dup_same_details"),
)

MENU_COMMANDS = (
    "start",
    "help",
    "notes",
    "ocr",
    "classify",
    "captcha",
    "ask",
    "mode",
    "receipt",
    "receipts",
    "spent",
    "categories",
    "lang",
    "web",
    "forgetme",
)
MENU_TEXTS = (
    N_("cmd_start"),
    N_("cmd_help"),
    N_("cmd_notes"),
    N_("cmd_ocr"),
    N_("cmd_classify"),
    N_("cmd_captcha"),
    N_("cmd_ask"),
    N_("cmd_mode"),
    N_("cmd_receipt"),
    N_("cmd_receipts"),
    N_("cmd_spent"),
    N_("cmd_categories"),
    N_("cmd_lang"),
    N_("cmd_web"),
    N_("cmd_forgetme"),
)


def mode_name(lang: str, mode: str) -> str:
    return t(lang, f"mode_{mode}") if mode in TASKS else mode


def too_big_text(lang: str, size: int | None, limit: int) -> str:
    """A file over the download limit, in MB as Telegram states its limits (20 MB = 20 MiB)."""
    shown = megabytes(size) if size is not None else "?"
    return t(lang, "file_too_big", size=shown, limit=megabytes(limit))
